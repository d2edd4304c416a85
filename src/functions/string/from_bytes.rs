//! FROM_BYTES(bytes, encoding): bytes as a hex, utf8, ascii or base64 string.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, bytes_at, rows, str_at, strings};
use super::codec::{self, Encoding};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Bytes, String};
    ScalarFunction {
        name: "FROM_BYTES",
        category: "STRING",
        description: "Converts a BYTES value to STRING in the specified encoding. The accepted encoders are 'hex', 'utf8', 'ascii', and 'base64'.",
        overloads: vec![Overload::fixed(&[Bytes, String], String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, encoding) = (bytes(&args[0]), strings(&args[1]));
    let out = (0..rows(args))
        .map(|row| match (bytes_at(input, row), str_at(encoding, row)) {
            (Some(b), Some(e)) => Ok(Some(codec::encode(b, Encoding::named(e)?))),
            _ => Ok(None),
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}
