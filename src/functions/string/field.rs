//! FIELD(s, a, b, …): the 1-based position of s among the other arguments, or 0.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FIELD",
        category: "STRING",
        description: "Returns the position (1-indexed) of str in args, or 0 if not found. If str is NULL, the return value is 0 because NULL is not considered equal to any value. This is the compliment to ELT.",
        overloads: vec![Overload::variadic(
            &[SqlType::String],
            SqlType::String,
            SqlType::Int,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let needle = strings(&args[0]);
    let values: Vec<_> = args[1..].iter().map(strings).collect();
    let out: Int32Array = (0..rows(args))
        .map(|row| {
            let position = str_at(needle, row)
                .and_then(|s| values.iter().position(|a| str_at(a, row) == Some(s)));
            Some(position.map_or(0, |p| p as i32 + 1))
        })
        .collect();
    Ok(Arc::new(out))
}
