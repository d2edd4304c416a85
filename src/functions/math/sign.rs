//! SIGN(value): -1, 0 or 1 as an INT. DOUBLE goes through `(int) Math.signum`, so NaN and
//! -0.0 give 0.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array};
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};

use super::common::doubles;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "SIGN",
        category: "MATHEMATICAL",
        description: "The sign of a value.",
        overloads: vec![
            Overload::fixed(&[SqlType::Int], SqlType::Int, kernel),
            Overload::fixed(&[SqlType::Bigint], SqlType::Int, kernel),
            Overload::fixed(&[SqlType::Double], SqlType::Int, kernel),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int32Array = match args[0].data_type() {
        DataType::Int32 => args[0].as_primitive::<Int32Type>().unary(|v| v.signum()),
        DataType::Int64 => args[0]
            .as_primitive::<Int64Type>()
            .unary(|v| v.signum() as i32),
        DataType::Float64 => doubles(&args[0])?.unary(|v| {
            if v > 0.0 {
                1
            } else if v < 0.0 {
                -1
            } else {
                0
            }
        }),
        other => return exec_err!("SIGN does not take {other}"),
    };
    Ok(Arc::new(out))
}
