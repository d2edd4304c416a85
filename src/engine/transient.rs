//! Queries that answer a client rather than write a topic: push queries (`EMIT CHANGES`),
//! which keep streaming rows, and pull queries, which read the current state and end.
//!
//! Both differ from persistent queries in what they may select: the pseudo columns (`ROWTIME`,
//! the window bounds, …) can be selected as they are, and `SELECT *` over a windowed source
//! includes `WINDOWSTART` and `WINDOWEND` after the key columns. [`prepare`] rewrites a query
//! into one the planner takes and remembers the names to show.
//!
//! Pull queries follow ksqlDB's rules: no joins, windows, grouping or partitioning; no
//! `ROWPARTITION`/`ROWOFFSET`; tables must be materialized (a CTAS sink or a `CREATE SOURCE`
//! table); and the WHERE clause of a table query is analysed as ksqlDB's `QueryFilterNode`
//! does, so that key lookups, range scans and table scans are allowed or refused by
//! `ksql.query.pull.table.scan.enabled` and `ksql.query.pull.range.scan.enabled`. A table is
//! read in key order (per partition), as a state store iterates it.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use tokio::sync::mpsc;

use super::{Engine, EngineError};
use crate::catalog::{Catalog, Source};
use crate::exec::{
    DecodeOptions, Incomplete, Input, OffsetReset, Output, PersistentQuery, PushEvent, Reporter,
    RowSink, Stage, decode, stateless,
};
use crate::plan::{OutputColumn, PlanError, QueryPlan, plan_query_with};
use crate::sql::ast::{
    BinaryOp, Emit, Expr, Literal, Query, Relation, SelectItem, SourceKind, Statement, UnaryOp,
};
use crate::sql::display::{expr_to_sql, literal_to_sql};
use crate::sql::{self, Location};
use crate::topics::{FetchLimits, Record};
use crate::types::{ColumnKind, SqlType};

/// How many rows a push query may buffer for a slow client before it pauses, by default and
/// at most (`ksql.query.push.buffer.rows`).
const PUSH_BUFFER: usize = 4096;
const MAX_PUSH_BUFFER: usize = 1_000_000;
pub const PUSH_BUFFER_ROWS: &str = "ksql.query.push.buffer.rows";

/// A push query's queue length, as configured.
fn push_buffer(properties: &BTreeMap<String, String>) -> Result<usize, EngineError> {
    let Some(value) = properties.get(PUSH_BUFFER_ROWS) else {
        return Ok(PUSH_BUFFER);
    };
    match value.trim().parse::<usize>() {
        Ok(rows) if (1..=MAX_PUSH_BUFFER).contains(&rows) => Ok(rows),
        _ => Err(EngineError::Generic(format!(
            "Invalid value {value} for configuration {PUSH_BUFFER_ROWS}: a whole number from 1 to {MAX_PUSH_BUFFER}"
        ))),
    }
}

/// The server property that caps how many push queries run at once.
pub const MAX_PUSH_QUERIES: &str = "ksql.max.push.queries";

/// What ksqlDB appends to a pull query's validation errors.
const PULL_QUERY_SYNTAX_HELP: &str = " See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.";

/// Pseudo columns a transient query may select as they are (a persistent query may not).
const SELECTABLE_PSEUDO_COLUMNS: [&str; 5] = [
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];
/// Pseudo columns pull queries don't support.
const PULL_DISALLOWED_COLUMNS: [&str; 2] = ["ROWPARTITION", "ROWOFFSET"];
const WINDOW_BOUNDS: [&str; 2] = ["WINDOWSTART", "WINDOWEND"];
/// The prefix of the stand-in names pseudo columns are planned under.
const PSEUDO_ALIAS_PREFIX: &str = "__SLUICE_PSEUDO_";

/// Enables pull queries that scan a whole table (ksqlDB's default: on).
const TABLE_SCAN_PROPERTY: &str = "ksql.query.pull.table.scan.enabled";
/// Enables pull queries that scan a range of keys (ksqlDB's default: on).
const RANGE_SCAN_PROPERTY: &str = "ksql.query.pull.range.scan.enabled";
/// Enables scalable push queries (ksqlDB's default: off).
const SCALABLE_PUSH_PROPERTY: &str = "ksql.query.push.v2.enabled";

/// The most disjuncts a WHERE clause is expanded into when it is analysed.
const MAX_DISJUNCTS: usize = 1024;

/// A column of a query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
    pub key: bool,
}

/// A running push query, as its client sees it.
pub struct PushQuery {
    pub id: String,
    pub columns: Vec<ResultColumn>,
    pub events: mpsc::Receiver<PushEvent>,
}

/// The answer to a pull query.
#[derive(Debug, Clone, PartialEq)]
pub struct PullResult {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Vec<ScalarValue>>,
    /// Whether the query read a table (its header marks key columns).
    pub source_kind: SourceKind,
    /// Whether the rows stopped at the query's LIMIT.
    pub limit_reached: bool,
}

/// A SELECT, classified.
pub enum QueryKind {
    Push(Query),
    Pull(Query),
    Print(super::print::PrintRequest),
}

fn plan_error(e: PlanError, text: &str) -> EngineError {
    EngineError::Statement {
        message: e.to_string(),
        statement: text.to_string(),
    }
}

/// A transient query rewritten for the planner.
struct Prepared {
    query: Query,
    /// Stand-in names given to selected pseudo columns, and the names to show.
    renames: Vec<(String, String)>,
    /// Shown names that are the source's window bounds (keys of a pull query's result).
    window_bounds: Vec<String>,
}

impl Prepared {
    /// The shown name of an output.
    fn name(&self, planned: &str) -> String {
        self.renames
            .iter()
            .find(|(alias, _)| alias == planned)
            .map_or_else(|| planned.to_string(), |(_, shown)| shown.clone())
    }
}

/// The single source a query reads, if it reads one.
fn single_source<'c>(query: &Query, catalog: &'c Catalog) -> Option<(&'c Source, String)> {
    match &query.from {
        Relation::Source { name, alias, .. } => catalog
            .source(name)
            .map(|s| (s, alias.clone().unwrap_or_else(|| name.clone()))),
        Relation::Join(_) => None,
    }
}

/// Rewrites a transient query: `*` over a windowed source lists the key columns, the window
/// bounds and the value columns; selected pseudo columns are planned under stand-in names.
fn prepare(query: &Query, catalog: &Catalog) -> Prepared {
    let mut query = query.clone();
    let source = single_source(&query, catalog);
    let windowed = source.as_ref().is_some_and(|(s, _)| s.window.is_some());
    let aggregation = !query.group_by.is_empty() || query.window.is_some();
    if let Some((source, alias)) = source.filter(|(s, _)| s.window.is_some() && !aggregation) {
        let column = |name: &str| SelectItem::Expr {
            expr: Expr::Column {
                qualifier: None,
                name: name.to_string(),
                location: Location::default(),
            },
            alias: None,
        };
        let mut expanded = Vec::new();
        for item in query.select.drain(..) {
            let star = match &item {
                SelectItem::Wildcard => true,
                SelectItem::QualifiedWildcard(q) => *q == alias,
                SelectItem::Expr { .. } => false,
            };
            if !star {
                expanded.push(item);
                continue;
            }
            let keys = source.schema.key_columns().map(|c| c.name.clone());
            let values = source
                .schema
                .columns
                .iter()
                .filter(|c| c.kind != ColumnKind::Key)
                .map(|c| c.name.clone());
            let names: Vec<String> = keys
                .chain(WINDOW_BOUNDS.iter().map(|s| s.to_string()))
                .chain(values)
                .collect();
            expanded.extend(names.iter().map(|n| column(n)));
        }
        query.select = expanded;
    }
    let join = matches!(query.from, Relation::Join(_));
    let mut renames = Vec::new();
    let mut window_bounds = Vec::new();
    for item in &mut query.select {
        if let SelectItem::Expr {
            expr: Expr::Column {
                qualifier, name, ..
            },
            alias: alias @ None,
        } = item
            && SELECTABLE_PSEUDO_COLUMNS.contains(&name.as_str())
        {
            let stand_in = format!("{PSEUDO_ALIAS_PREFIX}{}", renames.len());
            if windowed && WINDOW_BOUNDS.contains(&name.as_str()) {
                window_bounds.push(name.clone());
            }
            // A join names a source's column after the source: `I1.ROWTIME` is `I1_ROWTIME`.
            let shown = match qualifier {
                Some(q) if join => format!("{q}_{name}"),
                _ => name.clone(),
            };
            renames.push((stand_in.clone(), shown));
            *alias = Some(stand_in);
        }
    }
    Prepared {
        query,
        renames,
        window_bounds,
    }
}

impl Engine {
    /// Parses a query statement (`SELECT …`) and tells push from pull.
    pub fn parse_query(
        &self,
        text: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<QueryKind, EngineError> {
        let pieces = sql::split_statements(text);
        let [piece] = pieces.as_slice() else {
            return Err(EngineError::statement(
                "Expected exactly one SELECT statement.",
            ));
        };
        let mut all = self.variables.clone();
        all.extend(variables.iter().map(|(k, v)| (k.to_lowercase(), v.clone())));
        let text = sql::substitute_variables(&piece.text, &all);
        let catalog = &self.catalog;
        let statement = sql::parse_statement(&text, Location { line: 1, column: 1 }, &|n| {
            catalog.custom_type(&n.to_uppercase()).cloned()
        })
        .map_err(|e| {
            let message = e.to_string();
            // ksqlDB follows a syntax error with the statement it was found in.
            match message.split_once('\n') {
                Some((first, _)) if first.contains("Syntax Error") => {
                    EngineError::Parse(format!("{first}\n\nStatement: {text}"))
                }
                _ => EngineError::Parse(message),
            }
        })?;
        match statement {
            Statement::Query(q) if q.emit == Some(Emit::Changes) => Ok(QueryKind::Push(q)),
            Statement::Query(q) => Ok(QueryKind::Pull(q)),
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => Ok(QueryKind::Print(super::print::PrintRequest {
                topic,
                from_beginning,
                interval,
                limit,
            })),
            _ => Err(EngineError::statement(
                "The query endpoints only run SELECT and PRINT statements; use /ksql for other statements.",
            )),
        }
    }

    pub(super) fn effective_properties(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut properties = self.properties.clone();
        properties.extend(overrides.clone());
        properties
    }

    /// Plans a prepared transient query and shows the stand-in names as they were selected.
    fn plan_transient(
        &self,
        prepared: &Prepared,
        sink: &str,
        properties: &BTreeMap<String, String>,
        text: &str,
    ) -> Result<QueryPlan, EngineError> {
        let mut plan = plan_query_with(&prepared.query, &self.catalog, sink, properties, true)
            .map_err(|e| plan_error(e, text))?;
        self.check_co_partitioned(&plan)?;
        let outputs = match &mut plan {
            QueryPlan::Stateless(p) => &mut p.outputs,
            QueryPlan::Aggregate(p) => &mut p.outputs,
            QueryPlan::Join(p) => &mut p.outputs,
        };
        for output in outputs {
            output.name = prepared.name(&output.name);
        }
        Ok(plan)
    }

    /// Starts a push query; its rows arrive on the returned channel as queries run.
    pub fn start_push_query(
        &mut self,
        query: &Query,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PushQuery, EngineError> {
        let properties = self.effective_properties(overrides);
        let prepared = prepare(query, &self.catalog);
        let plan = self.plan_transient(&prepared, "transient", &properties, text)?;
        self.check_push_query_limit()?;
        let (outputs, columns) = result_columns(plan_outputs(&plan), &[]);
        let (sender, events) = mpsc::channel(push_buffer(&properties)?);
        let source_name = plan.source().name.clone();
        self.next_transient += 1;
        let scalable = is_scalable_push(query, &self.catalog, &properties);
        let keyed = plan.output_schema().key_columns().next().is_some();
        let id = if scalable {
            format!("SCALABLE_PUSH_QUERY_{}", self.next_transient)
        } else {
            format!("transient_{source_name}_{}", self.next_transient)
        };
        let inputs = plan
            .inputs()
            .into_iter()
            .map(|(source, scope)| Input::new(source, scope))
            .collect();
        let stage = Stage::for_plan(plan, &properties);
        let no_rows = query.limit == Some(0);
        if no_rows {
            // The limit is reached before the first row.
            let _ = sender.try_send(PushEvent::LimitReached);
        }
        let output = Output::Rows(RowSink {
            sender,
            order: outputs,
            limit: query.limit,
            sent: 0,
            finished: no_rows,
            skip_incomplete: scalable.then_some(if keyed {
                Incomplete::NoValueOrKey
            } else {
                Incomplete::NoValue
            }),
        });
        let mut running =
            PersistentQuery::new(id.clone(), inputs, stage, output, DecodeOptions::default());
        running
            .start(
                self.store.as_ref(),
                OffsetReset::from_properties(&properties, OffsetReset::Latest),
            )
            .map_err(|e| EngineError::Generic(e.to_string()))?;
        self.runtime.add(running);
        Ok(PushQuery {
            id,
            columns,
            events,
        })
    }

    /// Refuses a push query past `ksql.max.push.queries` (the server's default is ksqlDB's,
    /// 100; an engine without the property, as the test runners', has no limit).
    fn check_push_query_limit(&self) -> Result<(), EngineError> {
        let Some(limit) = self
            .property(MAX_PUSH_QUERIES)
            .and_then(|v| v.trim().parse::<usize>().ok())
        else {
            return Ok(());
        };
        let running = self
            .runtime
            .queries()
            .iter()
            .filter(|q| q.is_push())
            .count();
        if running >= limit {
            return Err(EngineError::TooManyPushQueries(format!(
                "Not executing statement(s) as it would cause the number of active, push queries to exceed the configured limit. Terminate existing PUSH queries, or increase the '{MAX_PUSH_QUERIES}' setting via the 'ksql-server.properties' file. Current push query count: {running}. Configured limit: {limit}."
            )));
        }
        Ok(())
    }

    /// Stops a push query; false if there is none with that id.
    pub fn close_push_query(&mut self, id: &str) -> bool {
        self.runtime.find(id).is_some_and(|q| q.is_push()) && self.runtime.remove(id).is_some()
    }

    /// The ids of the push queries running now.
    pub fn push_query_ids(&self) -> Vec<String> {
        self.runtime
            .queries()
            .iter()
            .filter(|q| q.is_push())
            .map(|q| q.id.clone())
            .collect()
    }

    /// Runs a pull query over the current contents of its source: for a table, the latest row
    /// of each key, in key order; for a stream, every record.
    pub fn pull_query(
        &mut self,
        query: &Query,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PullResult, EngineError> {
        self.prepare_pull(query, text, overrides)?.run()
    }

    /// Checks and plans a pull query against the catalog; what it returns runs without the
    /// engine.
    pub fn prepare_pull(
        &self,
        query: &Query,
        text: &str,
        overrides: &BTreeMap<String, String>,
    ) -> Result<PullPlan, EngineError> {
        let properties = self.effective_properties(overrides);
        validate_pull(query)?;
        let table = match single_source(query, &self.catalog) {
            Some((source, _)) if source.kind == SourceKind::Table => {
                if !self.is_materialized(source) {
                    return Err(EngineError::statement(format!(
                        "The `{0}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{0} AS SELECT * FROM {0}'.{PULL_QUERY_SYNTAX_HELP}",
                        source.name
                    )));
                }
                if let Some(w) = &query.where_clause {
                    check_like_predicates(w, source, flag(&properties, TABLE_SCAN_PROPERTY))?;
                }
                Some(source.clone())
            }
            _ => None,
        };
        let prepared = prepare(query, &self.catalog);
        let plan = self
            .plan_transient(&prepared, "pull", &properties, text)
            .map_err(|e| with_where_statement(e, query.where_clause.as_ref()))?;
        let QueryPlan::Stateless(plan) = plan else {
            return Err(EngineError::statement(format!(
                "Pull queries don't support GROUP BY clauses.{PULL_QUERY_SYNTAX_HELP}"
            )));
        };
        if let Some(source) = &table {
            check_table_where(query.where_clause.as_ref(), source, &properties)?;
        }
        let (outputs, columns) = result_columns(&plan.outputs, &prepared.window_bounds);
        // The queries that write the source: their held updates are written before reading.
        let writers = self
            .persistent_queries()
            .filter(|q| q.sink_topic() == Some(plan.source.topic.as_str()))
            .collect();
        Ok(PullPlan {
            store: Arc::clone(&self.store),
            view: self.runtime.view(&plan.source.topic),
            writers,
            plan,
            where_clause: query.where_clause.clone(),
            limit: query.limit.map(|l| l as usize),
            outputs,
            columns,
        })
    }
}

/// A pull query, checked and planned: it reads the source's view (or topic) and evaluates the
/// query over what it finds, without the engine.
pub struct PullPlan {
    store: Arc<dyn crate::topics::TopicStore>,
    view: Option<Arc<crate::exec::view::MaterializedView>>,
    writers: Vec<Arc<crate::exec::PersistentQuery>>,
    plan: crate::plan::StatelessPlan,
    where_clause: Option<Expr>,
    limit: Option<usize>,
    outputs: Vec<usize>,
    columns: Vec<ResultColumn>,
}

impl PullPlan {
    /// Answers the query from the source's current contents, all rows at once.
    pub fn run(self) -> Result<PullResult, EngineError> {
        let mut cursor = self.open()?;
        let mut rows = Vec::new();
        while let Some(chunk) = cursor.next_chunk()? {
            rows.extend(chunk);
        }
        Ok(PullResult {
            limit_reached: cursor.limit_reached(),
            source_kind: cursor.source_kind(),
            columns: cursor.plan.columns,
            rows,
        })
    }

    /// Finds where the answer's records are (a table's view is brought up to date and looked
    /// up or scanned); the rows are then read chunk by chunk from the returned cursor, so an
    /// answer of any size is sent in bounded memory.
    pub fn open(self) -> Result<PullCursor, EngineError> {
        let source_kind = self.plan.source.kind;
        let failed = |e: crate::exec::ExecError| EngineError::Runtime(e.to_string());
        let store = self.store.as_ref();
        // A pull query sees what the persistent queries have processed: the updates their
        // record caches hold are written first, as a state store answers through its cache.
        // A task busy with a batch is not waited for (its updates show in the next answer).
        for writer in &self.writers {
            writer.commit_idle_tasks(store).map_err(failed)?;
        }
        let found = match (source_kind, &self.view) {
            (SourceKind::Table, Some(view)) => {
                view.catch_up(store).map_err(failed)?;
                let keys = lookup_keys(self.where_clause.as_ref(), &self.plan.source);
                Found::Positions(view.positions(keys.as_deref()))
            }
            (SourceKind::Stream, _) => {
                let topic = store
                    .describe_topic(&self.plan.source.topic)
                    .map_err(|e| EngineError::Generic(e.to_string()))?;
                Found::Ranges(
                    (0u32..)
                        .zip(topic.start_offsets.into_iter().zip(topic.end_offsets))
                        .map(|(p, (start, end))| (p, start, end))
                        .collect(),
                )
            }
            // Every queryable table is materialized when it is created.
            (SourceKind::Table, None) => {
                return Err(EngineError::internal(format!(
                    "the table {} has no materialized view",
                    self.plan.source.name
                )));
            }
        };
        Ok(PullCursor {
            plan: self,
            found,
            rows_sent: 0,
            limit_reached: false,
        })
    }

    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    pub fn source_kind(&self) -> SourceKind {
        self.plan.source.kind
    }
}

/// Where a pull query's records are, consumed from the front as rows are read.
enum Found {
    /// Offsets by partition, in the order their rows are answered (a view's lookup or scan).
    Positions(std::collections::VecDeque<(u32, std::collections::VecDeque<u64>)>),
    /// Offset ranges `start..end` by partition (a stream's records).
    Ranges(std::collections::VecDeque<(u32, u64, u64)>),
}

/// An open pull query: its rows, a chunk at a time.
pub struct PullCursor {
    plan: PullPlan,
    found: Found,
    rows_sent: usize,
    limit_reached: bool,
}

/// How many records a pull query reads per chunk.
const PULL_CHUNK: usize = 1024;

impl PullCursor {
    pub fn columns(&self) -> &[ResultColumn] {
        &self.plan.columns
    }

    pub fn source_kind(&self) -> SourceKind {
        self.plan.source_kind()
    }

    /// Whether the rows stopped at the query's LIMIT.
    pub fn limit_reached(&self) -> bool {
        self.limit_reached
    }

    /// The next rows, or `None` once every row (or the LIMIT) has been read.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<Vec<ScalarValue>>>, EngineError> {
        loop {
            if self.limit_reached {
                return Ok(None);
            }
            let records = self.next_records()?;
            if records.is_empty() {
                return Ok(None);
            }
            let rows = self.evaluate(&records)?;
            if !rows.is_empty() {
                return Ok(Some(rows));
            }
        }
    }

    /// The next chunk of records (empty at the end).
    fn next_records(&mut self) -> Result<Vec<Record>, EngineError> {
        let store = self.plan.store.as_ref();
        let topic = &self.plan.plan.source.topic;
        let failed = |e: crate::topics::TopicError| EngineError::Generic(e.to_string());
        let mut records = Vec::new();
        match &mut self.found {
            Found::Positions(partitions) => {
                while records.len() < PULL_CHUNK {
                    let Some((partition, offsets)) = partitions.front_mut() else {
                        break;
                    };
                    let Some(offset) = offsets.pop_front() else {
                        partitions.pop_front();
                        continue;
                    };
                    let fetched = store
                        .fetch(topic, *partition, offset, FetchLimits::records(1))
                        .map_err(failed)?;
                    records.extend(fetched.records);
                }
            }
            Found::Ranges(ranges) => {
                while let Some((partition, start, end)) = ranges.front_mut() {
                    if *start >= *end {
                        ranges.pop_front();
                        continue;
                    }
                    let fetched = store
                        .fetch(topic, *partition, *start, FetchLimits::records(PULL_CHUNK))
                        .map_err(failed)?;
                    let before = records.len();
                    records.extend(fetched.records.into_iter().filter(|r| r.offset < *end));
                    if records.len() == before {
                        ranges.pop_front();
                        continue;
                    }
                    *start = records.last().map_or(*end, |r| r.offset + 1);
                    break;
                }
            }
        }
        Ok(records)
    }

    /// The rows of a chunk of records that pass the WHERE, projected, within the LIMIT.
    fn evaluate(&mut self, records: &[Record]) -> Result<Vec<Vec<ScalarValue>>, EngineError> {
        let plan = &self.plan.plan;
        let mut log = Vec::new();
        let mut stats = Default::default();
        let mut reporter = Reporter {
            query_id: "pull",
            topic: &plan.source.topic,
            log: &mut log,
            stats: &mut stats,
        };
        let mut errors = Vec::new();
        let decoded = decode::decode(
            &plan.source,
            &plan.scope,
            records,
            &DecodeOptions::default(),
            None,
            &mut errors,
        )
        .map_err(|e| EngineError::Runtime(e.to_string()))?;
        let Some(batch) = decoded else {
            return Ok(Vec::new());
        };
        let mut rows = Vec::new();
        for row in stateless::process(plan, batch, &mut reporter)
            .and_then(|rows| rows.into_rows())
            .map_err(|e| EngineError::Runtime(e.to_string()))?
        {
            if row.meta.tombstone {
                continue;
            }
            if self.plan.limit.is_some_and(|l| self.rows_sent >= l) {
                self.limit_reached = true;
                break;
            }
            rows.push(
                self.plan
                    .outputs
                    .iter()
                    .map(|&i| row.values.get(i).cloned().unwrap_or(ScalarValue::Null))
                    .collect(),
            );
            self.rows_sent += 1;
        }
        if self.plan.limit.is_some_and(|l| self.rows_sent >= l) {
            self.limit_reached = true;
        }
        Ok(rows)
    }
}

impl Engine {
    /// Whether pull queries can read a table: a `CREATE SOURCE` table, or the sink of a query.
    fn is_materialized(&self, source: &Source) -> bool {
        source.read_only
            || self
                .catalog
                .queries()
                .any(|q| q.sink.as_deref() == Some(source.name.as_str()))
    }
}

/// The value of a boolean property; unset means on.
fn flag(properties: &BTreeMap<String, String>, name: &str) -> bool {
    properties
        .get(name)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// ksqlDB runs a push query as a scalable push query when they are enabled and the query
/// taps the output of exactly one persistent query from the latest offset, with no grouping,
/// windowing, HAVING or PARTITION BY, and no `ROWPARTITION`/`ROWOFFSET`.
fn is_scalable_push(
    query: &Query,
    catalog: &Catalog,
    properties: &BTreeMap<String, String>,
) -> bool {
    let enabled = properties
        .get(SCALABLE_PUSH_PROPERTY)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let latest = ["auto.offset.reset", "ksql.streams.auto.offset.reset"]
        .iter()
        .filter_map(|k| properties.get(*k))
        .next_back()
        .is_some_and(|v| v.eq_ignore_ascii_case("latest"));
    let Relation::Source { name, .. } = &query.from else {
        return false;
    };
    let writers = catalog
        .queries()
        .filter(|q| q.sink.as_deref() == Some(name.as_str()))
        .count();
    enabled
        && latest
        && writers == 1
        && query.group_by.is_empty()
        && query.window.is_none()
        && query.having.is_none()
        && query.partition_by.is_empty()
        && query.emit == Some(Emit::Changes)
        && disallowed_columns(select_exprs(query)).is_empty()
        && disallowed_columns(query.where_clause.iter()).is_empty()
}

/// The expressions of a select list.
fn select_exprs(query: &Query) -> impl Iterator<Item = &Expr> {
    query.select.iter().filter_map(|item| match item {
        SelectItem::Expr { expr, .. } => Some(expr),
        _ => None,
    })
}

fn has_column_ref(expr: &Expr) -> bool {
    let mut found = false;
    expr.walk(&mut |e| found |= matches!(e, Expr::Column { .. }));
    found
}

/// The `ROWPARTITION`/`ROWOFFSET` references among the expressions, in order, once each.
fn disallowed_columns<'e>(exprs: impl Iterator<Item = &'e Expr>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for expr in exprs {
        expr.walk(&mut |e| {
            if let Expr::Column { name, .. } = e
                && PULL_DISALLOWED_COLUMNS.contains(&name.as_str())
                && !found.contains(name)
            {
                found.push(name.clone());
            }
        });
    }
    found
}

/// `` `A` ``, `` `A` and `B` ``, `` `A`, `B` and `C` ``.
fn and_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// ksqlDB's `PullQueryValidator`: the clauses a pull query may not have.
fn validate_pull(query: &Query) -> Result<(), EngineError> {
    let refused = |what: &str| {
        Err(EngineError::statement(format!(
            "Pull queries don't support {what}.{PULL_QUERY_SYNTAX_HELP}"
        )))
    };
    if matches!(query.from, Relation::Join(_)) {
        return refused("JOIN clauses");
    }
    if query.window.is_some() {
        return refused("WINDOW clauses");
    }
    if !query.group_by.is_empty() {
        return refused("GROUP BY clauses");
    }
    if !query.partition_by.is_empty() {
        return refused("PARTITION BY clauses");
    }
    if query.having.is_some() {
        return refused("HAVING clauses");
    }
    let in_select = disallowed_columns(select_exprs(query));
    if !in_select.is_empty() {
        return Err(EngineError::statement(format!(
            "Pull queries don't support the following columns in SELECT clauses: {}",
            and_list(&in_select)
        )));
    }
    let in_where = disallowed_columns(query.where_clause.iter());
    if !in_where.is_empty() {
        return Err(EngineError::statement(format!(
            "Pull queries don't support the following columns in WHERE clauses: {}",
            and_list(&in_where)
        )));
    }
    Ok(())
}

/// A pull query's WHERE errors name the expression they were found in, as ksqlDB's do.
fn with_where_statement(error: EngineError, where_clause: Option<&Expr>) -> EngineError {
    // A pull query's BETWEEN is checked as the two comparisons it stands for, which ksqlDB
    // reports as an invalid expression.
    let has_between = where_clause.is_some_and(|w| {
        let mut found = false;
        crate::plan::aggregate::visit(w, &mut |e| found |= matches!(e, Expr::Between { .. }));
        found
    });
    match (error, where_clause) {
        (EngineError::Statement { message, statement }, Some(_))
            if has_between
                && message.starts_with("Error in WHERE expression: Cannot compare")
                && (message.contains("with GREATER_THAN_OR_EQUAL")
                    || message.contains("with LESS_THAN_OR_EQUAL")) =>
        {
            EngineError::Statement {
                message: message.replacen("Error in WHERE expression:", "Invalid expression:", 1),
                statement,
            }
        }
        (EngineError::Statement { message, statement }, Some(w))
            if message.starts_with("Error in WHERE expression:") =>
        {
            EngineError::Statement {
                message: format!("{message}\nStatement: {}", expr_to_sql(w)),
                statement,
            }
        }
        (other, _) => other,
    }
}

/// ksqlDB's message for a WHERE clause a pull query cannot use.
fn invalid_where(message: &str, windowed: bool) -> EngineError {
    let window_help = if windowed {
        "\n - (optionally) limits the time bounds of the windowed table.\n\t Bounds on [`WINDOWSTART`, `WINDOWEND`] are supported\n\t Supported operators are [EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL]"
    } else {
        ""
    };
    EngineError::statement(format!(
        "{message}.{PULL_QUERY_SYNTAX_HELP}\nPull queries require a WHERE clause that:\n - includes a key equality expression, e.g. `SELECT * FROM X WHERE <key-column> = Y;`.\n - in the case of a multi-column key, is a conjunction of equality expressions that cover all key columns.\n - to support range expressions, e.g.,  SELECT * FROM X WHERE <key-column> < Y;`, range scans need to be enabled by setting {RANGE_SCAN_PROPERTY}=true{window_help}\nIf more flexible queries are needed, , table scans can be enabled by setting {TABLE_SCAN_PROPERTY}=true."
    ))
}

fn table_scan_required() -> EngineError {
    EngineError::statement(format!(
        "Query requires table scan to be enabled. Table scans can be enabled by setting {TABLE_SCAN_PROPERTY}=true"
    ))
}

/// The LIKE predicates of a table's pull query: the value must be a string column, the
/// pattern a string; anything else needs a table scan.
fn check_like_predicates(
    where_clause: &Expr,
    source: &Source,
    table_scans: bool,
) -> Result<(), EngineError> {
    let windowed = source.window.is_some();
    let mut result = Ok(());
    where_clause.walk(&mut |e| {
        let Expr::Like { expr, pattern, .. } = e else {
            return;
        };
        if result.is_err() {
            return;
        }
        match expr.as_ref() {
            Expr::Column { name, .. } => {
                let Some(column) = source.schema.find(name) else {
                    return;
                };
                if column.ty != SqlType::String {
                    result = Err(invalid_where(
                        &format!(
                            "The column type for Like condition must be VARCHAR. The column type is {}",
                            base_type_name(&column.ty)
                        ),
                        windowed,
                    ));
                } else if !matches!(
                    pattern.as_ref(),
                    Expr::Literal(Literal::String(_) | Literal::Null)
                ) {
                    result = Err(invalid_where(
                        "Like condition on non-string pattern",
                        windowed,
                    ));
                }
            }
            _ if !table_scans => {
                result = Err(invalid_where(
                    "Like condition must be between strings",
                    windowed,
                ));
            }
            _ => {}
        }
    });
    result
}

/// ksqlDB's `SqlBaseType` name of a type.
fn base_type_name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::Bigint => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

/// The WHERE clause in disjunctive normal form, as lists of conjuncts, with `IN` expanded
/// into equalities and `BETWEEN` into two bounds (ksqlDB's `PullQueryRewriter`). `None` when
/// the expansion would be too large.
fn disjuncts(expr: &Expr) -> Option<Vec<Vec<Expr>>> {
    let out = match expr {
        Expr::Binary {
            op: BinaryOp::Or,
            left,
            right,
        } => {
            let mut all = disjuncts(left)?;
            all.extend(disjuncts(right)?);
            all
        }
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            let (l, r) = (disjuncts(left)?, disjuncts(right)?);
            if l.len().saturating_mul(r.len()) > MAX_DISJUNCTS {
                return None;
            }
            let mut all = Vec::new();
            for a in &l {
                for b in &r {
                    all.push(a.iter().chain(b).cloned().collect());
                }
            }
            all
        }
        Expr::InList {
            expr,
            list,
            negated: false,
        } => list
            .iter()
            .map(|item| vec![Expr::binary(BinaryOp::Eq, (**expr).clone(), item.clone())])
            .collect(),
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } => vec![vec![
            Expr::binary(BinaryOp::GtEq, (**expr).clone(), (**low).clone()),
            Expr::binary(BinaryOp::LtEq, (**expr).clone(), (**high).clone()),
        ]],
        other => vec![vec![other.clone()]],
    };
    (out.len() <= MAX_DISJUNCTS).then_some(out)
}

fn conjunction(atoms: &[Expr]) -> Expr {
    let mut iter = atoms.iter().cloned();
    let first = iter.next().unwrap_or(Expr::Literal(Literal::Boolean(true)));
    iter.fold(first, |acc, e| Expr::binary(BinaryOp::And, acc, e))
}

/// The column side of a comparison and the other side: the right side if it is a column,
/// else the left side if it is.
fn column_side<'e>(left: &'e Expr, right: &'e Expr) -> Option<(&'e str, &'e Expr)> {
    match (left, right) {
        (_, Expr::Column { name, .. }) => Some((name, left)),
        (Expr::Column { name, .. }, _) => Some((name, right)),
        _ => None,
    }
}

/// The most keys a pull query looks up one by one; past it, it scans.
const MAX_LOOKUP_KEYS: usize = 10_000;

/// The keys a pull query's WHERE pins in every disjunct (`K = e` or `K IN (…)`, `e` free of
/// columns), serialized as the table's KAFKA key: what its view is looked up by. `None` when
/// the WHERE does not pin them, or the key format has no single canonical encoding; the
/// query then scans the view. Either way the WHERE is applied to the rows found.
fn lookup_keys(where_clause: Option<&Expr>, source: &Source) -> Option<Vec<Vec<u8>>> {
    if source.key_format.kind != crate::format::FormatKind::Kafka {
        return None;
    }
    let keys: Vec<&crate::types::Column> = source.schema.key_columns().collect();
    let [key] = keys[..] else { return None };
    let mut values: Vec<Expr> = Vec::new();
    for atoms in disjuncts(where_clause?)? {
        let bound = atoms.iter().find_map(|atom| match atom {
            Expr::Binary {
                op: BinaryOp::Eq,
                left,
                right,
            } => match column_side(left, right) {
                Some((name, other)) if name == key.name && !has_column_ref(other) => {
                    Some(vec![other.clone()])
                }
                _ => None,
            },
            Expr::InList {
                expr,
                list,
                negated: false,
            } if matches!(&**expr, Expr::Column { name, .. } if name == &key.name)
                && !list.iter().any(has_column_ref) =>
            {
                Some(list.clone())
            }
            _ => None,
        })?;
        values.extend(bound);
        if values.len() > MAX_LOOKUP_KEYS {
            return None;
        }
    }
    let key_columns = [key.clone()];
    values
        .iter()
        .map(|e| {
            let value = constant(e, &key.ty)?;
            crate::format::serialize(&source.key_format, &key_columns, false, &[value]).ok()?
        })
        .collect()
}

/// The value of an expression without columns, cast to `ty` as an insert would; `None` when
/// it has none of that type.
fn constant(expr: &Expr, ty: &SqlType) -> Option<ScalarValue> {
    use datafusion::arrow::datatypes::Schema as ArrowSchema;
    use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
    let scope = crate::plan::expr::Scope::new(Vec::new());
    let compiler = crate::plan::expr::ExprCompiler::new(&scope, crate::plan::expr::Clause::Values);
    let compiled = compiler.compile(expr).ok()?;
    let compiled = compiler.implicit_cast(compiled, ty, expr).ok()?;
    let one_row = RecordBatch::try_new_with_options(
        std::sync::Arc::new(ArrowSchema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .ok()?;
    let array = compiled.expr.evaluate(&one_row).ok()?.into_array(1).ok()?;
    ScalarValue::try_from_array(&array, 0).ok()
}

/// How a disjunct constrains the key.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lookup {
    /// Every key column is bound by `=`.
    Equal,
    /// One key column bound by a range.
    Range,
    /// The key is not bound: a table scan.
    Scan,
}

/// ksqlDB's `QueryFilterNode` and `PullPhysicalPlanBuilder` checks of a table's pull query:
/// which disjuncts can be key lookups or range scans, and whether what is left needs a table
/// scan that the configuration refuses.
fn check_table_where(
    where_clause: Option<&Expr>,
    source: &Source,
    properties: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let table_scans = flag(properties, TABLE_SCAN_PROPERTY);
    let range_scans = flag(properties, RANGE_SCAN_PROPERTY);
    let windowed = source.window.is_some();
    let keys: Vec<&crate::types::Column> = source.schema.key_columns().collect();
    let Some(where_clause) = where_clause else {
        return if table_scans {
            Ok(())
        } else {
            Err(table_scan_required())
        };
    };
    let Some(disjuncts) = disjuncts(where_clause) else {
        return if table_scans {
            Ok(())
        } else {
            Err(invalid_where("The WHERE clause is too complex", windowed))
        };
    };
    let key_index = |name: &str| keys.iter().position(|k| k.name == name);
    let scan_or = |error: EngineError| if table_scans { Ok(true) } else { Err(error) };

    // Validation: does some disjunct need a table scan?
    let mut requires_scan = false;
    'disjuncts: for atoms in &disjuncts {
        let mut keyed = false;
        let mut seen: Vec<usize> = Vec::new();
        for atom in atoms {
            let needs_scan = match atom {
                Expr::Binary { op, left, right } if op.is_comparison() => {
                    match column_side(left, right) {
                        None => scan_or(invalid_where(
                            "A comparison must directly reference a key column",
                            windowed,
                        ))?,
                        Some((_, other)) if has_column_ref(other) => scan_or(invalid_where(
                            "A comparison must be between a key column and a resolvable expression",
                            windowed,
                        ))?,
                        Some((name, _)) if WINDOW_BOUNDS.contains(&name) => {
                            if *op == BinaryOp::NotEq {
                                return Err(invalid_where(
                                    &format!("Unsupported {name} bounds: NOT_EQUAL"),
                                    true,
                                ));
                            }
                            if !windowed {
                                return Err(invalid_where(
                                    "Cannot use WINDOWSTART/WINDOWEND on non-windowed source",
                                    false,
                                ));
                            }
                            false
                        }
                        Some((name, _)) => match key_index(name) {
                            Some(index) => {
                                let mut scan = false;
                                if *op == BinaryOp::NotEq {
                                    scan = scan_or(invalid_where(
                                        &format!(
                                            "Bound on key columns '{}' must currently be '='",
                                            describe_keys(&keys)
                                        ),
                                        windowed,
                                    ))?;
                                }
                                if seen.contains(&index) && !table_scans {
                                    return Err(invalid_where(
                                        "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
                                        windowed,
                                    ));
                                }
                                seen.push(index);
                                keyed = true;
                                scan
                            }
                            None => false,
                        },
                    }
                }
                // LIKE predicates were checked before planning.
                Expr::Like { expr, .. } => {
                    !matches!(expr.as_ref(), Expr::Column { .. })
                        && scan_or(invalid_where(
                            "Like condition must be between strings",
                            windowed,
                        ))?
                }
                other => scan_or(invalid_where(
                    &format!(
                        "Unsupported expression in WHERE clause: {}",
                        expr_to_sql(other)
                    ),
                    false,
                ))?,
            };
            if needs_scan {
                requires_scan = true;
                break 'disjuncts;
            }
        }
        if !keyed {
            if table_scans {
                requires_scan = true;
                break;
            }
            return Err(invalid_where(
                &format!(
                    "WHERE clause missing key column for disjunct: {}",
                    expr_to_sql(&conjunction(atoms))
                ),
                windowed,
            ));
        }
        if seen.len() != keys.len() {
            if table_scans {
                requires_scan = true;
                break;
            }
            let specified: Vec<String> = seen
                .iter()
                .map(|&i| format!("`{}`", keys[i].name))
                .collect();
            return Err(invalid_where(
                &format!(
                    "Multi-column sources must specify every key in the WHERE clause. Specified: [{}] Expected: [{}]",
                    specified.join(", "),
                    describe_keys(&keys)
                ),
                windowed,
            ));
        }
    }
    if requires_scan {
        return Ok(());
    }

    // Extraction: the lookup each disjunct makes, and the plan they add up to.
    let mut lookups = Vec::new();
    for atoms in &disjuncts {
        // The most selective operator bound to each key column.
        let mut operators: BTreeMap<usize, BinaryOp> = BTreeMap::new();
        for atom in atoms {
            let Expr::Binary { op, left, right } = atom else {
                continue;
            };
            let Some((name, other)) = column_side(left, right) else {
                continue;
            };
            let Some(index) = key_index(name) else {
                continue;
            };
            check_key_value(other, keys[index], atom)?;
            match operators.get(&index) {
                Some(BinaryOp::Eq) => {}
                Some(_) if *op != BinaryOp::Eq => {}
                _ => {
                    operators.insert(index, *op);
                }
            }
        }
        let lookup = if operators.is_empty() {
            Lookup::Scan
        } else if operators.len() > 1 {
            if operators.values().all(|op| *op == BinaryOp::Eq) {
                Lookup::Equal
            } else {
                Lookup::Scan
            }
        } else {
            match operators.iter().next() {
                Some((_, BinaryOp::Eq)) => Lookup::Equal,
                Some((&index, op))
                    if matches!(keys[index].ty, SqlType::String | SqlType::Bytes)
                        && matches!(
                            op,
                            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq
                        ) =>
                {
                    Lookup::Range
                }
                _ => Lookup::Scan,
            }
        };
        lookups.push(lookup);
    }
    let scan = if lookups.contains(&Lookup::Scan) {
        true
    } else if lookups.iter().all(|l| *l == Lookup::Equal) {
        false
    } else if lookups.len() == 1 {
        // A range scan.
        !range_scans || windowed
    } else {
        true
    };
    if scan && !table_scans {
        return Err(table_scan_required());
    }
    Ok(())
}

/// `` `ID` STRING KEY, `COL` INTEGER KEY ``.
fn describe_keys(keys: &[&crate::types::Column]) -> String {
    keys.iter()
        .map(|k| format!("`{}` {} KEY", k.name, k.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A key value in a WHERE clause must not be NULL, and a literal must convert to the key's
/// type without loss (ksqlDB's strict coercion).
fn check_key_value(
    value: &Expr,
    key: &crate::types::Column,
    atom: &Expr,
) -> Result<(), EngineError> {
    let literal = match value {
        Expr::Literal(Literal::Null) => {
            return Err(EngineError::Generic(format!(
                "Primary key columns can not be NULL: {}",
                expr_to_sql(atom)
            )));
        }
        Expr::Literal(l) => l,
        Expr::Unary {
            op: UnaryOp::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Literal(l @ (Literal::Integer(_) | Literal::Decimal(_) | Literal::Double(_))) => {
                l
            }
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    let fits_int = |n: &str| n.parse::<i32>().is_ok();
    let converts = match (&key.ty, literal) {
        (SqlType::Int, Literal::Integer(n)) => fits_int(n),
        (SqlType::Bigint, Literal::Integer(_)) => true,
        (SqlType::Decimal { .. }, Literal::Integer(_) | Literal::Decimal(_)) => true,
        (SqlType::Double, Literal::Integer(_) | Literal::Decimal(_) | Literal::Double(_)) => true,
        (SqlType::String, Literal::String(_)) => true,
        (SqlType::Boolean, Literal::Boolean(_)) => true,
        (
            SqlType::Int
            | SqlType::Bigint
            | SqlType::Decimal { .. }
            | SqlType::Double
            | SqlType::String
            | SqlType::Boolean,
            _,
        ) => false,
        // Other types are resolved as expressions.
        _ => true,
    };
    if converts {
        return Ok(());
    }
    let shown = match literal {
        Literal::String(s) => s.clone(),
        other => literal_to_sql(other),
    };
    Err(EngineError::Generic(format!(
        "'{shown}' can not be converted to the type of the key column: {} {} KEY",
        key.name, key.ty
    )))
}

fn plan_outputs(plan: &QueryPlan) -> &[OutputColumn] {
    match plan {
        QueryPlan::Stateless(p) => &p.outputs,
        QueryPlan::Aggregate(p) => &p.outputs,
        QueryPlan::Join(p) => &p.outputs,
    }
}

/// The result's columns in SELECT order, and for each the index of its output. Key columns,
/// and the window bounds named in `window_bounds`, are marked as keys.
fn result_columns(
    outputs: &[OutputColumn],
    window_bounds: &[String],
) -> (Vec<usize>, Vec<ResultColumn>) {
    let mut indexed: Vec<(usize, usize)> = outputs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.position, i))
        .collect();
    indexed.sort();
    let order: Vec<usize> = indexed.iter().map(|(_, i)| *i).collect();
    let columns = order
        .iter()
        .map(|&i| ResultColumn {
            name: outputs[i].name.clone(),
            ty: outputs[i].expr.sql_type(),
            key: outputs[i].kind == ColumnKind::Key || window_bounds.contains(&outputs[i].name),
        })
        .collect();
    (order, columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FormatKind, FormatSpec};
    use crate::types::{Column, Schema};

    #[test]
    fn a_push_querys_queue_is_configured_within_bounds() {
        let with = |value: &str| {
            let properties = BTreeMap::from([(PUSH_BUFFER_ROWS.to_string(), value.to_string())]);
            push_buffer(&properties)
        };
        assert_eq!(push_buffer(&BTreeMap::new()).ok(), Some(PUSH_BUFFER));
        assert_eq!(with(" 16 ").ok(), Some(16));
        for bad in ["0", "-1", "1000001", "lots", "18446744073709551616"] {
            let message = with(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains("a whole number from 1 to 1000000"),
                "{bad}: {message}"
            );
        }
    }

    fn query(text: &str) -> Query {
        match sql::parse_statement(text, Location { line: 1, column: 1 }, &|_| None) {
            Ok(Statement::Query(q)) => q,
            other => panic!("not a query: {other:?}"),
        }
    }

    fn table(keys: &[(&str, SqlType)]) -> Source {
        let mut columns: Vec<Column> = keys
            .iter()
            .map(|(n, t)| Column::key(*n, t.clone()))
            .collect();
        columns.push(Column::value("COUNT", SqlType::Bigint));
        Source {
            name: "T".into(),
            kind: SourceKind::Table,
            schema: Schema::new(columns),
            topic: "t".into(),
            key_format: FormatSpec::new(FormatKind::Kafka),
            value_format: FormatSpec::new(FormatKind::Json),
            timestamp_column: None,
            timestamp_format: None,
            window: None,
            read_only: true,
            sql: String::new(),
            wrap_single_value: None,
        }
    }

    fn check(where_clause: &str, source: &Source, scans: bool) -> Result<(), String> {
        let q = query(&format!("SELECT * FROM T WHERE {where_clause};"));
        let mut properties = BTreeMap::new();
        properties.insert(TABLE_SCAN_PROPERTY.to_string(), scans.to_string());
        check_table_where(q.where_clause.as_ref(), source, &properties).map_err(|e| e.to_string())
    }

    #[test]
    fn pull_queries_refuse_clauses_and_pseudo_columns() {
        let err = |text: &str| validate_pull(&query(text)).unwrap_err().to_string();
        assert!(err("SELECT * FROM T GROUP BY ID;").starts_with(
            "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries"
        ));
        assert!(err("SELECT * FROM T WINDOW TUMBLING (SIZE 1 SECOND);").contains("WINDOW clauses"));
        assert_eq!(
            err("SELECT ROWOFFSET, ROWPARTITION, ROWOFFSET FROM T;"),
            "Pull queries don't support the following columns in SELECT clauses: `ROWOFFSET` and `ROWPARTITION`"
        );
        assert!(err("SELECT * FROM T WHERE ROWPARTITION = 1;").contains("in WHERE clauses"));
        assert!(validate_pull(&query("SELECT ROWTIME FROM T;")).is_ok());
    }

    #[test]
    fn where_clauses_are_analysed_like_ksqldb() {
        let single = table(&[("ID", SqlType::String)]);
        assert!(check("ID = '1'", &single, false).is_ok());
        assert!(check("ID IN ('1', '2')", &single, false).is_ok());
        assert!(check("ID < '5'", &single, false).is_ok());
        assert!(check("COUNT = 1", &single, true).is_ok());
        let e = check("COUNT = 1", &single, false).unwrap_err();
        assert!(
            e.starts_with("WHERE clause missing key column for disjunct: (COUNT = 1)."),
            "{e}"
        );
        let e = check("ID = '1' AND ID IN ('1')", &single, false).unwrap_err();
        assert!(
            e.starts_with("A comparison condition on the key column"),
            "{e}"
        );
        let e = check("ID = COUNT", &single, false).unwrap_err();
        assert!(
            e.starts_with("A comparison must be between a key column"),
            "{e}"
        );
        let e = check("ID <= '1' OR ID >= '3'", &single, false).unwrap_err();
        assert!(
            e.starts_with("Query requires table scan to be enabled"),
            "{e}"
        );
        let e = check("ID IN (NULL)", &single, true).unwrap_err();
        assert_eq!(e, "Primary key columns can not be NULL: (ID = null)");

        let int = table(&[("ID", SqlType::Int)]);
        let e = check("ID IN ('10', 8)", &int, true).unwrap_err();
        assert_eq!(
            e,
            "'10' can not be converted to the type of the key column: ID INTEGER KEY"
        );
        let e = check("ID >= 12", &int, false).unwrap_err();
        assert!(
            e.starts_with("Query requires table scan to be enabled"),
            "{e}"
        );

        let two = table(&[("A", SqlType::String), ("B", SqlType::Int)]);
        assert!(check("A = 'x' AND B = 1", &two, false).is_ok());
        let e = check("A = 'x'", &two, false).unwrap_err();
        assert!(
            e.starts_with("Multi-column sources must specify every key in the WHERE clause."),
            "{e}"
        );
    }

    #[test]
    fn star_over_a_windowed_source_lists_the_window_bounds() {
        let mut catalog = Catalog::default();
        let mut source = table(&[("ID", SqlType::String)]);
        source.window = Some(crate::catalog::WindowInfo {
            window_type: crate::sql::ast::WindowType::Tumbling,
            size_ms: Some(1000),
        });
        catalog.put_source(source);
        let prepared = prepare(&query("SELECT *, ROWTIME FROM T;"), &catalog);
        let names: Vec<String> = prepared
            .query
            .select
            .iter()
            .map(|item| match item {
                SelectItem::Expr {
                    expr: Expr::Column { name, .. },
                    alias,
                } => prepared.name(alias.as_deref().unwrap_or(name)),
                other => panic!("not expanded: {other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            ["ID", "WINDOWSTART", "WINDOWEND", "COUNT", "ROWTIME"]
        );
        assert_eq!(prepared.window_bounds, ["WINDOWSTART", "WINDOWEND"]);
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::*;
    use crate::sql::ast::Literal;

    fn column(name: &str) -> Expr {
        Expr::Column {
            qualifier: None,
            name: name.to_string(),
            location: Location::default(),
        }
    }

    fn text(value: &str) -> Expr {
        Expr::Literal(Literal::String(value.to_string()))
    }

    fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    fn table(key_format: &str) -> Source {
        let mut engine = Engine::new(std::sync::Arc::new(crate::topics::MemoryTopicStore::new()));
        engine
            .execute_script(&format!(
                "CREATE TABLE t (id STRING PRIMARY KEY, v INT) WITH (kafka_topic='t', \
                 key_format='{key_format}', value_format='JSON', partitions=1);"
            ))
            .unwrap();
        engine.catalog().source("T").unwrap().clone()
    }

    #[test]
    fn equalities_and_in_lists_on_the_key_are_looked_up() {
        let source = table("KAFKA");
        let eq = binary(BinaryOp::Eq, column("ID"), text("a"));
        assert_eq!(lookup_keys(Some(&eq), &source), Some(vec![b"a".to_vec()]));
        let reversed = binary(BinaryOp::Eq, text("b"), column("ID"));
        let either = binary(BinaryOp::Or, eq.clone(), reversed);
        assert_eq!(
            lookup_keys(Some(&either), &source),
            Some(vec![b"a".to_vec(), b"b".to_vec()])
        );
        let listed = Expr::InList {
            expr: Box::new(column("ID")),
            list: vec![text("x"), text("y")],
            negated: false,
        };
        assert_eq!(
            lookup_keys(Some(&listed), &source).map(|k| k.len()),
            Some(2)
        );
        let filtered = binary(
            BinaryOp::And,
            eq.clone(),
            binary(
                BinaryOp::Gt,
                column("V"),
                Expr::Literal(Literal::Integer("1".to_string())),
            ),
        );
        assert_eq!(
            lookup_keys(Some(&filtered), &source),
            Some(vec![b"a".to_vec()])
        );
    }

    #[test]
    fn anything_else_scans() {
        let source = table("KAFKA");
        let on_value = binary(
            BinaryOp::Eq,
            column("V"),
            Expr::Literal(Literal::Integer("1".to_string())),
        );
        assert_eq!(lookup_keys(Some(&on_value), &source), None);
        let eq = binary(BinaryOp::Eq, column("ID"), text("a"));
        let partly = binary(BinaryOp::Or, eq.clone(), on_value);
        assert_eq!(lookup_keys(Some(&partly), &source), None);
        assert_eq!(lookup_keys(None, &source), None);
        assert_eq!(lookup_keys(Some(&eq), &table("JSON")), None);
    }
}
