//! The record cache of a table result, as ksqlDB's (Kafka Streams') record cache behaves.
//!
//! With `cache.max.bytes.buffering` above zero, the updates of a table are held per key (and
//! window) and only the latest of each is written, when the query commits: once every
//! `commit.interval.ms`, or earlier when the cache outgrows its size. Fewer, later updates
//! reach the output topic; none is lost, since the latest state of every key is written.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use datafusion::common::ScalarValue;

use super::sink::SinkRow;

/// ksqlDB's default `commit.interval.ms`.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(2000);

type CacheKey = (Vec<ScalarValue>, Option<(i64, i64)>);

/// Pending table updates, the latest per key.
#[derive(Debug)]
pub struct RecordCache {
    key_count: usize,
    max_bytes: usize,
    interval: Duration,
    /// The latest update of each key, with the order of that update.
    entries: HashMap<CacheKey, (u64, SinkRow)>,
    bytes: usize,
    updates: u64,
    last_commit: Instant,
}

impl RecordCache {
    pub fn new(key_count: usize, max_bytes: usize, interval: Duration) -> RecordCache {
        RecordCache {
            key_count,
            max_bytes,
            interval,
            entries: HashMap::new(),
            bytes: 0,
            updates: 0,
            last_commit: Instant::now(),
        }
    }

    /// Holds updates; each replaces the pending update of its key.
    pub fn put(&mut self, rows: Vec<SinkRow>) {
        for row in rows {
            let key = row.values[..self.key_count.min(row.values.len())].to_vec();
            let size = row_size(&row);
            self.updates += 1;
            if let Some((_, old)) = self.entries.insert((key, row.window), (self.updates, row)) {
                self.bytes -= row_size(&old);
            }
            self.bytes += size;
        }
    }

    /// Whether the query should commit: the interval has passed or the cache is full.
    pub fn is_due(&self) -> bool {
        !self.entries.is_empty()
            && (self.bytes >= self.max_bytes || self.last_commit.elapsed() >= self.interval)
    }

    /// The pending updates, in the order of their last change, leaving the cache empty.
    pub fn take(&mut self) -> Vec<SinkRow> {
        self.last_commit = Instant::now();
        self.bytes = 0;
        let mut pending: Vec<(u64, SinkRow)> = self.entries.drain().map(|(_, v)| v).collect();
        pending.sort_unstable_by_key(|(order, _)| *order);
        pending.into_iter().map(|(_, row)| row).collect()
    }
}

/// What a held update costs, roughly as the record cache counts it.
fn row_size(row: &SinkRow) -> usize {
    row.values.iter().map(ScalarValue::size).sum::<usize>() + std::mem::size_of::<SinkRow>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, value: i64) -> SinkRow {
        SinkRow {
            values: vec![
                ScalarValue::Utf8(Some(key.to_string())),
                ScalarValue::Int64(Some(value)),
            ],
            tombstone: false,
            null_key: false,
            timestamp: 0,
            headers: Vec::new(),
            window: None,
            position: (0, 0),
        }
    }

    fn values(rows: &[SinkRow]) -> Vec<(String, i64)> {
        rows.iter()
            .map(|r| match (&r.values[0], &r.values[1]) {
                (ScalarValue::Utf8(Some(k)), ScalarValue::Int64(Some(v))) => (k.clone(), *v),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn keeps_the_latest_update_per_key_in_order_of_last_change() {
        let mut cache = RecordCache::new(1, usize::MAX, Duration::from_secs(3600));
        cache.put(vec![row("a", 1), row("b", 2), row("a", 3)]);
        assert!(!cache.is_due(), "neither full nor past the interval");
        assert_eq!(
            values(&cache.take()),
            vec![("b".to_string(), 2), ("a".to_string(), 3)]
        );
        assert!(cache.take().is_empty());
    }

    #[test]
    fn commits_when_full_or_when_the_interval_has_passed() {
        let mut full = RecordCache::new(1, 1, Duration::from_secs(3600));
        full.put(vec![row("a", 1)]);
        assert!(full.is_due());
        let mut timed = RecordCache::new(1, usize::MAX, Duration::ZERO);
        assert!(!timed.is_due(), "nothing to commit");
        timed.put(vec![row("a", 1)]);
        assert!(timed.is_due());
    }
}
