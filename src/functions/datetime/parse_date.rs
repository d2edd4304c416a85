//! PARSE_DATE(text, format): text in a `java.text.SimpleDateFormat` pattern as a DATE.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{MILLIS_PER_DAY, function_error, simple_parsers};
use super::parse_timestamp::string_column;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "PARSE_DATE",
        category: "DATE / TIME",
        description: "Converts a string representation of a date in the given format into a DATE value. The format pattern should be in the format expected by java.text.SimpleDateFormat",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String],
            SqlType::Date,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let texts = string_column(&args[0]);
    let patterns = string_column(&args[1]);
    let mut parsers = simple_parsers();
    let mut out = Date32Builder::with_capacity(texts.len());
    for i in 0..texts.len() {
        let (Some(text), Some(pattern)) = (texts.get(i), patterns.get(i)) else {
            out.append_null();
            continue;
        };
        let result = parsers
            .get(pattern)
            .and_then(|p| p.parse(text))
            .and_then(|ms| {
                if ms % MILLIS_PER_DAY != 0 {
                    return Err("Date format contains time field.".to_string());
                }
                i32::try_from(ms / MILLIS_PER_DAY).map_err(|_| format!("Date out of range: {ms}"))
            });
        match result {
            Ok(days) => out.append_value(days),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to parse date '{text}' with formatter '{pattern}': {e}"
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
    use datafusion::arrow::datatypes::Date32Type;

    #[test]
    fn parses_and_rejects_times() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["01-JAN-2022", "JAN-2022"])),
            Arc::new(StringArray::from(vec!["dd-MMM-yyyy", "MMM-yyyy"])),
        ];
        let out = kernel(&args, &DataType::Date32).unwrap();
        assert_eq!(out.as_primitive::<Date32Type>().values(), &[18993, 18993]);
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["2022-01-01 10"])),
            Arc::new(StringArray::from(vec!["yyyy-MM-dd HH"])),
        ];
        assert!(kernel(&args, &DataType::Date32).is_err());
    }
}
