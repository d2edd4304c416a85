//! One pass over a record's top-level JSON object that yields each field's name and value
//! text, for the fast reader.
//!
//! It accepts only what it is sure serde_json accepts the same way: names without escapes, and
//! scalar values checked against JSON's grammar as they are skipped; a nested object or array
//! is checked by serde_json itself. Anything else (an escaped name, a stray byte, a malformed
//! number) makes it give up, and the caller reads the record the general way, which reports
//! ksqlDB's exact error.

use serde::de::IgnoredAny;

/// Calls `field(name, value, escaped)` for each top-level field of the object `text` starts
/// with (after whitespace), in order; `escaped` tells whether a string value has escapes.
/// `None` when it gives up; what follows the object is ignored, as Jackson does.
pub fn scan_object<'a>(text: &'a str, mut field: impl FnMut(&'a str, &'a str, bool)) -> Option<()> {
    let bytes = text.as_bytes();
    let mut at = skip_whitespace(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return Some(());
    }
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let name_start = at + 1;
        // A name with an escape or a control character is left to serde_json.
        let name_end = string_special(bytes, name_start);
        if bytes.get(name_end) != Some(&b'"') {
            return None;
        }
        at = skip_whitespace(bytes, name_end + 1);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_whitespace(bytes, at + 1);
        let (value_end, escaped) = match bytes.get(value_start) {
            Some(b'"') => skip_string(bytes, value_start)?,
            _ => (skip_value(bytes, value_start)?, false),
        };
        field(
            text.get(name_start..name_end)?,
            text.get(value_start..value_end)?,
            escaped,
        );
        at = skip_whitespace(bytes, value_end);
        match bytes.get(at) {
            Some(b',') => at = skip_whitespace(bytes, at + 1),
            Some(b'}') => return Some(()),
            _ => return None,
        }
    }
}

#[inline]
fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The end of the value that starts at `at`, checked.
#[inline]
fn skip_value(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at)? {
        b'"' => skip_string(bytes, at).map(|(end, _)| end),
        b'-' | b'0'..=b'9' => skip_number(bytes, at),
        b't' => literal(bytes, at, b"true"),
        b'f' => literal(bytes, at, b"false"),
        b'n' => literal(bytes, at, b"null"),
        b'{' | b'[' => {
            let end = skip_nested(bytes, at)?;
            // Nested values are rare: serde_json checks them.
            let nested = std::str::from_utf8(&bytes[at..end]).ok()?;
            serde_json::from_str::<IgnoredAny>(nested).ok()?;
            Some(end)
        }
        _ => None,
    }
}

#[inline]
fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

/// The index of the first `"`, `\\` or control character at or after `at` (or the length):
/// eight bytes at a time, as strings are most of a record's bytes.
#[inline]
fn string_special(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Bytes of `x` that are zero have their high bit set in the result; the lowest flagged
    // byte is always a true one.
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(chunk);
        let found = zero_bytes(x ^ (ONES * u64::from(b'"')))
            | zero_bytes(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while bytes
        .get(at)
        .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
    {
        at += 1;
    }
    at.min(bytes.len())
}

/// A string's end (past its closing quote), and whether it has escapes, which must be JSON's.
#[inline]
fn skip_string(bytes: &[u8], at: usize) -> Option<(usize, bool)> {
    let mut i = at + 1;
    let mut escaped = false;
    loop {
        i = string_special(bytes, i);
        match *bytes.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *bytes.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = bytes.get(i + 2..i + 6)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// A number's end, by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[inline]
fn skip_number(bytes: &[u8], at: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    let mut i = at;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match *bytes.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i)?,
        _ => return None,
    };
    if bytes.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}

/// The end of an object or array: brackets counted outside strings (serde_json checks the
/// rest).
fn skip_nested(bytes: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        match *bytes.get(i)? {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i = skip_string(bytes, i)?.0;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        scan_object(text, |n, v, _| out.push((n.to_string(), v.to_string())))?;
        Some(out)
    }

    #[test]
    fn yields_names_and_value_texts() {
        let f = fields(
            r#" {"A": 1, "b":-2.5e+3 ,"C":"x\"y","D":[1,{"e":"]"}],"E":null,"F":true} tail"#,
        )
        .unwrap();
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["A", "b", "C", "D", "E", "F"]);
        let values: Vec<&str> = f.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "1",
                "-2.5e+3",
                r#""x\"y""#,
                r#"[1,{"e":"]"}]"#,
                "null",
                "true"
            ]
        );
        assert_eq!(fields("{}").unwrap(), vec![]);
    }

    #[test]
    fn reads_the_benchmark_bids() {
        let bid = crate::bench::generator::bid_with_keys(1, 5, 10_000);
        let value = crate::bench::generator::bid_value(&bid);
        let text = std::str::from_utf8(&value).unwrap();
        assert_eq!(fields(text).map(|f| f.len()), Some(6), "{text}");
    }

    #[test]
    fn tells_which_strings_have_escapes() {
        let mut flags = Vec::new();
        scan_object(
            r#"{"A":"x\"y","B":"plain","C":1,"D":"\u0041"}"#,
            |_, _, e| flags.push(e),
        )
        .unwrap();
        assert_eq!(flags, [true, false, false, true]);
    }

    #[test]
    fn finds_the_first_special_byte_of_a_string() {
        for text in [
            "",
            "abc",
            "abcdefgh\"",
            "abcdefghijklmno\\x",
            "é€😀abcdefg\u{1}",
            "\"",
            "0123456789abcdef0123456789",
        ] {
            let bytes = text.as_bytes();
            for start in 0..=bytes.len() {
                let expected = bytes[start..]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                    .map_or(bytes.len(), |p| p + start);
                assert_eq!(
                    string_special(bytes, start),
                    expected,
                    "{text:?} from {start}"
                );
            }
        }
    }

    #[test]
    fn gives_up_where_serde_json_would_differ_or_fail() {
        for text in [
            r#"{"A":01}"#,
            r#"{"A":1.}"#,
            r#"{"A":-}"#,
            r#"{"A":tru}"#,
            r#"{"A\u0041":1}"#,
            "{\"A\":\"tab\there\"}",
            r#"{"A":"\x"}"#,
            r#"{"A":[1,]}"#,
            r#"{"A":1,}"#,
            r#"{"A":1"#,
            r#"{"A" 1}"#,
            "[1]",
            "",
        ] {
            assert!(fields(text).is_none(), "{text}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_what_it_accepts() {
        for text in [
            r#"{"A":0,"B":-0.0,"C":1E5,"D":"é\u00e9\\"}"#,
            r#"{"nested":{"x":[true,false,null]},"s":"{not nested}"}"#,
        ] {
            let ours = fields(text).unwrap();
            let theirs: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).unwrap();
            assert_eq!(ours.len(), theirs.len());
            for (name, value) in ours {
                let parsed: serde_json::Value = serde_json::from_str(&value).unwrap();
                assert_eq!(theirs[&name], parsed, "{name}");
            }
        }
    }
}
