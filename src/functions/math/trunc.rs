//! TRUNC(value [, places]): truncates towards zero. Without places INT, BIGINT and DOUBLE give
//! a BIGINT (a DOUBLE through Java's `longValue()`: saturating, NaN → 0) and a DECIMAL(p, s)
//! gives a DECIMAL(p - s, 0); with places a DOUBLE stays a DOUBLE and a DECIMAL keeps its type.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{Rounding, decimal_with_places, doubles, integral_decimal, round_decimals};
use super::round::round_doubles;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TRUNC",
        category: "MATHEMATICAL",
        description: "Truncates a value to the number of decimal places as specified by scale to the right of the decimal point. If scale is negative then value is truncated to the right of the decimal point.",
        overloads: vec![
            Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, integer),
            Overload::fixed(&[SqlType::Int], SqlType::Bigint, integer),
            Overload::fixed(&[SqlType::Double], SqlType::Bigint, double),
            Overload::fixed(
                &[SqlType::Double, SqlType::Int],
                SqlType::Double,
                double_places,
            ),
            Overload::generic("DECIMAL", integral_decimal, decimal),
            Overload::generic("DECIMAL, INT", decimal_with_places, decimal_places),
        ],
    }
}

/// An INT or BIGINT as a BIGINT (TRUNC's parameters are nullable, unlike ROUND's).
fn integer(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    Ok(datafusion::arrow::compute::cast(
        &args[0],
        &DataType::Int64,
    )?)
}

fn double(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int64Array = doubles(&args[0])?.unary(|v| v as i64);
    Ok(Arc::new(out))
}

fn double_places(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    round_doubles(args, |_| Rounding::Down)
}

fn decimal(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    round_decimals(&args[0], None, |_| Rounding::Down, return_type)
}

fn decimal_places(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    round_decimals(&args[0], Some(&args[1]), |_| Rounding::Down, return_type)
}
