//! How ksqlDB's REST runner compares responses (`RestTestExecutor.verifyResponses`): each
//! expected response is a single-key object whose key names the kind (`admin`, `query`), and
//! only the fields it lists are checked.
//!
//! * A key may end in `|starts_with`: the actual string must start with the expected one.
//! * `{STATEMENT}` in an expected string stands for the statement at the response's index.
//! * Values compare as Jackson reads them: integers by value, decimals as `BigDecimal`s
//!   (scale included), objects and arrays in full.
//! * A query response must have exactly as many rows as expected; `row` entries compare as a
//!   multiset unless the case sets `verifyOrder`.

use serde_json::{Map, Value};

use crate::testing::compare::Decimal;

/// What the runner received: one `/ksql` entity or one `/query` response.
#[derive(Debug, Clone)]
pub enum Actual {
    Admin(Value),
    Query(Vec<Value>),
    /// A query's response when protobuf rows were asked for.
    QueryProto(Vec<Value>),
}

impl Actual {
    fn kind(&self) -> &'static str {
        match self {
            Actual::Admin(_) => "admin",
            Actual::Query(_) => "query",
            Actual::QueryProto(_) => "queryProto",
        }
    }
}

const STATEMENT_MACRO: &str = "{STATEMENT}";
const MATCH_OPERATOR_DELIMITER: char = '|';

/// Checks every expected response against the actual one at the same index.
pub fn verify_responses(
    actual: &[Actual],
    expected: &[Value],
    statements: &[String],
    verify_order: bool,
) -> Result<(), String> {
    if actual.len() < expected.len() {
        return Err(format!(
            "Not enough responses: expected at least {} but got {}: {}",
            expected.len(),
            actual.len(),
            describe_actual(actual)
        ));
    }
    for (idx, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        let Some((kind, payload)) = expected
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return Err(format!(
                "responses[{idx}] must be an object with one key: {expected}"
            ));
        };
        if kind != actual.kind() {
            return Err(format!(
                "responses[{idx}]: expected {kind} response but got {}: {}",
                actual.kind(),
                describe_one(actual)
            ));
        }
        let path = format!("responses[{idx}]->{kind}");
        match actual {
            Actual::Admin(entity) => {
                let (Some(expected), Some(entity)) = (payload.as_object(), entity.as_object())
                else {
                    return Err(format!(
                        "{path}: the admin payload should be a JSON object: {payload}"
                    ));
                };
                match_fields(entity, expected, statements, idx, &path)?;
            }
            Actual::Query(rows) | Actual::QueryProto(rows) => {
                let Some(expected_rows) = payload.as_array() else {
                    return Err(format!("{path}: the query payload should be an array"));
                };
                verify_rows(rows, expected_rows, statements, idx, &path, verify_order)?;
            }
        }
    }
    Ok(())
}

fn describe_actual(actual: &[Actual]) -> String {
    actual
        .iter()
        .map(describe_one)
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_one(actual: &Actual) -> String {
    match actual {
        Actual::Admin(v) => format!("{{\"admin\": {v}}}"),
        Actual::Query(rows) | Actual::QueryProto(rows) => {
            format!("{{\"{}\": {}}}", actual.kind(), Value::Array(rows.clone()))
        }
    }
}

fn verify_rows(
    rows: &[Value],
    expected: &[Value],
    statements: &[String],
    idx: usize,
    path: &str,
    verify_order: bool,
) -> Result<(), String> {
    if rows.len() != expected.len() {
        return Err(format!(
            "{path}: row count mismatch. Expected: {} Got: {}",
            Value::Array(expected.to_vec()),
            Value::Array(rows.to_vec())
        ));
    }
    let as_object = |v: &Value, what: &str, i: usize| {
        v.as_object()
            .cloned()
            .ok_or_else(|| format!("{path}[{i}]: each {what} row should be a JSON object: {v}"))
    };
    let is_row = |v: &Value| v.get("row").is_some();
    // Rows compare as a multiset, over the positions where rows are expected.
    let mut unmatched: Vec<usize> = Vec::new();
    for (i, (e, a)) in expected.iter().zip(rows).enumerate() {
        let e_map = as_object(e, "expected", i)?;
        let a_map = as_object(a, "actual", i)?;
        let row_path = format!("{path}[{i}]");
        if verify_order || !is_row(e) {
            match_fields(&a_map, &e_map, statements, idx, &row_path)?;
        } else {
            unmatched.push(i);
        }
    }
    let mut free: Vec<usize> = unmatched.clone();
    for &i in &unmatched {
        let e_map = as_object(&expected[i], "expected", i)?;
        let found = free.iter().position(|&j| {
            rows[j]
                .as_object()
                .is_some_and(|a| match_fields(a, &e_map, statements, idx, path).is_ok())
        });
        match found {
            Some(k) => {
                free.remove(k);
            }
            None => {
                let actual_rows: Vec<Value> = unmatched.iter().map(|&j| rows[j].clone()).collect();
                return Err(format!(
                    "{path}: no actual row matches the expected {} (actual rows, in any order: {})",
                    expected[i],
                    Value::Array(actual_rows)
                ));
            }
        }
    }
    Ok(())
}

/// `matchResponseFields`: every expected key must be present; objects recurse, other values
/// must be equal (or, with `|starts_with`, a prefix).
pub fn match_fields(
    actual: &Map<String, Value>,
    expected: &Map<String, Value>,
    statements: &[String],
    idx: usize,
    path: &str,
) -> Result<(), String> {
    for (key, expected_value) in expected {
        let (name, operator) = match key.split_once(MATCH_OPERATOR_DELIMITER) {
            Some((name, op)) => (name, Some(op.to_ascii_uppercase())),
            None => (key.as_str(), None),
        };
        let expected_value = replace_macros(expected_value, statements, idx);
        let Some(actual_value) = actual.get(name) else {
            return Err(format!(
                "Response mismatch at {path}: expected a field '{name}' in {}",
                Value::Object(actual.clone())
            ));
        };
        let new_path = format!("{path}->{name}");
        if let Value::Object(expected_map) = &expected_value {
            let Value::Object(actual_map) = actual_value else {
                return Err(format!(
                    "Response mismatch at {new_path}: expected an object but got {actual_value}"
                ));
            };
            match_fields(actual_map, expected_map, statements, idx, &new_path)?;
            continue;
        }
        match operator.as_deref() {
            Some("STARTS_WITH") => {
                let (Value::String(a), Value::String(e)) = (actual_value, &expected_value) else {
                    return Err(format!(
                        "Response mismatch at {new_path}: starts_with needs strings, got {actual_value} and {expected_value}"
                    ));
                };
                if !a.starts_with(e.as_str()) {
                    return Err(format!(
                        "Response mismatch at {new_path}: expected a string starting with \"{e}\" but was \"{a}\""
                    ));
                }
            }
            Some(other) if other != "EQUALS" => {
                return Err(format!("unknown match operator '{other}' in '{key}'"));
            }
            _ => {
                if !json_equal(actual_value, &expected_value) {
                    return Err(format!(
                        "Response mismatch at {new_path}: expected {expected_value} but was {actual_value}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn replace_macros(value: &Value, statements: &[String], idx: usize) -> Value {
    match (value, statements.get(idx)) {
        (Value::String(s), Some(statement)) if s.contains(STATEMENT_MACRO) => {
            Value::String(s.replace(STATEMENT_MACRO, statement))
        }
        _ => value.clone(),
    }
}

/// Equality of two JSON values as Jackson-read Java objects are equal.
pub fn json_equal(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => numbers_equal(&a.to_string(), &e.to_string()),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| json_equal(a, e))
        }
        (Value::Object(a), Value::Object(e)) => {
            a.len() == e.len()
                && e.iter()
                    .all(|(k, ev)| a.get(k).is_some_and(|av| json_equal(av, ev)))
        }
        _ => actual == expected,
    }
}

fn is_integer_text(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// Jackson reads integers as Integer/Long/BigInteger and other numbers as BigDecimal (whose
/// equality includes the scale); an integer never equals a decimal.
fn numbers_equal(a: &str, e: &str) -> bool {
    match (is_integer_text(a), is_integer_text(e)) {
        (true, true) => match (a.parse::<i128>(), e.parse::<i128>()) {
            (Ok(a), Ok(e)) => a == e,
            _ => a == e,
        },
        (false, false) => match (Decimal::parse(a), Decimal::parse(e)) {
            (Some(a), Some(e)) => a == e,
            _ => a == e,
        },
        _ => false,
    }
}

/// Splits the text of a streamed JSON array (`[elem,\nelem,…]`) into the elements complete so
/// far; the flag tells whether the array has been closed.
pub fn streamed_elements(text: &str) -> Result<(Vec<Value>, bool), String> {
    let trimmed = text.trim_start();
    let Some(body) = trimmed.strip_prefix('[') else {
        if trimmed.is_empty() {
            return Ok((Vec::new(), false));
        }
        return Err(format!("the response is not a JSON array: {text}"));
    };
    let mut elements = Vec::new();
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<usize> = None;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                start.get_or_insert(i);
            }
            b'{' | b'[' => {
                depth += 1;
                start.get_or_insert(i);
            }
            b'}' | b']' if depth > 0 => depth -= 1,
            b']' => {
                if let Some(s) = start.take() {
                    elements.push(parse_element(&body[s..i])?);
                }
                return Ok((elements, true));
            }
            b',' if depth == 0 => {
                if let Some(s) = start.take() {
                    elements.push(parse_element(&body[s..i])?);
                }
            }
            b if b.is_ascii_whitespace() => {}
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    // The last element may be complete even though nothing follows it yet (an object or array:
    // a bare number could still be growing).
    if let Some(s) = start
        && depth == 0
        && !in_string
        && body[s..].trim_end().ends_with(['}', ']'])
        && let Ok(last) = serde_json::from_str::<Value>(body[s..].trim())
    {
        elements.push(last);
    }
    Ok((elements, false))
}

fn parse_element(text: &str) -> Result<Value, String> {
    serde_json::from_str(text.trim())
        .map_err(|e| format!("invalid element in the response: {e}: {text}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn streamed_arrays_split_into_complete_elements() {
        let (e, done) =
            streamed_elements("[{\"header\":{\"a\":\"],\"}},\n{\"row\":{\"columns\":[1,").unwrap();
        assert_eq!(e.len(), 1);
        assert!(!done);
        let (e, done) = streamed_elements("[{\"header\":{}}").unwrap();
        assert_eq!(e.len(), 1);
        assert!(!done);
        let (e, done) =
            streamed_elements("[{\"header\":{}},\n{\"row\":{\"columns\":[1,2]}}]\n").unwrap();
        assert_eq!(e.len(), 2);
        assert!(done);
        assert_eq!(streamed_elements("[]").unwrap(), (vec![], true));
        assert_eq!(streamed_elements("").unwrap(), (vec![], false));
        assert!(streamed_elements("{}").is_err());
    }

    #[test]
    fn fields_match_partially_with_operators_and_macros() {
        let actual = parse(
            r#"{"@type": "currentStatus", "statementText": "CREATE X;", "commandStatus": {"status": "SUCCESS", "queryId": "SCALABLE_PUSH_QUERY_1"}}"#,
        );
        let statements = vec!["CREATE X;".to_string()];
        let ok = parse(
            r#"{"@type": "currentStatus", "statementText": "{STATEMENT}", "commandStatus": {"queryId|starts_with": "SCALABLE_PUSH_QUERY"}}"#,
        );
        let a = actual.as_object().unwrap();
        assert!(match_fields(a, ok.as_object().unwrap(), &statements, 0, "r").is_ok());
        let missing = parse(r#"{"nope": 1}"#);
        assert!(match_fields(a, missing.as_object().unwrap(), &statements, 0, "r").is_err());
        let wrong = parse(r#"{"commandStatus": {"status": "ERROR"}}"#);
        assert!(match_fields(a, wrong.as_object().unwrap(), &statements, 0, "r").is_err());
    }

    #[test]
    fn numbers_compare_like_jackson() {
        assert!(json_equal(&parse("1"), &parse("1")));
        assert!(!json_equal(&parse("1.0"), &parse("1")));
        assert!(json_equal(&parse("1.50"), &parse("1.50")));
        assert!(!json_equal(&parse("1.5"), &parse("1.50")));
        assert!(json_equal(
            &parse("[1, {\"a\": 2.0}]"),
            &parse("[1, {\"a\": 2.0}]")
        ));
        assert!(!json_equal(
            &parse("{\"a\": 1, \"b\": 2}"),
            &parse("{\"a\": 1}")
        ));
    }

    #[test]
    fn query_rows_compare_as_a_multiset_unless_ordered() {
        let actual = vec![Actual::Query(vec![
            json!({"header": {"schema": "`K` STRING"}}),
            json!({"row": {"columns": ["b"]}}),
            json!({"row": {"columns": ["a"]}}),
            json!({"finalMessage": "Limit Reached"}),
        ])];
        let expected = vec![json!({"query": [
            {"header": {"schema": "`K` STRING"}},
            {"row": {"columns": ["a"]}},
            {"row": {"columns": ["b"]}},
            {"finalMessage": "Limit Reached"}
        ]})];
        assert!(verify_responses(&actual, &expected, &[], false).is_ok());
        assert!(verify_responses(&actual, &expected, &[], true).is_err());
        let short = vec![json!({"query": [{"header": {}}]})];
        assert!(verify_responses(&actual, &short, &[], false).is_err());
        let admin = vec![json!({"admin": {}})];
        assert!(verify_responses(&actual, &admin, &[], false).is_err());
        assert!(verify_responses(&[], &admin, &[], false).is_err());
    }
}
