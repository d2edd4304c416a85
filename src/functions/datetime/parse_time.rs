//! PARSE_TIME(text, format): text in a Java `DateTimeFormatter` pattern as a TIME.

use std::sync::Arc;

use chrono::Timelike;
use datafusion::arrow::array::{ArrayRef, Time32MillisecondBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{function_error, local_parsers};
use super::parse_timestamp::string_column;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "PARSE_TIME",
        category: "DATE / TIME",
        description: "Converts a string representation of a time in the given format into a TIME value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String],
            SqlType::Time,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let texts = string_column(&args[0]);
    let patterns = string_column(&args[1]);
    let mut parsers = local_parsers();
    let mut out = Time32MillisecondBuilder::with_capacity(texts.len());
    for i in 0..texts.len() {
        let (Some(text), Some(pattern)) = (texts.get(i), patterns.get(i)) else {
            out.append_null();
            continue;
        };
        let result = parsers
            .get(pattern)
            .and_then(|p| p.parse(text))
            .and_then(|parsed| {
                if parsed.has_date_field() {
                    return Err("Time format contains date field.".to_string());
                }
                let time = parsed.local_time()?;
                Ok(
                    (time.num_seconds_from_midnight() * 1000 + time.nanosecond() / 1_000_000)
                        as i32,
                )
            });
        match result {
            Ok(ms) => out.append_value(ms),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to parse time '{text}' with formatter '{pattern}': {e}"
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::Time32MillisecondType;

    #[test]
    fn parses_times() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                "00:01:05Lit",
                "11/05/19",
                "01:00:00 PM",
                "01:00:00 Pm",
            ])),
            Arc::new(StringArray::from(vec![
                "HH:mm:ss'Lit'",
                "HH/mm/ss",
                "hh:mm:ss a",
                "hh:mm:ss a",
            ])),
        ];
        let out = kernel(&args, &DataType::Int32).unwrap();
        assert_eq!(
            out.as_primitive::<Time32MillisecondType>().values(),
            &[65_000, 39_919_000, 46_800_000, 46_800_000]
        );
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["2020 10:00"])),
            Arc::new(StringArray::from(vec!["yyyy HH:mm"])),
        ];
        assert!(kernel(&args, &DataType::Int32).is_err());
    }
}
