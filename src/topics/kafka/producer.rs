//! Writing to Kafka: one idempotent producer (`acks=all`) for the whole store, whose
//! acknowledgements come back through librdkafka's delivery callback.
//!
//! A [`TopicStore::produce`](crate::topics::TopicStore::produce) waits for the acknowledgement
//! of each of its records, which carries the offset Kafka gave it. A task's outputs are sent
//! without waiting ([`Producer::send_unflushed`]) and made durable together by
//! [`Producer::flush`], which fails if any of them was refused since the last flush.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header as KafkaHeader, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};

use super::broker_error;
use crate::topics::{ProducerRecord, Result, TopicError};

/// How long a record may wait for its acknowledgement (`message.timeout.ms`), and so how long
/// a produce waits before it fails.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The end (the next offset) of each partition as this process's acknowledged writes left it:
/// a reader that has caught up with a partition still has records to read below it.
#[derive(Debug, Default)]
pub struct WrittenEnds(Mutex<HashMap<(String, u32), u64>>);

impl WrittenEnds {
    fn advance(&self, topic: &str, partition: u32, offset: u64) {
        let mut ends = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let end = ends.entry((topic.to_string(), partition)).or_default();
        *end = (*end).max(offset + 1);
    }

    pub fn end(&self, topic: &str, partition: u32) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(topic.to_string(), partition))
            .copied()
            .unwrap_or(0)
    }

    pub fn forget_topic(&self, topic: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(t, _), _| t != topic);
    }
}

/// A record's offset once acknowledged, or why it was refused.
type Acknowledgement = std::result::Result<u64, String>;

/// The acknowledgements a waiting produce collects: how many came, and each record's, by
/// its index.
#[derive(Default)]
struct Batch {
    acknowledged: Mutex<(usize, Vec<Option<Acknowledgement>>)>,
    done: Condvar,
}

/// What a delivery callback reports to.
enum Delivery {
    /// Record `index` of a produce that waits.
    Awaited { batch: Arc<Batch>, index: usize },
    /// A record a later flush makes durable.
    Unflushed,
}

/// The producer's callbacks: acknowledgements to their waiters, the first refusal since the
/// last flush kept for it.
struct Deliveries {
    written: Arc<WrittenEnds>,
    refused: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        let outcome = match result {
            Ok(message) => {
                let partition = u32::try_from(message.partition()).unwrap_or(0);
                let offset = u64::try_from(message.offset()).unwrap_or(0);
                self.written.advance(message.topic(), partition, offset);
                Ok(offset)
            }
            Err((error, _)) => Err(error.to_string()),
        };
        match *delivery {
            Delivery::Awaited { batch, index } => {
                let mut acknowledged = batch.acknowledged.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(slot) = acknowledged.1.get_mut(index) {
                    *slot = Some(outcome);
                    acknowledged.0 += 1;
                }
                batch.done.notify_all();
            }
            Delivery::Unflushed => {
                if let Err(why) = outcome {
                    let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
                    refused.get_or_insert(why);
                }
            }
        }
    }
}

/// The store's producer.
pub struct Producer {
    inner: ThreadedProducer<Deliveries>,
}

impl Producer {
    pub fn new(client: &ClientConfig, written: Arc<WrittenEnds>) -> Result<Producer> {
        let mut config = client.clone();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set(
                "message.timeout.ms",
                DELIVERY_TIMEOUT.as_millis().to_string(),
            )
            // Records name their partition (Kafka's murmur2, chosen by the store); this is
            // librdkafka's name for the same partitioner, should one not.
            .set("partitioner", "murmur2_random");
        let context = Deliveries {
            written,
            refused: Mutex::new(None),
        };
        let inner = config
            .create_with_context(context)
            .map_err(|e| broker_error("cannot create a producer", &e))?;
        Ok(Producer { inner })
    }

    /// Sends records, each to the partition given with it, and waits for every
    /// acknowledgement: their offsets, in order.
    pub fn send(&self, topic: &str, records: Vec<(u32, ProducerRecord)>) -> Result<Vec<u64>> {
        let count = records.len();
        let batch = Arc::new(Batch {
            acknowledged: Mutex::new((0, vec![None; count])),
            done: Condvar::new(),
        });
        for (index, (partition, record)) in records.into_iter().enumerate() {
            let delivery = Delivery::Awaited {
                batch: Arc::clone(&batch),
                index,
            };
            self.enqueue(topic, partition, &record, Box::new(delivery))?;
        }
        let deadline = Instant::now() + DELIVERY_TIMEOUT + Duration::from_secs(5);
        let mut acknowledged = batch.acknowledged.lock().unwrap_or_else(|e| e.into_inner());
        while acknowledged.0 < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TopicError::Kafka(
                    "no acknowledgement from the cluster in time".to_string(),
                ));
            }
            acknowledged = batch
                .done
                .wait_timeout(acknowledged, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        std::mem::take(&mut acknowledged.1)
            .into_iter()
            .map(|outcome| match outcome {
                Some(Ok(offset)) => Ok(offset),
                Some(Err(why)) => Err(TopicError::Kafka(why)),
                None => Err(TopicError::Kafka("a record was not acknowledged".into())),
            })
            .collect()
    }

    /// Sends records without waiting; [`Producer::flush`] waits for them.
    pub fn send_unflushed(&self, topic: &str, records: Vec<(u32, ProducerRecord)>) -> Result<()> {
        for (partition, record) in records {
            self.enqueue(topic, partition, &record, Box::new(Delivery::Unflushed))?;
        }
        Ok(())
    }

    /// Waits until every record sent so far is acknowledged; fails if any was refused since
    /// the last flush.
    pub fn flush(&self) -> Result<()> {
        self.inner
            .flush(DELIVERY_TIMEOUT + Duration::from_secs(5))
            .map_err(|e| broker_error("flushing the producer", &e))?;
        let refused = self
            .inner
            .context()
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match refused {
            Some(why) => Err(TopicError::Kafka(format!("a write was refused: {why}"))),
            None => Ok(()),
        }
    }

    /// Hands one record to librdkafka, waiting while its queue is full.
    fn enqueue(
        &self,
        topic: &str,
        partition: u32,
        record: &ProducerRecord,
        delivery: Box<Delivery>,
    ) -> Result<()> {
        let partition = i32::try_from(partition).map_err(|_| TopicError::UnknownPartition {
            topic: topic.to_string(),
            partition,
        })?;
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for header in &record.headers {
            headers = headers.insert(KafkaHeader {
                key: &header.key,
                value: header.value.as_deref(),
            });
        }
        let mut pending: BaseRecord<'_, [u8], [u8], Box<Delivery>> =
            BaseRecord::with_opaque_to(topic, delivery)
                .partition(partition)
                .timestamp(record.timestamp)
                .headers(headers);
        if let Some(key) = &record.key {
            pending = pending.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            pending = pending.payload(value.as_slice());
        }
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            match self.inner.send(pending) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    pending = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    let size = record.key.as_ref().map_or(0, Vec::len)
                        + record.value.as_ref().map_or(0, Vec::len);
                    return Err(TopicError::RecordTooLarge {
                        size,
                        max: super::MAX_MESSAGE_BYTES,
                    });
                }
                Err((error, _)) => return Err(broker_error("producing", &error)),
            }
        }
    }
}
