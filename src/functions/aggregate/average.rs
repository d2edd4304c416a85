//! AVG(col): the mean of the non-null values, as a DOUBLE; 0.0 when there are none.
//!
//! As in ksqlDB the state is the sum, in the argument's type (an INTEGER or BIGINT sum wraps
//! around on overflow), and the count. A DECIMAL argument is widened to DOUBLE, as ksqlDB
//! resolves it.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same, struct_type};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    AggregateFunction {
        name: "AVG",
        description: "Returns the average value of the column computed as the sum divided by the count. Applicable only to numeric types.",
        overloads: vec![
            AggregateOverload::fixed(&[SqlType::Int], SqlType::Double, |_| {
                Ok(Box::new(Average::new(Total::Int(0))))
            }),
            AggregateOverload::fixed(&[SqlType::Bigint], SqlType::Double, |_| {
                Ok(Box::new(Average::new(Total::Bigint(0))))
            }),
            AggregateOverload::fixed(&[SqlType::Double], SqlType::Double, |_| {
                Ok(Box::new(Average::new(Total::Double(0.0))))
            }),
        ],
        supports_undo: true,
        intermediate: Some(intermediate),
    }
}

/// `STRUCT<SUM type, COUNT BIGINT>`.
fn intermediate(signature: &Signature) -> SqlType {
    struct_type(&[
        ("SUM", signature.params[0].clone()),
        ("COUNT", SqlType::Bigint),
    ])
}

#[derive(Debug, Clone, Copy)]
enum Total {
    Int(i32),
    Bigint(i64),
    Double(f64),
}

crate::codec_for_enum!(Total {
    Int(v: i32) = 0,
    Bigint(v: i64) = 1,
    Double(v: f64) = 2,
});

impl Total {
    fn as_f64(self) -> f64 {
        match self {
            Total::Int(v) => v as f64,
            Total::Bigint(v) => v as f64,
            Total::Double(v) => v,
        }
    }
}

#[derive(Debug, Clone)]
struct Average {
    sum: Total,
    count: i64,
}

impl Average {
    fn new(sum: Total) -> Average {
        Average { sum, count: 0 }
    }

    /// Adds (or, negated, removes) a value; false for a null.
    fn apply(&mut self, v: &ScalarValue, negate: bool) -> AggResult<bool> {
        self.sum = match (self.sum, v) {
            (_, v) if v.is_null() => return Ok(false),
            (Total::Int(s), ScalarValue::Int32(Some(x))) => Total::Int(if negate {
                s.wrapping_sub(*x)
            } else {
                s.wrapping_add(*x)
            }),
            (Total::Bigint(s), ScalarValue::Int64(Some(x))) => Total::Bigint(if negate {
                s.wrapping_sub(*x)
            } else {
                s.wrapping_add(*x)
            }),
            (Total::Double(s), ScalarValue::Float64(Some(x))) => {
                Total::Double(if negate { s - x } else { s + x })
            }
            (s, v) => return Err(format!("AVG cannot add {v:?} to {s:?}")),
        };
        self.count += if negate { -1 } else { 1 };
        Ok(true)
    }
}

impl Accumulator for Average {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], false).map(|_| ())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], true).map(|_| ())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let o = same::<Average>(other)?;
        self.sum = match (self.sum, o.sum) {
            (Total::Int(a), Total::Int(b)) => Total::Int(a.wrapping_add(b)),
            (Total::Bigint(a), Total::Bigint(b)) => Total::Bigint(a.wrapping_add(b)),
            (Total::Double(a), Total::Double(b)) => Total::Double(a + b),
            (a, b) => return Err(format!("AVG cannot merge {b:?} into {a:?}")),
        };
        self.count += o.count;
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        if self.count == 0 {
            ScalarValue::Float64(Some(0.0))
        } else {
            ScalarValue::Float64(Some(self.sum.as_f64() / self.count as f64))
        }
    }
    accumulator_boilerplate!(sum, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_skipping_nulls() {
        let mut a = Average::new(Total::Int(0));
        assert_eq!(a.value(), ScalarValue::Float64(Some(0.0)));
        a.add(&[ScalarValue::Int32(Some(1))]).unwrap();
        a.add(&[ScalarValue::Int32(None)]).unwrap();
        a.add(&[ScalarValue::Int32(Some(2))]).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(1.5)));
        a.undo(&[ScalarValue::Int32(Some(1))]).unwrap();
        a.undo(&[ScalarValue::Int32(None)]).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(2.0)));
    }

    #[test]
    fn int_sum_wraps_like_java() {
        let mut a = Average::new(Total::Int(0));
        a.add(&[ScalarValue::Int32(Some(i32::MAX))]).unwrap();
        a.add(&[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(i32::MIN as f64 / 2.0)));
    }
}
