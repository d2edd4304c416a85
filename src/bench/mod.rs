//! Benchmarks: Nexmark-like bids through the engine, for `sluice bench` and `benches/`.
//!
//! ```text
//!  generator ─bids─▶ MemoryTopicStore ─run_until_idle()─▶ persistent query ─▶ bench_out
//!                         ▲ loaded before the clock starts        timed ▲        │
//!                         └── latency probe: 100-event batches every 1 ms ◀─────┘ read back
//! ```
//!
//! 1. [`generator`] makes the input: a seeded stream of bids keyed by auction, and the
//!    10,000-row auctions table.
//! 2. [`workload`] holds the four queries (filter, aggregate, window, join).
//! 3. [`run`] measures one workload in this process: throughput over a pre-loaded topic, the
//!    process's peak RSS, then end-to-end latency under a steady offered rate.
//! 4. [`suite`] runs each workload in a fresh child process (peak RSS can't be reset inside a
//!    process) and prints the markdown table.
//! 5. [`pull`] measures pull queries: key lookups and a scan of a table with a long history.
//!    [`serve`] measures how quickly the API answers while a server is busy.
//! 6. [`fixture`] exposes single pipeline steps (decode, filter+project, aggregate, encode) to
//!    the criterion micro-benchmarks in `benches/pipeline.rs`.
//!
//! The engine runs every persistent query synchronously on the calling thread, so events/s
//! measured with one thread is events/s per core; `--threads T` gives the inputs T partitions
//! and runs a query that can run a task per partition on T threads.

pub mod fixture;
pub mod generator;
pub mod pull;
pub mod run;
pub mod serve;
pub mod suite;
pub mod workload;

use thiserror::Error;

pub use run::{LatencyReport, RunConfig, RunReport, run_single};
pub use suite::{SuiteConfig, markdown_table, run_suite};
pub use workload::Workload;

/// The property `--caching` sets. ksqlDB's record cache is sized by it; 0 turns it off.
pub const CACHE_PROPERTY: &str = "ksql.streams.cache.max.bytes.buffering";
/// The cache size `--caching on` sets: ksqlDB's default, 10 MB.
pub const CACHE_ON_BYTES: &str = "10000000";

/// Why a benchmark could not run. Each one is a broken set-up, not a slow engine.
#[derive(Debug, Error)]
pub enum BenchError {
    #[error("statement failed: {0}")]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Topic(#[from] crate::topics::TopicError),
    #[error("query planning failed: {0}")]
    Plan(String),
    #[error("pipeline step failed: {0}")]
    Exec(#[from] crate::exec::ExecError),
    /// The query did not consume or produce what the workload implies.
    #[error("the benchmark is broken: {0}")]
    Check(String),
    #[error("benchmark child process: {0}")]
    Child(String),
}

impl BenchError {
    fn script((index, e): (usize, crate::engine::EngineError)) -> BenchError {
        BenchError::Check(format!("statement {index} of the set-up failed: {e}"))
    }
}
