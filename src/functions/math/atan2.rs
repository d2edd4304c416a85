//! ATAN2(y, x): the angle of the point (x, y) in radians, `Math.atan2` over DOUBLEs.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads2, map_double2};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ATAN2",
        category: "MATHEMATICAL",
        description: "The inverse (arc) tangent of y / x. This is equivalent to the angle theta when Cartesian coordinates (x, y) are converted to polar coordinates (radius, theta). The returned value is in radians.",
        overloads: double_overloads2(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double2(args, f64::atan2)
}
