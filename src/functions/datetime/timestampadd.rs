//! TIMESTAMPADD(unit, interval, timestamp): a TIMESTAMP moved forward by a number of time
//! units.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, TimestampMillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{shift_rows, to_millis};
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
    shift_rows::<TimestampMillisecondType>(args, |unit, interval, ts| {
        let millis = to_millis(unit, interval);
        Ok(if sign > 0 {
            ts.wrapping_add(millis)
        } else {
            ts.wrapping_sub(millis)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::array::{Int32Array, StringArray, TimestampMillisecondArray};
    use std::sync::Arc;

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
