//! Consumer groups on Kafka: one consumer per group commits and reads the group's offsets.
//!
//! The consumer never joins its group (it subscribes to nothing): Kafka accepts the commits
//! of such a consumer while the group has no members, which a query's group never has, since
//! Sluice's servers share a query's tasks among themselves (`server::cluster`) rather than
//! through the group's members.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;

use super::broker_error;
use crate::topics::Result;

/// The consumer of each group this process commits to.
#[derive(Default)]
pub struct Groups {
    consumers: Mutex<HashMap<String, Arc<BaseConsumer>>>,
}

impl Groups {
    /// The consumer that commits and reads `group`'s offsets.
    pub fn consumer(&self, client: &ClientConfig, group: &str) -> Result<Arc<BaseConsumer>> {
        let mut consumers = self.consumers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(consumer) = consumers.get(group) {
            return Ok(Arc::clone(consumer));
        }
        let mut config = client.clone();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("allow.auto.create.topics", "false");
        let consumer: BaseConsumer = config
            .create()
            .map_err(|e| broker_error("cannot create a group's consumer", &e))?;
        let consumer = Arc::new(consumer);
        consumers.insert(group.to_string(), Arc::clone(&consumer));
        Ok(consumer)
    }
}
