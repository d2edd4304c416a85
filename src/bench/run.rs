//! One workload measured in this process: throughput, peak RSS, then latency.
//!
//! **Throughput.** The sources are declared, the auctions table (join only) is appended and the
//! query created; a first `run_until_idle()` absorbs the table into the join's state. Then the
//! N bids are appended and the clock runs only around the `run_until_idle()` that consumes them:
//! generating and appending records is not timed, nor is planning the query.
//!
//! **Peak RSS** is the process's `VmHWM` right after the throughput run: the loaded topic, the
//! query's state and its output topic all count, as they would in the server.
//!
//! **Latency.** A fresh engine gets a steady offered load: every [`TICK`] a batch of
//! `rate × TICK` bids is appended, then `run_until_idle()` runs and the output topic's new
//! records are read back. An output record's latency is the time the run that wrote it returned
//! minus the time its input batch was due. The input is found from the output record's
//! timestamp (bid `i` has timestamp `BASE_TIME_MS + i`, and every workload's output carries its
//! input's timestamp). Counting from the time a batch was *due* rather than when it was
//! actually appended means a run that overruns its tick delays the next batches and that wait
//! shows in their latency (no coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::generator::{
    self, AUCTIONS_TOPIC, BIDS_TOPIC, auction_records, bid_index_of_timestamp,
    bid_records_with_keys,
};
use super::workload::{OUTPUT_TOPIC, Workload};
use super::{BenchError, CACHE_ON_BYTES, CACHE_PROPERTY};
use crate::engine::Engine;
use crate::exec::QueryStats;
use crate::topics::namespace::Namespace;
use crate::topics::{
    DiskOptions, DiskTopicStore, FetchLimits, KafkaOptions, KafkaTopicStore, MemoryTopicStore,
    ProducerRecord, TopicStore,
};

/// Bids generated and appended at a time before a throughput run.
const LOAD_SLICE: u64 = 65_536;

/// How often the latency probe appends a batch.
pub const TICK: Duration = Duration::from_millis(1);
/// The offered rate of the latency probe, in events/s.
pub const DEFAULT_LATENCY_RATE: u64 = 100_000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub workload: Workload,
    /// Bids in the throughput run.
    pub events: u64,
    /// `--caching on`: the cache property is 10 MB instead of 0.
    pub caching: bool,
    pub seed: u64,
    /// Offered load of the latency probe, events/s.
    pub latency_rate: u64,
    /// Bids the latency probe offers in all.
    pub latency_events: u64,
    /// Distinct auctions the bids reference: the number of groups of the aggregate workload.
    pub keys: i64,
    /// Stream threads (`ksql.streams.num.stream.threads`); the topics get as many partitions.
    pub threads: usize,
    /// Run on the log on disk (in a temporary data directory) instead of in memory.
    pub disk: bool,
    /// Run on this Kafka cluster instead (each run with topics of its own).
    pub kafka: Option<String>,
    /// `processing.guarantee=exactly_once_v2`: each commit of the query one transaction.
    pub exactly_once: bool,
}

/// The latency probe offers at most this many events (two seconds at 100,000 events/s), so
/// that a run of millions of events does not also spend minutes offering them at a steady rate.
pub const MAX_LATENCY_EVENTS: u64 = 200_000;

impl RunConfig {
    pub fn new(workload: Workload, events: u64, caching: bool) -> RunConfig {
        RunConfig {
            workload,
            events,
            caching,
            seed: generator::DEFAULT_SEED,
            latency_rate: DEFAULT_LATENCY_RATE,
            latency_events: events.min(MAX_LATENCY_EVENTS),
            keys: generator::AUCTIONS,
            threads: 1,
            disk: false,
            kafka: None,
            exactly_once: false,
        }
    }
}

/// The property `--threads` sets.
pub const THREADS_PROPERTY: &str = "ksql.streams.num.stream.threads";

fn one() -> usize {
    1
}

/// End-to-end latency under a steady offered load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// The offered load, events/s.
    pub offered_rate: u64,
    pub events: u64,
    /// Output records measured (the filter passes about 1 bid in 123).
    pub samples: usize,
    /// The rate the engine kept: events over the time from the first batch being due to the
    /// last output being read. Below the offered rate, latency is mostly backlog.
    pub achieved_rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// One workload's numbers: what `sluice bench --single` prints as a JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub workload: String,
    pub events: u64,
    /// Distinct auction ids in the bids.
    #[serde(default)]
    pub keys: i64,
    /// Stream threads, and partitions of the input topics.
    #[serde(default = "one")]
    pub threads: usize,
    /// Whether the topics were on disk (`--store disk`).
    #[serde(default)]
    pub disk: bool,
    /// Whether the topics were on a Kafka cluster (`--store kafka`).
    #[serde(default)]
    pub kafka: bool,
    /// Whether the query ran exactly once (`--guarantee exactly_once_v2`).
    #[serde(default)]
    pub exactly_once: bool,
    pub caching: bool,
    /// Time to consume the N pre-loaded events.
    pub seconds: f64,
    /// Events/s; per core when `threads` is 1.
    pub events_per_second: f64,
    /// With repeated runs: the slowest and fastest events/s (this report is the median run).
    #[serde(default)]
    pub events_per_second_range: Option<(f64, f64)>,
    /// Records the query wrote during the throughput run.
    pub records_out: u64,
    /// `VmHWM` after the throughput run, in MiB; `None` where `/proc` has no such line.
    pub peak_rss_mb: Option<f64>,
    pub latency: LatencyReport,
}

/// An engine with a workload's sources declared and its query created and caught up.
struct Harness {
    store: Arc<dyn TopicStore>,
    engine: Engine,
    /// The data directory of a run on disk, removed with the harness.
    _data_dir: Option<TemporaryDirectory>,
}

/// A directory under the system's temporary directory, removed when dropped.
struct TemporaryDirectory(std::path::PathBuf);

impl TemporaryDirectory {
    fn new() -> Result<TemporaryDirectory, BenchError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("sluice-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| BenchError::Check(format!("cannot create {}: {e}", path.display())))?;
        Ok(TemporaryDirectory(path))
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Harness {
    fn new(config: &RunConfig) -> Result<Harness, BenchError> {
        let (store, data_dir): (Arc<dyn TopicStore>, _) = if let Some(servers) = &config.kafka {
            let kafka = KafkaTopicStore::connect(KafkaOptions::new(servers.as_str()))?;
            let run = chrono::Utc::now().format("%Y%m%d%H%M%S%3f");
            let prefix = format!("bench-{run}-{}-", std::process::id());
            (Arc::new(Namespace::new(Arc::new(kafka), prefix)), None)
        } else if config.disk {
            let dir = TemporaryDirectory::new()?;
            let store = DiskTopicStore::open(&dir.0, DiskOptions::default())?;
            (Arc::new(store), Some(dir))
        } else {
            (Arc::new(MemoryTopicStore::new()), None)
        };
        let mut engine = Engine::new(store.clone());
        let cache = if config.caching { CACHE_ON_BYTES } else { "0" };
        engine.set_property(CACHE_PROPERTY, cache);
        engine.set_property(THREADS_PROPERTY, &config.threads.to_string());
        if config.exactly_once {
            engine.set_property("processing.guarantee", "exactly_once_v2");
        }
        // The join's query reads the auctions produced before it starts.
        engine.set_property("auto.offset.reset", "earliest");
        engine
            .execute_script(&config.workload.ddl(config.threads.max(1)))
            .map_err(BenchError::script)?;
        if config.workload.needs_auctions() {
            store.produce(AUCTIONS_TOPIC, auction_records(config.seed))?;
        }
        engine
            .execute_script(&config.workload.statement())
            .map_err(BenchError::script)?;
        engine.run_until_idle()?;
        Ok(Harness {
            store,
            engine,
            _data_dir: data_dir,
        })
    }

    fn stats(&self) -> Result<QueryStats, BenchError> {
        match self.engine.query_stats().as_slice() {
            [(_, stats)] => Ok(stats.clone()),
            other => Err(BenchError::Check(format!(
                "expected one persistent query, found {}",
                other.len()
            ))),
        }
    }

    /// Checks that the query read `events` more records than `before`, and skipped none.
    fn check_consumed(&self, before: &QueryStats, events: u64) -> Result<QueryStats, BenchError> {
        let after = self.stats()?;
        let read = after.records_in - before.records_in;
        if read != events {
            return Err(BenchError::Check(format!(
                "the query read {read} records, expected {events}"
            )));
        }
        if after.records_skipped + after.expression_errors > 0 {
            return Err(BenchError::Check(format!(
                "the query skipped {} records and had {} expression errors; first: {:?}",
                after.records_skipped,
                after.expression_errors,
                self.engine.processing_log().first().map(|e| &e.message)
            )));
        }
        Ok(after)
    }
}

/// Measures one workload: throughput, peak RSS, then latency.
pub fn run_single(config: &RunConfig) -> Result<RunReport, BenchError> {
    let (seconds, records_out) = {
        let mut harness = Harness::new(config)?;
        // In slices, so that the records waiting to be appended never outweigh the log.
        let mut start = 0;
        while start < config.events {
            let end = config.events.min(start + LOAD_SLICE);
            harness.store.produce(
                BIDS_TOPIC,
                bid_records_with_keys(config.seed, start, end, config.keys),
            )?;
            start = end;
        }
        let before = harness.stats()?;
        let start = Instant::now();
        harness.engine.run_until_idle()?;
        // With caching on, the last updates are held until a commit: it is part of the run.
        harness.engine.commit()?;
        let elapsed = start.elapsed();
        let after = harness.check_consumed(&before, config.events)?;
        (
            elapsed.as_secs_f64(),
            after.records_out - before.records_out,
        )
    };
    // Read now: the latency probe below allocates its own engine and topics.
    let peak_rss_mb = peak_rss_kib().map(|kib| kib as f64 / 1024.0);
    // A rate of 0 skips the probe (for profiling the throughput run alone).
    let latency = if config.latency_rate == 0 {
        LatencyReport::default()
    } else {
        measure_latency(config)?
    };
    Ok(RunReport {
        workload: config.workload.name().to_string(),
        events: config.events,
        keys: config.keys,
        threads: config.threads,
        disk: config.disk,
        kafka: config.kafka.is_some(),
        exactly_once: config.exactly_once,
        caching: config.caching,
        seconds,
        events_per_second: config.events as f64 / seconds.max(f64::MIN_POSITIVE),
        events_per_second_range: None,
        records_out,
        peak_rss_mb,
        latency,
    })
}

/// The latency probe: see the module documentation.
pub fn measure_latency(config: &RunConfig) -> Result<LatencyReport, BenchError> {
    let mut harness = Harness::new(config)?;
    let per_tick = (config.latency_rate as u128 * TICK.as_nanos() / 1_000_000_000).max(1) as u64;
    let events = config.latency_events;
    // Generated up front so that making records never delays a batch.
    let mut batches: Vec<Vec<ProducerRecord>> = (0..events.div_ceil(per_tick))
        .map(|t| {
            let end = ((t + 1) * per_tick).min(events);
            bid_records_with_keys(config.seed, t * per_tick, end, config.keys)
        })
        .collect();
    batches.reverse();
    let ticks = batches.len() as u64;
    let before = harness.stats()?;
    let mut appended = 0u64;
    let mut read_positions: Vec<u64> = Vec::new();
    let mut samples_us: Vec<u64> = Vec::with_capacity(events as usize);
    let start = Instant::now();
    loop {
        let due = ((start.elapsed().as_nanos() / TICK.as_nanos()) as u64 + 1).min(ticks);
        if due > appended {
            let mut batch = Vec::new();
            for _ in appended..due {
                batch.extend(batches.pop().unwrap_or_default());
            }
            harness.store.produce(BIDS_TOPIC, batch)?;
            appended = due;
        }
        harness.engine.run_until_idle()?;
        let written_us = start.elapsed().as_micros() as u64;
        let partitions = harness
            .store
            .describe_topic(OUTPUT_TOPIC)?
            .config
            .partitions;
        read_positions.resize(partitions as usize, 0);
        for (partition, read_position) in (0..).zip(read_positions.iter_mut()) {
            let fetched = harness.store.fetch(
                OUTPUT_TOPIC,
                partition,
                *read_position,
                FetchLimits::records(usize::MAX),
            )?;
            *read_position = fetched.next_offset(*read_position);
            for record in fetched.records {
                let index = bid_index_of_timestamp(record.timestamp).ok_or_else(|| {
                    BenchError::Check(format!(
                        "output timestamp {} is not a bid's",
                        record.timestamp
                    ))
                })?;
                let due_us = (index / per_tick) as u128 * TICK.as_micros();
                samples_us.push(written_us.saturating_sub(due_us as u64));
            }
        }
        if appended == ticks {
            break;
        }
        let next_due = TICK * appended as u32;
        if let Some(wait) = next_due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = start.elapsed();
    harness.check_consumed(&before, events)?;
    samples_us.sort_unstable();
    let ms = |q: f64| percentile(&samples_us, q) as f64 / 1000.0;
    Ok(LatencyReport {
        offered_rate: config.latency_rate,
        events,
        samples: samples_us.len(),
        achieved_rate: events as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: ms(1.0),
    })
}

/// The nearest-rank percentile of sorted samples (0 when there are none).
pub(super) fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The process's peak resident set (`VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&samples, 0.5), 500);
        assert_eq!(percentile(&samples, 0.99), 990);
        assert_eq!(percentile(&samples, 0.999), 999);
        assert_eq!(percentile(&samples, 1.0), 1000);
        assert_eq!(percentile(&[7], 0.999), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn peak_rss_is_read_from_proc() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(peak_rss_kib().is_some_and(|k| k > 0));
        }
    }

    /// Every workload plans, consumes all its input and produces what it should, with a
    /// small N (a smoke test of the set-up, not a measurement).
    #[test]
    fn every_workload_consumes_all_events() {
        for workload in Workload::ALL {
            let mut config = RunConfig::new(workload, 2_000, false);
            config.latency_events = 500;
            let report = run_single(&config).unwrap_or_else(|e| panic!("{workload}: {e}"));
            let expected_out = match workload {
                // About 1 in 123 bids passes the filter.
                Workload::Filter => (1..=40).contains(&report.records_out),
                _ => report.records_out == 2_000,
            };
            assert!(expected_out, "{workload}: {} out", report.records_out);
            assert!(report.latency.samples > 0, "{workload}");
            assert!(report.latency.p50_ms <= report.latency.p999_ms);
        }
    }
}
