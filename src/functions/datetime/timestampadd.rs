//! TIMESTAMPADD(unit, interval, timestamp): a TIMESTAMP moved forward by a number of time
//! units.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::{DataType, Int32Type, TimestampMillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{to_millis, unit_nanos};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TIMESTAMPADD",
        category: "DATE / TIME",
        description: "Adds a duration to a TIMESTAMP value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Timestamp],
            SqlType::Timestamp,
            add,
        )],
    }
}

fn add(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    shift(args, 1)
}

/// Moves each timestamp by `sign` × interval units, in milliseconds.
pub fn shift(args: &[ArrayRef], sign: i64) -> DfResult<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let intervals = args[1].as_primitive::<Int32Type>();
    let timestamps = args[2].as_primitive::<TimestampMillisecondType>();
    let mut out = TimestampMillisecondBuilder::with_capacity(timestamps.len());
    for i in 0..timestamps.len() {
        if units.is_null(i) || intervals.is_null(i) || timestamps.is_null(i) {
            out.append_null();
            continue;
        }
        let millis = to_millis(unit_nanos(units.value(i))?, i64::from(intervals.value(i)));
        let ts = timestamps.value(i);
        out.append_value(if sign > 0 {
            ts.wrapping_add(millis)
        } else {
            ts.wrapping_sub(millis)
        });
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, StringArray, TimestampMillisecondArray};

    #[test]
    fn shifts_timestamps() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                Some("MILLISECONDS"),
                Some("DAYS"),
                None,
            ])),
            Arc::new(Int32Array::from(vec![-5, 1, 1])),
            Arc::new(TimestampMillisecondArray::from(vec![2, 0, 0])),
        ];
        let out = shift(&args, 1).unwrap();
        let out = out.as_primitive::<TimestampMillisecondType>();
        assert_eq!(out.value(0), -3);
        assert_eq!(out.value(1), 86_400_000);
        assert!(out.is_null(2));
    }
}
