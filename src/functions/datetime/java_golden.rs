//! Answers of Java 17 (`DateTimeFormatter`, `ZoneId`, `TimeZone`, and commons-lang 3.12
//! `FastDateFormat`) to the operations the date/time functions build on, checked against ours.
//! Each line of `java_golden.tsv`: operation, pattern (or zone), input, zone, Java's answer
//! (`ERR` where Java throws).
//!
//! - `FTS`: an instant (epoch ms) formatted in a zone, as FORMAT_TIMESTAMP;
//! - `FD`, `FT`: an epoch day or a millisecond of the day formatted, as FORMAT_DATE/FORMAT_TIME;
//! - `PTS`: text parsed by ksqlDB's `StringToTimestampParser` in a default zone;
//! - `PD`, `PT`: text parsed to a date or a time, as STRINGTODATE and PARSE_TIME;
//! - `TZ`: CONVERT_TZ from the first zone to the second;
//! - `SDF`: text parsed by `FastDateFormat` in GMT, as PARSE_DATE.

use chrono::Timelike;

use super::common::{epoch_day, format_instant, time_of_day, to_epoch_day};
use super::java_format::{JavaFormatter, Locale, Temporal};
use super::parse_timestamp::epoch_millis;
use super::simple_format::SimpleParser;
use super::zone::Zone;

fn run(op: &str, pattern: &str, input: &str, zone: &str) -> Result<String, String> {
    let number = || input.parse::<i64>().map_err(|e| e.to_string());
    Ok(match op {
        "FTS" => {
            let f = JavaFormatter::new(pattern, false, Locale::Us)?;
            format_instant(&f, number()?, &Zone::of(zone)?)?
        }
        "FD" => JavaFormatter::new(pattern, false, Locale::Us)?.format(&Temporal {
            date: Some(epoch_day(number()?)?),
            time: None,
            zone: None,
        })?,
        "FT" => JavaFormatter::new(pattern, false, Locale::Us)?.format(&Temporal {
            date: None,
            time: Some(time_of_day(number()?)?),
            zone: None,
        })?,
        "PTS" => {
            let f = JavaFormatter::new(pattern, true, Locale::Root)?;
            epoch_millis(f.parse(input)?.to_instant(&Zone::of(zone)?)?)?.to_string()
        }
        "PD" => {
            let f = JavaFormatter::new(pattern, true, Locale::Us)?;
            to_epoch_day(f.parse(input)?.local_date()?).to_string()
        }
        "PT" => {
            let parsed = JavaFormatter::new(pattern, true, Locale::Us)?.parse(input)?;
            if parsed.has_date_field() {
                return Err("Time format contains date field.".to_string());
            }
            let t = parsed.local_time()?;
            (i64::from(t.num_seconds_from_midnight()) * 1000
                + i64::from(t.nanosecond() / 1_000_000))
            .to_string()
        }
        "TZ" => {
            let ms = number()?;
            let (from, to) = (Zone::of(pattern)?, Zone::of(zone)?);
            let seconds = ms.div_euclid(1000);
            let diff = super::convert_tz::legacy_offset(&to, seconds)
                - super::convert_tz::legacy_offset(&from, seconds);
            (ms + i64::from(diff) * 1000).to_string()
        }
        "SDF" => SimpleParser::new(pattern)?.parse(input)?.to_string(),
        other => return Err(format!("unknown operation {other}")),
    })
}

#[test]
fn matches_java() {
    let mut mismatches = Vec::new();
    let lines = include_str!("java_golden.tsv").lines();
    let mut count = 0;
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let [op, pattern, input, zone, expected] = f[..] else {
            panic!("bad line: {line}");
        };
        count += 1;
        let actual = run(op, pattern, input, zone).unwrap_or_else(|_| "ERR".to_string());
        if actual != expected {
            mismatches.push(format!("{line}\t=> {actual}"));
        }
    }
    assert!(count > 1000);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Random patterns and texts: errors are fine, panics are not.
#[test]
fn never_panics() {
    let alphabet: Vec<char> = "yMdHhmsSaEzZXxVOGuQqLDkKnNAwWYeFcpv'[]-: +0123456789éT.,/"
        .chars()
        .collect();
    let texts: Vec<char> = "0123456789-+:TZzéPMAMJanSunGMTUTC PST/Europe_ ."
        .chars()
        .collect();
    let mut seed: u64 = 4242;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let zones = [
        Zone::of("UTC").unwrap(),
        Zone::of("America/Los_Angeles").unwrap(),
        Zone::of("SystemV/PST8PDT").unwrap(),
    ];
    for _ in 0..20_000 {
        let plen = next(16);
        let pattern: String = (0..plen).map(|_| alphabet[next(alphabet.len())]).collect();
        let tlen = next(20);
        let text: String = (0..tlen).map(|_| texts[next(texts.len())]).collect();
        let ms =
            (next(1 << 30) as i64 - (1 << 29)) * 1_000_000 * if next(2) == 0 { 1 } else { 1000 };
        let zone = &zones[next(3)];
        if let Ok(f) = JavaFormatter::new(&pattern, true, Locale::Root) {
            if let Ok(p) = f.parse(&text) {
                let _ = p.to_instant(zone);
                let _ = p.local_date();
            }
            let _ = format_instant(&f, ms, zone);
        }
        if let Ok(p) = SimpleParser::new(&pattern) {
            let _ = p.parse(&text);
        }
    }
}
