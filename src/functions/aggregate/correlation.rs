//! CORRELATION(x, y): the Pearson correlation coefficient of two INTEGER, BIGINT or DOUBLE
//! columns (mixed or DECIMAL arguments widen), as a DOUBLE. Rows where either is null are
//! skipped. With fewer than two rows, or a column whose values are all equal, it is NaN.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same, struct_type};
use crate::accumulator_boilerplate;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    let overload = |t: SqlType| {
        AggregateOverload::fixed(&[t.clone(), t], SqlType::Double, |_| {
            Ok(Box::new(Correlation::default()))
        })
    };
    AggregateFunction {
        name: "CORRELATION",
        description: "Computes the Pearson correlation coefficient between two columns of data.",
        overloads: vec![
            overload(SqlType::Double),
            overload(SqlType::Int),
            overload(SqlType::Bigint),
        ],
        supports_undo: true,
        intermediate: Some(|_| {
            struct_type(&[
                ("X_SUM", SqlType::Double),
                ("Y_SUM", SqlType::Double),
                ("X_SQUARED_SUM", SqlType::Double),
                ("Y_SQUARED_SUM", SqlType::Double),
                ("XY_SUM", SqlType::Double),
                ("COUNT", SqlType::Bigint),
            ])
        }),
    }
}

#[derive(Debug, Clone, Default)]
struct Correlation {
    x_sum: f64,
    y_sum: f64,
    x_squared_sum: f64,
    y_squared_sum: f64,
    xy_sum: f64,
    count: i64,
}

fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Int32(Some(x)) => Some(*x as f64),
        ScalarValue::Int64(Some(x)) => Some(*x as f64),
        ScalarValue::Float64(Some(x)) => Some(*x),
        _ => None,
    }
}

impl Correlation {
    fn apply(&mut self, args: &[ScalarValue], sign: f64) {
        let (Some(x), Some(y)) = (as_f64(&args[0]), as_f64(&args[1])) else {
            return;
        };
        if sign > 0.0 {
            self.x_sum += x;
            self.y_sum += y;
            self.x_squared_sum += x * x;
            self.y_squared_sum += y * y;
            self.xy_sum += x * y;
            self.count += 1;
        } else {
            self.x_sum -= x;
            self.y_sum -= y;
            self.x_squared_sum -= x * x;
            self.y_squared_sum -= y * y;
            self.xy_sum -= x * y;
            self.count -= 1;
        }
    }
}

impl Accumulator for Correlation {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(args, 1.0);
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.apply(args, -1.0);
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let o = same::<Correlation>(other)?;
        self.x_sum += o.x_sum;
        self.y_sum += o.y_sum;
        self.x_squared_sum += o.x_squared_sum;
        self.y_squared_sum += o.y_squared_sum;
        self.xy_sum += o.xy_sum;
        self.count += o.count;
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        let n = self.count as f64;
        let numerator = n * self.xy_sum - self.x_sum * self.y_sum;
        let denominator_x = n * self.x_squared_sum - self.x_sum * self.x_sum;
        let denominator_y = n * self.y_squared_sum - self.y_sum * self.y_sum;
        let denominator = (denominator_x * denominator_y).sqrt();
        ScalarValue::Float64(Some(numerator / denominator))
    }
    accumulator_boilerplate!(x_sum, y_sum, x_squared_sum, y_squared_sum, xy_sum, count);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(c: &mut Correlation, x: Option<f64>, y: Option<f64>) -> f64 {
        c.add(&[ScalarValue::Float64(x), ScalarValue::Float64(y)])
            .unwrap();
        match c.value() {
            ScalarValue::Float64(Some(v)) => v,
            _ => panic!(),
        }
    }

    #[test]
    fn matches_ksqldb() {
        // correlation-udaf.json, "correlation double", alice.
        let mut c = Correlation::default();
        assert!(add(&mut c, Some(1.5), Some(8.0)).is_nan());
        assert_eq!(add(&mut c, Some(-1.0), Some(-2.0)), 1.0);
        assert_eq!(add(&mut c, Some(-4.5), Some(-1.0)), 0.7580764521133173);
        assert_eq!(add(&mut c, None, Some(-6.0)), 0.7580764521133173);
    }
}
