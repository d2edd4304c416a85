//! STRINGTOTIMESTAMP(text, format[, timeZone]): text in a Java `DateTimeFormatter` pattern as
//! epoch milliseconds, in the zone the text names, else the given zone, else the server's (UTC).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Builder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{function_error, parsers, zones};
use super::parse_timestamp::{epoch_millis, string_column};
use super::zone::Zone;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "STRINGTOTIMESTAMP",
        category: "DATE / TIME",
        description: "Converts a string representation of a date in the given format into the number of milliseconds since 1970-01-01 00:00:00 UTC/GMT. The system default time zone is used when no time zone is explicitly provided.",
        overloads: vec![
            Overload::fixed(&[SqlType::String, SqlType::String], SqlType::Bigint, kernel),
            Overload::fixed(
                &[SqlType::String, SqlType::String, SqlType::String],
                SqlType::Bigint,
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let texts = string_column(&args[0]);
    let patterns = string_column(&args[1]);
    let time_zones = args.get(2).map(string_column);
    let mut parsers = parsers();
    let mut zones = zones();
    let default_zone = Zone::system_default();
    let mut out = Int64Builder::with_capacity(texts.len());
    // No nulls here: ksqlDB throws rather than return null, having no sentinel for it.
    for i in 0..texts.len() {
        let (text, pattern) = (texts.get(i), patterns.get(i));
        let zone_id = time_zones.as_ref().map(|z| z.get(i));
        let result = (|| {
            let parser = parsers.get(pattern.ok_or("the format pattern is null")?)?;
            let zone = match zone_id {
                Some(id) => zones.get(id.ok_or("the time zone is null")?)?,
                None => &default_zone,
            };
            let parsed = parser.parse(text.ok_or("the text is null")?)?;
            epoch_millis(parsed.to_instant(zone)?)
        })();
        match result {
            Ok(ms) => out.append_value(ms),
            Err(e) => {
                let at = zone_id
                    .map(|z| format!(" at timezone '{}'", z.unwrap_or("null")))
                    .unwrap_or_default();
                return Err(function_error(format!(
                    "Failed to parse timestamp '{}'{at} with formatter '{}': {e}",
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
    use datafusion::arrow::array::{Array, AsArray, StringArray};
    use datafusion::arrow::datatypes::Int64Type;

    fn run(text: Option<&str>, pattern: &str, zone: Option<&str>) -> DfResult<i64> {
        let mut args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![text])),
            Arc::new(StringArray::from(vec![pattern])),
        ];
        if let Some(z) = zone {
            args.push(Arc::new(StringArray::from(vec![z])));
        }
        let out = kernel(&args, &DataType::Int64)?;
        let out = out.as_primitive::<Int64Type>();
        assert!(!out.is_null(0));
        Ok(out.value(0))
    }

    #[test]
    fn parses() {
        let p = "yyyy-MM-dd'T'HH:mm:ssX";
        assert_eq!(
            run(Some("2018-05-11T21:58:33Z"), p, None).unwrap(),
            1_526_075_913_000
        );
        assert_eq!(
            run(
                Some("2018-05-11 21:58:33"),
                "yyyy-MM-dd HH:mm:ss",
                Some("America/Los_Angeles")
            )
            .unwrap(),
            1_526_101_113_000
        );
        assert!(run(None, p, None).is_err());
        assert!(run(Some("nope"), p, None).is_err());
    }
}
