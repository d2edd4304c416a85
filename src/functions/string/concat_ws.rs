//! CONCAT_WS(separator, a, b, …): strings or bytes joined with a separator; null values are
//! skipped, and a null separator gives null.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{bytes, bytes_at, rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "CONCAT_WS",
        category: "STRING",
        description: "Concatenate several strings or bytes, inserting a separator passed as the first argument between each one.",
        overloads: vec![
            Overload::variadic(&[], SqlType::String, SqlType::String, concat_ws_strings),
            Overload::variadic(&[], SqlType::Bytes, SqlType::Bytes, concat_ws_bytes),
        ],
    }
}

fn check_arity(args: &[ArrayRef]) -> DfResult<()> {
    if args.len() < 2 {
        return exec_err!("Function Concat_WS expects at least two input arguments.");
    }
    Ok(())
}

fn concat_ws_strings(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    check_arity(args)?;
    let inputs: Vec<_> = args.iter().map(strings).collect();
    let mut out = StringBuilder::new();
    let mut value = String::new();
    for row in 0..rows(args) {
        let Some(separator) = str_at(inputs[0], row) else {
            out.append_null();
            continue;
        };
        value.clear();
        let mut first = true;
        for s in inputs[1..].iter().filter_map(|a| str_at(a, row)) {
            if !first {
                value.push_str(separator);
            }
            first = false;
            value.push_str(s);
        }
        out.append_value(&value);
    }
    Ok(Arc::new(out.finish()))
}

fn concat_ws_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    check_arity(args)?;
    let inputs: Vec<_> = args.iter().map(bytes).collect();
    let mut out = BinaryBuilder::new();
    let mut value = Vec::new();
    for row in 0..rows(args) {
        let Some(separator) = bytes_at(inputs[0], row) else {
            out.append_null();
            continue;
        };
        value.clear();
        let mut first = true;
        for b in inputs[1..].iter().filter_map(|a| bytes_at(a, row)) {
            if !first {
                value.extend_from_slice(separator);
            }
            first = false;
            value.extend_from_slice(b);
        }
        out.append_value(&value);
    }
    Ok(Arc::new(out.finish()))
}
