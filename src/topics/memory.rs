//! The embedded topic store, held in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::{
    ProducerRecord, Record, Result, TopicConfig, TopicDescription, TopicError, TopicStore,
    partition_for_key,
};

#[derive(Debug)]
struct Topic {
    config: TopicConfig,
    partitions: Vec<Log<Stored>>,
    /// The buffers that hold the records' keys and values (see [`pack`]).
    arenas: Vec<Bytes>,
    /// (partition, offset) of every record, in append order; kept only when the topic has
    /// several partitions (with one, the arrival order is the partition's).
    arrival: Log<(u32, u64)>,
    /// Round-robin cursor for records without a key.
    next_unkeyed: u32,
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
    topics: Mutex<BTreeMap<String, Topic>>,
    /// The next store-wide sequence number.
    sequence: std::sync::atomic::AtomicU64,
}

impl MemoryTopicStore {
    pub fn new() -> MemoryTopicStore {
        MemoryTopicStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Topic>> {
        // A panic while holding the lock cannot leave a topic half-written (every mutation is a
        // single push), so a poisoned lock is still safe to use.
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn describe(name: &str, topic: &Topic) -> TopicDescription {
    TopicDescription {
        name: name.to_string(),
        config: topic.config.clone(),
        end_offsets: topic.partitions.iter().map(|p| p.len() as u64).collect(),
    }
}

/// The most bytes of keys and values that one shared buffer of an append holds.
const ARENA_BYTES: usize = 1 << 20;

/// A key or value's length when it is absent.
const ABSENT: u32 = u32::MAX;

/// A record as the log keeps it, in 40 bytes: its key and value are a range of one of the
/// topic's arenas, and its partition and offset are where it sits.
#[derive(Debug)]
struct Stored {
    arena: u32,
    /// Where the key starts in the arena; the value follows it.
    start: u32,
    key_len: u32,
    value_len: u32,
    timestamp: i64,
    sequence: u64,
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
            sequence: self.sequence,
        }
    }
}

/// A partition's buffer being filled by an append: its place among the topic's arenas.
struct OpenArena {
    arena: u32,
    bytes: Vec<u8>,
}

impl OpenArena {
    /// Puts the filled buffer in its place among the arenas.
    fn close(self, arenas: &mut [Bytes]) {
        let mut bytes = self.bytes;
        if bytes.capacity() > bytes.len() + bytes.len() / 8 {
            bytes.shrink_to_fit();
        }
        if let Some(slot) = arenas.get_mut(self.arena as usize) {
            *slot = Bytes::from(bytes);
        }
    }
}

impl TopicStore for MemoryTopicStore {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        let mut topics = self.lock();
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
            .map(|_| Log::default())
            .collect();
        topics.insert(
            name.to_string(),
            Topic {
                config,
                partitions,
                arenas: Vec::new(),
                arrival: Log::default(),
                next_unkeyed: 0,
            },
        );
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        self.lock()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))
    }

    fn describe_topic(&self, name: &str) -> Option<TopicDescription> {
        self.lock().get(name).map(|t| describe(name, t))
    }

    fn list_topics(&self) -> Vec<TopicDescription> {
        self.lock().iter().map(|(n, t)| describe(n, t)).collect()
    }

    /// Copies the keys and values into buffers of about a megabyte, one per partition at a
    /// time, and slices each record's out of them: the log then costs one allocation per
    /// megabyte instead of two per record, its bytes lie together, and the tasks that read
    /// different partitions never count references on the same buffer.
    fn append(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<(u32, u64)>> {
        let total = records.len();
        let payload: usize = records
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum();
        let mut topics = self.lock();
        let t = topics
            .get_mut(topic)
            .ok_or_else(|| TopicError::UnknownTopic(topic.to_string()))?;
        let count = t.partitions.len() as u32;
        // Each partition must exist before anything is written, so an append is all or nothing.
        let unknown = records
            .iter()
            .filter_map(|r| r.partition)
            .find(|p| *p >= count);
        if let Some(partition) = unknown {
            return Err(TopicError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            });
        }
        let mut sequence = self
            .sequence
            .fetch_add(total as u64, std::sync::atomic::Ordering::Relaxed);
        let mut positions = Vec::with_capacity(total);
        let mut open: Vec<Option<OpenArena>> = (0..count).map(|_| None).collect();
        let length = |part: &Option<Vec<u8>>| part.as_ref().map_or(ABSENT, |p| p.len() as u32);
        for r in records {
            let partition = match (r.partition, &r.key) {
                (Some(p), _) => p,
                (None, Some(key)) => partition_for_key(key, count),
                (None, None) => {
                    let p = t.next_unkeyed % count;
                    t.next_unkeyed = t.next_unkeyed.wrapping_add(1);
                    p
                }
            };
            let (Some(log), Some(slot)) = (
                t.partitions.get_mut(partition as usize),
                open.get_mut(partition as usize),
            ) else {
                continue;
            };
            let size = r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len);
            if slot
                .as_ref()
                .is_some_and(|a| !a.bytes.is_empty() && a.bytes.len() + size > ARENA_BYTES)
                && let Some(full) = slot.take()
            {
                full.close(&mut t.arenas);
            }
            let arena = slot.get_or_insert_with(|| {
                t.arenas.push(Bytes::new());
                OpenArena {
                    arena: (t.arenas.len() - 1) as u32,
                    bytes: Vec::with_capacity(payload.min(ARENA_BYTES).max(size)),
                }
            });
            let offset = log.len() as u64;
            log.push(Stored {
                arena: arena.arena,
                start: arena.bytes.len() as u32,
                key_len: length(&r.key),
                value_len: length(&r.value),
                timestamp: r.timestamp,
                sequence,
                headers: (!r.headers.is_empty()).then(|| Box::new(r.headers)),
            });
            arena
                .bytes
                .extend_from_slice(r.key.as_deref().unwrap_or_default());
            arena
                .bytes
                .extend_from_slice(r.value.as_deref().unwrap_or_default());
            sequence += 1;
            if count > 1 {
                t.arrival.push((partition, offset));
            }
            positions.push((partition, offset));
        }
        for arena in open.into_iter().flatten() {
            arena.close(&mut t.arenas);
        }
        Ok(positions)
    }

    fn read(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Result<Vec<Record>> {
        let topics = self.lock();
        let t = topics
            .get(topic)
            .ok_or_else(|| TopicError::UnknownTopic(topic.to_string()))?;
        let log =
            t.partitions
                .get(partition as usize)
                .ok_or_else(|| TopicError::UnknownPartition {
                    topic: topic.to_string(),
                    partition,
                })?;
        let start = offset as usize;
        Ok(log
            .range(start, start.saturating_add(max))
            .zip(offset..)
            .map(|(stored, offset)| stored.record(&t.arenas, partition, offset))
            .collect())
    }

    fn read_in_arrival_order(
        &self,
        topic: &str,
        position: u64,
        max: usize,
    ) -> Result<(Vec<Record>, u64)> {
        let topics = self.lock();
        let t = topics
            .get(topic)
            .ok_or_else(|| TopicError::UnknownTopic(topic.to_string()))?;
        if let [log] = &t.partitions[..] {
            let start = (position as usize).min(log.len());
            let end = start.saturating_add(max).min(log.len());
            let records = log
                .range(start, end)
                .zip(start as u64..)
                .map(|(stored, offset)| stored.record(&t.arenas, 0, offset))
                .collect();
            return Ok((records, end as u64));
        }
        let start = (position as usize).min(t.arrival.len());
        let end = start.saturating_add(max).min(t.arrival.len());
        let records = t
            .arrival
            .range(start, end)
            .filter_map(|&(p, o)| {
                let stored = t.partitions.get(p as usize)?.get(o as usize)?;
                Some(stored.record(&t.arenas, p, o))
            })
            .collect();
        Ok((records, end as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_bytes_come_back_exactly_across_shared_buffers() {
        let store = MemoryTopicStore::new();
        store.create_topic("t", TopicConfig::default()).unwrap();
        let big = vec![7u8; ARENA_BYTES - 3];
        let record = |key: Option<&[u8]>, value: Option<&[u8]>, timestamp| ProducerRecord {
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            timestamp,
            ..Default::default()
        };
        let records = vec![
            record(Some(b"k1"), Some(b"v1"), 1),
            record(None, Some(b""), 2),
            record(Some(b""), None, 3),
            record(Some(b"k4"), Some(&big), 4),
            record(Some(b"k5"), Some(b"v5"), 5),
        ];
        store.append("t", records.clone()).unwrap();
        let read = store.read("t", 0, 0, 10).unwrap();
        assert_eq!(read.len(), records.len());
        let (arrived, next) = store.read_in_arrival_order("t", 1, 10).unwrap();
        assert_eq!(next, records.len() as u64);
        assert_eq!(arrived, read[1..]);
        assert_eq!(std::mem::size_of::<Stored>(), 40);
        for (got, want) in read.iter().zip(&records) {
            assert_eq!(got.key.as_deref(), want.key.as_deref());
            assert_eq!(got.value.as_deref(), want.value.as_deref());
            assert_eq!(got.timestamp, want.timestamp);
        }
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

    fn keyed(key: &[u8]) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.to_vec()),
            value: Some(b"v".to_vec()),
            ..Default::default()
        }
    }

    #[test]
    fn keyed_records_follow_murmur2_and_arrival_order_is_kept() {
        let store = MemoryTopicStore::new();
        let config = TopicConfig {
            partitions: 4,
            ..Default::default()
        };
        store.create_topic("t", config).unwrap();
        let positions = store
            .append("t", vec![keyed(b"a"), keyed(b"b"), keyed(b"a")])
            .unwrap();
        assert_eq!(positions[0].0, partition_for_key(b"a", 4));
        assert_eq!(positions[0].0, positions[2].0);
        assert!(positions[2].1 > positions[0].1);
        let (records, next) = store.read_in_arrival_order("t", 1, 10).unwrap();
        assert_eq!(next, 3);
        assert_eq!(records[0].key.as_deref(), Some(&b"b"[..]));
    }

    #[test]
    fn recreating_with_other_partitions_fails() {
        let store = MemoryTopicStore::new();
        store.create_topic("t", TopicConfig::default()).unwrap();
        let more = TopicConfig {
            partitions: 2,
            ..Default::default()
        };
        assert!(store.create_topic("t", more).is_err());
    }
}
