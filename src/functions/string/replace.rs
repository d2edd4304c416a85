//! REPLACE(string, old, new): every occurrence of a substring replaced.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::strings;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "REPLACE",
        category: "STRING",
        description: "Replaces all occurances of a substring in a string with a new substring.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = strings(&args[0])
        .iter()
        .zip(strings(&args[1]))
        .zip(strings(&args[2]))
        .map(|((s, old), new)| Some(s?.replace(old?, new?)))
        .collect();
    Ok(Arc::new(out))
}
