//! LN(value): the natural logarithm of a value. INT and BIGINT widen to DOUBLE; the result is
//! a DOUBLE (NaN and infinities as Java's `Math.log` gives them).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, map_double};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "LN",
        category: "MATHEMATICAL",
        description: "The natural logarithm of a value.",
        overloads: double_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::ln)
}
