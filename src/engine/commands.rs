//! The command topic: every statement that changed the catalog, in the order it was applied,
//! with the properties it ran under. A server appends each command before it answers, and at
//! start-up replays the topic to rebuild its catalog and restart its queries, which then resume
//! from their consumer groups' committed offsets.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, SERVICE_ID};
use crate::sql;
use crate::topics::{CleanupPolicy, ProducerRecord, TopicConfig, TopicStore, fetch_to_end};

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
        let mut replayed = Replayed::default();
        let base = self.properties_snapshot();
        for record in records {
            let command: Command = match record.value.as_ref().map(|v| serde_json::from_slice(v)) {
                Some(Ok(command)) => command,
                other => {
                    let why = match other {
                        Some(Err(e)) => e.to_string(),
                        _ => "no value".to_string(),
                    };
                    return Err(EngineError::Internal(format!(
                        "command {} of {topic} cannot be read: {why}",
                        record.offset
                    )));
                }
            };
            self.properties = command.properties;
            self.next_query_number = command.query_number;
            match self.execute_text(&command.statement, sql::Location::default()) {
                Ok(_) => replayed.applied += 1,
                Err(e) => {
                    tracing::warn!("replaying `{}`: {e}", command.statement);
                    replayed.failed.push((command.statement, e.to_string()));
                }
            }
        }
        self.properties = base;
        self.command_topic = Some(topic);
        Ok(replayed)
    }

    /// Appends a command that was just applied; it is durable when this returns.
    pub(super) fn record_command(
        &self,
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
        store
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
        Ok(())
    }
}
