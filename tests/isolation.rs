//! One query's pathological work does not stall the others or the API: a query whose every
//! record updates 10,000 hopping windows shares the server's one stream thread with a plain
//! copy, and while it works through its backlog the copy's rows still arrive promptly and
//! statements are answered. (A task takes fewer records per step once its steps overrun
//! their budget, so its thread moves on to the other tasks.)

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{LineStream, Server};

/// The costly query's backlog: each record lands in 10,000 windows.
const HEAVY_RECORDS: usize = 600;

#[test]
fn a_costly_query_leaves_the_others_and_the_api_running() {
    // One stream thread: the costly query and the copy take turns on it.
    let server = Server::start_configured("ksql.streams.num.stream.threads=1");
    server.ksql_ok(
        "CREATE STREAM heavy (k STRING KEY, v INT) WITH (kafka_topic='heavy', partitions=1, value_format='JSON');\
         CREATE STREAM light (k STRING KEY, v INT) WITH (kafka_topic='light', partitions=1, value_format='JSON');\
         SET 'auto.offset.reset'='earliest';\
         CREATE TABLE hopping AS SELECT k, COUNT(*) AS n FROM heavy \
           WINDOW HOPPING (SIZE 10000 MILLISECONDS, ADVANCE BY 1 MILLISECOND) GROUP BY k;\
         CREATE STREAM copied AS SELECT * FROM light;",
    );
    let lines: String = (0..HEAVY_RECORDS)
        .map(|i| format!("{{\"K\":\"k{}\",\"V\":{i}}}\n", i % 3))
        .collect();
    let loaded = support::request(
        server.addr,
        "POST",
        "/topics/heavy/records?key=K",
        &[("Content-Type", "application/octet-stream")],
        lines.as_bytes(),
    );
    assert_eq!(loaded.status, 200, "{}", loaded.text());
    let loaded_at = Instant::now();

    // While the costly query works, each row of the copy arrives, and the API answers.
    let mut slowest_row = Duration::ZERO;
    let mut slowest_answer = Duration::ZERO;
    for i in 0..5 {
        let mut rows = LineStream::open(
            server.addr,
            "/query-stream",
            &json!({"sql": "SELECT * FROM copied EMIT CHANGES LIMIT 1;",
                    "properties": {"auto.offset.reset": "latest"}}),
            Duration::from_secs(60),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let header = rows.next_json(deadline).expect("the push query's header");
        assert!(header["queryId"].is_string(), "{header}");
        let asked = Instant::now();
        server.ksql_ok(&format!("INSERT INTO light (k, v) VALUES ('x', {i});"));
        slowest_answer = slowest_answer.max(asked.elapsed());
        let row: Value = rows.next_json(deadline).expect("the copied row");
        assert_eq!(row, json!(["x", i]));
        slowest_row = slowest_row.max(asked.elapsed());
        let started = Instant::now();
        assert_eq!(server.get("/info").status, 200);
        slowest_answer = slowest_answer.max(started.elapsed());
    }
    let measured_for = loaded_at.elapsed();
    // The costly query was busy all along: it finishes well after the measurements (its
    // offsets are committed every 2 s, hence the margin).
    let deadline = Instant::now() + Duration::from_secs(600);
    while server.consumed("HOPPING") < HEAVY_RECORDS as u64 {
        assert!(Instant::now() < deadline, "the costly query never finished");
        std::thread::sleep(Duration::from_millis(200));
    }
    let heavy_took = loaded_at.elapsed();
    println!(
        "copied rows within {slowest_row:?}, answers within {slowest_answer:?}, over {measured_for:?} of the costly query's {heavy_took:?}"
    );
    assert!(
        heavy_took > measured_for + Duration::from_secs(3),
        "the costly query finished too soon for the test to measure anything"
    );
    assert!(
        slowest_row < Duration::from_secs(3),
        "a copied row took {slowest_row:?} behind the costly query"
    );
    assert!(
        slowest_answer < Duration::from_secs(2),
        "a statement took {slowest_answer:?}"
    );
}
