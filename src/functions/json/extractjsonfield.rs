//! EXTRACTJSONFIELD(json, path): the value at a JSONPath (`$.a.b`, `$.a[0]`, `$['a b']`) of a
//! JSON document: a string as its text, anything else as JSON (`null` for a JSON null). Null
//! when the document or path is null or the path leads nowhere; an invalid document or path
//! fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};
use serde_json::Value;

use super::common::{Numbers, parse, write};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "EXTRACTJSONFIELD",
        category: "JSON",
        description: "Given a STRING that contains JSON data, extract the value at the specified  JSONPath or NULL if the specified path does not exist.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let documents = args[0].as_string::<i32>();
    let paths = args[1].as_string::<i32>();
    // Paths are usually one literal: tokenize each distinct path once.
    let mut cached: Option<(&str, Vec<String>)> = None;
    let out = documents
        .iter()
        .zip(paths.iter())
        .map(|(document, path)| {
            let (Some(document), Some(path)) = (document, path) else {
                return Ok(None);
            };
            let tokens = match &cached {
                Some((p, tokens)) if *p == path => tokens.clone(),
                _ => {
                    let tokens = tokenize(path).map_err(DataFusionError::Execution)?;
                    cached = Some((path, tokens.clone()));
                    tokens
                }
            };
            let root = parse(document).map_err(DataFusionError::Execution)?;
            Ok(extract(root.as_ref(), &tokens))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

/// Follows the tokens from the root (`None`: a blank document, Jackson's missing node).
fn extract(root: Option<&Value>, tokens: &[String]) -> Option<String> {
    let mut current = root;
    for token in tokens {
        current = match current? {
            Value::Array(items) => {
                let index = java_parse_int(token)?;
                usize::try_from(index).ok().and_then(|i| items.get(i))
            }
            Value::Object(fields) => fields.get(token),
            _ => None,
        };
        current?;
    }
    Some(match current {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => write(other, Numbers::Scientific),
    })
}

/// Java's `Integer.parseInt`: an optional sign, then decimal digits, within 32 bits.
fn java_parse_int(text: &str) -> Option<i32> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Splits a JSONPath as ksqlDB's `JsonPathTokenizer` does: `$`, then `.name` segments
/// (letters, digits, `_`, `:` and `@`) and `[subscript]`s, either unquoted (letters, digits,
/// `_`) or double-quoted with `\"` and `\\` escapes.
fn tokenize(path: &str) -> Result<Vec<String>, String> {
    let invalid = || format!("Invalid JSON path: '{path}'");
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    if chars.first() != Some(&'$') {
        return Err(invalid());
    }
    i += 1;
    let mut tokens = Vec::new();
    let take_while = |i: &mut usize, ok: fn(char) -> bool| {
        let start = *i;
        while *i < chars.len() && ok(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let token = take_while(&mut i, |c| c == ':' || c == '@' || subscript_char(c));
                if token.is_empty() {
                    return Err(invalid());
                }
                tokens.push(token);
            }
            '[' => {
                i += 1;
                let token = if chars.get(i) == Some(&'"') {
                    i += 1;
                    let mut token = String::new();
                    loop {
                        match chars.get(i) {
                            None => return Err(invalid()),
                            Some('"') => break,
                            Some('\\') => match chars.get(i + 1) {
                                Some(c @ ('"' | '\\')) => {
                                    token.push(*c);
                                    i += 2;
                                }
                                _ => return Err(invalid()),
                            },
                            Some(c) => {
                                token.push(*c);
                                i += 1;
                            }
                        }
                    }
                    i += 1;
                    token
                } else {
                    let token = take_while(&mut i, subscript_char);
                    if token.is_empty() {
                        return Err(invalid());
                    }
                    token
                };
                if chars.get(i) != Some(&']') {
                    return Err(invalid());
                }
                i += 1;
                tokens.push(token);
            }
            _ => return Err(invalid()),
        }
    }
    Ok(tokens)
}

fn subscript_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(document: &str, path: &str) -> Option<String> {
        extract(parse(document).unwrap().as_ref(), &tokenize(path).unwrap())
    }

    #[test]
    fn tokenizes_like_ksqldb() {
        assert_eq!(tokenize("$").unwrap(), Vec::<String>::new());
        assert_eq!(
            tokenize("$.a.@type[0][\"x \\\"y\"]").unwrap(),
            vec!["a", "@type", "0", "x \"y"]
        );
        assert_eq!(
            tokenize("$.array[-1]").err().unwrap(),
            "Invalid JSON path: '$.array[-1]'"
        );
        assert!(tokenize("a").is_err());
        assert!(tokenize("").is_err());
        assert!(tokenize("$.").is_err());
    }

    #[test]
    fn extracts_like_ksqldb() {
        let doc = r#"{"thing1": {"thing2": "hello"}, "array": [101, 102.50], "n": null}"#;
        assert_eq!(run(doc, "$.thing1.thing2").as_deref(), Some("hello"));
        assert_eq!(
            run(doc, "$.thing1").as_deref(),
            Some("{\"thing2\":\"hello\"}")
        );
        assert_eq!(run(doc, "$.array.1").as_deref(), Some("102.50"));
        assert_eq!(run(doc, "$.array[2]"), None);
        assert_eq!(run(doc, "$.array.x"), None);
        assert_eq!(run(doc, "$.n").as_deref(), Some("null"));
        assert_eq!(run(doc, "$.will.not.find.me"), None);
        assert!(parse("this is NOT a JSON doc").is_err());
    }
}
