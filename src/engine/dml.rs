//! Statements that start queries or write data: CREATE … AS SELECT, INSERT INTO … SELECT,
//! INSERT INTO … VALUES.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema as ArrowSchema;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;

use super::ddl::{check_formats, kind_word, normalise_column_name};
use super::properties::{WithClause, format_spec};
use super::{Engine, EngineError, Outcome};
use crate::catalog::{QueryInfo, Source};
use crate::exec::{
    DEFAULT_COMMIT_INTERVAL, DecodeOptions, EXACTLY_ONCE_COMMIT_INTERVAL, Input, OffsetReset,
    Output, PersistentQuery, Sink, Stage, view::MaterializedView,
};
use crate::format::{self, FormatKind};
use crate::plan::expr::{Clause, ExprCompiler, Scope};
use crate::plan::{QueryPlan, plan_query};
use crate::sql::ast::{CreateAsSelect, Expr, Properties, Query, SourceKind};
use crate::sql::display::expr_to_sql;
use crate::topics::{CleanupPolicy, ProducerRecord, TopicConfig};
use crate::types::{Column, ColumnKind, Schema, SqlType};

impl Engine {
    /// Joined records meet only when both sides have the same number of partitions, so a
    /// join of topics whose partition counts differ is refused, in ksqlDB's words.
    pub(super) fn check_co_partitioned(&self, plan: &QueryPlan) -> Result<(), EngineError> {
        let partitions = |topic: &str| {
            self.store
                .describe_topic(topic)
                .ok()
                .map_or(1, |t| t.config.partitions)
        };
        for [(left, left_topic), (right, right_topic)] in plan.co_partitioned() {
            let (l, r) = (partitions(&left_topic), partitions(&right_topic));
            if l != r {
                return Err(EngineError::statement(format!(
                    "Can't join `{left}` with `{right}` since the number of partitions don't match. `{left}` partitions = {l}; `{right}` partitions = {r}. Please repartition either one so that the number of partitions match."
                )));
            }
        }
        Ok(())
    }

    /// Whether persistent queries run exactly once (`processing.guarantee` set to
    /// `exactly_once_v2`, or to the older names Kafka Streams still takes for it); an unknown
    /// value gets ksqlDB's message.
    fn exactly_once(&self) -> Result<bool, EngineError> {
        let Some(guarantee) = self.property("ksql.streams.processing.guarantee") else {
            return Ok(false);
        };
        match guarantee.trim().to_ascii_lowercase().as_str() {
            "at_least_once" => Ok(false),
            "exactly_once" | "exactly_once_beta" | "exactly_once_v2"
                if !self.store.supports_transactions() =>
            {
                Err(EngineError::Generic(format!(
                    "processing.guarantee={guarantee} is not supported yet on Kafka (transactions are not built on this store): use at_least_once, or the embedded log"
                )))
            }
            "exactly_once" | "exactly_once_beta" | "exactly_once_v2" => Ok(true),
            _ => Err(EngineError::Generic(format!(
                "Invalid value {guarantee} for configuration processing.guarantee: String must be one of: at_least_once, exactly_once, exactly_once_beta, exactly_once_v2"
            ))),
        }
    }

    /// Refuses a new persistent query past `ksql.query.persistent.active.limit`, with ksqlDB's
    /// message (queries replayed at start-up run whatever the limit says now).
    fn check_query_capacity(&self) -> Result<(), EngineError> {
        let Some(limit) = self
            .property("ksql.query.persistent.active.limit")
            .and_then(|v| v.trim().parse::<usize>().ok())
        else {
            return Ok(());
        };
        let running = self.persistent_queries().count();
        if self.replaying || running < limit {
            return Ok(());
        }
        Err(EngineError::statement(format!(
            "Not executing statement(s) as it would cause the number of active, persistent queries to exceed the configured limit. Use the TERMINATE command to terminate existing queries, or increase the 'ksql.query.persistent.active.limit' setting via the 'ksql-server.properties' file. Current persistent query count: {running}. Configured limit: {limit}."
        )))
    }

    pub(super) fn create_as_select(
        &mut self,
        c: CreateAsSelect,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        self.exactly_once()?;
        self.check_query_capacity()?;
        let kind_name = kind_word(c.kind);
        if c.query.limit.is_some() {
            return Err(EngineError::Generic(format!(
                "CREATE {} AS SELECT statements don't support LIMIT clause.",
                kind_name.to_uppercase()
            )));
        }
        if let Some(existing) = self.catalog.source(&c.name) {
            if c.if_not_exists {
                return Ok(Outcome::Message(format!(
                    "Cannot add {kind_name} {}: A {} with the same name already exists.",
                    c.name,
                    kind_word(existing.kind)
                )));
            }
            if !c.or_replace {
                return Err(EngineError::Generic(format!(
                    "Cannot add {kind_name} '{}': A {} with the same name already exists",
                    c.name,
                    kind_word(existing.kind)
                )));
            }
            if existing.read_only {
                return Err(EngineError::Generic(format!(
                    "Cannot add {kind_name} '{}': CREATE OR REPLACE is not supported on source {kind_name}s.",
                    c.name
                )));
            }
        }
        let with = WithClause::new(&c.properties)?;
        let plan = plan_query(&c.query, &self.catalog, &c.name, &self.properties)?;
        self.check_co_partitioned(&plan)?;
        let source = plan.source().clone();
        match (c.kind, plan.result_kind()) {
            (SourceKind::Stream, SourceKind::Table) => {
                return Err(EngineError::statement(
                    "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
                ));
            }
            (SourceKind::Table, SourceKind::Stream) => {
                return Err(EngineError::statement(
                    "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.",
                ));
            }
            _ => {}
        }
        let schema = plan.output_schema();

        // Formats: inherited from the source unless the statement names them.
        let (key_kind, value_kind) =
            with.formats(Some(source.key_format.kind), Some(source.value_format.kind))?;
        let mut key_kind = key_kind.unwrap_or(FormatKind::Kafka);
        let value_kind = value_kind.unwrap_or(source.value_format.kind);
        let explicit_key_format =
            with.text("KEY_FORMAT").is_some() || with.text("FORMAT").is_some();
        if schema.key_columns().next().is_none() && !explicit_key_format {
            key_kind = FormatKind::None;
        } else if key_kind == FormatKind::None && !explicit_key_format {
            // A key the source didn't have takes the default key format.
            key_kind = self.default_formats().0.unwrap_or(FormatKind::Kafka);
        }
        let key_delimiter = with
            .delimiter("KEY_DELIMITER")?
            .or((key_kind == source.key_format.kind).then_some(source.key_format.delimiter));
        let value_delimiter = with
            .delimiter("VALUE_DELIMITER")?
            .or((value_kind == source.value_format.kind).then_some(source.value_format.delimiter));
        let key_format = format_spec(key_kind, key_delimiter);
        let mut value_format = format_spec(value_kind, value_delimiter);
        let wrap = self.wrap_single_value(&with, value_kind, &schema)?;
        if let Some(w) = wrap {
            value_format.wrap_single = w;
        }
        if schema.key_columns().any(|k| k.ty.contains_map()) {
            let k = schema.key_columns().find(|k| k.ty.contains_map()).cloned();
            if let Some(k) = k {
                return Err(EngineError::statement(format!(
                    "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                    k.name, k.ty
                )));
            }
        }

        check_formats(&key_format.kind, &value_format.kind, &schema, false, false).map_err(
            |e| match (e, sanitized_statement(&c, &plan)) {
                (EngineError::Statement { message, .. }, Some(statement)) => {
                    EngineError::Statement { message, statement }
                }
                (e, _) => e,
            },
        )?;
        let timestamp_output = self.sink_timestamp(&with, &schema)?;

        // Topic.
        let prefix = self
            .property("ksql.output.topic.name.prefix")
            .unwrap_or("")
            .to_string();
        let topic = with
            .text("KAFKA_TOPIC")
            .unwrap_or_else(|| format!("{prefix}{}", c.name));
        let source_partitions = self
            .store
            .describe_topic(&source.topic)
            .ok()
            .map(|t| t.config.partitions)
            .unwrap_or(1);
        let max_partitions = self.max_partitions();
        let partitions = match with.partitions(max_partitions)? {
            Some(p) => p,
            None => self
                .property("ksql.sink.partitions")
                .and_then(|p| p.trim().parse::<u32>().ok())
                .filter(|p| (1..=max_partitions).contains(p))
                .unwrap_or(source_partitions),
        };
        let replicas = with
            .replicas()?
            .or_else(|| {
                self.property("ksql.sink.replicas")
                    .and_then(|p| p.trim().parse::<i16>().ok())
            })
            .unwrap_or(1);
        self.ensure_topic(&topic, partitions, replicas, c.kind == SourceKind::Table)?;

        let mut sink_source = Source {
            name: c.name.clone(),
            kind: c.kind,
            schema: schema.clone(),
            topic: topic.clone(),
            key_format,
            value_format,
            timestamp_column: with.text("TIMESTAMP").map(|t| normalise_column_name(&t)),
            timestamp_format: with.text("TIMESTAMP_FORMAT"),
            window: plan.window(),
            read_only: false,
            sql: text.to_string(),
            wrap_single_value: wrap,
        };
        self.bind_schemas(&mut sink_source, &with, true)?;
        let prefix = match c.kind {
            SourceKind::Stream => "CSAS",
            SourceKind::Table => "CTAS",
        };
        // CREATE OR REPLACE swaps the query that feeds the sink.
        let replaced = self
            .catalog
            .queries()
            .find(|q| q.sink.as_deref() == Some(c.name.as_str()))
            .map(|q| q.id.clone());
        if c.or_replace
            && let Some(old) = replaced
        {
            self.stop_query(&old)?;
        }
        let query_id = self.next_query_id(prefix, &c.name);
        self.start_query(query_id.clone(), plan, &sink_source, timestamp_output, text)?;
        self.catalog.put_source(sink_source);
        Ok(Outcome::QueryStarted {
            message: format!("Created query with ID {query_id}"),
            query_id,
        })
    }

    pub(super) fn insert_into(
        &mut self,
        target: &str,
        properties: &Properties,
        query: &Query,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        self.exactly_once()?;
        self.check_query_capacity()?;
        let with = WithClause::new(properties)?;
        let _ = with;
        let Some(sink) = self.catalog.source(target).cloned() else {
            return Err(EngineError::statement(format!(
                "Cannot insert into an unknown stream/table: {target}"
            )));
        };
        if sink.kind == SourceKind::Table {
            return Err(EngineError::statement(format!(
                "INSERT INTO can only be used to insert into a stream. {target} is a table."
            )));
        }
        if sink.read_only {
            return Err(EngineError::statement(format!(
                "Cannot insert into read-only stream: {target}"
            )));
        }
        if sink.schema.header_columns().next().is_some() {
            return Err(EngineError::Generic(format!(
                "Cannot insert into {target} because it has header columns"
            )));
        }
        let plan = plan_query(query, &self.catalog, target, &self.properties)?;
        self.check_co_partitioned(&plan)?;
        if plan.result_kind() == SourceKind::Table {
            return Err(EngineError::statement(format!(
                "INSERT INTO can only be used to insert from a stream. {} is a table.",
                plan.source().name
            )));
        }
        let result = plan.output_schema();
        if !same_columns(&result, &sink.schema) {
            return Err(EngineError::statement(format!(
                "Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}",
                result.to_sql(),
                sink.schema.to_sql()
            )));
        }
        let timestamp_output = sink
            .timestamp_column
            .as_ref()
            .and_then(|t| result.columns.iter().position(|c| &c.name == t));
        let query_id = self.next_query_id("INSERTQUERY", target);
        self.start_query(query_id.clone(), plan, &sink, timestamp_output, text)?;
        Ok(Outcome::QueryStarted {
            message: format!("Created query with ID {query_id}"),
            query_id,
        })
    }

    fn start_query(
        &mut self,
        query_id: String,
        plan: QueryPlan,
        sink: &Source,
        timestamp_output: Option<usize>,
        text: &str,
    ) -> Result<(), EngineError> {
        let info = QueryInfo {
            id: query_id.clone(),
            sql: text.to_string(),
            sink: Some(sink.name.clone()),
            sources: plan.inputs().into_iter().map(|(s, _)| s.name).collect(),
        };
        let sink_spec = Sink {
            topic: sink.topic.clone(),
            key_columns: sink.key_columns(),
            value_columns: sink.value_columns(),
            key_format: sink.key_format.clone(),
            value_format: sink.value_format.clone(),
            value_wrapped: sink.value_wrapped(),
            timestamp_output,
            timestamp_format: sink.timestamp_format.clone(),
            window: sink.window,
            partitions: self
                .store
                .describe_topic(&sink.topic)
                .ok()
                .map(|t| t.end_offsets.len() as u32),
            exact_scale: plan.exact_scale_values(),
            widened: widened_columns(&plan.output_schema(), &sink.schema),
        };
        let options = DecodeOptions {
            throw_on_invalid_timestamp: self
                .property("ksql.timestamp.throw.on.invalid")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        };
        let inputs: Vec<Input> = plan
            .inputs()
            .into_iter()
            .map(|(source, scope)| Input::new(source, scope))
            .collect();
        // Each task gets a stage of its own, planned again from the plan.
        let tasks = self.partition_tasks(&plan, &inputs);
        let restage = {
            let plan = plan.clone();
            let properties = self.properties.clone();
            move || Stage::for_plan(plan.clone(), &properties)
        };
        let stage = Stage::for_plan(plan, &self.properties);
        let cache_bytes = self
            .property("ksql.streams.cache.max.bytes.buffering")
            .or_else(|| self.property("cache.max.bytes.buffering"))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|bytes| *bytes > 0);
        let exactly_once = self.exactly_once()?;
        // Kafka Streams commits every 100 ms under exactly-once unless told otherwise.
        let default_interval = if exactly_once {
            EXACTLY_ONCE_COMMIT_INTERVAL
        } else {
            DEFAULT_COMMIT_INTERVAL
        };
        let commit_interval = self
            .property("ksql.streams.commit.interval.ms")
            .or_else(|| self.property("commit.interval.ms"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(default_interval, std::time::Duration::from_millis);
        let group = self.consumer_group(&query_id);
        let mut query = PersistentQuery::new(
            query_id,
            inputs,
            stage,
            Output::Topic(Box::new(sink_spec)),
            options,
        )
        .with_group(group, commit_interval);
        if exactly_once {
            query = query.exactly_once();
        }
        if let Some(partitions) = tasks {
            query = query.with_partition_tasks(partitions, &restage);
        }
        query = query.with_restage(restage);
        if let Some(bytes) = cache_bytes
            && sink.kind == SourceKind::Table
        {
            query = query.with_cache(
                usize::try_from(bytes).unwrap_or(usize::MAX),
                commit_interval,
            );
        }
        // A new persistent query reads from the end of its inputs unless told otherwise, as
        // ksqlDB's do; a query whose group has committed offsets resumes from them.
        let reset = OffsetReset::from_properties(&self.properties, OffsetReset::Latest);
        query
            .start(self.store.as_ref(), reset)
            .map_err(|e| EngineError::Generic(e.to_string()))?;
        // Servers of one service on Kafka share the query's tasks (see `server::cluster`).
        if self.shared_tasks {
            query.await_tasks();
        }
        self.runtime.add(query);
        if sink.kind == SourceKind::Table {
            self.materialize(sink);
        }
        self.catalog.put_query(info);
        Ok(())
    }

    /// Keeps a table's current rows, indexed by key, for pull queries.
    pub(super) fn materialize(&self, table: &Source) {
        let partitions = self
            .store
            .describe_topic(&table.topic)
            .map_or(1, |t| t.config.partitions);
        let window_bytes = match table.window.as_ref().map(|w| w.window_type) {
            None => 0,
            Some(crate::sql::ast::WindowType::Session) => 16,
            Some(_) => 8,
        };
        self.runtime.materialize(MaterializedView::new(
            table.topic.clone(),
            partitions,
            window_bytes,
        ));
    }

    /// The consumer group of a persistent query, named as ksqlDB names it.
    pub(super) fn consumer_group(&self, query_id: &str) -> String {
        let service = self.property(super::SERVICE_ID).unwrap_or("default_");
        format!("_confluent-ksql-{service}query_{query_id}")
    }

    /// A query whose state follows its partitioning runs one task per partition, as Kafka
    /// Streams does; its inputs must all have the same number of partitions, more than one.
    /// Returns that number.
    fn partition_tasks(&self, plan: &QueryPlan, inputs: &[Input]) -> Option<u32> {
        if !self.partition_tasks || !plan.partitionable() {
            return None;
        }
        let mut counts = inputs.iter().map(|input| {
            self.store
                .describe_topic(&input.source.topic)
                .ok()
                .map(|t| t.config.partitions)
        });
        let partitions = counts.next()??;
        if partitions < 2 || counts.any(|c| c != Some(partitions)) {
            return None;
        }
        Some(partitions)
    }

    /// The output column that a sink's `TIMESTAMP=` property names.
    fn sink_timestamp(
        &self,
        with: &WithClause<'_>,
        schema: &Schema,
    ) -> Result<Option<usize>, EngineError> {
        let Some(t) = with.text("TIMESTAMP") else {
            return Ok(None);
        };
        let name = normalise_column_name(&t);
        let Some(index) = schema.columns.iter().position(|c| c.name == name) else {
            return Err(EngineError::statement(format!(
                "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
            )));
        };
        match schema.columns[index].ty {
            SqlType::Bigint | SqlType::Timestamp => Ok(Some(index)),
            SqlType::String if with.text("TIMESTAMP_FORMAT").is_some() => Ok(Some(index)),
            _ => Err(EngineError::statement(format!(
                "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."
            ))),
        }
    }

    fn ensure_topic(
        &self,
        topic: &str,
        partitions: u32,
        replicas: i16,
        compacted: bool,
    ) -> Result<(), EngineError> {
        if self.store.describe_topic(topic).ok().is_some() {
            return Ok(());
        }
        self.store.create_topic(
            topic,
            TopicConfig {
                partitions: partitions.max(1),
                replicas,
                cleanup_policy: if compacted {
                    CleanupPolicy::Compact
                } else {
                    CleanupPolicy::Delete
                },
                ..TopicConfig::default()
            },
        )?;
        Ok(())
    }

    pub(super) fn insert_values(
        &mut self,
        target: &str,
        columns: Option<&[String]>,
        values: &[Expr],
    ) -> Result<Outcome, EngineError> {
        let inserter = self.inserter(target)?;
        let sink = &inserter.sink;
        let names: Vec<String> = match columns {
            Some(c) => c.to_vec(),
            None => sink.schema.columns.iter().map(|c| c.name.clone()).collect(),
        };
        let headers: Vec<&str> = names
            .iter()
            .filter(|n| {
                sink.schema
                    .find(n)
                    .is_some_and(|c| c.kind == ColumnKind::Header)
            })
            .map(String::as_str)
            .collect();
        if !headers.is_empty() {
            return Err(EngineError::Generic(format!(
                "Cannot insert into HEADER columns: {}",
                headers.join(", ")
            )));
        }
        if columns.is_some() && names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Failed to prepare statement: Expected number columns and values to match: {}, {}",
                names.len(),
                values.len()
            )));
        }
        if names.len() != values.len() {
            return Err(EngineError::statement(format!(
                "Expected a value for each column. Expected Columns: [{}]. Got [{}]",
                names.join(", "),
                values
                    .iter()
                    .map(expr_to_sql)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let scope = Scope::new(Vec::new());
        let compiler = ExprCompiler::new(&scope, Clause::Values);
        let empty = RecordBatch::try_new_with_options(
            Arc::new(ArrowSchema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )
        .map_err(EngineError::internal)?;
        let mut row: Vec<(String, ScalarValue)> = Vec::new();
        let mut timestamp: Option<i64> = None;
        for (name, expr) in names.iter().zip(values) {
            if matches!(name.as_str(), "ROWPARTITION" | "ROWOFFSET") {
                return Err(EngineError::statement(format!(
                    "Inserting into column `{name}` is not allowed."
                )));
            }
            let mut qualifier = None;
            crate::plan::aggregate::visit(expr, &mut |x| {
                if let Expr::Column {
                    qualifier: Some(q), ..
                } = x
                {
                    qualifier.get_or_insert_with(|| q.clone());
                }
            });
            if let Some(q) = qualifier {
                return Err(EngineError::statement(format!(
                    "Failed to prepare statement: '{q}' is not a valid stream/table name or alias."
                )));
            }
            let target_ty = if name == "ROWTIME" {
                SqlType::Bigint
            } else {
                match sink.schema.find(name) {
                    Some(c) => c.ty.clone(),
                    None => {
                        return Err(EngineError::statement(format!(
                            "Column name {name} does not exist."
                        )));
                    }
                }
            };
            // An empty STRUCT() fits any struct type, with every field null.
            if matches!(expr, Expr::Struct(fields) if fields.is_empty())
                && let datafusion::arrow::datatypes::DataType::Struct(fields) = target_ty.to_arrow()
            {
                let children = fields
                    .iter()
                    .map(|f| datafusion::arrow::array::new_null_array(f.data_type(), 1))
                    .collect();
                let array = datafusion::arrow::array::StructArray::new(fields, children, None);
                row.push((name.clone(), ScalarValue::Struct(Arc::new(array))));
                continue;
            }
            let compiled = compiler.compile(expr)?;
            let compiled = compiler.implicit_cast(compiled, &target_ty, expr)?;
            let value = compiled
                .expr
                .evaluate(&empty)
                .and_then(|v| v.into_array(1))
                .and_then(|a| ScalarValue::try_from_array(&a, 0))
                .map_err(|e| {
                    EngineError::Generic(format!("Failed to insert values into '{target}'. {e}"))
                })?;
            if name == "ROWTIME" {
                if let ScalarValue::Int64(Some(t)) = value {
                    timestamp = Some(t);
                }
                continue;
            }
            row.push((name.clone(), value));
        }
        let value_of = |column: &Column| -> Result<ScalarValue, EngineError> {
            match row.iter().find(|(n, _)| n == &column.name) {
                Some((_, v)) => Ok(v.clone()),
                None => ScalarValue::try_from(&column.ty.to_arrow()).map_err(EngineError::internal),
            }
        };
        inserter.produce(value_of, timestamp)?;
        Ok(Outcome::Message(String::new()))
    }
}

/// Whether two schemas have the same columns (names, types and key-ness), in order.
/// Whether a query's result can be written to a sink: the same columns, each of the sink's
/// type or one that widens to it (INTEGER into DECIMAL, …), as ksqlDB casts implicitly.
fn same_columns(result: &Schema, sink: &Schema) -> bool {
    let strip = |s: &Schema| {
        s.columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Header)
            .map(|c| (c.name.clone(), c.ty.clone(), c.kind == ColumnKind::Key))
            .collect::<Vec<_>>()
    };
    let (result, sink) = (strip(result), strip(sink));
    result.len() == sink.len()
        && result
            .iter()
            .zip(&sink)
            .all(|(r, s)| r.0 == s.0 && r.2 == s.2 && crate::types::can_widen(&r.1, &s.1))
}

/// For each output column, the (result, sink) types where a value must be cast on its way
/// to the sink; empty when none must.
fn widened_columns(result: &Schema, sink: &Schema) -> Vec<Option<(SqlType, SqlType)>> {
    let columns = |s: &Schema| -> Vec<SqlType> {
        s.columns
            .iter()
            .filter(|c| c.kind != ColumnKind::Header)
            .map(|c| c.ty.clone())
            .collect()
    };
    let casts: Vec<Option<(SqlType, SqlType)>> = columns(result)
        .into_iter()
        .zip(columns(sink))
        .map(|(r, s)| (r != s).then_some((r, s)))
        .collect();
    if casts.iter().all(Option::is_none) {
        Vec::new()
    } else {
        casts
    }
}

impl Engine {
    /// The writer of rows into `target`, once the checks every insert makes have passed: the
    /// source exists, it is not read-only, its columns can be written. `INSERT … VALUES` and
    /// `/inserts-stream` both write through one.
    pub fn inserter(&self, target: &str) -> Result<Inserter, EngineError> {
        let Some(sink) = self.catalog.source(target).cloned() else {
            let upper = target.to_uppercase();
            let hint = if upper != target && self.catalog.source(&upper).is_some() {
                format!(
                    "\nDid you mean {upper}? Hint: try removing double quotes from the source name."
                )
            } else {
                String::new()
            };
            return Err(EngineError::Generic(format!(
                "Cannot insert values into an unknown stream/table: `{target}`{hint}"
            )));
        };
        if sink.read_only {
            return Err(EngineError::statement(format!(
                "Cannot insert values into read-only {}: {target}",
                kind_word(sink.kind)
            )));
        }
        crate::plan::refuse_wide_decimals(&sink.schema, &sink.name)
            .map_err(|e| EngineError::statement(e.to_string()))?;
        Ok(Inserter {
            store: Arc::clone(&self.store),
            sink,
            target: target.to_string(),
        })
    }
}

/// Writes rows into one stream or table; holds what it needs, so inserts run without the
/// engine.
pub struct Inserter {
    store: Arc<dyn crate::topics::TopicStore>,
    sink: Source,
    target: String,
}

impl Inserter {
    /// Inserts one row given as a JSON object keyed by column name (case-insensitively), as
    /// `/inserts-stream` receives them. `ROWTIME` sets the record's timestamp.
    pub fn insert_json(
        &self,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), EngineError> {
        let record = self.record_json(row)?;
        self.write(vec![record])
    }

    /// The record one row given as a JSON object becomes (see [`Inserter::insert_json`]),
    /// for [`Inserter::write`] to write with others.
    pub fn record_json(
        &self,
        row: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ProducerRecord, EngineError> {
        let lookup = |name: &str| {
            row.get(name).or_else(|| {
                row.iter()
                    .find(|(k, _)| k.to_uppercase() == name)
                    .map(|(_, v)| v)
            })
        };
        let timestamp = lookup("ROWTIME").and_then(serde_json::Value::as_i64);
        let value_of = |c: &Column| match lookup(&c.name) {
            Some(v) => format::json::json_to_scalar(v, &c.ty).map_err(|e| {
                EngineError::Generic(format!(
                    "Failed to insert values into '{}'. {e}",
                    self.target
                ))
            }),
            None => ScalarValue::try_from(&c.ty.to_arrow()).map_err(EngineError::internal),
        };
        self.record(value_of, timestamp)
    }

    /// Writes records to the insert's sink, acknowledged together once they are durable.
    pub fn write(&self, records: Vec<ProducerRecord>) -> Result<(), EngineError> {
        if !records.is_empty() {
            self.store.produce(&self.sink.topic, records)?;
        }
        Ok(())
    }

    /// Writes one row to an insert's sink (see [`Inserter::record`]).
    fn produce(
        &self,
        value_of: impl Fn(&Column) -> Result<ScalarValue, EngineError>,
        timestamp: Option<i64>,
    ) -> Result<(), EngineError> {
        let record = self.record(value_of, timestamp)?;
        self.write(vec![record])
    }

    /// One row as a record of the insert's sink: each key and value column's value from
    /// `value_of`, serialized in the sink's formats, stamped `timestamp` (the wall clock when
    /// absent).
    fn record(
        &self,
        value_of: impl Fn(&Column) -> Result<ScalarValue, EngineError>,
        timestamp: Option<i64>,
    ) -> Result<ProducerRecord, EngineError> {
        let (sink, target) = (&self.sink, &self.target);
        let failed = |e: &dyn std::fmt::Display| {
            EngineError::Generic(format!("Failed to insert values into '{target}'. {e}"))
        };
        if let Some(t) = timestamp.filter(|t| *t < 0) {
            // Kafka's producer refuses the record, with this message.
            return Err(failed(&format!(
                "Invalid timestamp: {t}. Timestamp should always be non-negative or null."
            )));
        }
        let key_columns = sink.key_columns();
        let value_columns = sink.value_columns();
        let key_values = key_columns
            .iter()
            .map(&value_of)
            .collect::<Result<Vec<_>, _>>()?;
        let value_values = value_columns
            .iter()
            .map(&value_of)
            .collect::<Result<Vec<_>, _>>()?;
        let key = if key_columns.is_empty() || key_values.iter().all(ScalarValue::is_null) {
            None
        } else {
            format::serialize(
                &sink.key_format,
                &key_columns,
                key_columns.len() > 1,
                &key_values,
            )
            .map_err(|e| failed(&e))?
        };
        let value = format::serialize(
            &sink.value_format,
            &value_columns,
            sink.value_wrapped(),
            &value_values,
        )
        .map_err(|e| failed(&e))?;
        let timestamp = timestamp.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        });
        Ok(ProducerRecord {
            key,
            value,
            timestamp,
            headers: Vec::new(),
            partition: None,
        })
    }
}

/// The statement as ksqlDB prints it once it has been prepared: every column qualified by its
/// source, every item named, one item per line, `EMIT CHANGES` explicit. Errors found while
/// planning quote it. `None` for the shapes not rendered this way (joins, windows, `*`).
fn sanitized_statement(c: &CreateAsSelect, plan: &QueryPlan) -> Option<String> {
    use crate::sql::ast::{Relation, SelectItem};
    let query = &c.query;
    let Relation::Source { name, alias, .. } = &query.from else {
        return None;
    };
    if query.window.is_some() {
        return None;
    }
    let alias = alias.as_deref().unwrap_or(name);
    let qualify = |e: &Expr| -> String {
        let qualified = crate::plan::aggregate::rewrite(e, &mut |x| {
            Ok(match x {
                Expr::Column {
                    qualifier: None,
                    name,
                    location,
                } => Some(Expr::Column {
                    qualifier: Some(alias.to_string()),
                    name: name.clone(),
                    location: *location,
                }),
                _ => None,
            })
        });
        expr_to_sql(&qualified.unwrap_or_else(|_| e.clone()))
    };
    let outputs = match plan {
        QueryPlan::Stateless(p) => &p.outputs,
        QueryPlan::Aggregate(p) => &p.outputs,
        QueryPlan::Join(_) => return None,
    };
    let mut items = Vec::with_capacity(query.select.len());
    for (position, item) in query.select.iter().enumerate() {
        let SelectItem::Expr { expr, .. } = item else {
            return None;
        };
        let output = outputs.iter().find(|o| o.position == position)?;
        items.push(format!(
            "{} {}",
            qualify(expr),
            crate::sql::display::ident(&output.name)
        ));
    }
    let with = if c.properties.is_empty() {
        String::new()
    } else {
        let properties: Vec<String> = c
            .properties
            .iter()
            .map(|(k, v)| match v {
                crate::sql::ast::PropertyValue::String(s) => {
                    format!("{k}='{}'", s.replace('\'', "''"))
                }
                other => format!("{k}={}", other.as_text()),
            })
            .collect();
        format!(" WITH ({})", properties.join(", "))
    };
    let mut text = format!(
        "CREATE {} {}{with} AS SELECT\n  {}\nFROM {name} {alias}",
        kind_word(c.kind).to_uppercase(),
        crate::sql::display::ident(&c.name),
        items.join(",\n  ")
    );
    if let Some(w) = &query.where_clause {
        text.push_str(&format!("\nWHERE {}", qualify(w)));
    }
    if !query.group_by.is_empty() {
        let exprs: Vec<String> = query.group_by.iter().map(qualify).collect();
        text.push_str(&format!("\nGROUP BY {}", exprs.join(", ")));
    }
    if !query.partition_by.is_empty() {
        let exprs: Vec<String> = query.partition_by.iter().map(qualify).collect();
        text.push_str(&format!("\nPARTITION BY {}", exprs.join(", ")));
    }
    if let Some(h) = &query.having {
        text.push_str(&format!("\nHAVING {}", qualify(h)));
    }
    text.push_str("\nEMIT CHANGES");
    Some(text)
}
