//! ABS(number): the absolute value.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ABS",
        category: "MATHEMATICAL",
        description: "Returns the absolute value of its argument.",
        overloads: vec![
            Overload::fixed(&[SqlType::Int], SqlType::Int, kernel),
            Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, kernel),
            Overload::fixed(&[SqlType::Double], SqlType::Double, kernel),
            Overload::generic(
                "DECIMAL",
                |args| match args {
                    [Some(d @ SqlType::Decimal { .. })] => Some(Signature {
                        params: vec![d.clone()],
                        returns: d.clone(),
                    }),
                    _ => None,
                },
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = &args[0];
    Ok(match input.data_type() {
        DataType::Int32 => Arc::new(
            input
                .as_primitive::<Int32Type>()
                .unary::<_, Int32Type>(i32::wrapping_abs),
        ),
        DataType::Int64 => Arc::new(
            input
                .as_primitive::<Int64Type>()
                .unary::<_, Int64Type>(i64::wrapping_abs),
        ),
        DataType::Float64 => Arc::new(
            input
                .as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(f64::abs),
        ),
        DataType::Decimal128(precision, scale) => Arc::new(
            input
                .as_primitive::<Decimal128Type>()
                .unary::<_, Decimal128Type>(i128::wrapping_abs)
                .with_precision_and_scale(*precision, *scale)?,
        ),
        other => return exec_err!("ABS does not take {other}"),
    })
}
