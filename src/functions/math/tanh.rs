//! TANH(value): the hyperbolic tangent of a value. INT and BIGINT widen to DOUBLE; the result is
//! a DOUBLE (NaN and infinities as Java's `Math.tanh` gives them).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, map_double};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TANH",
        category: "MATHEMATICAL",
        description: "The hyperbolic tangent of a value.",
        overloads: double_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::tanh)
}
