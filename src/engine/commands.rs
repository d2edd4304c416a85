//! The command topic: every statement that changed the catalog, in the order it was applied,
//! with the properties it ran under. A server appends each command before it answers, and at
//! start-up replays the topic to rebuild its catalog and restart its queries, which then resume
//! from their consumer groups' committed offsets.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, SERVICE_ID};
use crate::registry::SchemaRecord;
use crate::sql;
use crate::topics::{CleanupPolicy, ProducerRecord, TopicConfig, TopicStore, fetch_to_end};

/// The topic Confluent's schema registry keeps its schemas in.
pub const SCHEMAS_TOPIC: &str = "_schemas";

/// One command as the topic holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Command {
    /// The statement as applied, variables substituted.
    statement: String,
    /// Every property in force when it ran.
    properties: BTreeMap<String, String>,
    /// The number the next query id took, so a replayed query gets the same id.
    query_number: u64,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    pub applied: usize,
    /// Commands that failed again, with why (a topic deleted behind the server's back, …).
    pub failed: Vec<(String, String)>,
}

impl Engine {
    /// The command topic's name, as ksqlDB names it: `_confluent-ksql-<service id>_command_topic`.
    pub fn command_topic_name(&self) -> String {
        let service = self.property(SERVICE_ID).unwrap_or("default_");
        format!("_confluent-ksql-{service}_command_topic")
    }

    /// The topic the schema registry keeps its state in: Confluent's `_schemas` on the
    /// embedded log; on a shared Kafka cluster, where a Confluent registry may keep its own
    /// `_schemas`, one of this service's (`_confluent-ksql-<service id>__schemas`).
    pub fn schemas_topic_name(&self, shared_cluster: bool) -> String {
        if shared_cluster {
            let service = self.property(SERVICE_ID).unwrap_or("default_");
            format!("_confluent-ksql-{service}__schemas")
        } else {
            SCHEMAS_TOPIC.to_string()
        }
    }

    /// Restores the schema registry from `topic` (created if missing), then writes every
    /// later registration there, as Confluent's registry keeps its state in `_schemas`.
    /// Returns how many registrations it restored.
    pub fn recover_schemas(&mut self, topic: &str) -> Result<usize, EngineError> {
        let config = TopicConfig {
            partitions: 1,
            cleanup_policy: CleanupPolicy::Compact,
            retention_ms: None,
            ..TopicConfig::default()
        };
        self.store.create_topic(topic, config)?;
        let mut restored = 0;
        for record in fetch_to_end(self.store.as_ref(), topic, 0, 0)? {
            let Some(value) = record.value else {
                continue;
            };
            let registration = serde_json::from_slice::<SchemaRecord>(&value)
                .map_err(|e| e.to_string())
                .and_then(|r| self.registry.restore(r).map_err(|e| e.to_string()));
            match registration {
                Ok(()) => restored += 1,
                Err(e) => tracing::warn!(
                    "schema registration {} of {topic} skipped: {e}",
                    record.offset
                ),
            }
        }
        let store = Arc::clone(&self.store);
        let topic = topic.to_string();
        self.registry
            .journal_to(Arc::new(move |registration: &SchemaRecord| {
                let key = serde_json::json!({
                    "keytype": "SCHEMA",
                    "subject": registration.subject,
                    "version": registration.version,
                    "magic": 1,
                });
                let record = serde_json::to_vec(&key)
                    .and_then(|key| Ok((key, serde_json::to_vec(registration)?)))
                    .map(|(key, value)| ProducerRecord {
                        key: Some(key),
                        value: Some(value),
                        timestamp: chrono::Utc::now().timestamp_millis(),
                        ..Default::default()
                    });
                let written = record
                    .map_err(|e| e.to_string())
                    .and_then(|r| store.produce(&topic, vec![r]).map_err(|e| e.to_string()));
                if let Err(e) = written {
                    // The statement that registered it is in the command topic, whose replay
                    // registers it again.
                    tracing::warn!(
                        "the schema of {} could not be written to {topic}: {e}",
                        registration.subject
                    );
                }
            }));
        Ok(restored)
    }

    /// Replays the command topic (created if missing), then records every later command in it.
    pub fn recover_from_command_topic(&mut self) -> Result<Replayed, EngineError> {
        let topic = self.command_topic_name();
        let config = TopicConfig {
            partitions: 1,
            cleanup_policy: CleanupPolicy::Delete,
            retention_ms: None,
            ..TopicConfig::default()
        };
        self.store.create_topic(&topic, config)?;
        let records = fetch_to_end(self.store.as_ref(), &topic, 0, 0)?;
        self.command_next = records.last().map_or(0, |r| r.offset + 1);
        let replayed = self.apply_commands(&topic, records)?;
        self.command_topic = Some(topic);
        Ok(replayed)
    }

    /// Applies the commands other servers of the service recorded since this one last looked
    /// (servers sharing a service id share one catalog). Returns what it applied.
    pub fn follow_command_topic(&mut self) -> Result<Replayed, EngineError> {
        let Some(topic) = self.command_topic.clone() else {
            return Ok(Replayed::default());
        };
        let fetched = fetch_to_end(self.store.as_ref(), &topic, 0, self.command_next)?;
        if let Some(last) = fetched.last() {
            self.command_next = self.command_next.max(last.offset + 1);
        }
        // This server's own commands were applied when they ran.
        let records: Vec<_> = fetched
            .into_iter()
            .filter(|r| !self.own_commands.remove(&r.offset))
            .collect();
        self.apply_commands(&topic, records)
    }

    /// Runs recorded commands again, each under the properties and query number it ran with.
    fn apply_commands(
        &mut self,
        topic: &str,
        records: Vec<crate::topics::Record>,
    ) -> Result<Replayed, EngineError> {
        let mut replayed = Replayed::default();
        let base = self.properties_snapshot();
        self.replaying = true;
        for record in records {
            self.command_next = self.command_next.max(record.offset + 1);
            let command: Command = match record.value.as_ref().map(|v| serde_json::from_slice(v)) {
                Some(Ok(command)) => command,
                other => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no value".to_string(),
                    };
                    self.replaying = false;
                    self.properties = base;
                    return Err(EngineError::Internal(format!(
                        "command {} of {topic} cannot be read: {why}",
                        record.offset
                    )));
                }
            };
            self.properties = command.properties;
            self.next_query_number = self.next_query_number.max(command.query_number);
            match self.execute_text(&command.statement, sql::Location::default()) {
                Ok(_) => replayed.applied += 1,
                Err(e) => {
                    tracing::warn!("replaying `{}`: {e}", command.statement);
                    replayed.failed.push((command.statement, e.to_string()));
                }
            }
        }
        self.replaying = false;
        self.properties = base;
        Ok(replayed)
    }

    /// Appends a command that was just applied; it is durable when this returns.
    pub(super) fn record_command(
        &mut self,
        statement: &str,
        query_number: u64,
    ) -> Result<(), EngineError> {
        let Some(topic) = &self.command_topic else {
            return Ok(());
        };
        let command = Command {
            statement: statement.to_string(),
            properties: self.properties.clone(),
            query_number,
        };
        let value = serde_json::to_vec(&command)
            .map_err(|e| EngineError::Internal(format!("cannot encode a command: {e}")))?;
        let store: &Arc<dyn TopicStore> = &self.store;
        let positions = store
            .produce(
                topic,
                vec![ProducerRecord {
                    key: None,
                    value: Some(value),
                    timestamp: chrono::Utc::now().timestamp_millis(),
                    ..Default::default()
                }],
            )
            .map_err(|e| {
                EngineError::Runtime(format!(
                    "The statement was applied but could not be recorded in {topic}, so a restart would not recover it: {e}"
                ))
            })?;
        self.own_commands
            .extend(positions.into_iter().map(|(_, offset)| offset));
        Ok(())
    }
}
