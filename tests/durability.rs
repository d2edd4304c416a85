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
