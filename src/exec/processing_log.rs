//! The processing log: what queries skipped or nulled, and why.
//!
//! Every task reports bad records and failed expressions here. The log keeps the latest
//! entries up to a bound, so a query that meets a flood of bad input costs a fixed amount of
//! memory, and counts every entry it ever took.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::ProcessingLogEntry;

/// How many entries the processing log keeps by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A bounded log of the latest entries.
#[derive(Debug)]
pub struct ProcessingLog {
    capacity: usize,
    inner: Mutex<Inner>,
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
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a task's entries, dropping the oldest beyond the bound.
    pub fn extend(&self, entries: impl IntoIterator<Item = ProcessingLogEntry>) {
        let mut inner = self.inner();
        for entry in entries {
            inner.total += 1;
            if inner.entries.len() == self.capacity {
                inner.entries.pop_front();
            }
            inner.entries.push_back(entry);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: u64) -> ProcessingLogEntry {
        ProcessingLogEntry {
            query_id: "Q".to_string(),
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
    }
}
