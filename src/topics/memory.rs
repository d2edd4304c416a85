//! The embedded topic store, held in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{
    ProducerRecord, Record, Result, TopicConfig, TopicDescription, TopicError, TopicStore,
    partition_for_key,
};

#[derive(Debug)]
struct Topic {
    config: TopicConfig,
    partitions: Vec<Log<Record>>,
    /// (partition, offset) of every record, in append order.
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

    fn append(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<(u32, u64)>> {
        let mut topics = self.lock();
        let t = topics
            .get_mut(topic)
            .ok_or_else(|| TopicError::UnknownTopic(topic.to_string()))?;
        let count = t.partitions.len() as u32;
        let mut positions = Vec::with_capacity(records.len());
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
            let log = t.partitions.get_mut(partition as usize).ok_or_else(|| {
                TopicError::UnknownPartition {
                    topic: topic.to_string(),
                    partition,
                }
            })?;
            let offset = log.len() as u64;
            let sequence = self
                .sequence
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            log.push(Record {
                key: r.key.map(bytes::Bytes::from),
                value: r.value.map(bytes::Bytes::from),
                timestamp: r.timestamp,
                headers: r.headers,
                partition,
                offset,
                sequence,
            });
            t.arrival.push((partition, offset));
            positions.push((partition, offset));
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
            .cloned()
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
        let start = (position as usize).min(t.arrival.len());
        let end = start.saturating_add(max).min(t.arrival.len());
        let records = t
            .arrival
            .range(start, end)
            .filter_map(|&(p, o)| t.partitions.get(p as usize)?.get(o as usize).cloned())
            .collect();
        Ok((records, end as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
