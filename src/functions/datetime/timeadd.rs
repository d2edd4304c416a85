//! TIMEADD(unit, interval, time): a TIME moved forward by a number of time units, wrapping
//! around midnight.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Time32MillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{MILLIS_PER_DAY, NANOS_PER_DAY, function_error, shift_rows, to_nanos};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TIMEADD",
        category: "DATE / TIME",
        description: "Adds a duration to a TIME value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Time],
            SqlType::Time,
            add,
        )],
    }
}

fn add(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    shift(args, 1)
}

/// Moves each time by `sign` × interval units (`LocalTime.plus`/`minus` in nanoseconds).
pub fn shift(args: &[ArrayRef], sign: i64) -> DfResult<ArrayRef> {
    shift_rows::<Time32MillisecondType>(args, |unit, interval, time| {
        let time = i64::from(time);
        if !(0..MILLIS_PER_DAY).contains(&time) {
            return Err(function_error(format!(
                "Invalid value for NanoOfDay (valid values 0 - 86399999999999): {}",
                time * 1_000_000
            )));
        }
        let nanos = to_nanos(unit, interval);
        let nano_of_day =
            i128::from(time) * 1_000_000 + i128::from(sign) * i128::from(nanos % NANOS_PER_DAY);
        Ok((nano_of_day.rem_euclid(i128::from(NANOS_PER_DAY)) / 1_000_000) as i32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::array::{Int32Array, StringArray, Time32MillisecondArray};
    use std::sync::Arc;

    fn run(unit: &str, interval: i32, time: i32, sign: i64) -> i32 {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![unit])),
            Arc::new(Int32Array::from(vec![interval])),
            Arc::new(Time32MillisecondArray::from(vec![time])),
        ];
        shift(&args, sign)
            .unwrap()
            .as_primitive::<Time32MillisecondType>()
            .value(0)
    }

    #[test]
    fn wraps_around_midnight() {
        assert_eq!(run("MILLISECONDS", -5, 5, 1), 0);
        assert_eq!(run("MILLISECONDS", -5, 2, 1), 86_399_997);
        assert_eq!(run("MILLISECONDS", -5, 86_399_997, -1), 2);
        assert_eq!(run("HOURS", 25, 0, 1), 3_600_000);
        assert_eq!(run("DAYS", i32::MAX, 0, 1), run("DAYS", i32::MAX, 0, 1));
    }
}
