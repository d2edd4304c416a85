//! Partition-parallel execution: Kafka Streams' tasks.
//!
//! A query whose state is keyed the way its inputs are partitioned (a stateless query, an
//! aggregation grouped by its source's key, a join of two sources on their keys) never needs
//! one partition's state for another partition's records. It runs as one task per input
//! partition, each with its own operator state and offsets, and the tasks of a step run on up
//! to `ksql.streams.num.stream.threads` threads. Each task reads its partition of every input,
//! merged by timestamp, and appends its results to the sink topic itself.

use super::merge::{Lane, merge_by_timestamp};
use super::sink::Sink;
use super::{
    BATCH_SIZE, DecodeOptions, ExecError, Input, ProcessingLogEntry, QueryStats, Reporter, Stage,
    run_stage,
};
use crate::topics::ProducerRecord;
use crate::topics::TopicStore;

/// One partition's share of a query.
pub struct Task {
    partition: u32,
    stage: Stage,
    /// The next offset to read, per input, in this task's partition.
    offsets: Vec<u64>,
}

/// What a task did in one step.
#[derive(Default)]
pub struct TaskOutput {
    pub read: usize,
    /// Encoded records, when a record cache holds them first.
    pub records: Vec<ProducerRecord>,
    pub log: Vec<ProcessingLogEntry>,
    pub stats: QueryStats,
}

/// What every task of a query reads and writes through in a step.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    pub query_id: &'a str,
    pub inputs: &'a [Input],
    pub options: &'a DecodeOptions,
    pub sink: &'a Sink,
    /// Whether a record cache takes the records (they are returned, not appended).
    pub cached: bool,
    pub store: &'a dyn TopicStore,
}

/// A query's tasks and the threads they share.
pub struct Tasks {
    tasks: Vec<Task>,
    threads: usize,
}

impl Tasks {
    /// A task per partition, each with a stage from `stage`, run on up to `threads` threads.
    pub fn new(
        partitions: u32,
        inputs: usize,
        threads: usize,
        mut stage: impl FnMut() -> Stage,
    ) -> Tasks {
        Tasks {
            tasks: (0..partitions)
                .map(|partition| Task {
                    partition,
                    stage: stage(),
                    offsets: vec![0; inputs],
                })
                .collect(),
            threads: threads.max(1),
        }
    }

    /// Takes each task's starting offsets from the inputs' (one per partition).
    pub fn start(&mut self, inputs: &[Input]) {
        for task in &mut self.tasks {
            for (offset, input) in task.offsets.iter_mut().zip(inputs) {
                *offset = input
                    .offsets
                    .get(task.partition as usize)
                    .copied()
                    .unwrap_or(0);
            }
        }
    }

    /// Each task's next offset in input `input`, by partition.
    pub fn offsets(&self, input: usize) -> Vec<(u32, u64)> {
        self.tasks
            .iter()
            .filter_map(|t| Some((t.partition, *t.offsets.get(input)?)))
            .collect()
    }

    /// Runs one step of every task.
    pub fn step(&mut self, cx: StepContext<'_>) -> Result<Vec<TaskOutput>, ExecError> {
        let StepContext { inputs, store, .. } = cx;
        // Threads are started only when more than one task has records to read.
        let ends: Vec<Vec<u64>> = inputs
            .iter()
            .map(|input| {
                store
                    .describe_topic(&input.source.topic)
                    .map(|t| t.end_offsets)
            })
            .collect::<Result<_, _>>()?;
        let busy = self
            .tasks
            .iter()
            .filter(|task| task.has_input(&ends))
            .count();
        let per_thread = self.tasks.len().div_ceil(self.threads);
        if busy < 2 || self.threads == 1 || per_thread == self.tasks.len() {
            return self.tasks.iter_mut().map(|task| task.step(cx)).collect();
        }
        let count = self.tasks.len();
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .tasks
                .chunks_mut(per_thread)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter_mut()
                            .map(|task| task.steps(cx, STEPS_PER_THREAD))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut outputs = Vec::with_capacity(count);
            for handle in handles {
                let done = handle
                    .join()
                    .map_err(|_| ExecError::internal("a task's thread panicked"))?;
                outputs.extend(done?);
            }
            Ok(outputs)
        })
    }
}

/// How many batches a task takes in a row on its own thread before the threads join: starting
/// threads costs tens of microseconds, a batch a few hundred.
const STEPS_PER_THREAD: usize = 4;

impl Task {
    /// Up to `steps` steps, while records keep coming, as one output.
    fn steps(&mut self, cx: StepContext<'_>, steps: usize) -> Result<TaskOutput, ExecError> {
        let mut output = self.step(cx)?;
        for _ in 1..steps {
            if output.read == 0 {
                break;
            }
            let next = self.step(cx)?;
            if next.read == 0 {
                break;
            }
            output.read += next.read;
            output.records.extend(next.records);
            output.log.extend(next.log);
            output.stats.absorb(&next.stats);
        }
        Ok(output)
    }

    /// Whether any input has records past this task's offsets (`ends`: each input's end
    /// offset per partition).
    fn has_input(&self, ends: &[Vec<u64>]) -> bool {
        ends.iter()
            .zip(&self.offsets)
            .any(|(end, offset)| end.get(self.partition as usize).is_some_and(|e| e > offset))
    }

    fn step(&mut self, cx: StepContext<'_>) -> Result<TaskOutput, ExecError> {
        let StepContext {
            query_id,
            inputs,
            options,
            sink,
            cached,
            store,
        } = cx;
        let mut lanes = Vec::with_capacity(inputs.len());
        for (index, (input, offset)) in inputs.iter().zip(&self.offsets).enumerate() {
            let topic = &input.source.topic;
            lanes.push(Lane::fetch(
                store,
                index,
                topic,
                self.partition,
                *offset,
                BATCH_SIZE,
            )?);
        }
        let merged = merge_by_timestamp(lanes);
        let mut output = TaskOutput {
            read: merged.len(),
            ..TaskOutput::default()
        };
        for (input, record) in &merged {
            self.offsets[*input] = record.offset + 1;
        }
        output.stats.records_in = merged.len() as u64;
        let mut run: Vec<crate::topics::Record> = Vec::with_capacity(merged.len());
        let mut records = merged.into_iter().peekable();
        while let Some((index, record)) = records.next() {
            run.push(record);
            if records.peek().is_some_and(|(next, _)| *next == index) {
                continue;
            }
            let mut reporter = Reporter {
                query_id,
                topic: &inputs[index].source.topic,
                log: &mut output.log,
                stats: &mut output.stats,
            };
            let rows = run_stage(
                &mut self.stage,
                &inputs[index],
                index,
                &run,
                options,
                &mut reporter,
            )?;
            run.clear();
            let encoded = sink.encode(rows, &mut reporter)?;
            if cached {
                output.records.extend(encoded);
            } else if !encoded.is_empty() {
                // Each task appends its own records: partitions are independent, and the
                // tasks' appends overlap with each other's work.
                reporter.stats.records_out += encoded.len() as u64;
                store.produce(&sink.topic, encoded)?;
            }
        }
        Ok(output)
    }
}
