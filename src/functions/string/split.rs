//! SPLIT(string | bytes, delimiter): the parts between occurrences of a delimiter. An empty
//! delimiter splits into single characters or bytes.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, bytes_at, rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Array, Bytes, String};
    ScalarFunction {
        name: "SPLIT",
        category: "STRING",
        description: "Splits a string or bytes into an array of substrings or bytes based on a delimiter. If the delimiter is found at the beginning of the string/bytes, end of the string/bytes, or there are contiguous delimiters in the string/bytes, then empty strings/bytes are added to the array. If the delimiter is not found, then the original string or bytes is returned as the only element in the array. If the delimiter is empty, then all characters or bytes in the string or bytes are split.",
        overloads: vec![
            Overload::fixed(&[String, String], Array(Box::new(String)), split_strings),
            Overload::fixed(&[Bytes, Bytes], Array(Box::new(Bytes)), split_bytes),
        ],
    }
}

fn split_strings(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, delimiter) = (strings(&args[0]), strings(&args[1]));
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..rows(args) {
        match (str_at(input, row), str_at(delimiter, row)) {
            (Some(s), Some(d)) => {
                for part in split_string(s, d) {
                    out.values().append_value(part);
                }
                out.append(true);
            }
            _ => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// The parts of `s` between occurrences of `delimiter`; an empty delimiter gives each
/// character (as Java's `Pattern.compile("").split(s)`: none for an empty string but the
/// empty string itself).
fn split_string<'a>(s: &'a str, delimiter: &str) -> Vec<&'a str> {
    if delimiter.is_empty() {
        if s.is_empty() {
            return vec![s];
        }
        return s
            .char_indices()
            .map(|(i, c)| &s[i..i + c.len_utf8()])
            .collect();
    }
    s.split(delimiter).collect()
}

fn split_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, delimiter) = (bytes(&args[0]), bytes(&args[1]));
    let mut out = ListBuilder::new(BinaryBuilder::new());
    for row in 0..rows(args) {
        match (bytes_at(input, row), bytes_at(delimiter, row)) {
            (Some(b), Some(d)) => {
                for part in split_byte_slice(b, d) {
                    out.values().append_value(part);
                }
                out.append(true);
            }
            _ => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// The parts of `b` between occurrences of `delimiter`; an empty delimiter gives each byte,
/// and empty bytes give one empty part.
fn split_byte_slice<'a>(b: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    if b.is_empty() {
        return vec![b];
    }
    if delimiter.is_empty() {
        return b.chunks(1).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delimiter.len() <= b.len() {
        if &b[i..i + delimiter.len()] == delimiter {
            parts.push(&b[start..i]);
            i += delimiter.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&b[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_strings() {
        assert_eq!(split_string("a.b.c", "."), vec!["a", "b", "c"]);
        assert_eq!(split_string("..a..", "."), vec!["", "", "a", "", ""]);
        assert_eq!(split_string("", "."), vec![""]);
        assert_eq!(split_string("abc", ""), vec!["a", "b", "c"]);
        assert_eq!(split_string("", ""), vec![""]);
    }

    #[test]
    fn splits_bytes() {
        assert_eq!(
            split_byte_slice(b".abc.", b"."),
            vec![&b""[..], b"abc", b""]
        );
        assert_eq!(split_byte_slice(b"", b"."), vec![&b""[..]]);
        assert_eq!(split_byte_slice(b"ab", b""), vec![&b"a"[..], b"b"]);
        assert_eq!(
            split_byte_slice(b"aXYbXY", b"XY"),
            vec![&b"a"[..], b"b", b""]
        );
    }
}
