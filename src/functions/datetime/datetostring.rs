//! DATETOSTRING(epochDays, format): days since 1970-01-01 as text in a Java
//! `DateTimeFormatter` pattern.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::Result as DfResult;

use super::common::{epoch_day, formatters, function_error};
use super::java_format::Temporal;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "DATETOSTRING",
        category: "DATE / TIME",
        description: "Converts the number of days since 1970-01-01 00:00:00 UTC/GMT to a date string using the given format pattern. Note this is the format Kafka Connect uses to represent dates with no time component. The format pattern should be in the format expected by java.time.format.DateTimeFormatter.",
        overloads: vec![Overload::fixed(
            &[SqlType::Int, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let days = args[0].as_primitive::<Int32Type>();
    let patterns = args[1].as_string::<i32>();
    let mut formatters = formatters();
    let mut out = StringBuilder::with_capacity(days.len(), days.len() * 10);
    for i in 0..days.len() {
        // epochDays is a Java `int`: a null can't be passed to it.
        if days.is_null(i) {
            return Err(function_error(
                "DATETOSTRING: epochDays can't be null".to_string(),
            ));
        }
        if patterns.is_null(i) {
            out.append_null();
            continue;
        }
        let (day, pattern) = (days.value(i), patterns.value(i));
        let result = formatters.get(pattern).and_then(|f| {
            f.format(&Temporal {
                date: Some(epoch_day(i64::from(day))?),
                time: None,
                zone: None,
            })
        });
        match result {
            Ok(s) => out.append_value(s),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to format date {day} with formatter '{pattern}': {e}"
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}
