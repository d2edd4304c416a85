//! Java's textual forms, which ksqlDB's formats inherit.
//!
//! ksqlDB parses and prints values with the Java standard library: `Integer.parseInt`,
//! `Double.parseDouble`, `Double.toString`, `BigDecimal`, `java.util.Base64`. Matching those
//! rules byte for byte is what makes Sluice's output identical to ksqlDB's, so they live here,
//! shared by the JSON and DELIMITED formats.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use datafusion::scalar::ScalarValue;

use crate::types::SqlType;

/// Milliseconds in a day: a TIME value must lie in `0..=MILLIS_PER_DAY` (ksqlDB's bound).
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;

/// The largest scale written in plain form (Jackson's `MAX_BIG_DECIMAL_SCALE`).
const MAX_PLAIN_SCALE: i64 = 9999;

/// The largest exponent a decimal text may carry (Java's `BigDecimal` scale is an `int`).
const MAX_EXPONENT: i64 = i32::MAX as i64;

/// Base64 as Jackson reads it from JSON strings: padding is required.
pub(crate) static BASE64_JSON: LazyLock<GeneralPurpose> = LazyLock::new(|| {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    )
});

/// Base64 as `java.util.Base64.getDecoder()` reads it (DELIMITED): padding is optional.
pub(crate) static BASE64_LENIENT: LazyLock<GeneralPurpose> = LazyLock::new(|| {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
});

/// Encodes bytes as standard, padded base64 (what every ksqlDB format writes).
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

/// The typed null of a SQL type, so that arrays can be built from a column's values.
pub(crate) fn null_of(ty: &SqlType) -> Result<ScalarValue, String> {
    ScalarValue::try_new_null(&ty.to_arrow())
        .map_err(|e| format!("Internal error: no null value for type {ty}: {e}"))
}

/// A decimal number exactly as written, `unscaled × 10^-scale`, like Java's `BigDecimal`.
///
/// Keeping the digits as text means any precision parses exactly; conversion to `i128` happens
/// only once the target DECIMAL type is known and the value has been checked to fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BigDecimal {
    negative: bool,
    /// The unscaled value's digits without leading zeros; `"0"` for zero.
    digits: String,
    scale: i64,
}

impl BigDecimal {
    /// Parses `new BigDecimal(String)` syntax: `[+-]digits[.digits][(e|E)[+-]digits]`, with at
    /// least one digit before the exponent. No surrounding whitespace is allowed.
    pub(crate) fn parse(text: &str) -> Option<BigDecimal> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&sign) = bytes.first()
            && (sign == b'+' || sign == b'-')
        {
            negative = sign == b'-';
            i = 1;
        }
        let mut digits = String::new();
        let mut fraction_digits: i64 = 0;
        let mut seen_point = false;
        let mut any_digit = false;
        while i < bytes.len() {
            match bytes[i] {
                b @ b'0'..=b'9' => {
                    any_digit = true;
                    digits.push(b as char);
                    if seen_point {
                        fraction_digits += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return None,
            }
            i += 1;
        }
        if !any_digit {
            return None;
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            // bytes[i] is the exponent mark.
            let rest = &text[i + 1..];
            let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent = rest.parse::<i64>().ok()?;
            if exponent.abs() > MAX_EXPONENT {
                return None;
            }
        }
        let trimmed = digits.trim_start_matches('0');
        let digits = if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        };
        let negative = negative && digits != "0";
        Some(BigDecimal {
            negative,
            digits,
            scale: fraction_digits - exponent,
        })
    }

    /// The decimal `unscaled × 10^-scale`.
    pub(crate) fn from_unscaled(unscaled: i128, scale: i8) -> BigDecimal {
        BigDecimal {
            negative: unscaled < 0,
            digits: unscaled.unsigned_abs().to_string(),
            scale: i64::from(scale),
        }
    }

    /// Java's `BigDecimal.scale()`: digits after the point (negative for trailing zeros of a
    /// large integer).
    pub(crate) fn scale(&self) -> i64 {
        self.scale
    }

    /// Java's `BigDecimal.precision()`: the unscaled value's digits.
    pub(crate) fn precision(&self) -> u8 {
        u8::try_from(self.digits.len()).unwrap_or(u8::MAX)
    }

    fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    fn sign(&self) -> &'static str {
        if self.negative { "-" } else { "" }
    }

    /// Java's `BigDecimal.toPlainString()`: never an exponent, scale kept (`10.50`) — except
    /// past a scale of ±9999 (Jackson's bound on plain decimals), where the zeros would be
    /// sized by an exponent from the input: then the scientific form.
    pub(crate) fn to_plain_string(&self) -> String {
        if self.scale.abs() > MAX_PLAIN_SCALE {
            return self.to_scientific_string();
        }
        let n = self.digits.len();
        if self.scale <= 0 {
            if self.is_zero() {
                return "0".to_string();
            }
            let zeros = "0".repeat(self.scale.unsigned_abs() as usize);
            return format!("{}{}{zeros}", self.sign(), self.digits);
        }
        let scale = self.scale as usize;
        if n > scale {
            let (int, frac) = self.digits.split_at(n - scale);
            format!("{}{int}.{frac}", self.sign())
        } else {
            let zeros = "0".repeat(scale - n);
            format!("{}0.{zeros}{}", self.sign(), self.digits)
        }
    }

    /// Java's `BigDecimal.toString()`: plain unless the exponent is large or very negative,
    /// then scientific (`1E+3`, `1.5E-7`).
    pub(crate) fn to_java_string(&self) -> String {
        let n = self.digits.len() as i64;
        let adjusted = n - 1 - self.scale;
        if self.scale >= 0 && adjusted >= -6 {
            return self.to_plain_string();
        }
        self.to_scientific_string()
    }

    /// `1.5E-7`: one digit before the point, the rest after, the exponent.
    fn to_scientific_string(&self) -> String {
        let adjusted = self.digits.len() as i64 - 1 - self.scale;
        let (first, rest) = self.digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if adjusted >= 0 { "+" } else { "" };
        format!("{}{mantissa}E{exp_sign}{adjusted}", self.sign())
    }

    /// The nearest double (Java's `BigDecimal.doubleValue()`).
    pub(crate) fn to_f64(&self) -> f64 {
        let text = format!("{}{}e{}", self.sign(), self.digits, -self.scale);
        // The text is always valid float syntax; a failure could only mean an absurd exponent.
        text.parse::<f64>().unwrap_or(f64::NAN)
    }

    /// The integer part, truncated toward zero (Jackson's `asLong()` on a decimal), or `None`
    /// when it does not fit an `i64`.
    pub(crate) fn to_i64_truncated(&self) -> Option<i64> {
        let n = self.digits.len() as i64;
        let int_digits = n - self.scale;
        if int_digits <= 0 || self.is_zero() {
            return Some(0);
        }
        if int_digits > 19 {
            return None;
        }
        let int_part: String = if self.scale >= 0 {
            self.digits[..int_digits as usize].to_string()
        } else {
            format!(
                "{}{}",
                self.digits,
                "0".repeat(self.scale.unsigned_abs() as usize)
            )
        };
        let magnitude = int_part.parse::<i128>().ok()?;
        let value = if self.negative { -magnitude } else { magnitude };
        i64::try_from(value).ok()
    }

    /// ksqlDB's `DecimalUtil.ensureMax`: the value must be below `10^(precision - scale)`.
    fn check_integer_digits(&self, precision: u8, scale: u8) -> Result<(), String> {
        let int_digits_allowed = i64::from(precision) - i64::from(scale);
        let magnitude = self.digits.len() as i64 - self.scale;
        if !self.is_zero() && magnitude > int_digits_allowed {
            return Err(format!(
                "Numeric field overflow: A field with precision {precision} and scale {scale} \
                 must round to an absolute value less than 10^{int_digits_allowed}. Got {}",
                self.to_plain_string()
            ));
        }
        Ok(())
    }

    /// ksqlDB's `DecimalUtil.cast`: the value must be below `10^(precision - scale)`, and is
    /// rounded half up to `scale` digits. Returns the unscaled value at that scale.
    pub(crate) fn to_decimal128_rounded(&self, precision: u8, scale: u8) -> Result<i128, String> {
        let target = i64::from(scale);
        if self.scale <= target {
            return self.to_decimal128(precision, scale);
        }
        self.check_integer_digits(precision, scale)?;
        let drop = (self.scale - target) as usize;
        let n = self.digits.len();
        let (kept, first_dropped) = if drop > n {
            (0i128, 0u8)
        } else {
            let kept = if drop == n {
                0
            } else {
                self.digits[..n - drop]
                    .parse::<i128>()
                    .map_err(|_| format!("Decimal '{}' is out of range", self.to_plain_string()))?
            };
            (kept, self.digits.as_bytes()[n - drop] - b'0')
        };
        let magnitude = kept + i128::from(first_dropped >= 5);
        Ok(if self.negative { -magnitude } else { magnitude })
    }

    /// ksqlDB's `DecimalUtil.ensureFit`: the value must be below `10^(precision - scale)` and
    /// representable at `scale` without rounding. Returns the unscaled value at that scale.
    pub(crate) fn to_decimal128(&self, precision: u8, scale: u8) -> Result<i128, String> {
        if self.is_zero() {
            // Whatever its exponent: `0E+2000000000` is zero, at any scale.
            return Ok(0);
        }
        self.check_integer_digits(precision, scale)?;
        let target = i64::from(scale);
        let digits = if self.scale > target {
            let drop = (self.scale - target) as usize;
            let n = self.digits.len();
            let fits =
                self.is_zero() || (drop < n && self.digits[n - drop..].bytes().all(|b| b == b'0'));
            if !fits {
                return Err(format!(
                    "Cannot fit decimal '{}' into DECIMAL({precision}, {scale}) without \
                     rounding. (Requires {},{})",
                    self.to_plain_string(),
                    self.digits.len(),
                    self.scale
                ));
            }
            self.digits[..n - drop].to_string()
        } else {
            // The digits fit the precision (checked above), so fewer than 39 zeros.
            let zeros = "0".repeat(usize::try_from(target - self.scale).unwrap_or(0));
            format!("{}{zeros}", self.digits)
        };
        // At most `precision` (<= 38) significant digits remain, so this fits an i128.
        let magnitude = digits
            .parse::<i128>()
            .map_err(|_| format!("Decimal '{}' is out of range", self.to_plain_string()))?;
        Ok(if self.negative { -magnitude } else { magnitude })
    }
}

/// `Integer.parseInt`: an optional sign and ASCII digits, nothing else.
pub(crate) fn parse_java_int(text: &str) -> Option<i32> {
    text.parse::<i32>().ok()
}

/// `Long.parseLong`: an optional sign and ASCII digits, nothing else.
pub(crate) fn parse_java_long(text: &str) -> Option<i64> {
    text.parse::<i64>().ok()
}

/// `Boolean.parseBoolean`: `true` in any case is true, anything else is false.
pub(crate) fn parse_java_boolean(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

/// `Double.parseDouble`: surrounding control characters and spaces are ignored, `NaN` and
/// `Infinity` are spelled out, and a trailing `d`/`f` type suffix is allowed.
pub(crate) fn parse_java_double(text: &str) -> Option<f64> {
    let text = text.trim_matches(|c: char| c <= ' ');
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match unsigned {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let body = unsigned
                .strip_suffix(['d', 'D', 'f', 'F'])
                .unwrap_or(unsigned);
            if !is_decimal_float_syntax(body) {
                return None;
            }
            body.parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `digits[.digits][(e|E)[+-]digits]` or `.digits…`, with at least one significand digit.
fn is_decimal_float_syntax(text: &str) -> bool {
    let (significand, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = significand.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    let digits_ok = int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exponent_ok
}

/// Java's `Double.toString`: the shortest digits that round-trip (of two equally near, the one
/// ending in an even digit), in plain notation for
/// magnitudes in `[1e-3, 1e7)` (always with a fractional part: `1.0`), otherwise in
/// computerized scientific notation (`1.0E10`, `1.5E-4`).
pub(crate) fn java_double_to_string(value: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_java_double(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`java_double_to_string`] of `value` without allocating, for normal numbers; the
/// rest (zeros, subnormals, NaN and the infinities) take the general path.
pub(crate) fn write_java_double(out: &mut Vec<u8>, value: f64) {
    if !value.is_normal() {
        out.extend_from_slice(general_java_double(value).as_bytes());
        return;
    }
    let abs = value.abs();
    let mut buffer = ryu::Buffer::new();
    // Shortest round-trip digits, as `ddd.ddd` or `d.ddde[-]x`.
    let text = buffer.format_finite(abs).as_bytes();
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => {
            let (negative, digits) = match &text[at + 1..] {
                [b'-', rest @ ..] => (true, rest),
                rest => (false, rest),
            };
            let magnitude = digits
                .iter()
                .fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
            (&text[..at], if negative { -magnitude } else { magnitude })
        }
        None => (text, 0),
    };
    let mut digits = [0u8; 32];
    let (mut len, mut point) = (0, None);
    for &b in mantissa {
        if b == b'.' {
            point = Some(len);
        } else if len < digits.len() {
            digits[len] = b;
            len += 1;
        }
    }
    // The value is 0.DIGITS × 10^position.
    let mut position = point.unwrap_or(len) as i32 + exponent;
    let leading = digits[..len].iter().take_while(|&&d| d == b'0').count();
    position -= leading as i32;
    let trailing = digits[leading..len]
        .iter()
        .rev()
        .take_while(|&&d| d == b'0')
        .count();
    let digits = &digits[leading..len - trailing];
    let Some((&first, rest)) = digits.split_first() else {
        out.extend_from_slice(general_java_double(value).as_bytes());
        return;
    };
    if value < 0.0 {
        out.push(b'-');
    }
    let exp = position - 1;
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let whole = (exp + 1) as usize;
            if digits.len() > whole {
                out.extend_from_slice(&digits[..whole]);
                out.push(b'.');
                out.extend_from_slice(&digits[whole..]);
            } else {
                out.extend_from_slice(digits);
                out.extend(std::iter::repeat_n(b'0', whole - digits.len()));
                out.extend_from_slice(b".0");
            }
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits);
        }
    } else {
        out.push(first);
        out.push(b'.');
        out.extend_from_slice(if rest.is_empty() { b"0" } else { rest });
        out.push(b'E');
        out.extend_from_slice(itoa::Buffer::new().format(exp).as_bytes());
    }
}

/// [`java_double_to_string`] through Rust's formatting, for every value.
fn general_java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let abs = value.abs();
    // `{:e}` gives the shortest round-trip digits as `d[.ddd]e<exp>`.
    let mut sci = format!("{abs:e}");
    if !sci.contains('.') {
        // Java always prints two significant digits at least, and picks the two-digit value
        // nearest the exact one when it still reads back as the same double (`4.9E-324`).
        let two = format!("{abs:.1e}");
        if two.parse::<f64>() == Ok(abs) {
            sci = two;
        }
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = match digits.trim_end_matches('0') {
        "" => "0".to_string(),
        trimmed => trimmed.to_string(),
    };
    if (1e-3..1e7).contains(&abs) {
        let body = if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if digits.len() > int_len {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            } else {
                let zeros = "0".repeat(int_len - digits.len());
                format!("{digits}{zeros}.0")
            }
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("0.{zeros}{digits}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Java's `Character.isWhitespace`, which commons-csv uses around quoted fields.
pub(crate) fn is_java_whitespace(c: char) -> bool {
    match c {
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{1c}'..='\u{1f}' => true,
        '\u{a0}' | '\u{2007}' | '\u{202f}' => false,
        c => c.is_whitespace() && c != '\u{85}',
    }
}

/// A TIME value in milliseconds, within ksqlDB's bounds.
pub(crate) fn time_millis(millis: i64) -> std::result::Result<i32, String> {
    if (0..=MILLIS_PER_DAY).contains(&millis) {
        // In range, so it fits an i32.
        Ok(millis as i32)
    } else {
        Err(format!(
            "Time values must use number of milliseconds greater than 0 and less than \
             {MILLIS_PER_DAY}."
        ))
    }
}

/// DATE as days, TIME as milliseconds of the day, TIMESTAMP as epoch milliseconds.
pub(crate) fn temporal_integer(value: &ScalarValue) -> Option<i64> {
    Some(match value {
        ScalarValue::Date32(Some(d)) => i64::from(*d),
        ScalarValue::Date64(Some(ms)) => ms.div_euclid(MILLIS_PER_DAY),
        ScalarValue::Time32Millisecond(Some(ms)) => i64::from(*ms),
        ScalarValue::Time32Second(Some(s)) => i64::from(*s) * 1000,
        ScalarValue::Time64Microsecond(Some(us)) => us.div_euclid(1000),
        ScalarValue::Time64Nanosecond(Some(ns)) => ns.div_euclid(1_000_000),
        ScalarValue::TimestampMillisecond(Some(ms), _) => *ms,
        ScalarValue::TimestampSecond(Some(s), _) => s.saturating_mul(1000),
        ScalarValue::TimestampMicrosecond(Some(us), _) => us.div_euclid(1000),
        ScalarValue::TimestampNanosecond(Some(ns), _) => ns.div_euclid(1_000_000),
        _ => return None,
    })
}

/// A primitive value as ksqlDB writes it in text formats (DELIMITED fields, JSON map keys):
/// `None` for null.
pub(crate) fn scalar_text(value: &ScalarValue) -> std::result::Result<Option<String>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let text = match value {
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        ScalarValue::Int8(Some(v)) => v.to_string(),
        ScalarValue::Int16(Some(v)) => v.to_string(),
        ScalarValue::Int32(Some(v)) => v.to_string(),
        ScalarValue::Int64(Some(v)) => v.to_string(),
        ScalarValue::UInt8(Some(v)) => v.to_string(),
        ScalarValue::UInt16(Some(v)) => v.to_string(),
        ScalarValue::UInt32(Some(v)) => v.to_string(),
        ScalarValue::UInt64(Some(v)) => v.to_string(),
        ScalarValue::Float32(Some(v)) => java_double_to_string(f64::from(*v)),
        ScalarValue::Float64(Some(v)) => java_double_to_string(*v),
        ScalarValue::Decimal128(Some(v), _, scale) => {
            BigDecimal::from_unscaled(*v, *scale).to_plain_string()
        }
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.clone(),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => base64_encode(b),
        other => match temporal_integer(other) {
            Some(v) => v.to_string(),
            None => {
                return Err(format!(
                    "Cannot write a value of type {} as text",
                    other.data_type()
                ));
            }
        },
    };
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> BigDecimal {
        BigDecimal::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn no_exponent_from_the_input_sizes_an_allocation() {
        // A 14-byte value once built a 2 GB string of zeros, in the value or in its error.
        assert_eq!(dec("0E+2000000000").to_decimal128(4, 2), Ok(0));
        let huge = dec("1E+2000000000").to_decimal128(4, 2).unwrap_err();
        assert!(huge.ends_with("Got 1E+2000000000"), "{huge}");
        let tiny = dec("1E-2000000000").to_decimal128(4, 2).unwrap_err();
        assert!(tiny.contains("'1E-2000000000'"), "{tiny}");
        assert_eq!(dec("1E-2000000000").to_decimal128_rounded(4, 2), Ok(0));
        assert_eq!(dec("-25E-10001").to_plain_string(), "-2.5E-10000");
        assert_eq!(dec("1E+5").to_plain_string(), "100000");
        assert_eq!(dec("12E-9999").to_plain_string().len(), 10_001);
    }

    #[test]
    fn casts_round_half_up_where_reads_refuse_to_round() {
        assert_eq!(dec("0.99").to_decimal128_rounded(2, 1), Ok(10));
        assert_eq!(dec("0.04").to_decimal128_rounded(2, 1), Ok(0));
        assert_eq!(dec("-1.25").to_decimal128_rounded(3, 1), Ok(-13));
        assert_eq!(dec("0.5").to_decimal128_rounded(1, 0), Ok(1));
        assert!(dec("0.99").to_decimal128(2, 1).is_err());
        assert!(dec("12.3").to_decimal128_rounded(2, 1).is_err());
    }

    #[test]
    fn parses_bigdecimal_syntax() {
        for bad in [
            "", ".", "-", "+", "1e", "1e+", "1.2.3", " 1", "1 ", "0x10", "1,5", "e5",
        ] {
            assert_eq!(BigDecimal::parse(bad), None, "{bad:?}");
        }
        assert_eq!(dec("10.50").to_plain_string(), "10.50");
        assert_eq!(dec("-.5").to_plain_string(), "-0.5");
        assert_eq!(dec("1.").to_plain_string(), "1");
        assert_eq!(dec("+007").to_plain_string(), "7");
        assert_eq!(dec("1e3").to_plain_string(), "1000");
        assert_eq!(dec("1.5E-3").to_plain_string(), "0.0015");
        assert_eq!(dec("-0.00").to_plain_string(), "0.00");
    }

    #[test]
    fn prints_like_java_bigdecimal() {
        assert_eq!(dec("1e3").to_java_string(), "1E+3");
        assert_eq!(dec("1.50").to_java_string(), "1.50");
        assert_eq!(dec("0.000001").to_java_string(), "0.000001");
        assert_eq!(dec("0.0000001").to_java_string(), "1E-7");
        assert_eq!(dec("-12.5e-8").to_java_string(), "-1.25E-7");
        assert_eq!(dec("123").to_java_string(), "123");
    }

    #[test]
    fn fits_decimals_like_ksqldb() {
        assert_eq!(dec("10.5").to_decimal128(4, 2), Ok(1050));
        assert_eq!(dec("10.500").to_decimal128(4, 2), Ok(1050));
        assert_eq!(dec("-0.01").to_decimal128(4, 2), Ok(-1));
        assert_eq!(dec("0").to_decimal128(4, 2), Ok(0));
        assert_eq!(dec("0E-10").to_decimal128(4, 2), Ok(0));
        assert_eq!(dec("99.99").to_decimal128(4, 2), Ok(9999));
        let overflow = dec("100").to_decimal128(4, 2).unwrap_err();
        assert_eq!(
            overflow,
            "Numeric field overflow: A field with precision 4 and scale 2 must round to an \
             absolute value less than 10^2. Got 100"
        );
        let rounding = dec("1.005").to_decimal128(4, 2).unwrap_err();
        assert!(
            rounding.starts_with("Cannot fit decimal '1.005' into DECIMAL(4, 2)"),
            "{rounding}"
        );
        assert_eq!(
            dec("12345678987654321.2345678987654321").to_decimal128(33, 16),
            Ok(123456789876543212345678987654321)
        );
        assert_eq!(
            dec("9".repeat(38).as_str()).to_decimal128(38, 0),
            Ok("9".repeat(38).parse::<i128>().unwrap())
        );
        assert!(dec("1e-99999").to_decimal128(4, 2).is_err());
    }

    #[test]
    fn truncates_to_integers() {
        assert_eq!(dec("1.9").to_i64_truncated(), Some(1));
        assert_eq!(dec("-1.9").to_i64_truncated(), Some(-1));
        assert_eq!(dec("0.5").to_i64_truncated(), Some(0));
        assert_eq!(dec("1e3").to_i64_truncated(), Some(1000));
        assert_eq!(
            dec("9223372036854775807").to_i64_truncated(),
            Some(i64::MAX)
        );
        assert_eq!(
            dec("-9223372036854775808").to_i64_truncated(),
            Some(i64::MIN)
        );
        assert_eq!(dec("9223372036854775808").to_i64_truncated(), None);
        assert_eq!(dec("1e30").to_i64_truncated(), None);
    }

    #[test]
    fn prints_doubles_like_java() {
        let cases = [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1234.589, "1234.589"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (9999999.0, "9999999.0"),
            (10000000.0, "1.0E7"),
            (1.2345e10, "1.2345E10"),
            (5e-324, "4.9E-324"),
            (f64::MAX, "1.7976931348623157E308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(java_double_to_string(value), expected, "{value:e}");
        }
    }

    #[test]
    fn the_fast_double_writer_agrees_with_the_general_one() {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut values = vec![1e-3, 9.999e-4, 1e7, 9999999.999, 123.0, 1e16, 1e22, 0.5];
        for _ in 0..200_000 {
            let bits = next();
            values.push(f64::from_bits(bits));
            values.push((bits % 10_000_000) as f64 / 1000.0);
            values.push((bits % 1000) as f64 * 10f64.powi((bits % 40) as i32 - 20));
        }
        for value in values {
            let mut fast = Vec::new();
            write_java_double(&mut fast, value);
            let fast = String::from_utf8(fast).unwrap();
            let general = general_java_double(value);
            if fast != general {
                // Two shortest decimals equally near the value: Java takes the one whose last
                // digit is even, where Rust's formatting may take the other.
                let last_digit = |t: &str| t.split('E').next().and_then(|m| m.bytes().last());
                assert_eq!(fast.len(), general.len(), "{value:e}");
                assert_eq!(fast.parse::<f64>().ok(), Some(value), "{fast}");
                assert_eq!(general.parse::<f64>().ok(), Some(value), "{general}");
                assert!(
                    last_digit(&fast).is_some_and(|d| d % 2 == 0),
                    "{fast} vs {general}"
                );
            }
        }
    }

    #[test]
    fn parses_doubles_like_java() {
        assert_eq!(parse_java_double("1.5"), Some(1.5));
        assert_eq!(parse_java_double(" 1.5\t"), Some(1.5));
        assert_eq!(parse_java_double("1e3"), Some(1000.0));
        assert_eq!(parse_java_double(".5"), Some(0.5));
        assert_eq!(parse_java_double("2d"), Some(2.0));
        assert_eq!(parse_java_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(parse_java_double("NaN").is_some_and(f64::is_nan));
        for bad in ["", "inf", "nan", "infinity", "1.5x", "e3", ".", "1e"] {
            assert_eq!(parse_java_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_integers_like_java() {
        assert_eq!(parse_java_int("+12"), Some(12));
        assert_eq!(parse_java_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_java_int("2147483648"), None);
        assert_eq!(parse_java_int(" 1"), None);
        assert_eq!(parse_java_long("9223372036854775807"), Some(i64::MAX));
        assert!(parse_java_boolean("TRUE"));
        assert!(!parse_java_boolean("yes"));
    }

    #[test]
    fn base64_padding_rules() {
        assert_eq!(BASE64_JSON.decode("YQ==").ok(), Some(b"a".to_vec()));
        assert!(BASE64_JSON.decode("YQ").is_err());
        assert_eq!(BASE64_LENIENT.decode("YQ").ok(), Some(b"a".to_vec()));
        assert_eq!(base64_encode(b"variations"), "dmFyaWF0aW9ucw==");
    }
}
