//! FORMAT_DATE(date, format): a DATE as text in a Java `DateTimeFormatter` pattern.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Date32Type};
use datafusion::common::Result as DfResult;

use super::common::{date_to_string, epoch_day, formatters, function_error};
use super::java_format::Temporal;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FORMAT_DATE",
        category: "DATE / TIME",
        description: "Converts a DATE value to a string using the given format pattern. The format pattern should be in the format expected by java.time.format.DateTimeFormatter.",
        overloads: vec![Overload::fixed(
            &[SqlType::Date, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let dates = args[0].as_primitive::<Date32Type>();
    let patterns = args[1].as_string::<i32>();
    let mut formatters = formatters();
    let mut out = StringBuilder::with_capacity(dates.len(), dates.len() * 10);
    for i in 0..dates.len() {
        if dates.is_null(i) || patterns.is_null(i) {
            out.append_null();
            continue;
        }
        let (day, pattern) = (i64::from(dates.value(i)), patterns.value(i));
        let result = formatters.get(pattern).and_then(|f| {
            f.format(&Temporal {
                date: Some(epoch_day(day)?),
                time: None,
                zone: None,
            })
        });
        match result {
            Ok(s) => out.append_value(s),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to format date {} with formatter '{pattern}': {e}",
                    date_to_string(day)
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, StringArray};

    #[test]
    fn formats_dates_and_rejects_time_fields() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![18993, -1])),
            Arc::new(StringArray::from(vec!["dd-MMM-yyyy", "dd-MM-yyyy'Sophia'"])),
        ];
        let out = kernel(&args, &DataType::Utf8).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "01-Jan-2022");
        assert_eq!(out.value(1), "31-12-1969Sophia");
        let args: Vec<ArrayRef> = vec![
            Arc::new(Date32Array::from(vec![0])),
            Arc::new(StringArray::from(vec!["HH"])),
        ];
        assert!(kernel(&args, &DataType::Utf8).is_err());
    }
}
