//! Changelogs: a task's state, written to a compacted topic at each commit and read back after
//! a restart, as Kafka Streams keeps its state stores.
//!
//! A stateful persistent query has one changelog topic, partition `p` for task `p` (partition 0
//! for a query run as one task). A record's key is the store's id (two bytes, big-endian) and
//! the entry's key; its value is the entry's value, or null when the entry was removed. Each
//! commit ends with a *checkpoint* record: where the task's inputs stood, and its operators'
//! state outside the stores (stream time and the like).
//!
//! A commit writes the task's outputs and its changed entries, makes them durable, and only
//! then writes the checkpoint, durably, and commits the input offsets. A restart reads the
//! changelog up to its last checkpoint and resumes the inputs from the positions it holds, so
//! the state and the positions always agree: no input record counts twice in the state, even
//! after a kill. Entries after the last checkpoint belong to a commit that was cut short; they
//! are skipped, and the keys they name are written again by the next commit, so that the log
//! (and its compaction) never keeps them as the latest.

use std::collections::BTreeMap;

use super::{Stateful, StoreId};
use crate::exec::ExecError;
use crate::topics::transaction::Sender;
use crate::topics::{CleanupPolicy, FetchLimits, ProducerRecord, Record, TopicConfig, TopicStore};
use crate::types::codec::{self, Decode, Encode, Input};

/// The key of checkpoint records; no store has this id.
const CHECKPOINT_KEY: [u8; 2] = [0xFF, 0xFF];

/// How many records a restore reads per fetch, and a commit writes per produce.
const CHUNK: usize = 4096;

/// Where a task's inputs stood at a commit, and its operators' state outside the stores.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// (topic, partition, next offset) of every partition the task reads.
    pub positions: Vec<(String, u32, u64)>,
    pub scalars: Vec<u8>,
}

impl Encode for Checkpoint {
    fn encode(&self, out: &mut Vec<u8>) {
        self.positions.encode(out);
        codec::encode_bytes(&self.scalars, out);
    }
}

impl Decode for Checkpoint {
    fn decode(input: &mut Input<'_>) -> codec::Result<Self> {
        let positions = Decode::decode(input)?;
        let scalars = codec::decode_bytes(input)?.to_vec();
        Ok(Checkpoint { positions, scalars })
    }
}

/// A restore under way (see [`Changelog::begin_restore`]).
#[derive(Debug)]
pub struct Restore {
    /// Where the changelog partition starts.
    start: u64,
    /// The next offset to read.
    next: u64,
    /// Entries below this offset are applied; above it, they belong to a commit cut short.
    applied_to: u64,
    end: u64,
    last: Option<(u64, Checkpoint)>,
    entries: u64,
    started: std::time::Instant,
}

/// How far a restore got.
#[derive(Debug, PartialEq)]
pub enum Progress {
    /// It read this many records and has more to read.
    More(usize),
    /// It is over; the checkpoint the state was restored to, if there was one.
    Done(Option<Checkpoint>),
}

/// The changelog partition of one task.
#[derive(Debug, Clone)]
pub struct Changelog {
    pub topic: String,
    pub partition: u32,
}

/// The changelog topic of a query's consumer group, as Kafka Streams names a store's
/// changelog: `<application id>-<store name>-changelog`.
pub fn topic_name(group: &str, store: &str) -> String {
    format!("{group}-{store}-changelog")
}

/// Creates a query's changelog topic (compacted, a partition per task) unless it exists.
pub fn create_topic(store: &dyn TopicStore, topic: &str, tasks: u32) -> Result<(), ExecError> {
    let config = TopicConfig {
        partitions: tasks.max(1),
        cleanup_policy: CleanupPolicy::Compact,
        retention_ms: None,
        ..TopicConfig::default()
    };
    store.create_topic(topic, config)?;
    Ok(())
}

/// Sizes each store for a restore of `span` changelog offsets, in the proportions of the first
/// records read (bounded: a log not yet compacted holds more records than entries).
fn reserve_like(state: &mut dyn Stateful, first: &[&Record], span: u64) {
    const LARGE: u64 = 1 << 16;
    const MOST: u64 = 1 << 24;
    if first.is_empty() || span < LARGE {
        return;
    }
    let mut counts: BTreeMap<StoreId, u64> = BTreeMap::new();
    for record in first {
        if let Some((id, _)) = record.key.as_deref().and_then(split_key) {
            *counts.entry(id).or_default() += 1;
        }
    }
    let sampled = first.len() as u64;
    state.visit_stores(&mut |id, log| {
        if let Some(count) = counts.get(&id) {
            let estimate = (span.min(MOST) * count / sampled).min(MOST);
            log.reserve(usize::try_from(estimate).unwrap_or(0));
        }
    });
}

fn is_checkpoint(record: &Record) -> bool {
    record.key.as_deref() == Some(&CHECKPOINT_KEY)
}

fn split_key(key: &[u8]) -> Option<(StoreId, &[u8])> {
    let (id, rest) = key.split_first_chunk::<2>()?;
    Some((u16::from_be_bytes(*id), rest))
}

fn corrupt(topic: &str, offset: u64, error: impl std::fmt::Display) -> ExecError {
    ExecError::internal(format!(
        "the changelog {topic} cannot be read at offset {offset}: {error}"
    ))
}

impl Changelog {
    fn record(&self, key: Vec<u8>, value: Option<Vec<u8>>, timestamp: i64) -> ProducerRecord {
        ProducerRecord {
            key: Some(key),
            value,
            timestamp,
            headers: Vec::new(),
            partition: Some(self.partition),
        }
    }

    /// Sends the entries of `state` changed since the last call, to be made durable by the
    /// commit with the outputs. Returns how many it sent.
    pub fn write_changes(
        &self,
        state: &mut dyn Stateful,
        sender: &mut Sender<'_>,
        timestamp: i64,
    ) -> Result<usize, ExecError> {
        let mut written = 0;
        let mut pending: Vec<ProducerRecord> = Vec::new();
        let mut failed = None;
        state.visit_stores(&mut |id, log| {
            log.write_changes(&mut |key, value| {
                if failed.is_some() {
                    return;
                }
                let mut bytes = Vec::with_capacity(2 + key.len());
                bytes.extend_from_slice(&id.to_be_bytes());
                bytes.extend_from_slice(key);
                pending.push(self.record(bytes, value.map(<[u8]>::to_vec), timestamp));
                if pending.len() >= CHUNK {
                    written += pending.len();
                    if let Err(e) = sender.send(&self.topic, std::mem::take(&mut pending)) {
                        failed = Some(e);
                    }
                }
            });
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        if !pending.is_empty() {
            written += pending.len();
            sender.send(&self.topic, pending)?;
        }
        Ok(written)
    }

    /// The record of a checkpoint.
    pub fn checkpoint_record(&self, checkpoint: &Checkpoint, timestamp: i64) -> ProducerRecord {
        self.record(
            CHECKPOINT_KEY.to_vec(),
            Some(codec::to_bytes(checkpoint)),
            timestamp,
        )
    }

    /// Writes a checkpoint and waits until it is durable.
    pub fn write_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        store: &dyn TopicStore,
        timestamp: i64,
    ) -> Result<(), ExecError> {
        store.produce(
            &self.topic,
            vec![self.checkpoint_record(checkpoint, timestamp)],
        )?;
        Ok(())
    }

    /// Starts restoring `state` from the changelog: finds the last checkpoint.
    /// [`Changelog::continue_restore`] then applies every entry up to it, a budget at a time,
    /// so that a large state is restored in steps that leave the thread to other work between
    /// them; entries after it, of a commit cut short, are counted as changed instead.
    pub fn begin_restore(&self, store: &dyn TopicStore) -> Result<Restore, ExecError> {
        let described = store.describe_topic(&self.topic)?;
        let index = self.partition as usize;
        let start = described.start_offsets.get(index).copied().unwrap_or(0);
        let end = described.end_offsets.get(index).copied().unwrap_or(0);
        let last = self.last_checkpoint(store, start, end)?;
        Ok(Restore {
            start,
            next: start,
            applied_to: last.as_ref().map_or(start, |(offset, _)| *offset),
            end,
            last,
            entries: 0,
            started: std::time::Instant::now(),
        })
    }

    /// Applies about `budget` more records of a restore.
    pub fn continue_restore(
        &self,
        restore: &mut Restore,
        state: &mut dyn Stateful,
        store: &dyn TopicStore,
        budget: usize,
    ) -> Result<Progress, ExecError> {
        let mut read = 0usize;
        while restore.next < restore.end && read < budget {
            let records = self.fetch(store, restore.next)?;
            let Some(last_record) = records.last() else {
                break;
            };
            restore.next = last_record.offset + 1;
            read += records.len();
            let applied_to = restore.applied_to;
            let (applied, cut_short): (Vec<&Record>, Vec<&Record>) = records
                .iter()
                .filter(|r| !is_checkpoint(r))
                .partition(|r| r.offset < applied_to);
            if restore.entries == 0 {
                reserve_like(
                    state,
                    &applied,
                    restore.applied_to.saturating_sub(restore.start),
                );
            }
            restore.entries += self.apply(state, applied.into_iter(), |log, key, value| {
                log.apply(key, value)
            })?;
            // A commit cut short: what it wrote is rewritten from the restored state.
            self.apply(state, cut_short.into_iter(), |log, key, _| log.touch(key))?;
        }
        if restore.next < restore.end && read > 0 {
            return Ok(Progress::More(read));
        }
        let Some((offset, checkpoint)) = restore.last.take() else {
            return Ok(Progress::Done(None));
        };
        state
            .load_scalars(&mut Input::new(&checkpoint.scalars))
            .map_err(|e| corrupt(&self.topic, offset, e))?;
        tracing::info!(
            "restored {} state entries from {} partition {} in {:.2} s",
            restore.entries,
            self.topic,
            self.partition,
            restore.started.elapsed().as_secs_f64()
        );
        Ok(Progress::Done(Some(checkpoint)))
    }

    fn fetch(&self, store: &dyn TopicStore, from: u64) -> Result<Vec<Record>, ExecError> {
        Ok(store
            .fetch(
                &self.topic,
                self.partition,
                from,
                FetchLimits::records(CHUNK),
            )?
            .records)
    }

    /// The last checkpoint below `end`, and its offset: the log is searched backwards in
    /// growing spans, since the checkpoint is almost always its last record.
    fn last_checkpoint(
        &self,
        store: &dyn TopicStore,
        start: u64,
        end: u64,
    ) -> Result<Option<(u64, Checkpoint)>, ExecError> {
        let mut upper = end;
        let mut span = 16u64;
        while upper > start {
            let lower = upper.saturating_sub(span).max(start);
            let mut found = None;
            let mut next = lower;
            while next < upper {
                let records = self.fetch(store, next)?;
                let Some(last_record) = records.last() else {
                    break;
                };
                next = last_record.offset + 1;
                for record in records.iter().filter(|r| r.offset < upper) {
                    if is_checkpoint(record) {
                        found = Some(record.clone());
                    }
                }
            }
            if let Some(record) = found {
                let value = record.value.as_deref().unwrap_or_default();
                let checkpoint = codec::from_bytes::<Checkpoint>(value)
                    .map_err(|e| corrupt(&self.topic, record.offset, e))?;
                return Ok(Some((record.offset, checkpoint)));
            }
            upper = lower;
            span = span.saturating_mul(8);
        }
        Ok(None)
    }

    /// Hands each entry to its store, store by store, in log order within each; returns how
    /// many there were.
    fn apply<'r>(
        &self,
        state: &mut dyn Stateful,
        records: impl Iterator<Item = &'r Record>,
        mut apply: impl FnMut(&mut dyn super::StoreLog, &[u8], Option<&[u8]>) -> codec::Result<()>,
    ) -> Result<u64, ExecError> {
        let mut by_store: BTreeMap<StoreId, Vec<&Record>> = BTreeMap::new();
        let mut count = 0u64;
        for record in records {
            count += 1;
            let id = record
                .key
                .as_deref()
                .and_then(split_key)
                .map(|(id, _)| id)
                .ok_or_else(|| corrupt(&self.topic, record.offset, "a record without a store"))?;
            by_store.entry(id).or_default().push(record);
        }
        let mut failed = None;
        state.visit_stores(&mut |id, log| {
            let Some(records) = by_store.remove(&id) else {
                return;
            };
            for record in records {
                let key = record.key.as_deref().and_then(split_key).map(|(_, k)| k);
                let result = apply(log, key.unwrap_or_default(), record.value.as_deref());
                if let Err(e) = result {
                    failed.get_or_insert_with(|| corrupt(&self.topic, record.offset, e));
                    return;
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match by_store.into_iter().next() {
            Some((id, records)) => Err(corrupt(
                &self.topic,
                records.first().map_or(0, |r| r.offset),
                format!("no store has the id {id}"),
            )),
            None => Ok(count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::state::{Store, StoreLog, logged};
    use crate::topics::MemoryTopicStore;

    /// A counter per key and a stream time: the shape of an aggregation's state.
    #[derive(Default)]
    struct Counts {
        counts: Store<String, i64>,
        stream_time: i64,
    }

    impl Counts {
        fn add(&mut self, key: &str, time: i64) {
            *self.counts.get_or_insert_with(key.to_string(), || 0) += 1;
            self.stream_time = self.stream_time.max(time);
        }

        fn snapshot(&self) -> (Vec<(String, i64)>, i64) {
            let mut counts: Vec<_> = self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
            counts.sort();
            (counts, self.stream_time)
        }
    }

    impl Stateful for Counts {
        fn visit_stores(&mut self, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog)) {
            f(3, &mut logged(&mut self.counts));
        }

        fn save_scalars(&self, out: &mut Vec<u8>) {
            self.stream_time.encode(out);
        }

        fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()> {
            self.stream_time = Decode::decode(input)?;
            Ok(())
        }
    }

    fn tracked() -> Counts {
        let mut counts = Counts::default();
        counts.visit_stores(&mut |_, store| store.track_changes());
        counts
    }

    fn commit(log: &Changelog, state: &mut Counts, store: &dyn TopicStore, position: u64) {
        log.write_changes(state, &mut Sender::Log(store), 0)
            .expect("changes written");
        let mut scalars = Vec::new();
        state.save_scalars(&mut scalars);
        let checkpoint = Checkpoint {
            positions: vec![("in".into(), 0, position)],
            scalars,
        };
        log.write_checkpoint(&checkpoint, store, 0)
            .expect("checkpoint written");
    }

    #[test]
    fn a_restore_stops_at_the_last_checkpoint_and_rewrites_what_follows() {
        let store = MemoryTopicStore::new();
        create_topic(&store, "log", 2).expect("created");
        let log = Changelog {
            topic: "log".into(),
            partition: 1,
        };
        let mut state = tracked();
        assert_eq!(log.restore(&mut state, &store).expect("restored"), None);
        for (i, key) in ["a", "b", "a", "c"].iter().enumerate() {
            state.add(key, i as i64);
        }
        commit(&log, &mut state, &store, 4);
        state.counts.remove(&"c".to_string());
        state.add("b", 10);
        commit(&log, &mut state, &store, 6);
        let committed = state.snapshot();
        assert_eq!(committed, (vec![("a".into(), 2), ("b".into(), 2)], 10));

        // A commit cut short: its changes were written, its checkpoint was not.
        state.add("a", 11);
        state.add("d", 12);
        log.write_changes(&mut state, &mut Sender::Log(&store), 0)
            .expect("written");

        let mut restored = tracked();
        let checkpoint = log.restore(&mut restored, &store).expect("restored");
        assert_eq!(
            checkpoint.map(|c| c.positions),
            Some(vec![("in".to_string(), 0, 6)])
        );
        assert_eq!(restored.snapshot(), committed);
        // The keys the cut-short commit wrote are written again, as they were committed.
        let before = store.describe_topic("log").expect("log").end_offsets[1];
        assert_eq!(
            log.write_changes(&mut restored, &mut Sender::Log(&store), 0)
                .expect("rewritten"),
            2
        );
        let rewritten = fetch_to_end(&store, "log", 1, before);
        let values: Vec<Option<i64>> = rewritten
            .iter()
            .map(|r| {
                r.value
                    .as_deref()
                    .map(|v| codec::from_bytes(v).expect("a count"))
            })
            .collect();
        assert!(
            values.contains(&Some(2)) && values.contains(&None),
            "{values:?}"
        );
        commit(&log, &mut restored, &store, 6);
        let mut again = tracked();
        log.restore(&mut again, &store).expect("restored");
        assert_eq!(again.snapshot(), committed);
    }

    impl Changelog {
        /// A whole restore at once.
        fn restore(
            &self,
            state: &mut dyn Stateful,
            store: &dyn TopicStore,
        ) -> Result<Option<Checkpoint>, ExecError> {
            let mut restore = self.begin_restore(store)?;
            loop {
                if let Progress::Done(checkpoint) =
                    self.continue_restore(&mut restore, state, store, usize::MAX)?
                {
                    return Ok(checkpoint);
                }
            }
        }
    }

    fn fetch_to_end(store: &dyn TopicStore, topic: &str, partition: u32, from: u64) -> Vec<Record> {
        crate::topics::fetch_to_end(store, topic, partition, from).expect("fetched")
    }
}
