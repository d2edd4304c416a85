//! What the JSON functions share: reading a document as ksqlDB's `UdfJsonMapper` (Jackson's
//! `readTree`) does, and writing JSON text as Jackson does.
//!
//! Jackson reads the first value of a document and ignores what follows it (a root-level
//! scalar must still be followed by whitespace or the end); a blank document is a "missing"
//! node rather than an error. Non-integral numbers are exact `BigDecimal`s, so `1.50` keeps
//! its digits; when written, they print as `BigDecimal.toString()` (`1E+2`, `1E-7`) through
//! `JsonNode.toString()`, or as plain digits (`100`) through ksqlDB's mapper, which enables
//! `WRITE_BIGDECIMAL_AS_PLAIN`. Strings escape control characters with upper-case hex.

use serde_json::Value;

/// How non-integral numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Numbers {
    /// `BigDecimal.toString()`: what `JsonNode.toString()` writes.
    Scientific,
    /// `BigDecimal.toPlainString()`: what ksqlDB's `UdfJsonMapper` writes.
    Plain,
    /// The number text as it is (already in Java's form).
    Verbatim,
}

/// Parses a document as Jackson's `readTree`: `Ok(None)` for a blank document (a missing
/// node), an error for invalid JSON.
pub(super) fn parse(text: &str) -> Result<Option<Value>, String> {
    let invalid = || format!("Invalid JSON format:{text}");
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match values.next() {
        None => Ok(None),
        Some(Err(_)) => Err(invalid()),
        Some(Ok(value)) => {
            // A root-level number needs whitespace (or the end) after it, as in Jackson; after
            // an array, object or string anything may follow.
            let rest = &text[values.byte_offset()..];
            if matches!(value, Value::Number(_))
                && rest
                    .chars()
                    .next()
                    .is_some_and(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
            {
                return Err(invalid());
            }
            Ok(Some(value))
        }
    }
}

/// Writes a value as Jackson does, compactly.
pub(super) fn write(value: &Value, numbers: Numbers) -> String {
    let mut out = String::new();
    write_into(value, numbers, &mut out);
    out
}

fn write_into(value: &Value, numbers: Numbers, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(&n.to_string(), numbers)),
        Value::String(s) => quote_into(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_into(item, numbers, out);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote_into(name, out);
                out.push(':');
                write_into(item, numbers, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string literal with Jackson's escapes.
pub(super) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as Jackson writes the node it read it into: integers canonically (`-0` is
/// `0`), other numbers as exact decimals in the given style.
pub(super) fn number_text(text: &str, numbers: Numbers) -> String {
    if numbers == Numbers::Verbatim {
        return text.to_string();
    }
    let Some(d) = Decimal::parse(text) else {
        return text.to_string();
    };
    if !text.contains(['.', 'e', 'E']) {
        return d.plain();
    }
    match numbers {
        Numbers::Scientific => d.scientific(),
        _ => d.plain(),
    }
}

/// A decimal number as `BigDecimal` holds it: sign, the digits of the unscaled value (no
/// leading zeros) and the scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Decimal {
    negative: bool,
    digits: String,
    scale: i64,
}

/// Jackson's bound on the scale of a decimal it writes in plain form.
const MAX_PLAIN_SCALE: i64 = 9999;

impl Decimal {
    /// Reads a JSON (or Java) number text.
    pub(super) fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
            None => (rest, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
            || exponent.unsigned_abs() > i32::MAX as u64
        {
            return None;
        }
        let all = format!("{int}{frac}");
        let trimmed = all.trim_start_matches('0');
        let digits = if trimmed.is_empty() { "0" } else { trimmed };
        Some(Decimal {
            negative: negative && digits != "0",
            digits: digits.to_string(),
            scale: frac.len() as i64 - exponent,
        })
    }

    /// A decimal from an unscaled integer and a scale.
    pub(super) fn from_unscaled(unscaled: i128, scale: i64) -> Decimal {
        Decimal {
            negative: unscaled < 0,
            digits: unscaled.unsigned_abs().to_string(),
            scale,
        }
    }

    fn sign(&self) -> &'static str {
        if self.negative { "-" } else { "" }
    }

    /// `BigDecimal.toString()`.
    pub(super) fn scientific(&self) -> String {
        let len = self.digits.len() as i64;
        let adjusted = -self.scale + (len - 1);
        if self.scale >= 0 && adjusted >= -6 {
            return self.plain();
        }
        let mut out = String::from(self.sign());
        out.push_str(&self.digits[..1]);
        if len > 1 {
            out.push('.');
            out.push_str(&self.digits[1..]);
        }
        if adjusted != 0 {
            out.push('E');
            if adjusted > 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }

    /// `BigDecimal.toPlainString()`; past Jackson's bound on a plain decimal's scale
    /// (±9999, which it refuses to write) the scientific form, so that no exponent in the
    /// input sizes an allocation.
    pub(super) fn plain(&self) -> String {
        let len = self.digits.len() as i64;
        if self.scale.abs() > MAX_PLAIN_SCALE {
            return self.scientific();
        }
        let mut out = String::from(self.sign());
        if self.scale <= 0 {
            out.push_str(&self.digits);
            if self.digits != "0" {
                out.push_str(&"0".repeat((-self.scale) as usize));
            }
        } else if len > self.scale {
            let point = (len - self.scale) as usize;
            out.push_str(&self.digits[..point]);
            out.push('.');
            out.push_str(&self.digits[point..]);
        } else {
            out.push_str("0.");
            out.push_str(&"0".repeat((self.scale - len) as usize));
            out.push_str(&self.digits);
        }
        out
    }
}

/// Compares strings as Java's `String.compareTo` does: by UTF-16 code units.
pub(super) fn java_string_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str, numbers: Numbers) -> String {
        write(&parse(text).unwrap().unwrap(), numbers)
    }

    #[test]
    fn a_plain_decimal_past_jacksons_scale_is_written_scientific() {
        let huge = Decimal::parse("1e2000000000").unwrap();
        assert_eq!(huge.plain(), "1E+2000000000");
        assert_eq!(Decimal::parse("-5e-10000").unwrap().plain(), "-5E-10000");
        assert_eq!(Decimal::parse("5e-3").unwrap().plain(), "0.005");
    }

    #[test]
    fn reads_like_read_tree() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("  \n").unwrap(), None);
        assert!(parse("this is NOT a JSON doc").is_err());
        assert!(parse("[1, 2").is_err());
        assert!(parse("123abc").is_err());
        assert!(parse("truex").is_err());
        assert_eq!(parse("[1] trailing").unwrap(), Some(serde_json::json!([1])));
        assert_eq!(
            parse("{\"a\":1}}").unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(parse("12 34").unwrap().unwrap().to_string(), "12");
    }

    #[test]
    fn writes_numbers_like_jackson() {
        assert_eq!(
            render("[1.23450, -0, 1e2, 0.0000001, 1.5E-3]", Numbers::Scientific),
            "[1.23450,0,1E+2,1E-7,0.0015]"
        );
        assert_eq!(
            render("[1.23450, -0, 1e2, 0.0000001, -0.0]", Numbers::Plain),
            "[1.23450,0,100,0.0000001,0.0]"
        );
        assert_eq!(
            render("123456789012345678901234567890", Numbers::Plain),
            "123456789012345678901234567890"
        );
    }

    #[test]
    fn escapes_like_jackson() {
        assert_eq!(
            write(&Value::String("a\"\\\n\u{1f}é/".into()), Numbers::Plain),
            "\"a\\\"\\\\\\n\\u001Fé/\""
        );
    }

    #[test]
    fn big_decimal_strings() {
        let d = |u, s| Decimal::from_unscaled(u, s);
        assert_eq!(d(-12345, 3).scientific(), "-12.345");
        assert_eq!(d(1, 10).scientific(), "1E-10");
        assert_eq!(d(0, -2).scientific(), "0E+2");
        assert_eq!(d(0, -2).plain(), "0");
        assert_eq!(d(5, 3).plain(), "0.005");
    }
}
