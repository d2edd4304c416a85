//! A topic store that remembers the order of produces, as ksqlDB's test driver hands out a
//! topic's output: in the order the records were written, across partitions.
//!
//! The log itself has no order across partitions (see [`crate::topics`]); a test that expects
//! records in the order a query wrote them observes the produce calls instead.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::topics::{
    FetchLimits, Fetched, MemoryTopicStore, Position, ProducerRecord, Record, Result, TopicConfig,
    TopicDescription, TopicStore, Transaction, fetch_to_end,
};

/// A store that records where each produced record went, per topic.
pub struct CapturingStore {
    inner: Arc<dyn TopicStore>,
    produced: Mutex<HashMap<String, Vec<Position>>>,
}

impl Default for CapturingStore {
    fn default() -> Self {
        CapturingStore::on(Arc::new(MemoryTopicStore::new()))
    }
}

impl CapturingStore {
    /// In memory.
    pub fn new() -> CapturingStore {
        CapturingStore::default()
    }

    /// On another store (a namespace of a Kafka cluster, say).
    pub fn on(inner: Arc<dyn TopicStore>) -> CapturingStore {
        CapturingStore {
            inner,
            produced: Mutex::default(),
        }
    }

    /// Every record produced to `topic` (still held), in the order of the produces; nothing
    /// when the topic does not exist.
    pub fn produced(&self, topic: &str) -> Result<Vec<Record>> {
        let positions = self
            .produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned()
            .unwrap_or_default();
        // Each partition read once, from the first offset produced to it.
        let mut firsts: BTreeMap<u32, u64> = BTreeMap::new();
        for &(partition, offset) in &positions {
            let first = firsts.entry(partition).or_insert(offset);
            *first = (*first).min(offset);
        }
        let mut held: HashMap<Position, Record> = HashMap::new();
        for (partition, first) in firsts {
            for record in fetch_to_end(self.inner.as_ref(), topic, partition, first)? {
                held.insert((partition, record.offset), record);
            }
        }
        Ok(positions
            .into_iter()
            .filter_map(|position| held.remove(&position))
            .collect())
    }
}

impl TopicStore for CapturingStore {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        self.inner.create_topic(name, config)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        self.inner.delete_topic(name)?;
        self.produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        self.inner.describe_topic(name)
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        self.inner.list_topics()
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        // Held across the produce, so concurrent producers are recorded in the log's order.
        let mut produced = self.produced.lock().unwrap_or_else(|e| e.into_inner());
        let positions = self.inner.produce(topic, records)?;
        produced
            .entry(topic.to_string())
            .or_default()
            .extend(positions.iter().copied());
        Ok(positions)
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        self.inner.fetch(topic, partition, offset, limits)
    }

    fn commit_transaction(&self, transaction: Transaction) -> Result<Vec<Vec<Position>>> {
        let mut produced = self.produced.lock().unwrap_or_else(|e| e.into_inner());
        let topics: Vec<String> = transaction.writes.iter().map(|(t, _)| t.clone()).collect();
        let positions = self.inner.commit_transaction(transaction)?;
        for (topic, written) in topics.into_iter().zip(&positions) {
            produced
                .entry(topic)
                .or_default()
                .extend(written.iter().copied());
        }
        Ok(positions)
    }

    fn supports_transactions(&self) -> bool {
        self.inner.supports_transactions()
    }

    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()> {
        self.inner.commit_offsets(group, topic, offsets)
    }

    fn group_offsets(&self) -> Result<BTreeMap<(String, String), BTreeMap<u32, u64>>> {
        self.inner.group_offsets()
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<BTreeMap<u32, u64>> {
        self.inner.committed_offsets(group, topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_the_order_they_were_produced_across_partitions() {
        let store = CapturingStore::new();
        store
            .create_topic("t", TopicConfig::with_partitions(3))
            .unwrap();
        let on = |partition, timestamp| ProducerRecord {
            partition: Some(partition),
            timestamp,
            ..Default::default()
        };
        store.produce("t", vec![on(2, 1), on(0, 2)]).unwrap();
        store.produce("t", vec![on(1, 3), on(2, 4)]).unwrap();
        let stamps: Vec<i64> = store
            .produced("t")
            .unwrap()
            .iter()
            .map(|r| r.timestamp)
            .collect();
        assert_eq!(stamps, vec![1, 2, 3, 4]);
        assert!(store.produced("none").unwrap().is_empty());
    }
}
