//! CONCAT(a, b, …): strings or bytes joined; null arguments are skipped.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, bytes_at, rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "CONCAT",
        category: "STRING",
        description: "Concatenate an arbitrary number of string or bytes fields together",
        overloads: vec![
            Overload::variadic(&[], SqlType::String, SqlType::String, concat_strings),
            Overload::variadic(&[], SqlType::Bytes, SqlType::Bytes, concat_bytes),
        ],
    }
}

fn concat_strings(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let inputs: Vec<_> = args.iter().map(strings).collect();
    let mut out = StringBuilder::new();
    let mut value = String::new();
    for row in 0..rows(args) {
        value.clear();
        for input in &inputs {
            if let Some(s) = str_at(input, row) {
                value.push_str(s);
            }
        }
        out.append_value(&value);
    }
    Ok(Arc::new(out.finish()))
}

fn concat_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let inputs: Vec<_> = args.iter().map(bytes).collect();
    let mut out = BinaryBuilder::new();
    let mut value = Vec::new();
    for row in 0..rows(args) {
        value.clear();
        for input in &inputs {
            if let Some(b) = bytes_at(input, row) {
                value.extend_from_slice(b);
            }
        }
        out.append_value(&value);
    }
    Ok(Arc::new(out.finish()))
}
