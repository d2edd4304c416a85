//! FORMAT_TIME(time, format): a TIME as text in a Java `DateTimeFormatter` pattern.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Time32MillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{formatters, function_error, time_of_day, time_to_string};
use super::java_format::Temporal;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FORMAT_TIME",
        category: "DATE / TIME",
        description: "Converts a TIME value into the string representation of the time in the given format.",
        overloads: vec![Overload::fixed(
            &[SqlType::Time, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let times = args[0].as_primitive::<Time32MillisecondType>();
    let patterns = args[1].as_string::<i32>();
    let mut formatters = formatters();
    let mut out = StringBuilder::with_capacity(times.len(), times.len() * 12);
    for i in 0..times.len() {
        if times.is_null(i) || patterns.is_null(i) {
            out.append_null();
            continue;
        }
        let (ms, pattern) = (i64::from(times.value(i)), patterns.value(i));
        let result = formatters.get(pattern).and_then(|f| {
            f.format(&Temporal {
                date: None,
                time: Some(time_of_day(ms)?),
                zone: None,
            })
        });
        match result {
            Ok(s) => out.append_value(s),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to format time {} with formatter '{pattern}': {e}",
                    time_to_string(ms)
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, Time32MillisecondArray};

    #[test]
    fn formats_times() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(Time32MillisecondArray::from(vec![65_000, 1_234_567])),
            Arc::new(StringArray::from(vec!["HH_mm_ss_SSS", "HHmmss'AAAAA'"])),
        ];
        let out = kernel(&args, &DataType::Utf8).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "00_01_05_000");
        assert_eq!(out.value(1), "002034AAAAA");
    }
}
