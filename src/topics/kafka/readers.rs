//! Reading Kafka partitions from offsets, as [`TopicStore::fetch`](crate::topics::TopicStore)
//! asks: pull-style, one partition at a time, by many readers at different offsets.
//!
//! librdkafka's consumers push: once assigned a partition and an offset they fetch ahead in
//! the background. So the store keeps a pool of single-partition consumers, each positioned
//! where its last fetch ended. A fetch takes the consumer already at its offset (a reader
//! that goes on where it stopped finds its own), else one unused for a while, else a new one,
//! else the least recently used one; a consumer taken for another position is assigned the
//! partition and offset afresh.
//!
//! An assigned consumer keeps asking the cluster for records, several times a second, even
//! when nobody reads them. So a consumer unused for a while lets its partition go, and one
//! that has is the first taken for another position.
//!
//! An empty answer must mean "caught up", or a reader would stop short. A consumer knows it
//! is at the end when librdkafka reports the partition's end (`enable.partition.eof`); until
//! then a fetch waits for records or that report. Records this process wrote are known to
//! exist before the consumer has fetched them (see [`WrittenEnds`]), so a fetch below them
//! waits for them too.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::broker_error;
use super::producer::WrittenEnds;
use crate::topics::{FetchLimits, Fetched, Header, Record, Result, TopicError};

/// How many consumers the pool holds at most (each has its own threads and fetch buffer).
const MAX_READERS: usize = 64;

/// A consumer unused this long lets its partition go, and is taken for another position
/// before a new one is made.
const IDLE_AFTER: Duration = Duration::from_secs(5);

/// How long a fetch waits for a consumer's first records or its end-of-partition report
/// before it answers that there is nothing (a cluster slow to answer).
const FIRST_FETCH_WAIT: Duration = Duration::from_secs(10);

/// A reader's callbacks: the end of a partition is news to the reader, not an error to log.
struct ReaderContext;

impl rdkafka::ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            tracing::warn!("librdkafka: {error}: {reason}");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ReaderContext {}

/// One consumer, assigned one partition.
struct Reader {
    consumer: BaseConsumer<ReaderContext>,
    topic: String,
    partition: u32,
    /// The offset of the next record this consumer hands out.
    next: u64,
    /// Whether the consumer reported the partition's end at `next`, and no record since.
    at_end: bool,
    last_used: Instant,
}

/// The one partition a reader reads, as librdkafka's list.
pub(super) fn one_partition(
    topic: &str,
    partition: u32,
    offset: Offset,
) -> Result<TopicPartitionList> {
    let mut list = TopicPartitionList::new();
    list.add_partition_offset(topic, kafka_partition(topic, partition)?, offset)
        .map_err(|e| broker_error("naming a partition", &e))?;
    Ok(list)
}

impl Reader {
    /// Points the consumer at `offset` of a partition.
    fn assign(&mut self, topic: &str, partition: u32, offset: u64) -> Result<()> {
        let at = i64::try_from(offset).map_err(|_| out_of_range(topic, partition, offset))?;
        let assignment = one_partition(topic, partition, Offset::Offset(at))?;
        self.consumer
            .assign(&assignment)
            .map_err(|e| broker_error("assigning a partition", &e))?;
        self.topic = topic.to_string();
        self.partition = partition;
        self.next = offset;
        self.at_end = false;
        Ok(())
    }

    /// Lets the partition go: the consumer stops fetching it.
    fn release(&mut self) {
        self.topic.clear();
        if let Err(e) = self.consumer.unassign() {
            tracing::debug!("unassigning a reader: {e}");
        }
    }

    /// Takes what the consumer has from `self.next` on, within `limits`.
    fn fetch(&mut self, limits: FetchLimits, written_end: u64) -> Result<Fetched> {
        let mut records = Vec::new();
        let mut bytes = 0usize;
        let started = Instant::now();
        while records.len() < limits.max_records {
            // Wait only while nothing was read yet and records are known to be there (or
            // whether they are is not yet known).
            let must_wait = records.is_empty() && (!self.at_end || self.next < written_end);
            let wait = if must_wait {
                FIRST_FETCH_WAIT.saturating_sub(started.elapsed())
            } else {
                Duration::ZERO
            };
            if must_wait && wait.is_zero() {
                break;
            }
            match self.consumer.poll(wait.min(Duration::from_millis(100))) {
                None if must_wait => continue,
                None => break,
                Some(Ok(message)) => {
                    let (Ok(partition), Ok(offset)) = (
                        u32::try_from(message.partition()),
                        u64::try_from(message.offset()),
                    ) else {
                        continue;
                    };
                    // Left over from before a reassignment.
                    if message.topic() != self.topic
                        || partition != self.partition
                        || offset < self.next
                    {
                        continue;
                    }
                    let record = record(&message, partition, offset);
                    bytes += record.key.as_ref().map_or(0, Bytes::len)
                        + record.value.as_ref().map_or(0, Bytes::len);
                    self.next = offset + 1;
                    self.at_end = false;
                    records.push(record);
                    if bytes >= limits.max_bytes {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    self.at_end = true;
                    if self.next >= written_end {
                        break;
                    }
                }
                Some(Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset,
                ))) => {
                    return Err(out_of_range(&self.topic, self.partition, self.next));
                }
                Some(Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownPartition,
                ))) => return Err(TopicError::UnknownTopic(self.topic.clone())),
                Some(Err(error)) => {
                    tracing::debug!("reading {}/{}: {error}", self.topic, self.partition);
                    if !must_wait {
                        break;
                    }
                }
            }
        }
        let high_watermark = if self.at_end {
            self.next
        } else {
            // More to read, though how much is not known here.
            self.next.saturating_add(1).max(written_end)
        };
        Ok(Fetched {
            records,
            high_watermark,
        })
    }
}

/// The pool of consumers.
pub struct Readers {
    config: ClientConfig,
    pool: Mutex<Vec<Arc<Mutex<Reader>>>>,
    written: Arc<WrittenEnds>,
}

impl Readers {
    pub fn new(client: &ClientConfig, written: Arc<WrittenEnds>) -> Readers {
        let mut config = client.clone();
        config
            // librdkafka's consumer needs a group even when it is only assigned partitions;
            // this one never joins or commits.
            .set("group.id", "_sluice-readers")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "error")
            .set("allow.auto.create.topics", "false")
            .set("fetch.wait.max.ms", "100")
            .set("fetch.max.bytes", "4194304")
            .set("max.partition.fetch.bytes", "1048576")
            .set("queued.max.messages.kbytes", "2048")
            .set("isolation.level", "read_committed");
        Readers {
            config,
            pool: Mutex::new(Vec::new()),
            written,
        }
    }

    pub fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        let reader = self.reader_at(topic, partition, offset)?;
        let mut reader = lock(&reader);
        if reader.topic != topic || reader.partition != partition || reader.next != offset {
            reader.assign(topic, partition, offset)?;
        }
        reader.last_used = Instant::now();
        let written_end = self.written.end(topic, partition);
        let fetched = reader.fetch(limits, written_end);
        if fetched.is_err() {
            // Its position is no longer known.
            reader.topic.clear();
        }
        fetched
    }

    /// Forgets a deleted topic's readers' positions.
    pub fn forget_topic(&self, topic: &str) {
        for reader in lock(&self.pool).iter() {
            if let Ok(mut reader) = reader.try_lock()
                && reader.topic == topic
            {
                reader.release();
            }
        }
    }

    /// The idle reader at `offset` of the partition, else one unused for [`IDLE_AFTER`], else
    /// a new one (while the pool has room), else the idle one least recently used; waits for
    /// one to be idle when none is. Readers unused for [`IDLE_AFTER`] let their partition go.
    fn reader_at(&self, topic: &str, partition: u32, offset: u64) -> Result<Arc<Mutex<Reader>>> {
        loop {
            let mut pool = lock(&self.pool);
            let idle: Vec<&Arc<Mutex<Reader>>> =
                pool.iter().filter(|r| Arc::strong_count(r) == 1).collect();
            for reader in &idle {
                let mut reader = lock(reader);
                if !reader.topic.is_empty() && reader.last_used.elapsed() >= IDLE_AFTER {
                    reader.release();
                }
            }
            if let Some(found) = idle.iter().find(|r| {
                let r = lock(r);
                r.topic == topic && r.partition == partition && r.next == offset
            }) {
                return Ok(Arc::clone(found));
            }
            if let Some(stale) = idle
                .iter()
                .filter(|r| lock(r).last_used.elapsed() >= IDLE_AFTER)
                .min_by_key(|r| lock(r).last_used)
            {
                return Ok(Arc::clone(stale));
            }
            if pool.len() < MAX_READERS {
                let consumer: BaseConsumer<ReaderContext> = self
                    .config
                    .create_with_context(ReaderContext)
                    .map_err(|e| broker_error("cannot create a consumer", &e))?;
                let reader = Arc::new(Mutex::new(Reader {
                    consumer,
                    topic: String::new(),
                    partition: 0,
                    next: 0,
                    at_end: false,
                    last_used: Instant::now(),
                }));
                pool.push(Arc::clone(&reader));
                tracing::debug!(
                    "reader {} of the pool, first for {topic}/{partition} at {offset}",
                    pool.len()
                );
                return Ok(reader);
            }
            if let Some(oldest) = idle.iter().min_by_key(|r| lock(r).last_used) {
                return Ok(Arc::clone(oldest));
            }
            drop(pool);
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A consumed message as the store's record.
fn record(message: &rdkafka::message::BorrowedMessage<'_>, partition: u32, offset: u64) -> Record {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| Header {
                    key: h.key.to_string(),
                    value: h.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        key: message.key().map(Bytes::copy_from_slice),
        value: message.payload().map(Bytes::copy_from_slice),
        timestamp: message.timestamp().to_millis().unwrap_or(0),
        headers,
        partition,
        offset,
    }
}

pub(super) fn kafka_partition(topic: &str, partition: u32) -> Result<i32> {
    i32::try_from(partition).map_err(|_| TopicError::UnknownPartition {
        topic: topic.to_string(),
        partition,
    })
}

fn out_of_range(topic: &str, partition: u32, offset: u64) -> TopicError {
    TopicError::OffsetOutOfRange {
        topic: topic.to_string(),
        partition,
        offset,
    }
}
