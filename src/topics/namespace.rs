//! A part of a shared store set aside for one user (a test case, a benchmark run): every
//! topic and consumer group name is given its prefix on the way in and loses it on the way
//! out, so users that name the same topics share one Kafka cluster without meeting.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::topics::{
    CommittedOffsets, FetchLimits, Fetched, Position, ProducerRecord, Result, TopicConfig,
    TopicDescription, TopicError, TopicStore, Transaction,
};

pub struct Namespace {
    inner: Arc<dyn TopicStore>,
    prefix: String,
}

impl Namespace {
    pub fn new(inner: Arc<dyn TopicStore>, prefix: String) -> Namespace {
        Namespace { inner, prefix }
    }

    fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn local<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(self.prefix.as_str())
    }

    /// An error of the shared store, with the case's names.
    fn unprefixed(&self, error: TopicError) -> TopicError {
        let strip = |name: String| self.local(&name).map_or(name.clone(), str::to_string);
        match error {
            TopicError::UnknownTopic(topic) => TopicError::UnknownTopic(strip(topic)),
            TopicError::UnknownPartition { topic, partition } => TopicError::UnknownPartition {
                topic: strip(topic),
                partition,
            },
            TopicError::PartitionMismatch {
                topic,
                expected,
                actual,
            } => TopicError::PartitionMismatch {
                topic: strip(topic),
                expected,
                actual,
            },
            TopicError::OffsetOutOfRange {
                topic,
                partition,
                offset,
            } => TopicError::OffsetOutOfRange {
                topic: strip(topic),
                partition,
                offset,
            },
            other => other,
        }
    }

    fn described(&self, mut description: TopicDescription) -> TopicDescription {
        description.name = self
            .local(&description.name)
            .unwrap_or(&description.name)
            .to_string();
        description
    }
}

impl TopicStore for Namespace {
    fn create_topic(&self, name: &str, config: TopicConfig) -> Result<()> {
        self.inner
            .create_topic(&self.name(name), config)
            .map_err(|e| self.unprefixed(e))
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        self.inner
            .delete_topic(&self.name(name))
            .map_err(|e| self.unprefixed(e))
    }

    fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        self.inner
            .describe_topic(&self.name(name))
            .map(|d| self.described(d))
            .map_err(|e| self.unprefixed(e))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        let mut topics = Vec::new();
        for name in self.inner.topic_names()? {
            if self.local(&name).is_none() {
                continue;
            }
            match self.inner.describe_topic(&name) {
                Ok(topic) => topics.push(self.described(topic)),
                // Deleted since it was listed.
                Err(TopicError::UnknownTopic(_)) => {}
                Err(e) => return Err(self.unprefixed(e)),
            }
        }
        Ok(topics)
    }

    fn topic_names(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .topic_names()?
            .iter()
            .filter_map(|name| self.local(name).map(str::to_string))
            .collect())
    }

    fn produce(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<Vec<Position>> {
        self.inner
            .produce(&self.name(topic), records)
            .map_err(|e| self.unprefixed(e))
    }

    fn produce_unflushed(&self, topic: &str, records: Vec<ProducerRecord>) -> Result<()> {
        self.inner
            .produce_unflushed(&self.name(topic), records)
            .map_err(|e| self.unprefixed(e))
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }

    fn fetch(
        &self,
        topic: &str,
        partition: u32,
        offset: u64,
        limits: FetchLimits,
    ) -> Result<Fetched> {
        self.inner
            .fetch(&self.name(topic), partition, offset, limits)
            .map_err(|e| self.unprefixed(e))
    }

    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<u64>> {
        self.inner
            .offset_for_timestamp(&self.name(topic), partition, timestamp)
            .map_err(|e| self.unprefixed(e))
    }

    fn commit_transaction(&self, mut transaction: Transaction) -> Result<Vec<Vec<Position>>> {
        transaction.producer = self.name(&transaction.producer);
        for (topic, _) in &mut transaction.writes {
            *topic = self.name(topic);
        }
        for (group, topic, _) in &mut transaction.offsets {
            *group = self.name(group);
            *topic = self.name(topic);
        }
        self.inner
            .commit_transaction(transaction)
            .map_err(|e| self.unprefixed(e))
    }

    fn supports_transactions(&self) -> bool {
        self.inner.supports_transactions()
    }

    fn commit_offsets(&self, group: &str, topic: &str, offsets: &[(u32, u64)]) -> Result<()> {
        self.inner
            .commit_offsets(&self.name(group), &self.name(topic), offsets)
            .map_err(|e| self.unprefixed(e))
    }

    fn group_offsets(&self) -> Result<CommittedOffsets> {
        Ok(self
            .inner
            .group_offsets()?
            .into_iter()
            .filter_map(|((group, topic), offsets)| {
                let group = self.local(&group)?.to_string();
                let topic = self.local(&topic)?.to_string();
                Some(((group, topic), offsets))
            })
            .collect())
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<BTreeMap<u32, u64>> {
        self.inner
            .committed_offsets(&self.name(group), &self.name(topic))
            .map_err(|e| self.unprefixed(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::MemoryTopicStore;

    #[test]
    fn a_case_sees_its_own_names_and_nothing_of_another_case() {
        let shared: Arc<dyn TopicStore> = Arc::new(MemoryTopicStore::new());
        let one = Namespace::new(Arc::clone(&shared), "a-".into());
        let two = Namespace::new(Arc::clone(&shared), "b-".into());
        one.create_topic("t", TopicConfig::with_partitions(2))
            .expect("create");
        two.create_topic("t", TopicConfig::with_partitions(1))
            .expect("the same name in another case");
        let record = ProducerRecord {
            value: Some(b"v".to_vec()),
            partition: Some(1),
            ..ProducerRecord::default()
        };
        assert_eq!(one.produce("t", vec![record]), Ok(vec![(1, 0)]));
        assert_eq!(one.describe_topic("t").map(|d| d.name), Ok("t".into()));
        assert_eq!(two.describe_topic("t").map(|d| d.end_offsets), Ok(vec![0]));
        let names: Vec<String> = one
            .list_topics()
            .expect("list")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, vec!["t".to_string()]);
        assert_eq!(
            shared.describe_topic("a-t").map(|d| d.end_offsets),
            Ok(vec![0, 1])
        );
        assert_eq!(
            one.describe_topic("missing"),
            Err(TopicError::UnknownTopic("missing".into()))
        );
        one.commit_offsets("g", "t", &[(1, 1)]).expect("commit");
        assert_eq!(
            one.group_offsets().expect("groups"),
            BTreeMap::from([(("g".into(), "t".into()), BTreeMap::from([(1, 1)]))])
        );
        assert!(two.group_offsets().expect("groups").is_empty());
        let fetched = one
            .fetch("t", 1, 0, FetchLimits::records(10))
            .expect("fetch");
        assert_eq!(fetched.records.len(), 1);
    }
}
