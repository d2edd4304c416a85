//! Topics on a Kafka cluster (`--bootstrap-servers`), through librdkafka.
//!
//! The store keeps Kafka's own semantics and adds nothing to the data: topics are created
//! with the partitions, replication factor and configs asked for; records are produced by an
//! idempotent producer with `acks=all`, each to the partition Sluice chose with Kafka's Java
//! default partitioner (murmur2 of the key), so data lands where ksqlDB would put it; headers
//! and timestamps go through both ways; consumer groups' offsets are Kafka's committed
//! offsets, committed by the caller once what they depend on is acknowledged.
//!
//! What the store does not do: transactions (`processing.guarantee=exactly_once_v2` is
//! refused on Kafka), and listing the offsets of groups it never committed or read.

pub mod client_settings;
mod group;
mod producer;
mod readers;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

use self::group::Groups;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

use self::producer::{Producer, WrittenEnds};
use self::readers::{Readers, kafka_partition};
use super::{
    CleanupPolicy, CommittedOffsets, FetchLimits, Fetched, GroupOffsets, Position, ProducerRecord,
    Result, Routed, TopicConfig, TopicDescription, TopicError, TopicStore, Transaction,
    scan_for_timestamp,
};

/// How long an admin or metadata request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest record the producer sends (librdkafka's and Kafka's default `message.max.bytes`).
pub const MAX_MESSAGE_BYTES: usize = 1_000_000;

/// How to reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOptions {
    pub bootstrap_servers: String,
    /// librdkafka client properties passed through (security.protocol, sasl.*, ssl.*, …).
    pub client: BTreeMap<String, String>,
    /// Whether dropping a topic deletes it on the cluster (Kafka's broker setting of the same
    /// name, `delete.topic.enable`): off, a deleted topic is only forgotten.
    pub delete_topics: bool,
}

impl KafkaOptions {
    pub fn new(bootstrap_servers: impl Into<String>) -> KafkaOptions {
        KafkaOptions {
            bootstrap_servers: bootstrap_servers.into(),
            client: BTreeMap::new(),
            delete_topics: true,
        }
    }
}

/// A topic store on a Kafka cluster.
pub struct KafkaTopicStore {
    options: KafkaOptions,
    client: ClientConfig,
    admin: AdminClient<DefaultClientContext>,
    /// Metadata, watermarks and offsets by time, through a consumer that is assigned nothing.
    meta: BaseConsumer,
    producer: Producer,
    readers: Readers,
    written: Arc<WrittenEnds>,
    /// Partition counts of the topics used so far (a topic's count only grows in Kafka, and
    /// Sluice never grows it).
    layouts: RwLock<HashMap<String, Arc<Layout>>>,
    /// The configs this store created topics with (a cluster that does not describe its
    /// topics' configs is then still answered right for them).
    configs: RwLock<HashMap<String, TopicConfig>>,
    /// One consumer per group, to commit and read its offsets.
    groups: Arc<Groups>,
    /// The offsets of every group this store committed or read.
    known: GroupOffsets,
}

struct Layout {
    partitions: u32,
    next_unkeyed: AtomicU32,
}

/// A Kafka error as the store's: where it happened, and what the cluster said.
fn broker_error(doing: &str, error: &KafkaError) -> TopicError {
    TopicError::Kafka(format!("{doing}: {error}"))
}

/// Keeps what librdkafka last said of a failed connection, to say why the cluster was not
/// reached.
#[derive(Default)]
struct ProbeContext {
    last_failure: Mutex<Option<String>>,
}

impl rdkafka::ClientContext for ProbeContext {
    fn log(&self, _level: RDKafkaLogLevel, facility: &str, message: &str) {
        if facility == "FAIL" {
            *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(message.to_string());
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ProbeContext {}

/// Waits until the cluster answers a metadata request, for at most the request timeout; fails
/// at once when it refuses the credentials (retrying would not change its answer).
fn probe(config: &ClientConfig, servers: &str) -> Result<()> {
    let consumer: BaseConsumer<ProbeContext> = config
        .create_with_context(ProbeContext::default())
        .map_err(|e| broker_error("cannot create a consumer", &e))?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let why = |consumer: &BaseConsumer<ProbeContext>, fallback: String| {
        let last = consumer.context().last_failure.lock();
        last.unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or(fallback)
    };
    loop {
        let error = match consumer.fetch_metadata(None, Duration::from_secs(1)) {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        while let Some(event) = consumer.poll(Duration::ZERO) {
            if let Err(refused) = event
                && refused.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication)
            {
                return Err(TopicError::Kafka(format!(
                    "cannot reach Kafka at {servers}: the cluster refused the credentials (sasl.mechanism, sasl.jaas.config): {}",
                    why(&consumer, refused.to_string())
                )));
            }
        }
        if Instant::now() >= deadline {
            return Err(TopicError::Kafka(format!(
                "cannot reach Kafka at {servers}: {}",
                why(&consumer, error.to_string())
            )));
        }
    }
}

impl KafkaTopicStore {
    /// Connects to the cluster; fails when it does not answer within the request timeout.
    pub fn connect(options: KafkaOptions) -> Result<KafkaTopicStore> {
        let mut client = ClientConfig::new();
        client.set("bootstrap.servers", &options.bootstrap_servers);
        for (key, value) in &options.client {
            client.set(key, value);
        }
        let admin: AdminClient<DefaultClientContext> = client
            .create()
            .map_err(|e| broker_error("cannot create an admin client", &e))?;
        let mut meta_config = client.clone();
        meta_config.set("allow.auto.create.topics", "false");
        probe(&meta_config, &options.bootstrap_servers)?;
        let meta: BaseConsumer = meta_config
            .create()
            .map_err(|e| broker_error("cannot create a consumer", &e))?;
        let written = Arc::new(WrittenEnds::default());
        let producer = Producer::new(&client, Arc::clone(&written))?;
        let readers = Readers::new(&client, Arc::clone(&written));
        Ok(KafkaTopicStore {
            options,
            client,
            admin,
            meta,
            producer,
            readers,
            written,
            layouts: RwLock::default(),
            configs: RwLock::default(),
            groups: Arc::default(),
            known: GroupOffsets::default(),
        })
    }

    /// The bootstrap servers this store connects to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.options.bootstrap_servers
    }

    /// The topic's partition count, from the cluster's metadata the first time.
    fn layout(&self, topic: &str) -> Result<Arc<Layout>> {
        if let Some(layout) = self
            .layouts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
        {
            return Ok(Arc::clone(layout));
        }
        let partitions = self.partition_count(topic)?;
        let layout = Arc::new(Layout {
            partitions,
            next_unkeyed: AtomicU32::new(0),
        });
        self.layouts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(topic.to_string(), Arc::clone(&layout));
        Ok(layout)
    }

    /// The topic's partition count as the cluster says now.
    fn partition_count(&self, topic: &str) -> Result<u32> {
        let metadata = self
            .meta
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| broker_error("reading the cluster's metadata", &e))?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(TopicError::UnknownTopic(topic.to_string()));
        };
        match found.error() {
            None if !found.partitions().is_empty() => {
                Ok(u32::try_from(found.partitions().len()).unwrap_or(u32::MAX))
            }
            _ => Err(TopicError::UnknownTopic(topic.to_string())),
        }
    }

    fn forget(&self, topic: &str) {
        self.layouts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(topic);
        self.configs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(topic);
        self.known.forget_topic(topic);
        self.written.forget_topic(topic);
        self.readers.forget_topic(topic);
    }

    /// The topic's configs: as described by the cluster, else as this store created it, else
    /// Kafka's defaults.
    fn config(&self, topic: &str, partitions: u32) -> TopicConfig {
        let mut config = self
            .configs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned()
            .unwrap_or_default();
        config.partitions = partitions;
        let described = futures_executor::block_on(self.admin.describe_configs(
            [&ResourceSpecifier::Topic(topic)],
            &AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT)),
        ));
        let Ok(Some(Ok(resource))) = described.map(|mut all| all.pop()) else {
            return config;
        };
        let value = |name: &str| resource.get(name).and_then(|e| e.value.clone());
        match value("cleanup.policy").as_deref().map(str::trim) {
            Some("compact") => config.cleanup_policy = CleanupPolicy::Compact,
            Some("delete") => config.cleanup_policy = CleanupPolicy::Delete,
            Some("compact,delete" | "delete,compact") => {
                config.cleanup_policy = CleanupPolicy::CompactDelete;
            }
            _ => {}
        }
        let limit = |name: &str| {
            value(name)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .map(|v| u64::try_from(v).ok())
        };
        if let Some(ms) = limit("retention.ms") {
            config.retention_ms = ms;
        }
        if let Some(bytes) = limit("retention.bytes") {
            config.retention_bytes = bytes;
        }
        config
    }

    /// The first and next offsets of each partition.
    fn watermarks(&self, topic: &str, partitions: u32) -> Result<(Vec<u64>, Vec<u64>)> {
        let mut starts = Vec::with_capacity(partitions as usize);
        let mut ends = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            let (low, high) = self
                .meta
                .fetch_watermarks(topic, kafka_partition(topic, partition)?, REQUEST_TIMEOUT)
                .map_err(|e| match e {
                    KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                        TopicError::UnknownTopic(topic.to_string())
                    }
                    other => broker_error("reading a partition's offsets", &other),
                })?;
            starts.push(u64::try_from(low).unwrap_or(0));
            // What this process wrote is there, whatever an older answer says.
            ends.push(
                u64::try_from(high)
                    .unwrap_or(0)
                    .max(self.written.end(topic, partition)),
            );
        }
        Ok((starts, ends))
    }

    fn describe(&self, topic: &str, partitions: u32) -> Result<TopicDescription> {
        let (start_offsets, end_offsets) = self.watermarks(topic, partitions)?;
        Ok(TopicDescription {
            name: topic.to_string(),
            config: self.config(topic, partitions),
            start_offsets,
            end_offsets,
        })
    }

    /// Records routed to partitions, each with its partition, in the order given.
    fn route(
        &self,
        topic: &str,
        records: Vec<ProducerRecord>,
    ) -> Result<Vec<(u32, ProducerRecord)>> {
        let layout = self.layout(topic)?;
        let mut routed = Routed::new(topic, records, layout.partitions, &layout.next_unkeyed)?;
        let assigned = routed.take_assigned();
        let mut buckets: Vec<std::vec::IntoIter<ProducerRecord>> =
            routed.buckets.into_iter().map(Vec::into_iter).collect();
        Ok(assigned
            .into_iter()
            .filter_map(|p| Some((p, buckets.get_mut(p as usize)?.next()?)))
            .collect())
    }
}

impl TopicStore for KafkaTopicStore {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        match self.partition_count(name) {
            Ok(actual) if actual != config.partitions => {
                return Err(TopicError::PartitionMismatch {
                    topic: name.to_string(),
                    expected: config.partitions,
                    actual,
                });
            }
            Ok(_) => return Ok(()),
            Err(TopicError::UnknownTopic(_)) => {}
            Err(other) => return Err(other),
        }
        let entries = config.entries();
        let partitions = i32::try_from(config.partitions).map_err(|_| {
            TopicError::Kafka(format!("{} partitions are too many", config.partitions))
        })?;
        let mut topic = NewTopic::new(
            name,
            partitions,
            TopicReplication::Fixed(i32::from(config.replicas.max(1))),
        );
        for (key, value) in &entries {
            topic = topic.set(key, value);
        }
        let created = futures_executor::block_on(
            self.admin.create_topics(
                [&topic],
                &AdminOptions::new()
                    .request_timeout(Some(REQUEST_TIMEOUT))
                    .operation_timeout(Some(REQUEST_TIMEOUT)),
            ),
        )
        .map_err(|e| broker_error("creating a topic", &e))?;
        for result in created {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => {
                    return Err(TopicError::Kafka(format!(
                        "creating topic '{name}': {code}"
                    )));
                }
            }
        }
        self.configs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), config);
        // A cluster's metadata lags its topic creation; the topic is usable when it is seen.
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            match self.partition_count(name) {
                Ok(_) => return Ok(()),
                Err(TopicError::UnknownTopic(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(other) => return Err(other),
            }
        }
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        self.partition_count(name)?;
        self.forget(name);
        if !self.options.delete_topics {
            tracing::info!("topic {name} kept on the cluster (delete.topic.enable=false)");
            return Ok(());
        }
        let deleted = futures_executor::block_on(self.admin.delete_topics(
            &[name],
            &AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT)),
        ))
        .map_err(|e| broker_error("deleting a topic", &e))?;
        for result in deleted {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    return Err(TopicError::UnknownTopic(name.to_string()));
                }
                Err((_, code)) => {
                    return Err(TopicError::Kafka(format!(
                        "deleting topic '{name}': {code}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let partitions = self.partition_count(name)?;
        self.describe(name, partitions)
    }

    fn topic_names(&self) -> Result<Vec<String>> {
        let metadata = self
            .meta
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| broker_error("reading the cluster's metadata", &e))?;
        let mut names: Vec<String> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .map(|t| t.name().to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        let metadata = self
            .meta
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| broker_error("reading the cluster's metadata", &e))?;
        let mut topics = Vec::new();
        for topic in metadata.topics() {
            if topic.error().is_some() || topic.partitions().is_empty() {
                continue;
            }
            let partitions = u32::try_from(topic.partitions().len()).unwrap_or(u32::MAX);
            match self.describe(topic.name(), partitions) {
                Ok(description) => topics.push(description),
                // Deleted since the metadata was read.
                Err(TopicError::UnknownTopic(_)) => {}
                Err(other) => return Err(other),
            }
        }
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        let routed = self.route(topic, records)?;
        let partitions: Vec<u32> = routed.iter().map(|(p, _)| *p).collect();
        let offsets = self.producer.send(topic, routed)?;
        Ok(partitions.into_iter().zip(offsets).collect())
    }

    fn produce_unflushed(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<()> {
        let routed = self.route(topic, records)?;
        self.producer.send_unflushed(topic, routed)
    }

    fn flush(&self) -> Result<()> {
        self.producer.flush()
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        let layout = self.layout(topic)?;
        if partition >= layout.partitions {
            return Err(TopicError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            });
        }
        self.readers.fetch(topic, partition, offset, limits)
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        let mut asked = TopicPartitionList::new();
        asked
            .add_partition_offset(
                topic,
                kafka_partition(topic, partition)?,
                Offset::Offset(timestamp),
            )
            .map_err(|e| broker_error("finding an offset by time", &e))?;
        let found = self
            .meta
            .offsets_for_times(asked, REQUEST_TIMEOUT)
            .map_err(|e| broker_error("finding an offset by time", &e))?;
        let answer = found.elements().first().and_then(|e| match e.offset() {
            Offset::Offset(o) => u64::try_from(o).ok(),
            _ => None,
        });
        let Some(offset) = answer else {
            return Ok(None);
        };
        // Checked against the record itself: a broker that answers by time wrongly (some
        // Kafka-protocol brokers do) is read instead.
        let fetched = self.fetch(topic, partition, offset, FetchLimits::records(1))?;
        if fetched
            .records
            .first()
            .is_some_and(|r| r.timestamp >= timestamp)
        {
            return Ok(Some(offset));
        }
        scan_for_timestamp(self, topic, partition, timestamp)
    }

    fn commit_transaction(&self, _transaction: Transaction) -> Result<Vec<Vec<Position>>> {
        Err(TopicError::Kafka(
            "processing.guarantee=exactly_once_v2 is not supported yet on Kafka: run at_least_once, or on the embedded log".to_string(),
        ))
    }

    fn supports_transactions(&self) -> bool {
        false
    }

    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()> {
        let layout = self.layout(topic)?;
        GroupOffsets::check(topic, layout.partitions as usize, offsets)?;
        let mut list = TopicPartitionList::new();
        for &(partition, offset) in offsets {
            let offset = i64::try_from(offset)
                .map_err(|_| TopicError::Kafka(format!("offset {offset} is out of range")))?;
            list.add_partition_offset(
                topic,
                kafka_partition(topic, partition)?,
                Offset::Offset(offset),
            )
            .map_err(|e| broker_error("committing offsets", &e))?;
        }
        self.groups
            .consumer(&self.client, group)?
            .commit(&list, CommitMode::Sync)
            .map_err(|e| broker_error(&format!("committing group {group}'s offsets"), &e))?;
        self.known.commit(group, topic, offsets);
        Ok(())
    }

    fn group_offsets(&self) -> Result<CommittedOffsets> {
        Ok(self.known.all())
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<BTreeMap<u32, u64>> {
        let layout = self.layout(topic)?;
        let mut asked = TopicPartitionList::new();
        for partition in 0..layout.partitions {
            asked.add_partition(topic, kafka_partition(topic, partition)?);
        }
        let found = self
            .groups
            .consumer(&self.client, group)?
            .committed_offsets(asked, REQUEST_TIMEOUT)
            .map_err(|e| broker_error(&format!("reading group {group}'s offsets"), &e))?;
        let committed: BTreeMap<u32, u64> = found
            .elements_for_topic(topic)
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => {
                    Some((u32::try_from(e.partition()).ok()?, u64::try_from(o).ok()?))
                }
                _ => None,
            })
            .collect();
        let pairs: Vec<(u32, u64)> = committed.iter().map(|(&p, &o)| (p, o)).collect();
        self.known.commit(group, topic, &pairs);
        Ok(committed)
    }
}
