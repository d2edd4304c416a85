//! LEN(string | bytes): the length in characters (UTF-16 units, as Java counts) or bytes.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, strings};
use super::units;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "LEN",
        category: "STRING",
        description: "Returns the length of the input string or byte array.",
        overloads: vec![
            Overload::fixed(&[SqlType::String], SqlType::Int, len_string),
            Overload::fixed(&[SqlType::Bytes], SqlType::Int, len_bytes),
        ],
    }
}

fn len_string(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int32Array = strings(&args[0])
        .iter()
        .map(|s| s.map(|s| units::len(s) as i32))
        .collect();
    Ok(Arc::new(out))
}

fn len_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int32Array = bytes(&args[0])
        .iter()
        .map(|b| b.map(|b| b.len() as i32))
        .collect();
    Ok(Arc::new(out))
}
