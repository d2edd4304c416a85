//! FROM_DAYS(days): days since 1970-01-01 as a DATE.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::Result as DfResult;

use super::common::function_error;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FROM_DAYS",
        category: "DATE / TIME",
        description: "Converts a number of days since epoch to a DATE value.",
        overloads: vec![Overload::fixed(&[SqlType::Int], SqlType::Date, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let days = args[0].as_primitive::<Int32Type>();
    // ksqlDB's parameter is a Java `int`: a null can't be passed to it.
    if days.null_count() > 0 {
        return Err(function_error("FROM_DAYS: days can't be null".to_string()));
    }
    Ok(Arc::new(Date32Array::new(days.values().clone(), None)))
}
