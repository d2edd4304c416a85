//! The pull-query benchmark: key lookups and a full scan of a materialized table whose topic
//! holds many more updates than keys (`sluice bench --pull`).
//!
//! A source table of `keys` BIGINT keys is loaded with `updates` updates (key `i % keys`, so
//! each key is updated `updates / keys` times), its view indexes them, and then each lookup is
//! timed as the server spends it: parse, plan, look up, decode and project
//! (`Engine::parse_query` + `Engine::pull_query`), without HTTP.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::BenchError;
use super::run::{peak_rss_kib, percentile};
use crate::engine::Engine;
use crate::engine::transient::QueryKind;
use crate::topics::{MemoryTopicStore, ProducerRecord, TopicStore};

const TOPIC: &str = "pull_bench";

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct PullConfig {
    pub keys: u64,
    pub updates: u64,
    pub lookups: u64,
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub keys: u64,
    pub updates: u64,
    /// Seconds the view took to index every update.
    pub index_secs: f64,
    pub lookups: u64,
    pub lookup_p50_us: u64,
    pub lookup_p99_us: u64,
    pub lookup_p999_us: u64,
    /// A `SELECT *` without WHERE: its time and the rows it returned.
    pub scan_ms: u64,
    pub scan_rows: usize,
    pub peak_rss_mb: u64,
    pub profile: &'static str,
}

/// Loads the table, then times the lookups and a scan.
pub fn run_pull(config: &PullConfig) -> Result<PullReport, BenchError> {
    let keys = config.keys.max(1);
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(&format!(
            "CREATE SOURCE TABLE t (id BIGINT PRIMARY KEY, v BIGINT) \
             WITH (kafka_topic='{TOPIC}', value_format='JSON', partitions=1);"
        ))
        .map_err(|(_, e)| BenchError::Engine(e))?;
    const SLICE: u64 = 65_536;
    let mut produced = 0;
    let mut index_secs = 0.0;
    while produced < config.updates {
        let end = (produced + SLICE).min(config.updates);
        let records = (produced..end)
            .map(|i| ProducerRecord {
                key: Some((i % keys).to_be_bytes().to_vec()),
                value: Some(format!("{{\"V\":{i}}}").into_bytes()),
                timestamp: i64::try_from(i).unwrap_or(i64::MAX),
                ..Default::default()
            })
            .collect();
        store.produce(TOPIC, records)?;
        produced = end;
        let start = Instant::now();
        engine.run_until_idle()?;
        index_secs += start.elapsed().as_secs_f64();
    }
    let none = Default::default();
    let mut samples_us = Vec::with_capacity(usize::try_from(config.lookups).unwrap_or(0));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..config.lookups {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let key = (state >> 33) % keys;
        let text = format!("SELECT * FROM t WHERE id = {key};");
        let start = Instant::now();
        let QueryKind::Pull(query) = engine.parse_query(&text, &none)? else {
            return Err(BenchError::Check(format!("not a pull query: {text}")));
        };
        let result = engine.pull_query(&query, &text, &none)?;
        let spent = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        samples_us.push(spent);
        if result.rows.len() != 1 {
            return Err(BenchError::Check(format!(
                "{text} found {} rows",
                result.rows.len()
            )));
        }
    }
    samples_us.sort_unstable();
    let text = "SELECT * FROM t;";
    let start = Instant::now();
    let QueryKind::Pull(query) = engine.parse_query(text, &none)? else {
        return Err(BenchError::Check(format!("not a pull query: {text}")));
    };
    let scanned = engine.pull_query(&query, text, &none)?;
    let scan_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let expected_rows = usize::try_from(keys.min(config.updates)).unwrap_or(usize::MAX);
    if scanned.rows.len() != expected_rows {
        return Err(BenchError::Check(format!(
            "the scan found {} rows, not {expected_rows}",
            scanned.rows.len()
        )));
    }
    Ok(PullReport {
        keys,
        updates: config.updates,
        index_secs,
        lookups: config.lookups,
        lookup_p50_us: percentile(&samples_us, 0.50),
        lookup_p99_us: percentile(&samples_us, 0.99),
        lookup_p999_us: percentile(&samples_us, 0.999),
        scan_ms,
        scan_rows: scanned.rows.len(),
        peak_rss_mb: peak_rss_kib().unwrap_or(0) / 1024,
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lookup_finds_its_key_and_the_scan_every_key() {
        let report = run_pull(&PullConfig {
            keys: 100,
            updates: 1_000,
            lookups: 50,
        })
        .unwrap();
        assert_eq!(report.scan_rows, 100);
        assert!(report.lookup_p50_us <= report.lookup_p999_us);
    }
}
