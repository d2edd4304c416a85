//! JSON_ARRAY_CONTAINS(json, value): whether a top-level JSON array holds the value.
//!
//! As ksqlDB's streaming implementation: the document must start with an array (else false);
//! its elements are read one at a time, so a match ends the search even if the document breaks
//! later, while a syntax error before any match gives false. Only like kinds compare: INT and
//! BIGINT with integral JSON numbers (a number too large for the value's type makes the whole
//! search false, as Jackson's coercion error does), DOUBLE with other JSON numbers, STRING with
//! strings, BOOLEAN with `true`/`false`, and a null value with JSON `null`. Values of any other
//! type are never found. A null document fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};
use serde_json::Value;

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_ARRAY_CONTAINS",
        category: "JSON",
        description: "Parses a JSON array and determines whether or not the supplied value is contained within the array.",
        overloads: vec![Overload::generic(
            "STRING jsonArray, T val",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [None | Some(SqlType::String), value] => Some(Signature {
            params: vec![SqlType::String, value.clone().unwrap_or(SqlType::String)],
            returns: SqlType::Boolean,
        }),
        _ => None,
    }
}

/// A value to look for, as the Java object ksqlDB would hold.
#[derive(Debug, Clone, PartialEq)]
enum Needle {
    Null,
    Int(i32),
    Long(i64),
    Double(f64),
    Text(String),
    Bool(bool),
    /// A value of a type no JSON token is compared with.
    Other,
}

fn needle(values: &ArrayRef, row: usize) -> Needle {
    if values.is_null(row) {
        return Needle::Null;
    }
    match values.data_type() {
        DataType::Int32 => Needle::Int(values.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Needle::Long(values.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Needle::Double(values.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Needle::Text(values.as_string::<i32>().value(row).to_string()),
        DataType::Boolean => Needle::Bool(values.as_boolean().value(row)),
        _ => Needle::Other,
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let documents = args[0].as_string::<i32>();
    let mut out = Vec::with_capacity(documents.len());
    for row in 0..documents.len() {
        if documents.is_null(row) {
            return exec_err!("JSON_ARRAY_CONTAINS: the JSON array is null");
        }
        out.push(Some(contains(documents.value(row), &needle(&args[1], row))));
    }
    Ok(Arc::new(BooleanArray::from(out)))
}

/// What comparing one element gave.
enum Step {
    Found,
    NotFound,
    /// Jackson would have thrown: the whole search is false.
    Fail,
}

fn contains(document: &str, needle: &Needle) -> bool {
    let text = document.trim_start_matches([' ', '\t', '\n', '\r']);
    let Some(mut rest) = text.strip_prefix('[') else {
        return false;
    };
    let skip_ws =
        |s: &str| -> usize { s.len() - s.trim_start_matches([' ', '\t', '\n', '\r']).len() };
    let mut first = true;
    loop {
        rest = &rest[skip_ws(rest)..];
        if rest.starts_with(']') {
            return false;
        }
        if !first {
            let Some(r) = rest.strip_prefix(',') else {
                return false;
            };
            rest = &r[skip_ws(r)..];
        }
        first = false;
        // One element: parse it on its own; what follows it is checked on the next round.
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let Some(Ok(element)) = values.next() else {
            return false;
        };
        let raw = &rest[..values.byte_offset()];
        match compare(&element, raw.trim(), needle) {
            Step::Found => return true,
            Step::Fail => return false,
            Step::NotFound => {}
        }
        rest = &rest[values.byte_offset()..];
    }
}

fn compare(element: &Value, raw: &str, needle: &Needle) -> Step {
    let found = |b: bool| if b { Step::Found } else { Step::NotFound };
    match (element, needle) {
        (Value::Null, Needle::Null) => Step::Found,
        (Value::Number(_), Needle::Int(v)) if integral(raw) => match raw.parse::<i32>() {
            Ok(n) => found(n == *v),
            Err(_) => Step::Fail,
        },
        (Value::Number(_), Needle::Long(v)) if integral(raw) => match raw.parse::<i64>() {
            Ok(n) => found(n == *v),
            Err(_) => Step::Fail,
        },
        (Value::Number(_), Needle::Double(v)) if !integral(raw) => match raw.parse::<f64>() {
            // Double.equals: bit patterns, so NaN equals NaN and 0.0 differs from -0.0.
            Ok(n) => found(n.to_bits() == v.to_bits()),
            Err(_) => Step::Fail,
        },
        (Value::String(s), Needle::Text(v)) => found(s == v),
        (Value::Bool(b), Needle::Bool(v)) => found(b == v),
        _ => Step::NotFound,
    }
}

/// Whether JSON number text is an integer token (no fraction, no exponent).
fn integral(raw: &str) -> bool {
    !raw.contains(['.', 'e', 'E'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_like_ksqldb() {
        assert!(!contains("[]", &Needle::Null));
        assert!(contains("[null]", &Needle::Null));
        assert!(!contains("[null]", &Needle::Text("null".into())));
        assert!(!contains("[null]", &Needle::Bool(true)));
        let json = "[2147483647, {\"ab\":null }, -2147483648, 1, 2, 3, null, [4], 4]";
        assert!(contains(json, &Needle::Int(2147483647)));
        assert!(contains(json, &Needle::Int(4)));
        assert!(!contains(json, &Needle::Int(5)));
        assert!(contains("[{}, \"abc\", null, 1]", &Needle::Long(1)));
        assert!(!contains("[{}, \"abc\", null, [1]]", &Needle::Long(1)));
        assert!(contains("[{}, \"abc\", null, -2.0]", &Needle::Double(-2.0)));
        assert!(!contains("[1]", &Needle::Double(1.0)));
        assert!(!contains("[1.0]", &Needle::Int(1)));
        assert!(contains(
            "[{}, \"abc\", null, 1]",
            &Needle::Text("abc".into())
        ));
        assert!(!contains("[false, false, true, false]", &Needle::Null));
        assert!(contains("[false, true", &Needle::Bool(true)));
        assert!(!contains("[false, x, true]", &Needle::Bool(true)));
        assert!(!contains("[9999999999, 1]", &Needle::Int(1)));
        assert!(!contains("{\"a\": 1}", &Needle::Int(1)));
        assert!(!contains("", &Needle::Null));
        assert!(!contains("[1] [2]", &Needle::Int(2)));
        assert!(!contains("[1, 2]", &Needle::Other));
    }
}
