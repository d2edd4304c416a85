//! ATAN(value): the inverse (arc) tangent of a value. The returned value is in radians. INT and BIGINT widen to DOUBLE; the result is
//! a DOUBLE (NaN and infinities as Java's `Math.atan` gives them).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads, map_double};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ATAN",
        category: "MATHEMATICAL",
        description: "The inverse (arc) tangent of a value. The returned value is in radians.",
        overloads: double_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::atan)
}
