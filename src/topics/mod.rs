//! Topics: the logs every stream and table lives in.
//!
//! [`TopicStore`] is the only way the engine touches a log. [`memory::MemoryTopicStore`] is the
//! embedded implementation; it keeps, besides the per-partition logs, the order in which records
//! were appended across partitions, so a single reader can consume a topic in arrival order.

pub mod load;
pub mod memory;
pub mod partitioner;

use bytes::Bytes;
use thiserror::Error;

pub use memory::MemoryTopicStore;
pub use partitioner::{murmur2, partition_for_key};

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
}

pub type Result<T, E = TopicError> = std::result::Result<T, E>;

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
    /// The store-wide order in which records were appended, across topics: readers of
    /// several topics merge on it.
    pub sequence: u64,
}

/// How a topic is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub partitions: u32,
    pub replicas: i16,
    /// `cleanup.policy=compact` for changelog topics.
    pub compacted: bool,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            partitions: 1,
            replicas: 1,
            compacted: false,
        }
    }
}

/// A topic's name, layout and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub config: TopicConfig,
    /// The next offset of each partition.
    pub end_offsets: Vec<u64>,
}

/// The log abstraction: topics of partitions of records.
pub trait TopicStore: Send + Sync {
    /// Creates a topic; creating an existing topic with the same partition count is a no-op.
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()>;
    fn delete_topic(&self, name: &str) -> Result<()>;
    fn describe_topic(&self, name: &str) -> Option<TopicDescription>;
    fn list_topics(&self) -> Vec<TopicDescription>;
    /// Appends records and returns each one's (partition, offset).
    fn append(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<(u32, u64)>>;
    /// Reads up to `max` records of one partition from `offset` on.
    fn read(&self, topic: &str, partition: u32, offset: u64, max: usize) -> Result<Vec<Record>>;
    /// Reads up to `max` records of all partitions, in the order they were appended, starting at
    /// the `position`-th record appended to the topic. Returns the records and the next position.
    fn read_in_arrival_order(
        &self,
        topic: &str,
        position: u64,
        max: usize,
    ) -> Result<(Vec<Record>, u64)>;
}
