//! LEAST(value, values…): the smallest non-null argument, or null when all are null. Typed
//! like GREATEST (see greatest.rs and extreme.rs).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::extreme::{extreme, overloads};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "LEAST",
        category: "MATHEMATICAL",
        description: "Returns the lowest non-null value among a variable number of comparable columns.",
        overloads: overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    extreme(args, return_type, std::cmp::Ordering::Less)
}
