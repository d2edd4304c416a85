//! ELT(n, a, b, …): the nth string (1-based), or null when n is out of range.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{ints, required_int, rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ELT",
        category: "STRING",
        description: "ELT() returns the Nth element of the list of strings. Returns NULL if N is less than 1 or greater than the number of arguments. Note that this method is 1-indexed. This is the complement to FIELD.",
        overloads: vec![Overload::variadic(
            &[SqlType::Int],
            SqlType::String,
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let n = ints(&args[0]);
    let values: Vec<_> = args[1..].iter().map(strings).collect();
    let mut out = StringBuilder::new();
    for row in 0..rows(args) {
        let n = required_int(n, row, "ELT")?;
        let value = usize::try_from(n)
            .ok()
            .filter(|&n| n >= 1)
            .and_then(|n| values.get(n - 1))
            .and_then(|a| str_at(a, row));
        out.append_option(value);
    }
    Ok(Arc::new(out.finish()))
}
