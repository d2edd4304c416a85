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
    fn parses_and_formats() {
        let ms = parse_timestamp("2018-05-11 21:58:33", "yyyy-MM-dd HH:mm:ss").unwrap();
        assert_eq!(ms, 1_526_075_913_000);
        assert_eq!(
            format_timestamp(ms, "yyyy-MM-dd HH:mm:ss").as_deref(),
            Some("2018-05-11 21:58:33")
        );
    }
}
