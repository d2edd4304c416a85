//! Runs one case the way ksqlDB's `TestExecutor` does:
//!
//! 1. create every topic the case implies (`topics`, CREATE statements with columns, the topics
//!    of inputs and outputs) in a fresh in-memory store;
//! 2. apply the base configuration and the case's properties, then execute the statements as
//!    one script;
//! 3. produce the inputs in file order (partition 0), and run the queries until they are idle;
//! 4. compare every topic that has expected outputs, record by record, in arrival order;
//! 5. check the post-conditions.
//!
//! An error raised on the way is matched against `expectedException` when the case has one.
//! Each case runs on its own thread with a time bound, so an engine that panics or hangs fails
//! that case and the run goes on.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, LazyLock};
use std::thread;
use std::time::Duration;

use regex::Regex;

use super::capture::CapturingStore;
use super::compare::{Numbers, value_matches};
use super::model::{ExpectedException, RecordNode, TestCase, property_text};
use super::post;
use super::records::{self, ActualRecord, RecordError};
use crate::catalog::Catalog;
use crate::engine::{Engine, EngineError, Outcome};
use crate::format::FormatKind;
use crate::topics::{Header, Record, TopicConfig, TopicStore};

/// Configuration ksqlDB's runner starts every case with; the case's properties go on top.
/// With the cache off, every update of a table is emitted, and outputs list each one.
const BASE_PROPERTIES: [(&str, &str); 3] = [
    ("auto.offset.reset", "earliest"),
    ("cache.max.bytes.buffering", "0"),
    ("ksql.service.id", "some.ksql.service.id"),
];

/// Partitions of a `topics` entry that does not say.
const TOPIC_ENTRY_PARTITIONS: u32 = 1;
/// Partitions of a topic named by a CREATE statement without `PARTITIONS`, or by a record.
const IMPLIED_TOPIC_PARTITIONS: u32 = 4;

/// The property that turns exact decimal comparison off (ksqlDB's JSON test serde).
const EXACT_NUMBERS_PROPERTY: &str = "use.exact.numeric.comparison";
/// Without a VALUE_FORMAT, a CREATE statement relies on this default.
const DEFAULT_VALUE_FORMAT_PROPERTY: &str = "ksql.persistence.default.format.value";

/// Planning can recurse deeply; a case thread gets the main thread's usual stack.
const CASE_THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

/// How many actual records a count mismatch lists.
const MAX_LISTED_RECORDS: usize = 10;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// The first difference found, or the error.
    Fail(String),
}

/// Runs a case on its own thread; a panic or a run longer than `timeout` fails it. A case that
/// times out leaves its thread behind: Rust cannot stop a thread, and the run must go on.
pub fn run_case(case: TestCase, timeout: Duration) -> Verdict {
    run_case_on(case, timeout, None)
}

/// [`run_case`] in a namespace of `log`, when one is given.
pub fn run_case_on(case: TestCase, timeout: Duration, log: Option<super::SharedLog>) -> Verdict {
    let name = case.name.clone();
    run_isolated(&name, timeout, move || execute_on(&case, log.as_ref()))
}

/// Runs `work` on a thread of its own and waits at most `timeout` for its verdict.
pub(crate) fn run_isolated(
    name: &str,
    timeout: Duration,
    work: impl FnOnce() -> Verdict + Send + 'static,
) -> Verdict {
    let (sender, receiver) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name(format!("qtt {}", name.replace('\0', " ")))
        .stack_size(CASE_THREAD_STACK_BYTES)
        .spawn(move || {
            let verdict = panic::catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|payload| {
                Verdict::Fail(format!("panicked: {}", panic_message(&*payload)))
            });
            // After a timeout nobody waits for the verdict any more; dropping it is right.
            let _ = sender.send(verdict);
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(e) => return Verdict::Fail(format!("cannot start the case's thread: {e}")),
    };
    match receiver.recv_timeout(timeout) {
        Ok(verdict) => {
            // The thread has sent its verdict and only returns now, so joining is immediate.
            let _ = handle.join();
            verdict
        }
        Err(RecvTimeoutError::Timeout) => Verdict::Fail(format!(
            "timed out after {}s (the case's thread was abandoned)",
            timeout.as_secs_f64()
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Verdict::Fail("the case's thread ended without a verdict".into())
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs a case on the current thread.
pub fn execute(case: &TestCase) -> Verdict {
    execute_on(case, None)
}

fn execute_on(case: &TestCase, log: Option<&super::SharedLog>) -> Verdict {
    match drive(case, log) {
        Ok(()) => Verdict::Pass,
        Err(Thrown::Assertion(message)) => Verdict::Fail(message),
        Err(thrown) => match &case.expected_exception {
            None => Verdict::Fail(thrown.to_string()),
            Some(expected) => match expectation_met(expected, &thrown) {
                Ok(()) => Verdict::Pass,
                Err(message) => Verdict::Fail(message),
            },
        },
    }
}

/// Something that went wrong while running a case, in the categories that decide whether an
/// `expectedException` can match it.
#[derive(Debug)]
enum Thrown {
    /// A statement failed (`index` counts from 0).
    Statement { index: usize, error: EngineError },
    /// A running query failed.
    Query(EngineError),
    /// An error ksqlDB's runner raises as a `KsqlException`, which a negative test may expect.
    Harness(String),
    /// A failed check (a Java `AssertionError`): never matched against `expectedException`.
    Assertion(String),
}

impl fmt::Display for Thrown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Thrown::Statement { index, error } => write!(
                f,
                "statement {} failed with {}: {error}",
                index + 1,
                java_class(error)
            ),
            Thrown::Query(error) => write!(f, "a query failed with {}: {error}", java_class(error)),
            Thrown::Harness(message) | Thrown::Assertion(message) => f.write_str(message),
        }
    }
}

impl From<RecordError> for Thrown {
    fn from(e: RecordError) -> Thrown {
        match e {
            RecordError::NoTopicInfo(m) => Thrown::Harness(m),
            RecordError::Serialize(m) | RecordError::Deserialize(m) => Thrown::Assertion(m),
        }
    }
}

/// The ksqlDB exception class an engine error stands for.
fn java_class(error: &EngineError) -> &'static str {
    match error {
        EngineError::Parse(_) => "ParseFailedException",
        EngineError::Statement { .. } => "KsqlStatementException",
        EngineError::Generic(_) | EngineError::TooManyPushQueries(_) => "KsqlException",
        EngineError::Runtime(_) => "StreamsException",
        // A bug of ours satisfies no expectation a test can state.
        EngineError::Internal(_) => "InternalError",
    }
}

/// Whether an error satisfies `expectedException`. Types are matched leniently (any statement
/// error satisfies any of ksqlDB's statement exception types, since the two engines draw the
/// line between parsing and planning differently); the message substring is matched strictly.
/// A `causeMessage` must also appear in the message, where Sluice puts the cause.
fn expectation_met(expected: &ExpectedException, thrown: &Thrown) -> Result<(), String> {
    let (class, message) = match thrown {
        // ksqlDB's statement exceptions end their message with the statement they quote.
        Thrown::Statement {
            error: EngineError::Statement { message, statement },
            ..
        } if !statement.is_empty() => (
            "KsqlStatementException",
            format!("{message}\nStatement: {statement}"),
        ),
        Thrown::Statement { error, .. } | Thrown::Query(error) => {
            (java_class(error), error.to_string())
        }
        Thrown::Harness(m) => ("KsqlException (raised by the test runner)", m.clone()),
        Thrown::Assertion(m) => return Err(m.clone()),
    };
    let statement_error = matches!(
        thrown,
        Thrown::Statement { error, .. } | Thrown::Query(error) if !matches!(error, EngineError::Runtime(_))
    );
    let runtime_error = matches!(
        thrown,
        Thrown::Statement {
            error: EngineError::Runtime(_),
            ..
        } | Thrown::Query(EngineError::Runtime(_))
    );
    let type_ok = match expected.kind.as_deref().map(simple_class_name) {
        None => true,
        Some("KsqlException") => statement_error || matches!(thrown, Thrown::Harness(_)),
        Some("KsqlStatementException" | "ParseFailedException") => statement_error,
        Some("StreamsException") => runtime_error,
        Some(_) => true,
    };
    let message_ok = expected
        .message
        .as_deref()
        .is_none_or(|m| message.contains(m));
    let cause_ok = expected
        .cause_message
        .as_deref()
        .is_none_or(|m| message.contains(m));
    if type_ok && message_ok && cause_ok {
        return Ok(());
    }
    Err(format!(
        "expected {} but got {class}: {message}",
        describe_expectation(expected)
    ))
}

fn simple_class_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn describe_expectation(expected: &ExpectedException) -> String {
    let mut text = expected
        .kind
        .as_deref()
        .map_or("an exception", simple_class_name)
        .to_string();
    if let Some(m) = &expected.message {
        text.push_str(&format!(" with a message containing \"{m}\""));
    }
    if let Some(m) = &expected.cause_message {
        text.push_str(&format!(" and a cause containing \"{m}\""));
    }
    text
}

fn expected_to_throw(expected: &ExpectedException) -> Thrown {
    Thrown::Assertion(format!(
        "Expected test to throw {}",
        describe_expectation(expected)
    ))
}

fn drive(case: &TestCase, log: Option<&super::SharedLog>) -> Result<(), Thrown> {
    let store = Arc::new(match log {
        Some(log) => CapturingStore::on(Arc::new(log.namespace())),
        None => CapturingStore::new(),
    });
    for (name, partitions) in topic_set(case) {
        let config = TopicConfig {
            partitions,
            ..TopicConfig::default()
        };
        store
            .create_topic(&name, config)
            .map_err(|e| Thrown::Assertion(format!("cannot create topic {name}: {e}")))?;
    }

    let mut engine = Engine::new(Arc::clone(&store) as Arc<dyn TopicStore>);
    engine.run_queries_as_single_tasks();
    for (name, value) in BASE_PROPERTIES {
        engine.set_property(name, value);
    }
    for (name, value) in &case.properties {
        engine.set_property(name, &property_text(value));
    }
    register_topic_schemas(case, engine.schema_registry()).map_err(Thrown::Assertion)?;

    let script = case.statements.join("\n");
    let outcomes = engine.execute_script(&script).map_err(|(index, error)| {
        let last = case.statements.len().saturating_sub(1);
        if case.expected_exception.is_some() && matches!(error, EngineError::Statement { .. }) && index < last {
            Thrown::Assertion(format!(
                "Only the last statement in a negative test should fail. Yet in this case statement {} \
                 failed: {error}",
                index + 1
            ))
        } else {
            Thrown::Statement { index, error }
        }
    })?;
    if case.inputs.is_empty()
        && let Some(expected) = &case.expected_exception
    {
        return Err(expected_to_throw(expected));
    }
    if !outcomes
        .iter()
        .any(|o| matches!(o, Outcome::QueryStarted { .. }))
    {
        return Err(Thrown::Assertion(
            "test did not generate any queries.".into(),
        ));
    }

    // Like ksqlDB's test driver, each input record is processed, through every query it
    // reaches, before the next is produced.
    for input in &case.inputs {
        let record = records::to_producer_record(engine.catalog(), input)?;
        store
            .produce(&input.topic, vec![record])
            .map_err(|e| Thrown::Assertion(format!("cannot produce to {}: {e}", input.topic)))?;
        engine.run_until_idle().map_err(Thrown::Query)?;
    }
    engine.run_until_idle().map_err(Thrown::Query)?;

    verify_outputs(case, engine.catalog(), store.as_ref()).map_err(|e| {
        // A missing output usually has its reason in the processing log.
        match (e, engine.processing_log().first()) {
            (Thrown::Harness(message), Some(entry)) if message.contains(" records but it was ") => {
                Thrown::Harness(format!(
                    "{message} (processing log: {}: {})",
                    entry.query_id, entry.message
                ))
            }
            (e, _) => e,
        }
    })?;
    if let Some(expected) = &case.expected_exception {
        return Err(expected_to_throw(expected));
    }
    if let Some(conditions) = &case.post {
        post::check(
            conditions,
            engine.catalog(),
            &store.list_topics().unwrap_or_default(),
        )
        .map_err(Thrown::Assertion)?;
    }
    Ok(())
}

/// Registers the schemas ksqlDB's runner registers before the statements run: those of the
/// `topics` entries (AVRO; a schema without a format is AVRO), and those built from the
/// columns of each CREATE statement over an AVRO topic. The runner collects the topics in a
/// Java `HashMap` and registers them in its iteration order, which gives the schema ids that
/// statements name (`VALUE_SCHEMA_ID=2`), so the same order is followed here.
pub(crate) fn register_topic_schemas(
    case: &TestCase,
    registry: &crate::registry::SchemaRegistry,
) -> Result<(), String> {
    use crate::registry::{SchemaType, subject};
    // (topic, key schema, value schema), each schema its type, text and chosen id.
    type Schemas = Option<(SchemaType, String, Option<u32>)>;
    let mut topics: Vec<(String, Schemas, Schemas)> = Vec::new();
    for topic in &case.topics {
        let schema = |format: &Option<String>, schema: &Option<serde_json::Value>, id| {
            let schema = schema.as_ref().filter(|s| !s.is_null())?;
            let schema_type = match format.as_deref().map(str::to_ascii_uppercase).as_deref() {
                None | Some("AVRO") => SchemaType::Avro,
                Some("JSON_SR" | "JSON") => SchemaType::Json,
                Some("PROTOBUF") => SchemaType::Protobuf,
                Some(_) => return None,
            };
            // A `.proto` schema is given as its text; the others as JSON.
            let text = match (schema_type, schema) {
                (SchemaType::Protobuf, serde_json::Value::String(text)) => text.clone(),
                _ => schema.to_string(),
            };
            Some((schema_type, text, id))
        };
        if !topics.iter().any(|(n, ..)| *n == topic.name) {
            topics.push((
                topic.name.clone(),
                schema(&topic.key_format, &topic.key_schema, topic.key_schema_id),
                schema(
                    &topic.value_format,
                    &topic.value_schema,
                    topic.value_schema_id,
                ),
            ));
        }
    }
    for statement in &case.statements {
        if let Some((name, key, value)) = declared_schemas(statement)
            && !topics.iter().any(|(n, ..)| *n == name)
        {
            topics.push((
                name,
                key.map(|(t, k)| (t, k, None)),
                value.map(|(t, v)| (t, v, None)),
            ));
        }
    }
    let names: Vec<&str> = topics.iter().map(|(n, ..)| n.as_str()).collect();
    for i in crate::format::json::java_hash_map_order(names.into_iter(), 16) {
        let (name, key, value) = &topics[i];
        for (is_key, schema) in [(true, key), (false, value)] {
            let Some((schema_type, text, id)) = schema else {
                continue;
            };
            if *schema_type == SchemaType::Avro {
                crate::format::avro::parse_schema(text)
                    .map_err(|e| format!("topic {name}: {e}"))?;
            }
            let references = references_of(case, name, is_key);
            registry
                .register_with_references(
                    &subject(name, is_key),
                    *schema_type,
                    text,
                    *id,
                    references,
                )
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The files a `topics` entry's Protobuf schema imports: its `keySchemaReferences` or
/// `valueSchemaReferences`, by name.
fn references_of(case: &TestCase, topic: &str, key: bool) -> Vec<(String, String)> {
    case.topics
        .iter()
        .filter(|t| t.name == topic)
        .flat_map(|t| {
            if key {
                &t.key_schema_references
            } else {
                &t.value_schema_references
            }
        })
        .filter_map(|r| {
            let text = match &r.schema {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Some((r.name.clone()?, text))
        })
        .collect()
}

/// The topic of a CREATE statement with declared columns over AVRO or JSON_SR keys or values,
/// and the schemas of those columns as ksqlDB builds them.
fn declared_schemas(statement: &str) -> Option<(String, DeclaredSchema, DeclaredSchema)> {
    use crate::format::{avro, json_sr, protobuf};
    use crate::registry::SchemaType;
    use crate::sql::ast::{ColumnConstraint, Statement};
    use crate::types::Column;
    let parsed = crate::sql::parse_statement(
        statement,
        crate::sql::Location { line: 1, column: 1 },
        &|_| None,
    )
    .ok()?;
    let Statement::CreateSource(create) = parsed else {
        return None;
    };
    if create.columns.is_empty() {
        return None;
    }
    let property = |name: &str| create.properties.get(name).map(|v| v.as_text());
    let format = |name: &str| {
        property(name)
            .or_else(|| property("FORMAT"))
            .map(|f| f.to_ascii_uppercase())
    };
    let topic = property("KAFKA_TOPIC").unwrap_or_else(|| create.name.clone());
    let column = |def: &crate::sql::ast::ColumnDef| Column::value(&def.name, def.ty.clone());
    let (keys, values): (Vec<_>, Vec<_>) = create.columns.iter().partition(|def| {
        matches!(
            def.constraint,
            ColumnConstraint::Key | ColumnConstraint::PrimaryKey
        )
    });
    let values: Vec<Column> = values
        .into_iter()
        .filter(|def| def.constraint == ColumnConstraint::None)
        .map(column)
        .collect();
    let keys: Vec<Column> = keys.into_iter().map(column).collect();
    let key_name = property("KEY_SCHEMA_FULL_NAME");
    let value_name =
        property("VALUE_AVRO_SCHEMA_FULL_NAME").or_else(|| property("VALUE_SCHEMA_FULL_NAME"));
    if [&key_name, &value_name]
        .into_iter()
        .flatten()
        .any(|n| !avro::is_valid_full_name(n))
    {
        return None;
    }
    let wrapped = property("WRAP_SINGLE_VALUE").is_none_or(|w| !w.eq_ignore_ascii_case("false"));
    let schema =
        |format: Option<String>, columns: &[Column], wrapped: bool, name: &Option<String>| {
            if columns.is_empty() {
                return None;
            }
            match format.as_deref() {
                Some("AVRO") => {
                    let name = name.as_deref().unwrap_or(avro::DEFAULT_SCHEMA_NAME);
                    let text = avro::schema_json(columns, wrapped, name).to_string();
                    Some((SchemaType::Avro, text))
                }
                Some("JSON_SR") => {
                    let text = json_sr::schema_json(columns, wrapped).to_string();
                    Some((SchemaType::Json, text))
                }
                Some("PROTOBUF") => {
                    let name = name.as_deref().unwrap_or(protobuf::DEFAULT_MESSAGE_NAME);
                    let text = protobuf::schema_text(columns, name);
                    Some((SchemaType::Protobuf, text))
                }
                _ => None,
            }
        };
    let key = schema(format("KEY_FORMAT"), &keys, keys.len() > 1, &key_name);
    let value = schema(
        format("VALUE_FORMAT"),
        &values,
        wrapped || values.len() > 1,
        &value_name,
    );
    (key.is_some() || value.is_some()).then_some((topic, key, value))
}

/// A schema built from declared columns: its type and text.
type DeclaredSchema = Option<(crate::registry::SchemaType, String)>;

/// Every topic the case implies, with its partition count; the first mention of a topic wins.
pub fn topic_set(case: &TestCase) -> Vec<(String, u32)> {
    let mut topics: Vec<(String, u32)> = Vec::new();
    let mut add = |name: &str, partitions: u32| {
        if !topics.iter().any(|(n, _)| n == name) {
            topics.push((name.to_string(), partitions));
        }
    };
    for topic in &case.topics {
        // An entry without a partition count takes the count a CREATE statement gives its
        // topic, as the topic that statement would create.
        let stated = || {
            case.statements.iter().find_map(|statement| {
                let statement = strip_leading_comments(statement);
                let is_create = statement
                    .get(..6)
                    .is_some_and(|w| w.eq_ignore_ascii_case("CREATE"));
                let topic_named = KAFKA_TOPIC
                    .captures(statement)
                    .is_some_and(|c| c[1].replace("''", "'") == topic.name);
                if !(is_create && topic_named) {
                    return None;
                }
                PARTITIONS.captures(statement)?[1].parse().ok()
            })
        };
        add(
            &topic.name,
            topic
                .partitions
                .or_else(stated)
                .unwrap_or(TOPIC_ENTRY_PARTITIONS),
        );
    }
    let default_value_format = case.property(DEFAULT_VALUE_FORMAT_PROPERTY).is_some();
    for statement in &case.statements {
        if let Some((name, partitions)) = declared_topic(statement, default_value_format) {
            add(&name, partitions);
        }
    }
    for record in case.inputs.iter().chain(&case.outputs) {
        add(&record.topic, IMPLIED_TOPIC_PARTITIONS);
    }
    topics
}

/// Compiles a regex written in this file; a typo is a bug caught by the first test run.
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("the runner's own regexes are valid")
}

static CREATE_WITH_COLUMNS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?(?:SOURCE\s+)?(?:STREAM|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:`(?:[^`]|``)+`|[^\s(`]+)\s*\(\s*[^\s)]",
    )
});
static KAFKA_TOPIC: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\bKAFKA_TOPIC\s*=\s*'((?:[^']|'')*)'"));
static PARTITIONS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\bPARTITIONS\s*=\s*'?\s*(\d+)"));
static VALUE_FORMAT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b(?:VALUE_FORMAT|FORMAT)\s*=\s*'([^']*)'"));
static KEY_FORMAT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)\b(?:KEY_FORMAT|FORMAT)\s*=\s*'([^']*)'"));

/// The topic a `CREATE STREAM|TABLE` with declared columns names, and its partitions (from
/// `PARTITIONS`, default 4). ksqlDB's runner creates these before any statement runs, unless
/// the statement is one its parser would reject (no topic, unknown or missing formats).
fn declared_topic(statement: &str, default_value_format: bool) -> Option<(String, u32)> {
    let statement = strip_leading_comments(statement);
    if !CREATE_WITH_COLUMNS.is_match(statement) {
        return None;
    }
    let topic = KAFKA_TOPIC.captures(statement)?[1].replace("''", "'");
    match VALUE_FORMAT.captures(statement) {
        Some(format) => {
            FormatKind::parse(&format[1])?;
        }
        None if default_value_format => {}
        None => return None,
    }
    if let Some(format) = KEY_FORMAT.captures(statement) {
        FormatKind::parse(&format[1])?;
    }
    let partitions = match PARTITIONS.captures(statement) {
        Some(p) => p[1].parse().ok()?,
        None => IMPLIED_TOPIC_PARTITIONS,
    };
    Some((topic, partitions))
}

fn strip_leading_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = text.strip_prefix("/*") {
            text = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return text;
        }
    }
}

pub(crate) fn numbers_mode(case: &TestCase) -> Numbers {
    match case.property(EXACT_NUMBERS_PROPERTY).as_deref() {
        Some(v) if v.eq_ignore_ascii_case("false") => Numbers::Approximate,
        _ => Numbers::Exact,
    }
}

/// Compares every topic with expected outputs against all records it holds (test inputs
/// written to it included): the count first, then each record in order.
fn verify_outputs(
    case: &TestCase,
    catalog: &Catalog,
    store: &CapturingStore,
) -> Result<(), Thrown> {
    let numbers = numbers_mode(case);
    // A case with no inputs produces its data with INSERT VALUES, stamped with the wall clock,
    // so an expected timestamp of 0 there means "any".
    let any_timestamp_is_zero = case.inputs.is_empty();
    let mut topics: Vec<&str> = Vec::new();
    for output in &case.outputs {
        if !topics.contains(&output.topic.as_str()) {
            topics.push(&output.topic);
        }
    }
    for topic in topics {
        if catalog.source_for_topic(topic).is_none() {
            return Err(Thrown::Harness(format!(
                "No information found for topic: {topic}"
            )));
        }
        let expected: Vec<&RecordNode> = case.outputs.iter().filter(|r| r.topic == topic).collect();
        let actual = read_all(store, topic)?
            .iter()
            .map(|r| records::from_record(catalog, topic, r))
            .collect::<Result<Vec<_>, _>>()?;
        if actual.len() != expected.len() {
            let listed: Vec<String> = actual
                .iter()
                .take(MAX_LISTED_RECORDS)
                .map(ToString::to_string)
                .collect();
            let more = actual.len().saturating_sub(MAX_LISTED_RECORDS);
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            return Err(Thrown::Harness(format!(
                "Topic {topic}. Expected <{}> records but it was <{}>. Actual records: [{}]{tail}",
                expected.len(),
                actual.len(),
                listed.join(", ")
            )));
        }
        let source = catalog.source_for_topic(topic);
        // The schema-registry test serdes decode doubles as Java `Double`s, compared within a
        // tolerance; their decimals carry the schema's scale on both sides.
        let binary = |kind: FormatKind| {
            matches!(
                kind,
                FormatKind::Avro
                    | FormatKind::JsonSr
                    | FormatKind::Protobuf
                    | FormatKind::ProtobufNoSr
            )
        };
        let numbers = match source {
            Some(s) if binary(s.value_format.kind) || binary(s.key_format.kind) => {
                Numbers::Approximate
            }
            _ => numbers,
        };
        for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
            let coerced;
            let e = match source {
                Some(source)
                    if source.value_format.uses_schema_registry()
                        || source.key_format.uses_schema_registry() =>
                {
                    let mut c = (*e).clone();
                    c.key = records::through_schema(&source.key_format, &c.key);
                    c.value = records::through_schema(&source.value_format, &c.value);
                    coerced = c;
                    &coerced
                }
                _ => *e,
            };
            if !record_matches(e, a, numbers, any_timestamp_is_zero) {
                return Err(Thrown::Assertion(format!(
                    "Topic '{topic}', message {i}: Expected {} but was {a}",
                    describe_expected(e, a.timestamp)
                )));
            }
        }
    }
    Ok(())
}

fn read_all(store: &CapturingStore, topic: &str) -> Result<Vec<Record>, Thrown> {
    store
        .produced(topic)
        .map_err(|e| Thrown::Assertion(format!("cannot read topic {topic}: {e}")))
}

fn expected_headers(expected: &RecordNode) -> Vec<Header> {
    expected
        .headers
        .iter()
        .flatten()
        .map(|h| h.to_header())
        .collect()
}

/// Key (with its window), value, headers (none unless listed), and the timestamp when given.
fn record_matches(
    expected: &RecordNode,
    actual: &ActualRecord,
    numbers: Numbers,
    any_timestamp_is_zero: bool,
) -> bool {
    let window_ok = expected.window == actual.window;
    let key_ok = window_ok && value_matches(&actual.key, &expected.key, numbers);
    let value_ok = value_matches(&actual.value, &expected.value, numbers);
    let headers_ok = expected_headers(expected) == actual.headers;
    let timestamp_ok = match expected.timestamp {
        None => true,
        Some(0) if any_timestamp_is_zero => true,
        Some(t) => t == actual.timestamp,
    };
    key_ok && value_ok && headers_ok && timestamp_ok
}

fn describe_expected(expected: &RecordNode, actual_timestamp: i64) -> String {
    format!(
        "<{}, {}> with timestamp={} and headers=[{}]",
        records::describe_key(&expected.key, expected.window.as_ref()),
        expected.value,
        expected.timestamp.unwrap_or(actual_timestamp),
        records::describe_headers(&expected_headers(expected))
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::model::{Expanded, expand, parse_case};

    fn case(raw: serde_json::Value) -> TestCase {
        let node = parse_case("f", &raw).unwrap();
        match expand("f", &node).remove(0) {
            Expanded::Run(case) => *case,
            other => panic!("not runnable: {other:?}"),
        }
    }

    #[test]
    fn topics_come_from_entries_statements_and_records() {
        let c = case(json!({
            "name": "n",
            "topics": [{"name": "a", "partitions": 2}, {"name": "b"}],
            "statements": [
                "CREATE STREAM A (ID INT KEY) WITH (kafka_topic='a', value_format='JSON', partitions=3);",
                "CREATE STREAM C (`ID` INT KEY) WITH (KAFKA_TOPIC = 'c', FORMAT='KAFKA', PARTITIONS=3);",
                "-- comment\nCREATE TABLE D (ID INT PRIMARY KEY, V INT) WITH (kafka_topic='d', value_format='JSON');",
                "CREATE STREAM E (ID INT) WITH (kafka_topic='e');",
                "CREATE STREAM F (ID INT) WITH (kafka_topic='f', value_format='FOO');",
                "CREATE STREAM G WITH (kafka_topic='g', value_format='JSON');",
                "CREATE STREAM H AS SELECT * FROM A;"
            ],
            "inputs": [{"topic": "in", "value": 1}],
            "outputs": [{"topic": "H", "value": 1}, {"topic": "a", "value": 1}]
        }));
        let topics = topic_set(&c);
        let expected: Vec<(String, u32)> =
            [("a", 2), ("b", 1), ("c", 3), ("d", 4), ("in", 4), ("H", 4)]
                .iter()
                .map(|(n, p)| (n.to_string(), *p))
                .collect();
        assert_eq!(topics, expected);
    }

    #[test]
    fn a_default_value_format_makes_the_statement_count() {
        let c = case(json!({
            "name": "n", "properties": {"ksql.persistence.default.format.value": "JSON"},
            "statements": ["CREATE STREAM E (ID INT) WITH (kafka_topic='e');"],
            "expectedException": {"message": "x"}
        }));
        assert_eq!(topic_set(&c), vec![("e".to_string(), 4)]);
    }

    fn statement_error(message: &str) -> Thrown {
        Thrown::Statement {
            index: 0,
            error: EngineError::Statement {
                message: message.into(),
                statement: String::new(),
            },
        }
    }

    fn expectation(kind: Option<&str>, message: Option<&str>) -> ExpectedException {
        ExpectedException {
            kind: kind.map(String::from),
            message: message.map(String::from),
            cause: None,
            cause_message: None,
        }
    }

    #[test]
    fn expected_exceptions_match_type_leniently_and_message_strictly() {
        let statement = "io.confluent.ksql.util.KsqlStatementException";
        let thrown = statement_error("Invalid join condition: bad");
        assert!(
            expectation_met(&expectation(Some(statement), Some("Invalid join")), &thrown).is_ok()
        );
        assert!(expectation_met(&expectation(Some(statement), Some("other")), &thrown).is_err());
        let generic = "io.confluent.ksql.util.KsqlException";
        assert!(expectation_met(&expectation(Some(generic), None), &thrown).is_ok());
        let parse = Thrown::Statement {
            index: 0,
            error: EngineError::Parse("Syntax Error".into()),
        };
        assert!(
            expectation_met(&expectation(Some(statement), Some("Syntax Error")), &parse).is_ok()
        );
        let streams = "org.apache.kafka.streams.errors.StreamsException";
        assert!(expectation_met(&expectation(Some(streams), None), &thrown).is_err());
        let runtime = Thrown::Query(EngineError::Runtime(
            "Exception caught in process: overflow".into(),
        ));
        let mut with_cause = expectation(Some(streams), Some("Exception caught in process"));
        with_cause.cause_message = Some("overflow".into());
        assert!(expectation_met(&with_cause, &runtime).is_ok());
        let harness = Thrown::Harness("No information found for topic: t".into());
        assert!(
            expectation_met(
                &expectation(Some(generic), Some("No information")),
                &harness
            )
            .is_ok()
        );
        assert!(
            expectation_met(
                &expectation(Some(statement), Some("No information")),
                &harness
            )
            .is_err()
        );
        assert!(
            expectation_met(
                &expectation(None, Some("x")),
                &Thrown::Assertion("x".into())
            )
            .is_err()
        );
    }

    #[test]
    fn a_case_without_queries_fails() {
        let c = case(json!({
            "name": "n", "statements": ["CREATE STREAM S (ID INT) WITH (kafka_topic='s', value_format='JSON');"],
            "inputs": [{"topic": "s", "value": {"ID": 1}}]
        }));
        match run_case(c, Duration::from_secs(10)) {
            Verdict::Fail(message) => {
                assert!(
                    message.contains("did not generate any queries"),
                    "{message}"
                )
            }
            Verdict::Pass => panic!("a case without a query cannot pass"),
        }
    }

    #[test]
    fn a_projection_case_passes() {
        let c = case(json!({
            "name": "n",
            "statements": [
                "CREATE STREAM S (K STRING KEY, ID INT) WITH (kafka_topic='s', value_format='DELIMITED');",
                "CREATE STREAM O AS SELECT K, ID + 1 AS N FROM S WHERE ID > 0;"
            ],
            "inputs": [{"topic": "s", "key": "a", "value": "1"}, {"topic": "s", "key": "b", "value": "0"}],
            "outputs": [{"topic": "O", "key": "a", "value": "2"}]
        }));
        assert_eq!(run_case(c, Duration::from_secs(10)), Verdict::Pass);
    }

    #[test]
    fn records_compare_key_window_value_headers_and_timestamp() {
        let expected: RecordNode = serde_json::from_value(json!({
            "topic": "t", "key": 1, "value": {"A": 1}, "timestamp": 5,
            "window": {"start": 0, "end": 10, "type": "time"}
        }))
        .unwrap();
        let mut actual = ActualRecord {
            key: json!(1),
            window: expected.window,
            value: json!({"A": 1}),
            timestamp: 5,
            headers: vec![],
        };
        assert!(record_matches(&expected, &actual, Numbers::Exact, false));
        actual.timestamp = 6;
        assert!(!record_matches(&expected, &actual, Numbers::Exact, false));
        actual.timestamp = 5;
        actual.headers = vec![Header {
            key: "h".into(),
            value: None,
        }];
        assert!(!record_matches(&expected, &actual, Numbers::Exact, false));
        actual.headers.clear();
        actual.window = None;
        assert!(!record_matches(&expected, &actual, Numbers::Exact, false));

        let inserted: RecordNode =
            serde_json::from_value(json!({"topic": "t", "value": 1, "timestamp": 0})).unwrap();
        let row = ActualRecord {
            key: json!(null),
            window: None,
            value: json!(1),
            timestamp: 1_700_000_000_000,
            headers: vec![],
        };
        assert!(record_matches(&inserted, &row, Numbers::Exact, true));
        assert!(!record_matches(&inserted, &row, Numbers::Exact, false));
    }

    #[test]
    fn a_hung_case_times_out_and_the_run_goes_on() {
        let verdict = run_isolated("hang", Duration::from_millis(50), || {
            thread::sleep(Duration::from_secs(2));
            Verdict::Pass
        });
        assert!(matches!(verdict, Verdict::Fail(m) if m.starts_with("timed out")));
        assert_eq!(
            run_isolated("ok", Duration::from_secs(5), || Verdict::Pass),
            Verdict::Pass
        );
    }

    /// A JSON stream over topic `t` whose inputs are also its expected outputs, since a topic's
    /// outputs include the test inputs written to it.
    fn echo_fixture(outputs: &str) -> (TestCase, Catalog, CapturingStore) {
        use crate::catalog::Source;
        use crate::format::FormatSpec;
        use crate::sql::ast::SourceKind;
        use crate::types::{Column, Schema, SqlType};

        // Parsed from text: json!() would turn 1.50 into an f64 and lose the scale.
        let raw = format!(
            r#"{{"name": "echo", "statements": ["S"],
                "inputs": [{{"topic": "t", "key": 1, "value": {{"V": 1.50}}, "timestamp": 7}},
                           {{"topic": "t", "key": 2, "value": null}}],
                "outputs": {outputs}}}"#
        );
        let c = case(serde_json::from_str(&raw).unwrap());
        let mut catalog = Catalog::default();
        catalog.put_source(Source {
            name: "T".into(),
            kind: SourceKind::Stream,
            schema: Schema::new(vec![
                Column::key("K", SqlType::Bigint),
                Column::value("V", SqlType::decimal(3, 2)),
            ]),
            topic: "t".into(),
            key_format: FormatSpec::new(FormatKind::Kafka),
            value_format: FormatSpec::new(FormatKind::Json),
            timestamp_column: None,
            timestamp_format: None,
            window: None,
            read_only: false,
            sql: String::new(),
            wrap_single_value: None,
        });
        let store = CapturingStore::new();
        for (name, partitions) in topic_set(&c) {
            let config = TopicConfig {
                partitions,
                ..TopicConfig::default()
            };
            store.create_topic(&name, config).unwrap();
        }
        for input in &c.inputs {
            let record = records::to_producer_record(&catalog, input).unwrap();
            store.produce(&input.topic, vec![record]).unwrap();
        }
        (c, catalog, store)
    }

    #[test]
    fn outputs_are_read_back_and_compared_in_order() {
        let (c, catalog, store) = echo_fixture(
            r#"[{"topic": "t", "key": 1, "value": {"V": 1.50}, "timestamp": 7},
                {"topic": "t", "key": 2, "value": null, "timestamp": 0}]"#,
        );
        assert!(verify_outputs(&c, &catalog, &store).is_ok());

        let (c, catalog, store) = echo_fixture(
            r#"[{"topic": "t", "key": 1, "value": {"V": 1.5}},
                {"topic": "t", "key": 2, "value": null}]"#,
        );
        let Err(Thrown::Assertion(m)) = verify_outputs(&c, &catalog, &store) else {
            panic!("a decimal of another scale must not match");
        };
        assert!(
            m.starts_with("Topic 't', message 0: Expected <1, {\"V\":1.5}>"),
            "{m}"
        );
        assert!(
            m.contains("but was <1, {\"V\":1.50}> with timestamp=7"),
            "{m}"
        );

        let (c, catalog, store) =
            echo_fixture(r#"[{"topic": "t", "key": 1, "value": {"V": 1.50}}]"#);
        let Err(Thrown::Harness(m)) = verify_outputs(&c, &catalog, &store) else {
            panic!("a count mismatch must fail");
        };
        assert!(
            m.starts_with("Topic t. Expected <1> records but it was <2>"),
            "{m}"
        );

        let (c, catalog, store) = echo_fixture(r#"[{"topic": "nowhere", "value": 1}]"#);
        assert!(matches!(
            verify_outputs(&c, &catalog, &store),
            Err(Thrown::Harness(_))
        ));
    }
}
