//! Sluice on a Kafka cluster: the topic store against a real Kafka-protocol broker, a server
//! that keeps everything there and comes back from the cluster alone, and records exchanged
//! with an ordinary Kafka client.
//!
//! The broker is the one `.ci/run` starts; `SLUICE_KAFKA` names it (`127.0.0.1:9092`), and
//! `SLUICE_KAFKA_SCRAM` a second one that requires SASL/SCRAM, with its user. Without them each
//! test says SKIPPED and passes, unless `SLUICE_REQUIRE_KAFKA` is set (CI sets it).
//!
//! The test broker (tansu) has no transactions, deletes every topic when asked to delete one,
//! and cannot describe consumer groups. So every test uses topics and a service id of its own,
//! servers run with `delete.topic.enable=false`, and exactly-once (transactions) is covered on
//! the embedded log only (`tests/durability.rs`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice::topics::{
    CleanupPolicy, FetchLimits, Header, KafkaOptions, KafkaTopicStore, ProducerRecord, TopicConfig,
    TopicError, TopicStore, fetch_to_end, partition_for_key,
};
use support::Server;

/// Skips a test that lacks `what`, unless `SLUICE_REQUIRE_KAFKA` says it must run.
fn skip<T>(what: &str) -> Option<T> {
    assert!(
        std::env::var_os("SLUICE_REQUIRE_KAFKA").is_none(),
        "SLUICE_REQUIRE_KAFKA is set but {what}"
    );
    println!("SKIPPED: {what}");
    None
}

/// The broker's address, or `None` (the test is skipped) when none is configured.
fn broker() -> Option<String> {
    match std::env::var("SLUICE_KAFKA") {
        Ok(address) if !address.is_empty() => Some(address),
        _ => skip("SLUICE_KAFKA names no Kafka broker"),
    }
}

/// A name no other test or run uses (the broker outlives the test run).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

fn connect(broker: &str) -> KafkaTopicStore {
    let mut options = KafkaOptions::new(broker);
    options.delete_topics = false;
    KafkaTopicStore::connect(options).expect("connect to the broker")
}

#[test]
fn the_store_keeps_kafkas_semantics() {
    let Some(broker) = broker() else { return };
    let store = connect(&broker);
    let topic = unique("store");
    let config = TopicConfig {
        partitions: 4,
        cleanup_policy: CleanupPolicy::Compact,
        retention_ms: None,
        ..TopicConfig::default()
    };
    store.create_topic(&topic, config.clone()).expect("create");
    store
        .create_topic(&topic, config.clone())
        .expect("creating it again is a no-op");
    assert_eq!(
        store.create_topic(&topic, TopicConfig::with_partitions(2)),
        Err(TopicError::PartitionMismatch {
            topic: topic.clone(),
            expected: 2,
            actual: 4
        })
    );

    // Keyed records land where Kafka's Java default partitioner puts them, with their
    // timestamps and headers (repeated keys and null values included).
    let records: Vec<ProducerRecord> = (0..200)
        .map(|i| ProducerRecord {
            key: Some(format!("key-{}", i % 17).into_bytes()),
            value: (i % 50 != 49).then(|| format!("{{\"n\":{i}}}").into_bytes()),
            timestamp: 1_000 + i,
            headers: vec![
                Header {
                    key: "h".into(),
                    value: Some(vec![i as u8]),
                },
                Header {
                    key: "h".into(),
                    value: None,
                },
            ],
            partition: None,
        })
        .collect();
    let positions = store.produce(&topic, records.clone()).expect("produce");
    let mut next = [0u64; 4];
    for (record, &(partition, offset)) in records.iter().zip(&positions) {
        let key = record.key.as_deref().expect("a key");
        assert_eq!(partition, partition_for_key(key, 4), "{key:?}");
        assert_eq!(
            offset, next[partition as usize],
            "offsets count up per partition"
        );
        next[partition as usize] += 1;
    }
    let mut read = BTreeMap::new();
    for partition in 0..4 {
        for record in fetch_to_end(&store, &topic, partition, 0).expect("fetch") {
            read.insert((record.partition, record.offset), record);
        }
    }
    assert_eq!(read.len(), 200);
    for (sent, position) in records.iter().zip(&positions) {
        let got = &read[position];
        assert_eq!(got.key.as_deref(), sent.key.as_deref());
        assert_eq!(got.value.as_deref(), sent.value.as_deref());
        assert_eq!(got.timestamp, sent.timestamp);
        assert_eq!(got.headers, sent.headers);
    }
    let described = store.describe_topic(&topic).expect("describe");
    assert_eq!(described.config.partitions, 4);
    assert_eq!(described.config.cleanup_policy, CleanupPolicy::Compact);
    assert_eq!(described.end_offsets, next.to_vec());
    assert_eq!(described.start_offsets, vec![0; 4]);

    // A fetch stops at its limit and says there is more; from the end it is empty.
    let first = store
        .fetch(&topic, 0, 0, FetchLimits::records(3))
        .expect("fetch");
    assert_eq!(first.records.len(), 3);
    assert!(first.high_watermark > 3);
    let at_end = store
        .fetch(&topic, 0, next[0], FetchLimits::records(10))
        .expect("fetch at the end");
    assert!(at_end.records.is_empty());
    assert_eq!(at_end.high_watermark, next[0]);

    // Records sent without waiting are there once flushed, and a reader caught up with the
    // partition sees them at once.
    let more: Vec<ProducerRecord> = (0..10)
        .map(|i| ProducerRecord {
            key: Some(b"key-0".to_vec()),
            value: Some(format!("{{\"more\":{i}}}").into_bytes()),
            timestamp: 5_000 + i,
            ..ProducerRecord::default()
        })
        .collect();
    store.produce_unflushed(&topic, more).expect("send");
    store.flush().expect("flush");
    let partition = partition_for_key(b"key-0", 4);
    let tail = store
        .fetch(
            &topic,
            partition,
            next[partition as usize],
            FetchLimits::records(100),
        )
        .expect("fetch the new records");
    assert_eq!(tail.records.len(), 10);

    assert_eq!(
        store
            .offset_for_timestamp(&topic, partition, 5_000)
            .expect("offset by time"),
        Some(next[partition as usize])
    );
    assert_eq!(
        store
            .offset_for_timestamp(&topic, partition, 9_999)
            .expect("offset by time"),
        None
    );

    // Committed offsets are the cluster's: another client reads them back.
    let group = unique("group");
    store
        .commit_offsets(&group, &topic, &[(0, 5), (3, 7)])
        .expect("commit");
    let expected = BTreeMap::from([(0, 5), (3, 7)]);
    assert_eq!(
        store.committed_offsets(&group, &topic),
        Ok(expected.clone())
    );
    assert_eq!(
        connect(&broker).committed_offsets(&group, &topic),
        Ok(expected)
    );
    assert!(matches!(
        store.commit_offsets(&group, &topic, &[(9, 1)]),
        Err(TopicError::UnknownPartition { partition: 9, .. })
    ));

    assert!(matches!(
        store.describe_topic(&unique("missing")),
        Err(TopicError::UnknownTopic(_))
    ));
    assert!(matches!(
        store.fetch(&topic, 4, 0, FetchLimits::records(1)),
        Err(TopicError::UnknownPartition { partition: 4, .. })
    ));
}

/// The properties of a server on the broker, in service `service`.
fn kafka_properties(broker: &str, service: &str) -> String {
    format!(
        "bootstrap.servers={broker}\nksql.service.id={service}\ndelete.topic.enable=false\nksql.streams.commit.interval.ms=200\n"
    )
}

/// Waits until the pull query's rows, as (key, count) pairs, are `expected`.
fn wait_for_counts(server: &Server, sql: &str, expected: &BTreeMap<String, i64>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = BTreeMap::new();
    while Instant::now() < deadline {
        let (_, rows) = server.query_stream(sql, json!({}));
        last = rows
            .iter()
            .filter_map(|row| {
                let columns = row.as_array()?;
                Some((
                    columns.first()?.as_str()?.to_string(),
                    columns.get(1)?.as_i64()?,
                ))
            })
            .collect();
        if &last == expected {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the pull query answered {last:?}, not {expected:?}");
}

fn insert_views(server: &Server, from: usize, to: usize) {
    let sql: String = (from..to)
        .map(|i| {
            format!(
                "INSERT INTO pageviews (user, page) VALUES ('u{}', 'p{i}');\n",
                i % 10
            )
        })
        .collect();
    let started = Instant::now();
    server.ksql_ok(&sql);
    println!("inserts {from}..{to}: {:?}", started.elapsed());
}

#[test]
fn a_server_on_kafka_comes_back_from_the_cluster_alone() {
    let Some(broker) = broker() else { return };
    let service = unique("svc");
    let topic = unique("pageviews");
    let properties = kafka_properties(&broker, &service);
    let mut server = Server::start_configured(&properties);
    server.ksql_ok(&format!(
        "CREATE STREAM pageviews (user VARCHAR KEY, page VARCHAR) WITH (kafka_topic='{topic}', value_format='JSON', partitions=4);\n\
         CREATE TABLE views AS SELECT user, COUNT(*) AS n FROM pageviews GROUP BY user;"
    ));
    insert_views(&server, 0, 100);
    let mut expected: BTreeMap<String, i64> = (0..10).map(|u| (format!("u{u}"), 10)).collect();
    let pull = "SELECT user, n FROM views;";
    wait_for_counts(&server, pull, &expected);

    // The catalog is in the command topic and the counts' state in its changelog, both on the
    // cluster: a new server of the same service, with nothing on its disk, answers the same.
    let topics = server.ksql_ok("SHOW ALL TOPICS;");
    let names: Vec<&str> = topics[0]["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&format!("_confluent-ksql-{service}_command_topic").as_str()));
    assert!(
        names.iter().any(
            |n| n.starts_with(&format!("_confluent-ksql-{service}query_CTAS_VIEWS_"))
                && n.ends_with("-changelog")
        ),
        "{names:?}"
    );
    // Past a commit (every 200 ms here), so no input is counted twice after the kill.
    std::thread::sleep(Duration::from_secs(2));
    server.kill();
    let server = Server::start_configured(&properties);
    let listed = server.ksql_ok("SHOW STREAMS;");
    assert!(listed[0]["streams"].to_string().contains("PAGEVIEWS"));
    wait_for_counts(&server, pull, &expected);

    // It goes on counting from the restored state.
    insert_views(&server, 100, 120);
    for u in 0..10 {
        *expected.get_mut(&format!("u{u}")).expect("a user") += 2;
    }
    wait_for_counts(&server, pull, &expected);

    // Exactly-once needs transactions, which the Kafka store does not have yet: refused.
    let refused = server.ksql(
        "SET 'processing.guarantee'='exactly_once_v2';\nCREATE STREAM copy AS SELECT * FROM pageviews;",
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("not supported yet on Kafka"),
        "{}",
        refused.text()
    );
}

/// `SLUICE_KAFKA_PYTHON`, the interpreter of a virtualenv with the `confluent-kafka`
/// package's `module` (its AVRO serializers need the `avro` extra), if any.
fn kafka_python(module: &str) -> Option<String> {
    let Ok(python) = std::env::var("SLUICE_KAFKA_PYTHON") else {
        return skip("SLUICE_KAFKA_PYTHON names no Python with confluent-kafka");
    };
    let found = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Some(python)
    } else {
        skip(&format!("{python} has no {module}"))
    }
}

#[test]
fn ordinary_kafka_clients_read_and_write_what_sluice_does() {
    let Some(broker) = broker() else { return };
    let Some(python) = kafka_python("confluent_kafka") else {
        return;
    };
    let service = unique("interop");
    let server = Server::start_configured(&kafka_properties(&broker, &service));
    let json_in = unique("json_in");
    let delimited_in = unique("delimited_in");
    let kafka_in = unique("kafka_in");
    let out = unique("out");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_kafka_interop.py"
    );
    let run = |step: &str| {
        let output = std::process::Command::new(&python)
            .args([
                script,
                step,
                &broker,
                &json_in,
                &delimited_in,
                &kafka_in,
                &out,
            ])
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{step}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    // The client creates the topics (4 partitions) and produces with its own partitioner.
    run("produce");
    server.ksql_ok(&format!(
        "SET 'auto.offset.reset'='earliest';\n\
         CREATE STREAM json_in (id VARCHAR KEY, v INT, tags ARRAY<VARCHAR>) WITH (kafka_topic='{json_in}', value_format='JSON');\n\
         CREATE STREAM delimited_in (id VARCHAR KEY, name VARCHAR, score DOUBLE) WITH (kafka_topic='{delimited_in}', value_format='DELIMITED');\n\
         CREATE STREAM kafka_in (id INT KEY, n BIGINT) WITH (kafka_topic='{kafka_in}', key_format='KAFKA', value_format='KAFKA');\n\
         CREATE STREAM joined WITH (kafka_topic='{out}', value_format='JSON', partitions=4) AS \
           SELECT j.id AS id, j.v * 2 AS doubled, j.tags[1] AS first_tag, d.name AS name, d.score AS score \
           FROM json_in j JOIN delimited_in d WITHIN 1 HOURS ON j.id = d.id;"
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, rows) = server.query_stream(
            "SELECT id, n FROM kafka_in EMIT CHANGES LIMIT 5;",
            json!({"ksql.streams.auto.offset.reset": "earliest"}),
        );
        let rows: Vec<Value> = rows.into_iter().filter(Value::is_array).collect();
        if rows.len() == 5 {
            let sum: i64 = rows.iter().filter_map(|r| r[1].as_i64()).sum();
            let ids: i64 = rows.iter().filter_map(|r| r[0].as_i64()).sum();
            assert_eq!((ids, sum), (10, 5_000_000_000_010));
            break;
        }
        assert!(Instant::now() < deadline, "kafka_in rows: {rows:?}");
    }
    // The client reads Sluice's output: JSON as ksqlDB writes it, keyed as ksqlDB keys it,
    // each key in the partition the client's own partitioner puts it.
    let report = run("consume");
    assert!(report.contains("consumed 20"), "{report}");
}

#[test]
fn avro_records_go_both_ways_through_the_schema_registry() {
    let Some(broker) = broker() else { return };
    let Some(python) = kafka_python("confluent_kafka.schema_registry.avro") else {
        return;
    };
    let service = unique("avro");
    let server = Server::start_configured(&kafka_properties(&broker, &service));
    let (orders, out) = (unique("orders"), unique("doubled"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_kafka_avro.py"
    );
    let registry = server.url();
    let run = |step: &str, topic: &str| {
        let output = std::process::Command::new(&python)
            .args([script, step, &broker, &registry, topic])
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{step}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    // The client registers its schema in Sluice's registry and writes Confluent's wire format;
    // the stream takes its columns from that schema.
    run("produce", &orders);
    server.ksql_ok(&format!(
        "SET 'auto.offset.reset'='earliest';\n\
         CREATE STREAM orders WITH (kafka_topic='{orders}', value_format='AVRO');\n\
         CREATE STREAM doubled WITH (kafka_topic='{out}', value_format='AVRO', partitions=2) AS \
           SELECT id, item, amount * 2 AS doubled, note FROM orders;"
    ));
    let described = server.ksql_ok("DESCRIBE orders;");
    let fields: Vec<&str> = described[0]["sourceDescription"]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(fields, ["ID", "ITEM", "AMOUNT", "NOTE"]);
    // The client reads what Sluice wrote, with the schema Sluice registered for it.
    let report = run("consume", &out);
    assert!(report.contains("consumed 10"), "{report}");
}

/// Each live server's partitions of `query`, from `/clusterStatus`.
fn owners(server: &Server, query: &str) -> BTreeMap<String, Vec<u64>> {
    let status = server.get("/clusterStatus").json();
    status["clusterStatus"]
        .as_object()
        .map(|hosts| {
            hosts
                .iter()
                .filter(|(_, h)| h["hostAlive"] == json!(true))
                .map(|(host, h)| {
                    let mut partitions: Vec<u64> =
                        h["activeStandbyPerQuery"][query]["activePartitions"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|p| p["partition"].as_u64()).collect())
                            .unwrap_or_default();
                    partitions.sort_unstable();
                    (host.clone(), partitions)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `ready` holds of the query's owners as `server` reports them; returns them.
fn wait_for_owners(
    server: &Server,
    query: &str,
    within: Duration,
    ready: impl Fn(&BTreeMap<String, Vec<u64>>) -> bool,
) -> BTreeMap<String, Vec<u64>> {
    let deadline = Instant::now() + within;
    loop {
        let owners = owners(server, query);
        if ready(&owners) {
            return owners;
        }
        assert!(Instant::now() < deadline, "owners of {query}: {owners:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Inserts clicks `from..to`, adding each to `totals`. Each INSERT waits for the broker's
/// acknowledgement (tens of milliseconds on a loaded test broker), so they go in requests of 20.
fn insert_clicks(server: &Server, from: usize, to: usize, totals: &mut BTreeMap<String, i64>) {
    let started = Instant::now();
    for chunk in (from..to).collect::<Vec<_>>().chunks(20) {
        let sql: String = chunk
            .iter()
            .map(|&i| {
                let user = format!("u{}", i % 20);
                *totals.entry(user.clone()).or_default() += i as i64;
                format!("INSERT INTO clicks (user, n) VALUES ('{user}', {i});\n")
            })
            .collect();
        server.ksql_ok(&sql);
    }
    println!("inserts {from}..{to}: {:?}", started.elapsed());
}

#[test]
fn two_servers_share_a_query_and_one_takes_over_when_the_other_is_killed() {
    let Some(broker) = broker() else { return };
    let service = unique("pair");
    let topic = unique("clicks");
    let properties = kafka_properties(&broker, &service);
    let mut first = Server::start_configured(&properties);
    let second = Server::start_configured(&properties);
    first.ksql_ok(&format!(
        "CREATE STREAM clicks (user VARCHAR KEY, n INT) WITH (kafka_topic='{topic}', value_format='JSON', partitions=4);\n\
         CREATE TABLE totals AS SELECT user, SUM(n) AS total FROM clicks GROUP BY user;"
    ));
    let queries = first.ksql_ok("SHOW QUERIES;");
    let query = queries[0]["queries"][0]["id"]
        .as_str()
        .expect("the query's id")
        .to_string();
    let query = query.as_str();
    // The second server applies the statements it reads from the command topic, and the
    // query's group splits its four tasks between the two.
    let split = wait_for_owners(&second, query, Duration::from_secs(60), |owners| {
        let all: Vec<u64> = owners.values().flatten().copied().collect();
        owners.len() == 2 && owners.values().all(|p| !p.is_empty()) && all.len() == 4
    });
    let mut all: Vec<u64> = split.values().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, vec![0, 1, 2, 3], "{split:?}");
    println!("split: {split:?}");

    let mut totals = BTreeMap::new();
    insert_clicks(&first, 0, 200, &mut totals);
    let pull = "SELECT user, total FROM totals;";
    // Either server answers for every key.
    wait_for_counts(&first, pull, &totals);
    wait_for_counts(&second, pull, &totals);

    // kill -9 one: the other is given its tasks, restores their state from the changelog
    // and goes on; no acknowledged record is lost, none counted twice.
    first.kill();
    let killed = Instant::now();
    let taken = wait_for_owners(&second, query, Duration::from_secs(60), |owners| {
        owners.len() == 1 && owners.values().next().is_some_and(|p| p.len() == 4)
    });
    let takeover = killed.elapsed();
    println!("takeover after kill -9: {takeover:?} ({taken:?})");
    wait_for_counts(&second, pull, &totals);
    insert_clicks(&second, 200, 300, &mut totals);
    wait_for_counts(&second, pull, &totals);
}

/// The broker that requires SASL/SCRAM, and its user: `SLUICE_KAFKA_SCRAM` is
/// `HOST:PORT USER PASSWORD` (`.ci/run` starts one); `None` skips the test as [`broker`] does.
fn scram_broker() -> Option<(String, String, String)> {
    let named = std::env::var("SLUICE_KAFKA_SCRAM").unwrap_or_default();
    match named.split_whitespace().collect::<Vec<_>>().as_slice() {
        [broker, user, password] => {
            Some((broker.to_string(), user.to_string(), password.to_string()))
        }
        _ => skip("SLUICE_KAFKA_SCRAM names no SCRAM broker"),
    }
}

#[test]
fn a_server_authenticates_to_a_secured_cluster_as_ksqldb_is_configured() {
    let Some((broker, user, password)) = scram_broker() else {
        return;
    };
    let service = unique("scram");
    let topic = unique("readings");
    // The lines a ksqlDB server on this cluster would have, as Kafka's Java clients name them.
    let properties = |password: &str| {
        format!(
            "{}security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"{user}\" password=\"{password}\";\n",
            kafka_properties(&broker, &service)
        )
    };
    let server = Server::start_configured(&properties(&password));
    server.ksql_ok(&format!(
        "CREATE STREAM readings (id VARCHAR KEY, v INT) WITH (kafka_topic='{topic}', value_format='JSON', partitions=2);\n\
         CREATE TABLE totals AS SELECT id, SUM(v) AS total FROM readings GROUP BY id;\n\
         INSERT INTO readings (id, v) VALUES ('a', 1);\n\
         INSERT INTO readings (id, v) VALUES ('b', 2);\n\
         INSERT INTO readings (id, v) VALUES ('a', 3);"
    ));
    let expected = BTreeMap::from([("a".to_string(), 4), ("b".to_string(), 2)]);
    wait_for_counts(&server, "SELECT id, total FROM totals;", &expected);

    // A wrong password stops the start at once, saying why, rather than after the timeout.
    let dir = tempfile::tempdir().expect("a directory");
    let config = dir.path().join("ksql-server.properties");
    std::fs::write(&config, properties("not-the-password")).expect("write the properties");
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["server", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run the server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("refused the credentials"),
        "the server said: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Corpus files run on the broker in CI: headers, and the partitions and offsets records get
/// (the full corpus's figure on Kafka is in the README). Most other files give their records
/// a timestamp of 0, which librdkafka's producer replaces with the time of sending.
const CORPUS_ON_KAFKA: [&str; 2] = ["headers.json", "row-offset-and-partition.json"];

/// The names of the cases a run passed.
fn passed(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| l.strip_prefix("PASS "))
        .map(str::to_string)
        .collect()
}

#[test]
fn corpus_cases_pass_on_kafka_as_they_do_in_memory() {
    let Some(broker) = broker() else { return };
    let files: Vec<std::path::PathBuf> = CORPUS_ON_KAFKA
        .iter()
        .map(|f| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/ksqldb-tests/query-validation-tests")
                .join(f)
        })
        .collect();
    let mut in_memory = Vec::new();
    sluice::testing::run_paths(&files, None, &mut in_memory);
    let log = sluice::testing::SharedLog::new(std::sync::Arc::new(connect(&broker)));
    let options = sluice::testing::RunOptions {
        log: Some(log),
        case_timeout: Duration::from_secs(60),
        ..Default::default()
    };
    let mut on_kafka = Vec::new();
    sluice::testing::run_paths_with(&files, &options, &mut on_kafka);
    let (memory, kafka) = (passed(&in_memory), passed(&on_kafka));
    assert!(
        memory.len() >= 20,
        "{}",
        String::from_utf8_lossy(&in_memory)
    );
    assert_eq!(
        kafka,
        memory,
        "on Kafka:\n{}",
        String::from_utf8_lossy(&on_kafka)
    );
}
