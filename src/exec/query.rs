//! A running query: the topology its tasks share, and the tasks, each behind its own lock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, TryLockError};
use std::time::Duration;

use super::sink::Sink;
use super::state::changelog;
use super::tasks::{Task, TaskOutput, Topology};
use super::{
    DEFAULT_COMMIT_INTERVAL, DecodeOptions, ExecError, Input, OffsetReset, Output,
    ProcessingLogEntry, QueryStats, Stage,
};
use crate::topics::TopicStore;

/// Whether a query runs, or why it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    Running,
    /// A task failed; the query does not run again. The message says why.
    Error(String),
}

/// A query, persistent (writing a topic) or transient (a push query streaming to a client).
pub struct PersistentQuery {
    pub id: String,
    topology: Topology,
    /// The sink of a persistent query, shared by its tasks.
    sink: Option<Arc<Sink>>,
    tasks: Vec<Mutex<Task>>,
    state: Mutex<QueryState>,
    /// Builds a task's stage afresh, for a task this process takes over from another server.
    restage: Option<Arc<dyn Fn() -> Stage + Send + Sync>>,
    /// Each task's record cache: its bytes and commit interval.
    cache: Option<(usize, Duration)>,
    /// How many partitions each input has (known once the query starts).
    input_partitions: Vec<u32>,
    /// The partitions (of the first input) whose tasks this process runs; `None`: all.
    owned: RwLock<Option<BTreeSet<u32>>>,
}

/// Locks a task. A task whose thread panicked is never stepped again (its query is in ERROR),
/// but its counters and offsets can still be read.
fn lock(task: &Mutex<Task>) -> MutexGuard<'_, Task> {
    task.lock().unwrap_or_else(|e| e.into_inner())
}

impl PersistentQuery {
    /// A query run as one task that reads every partition of its inputs.
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
        let (sink, task_output) = match output {
            Output::Topic(sink) => {
                let sink: Arc<Sink> = Arc::from(sink);
                (Some(Arc::clone(&sink)), TaskOutput::Topic(sink))
            }
            Output::Rows(rows) => (None, TaskOutput::Rows(rows)),
        };
        PersistentQuery {
            topology: Topology {
                query_id: id.clone(),
                inputs,
                options,
                group: None,
                changelog: None,
                commit_interval: DEFAULT_COMMIT_INTERVAL,
                exactly_once: false,
            },
            id,
            sink,
            tasks: vec![Mutex::new(Task::new(None, stage, task_output))],
            state: Mutex::new(QueryState::Running),
            restage: None,
            cache: None,
            input_partitions: Vec::new(),
            owned: RwLock::new(None),
        }
    }

    /// Lets a task be built afresh with a stage from `stage`: what a server that takes a
    /// task over from another does.
    pub fn with_restage(mut self, stage: impl Fn() -> Stage + Send + Sync + 'static) -> Self {
        self.restage = Some(Arc::new(stage));
        self
    }

    /// Runs a persistent query as one task per partition, each with a stage from `stage`
    /// (see [`super::tasks`]).
    pub fn with_partition_tasks(
        mut self,
        partitions: u32,
        stage: impl Fn() -> Stage,
    ) -> PersistentQuery {
        if let Some(sink) = &self.sink {
            self.tasks = (0..partitions)
                .map(|p| {
                    let output = TaskOutput::Topic(Arc::clone(sink));
                    Mutex::new(Task::new(Some(p), stage(), output))
                })
                .collect();
        }
        self
    }

    /// Holds a table result's updates in record caches of `max_bytes` in all, shared out
    /// among the tasks, written when each task commits every `interval` (or when its cache is
    /// full).
    pub fn with_cache(mut self, max_bytes: usize, interval: Duration) -> PersistentQuery {
        let share = (max_bytes / self.tasks.len().max(1)).max(1);
        for task in &self.tasks {
            lock(task).cache_results(share, interval);
        }
        self.cache = Some((share, interval));
        self
    }

    /// Commits how far the query has read to `group` every `interval` (and at each commit of
    /// its record caches), as a Kafka Streams application commits its consumer group.
    pub fn with_group(mut self, group: String, interval: Duration) -> PersistentQuery {
        self.topology.group = Some(group);
        self.topology.commit_interval = interval;
        self
    }

    /// Makes each commit of a task one transaction (`processing.guarantee=exactly_once_v2`).
    pub fn exactly_once(mut self) -> PersistentQuery {
        self.topology.exactly_once = true;
        self
    }

    /// Assigns every task its partitions: each starts at its group's committed offset where it
    /// has one, else at the start or the end of the partition, as `reset` says. A stateful
    /// query's tasks keep their state in the query's changelog, and resume from where its
    /// last checkpoint says.
    pub fn start(&mut self, store: &dyn TopicStore, reset: OffsetReset) -> Result<(), ExecError> {
        let store_name = self.tasks.first().and_then(|t| lock(t).state_store_name());
        if let (Some(store_name), Some(group)) = (store_name, &self.topology.group) {
            let topic = changelog::topic_name(group, store_name);
            let tasks = u32::try_from(self.tasks.len()).unwrap_or(u32::MAX);
            changelog::create_topic(store, &topic, tasks)?;
            for task in &self.tasks {
                lock(task).keep_state_in(&topic);
            }
            self.topology.changelog = Some(topic);
        }
        let mut partitions = Vec::with_capacity(self.topology.inputs.len());
        let mut starts: Vec<BTreeMap<u32, u64>> = Vec::with_capacity(partitions.capacity());
        for input in &self.topology.inputs {
            let topic = store.describe_topic(&input.source.topic)?;
            let mut start: BTreeMap<u32, u64> = match reset {
                OffsetReset::Earliest => (0..).zip(topic.start_offsets.iter().copied()).collect(),
                OffsetReset::Latest => (0..).zip(topic.end_offsets.iter().copied()).collect(),
            };
            if let Some(group) = &self.topology.group {
                let committed = store.committed_offsets(group, &topic.name)?;
                // Where a new query starts is committed at once, so that a restart before its
                // first commit resumes there rather than at the then latest offset.
                let fresh: Vec<(u32, u64)> = start
                    .iter()
                    .filter(|(p, _)| !committed.contains_key(p))
                    .map(|(&p, &o)| (p, o))
                    .collect();
                if !fresh.is_empty() {
                    store.commit_offsets(group, &topic.name, &fresh)?;
                }
                for (partition, offset) in committed {
                    let earliest = topic
                        .start_offsets
                        .get(partition as usize)
                        .copied()
                        .unwrap_or(0);
                    start.insert(partition, offset.max(earliest));
                }
            }
            partitions.push(topic.config.partitions);
            starts.push(start);
        }
        self.input_partitions = partitions.clone();
        for task in &self.tasks {
            lock(task).assign(&partitions, |input, partition| {
                starts[input].get(&partition).copied().unwrap_or(0)
            });
        }
        Ok(())
    }

    /// The topic a stateful query keeps its state in, if it has one.
    pub fn changelog_topic(&self) -> Option<&str> {
        self.topology.changelog.as_deref()
    }

    /// How many tasks the query runs as.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// One step of task `index` (see [`Task::step`]), waiting for the task if another thread
    /// is stepping it.
    pub fn step_task(
        &self,
        index: usize,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        match self.tasks.get(index) {
            Some(task) => lock(task).step(&self.topology, store, log),
            None => Ok(0),
        }
    }

    /// One step of task `index`, unless another thread is stepping it (`None`).
    pub fn try_step_task(
        &self,
        index: usize,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Option<Result<usize, ExecError>> {
        let mut task = match self.tasks.get(index)?.try_lock() {
            Ok(task) => task,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(task.step(&self.topology, store, log))
    }

    /// Commits every task: the updates their record caches hold are written, and their
    /// offsets committed to the query's group.
    pub fn commit(&self, store: &dyn TopicStore) -> Result<(), ExecError> {
        for (index, task) in self.tasks.iter().enumerate() {
            if self.owns_task(index) {
                lock(task).commit(&self.topology, store)?;
            }
        }
        Ok(())
    }

    /// Commits the tasks no thread is stepping now, without waiting for the others: what a
    /// reader that must not stall on a busy query uses.
    pub fn commit_idle_tasks(&self, store: &dyn TopicStore) -> Result<(), ExecError> {
        for (index, task) in self.tasks.iter().enumerate() {
            if !self.owns_task(index) {
                continue;
            }
            let mut task = match task.try_lock() {
                Ok(task) => task,
                Err(TryLockError::Poisoned(e)) => e.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            };
            task.commit(&self.topology, store)?;
        }
        Ok(())
    }

    /// The query's counters: the sum of its tasks'.
    pub fn stats(&self) -> QueryStats {
        let mut stats = QueryStats::default();
        for task in &self.tasks {
            stats.absorb(&lock(task).stats);
        }
        stats
    }

    pub fn state(&self) -> QueryState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts the query in ERROR: it is not run again.
    pub fn fail(&self, error: &ExecError) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) =
            QueryState::Error(error.to_string());
    }

    pub fn is_running(&self) -> bool {
        self.state() == QueryState::Running
    }

    /// Whether a push query is over: its limit was reached or its client went away.
    pub fn is_finished(&self) -> bool {
        self.sink.is_none() && self.tasks.iter().all(|t| lock(t).is_finished())
    }

    /// Whether this process runs task `index` (while servers share the query, the task of
    /// each partition runs on the one server the group gave the partition to).
    pub fn owns_task(&self, index: usize) -> bool {
        match &*self.owned.read().unwrap_or_else(|e| e.into_inner()) {
            None => true,
            Some(owned) => owned.contains(&self.task_partition(index)),
        }
    }

    /// The partition of the first input that decides where task `index` runs.
    fn task_partition(&self, index: usize) -> u32 {
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    /// The partitions whose tasks this process runs, when servers share the query.
    pub fn owned_partitions(&self) -> Option<Vec<u32>> {
        self.owned
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|owned| owned.iter().copied().collect())
    }

    /// Runs none of the query's tasks until they are handed to this process
    /// ([`PersistentQuery::take_over`]): the servers of a service share each query's tasks.
    pub fn await_tasks(&self) {
        if self.restage.is_some() && self.topology.group.is_some() {
            *self.owned.write().unwrap_or_else(|e| e.into_inner()) = Some(BTreeSet::new());
        }
    }

    /// How many tasks can be handed between servers: one per partition of the first input
    /// (a query run as one task: the one of partition 0).
    pub fn shareable_tasks(&self) -> u32 {
        u32::try_from(self.tasks.len()).unwrap_or(u32::MAX)
    }

    /// The tasks of `partitions` (of the first input), by index.
    fn tasks_of(&self, partitions: &[u32]) -> Vec<usize> {
        partitions
            .iter()
            .filter_map(|&p| usize::try_from(p).ok())
            .filter(|&index| index < self.tasks.len())
            .collect()
    }

    /// Hands the tasks of `partitions` to another server: each commits, then drops its state.
    pub fn release(&self, partitions: &[u32], store: &dyn TopicStore) {
        for index in self.tasks_of(partitions) {
            let mut task = lock(&self.tasks[index]);
            if self.owns_task(index)
                && self.is_running()
                && let Err(e) = task.commit(&self.topology, store)
            {
                tracing::warn!(
                    "query {}: committing task {index} on hand-over: {e}",
                    self.id
                );
            }
            if let Some(fresh) = self.fresh_task(index) {
                *task = fresh;
            }
            if let Some(owned) = self
                .owned
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                owned.remove(&self.task_partition(index));
            }
        }
    }

    /// Takes the tasks of `partitions` over from another server: each starts afresh,
    /// restores its state from the changelog and reads on from its group's committed offsets.
    pub fn take_over(&self, partitions: &[u32], store: &dyn TopicStore) {
        let committed: Vec<BTreeMap<u32, u64>> = self
            .topology
            .inputs
            .iter()
            .map(|input| match &self.topology.group {
                Some(group) => store
                    .committed_offsets(group, &input.source.topic)
                    .unwrap_or_default(),
                None => BTreeMap::new(),
            })
            .collect();
        for index in self.tasks_of(partitions) {
            let Some(mut fresh) = self.fresh_task(index) else {
                continue;
            };
            fresh.assign(&self.input_partitions, |input, partition| {
                committed
                    .get(input)
                    .and_then(|c| c.get(&partition))
                    .copied()
                    .unwrap_or(0)
            });
            *lock(&self.tasks[index]) = fresh;
            if let Some(owned) = self
                .owned
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
            {
                owned.insert(self.task_partition(index));
            }
        }
    }

    /// Task `index` as new: a fresh stage, its cache and its changelog, nothing read yet.
    fn fresh_task(&self, index: usize) -> Option<Task> {
        let restage = self.restage.as_ref()?;
        let sink = self.sink.as_ref()?;
        let partition = (self.tasks.len() > 1).then(|| self.task_partition(index));
        let mut task = Task::new(partition, restage(), TaskOutput::Topic(Arc::clone(sink)));
        if let Some((bytes, interval)) = self.cache {
            task.cache_results(bytes, interval);
        }
        if let Some(changelog) = &self.topology.changelog {
            task.keep_state_in(changelog);
        }
        Some(task)
    }

    /// Whether the query streams to a client rather than writing a topic.
    pub fn is_push(&self) -> bool {
        self.sink.is_none()
    }

    /// The topic a persistent query writes.
    pub fn sink_topic(&self) -> Option<&str> {
        self.sink.as_deref().map(|s| s.topic.as_str())
    }

    pub fn source_topics(&self) -> Vec<&str> {
        self.topology
            .inputs
            .iter()
            .map(|i| i.source.topic.as_str())
            .collect()
    }
}
