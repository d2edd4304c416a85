//! CHR(code): the character with a decimal code point, or given as a `\uXXXX` escape.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{int_at, ints, str_at, strings};
use super::units;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "CHR",
        category: "STRING",
        description: "Returns a single-character string corresponding to the input character code.",
        overloads: vec![
            Overload::fixed(&[SqlType::Int], SqlType::String, from_code_point),
            Overload::fixed(&[SqlType::String], SqlType::String, from_escape),
        ],
    }
}

fn from_code_point(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let codes = ints(&args[0]);
    let mut out = StringBuilder::new();
    for row in 0..codes.len() {
        match int_at(codes, row) {
            // Java accepts surrogate code points too (a string of half a pair): Rust strings
            // can't hold one, so they become the replacement character.
            Some(code) if (0..=0x10FFFF).contains(&code) => out.append_value(
                char::from_u32(code as u32)
                    .unwrap_or('\u{FFFD}')
                    .to_string(),
            ),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

fn from_escape(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = strings(&args[0]);
    let mut out = StringBuilder::new();
    for row in 0..input.len() {
        match str_at(input, row) {
            Some(s) if units::len(s) >= 6 && s.starts_with("\\u") => {
                out.append_value(unescape_java(s)?)
            }
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// Java string-literal escapes decoded (`\uXXXX`, octal, `\n` and the like), as Apache
/// Commons' `StringEscapeUtils.unescapeJava` does: a backslash before any other character is
/// dropped, and a malformed `\u` escape is an error.
fn unescape_java(s: &str) -> DfResult<String> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let is_octal = |u: u16| (b'0' as u16..=b'7' as u16).contains(&u);
    let mut out: Vec<u16> = Vec::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        if units[i] != b'\\' as u16 || i + 1 == units.len() {
            if units[i] == b'\\' as u16 {
                // A trailing backslash is dropped.
                i += 1;
                continue;
            }
            out.push(units[i]);
            i += 1;
            continue;
        }
        let next = units[i + 1];
        if is_octal(next) {
            // Up to three octal digits when the first is 0-3, else up to two.
            let mut digits = vec![next];
            if i + 2 < units.len() && is_octal(units[i + 2]) {
                digits.push(units[i + 2]);
                if i + 3 < units.len() && next <= b'3' as u16 && is_octal(units[i + 3]) {
                    digits.push(units[i + 3]);
                }
            }
            let value = digits.iter().fold(0u16, |v, d| v * 8 + (d - b'0' as u16));
            out.push(value);
            i += 1 + digits.len();
        } else if next == b'u' as u16 {
            let mut j = i + 2;
            while j < units.len() && units[j] == b'u' as u16 {
                j += 1;
            }
            if j < units.len() && units[j] == b'+' as u16 {
                j += 1;
            }
            if j + 4 > units.len() {
                return exec_err!(
                    "Less than 4 hex digits in unicode value: '{}' due to end of CharSequence",
                    String::from_utf16_lossy(&units[i..])
                );
            }
            let digits = String::from_utf16_lossy(&units[j..j + 4]);
            match i32::from_str_radix(&digits, 16) {
                Ok(value) => out.push(value as u16),
                Err(_) => return exec_err!("Unable to parse unicode value: {digits}"),
            }
            i = j + 4;
        } else {
            let replacement = match char::from_u32(next as u32) {
                Some('b') => Some(0x08),
                Some('n') => Some(b'\n' as u16),
                Some('t') => Some(b'\t' as u16),
                Some('f') => Some(0x0C),
                Some('r') => Some(b'\r' as u16),
                Some('\\') => Some(b'\\' as u16),
                Some('"') => Some(b'"' as u16),
                Some('\'') => Some(b'\'' as u16),
                _ => None,
            };
            match replacement {
                Some(u) => {
                    out.push(u);
                    i += 2;
                }
                // Any other escaped character: the backslash alone is dropped.
                None => i += 1,
            }
        }
    }
    Ok(String::from_utf16_lossy(&out))
}

#[cfg(test)]
mod tests {
    use super::unescape_java;

    #[test]
    fn unescapes() {
        assert_eq!(unescape_java("\\u004b").unwrap(), "K");
        assert_eq!(unescape_java("\\u597d").unwrap(), "\u{597d}");
        assert_eq!(unescape_java("\\ud820\\udeb8").unwrap(), "\u{182b8}");
        assert_eq!(unescape_java("\\uuu0041x\\n\\q\\101").unwrap(), "Ax\nqA");
        assert!(unescape_java("\\u00").is_err());
        assert!(unescape_java("\\uzzzz").is_err());
    }

    #[test]
    fn chr_as_ksqldb() {
        use super::{from_code_point, from_escape};
        use crate::functions::string::args::testing::{i, s, string};
        let code = |c| string(from_code_point, &[i(c)]).unwrap();
        assert_eq!(code(Some(75)).unwrap(), "K");
        assert_eq!(code(Some(22909)).unwrap(), "\u{597d}");
        assert_eq!(code(Some(9)).unwrap(), "\t");
        assert_eq!(code(Some(65535)).unwrap(), "\u{ffff}");
        assert_eq!(code(Some(1_114_111)).unwrap(), "\u{10ffff}");
        assert_eq!(code(Some(1_114_112)), None);
        assert_eq!(code(Some(-1)), None);
        assert_eq!(code(None), None);
        let escape = |e: Option<&str>| string(from_escape, &[s(e)]).unwrap();
        assert_eq!(escape(Some("\\u004b")).unwrap(), "K");
        assert_eq!(escape(Some("\\ud800\\udc01")).unwrap(), "\u{10001}");
        assert_eq!(escape(Some("\\u065")), None);
        assert_eq!(escape(Some("")), None);
        assert_eq!(escape(Some("75")), None);
        assert_eq!(escape(None), None);
    }
}
