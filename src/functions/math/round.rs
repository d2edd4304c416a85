//! ROUND(value [, places]): rounds half up, where "up" is towards positive infinity (as Java's
//! `Math.round`: `ROUND(-1.5)` is -1). Without places INT, BIGINT and DOUBLE give a BIGINT and
//! a DECIMAL(p, s) gives a DECIMAL(p - s, 0); with places a DOUBLE stays a DOUBLE (rounded in
//! decimal, from the double's shortest text) and a DECIMAL keeps its type.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::{Result as DfResult, exec_err};

use super::common::{
    Rounding, decimal_with_places, doubles, integral_decimal, java_round, round_decimals,
    round_double,
};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ROUND",
        category: "MATHEMATICAL",
        description: "Round a value to the number of decimal places as specified by scale to the right of the decimal point. If scale is negative then value is rounded to the right of the decimal point. Numbers equidistant to the nearest value are rounded up (in the positive direction). If the number of decimal places is not provided it defaults to zero.",
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

/// An INT or BIGINT as a BIGINT. ksqlDB declares these parameters as Java primitives, so a null
/// fails the call.
fn integer(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    if args[0].null_count() > 0 {
        return exec_err!("Failed to invoke function: null for a primitive parameter");
    }
    Ok(cast(&args[0], &DataType::Int64)?)
}

fn double(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int64Array = doubles(&args[0])?.unary(java_round);
    Ok(Arc::new(out))
}

fn double_places(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    round_doubles(args, |v| Rounding::round_for(v < 0.0))
}

/// DOUBLEs rounded to a number of decimal places with the mode each value picks.
pub(super) fn round_doubles(args: &[ArrayRef], mode: fn(f64) -> Rounding) -> DfResult<ArrayRef> {
    let values = doubles(&args[0])?;
    let places = args[1].as_primitive::<Int32Type>();
    let out = values
        .iter()
        .zip(places.iter())
        .map(|(v, p)| match (v, p) {
            (Some(v), Some(p)) => round_double(v, p, mode(v)).map(Some),
            _ => Ok(None),
        })
        .collect::<DfResult<Float64Array>>()?;
    Ok(Arc::new(out))
}

fn decimal(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    round_decimals(&args[0], None, Rounding::round_for, return_type)
}

fn decimal_places(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    round_decimals(&args[0], Some(&args[1]), Rounding::round_for, return_type)
}
