//! JSON_RECORDS(json): the top-level fields of a JSON object as a MAP<STRING, STRING>: string
//! values as their text, other values as JSON (`null` for a JSON null). Null for a null or
//! blank string or a value that is not an object; invalid JSON fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};
use serde_json::Value;

use super::common::{Numbers, parse, write};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_RECORDS",
        category: "JSON",
        description: "Given a string, parses it as a JSON object and returns a map representing the top-level keys and values. Returns `NULL` if the string can't be interpreted as a JSON object, i.e. it is `NULL` or it does not contain valid JSON, or the JSON value is not an object.",
        overloads: vec![Overload::fixed(
            &[SqlType::String],
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::String)),
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let mut out = crate::types::map::Builder::new(StringBuilder::new(), StringBuilder::new());
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
                for (name, value) in &fields {
                    out.keys().append_value(name);
                    match value {
                        Value::String(s) => out.values().append_value(s),
                        other => out.values().append_value(write(other, Numbers::Scientific)),
                    }
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()?))
}
