//! JSON_ARRAY_LENGTH(json): the number of elements of a top-level JSON array; null for a null
//! or blank string or a value that is not an array. Invalid JSON fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};
use serde_json::Value;

use super::common::parse;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_ARRAY_LENGTH",
        category: "JSON",
        description: "Given a string, parses it as a JSON value and returns the length of the top-level array. Returns NULL if the string can't be interpreted as a JSON array, for example, when the string is `NULL` or it does not contain valid JSON, or the JSON value is not an array.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::Int, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out = args[0]
        .as_string::<i32>()
        .iter()
        .map(|json| {
            let Some(json) = json else { return Ok(None) };
            Ok(match parse(json).map_err(DataFusionError::Execution)? {
                Some(Value::Array(items)) => Some(items.len() as i32),
                _ => None,
            })
        })
        .collect::<DfResult<Int32Array>>()?;
    Ok(Arc::new(out))
}
