//! DATEADD(unit, interval, date): a DATE moved forward by a number of time units.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::Result as DfResult;

use super::common::{MILLIS_PER_DAY, function_error, shift_rows, to_millis};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "DATEADD",
        category: "DATE / TIME",
        description: "Adds a duration to a DATE value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Date],
            SqlType::Date,
            add,
        )],
    }
}

fn add(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    shift(args, 1)
}

/// Moves each date by `sign` × interval units, as ksqlDB does: in milliseconds from the
/// date's midnight, then truncated (towards zero) to whole days.
pub fn shift(args: &[ArrayRef], sign: i64) -> DfResult<ArrayRef> {
    shift_rows::<Date32Type>(args, |unit, interval, date| {
        let millis = to_millis(unit, interval);
        let date_millis = i64::from(date) * MILLIS_PER_DAY;
        let shifted = if sign > 0 {
            date_millis.wrapping_add(millis)
        } else {
            date_millis.wrapping_sub(millis)
        };
        let days = shifted / MILLIS_PER_DAY;
        i32::try_from(days).map_err(|_| function_error(format!("Date out of range: {days} days")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::array::{Date32Array, Int32Array, StringArray};
    use std::sync::Arc;

    fn run(unit: &str, interval: i32, date: i32, sign: i64) -> i32 {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![unit])),
            Arc::new(Int32Array::from(vec![interval])),
            Arc::new(Date32Array::from(vec![date])),
        ];
        shift(&args, sign)
            .unwrap()
            .as_primitive::<Date32Type>()
            .value(0)
    }

    #[test]
    fn shifts_dates() {
        assert_eq!(run("DAYS", -5, 5, 1), 0);
        assert_eq!(run("DAYS", -5, 2, 1), -3);
        assert_eq!(run("DAYS", 10, 5, -1), -5);
        // Sub-day units truncate towards zero.
        assert_eq!(run("HOURS", 23, 0, 1), 0);
        assert_eq!(run("HOURS", 1, -1, 1), 0);
    }
}
