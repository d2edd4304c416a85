//! The server on its data directory: what it acknowledged survives a SIGKILL, and a restart
//! brings back the catalog and the queries, which resume where they were.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Server;

/// Rows of a pull query over a stream (its whole topic), sorted by their text.
fn rows(server: &Server, sql: &str) -> Vec<String> {
    let (_, rows) = server.query_stream(sql, json!({}));
    let mut rows: Vec<String> = rows.iter().map(Value::to_string).collect();
    rows.sort();
    rows
}

/// Waits until a pull query returns `count` distinct rows (at least once: a query killed
/// between writing a row and committing its input may write it again).
fn wait_for_rows(server: &Server, sql: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut found = rows(server, sql);
        found.dedup();
        if found.len() == count || Instant::now() > deadline {
            assert_eq!(found.len(), count, "{sql}: {found:?}");
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn insert(server: &Server, values: &[(&str, i64)]) {
    let statements: String = values
        .iter()
        .map(|(id, v)| format!("INSERT INTO S (ID, V) VALUES ('{id}', {v});"))
        .collect();
    server.ksql_ok(&statements);
}

#[test]
fn a_killed_server_restarts_with_its_topics_catalog_and_queries() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(data.path(), &[]);
    let created = server.ksql_ok(
        "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);\
         CREATE STREAM BIG AS SELECT ID, V FROM S WHERE V > 1;",
    );
    assert_eq!(created[1]["commandSequenceNumber"], 1);
    insert(&server, &[("a", 1), ("b", 2), ("c", 3)]);
    wait_for_rows(&server, "SELECT * FROM BIG;", 2);
    server.kill();

    let server = Server::start_in(data.path(), &[]);
    let streams = server.ksql_ok("SHOW STREAMS;");
    let names: Vec<&str> = streams[0]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"S") && names.contains(&"BIG"), "{names:?}");
    // The internal topics (the command topic, committed offsets) are hidden, as in ksqlDB,
    // unless asked for.
    let topic_names = |sql: &str| -> Vec<String> {
        server.ksql_ok(sql)[0]["topics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(topic_names("SHOW TOPICS;"), ["BIG", "s"]);
    let all = topic_names("SHOW ALL TOPICS;");
    assert!(all.contains(&"__consumer_offsets".to_string()), "{all:?}");
    assert!(
        all.contains(&"_confluent-ksql-default__command_topic".to_string()),
        "{all:?}"
    );
    let extended = server.ksql_ok("SHOW TOPICS EXTENDED;");
    assert_eq!(extended[0]["@type"], "kafka_topics_extended");
    let s_topic = extended[0]["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "s")
        .cloned()
        .unwrap_or_default();
    // BIG's query reads both partitions of s: one group, a consumer per partition.
    assert_eq!(s_topic["consumerGroupCount"], 1, "{extended:?}");
    assert_eq!(s_topic["consumerCount"], 2, "{extended:?}");
    assert_eq!(s_topic["replicaInfo"], json!([1, 1]));
    let queries = server.ksql_ok("SHOW QUERIES;");
    assert_eq!(queries[0]["queries"][0]["id"], "CSAS_BIG_0", "{queries:?}");
    // Every acknowledged record is there, and the query goes on from where it was: no row
    // is missed.
    assert_eq!(rows(&server, "SELECT * FROM S;").len(), 3);
    insert(&server, &[("d", 4), ("e", 0)]);
    let big = wait_for_rows(&server, "SELECT * FROM BIG;", 3);
    assert!(big.iter().any(|r| r.contains("\"d\"")), "{big:?}");
    // Command numbers go on rising across the restart.
    let created = server.ksql_ok("CREATE STREAM SMALL AS SELECT * FROM S WHERE V < 2;");
    assert_eq!(created[0]["commandSequenceNumber"], 2, "{created:?}");
    assert_eq!(created[0]["commandStatus"]["queryId"], "CSAS_SMALL_1");
}

#[test]
fn a_data_directory_serves_one_server_at_a_time() {
    let data = tempfile::tempdir().unwrap();
    let _server = Server::start_in(data.path(), &[]);
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another Sluice process"),
        "{stderr}"
    );
}

/// The value of column `column` in the one row a pull query returns, once it equals `want`.
fn wait_for_value(server: &Server, sql: &str, column: usize, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, rows) = server.query_stream(sql, json!({}));
        let got = rows.first().and_then(|r| r[column].as_i64());
        if got == Some(want) || Instant::now() > deadline {
            assert_eq!(got, Some(want), "{sql}: {rows:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_aggregate_goes_on_counting_after_a_kill() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(data.path(), &[]);
    server.ksql_ok(
        "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);",
    );
    // Before the table: a new query reads from the latest offset, so this is never counted.
    insert(&server, &[("a", 100)]);
    server
        .ksql_ok("CREATE TABLE T AS SELECT ID, COUNT(*) AS N, SUM(V) AS TOTAL FROM S GROUP BY ID;");
    insert(&server, &[("a", 1), ("b", 2), ("a", 3)]);
    wait_for_value(&server, "SELECT * FROM T WHERE ID = 'a';", 1, 2);
    server.kill();

    let server = Server::start_in(data.path(), &[]);
    insert(&server, &[("a", 5)]);
    wait_for_value(&server, "SELECT * FROM T WHERE ID = 'a';", 1, 3);
    wait_for_value(&server, "SELECT * FROM T WHERE ID = 'a';", 2, 9);
    wait_for_value(&server, "SELECT * FROM T WHERE ID = 'b';", 1, 1);
}

/// Distinct keys of the crash test's records.
const CRASH_KEYS: u64 = 50;

/// Posts batches of lines to `/topics/s/records` until `stop` is set or the server stops
/// answering; returns the sequence numbers whose batch was acknowledged, and the next one.
fn produce_until_killed(
    addr: std::net::SocketAddr,
    mut seq: u64,
    stop: &std::sync::atomic::AtomicBool,
) -> (Vec<u64>, u64) {
    const BATCH: u64 = 3000;
    let mut acked = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let body: String = (seq..seq + BATCH)
            .map(|s| format!("{{\"ID\":\"k{}\",\"SEQ\":{s}}}\n", s % CRASH_KEYS))
            .collect();
        let answer = support::try_request(
            addr,
            "POST",
            "/topics/s/records?key=ID",
            &[],
            body.as_bytes(),
            Duration::from_secs(5),
        );
        match answer {
            Ok(r) if r.status == 200 => acked.extend(seq..seq + BATCH),
            Ok(r) => panic!("a produce was refused: {} {}", r.status, r.text()),
            // Killed mid-request: this batch may or may not be in the log.
            Err(_) => {
                seq += BATCH;
                break;
            }
        }
        seq += BATCH;
    }
    (acked, seq)
}

/// The rows of a query over a stream's whole topic, in the order read (a scan of a million
/// records takes a while in a debug build).
fn scan(server: &Server, sql: &str) -> Vec<Value> {
    let body = json!({ "sql": sql }).to_string();
    let answer = support::try_request(
        server.addr,
        "POST",
        "/query-stream",
        &[("Content-Type", "application/vnd.ksql.v1+json")],
        body.as_bytes(),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(answer.status, 200, "{sql}");
    answer
        .text()
        .lines()
        .skip(1)
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
}

/// The SEQ of every record of a stream, as a multiset.
fn sequences(server: &Server, stream: &str) -> Vec<u64> {
    let mut seqs: Vec<u64> = scan(server, &format!("SELECT SEQ FROM {stream};"))
        .iter()
        .filter_map(|row| row[0].as_u64())
        .collect();
    seqs.sort_unstable();
    seqs
}

/// Kills a server `rounds` times while records are produced to stream `S`, starting it with
/// `setup` the first time; returns the sequence numbers acknowledged.
fn load_through_kills(
    data: &std::path::Path,
    rounds: usize,
    setup: impl Fn(&Server),
) -> std::collections::BTreeSet<u64> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let mut rng = support::Rng::new(0x5EED);
    let mut acked = std::collections::BTreeSet::new();
    let mut next_seq = 0u64;
    for round in 0..rounds {
        let mut server = Server::start_in(data, &[]);
        if round == 0 {
            setup(&server);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let producer = {
            let (addr, stop, from) = (server.addr, Arc::clone(&stop), next_seq);
            std::thread::spawn(move || produce_until_killed(addr, from, &stop))
        };
        std::thread::sleep(Duration::from_millis(50 + rng.below(250) as u64));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        let (acknowledged, next) = producer.join().unwrap();
        acked.extend(acknowledged);
        next_seq = next;
    }
    assert!(
        acked.len() > 1000,
        "only {} records were acknowledged",
        acked.len()
    );
    eprintln!("{} records acknowledged across {rounds} kills", acked.len());
    acked
}

#[test]
fn twenty_kills_during_a_load_lose_nothing_acknowledged() {
    use std::collections::{BTreeMap, BTreeSet};

    let data = tempfile::tempdir().unwrap();
    let acked = load_through_kills(data.path(), 20, |server| {
        server.ksql_ok(
            "CREATE STREAM S (ID STRING KEY, SEQ BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);\
             CREATE TABLE NAMES (ID STRING PRIMARY KEY, NAME STRING) WITH (kafka_topic='names', value_format='JSON', partitions=2);\
             CREATE STREAM COPY AS SELECT * FROM S;\
             CREATE TABLE COUNTS AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;\
             CREATE STREAM NAMED AS SELECT S.ID, S.SEQ, NAMES.NAME FROM S LEFT JOIN NAMES ON S.ID = NAMES.ID;",
        );
        let names: String = (0..CRASH_KEYS)
            .map(|k| format!("INSERT INTO NAMES (ID, NAME) VALUES ('k{k}', 'name {k}');"))
            .collect();
        server.ksql_ok(&names);
    });
    let server = Server::start_in(data.path(), &[]);
    let logged = sequences(&server, "S");
    let in_log: BTreeSet<u64> = logged.iter().copied().collect();
    let lost: Vec<&u64> = acked.difference(&in_log).take(10).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?} …");
    assert_eq!(in_log.len(), logged.len(), "a record was appended twice");

    // Every query catches up: COPY and the join NAMED hold every record at least once, and
    // each count is exactly the number of records of its key (the aggregate's state was
    // restored from its changelog after each kill, with the positions it was checkpointed at).
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for seq in &logged {
        *expected
            .entry(format!("k{}", seq % CRASH_KEYS))
            .or_default() += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let copied: BTreeSet<u64> = sequences(&server, "COPY").into_iter().collect();
        let named: BTreeSet<u64> = sequences(&server, "NAMED").into_iter().collect();
        let (_, rows) = server.query_stream("SELECT ID, N FROM COUNTS;", json!({}));
        let counts: BTreeMap<String, i64> = rows
            .iter()
            .filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_i64()?)))
            .collect();
        if (copied == in_log && named == in_log && counts == expected) || Instant::now() > deadline
        {
            assert_eq!(copied.len(), in_log.len(), "COPY is missing records");
            assert_eq!(named.len(), in_log.len(), "the join is missing records");
            assert_eq!(counts, expected);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn under_exactly_once_kills_leave_no_duplicate_and_no_partial_result() {
    use std::collections::{BTreeMap, BTreeSet};

    let data = tempfile::tempdir().unwrap();
    let acked = load_through_kills(data.path(), 12, |server| {
        server.ksql_ok(
            "SET 'processing.guarantee'='exactly_once_v2';\
             SET 'cache.max.bytes.buffering'='0';\
             CREATE STREAM S (ID STRING KEY, SEQ BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=2);\
             CREATE STREAM COPY AS SELECT * FROM S;\
             CREATE TABLE COUNTS AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
        );
    });
    let server = Server::start_in(data.path(), &[]);
    let logged = sequences(&server, "S");
    let in_log: BTreeSet<u64> = logged.iter().copied().collect();
    assert!(acked.is_subset(&in_log), "acknowledged records were lost");
    let deadline = Instant::now() + Duration::from_secs(60);
    let copied = loop {
        let copied = sequences(&server, "COPY");
        if copied.len() >= logged.len() || Instant::now() > deadline {
            break copied;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Each record copied exactly once, whatever the kills interrupted.
    assert_eq!(
        copied.len(),
        logged.len(),
        "COPY holds duplicates or misses records"
    );
    assert_eq!(copied, logged);
    // The aggregate's every update, in order: each key counts 1, 2, 3 … with no count written
    // twice, none skipped and none going back.
    server.ksql_ok(
        "CREATE STREAM COUNT_UPDATES (ID STRING KEY, N BIGINT) WITH (kafka_topic='COUNTS', value_format='JSON');",
    );
    let mut updates: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in scan(&server, "SELECT ID, N FROM COUNT_UPDATES;") {
        if let (Some(id), Some(n)) = (row[0].as_str(), row[1].as_i64()) {
            updates.entry(id.to_string()).or_default().push(n);
        }
    }
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for seq in &logged {
        *expected
            .entry(format!("k{}", seq % CRASH_KEYS))
            .or_default() += 1;
    }
    for (key, counts) in &updates {
        let n = expected.get(key).copied().unwrap_or(0);
        let want: Vec<i64> = (1..=n).collect();
        assert!(
            counts == &want,
            "{key}: {} updates for {n} records; first irregularity at {:?}: {:?}",
            counts.len(),
            counts.iter().zip(1..).position(|(c, i)| *c != i),
            &counts[..counts.len().min(40)]
        );
    }
    assert_eq!(updates.len(), expected.len());
}

#[test]
fn a_full_disk_refuses_appends_clearly_and_loses_nothing_acknowledged() {
    let data = tempfile::tempdir().unwrap();
    // A file-size limit of 2 MiB stands in for a full disk: the segment cannot grow past it.
    let limited = data.path().join("limited-sluice");
    std::fs::write(
        &limited,
        format!(
            "#!/bin/sh\nulimit -f 2048\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_sluice")
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&limited)
        .status()
        .unwrap();
    let logs = data.path().join("log");
    let server = Server::start_with(&limited, &logs, &[]);
    server.ksql_ok(
        "CREATE STREAM S (ID STRING KEY, SEQ BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    );
    let mut acked = 0u64;
    let refusal = loop {
        let body: String = (acked..acked + 1000)
            .map(|s| format!("{{\"ID\":\"k{}\",\"SEQ\":{s}}}\n", s % 10))
            .collect();
        let answer = support::request(
            server.addr,
            "POST",
            "/topics/s/records?key=ID",
            &[],
            body.as_bytes(),
        );
        if answer.status != 200 {
            break answer;
        }
        acked += 1000;
        assert!(acked < 1_000_000, "the file-size limit never struck");
    };
    assert_eq!(refusal.status, 500, "{}", refusal.text());
    assert!(
        refusal.text().contains("cannot be read or written"),
        "{}",
        refusal.text()
    );
    assert!(acked > 0);
    // The server keeps serving, reads included, and holds every acknowledged record.
    assert_eq!(server.get("/info").status, 200);
    let logged = sequences(&server, "S");
    assert_eq!(logged, (0..acked).collect::<Vec<_>>());
    // The refused batch was cut off whole: what still fits is appended after it.
    server.ksql_ok("INSERT INTO S (ID, SEQ) VALUES ('x', 1000000000);");
    let logged = sequences(&server, "S");
    assert_eq!(logged.len() as u64, acked + 1);
    assert_eq!(logged.last(), Some(&1_000_000_000));
}

#[test]
fn the_schema_registry_survives_a_kill_and_answers_confluents_api() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(data.path(), &[]);
    server.ksql_ok(
        "CREATE STREAM A (ID STRING KEY, V BIGINT) WITH (kafka_topic='a', value_format='AVRO', partitions=1);",
    );
    let avro = r#"{"type":"record","name":"Reading","fields":[{"name":"T","type":"double"}]}"#;
    let registered = server.post_json(
        "/subjects/readings-value/versions",
        &json!({ "schema": avro }),
    );
    assert_eq!(registered.status, 200, "{}", registered.text());
    let id = registered.json()["id"].as_u64().expect("an id");
    let invalid = server.post_json(
        "/subjects/readings-value/versions",
        &json!({ "schema": "{\"type\": \"nonsense\"}" }),
    );
    assert_eq!(invalid.status, 422, "{}", invalid.text());
    assert_eq!(invalid.json()["error_code"], 42201);
    let before = server.get("/subjects/a-value/versions/latest").json();
    server.kill();

    let server = Server::start_in(data.path(), &[]);
    assert_eq!(
        server.get("/subjects").json(),
        json!(["a-value", "readings-value"])
    );
    let latest = server.get("/subjects/a-value/versions/latest");
    assert_eq!(
        latest.header("content-type"),
        Some("application/vnd.schemaregistry.v1+json")
    );
    assert_eq!(latest.json(), before);
    assert_eq!(before["version"], 1);
    let by_id = server.get(&format!("/schemas/ids/{id}")).json();
    assert_eq!(by_id["schema"], avro);
    assert_eq!(
        server.get(&format!("/schemas/ids/{id}/versions")).json(),
        json!([{"subject": "readings-value", "version": 1}])
    );
    // The same schema again keeps its id and version; a lookup finds it.
    let again = server.post_json(
        "/subjects/readings-value/versions",
        &json!({ "schema": avro }),
    );
    assert_eq!(again.json()["id"].as_u64(), Some(id));
    let found = server.post_json("/subjects/readings-value", &json!({ "schema": avro }));
    assert_eq!(found.json()["version"], 1);
    // Confluent's errors.
    let missing = server.get("/subjects/nope/versions");
    assert_eq!(
        (missing.status, missing.json()["error_code"].clone()),
        (404, json!(40401))
    );
    let version = server.get("/subjects/a-value/versions/7");
    assert_eq!(version.json()["error_code"], 40402);
    let schema = server.get("/schemas/ids/999");
    assert_eq!(schema.json()["error_code"], 40403);
    let bad_version = server.get("/subjects/a-value/versions/zero");
    assert_eq!(bad_version.json()["error_code"], 42202);
    assert_eq!(server.get("/config").json()["compatibilityLevel"], "NONE");
    let compatible = server.post_json(
        "/compatibility/subjects/readings-value/versions/latest",
        &json!({ "schema": avro }),
    );
    assert_eq!(compatible.json(), json!({"is_compatible": true}));
    // The stream still reads and writes with the schema it registered.
    server.ksql_ok("INSERT INTO A (ID, V) VALUES ('x', 5);");
    wait_for_rows(&server, "SELECT * FROM A;", 1);
}
