//! UNIX_DATE([date]): days since 1970-01-01, today's (in UTC) or the given DATE's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array};
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "UNIX_DATE",
        category: "DATE / TIME",
        description: "Returns the current number of days for the system since 1970-01-01 00:00:00 UTC/GMT.",
        overloads: vec![
            Overload::fixed(&[], SqlType::Int, today),
            Overload::fixed(&[SqlType::Date], SqlType::Int, of_date),
        ],
    }
}

fn today(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    // A call without arguments can't see the batch's length: one value, which the caller
    // broadcasts.
    let rows = args.first().map(|a| a.len()).unwrap_or(1);
    let days = chrono::Utc::now().date_naive().to_epoch_days();
    Ok(Arc::new(Int32Array::from(vec![days; rows])))
}

fn of_date(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let dates = args[0].as_primitive::<Date32Type>();
    Ok(Arc::new(Int32Array::new(
        dates.values().clone(),
        dates.nulls().cloned(),
    )))
}
