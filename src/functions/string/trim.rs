//! TRIM(string): leading and trailing whitespace removed.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::strings;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TRIM",
        category: "STRING",
        description: "Remove whitespace from the beginning and end of a string.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    // Java's String.trim(): every character up to U+0020 counts as whitespace.
    let out: StringArray = strings(&args[0])
        .iter()
        .map(|s| s.map(|s| s.trim_matches(|c| c <= ' ')))
        .collect();
    Ok(Arc::new(out))
}
