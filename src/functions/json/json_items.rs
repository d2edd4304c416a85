//! JSON_ITEMS(json): the elements of a top-level JSON array, each as JSON text (strings keep
//! their quotes). Null for a null string; a document that is blank, `null` or not an array
//! fails the call, as Jackson's `readValue(…, List<JsonNode>)` does in ksqlDB.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, exec_err};
use serde_json::Value;

use super::common::{Numbers, parse, write};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "JSON_ITEMS",
        category: "JSON",
        description: "Given a string with JSON array, converts it to a ksqlDB array of JSON strings. Returns `NULL` if the string can not be interpreted as a JSON array, for example, when the string is `NULL` or it does not contain valid JSON, or the JSON value is not an array.",
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
        let Some(json) = json else {
            out.append(false);
            continue;
        };
        match parse(json).map_err(DataFusionError::Execution)? {
            Some(Value::Array(items)) => {
                for item in &items {
                    out.values().append_value(write(item, Numbers::Scientific));
                }
                out.append(true);
            }
            _ => return exec_err!("Invalid JSON format:{json}"),
        }
    }
    Ok(Arc::new(out.finish()))
}
