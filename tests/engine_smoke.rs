//! End to end through the engine: statements in, records out.

use std::sync::Arc;

use sluice::engine::listing::QueryStatus;
use sluice::engine::{Engine, Listing, Outcome};
use sluice::topics::{MemoryTopicStore, ProducerRecord, TopicStore};

fn read_values(store: &dyn TopicStore, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    let records = all_records(store, topic);
    records
        .into_iter()
        .map(|r| {
            (
                r.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
                r.value.map(|v| String::from_utf8_lossy(&v).into_owned()),
            )
        })
        .collect()
}

/// A record with a text key and value, at timestamp 5.
fn record(key: &str, value: &str) -> ProducerRecord {
    ProducerRecord {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp: 5,
        ..Default::default()
    }
}

#[test]
fn filter_and_project_a_json_stream() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM pageviews (user STRING KEY, page STRING, ms BIGINT) \
               WITH (kafka_topic='pageviews', value_format='JSON', partitions=2);\n\
             CREATE STREAM slow AS SELECT user, page, ms / 1000 AS secs FROM pageviews WHERE ms > 1000;",
        )
        .unwrap();
    store
        .produce(
            "pageviews",
            vec![
                record("alice", r#"{"PAGE":"/a","MS":500}"#),
                record("bob", r#"{"page":"/b","ms":2500}"#),
                record("carol", "not json"),
            ],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let out = read_values(store.as_ref(), "SLOW");
    assert_eq!(
        out,
        vec![(
            Some("bob".to_string()),
            Some(r#"{"PAGE":"/b","SECS":2}"#.to_string())
        )]
    );
    assert_eq!(engine.processing_log().len(), 1);
}

#[test]
fn a_bad_statement_changes_nothing() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store);
    let err = engine
        .execute_script("CREATE STREAM s (a INT) WITH (kafka_topic='t', value_format='JSON', partitions=1);\nSELEC * FROM s;")
        .unwrap_err();
    assert_eq!(err.0, 1);
    assert!(
        err.1.to_string().starts_with("line 2:1: Syntax Error"),
        "{}",
        err.1
    );
    let err = engine
        .execute_script("CREATE STREAM s2 AS SELECT nope FROM s;")
        .unwrap_err();
    assert!(
        err.1
            .to_string()
            .contains("SELECT column 'NOPE' cannot be resolved."),
        "{}",
        err.1
    );
    assert!(engine.catalog().source("S2").is_none());
}

/// An engine summing `v` per key into table T with the given record cache size, after the
/// records (key, v) were processed.
fn summed(cache: &str, records: &[(&str, i64)]) -> (Arc<MemoryTopicStore>, Engine) {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.set_property("ksql.streams.cache.max.bytes.buffering", cache);
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE TABLE t AS SELECT k, SUM(v) AS total FROM s GROUP BY k;",
        )
        .unwrap();
    let records = records
        .iter()
        .map(|(k, v)| ProducerRecord {
            key: Some(k.as_bytes().to_vec()),
            value: Some(format!("{{\"V\":{v}}}").into_bytes()),
            ..Default::default()
        })
        .collect();
    store.produce("s", records).unwrap();
    engine.run_until_idle().unwrap();
    (store, engine)
}

#[test]
fn caching_holds_table_updates_until_the_query_commits() {
    let run = |cache: &str| {
        let (store, mut engine) = summed(cache, &[("a", 1), ("b", 2), ("a", 3)]);
        let before_commit = read_values(store.as_ref(), "T");
        engine.commit().unwrap();
        (before_commit, read_values(store.as_ref(), "T"))
    };
    let some = |k: &str, v: &str| (Some(k.to_string()), Some(v.to_string()));
    let every_update = vec![
        some("a", r#"{"TOTAL":1}"#),
        some("b", r#"{"TOTAL":2}"#),
        some("a", r#"{"TOTAL":4}"#),
    ];
    assert_eq!(run("0"), (every_update.clone(), every_update));
    // Within the commit interval nothing is written; the commit writes each key's latest.
    let (held, committed) = run("10000000");
    assert!(held.is_empty(), "{held:?}");
    assert_eq!(
        committed,
        vec![some("b", r#"{"TOTAL":2}"#), some("a", r#"{"TOTAL":4}"#)]
    );
    // A pull query sees the held updates: the table's query commits before it is read.
    let (_, mut engine) = summed("10000000", &[("a", 1), ("a", 3)]);
    let text = "SELECT * FROM t WHERE k = 'a';";
    let sluice::engine::transient::QueryKind::Pull(query) =
        engine.parse_query(text, &Default::default()).unwrap()
    else {
        panic!("not a pull query");
    };
    let result = engine
        .pull_query(&query, text, &Default::default())
        .unwrap();
    assert_eq!(
        result.rows,
        vec![vec![
            datafusion::common::ScalarValue::Utf8(Some("a".into())),
            datafusion::common::ScalarValue::Int64(Some(4))
        ]]
    );
    // A cache smaller than one update commits at once.
    let (written, _) = run("1");
    assert_eq!(
        written,
        vec![some("b", r#"{"TOTAL":2}"#), some("a", r#"{"TOTAL":4}"#)]
    );
}

#[test]
fn alter_adds_columns_that_later_queries_read() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM orders (id INT KEY, item STRING) \
               WITH (kafka_topic='orders', value_format='JSON', partitions=1);\n\
             ALTER STREAM orders ADD COLUMN qty INT, ADD note STRING;\n\
             CREATE STREAM big AS SELECT id, item, qty FROM orders WHERE qty > 1;",
        )
        .unwrap();
    let record = |value: &str| ProducerRecord {
        key: Some(vec![0, 0, 0, 7]),
        value: Some(value.as_bytes().to_vec()),
        timestamp: 1,
        ..Default::default()
    };
    store
        .produce(
            "orders",
            vec![
                record(r#"{"ITEM":"pen"}"#),
                record(r#"{"ITEM":"ink","QTY":3}"#),
            ],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let values: Vec<Option<String>> = read_values(store.as_ref(), "BIG")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(values, vec![Some(r#"{"ITEM":"ink","QTY":3}"#.to_string())]);

    // A derived stream and a duplicate column are refused, and change nothing.
    let derived = engine.execute_script("ALTER STREAM big ADD COLUMN extra INT;");
    assert!(
        derived
            .unwrap_err()
            .1
            .to_string()
            .contains("ALTER command is not supported for CREATE ... AS SELECT statements.")
    );
    let duplicate = engine.execute_script("ALTER STREAM orders ADD COLUMN item STRING;");
    assert!(
        duplicate
            .unwrap_err()
            .1
            .to_string()
            .contains("A column with the same name already exists.")
    );
}

/// A column no expression reads is not built, but a bad value in it still skips the record, as
/// ksqlDB's deserializer does; a table's key is kept even when only an aggregate reads the rows.
#[test]
fn unread_columns_are_still_checked_and_table_keys_kept() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (id STRING KEY, a INT, b INT, c STRING) \
               WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE STREAM only_a AS SELECT id, a FROM s;\n\
             CREATE TABLE t (id STRING PRIMARY KEY, g STRING, n INT) \
               WITH (kafka_topic='t', value_format='JSON', partitions=1);\n\
             CREATE TABLE sums AS SELECT g, SUM(n) AS total FROM t GROUP BY g;",
        )
        .unwrap();
    store
        .produce(
            "s",
            vec![
                record("x", r#"{"A":1,"B":2,"C":"c"}"#),
                record("y", r#"{"A":3,"B":"not a number"}"#),
            ],
        )
        .unwrap();
    store
        .produce(
            "t",
            vec![
                record("k1", r#"{"G":"g","N":1}"#),
                record("k2", r#"{"G":"g","N":10}"#),
                record("k1", r#"{"G":"g","N":5}"#),
            ],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(
        read_values(store.as_ref(), "ONLY_A"),
        vec![(Some("x".to_string()), Some(r#"{"A":1}"#.to_string()))]
    );
    let totals: Vec<Option<String>> = read_values(store.as_ref(), "SUMS")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    // k1's update retracts its old row within the same group: 1, 11, then 15 (not 16).
    assert_eq!(
        totals,
        vec![
            Some(r#"{"TOTAL":1}"#.to_string()),
            Some(r#"{"TOTAL":11}"#.to_string()),
            Some(r#"{"TOTAL":15}"#.to_string()),
        ]
    );
}

/// A time-windowed KAFKA STRING key: the key's bytes, then the window start (big-endian).
fn windowed(key: &str, start: i64, value: &str, timestamp: i64) -> ProducerRecord {
    let mut bytes = key.as_bytes().to_vec();
    bytes.extend_from_slice(&start.to_be_bytes());
    ProducerRecord {
        key: Some(bytes),
        value: Some(value.as_bytes().to_vec()),
        timestamp,
        ..Default::default()
    }
}

#[test]
fn windowed_streams_join_only_within_one_window_and_keep_it() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM l (k STRING KEY, a INT) WITH (kafka_topic='l', value_format='JSON', \
               partitions=1, window_type='tumbling', window_size='1 second');\n\
             CREATE STREAM r (k STRING KEY, b INT) WITH (kafka_topic='r', value_format='JSON', \
               partitions=1, window_type='tumbling', window_size='1 second');\n\
             CREATE STREAM j AS SELECT l.k, a, b FROM l JOIN r WITHIN 10 SECONDS ON l.k = r.k;",
        )
        .unwrap();
    store
        .produce("l", vec![windowed("x", 0, r#"{"A":1}"#, 10)])
        .unwrap();
    engine.run_until_idle().unwrap();
    store
        .produce(
            "r",
            vec![
                windowed("x", 1000, r#"{"B":2}"#, 20),
                windowed("x", 0, r#"{"B":3}"#, 30),
            ],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let records = all_records(store.as_ref(), "J");
    assert_eq!(records.len(), 1, "only the record of the same window joins");
    let key = records[0].key.as_deref().unwrap();
    assert_eq!(&key[..1], b"x");
    assert_eq!(key[1..], 0i64.to_be_bytes(), "the result keeps the window");
    assert_eq!(records[0].value.as_deref(), Some(&br#"{"A":1,"B":3}"#[..]));
}

#[test]
fn backlogged_inputs_are_merged_by_timestamp() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE TABLE t (k STRING PRIMARY KEY, name STRING) WITH (kafka_topic='t', value_format='JSON', partitions=1);\n\
             CREATE STREAM j AS SELECT s.k, v, name FROM s JOIN t ON s.k = t.k;",
        )
        .unwrap();
    let at = |key: &str, value: &str, timestamp: i64| ProducerRecord {
        timestamp,
        ..record(key, value)
    };
    // The table row arrives after the stream record but is older: it is joined first, as
    // Kafka Streams picks the input whose next record has the smallest timestamp.
    store
        .produce("s", vec![at("x", r#"{"V":1}"#, 100)])
        .unwrap();
    store
        .produce("t", vec![at("x", r#"{"NAME":"ex"}"#, 50)])
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(
        read_values(store.as_ref(), "J"),
        vec![(
            Some("x".to_string()),
            Some(r#"{"V":1,"NAME":"ex"}"#.to_string())
        )]
    );
}

/// Runs an aggregation and a filter over 4 partitions with `threads` stream threads and returns
/// each output topic's records per key, in order.
fn per_key_outputs(threads: &str) -> Vec<std::collections::BTreeMap<String, Vec<String>>> {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.set_property("ksql.streams.num.stream.threads", threads);
    engine.set_property("ksql.streams.cache.max.bytes.buffering", "0");
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=4);\n\
             CREATE TABLE names (k STRING PRIMARY KEY, name STRING) WITH (kafka_topic='names', value_format='JSON', partitions=4);\n\
             CREATE TABLE totals AS SELECT k, SUM(v) AS total, COUNT(*) AS n FROM s GROUP BY k;\n\
             CREATE STREAM odd AS SELECT k, v FROM s WHERE v % 2 = 1;\n\
             CREATE STREAM named AS SELECT s.k, v, name FROM s JOIN names ON s.k = names.k;",
        )
        .unwrap();
    // Every other key has a name, given before the stream's records (at timestamp 0).
    let names = (0..37)
        .step_by(2)
        .map(|k| ProducerRecord {
            timestamp: 0,
            ..record(&format!("k{k}"), &format!(r#"{{"NAME":"n{k}"}}"#))
        })
        .collect();
    store.produce("names", names).unwrap();
    let records = (0..3000)
        .map(|i| ProducerRecord {
            timestamp: i,
            ..record(&format!("k{}", i % 37), &format!(r#"{{"V":{i}}}"#))
        })
        .collect();
    store.produce("s", records).unwrap();
    engine.run_until_idle().unwrap();
    ["TOTALS", "ODD", "NAMED"]
        .iter()
        .map(|topic| {
            let records = all_records(store.as_ref(), topic);
            let mut by_key = std::collections::BTreeMap::<String, Vec<String>>::new();
            for r in records {
                let key = String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned();
                let value = String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned();
                by_key.entry(key).or_default().push(value);
            }
            by_key
        })
        .collect()
}

#[test]
fn partition_tasks_on_two_threads_give_each_key_the_same_results() {
    let single = per_key_outputs("1");
    let parallel = per_key_outputs("2");
    assert_eq!(single[0].len(), 37);
    assert_eq!(
        single[0]["k0"].len(),
        82,
        "one update per record of the key"
    );
    assert_eq!(
        single[0]["k0"].last().unwrap(),
        &format!(
            r#"{{"TOTAL":{},"N":82}}"#,
            (0..3000).step_by(37).sum::<i64>()
        )
    );
    assert_eq!(single[2].len(), 19, "only the named keys join");
    assert_eq!(single[2]["k2"].len(), 82);
    assert_eq!(single, parallel);
}

#[test]
fn unknown_properties_are_refused_by_name() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store);
    engine
        .execute_script(
            "SET 'auto.offset.reset'='earliest';\nSET 'ksql.streams.num.stream.threads'='2';",
        )
        .unwrap();
    let err = engine
        .execute_script("SET 'auto.offset.rest'='earliest';")
        .unwrap_err();
    assert!(
        err.1.to_string().contains(
            "Not recognizable as ksql, streams, consumer, or producer property: 'auto.offset.rest'"
        ),
        "{}",
        err.1
    );
}

#[test]
fn decimals_wider_than_38_digits_plan_but_do_not_run() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store);
    engine
        .execute_script(
            "CREATE STREAM w (id INT KEY, d DECIMAL(50, 30), n INT) WITH (kafka_topic='w', value_format='JSON', partitions=1);",
        )
        .unwrap();
    for statement in [
        "CREATE STREAM o AS SELECT id, d FROM w;",
        "INSERT INTO w (id, n) VALUES (1, 2);",
    ] {
        let err = engine.execute_script(statement).unwrap_err();
        assert!(
            err.1
                .to_string()
                .contains("DECIMAL(50, 30) is not supported yet"),
            "{statement}: {}",
            err.1
        );
    }
    assert!(engine.catalog().source("O").is_none());
    let err = engine
        .execute_script("CREATE STREAM t (d DECIMAL(77, 1)) WITH (kafka_topic='t', value_format='JSON', partitions=1);")
        .unwrap_err();
    assert!(
        err.1
            .to_string()
            .contains("DECIMAL precision must be between 1 and 76: 77"),
        "{}",
        err.1
    );
}

#[test]
fn maps_keep_null_keys() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (id STRING KEY, k STRING, v INT) \
               WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE STREAM o AS SELECT id, MAP(k := v, CAST(NULL AS STRING) := v + 1) AS m, \
               ARRAY_LENGTH(MAP_KEYS(MAP(k := v, CAST(NULL AS STRING) := v))) AS n, \
               MAP_UNION(MAP(k := v), MAP(CAST(NULL AS STRING) := v))['a'] AS a FROM s;",
        )
        .unwrap();
    store
        .produce(
            "s",
            vec![
                record("1", r#"{"k":"a","v":1}"#),
                record("2", r#"{"k":null,"v":7}"#),
            ],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let out = read_values(store.as_ref(), "O");
    let values: Vec<serde_json::Value> = out
        .iter()
        .map(|(_, v)| serde_json::from_str(v.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(
        values,
        vec![
            serde_json::json!({"M": {"a": 1, "null": 2}, "N": 2, "A": 1}),
            // Both keys are NULL: the later entry replaces the earlier one.
            serde_json::json!({"M": {"null": 8}, "N": 1, "A": null}),
        ]
    );
}

/// Every record of a topic, partition by partition.
fn all_records(store: &dyn TopicStore, topic: &str) -> Vec<sluice::topics::Record> {
    let partitions = store.describe_topic(topic).unwrap().config.partitions;
    (0..partitions)
        .flat_map(|p| sluice::topics::fetch_to_end(store, topic, p, 0).unwrap())
        .collect()
}

#[test]
fn a_new_persistent_query_starts_where_auto_offset_reset_says_and_commits_its_group() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
        )
        .unwrap();
    let values = |keys: &[&str]| -> Vec<ProducerRecord> {
        keys.iter().map(|k| record(k, r#"{"V":1}"#)).collect()
    };
    store.produce("s", values(&["a", "b", "c"])).unwrap();
    engine
        .execute_script("CREATE STREAM from_latest AS SELECT * FROM s;")
        .unwrap();
    engine.set_property("auto.offset.reset", "earliest");
    engine
        .execute_script("CREATE STREAM from_earliest AS SELECT * FROM s;")
        .unwrap();
    store.produce("s", values(&["d"])).unwrap();
    engine.run_until_idle().unwrap();
    engine.commit().unwrap();
    assert_eq!(read_values(store.as_ref(), "FROM_LATEST").len(), 1);
    assert_eq!(read_values(store.as_ref(), "FROM_EARLIEST").len(), 4);
    // Each query's consumer group, named as ksqlDB names it, holds how far it read.
    for id in ["CSAS_FROM_LATEST_0", "CSAS_FROM_EARLIEST_1"] {
        let group = format!("_confluent-ksql-default_query_{id}");
        let committed = store.committed_offsets(&group, "s").unwrap();
        assert_eq!(committed.len(), 2, "{id}: both partitions");
        assert_eq!(committed.values().sum::<u64>(), 4, "{id}: every record");
    }
}

#[test]
fn a_failing_query_goes_to_error_and_the_others_keep_running() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, ts STRING, v INT) WITH (kafka_topic='s', value_format='JSON', \
               partitions=1, timestamp='ts', timestamp_format='yyyy-MM-dd');\n\
             CREATE STREAM lenient AS SELECT * FROM s;\n\
             SET 'ksql.timestamp.throw.on.invalid'='true';\n\
             CREATE STREAM strict AS SELECT * FROM s;",
        )
        .unwrap();
    store
        .produce(
            "s",
            vec![
                record("a", r#"{"TS":"2024-01-02","V":1}"#),
                record("b", r#"{"TS":"not a date","V":2}"#),
                record("c", r#"{"TS":"2024-01-03","V":3}"#),
            ],
        )
        .unwrap();
    let failure = engine.run_until_idle().unwrap_err();
    assert!(
        failure
            .to_string()
            .contains("invalid timestamp in column TS"),
        "{failure}"
    );
    // The lenient query skipped the bad record and went on; the strict one stopped.
    assert_eq!(read_values(store.as_ref(), "LENIENT").len(), 2);
    assert!(read_values(store.as_ref(), "STRICT").len() <= 1);
    let shown = engine.execute_script("SHOW QUERIES;").unwrap();
    let Outcome::Listing(Listing::Queries(queries)) = &shown[0] else {
        panic!("{shown:?}")
    };
    let states: Vec<(&str, &str)> = queries
        .iter()
        .map(|q| (q.query.id.as_str(), q.status.name()))
        .collect();
    assert_eq!(
        states,
        [("CSAS_LENIENT_0", "RUNNING"), ("CSAS_STRICT_1", "ERROR")]
    );
    let explained = engine.execute_script("EXPLAIN CSAS_STRICT_1;").unwrap();
    let Outcome::Listing(Listing::Query(description)) = &explained[0] else {
        panic!("{explained:?}")
    };
    let QueryStatus::Error(error) = &description.status else {
        panic!("{description:?}")
    };
    assert!(error.contains("invalid timestamp"), "{error}");
    // The failed query is not run again; the other one keeps processing.
    store
        .produce("s", vec![record("d", r#"{"TS":"2024-01-04","V":4}"#)])
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(read_values(store.as_ref(), "LENIENT").len(), 3);
}

#[test]
fn push_queries_beyond_a_configured_limit_are_refused_until_one_ends() {
    use sluice::engine::transient::QueryKind;
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.set_property("ksql.max.push.queries", "1");
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let text = "SELECT * FROM s EMIT CHANGES;";
    let none = std::collections::BTreeMap::new();
    let Ok(QueryKind::Push(query)) = engine.parse_query(text, &none) else {
        panic!("a push query")
    };
    let first = engine.start_push_query(&query, text, &none).unwrap();
    let Err(refused) = engine.start_push_query(&query, text, &none) else {
        panic!("a second push query past the limit")
    };
    assert!(
        refused
            .to_string()
            .contains("Current push query count: 1. Configured limit: 1."),
        "{refused}"
    );
    // A client that goes away frees its place.
    drop(first);
    engine.run_until_idle().unwrap();
    assert!(engine.start_push_query(&query, text, &none).is_ok());
}

#[test]
fn the_processing_log_is_a_stream_that_sql_reads() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine.create_processing_log_stream().unwrap();
    engine.set_property("auto.offset.reset", "earliest");
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE STREAM copy AS SELECT k, v * 2 AS twice FROM s;\n\
             CREATE STREAM failures AS SELECT LOGGER, MESSAGE->TYPE AS KIND, \
               MESSAGE->DESERIALIZATIONERROR->`TOPIC` AS SOURCE_TOPIC, \
               MESSAGE->DESERIALIZATIONERROR->TARGET AS PART \
               FROM KSQL_PROCESSING_LOG;",
        )
        .unwrap();
    store
        .produce(
            "s",
            vec![record("a", "not json"), record("b", r#"{"V":1}"#)],
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(read_values(store.as_ref(), "COPY").len(), 1);
    let failures = read_values(store.as_ref(), "FAILURES");
    assert_eq!(failures.len(), 1, "{failures:?}");
    let value = failures[0].1.as_deref().unwrap_or_default();
    assert_eq!(
        value,
        r#"{"LOGGER":"processing.CSAS_COPY_0","KIND":0,"SOURCE_TOPIC":"s","PART":"value"}"#
    );
    // The topic's name is ksqlDB's, from the service id.
    assert!(store.describe_topic("default_ksql_processing_log").is_ok());
}

#[test]
fn describe_extended_shows_how_far_each_writing_query_has_read() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "SET 'auto.offset.reset'='earliest';\n\
             CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=2);\n\
             CREATE TABLE t AS SELECT k, COUNT(*) AS c FROM s GROUP BY k;",
        )
        .unwrap();
    let records: Vec<ProducerRecord> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| record(k, r#"{"V":1}"#))
        .collect();
    store.produce("s", records).unwrap();
    engine.run_until_idle().unwrap();
    engine.commit().unwrap();
    let described = engine.execute_script("DESCRIBE t EXTENDED;").unwrap();
    let Outcome::Listing(Listing::Source(description)) = &described[0] else {
        panic!("DESCRIBE answered {:?}", described[0]);
    };
    let [progress] = description.offsets.as_slice() else {
        panic!("one writing query: {:?}", description.offsets);
    };
    assert_eq!(progress.group, "_confluent-ksql-default_query_CTAS_T_0");
    let [topic] = progress.topics.as_slice() else {
        panic!("one input topic: {:?}", progress.topics);
    };
    assert_eq!(topic.topic, "s");
    let ends = store.describe_topic("s").unwrap().end_offsets;
    for p in &topic.partitions {
        assert_eq!(p.log_end, ends[p.partition as usize]);
        assert_eq!((p.committed, p.lag()), (p.log_end, 0), "{p:?}");
    }
    // Without EXTENDED there is nothing to measure.
    let plain = engine.execute_script("DESCRIBE t;").unwrap();
    let Outcome::Listing(Listing::Source(description)) = &plain[0] else {
        panic!("DESCRIBE answered {:?}", plain[0]);
    };
    assert!(description.offsets.is_empty());
}

#[test]
fn under_exactly_once_a_query_writes_only_when_it_commits_its_transaction() {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (k STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=2);\n\
             SET 'processing.guarantee'='exactly_once_v2';\n\
             SET 'commit.interval.ms'='3600000';\n\
             SET 'cache.max.bytes.buffering'='0';\n\
             SET 'auto.offset.reset'='earliest';\n\
             CREATE STREAM c AS SELECT * FROM s;\n\
             CREATE TABLE n AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;",
        )
        .unwrap();
    let keys = ["a", "b", "c", "a", "b", "a"];
    store
        .produce("s", keys.iter().map(|k| record(k, r#"{"V":1}"#)).collect())
        .unwrap();
    engine.run_until_idle().unwrap();
    // Processed, not committed: nothing of it is in any topic yet.
    assert!(all_records(store.as_ref(), "C").is_empty());
    assert!(all_records(store.as_ref(), "N").is_empty());
    engine.commit().unwrap();
    assert_eq!(all_records(store.as_ref(), "C").len(), 6);
    let counts: Vec<(Option<String>, Option<String>)> = read_values(store.as_ref(), "N");
    assert_eq!(counts.len(), 6, "{counts:?}");
    assert!(counts.contains(&(Some("a".into()), Some(r#"{"N":3}"#.into()))));
    // With them, each query's offsets and (the aggregate) its state and checkpoint.
    for id in ["CSAS_C_0", "CTAS_N_1"] {
        let group = format!("_confluent-ksql-default_query_{id}");
        let committed = store.committed_offsets(&group, "s").unwrap();
        assert_eq!(committed.values().sum::<u64>(), 6, "{id}");
    }
    let changelog =
        "_confluent-ksql-default_query_CTAS_N_1-Aggregate-Aggregate-Materialize-changelog";
    let logged = all_records(store.as_ref(), changelog);
    // One entry per key, closed by the checkpoint.
    assert_eq!(logged.len(), 4, "{logged:?}");
    assert_eq!(logged[3].key.as_deref(), Some(&[0xFF, 0xFF][..]));

    let err = engine
        .execute_script(
            "SET 'processing.guarantee'='sometimes';\nCREATE STREAM d AS SELECT * FROM s;",
        )
        .unwrap_err();
    assert!(
        err.1.to_string().starts_with("Invalid value sometimes"),
        "{}",
        err.1
    );
    assert!(engine.catalog().source("D").is_none());
}
