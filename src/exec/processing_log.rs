//! The processing log: what queries skipped or nulled, and why.
//!
//! Every task reports bad records and failed expressions here. The log keeps the latest
//! entries up to a bound, so a query that meets a flood of bad input costs a fixed amount of
//! memory, and counts every entry it ever took. Once it is given a topic
//! ([`ProcessingLog::write_to`]) it also writes each entry there as a JSON record in ksqlDB's
//! processing-log schema, so the `KSQL_PROCESSING_LOG` stream can be queried with SQL.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{Value, json};

use super::{ProcessingErrorKind, ProcessingLogEntry};
use crate::topics::{ProducerRecord, TopicStore};

/// How many entries the processing log keeps by default.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The most it may be configured to keep (`ksql.logging.processing.retained.entries`).
pub const MAX_CAPACITY: usize = 1_000_000;

/// A bounded log of the latest entries.
pub struct ProcessingLog {
    capacity: AtomicUsize,
    inner: Mutex<Inner>,
    /// The topic entries are also written to, when the log is a stream.
    topic: RwLock<Option<(Arc<dyn TopicStore>, String)>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<ProcessingLogEntry>,
    total: u64,
}

impl Default for ProcessingLog {
    fn default() -> Self {
        ProcessingLog::new(DEFAULT_CAPACITY)
    }
}

impl ProcessingLog {
    /// A log that keeps the latest `capacity` entries.
    pub fn new(capacity: usize) -> ProcessingLog {
        ProcessingLog {
            capacity: AtomicUsize::new(capacity.clamp(1, MAX_CAPACITY)),
            inner: Mutex::default(),
            topic: RwLock::new(None),
        }
    }

    /// Keeps the latest `capacity` entries from now on (at least one, at most
    /// [`MAX_CAPACITY`]).
    pub fn set_capacity(&self, capacity: usize) {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        self.capacity.store(capacity, Ordering::Relaxed);
        let mut inner = self.inner();
        while inner.entries.len() > capacity {
            inner.entries.pop_front();
        }
    }

    /// Writes every later entry to `topic` too.
    pub fn write_to(&self, store: Arc<dyn TopicStore>, topic: String) {
        *self.topic.write().unwrap_or_else(|e| e.into_inner()) = Some((store, topic));
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a task's entries, dropping the oldest beyond the bound.
    pub fn extend(&self, entries: impl IntoIterator<Item = ProcessingLogEntry>) {
        let topic = self.topic.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut records = Vec::new();
        {
            let capacity = self.capacity.load(Ordering::Relaxed);
            let mut inner = self.inner();
            for entry in entries {
                if topic.is_some() {
                    records.push(record_of(&entry));
                }
                inner.total += 1;
                while inner.entries.len() >= capacity {
                    inner.entries.pop_front();
                }
                inner.entries.push_back(entry);
            }
        }
        if let (Some((store, topic)), false) = (topic, records.is_empty())
            && let Err(e) = store.produce(&topic, records)
        {
            tracing::warn!("cannot write the processing log to {topic}: {e}");
        }
    }

    /// The entries held, oldest first.
    pub fn entries(&self) -> Vec<ProcessingLogEntry> {
        self.inner().entries.iter().cloned().collect()
    }

    /// How many entries were ever logged, those dropped included.
    pub fn total(&self) -> u64 {
        self.inner().total
    }
}

/// An entry as ksqlDB's processing log writes it: `LOGGER`, `LEVEL`, `TIME` and a `MESSAGE`
/// whose `TYPE` says which of its error structs is set.
fn record_of(entry: &ProcessingLogEntry) -> ProducerRecord {
    let now = chrono::Utc::now().timestamp_millis();
    let (kind, deserialization, processing) = match entry.kind {
        ProcessingErrorKind::Deserialization(target) => (
            0,
            json!({"TARGET": target.as_str(), "ERRORMESSAGE": entry.message, "RECORDB64": null,
                   "CAUSE": [], "TOPIC": entry.topic}),
            Value::Null,
        ),
        ProcessingErrorKind::RecordProcessing => (
            1,
            Value::Null,
            json!({"ERRORMESSAGE": entry.message, "RECORD": null, "CAUSE": []}),
        ),
    };
    let value = json!({
        "LOGGER": format!("processing.{}", entry.query_id),
        "LEVEL": "ERROR",
        "TIME": now,
        "MESSAGE": {
            "TYPE": kind,
            "DESERIALIZATIONERROR": deserialization,
            "RECORDPROCESSINGERROR": processing,
            "PRODUCTIONERROR": null,
            "SERIALIZATIONERROR": null,
            "KAFKASTREAMSTHREADERROR": null,
        },
    });
    ProducerRecord {
        key: None,
        value: Some(value.to_string().into_bytes()),
        timestamp: now,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: u64) -> ProcessingLogEntry {
        ProcessingLogEntry {
            query_id: "Q".to_string(),
            kind: super::super::ProcessingErrorKind::Deserialization(
                super::super::decode::Target::Value,
            ),
            message: "bad".to_string(),
            topic: "t".to_string(),
            partition: 0,
            offset,
        }
    }

    #[test]
    fn keeps_the_latest_entries_and_counts_them_all() {
        let log = ProcessingLog::new(3);
        log.extend((0..5).map(entry));
        let offsets: Vec<u64> = log.entries().iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![2, 3, 4]);
        assert_eq!(log.total(), 5);
        // A smaller bound drops the oldest at once; a larger one keeps more from then on.
        log.set_capacity(2);
        let offsets: Vec<u64> = log.entries().iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![3, 4]);
        log.set_capacity(4);
        log.extend((5..8).map(entry));
        let offsets: Vec<u64> = log.entries().iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![4, 5, 6, 7]);
        assert_eq!(log.total(), 8);
    }
}
