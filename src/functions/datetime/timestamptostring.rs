//! TIMESTAMPTOSTRING(epochMilli, format[, timeZone]): epoch milliseconds as text in a Java
//! `DateTimeFormatter` pattern, in the given zone or the server's (UTC).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result as DfResult;

use super::common::{format_instant, formatters, function_error, zones};
use super::zone::Zone;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TIMESTAMPTOSTRING",
        category: "DATE / TIME",
        description: "Converts a number of milliseconds since 1970-01-01 00:00:00 UTC/GMT into the string representation of the timestamp in the given format. The system default time zone is used when no time zone is explicitly provided.",
        overloads: vec![
            Overload::fixed(&[SqlType::Bigint, SqlType::String], SqlType::String, kernel),
            Overload::fixed(
                &[SqlType::Bigint, SqlType::String, SqlType::String],
                SqlType::String,
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let millis = args[0].as_primitive::<Int64Type>();
    let patterns = args[1].as_string::<i32>();
    let time_zones = args.get(2).map(|a| a.as_string::<i32>());
    let mut formatters = formatters();
    let mut zones = zones();
    let default_zone = Zone::system_default();
    let mut out = StringBuilder::with_capacity(millis.len(), millis.len() * 24);
    for i in 0..millis.len() {
        // epochMilli is a Java `long`: a null can't be passed to it.
        if millis.is_null(i) {
            return Err(function_error(
                "TIMESTAMPTOSTRING: epochMilli can't be null".to_string(),
            ));
        }
        if patterns.is_null(i) || time_zones.is_some_and(|z| z.is_null(i)) {
            out.append_null();
            continue;
        }
        let (ms, pattern) = (millis.value(i), patterns.value(i));
        let result = formatters.get(pattern).and_then(|f| {
            let zone = match time_zones {
                Some(z) => zones.get(z.value(i))?,
                None => &default_zone,
            };
            format_instant(f, ms, zone)
        });
        match result {
            Ok(s) => out.append_value(s),
            Err(e) => {
                let at = time_zones
                    .map(|z| format!(" at timeZone '{}'", z.value(i)))
                    .unwrap_or_default();
                return Err(function_error(format!(
                    "Failed to format timestamp {ms}{at} with formatter '{pattern}': {e}"
                )));
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    #[test]
    fn formats_in_zones() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1_526_075_913_000, 1_526_075_913_000])),
            Arc::new(StringArray::from(vec![
                "yyyy-MM-dd HH:mm:ss zzz",
                "yyyy-MM-dd HH:mm:ss.SSS",
            ])),
            Arc::new(StringArray::from(vec![
                Some("Europe/London"),
                Some("+05:30"),
            ])),
        ];
        let out = kernel(&args, &DataType::Utf8).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.value(0), "2018-05-11 22:58:33 BST");
        assert_eq!(out.value(1), "2018-05-12 03:28:33.000");
    }
}
