//! The engine: executes one statement at a time against the catalog and the topic store. Every
//! front end (the test runner, the server, the shell through the server) goes through here.

mod commands;
pub use commands::Replayed;
pub mod config;
mod ddl;
mod dml;
pub use dml::Inserter;
pub mod listing;
pub mod print;
pub use listing::Listing;
pub mod properties;
mod schemas;
pub mod transient;

use std::collections::BTreeMap;
use std::sync::Arc;

use thiserror::Error;

use crate::catalog::Catalog;
use crate::exec::{PersistentQuery, ProcessingLogEntry, Runtime};
use crate::plan::PlanError;
use crate::registry::SchemaRegistry;
use crate::sql::{self, Statement};
use crate::topics::{TopicError, TopicStore};

/// Why a statement or a query failed, in the categories ksqlDB's clients see.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// The text is not a statement (ksqlDB's ParseFailedException).
    #[error("{0}")]
    Parse(String),
    /// The statement is well-formed but invalid (ksqlDB's KsqlStatementException).
    #[error("{message}")]
    Statement { message: String, statement: String },
    /// Any other failure to execute a statement (ksqlDB's KsqlException).
    #[error("{0}")]
    Generic(String),
    /// A failure while a query runs (ksqlDB's StreamsException).
    #[error("{0}")]
    Runtime(String),
    /// More push queries than `ksql.max.push.queries` allows.
    #[error("{0}")]
    TooManyPushQueries(String),
    /// A failure of ours, never the statement's fault.
    #[error("Internal error, please report: {0}")]
    Internal(String),
}

impl EngineError {
    /// A failure of ours: a bug, not something the statement could change.
    pub(crate) fn internal(e: impl std::fmt::Display) -> EngineError {
        EngineError::Internal(e.to_string())
    }

    fn statement(message: impl Into<String>) -> EngineError {
        EngineError::Statement {
            message: message.into(),
            statement: String::new(),
        }
    }
}

impl From<PlanError> for EngineError {
    fn from(e: PlanError) -> Self {
        EngineError::statement(e.to_string())
    }
}

impl From<TopicError> for EngineError {
    fn from(e: TopicError) -> Self {
        match e {
            // The log itself failed (a full disk): not the statement's fault.
            TopicError::Storage(_) => EngineError::Runtime(e.to_string()),
            other => EngineError::Generic(other.to_string()),
        }
    }
}

/// What a successful statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A status message, e.g. "Stream created".
    Message(String),
    /// A persistent query was started.
    QueryStarted { query_id: String, message: String },
    /// What a SHOW, LIST, DESCRIBE or EXPLAIN found.
    Listing(Listing),
}

/// The property that names the service, and so the prefix of internal topics.
pub const SERVICE_ID: &str = "ksql.service.id";

/// Executes statements and drives persistent queries.
pub struct Engine {
    store: Arc<dyn TopicStore>,
    catalog: Catalog,
    properties: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    /// Runs the persistent and push queries, apart from the engine: a query's processing
    /// never waits for a statement, nor a statement for a query's processing.
    runtime: Arc<Runtime>,
    next_transient: u64,
    next_query_number: u64,
    /// Whether a query whose state follows its partitioning runs a task per partition.
    partition_tasks: bool,
    /// How many commands (statements that change the catalog) have been applied.
    commands_applied: u64,
    /// The schemas of AVRO topics.
    registry: SchemaRegistry,
    /// Where each command is recorded once applied (see [`Engine::recover_from_command_topic`]).
    command_topic: Option<String>,
    /// The next offset of the command topic to apply.
    command_next: u64,
    /// The offsets of the commands this engine recorded, not yet passed by
    /// [`Engine::follow_command_topic`].
    own_commands: std::collections::BTreeSet<u64>,
    /// Whether the servers of the service share each persistent query's tasks: a new query
    /// runs none until they are handed to this server.
    shared_tasks: bool,
    /// Whether the command topic is being replayed: what ran before runs again, whatever the
    /// limits on new statements say now.
    replaying: bool,
}

impl Engine {
    pub fn new(store: Arc<dyn TopicStore>) -> Engine {
        Engine {
            runtime: Arc::new(Runtime::new(Arc::clone(&store))),
            store,
            catalog: Catalog::default(),
            properties: BTreeMap::new(),
            variables: BTreeMap::new(),
            next_transient: 0,
            next_query_number: 0,
            partition_tasks: true,
            commands_applied: 0,
            registry: SchemaRegistry::new(),
            command_topic: None,
            command_next: 0,
            own_commands: std::collections::BTreeSet::new(),
            replaying: false,
            shared_tasks: false,
        }
    }

    /// Shares every persistent query's tasks with the other servers of the service: a query
    /// started from now on runs the tasks handed to this server only.
    pub fn share_tasks(&mut self) {
        self.shared_tasks = true;
    }

    /// The schema registry of the AVRO topics.
    pub fn schema_registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    pub fn store(&self) -> &Arc<dyn TopicStore> {
        &self.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Runs every query started from now on as a single task over all its partitions, with
    /// one stream time, as ksqlDB's test driver runs a topology (its test cases expect that).
    pub fn run_queries_as_single_tasks(&mut self) {
        self.partition_tasks = false;
    }

    /// The sequence number of the latest command applied (ksqlDB's `commandSequenceNumber`):
    /// commands are numbered from 0 in the order they were applied, across the server's life.
    pub fn command_sequence(&self) -> Option<u64> {
        self.commands_applied.checked_sub(1)
    }

    /// Makes the processing log a stream, as ksqlDB does with
    /// `ksql.logging.processing.stream.auto.create`: its topic
    /// (`ksql.logging.processing.topic.name`, by default `<service id>ksql_processing_log`)
    /// gets every later entry, and the stream (`ksql.logging.processing.stream.name`, by
    /// default `KSQL_PROCESSING_LOG`) reads it.
    pub fn create_processing_log_stream(&mut self) -> Result<(), EngineError> {
        let service = self.property(SERVICE_ID).unwrap_or("default_").to_string();
        let topic = self
            .property("ksql.logging.processing.topic.name")
            .map_or_else(|| format!("{service}ksql_processing_log"), str::to_string);
        let stream = self
            .property("ksql.logging.processing.stream.name")
            .unwrap_or("KSQL_PROCESSING_LOG")
            .to_string();
        let partitions = self
            .property("ksql.logging.processing.topic.partitions")
            .and_then(|p| p.trim().parse::<u32>().ok())
            .unwrap_or(1);
        let statement = format!(
            "CREATE STREAM IF NOT EXISTS {stream} (LOGGER STRING, LEVEL STRING, TIME BIGINT, \
             MESSAGE STRUCT<TYPE INTEGER, \
               DESERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORDB64 STRING, CAUSE ARRAY<STRING>, `TOPIC` STRING>, \
               RECORDPROCESSINGERROR STRUCT<ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>>, \
               PRODUCTIONERROR STRUCT<ERRORMESSAGE STRING>, \
               SERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>, `TOPIC` STRING>, \
               KAFKASTREAMSTHREADERROR STRUCT<ERRORMESSAGE STRING, THREADNAME STRING, CAUSE ARRAY<STRING>>>) \
             WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON', PARTITIONS={partitions});"
        );
        self.execute_text(&statement, sql::Location::default())?;
        self.runtime
            .processing_log()
            .write_to(Arc::clone(&self.store), topic);
        Ok(())
    }

    /// The runtime that runs the queries (a server starts its threads).
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The latest record and value errors the queries reported, oldest first.
    pub fn processing_log(&self) -> Vec<ProcessingLogEntry> {
        self.runtime.processing_log().entries()
    }

    /// The persistent queries running now.
    fn persistent_queries(&self) -> impl Iterator<Item = Arc<PersistentQuery>> {
        self.runtime.queries().into_iter().filter(|q| !q.is_push())
    }

    /// Each persistent query's id and counters.
    pub fn query_stats(&self) -> Vec<(String, crate::exec::QueryStats)> {
        self.persistent_queries()
            .map(|q| (q.id.clone(), q.stats()))
            .collect()
    }

    /// How many threads run the queries' tasks (`ksql.streams.num.stream.threads`).
    pub fn stream_threads(&self) -> usize {
        self.property("ksql.streams.num.stream.threads")
            .or_else(|| self.property("num.stream.threads"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1)
    }

    /// Sets a property for every later statement, as `SET 'name'='value';` does. A Kafka
    /// Streams property is one property with or without its `ksql.streams.` prefix: setting
    /// it under one name replaces what was set under the other (a server's default included).
    pub fn set_property(&mut self, name: &str, value: &str) {
        let twin = match name.strip_prefix("ksql.streams.") {
            Some(bare) => bare.to_string(),
            None => format!("ksql.streams.{name}"),
        };
        self.properties.remove(&twin);
        self.properties.insert(name.to_string(), value.to_string());
    }

    /// The properties now, to restore after a request's overrides.
    pub fn properties_snapshot(&self) -> BTreeMap<String, String> {
        self.properties.clone()
    }

    pub fn restore_properties(&mut self, properties: BTreeMap<String, String>) {
        self.properties = properties;
    }

    /// Substitutes `${var}` with the engine's variables and the given ones (which win).
    pub fn substitute(&self, text: &str, variables: &BTreeMap<String, String>) -> String {
        let mut all = self.variables.clone();
        all.extend(variables.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
        sql::substitute_variables(text, &all)
    }

    /// The most partitions a topic created by a statement may have
    /// (`ksql.topic.max.partitions`).
    pub fn max_partitions(&self) -> u32 {
        self.property("ksql.topic.max.partitions")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(crate::topics::DEFAULT_MAX_PARTITIONS)
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        // Properties are accepted with or without the `ksql.streams.` prefix.
        self.properties.get(name).map(String::as_str).or_else(|| {
            name.strip_prefix("ksql.streams.")
                .and_then(|n| self.properties.get(n))
                .map(String::as_str)
        })
    }

    /// Parses and executes every statement of a script in order, stopping at the first failure.
    /// On failure, the error and the index of the statement that failed are returned.
    pub fn execute_script(&mut self, sql: &str) -> Result<Vec<Outcome>, (usize, EngineError)> {
        let mut outcomes = Vec::new();
        for (index, piece) in sql::split_statements(sql).into_iter().enumerate() {
            let text = sql::substitute_variables(&piece.text, &self.variables);
            let outcome = self
                .execute_text(&text, piece.start)
                .map_err(|e| (index, e))?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Parses and executes one statement.
    pub fn execute_text(
        &mut self,
        text: &str,
        start: sql::Location,
    ) -> Result<Outcome, EngineError> {
        let statement = self.parse(text, start)?;
        self.execute_statement(statement, text)
    }

    /// Parses one statement (`start`: where its text begins in the request, for error
    /// positions) against the catalog's custom types.
    pub fn parse(&self, text: &str, start: sql::Location) -> Result<Statement, EngineError> {
        let catalog = &self.catalog;
        sql::parse_statement(text, start, &|name| {
            catalog.custom_type(&name.to_uppercase()).cloned()
        })
        .map_err(|e| {
            let message = e.to_string();
            if message.contains("Syntax Error") {
                EngineError::Parse(format!("{message}\nStatement: {text}"))
            } else {
                EngineError::Parse(message)
            }
        })
    }

    /// Executes a parsed statement; `text` is the statement as written.
    pub fn execute_statement(
        &mut self,
        statement: Statement,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        let command = statement.changes_catalog();
        let query_number = self.next_query_number;
        let outcome = self.execute(statement, text);
        if command && outcome.is_ok() {
            self.record_command(text, query_number)?;
            self.commands_applied += 1;
        }
        outcome.map_err(|e| match e {
            // The statement as written, unless the error quotes it as prepared.
            EngineError::Statement { message, statement } if statement.is_empty() => {
                EngineError::Statement {
                    message,
                    statement: text.to_string(),
                }
            }
            other => other,
        })
    }

    fn execute(&mut self, statement: Statement, text: &str) -> Result<Outcome, EngineError> {
        match statement {
            Statement::CreateSource(c) => self.create_source(c, text),
            Statement::CreateAsSelect(c) => self.create_as_select(c, text),
            Statement::InsertInto {
                target,
                properties,
                query,
            } => self.insert_into(&target, &properties, &query, text),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => self.insert_values(&target, columns.as_deref(), &values),
            Statement::Drop {
                kind,
                name,
                if_exists,
                delete_topic,
            } => self.drop_source(kind, &name, if_exists, delete_topic),
            Statement::Alter {
                kind,
                name,
                columns,
            } => self.alter_source(kind, &name, columns),
            Statement::CreateType {
                name,
                ty,
                if_not_exists,
            } => {
                if self.catalog.custom_type(&name).is_some() {
                    if if_not_exists {
                        return Ok(Outcome::Message(format!("Type {name} already exists")));
                    }
                    return Err(EngineError::statement(format!(
                        "Cannot register custom type '{name}' since it is already registered with type: {}",
                        self.catalog
                            .custom_type(&name)
                            .map(|t| t.to_string())
                            .unwrap_or_default()
                    )));
                }
                self.catalog.put_type(name.clone(), ty.clone());
                Ok(Outcome::Message(format!(
                    "Registered custom type with name '{name}' and SQL type {ty}"
                )))
            }
            Statement::DropType { name, if_exists } => match self.catalog.remove_type(&name) {
                Some(_) => Ok(Outcome::Message(format!("Dropped type '{name}'"))),
                None if if_exists => Ok(Outcome::Message(format!("Type '{name}' does not exist"))),
                None => Err(EngineError::statement(format!(
                    "Type {name} does not exist."
                ))),
            },
            Statement::Set { name, value } => {
                config::check_property_name(&name).map_err(EngineError::statement)?;
                self.set_property(&name, &value);
                Ok(Outcome::Message(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )))
            }
            Statement::Unset { name } => {
                self.properties.remove(&name);
                Ok(Outcome::Message(format!(
                    "Successfully unset local property '{name}'."
                )))
            }
            Statement::Define { name, value } => {
                self.variables.insert(name.to_lowercase(), value);
                Ok(Outcome::Message(format!("Defined variable {name}")))
            }
            Statement::Undefine { name } => {
                self.variables.remove(&name.to_lowercase());
                Ok(Outcome::Message(format!("Undefined variable {name}")))
            }
            Statement::Show { kind, extended } => Ok(Outcome::Listing(self.show(&kind, extended)?)),
            Statement::DescribeSource { name, extended } => self.describe_source(&name, extended),
            Statement::DescribeStreams { kind, extended } => {
                Ok(Outcome::Listing(self.describe_all(kind, extended)))
            }
            Statement::DescribeFunction { name } => self.describe_function(&name),
            Statement::Explain(target) => self.explain(target),
            Statement::Terminate { query_id } => self.terminate(query_id.as_deref()),
            Statement::Query(_) => Err(EngineError::statement(
                "Push and pull queries are served by the server's /query endpoints, not by a script.",
            )),
            Statement::Assert(_) => Err(EngineError::statement(
                "ASSERT TOPIC and ASSERT SCHEMA are not supported yet.",
            )),
            Statement::Print { .. } => Err(EngineError::statement(
                "PRINT is served by the server's /query endpoint, not by a script.",
            )),
        }
    }

    /// Runs every persistent and push query until none has input left, on
    /// `ksql.streams.num.stream.threads` threads.
    pub fn run_until_idle(&mut self) -> Result<(), EngineError> {
        self.runtime
            .run_until_idle(self.stream_threads())
            .map_err(|e| EngineError::Runtime(e.to_string()))
    }

    /// Commits every query: the updates their record caches hold are written now, as at the
    /// end of a commit interval, and their offsets are committed.
    pub fn commit(&mut self) -> Result<(), EngineError> {
        for query in self.persistent_queries() {
            query
                .commit(self.store.as_ref())
                .map_err(|e| EngineError::Runtime(e.to_string()))?;
        }
        Ok(())
    }

    /// Stops a persistent query: it commits first, so no held update is lost.
    fn stop_query(&mut self, id: &str) -> Result<(), EngineError> {
        if let Some(query) = self.runtime.remove(id) {
            query
                .commit(self.store.as_ref())
                .map_err(|e| EngineError::Runtime(e.to_string()))?;
            // A terminated query's state goes with it, as ksqlDB deletes its internal topics.
            if let Some(topic) = query.changelog_topic() {
                self.store
                    .delete_topic(topic)
                    .map_err(|e| EngineError::Runtime(e.to_string()))?;
            }
        }
        self.catalog.remove_query(id);
        Ok(())
    }

    fn next_query_id(&mut self, prefix: &str, sink: &str) -> String {
        let n = self.next_query_number;
        self.next_query_number += 1;
        if prefix == "INSERTQUERY" {
            format!("INSERTQUERY_{n}")
        } else {
            format!("{prefix}_{}_{n}", sink.to_uppercase())
        }
    }

    fn terminate(&mut self, query_id: Option<&str>) -> Result<Outcome, EngineError> {
        match query_id {
            None => {
                let ids: Vec<String> = self.persistent_queries().map(|q| q.id.clone()).collect();
                for id in ids {
                    self.stop_query(&id)?;
                }
                Ok(Outcome::Message("All queries terminated.".to_string()))
            }
            Some(id) => {
                let id = id.to_uppercase();
                if !self
                    .persistent_queries()
                    .any(|q| q.id.eq_ignore_ascii_case(&id))
                {
                    return Err(EngineError::statement(format!("Unknown queryId: {id}")));
                }
                self.stop_query(&id)?;
                Ok(Outcome::Message("Query terminated.".to_string()))
            }
        }
    }
}
