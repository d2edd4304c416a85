//! The servers of one service on Kafka: which are alive, and which runs each task.
//!
//! Every server says each second, in its service's heartbeat topic
//! (`_confluent-ksql-<service id>__heartbeats`), that it is alive and which partitions of each
//! query it runs, and reads what all the others said. A server not heard from for
//! [`ALIVE_WINDOW`] is dead (ksqlDB's `hostAlive: false` in `/clusterStatus`).
//!
//! The tasks of each query (one per partition of its first input) are shared out over the
//! live servers, sorted by address: task `p` of a query belongs to server
//! `(p + h) mod n`, `h` a hash of the query's id so that single-task queries spread too.
//! Each server, at each heartbeat, releases the tasks no longer its own (each commits, then
//! drops its state) and takes over those that are its own and that no other live server
//! still says it runs (each restores its state from the changelog and reads on from the
//! committed offsets). A task moves only once its old owner has let it go or is dead, so a
//! task runs on two servers at once only when two start within the same second, each before
//! hearing of the other; that lasts one heartbeat and repeats work, as at-least-once allows.
//!
//! The servers share out the tasks themselves rather than through the members of each
//! query's Kafka consumer group: a Kafka-protocol broker whose group coordinator does not
//! hand a dead member's partitions to the others (the test broker's) still fails over.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::exec::Runtime;
use crate::topics::{CleanupPolicy, ProducerRecord, TopicConfig, TopicStore, fetch_to_end};

/// How often a server says it is alive.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// How long a server may be silent and still count as alive.
const ALIVE_WINDOW: Duration = Duration::from_secs(3);

/// What one server said in its last heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Heartbeat {
    host: String,
    time_ms: i64,
    /// The partitions of its first input whose tasks it runs, by query id.
    queries: BTreeMap<String, Vec<(String, u32)>>,
}

/// The heartbeats of the service's servers.
pub struct Cluster {
    store: Arc<dyn TopicStore>,
    topic: String,
    /// This server's advertised address.
    host: String,
    /// The latest heartbeat of each server, and the offset to read on from.
    seen: Mutex<(BTreeMap<String, Heartbeat>, u64)>,
}

impl Cluster {
    /// Creates (if missing) the service's heartbeat topic, for this server at `host`.
    pub fn join(
        store: Arc<dyn TopicStore>,
        service: &str,
        host: String,
    ) -> crate::topics::Result<Arc<Cluster>> {
        let topic = format!("_confluent-ksql-{service}__heartbeats");
        let config = TopicConfig {
            partitions: 1,
            cleanup_policy: CleanupPolicy::Compact,
            retention_ms: None,
            ..TopicConfig::default()
        };
        store.create_topic(&topic, config)?;
        let start = store
            .describe_topic(&topic)?
            .start_offsets
            .first()
            .copied()
            .unwrap_or(0);
        Ok(Arc::new(Cluster {
            store,
            topic,
            host,
            seen: Mutex::new((BTreeMap::new(), start)),
        }))
    }

    /// Says, every second, that this server is alive and what it runs; reads what the others
    /// said.
    pub fn start(self: &Arc<Self>, runtime: Arc<Runtime>) {
        let cluster = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let cluster = Arc::clone(&cluster);
                let runtime = Arc::clone(&runtime);
                let beat = tokio::task::spawn_blocking(move || cluster.beat(&runtime)).await;
                if let Ok(Err(e)) = beat {
                    tracing::warn!("heartbeat: {e}");
                }
            }
        });
    }

    fn beat(&self, runtime: &Runtime) -> crate::topics::Result<()> {
        self.read()?;
        self.balance(runtime);
        self.publish(runtime)
    }

    /// Reads the heartbeats written since the last look.
    fn read(&self) -> crate::topics::Result<()> {
        let from = self.lock().1;
        let records = fetch_to_end(self.store.as_ref(), &self.topic, 0, from)?;
        let mut seen = self.lock();
        for record in records {
            seen.1 = seen.1.max(record.offset + 1);
            let Some(heartbeat) = record
                .value
                .and_then(|v| serde_json::from_slice::<Heartbeat>(&v).ok())
            else {
                continue;
            };
            seen.0.insert(heartbeat.host.clone(), heartbeat);
        }
        Ok(())
    }

    /// Lets go of the tasks no longer this server's, and takes those that are and are free.
    fn balance(&self, runtime: &Runtime) {
        let now = now_ms();
        let window = i64::try_from(ALIVE_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let others: Vec<Heartbeat> = self
            .lock()
            .0
            .values()
            .filter(|h| h.host != self.host && now - h.time_ms <= window)
            .cloned()
            .collect();
        let mut live: Vec<&str> = others.iter().map(|h| h.host.as_str()).collect();
        live.push(&self.host);
        live.sort_unstable();
        for query in runtime.queries() {
            let Some(owned) = query.owned_partitions() else {
                continue;
            };
            let shift = query.id.bytes().fold(0usize, |h, b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            let mine: Vec<u32> = (0..query.shareable_tasks())
                .filter(|&p| {
                    let slot = (p as usize).wrapping_add(shift) % live.len();
                    live[slot] == self.host
                })
                .collect();
            let release: Vec<u32> = owned
                .iter()
                .copied()
                .filter(|p| !mine.contains(p))
                .collect();
            if !release.is_empty() {
                query.release(&release, self.store.as_ref());
            }
            let claimed: Vec<u32> = others
                .iter()
                .filter_map(|h| h.queries.get(&query.id))
                .flatten()
                .map(|(_, p)| *p)
                .collect();
            let take: Vec<u32> = mine
                .into_iter()
                .filter(|p| !owned.contains(p) && !claimed.contains(p))
                .collect();
            if !take.is_empty() {
                tracing::info!(
                    "query {}: taking over the tasks of partitions {take:?}",
                    query.id
                );
                query.take_over(&take, self.store.as_ref());
            }
        }
    }

    /// Says that this server is alive, and what it runs.
    fn publish(&self, runtime: &Runtime) -> crate::topics::Result<()> {
        let queries = runtime
            .queries()
            .iter()
            .filter(|q| !q.is_push())
            .map(|q| {
                let topic = q.source_topics().first().map(|t| t.to_string());
                let partitions = q.owned_partitions().unwrap_or_else(|| {
                    (0..q.task_count())
                        .filter_map(|t| u32::try_from(t).ok())
                        .collect()
                });
                let owned = topic
                    .map(|topic| partitions.into_iter().map(|p| (topic.clone(), p)).collect())
                    .unwrap_or_default();
                (q.id.clone(), owned)
            })
            .collect();
        let heartbeat = Heartbeat {
            host: self.host.clone(),
            time_ms: now_ms(),
            queries,
        };
        let value = serde_json::to_vec(&heartbeat)
            .map_err(|e| crate::topics::TopicError::Kafka(e.to_string()))?;
        self.store.produce(
            &self.topic,
            vec![ProducerRecord {
                key: Some(self.host.clone().into_bytes()),
                value: Some(value),
                timestamp: heartbeat.time_ms,
                ..ProducerRecord::default()
            }],
        )?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (BTreeMap<String, Heartbeat>, u64)> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `/clusterStatus` as ksqlDB answers it: every server heard from, whether it is alive,
    /// and the partitions each runs of each query.
    pub fn status(&self) -> Value {
        let now = now_ms();
        let window = i64::try_from(ALIVE_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let hosts: serde_json::Map<String, Value> = self
            .lock()
            .0
            .values()
            .map(|heartbeat| {
                let queries: serde_json::Map<String, Value> = heartbeat
                    .queries
                    .iter()
                    .map(|(query, partitions)| {
                        let active: Vec<Value> = partitions
                            .iter()
                            .map(|(topic, partition)| json!({"topic": topic, "partition": partition}))
                            .collect();
                        (
                            query.clone(),
                            json!({"activeStores": [], "activePartitions": active, "standByStores": [], "standByPartitions": []}),
                        )
                    })
                    .collect();
                (
                    heartbeat.host.clone(),
                    json!({
                        "hostAlive": now - heartbeat.time_ms <= window,
                        "lastStatusUpdateMs": heartbeat.time_ms,
                        "activeStandbyPerQuery": queries,
                        "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": heartbeat.time_ms}
                    }),
                )
            })
            .collect();
        json!({ "clusterStatus": hosts })
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
