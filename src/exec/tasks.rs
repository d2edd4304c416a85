//! Tasks: the unit a query runs as, as in Kafka Streams.
//!
//! A task is assigned partitions of its query's inputs and owns everything it needs to process
//! them: the next offset of each partition, its operators' state, its record cache and its
//! counters. Nothing a task touches while it runs is shared with another task, so the tasks of
//! a query (and of every query) run on any threads, each behind its own lock.
//!
//! A query whose state is keyed the way its inputs are partitioned (a stateless query, an
//! aggregation grouped by its source's key, a join of two sources on their keys) runs one task
//! per partition: task `p` reads partition `p` of every input. Any other query runs one task
//! that reads every partition of its inputs. Either way a task that reads several partitions
//! merges them by timestamp ([`super::merge`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::common::ScalarValue;

use super::cache::RecordCache;
use super::merge::{Lane, merge_by_timestamp};
use super::sink::Sink;
use super::state::Stateful;
use super::state::changelog::{Changelog, Checkpoint, Progress, Restore};
use super::{
    DecodeOptions, ExecError, Incomplete, Input, ProcessingLogEntry, PushEvent, QueryStats,
    Reporter, RowSink, Stage, run_stage,
};
use crate::topics::transaction::Sender;
use crate::topics::{FetchLimits, Record, TopicStore, Transaction};

/// How many records a task takes per step from each partition it reads, at most.
pub const BATCH_SIZE: usize = 1024;

/// How long one step should take: a task whose records are costly (a hopping window of
/// thousands of windows per record, say) takes fewer of them per step, so that its thread
/// moves on to the other tasks every so often instead of running one batch for seconds.
const STEP_BUDGET: Duration = Duration::from_millis(100);

/// A new task's first steps take this many records per partition: a query whose every record
/// costs thousands of updates must not spend seconds on its first step before it learns so.
const FIRST_BATCH: usize = 16;

/// How many changelog records a restoring task reads per step.
const RESTORE_STEP: usize = 65_536;

/// What the tasks of a query share, and never change while they run.
pub struct Topology {
    pub query_id: String,
    pub inputs: Vec<Input>,
    pub options: DecodeOptions,
    /// The consumer group the tasks commit their offsets to (persistent queries only).
    pub group: Option<String>,
    /// The changelog topic of a stateful persistent query's state.
    pub changelog: Option<String>,
    pub commit_interval: Duration,
    /// `processing.guarantee=exactly_once_v2`: each commit of a task is one transaction.
    pub exactly_once: bool,
}

/// The most bytes of outputs a task under exactly-once holds for its next transaction: it
/// commits early rather than hold more.
const MAX_TRANSACTION_BYTES: usize = 64 << 20;

/// Where a task's output goes.
pub enum TaskOutput {
    /// Encoded and produced to the sink's topic.
    Topic(Arc<Sink>),
    /// Sent to a push query's client.
    Rows(RowSink),
}

/// A partition assigned to a task, and the next offset to read from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Assigned {
    input: usize,
    partition: u32,
    offset: u64,
}

/// One share of a query's work.
pub struct Task {
    /// The partition of every input this task reads; `None` when it reads all of them.
    partition: Option<u32>,
    lanes: Vec<Assigned>,
    stage: Stage,
    output: TaskOutput,
    /// Caching on, for a table result: updates held per key until the task commits.
    cache: Option<RecordCache>,
    /// Where a stateful persistent task's state is kept.
    changelog: Option<Changelog>,
    /// Whether the task must restore its state from its changelog before it reads anything;
    /// the restore under way, once begun.
    restore_pending: bool,
    restore: Option<Restore>,
    /// The positions of the last checkpoint written (or restored).
    checkpointed: Vec<u64>,
    /// Under exactly-once, what the next commit writes as one transaction.
    transaction: Option<Transaction>,
    /// The positions the last transaction committed.
    committed: Vec<u64>,
    last_commit: Instant,
    /// Records per partition per step: from [`FIRST_BATCH`], doubled after each quick full
    /// step up to [`BATCH_SIZE`], cut to what fits [`STEP_BUDGET`] after a step overran it.
    batch: usize,
    pub stats: QueryStats,
}

impl Task {
    /// A task that reads `partition` of every input (`None`: every partition).
    pub fn new(partition: Option<u32>, stage: Stage, output: TaskOutput) -> Task {
        Task {
            partition,
            lanes: Vec::new(),
            stage,
            output,
            cache: None,
            changelog: None,
            restore_pending: false,
            restore: None,
            checkpointed: Vec::new(),
            transaction: None,
            committed: Vec::new(),
            last_commit: Instant::now(),
            batch: FIRST_BATCH,
            stats: QueryStats::default(),
        }
    }

    /// Holds a table result's updates in a record cache of `max_bytes` until the task commits.
    pub fn cache_results(&mut self, max_bytes: usize, interval: Duration) {
        if let TaskOutput::Topic(_) = &self.output {
            self.cache = Some(RecordCache::new(max_bytes, interval));
        }
    }

    /// Keeps the task's state in `topic`, at the partition of the task's number; the state is
    /// restored from there before the task reads anything.
    pub fn keep_state_in(&mut self, topic: &str) {
        self.changelog = Some(Changelog {
            topic: topic.to_string(),
            partition: self.partition.unwrap_or(0),
        });
        self.stage
            .visit_stores(&mut |_, store| store.track_changes());
        self.restore_pending = true;
    }

    /// Assigns the task its partitions, each starting at the offset `start` gives for
    /// (input, partition); `partitions` holds each input's partition count. A restored
    /// checkpoint moves them to where the state was.
    pub fn assign(&mut self, partitions: &[u32], start: impl Fn(usize, u32) -> u64) {
        self.lanes = partitions
            .iter()
            .enumerate()
            .flat_map(|(input, &count)| {
                let mine: Vec<u32> = match self.partition {
                    Some(p) => vec![p],
                    None => (0..count).collect(),
                };
                mine.into_iter().map(move |partition| (input, partition))
            })
            .map(|(input, partition)| Assigned {
                input,
                partition,
                offset: start(input, partition),
            })
            .collect();
    }

    /// Restores the next part of the task's state from its changelog, and once it is all
    /// there, its positions from the checkpoint. Returns how many records it read.
    fn restore(&mut self, topology: &Topology, store: &dyn TopicStore) -> Result<usize, ExecError> {
        let Some(changelog) = &self.changelog else {
            self.restore_pending = false;
            return Ok(0);
        };
        let mut restore = match self.restore.take() {
            Some(restore) => restore,
            None => changelog.begin_restore(store)?,
        };
        let progress =
            changelog.continue_restore(&mut restore, &mut self.stage, store, RESTORE_STEP)?;
        let checkpoint = match progress {
            Progress::More(read) => {
                self.restore = Some(restore);
                return Ok(read);
            }
            Progress::Done(checkpoint) => checkpoint,
        };
        self.restore_pending = false;
        if let Some(checkpoint) = checkpoint {
            for lane in &mut self.lanes {
                let topic = &topology.inputs[lane.input].source.topic;
                if let Some((_, _, offset)) = checkpoint
                    .positions
                    .iter()
                    .find(|(t, p, _)| t == topic && *p == lane.partition)
                {
                    lane.offset = *offset;
                }
            }
        }
        self.checkpointed = self.lanes.iter().map(|l| l.offset).collect();
        Ok(1)
    }

    /// The next offset of each assigned partition, as (input, partition, offset).
    pub fn positions(&self) -> impl Iterator<Item = (usize, u32, u64)> + '_ {
        self.lanes.iter().map(|l| (l.input, l.partition, l.offset))
    }

    /// The name of the task's state in its changelog topic's name, after ksqlDB's name for the
    /// query's main store: an aggregation's (also over a join), or a join's table side; `None`
    /// for a stateless task.
    pub fn state_store_name(&self) -> Option<&'static str> {
        match self.stage {
            Stage::Stateless(_) => None,
            Stage::Aggregate(_) | Stage::JoinAggregate(..) => {
                Some("Aggregate-Aggregate-Materialize")
            }
            Stage::Join(_) => Some("KafkaTopic_Right-Reduce"),
        }
    }

    /// Whether a push query's task is over: its limit was reached or its client went away.
    pub fn is_finished(&self) -> bool {
        match &self.output {
            TaskOutput::Topic(_) => false,
            TaskOutput::Rows(r) => r.finished || r.sender.is_closed(),
        }
    }

    /// Whether the task should wait: its push query's client is not keeping up.
    fn is_paused(&self) -> bool {
        match &self.output {
            TaskOutput::Topic(_) => false,
            TaskOutput::Rows(r) => r.sender.capacity() < BATCH_SIZE.min(r.sender.max_capacity()),
        }
    }

    /// Processes the next records of the task's partitions and commits when a commit is due.
    /// Returns how much it did (records read, and records a commit wrote): zero means the task
    /// is idle. A read position advances only once its records have been processed.
    pub fn step(
        &mut self,
        topology: &Topology,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        if self.is_finished() || self.is_paused() {
            return Ok(0);
        }
        if self.restore_pending {
            // Restoring is the step's work; the inputs wait until the state is whole.
            return self.restore(topology, store);
        }
        self.open_transaction(topology);
        let started = Instant::now();
        let read = if let [lane] = &self.lanes[..] {
            let lane = *lane;
            let topic = &topology.inputs[lane.input].source.topic;
            let records = store
                .fetch(
                    topic,
                    lane.partition,
                    lane.offset,
                    FetchLimits::records(self.batch),
                )?
                .records;
            if !records.is_empty() {
                self.stats.records_in += records.len() as u64;
                self.process_run(topology, lane.input, &records, store, log)?;
                self.lanes[0].offset = records.last().map_or(lane.offset, |r| r.offset + 1);
            }
            records.len()
        } else {
            self.step_merged(topology, store, log)?
        };
        self.fit_batch(started.elapsed(), read);
        let written = if self.commit_is_due(topology) {
            self.commit(topology, store)?
        } else {
            0
        };
        Ok(read + written)
    }

    /// Takes fewer records per step after a step that overran [`STEP_BUDGET`] (as many as
    /// would have fitted), and more again, up to [`BATCH_SIZE`], after quick full ones.
    fn fit_batch(&mut self, elapsed: Duration, read: usize) {
        if elapsed > STEP_BUDGET && read > 1 {
            let fitting = read as u128 * STEP_BUDGET.as_nanos() / elapsed.as_nanos().max(1);
            self.batch = usize::try_from(fitting).unwrap_or(1).clamp(1, BATCH_SIZE);
        } else if elapsed < STEP_BUDGET / 4 && read >= self.batch {
            self.batch = (self.batch * 2).min(BATCH_SIZE);
        }
    }

    /// A step over several partitions: their records merged by timestamp.
    fn step_merged(
        &mut self,
        topology: &Topology,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        let mut lanes = Vec::with_capacity(self.lanes.len());
        for (index, lane) in self.lanes.iter().enumerate() {
            let topic = &topology.inputs[lane.input].source.topic;
            lanes.push(Lane::fetch(
                store,
                index,
                topic,
                lane.partition,
                lane.offset,
                self.batch,
            )?);
        }
        let merged = merge_by_timestamp(lanes);
        let read = merged.len();
        self.stats.records_in += read as u64;
        // Runs of consecutive records from the same input go through the stage together.
        let mut run: Vec<Record> = Vec::with_capacity(read);
        let mut done: Vec<(usize, u64)> = Vec::with_capacity(read);
        let mut records = merged.into_iter().peekable();
        while let Some((lane, record)) = records.next() {
            let input = self.lanes[lane].input;
            done.push((lane, record.offset + 1));
            run.push(record);
            if records
                .peek()
                .is_some_and(|(next, _)| self.lanes[*next].input == input)
            {
                continue;
            }
            self.process_run(topology, input, &run, store, log)?;
            run.clear();
            for (lane, next) in done.drain(..) {
                self.lanes[lane].offset = next;
            }
        }
        Ok(read)
    }

    /// Runs records through the stage and hands the results on.
    fn process_run(
        &mut self,
        topology: &Topology,
        input: usize,
        records: &[Record],
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<(), ExecError> {
        let source = &topology.inputs[input];
        let mut reporter = Reporter {
            query_id: &topology.query_id,
            topic: &source.source.topic,
            log,
            stats: &mut self.stats,
        };
        let rows = run_stage(
            &mut self.stage,
            source,
            input,
            records,
            &topology.options,
            &mut reporter,
        )?;
        if rows.is_empty() {
            return Ok(());
        }
        match &mut self.output {
            TaskOutput::Topic(sink) => {
                let out = sink.encode(rows, &mut reporter)?;
                match &mut self.cache {
                    Some(cache) => cache.put(out),
                    None if out.is_empty() => {}
                    None => {
                        reporter.stats.records_out += out.len() as u64;
                        // Made durable by the commit, before the offsets that produced it.
                        sender(&mut self.transaction, store).send(&sink.topic, out)?;
                    }
                }
            }
            TaskOutput::Rows(sink) => {
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
                    // because a task is paused before it can overrun it.
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

    fn commit_is_due(&self, topology: &Topology) -> bool {
        if self
            .transaction
            .as_ref()
            .is_some_and(|t| t.bytes() >= MAX_TRANSACTION_BYTES)
        {
            return true;
        }
        match &self.cache {
            Some(cache) => cache.is_due(),
            None => {
                topology.group.is_some() && self.last_commit.elapsed() >= topology.commit_interval
            }
        }
    }

    /// A commit: writes the updates the record cache holds and the state that changed, makes
    /// them durable, then writes a checkpoint of the state's positions (a stateful task) and
    /// commits the offsets read to the query's group. A committed offset or checkpoint never
    /// runs ahead of the outputs and state it caused; under exactly-once all of it is one
    /// transaction. Returns how many records it wrote.
    pub fn commit(
        &mut self,
        topology: &Topology,
        store: &dyn TopicStore,
    ) -> Result<usize, ExecError> {
        self.last_commit = Instant::now();
        if self.restore_pending {
            // Nothing was read since the state was last written.
            return Ok(0);
        }
        self.open_transaction(topology);
        let mut written = 0;
        if let (Some(cache), TaskOutput::Topic(sink)) = (&mut self.cache, &self.output) {
            let out = cache.take();
            written = out.len();
            if !out.is_empty() {
                self.stats.records_out += out.len() as u64;
                sender(&mut self.transaction, store).send(&sink.topic, out)?;
            }
        }
        // Changelog records are stamped with the time of their commit.
        let now = chrono::Utc::now().timestamp_millis();
        let changed = match &self.changelog {
            Some(changelog) => changelog.write_changes(
                &mut self.stage,
                &mut sender(&mut self.transaction, store),
                now,
            )?,
            None => 0,
        };
        let Some(group) = &topology.group else {
            return Ok(written);
        };
        let positions: Vec<u64> = self.lanes.iter().map(|l| l.offset).collect();
        let checkpoint = match &self.changelog {
            Some(changelog) if changed > 0 || positions != self.checkpointed => {
                let mut scalars = Vec::new();
                self.stage.save_scalars(&mut scalars);
                let checkpoint = Checkpoint {
                    positions: self
                        .lanes
                        .iter()
                        .map(|l| {
                            let topic = topology.inputs[l.input].source.topic.clone();
                            (topic, l.partition, l.offset)
                        })
                        .collect(),
                    scalars,
                };
                Some((changelog, checkpoint))
            }
            _ => None,
        };
        let mut by_topic: BTreeMap<&str, Vec<(u32, u64)>> = BTreeMap::new();
        for lane in &self.lanes {
            by_topic
                .entry(&topology.inputs[lane.input].source.topic)
                .or_default()
                .push((lane.partition, lane.offset));
        }
        if let Some(mut transaction) = self.transaction.take() {
            // Exactly once: outputs, state, checkpoint and offsets in one transaction.
            if transaction.is_empty() && checkpoint.is_none() && positions == self.committed {
                self.transaction = Some(transaction);
                return Ok(written);
            }
            if let Some((changelog, checkpoint)) = &checkpoint {
                transaction.send(
                    &changelog.topic,
                    vec![changelog.checkpoint_record(checkpoint, now)],
                );
            }
            for (topic, offsets) in by_topic {
                transaction.commit_offsets(group, topic, offsets);
            }
            let producer = transaction.producer.clone();
            store.commit_transaction(transaction)?;
            self.transaction = Some(Transaction::new(producer));
        } else {
            // At least once: what the task wrote is durable before the offsets that say its
            // inputs were processed.
            store.flush()?;
            if let Some((changelog, checkpoint)) = &checkpoint {
                changelog.write_checkpoint(checkpoint, store, now)?;
            }
            for (topic, offsets) in by_topic {
                store.commit_offsets(group, topic, &offsets)?;
            }
        }
        self.checkpointed.clone_from(&positions);
        self.committed = positions;
        Ok(written)
    }

    /// Under exactly-once, starts the transaction the task's writes go into until its next
    /// commit, if none is open. Its producer is one per task of a query, the same after a
    /// restart.
    fn open_transaction(&mut self, topology: &Topology) {
        if let (true, Some(group), None) =
            (topology.exactly_once, &topology.group, &self.transaction)
        {
            let producer = match self.partition {
                Some(partition) => format!("{group}-{partition}"),
                None => group.to_string(),
            };
            self.transaction = Some(Transaction::new(producer));
        }
    }
}

/// Where a task's writes go: into its transaction under exactly-once, else to the log.
fn sender<'a>(transaction: &'a mut Option<Transaction>, store: &'a dyn TopicStore) -> Sender<'a> {
    match transaction {
        Some(transaction) => Sender::Transaction(transaction),
        None => Sender::Log(store),
    }
}
