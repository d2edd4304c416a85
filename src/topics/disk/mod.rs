//! The embedded topic store on disk: Sluice's own durable log.
//!
//! ```text
//! <data dir>/topics/<topic>/topic.json            the config, written whole (temp + rename)
//! <data dir>/topics/<topic>/<partition>/<base offset>.log     record batches (see `batch`)
//! <data dir>/topics/<topic>/<partition>/<base offset>.index   sparse offset index
//! ```
//!
//! A produce is acknowledged once its batches are written and synced (`fsync`); concurrent
//! producers of a partition share one sync (group commit). Consumer groups' offsets are records
//! of the internal topic `__consumer_offsets`, keyed by group, topic and partition, as Kafka
//! keeps them; the latest of each key is the committed offset. Each transactional producer's
//! last state is a record of `__transaction_state` (see [`TopicStore::commit_transaction`]).

mod batch;
mod log;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, RwLock};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

pub use self::log::LogError;
use self::log::{PartitionLog, PartitionTransaction, write_atomically};
use super::{
    CleanupPolicy, CommittedOffsets, FetchLimits, Fetched, GroupOffsets, Position, ProducerRecord,
    Result, Routed, TopicConfig, TopicDescription, TopicError, TopicStore, Transaction,
};
use crate::topics::transaction::{TRANSACTIONS_TOPIC, TransactionState, route_writes};

/// How long a compacted topic keeps a tombstone (Kafka's `delete.retention.ms` default).
pub const DELETE_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// What a [`DiskTopicStore::clean`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub segments_deleted: usize,
    pub records_compacted: u64,
}

/// The internal topic that holds consumer groups' committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// When a produce is made durable (Kafka's `log.flush.interval.messages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Synced before it is acknowledged: nothing acknowledged is lost to a crash.
    EveryProduce,
    /// Left to the operating system (and to [`TopicStore::flush`]): faster, and a crash of the
    /// machine (not of the process) may lose what was acknowledged since the last sync.
    Os,
}

/// How the log is laid out and synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskOptions {
    /// A partition's segment files are rolled at about this size (`log.segment.bytes`).
    pub segment_bytes: u64,
    pub flush: FlushPolicy,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions {
            segment_bytes: 128 * 1024 * 1024,
            flush: FlushPolicy::EveryProduce,
        }
    }
}

/// Characters kept as they are in a topic's directory name; every other is percent-encoded.
const NAME_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-').remove(b'.');

/// The directory name of a topic: its name percent-encoded, with a leading dot escaped so no
/// name is `.`, `..` or hidden.
fn directory_name(topic: &str) -> String {
    let encoded = utf8_percent_encode(topic, NAME_ESCAPES).to_string();
    match encoded.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => encoded,
    }
}

/// A topic's config as `topic.json` holds it.
#[derive(Debug, Serialize, Deserialize)]
struct TopicFile {
    name: String,
    partitions: u32,
    replicas: i16,
    #[serde(rename = "cleanup.policy")]
    cleanup_policy: String,
    #[serde(rename = "retention.ms")]
    retention_ms: Option<u64>,
    #[serde(rename = "retention.bytes")]
    retention_bytes: Option<u64>,
}

impl TopicFile {
    fn of(name: &str, config: &TopicConfig) -> TopicFile {
        TopicFile {
            name: name.to_string(),
            partitions: config.partitions,
            replicas: config.replicas,
            cleanup_policy: config.cleanup_policy.as_config().to_string(),
            retention_ms: config.retention_ms,
            retention_bytes: config.retention_bytes,
        }
    }

    fn config(&self) -> TopicConfig {
        TopicConfig {
            partitions: self.partitions,
            replicas: self.replicas,
            cleanup_policy: match self.cleanup_policy.as_str() {
                "compact" => CleanupPolicy::Compact,
                "compact,delete" | "delete,compact" => CleanupPolicy::CompactDelete,
                _ => CleanupPolicy::Delete,
            },
            retention_ms: self.retention_ms,
            retention_bytes: self.retention_bytes,
        }
    }
}

#[derive(Debug)]
struct Topic {
    name: String,
    config: TopicConfig,
    dir: PathBuf,
    partitions: Vec<PartitionLog>,
    next_unkeyed: AtomicU32,
}

/// The key of a committed offset in [`OFFSETS_TOPIC`].
#[derive(Debug, Serialize, Deserialize)]
struct OffsetKey {
    group: String,
    topic: String,
    partition: u32,
}

/// Topics in segment files under a data directory.
#[derive(Debug)]
pub struct DiskTopicStore {
    /// `<data dir>/.lock`, locked while the store is open: one process per data directory.
    _lock: fs::File,
    root: PathBuf,
    options: DiskOptions,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    groups: GroupOffsets,
}

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError::Storage(e.to_string())
    }
}

impl DiskTopicStore {
    /// Opens the log under `data_dir` (created if absent), recovering every partition: a torn
    /// tail left by a crash is cut off with a warning.
    pub fn open(data_dir: &Path, options: DiskOptions) -> Result<DiskTopicStore> {
        let root = data_dir.join("topics");
        let storage = |e: std::io::Error| TopicError::Storage(format!("{}: {e}", root.display()));
        fs::create_dir_all(&root).map_err(storage)?;
        let lock_path = data_dir.join(".lock");
        let lock = fs::File::create(&lock_path)
            .map_err(|e| TopicError::Storage(format!("{}: {e}", lock_path.display())))?;
        if lock.try_lock().is_err() {
            return Err(TopicError::Storage(format!(
                "the data directory {} is in use by another Sluice process",
                data_dir.display()
            )));
        }
        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(&root).map_err(storage)? {
            let dir = entry.map_err(storage)?.path();
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".deleted") {
                // A delete that a crash interrupted: finish it.
                fs::remove_dir_all(&dir).map_err(storage)?;
                continue;
            }
            let meta = dir.join("topic.json");
            let text = match fs::read(&meta) {
                Ok(text) => text,
                // A topic whose creation a crash interrupted before its config was written.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fs::remove_dir_all(&dir).map_err(storage)?;
                    continue;
                }
                Err(e) => return Err(storage(e)),
            };
            let file: TopicFile = serde_json::from_slice(&text)
                .map_err(|e| TopicError::Storage(format!("{}: {e}", meta.display())))?;
            let expected = percent_decode_str(name).decode_utf8_lossy();
            if expected != file.name {
                tracing::warn!("{}: holds topic '{}'", dir.display(), file.name);
            }
            let topic = open_topic(&file.name, &dir, file.config(), options)?;
            topics.insert(file.name, Arc::new(topic));
        }
        let store = DiskTopicStore {
            _lock: lock,
            root,
            options,
            topics: RwLock::new(topics),
            groups: GroupOffsets::default(),
        };
        // Offsets committed by a transaction a crash cut short go with it.
        store.recover_transactions()?;
        store.load_offsets()?;
        Ok(store)
    }

    /// Every topic, taken out of the map so no lock is held while they are worked on.
    fn all_topics(&self) -> Vec<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))
    }

    fn partition<'t>(topic: &'t Topic, name: &str, partition: u32) -> Result<&'t PartitionLog> {
        topic
            .partitions
            .get(partition as usize)
            .ok_or_else(|| TopicError::UnknownPartition {
                topic: name.to_string(),
                partition,
            })
    }

    /// Aborts every transaction that a crash cut short: a producer whose last state is
    /// `Prepare` was writing one; its partitions are cut back to where it started.
    fn recover_transactions(&self) -> Result<()> {
        let Ok(topic) = self.topic(TRANSACTIONS_TOPIC) else {
            return Ok(());
        };
        let log = Self::partition(&topic, TRANSACTIONS_TOPIC, 0)?;
        let mut last: BTreeMap<String, Option<TransactionState>> = BTreeMap::new();
        let (start, end) = log.offsets();
        log.for_each_record(start, end, |record| {
            if let Some(producer) = record
                .key
                .as_ref()
                .and_then(|k| std::str::from_utf8(k).ok())
            {
                let state = record
                    .value
                    .as_ref()
                    .and_then(|v| serde_json::from_slice::<TransactionState>(v).ok());
                last.insert(producer.to_string(), state);
            }
        })?;
        for (producer, state) in last {
            let Some(TransactionState::Prepare { partitions }) = state else {
                continue;
            };
            for (name, partition, start) in partitions {
                // A topic deleted since is gone with its records.
                if let Ok(topic) = self.topic(&name)
                    && let Some(log) = topic.partitions.get(partition as usize)
                {
                    log.truncate_to(start)?;
                }
            }
            tracing::warn!(
                "aborted the transaction of {producer} that a crash cut short: its records and \
                 offsets are gone, and its query reads its input again from its last commit"
            );
            self.write_transaction_state(&producer, &TransactionState::Abort)?;
        }
        Ok(())
    }

    /// Writes a producer's transaction state, durably under the default flush policy.
    fn write_transaction_state(&self, producer: &str, state: &TransactionState) -> Result<()> {
        let topic = self.internal_topic(TRANSACTIONS_TOPIC)?;
        let log = Self::partition(&topic, TRANSACTIONS_TOPIC, 0)?;
        let value = serde_json::to_vec(state).map_err(|e| TopicError::Storage(e.to_string()))?;
        let record = ProducerRecord {
            key: Some(producer.as_bytes().to_vec()),
            value: Some(value),
            timestamp: now_ms(),
            ..Default::default()
        };
        let first = log.append(std::slice::from_ref(&record))?;
        if self.options.flush == FlushPolicy::EveryProduce {
            log.sync_to(first + 1)?;
        }
        Ok(())
    }

    /// An internal compacted topic of one partition, created on first use.
    fn internal_topic(&self, name: &str) -> Result<Arc<Topic>> {
        if let Ok(topic) = self.topic(name) {
            return Ok(topic);
        }
        let config = TopicConfig {
            partitions: 1,
            cleanup_policy: CleanupPolicy::Compact,
            retention_ms: None,
            ..TopicConfig::default()
        };
        self.create_topic(name, config)?;
        self.topic(name)
    }

    /// Reads the committed offsets back from their topic.
    fn load_offsets(&self) -> Result<()> {
        let Ok(topic) = self.topic(OFFSETS_TOPIC) else {
            return Ok(());
        };
        for (partition, log) in topic.partitions.iter().enumerate() {
            let (start, end) = log.offsets();
            log.for_each_record(start, end, |record| {
                let key: Option<OffsetKey> = record
                    .key
                    .as_ref()
                    .and_then(|k| serde_json::from_slice(k).ok());
                let Some(key) = key else {
                    tracing::warn!(
                        "{OFFSETS_TOPIC}-{partition} offset {}: not a committed offset",
                        record.offset
                    );
                    return;
                };
                let offset = record
                    .value
                    .as_ref()
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
                self.groups.set(key.group, key.topic, key.partition, offset);
            })?;
        }
        Ok(())
    }

    /// Cleans every topic as its `cleanup.policy` says, now: `delete` drops sealed segments
    /// past `retention.ms` or beyond `retention.bytes`; `compact` keeps each key's latest
    /// record (and drops tombstones after Kafka's default `delete.retention.ms`, a day).
    /// Runs beside appends and reads, never blocking them for longer than a segment swap.
    pub fn clean(&self, now_ms: i64) -> Result<Cleaned> {
        let topics = self.all_topics();
        let mut cleaned = Cleaned::default();
        for topic in topics {
            let policy = topic.config.cleanup_policy;
            for log in &topic.partitions {
                if policy != CleanupPolicy::Delete {
                    cleaned.records_compacted += log.compact(now_ms, DELETE_RETENTION_MS)?;
                }
                if policy != CleanupPolicy::Compact {
                    cleaned.segments_deleted += log.apply_retention(
                        now_ms,
                        topic.config.retention_ms,
                        topic.config.retention_bytes,
                    )?;
                }
            }
        }
        Ok(cleaned)
    }
}

fn open_topic(name: &str, dir: &Path, config: TopicConfig, options: DiskOptions) -> Result<Topic> {
    let partitions = (0..config.partitions.max(1))
        .map(|p| PartitionLog::open(dir.join(p.to_string()), p, options.segment_bytes))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Topic {
        name: name.to_string(),
        config,
        dir: dir.to_path_buf(),
        partitions,
        next_unkeyed: AtomicU32::new(0),
    })
}

fn describe(name: &str, topic: &Topic) -> TopicDescription {
    let (start_offsets, end_offsets) = topic.partitions.iter().map(PartitionLog::offsets).unzip();
    TopicDescription {
        name: name.to_string(),
        config: topic.config.clone(),
        start_offsets,
        end_offsets,
    }
}

impl DiskTopicStore {
    /// Appends records without syncing them: each one's position.
    fn append(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        let t = self.topic(topic)?;
        if let Some(r) = records
            .iter()
            .find(|r| batch::record_size(r) > batch::MAX_RECORD_BYTES)
        {
            return Err(TopicError::RecordTooLarge {
                size: batch::record_size(r),
                max: batch::MAX_RECORD_BYTES,
            });
        }
        let count = t.partitions.len() as u32;
        let mut routed = Routed::new(topic, records, count, &t.next_unkeyed)?;
        let assigned = routed.take_assigned();
        let mut firsts = Vec::with_capacity(routed.buckets.len());
        for (bucket, log) in routed.buckets.iter().zip(&t.partitions) {
            firsts.push(if bucket.is_empty() {
                0
            } else {
                log.append(bucket)?
            });
        }
        Ok(Routed::positions(assigned, &firsts))
    }
}

impl TopicStore for DiskTopicStore {
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
        let dir = self.root.join(directory_name(name));
        let storage = |e: std::io::Error| TopicError::Storage(format!("{}: {e}", dir.display()));
        fs::create_dir_all(&dir).map_err(storage)?;
        let topic = open_topic(name, &dir, config.clone(), self.options)?;
        let file = serde_json::to_vec_pretty(&TopicFile::of(name, &config))
            .map_err(|e| TopicError::Storage(e.to_string()))?;
        // The config is written last: a topic without one is a creation that did not finish.
        write_atomically(&dir.join("topic.json"), &file)?;
        topics.insert(name.to_string(), Arc::new(topic));
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let removed = self
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
        let storage =
            |e: std::io::Error| TopicError::Storage(format!("{}: {e}", removed.dir.display()));
        // Renamed first, so a crash mid-delete leaves a directory the next start removes.
        let doomed = removed.dir.with_extension("deleted");
        fs::rename(&removed.dir, &doomed).map_err(storage)?;
        fs::remove_dir_all(&doomed).map_err(storage)?;
        let records = self
            .groups
            .forget_topic(name)
            .into_iter()
            .flat_map(|((group, topic), offsets)| {
                offsets
                    .into_keys()
                    .map(move |p| offset_record(&group, &topic, p, None))
            })
            .collect::<Result<Vec<_>>>()?;
        self.write_offsets(records)
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        Ok(describe(name, &*self.topic(name)?))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        Ok(self
            .all_topics()
            .iter()
            .map(|t| describe(&t.name, t))
            .collect())
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        let positions = self.append(topic, records)?;
        if self.options.flush == FlushPolicy::EveryProduce {
            let t = self.topic(topic)?;
            let mut ends: BTreeMap<u32, u64> = BTreeMap::new();
            for &(partition, offset) in &positions {
                let end = ends.entry(partition).or_default();
                *end = (*end).max(offset + 1);
            }
            for (partition, end) in ends {
                Self::partition(&t, topic, partition)?.sync_to(end)?;
            }
        }
        Ok(positions)
    }

    fn produce_unflushed(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<()> {
        self.append(topic, records).map(|_| ())
    }

    fn flush(&self) -> Result<()> {
        let topics = self.all_topics();
        for topic in topics {
            for log in &topic.partitions {
                log.sync()?;
            }
        }
        Ok(())
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        let t = self.topic(topic)?;
        let log = Self::partition(&t, topic, partition)?;
        // Compaction never moves a compacted topic's start, as in Kafka: a reader whose
        // position lies in segments compaction emptied reads on from the next record.
        let offset = if t.config.cleanup_policy == CleanupPolicy::Compact {
            offset.max(log.offsets().0)
        } else {
            offset
        };
        log.fetch(offset, limits).map_err(|e| match e {
            LogError::OutOfRange(offset) => TopicError::OffsetOutOfRange {
                topic: topic.to_string(),
                partition,
                offset,
            },
            other => other.into(),
        })
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        let t = self.topic(topic)?;
        Ok(Self::partition(&t, topic, partition)?.offset_for_time(timestamp)?)
    }

    /// A transaction holds the writer's place on every partition it writes (taken in one
    /// order), with readers kept below where it started; it writes `Prepare` with those
    /// starts to the transaction log, appends its records and its offsets (as records of
    /// `__consumer_offsets`), syncs them, writes `Commit`, and only then shows them. Any failure
    /// cuts every partition back; a crash leaves `Prepare` last, which the next start-up
    /// aborts the same way.
    fn commit_transaction(&self, transaction: Transaction) -> Result<Vec<Vec<Position>>> {
        let Transaction {
            producer,
            mut writes,
            offsets,
            ..
        } = transaction;
        if let Some(r) = writes
            .iter()
            .flat_map(|(_, records)| records)
            .find(|r| batch::record_size(r) > batch::MAX_RECORD_BYTES)
        {
            return Err(TopicError::RecordTooLarge {
                size: batch::record_size(r),
                max: batch::MAX_RECORD_BYTES,
            });
        }
        let user_writes = writes.len();
        if !offsets.is_empty() {
            let mut records = Vec::new();
            for (group, topic, offsets) in &offsets {
                GroupOffsets::check(topic, self.topic(topic)?.partitions.len(), offsets)?;
                for &(partition, offset) in offsets {
                    records.push(offset_record(group, topic, partition, Some(offset))?);
                }
            }
            self.internal_topic(OFFSETS_TOPIC)?;
            writes.push((OFFSETS_TOPIC.to_string(), records));
        }
        if writes.iter().any(|(topic, _)| topic == TRANSACTIONS_TOPIC) {
            return Err(TopicError::Storage(format!(
                "a transaction cannot write to {TRANSACTIONS_TOPIC}"
            )));
        }
        self.internal_topic(TRANSACTIONS_TOPIC)?;
        let routed = route_writes(
            writes,
            |name| self.topic(name),
            |t| (t.partitions.len() as u32, &t.next_unkeyed),
        )?;
        let wanted: BTreeSet<(&str, u32)> = routed
            .iter()
            .flat_map(|w| w.partitions().map(move |p| (w.name.as_str(), p)))
            .collect();
        let mut held: BTreeMap<(&str, u32), PartitionTransaction<'_>> = BTreeMap::new();
        for (name, partition) in wanted {
            let topic = routed
                .iter()
                .find(|w| w.name == name)
                .map(|w| &*w.topic)
                .ok_or_else(|| TopicError::UnknownTopic(name.to_string()))?;
            let log = Self::partition(topic, name, partition)?;
            held.insert((name, partition), log.begin_transaction());
        }
        let prepare = TransactionState::Prepare {
            partitions: held
                .iter()
                .map(|(&(name, partition), t)| (name.to_string(), partition, t.start()))
                .collect(),
        };
        self.write_transaction_state(&producer, &prepare)?;
        let written = (|| -> Result<Vec<Vec<Position>>> {
            let mut positions = Vec::with_capacity(routed.len());
            for write in &routed {
                let mut firsts = vec![0; write.buckets.len()];
                for (partition, bucket) in write.buckets.iter().enumerate() {
                    if let Some(log) = held.get(&(write.name.as_str(), partition as u32))
                        && !bucket.is_empty()
                    {
                        firsts[partition] = log.append(bucket)?;
                    }
                }
                positions.push(Routed::positions(write.assigned.clone(), &firsts));
            }
            if self.options.flush == FlushPolicy::EveryProduce {
                for log in held.values() {
                    log.sync()?;
                }
            }
            self.write_transaction_state(&producer, &TransactionState::Commit)?;
            Ok(positions)
        })();
        match written {
            Ok(mut positions) => {
                for log in held.into_values() {
                    log.publish();
                }
                for (group, topic, offsets) in &offsets {
                    self.groups.commit(group, topic, offsets);
                }
                positions.truncate(user_writes);
                Ok(positions)
            }
            Err(e) => {
                for log in held.into_values() {
                    log.abort()?;
                }
                self.write_transaction_state(&producer, &TransactionState::Abort)?;
                Err(e)
            }
        }
    }

    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()> {
        GroupOffsets::check(topic, self.topic(topic)?.partitions.len(), offsets)?;
        let records = offsets
            .iter()
            .map(|&(partition, offset)| offset_record(group, topic, partition, Some(offset)))
            .collect::<Result<Vec<_>>>()?;
        self.write_offsets(records)?;
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

impl DiskTopicStore {
    /// Writes committed offsets (or their removal) durably to [`OFFSETS_TOPIC`].
    fn write_offsets(&self, records: Vec<ProducerRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let t = self.internal_topic(OFFSETS_TOPIC)?;
        let log = Self::partition(&t, OFFSETS_TOPIC, 0)?;
        let first = log.append(&records)?;
        log.sync_to(first + records.len() as u64)?;
        Ok(())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A committed offset as a record of [`OFFSETS_TOPIC`]; `None` is a tombstone.
fn offset_record(
    group: &str,
    topic: &str,
    partition: u32,
    offset: Option<u64>,
) -> Result<ProducerRecord> {
    let key = serde_json::to_vec(&OffsetKey {
        group: group.to_string(),
        topic: topic.to_string(),
        partition,
    })
    .map_err(|e| TopicError::Storage(e.to_string()))?;
    Ok(ProducerRecord {
        key: Some(key),
        value: offset.map(|o| o.to_string().into_bytes()),
        timestamp: now_ms(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::fetch_to_end;

    fn keyed(key: &str, value: &str) -> ProducerRecord {
        ProducerRecord {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            timestamp: 1,
            ..Default::default()
        }
    }

    #[test]
    fn topics_records_and_offsets_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let positions = {
            let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
            store
                .create_topic("odd/name", TopicConfig::with_partitions(3))
                .unwrap();
            let positions = store
                .produce(
                    "odd/name",
                    (0..30).map(|i| keyed(&format!("k{i}"), "v")).collect(),
                )
                .unwrap();
            store
                .commit_offsets("g", "odd/name", &[(0, 2), (1, 1)])
                .unwrap();
            store.commit_offsets("g", "odd/name", &[(0, 3)]).unwrap();
            positions
        };
        let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
        let described = store.describe_topic("odd/name").unwrap();
        assert_eq!(described.config.partitions, 3);
        assert_eq!(described.end_offsets.iter().sum::<u64>(), 30);
        for (i, (partition, offset)) in positions.iter().enumerate() {
            let records = fetch_to_end(&store, "odd/name", *partition, *offset).unwrap();
            assert_eq!(records[0].key.as_deref(), Some(format!("k{i}").as_bytes()));
        }
        assert_eq!(
            store.committed_offsets("g", "odd/name").unwrap(),
            BTreeMap::from([(0, 3), (1, 1)])
        );
        // The same partitions again is a no-op; others are refused.
        store
            .create_topic("odd/name", TopicConfig::with_partitions(3))
            .unwrap();
        assert!(matches!(
            store.create_topic("odd/name", TopicConfig::with_partitions(2)),
            Err(TopicError::PartitionMismatch { .. })
        ));
        store.delete_topic("odd/name").unwrap();
        drop(store);
        let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
        assert!(store.describe_topic("odd/name").is_err());
        assert!(store.committed_offsets("g", "odd/name").unwrap().is_empty());
    }

    #[test]
    fn a_committed_transaction_lands_whole_and_one_a_crash_cut_short_is_gone_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
            store
                .create_topic("in", TopicConfig::with_partitions(2))
                .unwrap();
            store
                .create_topic("out", TopicConfig::with_partitions(2))
                .unwrap();
            store.produce("out", vec![keyed("a", "before")]).unwrap();
            let mut transaction = Transaction::new("q-0");
            transaction.send(
                "out",
                (0..20).map(|i| keyed(&format!("k{i}"), "one")).collect(),
            );
            transaction.commit_offsets("g", "in", vec![(0, 7), (1, 3)]);
            let positions = store.commit_transaction(transaction).unwrap();
            assert_eq!(positions.len(), 1);
            assert_eq!(positions[0].len(), 20);
            assert_eq!(
                store.committed_offsets("g", "in").unwrap(),
                BTreeMap::from([(0, 7), (1, 3)])
            );
            // A transaction naming a partition that does not exist changes nothing.
            let mut bad = Transaction::new("q-0");
            bad.send("out", vec![keyed("x", "bad")]);
            bad.send(
                "out",
                vec![ProducerRecord {
                    partition: Some(9),
                    ..keyed("y", "bad")
                }],
            );
            bad.commit_offsets("g", "in", vec![(0, 100)]);
            assert!(store.commit_transaction(bad).is_err());
            assert_eq!(store.committed_offsets("g", "in").unwrap()[&0], 7);
            // A crash in the middle of the next one: its records are written, its offsets too,
            // `Prepare` is durable, `Commit` never came.
            let topic = store.topic("out").unwrap();
            let offsets = store.topic(OFFSETS_TOPIC).unwrap();
            let (out, offsets_log) = (&topic.partitions[0], &offsets.partitions[0]);
            let first = out.begin_transaction();
            let second = offsets_log.begin_transaction();
            store
                .write_transaction_state(
                    "q-0",
                    &TransactionState::Prepare {
                        partitions: vec![
                            ("out".to_string(), 0, first.start()),
                            (OFFSETS_TOPIC.to_string(), 0, second.start()),
                        ],
                    },
                )
                .unwrap();
            first.append(&[keyed("z", "torn")]).unwrap();
            second
                .append(&[offset_record("g", "in", 0, Some(50)).unwrap()])
                .unwrap();
            first.sync().unwrap();
            second.sync().unwrap();
            let seen: usize = (0..2)
                .map(|p| fetch_to_end(&store, "out", p, 0).unwrap().len())
                .sum();
            assert_eq!(seen, 21, "a reader saw a transaction being written");
            std::mem::forget(first);
            std::mem::forget(second);
        }
        let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
        let values: Vec<String> = (0..2)
            .flat_map(|p| fetch_to_end(&store, "out", p, 0).unwrap())
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned())
            .collect();
        assert_eq!(values.len(), 21);
        assert!(!values.iter().any(|v| v == "torn" || v == "bad"));
        assert_eq!(
            store.committed_offsets("g", "in").unwrap(),
            BTreeMap::from([(0, 7), (1, 3)])
        );
        // The producer's next transaction goes on where the aborted one started.
        let mut next = Transaction::new("q-0");
        next.send(
            "out",
            vec![ProducerRecord {
                partition: Some(0),
                ..keyed("z", "again")
            }],
        );
        next.commit_offsets("g", "in", vec![(0, 8)]);
        store.commit_transaction(next).unwrap();
        drop(store);
        let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
        let last = fetch_to_end(&store, "out", 0, 0).unwrap().pop().unwrap();
        assert_eq!(last.value.as_deref(), Some(&b"again"[..]));
        assert_eq!(store.committed_offsets("g", "in").unwrap()[&0], 8);
    }

    #[test]
    fn offsets_by_time_agree_with_the_in_memory_store() {
        let dir = tempfile::tempdir().unwrap();
        let options = DiskOptions {
            segment_bytes: 4096,
            ..DiskOptions::default()
        };
        let disk = DiskTopicStore::open(dir.path(), options).unwrap();
        let memory = crate::topics::MemoryTopicStore::new();
        let mut state = 7u64;
        for store in [&disk as &dyn TopicStore, &memory] {
            store.create_topic("t", TopicConfig::default()).unwrap();
        }
        for _ in 0..40 {
            let batch: Vec<ProducerRecord> = (0..25)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ProducerRecord {
                        value: Some(vec![0; 40]),
                        timestamp: (state >> 33) as i64 % 10_000,
                        ..Default::default()
                    }
                })
                .collect();
            disk.produce("t", batch.clone()).unwrap();
            memory.produce("t", batch).unwrap();
        }
        for t in (-1..10_050).step_by(37) {
            assert_eq!(
                disk.offset_for_timestamp("t", 0, t).unwrap(),
                memory.offset_for_timestamp("t", 0, t).unwrap(),
                "timestamp {t}"
            );
        }
    }

    #[test]
    fn concurrent_producers_and_readers_see_whole_records_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let options = DiskOptions {
            segment_bytes: 64 * 1024,
            ..DiskOptions::default()
        };
        let store = std::sync::Arc::new(DiskTopicStore::open(dir.path(), options).unwrap());
        store
            .create_topic("t", TopicConfig::with_partitions(2))
            .unwrap();
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for batch in 0..50 {
                        let records = (0..40)
                            .map(|i| keyed(&format!("p{p}-{batch}-{i}"), &"v".repeat(100)))
                            .collect();
                        store.produce("t", records).unwrap();
                    }
                })
            })
            .collect();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2u32)
            .map(|partition| {
                let (store, done) = (std::sync::Arc::clone(&store), std::sync::Arc::clone(&done));
                std::thread::spawn(move || {
                    let mut next = 0;
                    loop {
                        // Read once more after the producers finished, to the end.
                        let finished = done.load(std::sync::atomic::Ordering::Acquire);
                        let fetched = store
                            .fetch("t", partition, next, FetchLimits::records(100))
                            .unwrap();
                        for record in &fetched.records {
                            assert_eq!(record.offset, next, "offsets in order, none skipped");
                            assert_eq!(record.value.as_deref().map(<[u8]>::len), Some(100));
                            next += 1;
                        }
                        if fetched.records.is_empty() {
                            if finished {
                                return next;
                            }
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        let read: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert_eq!(read, 8000, "every record read, each once");
    }

    #[test]
    fn directory_names_are_safe_and_distinct() {
        assert_eq!(directory_name("orders_v1.json-x"), "orders_v1.json-x");
        assert_eq!(directory_name("a/b"), "a%2Fb");
        assert_eq!(directory_name(".."), "%2E.");
        assert_ne!(directory_name("a b"), directory_name("a_b"));
    }

    #[test]
    fn a_record_over_the_limit_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskTopicStore::open(dir.path(), DiskOptions::default()).unwrap();
        store.create_topic("t", TopicConfig::default()).unwrap();
        let huge = ProducerRecord {
            value: Some(vec![0; batch::MAX_RECORD_BYTES + 1]),
            ..Default::default()
        };
        let result = store.produce("t", vec![keyed("a", "b"), huge]);
        assert!(matches!(result, Err(TopicError::RecordTooLarge { .. })));
        assert_eq!(store.describe_topic("t").unwrap().end_offsets, [0]);
    }
}
