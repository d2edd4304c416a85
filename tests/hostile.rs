//! Input meant to take the server down: expressions and types nested past the bound the
//! parser keeps are refused with an error at their position and change nothing, and the
//! deepest accepted ones parse, plan and run, every recursive construct of the grammar alike.

mod support;

use serde_json::json;
use sluice::sql::{Location, MAX_NESTING, parse_statement};
use support::Server;

/// A construct nested `depth` times around the column `V`.
type Nesting = fn(usize) -> String;

fn nest(depth: usize, wrap: impl Fn(String) -> String) -> String {
    (0..depth).fold("V".to_string(), |inner, _| wrap(inner))
}

/// Every construct of the grammar that nests, each as an expression over `V` (an INT of 1).
fn constructs() -> Vec<(&'static str, Nesting)> {
    vec![
        ("parentheses", |d| nest(d, |e| format!("({e})"))),
        ("NOT", |d| format!("{}V = 1", "NOT ".repeat(d))),
        ("signs", |d| {
            format!("{}V", "- + ".repeat(d / 2) + &"- ".repeat(d % 2))
        }),
        ("CASE", |d| {
            nest(d, |e| format!("CASE WHEN V = 1 THEN {e} ELSE 0 END"))
        }),
        ("casts", |d| nest(d, |e| format!("CAST({e} AS INT)"))),
        ("function calls", |d| nest(d, |e| format!("ABS({e})"))),
        ("arrays and subscripts", |d| {
            nest(d, |e| format!("ARRAY[{e}]")) + &"[1]".repeat(d)
        }),
        ("structs and dereferences", |d| {
            nest(d, |e| format!("STRUCT(A := {e})")) + &"->A".repeat(d)
        }),
        ("maps and subscripts", |d| {
            nest(d, |e| format!("MAP('k' := {e})")) + &"['k']".repeat(d)
        }),
        ("lambdas", |d| {
            nest(d, |e| format!("ARRAY_MAX(TRANSFORM(ARRAY[V], x => {e}))"))
        }),
        ("operator chains", |d| format!("V{}", " + 1".repeat(d))),
        ("AND chains", |d| format!("V = 1{}", " AND V = 1".repeat(d))),
        ("types", |d| {
            format!(
                "ARRAY_LENGTH(CAST(NULL AS {}INT{}))",
                "ARRAY<".repeat(d),
                ">".repeat(d)
            )
        }),
    ]
}

fn statement(expression: &str) -> String {
    format!("SELECT {expression} AS X FROM S;")
}

/// Whether the parser takes a statement, parsed on a thread with the server's stack.
fn parses(text: &str) -> bool {
    let text = text.to_string();
    std::thread::Builder::new()
        .stack_size(sluice::sql::THREAD_STACK_BYTES)
        .spawn(move || parse_statement(&text, Location { line: 1, column: 1 }, &|_| None).is_ok())
        .expect("a thread")
        .join()
        .expect("the parser returns")
}

/// The deepest nesting of a construct the parser accepts.
fn deepest(construct: Nesting) -> usize {
    let (mut accepted, mut refused) = (0, 4 * MAX_NESTING);
    assert!(!parses(&statement(&construct(refused))));
    while refused - accepted > 1 {
        let middle = (accepted + refused) / 2;
        if parses(&statement(&construct(middle))) {
            accepted = middle;
        } else {
            refused = middle;
        }
    }
    accepted
}

#[test]
fn the_deepest_accepted_nesting_runs_and_one_more_is_refused_where_it_is() {
    let server = Server::start();
    server.ksql_ok(
        "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\
         INSERT INTO S (K, V) VALUES ('k', 1);",
    );
    for (name, construct) in constructs() {
        let depth = deepest(construct);
        // Every construct nests deep enough for any query a person writes.
        assert!(depth >= MAX_NESTING / 4, "{name}: only {depth} levels");
        let (_, rows) = server.query_stream(
            &statement(&construct(depth)),
            json!({"auto.offset.reset": "earliest"}),
        );
        assert_eq!(rows.len(), 1, "{name} at {depth} levels: {rows:?}");

        let refused = server.post_json(
            "/query-stream",
            &json!({ "sql": statement(&construct(depth + 1)) }),
        );
        assert_eq!(refused.status, 400, "{name}: {}", refused.text());
        let message = refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.starts_with("line 1:")
                && message.contains(&format!("more than {MAX_NESTING} levels deep")),
            "{name}: {message}"
        );
    }
    // A statement deeper than any bound, in every construct at once: refused, and the server
    // goes on.
    let monster = statement(&"(".repeat(100_000));
    let refused = server.post_json("/ksql", &json!({ "ksql": monster }));
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(server.get("/info").status, 200);
}

/// A statement's error message, and that it was refused.
fn refusal(server: &Server, sql: &str) -> String {
    let answer = server.ksql(sql);
    assert_eq!(answer.status, 400, "{sql} was accepted: {}", answer.text());
    answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn numbers_from_a_statement_are_range_checked_and_nothing_is_made_of_a_bad_one() {
    let server = Server::start();
    server.ksql_ok(
        "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    );
    for (partitions, why) in [
        ("-1", "Number of partitions must be larger than 0."),
        ("0", "Number of partitions must be larger than 0."),
        (
            "4294967297",
            "Expected value to be a 32-bit integer, but it was a java.lang.Long",
        ),
        ("100000", "a topic may have at most 1024 partitions"),
    ] {
        let message = refusal(
            &server,
            &format!("CREATE STREAM C WITH (PARTITIONS={partitions}) AS SELECT * FROM S;"),
        );
        assert_eq!(
            message,
            format!("Invalid value {partitions} for property PARTITIONS: {why}")
                + if partitions == "100000" {
                    " (ksql.topic.max.partitions)"
                } else {
                    ""
                }
        );
        let message = refusal(
            &server,
            &format!(
                "CREATE STREAM T (K STRING KEY) WITH (kafka_topic='t', value_format='JSON', partitions={partitions});"
            ),
        );
        assert!(message.contains(why), "{message}");
    }
    let message = refusal(
        &server,
        "CREATE STREAM C WITH (PARTITIONS=2, REPLICAS=40000) AS SELECT * FROM S;",
    );
    assert!(message.contains("16-bit integer"), "{message}");
    // Nothing was made of any of them.
    let topics = server.ksql_ok("SHOW ALL TOPICS;");
    let names: Vec<&str> = topics[0]["topics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(!names.contains(&"C") && !names.contains(&"t"), "{names:?}");

    // Windows: durations that do not fit, and hopping windows past the bound.
    let window = |spec: &str| {
        format!("CREATE TABLE W AS SELECT K, COUNT(*) AS N FROM S WINDOW {spec} GROUP BY K;")
    };
    let message = refusal(
        &server,
        &window("TUMBLING (SIZE 18446744073709551615 MILLISECONDS)"),
    );
    assert!(
        message.starts_with("line 1:") && message.contains("Invalid duration"),
        "{message}"
    );
    let message = refusal(&server, &window("TUMBLING (SIZE 0 SECONDS)"));
    assert!(message.contains("must be larger than zero"), "{message}");
    let message = refusal(
        &server,
        &window("HOPPING (SIZE 30 DAYS, ADVANCE BY 1 MILLISECOND)"),
    );
    assert!(
        message.contains("2592000000 windows; Sluice allows at most 10000"),
        "{message}"
    );
    let message = refusal(
        &server,
        &window("HOPPING (SIZE 1 SECOND, ADVANCE BY 2 SECONDS)"),
    );
    assert!(message.contains("advancement interval"), "{message}");
    // The bound itself is accepted.
    server.ksql_ok(&window(
        "HOPPING (SIZE 10000 MILLISECONDS, ADVANCE BY 1 MILLISECOND)",
    ));

    // Kafka's producer takes no negative timestamp; schema ids are 32-bit.
    let message = refusal(
        &server,
        "INSERT INTO S (ROWTIME, K, V) VALUES (-5, 'a', 1);",
    );
    assert!(
        message
            .ends_with("Invalid timestamp: -5. Timestamp should always be non-negative or null."),
        "{message}"
    );
    let message = refusal(
        &server,
        "CREATE STREAM A WITH (kafka_topic='s', value_format='AVRO', VALUE_SCHEMA_ID=4294967297);",
    );
    assert!(
        message.contains("VALUE_SCHEMA_ID: Expected value to be a 32-bit integer"),
        "{message}"
    );

    // Counts of clauses are INTs, as ksqlDB reads them.
    for sql in [
        "SELECT * FROM S EMIT CHANGES LIMIT 3000000000;",
        "PRINT 's' INTERVAL 2147483648;",
    ] {
        let message = refusal(&server, sql);
        assert!(
            message.starts_with("line 1:") && message.contains("must be at most 2147483647"),
            "{message}"
        );
    }
    let message = refusal(
        &server,
        "SELECT * FROM S EMIT CHANGES LIMIT 99999999999999999999;",
    );
    assert!(message.contains("Invalid integer value"), "{message}");

    // Loading lines into a topic of an unreasonable number of partitions.
    let answer = server.post_json("/topics/lines/records?partitions=0", &json!({"a": 1}));
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(server.get("/info").status, 200);
}

#[test]
fn a_server_properties_file_is_honoured_or_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // A name the server does not know stops the start, naming its line.
    let bad = dir.path().join("bad.properties");
    std::fs::write(
        &bad,
        "# a typo\nksql.service.id=svc_\nlistener=http://0.0.0.0:8088\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["server", "--in-memory", "--config"])
        .arg(&bad)
        .output()
        .expect("the server runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(
            "bad.properties:3: Not recognizable as ksql, streams, consumer, or producer property: 'listener'"
        ),
        "{stderr}"
    );
    // Kafka's address is not ignored: with --in-memory the two are refused together.
    let kafka = dir.path().join("kafka.properties");
    std::fs::write(&kafka, "bootstrap.servers=localhost:9092\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["server", "--in-memory", "--config"])
        .arg(&kafka)
        .output()
        .expect("the server runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--in-memory keeps topics in this process, bootstrap.servers=localhost:9092"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // ksqlDB's settings are taken: the service id, and a limit on persistent queries.
    let good = dir.path().join("ksql-server.properties");
    std::fs::write(
        &good,
        "ksql.service.id = svc_\nksql.query.persistent.active.limit: 1\n",
    )
    .unwrap();
    let server = Server::start_in(
        &dir.path().join("data"),
        &["--config", good.to_str().unwrap()],
    );
    assert_eq!(
        server.get("/info").json()["KsqlServerInfo"]["ksqlServiceId"],
        "svc_"
    );
    server.ksql_ok(
        "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\
         CREATE STREAM A AS SELECT * FROM S;",
    );
    let message = refusal(&server, "CREATE STREAM B AS SELECT * FROM S;");
    assert_eq!(
        message,
        "Not executing statement(s) as it would cause the number of active, persistent queries to exceed the configured limit. Use the TERMINATE command to terminate existing queries, or increase the 'ksql.query.persistent.active.limit' setting via the 'ksql-server.properties' file. Current persistent query count: 1. Configured limit: 1."
    );
    assert!(
        server.ksql_ok("SHOW STREAMS;")[0]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "B")
    );
    let ids = server.ksql_ok("SHOW QUERIES;");
    let id = ids[0]["queries"][0]["id"].as_str().unwrap().to_string();
    server.ksql_ok(&format!("TERMINATE {id};"));
    server.ksql_ok("CREATE STREAM B AS SELECT * FROM S;");
}

/// Values whose size a record chooses, bad records by the thousand and push queries up to the
/// bound: the server's memory stays where it was, every bad value is logged, and the next
/// push query past ksqlDB's default bound (100) is refused.
#[test]
fn memory_stays_bounded_when_records_and_clients_ask_for_more() {
    let mut server = Server::start();
    server.ksql_ok(
        "CREATE STREAM S (K STRING KEY, N INT, D DECIMAL(4,2)) WITH (kafka_topic='s', value_format='JSON', partitions=1);\
         SET 'auto.offset.reset'='earliest';\
         CREATE STREAM PADDED AS SELECT K, LPAD('', N, 'x') AS P, GENERATE_SERIES(1, N) AS G, D FROM S;",
    );
    let before = server.rss_kb().unwrap_or(0);
    // Lengths and series of two billion, decimals with exponents of two billion, and junk.
    let mut lines = String::new();
    for i in 0..2_000 {
        match i % 4 {
            0 => lines.push_str("{\"N\":2147483647,\"D\":1.5}\n"),
            1 => lines.push_str("{\"N\":3,\"D\":0E+2000000000}\n"),
            2 => lines.push_str("{\"N\":3,\"D\":1E+2000000000}\n"),
            _ => lines.push_str("{\"N\":\n"),
        }
    }
    let loaded = support::request(
        server.addr,
        "POST",
        "/topics/s/records",
        &[("Content-Type", "application/octet-stream")],
        lines.as_bytes(),
    );
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    // Every record is processed: the good ones copied, the bad ones logged.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let processed = server.consumed("PADDED");
        if processed >= 2_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the query stalled at {processed}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // ksqlDB's default bound on push queries: 100 run, the next is refused.
    let mut clients = Vec::new();
    for _ in 0..100 {
        clients.push(support::LineStream::open(
            server.addr,
            "/query-stream",
            &json!({"sql": "SELECT * FROM S EMIT CHANGES;"}),
            std::time::Duration::from_secs(30),
        ));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for client in &mut clients {
        assert!(
            client.next_json(deadline).is_some(),
            "a push query did not start"
        );
    }
    let refused = server.post_json(
        "/query-stream",
        &json!({"sql": "SELECT * FROM S EMIT CHANGES;"}),
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(refused.json()["error_code"], 40003);
    let after = server.rss_kb().unwrap_or(0);
    println!("RSS {before} kB before, {after} kB after");
    assert!(
        after < before + 300 * 1024,
        "the server grew from {before} kB to {after} kB"
    );
    assert!(server.alive());
    let log = server.log_text();
    assert!(!log.contains("panicked"), "{log}");
}
