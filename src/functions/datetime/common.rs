//! Helpers shared by the date/time functions: caches of compiled patterns and zones, instants
//! in a zone, time units, and Java's `toString` of dates and times for error messages.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveBuilder};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, Int32Type};
use datafusion::common::{DataFusionError, Result as DfResult};

use super::java_format::{JavaFormatter, Locale, Temporal, java_date, java_time};
use super::simple_format::SimpleParser;
use super::zone::Zone;

pub const MILLIS_PER_DAY: i64 = 86_400_000;
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The error a function throws (ksqlDB's `KsqlFunctionException`).
pub fn function_error(message: String) -> DataFusionError {
    DataFusionError::Execution(message)
}

/// Remembers the last few compiled values by their source text (patterns are usually one
/// literal, or a handful of values in a column).
pub struct Cache<T> {
    entries: Vec<(String, Result<T, String>)>,
    build: fn(&str) -> Result<T, String>,
}

impl<T> Cache<T> {
    pub fn new(build: fn(&str) -> Result<T, String>) -> Cache<T> {
        Cache {
            entries: Vec::new(),
            build,
        }
    }

    pub fn get(&mut self, key: &str) -> Result<&T, String> {
        let index = match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                if self.entries.len() >= 16 {
                    drop(self.entries.remove(0));
                }
                self.entries.push((key.to_string(), (self.build)(key)));
                self.entries.len() - 1
            }
        };
        self.entries[index].1.as_ref().map_err(Clone::clone)
    }
}

/// Formatters as `DateTimeFormatter.ofPattern` builds them.
pub fn formatters() -> Cache<JavaFormatter> {
    Cache::new(|p| JavaFormatter::new(p, false, Locale::Us))
}

/// ksqlDB's timestamp parsers: case-insensitive, in `Locale.ROOT`.
pub fn parsers() -> Cache<JavaFormatter> {
    Cache::new(|p| JavaFormatter::new(p, true, Locale::Root))
}

/// ksqlDB's date and time parsers: case-insensitive, in the default locale.
pub fn local_parsers() -> Cache<JavaFormatter> {
    Cache::new(|p| JavaFormatter::new(p, true, Locale::Us))
}

/// `FastDateFormat` parsers.
pub fn simple_parsers() -> Cache<SimpleParser> {
    Cache::new(SimpleParser::new)
}

/// Zones by id (`ZoneId.of`).
pub fn zones() -> Cache<Zone> {
    Cache::new(Zone::of)
}

/// Epoch milliseconds as epoch seconds and nanoseconds (`Instant.ofEpochMilli`).
pub fn split_millis(ms: i64) -> (i64, u32) {
    (
        ms.div_euclid(1000),
        (ms.rem_euclid(1000) * 1_000_000) as u32,
    )
}

/// The local date-time of an instant in a zone, with the offset.
pub fn local_at(ms: i64, zone: &Zone) -> Result<(NaiveDateTime, i32), String> {
    let (seconds, nanos) = split_millis(ms);
    let offset = zone.offset_at(seconds);
    let local = DateTime::from_timestamp(seconds + i64::from(offset), nanos)
        .ok_or_else(|| format!("Instant exceeds minimum or maximum instant: {ms}"))?;
    Ok((local.naive_utc(), offset))
}

/// Formats epoch milliseconds in a zone (`instant.atZone(zone).format(formatter)`).
pub fn format_instant(formatter: &JavaFormatter, ms: i64, zone: &Zone) -> Result<String, String> {
    let (local, offset) = local_at(ms, zone)?;
    formatter.format(&Temporal {
        date: Some(local.date()),
        time: Some(local.time()),
        zone: Some((zone, offset, ms.div_euclid(1000))),
    })
}

/// `LocalDate.ofEpochDay`.
pub fn epoch_day(days: i64) -> Result<NaiveDate, String> {
    NaiveDate::from_epoch_days(i32::try_from(days).map_err(|_| invalid_epoch_day(days))?)
        .ok_or_else(|| invalid_epoch_day(days))
}

fn invalid_epoch_day(days: i64) -> String {
    format!("Invalid value for EpochDay: {days}")
}

/// A date as an epoch day that fits a DATE.
pub fn to_epoch_day(date: NaiveDate) -> i32 {
    date.to_epoch_days()
}

/// `LocalTime.ofNanoOfDay(ms * 1_000_000)`.
pub fn time_of_day(ms: i64) -> Result<NaiveTime, String> {
    if !(0..MILLIS_PER_DAY).contains(&ms) {
        return Err(format!(
            "Invalid value for NanoOfDay (valid values 0 - 86399999999999): {}",
            ms.saturating_mul(1_000_000)
        ));
    }
    let seconds = (ms / 1000) as u32;
    let nanos = (ms % 1000 * 1_000_000) as u32;
    Ok(NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos).unwrap())
}

/// `java.sql.Timestamp.toString()` in the JVM's zone (UTC): `2018-05-11 21:58:33.0`.
pub fn timestamp_to_string(ms: i64) -> String {
    match local_at(ms, &Zone::system_default()) {
        Ok((local, _)) => {
            let nanos = local.and_utc().timestamp_subsec_nanos();
            let mut fraction = format!("{nanos:09}");
            while fraction.len() > 1 && fraction.ends_with('0') {
                fraction.pop();
            }
            format!("{}.{fraction}", local.format("%Y-%m-%d %H:%M:%S"))
        }
        Err(_) => ms.to_string(),
    }
}

/// `java.sql.Date.toString()`: `2018-05-11`.
pub fn date_to_string(days: i64) -> String {
    epoch_day(days)
        .map(java_date)
        .unwrap_or_else(|_| days.to_string())
}

/// `java.time.LocalTime.toString()` of a TIME, or the raw milliseconds if out of range.
pub fn time_to_string(ms: i64) -> String {
    time_of_day(ms)
        .map(java_time)
        .unwrap_or_else(|_| ms.to_string())
}

/// A `java.util.concurrent.TimeUnit` by name (`DAYS`, `DAY`, `hours`…): its length in
/// nanoseconds.
pub fn time_unit_nanos(name: &str) -> Option<i64> {
    let upper = name.to_uppercase();
    let singular = upper.strip_suffix('S').unwrap_or(&upper);
    Some(match singular {
        "NANOSECOND" => 1,
        "MICROSECOND" => 1_000,
        "MILLISECOND" => 1_000_000,
        "SECOND" => 1_000_000_000,
        "MINUTE" => 60_000_000_000,
        "HOUR" => 3_600_000_000_000,
        "DAY" => NANOS_PER_DAY,
        _ => return None,
    })
}

/// The unit argument's length in nanoseconds, or the error ksqlDB reports.
/// DATEADD and its kin over `(unit STRING, interval INT, value T)` rows: `step(unit in
/// nanoseconds, interval, value)` gives each result; a null in any argument gives null.
pub fn shift_rows<T: ArrowPrimitiveType>(
    args: &[ArrayRef],
    step: impl Fn(i64, i64, T::Native) -> DfResult<T::Native>,
) -> DfResult<ArrayRef> {
    let units = args[0].as_string::<i32>();
    let intervals = args[1].as_primitive::<Int32Type>();
    let values = args[2].as_primitive::<T>();
    let mut out = PrimitiveBuilder::<T>::with_capacity(values.len());
    for i in 0..values.len() {
        if units.is_null(i) || intervals.is_null(i) || values.is_null(i) {
            out.append_null();
            continue;
        }
        let unit = unit_nanos(units.value(i))?;
        out.append_value(step(unit, i64::from(intervals.value(i)), values.value(i))?);
    }
    Ok(Arc::new(out.finish()))
}

pub fn unit_nanos(name: &str) -> DfResult<i64> {
    time_unit_nanos(name).ok_or_else(|| function_error(format!("Unknown time unit: {name}")))
}

/// `TimeUnit.toMillis(amount)`: saturating, truncating sub-millisecond units.
pub fn to_millis(unit_nanos: i64, amount: i64) -> i64 {
    if unit_nanos >= 1_000_000 {
        amount.saturating_mul(unit_nanos / 1_000_000)
    } else {
        amount / (1_000_000 / unit_nanos)
    }
}

/// `TimeUnit.toNanos(amount)`, saturating.
pub fn to_nanos(unit_nanos: i64, amount: i64) -> i64 {
    amount.saturating_mul(unit_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_strings() {
        assert_eq!(
            timestamp_to_string(1_526_075_913_000),
            "2018-05-11 21:58:33.0"
        );
        assert_eq!(timestamp_to_string(-1), "1969-12-31 23:59:59.999");
        assert_eq!(date_to_string(-1), "1969-12-31");
        assert_eq!(time_to_string(65_000), "00:01:05");
    }

    #[test]
    fn units() {
        assert_eq!(time_unit_nanos("days"), Some(NANOS_PER_DAY));
        assert_eq!(time_unit_nanos("MILLISECOND"), Some(1_000_000));
        assert_eq!(time_unit_nanos("WEEKS"), None);
        assert_eq!(to_millis(1_000, 1_999), 1);
        assert_eq!(to_millis(NANOS_PER_DAY, i64::MAX), i64::MAX);
    }
}
