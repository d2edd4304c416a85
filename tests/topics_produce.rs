//! `sluice topics produce` against a running server: a file of JSON lines keyed by a field
//! lands in a topic that a stream then reads; a bad line is refused with its line number and
//! appends nothing.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::Server;

fn produce(server: &Server, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["topics", "produce"])
        .args(args)
        .args(["--server", &server.url()])
        .output()
        .expect("run sluice topics produce");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_file_of_lines_becomes_records_a_stream_reads() {
    let server = Server::start();
    let dir = std::env::temp_dir().join(format!("sluice-produce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("bids.json");
    let lines: String = (0..2500)
        .map(|i| format!("{{\"auction\": {}, \"price\": {i}}}\n", i % 7))
        .collect();
    std::fs::write(&file, lines).expect("write the input");

    let file_arg = file.to_string_lossy().into_owned();
    let (ok, stderr) = produce(
        &server,
        &[
            "bids",
            &file_arg,
            "--key",
            "auction",
            "--key-format",
            "bigint",
            "--partitions",
            "3",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("Appended 2500 records to bids"), "{stderr}");

    server.ksql_ok(
        "CREATE STREAM bids (auction BIGINT KEY, price BIGINT) \
         WITH (kafka_topic='bids', value_format='json', partitions=3);",
    );
    // A new persistent query reads from the end of its input unless told to start earliest;
    // then the table catches up with the whole topic.
    let created = server.post_json(
        "/ksql",
        &json!({
            "ksql": "CREATE TABLE totals AS SELECT auction, COUNT(*) AS n, SUM(price) AS total \
                     FROM bids GROUP BY auction EMIT CHANGES;",
            "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}
        }),
    );
    assert_eq!(created.status, 200, "{}", created.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let expected: Vec<(i64, i64, i64)> = (0..7)
        .map(|k| {
            let prices: Vec<i64> = (0..2500).filter(|i| i % 7 == k).collect();
            (k, prices.len() as i64, prices.iter().sum())
        })
        .collect();
    loop {
        let (_, rows) = server.query_stream("SELECT auction, n, total FROM totals;", json!({}));
        let mut actual: Vec<(i64, i64, i64)> = rows
            .iter()
            .filter_map(|r| {
                let r = r.as_array()?;
                Some((r[0].as_i64()?, r[1].as_i64()?, r[2].as_i64()?))
            })
            .collect();
        actual.sort();
        if actual == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the table never caught up: {actual:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // A bad line refuses its chunk and names the line.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"auction\": 1, \"price\": 1}\n\n{\"price\": 2}\n").expect("write");
    let bad_arg = bad.to_string_lossy().into_owned();
    let (ok, stderr) = produce(
        &server,
        &[
            "bids",
            &bad_arg,
            "--key",
            "auction",
            "--key-format",
            "bigint",
        ],
    );
    assert!(!ok);
    assert!(
        stderr.contains("line 3: no value for the key field 'auction'"),
        "{stderr}"
    );
    // A partition count that does not match the topic's is refused too.
    let (ok, stderr) = produce(&server, &["bids", &file_arg, "--partitions", "2"]);
    assert!(!ok);
    assert!(stderr.contains("has 3 partitions, not 2"), "{stderr}");
    // A name Kafka would refuse is refused.
    let (ok, stderr) = produce(&server, &["no/such topic", &file_arg]);
    assert!(!ok);
    assert!(
        stderr.contains("Invalid topic name 'no/such topic'"),
        "{stderr}"
    );
    let topics: Value = server
        .ksql_ok("SHOW TOPICS;")
        .into_iter()
        .next()
        .expect("one entity");
    let bids = topics["topics"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "bids"))
        .cloned()
        .expect("the bids topic is listed");
    assert_eq!(
        bids["replicaInfo"].as_array().map(Vec::len),
        Some(3),
        "{bids}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `sluice topics …` and returns whether it succeeded, its stdout and its stderr.
fn topics(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("topics")
        .args(args)
        .output()
        .expect("run sluice topics");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_stopped_servers_data_directory_is_written_and_read_offline() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_string_lossy().into_owned();
    let input = data.path().join("orders.json");
    std::fs::write(
        &input,
        "{\"ID\": \"a\", \"QTY\": 1}\n{\"ID\": \"b\", \"QTY\": 2}\n{\"ID\": \"a\", \"QTY\": 3}\n",
    )
    .unwrap();
    let input = input.to_string_lossy().into_owned();
    let (ok, _, stderr) = topics(&[
        "produce",
        "orders",
        &input,
        "--key",
        "id",
        "--partitions",
        "2",
        "--data-dir",
        &dir,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("Appended 3 records"), "{stderr}");

    let (ok, listed, stderr) = topics(&["list", "--data-dir", &dir]);
    assert!(ok, "{stderr}");
    let line = listed
        .lines()
        .find(|l| l.starts_with("orders"))
        .unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields, ["orders", "2", "3"], "{listed}");

    let (ok, described, _) = topics(&["describe", "orders", "--data-dir", &dir]);
    assert!(ok && described.contains("Partitions: 2"), "{described}");
    assert!(described.contains("cleanup.policy: delete"), "{described}");

    let (ok, dumped, _) = topics(&["dump", "orders", "--data-dir", &dir]);
    assert!(ok);
    let mut values: Vec<&str> = dumped
        .lines()
        .filter_map(|l| l.split_once(" value ").map(|(_, v)| v))
        .collect();
    values.sort_unstable();
    assert_eq!(
        values,
        [
            "{\"ID\": \"a\", \"QTY\": 1}",
            "{\"ID\": \"a\", \"QTY\": 3}",
            "{\"ID\": \"b\", \"QTY\": 2}"
        ],
        "{dumped}"
    );
    let (_, limited, _) = topics(&["dump", "orders", "--limit", "1", "--data-dir", &dir]);
    assert_eq!(limited.lines().count(), 1, "{limited}");

    // A server on the directory reads what was written; while it runs, the directory is its.
    let server = Server::start_in(data.path(), &[]);
    server.ksql_ok(
        "CREATE STREAM ORDERS (ID STRING KEY, QTY INT) WITH (kafka_topic='orders', value_format='JSON');",
    );
    let (_, rows) = server.query_stream("SELECT * FROM ORDERS;", json!({}));
    assert_eq!(rows.len(), 3, "{rows:?}");
    let (ok, _, stderr) = topics(&["list", "--data-dir", &dir]);
    assert!(
        !ok && stderr.contains("in use by another Sluice process"),
        "{stderr}"
    );
}
