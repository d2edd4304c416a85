//! A thousand malformed requests against the running server binary: bad JSON, wrong content
//! types, huge and empty bodies, garbage SQL, random bytes, truncated HTTP, unknown endpoints
//! and bad property values. Every answer must be a well-formed HTTP response — a ksqlDB-shaped
//! JSON error, a plain `404 Not Found`, or a success — and never a 5xx; the server must keep
//! answering `/healthcheck` after every batch and still be running at the end.
//!
//! The requests come from a fixed-seed generator, so a failure replays exactly: the report
//! names the case number and what it sent.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Response, Rng, Server, parse_response, send_raw};

const CASES: usize = 1000;
const BATCH: usize = 50;
const SEED: u64 = 0x0051_11CE_F022;
const CASE_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's request-body limit.
const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// What a case may get back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// The request reaches the router: a response must come, and an error is ksqlDB-shaped.
    Answer,
    /// Bytes that are not HTTP (or cut short): the connection may close without an answer, or
    /// the HTTP layer may answer with an empty 4xx.
    MaybeNothing,
}

struct Case {
    what: String,
    bytes: Vec<u8>,
    half_close: bool,
    expect: Expect,
}

const JSON_ENDPOINTS: [&str; 5] = [
    "/ksql",
    "/query",
    "/query-stream",
    "/close-query",
    "/inserts-stream",
];

/// Bodies that are valid and end by themselves (no push query without a LIMIT).
const VALID_BODIES: [(&str, &str); 8] = [
    (
        "/ksql",
        r#"{"ksql":"SHOW STREAMS;","streamsProperties":{}}"#,
    ),
    (
        "/ksql",
        r#"{"ksql":"INSERT INTO fuzz (id, v) VALUES (7, 'seven');"}"#,
    ),
    ("/ksql", r#"{"ksql":"DESCRIBE fuzz;"}"#),
    ("/query", r#"{"ksql":"SELECT * FROM fuzz;"}"#),
    (
        "/query-stream",
        r#"{"sql":"SELECT * FROM fuzz;","properties":{}}"#,
    ),
    (
        "/query-stream",
        r#"{"sql":"SELECT * FROM fuzz_counts WHERE id = 1;"}"#,
    ),
    ("/close-query", r#"{"queryId":"transient_FUZZ_1"}"#),
    (
        "/inserts-stream",
        "{\"target\":\"fuzz\"}\n{\"ID\":1,\"V\":\"x\"}\n",
    ),
];

const SQL_WORDS: [&str; 48] = [
    "SELECT",
    "*",
    "FROM",
    "fuzz",
    "fuzz_counts",
    "WHERE",
    "EMIT",
    "CREATE",
    "STREAM",
    "TABLE",
    "AS",
    "INSERT",
    "INTO",
    "VALUES",
    "(",
    ")",
    ",",
    ";",
    "'",
    "\"",
    "`",
    "=",
    "<>",
    "+",
    "-",
    "/",
    "GROUP",
    "BY",
    "WITH",
    "KEY",
    "PRIMARY",
    "DROP",
    "SHOW",
    "DESCRIBE",
    "1",
    "-9223372036854775809",
    "1e999",
    "'unterminated",
    "NULL",
    "CAST",
    "STRUCT<",
    "ARRAY[",
    "${var}",
    "--",
    "/*",
    "WINDOW TUMBLING (SIZE",
    "PARTITION",
    "💥",
];

const CONTENT_TYPES: [&str; 8] = [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=xyz",
    "application/x-www-form-urlencoded",
    "application/vnd.ksql.v1+protobuf",
    "image/png",
    "application/json; charset=latin1",
    "",
];

const ACCEPTS: [&str; 6] = [
    "application/vnd.ksql.v1+protobuf",
    "text/html",
    "*/*",
    "application/vnd.ksqlapi.delimited.v1;q=0.1, application/json;q=0.9",
    "nonsense",
    "application/json",
];

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

fn http(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn post_json(path: &str, body: &[u8]) -> Vec<u8> {
    http(
        "POST",
        path,
        &[("Content-Type", "application/vnd.ksql.v1+json")],
        body,
    )
}

/// A random but valid JSON value.
fn random_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.next_u64() as i64),
        3 => json!(rng.next_u64() as f64 / 7.0),
        4 => json!(random_text(rng, 12)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                map.insert(random_text(rng, 6), random_json(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

fn random_text(rng: &mut Rng, max: usize) -> String {
    const CHARS: &[char] = &[
        'a', 'Z', '0', ' ', '\'', '"', '\\', ';', '{', '}', '\n', '\t', 'é', '€', '\u{0}', '💥',
    ];
    (0..rng.below(max + 1)).map(|_| *rng.pick(CHARS)).collect()
}

fn garbage_sql(rng: &mut Rng) -> String {
    let words: Vec<&str> = (0..1 + rng.below(14))
        .map(|_| *rng.pick(&SQL_WORDS))
        .collect();
    words.join(" ")
}

/// Breaks a valid text: cut it, flip a byte, drop or duplicate a piece.
fn mutate(rng: &mut Rng, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(5) {
            0 => bytes.truncate(at),
            1 => bytes[at] ^= 1 << rng.below(8),
            2 => {
                bytes.remove(at);
            }
            3 => {
                let piece = bytes[at..].to_vec();
                bytes.extend_from_slice(&piece);
            }
            _ => bytes.insert(at, *rng.pick(b"{}[]\",:\\\x00\xff")),
        }
    }
    bytes
}

fn case(rng: &mut Rng, n: usize) -> Case {
    let answer = |what: String, bytes: Vec<u8>| Case {
        what,
        bytes,
        half_close: false,
        expect: Expect::Answer,
    };
    match n % 10 {
        // Bad JSON: broken valid bodies, wrong field types, deep nesting.
        0 => {
            let (path, body) = *rng.pick(&VALID_BODIES);
            match rng.below(4) {
                0 | 1 => {
                    let body = mutate(rng, body);
                    answer(format!("mutated JSON to {path}"), post_json(path, &body))
                }
                2 => {
                    let path = *rng.pick(&JSON_ENDPOINTS);
                    let field = *rng.pick(&["ksql", "sql", "queryId", "target", "properties"]);
                    let body = json!({ field: random_json(rng, 0) }).to_string();
                    answer(
                        format!("wrong types to {path}: {body}"),
                        post_json(path, body.as_bytes()),
                    )
                }
                _ => {
                    let depth = 100 + rng.below(20_000);
                    let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                    let path = *rng.pick(&JSON_ENDPOINTS);
                    answer(
                        format!("{depth}-deep JSON to {path}"),
                        post_json(path, body.as_bytes()),
                    )
                }
            }
        }
        // Wrong content types and Accept headers around valid and invalid bodies.
        1 => {
            let (path, body) = *rng.pick(&VALID_BODIES);
            let content_type = *rng.pick(&CONTENT_TYPES);
            let accept = *rng.pick(&ACCEPTS);
            let body = if rng.below(2) == 0 {
                body.as_bytes().to_vec()
            } else {
                b"name=value&x=%ZZ".to_vec()
            };
            answer(
                format!("content type {content_type:?}, accept {accept:?} to {path}"),
                http(
                    "POST",
                    path,
                    &[("Content-Type", content_type), ("Accept", accept)],
                    &body,
                ),
            )
        }
        // Huge bodies: junk, a huge statement, and (rarely) one over the limit.
        2 => {
            let path = *rng.pick(&JSON_ENDPOINTS);
            if n % 500 == 2 {
                // Just over the limit: the server reads it all, then refuses it.
                let body = vec![b'x'; BODY_LIMIT + 1];
                return answer(format!("over-limit body to {path}"), post_json(path, &body));
            }
            match rng.below(25) {
                1..=8 => {
                    let size = 64 * 1024 + rng.below(1024 * 1024);
                    let body = rng.bytes(size);
                    answer(
                        format!("{size} random bytes to {path}"),
                        post_json(path, &body),
                    )
                }
                _ => {
                    let size = 1024 + rng.below(128 * 1024);
                    let word = *rng.pick(&["x", "SELECT ", "'", "(", "1+"]);
                    let text = word.repeat(size / word.len());
                    let field = if path == "/query-stream" {
                        "sql"
                    } else {
                        "ksql"
                    };
                    let body = json!({ field: text }).to_string();
                    answer(
                        format!("{size}-byte statement to {path}"),
                        post_json(path, body.as_bytes()),
                    )
                }
            }
        }
        // Empty bodies, and POST endpoints called without one.
        3 => {
            let path = *rng.pick(&JSON_ENDPOINTS);
            let method = *rng.pick(&["POST", "GET", "PUT"]);
            answer(
                format!("empty {method} {path}"),
                http(method, path, &[], b""),
            )
        }
        // Garbage SQL in well-formed requests.
        4 => {
            let sql = garbage_sql(rng);
            let (path, body) = match rng.below(3) {
                0 => ("/ksql", json!({ "ksql": sql })),
                1 => ("/query", json!({ "ksql": sql })),
                _ => ("/query-stream", json!({ "sql": sql })),
            };
            answer(
                format!("garbage SQL to {path}: {sql:?}"),
                post_json(path, body.to_string().as_bytes()),
            )
        }
        // Random bytes: as the whole request, or as the body of a valid one.
        5 => {
            let size = 1 + rng.below(4096);
            let bytes = rng.bytes(size);
            if rng.below(2) == 0 {
                Case {
                    what: format!("{size} random bytes as the request"),
                    bytes,
                    half_close: true,
                    expect: Expect::MaybeNothing,
                }
            } else {
                let path = *rng.pick(&JSON_ENDPOINTS);
                answer(
                    format!("{size} random bytes as the body to {path}"),
                    post_json(path, &bytes),
                )
            }
        }
        // Truncated HTTP: a valid request cut anywhere, then the client stops sending; also a
        // body announced longer than sent, and broken chunked framing.
        6 => {
            let (path, body) = *rng.pick(&VALID_BODIES);
            match rng.below(3) {
                0 => {
                    let full = post_json(path, body.as_bytes());
                    let cut = rng.below(full.len());
                    Case {
                        what: format!("request to {path} cut at byte {cut}"),
                        bytes: full[..cut].to_vec(),
                        half_close: true,
                        expect: Expect::MaybeNothing,
                    }
                }
                1 => {
                    let head = format!(
                        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len() + 1 + rng.below(1000)
                    );
                    Case {
                        what: format!("short body to {path}"),
                        bytes: [head.as_bytes(), body.as_bytes()].concat(),
                        half_close: true,
                        expect: Expect::MaybeNothing,
                    }
                }
                _ => {
                    let framing =
                        *rng.pick(&["zz\r\n{}\r\n0\r\n\r\n", "5\r\n{}\r\n0\r\n\r\n", "3\r\n{}"]);
                    let bytes = format!(
                        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{framing}"
                    );
                    Case {
                        what: format!("bad chunked body {framing:?} to {path}"),
                        bytes: bytes.into_bytes(),
                        half_close: true,
                        expect: Expect::MaybeNothing,
                    }
                }
            }
        }
        // Unknown endpoints and methods.
        7 => {
            let method = *rng.pick(&METHODS);
            let path = match rng.below(6) {
                0 => format!("/{}", random_path_segment(rng)),
                1 => format!("/ksql/{}", random_path_segment(rng)),
                2 => format!(
                    "/status/{}/{}/{}",
                    random_path_segment(rng),
                    random_path_segment(rng),
                    random_path_segment(rng)
                ),
                3 => format!("/{}", "a/".repeat(1 + rng.below(2000))),
                4 => "/../../etc/passwd".to_string(),
                _ => rng.pick(&JSON_ENDPOINTS).to_string(),
            };
            answer(format!("{method} {path}"), http(method, &path, &[], b"{}"))
        }
        // Bad property values and variables with valid statements.
        8 => {
            let name = *rng.pick(&[
                "auto.offset.reset",
                "ksql.streams.auto.offset.reset",
                "ksql.streams.cache.max.bytes.buffering",
                "cache.max.bytes.buffering",
                "ksql.query.pull.table.scan.enabled",
                "processing.guarantee",
                "",
                "no.such.property",
            ]);
            let value = random_json(rng, 0);
            let properties = json!({ name: value });
            let (path, body) = match rng.below(4) {
                0 => (
                    "/ksql",
                    json!({"ksql": "SHOW STREAMS;", "streamsProperties": properties}),
                ),
                1 => (
                    "/ksql",
                    json!({"ksql": "SHOW TABLES;", "sessionVariables": properties}),
                ),
                2 => (
                    "/query-stream",
                    json!({"sql": "SELECT * FROM fuzz;", "properties": properties}),
                ),
                _ => (
                    "/query",
                    json!({"ksql": "SELECT * FROM fuzz_counts WHERE id = 1;", "streamsProperties": random_json(rng, 0)}),
                ),
            };
            let body = body.to_string();
            answer(
                format!("bad properties to {path}: {body}"),
                post_json(path, body.as_bytes()),
            )
        }
        // Bad rows on /inserts-stream, unknown ids on /close-query, odd headers.
        _ => match rng.below(3) {
            0 => {
                let mut body = format!(
                    "{{\"target\":\"{}\"}}\n",
                    rng.pick(&["fuzz", "FUZZ", "nope", "fuzz_counts", ""])
                );
                for _ in 0..rng.below(4) {
                    body.push_str(&random_json(rng, 0).to_string());
                    body.push('\n');
                }
                answer(
                    format!("inserts-stream {body:?}"),
                    post_json("/inserts-stream", body.as_bytes()),
                )
            }
            1 => {
                let body = json!({"queryId": random_text(rng, 20)}).to_string();
                answer(
                    format!("close-query {body}"),
                    post_json("/close-query", body.as_bytes()),
                )
            }
            _ => {
                let long = "x".repeat(1 + rng.below(16 * 1024));
                answer(
                    format!("{}-byte header", long.len()),
                    http(
                        "POST",
                        "/ksql",
                        &[("Content-Type", "application/json"), ("X-Long", &long)],
                        br#"{"ksql":"SHOW STREAMS;"}"#,
                    ),
                )
            }
        },
    }
}

fn random_path_segment(rng: &mut Rng) -> String {
    const CHARS: &[&str] = &[
        "a", "Z", "9", "%20", "%ff", "%00", "~", "-", ".", "_", "%2F",
    ];
    (0..1 + rng.below(12)).map(|_| *rng.pick(CHARS)).collect()
}

/// Checks one answer; the key says what the answer was, for the tally.
fn check(expect: Expect, raw: &[u8]) -> Result<String, String> {
    if raw.is_empty() {
        return match expect {
            Expect::MaybeNothing => Ok("none".to_string()),
            Expect::Answer => Err("no response".to_string()),
        };
    }
    let response = parse_response(raw)?;
    let key = response.status.to_string();
    if response.status >= 500 {
        return Err(format!("server error: {}", response.text()));
    }
    if response.status < 400 {
        return Ok(key);
    }
    if response.body.is_empty() && expect == Expect::MaybeNothing {
        // The HTTP layer's answer to bytes it could not parse.
        return Ok(format!("{key} (empty)"));
    }
    if response.status == 404 && response.body == b"Not Found" {
        return Ok(key);
    }
    check_error_body(&response)?;
    Ok(key)
}

/// The ksqlDB error body: `@type`, `error_code` = status × 100 + n, `message`, and for
/// statement errors the statement and the entities before it.
fn check_error_body(response: &Response) -> Result<(), String> {
    if response.header("content-type") != Some("application/json") {
        return Err(format!(
            "status {} with content type {:?}: {:?}",
            response.status,
            response.header("content-type"),
            response.text()
        ));
    }
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("status {}: body is not JSON ({e})", response.status))?;
    let ty = body["@type"].as_str().unwrap_or_default();
    if ty != "generic_error" && ty != "statement_error" {
        return Err(format!("no ksqlDB @type: {body}"));
    }
    let code = body["error_code"]
        .as_u64()
        .ok_or_else(|| format!("no error_code: {body}"))?;
    if code / 100 != u64::from(response.status) {
        return Err(format!("error_code {code} with status {}", response.status));
    }
    if !body["message"].is_string() {
        return Err(format!("no message: {body}"));
    }
    if ty == "statement_error"
        && (!body["statementText"].is_string() || !body["entities"].is_array())
    {
        return Err(format!(
            "statement_error without statementText/entities: {body}"
        ));
    }
    Ok(())
}

#[test]
fn a_thousand_malformed_requests_get_well_formed_answers() {
    let mut server = Server::start();
    server.ksql_ok(
        "CREATE STREAM fuzz (id INT KEY, v STRING) \
           WITH (kafka_topic='fuzz', value_format='JSON', partitions=1);\n\
         CREATE TABLE fuzz_counts AS SELECT id, COUNT(*) AS n FROM fuzz GROUP BY id;\n\
         INSERT INTO fuzz (id, v) VALUES (1, 'one');",
    );
    let mut rng = Rng::new(SEED);
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for n in 0..CASES {
        let case = case(&mut rng, n);
        let outcome = send_raw(server.addr, &case.bytes, case.half_close, CASE_TIMEOUT)
            .and_then(|raw| check(case.expect, &raw));
        match outcome {
            Ok(key) => *tally.entry(key).or_default() += 1,
            Err(e) => {
                *tally.entry("FAILED".to_string()).or_default() += 1;
                let what: String = case.what.chars().take(300).collect();
                failures.push(format!("case {n} ({what}): {e}"));
            }
        }
        if (n + 1) % BATCH == 0 {
            assert!(
                server.alive(),
                "the server died by case {n}; log:\n{}",
                server.log_text()
            );
            let health = server.get("/healthcheck");
            assert_eq!(health.status, 200, "after case {n}");
            assert_eq!(health.json()["isHealthy"], true, "after case {n}");
        }
    }
    println!(
        "{CASES} malformed requests in {:?}; answers by status: {tally:?}",
        started.elapsed()
    );
    assert!(
        server.alive(),
        "the server died; log:\n{}",
        server.log_text()
    );
    let log = server.log_text();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    // Still serving statements.
    let streams = server.ksql_ok("SHOW STREAMS;");
    assert_eq!(streams[0]["@type"], "streams");
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
