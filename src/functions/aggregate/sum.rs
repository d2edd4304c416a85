//! SUM(col) and SUM_LIST(array): nulls are skipped; the sum of nothing is 0.
//!
//! As in ksqlDB, INTEGER and BIGINT sums wrap around on overflow, and a DECIMAL sum keeps the
//! argument's precision and scale and fails with "Numeric field overflow" when it no longer
//! fits.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    AggregateFunction {
        name: "SUM",
        description: "Computes the sum for a key.",
        overloads: vec![
            AggregateOverload::fixed(&[SqlType::Int], SqlType::Int, |_| Ok(Box::new(Sum::Int(0)))),
            AggregateOverload::fixed(&[SqlType::Bigint], SqlType::Bigint, |_| {
                Ok(Box::new(Sum::Bigint(0)))
            }),
            AggregateOverload::fixed(&[SqlType::Double], SqlType::Double, |_| {
                Ok(Box::new(Sum::Double(0.0)))
            }),
            AggregateOverload::fixed(&[SqlType::decimal(38, 0)], SqlType::decimal(38, 0), |ctx| {
                let SqlType::Decimal { precision, scale } = ctx.signature.returns else {
                    return Err("SUM of a decimal must return a decimal".to_string());
                };
                Ok(Box::new(Sum::Decimal(0, precision, scale as i8)))
            }),
        ],
        supports_undo: true,
        intermediate: None,
    }
}

pub fn sum_list() -> AggregateFunction {
    let list = |t: SqlType| SqlType::Array(Box::new(t));
    AggregateFunction {
        name: "SUM_LIST",
        description: "Returns the sum of elements contained in the list.",
        overloads: vec![
            AggregateOverload::fixed(&[list(SqlType::Double)], SqlType::Double, |_| {
                Ok(Box::new(SumList(Sum::Double(0.0))))
            }),
            AggregateOverload::fixed(&[list(SqlType::Int)], SqlType::Int, |_| {
                Ok(Box::new(SumList(Sum::Int(0))))
            }),
            AggregateOverload::fixed(&[list(SqlType::Bigint)], SqlType::Bigint, |_| {
                Ok(Box::new(SumList(Sum::Bigint(0))))
            }),
        ],
        supports_undo: true,
        intermediate: None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Sum {
    Int(i32),
    Bigint(i64),
    Double(f64),
    /// The unscaled sum, the precision and the scale.
    Decimal(i128, u8, i8),
}

crate::codec_for_enum!(Sum {
    Int(v: i32) = 0,
    Bigint(v: i64) = 1,
    Double(v: f64) = 2,
    Decimal(v: i128, precision: u8, scale: i8) = 3,
});

impl Sum {
    fn apply(&mut self, v: &ScalarValue, negate: bool) -> AggResult<()> {
        match (self, v) {
            (_, v) if v.is_null() => {}
            (Sum::Int(s), ScalarValue::Int32(Some(x))) => {
                *s = if negate {
                    s.wrapping_sub(*x)
                } else {
                    s.wrapping_add(*x)
                }
            }
            (Sum::Bigint(s), ScalarValue::Int64(Some(x))) => {
                *s = if negate {
                    s.wrapping_sub(*x)
                } else {
                    s.wrapping_add(*x)
                }
            }
            (Sum::Double(s), ScalarValue::Float64(Some(x))) => {
                if negate {
                    *s -= x
                } else {
                    *s += x
                }
            }
            (Sum::Decimal(s, precision, scale), ScalarValue::Decimal128(Some(x), _, _)) => {
                let sum = if negate {
                    s.checked_sub(*x)
                } else {
                    s.checked_add(*x)
                };
                let digits = *precision as i32 - *scale as i32;
                // Numbers must stay below 10^digits, i.e. the unscaled value below 10^precision.
                let limit = 10i128.checked_pow(*precision as u32);
                match (sum, limit) {
                    (Some(sum), Some(limit)) if negate || sum.abs() < limit => *s = sum,
                    (Some(sum), None) => *s = sum,
                    (sum, _) => {
                        return Err(format!(
                            "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute value less than 10^{digits}. Got {}",
                            sum.map(|v| plain_decimal(v, *scale))
                                .unwrap_or_else(|| "a larger value".to_string())
                        ));
                    }
                }
            }
            (s, v) => return Err(format!("SUM cannot add {v:?} to {s:?}")),
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        match self {
            Sum::Int(s) => ScalarValue::Int32(Some(*s)),
            Sum::Bigint(s) => ScalarValue::Int64(Some(*s)),
            Sum::Double(s) => ScalarValue::Float64(Some(*s)),
            Sum::Decimal(s, p, sc) => ScalarValue::Decimal128(Some(*s), *p, *sc),
        }
    }
}

/// An unscaled decimal as a plain number (`BigDecimal.toPlainString`).
fn plain_decimal(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        return unscaled.to_string();
    }
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if unscaled < 0 { "-" } else { "" })
}

impl Accumulator for Sum {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], false)
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], true)
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let other = same::<Sum>(other)?.value();
        // ksqlDB's merge does not check for overflow.
        match (&mut *self, &other) {
            (Sum::Decimal(s, ..), ScalarValue::Decimal128(Some(x), ..)) => {
                *s = s.saturating_add(*x);
                Ok(())
            }
            _ => self.apply(&other, false),
        }
    }
    fn value(&self) -> ScalarValue {
        Sum::value(self)
    }
    accumulator_boilerplate!(whole);
}

/// SUM_LIST: the sum of the non-null elements of each array.
#[derive(Debug, Clone)]
struct SumList(Sum);

impl SumList {
    fn apply(&mut self, list: &ScalarValue, negate: bool) -> AggResult<()> {
        let ScalarValue::List(array) = list else {
            return Ok(());
        };
        if list.is_null() {
            return Ok(());
        }
        // The list's own sum, then added to (or taken from) the running sum.
        let mut own = match self.0 {
            Sum::Int(_) => Sum::Int(0),
            Sum::Bigint(_) => Sum::Bigint(0),
            _ => Sum::Double(0.0),
        };
        let values = array.value(0);
        for i in 0..values.len() {
            let v = ScalarValue::try_from_array(&values, i).map_err(|e| e.to_string())?;
            own.apply(&v, false)?;
        }
        self.0.apply(&own.value(), negate)
    }
}

impl Accumulator for SumList {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], false)
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], true)
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let other = same::<SumList>(other)?.0.value();
        self.0.apply(&other, false)
    }
    fn value(&self) -> ScalarValue {
        self.0.value()
    }
    accumulator_boilerplate!(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_sum_wraps() {
        let mut s = Sum::Int(i32::MAX);
        s.add(&[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(s.value(), ScalarValue::Int32(Some(i32::MIN)));
        s.undo(&[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(s.value(), ScalarValue::Int32(Some(i32::MAX)));
    }

    #[test]
    fn decimal_sum_overflows() {
        let mut s = Sum::Decimal(0, 3, 1);
        let d = |v| [ScalarValue::Decimal128(Some(v), 3, 1)];
        s.add(&d(54)).unwrap();
        s.add(&d(101)).unwrap();
        assert_eq!(s.value(), ScalarValue::Decimal128(Some(155), 3, 1));
        s.add(&d(509)).unwrap();
        let err = s.add(&d(508)).unwrap_err();
        assert!(err.starts_with("Numeric field overflow: A field with precision 3 and scale 1 must round to an absolute value less than 10^2. Got 117.2"), "{err}");
        assert_eq!(s.value(), ScalarValue::Decimal128(Some(664), 3, 1));
    }

    #[test]
    fn plain_decimals() {
        assert_eq!(plain_decimal(5, 2), "0.05");
        assert_eq!(plain_decimal(-1234, 1), "-123.4");
        assert_eq!(plain_decimal(7, 0), "7");
    }
}
