//! SUM(col): nulls are skipped; the sum of nothing is 0.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    AggregateFunction {
        name: "SUM",
        description: "Sums the values of a column.",
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
    }
}

#[derive(Debug, Clone)]
enum Sum {
    Int(i32),
    Bigint(i64),
    Double(f64),
    Decimal(i128, u8, i8),
}

impl Sum {
    fn apply(&mut self, v: &ScalarValue, sign: i64) -> AggResult<()> {
        match (self, v) {
            (_, v) if v.is_null() => {}
            (Sum::Int(s), ScalarValue::Int32(Some(x))) => {
                *s = s.wrapping_add((*x as i64 * sign) as i32)
            }
            (Sum::Bigint(s), ScalarValue::Int64(Some(x))) => *s = s.wrapping_add(x * sign),
            (Sum::Double(s), ScalarValue::Float64(Some(x))) => *s += x * sign as f64,
            (Sum::Decimal(s, _, _), ScalarValue::Decimal128(Some(x), _, _)) => {
                *s += x * sign as i128
            }
            (s, v) => return Err(format!("SUM cannot add {v:?} to {s:?}")),
        }
        Ok(())
    }
}

impl Accumulator for Sum {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], 1)
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(&args[0], -1)
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let other = same::<Sum>(other)?.value();
        self.apply(&other, 1)
    }
    fn value(&self) -> ScalarValue {
        match self {
            Sum::Int(s) => ScalarValue::Int32(Some(*s)),
            Sum::Bigint(s) => ScalarValue::Int64(Some(*s)),
            Sum::Double(s) => ScalarValue::Float64(Some(*s)),
            Sum::Decimal(s, p, sc) => ScalarValue::Decimal128(Some(*s), *p, *sc),
        }
    }
    accumulator_boilerplate!();
}
