//! JSON_CONCAT(json, …): PostgreSQL's `||` over JSON documents. When all are objects, their
//! fields are merged (later documents win); otherwise every non-array document becomes a
//! one-element array and the arrays are concatenated. A null or blank document gives null;
//! invalid JSON (met before any null) fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, exec_err};
use serde_json::Value;

use super::common::{Numbers, parse, write};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_CONCAT",
        category: "JSON",
        description: "Given N strings, parse them as JSON values and return a string representing their concatenation. Concatenation rules are identical to PostgreSQL's || operator:\n* If all strings deserialize into JSON objects, return an object with a union of the input keys. If there are duplicate objects, take values from the last object.\n* If all strings deserialize into JSON arrays, return the result of array concatenation.\n* If at least one of the deserialized values is not an object, convert non-array inputs to a single-element array and return the result of array concatenation.\n* If at least one of the input strings is `NULL` or can't be deserialized as JSON, return NULL.\nSimilar to the PostgreSQL's || operator, this function merges only top-level object keys or arrays.",
        overloads: vec![Overload::variadic(
            &[],
            SqlType::String,
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    if args.is_empty() {
        return exec_err!("JSON_CONCAT needs at least one argument");
    }
    let inputs: Vec<_> = args.iter().map(|a| a.as_string::<i32>()).collect();
    let out = (0..args[0].len())
        .map(|row| concat_row(&inputs, row))
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

fn concat_row(
    inputs: &[&datafusion::arrow::array::StringArray],
    row: usize,
) -> DfResult<Option<String>> {
    let mut nodes = Vec::with_capacity(inputs.len());
    for input in inputs {
        if input.is_null(row) {
            return Ok(None);
        }
        match parse(input.value(row)).map_err(DataFusionError::Execution)? {
            Some(node) => nodes.push(node),
            None => return Ok(None),
        }
    }
    let all_objects = nodes.iter().all(Value::is_object);
    let mut nodes = nodes.into_iter();
    let mut result = nodes.next().unwrap_or(Value::Null);
    for node in nodes {
        result = if all_objects {
            let (Value::Object(mut acc), Value::Object(fields)) = (result, node) else {
                unreachable!("all documents are objects");
            };
            for (name, value) in fields {
                acc.insert(name, value);
            }
            Value::Object(acc)
        } else {
            let mut acc = into_array(result);
            acc.extend(into_array(node));
            Value::Array(acc)
        };
    }
    Ok(Some(write(&result, Numbers::Plain)))
}

fn into_array(node: Value) -> Vec<Value> {
    match node {
        Value::Array(items) => items,
        other => vec![other],
    }
}
