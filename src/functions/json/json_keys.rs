//! JSON_KEYS(json): the top-level keys of a JSON object, in document order; null for a null or
//! blank string or a value that is not an object. Invalid JSON fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};
use serde_json::Value;

use super::common::parse;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_KEYS",
        category: "JSON",
        description: "Given a string, parses it as a JSON object and returns a ksqlDB array of strings representing the top-level keys. Returns NULL if the string can't be interpreted as a JSON object, for example, when the string is NULL or it does not contain valid JSON, or the JSON value is not an object.",
        overloads: vec![Overload::fixed(
            &[SqlType::String],
            SqlType::Array(Box::new(SqlType::String)),
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let mut out = ListBuilder::new(StringBuilder::new());
    for json in args[0].as_string::<i32>().iter() {
        let object = match json {
            None => None,
            Some(json) => match parse(json).map_err(DataFusionError::Execution)? {
                Some(Value::Object(fields)) => Some(fields),
                _ => None,
            },
        };
        match object {
            Some(fields) => {
                for name in fields.keys() {
                    out.values().append_value(name);
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()))
}
