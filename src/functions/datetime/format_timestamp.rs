//! FORMAT_TIMESTAMP(timestamp, format[, timeZone]): a TIMESTAMP as text in a Java
//! `DateTimeFormatter` pattern, in the given zone or GMT.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, TimestampMillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{format_instant, formatters, function_error, timestamp_to_string, zones};
use super::zone::Zone;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "FORMAT_TIMESTAMP",
        category: "DATE / TIME",
        description: "Converts a TIMESTAMP value into the string representation of the timestamp in the given format.",
        overloads: vec![
            Overload::fixed(
                &[SqlType::Timestamp, SqlType::String],
                SqlType::String,
                kernel,
            ),
            Overload::fixed(
                &[SqlType::Timestamp, SqlType::String, SqlType::String],
                SqlType::String,
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let timestamps = args[0].as_primitive::<TimestampMillisecondType>();
    let patterns = args[1].as_string::<i32>();
    let time_zones = args.get(2).map(|a| a.as_string::<i32>());
    let mut formatters = formatters();
    let mut zones = zones();
    let gmt = Zone::gmt();
    let mut out = StringBuilder::with_capacity(timestamps.len(), timestamps.len() * 24);
    for i in 0..timestamps.len() {
        if timestamps.is_null(i) || patterns.is_null(i) || time_zones.is_some_and(|z| z.is_null(i))
        {
            out.append_null();
            continue;
        }
        let (ms, pattern) = (timestamps.value(i), patterns.value(i));
        let zone_id = time_zones.map(|z| z.value(i)).unwrap_or("GMT");
        let result = formatters.get(pattern).and_then(|f| {
            let zone = match time_zones {
                Some(z) => zones.get(z.value(i))?,
                None => &gmt,
            };
            format_instant(f, ms, zone)
        });
        match result {
            Ok(s) => out.append_value(s),
            Err(e) => {
                return Err(function_error(format!(
                    "Failed to format timestamp {} at timeZone '{zone_id}' with formatter '{pattern}': {e}",
                    timestamp_to_string(ms)
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, TimestampMillisecondArray};

    #[test]
    fn formats_in_gmt_by_default() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_526_075_913_000),
                None,
            ])),
            Arc::new(StringArray::from(vec!["yyyy-MM-dd HH:mm:ss zzz"; 2])),
        ];
        let out = kernel(&args, &DataType::Utf8).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "2018-05-11 21:58:33 GMT");
        assert!(out.is_null(1));
    }

    #[test]
    fn bad_zone_is_an_error() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(vec![0])),
            Arc::new(StringArray::from(vec!["yyyy"])),
            Arc::new(StringArray::from(vec!["Mars/Olympus"])),
        ];
        assert!(kernel(&args, &DataType::Utf8).is_err());
    }
}
