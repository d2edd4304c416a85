//! FROM_UNIXTIME(epochMilli): milliseconds since 1970-01-01 as a TIMESTAMP.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FROM_UNIXTIME",
        category: "DATE / TIME",
        description: "Converts the number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into a TIMESTAMP value.",
        overloads: vec![Overload::fixed(
            &[SqlType::Bigint],
            SqlType::Timestamp,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let millis = args[0].as_primitive::<Int64Type>();
    Ok(Arc::new(TimestampMillisecondArray::new(
        millis.values().clone(),
        millis.nulls().cloned(),
    )))
}
