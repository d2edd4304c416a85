//! Execution: queries running over Arrow record batches.
//!
//! A query runs as [`tasks`], on the threads of the [`runtime`]. A task fetches a batch of
//! records from each partition it is assigned, [`merge`]s them by timestamp, [`decode`]s them
//! into the columns of its scope, runs them through its stage — [`stateless`] (filter and
//! projection), [`aggregate`] (grouping, windows, HAVING) or [`join`] — and the [`sink`]
//! encodes what comes out and produces it to the sink topic (or a push query's client). A
//! record that can't be decoded, or whose expression fails, is reported to the
//! [`processing_log`] and the query goes on.

pub mod aggregate;
pub mod builder;
pub mod cache;
pub mod decode;
pub mod join;
pub mod merge;
pub mod processing_log;
pub mod query;
pub mod runtime;
pub mod sink;
pub mod state;
pub mod stateless;
pub mod tasks;
pub mod view;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use thiserror::Error;

use crate::catalog::Source;
use crate::plan::expr::{Compiled, Scope};
use crate::topics::{Header, TopicError};
pub use aggregate::AggregateOperator;
pub use cache::{DEFAULT_COMMIT_INTERVAL, EXACTLY_ONCE_COMMIT_INTERVAL};
pub use decode::DecodeOptions;
pub use join::JoinOperator;
pub use processing_log::ProcessingLog;
pub use query::{PersistentQuery, QueryState};
pub use runtime::Runtime;
pub use sink::Sink;

/// Failures that stop a query step (bad records never do).
#[derive(Debug, Error)]
pub enum ExecError {
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A failure the query's configuration says must stop it.
    #[error("{0}")]
    Fatal(String),
    #[error("Internal error, please report: {0}")]
    Internal(String),
}

impl ExecError {
    pub fn internal(e: impl std::fmt::Display) -> ExecError {
        ExecError::Internal(e.to_string())
    }
}

/// What went wrong with a record, as ksqlDB's processing log types its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingErrorKind {
    /// Its key or value could not be read (ksqlDB's DESERIALIZATION_ERROR, type 0).
    Deserialization(decode::Target),
    /// An expression over it failed, or it was otherwise unusable (RECORD_PROCESSING_ERROR,
    /// type 1).
    RecordProcessing,
}

/// One entry of the processing log: a record or value that a query skipped or nulled.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    pub query_id: String,
    pub kind: ProcessingErrorKind,
    pub message: String,
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

/// Counters a query keeps about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    pub records_in: u64,
    pub records_out: u64,
    pub records_skipped: u64,
    pub expression_errors: u64,
}

impl QueryStats {
    /// Adds another share of the same query's counts (a task's).
    pub fn absorb(&mut self, other: &QueryStats) {
        self.records_in += other.records_in;
        self.records_out += other.records_out;
        self.records_skipped += other.records_skipped;
        self.expression_errors += other.expression_errors;
    }
}

/// Where a stage reports bad records and failed expressions.
pub struct Reporter<'a> {
    pub query_id: &'a str,
    pub topic: &'a str,
    pub log: &'a mut Vec<ProcessingLogEntry>,
    pub stats: &'a mut QueryStats,
}

impl Reporter<'_> {
    /// A record whose key or value could not be read was skipped.
    pub fn undecodable(
        &mut self,
        target: decode::Target,
        message: String,
        (partition, offset): (u32, u64),
    ) {
        self.stats.records_skipped += 1;
        let kind = ProcessingErrorKind::Deserialization(target);
        self.push(kind, message, partition, offset);
    }

    pub fn skipped(&mut self, message: String, (partition, offset): (u32, u64)) {
        self.stats.records_skipped += 1;
        self.push(
            ProcessingErrorKind::RecordProcessing,
            message,
            partition,
            offset,
        );
    }

    pub fn expression_error(&mut self, message: String, (partition, offset): (u32, u64)) {
        self.stats.expression_errors += 1;
        self.push(
            ProcessingErrorKind::RecordProcessing,
            message,
            partition,
            offset,
        );
    }

    fn push(&mut self, kind: ProcessingErrorKind, message: String, partition: u32, offset: u64) {
        self.log.push(ProcessingLogEntry {
            query_id: self.query_id.to_string(),
            kind,
            message,
            topic: self.topic.to_string(),
            partition,
            offset,
        });
    }
}

/// What a query does between decoding and the sink.
pub enum Stage {
    Stateless(Box<crate::plan::StatelessPlan>),
    Aggregate(Box<AggregateOperator>),
    Join(Box<JoinOperator>),
    /// An aggregation over a join's results.
    JoinAggregate(Box<join::JoinFeed>, Box<AggregateOperator>),
}

/// A stage's state is its operators'.
impl state::Stateful for Stage {
    fn visit_stores(&mut self, f: &mut dyn FnMut(state::StoreId, &mut dyn state::StoreLog)) {
        match self {
            Stage::Stateless(_) => {}
            Stage::Aggregate(aggregate) => aggregate.visit_stores(f),
            Stage::Join(join) => join.visit_stores(f),
            Stage::JoinAggregate(feed, aggregate) => {
                feed.visit_stores(f);
                aggregate.visit_stores(f);
            }
        }
    }

    fn save_scalars(&self, out: &mut Vec<u8>) {
        match self {
            Stage::Stateless(_) => {}
            Stage::Aggregate(aggregate) => aggregate.save_scalars(out),
            Stage::Join(join) => join.save_scalars(out),
            Stage::JoinAggregate(feed, aggregate) => {
                feed.save_scalars(out);
                aggregate.save_scalars(out);
            }
        }
    }

    fn load_scalars(
        &mut self,
        input: &mut crate::types::codec::Input<'_>,
    ) -> crate::types::codec::Result<()> {
        match self {
            Stage::Stateless(_) => Ok(()),
            Stage::Aggregate(aggregate) => aggregate.load_scalars(input),
            Stage::Join(join) => join.load_scalars(input),
            Stage::JoinAggregate(feed, aggregate) => {
                feed.load_scalars(input)?;
                aggregate.load_scalars(input)
            }
        }
    }
}

impl Stage {
    /// The operator that runs a plan.
    pub fn for_plan(
        plan: crate::plan::QueryPlan,
        properties: &std::collections::BTreeMap<String, String>,
    ) -> Stage {
        use crate::plan::QueryPlan;
        match plan {
            QueryPlan::Stateless(p) => Stage::Stateless(Box::new(p)),
            QueryPlan::Aggregate(mut p) => match p.join.take() {
                Some(join) => Stage::JoinAggregate(
                    Box::new(join::JoinFeed::new(&join.level, p.scope.clone())),
                    Box::new(AggregateOperator::new(p, properties.clone())),
                ),
                None => Stage::Aggregate(Box::new(AggregateOperator::new(p, properties.clone()))),
            },
            QueryPlan::Join(p) => Stage::Join(Box::new(JoinOperator::new(*p))),
        }
    }

    /// Which of the first `width` columns of input `input`'s scope (its source's columns) the
    /// stage reads; `None` when it may read any of them.
    fn columns_read(&self, input: usize, width: usize) -> Option<Vec<bool>> {
        let mut read = vec![false; width];
        let known = match self {
            Stage::Stateless(plan) if input == 0 => plan
                .filter
                .iter()
                .chain(plan.outputs.iter().map(|o| &o.expr))
                .chain(plan.table_functions.calls.iter().flat_map(|c| &c.args))
                .all(|e| e.mark_columns_read(&mut read)),
            Stage::Aggregate(operator) if input == 0 => operator.mark_columns_read(&mut read),
            _ => false,
        };
        known.then_some(read)
    }
}

/// A source a query reads, and how far it has read.
pub struct Input {
    pub source: Source,
    pub scope: Scope,
    /// The source columns the query reads (`None`: all of them).
    read: Option<Vec<bool>>,
}

impl Input {
    pub fn new(source: Source, scope: Scope) -> Input {
        Input {
            source,
            scope,
            read: None,
        }
    }
}

/// Where a query starts reading a partition that its consumer group has no committed offset
/// for (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
}

impl OffsetReset {
    /// The setting named by `auto.offset.reset` (or `ksql.streams.auto.offset.reset`) in
    /// `properties`; `default` when it names neither.
    pub fn from_properties(
        properties: &std::collections::BTreeMap<String, String>,
        default: OffsetReset,
    ) -> OffsetReset {
        let value = ["ksql.streams.auto.offset.reset", "auto.offset.reset"]
            .iter()
            .find_map(|k| properties.get(*k));
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("earliest") => OffsetReset::Earliest,
            Some("latest") => OffsetReset::Latest,
            _ => default,
        }
    }
}

/// What a push query sends its client.
#[derive(Debug, Clone, PartialEq)]
pub enum PushEvent {
    /// A row, in SELECT order; a tombstone carries only the key columns.
    Row {
        values: Vec<ScalarValue>,
        tombstone: bool,
    },
    /// The query ended after its LIMIT.
    LimitReached,
    /// The query failed.
    Error(String),
}

/// Where a transient (push) query's rows go: a bounded channel to the client's response.
pub struct RowSink {
    pub sender: tokio::sync::mpsc::Sender<PushEvent>,
    /// Output index for each SELECT position.
    pub order: Vec<usize>,
    pub limit: Option<u64>,
    pub sent: u64,
    pub finished: bool,
    /// A scalable push query taps a persistent query's results, where records without a value
    /// (and, when the result has a key, without a key) are not passed on.
    pub skip_incomplete: Option<Incomplete>,
}

/// Which records a scalable push query does not pass on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    NoValue,
    NoValueOrKey,
}

/// Where a query's output goes.
pub enum Output {
    Topic(Box<Sink>),
    Rows(RowSink),
}

/// Decodes a run of one input's records and passes them through the stage.
fn run_stage(
    stage: &mut Stage,
    input: &Input,
    index: usize,
    records: &[crate::topics::Record],
    options: &DecodeOptions,
    reporter: &mut Reporter<'_>,
) -> Result<sink::SinkRows, ExecError> {
    let mut errors = Vec::new();
    let decoded = decode::decode(
        &input.source,
        &input.scope,
        records,
        options,
        input.read.as_deref(),
        &mut errors,
    )?;
    for error in errors {
        let position = (error.record.partition, error.record.offset);
        match error.target {
            Some(target) => reporter.undecodable(target, error.message, position),
            None => reporter.skipped(error.message, position),
        }
    }
    let Some(batch) = decoded else {
        return Ok(sink::SinkRows::default());
    };
    Ok(match stage {
        Stage::Stateless(plan) => stateless::process(plan, batch, reporter)?,
        Stage::Aggregate(operator) => operator.process(batch, reporter)?,
        Stage::Join(operator) => operator.process(index, batch, reporter)?,
        Stage::JoinAggregate(join, aggregate) => match join.process(index, batch, reporter)? {
            Some(joined) => aggregate.process(joined, reporter)?,
            None => sink::SinkRows::default(),
        },
    })
}

/// Evaluates an expression over a batch. If the batch fails as a whole, each row is evaluated
/// alone, and the rows that fail become null and are logged.
pub fn evaluate(
    expr: &Compiled,
    batch: &RecordBatch,
    positions: &[(u32, u64)],
    reporter: &mut Reporter<'_>,
) -> Result<ArrayRef, ExecError> {
    let rows = batch.num_rows();
    crate::functions::take_call_errors();
    let result = expr.expr.evaluate(batch).and_then(|v| v.into_array(rows));
    for (row, message) in crate::functions::take_call_errors() {
        if let Some(&position) = positions.get(row).or(positions.first()) {
            reporter.expression_error(format!("Error computing expression: {message}"), position);
        }
    }
    match result {
        Ok(a) => Ok(a),
        Err(_) => {
            let data_type = expr.sql_type().to_arrow();
            let null = ScalarValue::try_from(&data_type).map_err(ExecError::internal)?;
            let mut values = Vec::with_capacity(rows);
            for (row, &position) in positions.iter().enumerate().take(rows) {
                let one = batch.slice(row, 1);
                let v = expr
                    .expr
                    .evaluate(&one)
                    .and_then(|v| v.into_array(1))
                    .and_then(|a| ScalarValue::try_from_array(&a, 0));
                match v {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        reporter
                            .expression_error(format!("Error computing expression: {e}"), position);
                        values.push(null.clone());
                    }
                }
            }
            crate::functions::util::to_array(values, &data_type).map_err(ExecError::internal)
        }
    }
}

/// A batch with the given columns and row count.
pub fn batch_of(
    schema: &datafusion::arrow::datatypes::SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch, ExecError> {
    RecordBatch::try_new_with_options(
        std::sync::Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(ExecError::internal)
}

/// Headers of a record, forwarded unchanged to what it produces.
pub type Headers = Vec<Header>;

impl crate::types::codec::Encode for Header {
    fn encode(&self, out: &mut Vec<u8>) {
        self.key.encode(out);
        crate::types::codec::encode_optional_bytes(self.value.as_deref(), out);
    }
}

impl crate::types::codec::Decode for Header {
    fn decode(input: &mut crate::types::codec::Input<'_>) -> crate::types::codec::Result<Self> {
        let key = String::decode(input)?;
        let value = crate::types::codec::decode_optional_bytes(input)?.map(<[u8]>::to_vec);
        Ok(Header { key, value })
    }
}
