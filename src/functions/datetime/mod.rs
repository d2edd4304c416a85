//! Date and time functions (ksqlDB's `io.confluent.ksql.function.udf.datetime`), with Java's
//! `DateTimeFormatter` and `SimpleDateFormat` patterns and `ZoneId` time zones.

mod common;
mod java_format;
#[cfg(test)]
mod java_golden;
mod simple_format;
mod zone;
mod zone_names;

mod convert_tz;
mod dateadd;
mod datesub;
mod datetostring;
mod format_date;
mod format_time;
mod format_timestamp;
mod from_days;
mod from_unixtime;
mod parse_date;
mod parse_time;
mod parse_timestamp;
mod stringtodate;
mod stringtotimestamp;
mod timeadd;
mod timestampadd;
mod timestampsub;
mod timestamptostring;
mod timesub;
mod unix_date;
mod unix_timestamp;

use super::registry::ScalarFunction;

/// A `TIMESTAMP_FORMAT` as ksqlDB reads it (`StringToTimestampParser`): a Java
/// `DateTimeFormatter` pattern parsed case-insensitively, in the zone the text names or else the
/// server's (UTC). For the timestamp extractor of sources and sinks declared with one.
#[derive(Debug, Clone)]
pub struct TimestampFormat {
    parser: java_format::JavaFormatter,
    formatter: java_format::JavaFormatter,
}

impl TimestampFormat {
    /// Compiles a pattern; the error is Java's message.
    pub fn new(pattern: &str) -> Result<TimestampFormat, String> {
        Ok(TimestampFormat {
            parser: java_format::JavaFormatter::new(pattern, true, java_format::Locale::Root)?,
            formatter: java_format::JavaFormatter::new(pattern, false, java_format::Locale::Us)?,
        })
    }

    /// The epoch milliseconds a text stands for.
    pub fn parse(&self, text: &str) -> Result<i64, String> {
        let parsed = self.parser.parse(text)?;
        parse_timestamp::epoch_millis(parsed.to_instant(&zone::Zone::system_default())?)
    }

    /// Epoch milliseconds as text, in UTC.
    pub fn format(&self, millis: i64) -> Result<String, String> {
        common::format_instant(&self.formatter, millis, &zone::Zone::system_default())
    }
}

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        convert_tz::function(),
        dateadd::function(),
        datesub::function(),
        datetostring::function(),
        format_date::function(),
        format_time::function(),
        format_timestamp::function(),
        from_days::function(),
        from_unixtime::function(),
        parse_date::function(),
        parse_time::function(),
        parse_timestamp::function(),
        stringtodate::function(),
        stringtotimestamp::function(),
        timeadd::function(),
        timestampadd::function(),
        timestampsub::function(),
        timestamptostring::function(),
        timesub::function(),
        unix_date::function(),
        unix_timestamp::function(),
    ]
}

#[cfg(test)]
mod tests {
    use super::TimestampFormat;

    #[test]
    fn timestamp_formats() {
        let f = TimestampFormat::new("yyyy-MM-dd'T'HH:mm:ss.SX").unwrap();
        assert_eq!(f.parse("2019-08-27T13:31:09.2+0000"), Ok(1_566_912_669_200));
        assert_eq!(
            f.format(1_566_912_669_200).as_deref(),
            Ok("2019-08-27T13:31:09.2Z")
        );
        let f = TimestampFormat::new("yyyy-MM-dd'T'HH:mm:ssX").unwrap();
        assert_eq!(f.parse("2018-05-11T21:58:33Z"), Ok(1_526_075_913_000));
        assert!(f.parse("not a timestamp").is_err());
        assert!(TimestampFormat::new("yyyy-MM-dd'T").is_err());
    }
}
