//! UNIX_TIMESTAMP([timestamp]): milliseconds since 1970-01-01, now or of the given TIMESTAMP.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, TimestampMillisecondType};
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "UNIX_TIMESTAMP",
        category: "DATE / TIME",
        description: "Returns the current number of milliseconds for the system since 1970-01-01 00:00:00 UTC/GMT.",
        overloads: vec![
            Overload::fixed(&[], SqlType::Bigint, now),
            Overload::fixed(&[SqlType::Timestamp], SqlType::Bigint, of_timestamp),
        ],
    }
}

fn now(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    // A call without arguments can't see the batch's length: one value, which the caller
    // broadcasts.
    let rows = args.first().map(|a| a.len()).unwrap_or(1);
    let ms = chrono::Utc::now().timestamp_millis();
    Ok(Arc::new(Int64Array::from(vec![ms; rows])))
}

fn of_timestamp(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let timestamps = args[0].as_primitive::<TimestampMillisecondType>();
    Ok(Arc::new(Int64Array::new(
        timestamps.values().clone(),
        timestamps.nulls().cloned(),
    )))
}
