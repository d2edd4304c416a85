//! CEIL(value): the smallest integral value not below the argument. INT and BIGINT are returned
//! as they are, DOUBLE through `Math.ceil`, and a DECIMAL keeps its type (rounded to zero decimal
//! places, then shown again at its scale).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{Rounding, map_double, round_decimals, same_decimal};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "CEIL",
        category: "MATHEMATICAL",
        description: "Returns the smallest integer greater than or equal to the specified numeric expression.",
        overloads: vec![
            Overload::fixed(&[SqlType::Int], SqlType::Int, identity),
            Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, identity),
            Overload::fixed(&[SqlType::Double], SqlType::Double, double),
            Overload::generic("DECIMAL", same_decimal, decimal),
        ],
    }
}

fn identity(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    Ok(args[0].clone())
}

fn double(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double(args, f64::ceil)
}

fn decimal(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    round_decimals(&args[0], None, |_| Rounding::Ceiling, return_type)
}
