//! Execution: persistent queries running over Arrow record batches.
//!
//! A query reads a batch of records from its source topic, [`decode`]s them into the columns of
//! its scope, runs them through its stage — [`stateless`] (filter and projection) or
//! [`aggregate`] (grouping, windows, HAVING) — and the [`sink`] encodes what comes out and
//! appends it to the sink topic. A record that can't be decoded, or whose expression fails, is
//! reported to the processing log and the query goes on.

pub mod aggregate;
pub mod builder;
pub mod cache;
pub mod decode;
pub mod join;
pub mod sink;
pub mod stateless;
pub mod store;
pub mod tasks;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use thiserror::Error;

use crate::catalog::Source;
use crate::plan::expr::{Compiled, Scope};
use crate::topics::{Header, TopicError, TopicStore};
pub use aggregate::AggregateOperator;
pub use cache::DEFAULT_COMMIT_INTERVAL;
pub use decode::DecodeOptions;
pub use join::JoinOperator;
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

/// One entry of the processing log: a record or value that a query skipped or nulled.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    pub query_id: String,
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
    pub fn skipped(&mut self, message: String, (partition, offset): (u32, u64)) {
        self.stats.records_skipped += 1;
        self.push(message, partition, offset);
    }

    pub fn expression_error(&mut self, message: String, (partition, offset): (u32, u64)) {
        self.stats.expression_errors += 1;
        self.push(message, partition, offset);
    }

    fn push(&mut self, message: String, partition: u32, offset: u64) {
        self.log.push(ProcessingLogEntry {
            query_id: self.query_id.to_string(),
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
    /// The next record to read from the source topic, in arrival order.
    position: u64,
    /// The source columns the query reads (`None`: all of them).
    read: Option<Vec<bool>>,
}

impl Input {
    pub fn new(source: Source, scope: Scope) -> Input {
        Input {
            source,
            scope,
            position: 0,
            read: None,
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

/// A running query: persistent (writing a topic) or transient (streaming to a client).
pub struct PersistentQuery {
    pub id: String,
    inputs: Vec<Input>,
    stage: Stage,
    output: Output,
    options: DecodeOptions,
    /// Caching on (`cache.max.bytes.buffering` > 0) for a table result: updates are held
    /// per key until the query commits.
    cache: Option<cache::RecordCache>,
    /// Partition-parallel execution, for queries whose state follows their partitioning.
    tasks: Option<tasks::Tasks>,
    pub stats: QueryStats,
}

/// How many records a query takes per step and input.
const BATCH_SIZE: usize = 1024;

impl PersistentQuery {
    pub fn new(
        id: String,
        inputs: Vec<Input>,
        stage: Stage,
        output: Output,
        options: DecodeOptions,
    ) -> PersistentQuery {
        let mut inputs = inputs;
        for (i, input) in inputs.iter_mut().enumerate() {
            let columns = &input.source.schema.columns;
            input.read = stage.columns_read(i, columns.len()).map(|mut read| {
                // Keys identify table rows (and their retractions) even when no expression
                // names them.
                for (slot, column) in read.iter_mut().zip(columns) {
                    *slot |= column.kind == crate::types::ColumnKind::Key;
                }
                read
            });
        }
        PersistentQuery {
            id,
            inputs,
            stage,
            output,
            options,
            cache: None,
            tasks: None,
            stats: QueryStats::default(),
        }
    }

    /// Holds a table result's updates in a record cache of `max_bytes`, written when the
    /// query commits every `interval` (or when the cache is full).
    pub fn with_cache(
        mut self,
        max_bytes: usize,
        interval: std::time::Duration,
    ) -> PersistentQuery {
        if let Output::Topic(_) = &self.output {
            self.cache = Some(cache::RecordCache::new(max_bytes, interval));
        }
        self
    }

    /// Runs the query as one task per partition (see [`tasks`]); only for queries that write
    /// a topic.
    pub fn with_tasks(mut self, tasks: tasks::Tasks) -> PersistentQuery {
        if matches!(self.output, Output::Topic(_)) {
            self.tasks = Some(tasks);
        }
        self
    }

    /// One step of every task (each appends its own records unless a record cache holds them).
    fn step_tasks(
        &mut self,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        let (Some(tasks), Output::Topic(sink)) = (&mut self.tasks, &self.output) else {
            return Ok(0);
        };
        let outputs = tasks.step(tasks::StepContext {
            query_id: &self.id,
            inputs: &self.inputs,
            options: &self.options,
            sink,
            cached: self.cache.is_some(),
            store,
        })?;
        let mut read = 0;
        for output in outputs {
            read += output.read;
            log.extend(output.log);
            self.stats.absorb(&output.stats);
            if let Some(cache) = &mut self.cache {
                cache.put(output.records);
            }
        }
        self.commit_if_due(store)?;
        Ok(read)
    }

    /// Writes the updates the record cache holds, if it has any (a commit).
    pub fn commit(&mut self, store: &dyn TopicStore) -> Result<(), ExecError> {
        let (Some(cache), Output::Topic(sink)) = (&mut self.cache, &self.output) else {
            return Ok(());
        };
        let out = cache.take();
        if out.is_empty() {
            return Ok(());
        }
        self.stats.records_out += out.len() as u64;
        store.append(&sink.topic, out)?;
        Ok(())
    }

    /// Commits when the commit interval has passed or the record cache is full.
    fn commit_if_due(&mut self, store: &dyn TopicStore) -> Result<(), ExecError> {
        if self.cache.as_ref().is_some_and(cache::RecordCache::is_due) {
            self.commit(store)?;
        }
        Ok(())
    }

    /// The topic a persistent query writes.
    pub fn sink_topic(&self) -> Option<&str> {
        match &self.output {
            Output::Topic(sink) => Some(&sink.topic),
            Output::Rows(_) => None,
        }
    }

    pub fn source_topics(&self) -> Vec<&str> {
        self.inputs
            .iter()
            .map(|i| i.source.topic.as_str())
            .collect()
    }

    /// Starts reading every input at its end (`auto.offset.reset=latest`).
    pub fn start_at_end(&mut self, store: &dyn TopicStore) {
        for input in &mut self.inputs {
            input.position = store
                .describe_topic(&input.source.topic)
                .map(|t| t.end_offsets.iter().sum())
                .unwrap_or(0);
        }
    }

    /// Whether a transient query is over: its limit was reached or its client went away.
    pub fn is_finished(&self) -> bool {
        match &self.output {
            Output::Topic(_) => false,
            Output::Rows(r) => r.finished || r.sender.is_closed(),
        }
    }

    /// Whether the query should wait: its client is not keeping up.
    fn is_paused(&self) -> bool {
        match &self.output {
            Output::Topic(_) => false,
            Output::Rows(r) => r.sender.capacity() < BATCH_SIZE.min(r.sender.max_capacity()),
        }
    }

    /// Processes the next records of its inputs, in the order they were appended across
    /// inputs. Returns how many records were read.
    pub fn step(
        &mut self,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        if self.is_finished() || self.is_paused() {
            return Ok(0);
        }
        if self.tasks.is_some() {
            return self.step_tasks(store, log);
        }
        if let [input] = &self.inputs[..] {
            let (records, _) =
                store.read_in_arrival_order(&input.source.topic, input.position, BATCH_SIZE)?;
            let read = records.len();
            if read > 0 {
                self.inputs[0].position += read as u64;
                self.stats.records_in += read as u64;
                self.process_run(0, &records, store, log)?;
            }
            self.commit_if_due(store)?;
            return Ok(read);
        }
        // Read each input, then merge them as Kafka Streams does: the record with the
        // smallest timestamp among the inputs' next records goes first (arrival breaks ties),
        // each input in its own order. An input that may have more records than were read
        // stops the merge once its read records are used up, so the merge never runs ahead of
        // it.
        let mut queues: Vec<std::collections::VecDeque<crate::topics::Record>> =
            Vec::with_capacity(self.inputs.len());
        let mut more: Vec<bool> = Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            let (records, _) =
                store.read_in_arrival_order(&input.source.topic, input.position, BATCH_SIZE)?;
            more.push(records.len() == BATCH_SIZE);
            queues.push(records.into());
        }
        let merged = merge_by_timestamp(queues, &more);
        if merged.is_empty() {
            self.commit_if_due(store)?;
            return Ok(0);
        }
        let read = merged.len();
        for (i, _) in &merged {
            self.inputs[*i].position += 1;
        }
        self.stats.records_in += read as u64;
        // Process runs of consecutive records from the same input.
        let mut run: Vec<crate::topics::Record> = Vec::with_capacity(merged.len());
        let mut records = merged.into_iter().peekable();
        while let Some((input, record)) = records.next() {
            run.push(record);
            if records.peek().is_none_or(|(next, _)| *next != input) {
                self.process_run(input, &run, store, log)?;
                run.clear();
            }
        }
        self.commit_if_due(store)?;
        Ok(read)
    }

    fn process_run(
        &mut self,
        input: usize,
        records: &[crate::topics::Record],
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<(), ExecError> {
        let source = &self.inputs[input].source;
        let mut reporter = Reporter {
            query_id: &self.id,
            topic: &source.topic,
            log,
            stats: &mut self.stats,
        };
        let rows = run_stage(
            &mut self.stage,
            &self.inputs[input],
            input,
            records,
            &self.options,
            &mut reporter,
        )?;
        if rows.is_empty() {
            return Ok(());
        }
        match &mut self.output {
            Output::Topic(sink) => {
                let out = sink.encode(rows, &mut reporter)?;
                match &mut self.cache {
                    Some(cache) => cache.put(out),
                    None => {
                        reporter.stats.records_out += out.len() as u64;
                        store.append(&sink.topic, out)?;
                    }
                }
            }
            Output::Rows(sink) => {
                for row in rows.into_rows()? {
                    if sink.finished {
                        break;
                    }
                    if let Some(skip) = sink.skip_incomplete
                        && (row.meta.tombstone
                            || (skip == Incomplete::NoValueOrKey && row.meta.null_key))
                    {
                        continue;
                    }
                    let values = sink
                        .order
                        .iter()
                        .map(|&i| row.values.get(i).cloned().unwrap_or(ScalarValue::Null))
                        .collect();
                    // The capacity was checked before the step; a full channel drops nothing
                    // because a query is paused before it can overrun it.
                    let _ = sink.sender.try_send(PushEvent::Row {
                        values,
                        tombstone: row.meta.tombstone,
                    });
                    sink.sent += 1;
                    reporter.stats.records_out += 1;
                    if sink.limit.is_some_and(|l| sink.sent >= l) {
                        sink.finished = true;
                        let _ = sink.sender.try_send(PushEvent::LimitReached);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Merges the records read from several inputs as Kafka Streams does: the record with the
/// smallest timestamp among the inputs' next records goes first (arrival breaks ties), each
/// input in its own order. An input that may have more records than were read (`more`) ends
/// the merge once its read records are used up, so the merge never runs ahead of it.
fn merge_by_timestamp(
    mut queues: Vec<std::collections::VecDeque<crate::topics::Record>>,
    more: &[bool],
) -> Vec<(usize, crate::topics::Record)> {
    let mut merged = Vec::with_capacity(queues.iter().map(|q| q.len()).sum());
    loop {
        let next = queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.front().map(|r| (i, (r.timestamp, r.sequence))))
            .min_by_key(|(_, order)| *order);
        let Some((i, _)) = next else { break };
        if let Some(record) = queues[i].pop_front() {
            merged.push((i, record));
        }
        if more[i] && queues[i].is_empty() {
            break;
        }
    }
    merged
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
    for (record, message) in errors {
        reporter.skipped(message, (record.partition, record.offset));
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
