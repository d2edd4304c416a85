//! Helpers shared by the mathematical functions: DOUBLE kernels over whole arrays, the
//! INT/BIGINT/DOUBLE overload triple most of ksqlDB's math UDFs declare, and `BigDecimal`-style
//! rounding of decimals and doubles.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type};
use datafusion::common::{Result as DfResult, exec_err};

use crate::functions::Kernel;
use crate::functions::registry::{Overload, Signature};
use crate::types::SqlType;

/// The argument as DOUBLEs (INT and BIGINT widen exactly as Java's `doubleValue()` does).
pub(super) fn doubles(array: &ArrayRef) -> DfResult<Float64Array> {
    let array = match array.data_type() {
        DataType::Float64 => array.clone(),
        _ => cast(array, &DataType::Float64)?,
    };
    Ok(array.as_primitive::<Float64Type>().clone())
}

/// `f` over the first argument as DOUBLEs; nulls stay null.
pub(super) fn map_double(args: &[ArrayRef], f: impl Fn(f64) -> f64) -> DfResult<ArrayRef> {
    let input = doubles(&args[0])?;
    let out: Float64Array = input.unary(f);
    Ok(Arc::new(out))
}

/// `f` over the first two arguments as DOUBLEs; null when either is null.
pub(super) fn map_double2(args: &[ArrayRef], f: impl Fn(f64, f64) -> f64) -> DfResult<ArrayRef> {
    let a = doubles(&args[0])?;
    let b = doubles(&args[1])?;
    let out: Float64Array = a
        .iter()
        .zip(b.iter())
        .map(|(a, b)| Some(f(a?, b?)))
        .collect();
    Ok(Arc::new(out))
}

/// `(INT) → DOUBLE`, `(BIGINT) → DOUBLE`, `(DOUBLE) → DOUBLE`, all computed by `kernel`.
pub(super) fn double_overloads(kernel: Kernel) -> Vec<Overload> {
    [SqlType::Int, SqlType::Bigint, SqlType::Double]
        .into_iter()
        .map(|t| Overload::fixed(&[t], SqlType::Double, kernel))
        .collect()
}

/// Like [`double_overloads`] with two parameters of the same type.
pub(super) fn double_overloads2(kernel: Kernel) -> Vec<Overload> {
    [SqlType::Int, SqlType::Bigint, SqlType::Double]
        .into_iter()
        .map(|t| Overload::fixed(&[t.clone(), t], SqlType::Double, kernel))
        .collect()
}

/// A generic `(DECIMAL) → DECIMAL` signature with the argument's own precision and scale.
pub(super) fn same_decimal(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(d @ SqlType::Decimal { .. })] => Some(Signature {
            params: vec![d.clone()],
            returns: d.clone(),
        }),
        _ => None,
    }
}

/// `(DECIMAL(p, s)) → DECIMAL(p - s, 0)`: ROUND and TRUNC without decimal places.
pub(super) fn integral_decimal(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(d @ SqlType::Decimal { precision, scale })] => Some(Signature {
            params: vec![d.clone()],
            returns: SqlType::decimal((precision - scale).max(1), 0),
        }),
        _ => None,
    }
}

/// `(DECIMAL(p, s), INT) → DECIMAL(p, s)`: ROUND and TRUNC with decimal places keep the type.
pub(super) fn decimal_with_places(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(d @ SqlType::Decimal { .. }), None | Some(SqlType::Int)] => Some(Signature {
            params: vec![d.clone(), SqlType::Int],
            returns: d.clone(),
        }),
        _ => None,
    }
}

/// Java's `RoundingMode`s that the math functions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rounding {
    /// Ties away from zero.
    HalfUp,
    /// Ties towards zero.
    HalfDown,
    /// Towards zero.
    Down,
    /// Towards negative infinity.
    Floor,
    /// Towards positive infinity.
    Ceiling,
}

impl Rounding {
    /// ksqlDB's ROUND: `HALF_UP` for positive values, `HALF_DOWN` otherwise, so that ties
    /// always go towards positive infinity (as `Math.round` does).
    pub(super) fn round_for(negative: bool) -> Rounding {
        if negative {
            Rounding::HalfDown
        } else {
            Rounding::HalfUp
        }
    }

    /// Whether to move the magnitude of a truncated value up by one unit, given the sign, the
    /// comparison of the discarded part with half a unit and whether anything was discarded.
    fn bump(self, negative: bool, half: std::cmp::Ordering, inexact: bool) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Rounding::HalfUp => half != Less,
            Rounding::HalfDown => half == Greater,
            Rounding::Down => false,
            Rounding::Floor => negative && inexact,
            Rounding::Ceiling => !negative && inexact,
        }
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `BigDecimal.setScale(places, mode).setScale(scale)` on an unscaled decimal of `scale`: the
/// value rounded to `places` decimal places, expressed again with `scale`.
pub(super) fn round_unscaled(
    unscaled: i128,
    scale: i32,
    places: i32,
    mode: Rounding,
) -> DfResult<i128> {
    if places >= scale {
        return Ok(unscaled);
    }
    // `places < scale` here, so the difference is positive and below 2^32.
    let digits = u32::try_from(i64::from(scale) - i64::from(places)).unwrap_or(u32::MAX);
    let Some(unit) = pow10(digits) else {
        // More digits dropped than an i128 holds: the value is under half a unit.
        let negative = unscaled < 0;
        let bump = unscaled != 0 && mode.bump(negative, std::cmp::Ordering::Less, true);
        return if bump {
            exec_err!("Decimal value out of range when rounding")
        } else {
            Ok(0)
        };
    };
    let quotient = unscaled / unit;
    let remainder = (unscaled % unit).unsigned_abs();
    let negative = unscaled < 0;
    let half = (remainder * 2).cmp(&unit.unsigned_abs());
    let mut magnitude = quotient.unsigned_abs();
    if mode.bump(negative, half, remainder != 0) {
        magnitude += 1;
    }
    let rounded = magnitude
        .checked_mul(unit.unsigned_abs())
        .and_then(|m| i128::try_from(m).ok());
    match rounded {
        Some(m) => Ok(if negative { -m } else { m }),
        None => exec_err!("Decimal value out of range when rounding"),
    }
}

/// Rounds DECIMALs to `places` decimal places (zero without the argument; a null count gives
/// null) with the mode the sign of each value picks, and writes them with the scale of
/// `return_type` (the input's scale, or zero for ROUND and TRUNC without places).
pub(super) fn round_decimals(
    values: &ArrayRef,
    places: Option<&ArrayRef>,
    mode: fn(bool) -> Rounding,
    return_type: &DataType,
) -> DfResult<ArrayRef> {
    let DataType::Decimal128(_, scale) = values.data_type() else {
        return exec_err!("expected a DECIMAL, got {}", values.data_type());
    };
    let DataType::Decimal128(out_precision, out_scale) = return_type else {
        return exec_err!("expected a DECIMAL result, got {return_type}");
    };
    let scale = *scale as i32;
    let shift = scale - *out_scale as i32;
    let divisor = if shift > 0 {
        pow10(shift as u32).unwrap_or(1)
    } else {
        1
    };
    let input = values.as_primitive::<Decimal128Type>();
    let places = places.map(|p| p.as_primitive::<Int32Type>());
    let out = input
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let Some(v) = v else { return Ok(None) };
            let places = match places {
                None => 0,
                Some(p) if p.is_null(i) => return Ok(None),
                Some(p) => p.value(i),
            };
            let rounded = round_unscaled(v, scale, places, mode(v < 0))?;
            Ok(Some(rounded / divisor))
        })
        .collect::<DfResult<Decimal128Array>>()?;
    Ok(Arc::new(
        out.with_precision_and_scale(*out_precision, *out_scale)?,
    ))
}

/// `BigDecimal.valueOf(v).setScale(places, mode).doubleValue()`: the double's shortest decimal
/// text rounded to `places` decimal places. Non-finite values have no decimal form (Java throws
/// `NumberFormatException`).
pub(super) fn round_double(v: f64, places: i32, mode: Rounding) -> DfResult<f64> {
    if !v.is_finite() {
        return exec_err!(
            "Character {} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark.",
            if v.is_nan() { "N" } else { "I" }
        );
    }
    if v == 0.0 {
        return Ok(0.0);
    }
    // `{:e}` gives the shortest digits that round-trip: `-1.2345e4`.
    let text = format!("{:e}", v.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    // value = 0.d1d2… × 10^(exponent + 1); keep this many leading digits:
    let keep = exponent + 1 + places as i64;
    if keep >= digits.len() as i64 {
        return Ok(v);
    }
    let negative = v < 0.0;
    let (kept, dropped): (&[u8], &[u8]) = if keep <= 0 {
        (&[], &digits[..])
    } else {
        digits.split_at(keep as usize)
    };
    let half = if keep < 0 {
        std::cmp::Ordering::Less
    } else {
        match dropped[0].cmp(&b'5') {
            std::cmp::Ordering::Equal if dropped[1..].iter().any(|d| *d != b'0') => {
                std::cmp::Ordering::Greater
            }
            other => other,
        }
    };
    let mut kept: Vec<u8> = kept.to_vec();
    if mode.bump(negative, half, true) {
        // Add one unit in the last kept place.
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    if kept.iter().all(|d| *d == b'0') {
        return Ok(0.0);
    }
    let digits = String::from_utf8(kept).unwrap_or_default();
    let sign = if negative { "-" } else { "" };
    let rounded: f64 = format!("{sign}{digits}e{}", -(places as i64))
        .parse()
        .unwrap_or(f64::NAN);
    Ok(rounded)
}

/// Java's `Math.round(double)`: `floor(v + 0.5)` computed exactly, saturating, NaN → 0.
pub(super) fn java_round(v: f64) -> i64 {
    if v.is_nan() {
        return 0;
    }
    let floor = v.floor();
    let r = if v - floor >= 0.5 { floor + 1.0 } else { floor };
    r as i64
}

/// The row count of a call: the first argument's length, or one row for calls without
/// arguments (see the module docs of PI and RANDOM).
pub(super) fn rows(args: &[ArrayRef]) -> usize {
    args.first().map(|a| a.len()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_doubles_like_big_decimal() {
        let r = |v, p| round_double(v, p, Rounding::round_for(v < 0.0)).unwrap();
        assert_eq!(r(1.234567, 2), 1.23);
        assert_eq!(r(12345.678, -1), 12350.0);
        assert_eq!(r(12345.678, -2), 12300.0);
        assert_eq!(r(-12345.678, 1), -12345.7);
        assert_eq!(r(-1.5, 0), -1.0);
        assert_eq!(r(1.5, 0), 2.0);
        assert_eq!(r(-1.1, -1), 0.0);
        assert_eq!(r(0.95, 1), 1.0);
        assert_eq!(r(999.9, 0), 1000.0);
        assert_eq!(r(111.0, -1), 110.0);
        assert_eq!(r(1.2, 10), 1.2);
        let t = |v, p| round_double(v, p, Rounding::Down).unwrap();
        assert_eq!(t(-12345.678, 2), -12345.67);
        assert_eq!(t(1.7, 0), 1.0);
        assert!(round_double(f64::NAN, 1, Rounding::Down).is_err());
    }

    #[test]
    fn rounds_decimals_like_big_decimal() {
        // 12.35 at scale 2.
        assert_eq!(round_unscaled(1235, 2, 1, Rounding::HalfUp).unwrap(), 1240);
        assert_eq!(
            round_unscaled(-1235, 2, 1, Rounding::HalfDown).unwrap(),
            -1230
        );
        assert_eq!(
            round_unscaled(-1236, 2, 1, Rounding::HalfDown).unwrap(),
            -1240
        );
        assert_eq!(round_unscaled(-11, 1, 0, Rounding::Floor).unwrap(), -20);
        assert_eq!(round_unscaled(11, 1, 0, Rounding::Ceiling).unwrap(), 20);
        assert_eq!(round_unscaled(-17, 1, 0, Rounding::Down).unwrap(), -10);
        assert_eq!(round_unscaled(17, 1, 5, Rounding::Down).unwrap(), 17);
        assert_eq!(round_unscaled(17, 1, -60, Rounding::HalfUp).unwrap(), 0);
    }

    #[test]
    fn rounds_like_math_round() {
        assert_eq!(java_round(-1.5), -1);
        assert_eq!(java_round(1.5), 2);
        assert_eq!(java_round(0.49999999999999994), 0);
        assert_eq!(java_round(-2.5), -2);
        assert_eq!(java_round(f64::NAN), 0);
        assert_eq!(java_round(1e300), i64::MAX);
    }
}
