//! LCASE(string): lower case.

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use std::sync::Arc;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "LCASE",
        category: "STRING",
        description: "Returns the input string with all characters in lower case.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = args[0].as_string::<i32>();
    let out: StringArray = input.iter().map(|s| s.map(str::to_lowercase)).collect();
    Ok(Arc::new(out))
}
