//! TAN(value): the tangent of a value. INT and BIGINT widen to DOUBLE; the result is
//! a DOUBLE (NaN and infinities as Java's `Math.tan` gives them).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, map_double};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TAN",
        category: "MATHEMATICAL",
        description: "The tangent of a value.",
        overloads: double_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::tan)
}
