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
pub mod merge;
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
use crate::topics::{FetchLimits, Header, TopicError, TopicStore};
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
    /// The next offset to read in each partition of the source topic (set by
    /// [`PersistentQuery::start`]).
    offsets: Vec<u64>,
    /// The source columns the query reads (`None`: all of them).
    read: Option<Vec<bool>>,
}

impl Input {
    pub fn new(source: Source, scope: Scope) -> Input {
        Input {
            source,
            scope,
            offsets: Vec::new(),
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
    /// The consumer group whose committed offsets record how far a persistent query has read.
    group: Option<String>,
    commit_interval: std::time::Duration,
    last_commit: std::time::Instant,
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
            group: None,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            last_commit: std::time::Instant::now(),
            stats: QueryStats::default(),
        }
    }

    /// Commits how far the query has read to `group` every `interval` (and at each commit of
    /// its record cache), as a Kafka Streams application commits its consumer group.
    pub fn with_group(mut self, group: String, interval: std::time::Duration) -> PersistentQuery {
        self.group = Some(group);
        self.commit_interval = interval;
        self
    }

    /// Sets where every input starts reading: its group's committed offsets where it has them,
    /// else the start or the end of each partition, as `reset` says.
    pub fn start(&mut self, store: &dyn TopicStore, reset: OffsetReset) -> Result<(), ExecError> {
        for input in &mut self.inputs {
            let topic = store.describe_topic(&input.source.topic)?;
            let committed = match &self.group {
                Some(group) => store.committed_offsets(group, &topic.name)?,
                None => Default::default(),
            };
            input.offsets = (0..topic.config.partitions)
                .map(|p| {
                    let reset_to = match reset {
                        OffsetReset::Earliest => &topic.start_offsets,
                        OffsetReset::Latest => &topic.end_offsets,
                    };
                    committed
                        .get(&p)
                        .copied()
                        .or_else(|| reset_to.get(p as usize).copied())
                        .unwrap_or(0)
                })
                .collect();
        }
        if let Some(tasks) = &mut self.tasks {
            tasks.start(&self.inputs);
        }
        Ok(())
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

    /// A commit: writes the updates the record cache holds, then commits the offsets read to
    /// the query's group, so a committed offset never runs ahead of the outputs it caused.
    pub fn commit(&mut self, store: &dyn TopicStore) -> Result<(), ExecError> {
        self.last_commit = std::time::Instant::now();
        if let (Some(cache), Output::Topic(sink)) = (&mut self.cache, &self.output) {
            let out = cache.take();
            if !out.is_empty() {
                self.stats.records_out += out.len() as u64;
                store.produce(&sink.topic, out)?;
            }
        }
        let Some(group) = &self.group else {
            return Ok(());
        };
        for (index, input) in self.inputs.iter().enumerate() {
            let offsets: Vec<(u32, u64)> = match &self.tasks {
                Some(tasks) => tasks.offsets(index),
                None => (0..).zip(input.offsets.iter().copied()).collect(),
            };
            store.commit_offsets(group, &input.source.topic, &offsets)?;
        }
        Ok(())
    }

    /// Commits when the commit interval has passed or the record cache is full.
    fn commit_if_due(&mut self, store: &dyn TopicStore) -> Result<(), ExecError> {
        let due = match &self.cache {
            Some(cache) => cache.is_due(),
            None => self.group.is_some() && self.last_commit.elapsed() >= self.commit_interval,
        };
        if due {
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

    /// Processes the next records of its inputs: each partition of each input in offset
    /// order, merged across partitions by timestamp (see [`merge`]). Returns how many records
    /// were read.
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
        if let [input] = &self.inputs[..]
            && let [offset] = input.offsets[..]
        {
            let fetched = store.fetch(
                &input.source.topic,
                0,
                offset,
                FetchLimits::records(BATCH_SIZE),
            )?;
            let records = fetched.records;
            let read = records.len();
            if read > 0 {
                self.inputs[0].offsets[0] = offset + read as u64;
                self.stats.records_in += read as u64;
                self.process_run(0, &records, store, log)?;
            }
            self.commit_if_due(store)?;
            return Ok(read);
        }
        let mut lanes = Vec::new();
        for (index, input) in self.inputs.iter().enumerate() {
            for (partition, &offset) in (0..).zip(&input.offsets) {
                let topic = &input.source.topic;
                lanes.push(merge::Lane::fetch(
                    store, index, topic, partition, offset, BATCH_SIZE,
                )?);
            }
        }
        let merged = merge::merge_by_timestamp(lanes);
        if merged.is_empty() {
            self.commit_if_due(store)?;
            return Ok(0);
        }
        let read = merged.len();
        for (input, record) in &merged {
            if let Some(offset) = self.inputs[*input]
                .offsets
                .get_mut(record.partition as usize)
            {
                *offset = record.offset + 1;
            }
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
                        store.produce(&sink.topic, out)?;
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
