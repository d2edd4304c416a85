//! The runner for ksqlDB's REST test cases (rest-query-validation-tests, "RQTT"): a case runs
//! through Sluice's REST API, in process, the way ksqlDB's `RestTestExecutor` runs it
//! (`../shared/reference/ksqldb-tests-format.md` §5).
//!
//! ```text
//!  topics ─▶ server on 127.0.0.1:0 ─▶ POST /ksql (every statement before the first "SELECT ")
//!        ─▶ inputs produced, queries run until idle ─▶ POST /query per query
//!        ─▶ outputs compared ─▶ responses matched (admin entities ++ query responses)
//! ```
//!
//! * An error response is matched against `expectedError` (its `@type`, a substring of its
//!   message, its HTTP status); an error from `/ksql` ends the case. As in ksqlDB's executor,
//!   a missing error fails the case only when a query answered: a case whose statements all
//!   succeed goes on to compare its outputs and responses.
//! * With `waitForActivePushQuery`, the inputs are produced once the query's header has
//!   arrived.
//! * Every request carries the case's `properties` as `streamsProperties`.

mod http;
mod matching;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::capture::CapturingStore;
use super::compare::value_matches;
use super::model::{ExpectedError, RecordNode, RestSpec, TestCase};
use super::records;
use super::runner::{self, Verdict};
use crate::engine::Engine;
use crate::server::{self, AppState};
use crate::topics::{TopicConfig, TopicStore};
use matching::{Actual, streamed_elements, verify_responses};

/// The configuration of ksqlDB's REST test server that matters here; the case's properties go
/// on top, as request properties.
const BASE_PROPERTIES: [(&str, &str); 6] = [
    ("auto.offset.reset", "earliest"),
    ("cache.max.bytes.buffering", "0"),
    ("ksql.service.id", "some.ksql.service.id"),
    ("ksql.query.pull.table.scan.enabled", "true"),
    ("ksql.query.pull.interpreter.enabled", "true"),
    ("ksql.query.push.v2.enabled", "true"),
];

/// The media type ksqlDB's REST client asks for.
const JSON_MEDIA_TYPE: &str = "application/vnd.ksql.v1+json";
/// The media type of query results as protobuf (`testPullWithProtoFormat`).
const PROTOBUF_MEDIA_TYPE: &str = "application/vnd.ksql.v1+protobuf";

/// How long a query may take to end (a push query to reach its LIMIT) once its inputs are in.
const QUERY_DEADLINE: Duration = Duration::from_secs(3);
/// How long the runner waits for more of a response before running the queries again.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Runs a REST case on its own thread; a panic or a run longer than `timeout` fails it.
pub fn run_case(case: TestCase, timeout: Duration) -> Verdict {
    let name = case.name.clone();
    runner::run_isolated(&name, timeout, move || execute(&case))
}

/// Runs a REST case on the current thread, with a runtime of its own.
pub fn execute(case: &TestCase) -> Verdict {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Verdict::Fail(format!("cannot start a runtime: {e}")),
    };
    match runtime.block_on(drive(case)) {
        Ok(()) => Verdict::Pass,
        Err(message) => Verdict::Fail(message),
    }
}

/// The statements before the first one that starts with `SELECT ` (case and space as
/// written), and the queries from there on.
fn split_statements(statements: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let first_query = statements.iter().position(|s| s.starts_with("SELECT "));
    let first_query = first_query.unwrap_or(statements.len());
    if let Some(i) = statements[first_query..]
        .iter()
        .position(|s| !s.starts_with("SELECT "))
    {
        return Err(format!(
            "Invalid test case: statement {} follows queries, but is not a query. All queries \
             should be at the end of the statement list",
            first_query + i
        ));
    }
    Ok((
        statements[..first_query].to_vec(),
        statements[first_query..].to_vec(),
    ))
}

/// The server under test and how to reach it.
struct Harness {
    state: Arc<AppState>,
    store: Arc<CapturingStore>,
    addr: SocketAddr,
    properties: BTreeMap<String, Value>,
}

impl Harness {
    fn body(&self, sql: &str) -> String {
        json!({"ksql": sql, "streamsProperties": self.properties}).to_string()
    }

    async fn post(&self, path: &str, sql: &str) -> Result<http::Response, String> {
        self.post_accepting(path, sql, JSON_MEDIA_TYPE).await
    }

    async fn post_accepting(
        &self,
        path: &str,
        sql: &str,
        accept: &str,
    ) -> Result<http::Response, String> {
        http::post(self.addr, path, &self.body(sql), accept)
            .await
            .map_err(|e| format!("POST {path} failed: {e}"))
    }

    /// Runs the persistent and push queries until they have consumed everything. A query that
    /// fails goes to ERROR and the others go on, as on a server: the case sees the failure in
    /// its outputs and in what SHOW QUERIES or EXPLAIN say, not as the harness's error.
    fn run_queries(&self) -> Result<(), String> {
        if let Err(e) = self.state.engine().run_until_idle() {
            tracing::debug!("a query failed: {e}");
        }
        Ok(())
    }

    /// Produces the inputs grouped by topic (topics in order of first mention), with the
    /// default partitioner, as ksqlDB's runner does with a real producer.
    fn produce_inputs(&self, inputs: &[RecordNode]) -> Result<(), String> {
        let mut topics: Vec<&str> = Vec::new();
        for input in inputs {
            if !topics.contains(&input.topic.as_str()) {
                topics.push(&input.topic);
            }
        }
        for topic in topics {
            let mut batch = Vec::new();
            {
                let engine = self.state.engine();
                for input in inputs.iter().filter(|r| r.topic == topic) {
                    let mut record = records::to_producer_record(engine.catalog(), input)
                        .map_err(|e| e.to_string())?;
                    record.partition = None;
                    batch.push(record);
                }
            }
            self.store
                .produce(topic, batch)
                .map_err(|e| format!("Failed to send record to {topic}: {e}"))?;
        }
        Ok(())
    }
}

async fn drive(case: &TestCase) -> Result<(), String> {
    let spec = case
        .rest
        .as_ref()
        .ok_or("not a REST case: it has no responses or expectedError")?;
    let (admin, queries) = split_statements(&case.statements)?;

    let store = Arc::new(CapturingStore::new());
    for (name, partitions) in runner::topic_set(case) {
        let config = TopicConfig {
            partitions,
            ..TopicConfig::default()
        };
        store
            .create_topic(&name, config)
            .map_err(|e| format!("cannot create topic {name}: {e}"))?;
    }
    let mut engine = Engine::new(Arc::clone(&store) as Arc<dyn TopicStore>);
    for (name, value) in BASE_PROPERTIES {
        engine.set_property(name, value);
    }
    runner::register_topic_schemas(case, engine.schema_registry())?;
    let state = server::state(engine, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen: {e}"))?;
    let app = server::router(Arc::clone(&state));
    let serving = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let harness = Harness {
        state,
        store,
        addr,
        properties: case.properties.iter().cloned().collect(),
    };
    let result = run(case, spec, &harness, &admin, &queries).await;
    serving.abort();
    result
}

async fn run(
    case: &TestCase,
    spec: &RestSpec,
    harness: &Harness,
    admin: &[String],
    queries: &[String],
) -> Result<(), String> {
    let last_statement = case.statements.last().map(String::as_str).unwrap_or("");
    let mut responses: Vec<Actual> = Vec::new();
    if !admin.is_empty() {
        let mut response = harness.post("/ksql", &admin.join("\n")).await?;
        let body = response
            .read_all()
            .await
            .map_err(|e| format!("cannot read the /ksql response: {e}"))?;
        harness.run_queries()?;
        if response.status != 200 {
            return error_response(spec, response.status, &body, last_statement);
        }
        let entities: Value = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "the /ksql response is not JSON: {e}: {}",
                String::from_utf8_lossy(&body)
            )
        })?;
        let Value::Array(entities) = entities else {
            return Err(format!("the /ksql response is not an array: {entities}"));
        };
        responses.extend(entities.into_iter().map(Actual::Admin));
    }

    let wait = spec.wait_for_active_push_query;
    if !wait {
        harness.produce_inputs(&case.inputs)?;
        harness.run_queries()?;
    }

    let mut query_answered = false;
    for (i, query) in queries.iter().enumerate() {
        if wait && i > 0 {
            return Err("Can only have one query when using waitForActivePushQuery".into());
        }
        let mut response = harness.post("/query", query).await?;
        if response.status != 200 {
            let body = response
                .read_all()
                .await
                .map_err(|e| format!("cannot read the /query response: {e}"))?;
            error_response(spec, response.status, &body, last_statement)?;
            continue;
        }
        let after_header: Option<&[RecordNode]> = wait.then_some(&case.inputs);
        let rows = collect_rows(harness, &mut response, after_header, query).await?;
        responses.push(Actual::Query(rows));
        query_answered = true;
    }
    if spec.pull_with_proto_format {
        // Every query again, asking for protobuf rows.
        for query in queries {
            let mut response = harness
                .post_accepting("/query", query, PROTOBUF_MEDIA_TYPE)
                .await?;
            if response.status != 200 {
                let body = response
                    .read_all()
                    .await
                    .map_err(|e| format!("cannot read the /query response: {e}"))?;
                error_response(spec, response.status, &body, last_statement)?;
                continue;
            }
            let rows = collect_rows(harness, &mut response, None, query).await?;
            responses.push(Actual::QueryProto(proto_rows_as_text(rows)?));
            query_answered = true;
        }
    }
    if let Some(expected) = &spec.expected_error
        && query_answered
    {
        return Err(format!(
            "Expected last statement to return an error: {}",
            describe_expected_error(expected)
        ));
    }

    harness.run_queries()?;
    for statement in &spec.statements_after_inputs {
        let mut response = harness.post("/ksql", statement).await?;
        let body = response
            .read_all()
            .await
            .map_err(|e| format!("cannot read the /ksql response: {e}"))?;
        match serde_json::from_slice(&body) {
            Ok(Value::Array(entities)) => responses.extend(entities.into_iter().map(Actual::Admin)),
            Ok(error) => responses.push(Actual::Admin(error)),
            Err(e) => return Err(format!("the /ksql response is not JSON: {e}")),
        }
    }
    verify_outputs(case, harness)?;
    verify_responses(
        &responses,
        &spec.responses,
        &case.statements,
        spec.verify_order,
    )
}

/// Reads a `/query` response to its end, running the queries while it streams. When
/// `after_header` is given, those inputs are produced once the header has arrived.
async fn collect_rows(
    harness: &Harness,
    response: &mut http::Response,
    mut after_header: Option<&[RecordNode]>,
    query: &str,
) -> Result<Vec<Value>, String> {
    let mut text = String::new();
    let mut deadline = Instant::now() + QUERY_DEADLINE;
    loop {
        let (elements, complete) = streamed_elements(&text)?;
        if complete || elements.iter().any(is_terminal) {
            return Ok(elements);
        }
        if let Some(inputs) = after_header
            && elements.iter().any(|e| e.get("header").is_some())
        {
            harness.produce_inputs(inputs)?;
            after_header = None;
            deadline = Instant::now() + QUERY_DEADLINE;
        }
        harness.run_queries()?;
        match tokio::time::timeout(POLL_INTERVAL, response.read_some()).await {
            Ok(Ok(Some(piece))) => text.push_str(&String::from_utf8_lossy(&piece)),
            Ok(Ok(None)) => {
                let (elements, _) = streamed_elements(&text)?;
                return Ok(elements);
            }
            Ok(Err(e)) => return Err(format!("cannot read the response to {query}: {e}")),
            Err(_) if Instant::now() > deadline => {
                return Err(format!(
                    "the query did not finish within {}s: {query} (received so far: {text})",
                    QUERY_DEADLINE.as_secs()
                ));
            }
            Err(_) => {}
        }
    }
}

/// Protobuf rows as ksqlDB's runner compares them: each row's message, decoded with the
/// header's `protoSchema`, in protobuf's text format.
fn proto_rows_as_text(elements: Vec<Value>) -> Result<Vec<Value>, String> {
    use crate::format::protobuf;
    use base64::Engine as _;
    let schema = elements
        .iter()
        .find_map(|e| e.pointer("/header/protoSchema")?.as_str())
        .map(|text| protobuf::compile(text, &[]))
        .transpose()?;
    elements
        .into_iter()
        .map(|element| {
            let Some(bytes) = element
                .pointer("/row/protobufBytes")
                .and_then(Value::as_str)
            else {
                return Ok(element);
            };
            let message = schema
                .as_ref()
                .and_then(|s| s.message(&[0]))
                .ok_or("a protobuf row without a protoSchema header")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(bytes)
                .map_err(|e| format!("a row's protobufBytes are not base64: {e}"))?;
            let decoded = prost_reflect::DynamicMessage::decode(message, bytes.as_slice())
                .map_err(|e| format!("a row's protobufBytes do not decode: {e}"))?;
            let mut text = String::new();
            java_text_format(&decoded, 0, &mut text);
            Ok(json!({"row": text}))
        })
        .collect()
}

/// A message as Java's `TextFormat.printer()` prints it: set fields in number order, one
/// `name: value` line each, a message as `name {` … `}`, and every element of a repeated
/// field on its own.
fn java_text_format(message: &prost_reflect::DynamicMessage, depth: usize, out: &mut String) {
    use prost_reflect::Value;
    let indent = "  ".repeat(depth);
    let mut fields: Vec<_> = message.fields().collect();
    fields.sort_by_key(|(f, _)| f.number());
    for (field, value) in fields {
        let items: Vec<&Value> = match value {
            Value::List(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            match item {
                Value::Message(m) => {
                    out.push_str(&format!("{indent}{} {{\n", field.name()));
                    java_text_format(m, depth + 1, out);
                    out.push_str(&format!("{indent}}}\n"));
                }
                scalar => {
                    let text = match scalar {
                        Value::String(s) => format!("{s:?}"),
                        Value::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
                        Value::EnumNumber(n) => match field.kind() {
                            prost_reflect::Kind::Enum(e) => e
                                .get_value(*n)
                                .map_or(n.to_string(), |v| v.name().to_string()),
                            _ => n.to_string(),
                        },
                        Value::Bool(b) => b.to_string(),
                        Value::I32(v) => v.to_string(),
                        Value::I64(v) => v.to_string(),
                        Value::U32(v) => v.to_string(),
                        Value::U64(v) => v.to_string(),
                        Value::F32(v) => v.to_string(),
                        Value::F64(v) => v.to_string(),
                        Value::Map(_) | Value::List(_) | Value::Message(_) => String::new(),
                    };
                    out.push_str(&format!("{indent}{}: {text}\n", field.name()));
                }
            }
        }
    }
}

/// A final message or an error ends a streamed response.
fn is_terminal(element: &Value) -> bool {
    element.get("finalMessage").is_some() || element.get("errorMessage").is_some()
}

/// Matches an error response against `expectedError`; without one, the case fails.
fn error_response(
    spec: &RestSpec,
    status: u16,
    body: &[u8],
    last_statement: &str,
) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(expected) = &spec.expected_error else {
        let statement = parsed
            .get("statementText")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Err(format!(
            "Server failed to execute statement\nstatement: {statement}\nreason: {status} {text}"
        ));
    };
    let mut problems = Vec::new();
    let error_type = parsed.get("@type").and_then(Value::as_str).unwrap_or("");
    if let Some(kind) = &expected.kind {
        match kind.rsplit('.').next().unwrap_or(kind) {
            "KsqlStatementErrorMessage" => {
                if error_type != "statement_error" {
                    problems.push(format!("a statement_error, not '{error_type}'"));
                }
                let statement = parsed
                    .get("statementText")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !statement.contains(last_statement) {
                    problems.push(format!(
                        "a statementText containing \"{last_statement}\", not \"{statement}\""
                    ));
                }
            }
            "KsqlErrorMessage" => {
                if !matches!(error_type, "statement_error" | "generic_error") {
                    problems.push(format!("an error message, not '{error_type}'"));
                }
            }
            other => problems.push(format!("an error of unknown type {other}")),
        }
    }
    if let Some(message) = &expected.message {
        let actual = parsed.get("message").and_then(Value::as_str).unwrap_or("");
        if !actual.contains(message.as_str()) {
            problems.push(format!("a message containing \"{message}\""));
        }
    }
    if let Some(expected_status) = expected.status
        && expected_status != status
    {
        problems.push(format!("status {expected_status}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Expected error mismatch: expected {}. Actual: {status} {text}",
            problems.join(", ")
        ))
    }
}

fn describe_expected_error(expected: &ExpectedError) -> String {
    let mut parts = Vec::new();
    if let Some(kind) = &expected.kind {
        parts.push(format!("type {kind}"));
    }
    if let Some(message) = &expected.message {
        parts.push(format!("message containing \"{message}\""));
    }
    if let Some(status) = expected.status {
        parts.push(format!("status {status}"));
    }
    parts.join(", ")
}

/// Each topic with expected outputs must hold at least as many records; the first ones are
/// compared in order: key (and window), value, and the timestamp when given.
fn verify_outputs(case: &TestCase, harness: &Harness) -> Result<(), String> {
    let numbers = runner::numbers_mode(case);
    let mut topics: Vec<&str> = Vec::new();
    for output in &case.outputs {
        if !topics.contains(&output.topic.as_str()) {
            topics.push(&output.topic);
        }
    }
    let engine = harness.state.engine();
    for topic in topics {
        let expected: Vec<&RecordNode> = case.outputs.iter().filter(|r| r.topic == topic).collect();
        let records = harness
            .store
            .produced(topic)
            .map_err(|e| format!("cannot read topic {topic}: {e}"))?;
        let actual = records
            .iter()
            .map(|r| records::from_record(engine.catalog(), topic, r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        if actual.len() < expected.len() {
            let listed: Vec<String> = actual.iter().map(ToString::to_string).collect();
            return Err(format!(
                "Topic {topic}: expected {} records but found {}: [{}]",
                expected.len(),
                actual.len(),
                listed.join(", ")
            ));
        }
        for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
            let key_ok = e.window == a.window && value_matches(&a.key, &e.key, numbers);
            let value_ok = value_matches(&a.value, &e.value, numbers);
            let timestamp_ok = e.timestamp.is_none_or(|t| t == a.timestamp);
            if !(key_ok && value_ok && timestamp_ok) {
                return Err(format!(
                    "Topic '{topic}', record {i}: Expected <{}, {}> with timestamp={} but was {a}",
                    records::describe_key(&e.key, e.window.as_ref()),
                    e.value,
                    e.timestamp.unwrap_or(a.timestamp),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::model::{Expanded, expand, parse_case};

    fn case(raw: Value) -> TestCase {
        let node = parse_case("f", &raw).unwrap();
        match expand("f", &node).remove(0) {
            Expanded::Run(case) => *case,
            other => panic!("not runnable: {other:?}"),
        }
    }

    #[test]
    fn statements_split_at_the_first_select() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (admin, queries) = split_statements(&s(&["CREATE A;", "SELECT * FROM A;"])).unwrap();
        assert_eq!((admin.len(), queries.len()), (1, 1));
        let (admin, queries) = split_statements(&s(&["CREATE A;", "select * from A;"])).unwrap();
        assert_eq!((admin.len(), queries.len()), (2, 0));
        assert!(split_statements(&s(&["SELECT 1;", "CREATE A;"])).is_err());
    }

    #[test]
    fn a_push_query_case_passes() {
        let c = case(json!({
            "name": "push",
            "statements": [
                "CREATE STREAM INPUT (K STRING KEY, ID INT) WITH (kafka_topic='t', value_format='JSON');",
                "SELECT * FROM INPUT EMIT CHANGES LIMIT 2;"
            ],
            "inputs": [
                {"topic": "t", "key": "a", "value": {"ID": 1}},
                {"topic": "t", "key": "b", "value": {"ID": 2}}
            ],
            "responses": [
                {"admin": {"@type": "currentStatus"}},
                {"query": [
                    {"header": {"schema": "`K` STRING, `ID` INTEGER"}},
                    {"row": {"columns": ["b", 2]}},
                    {"row": {"columns": ["a", 1]}},
                    {"finalMessage": "Limit Reached"}
                ]}
            ]
        }));
        assert_eq!(execute(&c), Verdict::Pass);
    }

    #[test]
    fn an_expected_error_is_matched() {
        let c = case(json!({
            "name": "error",
            "statements": ["CREATE STREAM X AS SELECT * FROM NOWHERE;"],
            "expectedError": {
                "type": "io.confluent.ksql.rest.entity.KsqlStatementErrorMessage",
                "status": 400
            }
        }));
        assert_eq!(execute(&c), Verdict::Pass);
        let c = case(json!({
            "name": "error",
            "statements": ["CREATE STREAM X AS SELECT * FROM NOWHERE;"],
            "expectedError": {"message": "no such words in the message", "status": 400}
        }));
        assert!(matches!(execute(&c), Verdict::Fail(m) if m.contains("Expected error mismatch")));
    }

    #[test]
    fn a_missing_error_fails_only_once_a_query_answered() {
        let admin_only = case(json!({
            "name": "no error",
            "statements": ["CREATE STREAM S (ID INT KEY, V INT) WITH (kafka_topic='t', value_format='JSON', partitions=1);"],
            "expectedError": {"message": "never raised", "status": 400}
        }));
        assert_eq!(execute(&admin_only), Verdict::Pass);
        let with_query = case(json!({
            "name": "no error",
            "statements": [
                "CREATE TABLE T (ID INT PRIMARY KEY, V INT) WITH (kafka_topic='t', value_format='JSON', partitions=1);",
                "CREATE TABLE M AS SELECT * FROM T;",
                "SELECT * FROM M;"
            ],
            "expectedError": {"message": "never raised", "status": 400}
        }));
        assert!(
            matches!(execute(&with_query), Verdict::Fail(m) if m.contains("Expected last statement to return an error"))
        );
    }
}
