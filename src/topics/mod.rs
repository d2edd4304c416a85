//! Topics: the logs every stream and table lives in, on Kafka's model.
//!
//! [`TopicStore`] is the only way the engine touches a log, and it promises only what Kafka
//! promises: a topic is a set of independent partitions; a produce is acknowledged with each
//! record's partition and offset; a fetch reads one partition from an offset, up to a budget,
//! and tells the partition's high watermark; consumer groups commit offsets per partition.
//! There is no order across partitions: a reader of several partitions (or topics) merges
//! them itself, by record timestamp, as Kafka Streams does (`exec::merge`).
//!
//! [`disk::DiskTopicStore`] keeps topics in segment files under a data directory (the server's
//! default); [`memory::MemoryTopicStore`] holds them in memory (tests, benchmarks,
//! `--in-memory`).

pub mod disk;
pub mod kafka;
pub mod load;
pub mod memory;
pub mod namespace;
pub mod partitioner;
pub mod transaction;

use std::collections::BTreeMap;

use bytes::Bytes;
use thiserror::Error;

pub use disk::{DiskOptions, DiskTopicStore, FlushPolicy};
pub use kafka::{KafkaOptions, KafkaTopicStore};
pub use memory::MemoryTopicStore;
pub use partitioner::{murmur2, partition_for_key};
pub use transaction::Transaction;

/// Errors from a topic store.
#[derive(Debug, Error, PartialEq)]
pub enum TopicError {
    #[error("Topic '{0}' does not exist")]
    UnknownTopic(String),
    #[error("Partition {partition} of topic '{topic}' does not exist")]
    UnknownPartition { topic: String, partition: u32 },
    #[error(
        "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {expected} partitions (topic has {actual})."
    )]
    PartitionMismatch {
        topic: String,
        expected: u32,
        actual: u32,
    },
    #[error("Offset {offset} is out of range for partition {partition} of topic '{topic}'")]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        offset: u64,
    },
    #[error(
        "The message is {size} bytes when serialized which is larger than the maximum record size of {max} bytes"
    )]
    RecordTooLarge { size: usize, max: usize },
    /// The Kafka cluster refused a request or did not answer.
    #[error("Kafka: {0}")]
    Kafka(String),
    /// The log's files could not be read or written (a full disk, a corrupt segment).
    #[error("The log cannot be read or written: {0}")]
    Storage(String),
}

pub type Result<T, E = TopicError> = std::result::Result<T, E>;

/// How many partitions a topic may have unless `ksql.topic.max.partitions` says otherwise: each
/// is a directory of files and a reader's state, so a number from a user must be bounded.
pub const DEFAULT_MAX_PARTITIONS: u32 = 1024;

/// Every consumer group's committed offsets, by (group, topic): each partition's next offset.
pub type CommittedOffsets = BTreeMap<(String, String), BTreeMap<u32, u64>>;

/// The committed offsets a store holds in memory (the on-disk log also writes each commit to
/// its `__consumer_offsets` topic and reads them back from there at start-up).
#[derive(Debug, Default)]
pub struct GroupOffsets(std::sync::Mutex<CommittedOffsets>);

impl GroupOffsets {
    fn lock(&self) -> std::sync::MutexGuard<'_, CommittedOffsets> {
        // Every update is one insert or removal: a poisoned map is still whole.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses offsets for partitions that `topic`, with `partitions` partitions, lacks.
    pub fn check(topic: &str, partitions: usize, offsets: &[(u32, u64)]) -> Result<()> {
        match offsets
            .iter()
            .find(|(p, _)| usize::try_from(*p).map_or(true, |p| p >= partitions))
        {
            Some(&(partition, _)) => Err(TopicError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            }),
            None => Ok(()),
        }
    }

    pub fn commit(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) {
        self.lock()
            .entry((group.to_string(), topic.to_string()))
            .or_default()
            .extend(offsets.iter().copied());
    }

    /// Sets (or, with `None`, removes) one partition's offset, as a record of the offsets
    /// topic says.
    pub fn set(&self, group: String, topic: String, partition: u32, offset: Option<u64>) {
        let mut all = self.lock();
        let entry = all.entry((group, topic)).or_default();
        match offset {
            Some(offset) => entry.insert(partition, offset),
            None => entry.remove(&partition),
        };
    }

    pub fn committed(&self, group: &str, topic: &str) -> BTreeMap<u32, u64> {
        self.lock()
            .get(&(group.to_string(), topic.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn all(&self) -> CommittedOffsets {
        self.lock().clone()
    }

    /// Forgets every group's offsets of a deleted topic; returns what they were.
    pub fn forget_topic(&self, topic: &str) -> CommittedOffsets {
        let mut all = self.lock();
        let (gone, kept) = std::mem::take(&mut *all)
            .into_iter()
            .partition(|((_, t), _)| t == topic);
        *all = kept;
        gone
    }
}

/// A record header: Kafka allows repeated keys and null values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Vec<u8>>,
}

/// A record as a producer hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
    pub headers: Vec<Header>,
    /// An explicit partition; `None` means the default partitioner decides.
    pub partition: Option<u32>,
}

/// A record as it sits in the log. Key and value are shared buffers, so handing a record to a
/// reader copies no bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
    pub headers: Vec<Header>,
    pub partition: u32,
    pub offset: u64,
}

/// Where an acknowledged record was written: its partition and offset.
pub type Position = (u32, u64);

/// What a topic does with old records (`cleanup.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// Records older than the retention limits are deleted.
    #[default]
    Delete,
    /// Only the latest record of each key is kept (changelog topics).
    Compact,
    /// Both: compacted, and deleted past the retention limits.
    CompactDelete,
}

impl CleanupPolicy {
    /// The value as Kafka's topic config writes it.
    pub fn as_config(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
}

/// How a topic is laid out and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub partitions: u32,
    pub replicas: i16,
    pub cleanup_policy: CleanupPolicy,
    /// `retention.ms`: how long records are kept; `None` keeps them forever (Kafka's -1).
    pub retention_ms: Option<u64>,
    /// `retention.bytes`: how many bytes a partition keeps; `None` has no limit.
    pub retention_bytes: Option<u64>,
}

/// Kafka's default `retention.ms`: seven days.
pub const DEFAULT_RETENTION_MS: u64 = 7 * 24 * 60 * 60 * 1000;

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            replicas: 1,
            cleanup_policy: CleanupPolicy::Delete,
            retention_ms: Some(DEFAULT_RETENTION_MS),
            retention_bytes: None,
        }
    }
}

impl TopicConfig {
    /// A topic of `partitions` partitions with the other settings at their defaults.
    pub fn with_partitions(partitions: u32) -> TopicConfig {
        TopicConfig {
            partitions,
            ..TopicConfig::default()
        }
    }

    /// The topic's configs as Kafka's admin API lists them.
    pub fn entries(&self) -> BTreeMap<&'static str, String> {
        let limit = |v: Option<u64>| v.map_or_else(|| "-1".to_string(), |v| v.to_string());
        BTreeMap::from([
            (
                "cleanup.policy",
                self.cleanup_policy.as_config().to_string(),
            ),
            ("retention.ms", limit(self.retention_ms)),
            ("retention.bytes", limit(self.retention_bytes)),
        ])
    }
}

/// A topic's name, layout and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub config: TopicConfig,
    /// The first offset still held, per partition (above zero once retention deleted some).
    pub start_offsets: Vec<u64>,
    /// The high watermark (the next offset) of each partition.
    pub end_offsets: Vec<u64>,
}

/// How much one fetch may return: Kafka's `max.poll.records` and
/// `max.partition.fetch.bytes`. A fetch returns at least one record when there is one, however
/// large, so a reader never stalls on a big record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    pub max_records: usize,
    pub max_bytes: usize,
}

impl FetchLimits {
    /// At most `max_records` records, of any size.
    pub fn records(max_records: usize) -> FetchLimits {
        FetchLimits {
            max_records,
            max_bytes: usize::MAX,
        }
    }
}

/// The answer to a fetch: the records, in offset order, and where the partition ends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fetched {
    pub records: Vec<Record>,
    /// The partition's next offset when the fetch was served; a reader whose position is below
    /// it has more to read.
    pub high_watermark: u64,
}

impl Fetched {
    /// The offset after the last record fetched (`from` when none was).
    pub fn next_offset(&self, from: u64) -> u64 {
        self.records.last().map_or(from, |r| r.offset + 1)
    }
}

/// The log abstraction: topics of independent partitions of records, and consumer groups'
/// committed offsets. Every method is fallible, as a remote log's are.
pub trait TopicStore: Send + Sync {
    /// Creates a topic; creating an existing topic with the same partition count is a no-op.
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()>;
    fn delete_topic(&self, name: &str) -> Result<()>;
    /// The topic's layout and offsets; [`TopicError::UnknownTopic`] when there is none.
    fn describe_topic(&self, name: &str) -> Result<TopicDescription>;
    fn list_topics(&self) -> Result<Vec<TopicDescription>>;
    /// The names of every topic, without describing them (which a remote log pays for per
    /// partition).
    fn topic_names(&self) -> Result<Vec<String>> {
        Ok(self.list_topics()?.into_iter().map(|t| t.name).collect())
    }
    /// Appends records (each to the partition it names, or its key's, or round robin) and
    /// returns each one's position once the append is acknowledged. All or nothing: a record
    /// for a partition that does not exist fails the whole batch.
    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>>;
    /// Appends as [`TopicStore::produce`] does without waiting for the acknowledgement: a task's outputs, made durable together by [`TopicStore::flush`] before the
    /// task commits its input offsets (Kafka's producer `send` and `flush`).
    fn produce_unflushed(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<()> {
        self.produce(topic, records).map(|_| ())
    }
    /// Makes every record produced so far durable.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    /// Reads one partition from `offset` on, within `limits`. An offset below the partition's
    /// start is [`TopicError::OffsetOutOfRange`]; at or past the end, nothing is returned.
    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched>;
    /// The earliest offset of a partition whose record's timestamp is at or after `timestamp`
    /// (Kafka's ListOffsets by time), or `None` when every record is older.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        scan_for_timestamp(self, topic, partition, timestamp)
    }
    /// Writes a transaction's records and commits its offsets as one: no reader sees a part
    /// of it, and a crash in the middle leaves none of it (the store aborts it when it opens
    /// again). Producers to the partitions it writes wait while it commits. Returns the
    /// positions of each of its writes, in order.
    fn commit_transaction(&self, transaction: Transaction) -> Result<Vec<Vec<Position>>>;
    /// Whether [`TopicStore::commit_transaction`] is built on this store.
    fn supports_transactions(&self) -> bool {
        true
    }
    /// Commits a consumer group's next offsets to read, per partition of `topic`.
    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()>;
    /// Every consumer group's committed offsets, by (group, topic), per partition.
    fn group_offsets(&self) -> Result<CommittedOffsets>;
    /// A consumer group's committed offsets for `topic`, by partition (partitions it never
    /// committed are absent).
    fn committed_offsets(&self, group: &str, topic: &str) -> Result<BTreeMap<u32, u64>>;
}

/// A produce split by partition: each record goes to the partition it names, else its key's
/// (murmur2, as Kafka's default partitioner), else the next in turn.
pub(crate) struct Routed {
    /// The records of each partition, in the order produced.
    pub buckets: Vec<Vec<ProducerRecord>>,
    /// Each record's partition, in the order produced.
    assigned: Vec<u32>,
}

impl Routed {
    /// Routes `records` over `count` partitions. A record naming a partition that does not
    /// exist fails the whole produce before anything is written.
    pub fn new(
        topic: &str,
        records: Vec<ProducerRecord>,
        count: u32,
        next_unkeyed: &std::sync::atomic::AtomicU32,
    ) -> Result<Routed> {
        if let Some(partition) = records
            .iter()
            .filter_map(|r| r.partition)
            .find(|p| *p >= count)
        {
            return Err(TopicError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            });
        }
        if count == 1 {
            return Ok(Routed {
                assigned: vec![0; records.len()],
                buckets: vec![records],
            });
        }
        let assigned: Vec<u32> = records
            .iter()
            .map(|r| match (r.partition, &r.key) {
                (Some(p), _) => p,
                (None, Some(key)) => partition_for_key(key, count),
                (None, None) => {
                    next_unkeyed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % count
                }
            })
            .collect();
        let mut buckets: Vec<Vec<ProducerRecord>> = (0..count).map(|_| Vec::new()).collect();
        for (record, &partition) in records.into_iter().zip(&assigned) {
            if let Some(bucket) = buckets.get_mut(partition as usize) {
                bucket.push(record);
            }
        }
        Ok(Routed { buckets, assigned })
    }

    /// Each record's position, given the first offset each partition's batch was written at.
    pub fn positions(assigned: Vec<u32>, first_offsets: &[u64]) -> Vec<Position> {
        let mut next = first_offsets.to_vec();
        assigned
            .into_iter()
            .map(|p| {
                let slot = &mut next[p as usize];
                *slot += 1;
                (p, *slot - 1)
            })
            .collect()
    }

    /// Takes the per-record partitions, leaving the buckets to be written.
    pub fn take_assigned(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.assigned)
    }
}

/// [`TopicStore::offset_for_timestamp`] by reading the partition from its start.
pub fn scan_for_timestamp<S: TopicStore + ?Sized>(
    store: &S,
    topic: &str,
    partition: u32,
    timestamp: i64,
) -> Result<Option<u64>> {
    let start = store
        .describe_topic(topic)?
        .start_offsets
        .get(partition as usize)
        .copied()
        .ok_or_else(|| TopicError::UnknownPartition {
            topic: topic.to_string(),
            partition,
        })?;
    let mut next = start;
    loop {
        let fetched = store.fetch(topic, partition, next, FetchLimits::records(4096))?;
        if let Some(r) = fetched.records.iter().find(|r| r.timestamp >= timestamp) {
            return Ok(Some(r.offset));
        }
        if fetched.records.is_empty() {
            return Ok(None);
        }
        next = fetched.next_offset(next);
    }
}

/// Every record of one partition from `offset` to its end, fetched in chunks.
pub fn fetch_to_end(
    store: &dyn TopicStore,
    topic: &str,
    partition: u32,
    offset: u64,
) -> Result<Vec<Record>> {
    const CHUNK: usize = 4096;
    let mut all = Vec::new();
    let mut next = offset;
    loop {
        let fetched = store.fetch(topic, partition, next, FetchLimits::records(CHUNK))?;
        let done = fetched.records.is_empty();
        next = fetched.next_offset(next);
        all.extend(fetched.records);
        if done || next >= fetched.high_watermark {
            return Ok(all);
        }
    }
}
