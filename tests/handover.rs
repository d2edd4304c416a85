//! Tasks handed between servers: a query of a server that shares its tasks runs only those
//! handed to it, commits a task before giving it up, and a task it is given restores its
//! state from the changelog and goes on from the committed offsets.
//!
//! Here the test hands the tasks out; `server::cluster` does it between real servers
//! (tests/kafka.rs).

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice::engine::Engine;
use sluice::topics::{MemoryTopicStore, ProducerRecord, TopicStore, fetch_to_end};

fn click(user: &str, n: i64) -> ProducerRecord {
    ProducerRecord {
        key: Some(user.as_bytes().to_vec()),
        value: Some(format!("{{\"N\":{n}}}").into_bytes()),
        timestamp: 1,
        ..ProducerRecord::default()
    }
}

/// The latest total of each user in the table's topic.
fn totals(store: &dyn TopicStore) -> BTreeMap<String, String> {
    let mut latest = BTreeMap::new();
    for partition in 0..2 {
        for record in fetch_to_end(store, "TOTALS", partition, 0).unwrap() {
            let key = String::from_utf8_lossy(record.key.as_deref().unwrap()).to_string();
            let value = String::from_utf8_lossy(record.value.as_deref().unwrap()).to_string();
            latest.insert(key, value);
        }
    }
    latest
}

#[test]
fn a_query_runs_only_the_tasks_its_group_gives_it() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.share_tasks();
    engine.set_property("ksql.streams.cache.max.bytes.buffering", "0");
    engine
        .execute_script(
            "CREATE STREAM clicks (user STRING KEY, n INT) WITH (kafka_topic='clicks', value_format='JSON', partitions=2);\n\
             SET 'auto.offset.reset'='earliest';\n\
             CREATE TABLE totals AS SELECT user, SUM(n) AS total FROM clicks GROUP BY user;",
        )
        .unwrap();
    let query = engine.runtime().queries().pop().expect("the query");
    // "a" and "c" hash to different partitions of two.
    let users = ["a", "b", "c", "d"];
    let partition_of = |user: &str| sluice::topics::partition_for_key(user.as_bytes(), 2);
    let (mine, theirs): (Vec<&str>, Vec<&str>) = users.iter().partition(|u| partition_of(u) == 0);
    assert!(!mine.is_empty() && !theirs.is_empty());
    store
        .produce("clicks", users.iter().map(|u| click(u, 1)).collect())
        .unwrap();

    // Nothing is this process's yet: nothing runs.
    engine.run_until_idle().unwrap();
    assert!(totals(store.as_ref()).is_empty());

    // Given partition 0, it counts the users there only.
    query.take_over(&[0], store.as_ref());
    engine.run_until_idle().unwrap();
    let counted = totals(store.as_ref());
    assert_eq!(
        counted.keys().map(String::as_str).collect::<Vec<_>>(),
        mine,
        "{counted:?}"
    );

    // Given up, the task commits; given back, it restores its state from the changelog and
    // counts on from where it committed: each click once.
    query.release(&[0], store.as_ref());
    store
        .produce("clicks", users.iter().map(|u| click(u, 10)).collect())
        .unwrap();
    engine.run_until_idle().unwrap();
    query.take_over(&[0, 1], store.as_ref());
    engine.run_until_idle().unwrap();
    let counted = totals(store.as_ref());
    for user in users {
        assert_eq!(counted[user], r#"{"TOTAL":11}"#, "{user}: {counted:?}");
    }
}
