//! ksqlDB's `ExpectedRecordComparator`: whether a decoded key or value matches the JSON a test
//! case expects.
//!
//! ksqlDB compares Java objects (what its test serdes decode) against Jackson nodes (what the
//! file holds), so the rules follow Java's number types. Numbers here keep their original text
//! (serde_json's `arbitrary_precision`), and that text tells which Java type a number would
//! have been:
//!
//! | text | actual (decoded) | expected (from the file) |
//! |---|---|---|
//! | integer, fits 64 bits | Integer/Long | IntNode/LongNode |
//! | integer, larger | BigInteger | BigIntegerNode |
//! | with `.` or exponent | BigDecimal ([`Numbers::Exact`]) or Double ([`Numbers::Approximate`]) | DecimalNode |

use serde_json::{Map, Number, Value};

/// How decoded non-integer numbers are typed: ksqlDB's JSON test serde reads them as
/// `BigDecimal` unless the case sets `use.exact.numeric.comparison=false`, when they are
/// `Double`s compared within [`DOUBLE_TOLERANCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    Exact,
    Approximate,
}

/// How far apart a decoded double and the expected number may be.
pub const DOUBLE_TOLERANCE: f64 = 0.000_001;

/// Whether `actual` (a decoded key or value) matches `expected` (the test file's JSON).
pub fn value_matches(actual: &Value, expected: &Value, numbers: Numbers) -> bool {
    match expected {
        Value::Object(fields) => match actual {
            Value::Object(actual) => object_matches(actual, fields, numbers),
            _ => false,
        },
        Value::Array(elements) => match actual {
            Value::Array(actual) => {
                actual.len() == elements.len()
                    && actual
                        .iter()
                        .zip(elements)
                        .all(|(a, e)| value_matches(a, e, numbers))
            }
            _ => false,
        },
        Value::Number(e) => match actual {
            Value::Number(a) => number_matches(a, e, numbers),
            _ => false,
        },
        Value::String(e) => text_matches(actual, e, numbers),
        Value::Bool(e) => actual.as_bool() == Some(*e),
        Value::Null => actual.is_null(),
    }
}

/// Objects must have as many fields as expected; each expected field is looked up by its name,
/// then by its upper-cased name (a present but null field counts as missing, as in Java).
fn object_matches(actual: &Map<String, Value>, expected: &Map<String, Value>, n: Numbers) -> bool {
    actual.len() == expected.len()
        && expected.iter().all(|(name, e)| {
            let a = match actual.get(name) {
                Some(v) if !v.is_null() => v,
                _ => actual.get(&name.to_uppercase()).unwrap_or(&Value::Null),
            };
            value_matches(a, e, n)
        })
}

/// A decoded number, typed as ksqlDB's test serdes would have typed it.
enum ActualNumber {
    Integer(i64),
    BigInteger,
    Decimal(Decimal),
    Double(f64),
}

/// An expected number, typed as Jackson reads the test file.
enum ExpectedNumber {
    Integer(i64),
    BigInteger,
    Decimal(Decimal),
}

fn is_integer_text(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

fn actual_number(n: &Number, numbers: Numbers) -> Option<ActualNumber> {
    let text = n.to_string();
    Some(if is_integer_text(&text) {
        text.parse()
            .map_or(ActualNumber::BigInteger, ActualNumber::Integer)
    } else {
        match numbers {
            Numbers::Exact => ActualNumber::Decimal(Decimal::parse(&text)?),
            Numbers::Approximate => ActualNumber::Double(text.parse().ok()?),
        }
    })
}

fn expected_number(n: &Number) -> Option<ExpectedNumber> {
    let text = n.to_string();
    Some(if is_integer_text(&text) {
        text.parse()
            .map_or(ExpectedNumber::BigInteger, ExpectedNumber::Integer)
    } else {
        ExpectedNumber::Decimal(Decimal::parse(&text)?)
    })
}

/// `compareNumber`: integers compare with the expected number truncated to an integer (Java's
/// `intValue()`/`longValue()`), doubles within a tolerance, decimals exactly (scale included),
/// and a decimal matches an integer literal only when it has no fractional digits.
fn number_matches(actual: &Number, expected: &Number, numbers: Numbers) -> bool {
    let (Some(a), Some(e)) = (actual_number(actual, numbers), expected_number(expected)) else {
        return false;
    };
    match a {
        ActualNumber::Integer(a) => match e {
            ExpectedNumber::Integer(e) => a == e,
            ExpectedNumber::Decimal(e) => e.truncated() == Some(i128::from(a)),
            ExpectedNumber::BigInteger => false,
        },
        ActualNumber::BigInteger => false,
        ActualNumber::Double(a) => {
            let e: f64 = expected.to_string().parse().unwrap_or(f64::NAN);
            (e - a).abs() < DOUBLE_TOLERANCE
        }
        ActualNumber::Decimal(a) => match e {
            ExpectedNumber::Integer(e) => a.scale <= 0 && a.exact_integer() == Some(i128::from(e)),
            ExpectedNumber::Decimal(e) => a == e,
            ExpectedNumber::BigInteger => false,
        },
    }
}

/// `compareText`: a string matches an equal string, or a decimal equal to the string parsed
/// as a `BigDecimal`. (Bytes decode to base64 strings, so they compare as strings here.)
fn text_matches(actual: &Value, expected: &str, numbers: Numbers) -> bool {
    match actual {
        Value::String(a) => a == expected,
        Value::Number(a) => match actual_number(a, numbers) {
            Some(ActualNumber::Decimal(a)) => Decimal::parse(expected) == Some(a),
            _ => false,
        },
        _ => false,
    }
}

/// A decimal number as Java's `BigDecimal` holds it: an unscaled integer and a scale, so that
/// `1.0` and `1.00` differ, as `BigDecimal.equals` says they do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// The unscaled value's digits, without leading zeros ("0" for zero).
    digits: String,
    scale: i64,
}

impl Decimal {
    /// Parses the syntax `new BigDecimal(String)` accepts: an optional sign, digits with an
    /// optional point, an optional exponent.
    pub fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let exp = &rest[i + 1..];
                let exp = exp.strip_prefix('+').unwrap_or(exp);
                (&rest[..i], exp.parse::<i64>().ok()?)
            }
            None => (rest, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return None;
        }
        let joined = format!("{int_part}{frac_part}");
        let trimmed = joined.trim_start_matches('0');
        let digits = if trimmed.is_empty() { "0" } else { trimmed };
        Some(Decimal {
            negative: negative && digits != "0",
            digits: digits.to_string(),
            scale: i64::try_from(frac_part.len()).ok()?.checked_sub(exponent)?,
        })
    }

    /// The value as an integer when the scale is zero or negative (`longValueExact`).
    fn exact_integer(&self) -> Option<i128> {
        if self.scale > 0 {
            return None;
        }
        let unscaled: i128 = self.digits.parse().ok()?;
        let factor = 10i128.checked_pow(u32::try_from(-self.scale).ok()?)?;
        let magnitude = unscaled.checked_mul(factor)?;
        Some(if self.negative { -magnitude } else { magnitude })
    }

    /// The value with its fraction dropped (`intValue`/`longValue`, without Java's overflow).
    pub(crate) fn truncated(&self) -> Option<i128> {
        if self.scale <= 0 {
            return self.exact_integer();
        }
        let drop = usize::try_from(self.scale).ok()?;
        let kept = self
            .digits
            .len()
            .checked_sub(drop)
            .map_or("0", |n| &self.digits[..n]);
        let magnitude: i128 = if kept.is_empty() {
            0
        } else {
            kept.parse().ok()?
        };
        Some(if self.negative { -magnitude } else { magnitude })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn exact(actual: &str, expected: &str) -> bool {
        value_matches(&parse(actual), &parse(expected), Numbers::Exact)
    }

    #[test]
    fn integers_compare_exactly() {
        assert!(exact("5", "5"));
        assert!(!exact("5", "6"));
        assert!(exact("9223372036854775807", "9223372036854775807"));
        // Java's intValue() truncates the expected decimal.
        assert!(exact("1", "1.5"));
        assert!(!exact("12345678901234567890", "12345678901234567890"));
    }

    #[test]
    fn decimals_compare_with_scale() {
        assert!(exact("1.50", "1.50"));
        assert!(!exact("1.5", "1.50"));
        assert!(!exact("1.0", "1"));
        assert!(exact("1E+1", "10"));
        assert!(exact("1.0E7", "1.0E7"));
        assert!(!exact("1.0E7", "10000000.0"));
        assert!(exact("-0.0", "0.0"));
    }

    #[test]
    fn doubles_compare_within_tolerance() {
        let a = parse("0.30000000000000004");
        assert!(value_matches(&a, &json!(0.3), Numbers::Approximate));
        assert!(!value_matches(&a, &json!(0.3), Numbers::Exact));
        assert!(value_matches(
            &parse("2.0"),
            &json!(2),
            Numbers::Approximate
        ));
        assert!(!value_matches(
            &parse("2.1"),
            &json!(2),
            Numbers::Approximate
        ));
    }

    #[test]
    fn strings_match_strings_and_decimals() {
        assert!(exact(r#""abc""#, r#""abc""#));
        assert!(exact("1.50", r#""1.50""#));
        assert!(!exact("1.5", r#""1.50""#));
        assert!(!exact("1", r#""1""#));
        assert!(!exact(r#""1""#, "1"));
        assert!(!exact("1.5", r#""x""#));
    }

    #[test]
    fn objects_need_equal_size_and_fall_back_to_upper_case() {
        assert!(exact(r#"{"A": 1, "B": "x"}"#, r#"{"a": 1, "B": "x"}"#));
        assert!(!exact(r#"{"A": 1, "B": "x"}"#, r#"{"A": 1}"#));
        assert!(!exact(r#"{"A": 1}"#, r#"{"A": 1, "B": null}"#));
        assert!(exact(r#"{"A": null, "B": 1}"#, r#"{"A": null, "B": 1}"#));
        // A null field is looked up again upper-cased.
        assert!(!exact(r#"{"a": null, "A": 2}"#, r#"{"a": 2, "b": 1}"#));
        assert!(exact(r#"{"a": null, "A": 2}"#, r#"{"a": 2, "A": 2}"#));
    }

    #[test]
    fn arrays_compare_element_wise() {
        assert!(exact("[1, [2.0], null]", "[1, [2.0], null]"));
        assert!(!exact("[1, 2]", "[1]"));
        assert!(!exact("[2, 1]", "[1, 2]"));
    }

    #[test]
    fn null_and_booleans_match_only_themselves() {
        assert!(exact("null", "null"));
        assert!(!exact("0", "null"));
        assert!(!exact("null", "0"));
        assert!(exact("true", "true"));
        assert!(!exact(r#""true""#, "true"));
    }

    #[test]
    fn decimal_parsing_follows_big_decimal() {
        let d = Decimal::parse("1.0E7").unwrap();
        assert_eq!((d.digits.as_str(), d.scale), ("10", -6));
        assert_eq!(
            Decimal::parse("-0.00").unwrap(),
            Decimal::parse("0.00").unwrap()
        );
        assert_eq!(Decimal::parse(".5").unwrap().scale, 1);
        assert!(Decimal::parse("1.2.3").is_none());
        assert!(Decimal::parse("abc").is_none());
        assert!(Decimal::parse("").is_none());
        assert_eq!(Decimal::parse("-12.75").unwrap().truncated(), Some(-12));
        assert_eq!(Decimal::parse("0.001").unwrap().truncated(), Some(0));
    }
}
