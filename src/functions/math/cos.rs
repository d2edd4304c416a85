//! COS(value): the cosine of a value. INT and BIGINT widen to DOUBLE; the result is
//! a DOUBLE (NaN and infinities as Java's `Math.cos` gives them).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, map_double};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "COS",
        category: "MATHEMATICAL",
        description: "The cosine of a value.",
        overloads: double_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::cos)
}
