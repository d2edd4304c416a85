//! The runtime: every running query's tasks, and the threads that run them.
//!
//! Queries are added and removed by the engine as statements run; nothing else about them is
//! shared. A task is stepped by whichever thread takes its lock, so one query's slow work holds
//! one thread and one task, never the others, and never the engine. Two ways to run:
//!
//! - [`Runtime::run_until_idle`] steps every task until none has input left, on the calling
//!   thread or on up to `threads` scoped threads: the test runners and the benchmark use it,
//!   so a run is repeatable.
//! - [`Runtime::start_workers`] starts `ksql.streams.num.stream.threads` threads that step
//!   tasks for as long as the process runs, sleeping when every task is idle until
//!   [`Runtime::wake`] says that records arrived (or a short timeout passes, for commits due).
//!
//! ```text
//!  produce ─► log ─► Task::step (fetch ─► merge ─► decode ─► stage ─► sink) ─► produce
//!                       ▲ one thread at a time per task; any number of tasks at once
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use super::processing_log::ProcessingLog;
use super::query::PersistentQuery;
use super::view::MaterializedView;
use super::{ExecError, ProcessingLogEntry};
use crate::topics::TopicStore;

/// How long an idle worker sleeps before it looks again (commits fall due while idle).
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// The running queries and what runs them.
pub struct Runtime {
    store: Arc<dyn TopicStore>,
    queries: RwLock<Vec<Arc<PersistentQuery>>>,
    /// The materialized tables pull queries read, by topic.
    views: RwLock<Vec<Arc<MaterializedView>>>,
    log: ProcessingLog,
    /// Bumped by [`Runtime::wake`]; idle workers wait for it to change.
    generation: Mutex<u64>,
    woken: Condvar,
}

/// What a thread steps: one task of one query, or one partition of a materialized view.
enum Unit {
    Task(Arc<PersistentQuery>, usize),
    View(Arc<MaterializedView>, usize),
}

impl Runtime {
    pub fn new(store: Arc<dyn TopicStore>) -> Runtime {
        Runtime {
            store,
            queries: RwLock::default(),
            views: RwLock::default(),
            log: ProcessingLog::default(),
            generation: Mutex::new(0),
            woken: Condvar::new(),
        }
    }

    pub fn processing_log(&self) -> &ProcessingLog {
        &self.log
    }

    /// Starts running a query.
    pub fn add(&self, query: impl Into<Arc<PersistentQuery>>) -> Arc<PersistentQuery> {
        let query = query.into();
        self.write().push(Arc::clone(&query));
        self.wake();
        query
    }

    /// Stops running a query (a task stepping it finishes its step first); `None` if there is
    /// none with that id.
    pub fn remove(&self, id: &str) -> Option<Arc<PersistentQuery>> {
        let mut queries = self.write();
        let index = queries.iter().position(|q| q.id.eq_ignore_ascii_case(id))?;
        Some(queries.remove(index))
    }

    pub fn find(&self, id: &str) -> Option<Arc<PersistentQuery>> {
        self.read()
            .iter()
            .find(|q| q.id.eq_ignore_ascii_case(id))
            .cloned()
    }

    /// Every running query, persistent and push, in the order they started.
    pub fn queries(&self) -> Vec<Arc<PersistentQuery>> {
        self.read().clone()
    }

    /// Starts keeping a table topic's current rows for pull queries; a topic already viewed
    /// keeps its view.
    pub fn materialize(&self, view: MaterializedView) -> Arc<MaterializedView> {
        let mut views = self.views.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = views.iter().find(|v| v.topic == view.topic) {
            return Arc::clone(existing);
        }
        let view = Arc::new(view);
        views.push(Arc::clone(&view));
        drop(views);
        self.wake();
        view
    }

    /// Stops keeping a topic's view.
    pub fn drop_view(&self, topic: &str) {
        self.views
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|v| v.topic != topic);
    }

    /// The view of a table topic, if one is kept.
    pub fn view(&self, topic: &str) -> Option<Arc<MaterializedView>> {
        self.views
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|v| v.topic == topic)
            .cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<PersistentQuery>>> {
        self.queries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<PersistentQuery>>> {
        self.queries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The tasks of every query still running, then every view's partitions.
    fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = self
            .read()
            .iter()
            .filter(|q| q.is_running())
            .flat_map(|q| {
                (0..q.task_count())
                    .filter(|&t| q.owns_task(t))
                    .map(move |t| Unit::Task(Arc::clone(q), t))
            })
            .collect();
        let views = self.views.read().unwrap_or_else(|e| e.into_inner());
        for view in views.iter() {
            units.extend((0..view.partition_count()).map(|p| Unit::View(Arc::clone(view), p)));
        }
        units
    }

    /// Removes push queries whose client left or whose limit was reached.
    fn reap(&self) {
        let finished = self.read().iter().any(|q| q.is_finished());
        if finished {
            self.write().retain(|q| !q.is_finished());
        }
    }

    /// Says that records arrived or a query started: idle workers look again.
    pub fn wake(&self) {
        let mut generation = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        *generation = generation.wrapping_add(1);
        self.woken.notify_all();
    }

    /// Steps every task until none has input left, on up to `threads` threads. A task that
    /// fails puts its query in ERROR; the first failure is returned once every other task is
    /// idle.
    pub fn run_until_idle(&self, threads: usize) -> Result<(), ExecError> {
        let mut first_error = None;
        loop {
            let units = self.units();
            let threads = threads.clamp(1, units.len().max(1));
            let (work, error) = if threads == 1 {
                self.drain(&units, &AtomicUsize::new(0))
            } else {
                let next = AtomicUsize::new(0);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..threads)
                        .map(|_| scope.spawn(|| self.drain(&units, &next)))
                        .collect();
                    let mut total = (0, None);
                    for handle in handles {
                        let (work, error) = handle.join().unwrap_or_else(|_| {
                            (0, Some(ExecError::internal("a stream thread panicked")))
                        });
                        total.0 += work;
                        total.1 = total.1.or(error);
                    }
                    total
                })
            };
            first_error = first_error.or(error);
            if work == 0 {
                self.reap();
                return first_error.map_or(Ok(()), Err);
            }
        }
    }

    /// Claims units one by one (through `next`) and steps each until it is idle. Returns the
    /// work done and the first failure.
    fn drain(&self, units: &[Unit], next: &AtomicUsize) -> (usize, Option<ExecError>) {
        let mut log = Vec::new();
        let mut work = 0;
        let mut first_error = None;
        while let Some(unit) = units.get(next.fetch_add(1, Ordering::Relaxed)) {
            loop {
                match self.step(unit, &mut log, true) {
                    Some(Ok(0)) | None => break,
                    Some(Ok(n)) => work += n,
                    Some(Err(e)) => {
                        first_error = first_error.or(Some(e));
                        break;
                    }
                }
                self.log.extend(log.drain(..));
            }
            self.log.extend(log.drain(..));
        }
        (work, first_error)
    }

    /// One step of one unit, waiting for its lock (`wait`) or not (`None` when another thread
    /// holds it). A task's failure, or panic, puts its query in ERROR; a view that fails
    /// reports it and is tried again on the next pass.
    fn step(
        &self,
        unit: &Unit,
        log: &mut Vec<ProcessingLogEntry>,
        wait: bool,
    ) -> Option<Result<usize, ExecError>> {
        let (query, task) = match unit {
            Unit::Task(query, task) => (query, *task),
            Unit::View(view, partition) => {
                let store = self.store.as_ref();
                let stepped = if wait {
                    Some(view.step(store, *partition))
                } else {
                    view.try_step(store, *partition)
                };
                return match stepped {
                    Some(Err(e)) => {
                        tracing::error!("the view of {} failed: {e}", view.topic);
                        Some(Ok(0))
                    }
                    other => other,
                };
            }
        };
        if !query.is_running() {
            return Some(Ok(0));
        }
        let store = self.store.as_ref();
        let stepped = catch_unwind(AssertUnwindSafe(|| {
            if wait {
                Some(query.step_task(task, store, log))
            } else {
                query.try_step_task(task, store, log)
            }
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Some(Err(ExecError::internal(format!("a task panicked: {what}"))))
        });
        if let Some(Err(e)) = &stepped {
            tracing::error!("query {} failed: {e}", query.id);
            query.fail(e);
        }
        stepped
    }

    /// Starts `threads` stream threads that run every task for as long as the process runs.
    /// They run at a lower scheduling priority than the threads that answer requests, so a
    /// server whose queries keep every core busy still answers at once.
    pub fn start_workers(self: &Arc<Self>, threads: usize) -> std::io::Result<()> {
        for worker in 0..threads.max(1) {
            let runtime = Arc::clone(self);
            std::thread::Builder::new()
                .name(format!("sluice-stream-{worker}"))
                .stack_size(crate::sql::THREAD_STACK_BYTES)
                .spawn(move || {
                    lower_priority();
                    runtime.work(worker)
                })?;
        }
        Ok(())
    }

    /// A stream thread: passes over every task, stepping those no other thread holds, and
    /// sleeps when a pass finds nothing to do.
    fn work(&self, worker: usize) {
        let mut log = Vec::new();
        loop {
            let seen = *self.generation.lock().unwrap_or_else(|e| e.into_inner());
            let units = self.units();
            let mut work = 0;
            for k in 0..units.len() {
                // Workers start their passes at different tasks, so they spread out.
                let unit = &units[(k + worker) % units.len()];
                if let Some(Ok(n)) = self.step(unit, &mut log, false) {
                    work += n;
                }
                if !log.is_empty() {
                    self.log.extend(log.drain(..));
                }
            }
            self.reap();
            if work > 0 {
                // What this pass wrote may be input for tasks other threads would take.
                self.wake();
                continue;
            }
            let generation = self.generation.lock().unwrap_or_else(|e| e.into_inner());
            let _ = self
                .woken
                .wait_timeout_while(generation, IDLE_WAIT, |g| *g == seen);
        }
    }
}

/// How much a stream thread yields to the request threads (a nice value, 0 to 19).
const STREAM_THREAD_NICENESS: libc::c_int = 10;

/// Lowers the calling thread's scheduling priority (on Linux a nice value is per thread).
/// Best effort: where it cannot be lowered the thread runs at the normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who` = 0 names the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, STREAM_THREAD_NICENESS);
    }
}
