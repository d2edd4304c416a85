//! The record cache of a table result, as ksqlDB's (Kafka Streams') record cache behaves.
//!
//! With `cache.max.bytes.buffering` above zero, the updates of a table are held per key (and
//! window) and only the latest of each is written, when the query commits: once every
//! `commit.interval.ms`, or earlier when the cache outgrows its size. Fewer, later updates
//! reach the output topic; none is lost, since the latest state of every key is written.

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use crate::topics::ProducerRecord;

/// ksqlDB's default `commit.interval.ms`.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(2000);

/// Kafka Streams' default `commit.interval.ms` under `processing.guarantee=exactly_once_v2`.
pub const EXACTLY_ONCE_COMMIT_INTERVAL: Duration = Duration::from_millis(100);

/// What the cache counts for an entry besides its key and value bytes.
const ENTRY_OVERHEAD: usize = 64;

/// Pending table updates, the latest per key.
///
/// Updates arrive encoded, so an entry is identified by its key bytes (which carry the window
/// of a windowed key) and costs what it will cost to write, as Kafka Streams counts its cache.
#[derive(Debug)]
pub struct RecordCache {
    max_bytes: usize,
    interval: Duration,
    /// The latest update of each key, with the order of that update.
    held: Vec<(u64, ProducerRecord)>,
    /// Where in `held` each key's update is, found by the key's bytes.
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    bytes: usize,
    updates: u64,
    last_commit: Instant,
}

impl RecordCache {
    pub fn new(max_bytes: usize, interval: Duration) -> RecordCache {
        RecordCache {
            max_bytes,
            interval,
            held: Vec::new(),
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            bytes: 0,
            updates: 0,
            last_commit: Instant::now(),
        }
    }

    /// Holds updates; each replaces the pending update of its key.
    pub fn put(&mut self, records: Vec<ProducerRecord>) {
        for record in records {
            self.updates += 1;
            self.bytes += record_size(&record);
            let (held, hasher) = (&mut self.held, &self.hasher);
            let hash = hasher.hash_one(&record.key);
            let found = self.index.find(hash, |&at| {
                held.get(at as usize)
                    .is_some_and(|(_, h)| h.key == record.key)
            });
            match found.and_then(|&at| held.get_mut(at as usize)) {
                Some((order, old)) => {
                    self.bytes -= record_size(old);
                    *order = self.updates;
                    *old = record;
                }
                None => {
                    let at = held.len() as u32;
                    held.push((self.updates, record));
                    self.index.insert_unique(hash, at, |&at| {
                        held.get(at as usize)
                            .map_or(0, |(_, h)| hasher.hash_one(&h.key))
                    });
                }
            }
        }
    }

    /// Whether the query should commit: the interval has passed or the cache is full.
    pub fn is_due(&self) -> bool {
        !self.held.is_empty()
            && (self.bytes >= self.max_bytes || self.last_commit.elapsed() >= self.interval)
    }

    /// The pending updates, in the order of their last change, leaving the cache empty.
    pub fn take(&mut self) -> Vec<ProducerRecord> {
        self.last_commit = Instant::now();
        self.bytes = 0;
        self.index.clear();
        let mut pending = std::mem::take(&mut self.held);
        pending.sort_unstable_by_key(|(order, _)| *order);
        pending.into_iter().map(|(_, record)| record).collect()
    }
}

/// What a held update costs: its key and value bytes, and the entry around them.
fn record_size(record: &ProducerRecord) -> usize {
    let bytes = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, Vec::len);
    bytes(&record.key) + bytes(&record.value) + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: &str) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            ..Default::default()
        }
    }

    fn values(records: &[ProducerRecord]) -> Vec<(&[u8], &[u8])> {
        records
            .iter()
            .map(|r| {
                (
                    r.key.as_deref().unwrap_or_default(),
                    r.value.as_deref().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn keeps_the_latest_update_per_key_in_order_of_last_change() {
        let mut cache = RecordCache::new(usize::MAX, Duration::from_secs(3600));
        cache.put(vec![record("a", "1"), record("b", "2"), record("a", "3")]);
        assert!(!cache.is_due(), "neither full nor past the interval");
        assert_eq!(
            values(&cache.take()),
            vec![(&b"b"[..], &b"2"[..]), (&b"a"[..], &b"3"[..])]
        );
        assert!(cache.take().is_empty());
    }

    #[test]
    fn commits_when_full_or_when_the_interval_has_passed() {
        let mut full = RecordCache::new(1, Duration::from_secs(3600));
        full.put(vec![record("a", "1")]);
        assert!(full.is_due());
        let mut timed = RecordCache::new(usize::MAX, Duration::ZERO);
        assert!(!timed.is_due(), "nothing to commit");
        timed.put(vec![record("a", "1")]);
        assert!(timed.is_due());
    }
}
