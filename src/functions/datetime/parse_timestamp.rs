//! PARSE_TIMESTAMP(text, format[, timeZone]): text in a Java `DateTimeFormatter` pattern as a
//! TIMESTAMP, in the zone the text names, else the given zone, else GMT.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, StringArray, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{function_error, parsers, zones};
use super::zone::Zone;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "PARSE_TIMESTAMP",
        category: "DATE / TIME",
        description: "Converts a string representation of a date in the given format into a TIMESTAMP value.",
        overloads: vec![
            Overload::fixed(
                &[SqlType::String, SqlType::String],
                SqlType::Timestamp,
                kernel,
            ),
            Overload::fixed(
                &[SqlType::String, SqlType::String, SqlType::String],
                SqlType::Timestamp,
                kernel,
            ),
        ],
    }
}

/// A STRING argument, read as optional values.
pub struct StringColumn<'a>(&'a StringArray);

impl StringColumn<'_> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        (!self.0.is_null(i)).then(|| self.0.value(i))
    }
}

pub fn string_column(array: &ArrayRef) -> StringColumn<'_> {
    StringColumn(array.as_string::<i32>())
}

/// An instant as epoch milliseconds (`Instant.toEpochMilli`).
pub fn epoch_millis((seconds, nanos): (i64, u32)) -> Result<i64, String> {
    seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(nanos / 1_000_000)))
        .ok_or_else(|| "long overflow".to_string())
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let texts = string_column(&args[0]);
    let patterns = string_column(&args[1]);
    let time_zones = args.get(2).map(string_column);
    let mut parsers = parsers();
    let mut zones = zones();
    let gmt = Zone::gmt();
    let mut out = TimestampMillisecondBuilder::with_capacity(texts.len());
    for i in 0..texts.len() {
        let zone_id = match &time_zones {
            Some(z) => z.get(i),
            None => Some("GMT"),
        };
        let (Some(text), Some(pattern), Some(zone_id)) = (texts.get(i), patterns.get(i), zone_id)
        else {
            out.append_null();
            continue;
        };
        let result = parsers.get(pattern).and_then(|parser| {
            let zone = if time_zones.is_some() {
                zones.get(zone_id)?
            } else {
                &gmt
            };
            epoch_millis(parser.parse(text)?.to_instant(zone)?)
        });
        match result {
            Ok(ms) => out.append_value(ms),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to parse timestamp '{text}' at timezone '{zone_id}' with formatter '{pattern}': {e}"
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimestampMillisecondType;

    #[test]
    fn parses_with_zone_names() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                Some("2018-05-11T21:58:33 PST"),
                Some("2018-05-11T21:58:33 UTC"),
                None,
            ])),
            Arc::new(StringArray::from(vec!["yyyy-MM-dd'T'HH:mm:ss zzz"; 3])),
        ];
        let out = kernel(&args, &DataType::Int64).unwrap();
        let out = out.as_primitive::<TimestampMillisecondType>();
        assert_eq!(out.value(0), 1_526_101_113_000);
        assert_eq!(out.value(1), 1_526_075_913_000);
        assert!(out.is_null(2));
    }
}
