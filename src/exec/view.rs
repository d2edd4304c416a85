//! Materialized views: a table's current rows, indexed by key, for pull queries.
//!
//! A table is the changelog in its topic: the latest record of each key, without the keys a
//! tombstone deleted. A view follows the topic, one index per partition, each mapping a key to
//! the offset of its latest record, so a pull query by key costs a hash lookup and a fetch of
//! one record, whatever the length of the history. The views are stepped by the runtime's
//! stream threads like tasks, and a pull query reads what they have indexed so far, as ksqlDB's
//! pull queries read their state stores.
//!
//! A windowed table's key ends with its window (the window start, after the window end for
//! session windows); the index also maps each plain key to the windows it has, so a lookup by
//! key finds all of them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, TryLockError};

use bytes::Bytes;
use smallvec::SmallVec;

use super::ExecError;
use super::tasks::BATCH_SIZE;
use crate::topics::{FetchLimits, Record, TopicStore};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The current rows of one table topic.
pub struct MaterializedView {
    pub topic: String,
    /// How many bytes at the end of a key hold its window (0: not windowed).
    window_bytes: usize,
    partitions: Vec<Mutex<PartitionIndex>>,
}

/// One partition's keys and where their latest records are.
#[derive(Default)]
struct PartitionIndex {
    /// The next offset to index.
    next_offset: u64,
    /// The offset of each key's latest record (the whole key, window included).
    latest: Map<Bytes, u64>,
    /// For a windowed table: the whole keys of each plain key.
    windows: Map<Bytes, SmallVec<[Bytes; 2]>>,
}

impl PartitionIndex {
    fn apply(&mut self, record: &Record, window_bytes: usize) {
        let Some(key) = &record.key else {
            // A table has no row for a record without a key.
            return;
        };
        let plain = (window_bytes > 0 && key.len() >= window_bytes)
            .then(|| key.slice(..key.len() - window_bytes));
        match &record.value {
            Some(_) => {
                let new = self.latest.insert(key.clone(), record.offset).is_none();
                if let (true, Some(plain)) = (new, plain) {
                    self.windows.entry(plain).or_default().push(key.clone());
                }
            }
            None => {
                if self.latest.remove(key).is_some()
                    && let Some(plain) = plain
                    && let Some(windows) = self.windows.get_mut(&plain)
                {
                    windows.retain(|w| w != key);
                    if windows.is_empty() {
                        self.windows.remove(&plain);
                    }
                }
            }
        }
    }
}

fn lock(index: &Mutex<PartitionIndex>) -> MutexGuard<'_, PartitionIndex> {
    index.lock().unwrap_or_else(|e| e.into_inner())
}

impl MaterializedView {
    /// A view of `topic` (of `partitions` partitions) from its first record; `window_bytes`
    /// is the length of a key's window suffix (0 for an unwindowed table).
    pub fn new(topic: String, partitions: u32, window_bytes: usize) -> MaterializedView {
        MaterializedView {
            topic,
            window_bytes,
            partitions: (0..partitions.max(1)).map(|_| Mutex::default()).collect(),
        }
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// Indexes the next records of `partition`, waiting for it if another thread is indexing
    /// it. Returns how many records it indexed.
    pub fn step(&self, store: &dyn TopicStore, partition: usize) -> Result<usize, ExecError> {
        match self.partitions.get(partition) {
            Some(index) => self.index_next(store, partition, &mut lock(index)),
            None => Ok(0),
        }
    }

    /// As [`MaterializedView::step`], unless another thread holds the partition (`None`).
    pub fn try_step(
        &self,
        store: &dyn TopicStore,
        partition: usize,
    ) -> Option<Result<usize, ExecError>> {
        let mut index = match self.partitions.get(partition)?.try_lock() {
            Ok(index) => index,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(self.index_next(store, partition, &mut index))
    }

    fn index_next(
        &self,
        store: &dyn TopicStore,
        partition: usize,
        index: &mut PartitionIndex,
    ) -> Result<usize, ExecError> {
        let partition = u32::try_from(partition).map_err(ExecError::internal)?;
        let fetched = store.fetch(
            &self.topic,
            partition,
            index.next_offset,
            FetchLimits::records(BATCH_SIZE),
        )?;
        for record in &fetched.records {
            index.apply(record, self.window_bytes);
        }
        index.next_offset = fetched.next_offset(index.next_offset);
        Ok(fetched.records.len())
    }

    /// Indexes every partition up to where it ends now (records produced meanwhile are left
    /// to the stream threads, so a busy topic cannot hold a reader here).
    pub fn catch_up(&self, store: &dyn TopicStore) -> Result<(), ExecError> {
        let ends = store.describe_topic(&self.topic)?.end_offsets;
        for (partition, (index, end)) in self.partitions.iter().zip(ends).enumerate() {
            let mut index = lock(index);
            while index.next_offset < end && self.index_next(store, partition, &mut index)? > 0 {}
        }
        Ok(())
    }

    /// Where the latest records of the given (plain) keys are (each with all its windows), or
    /// of every key when `keys` is `None`: their offsets, partition by partition and in key
    /// order within each, as a state store iterates.
    pub fn positions(&self, keys: Option<&[Vec<u8>]>) -> VecDeque<(u32, VecDeque<u64>)> {
        let mut all = VecDeque::with_capacity(self.partitions.len());
        for (partition, index) in (0u32..).zip(&self.partitions) {
            let mut found: Vec<(Bytes, u64)> = {
                let index = lock(index);
                match keys {
                    Some(keys) => self.find(&index, keys),
                    None => index
                        .latest
                        .iter()
                        .map(|(k, &offset)| (k.clone(), offset))
                        .collect(),
                }
            };
            found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            found.dedup_by(|a, b| a.0 == b.0);
            if !found.is_empty() {
                all.push_back((partition, found.into_iter().map(|(_, o)| o).collect()));
            }
        }
        all
    }

    /// The whole keys, and their offsets, of the given plain keys in one partition.
    fn find(&self, index: &PartitionIndex, keys: &[Vec<u8>]) -> Vec<(Bytes, u64)> {
        let mut found = Vec::new();
        for key in keys {
            if self.window_bytes == 0 {
                if let Some((k, &offset)) = index.latest.get_key_value(key.as_slice()) {
                    found.push((k.clone(), offset));
                }
            } else if let Some(windows) = index.windows.get(key.as_slice()) {
                found.extend(
                    windows
                        .iter()
                        .filter_map(|w| Some((w.clone(), *index.latest.get(w)?))),
                );
            }
        }
        found
    }

    /// The latest records of the given (plain) keys, or of every key, in [`positions`] order.
    ///
    /// [`positions`]: MaterializedView::positions
    pub fn records(
        &self,
        store: &dyn TopicStore,
        keys: Option<&[Vec<u8>]>,
    ) -> Result<Vec<Record>, ExecError> {
        let mut records = Vec::new();
        for (partition, offsets) in self.positions(keys) {
            for offset in offsets {
                let fetched =
                    store.fetch(&self.topic, partition, offset, FetchLimits::records(1))?;
                records.extend(fetched.records);
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::{MemoryTopicStore, ProducerRecord, TopicConfig};

    fn record(key: &[u8], value: Option<&[u8]>) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.to_vec()),
            value: value.map(<[u8]>::to_vec),
            ..Default::default()
        }
    }

    fn values(records: &[Record]) -> Vec<&[u8]> {
        records
            .iter()
            .map(|r| r.value.as_deref().unwrap_or_default())
            .collect()
    }

    #[test]
    fn a_view_keeps_the_latest_record_of_each_key_and_forgets_deleted_keys() {
        let store = MemoryTopicStore::new();
        store
            .create_topic("t", TopicConfig::with_partitions(3))
            .unwrap();
        let view = MaterializedView::new("t".to_string(), 3, 0);
        store
            .produce(
                "t",
                vec![
                    record(b"a", Some(b"1")),
                    record(b"b", Some(b"2")),
                    record(b"a", Some(b"3")),
                    record(b"c", Some(b"4")),
                    record(b"c", None),
                ],
            )
            .unwrap();
        view.catch_up(&store).unwrap();
        let found = view
            .records(&store, Some(&[b"a".to_vec(), b"c".to_vec()]))
            .unwrap();
        assert_eq!(values(&found), vec![&b"3"[..]]);
        let scanned = view.records(&store, None).unwrap();
        let mut all = values(&scanned);
        all.sort();
        assert_eq!(all, vec![&b"2"[..], &b"3"[..]]);
    }

    #[test]
    fn a_windowed_key_is_found_in_every_window() {
        let store = MemoryTopicStore::new();
        store.create_topic("w", TopicConfig::default()).unwrap();
        let view = MaterializedView::new("w".to_string(), 1, 8);
        let windowed = |key: &[u8], start: i64| {
            let mut k = key.to_vec();
            k.extend_from_slice(&start.to_be_bytes());
            k
        };
        store
            .produce(
                "w",
                vec![
                    record(&windowed(b"k", 0), Some(b"1")),
                    record(&windowed(b"k", 10), Some(b"2")),
                    record(&windowed(b"x", 0), Some(b"3")),
                    record(&windowed(b"k", 0), Some(b"4")),
                    record(&windowed(b"k", 10), None),
                ],
            )
            .unwrap();
        view.catch_up(&store).unwrap();
        let found = view.records(&store, Some(&[b"k".to_vec()])).unwrap();
        assert_eq!(values(&found), vec![&b"4"[..]]);
        assert_eq!(view.records(&store, None).unwrap().len(), 2);
    }
}
