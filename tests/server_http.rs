//! The server binary end to end, over plain HTTP, as a ksqlDB user drives it: statements on
//! `/ksql`, inserts, pull and push queries, errors that change nothing, the small endpoints,
//! and many push queries at once.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{LineStream, Server};

/// The fields every ksqlDB error body has; `status` must be `error_code / 100`.
fn assert_error_shape(r: &support::Response, ty: &str, code: u64) -> Value {
    assert_eq!(r.status as u64, code / 100, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["@type"], ty, "{body}");
    assert_eq!(body["error_code"].as_u64(), Some(code), "{body}");
    assert!(body["message"].is_string(), "{body}");
    body
}

/// `line L:C: …`, as ksqlDB's parse errors start.
fn assert_has_position(message: &str) {
    let rest = message
        .strip_prefix("line ")
        .unwrap_or_else(|| panic!("no position in {message:?}"));
    let (position, _) = rest
        .split_once(": ")
        .unwrap_or_else(|| panic!("no position in {message:?}"));
    let (line, column) = position
        .split_once(':')
        .unwrap_or_else(|| panic!("no line:col in {message:?}"));
    assert!(
        line.parse::<u32>().is_ok() && column.parse::<u32>().is_ok(),
        "{message:?}"
    );
}

fn status_of(entity: &Value) -> (&str, &str) {
    assert_eq!(entity["@type"], "currentStatus", "{entity}");
    (
        entity["commandStatus"]["status"]
            .as_str()
            .unwrap_or_default(),
        entity["commandStatus"]["message"]
            .as_str()
            .unwrap_or_default(),
    )
}

#[test]
fn statements_inserts_pull_and_push_queries_over_http() {
    let server = Server::start();
    let deadline = || Instant::now() + Duration::from_secs(10);

    // The small endpoints.
    let info = server.get("/info");
    assert_eq!(info.status, 200);
    assert_eq!(info.header("content-type"), Some("application/json"));
    let info = info.json();
    let server_info = &info["KsqlServerInfo"];
    for field in ["version", "kafkaClusterId", "ksqlServiceId"] {
        assert!(
            server_info[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {info}"
        );
    }
    assert_eq!(server_info["serverStatus"], "RUNNING", "{info}");
    let health = server.get("/healthcheck").json();
    assert_eq!(health["isHealthy"], true, "{health}");
    for part in ["metastore", "kafka", "commandRunner"] {
        assert_eq!(health["details"][part]["isHealthy"], true, "{health}");
    }
    let root = server.get("/");
    assert_eq!(root.status, 307);
    assert_eq!(root.header("location"), Some("/info"));
    let missing = server.get("/no/such/endpoint");
    assert_eq!(missing.status, 404);

    // DDL: a stream, a table, and a table derived by a persistent query.
    let entities = server.ksql_ok(
        "CREATE STREAM pageviews (userid STRING KEY, page STRING, ms BIGINT) \
           WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);\n\
         CREATE TABLE users (id STRING PRIMARY KEY, name STRING) \
           WITH (kafka_topic='users', value_format='JSON', partitions=1);",
    );
    assert_eq!(entities.len(), 2, "{entities:?}");
    assert_eq!(status_of(&entities[0]), ("SUCCESS", "Stream created"));
    assert_eq!(entities[0]["commandId"], "stream/`PAGEVIEWS`/create");
    assert_eq!(status_of(&entities[1]), ("SUCCESS", "Table created"));
    for entity in &entities {
        assert!(entity["statementText"].is_string(), "{entity}");
        assert!(entity["warnings"].is_array(), "{entity}");
    }
    let ctas = server.ksql_ok(
        "CREATE TABLE views AS SELECT page, COUNT(*) AS n FROM pageviews GROUP BY page;\n\
         CREATE TABLE queryable_users AS SELECT * FROM users;",
    );
    assert_eq!(status_of(&ctas[1]).0, "SUCCESS");
    let (status, message) = status_of(&ctas[0]);
    assert_eq!(status, "SUCCESS");
    let query_id = ctas[0]["commandStatus"]["queryId"]
        .as_str()
        .expect("a CTAS reports its query id");
    assert!(query_id.starts_with("CTAS_VIEWS_"), "{query_id}");
    assert_eq!(message, format!("Created query with ID {query_id}"));

    let show = server.ksql_ok("SHOW STREAMS; SHOW TABLES; SHOW QUERIES;");
    assert_eq!(show[0]["@type"], "streams");
    let stream_names: Vec<&str> = show[0]["streams"]
        .as_array()
        .expect("a list of streams")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(stream_names.contains(&"PAGEVIEWS"), "{stream_names:?}");
    let table_names: Vec<&str> = show[1]["tables"]
        .as_array()
        .expect("a list of tables")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(table_names.contains(&"USERS"), "{table_names:?}");
    assert!(table_names.contains(&"VIEWS"), "{table_names:?}");
    assert!(
        show[2]["queries"]
            .as_array()
            .is_some_and(|q| q.iter().any(|q| q["id"] == query_id)),
        "{}",
        show[2]
    );

    // A push query started before the inserts sees them (offsets from latest, the default).
    let mut push = LineStream::open(
        server.addr,
        "/query-stream",
        &json!({"sql": "SELECT userid, page FROM pageviews EMIT CHANGES LIMIT 3;", "properties": {}}),
        Duration::from_secs(10),
    );
    assert_eq!(push.status, 200);
    let meta = push.next_json(deadline()).expect("the metadata line");
    assert!(
        meta["queryId"]
            .as_str()
            .is_some_and(|id| id.starts_with("transient_PAGEVIEWS_")),
        "{meta}"
    );
    assert_eq!(meta["columnNames"], json!(["USERID", "PAGE"]));
    assert_eq!(meta["columnTypes"], json!(["STRING", "STRING"]));

    // An unbounded push query that the client stops with /close-query.
    let mut unbounded = LineStream::open(
        server.addr,
        "/query-stream",
        &json!({"sql": "SELECT page FROM pageviews EMIT CHANGES;"}),
        Duration::from_secs(10),
    );
    let unbounded_meta = unbounded.next_json(deadline()).expect("the metadata line");

    // INSERT VALUES answers with no entity, as ksqlDB's does.
    let inserted = server.ksql_ok(
        "INSERT INTO pageviews (userid, page, ms) VALUES ('alice', 'home', 10);\n\
         INSERT INTO pageviews (userid, page, ms) VALUES ('bob', 'home', 20);\n\
         INSERT INTO pageviews (userid, page, ms) VALUES ('carol', 'news', 30);\n\
         INSERT INTO users (id, name) VALUES ('alice', 'Alice A');\n\
         INSERT INTO users (id, name) VALUES ('bob', 'Bob B');",
    );
    assert_eq!(inserted, Vec::<Value>::new());

    let expected = vec![
        json!(["alice", "home"]),
        json!(["bob", "home"]),
        json!(["carol", "news"]),
    ];
    let mut rows = Vec::new();
    while let Some(row) = push.next_json(deadline()) {
        rows.push(row);
    }
    assert_eq!(
        rows, expected,
        "the push query's rows, then the end at LIMIT 3"
    );

    let first = unbounded.next_json(deadline()).expect("a row");
    assert_eq!(first, json!(["home"]));
    let close = server.post_json(
        "/close-query",
        &json!({"queryId": unbounded_meta["queryId"]}),
    );
    assert_eq!(close.status, 200, "{}", close.text());
    // After the close the response ends (the rows already sent may still arrive).
    let mut rest = Vec::new();
    while let Some(row) = unbounded.next_json(deadline()) {
        rest.push(row);
    }
    assert!(rest.len() <= 2, "{rest:?}");
    let again = server.post_json(
        "/close-query",
        &json!({"queryId": unbounded_meta["queryId"]}),
    );
    assert_error_shape(&again, "generic_error", 40000);

    // From the earliest offset the same rows arrive for a query started after the inserts.
    let (meta, rows) = server.query_stream(
        "SELECT userid, page FROM pageviews EMIT CHANGES LIMIT 3;",
        json!({"auto.offset.reset": "earliest"}),
    );
    assert_eq!(meta["columnNames"], json!(["USERID", "PAGE"]));
    assert_eq!(rows, expected);

    // A property value Kafka would refuse is refused, before any query starts.
    let r = server.post_json(
        "/query-stream",
        &json!({"sql": "SELECT * FROM pageviews EMIT CHANGES;",
                "properties": {"auto.offset.reset": "sideways"}}),
    );
    let body = assert_error_shape(&r, "generic_error", 40000);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Invalid value sideways for configuration auto.offset.reset"),
        "{body}"
    );

    // Pull queries: a key lookup and a scan of the CTAS table, and a source table.
    let poll_deadline = deadline();
    let rows = loop {
        let (meta, rows) =
            server.query_stream("SELECT * FROM views WHERE page = 'home';", json!({}));
        assert_eq!(meta["columnNames"], json!(["PAGE", "N"]));
        assert_eq!(meta["columnTypes"], json!(["STRING", "BIGINT"]));
        if rows == vec![json!(["home", 2])] || Instant::now() > poll_deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(rows, vec![json!(["home", 2])]);
    let (_, mut rows) = server.query_stream("SELECT page, n FROM views;", json!({}));
    rows.sort_by_key(|r| r.to_string());
    assert_eq!(rows, vec![json!(["home", 2]), json!(["news", 1])]);
    let (_, rows) = server.query_stream(
        "SELECT name FROM queryable_users WHERE id = 'bob';",
        json!({}),
    );
    assert_eq!(rows, vec![json!(["Bob B"])]);
    let (_, rows) = server.query_stream(
        "SELECT * FROM queryable_users WHERE id = 'nobody';",
        json!({}),
    );
    assert!(rows.is_empty(), "{rows:?}");

    // As in ksqlDB, a plain table is not materialized, so a pull query on it is refused.
    let r = server.post_json(
        "/query-stream",
        &json!({"sql": "SELECT * FROM users WHERE id = 'bob';"}),
    );
    let body = assert_error_shape(&r, "statement_error", 40001);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("isn't queryable"),
        "{body}"
    );

    // The old API: /query streams one JSON array of header, rows (and a final message).
    let old = server.post_json(
        "/query",
        &json!({"ksql": "SELECT * FROM views WHERE page = 'news';", "streamsProperties": {}}),
    );
    assert_eq!(old.status, 200, "{}", old.text());
    let old = old.json();
    assert_eq!(old[0]["header"]["schema"], "`PAGE` STRING KEY, `N` BIGINT");
    assert_eq!(old[1], json!({"row": {"columns": ["news", 1]}}));
    assert_eq!(old.as_array().map(Vec::len), Some(2), "{old}");
    let old = server.post_json(
        "/query",
        &json!({"ksql": "SELECT userid, ms FROM pageviews EMIT CHANGES LIMIT 2;",
                "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}}),
    );
    assert_eq!(old.status, 200, "{}", old.text());
    let old = old.json();
    assert_eq!(old[0]["header"]["schema"], "`USERID` STRING, `MS` BIGINT");
    assert_eq!(old[1], json!({"row": {"columns": ["alice", 10]}}));
    assert_eq!(old[2], json!({"row": {"columns": ["bob", 20]}}));
    assert_eq!(old[3], json!({"finalMessage": "Limit Reached"}));

    // A bad statement: a ksqlDB-shaped error that says where, and nothing changes.
    let before = server.ksql_ok("SHOW STREAMS; SHOW TABLES; SHOW QUERIES;");
    let bad = "CREATE STREAM broken (id INT KEY, v STRNG) \
               WITH (kafka_topic='broken', value_format='JSON', partitions=1);";
    let r = server.ksql(bad);
    let body = assert_error_shape(&r, "statement_error", 40001);
    assert_has_position(body["message"].as_str().unwrap_or_default());
    assert_eq!(body["statementText"], bad);
    assert_eq!(body["entities"], json!([]));

    // In a request of several statements, the position counts from the start of the request,
    // and, as in ksqlDB, a statement that doesn't parse stops the whole request: the ones
    // before it don't run either.
    let r = server.ksql(
        "CREATE STREAM early (id INT KEY) WITH (kafka_topic='early', value_format='JSON', partitions=1);\n\
         CREATE STREAM views_copy AS SELEC * FROM pageviews;\n\
         CREATE STREAM never (id INT KEY) WITH (kafka_topic='never', value_format='JSON', partitions=1);",
    );
    let body = assert_error_shape(&r, "statement_error", 40001);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("line 2:29: "), "{message}");
    assert_eq!(
        body["statementText"],
        "CREATE STREAM views_copy AS SELEC * FROM pageviews;"
    );
    assert_eq!(body["entities"], json!([]));
    let streams = json!(server.ksql_ok("SHOW STREAMS;")).to_string();
    assert!(!streams.contains("EARLY"), "{streams}");
    // A statement that fails after others ran: those before are reported (and not rolled
    // back, as in ksqlDB); those after it never run.
    let r = server.ksql(
        "SHOW TABLES;\nCREATE STREAM orphan AS SELECT * FROM no_such_source;\n\
         CREATE STREAM never (id INT KEY) WITH (kafka_topic='never', value_format='JSON', partitions=1);",
    );
    let body = assert_error_shape(&r, "statement_error", 40001);
    assert_eq!(
        body["statementText"],
        "CREATE STREAM orphan AS SELECT * FROM no_such_source;"
    );
    assert_eq!(body["entities"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["entities"][0]["@type"], "tables");
    let r = server.ksql("SELECT * FROM pageviews EMIT CHANGES;");
    assert_error_shape(&r, "statement_error", 40002);
    let r = server.ksql("");
    assert_error_shape(&r, "generic_error", 40000);
    let after = server.ksql_ok("SHOW STREAMS; SHOW TABLES; SHOW QUERIES;");
    assert_eq!(
        before, after,
        "failed statements changed the catalog or the queries"
    );

    // Errors from the query endpoints have the same shape.
    let r = server.post_json("/query-stream", &json!({"sql": "SELECT * FROM nowhere;"}));
    assert_error_shape(&r, "statement_error", 40001);
    let r = server.post_json(
        "/query-stream",
        &json!({"sql": "SELECT * FROM pageviews WHERE EMIT CHANGES;"}),
    );
    let body = assert_error_shape(&r, "statement_error", 40001);
    assert_has_position(body["message"].as_str().unwrap_or_default());
    let r = server.post_json("/query", &json!({"ksql": "SELEKT 1;"}));
    assert_error_shape(&r, "statement_error", 40001);

    // Every command that ran has a status.
    let status = server.get("/status").json();
    assert_eq!(
        status["commandStatuses"]["stream/`PAGEVIEWS`/create"], "SUCCESS",
        "{status}"
    );
    let one = server.get("/status/stream/PAGEVIEWS/create");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["status"], "SUCCESS");
    let unknown = server.get("/status/stream/NOPE/create");
    assert_error_shape(&unknown, "generic_error", 40400);
    let log = server.log_text();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

/// Many clients watch one stream: every one of them gets every row.
#[test]
fn two_hundred_push_queries_each_receive_every_row() {
    const CLIENTS: usize = 200;
    const ROWS: usize = 50;
    // Twice ksqlDB's default bound on push queries.
    let server = Server::start_configured("ksql.max.push.queries=200");
    server.ksql_ok(
        "CREATE STREAM ticks (id INT KEY, n INT, label STRING) \
           WITH (kafka_topic='ticks', value_format='JSON', partitions=1);",
    );
    let rss_start = server.rss_kb();

    let started = Instant::now();
    // Every client signals once its query is running (the metadata line arrived), then reads.
    let (ready, running) = mpsc::channel::<usize>();
    let addr = server.addr;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let ready = ready.clone();
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    // Half stop at a LIMIT, half run until the client hangs up.
                    let sql = if i % 2 == 0 {
                        format!("SELECT id, n, label FROM ticks EMIT CHANGES LIMIT {ROWS};")
                    } else {
                        "SELECT id, n, label FROM ticks EMIT CHANGES;".to_string()
                    };
                    let mut stream = LineStream::open(
                        addr,
                        "/query-stream",
                        &json!({ "sql": sql }),
                        Duration::from_secs(30),
                    );
                    assert_eq!(stream.status, 200, "client {i}");
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let meta = stream.next_json(deadline).expect("metadata");
                    assert_eq!(meta["columnNames"], json!(["ID", "N", "LABEL"]));
                    let _ = ready.send(i);
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let mut rows = Vec::with_capacity(ROWS);
                    while rows.len() < ROWS {
                        match stream.next_json(deadline) {
                            Some(row) => rows.push(row),
                            None => break,
                        }
                    }
                    let received = Instant::now();
                    if i % 2 == 0 {
                        // At the LIMIT the response ends.
                        assert_eq!(stream.next_line(deadline), None, "client {i}");
                    }
                    (rows, received)
                })
                .expect("spawn a client")
        })
        .collect();
    drop(ready);
    for _ in 0..CLIENTS {
        running
            .recv_timeout(Duration::from_secs(30))
            .expect("every client's push query starts");
    }
    let opened = started.elapsed();
    let rss_open = server.rss_kb();
    // With every query open and nothing to send, the server should be idle, not polling.
    let idle_window = Duration::from_secs(2);
    let cpu_before = server.cpu_time();
    std::thread::sleep(idle_window);
    let idle_cpu = match (cpu_before, server.cpu_time()) {
        (Some(before), Some(after)) => {
            Some((after - before).as_secs_f64() / idle_window.as_secs_f64())
        }
        _ => None,
    };
    if let Some(share) = idle_cpu {
        assert!(
            share < 0.5,
            "the server used {share:.2} of a core while its queries were idle"
        );
    }

    let inserts: String = (0..ROWS)
        .map(|n| {
            format!(
                "INSERT INTO ticks (id, n, label) VALUES ({}, {n}, 'tick {n}');\n",
                n % 7
            )
        })
        .collect();
    let insert_start = Instant::now();
    server.ksql_ok(&inserts);
    let expected: Vec<Value> = (0..ROWS)
        .map(|n| json!([n % 7, n, format!("tick {n}")]))
        .collect();
    let mut last = insert_start;
    for (i, client) in clients.into_iter().enumerate() {
        let (rows, received) = client
            .join()
            .unwrap_or_else(|_| panic!("client {i} failed"));
        assert_eq!(rows, expected, "client {i} got different rows");
        last = last.max(received);
    }
    let delivered = last.duration_since(insert_start);
    let rss_delivered = server.rss_kb();

    // The clients have hung up; the server keeps serving.
    let health = server.get("/healthcheck");
    assert_eq!(health.status, 200);
    let kb = |v: Option<u64>| v.map_or("n/a".to_string(), |v| format!("{v} kB"));
    println!(
        "{CLIENTS} push queries: opened in {opened:?}; {ROWS} rows delivered to all in {delivered:?}"
    );
    println!(
        "server VmRSS: before {} / with {CLIENTS} queries open {} / after delivery and hang-up {}",
        kb(rss_start),
        kb(rss_open),
        kb(rss_delivered)
    );
    println!(
        "server CPU while the {CLIENTS} queries were idle: {}",
        idle_cpu.map_or("n/a".to_string(), |s| format!(
            "{:.1}% of a core",
            s * 100.0
        ))
    );
}

#[test]
fn commands_are_numbered_in_order_across_requests() {
    let server = Server::start();
    let sequence = |entity: &Value| entity["commandSequenceNumber"].as_i64();
    let first = server.ksql_ok(
        "CREATE STREAM a (id INT KEY, v STRING) WITH (kafka_topic='a', value_format='JSON', partitions=1);\
         SHOW STREAMS;\
         CREATE STREAM b AS SELECT * FROM a;",
    );
    assert_eq!(sequence(&first[0]), Some(0), "{first:?}");
    assert_eq!(sequence(&first[2]), Some(1), "{first:?}");
    // A statement that fails applies nothing and takes no number.
    let refused =
        server.ksql("CREATE STREAM a (id INT KEY) WITH (kafka_topic='a', value_format='JSON');");
    assert_eq!(refused.status, 400, "{}", refused.text());
    let later = server.ksql_ok("TERMINATE CSAS_B_0; DROP STREAM b;");
    assert_eq!(sequence(&later[0]), Some(2), "{later:?}");
    assert_eq!(sequence(&later[1]), Some(3), "{later:?}");
}

/// Writes one chunk of a chunked request body.
fn send_chunk(stream: &mut std::net::TcpStream, data: &str) {
    use std::io::Write;
    write!(stream, "{:x}\r\n{data}\r\n", data.len()).expect("write a chunk");
    stream.flush().expect("flush");
}

/// Reads from the response until `needle` has arrived; all read so far.
fn read_until(stream: &mut std::net::TcpStream, seen: &mut String, needle: &str) {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !seen.contains(needle) {
        assert!(Instant::now() < deadline, "no {needle:?} in {seen:?}");
        match stream.read(&mut buf) {
            Ok(0) => panic!("the response ended before {needle:?}: {seen:?}"),
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

#[test]
fn inserts_stream_acknowledges_each_row_while_the_request_is_open() {
    use std::io::Write;
    let server = Server::start();
    server.ksql_ok(
        "CREATE STREAM events (id INT KEY, v STRING) WITH (kafka_topic='events', value_format='JSON', partitions=1);\
         CREATE SOURCE STREAM fixed (id INT KEY) WITH (kafka_topic='events', value_format='JSON');",
    );
    for (accept, first_ack, second_ack) in [
        (
            "application/vnd.ksqlapi.delimited.v1",
            "{\"status\":\"ok\",\"seq\":0}\n",
            "{\"status\":\"ok\",\"seq\":1}\n",
        ),
        (
            "application/json",
            "[{\"status\":\"ok\",\"seq\":0}",
            ",{\"status\":\"ok\",\"seq\":1}",
        ),
    ] {
        let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        write!(
            stream,
            "POST /inserts-stream HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        )
        .expect("write the head");
        send_chunk(
            &mut stream,
            "{\"target\":\"events\"}\n{\"id\":1,\"v\":\"a\"}\n",
        );
        // The first row is acknowledged while the request is still open.
        let mut seen = String::new();
        read_until(&mut stream, &mut seen, first_ack);
        send_chunk(&mut stream, "{\"id\":2,\"v\":\"b\"}\n");
        read_until(&mut stream, &mut seen, second_ack);
        stream.write_all(b"0\r\n\r\n").expect("end the body");
        // The response ends, closing the JSON array in its last chunk.
        read_until(&mut stream, &mut seen, "0\r\n\r\n");
        if accept == "application/json" {
            assert!(seen.contains("\r\n]\r\n"), "{seen:?}");
        }
    }
    // Both streams' rows arrived, in order.
    let (_, rows) = server.query_stream(
        "SELECT id, v FROM events EMIT CHANGES LIMIT 4;",
        json!({"auto.offset.reset": "earliest"}),
    );
    assert_eq!(
        rows,
        vec![
            json!([1, "a"]),
            json!([2, "b"]),
            json!([1, "a"]),
            json!([2, "b"])
        ]
    );
    // A read-only stream takes no rows here either, as INSERT VALUES refuses it.
    let r = server.post_json("/inserts-stream", &json!({"target": "fixed"}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("read-only"), "{}", r.text());
}

#[test]
fn print_shows_a_topics_records_and_their_formats() {
    let server = Server::start();
    server.ksql_ok(
        "CREATE STREAM P (ID STRING KEY, V BIGINT) WITH (kafka_topic='p_topic', value_format='JSON', partitions=1);\
         INSERT INTO P (ID, V) VALUES ('a', 1);\
         INSERT INTO P (ID, V) VALUES ('b', 2);\
         INSERT INTO P (ID, V) VALUES ('c', 3);",
    );
    let print = |sql: &str| server.post_json("/query", &json!({ "ksql": sql }));
    let r = print("PRINT 'p_topic' FROM BEGINNING LIMIT 2;");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "Key format: KAFKA_STRING",
            "Value format: JSON or KAFKA_STRING"
        ]
    );
    assert_eq!(lines.len(), 4, "{text}");
    for (line, (key, v)) in lines[2..].iter().zip([("a", 1), ("b", 2)]) {
        assert!(line.starts_with("rowtime: 20"), "{line}");
        assert!(
            line.ends_with(&format!(
                " Z, key: {key}, value: {{\"V\":{v}}}, partition: 0"
            )),
            "{line}"
        );
    }
    // Every second record; LIMIT 0 prints nothing.
    let sampled = print("PRINT p_topic FROM BEGINNING INTERVAL 2 LIMIT 2;").text();
    let keys: Vec<&str> = sampled
        .lines()
        .filter_map(|l| l.split(", key: ").nth(1)?.split(',').next())
        .collect();
    assert_eq!(keys, ["a", "c"], "{sampled}");
    assert_eq!(print("PRINT p_topic FROM BEGINNING LIMIT 0;").text(), "");
    // /query-stream: the records only.
    let r = server.post_json(
        "/query-stream",
        &json!({ "sql": "PRINT p_topic FROM BEGINNING LIMIT 1;" }),
    );
    assert!(r.text().starts_with("rowtime: "), "{}", r.text());
    assert_eq!(r.text().lines().count(), 1);
    // Topic names are case-sensitive; ksqlDB suggests the near misses.
    let r = print("PRINT P_TOPIC;");
    let body = assert_error_shape(&r, "generic_error", 40000);
    assert_eq!(
        body["message"],
        "Could not find topic 'P_TOPIC', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.\nDid you mean:\n\tprint p_topic;"
    );
    // Without FROM BEGINNING a print shows what arrives after it starts.
    let (tx, rx) = mpsc::channel();
    let addr = server.addr;
    std::thread::spawn(move || {
        let r = support::request(
            addr,
            "POST",
            "/query",
            &[("Content-Type", "application/vnd.ksql.v1+json")],
            json!({"ksql": "PRINT p_topic LIMIT 1;"})
                .to_string()
                .as_bytes(),
        );
        let _ = tx.send(r.text());
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        server.ksql_ok("INSERT INTO P (ID, V) VALUES ('later', 9);");
        if let Ok(text) = rx.recv_timeout(Duration::from_millis(200)) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the print never saw the new record"
        );
    };
    assert!(text.contains("key: later, value: {\"V\":9}"), "{text}");
    assert!(!text.contains("key: a,"), "{text}");
}
