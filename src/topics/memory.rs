//! The embedded topic store, held in memory.
//!
//! Each partition is its own log behind its own lock, so producers and readers of different
//! partitions never wait for each other; the topic map is only read-locked on the way in.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use bytes::Bytes;

use super::{
    CommittedOffsets, FetchLimits, Fetched, GroupOffsets, Position, ProducerRecord, Record, Result,
    Routed, TopicConfig, TopicDescription, TopicError, TopicStore, Transaction,
};
use crate::topics::transaction::route_writes;

#[derive(Debug)]
struct Topic {
    config: TopicConfig,
    partitions: Vec<Mutex<Partition>>,
    /// Round-robin cursor for records without a key.
    next_unkeyed: AtomicU32,
}

/// One partition: its records, and the buffers that hold their keys and values (see
/// [`TopicStore::produce`] below).
#[derive(Debug, Default)]
struct Partition {
    records: Log<Stored>,
    arenas: Vec<Bytes>,
}

/// An append-only sequence kept in fixed-size segments: an append never moves what is already
/// there, so a long log grows without the pause of copying it into a larger buffer.
#[derive(Debug)]
struct Log<T> {
    segments: Vec<Vec<T>>,
    len: usize,
}

/// Entries per segment.
const SEGMENT: usize = 16 * 1024;

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log {
            segments: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Log<T> {
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, value: T) {
        match self.segments.last_mut() {
            Some(last) if last.len() < SEGMENT => last.push(value),
            _ => {
                let mut segment = Vec::with_capacity(SEGMENT);
                segment.push(value);
                self.segments.push(segment);
            }
        }
        self.len += 1;
    }

    fn get(&self, index: usize) -> Option<&T> {
        self.segments.get(index / SEGMENT)?.get(index % SEGMENT)
    }

    /// The entries `start..end` (clamped to the log).
    fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &T> {
        let end = end.min(self.len);
        (start.min(end)..end).filter_map(|i| self.get(i))
    }
}

/// Topics kept in memory: fast, and gone with the process.
#[derive(Debug, Default)]
pub struct MemoryTopicStore {
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Committed offsets by (consumer group, topic), per partition.
    groups: GroupOffsets,
}

/// Locks a mutex even if a panicking thread held it: every mutation here is a push of whole
/// records, so what a panic leaves behind is still a consistent log.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryTopicStore {
    pub fn new() -> MemoryTopicStore {
        MemoryTopicStore::default()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))
    }
}

fn describe(name: &str, topic: &Topic) -> TopicDescription {
    TopicDescription {
        name: name.to_string(),
        config: topic.config.clone(),
        start_offsets: vec![0; topic.partitions.len()],
        end_offsets: topic
            .partitions
            .iter()
            .map(|p| lock(p).records.len() as u64)
            .collect(),
    }
}

/// The most bytes of keys and values that one shared buffer of an append holds.
const ARENA_BYTES: usize = 1 << 20;

/// A key or value's length when it is absent.
const ABSENT: u32 = u32::MAX;

/// A record as the log keeps it, in 32 bytes: its key and value are a range of one of the
/// partition's arenas, and its offset is where it sits.
#[derive(Debug)]
struct Stored {
    arena: u32,
    /// Where the key starts in the arena; the value follows it.
    start: u32,
    key_len: u32,
    value_len: u32,
    timestamp: i64,
    /// Boxed around the vector so that a record without headers costs one word.
    #[allow(clippy::box_collection)]
    headers: Option<Box<Vec<super::Header>>>,
}

impl Stored {
    fn record(&self, arenas: &[Bytes], partition: u32, offset: u64) -> Record {
        let arena = arenas.get(self.arena as usize);
        let slice = |start: u32, len: u32| {
            (len != ABSENT).then(|| {
                let (start, len) = (start as usize, len as usize);
                arena.map_or_else(Bytes::new, |a| a.slice(start..start + len))
            })
        };
        let key = slice(self.start, self.key_len);
        let value_start = self.start
            + if self.key_len == ABSENT {
                0
            } else {
                self.key_len
            };
        Record {
            key,
            value: slice(value_start, self.value_len),
            timestamp: self.timestamp,
            headers: self.headers.as_deref().cloned().unwrap_or_default(),
            partition,
            offset,
        }
    }

    /// The bytes of key and value, as a fetch budget counts them.
    fn size(&self) -> usize {
        let len = |l: u32| if l == ABSENT { 0 } else { l as usize };
        len(self.key_len) + len(self.value_len)
    }
}

fn payload(record: &ProducerRecord) -> usize {
    record.key.as_ref().map_or(0, Vec::len) + record.value.as_ref().map_or(0, Vec::len)
}

impl Partition {
    /// Appends records, copying their keys and values into buffers of about a megabyte and
    /// slicing each record's out of them: the log then costs one allocation per megabyte
    /// instead of two per record, and its bytes lie together. Returns the first offset.
    fn append(&mut self, records: Vec<ProducerRecord>) -> u64 {
        let first = self.records.len() as u64;
        let total: usize = records.iter().map(payload).sum();
        let mut open: Option<(u32, Vec<u8>)> = None;
        let length = |part: &Option<Vec<u8>>| part.as_ref().map_or(ABSENT, |p| p.len() as u32);
        for r in records {
            let size = payload(&r);
            if open
                .as_ref()
                .is_some_and(|(_, b)| !b.is_empty() && b.len() + size > ARENA_BYTES)
                && let Some(full) = open.take()
            {
                self.close(full);
            }
            let (arena, bytes) = open.get_or_insert_with(|| {
                self.arenas.push(Bytes::new());
                let capacity = total.min(ARENA_BYTES).max(size);
                ((self.arenas.len() - 1) as u32, Vec::with_capacity(capacity))
            });
            self.records.push(Stored {
                arena: *arena,
                start: bytes.len() as u32,
                key_len: length(&r.key),
                value_len: length(&r.value),
                timestamp: r.timestamp,
                headers: (!r.headers.is_empty()).then(|| Box::new(r.headers)),
            });
            bytes.extend_from_slice(r.key.as_deref().unwrap_or_default());
            bytes.extend_from_slice(r.value.as_deref().unwrap_or_default());
        }
        if let Some(last) = open {
            self.close(last);
        }
        first
    }

    /// Puts a filled buffer in its place among the arenas.
    fn close(&mut self, (arena, mut bytes): (u32, Vec<u8>)) {
        if bytes.capacity() > bytes.len() + bytes.len() / 8 {
            bytes.shrink_to_fit();
        }
        if let Some(slot) = self.arenas.get_mut(arena as usize) {
            *slot = Bytes::from(bytes);
        }
    }
}

impl TopicStore for MemoryTopicStore {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = topics.get(name) {
            if existing.config.partitions != config.partitions {
                return Err(TopicError::PartitionMismatch {
                    topic: name.to_string(),
                    expected: config.partitions,
                    actual: existing.config.partitions,
                });
            }
            return Ok(());
        }
        let partitions = (0..config.partitions.max(1))
            .map(|_| Mutex::default())
            .collect();
        topics.insert(
            name.to_string(),
            Arc::new(Topic {
                config,
                partitions,
                next_unkeyed: AtomicU32::new(0),
            }),
        );
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let removed = self
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        match removed {
            Some(_) => {
                self.groups.forget_topic(name);
                Ok(())
            }
            None => Err(TopicError::UnknownTopic(name.to_string())),
        }
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        Ok(describe(name, &*self.topic(name)?))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        let topics: Vec<(String, Arc<Topic>)> = self
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, t)| (n.clone(), Arc::clone(t)))
            .collect();
        Ok(topics.iter().map(|(n, t)| describe(n, t)).collect())
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        let t = self.topic(topic)?;
        let count = t.partitions.len() as u32;
        let mut routed = Routed::new(topic, records, count, &t.next_unkeyed)?;
        let assigned = routed.take_assigned();
        let firsts: Vec<u64> = routed
            .buckets
            .into_iter()
            .zip(&t.partitions)
            .map(|(bucket, partition)| {
                if bucket.is_empty() {
                    0
                } else {
                    lock(partition).append(bucket)
                }
            })
            .collect();
        Ok(Routed::positions(assigned, &firsts))
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        let t = self.topic(topic)?;
        let log = lock(t.partitions.get(partition as usize).ok_or_else(|| {
            TopicError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            }
        })?);
        let high_watermark = log.records.len() as u64;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(limits.max_records);
        let mut bytes = 0usize;
        let mut records = Vec::with_capacity(end.min(log.records.len()).saturating_sub(start));
        for (stored, offset) in log.records.range(start, end).zip(offset..) {
            bytes += stored.size();
            if bytes > limits.max_bytes && !records.is_empty() {
                break;
            }
            records.push(stored.record(&log.arenas, partition, offset));
        }
        Ok(Fetched {
            records,
            high_watermark,
        })
    }

    fn commit_transaction(&self, transaction: Transaction) -> Result<Vec<Vec<Position>>> {
        let routed = route_writes(
            transaction.writes,
            |name| self.topic(name),
            |t| (t.partitions.len() as u32, &t.next_unkeyed),
        )?;
        for (_, topic, offsets) in &transaction.offsets {
            GroupOffsets::check(topic, self.topic(topic)?.partitions.len(), offsets)?;
        }
        // Every partition written stays locked, taken in one order, until all of it is in.
        let topics: BTreeMap<String, Arc<Topic>> = routed
            .iter()
            .map(|w| (w.name.clone(), Arc::clone(&w.topic)))
            .collect();
        let wanted: std::collections::BTreeSet<(&str, u32)> = routed
            .iter()
            .flat_map(|w| w.partitions().map(move |p| (w.name.as_str(), p)))
            .collect();
        let mut held: BTreeMap<(String, u32), MutexGuard<'_, Partition>> = BTreeMap::new();
        for (name, partition) in wanted {
            if let Some(log) = topics
                .get(name)
                .and_then(|t| t.partitions.get(partition as usize))
            {
                held.insert((name.to_string(), partition), lock(log));
            }
        }
        let mut positions = Vec::with_capacity(routed.len());
        for write in routed {
            let mut firsts = vec![0; write.buckets.len()];
            for (partition, bucket) in write.buckets.into_iter().enumerate() {
                if let Some(log) = held.get_mut(&(write.name.clone(), partition as u32)) {
                    firsts[partition] = log.append(bucket);
                }
            }
            positions.push(Routed::positions(write.assigned, &firsts));
        }
        for (group, topic, offsets) in &transaction.offsets {
            self.groups.commit(group, topic, offsets);
        }
        Ok(positions)
    }

    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()> {
        GroupOffsets::check(topic, self.topic(topic)?.partitions.len(), offsets)?;
        self.groups.commit(group, topic, offsets);
        Ok(())
    }

    fn group_offsets(&self) -> Result<CommittedOffsets> {
        Ok(self.groups.all())
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<BTreeMap<u32, u64>> {
        Ok(self.groups.committed(group, topic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::{fetch_to_end, partition_for_key};

    fn record(key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) -> ProducerRecord {
        ProducerRecord {
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            timestamp,
            ..Default::default()
        }
    }

    #[test]
    fn produced_bytes_come_back_exactly_across_shared_buffers() {
        let store = MemoryTopicStore::new();
        store.create_topic("t", TopicConfig::default()).unwrap();
        let big = vec![7u8; ARENA_BYTES - 3];
        let records = vec![
            record(Some(b"k1"), Some(b"v1"), 1),
            record(None, Some(b""), 2),
            record(Some(b""), None, 3),
            record(Some(b"k4"), Some(&big), 4),
            record(Some(b"k5"), Some(b"v5"), 5),
        ];
        let positions = store.produce("t", records.clone()).unwrap();
        assert_eq!(positions, vec![(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]);
        let read = fetch_to_end(&store, "t", 0, 0).unwrap();
        assert_eq!(read.len(), records.len());
        let tail = store.fetch("t", 0, 1, FetchLimits::records(10)).unwrap();
        assert_eq!(tail.records, read[1..]);
        assert_eq!(tail.high_watermark, records.len() as u64);
        assert_eq!(std::mem::size_of::<Stored>(), 32);
        for (got, want) in read.iter().zip(&records) {
            assert_eq!(got.key.as_deref(), want.key.as_deref());
            assert_eq!(got.value.as_deref(), want.value.as_deref());
            assert_eq!(got.timestamp, want.timestamp);
        }
    }

    #[test]
    fn a_fetch_stops_at_its_byte_budget_but_returns_at_least_one_record() {
        let store = MemoryTopicStore::new();
        store.create_topic("t", TopicConfig::default()).unwrap();
        let value = [1u8; 100];
        let records = (0..10).map(|i| record(None, Some(&value), i)).collect();
        store.produce("t", records).unwrap();
        let limits = |max_bytes| FetchLimits {
            max_records: 100,
            max_bytes,
        };
        let fetched = store.fetch("t", 0, 2, limits(350)).unwrap();
        assert_eq!(fetched.records.len(), 3);
        assert_eq!(fetched.records[0].offset, 2);
        assert_eq!(fetched.next_offset(2), 5);
        assert_eq!(store.fetch("t", 0, 0, limits(10)).unwrap().records.len(), 1);
        let past = store.fetch("t", 0, 10, limits(1000)).unwrap();
        assert!(past.records.is_empty());
        assert_eq!(past.high_watermark, 10);
    }

    #[test]
    fn a_log_reads_across_its_segments() {
        let mut log = Log::default();
        for i in 0..(2 * SEGMENT + 5) {
            log.push(i);
        }
        assert_eq!(log.len(), 2 * SEGMENT + 5);
        assert_eq!(log.get(SEGMENT), Some(&SEGMENT));
        assert_eq!(log.get(2 * SEGMENT + 5), None);
        let around: Vec<usize> = log.range(SEGMENT - 2, SEGMENT + 2).copied().collect();
        assert_eq!(around, vec![SEGMENT - 2, SEGMENT - 1, SEGMENT, SEGMENT + 1]);
        assert_eq!(log.range(2 * SEGMENT + 3, usize::MAX).count(), 2);
        assert_eq!(log.range(10, 5).count(), 0);
    }

    #[test]
    fn keyed_records_follow_murmur2_and_each_partition_keeps_its_order() {
        let store = MemoryTopicStore::new();
        store
            .create_topic("t", TopicConfig::with_partitions(4))
            .unwrap();
        let keyed = |k: &[u8], ts| record(Some(k), Some(b"v"), ts);
        let a = partition_for_key(b"a", 4);
        let other = [b"b", b"c", b"d", b"e"]
            .into_iter()
            .find(|k| partition_for_key(*k, 4) != a)
            .unwrap();
        let positions = store
            .produce("t", vec![keyed(b"a", 1), keyed(other, 2), keyed(b"a", 3)])
            .unwrap();
        assert_eq!(positions[0], (a, 0));
        assert_eq!(positions[2], (a, 1));
        assert_eq!(positions[1], (partition_for_key(other, 4), 0));
        let records = fetch_to_end(&store, "t", a, 0).unwrap();
        let stamps: Vec<i64> = records.iter().map(|r| r.timestamp).collect();
        assert_eq!(stamps, vec![1, 3]);
        let described = store.describe_topic("t").unwrap();
        assert_eq!(described.end_offsets.iter().sum::<u64>(), 3);
        let bad = ProducerRecord {
            partition: Some(4),
            ..keyed(b"c", 4)
        };
        assert!(store.produce("t", vec![keyed(b"c", 4), bad]).is_err());
        assert_eq!(store.describe_topic("t").unwrap(), described);
    }

    #[test]
    fn groups_commit_offsets_per_partition() {
        let store = MemoryTopicStore::new();
        store
            .create_topic("t", TopicConfig::with_partitions(2))
            .unwrap();
        assert!(store.committed_offsets("g", "t").unwrap().is_empty());
        store.commit_offsets("g", "t", &[(0, 5), (1, 7)]).unwrap();
        store.commit_offsets("g", "t", &[(1, 9)]).unwrap();
        let committed = store.committed_offsets("g", "t").unwrap();
        assert_eq!(committed, BTreeMap::from([(0, 5), (1, 9)]));
        assert!(store.committed_offsets("other", "t").unwrap().is_empty());
        assert!(store.commit_offsets("g", "t", &[(2, 1)]).is_err());
        store.delete_topic("t").unwrap();
        assert!(store.committed_offsets("g", "t").unwrap().is_empty());
    }

    #[test]
    fn recreating_with_other_partitions_fails_and_unknown_topics_are_errors() {
        let store = MemoryTopicStore::new();
        store.create_topic("t", TopicConfig::default()).unwrap();
        assert!(
            store
                .create_topic("t", TopicConfig::with_partitions(2))
                .is_err()
        );
        assert_eq!(
            store.describe_topic("nope"),
            Err(TopicError::UnknownTopic("nope".to_string()))
        );
        assert!(store.fetch("t", 1, 0, FetchLimits::records(1)).is_err());
    }
}
