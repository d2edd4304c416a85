//! TO_BYTES(string, encoding): a string in hex, utf8, ascii or base64 to bytes.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{rows, str_at, strings};
use super::codec::{self, Encoding};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Bytes, String};
    ScalarFunction {
        name: "TO_BYTES",
        category: "STRING",
        description: "Converts a STRING value in the specified encoding to BYTES. The accepted encoders are 'hex', 'utf8', 'ascii', and 'base64'.",
        overloads: vec![Overload::fixed(&[String, String], Bytes, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, encoding) = (strings(&args[0]), strings(&args[1]));
    let out = (0..rows(args))
        .map(|row| match (str_at(input, row), str_at(encoding, row)) {
            (Some(s), Some(e)) => codec::decode(s, Encoding::named(e)?).map(Some),
            _ => Ok(None),
        })
        .collect::<DfResult<BinaryArray>>()?;
    Ok(Arc::new(out))
}
