//! Ten thousand malformed requests against the running server binary, locked down with BASIC
//! authentication: bad JSON, wrong, stacked and contradictory content types and framing
//! headers, huge and empty bodies, garbage SQL, random bytes, truncated HTTP, every endpoint
//! (the schema registry's, topic loading, status, the console) with broken bodies and
//! parameters, unknown endpoints, bad property values, broken credentials, and the same over
//! HTTP/2 (prior knowledge) along with random HTTP/2 frames. Every answer must be a
//! well-formed HTTP response — a ksqlDB-shaped JSON error, a schema registry error, a plain
//! `404 Not Found`, or a success — and never a 5xx; the server must keep answering
//! `/healthcheck` after every batch and still be running at the end.
//!
//! The requests come from a seeded generator (`SLUICE_FUZZ_SEED` replaces the fixed seed), so
//! a failure replays exactly: the report names the seed, the case number and what it sent.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Response, Rng, Server, parse_response, send_raw};

const CASES: usize = 10_000;
const BATCH: usize = 50;
const SEED: u64 = 0x0051_11CE_F022;
/// The fuzz user's credentials (`fuzz:fuzz-password`) and a read-only user's (`viewer:v`).
const ADMIN: &str = "Basic ZnV6ejpmdXp6LXBhc3N3b3Jk";
const VIEWER: &str = "Basic dmlld2VyOnY=";
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
    match n % 13 {
        10 => other_endpoint(rng),
        11 => stacked_headers(rng),
        // 12: HTTP/2, in `h2_case`.
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

/// The schema registry's, topic loading's and the other endpoints, with valid, broken and
/// random bodies and parameters.
fn other_endpoint(rng: &mut Rng) -> Case {
    let answer = |what: String, bytes: Vec<u8>| Case {
        what,
        bytes,
        half_close: false,
        expect: Expect::Answer,
    };
    const SCHEMA_BODIES: [&str; 6] = [
        r#"{"schema":"{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"}"#,
        r#"{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\"; message M { int32 a = 1; }"}"#,
        r#"{"schemaType":"JSON","schema":"{\"type\":\"object\"}"}"#,
        r#"{"schemaType":"XML","schema":"<a/>"}"#,
        r#"{"schema":"{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"nope\"}]}"}"#,
        r#"{"schema":"x","references":[{"name":"a","subject":"missing","version":-7}]}"#,
    ];
    let subject = *rng.pick(&["fuzz-value", "fuzz-key", "nope", "%00", "a%2Fb", "😀"]);
    let version = *rng.pick(&["1", "latest", "-1", "0", "99999999999999999999", "x"]);
    match rng.below(8) {
        0 | 1 => {
            let body = rng.pick(&SCHEMA_BODIES).to_string();
            let body = if rng.below(2) == 0 {
                body.into_bytes()
            } else {
                mutate(rng, &body)
            };
            let path = match rng.below(3) {
                0 => format!("/subjects/{subject}/versions"),
                1 => format!("/subjects/{subject}"),
                _ => format!("/compatibility/subjects/{subject}/versions/{version}"),
            };
            answer(
                format!("registry POST {path}"),
                http(
                    "POST",
                    &path,
                    &[("Content-Type", "application/vnd.schemaregistry.v1+json")],
                    &body,
                ),
            )
        }
        2 => {
            let path = match rng.below(6) {
                0 => "/subjects".to_string(),
                1 => format!("/subjects/{subject}/versions"),
                2 => format!("/subjects/{subject}/versions/{version}"),
                3 => format!("/subjects/{subject}/versions/{version}/schema"),
                4 => format!("/schemas/ids/{version}"),
                _ => format!("/schemas/ids/{version}/versions"),
            };
            answer(format!("registry GET {path}"), http("GET", &path, &[], b""))
        }
        3 => {
            let body = mutate(rng, r#"{"compatibility":"NONE"}"#);
            answer(
                "registry PUT /config".to_string(),
                http(
                    "PUT",
                    "/config",
                    &[("Content-Type", "application/json")],
                    &body,
                ),
            )
        }
        4 | 5 => {
            let topic = *rng.pick(&["fuzz", "fuzz_load", "__consumer_offsets", "%2e%2e", "a%20b"]);
            let query = *rng.pick(&[
                "",
                "?format=json",
                "?format=delimited&delimiter=%7C",
                "?format=xml",
                "?partitions=0",
                "?partitions=4294967297",
                "?partitions=-1",
                "?key=ID&key_format=bigint",
                "?key=9999&format=delimited",
                "?first_line=abc",
                "?key_format=float",
                "?delimiter=",
            ]);
            let mut body = String::new();
            for _ in 0..rng.below(20) {
                match rng.below(3) {
                    0 => body.push_str(&random_json(rng, 0).to_string()),
                    1 => body.push_str(&random_text(rng, 30)),
                    _ => body.push_str(r#"{"ID":1,"V":"x"}"#),
                }
                body.push('\n');
            }
            let path = format!("/topics/{topic}/records{query}");
            answer(
                format!("produce to {path}"),
                http(
                    "POST",
                    &path,
                    &[("Content-Type", "application/octet-stream")],
                    body.as_bytes(),
                ),
            )
        }
        _ => {
            let path = *rng.pick(&[
                "/",
                "/console/app.js",
                "/console/style.css",
                "/info",
                "/healthcheck",
                "/status",
                "/status/stream/FUZZ/create",
                "/clusterStatus",
                "/chc/live",
                "/chc/ready",
                "/schemas/types",
                "/config",
            ]);
            let accept = *rng.pick(&ACCEPTS);
            let method = *rng.pick(&["GET", "GET", "POST", "DELETE"]);
            answer(
                format!("{method} {path} accepting {accept}"),
                http(method, path, &[("Accept", accept)], b""),
            )
        }
    }
}

/// Headers that contradict or repeat each other: two content types, two lengths, a length
/// and chunking, encodings the server does not decode, upgrades it does not offer.
fn stacked_headers(rng: &mut Rng) -> Case {
    let (path, body) = *rng.pick(&VALID_BODIES);
    let headers: Vec<(&str, String)> = match rng.below(8) {
        0 => vec![
            ("Content-Type", "application/json".to_string()),
            ("Content-Type", rng.pick(&CONTENT_TYPES).to_string()),
        ],
        1 => vec![(
            "Content-Type",
            "application/json, text/plain; charset=utf-8; boundary=\"x\"".to_string(),
        )],
        2 => vec![(
            "Content-Encoding",
            rng.pick(&["gzip", "br", "deflate, gzip", "x"]).to_string(),
        )],
        3 => vec![
            ("Accept", rng.pick(&ACCEPTS).to_string()),
            ("Accept", rng.pick(&ACCEPTS).to_string()),
            ("Accept-Encoding", "gzip;q=1.0, *;q=0".to_string()),
        ],
        // Upgrades the server does not take (an `h2c` upgrade is answered with 101 and the
        // connection turns HTTP/2, which tests/server_http.rs covers).
        4 => vec![
            (
                "Upgrade",
                rng.pick(&["websocket", "h2", "HTTP/2.0", "h2c"])
                    .to_string(),
            ),
            (
                "Connection",
                rng.pick(&["keep-alive", "HTTP2-Settings"]).to_string(),
            ),
            (
                "HTTP2-Settings",
                rng.pick(&["", "AAMAAABkAAQAoAAAAAIAAAAA", "!!!", "AAAA"])
                    .to_string(),
            ),
        ],
        5 => vec![("Expect", rng.pick(&["100-continue", "teapot"]).to_string())],
        6 => vec![(
            "Transfer-Encoding",
            rng.pick(&["chunked", "gzip, chunked", "identity"])
                .to_string(),
        )],
        _ => vec![("Content-Length", (body.len() + rng.below(3)).to_string())],
    };
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.starts_with("Content-Type")) {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    // Framing that contradicts itself may be refused by the HTTP layer without a body, or
    // cut off: the server must survive it, not answer it.
    let contradicts = headers
        .iter()
        .any(|(n, _)| *n == "Transfer-Encoding" || *n == "Content-Length" || *n == "Expect");
    Case {
        what: format!("stacked headers {headers:?} to {path}"),
        bytes: [head.as_bytes(), body.as_bytes()].concat(),
        half_close: contradicts,
        expect: if contradicts {
            Expect::MaybeNothing
        } else {
            Expect::Answer
        },
    }
}

/// An `Authorization` header for a case: mostly the fuzz user's, sometimes the read-only
/// user's, sometimes broken.
fn authorization(rng: &mut Rng) -> Option<String> {
    Some(match rng.below(40) {
        0..=31 => ADMIN.to_string(),
        32..=34 => VIEWER.to_string(),
        35 => return None,
        36 => "Basic ZnV6ejp3cm9uZw==".to_string(),
        37 => format!("Basic {}", "QUFB".repeat(1 + rng.below(2000))),
        38 => rng
            .pick(&[
                "Basic",
                "Basic !!!",
                "Bearer abc",
                "basic ZnV6ejpmdXp6LXBhc3N3b3Jk",
                "Basic Og==",
                "Digest x",
            ])
            .to_string(),
        _ => random_text(rng, 40).replace(['\n', '\r', '\u{0}'], " "),
    })
}

/// Puts the header right after the request line of a request the router will see.
fn authorize(bytes: &mut Vec<u8>, header: &str) {
    if let Some(end) = bytes.windows(2).position(|w| w == b"\r\n") {
        let line = format!("Authorization: {header}\r\n");
        bytes.splice(end + 2..end + 2, line.into_bytes());
    }
}

/// A request over HTTP/2 (prior knowledge, the h2 crate as the client): a valid body, a broken
/// one, or random frames after the preface.
struct H2Case {
    what: String,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn h2_case(rng: &mut Rng) -> H2Case {
    let (path, body) = *rng.pick(&VALID_BODIES);
    let body = match rng.below(3) {
        0 => body.as_bytes().to_vec(),
        1 => mutate(rng, body),
        _ => {
            let size = rng.below(70_000);
            rng.bytes(size)
        }
    };
    let path = if rng.below(6) == 0 {
        format!("/{}", random_path_segment(rng))
    } else {
        path.to_string()
    };
    let mut headers = vec![(
        "content-type",
        rng.pick(&[
            "application/json",
            "application/vnd.ksql.v1+json",
            "text/plain",
            "",
        ])
        .to_string(),
    )];
    if rng.below(2) == 0 {
        headers.push(("accept", rng.pick(&ACCEPTS).to_string()));
    }
    if let Some(auth) = authorization(rng) {
        headers.push(("authorization", auth));
    }
    let method = *rng.pick(&["POST", "POST", "POST", "GET", "PUT"]);
    H2Case {
        what: format!(
            "HTTP/2 {method} {path} {headers:?} with {} bytes",
            body.len()
        ),
        method,
        path,
        headers,
        body,
    }
}

/// Sends an HTTP/2 case and reads its answer, as `Response`.
fn send_h2(
    runtime: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    case: &H2Case,
) -> Result<Response, String> {
    runtime.block_on(async {
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let (client, connection) = h2::client::handshake(tcp)
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(connection);
            let mut client = client.ready().await.map_err(|e| e.to_string())?;
            let mut request = axum::http::Request::builder()
                .method(case.method)
                .uri(format!("http://localhost{}", case.path));
            for (name, value) in &case.headers {
                request = request.header(*name, value.as_str());
            }
            let request = request.body(()).map_err(|e| e.to_string())?;
            let (response, mut send) = client
                .send_request(request, case.body.is_empty())
                .map_err(|e| format!("send: {e}"))?;
            if !case.body.is_empty() {
                send.reserve_capacity(case.body.len());
                send.send_data(bytes::Bytes::from(case.body.clone()), true)
                    .map_err(|e| format!("send data: {e}"))?;
            }
            let response = response.await.map_err(|e| format!("response: {e}"))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect();
            let mut stream = response.into_body();
            let mut body = Vec::new();
            while let Some(chunk) = stream.data().await {
                let chunk = chunk.map_err(|e| format!("body: {e}"))?;
                let _ = stream.flow_control().release_capacity(chunk.len());
                body.extend_from_slice(&chunk);
            }
            Ok::<_, String>(Response {
                status,
                headers,
                body,
            })
        };
        tokio::time::timeout(CASE_TIMEOUT, exchange)
            .await
            .map_err(|_| "no answer within the deadline".to_string())?
    })
}

/// Random frames after the client preface: the server may close the connection, and must live.
fn h2_garbage(rng: &mut Rng) -> Case {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    for _ in 0..1 + rng.below(6) {
        let length = rng.below(300);
        let payload = rng.bytes(length);
        let declared = if rng.below(4) == 0 {
            rng.below(1 << 24)
        } else {
            length
        };
        bytes.extend_from_slice(&(declared as u32).to_be_bytes()[1..]);
        bytes.push(rng.below(12) as u8); // DATA … CONTINUATION, and unknown types
        bytes.push(rng.below(256) as u8);
        bytes.extend_from_slice(&(rng.next_u64() as u32 & 0x7fff_ffff).to_be_bytes());
        bytes.extend_from_slice(&payload);
    }
    Case {
        what: format!("{} bytes of random HTTP/2 frames", bytes.len()),
        bytes,
        half_close: true,
        expect: Expect::MaybeNothing,
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
    check_response(expect, &parse_response(raw)?)
}

/// Checks a parsed answer.
fn check_response(expect: Expect, response: &Response) -> Result<String, String> {
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
    if response
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/vnd.schemaregistry"))
    {
        // Confluent's registry errors: `error_code` and `message`, its own numbering.
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("registry error is not JSON ({e})"))?;
        if !body["error_code"].is_u64() || !body["message"].is_string() {
            return Err(format!("registry error without code or message: {body}"));
        }
        return Ok(key);
    }
    check_error_body(response)?;
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
fn ten_thousand_malformed_requests_get_well_formed_answers() {
    let mut server = Server::start_authenticated(
        "fuzz: fuzz-password, admin\nviewer: v, viewer\n",
        "authentication.roles=admin,viewer\nauthentication.read.only.roles=viewer",
    );
    server.authorization = Some(ADMIN.to_string());
    server.ksql_ok(
        "CREATE STREAM fuzz (id INT KEY, v STRING) \
           WITH (kafka_topic='fuzz', value_format='JSON', partitions=1);\n\
         CREATE TABLE fuzz_counts AS SELECT id, COUNT(*) AS n FROM fuzz GROUP BY id;\n\
         INSERT INTO fuzz (id, v) VALUES (1, 'one');",
    );
    let seed = std::env::var("SLUICE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut rng = Rng::new(seed);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for n in 0..CASES {
        let (what, outcome) = if n % 13 == 12 {
            if rng.below(5) == 0 {
                let case = h2_garbage(&mut rng);
                let outcome = send_raw(server.addr, &case.bytes, case.half_close, CASE_TIMEOUT)
                    .map(|_| "HTTP/2 garbage".to_string());
                (case.what, outcome)
            } else {
                let case = h2_case(&mut rng);
                let outcome = send_h2(&runtime, server.addr, &case).and_then(|response| {
                    check_response(Expect::Answer, &response).map(|key| format!("h2 {key}"))
                });
                (case.what, outcome)
            }
        } else {
            let mut case = case(&mut rng, n);
            if case.expect == Expect::Answer
                && let Some(header) = authorization(&mut rng)
            {
                authorize(&mut case.bytes, &header);
            }
            let outcome = send_raw(server.addr, &case.bytes, case.half_close, CASE_TIMEOUT)
                .and_then(|raw| check(case.expect, &raw));
            (case.what, outcome)
        };
        match outcome {
            Ok(key) => *tally.entry(key).or_default() += 1,
            Err(e) => {
                *tally.entry("FAILED".to_string()).or_default() += 1;
                let what: String = what.chars().take(300).collect();
                failures.push(format!("seed {seed} case {n} ({what}): {e}"));
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
