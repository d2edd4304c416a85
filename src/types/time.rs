//! Dates and times in ksqlDB's formats: Java `DateTimeFormatter` patterns translated to chrono.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Translates a Java `DateTimeFormatter` pattern (`yyyy-MM-dd'T'HH:mm:ss.SSS`) into chrono's
/// strftime syntax. Returns `None` for pattern letters chrono can't express.
pub fn java_pattern_to_chrono(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            i += 1;
            if i < chars.len() && chars[i] == '\'' {
                out.push('\'');
                i += 1;
                continue;
            }
            while i < chars.len() {
                if chars[i] == '\'' {
                    if i + 1 < chars.len() && chars[i + 1] == '\'' {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    break;
                }
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('D', _) => "%j".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', 3) => "%3f".to_string(),
            ('S', 6) => "%6f".to_string(),
            ('S', 9) => "%9f".to_string(),
            ('S', _) => "%f".to_string(),
            ('a', _) => "%p".to_string(),
            ('E', 1..=3) => "%a".to_string(),
            ('E', _) => "%A".to_string(),
            ('X' | 'x' | 'Z', 1..=2) => "%z".to_string(),
            ('X' | 'x' | 'Z', _) => "%:z".to_string(),
            ('z', _) | ('V', _) => "%Z".to_string(),
            _ => return None,
        };
        out.push_str(&spec);
        i += n;
    }
    Some(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Parses `text` with a Java pattern into epoch milliseconds (UTC unless the pattern has a zone).
pub fn parse_timestamp(text: &str, java_pattern: &str) -> Option<i64> {
    let pattern = java_pattern_to_chrono(java_pattern)?;
    // Java's `X` reads `Z` as UTC; chrono's `%z` wants an offset.
    let zulu;
    let text = if pattern.contains("%z") && text.ends_with('Z') {
        zulu = format!("{}+0000", &text[..text.len() - 1]);
        zulu.as_str()
    } else {
        text
    };
    if let Ok(dt) = DateTime::parse_from_str(text, &pattern) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(text, &pattern) {
        return Some(Utc.from_utc_datetime(&dt).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, &pattern) {
        return Some(
            Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))
                .timestamp_millis(),
        );
    }
    None
}

/// Parses the timestamp strings ksqlDB accepts where a timestamp is compared to text
/// (`ROWTIME > '2019-01-01T00:00:00+0445'`): a date, optionally followed by `THH:mm[:ss[.SSS]]`
/// and a zone (`Z`, `+HHmm`, `+HH:mm`); UTC when no zone is given.
pub fn parse_iso_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    let (body, offset_ms) = split_zone(t)?;
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    // Hour 24 (alone, or with zero minutes and seconds) is midnight at the end of the day.
    if let Some(t) = time
        && let Some(rest) = t.strip_prefix("24")
        && rest.chars().all(|c| matches!(c, ':' | '0' | '.'))
    {
        let next = date.succ_opt()?;
        let millis = Utc
            .from_utc_datetime(&next.and_time(NaiveTime::MIN))
            .timestamp_millis();
        return Some(millis - offset_ms);
    }
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .or_else(|_| NaiveTime::parse_from_str(t, "%H"))
            .ok()?,
    };
    let local = Utc
        .from_utc_datetime(&date.and_time(time))
        .timestamp_millis();
    Some(local - offset_ms)
}

/// Splits a trailing zone designator off, returning the offset in ms east of UTC.
fn split_zone(t: &str) -> Option<(&str, i64)> {
    if let Some(body) = t.strip_suffix('Z') {
        return Some((body, 0));
    }
    if let Some(i) = t.rfind(['+', '-'])
        && t[..i].contains('T')
    {
        let zone = t[i + 1..].replace(':', "");
        if zone.len() == 4 && zone.chars().all(|c| c.is_ascii_digit()) {
            let hours: i64 = zone[..2].parse().ok()?;
            let minutes: i64 = zone[2..].parse().ok()?;
            let sign = if &t[i..=i] == "-" { -1 } else { 1 };
            return Some((&t[..i], sign * (hours * 3_600_000 + minutes * 60_000)));
        }
    }
    Some((t, 0))
}

/// Formats epoch milliseconds with a Java pattern, in UTC.
pub fn format_timestamp(millis: i64, java_pattern: &str) -> Option<String> {
    let pattern = java_pattern_to_chrono(java_pattern)?;
    let dt = Utc.timestamp_millis_opt(millis).single()?;
    Some(dt.format(&pattern).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_common_patterns() {
        assert_eq!(
            java_pattern_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSS").as_deref(),
            Some("%Y-%m-%dT%H:%M:%S.%3f")
        );
    }

    #[test]
    fn parses_iso_timestamps_with_zones() {
        assert_eq!(
            parse_iso_timestamp("2019-01-01T00:00:00"),
            Some(1_546_300_800_000)
        );
        assert_eq!(
            parse_iso_timestamp("2019-01-01T00:00:00+0445"),
            Some(1_546_300_800_000 - 17_100_000)
        );
        assert_eq!(
            parse_iso_timestamp("2018-01-01T00:00:00.001"),
            Some(1_514_764_800_001)
        );
        assert_eq!(parse_iso_timestamp("not a time"), None);
    }

    #[test]
    fn parses_and_formats() {
        let ms = parse_timestamp("2018-05-11 21:58:33", "yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(ms, 1_526_075_913_000);
        assert_eq!(
            format_timestamp(ms, "yyyy-MM-dd HH:mm:ss").as_deref(),
            Some("2018-05-11 21:58:33")
        );
    }
}
