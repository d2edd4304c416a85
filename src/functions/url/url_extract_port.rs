//! URL_EXTRACT_PORT(url): the port as an INT, or null when there is none. A URL that
//! `java.net.URI` rejects fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::parse_url;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "URL_EXTRACT_PORT",
        category: "URL",
        description: "Extracts the port from an application/x-www-form-urlencoded encoded String. If there is no port or the string is invalid, this will return null.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::Int, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out = args[0]
        .as_string::<i32>()
        .iter()
        .map(|url| {
            let Some(url) = url else { return Ok(None) };
            let port = parse_url(url)?.port;
            Ok((port >= 0).then_some(port))
        })
        .collect::<DfResult<Int32Array>>()?;
    Ok(Arc::new(out))
}
