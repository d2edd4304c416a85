//! CONVERT_TZ(timestamp, fromTimeZone, toTimeZone): shifts a TIMESTAMP by the difference
//! between the two zones' offsets at that instant.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondBuilder};
use datafusion::arrow::datatypes::{DataType, TimestampMillisecondType};
use datafusion::common::Result as DfResult;

use super::common::{function_error, zones};
use super::zone::Zone;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "CONVERT_TZ",
        category: "DATE / TIME",
        description: "Converts a TIMESTAMP value from one timezone to another.",
        overloads: vec![Overload::fixed(
            &[SqlType::Timestamp, SqlType::String, SqlType::String],
            SqlType::Timestamp,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let timestamps = args[0].as_primitive::<TimestampMillisecondType>();
    let from = args[1].as_string::<i32>();
    let to = args[2].as_string::<i32>();
    let mut from_zones = zones();
    let mut to_zones = zones();
    let mut out = TimestampMillisecondBuilder::with_capacity(timestamps.len());
    for i in 0..timestamps.len() {
        if timestamps.is_null(i) || from.is_null(i) || to.is_null(i) {
            out.append_null();
            continue;
        }
        let ms = timestamps.value(i);
        let seconds = ms.div_euclid(1000);
        let offsets = to_zones.get(to.value(i)).and_then(|to| {
            let from = from_zones.get(from.value(i))?;
            Ok(i64::from(legacy_offset(to, seconds)) - i64::from(legacy_offset(from, seconds)))
        });
        match offsets {
            Ok(diff) => out.append_value(ms.wrapping_add(diff * 1000)),
            Err(e) => return Err(function_error(format!("Invalid time zone: {e}"))),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// The offset `java.util.TimeZone.getTimeZone(zoneId).getOffset` gives: it doesn't know the
/// `UTC+hh:mm` and `UT+hh:mm` ids and treats them as GMT.
pub fn legacy_offset(zone: &Zone, epoch_second: i64) -> i32 {
    let id = zone.id();
    if ["UTC+", "UTC-", "UT+", "UT-"]
        .iter()
        .any(|p| id.starts_with(p))
    {
        0
    } else {
        zone.offset_at(epoch_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{StringArray, TimestampMillisecondArray};

    fn run(ms: i64, from: &str, to: &str) -> DfResult<i64> {
        let args: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(vec![ms])),
            Arc::new(StringArray::from(vec![from])),
            Arc::new(StringArray::from(vec![to])),
        ];
        Ok(kernel(&args, &DataType::Int64)?
            .as_primitive::<TimestampMillisecondType>()
            .value(0))
    }

    #[test]
    fn converts() {
        assert_eq!(run(100, "+0200", "+0500").unwrap(), 10_800_100);
        assert_eq!(
            run(1_589_234_313_000, "America/Los_Angeles", "America/New_York").unwrap(),
            1_589_245_113_000
        );
        assert!(run(0, "PST", "UTC").is_err());
    }
}
