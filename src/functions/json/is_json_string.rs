//! IS_JSON_STRING(string): whether the string parses as a JSON value (false for null, blank or
//! invalid strings).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::parse;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "IS_JSON_STRING",
        category: "JSON",
        description: "Given a string, returns true if it can be parsed as a valid JSON value, false otherwise.",
        overloads: vec![Overload::fixed(
            &[SqlType::String],
            SqlType::Boolean,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: BooleanArray = args[0]
        .as_string::<i32>()
        .iter()
        .map(|s| Some(s.is_some_and(|s| matches!(parse(s), Ok(Some(_))))))
        .collect();
    Ok(Arc::new(out))
}
