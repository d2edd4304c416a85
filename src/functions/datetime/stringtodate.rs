//! STRINGTODATE(text, format): a date in a Java `DateTimeFormatter` pattern as days since
//! 1970-01-01.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{function_error, local_parsers, to_epoch_day};
use super::parse_timestamp::string_column;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "STRINGTODATE",
        category: "DATE / TIME",
        description: "Converts a string representation of a date in the given format into the number of days since 1970-01-01 00:00:00 UTC/GMT. Note this is the format Kafka Connect uses to represent dates with no time component. The format pattern should be in the format expected by java.time.format.DateTimeFormatter",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String],
            SqlType::Int,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let texts = string_column(&args[0]);
    let patterns = string_column(&args[1]);
    let mut parsers = local_parsers();
    let mut out = Int32Builder::with_capacity(texts.len());
    // No nulls here: ksqlDB throws rather than return null, having no sentinel for it.
    for i in 0..texts.len() {
        let (text, pattern) = (texts.get(i), patterns.get(i));
        let result = (|| {
            let parser = parsers.get(pattern.ok_or("the format pattern is null")?)?;
            parser.parse(text.ok_or("the text is null")?)?.local_date()
        })();
        match result {
            Ok(date) => out.append_value(to_epoch_day(date)),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to parse date '{}' with formatter '{}': {e}",
                    text.unwrap_or("null"),
                    pattern.unwrap_or("null")
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
    use datafusion::arrow::datatypes::Int32Type;

    #[test]
    fn parses_dates() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["2018-05-11Lit", "01-Jan-2022"])),
            Arc::new(StringArray::from(vec!["yyyy-MM-dd'Lit'", "dd-MMM-yyyy"])),
        ];
        let out = kernel(&args, &DataType::Int32).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(out.values(), &[17662, 18993]);
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["Jan-2022"])),
            Arc::new(StringArray::from(vec!["MMM-yyyy"])),
        ];
        assert!(kernel(&args, &DataType::Int32).is_err());
    }
}
