//! The test-case file format (ksqlDB's query-validation-tests JSON), read as leniently as
//! ksqlDB's loader reads it, and the expansion of one case node into the cases that run.
//!
//! Unknown fields are ignored (ksqlDB turns off `FAIL_ON_UNKNOWN_PROPERTIES`, and the corpus is
//! full of `comment`, `issues` and misspelt fields). Each case of a file is read on its own, so
//! one malformed case fails alone instead of taking its file down.

use base64::Engine as _;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::topics::Header;

/// What ksqlDB's runner puts in place of `{FORMAT}` when a case has no `format` list, so that
/// such a statement fails with a message that says what is wrong.
const FORMAT_REPLACE_ERROR: &str =
    "To use {FORMAT} in your statements please set the 'format' test case element";

/// A whole test file: `{"comments": [...], "tests": [...]}`. Cases stay raw JSON until
/// [`parse_case`] reads them one by one.
#[derive(Debug, Deserialize)]
pub struct TestFile {
    #[serde(default, deserialize_with = "null_as_default")]
    pub tests: Vec<Value>,
}

/// One entry of `tests`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCaseNode {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub statements: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub inputs: Vec<RecordNode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub outputs: Vec<RecordNode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub topics: Vec<TopicNode>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: Map<String, Value>,
    pub expected_exception: Option<ExpectedException>,
    pub post: Option<PostConditions>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub format: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: Vec<String>,
    pub enabled: Option<bool>,
    /// Only REST (RQTT) cases carry these; their presence marks a case for the REST runner
    /// ([`super::rest`]).
    pub responses: Option<Vec<Value>>,
    pub expected_error: Option<ExpectedError>,
    pub input_conditions: Option<InputConditions>,
    pub output_conditions: Option<OutputConditions>,
    pub test_pull_with_proto_format: Option<bool>,
    /// Sluice's own cases only: statements sent to `/ksql` once the inputs are produced and
    /// processed and the queries answered, so a case can show what processing changed (a
    /// query's state, a source's description). Their entities follow the other responses.
    #[serde(default, deserialize_with = "null_as_default")]
    pub statements_after_inputs: Vec<String>,
}

/// RQTT's `expectedError`: the error class of the body, a substring of its message, and the
/// HTTP status.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExpectedError {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub status: Option<u16>,
}

/// RQTT's `inputConditions`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputConditions {
    #[serde(default)]
    pub wait_for_active_push_query: bool,
}

/// RQTT's `outputConditions`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConditions {
    #[serde(default)]
    pub verify_order: bool,
}

/// What a REST (RQTT) case adds to a case: the responses expected from `/ksql` and `/query`,
/// or the error expected instead.
#[derive(Debug, Clone, Default)]
pub struct RestSpec {
    /// Single-key objects: `{"admin": {...}}`, `{"query": [...]}` or `{"queryProto": [...]}`.
    pub responses: Vec<Value>,
    pub expected_error: Option<ExpectedError>,
    /// Produce the inputs only once the (single) query is running.
    pub wait_for_active_push_query: bool,
    /// Compare query rows in order rather than as a multiset.
    pub verify_order: bool,
    /// Also run every query on `/query-stream` with the protobuf media type.
    pub pull_with_proto_format: bool,
    /// Statements run once the inputs are processed ([`TestCaseNode::statements_after_inputs`]).
    pub statements_after_inputs: Vec<String>,
}

/// A record to produce (`inputs`) or to expect (`outputs`).
#[derive(Debug, Clone, Deserialize)]
pub struct RecordNode {
    pub topic: String,
    /// Absent means a null key.
    #[serde(default)]
    pub key: Value,
    /// Required; `null` is a tombstone.
    pub value: Value,
    pub timestamp: Option<i64>,
    pub window: Option<WindowData>,
    /// `None` on an expected record means "no headers" (ksqlDB's default is the empty list).
    pub headers: Option<Vec<HeaderNode>>,
}

/// The window of a windowed key, as a record gives it and as a windowed key decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct WindowData {
    pub start: i64,
    pub end: i64,
    #[serde(rename = "type")]
    pub kind: WindowKind,
}

/// ksqlDB's test format knows two layouts: tumbling and hopping windows are both `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Time,
    Session,
}

impl<'de> Deserialize<'de> for WindowKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.to_ascii_uppercase().as_str() {
            "TIME" => Ok(WindowKind::Time),
            "SESSION" => Ok(WindowKind::Session),
            _ => Err(serde::de::Error::custom(format!(
                "window type must be 'time' or 'session', not '{text}'"
            ))),
        }
    }
}

impl std::fmt::Display for WindowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WindowKind::Time => "time",
            WindowKind::Session => "session",
        })
    }
}

/// `{"KEY": "name", "VALUE": "<base64>" | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeaderNode {
    #[serde(rename = "KEY")]
    pub key: String,
    #[serde(rename = "VALUE", default, deserialize_with = "base64_bytes")]
    pub value: Option<Vec<u8>>,
}

impl HeaderNode {
    pub fn to_header(&self) -> Header {
        Header {
            key: self.key.clone(),
            value: self.value.clone(),
        }
    }
}

/// An entry of `topics`: its name and partition count, and the schemas registered for its
/// keys and values before the statements run (AVRO; a schema without a format is AVRO).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicNode {
    pub name: String,
    pub partitions: Option<u32>,
    pub key_format: Option<String>,
    pub value_format: Option<String>,
    pub key_schema: Option<Value>,
    pub value_schema: Option<Value>,
    pub key_schema_id: Option<u32>,
    pub value_schema_id: Option<u32>,
    #[serde(default)]
    pub key_schema_references: Vec<SchemaReference>,
    #[serde(default)]
    pub value_schema_references: Vec<SchemaReference>,
}

/// A schema a `topics` entry's schema imports: its file name and its text.
#[derive(Debug, Clone, Deserialize)]
pub struct SchemaReference {
    pub name: Option<String>,
    #[serde(default)]
    pub schema: Value,
}

/// `expectedException`: the Java class the error must be an instance of, and a substring of
/// its message.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedException {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub message: Option<String>,
    pub cause: Option<String>,
    pub cause_message: Option<String>,
}

/// `post`: conditions on the catalog and the topics after the run.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostConditions {
    #[serde(default, deserialize_with = "null_as_default")]
    pub sources: Vec<SourceNode>,
    pub topics: Option<PostTopics>,
}

/// A source the catalog must hold; every field but the name and type is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceNode {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub schema: Option<String>,
    pub key_format: Option<KeyFormatNode>,
    pub value_format: Option<String>,
    pub key_features: Option<Vec<String>>,
    pub value_features: Option<Vec<String>>,
    pub is_source: Option<bool>,
}

/// A source's key format. The window type and size are always compared: leaving them out
/// asserts that the key is not windowed.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyFormatNode {
    pub format: Option<String>,
    pub window_type: Option<String>,
    pub window_size: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostTopics {
    /// A regex no topic name may contain a match of.
    pub blacklist: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub topics: Vec<PostTopicNode>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostTopicNode {
    pub name: String,
    pub key_format: Option<FormatInfoNode>,
    pub value_format: Option<FormatInfoNode>,
    pub partitions: Option<u32>,
}

/// A topic's key or value format in `post.topics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormatInfoNode {
    pub format: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub features: Vec<String>,
    pub window_info: Option<WindowInfoNode>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WindowInfoNode {
    #[serde(rename = "type")]
    pub kind: String,
}

/// One case ready to run: `{FORMAT}` and `{CONFIG}` substituted, named for display.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// `<file stem> - <name>[ - <FORMAT>][ - <prop>=<value>]`.
    pub name: String,
    pub statements: Vec<String>,
    /// In file order; values as JSON (ksqlDB allows numbers and booleans too).
    pub properties: Vec<(String, Value)>,
    pub inputs: Vec<RecordNode>,
    pub outputs: Vec<RecordNode>,
    pub topics: Vec<TopicNode>,
    pub expected_exception: Option<ExpectedException>,
    pub post: Option<PostConditions>,
    /// Set for REST (RQTT) cases, which the REST runner executes.
    pub rest: Option<RestSpec>,
}

impl TestCase {
    /// The value of a case property, as text.
    pub fn property(&self, name: &str) -> Option<String> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| property_text(v))
    }
}

/// What a case node turns into: cases to run, cases to skip, or a case the file got wrong.
#[derive(Debug, Clone)]
pub enum Expanded {
    Run(Box<TestCase>),
    Skip {
        name: String,
        reason: Option<&'static str>,
    },
    Invalid {
        name: String,
        reason: String,
    },
}

/// Reads one raw case of a file. On failure, returns the display name (as far as it can be
/// told) and the reason.
pub fn parse_case(file_stem: &str, raw: &Value) -> Result<TestCaseNode, (String, String)> {
    TestCaseNode::deserialize(raw).map_err(|e| {
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>");
        (
            format!("{file_stem} - {name}"),
            format!("invalid test case: {e}"),
        )
    })
}

/// Expands a case node into one case per combination of `format` and `config` values, the way
/// ksqlDB's `TestCaseBuilder` does.
pub fn expand(file_stem: &str, node: &TestCaseNode) -> Vec<Expanded> {
    expand_in(file_stem, node, false)
}

/// [`expand`], where `rest_suite` makes every case a REST case (a file of ksqlDB's REST test
/// suite); elsewhere a case is a REST case when it has `responses` or `expectedError`.
pub fn expand_in(file_stem: &str, node: &TestCaseNode, rest_suite: bool) -> Vec<Expanded> {
    let formats: Vec<Option<&str>> = if node.format.is_empty() {
        vec![None]
    } else {
        node.format.iter().map(|f| Some(f.as_str())).collect()
    };
    let configs: Vec<Option<&str>> = if node.config.is_empty() {
        vec![None]
    } else {
        node.config.iter().map(|c| Some(c.as_str())).collect()
    };
    let base_name = format!("{file_stem} - {}", node.name);
    let display = |format: Option<&str>, config: Option<(&str, &str)>| {
        let mut name = base_name.clone();
        if let Some(f) = format {
            name.push_str(" - ");
            name.push_str(f);
        }
        if let Some((prop, value)) = config {
            name.push_str(&format!(" - {prop}={value}"));
        }
        name
    };

    let config_property: Result<Option<&str>, String> = if node.config.is_empty() {
        Ok(None)
    } else {
        let holders: Vec<&String> = node
            .properties
            .iter()
            .filter(|(_, v)| {
                v.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("{CONFIG}"))
            })
            .map(|(k, _)| k)
            .collect();
        match holders.as_slice() {
            [one] => Ok(Some(one.as_str())),
            _ => Err(format!(
                "invalid test: 'config' needs exactly one property whose value is \
                 \"{{CONFIG}}\", found {}",
                holders.len()
            )),
        }
    };

    let rest = rest_suite || node.responses.is_some() || node.expected_error.is_some();
    let skip_reason = if node.enabled == Some(false) {
        Some(None)
    } else {
        None
    };
    let config_property = match (config_property, skip_reason) {
        (Ok(property), _) => property,
        (Err(_), Some(reason)) => {
            return vec![Expanded::Skip {
                name: base_name,
                reason,
            }];
        }
        (Err(reason), None) => {
            return vec![Expanded::Invalid {
                name: base_name,
                reason,
            }];
        }
    };

    let mut out = Vec::new();
    for format in &formats {
        for config in &configs {
            let config_pair = config_property.zip(*config);
            let name = display(*format, config_pair);
            if let Some(reason) = skip_reason {
                out.push(Expanded::Skip { name, reason });
                continue;
            }
            let valid = if rest {
                validate_rest(node)
            } else {
                validate(node)
            };
            if let Err(reason) = valid {
                out.push(Expanded::Invalid { name, reason });
                continue;
            }
            let replacement = format.unwrap_or(FORMAT_REPLACE_ERROR);
            let statements = node
                .statements
                .iter()
                .map(|s| s.replace("{FORMAT}", replacement))
                .collect();
            let properties = node
                .properties
                .iter()
                .map(|(k, v)| match config_pair {
                    Some((prop, value)) if prop == k => (k.clone(), Value::String(value.into())),
                    _ => (k.clone(), v.clone()),
                })
                .collect();
            out.push(Expanded::Run(Box::new(TestCase {
                name,
                statements,
                properties,
                inputs: node.inputs.clone(),
                outputs: node.outputs.clone(),
                topics: node.topics.clone(),
                expected_exception: node.expected_exception.clone(),
                post: node.post.clone(),
                rest: rest.then(|| RestSpec {
                    responses: node.responses.clone().unwrap_or_default(),
                    expected_error: node.expected_error.clone(),
                    wait_for_active_push_query: node
                        .input_conditions
                        .is_some_and(|c| c.wait_for_active_push_query),
                    verify_order: node.output_conditions.is_some_and(|c| c.verify_order),
                    pull_with_proto_format: node.test_pull_with_proto_format == Some(true),
                    statements_after_inputs: node.statements_after_inputs.clone(),
                }),
            })));
        }
    }
    out
}

/// ksqlDB's `TestCaseNode.validate` and the checks its node constructors make.
fn validate(node: &TestCaseNode) -> Result<(), String> {
    if node.name.is_empty() {
        return Err("invalid test case: missing 'name'".into());
    }
    if node.statements.is_empty() {
        return Err("invalid test case: 'statements' is empty".into());
    }
    if node.expected_exception.is_none() && node.inputs.is_empty() && node.outputs.is_empty() {
        return Err("invalid test case: no inputs, outputs or expectedException provided".into());
    }
    if let Some(ee) = &node.expected_exception
        && ee.kind.is_none()
        && ee.message.is_none()
    {
        return Err("invalid test case: expectedException needs a 'type' or a 'message'".into());
    }
    Ok(())
}

/// ksqlDB's `RestTestCaseNode.validate` and the checks of its nodes.
fn validate_rest(node: &TestCaseNode) -> Result<(), String> {
    if node.name.is_empty() {
        return Err("invalid test case: missing 'name'".into());
    }
    if node.statements.is_empty() {
        return Err("invalid test case: 'statements' is empty".into());
    }
    if !node.inputs.is_empty() && node.expected_error.is_some() {
        return Err("invalid test case: 'inputs' and 'expectedError' can not both be set".into());
    }
    if let Some(ee) = &node.expected_error
        && ee.kind.is_none()
        && ee.message.is_none()
        && ee.status.is_none()
    {
        return Err(
            "invalid test case: expectedError needs a 'type', a 'message' or a 'status'".into(),
        );
    }
    let responses = node.responses.as_deref().unwrap_or_default();
    // `queryProto` responses repeat queries on another endpoint; they add no statements.
    let counted = responses
        .iter()
        .filter(|r| r.get("queryProto").is_none())
        .count();
    let statements = node.statements.len() + node.statements_after_inputs.len();
    if counted > statements {
        return Err(format!(
            "invalid test case: more expected responses than statements ({counted} > {statements})"
        ));
    }
    for response in responses {
        match response.as_object() {
            Some(map) if map.len() == 1 => {}
            _ => {
                return Err(format!(
                    "invalid test case: a response must be an object with one key, not {response}"
                ));
            }
        }
    }
    Ok(())
}

/// A property value as the engine takes it: strings as they are, anything else as JSON text.
pub fn property_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Treats an explicit `null` like an absent field, as ksqlDB's loader does for lists and maps.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn base64_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
        .decode(text.as_bytes())
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("header VALUE is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(raw: Value) -> TestCaseNode {
        parse_case("file", &raw).expect("case parses")
    }

    fn run(expanded: &Expanded) -> &TestCase {
        match expanded {
            Expanded::Run(case) => case,
            other => panic!("expected a runnable case, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_nulls_are_tolerated() {
        let n = node(json!({
            "name": "n", "comment": "ignored", "statements": ["S"],
            "inputs": [{"topic": "t", "value": null, "N4": 1}],
            "outputs": null, "topics": null
        }));
        assert!(n.outputs.is_empty());
        assert_eq!(n.inputs[0].key, Value::Null);
        assert_eq!(n.inputs[0].value, Value::Null);
    }

    #[test]
    fn a_record_needs_a_value() {
        let raw = json!({"name": "n", "statements": ["S"], "inputs": [{"topic": "t"}]});
        let (name, reason) = parse_case("f", &raw).unwrap_err();
        assert_eq!(name, "f - n");
        assert!(reason.contains("value"), "{reason}");
    }

    #[test]
    fn windows_and_headers_are_decoded() {
        let n = node(json!({
            "name": "n", "statements": ["S"],
            "outputs": [{"topic": "t", "value": 1,
                         "window": {"start": 0, "end": 10, "type": "SESSION"},
                         "headers": [{"KEY": "a", "VALUE": "IQ=="}, {"KEY": "b", "VALUE": null}]}]
        }));
        let r = &n.outputs[0];
        assert_eq!(
            r.window,
            Some(WindowData {
                start: 0,
                end: 10,
                kind: WindowKind::Session
            })
        );
        let headers = r.headers.as_ref().unwrap();
        assert_eq!(headers[0].value.as_deref(), Some(&b"!"[..]));
        assert_eq!(headers[1].value, None);
    }

    #[test]
    fn formats_substitute_statements_only_and_name_the_case() {
        let n = node(json!({
            "name": "n", "format": ["JSON", "AVRO"],
            "statements": ["CREATE STREAM S (A INT) WITH (value_format='{FORMAT}');"],
            "topics": [{"name": "{FORMAT}"}],
            "outputs": [{"topic": "t", "value": "{FORMAT}"}]
        }));
        let cases = expand("stem", &n);
        assert_eq!(cases.len(), 2);
        let avro = run(&cases[1]);
        assert_eq!(avro.name, "stem - n - AVRO");
        assert_eq!(
            avro.statements[0],
            "CREATE STREAM S (A INT) WITH (value_format='AVRO');"
        );
        assert_eq!(avro.topics[0].name, "{FORMAT}");
        assert_eq!(avro.outputs[0].value, json!("{FORMAT}"));
    }

    #[test]
    fn format_placeholder_without_formats_gets_the_explanation() {
        let n = node(
            json!({"name": "n", "statements": ["X {FORMAT}"], "outputs": []
                            , "expectedException": {"message": "m"}}),
        );
        let cases = expand("f", &n);
        assert!(run(&cases[0]).statements[0].contains("please set the 'format'"));
    }

    #[test]
    fn config_values_replace_the_placeholder_property() {
        let n = node(json!({
            "name": "n", "config": ["true", "false"], "format": ["JSON"],
            "properties": {"a": "x", "ksql.new.query.planner.enabled": "{CONFIG}"},
            "statements": ["S"], "inputs": [{"topic": "t", "value": 1}]
        }));
        let cases = expand("f", &n);
        let names: Vec<_> = cases.iter().map(|c| run(c).name.clone()).collect();
        assert_eq!(
            names,
            [
                "f - n - JSON - ksql.new.query.planner.enabled=true",
                "f - n - JSON - ksql.new.query.planner.enabled=false"
            ]
        );
        let second = run(&cases[1]);
        assert_eq!(
            second.property("ksql.new.query.planner.enabled").as_deref(),
            Some("false")
        );
        assert_eq!(second.property("a").as_deref(), Some("x"));
    }

    #[test]
    fn config_without_a_placeholder_is_invalid() {
        let n = node(json!({"name": "n", "config": ["a"], "statements": ["S"],
                            "inputs": [{"topic": "t", "value": 1}]}));
        assert!(matches!(expand("f", &n)[0], Expanded::Invalid { .. }));
    }

    #[test]
    fn disabled_rest_and_empty_cases() {
        let disabled = node(json!({"name": "d", "enabled": false, "statements": ["S"]}));
        assert!(matches!(
            &expand("f", &disabled)[0],
            Expanded::Skip { name, reason: None } if name == "f - d"
        ));
        let rest = node(json!({"name": "r", "statements": ["S"], "responses": []}));
        assert!(matches!(
            &expand("f", &rest)[0],
            Expanded::Run(case) if case.rest.is_some()
        ));
        let empty = node(json!({"name": "e", "statements": ["S"], "inputs": [], "outputs": []}));
        assert!(matches!(expand("f", &empty)[0], Expanded::Invalid { .. }));
    }

    #[test]
    fn non_string_properties_render_as_json_text() {
        assert_eq!(property_text(&json!(false)), "false");
        assert_eq!(property_text(&json!(12)), "12");
        assert_eq!(property_text(&json!("JSON")), "JSON");
    }
}
