//! Transactions: the writes of one commit of a task, visible all together or not at all
//! (Kafka's transactional producer, which `processing.guarantee=exactly_once_v2` uses).
//!
//! A task under exactly-once gathers its outputs, its state's changelog entries and its input
//! offsets in a [`Transaction`] and hands it to [`super::TopicStore::commit_transaction`] at
//! each commit. The store writes it so that no reader ever sees a part of it, and so that a
//! crash in the middle leaves nothing of it behind: a restarted query then re-reads its input
//! from the offsets of its last committed transaction, with the state of that transaction, and
//! writes each output exactly once.

use serde::{Deserialize, Serialize};

use super::ProducerRecord;

/// A consumer group's offsets for one topic: (group, topic, next offset per partition).
pub type GroupCommit = (String, String, Vec<(u32, u64)>);

/// The writes and offset commits of one commit of one producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Who writes (Kafka's `transactional.id`): one id per task, stable across restarts, so
    /// the transaction a crash left unfinished is found by it and aborted at start-up.
    pub producer: String,
    /// Records per topic, in the order sent.
    pub writes: Vec<(String, Vec<ProducerRecord>)>,
    /// Offsets committed with the writes.
    pub offsets: Vec<GroupCommit>,
    /// Bytes of keys and values sent so far.
    bytes: usize,
}

impl Transaction {
    pub fn new(producer: impl Into<String>) -> Transaction {
        Transaction {
            producer: producer.into(),
            writes: Vec::new(),
            offsets: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds records to the transaction; nothing is written until it commits.
    pub fn send(&mut self, topic: &str, records: Vec<ProducerRecord>) {
        if records.is_empty() {
            return;
        }
        self.bytes += records
            .iter()
            .map(|r| r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len))
            .sum::<usize>();
        match self.writes.last_mut() {
            Some((last, pending)) if last == topic => pending.extend(records),
            _ => self.writes.push((topic.to_string(), records)),
        }
    }

    /// Commits a consumer group's offsets with the transaction's writes.
    pub fn commit_offsets(&mut self, group: &str, topic: &str, offsets: Vec<(u32, u64)>) {
        self.offsets
            .push((group.to_string(), topic.to_string(), offsets));
    }

    /// Bytes of keys and values sent so far: a task commits early rather than hold more than
    /// a bound of outputs in memory.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.offsets.is_empty()
    }
}

/// A producer's last word in the transaction log (`__transaction_state`): a store writes
/// `Prepare` (durably) before the first byte of a transaction, and `Commit` or `Abort` after
/// it; a `Prepare` found last at start-up is a transaction a crash cut short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum TransactionState {
    /// Writing: each partition the transaction writes to, and where it started there.
    Prepare {
        partitions: Vec<(String, u32, u64)>,
    },
    Commit,
    Abort,
}

/// The internal topic that holds each transactional producer's last state.
pub const TRANSACTIONS_TOPIC: &str = "__transaction_state";

/// One write of a transaction, routed: its topic, each record's partition, and the records of
/// each partition.
pub(crate) struct RoutedWrite<T> {
    pub name: String,
    pub topic: std::sync::Arc<T>,
    pub assigned: Vec<u32>,
    pub buckets: Vec<Vec<ProducerRecord>>,
}

/// Routes every write of a transaction before anything is written: an unknown topic or
/// partition fails the whole transaction. `layout` gives a topic's partition count and
/// round-robin cursor.
pub(crate) fn route_writes<T>(
    writes: Vec<(String, Vec<ProducerRecord>)>,
    find: impl Fn(&str) -> super::Result<std::sync::Arc<T>>,
    layout: impl Fn(&T) -> (u32, &std::sync::atomic::AtomicU32),
) -> super::Result<Vec<RoutedWrite<T>>> {
    writes
        .into_iter()
        .map(|(name, records)| {
            let topic = find(&name)?;
            let (count, next_unkeyed) = layout(&topic);
            let mut routed = super::Routed::new(&name, records, count, next_unkeyed)?;
            let assigned = routed.take_assigned();
            Ok(RoutedWrite {
                name,
                assigned,
                buckets: routed.buckets,
                topic,
            })
        })
        .collect()
}

impl<T> RoutedWrite<T> {
    /// The partitions this write appends to.
    pub fn partitions(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_empty())
            .map(|(i, _)| i as u32)
    }
}

/// Where a task sends what it writes between commits: straight to the log, made durable by
/// its next commit (at least once), or into the transaction its next commit writes (exactly
/// once).
pub enum Sender<'a> {
    Log(&'a dyn super::TopicStore),
    Transaction(&'a mut Transaction),
}

impl Sender<'_> {
    pub fn send(&mut self, topic: &str, records: Vec<ProducerRecord>) -> super::Result<()> {
        match self {
            Sender::Log(store) => store.produce_unflushed(topic, records),
            Sender::Transaction(transaction) => {
                transaction.send(topic, records);
                Ok(())
            }
        }
    }
}
