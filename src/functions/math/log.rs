//! LOG(value) and LOG(base, value). The one-argument form is documented as base 10 but is the
//! natural logarithm (ksqlDB calls `Math.log`); the two-argument form is
//! `ln(value) / ln(base)`, with NaN for a base that is not positive or is 1.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, double_overloads2, map_double, map_double2};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    let mut overloads = double_overloads(one);
    overloads.extend(double_overloads2(two));
    ScalarFunction {
        name: "LOG",
        category: "MATHEMATICAL",
        description: "The logarithm of a value.",
        overloads,
    }
}

fn one(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::ln)
}

fn two(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double2(args, |base, value| {
        if base <= 0.0 || base == 1.0 {
            f64::NAN
        } else {
            value.ln() / base.ln()
        }
    })
}
