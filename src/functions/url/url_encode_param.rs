//! URL_ENCODE_PARAM(string): application/x-www-form-urlencoded escaping, as Guava's
//! `urlFormParameterEscaper`: ASCII letters, digits and `-_.*` stay, a space becomes `+`, and
//! every other character is percent-encoded as UTF-8 with upper-case hex.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "URL_ENCODE_PARAM",
        category: "URL",
        description: "Returns a version of the input with all URL sensitive characters encoded using the application/x-www-form-urlencoded standard.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = args[0]
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(encode))
        .collect();
    Ok(Arc::new(out))
}

fn encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for b in input.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_guava() {
        assert_eq!(encode("?foo $bar"), "%3Ffoo+%24bar");
        assert_eq!(encode("hello&world"), "hello%26world");
        assert_eq!(encode("é~"), "%C3%A9%7E");
    }
}
