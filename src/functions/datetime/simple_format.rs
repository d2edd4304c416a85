//! `java.text.SimpleDateFormat` patterns parsed the way commons-lang's `FastDateParser` does
//! (PARSE_DATE uses it): a number takes all its digits unless another number follows directly,
//! month and day names match in any case, text after the pattern is ignored, and the fields
//! are combined by a lenient Gregorian calendar (Julian before 1582-10-15) in GMT.

use chrono::{Datelike, NaiveDate};

use super::zone::{Zone, parse_offset_id, zone_for_name};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Calendar's order: Sunday is 1.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `java.util.Calendar` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CalField {
    Era,
    Year,
    Month,
    WeekOfYear,
    WeekOfMonth,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    DayOfWeekInMonth,
    AmPm,
    Hour,
    HourOfDay,
    Minute,
    Second,
    Millisecond,
}

const FIELD_COUNT: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modify {
    None,
    /// A two-digit year within 80 years before and 20 after now.
    AbbreviatedYear,
    MinusOne,
    /// `u`: 1 is Monday … 7 is Sunday.
    IsoDayOfWeek,
    /// `k`: 24 is midnight.
    Hour24,
    /// `h`: 12 is 0.
    Hour12,
}

#[derive(Debug, Clone)]
enum Strategy {
    Literal(Vec<char>),
    Number(CalField, Modify),
    /// Names matched case-insensitively: (lower-case name, value), best first.
    Text(CalField, Vec<(String, i32)>),
    /// `z`, `Z`: an RFC 822 offset, `GMT±h:mm`, or a zone name.
    TimeZone,
    /// `X`: ISO 8601 offsets of 1 to 3 letters.
    Iso8601(usize),
}

impl Strategy {
    fn is_number(&self) -> bool {
        matches!(self, Strategy::Number(..))
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct SimpleParser {
    strategies: Vec<(Strategy, usize)>,
}

fn names(all: impl IntoIterator<Item = (String, i32)>) -> Vec<(String, i32)> {
    let mut v: Vec<(String, i32)> = all
        .into_iter()
        .map(|(s, i)| (s.to_lowercase(), i))
        .collect();
    // The regex alternation is in reverse lexicographic order: "monday" before "mon".
    v.sort_by(|a, b| b.0.cmp(&a.0));
    v.dedup_by(|a, b| a.0 == b.0);
    v
}

impl SimpleParser {
    pub fn new(pattern: &str) -> Result<SimpleParser, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut strategies = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_alphabetic() {
                let begin = i;
                while i < chars.len() && chars[i] == c {
                    i += 1;
                }
                let width = i - begin;
                strategies.push((strategy(c, width)?, width));
            } else {
                let mut literal = Vec::new();
                let mut quoted = false;
                while i < chars.len() {
                    let c = chars[i];
                    if !quoted && c.is_ascii_alphabetic() {
                        break;
                    }
                    if c == '\'' {
                        i += 1;
                        if i == chars.len() || chars[i] != '\'' {
                            quoted = !quoted;
                            continue;
                        }
                    }
                    i += 1;
                    literal.push(c);
                }
                if quoted {
                    return Err("Unterminated quote".to_string());
                }
                let width = literal.len();
                strategies.push((Strategy::Literal(literal), width));
            }
        }
        Ok(SimpleParser { strategies })
    }

    /// Parses the start of `text` into epoch milliseconds (GMT unless a zone is parsed).
    pub fn parse(&self, text: &str) -> Result<i64, String> {
        let chars: Vec<char> = text.chars().collect();
        let mut cal = Calendar::default();
        let mut pos = 0;
        for (i, (strategy, width)) in self.strategies.iter().enumerate() {
            let max_width = if strategy.is_number()
                && self
                    .strategies
                    .get(i + 1)
                    .is_some_and(|(s, _)| s.is_number())
            {
                *width
            } else {
                0
            };
            match parse_strategy(strategy, &chars, pos, max_width, &mut cal) {
                Some(p) => pos = p,
                None => return Err(format!("Unparseable date: {text}")),
            }
        }
        cal.time_in_millis()
    }
}

fn strategy(c: char, width: usize) -> Result<Strategy, String> {
    use CalField::*;
    Ok(match c {
        'D' => Strategy::Number(DayOfYear, Modify::None),
        'E' => Strategy::Text(
            DayOfWeek,
            names(DAYS.iter().enumerate().flat_map(|(i, d)| {
                [
                    (d.to_string(), i as i32 + 1),
                    (d[..3].to_string(), i as i32 + 1),
                ]
            })),
        ),
        'F' => Strategy::Number(DayOfWeekInMonth, Modify::None),
        'G' => Strategy::Text(Era, names([("AD".to_string(), 1), ("BC".to_string(), 0)])),
        'H' => Strategy::Number(HourOfDay, Modify::None),
        'K' => Strategy::Number(Hour, Modify::None),
        'M' => {
            if width >= 3 {
                Strategy::Text(
                    Month,
                    names(MONTHS.iter().enumerate().flat_map(|(i, m)| {
                        [(m.to_string(), i as i32), (m[..3].to_string(), i as i32)]
                    })),
                )
            } else {
                Strategy::Number(Month, Modify::MinusOne)
            }
        }
        'S' => Strategy::Number(Millisecond, Modify::None),
        'W' => Strategy::Number(WeekOfMonth, Modify::None),
        'a' => Strategy::Text(AmPm, names([("AM".to_string(), 0), ("PM".to_string(), 1)])),
        'd' => Strategy::Number(DayOfMonth, Modify::None),
        'h' => Strategy::Number(Hour, Modify::Hour12),
        'k' => Strategy::Number(HourOfDay, Modify::Hour24),
        'm' => Strategy::Number(Minute, Modify::None),
        's' => Strategy::Number(Second, Modify::None),
        'u' => Strategy::Number(DayOfWeek, Modify::IsoDayOfWeek),
        'w' => Strategy::Number(WeekOfYear, Modify::None),
        'y' | 'Y' => Strategy::Number(
            Year,
            if width > 2 {
                Modify::None
            } else {
                Modify::AbbreviatedYear
            },
        ),
        'X' => {
            if !(1..=3).contains(&width) {
                return Err("invalid number of X".to_string());
            }
            Strategy::Iso8601(width)
        }
        'Z' if width == 2 => Strategy::Iso8601(3),
        'Z' | 'z' => Strategy::TimeZone,
        _ => return Err(format!("Format '{c}' not supported")),
    })
}

fn parse_strategy(
    strategy: &Strategy,
    chars: &[char],
    start: usize,
    max_width: usize,
    cal: &mut Calendar,
) -> Option<usize> {
    match strategy {
        Strategy::Literal(lit) => {
            if chars.len() < start + lit.len() || chars[start..start + lit.len()] != lit[..] {
                return None;
            }
            Some(start + lit.len())
        }
        Strategy::Number(field, modify) => {
            let mut idx = start;
            let mut last = chars.len();
            if max_width == 0 {
                while idx < last && chars[idx].is_whitespace() {
                    idx += 1;
                }
            } else {
                last = last.min(idx + max_width);
            }
            let from = idx;
            while idx < last && chars[idx].is_ascii_digit() {
                idx += 1;
            }
            if idx == from {
                return None;
            }
            let digits: String = chars[from..idx].iter().collect();
            // Integer.parseInt: too many digits throws.
            let value: i32 = digits.parse().ok()?;
            let value = match modify {
                Modify::None => value,
                Modify::AbbreviatedYear => {
                    if value < 100 {
                        adjust_year(value)
                    } else {
                        value
                    }
                }
                // Java's int arithmetic: wraps at the ends.
                Modify::MinusOne => value.wrapping_sub(1),
                Modify::IsoDayOfWeek => {
                    if value != 7 {
                        value.wrapping_add(1)
                    } else {
                        1
                    }
                }
                Modify::Hour24 => {
                    if value == 24 {
                        0
                    } else {
                        value
                    }
                }
                Modify::Hour12 => {
                    if value == 12 {
                        0
                    } else {
                        value
                    }
                }
            };
            cal.set(*field, value);
            Some(idx)
        }
        Strategy::Text(field, names) => {
            let rest: String = chars[start..].iter().collect::<String>().to_lowercase();
            for (name, value) in names {
                if rest.starts_with(name.as_str()) {
                    cal.set(*field, *value);
                    return Some(start + name.chars().count());
                }
            }
            None
        }
        Strategy::Iso8601(width) => {
            if chars.get(start) == Some(&'Z') {
                cal.offset = Some(0);
                return Some(start + 1);
            }
            let text: String = chars[start..].iter().collect();
            let len = match width {
                1 => 3,
                2 => 5,
                _ => 6,
            };
            let candidate = text.get(..len)?;
            let shape_ok = match width {
                1 => is_sign_digits(candidate, "dd"),
                2 => is_sign_digits(candidate, "dddd"),
                _ => is_sign_digits(candidate, "dd:dd"),
            };
            if !shape_ok {
                return None;
            }
            cal.offset = Some(parse_offset_id(candidate).ok()? * 1000);
            Some(start + len)
        }
        Strategy::TimeZone => {
            let text: String = chars[start..].iter().collect();
            if let Some(c) = text.get(..5)
                && is_sign_digits(c, "dddd")
            {
                cal.offset = Some(parse_offset_id(c).ok()? * 1000);
                return Some(start + 5);
            }
            if let Some(c) = text.get(..6)
                && is_sign_digits(c, "dd:dd")
            {
                cal.offset = Some(parse_offset_id(c).ok()? * 1000);
                return Some(start + 6);
            }
            if text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("GMT")) {
                // GMT[+-]h:mm or GMT[+-]hh:mm
                for len in [9, 8] {
                    if let Some(c) = text.get(3..len)
                        && (is_sign_digits(c, "dd:dd") || is_sign_digits(c, "d:dd"))
                    {
                        let normalised = if c.len() == 5 {
                            format!("{}0{}", &c[..1], &c[1..])
                        } else {
                            c.to_string()
                        };
                        cal.offset = Some(parse_offset_id(&normalised).ok()? * 1000);
                        return Some(start + len);
                    }
                }
            }
            let (zone, bytes) = zone_for_name(&text, true, false)
                .or_else(|| zone_for_name(&text, true, true))
                .or_else(|| {
                    // "GMT", "UTC" and the like.
                    ["UTC", "GMT"].into_iter().find_map(|n| {
                        text.get(..3)
                            .is_some_and(|p| p.eq_ignore_ascii_case(n))
                            .then(|| (Zone::gmt(), 3))
                    })
                })?;
            let name = &text[..bytes];
            cal.zone_name = Some((zone, name.to_string()));
            Some(start + name.chars().count())
        }
    }
}

fn is_sign_digits(s: &str, shape: &str) -> bool {
    let mut chars = s.chars();
    if !matches!(chars.next(), Some('+' | '-')) {
        return false;
    }
    let rest: Vec<char> = chars.collect();
    rest.len() == shape.len()
        && rest.iter().zip(shape.chars()).all(|(c, s)| match s {
            'd' => c.is_ascii_digit(),
            other => *c == other,
        })
}

/// Two-digit years fall within 80 years before and 20 years after the current year.
fn adjust_year(two_digit: i32) -> i32 {
    let now = chrono::Utc::now().year();
    let century_start = now - 80;
    let century = century_start / 100 * 100;
    let start_year = century_start - century;
    let trial = century + two_digit;
    if two_digit >= start_year {
        trial
    } else {
        trial + 100
    }
}

/// A lenient `GregorianCalendar` in GMT: the fields set and the order they were set in.
#[derive(Debug, Default)]
struct Calendar {
    values: [i32; FIELD_COUNT],
    stamps: [u32; FIELD_COUNT],
    next_stamp: u32,
    /// A parsed offset in milliseconds.
    offset: Option<i32>,
    /// A parsed zone name: the zone and the name (daylight names add the zone's saving).
    zone_name: Option<(Zone, String)>,
}

/// 1582-10-15, the first day of the Gregorian calendar, as an epoch day.
const GREGORIAN_CUTOVER: i64 = -141_427;

impl Calendar {
    fn set(&mut self, field: CalField, value: i32) {
        self.next_stamp += 1;
        self.values[field as usize] = value;
        self.stamps[field as usize] = self.next_stamp;
    }

    fn stamp(&self, field: CalField) -> u32 {
        self.stamps[field as usize]
    }

    fn get(&self, field: CalField) -> Option<i64> {
        (self.stamp(field) > 0).then(|| i64::from(self.values[field as usize]))
    }

    /// The date, chosen among the fields set as `GregorianCalendar` does (the most recently set
    /// group wins), in the US week definition (weeks start on Sunday; week 1 holds January 1).
    fn epoch_day(&self, year: i64, month0: i64) -> Result<i64, String> {
        use CalField::*;
        let stamp = |f: CalField| self.stamp(f);
        let value = |f: CalField, default: i64| self.get(f).unwrap_or(default);
        let dow_stamp = stamp(DayOfWeek);
        let both = |a: u32| {
            if a == 0 || dow_stamp == 0 {
                0
            } else {
                a.max(dow_stamp)
            }
        };
        let mut dom_s = stamp(DayOfMonth);
        let doy_s = stamp(DayOfYear);
        let mut wom_s = both(stamp(WeekOfMonth));
        let mut dowim_s = both(stamp(DayOfWeekInMonth));
        let mut woy_s = both(stamp(WeekOfYear));
        let mut best = dom_s.max(wom_s).max(dowim_s).max(doy_s).max(woy_s);
        if best == 0 {
            wom_s = stamp(WeekOfMonth);
            dowim_s = stamp(DayOfWeekInMonth).max(dow_stamp);
            woy_s = stamp(WeekOfYear);
            best = wom_s.max(dowim_s).max(woy_s);
            if best == 0 {
                best = stamp(Month);
                dom_s = best;
            }
        }
        let month_based = best == dom_s
            || (best == wom_s && stamp(WeekOfMonth) >= stamp(WeekOfYear))
            || (best == dowim_s && stamp(DayOfWeekInMonth) >= stamp(WeekOfYear));
        let dow = self.get(DayOfWeek);
        let (start_month, offset) = if month_based {
            let first = gregorian_day(year, month0)?;
            let offset = if best == dom_s {
                value(DayOfMonth, 1) - 1
            } else if (wom_s == dowim_s && stamp(WeekOfMonth) >= stamp(DayOfWeekInMonth))
                || (wom_s != dowim_s && best == wom_s)
            {
                first_week_start(first, dow) + 7 * (value(WeekOfMonth, 1) - 1) - first
            } else {
                let dow = dow.unwrap_or(1);
                let n = value(DayOfWeekInMonth, 1);
                if n >= 0 {
                    on_or_before(first + 7 * n - 1, dow) - first
                } else {
                    let last = gregorian_day(year, month0 + 1)? - 1;
                    on_or_before(last + 7 * (n + 1), dow) - first
                }
            };
            (month0, offset)
        } else {
            let jan1 = gregorian_day(year, 0)?;
            let offset = if best == doy_s {
                value(DayOfYear, 1) - 1
            } else {
                first_week_start(jan1, dow) + 7 * (value(WeekOfYear, 1) - 1) - jan1
            };
            (0, offset)
        };
        let gregorian = gregorian_day(year, start_month)? + offset;
        if year >= 1582 && gregorian >= GREGORIAN_CUTOVER {
            Ok(gregorian)
        } else {
            Ok(julian_day(year, start_month) + offset)
        }
    }

    fn time_in_millis(&self) -> Result<i64, String> {
        let mut year = self.get(CalField::Year).unwrap_or(1970);
        match self.get(CalField::Era) {
            None | Some(1) => {}
            Some(0) => year = 1 - year,
            Some(_) => return Err("Invalid era".to_string()),
        }
        let month = self.get(CalField::Month).unwrap_or(0);

        let epoch_day = self.epoch_day(year, month)?;

        let hod_stamp = self.stamp(CalField::HourOfDay);
        let hour_stamp = self.stamp(CalField::Hour).max(self.stamp(CalField::AmPm));
        let hours = if hod_stamp == 0 && hour_stamp == 0 {
            0
        } else if hod_stamp >= hour_stamp {
            self.get(CalField::HourOfDay).unwrap_or(0)
        } else {
            self.get(CalField::Hour).unwrap_or(0) + 12 * self.get(CalField::AmPm).unwrap_or(0)
        };
        let millis_of_day = ((hours * 60 + self.get(CalField::Minute).unwrap_or(0)) * 60
            + self.get(CalField::Second).unwrap_or(0))
            * 1000
            + self.get(CalField::Millisecond).unwrap_or(0);
        let local = epoch_day * 86_400_000 + millis_of_day;
        let offset = match (&self.offset, &self.zone_name) {
            (Some(o), _) => i64::from(*o),
            (None, Some((zone, name))) => {
                // commons-lang: the zone's raw offset, plus its saving for a daylight name.
                let raw = zone.standard_offset(local.div_euclid(1000));
                let saving = if zone.is_daylight_name(name) { 3600 } else { 0 };
                i64::from(raw + saving) * 1000
            }
            (None, None) => 0,
        };
        Ok(local - offset)
    }
}

/// The epoch day of the first of a month (0-based, any value) in the Gregorian calendar.
fn gregorian_day(year: i64, month0: i64) -> Result<i64, String> {
    let year = year + month0.div_euclid(12);
    let month = month0.rem_euclid(12) as u32 + 1;
    let y = i32::try_from(year).map_err(|_| format!("Year out of range: {year}"))?;
    NaiveDate::from_ymd_opt(y, month, 1)
        .map(|d| i64::from(d.to_epoch_days()))
        .ok_or_else(|| format!("Year out of range: {year}"))
}

/// The epoch day of the first of a month (0-based) in the Julian calendar.
fn julian_day(year: i64, month0: i64) -> i64 {
    let year = year + month0.div_euclid(12);
    let m = month0.rem_euclid(12) + 1;
    let a = (14 - m) / 12;
    let yy = year + 4800 - a;
    let mm = m + 12 * a - 3;
    let jdn = 1 + (153 * mm + 2) / 5 + 365 * yy + yy.div_euclid(4) - 32_083;
    jdn - 2_440_588
}

/// Calendar's day of week of an epoch day: Sunday is 1.
fn day_of_week(epoch_day: i64) -> i64 {
    (epoch_day + 4).rem_euclid(7) + 1
}

/// The latest day on or before `epoch_day` that falls on `dow` (Sunday is 1).
fn on_or_before(epoch_day: i64, dow: i64) -> i64 {
    epoch_day - (day_of_week(epoch_day) - dow).rem_euclid(7)
}

/// The first day of week 1 of the month or year starting on `first`, moved to `dow` if set.
fn first_week_start(first: i64, dow: Option<i64>) -> i64 {
    let mut start = on_or_before(first + 6, 1);
    if start - first >= 1 {
        start -= 7;
    }
    match dow {
        Some(d) => on_or_before(start + 6, d),
        None => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(text: &str, pattern: &str) -> Result<i64, String> {
        SimpleParser::new(pattern)?
            .parse(text)
            .map(|ms| ms / 86_400_000)
    }

    #[test]
    fn parses_like_fast_date_format() {
        assert_eq!(days("2018-05-11Lit", "yyyy-MM-dd'Lit'"), Ok(17662));
        assert_eq!(days("11/05/2019", "dd/MM/yyyy"), Ok(18027));
        assert_eq!(days("01-Jan-2022", "dd-MMM-yyyy"), Ok(18993));
        assert_eq!(days("01-JAN-2022", "dd-MMM-yyyy"), Ok(18993));
        assert_eq!(days("JAN-2022", "MMM-yyyy"), Ok(18993));
        assert_eq!(days("01-01-1970", "dd-MM-yyyy"), Ok(0));
        assert_eq!(days("20220101", "yyyyMMdd"), Ok(18993));
        assert_eq!(
            days("2021-02-30", "yyyy-MM-dd"),
            days("2021-03-02", "yyyy-MM-dd")
        );
        assert_eq!(days("2022-01-01 trailing", "yyyy-MM-dd"), Ok(18993));
        assert_eq!(days("January 1, 2022", "MMMM d, yyyy"), Ok(18993));
        // Julian calendar before 1582-10-15.
        assert_eq!(days("1582-10-04", "yyyy-MM-dd"), Ok(-141_428));
        assert!(days("2022/01/01", "yyyy-MM-dd").is_err());
        assert!(SimpleParser::new("yyyy-MM-dd'").is_err());
        assert!(SimpleParser::new("yyyy-MM-dd b").is_err());
    }
}
