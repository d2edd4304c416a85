//! GREATEST(value, values…): the largest non-null argument, or null when all are null.
//!
//! ksqlDB declares one variadic method per type (INT, BIGINT, DOUBLE, DECIMAL, STRING, BYTES,
//! DATE, TIME, TIMESTAMP) and resolves a call as for any UDF: first the types that take every
//! argument as it is, then those that take them through implicit casts (numeric widening, and a
//! STRING read as a DATE, TIME, TIMESTAMP or BYTES); more than one candidate at either step is
//! ambiguous. So `GREATEST(int, bigint)` is rejected while `GREATEST(int, double)` is a DOUBLE.
//! DECIMAL arguments are compared at their widened common type, which is the result type.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::extreme::{extreme, overloads};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "GREATEST",
        category: "MATHEMATICAL",
        description: "Returns the highest non-null value among a variable number of comparable columns.",
        overloads: overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    extreme(args, return_type, std::cmp::Ordering::Greater)
}
