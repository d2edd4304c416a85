//! AVG(col): the mean of the non-null values, as a DOUBLE.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    let overload = |t: SqlType| {
        AggregateOverload::fixed(&[t], SqlType::Double, |_| Ok(Box::new(Average::default())))
    };
    AggregateFunction {
        name: "AVG",
        description: "Returns the average value of a column.",
        overloads: vec![
            overload(SqlType::Int),
            overload(SqlType::Bigint),
            overload(SqlType::Double),
            overload(SqlType::decimal(38, 0)),
        ],
        supports_undo: true,
    }
}

#[derive(Debug, Clone, Default)]
struct Average {
    sum: f64,
    count: i64,
}

fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Int32(Some(x)) => Some(*x as f64),
        ScalarValue::Int64(Some(x)) => Some(*x as f64),
        ScalarValue::Float64(Some(x)) => Some(*x),
        ScalarValue::Decimal128(Some(x), _, s) => Some(*x as f64 / 10f64.powi(*s as i32)),
        _ => None,
    }
}

impl Accumulator for Average {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(x) = as_f64(&args[0]) {
            self.sum += x;
            self.count += 1;
        }
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(x) = as_f64(&args[0]) {
            self.sum -= x;
            self.count -= 1;
        }
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let o = same::<Average>(other)?;
        self.sum += o.sum;
        self.count += o.count;
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        if self.count == 0 {
            ScalarValue::Float64(Some(0.0))
        } else {
            ScalarValue::Float64(Some(self.sum / self.count as f64))
        }
    }
    accumulator_boilerplate!();
}
