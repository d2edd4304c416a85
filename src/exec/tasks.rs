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
use super::{
    DecodeOptions, ExecError, Incomplete, Input, ProcessingLogEntry, PushEvent, QueryStats,
    Reporter, RowSink, Stage, run_stage,
};
use crate::topics::{FetchLimits, Record, TopicStore};

/// How many records a task takes per step from each partition it reads.
pub const BATCH_SIZE: usize = 1024;

/// What the tasks of a query share, and never change while they run.
pub struct Topology {
    pub query_id: String,
    pub inputs: Vec<Input>,
    pub options: DecodeOptions,
    /// The consumer group the tasks commit their offsets to (persistent queries only).
    pub group: Option<String>,
    pub commit_interval: Duration,
}

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
    /// Below this offset the task is rebuilding its state: it processes the records again
    /// but writes nothing, because it wrote their results before it restarted.
    restore_until: u64,
}

impl Assigned {
    fn restoring(&self, offset: u64) -> bool {
        offset < self.restore_until
    }
}

/// Where a task starts reading a partition, and up to where it only rebuilds its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartAt {
    pub offset: u64,
    pub restore_until: u64,
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
    last_commit: Instant,
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
            last_commit: Instant::now(),
            stats: QueryStats::default(),
        }
    }

    /// Holds a table result's updates in a record cache of `max_bytes` until the task commits.
    pub fn cache_results(&mut self, max_bytes: usize, interval: Duration) {
        if let TaskOutput::Topic(_) = &self.output {
            self.cache = Some(RecordCache::new(max_bytes, interval));
        }
    }

    /// Assigns the task its partitions, each starting where `start` says for
    /// (input, partition); `partitions` holds each input's partition count.
    pub fn assign(&mut self, partitions: &[u32], start: impl Fn(usize, u32) -> StartAt) {
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
            .map(|(input, partition)| {
                let at = start(input, partition);
                Assigned {
                    input,
                    partition,
                    offset: at.offset,
                    restore_until: at.restore_until,
                }
            })
            .collect();
    }

    /// The next offset of each assigned partition, as (input, partition, offset).
    pub fn positions(&self) -> impl Iterator<Item = (usize, u32, u64)> + '_ {
        self.lanes.iter().map(|l| (l.input, l.partition, l.offset))
    }

    /// Whether the task keeps state (an aggregation or a join) that its outputs depend on.
    pub fn is_stateful(&self) -> bool {
        !matches!(self.stage, Stage::Stateless(_))
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
        let read = if let [lane] = &self.lanes[..] {
            let lane = *lane;
            let topic = &topology.inputs[lane.input].source.topic;
            let restoring = lane.restoring(lane.offset);
            let batch = if restoring {
                // A fetch stops where restoring does, so a run is all one or the other.
                let left = lane.restore_until - lane.offset;
                usize::try_from(left).map_or(BATCH_SIZE, |left| left.min(BATCH_SIZE))
            } else {
                BATCH_SIZE
            };
            let records = store
                .fetch(
                    topic,
                    lane.partition,
                    lane.offset,
                    FetchLimits::records(batch),
                )?
                .records;
            if !records.is_empty() {
                self.stats.records_in += records.len() as u64;
                self.process_run(topology, lane.input, &records, restoring, store, log)?;
                self.lanes[0].offset = records.last().map_or(lane.offset, |r| r.offset + 1);
            }
            records.len()
        } else {
            self.step_merged(topology, store, log)?
        };
        let written = if self.commit_is_due(topology) {
            self.commit(topology, store)?
        } else {
            0
        };
        Ok(read + written)
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
                BATCH_SIZE,
            )?);
        }
        let merged = merge_by_timestamp(lanes);
        let read = merged.len();
        self.stats.records_in += read as u64;
        // Runs of consecutive records from the same input (all restoring, or none) go through
        // the stage together.
        let mut run: Vec<Record> = Vec::with_capacity(read);
        let mut done: Vec<(usize, u64)> = Vec::with_capacity(read);
        let mut records = merged.into_iter().peekable();
        while let Some((lane, record)) = records.next() {
            let input = self.lanes[lane].input;
            let restoring = self.lanes[lane].restoring(record.offset);
            done.push((lane, record.offset + 1));
            run.push(record);
            if records.peek().is_some_and(|(next, r)| {
                self.lanes[*next].input == input
                    && self.lanes[*next].restoring(r.offset) == restoring
            }) {
                continue;
            }
            self.process_run(topology, input, &run, restoring, store, log)?;
            run.clear();
            for (lane, next) in done.drain(..) {
                self.lanes[lane].offset = next;
            }
        }
        Ok(read)
    }

    /// Runs records through the stage and hands the results on, unless `restoring`: then the
    /// results were written before a restart, and only the state they leave counts (their
    /// errors were logged then too).
    fn process_run(
        &mut self,
        topology: &Topology,
        input: usize,
        records: &[Record],
        restoring: bool,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<(), ExecError> {
        let source = &topology.inputs[input];
        let mut unlogged = Vec::new();
        let mut restored_stats = QueryStats::default();
        let mut reporter = Reporter {
            query_id: &topology.query_id,
            topic: &source.source.topic,
            log: if restoring { &mut unlogged } else { log },
            stats: if restoring {
                &mut restored_stats
            } else {
                &mut self.stats
            },
        };
        let rows = run_stage(
            &mut self.stage,
            source,
            input,
            records,
            &topology.options,
            &mut reporter,
        )?;
        if rows.is_empty() || restoring {
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
                        store.produce_unflushed(&sink.topic, out)?;
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
        match &self.cache {
            Some(cache) => cache.is_due(),
            None => {
                topology.group.is_some() && self.last_commit.elapsed() >= topology.commit_interval
            }
        }
    }

    /// A commit: writes the updates the record cache holds, then commits the offsets read to
    /// the query's group, so a committed offset never runs ahead of the outputs it caused.
    /// Returns how many records it wrote.
    pub fn commit(
        &mut self,
        topology: &Topology,
        store: &dyn TopicStore,
    ) -> Result<usize, ExecError> {
        self.last_commit = Instant::now();
        let mut written = 0;
        if let (Some(cache), TaskOutput::Topic(sink)) = (&mut self.cache, &self.output) {
            let out = cache.take();
            written = out.len();
            if !out.is_empty() {
                self.stats.records_out += out.len() as u64;
                store.produce_unflushed(&sink.topic, out)?;
            }
        }
        if let Some(group) = &topology.group {
            // At least once: what the task wrote is durable before the offsets that say its
            // inputs were processed.
            store.flush()?;
            let mut by_topic: BTreeMap<&str, Vec<(u32, u64)>> = BTreeMap::new();
            for lane in &self.lanes {
                by_topic
                    .entry(&topology.inputs[lane.input].source.topic)
                    .or_default()
                    .push((lane.partition, lane.offset.max(lane.restore_until)));
            }
            for (topic, offsets) in by_topic {
                store.commit_offsets(group, topic, &offsets)?;
            }
        }
        Ok(written)
    }
}
