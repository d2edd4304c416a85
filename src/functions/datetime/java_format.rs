//! Java's `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSX`), as ksqlDB's date/time
//! functions use them: compiled like `DateTimeFormatterBuilder.appendPattern`, formatted like
//! `DateTimeFormatter.format` in an English locale, and parsed strictly (optionally case
//! insensitively) with Java's SMART resolution, including adjacent value parsing
//! (`yyyyMMddHHmmss`).

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::zone::{Zone, zone_for_name};

/// A temporal field (Java's `ChronoField` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Era,
    YearOfEra,
    Year,
    Quarter,
    Month,
    AlignedDayOfWeekInMonth,
    DayOfWeek,
    DayOfMonth,
    DayOfYear,
    AmPm,
    HourOfAmPm,
    ClockHourOfAmPm,
    HourOfDay,
    ClockHourOfDay,
    Minute,
    Second,
    MilliOfSecond,
    NanoOfSecond,
    MilliOfDay,
    NanoOfDay,
    OffsetSeconds,
}

impl Field {
    /// Java's name of the field, as error messages show it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Era => "Era",
            Field::YearOfEra => "YearOfEra",
            Field::Year => "Year",
            Field::Quarter => "QuarterOfYear",
            Field::Month => "MonthOfYear",
            Field::AlignedDayOfWeekInMonth => "AlignedDayOfWeekInMonth",
            Field::DayOfWeek => "DayOfWeek",
            Field::DayOfMonth => "DayOfMonth",
            Field::DayOfYear => "DayOfYear",
            Field::AmPm => "AmPmOfDay",
            Field::HourOfAmPm => "HourOfAmPm",
            Field::ClockHourOfAmPm => "ClockHourOfAmPm",
            Field::HourOfDay => "HourOfDay",
            Field::ClockHourOfDay => "ClockHourOfDay",
            Field::Minute => "MinuteOfHour",
            Field::Second => "SecondOfMinute",
            Field::MilliOfSecond => "MilliOfSecond",
            Field::NanoOfSecond => "NanoOfSecond",
            Field::MilliOfDay => "MilliOfDay",
            Field::NanoOfDay => "NanoOfDay",
            Field::OffsetSeconds => "OffsetSeconds",
        }
    }

    /// The valid values (Java's `ValueRange`, largest maximum).
    fn range(self) -> (i64, i64) {
        match self {
            Field::Era => (0, 1),
            Field::YearOfEra => (1, 1_000_000_000),
            Field::Year => (-999_999_999, 999_999_999),
            Field::Quarter => (1, 4),
            Field::Month => (1, 12),
            Field::AlignedDayOfWeekInMonth | Field::DayOfWeek => (1, 7),
            Field::DayOfMonth => (1, 31),
            Field::DayOfYear => (1, 366),
            Field::AmPm => (0, 1),
            Field::HourOfAmPm => (0, 11),
            Field::ClockHourOfAmPm => (1, 12),
            Field::HourOfDay => (0, 23),
            Field::ClockHourOfDay => (1, 24),
            Field::Minute | Field::Second => (0, 59),
            Field::MilliOfSecond => (0, 999),
            Field::NanoOfSecond => (0, 999_999_999),
            Field::MilliOfDay => (0, 86_400_000 - 1),
            Field::NanoOfDay => (0, 86_400 * 1_000_000_000 - 1),
            Field::OffsetSeconds => (-18 * 3600, 18 * 3600),
        }
    }

    fn check(self, value: i64) -> Result<i64, String> {
        let (min, max) = self.range();
        if value < min || value > max {
            Err(format!(
                "Invalid value for {} (valid values {min} - {max}): {value}",
                self.name()
            ))
        } else {
            Ok(value)
        }
    }

    fn is_date_based(self) -> bool {
        matches!(
            self,
            Field::Era
                | Field::YearOfEra
                | Field::Year
                | Field::Month
                | Field::AlignedDayOfWeekInMonth
                | Field::DayOfWeek
                | Field::DayOfMonth
                | Field::DayOfYear
        )
    }

    fn is_time_based(self) -> bool {
        matches!(
            self,
            Field::AmPm
                | Field::HourOfAmPm
                | Field::ClockHourOfAmPm
                | Field::HourOfDay
                | Field::ClockHourOfDay
                | Field::Minute
                | Field::Second
                | Field::MilliOfSecond
                | Field::NanoOfSecond
                | Field::MilliOfDay
                | Field::NanoOfDay
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignStyle {
    Normal,
    NotNegative,
    ExceedsPad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextStyle {
    Short,
    Full,
    Narrow,
}

/// What a numeric printer-parser handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumKind {
    Field(Field),
    /// A two-digit year based on 2000 (`yy`, `uu`).
    Reduced(Field),
    /// The fraction of the second (`S…`), without a decimal point.
    Fraction,
    /// A localized week-based field (`Y`, `w`, `W`, `e`, `c`), in the US week definition.
    Week(char),
    /// A two-digit week-based year (`YY`).
    ReducedWeekYear,
}

#[derive(Debug, Clone)]
struct Number {
    kind: NumKind,
    min: usize,
    max: usize,
    sign: SignStyle,
    /// Java's `subsequentWidth`: digits reserved for the adjacent fixed-width fields that
    /// follow, or -1 when this parser was made fixed width.
    subsequent: i64,
}

#[derive(Debug, Clone)]
enum Item {
    Literal(String),
    Number(Number),
    Text(Field, TextStyle),
    /// An offset in one of Java's patterns (`+HHmm`, `+HH:MM:ss`, …) with its text for zero.
    Offset {
        pattern: &'static str,
        zero: String,
    },
    LocalizedOffset {
        full: bool,
    },
    ZoneText {
        full: bool,
        generic: bool,
    },
    ZoneId,
    Optional(Vec<Item>),
    Pad {
        width: usize,
        item: Box<Item>,
    },
}

/// The locale of month, day and era names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// `Locale.ROOT` (ksqlDB's timestamp parsers): full names are the short ones (`Jan`).
    Root,
    /// `Locale.US`, the JVM default.
    Us,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct JavaFormatter {
    items: Vec<Item>,
    case_insensitive: bool,
    locale: Locale,
}

struct Level {
    items: Vec<Item>,
    /// Index of the active adjacent value parser.
    active: Option<usize>,
    pad_next: usize,
}

impl Level {
    fn new() -> Level {
        Level {
            items: Vec::new(),
            active: None,
            pad_next: 0,
        }
    }

    fn append(&mut self, item: Item) -> usize {
        let item = if self.pad_next > 0 {
            let width = std::mem::take(&mut self.pad_next);
            Item::Pad {
                width,
                item: Box::new(item),
            }
        } else {
            item
        };
        self.items.push(item);
        self.active = None;
        self.items.len() - 1
    }

    /// Java's `appendValue(NumberPrinterParser)` with adjacent value parsing.
    fn append_value(&mut self, number: Number) -> Result<(), String> {
        if matches!(number.kind, NumKind::Field(_)) {
            if number.min > 19 {
                return Err(format!(
                    "Minimum width must be from 1 to 19 inclusive but was {}",
                    number.min
                ));
            }
            if number.max < number.min {
                return Err(format!(
                    "Maximum width must exceed or equal the minimum width but {} < {}",
                    number.max, number.min
                ));
            }
        }
        let padded = self.pad_next > 0;
        match self.active {
            Some(active) if !padded => {
                let Item::Number(base) = &mut self.items[active] else {
                    unreachable!("the active value parser is a number")
                };
                if number.min == number.max && number.sign == SignStyle::NotNegative {
                    base.subsequent = base.subsequent.max(0) + number.max as i64;
                    let mut fixed = number;
                    fixed.subsequent = -1;
                    self.append(Item::Number(fixed));
                    self.active = Some(active);
                } else {
                    base.subsequent = -1;
                    let index = self.append(Item::Number(number));
                    self.active = Some(index);
                }
            }
            _ => {
                let index = self.append(Item::Number(number));
                self.active = if padded { None } else { Some(index) };
            }
        }
        Ok(())
    }
}

fn num(kind: NumKind, min: usize, max: usize, sign: SignStyle) -> Number {
    Number {
        kind,
        min,
        max,
        sign,
        subsequent: 0,
    }
}

fn field_for(letter: char) -> Option<Field> {
    Some(match letter {
        'G' => Field::Era,
        'y' => Field::YearOfEra,
        'u' => Field::Year,
        'Q' | 'q' => Field::Quarter,
        'M' | 'L' => Field::Month,
        'D' => Field::DayOfYear,
        'd' => Field::DayOfMonth,
        'F' => Field::AlignedDayOfWeekInMonth,
        'E' | 'c' | 'e' => Field::DayOfWeek,
        'a' => Field::AmPm,
        'H' => Field::HourOfDay,
        'k' => Field::ClockHourOfDay,
        'K' => Field::HourOfAmPm,
        'h' => Field::ClockHourOfAmPm,
        'm' => Field::Minute,
        's' => Field::Second,
        'S' | 'n' => Field::NanoOfSecond,
        'A' => Field::MilliOfDay,
        'N' => Field::NanoOfDay,
        _ => return None,
    })
}

/// Java's offset patterns, indexed as `OffsetIdPrinterParser.PATTERNS`.
const OFFSET_PATTERNS: [&str; 11] = [
    "+HH",
    "+HHmm",
    "+HH:mm",
    "+HHMM",
    "+HH:MM",
    "+HHMMss",
    "+HH:MM:ss",
    "+HHMMSS",
    "+HH:MM:SS",
    "+HHmmss",
    "+HH:mm:ss",
];

fn too_many(letter: char) -> String {
    format!("Too many pattern letters: {letter}")
}

impl JavaFormatter {
    /// Compiles a pattern like `DateTimeFormatter.ofPattern`; the error is Java's message.
    pub fn new(
        pattern: &str,
        case_insensitive: bool,
        locale: Locale,
    ) -> Result<JavaFormatter, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut levels = vec![Level::new()];
        let mut pos = 0;
        while pos < chars.len() {
            let mut cur = chars[pos];
            if cur.is_ascii_alphabetic() {
                let mut start = pos;
                pos += 1;
                while pos < chars.len() && chars[pos] == cur {
                    pos += 1;
                }
                let mut count = pos - start;
                if cur == 'p' {
                    let mut pad = 0;
                    if pos < chars.len() && chars[pos].is_ascii_alphabetic() {
                        cur = chars[pos];
                        pad = count;
                        start = pos;
                        pos += 1;
                        while pos < chars.len() && chars[pos] == cur {
                            pos += 1;
                        }
                        count = pos - start;
                    }
                    if pad == 0 {
                        return Err(format!(
                            "Pad letter 'p' must be followed by valid pad pattern: {pattern}"
                        ));
                    }
                    levels.last_mut().unwrap().pad_next = pad;
                }
                let level = levels.last_mut().unwrap();
                compile_letter(level, cur, count)?;
            } else if cur == '\'' {
                let start = pos;
                pos += 1;
                while pos < chars.len() {
                    if chars[pos] == '\'' {
                        if pos + 1 < chars.len() && chars[pos + 1] == '\'' {
                            pos += 1;
                        } else {
                            break;
                        }
                    }
                    pos += 1;
                }
                if pos >= chars.len() {
                    return Err(format!(
                        "Pattern ends with an incomplete string literal: {pattern}"
                    ));
                }
                let text: String = chars[start + 1..pos].iter().collect();
                let literal = if text.is_empty() {
                    "'".to_string()
                } else {
                    text.replace("''", "'")
                };
                levels.last_mut().unwrap().append(Item::Literal(literal));
                pos += 1;
            } else if cur == '[' {
                levels.push(Level::new());
                pos += 1;
            } else if cur == ']' {
                if levels.len() == 1 {
                    return Err("Pattern invalid as it contains ] without previous [".to_string());
                }
                let done = levels.pop().unwrap();
                levels
                    .last_mut()
                    .unwrap()
                    .append(Item::Optional(done.items));
                pos += 1;
            } else if cur == '{' || cur == '}' || cur == '#' {
                return Err(format!("Pattern includes reserved character: '{cur}'"));
            } else {
                levels
                    .last_mut()
                    .unwrap()
                    .append(Item::Literal(cur.to_string()));
                pos += 1;
            }
        }
        // Unclosed optional sections end with the pattern.
        while levels.len() > 1 {
            let done = levels.pop().unwrap();
            levels
                .last_mut()
                .unwrap()
                .append(Item::Optional(done.items));
        }
        Ok(JavaFormatter {
            items: levels.pop().unwrap().items,
            case_insensitive,
            locale,
        })
    }
}

fn compile_letter(level: &mut Level, cur: char, count: usize) -> Result<(), String> {
    use SignStyle::*;
    if let Some(field) = field_for(cur) {
        let mut standalone = false;
        match cur {
            'u' | 'y' => {
                if count == 2 {
                    level.append_value(num(NumKind::Reduced(field), 2, 2, NotNegative))?;
                } else if count < 4 {
                    level.append_value(num(NumKind::Field(field), count, 19, Normal))?;
                } else {
                    level.append_value(num(NumKind::Field(field), count, 19, ExceedsPad))?;
                }
            }
            'c' | 'L' | 'q' | 'M' | 'Q' | 'E' | 'e' => {
                if cur == 'c' {
                    if count == 1 {
                        level.append_value(num(NumKind::Week('c'), 1, 1, NotNegative))?;
                        return Ok(());
                    } else if count == 2 {
                        return Err("Invalid pattern \"cc\"".to_string());
                    }
                }
                if matches!(cur, 'c' | 'L' | 'q') {
                    standalone = true;
                }
                let _ = standalone;
                match count {
                    1 | 2 => {
                        if cur == 'e' {
                            level.append_value(num(
                                NumKind::Week('e'),
                                count,
                                count,
                                NotNegative,
                            ))?;
                        } else if cur == 'E' {
                            level.append(Item::Text(field, TextStyle::Short));
                        } else if count == 1 {
                            level.append_value(num(NumKind::Field(field), 1, 19, Normal))?;
                        } else {
                            level.append_value(num(NumKind::Field(field), 2, 2, NotNegative))?;
                        }
                    }
                    3 => {
                        level.append(Item::Text(field, TextStyle::Short));
                    }
                    4 => {
                        level.append(Item::Text(field, TextStyle::Full));
                    }
                    5 => {
                        level.append(Item::Text(field, TextStyle::Narrow));
                    }
                    _ => return Err(too_many(cur)),
                }
            }
            'a' => {
                if count == 1 {
                    level.append(Item::Text(field, TextStyle::Short));
                } else {
                    return Err(too_many(cur));
                }
            }
            'G' => match count {
                1..=3 => {
                    level.append(Item::Text(field, TextStyle::Short));
                }
                4 => {
                    level.append(Item::Text(field, TextStyle::Full));
                }
                5 => {
                    level.append(Item::Text(field, TextStyle::Narrow));
                }
                _ => return Err(too_many(cur)),
            },
            'S' => {
                if count > 9 {
                    return Err(format!(
                        "Maximum width must be from 1 to 9 inclusive but was {count}"
                    ));
                }
                level.append_value(num(NumKind::Fraction, count, count, NotNegative))?;
            }
            'F' => {
                if count == 1 {
                    level.append_value(num(NumKind::Field(field), 1, 19, Normal))?;
                } else {
                    return Err(too_many(cur));
                }
            }
            'd' | 'h' | 'H' | 'k' | 'K' | 'm' | 's' => {
                if count == 1 {
                    level.append_value(num(NumKind::Field(field), 1, 19, Normal))?;
                } else if count == 2 {
                    level.append_value(num(NumKind::Field(field), 2, 2, NotNegative))?;
                } else {
                    return Err(too_many(cur));
                }
            }
            'D' => {
                if count == 1 {
                    level.append_value(num(NumKind::Field(field), 1, 19, Normal))?;
                } else if count <= 3 {
                    level.append_value(num(NumKind::Field(field), count, 3, NotNegative))?;
                } else {
                    return Err(too_many(cur));
                }
            }
            'A' | 'n' | 'N' => {
                level.append_value(num(NumKind::Field(field), count, 19, NotNegative))?;
            }
            _ => {
                if count == 1 {
                    level.append_value(num(NumKind::Field(field), 1, 19, Normal))?;
                } else {
                    level.append_value(num(NumKind::Field(field), count, count, NotNegative))?;
                }
            }
        }
        return Ok(());
    }
    match cur {
        'z' => {
            if count > 4 {
                return Err(too_many(cur));
            }
            level.append(Item::ZoneText {
                full: count == 4,
                generic: false,
            });
        }
        'V' => {
            if count != 2 {
                return Err(format!("Pattern letter count must be 2: {cur}"));
            }
            level.append(Item::ZoneId);
        }
        'v' => {
            if count != 1 && count != 4 {
                return Err(format!("Wrong number of  pattern letters: {cur}"));
            }
            level.append(Item::ZoneText {
                full: count == 4,
                generic: true,
            });
        }
        'Z' => {
            if count < 4 {
                level.append(Item::Offset {
                    pattern: "+HHMM",
                    zero: "+0000".to_string(),
                });
            } else if count == 4 {
                level.append(Item::LocalizedOffset { full: true });
            } else if count == 5 {
                level.append(Item::Offset {
                    pattern: "+HH:MM:ss",
                    zero: "Z".to_string(),
                });
            } else {
                return Err(too_many(cur));
            }
        }
        'O' => {
            if count == 1 || count == 4 {
                level.append(Item::LocalizedOffset { full: count == 4 });
            } else {
                return Err(format!("Pattern letter count must be 1 or 4: {cur}"));
            }
        }
        'X' | 'x' => {
            if count > 5 {
                return Err(too_many(cur));
            }
            let pattern = OFFSET_PATTERNS[count + if count == 1 { 0 } else { 1 }];
            let zero = if cur == 'X' {
                "Z"
            } else if count == 1 {
                "+00"
            } else if count.is_multiple_of(2) {
                "+0000"
            } else {
                "+00:00"
            };
            level.append(Item::Offset {
                pattern,
                zero: zero.to_string(),
            });
        }
        'W' => {
            if count > 1 {
                return Err(too_many(cur));
            }
            level.append_value(num(NumKind::Week('W'), 1, 1, NotNegative))?;
        }
        'w' => {
            if count > 2 {
                return Err(too_many(cur));
            }
            level.append_value(num(NumKind::Week('w'), count, 2, NotNegative))?;
        }
        'Y' => {
            if count == 2 {
                level.append_value(num(NumKind::ReducedWeekYear, 2, 2, NotNegative))?;
            } else {
                let sign = if count < 4 { Normal } else { ExceedsPad };
                level.append_value(num(NumKind::Week('Y'), count, 19, sign))?;
            }
        }
        _ => return Err(format!("Unknown pattern letter: {cur}")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Formatting

/// What a formatter prints: a `LocalDate`, `LocalTime`, or a `ZonedDateTime` (all three).
#[derive(Debug, Clone)]
pub struct Temporal<'a> {
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    /// The zone, with the offset and the epoch second of the instant.
    pub zone: Option<(&'a Zone, i32, i64)>,
}

impl Temporal<'_> {
    fn describe(&self) -> String {
        match (self.date, self.time) {
            (Some(d), Some(t)) => format!("{}T{}", d, java_time(t)),
            (Some(d), None) => java_date(d),
            (None, Some(t)) => java_time(t),
            (None, None) => String::new(),
        }
    }

    fn get(&self, field: Field) -> Option<i64> {
        if let Some(d) = self.date {
            let year = i64::from(d.year());
            let value = match field {
                Field::Era => Some(i64::from(year >= 1)),
                Field::YearOfEra => Some(if year >= 1 { year } else { 1 - year }),
                Field::Year => Some(year),
                Field::Quarter => Some(i64::from(d.month0() / 3 + 1)),
                Field::Month => Some(i64::from(d.month())),
                Field::AlignedDayOfWeekInMonth => Some(i64::from(d.day0() % 7 + 1)),
                Field::DayOfWeek => Some(i64::from(d.weekday().number_from_monday())),
                Field::DayOfMonth => Some(i64::from(d.day())),
                Field::DayOfYear => Some(i64::from(d.ordinal())),
                _ => None,
            };
            if value.is_some() {
                return value;
            }
        }
        if let Some(t) = self.time {
            let hour = i64::from(t.hour());
            let nano = i64::from(t.nanosecond().min(999_999_999));
            let nano_of_day = i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + nano;
            let value = match field {
                Field::AmPm => Some(hour / 12),
                Field::HourOfAmPm => Some(hour % 12),
                Field::ClockHourOfAmPm => Some(if hour % 12 == 0 { 12 } else { hour % 12 }),
                Field::HourOfDay => Some(hour),
                Field::ClockHourOfDay => Some(if hour == 0 { 24 } else { hour }),
                Field::Minute => Some(i64::from(t.minute())),
                Field::Second => Some(i64::from(t.second())),
                Field::MilliOfSecond => Some(nano / 1_000_000),
                Field::NanoOfSecond => Some(nano),
                Field::MilliOfDay => Some(nano_of_day / 1_000_000),
                Field::NanoOfDay => Some(nano_of_day),
                _ => None,
            };
            if value.is_some() {
                return value;
            }
        }
        if field == Field::OffsetSeconds {
            return self.zone.map(|(_, offset, _)| i64::from(offset));
        }
        None
    }
}

/// `LocalDate.toString()`.
pub fn java_date(d: NaiveDate) -> String {
    let y = d.year();
    if y.abs() < 10_000 {
        if y < 0 {
            format!("-{:04}-{:02}-{:02}", -y, d.month(), d.day())
        } else {
            format!("{:04}-{:02}-{:02}", y, d.month(), d.day())
        }
    } else {
        format!("{:+}-{:02}-{:02}", y, d.month(), d.day())
    }
}

/// `LocalTime.toString()`.
pub fn java_time(t: NaiveTime) -> String {
    let mut s = format!("{:02}:{:02}", t.hour(), t.minute());
    let (sec, nano) = (t.second(), t.nanosecond().min(999_999_999));
    if sec > 0 || nano > 0 {
        s.push_str(&format!(":{sec:02}"));
        if nano > 0 {
            if nano % 1_000_000 == 0 {
                s.push_str(&format!(".{:03}", nano / 1_000_000));
            } else if nano % 1000 == 0 {
                s.push_str(&format!(".{:06}", nano / 1000));
            } else {
                s.push_str(&format!(".{nano:09}"));
            }
        }
    }
    s
}

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
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The texts of a field's values in a style and locale, as (text, value) pairs.
fn texts(field: Field, style: TextStyle, locale: Locale) -> Vec<(String, i64)> {
    let style = match (locale, field, style) {
        (Locale::Root, Field::Month | Field::DayOfWeek | Field::Quarter, TextStyle::Full) => {
            TextStyle::Short
        }
        _ => style,
    };
    let numbered = |names: &[&str], first: i64| -> Vec<(String, i64)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let text = match style {
                    TextStyle::Full => n.to_string(),
                    TextStyle::Short => n.chars().take(3).collect(),
                    TextStyle::Narrow => n.chars().take(1).collect(),
                };
                (text, first + i as i64)
            })
            .collect()
    };
    match field {
        Field::Month if locale == Locale::Root && style == TextStyle::Narrow => {
            (1..=12).map(|m| (m.to_string(), m)).collect()
        }
        Field::Month => numbered(&MONTHS, 1),
        Field::DayOfWeek => numbered(&DAYS, 1),
        Field::AmPm => vec![("AM".to_string(), 0), ("PM".to_string(), 1)],
        Field::Era => match (locale, style) {
            (_, TextStyle::Short) => vec![("BC".to_string(), 0), ("AD".to_string(), 1)],
            (Locale::Root, _) => vec![("BCE".to_string(), 0), ("CE".to_string(), 1)],
            (Locale::Us, TextStyle::Full) => vec![
                ("Before Christ".to_string(), 0),
                ("Anno Domini".to_string(), 1),
            ],
            (Locale::Us, TextStyle::Narrow) => {
                vec![("B".to_string(), 0), ("A".to_string(), 1)]
            }
        },
        Field::Quarter => (1..=4)
            .map(|q| {
                let text = match style {
                    TextStyle::Short => format!("Q{q}"),
                    TextStyle::Full => {
                        format!("{q}{} quarter", ["st", "nd", "rd", "th"][q as usize - 1])
                    }
                    TextStyle::Narrow => q.to_string(),
                };
                (text, q)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The US week definition (weeks start on Sunday; the first week has at least one day).
mod week {
    use chrono::{Datelike, NaiveDate};

    const FIRST_DAY: i64 = 7; // Sunday
    const MIN_DAYS: i64 = 1;

    pub fn localized_day_of_week(d: NaiveDate) -> i64 {
        (i64::from(d.weekday().number_from_monday()) - FIRST_DAY).rem_euclid(7) + 1
    }

    fn start_of_week_offset(day: i64, dow: i64) -> i64 {
        let week_start = (day - dow).rem_euclid(7);
        let mut offset = -week_start;
        if week_start + 1 > MIN_DAYS {
            offset = 7 - week_start;
        }
        offset
    }

    fn compute_week(offset: i64, day: i64) -> i64 {
        (7 + offset + (day - 1)).div_euclid(7)
    }

    fn year_len(d: NaiveDate) -> i64 {
        if d.leap_year() { 366 } else { 365 }
    }

    pub fn week_of_month(d: NaiveDate) -> i64 {
        let dow = localized_day_of_week(d);
        let dom = i64::from(d.day());
        compute_week(start_of_week_offset(dom, dow), dom)
    }

    pub fn week_of_week_based_year(d: NaiveDate) -> i64 {
        let dow = localized_day_of_week(d);
        let doy = i64::from(d.ordinal());
        let offset = start_of_week_offset(doy, dow);
        let week = compute_week(offset, doy);
        if week == 0 {
            return match d.checked_sub_signed(chrono::Duration::days(doy)) {
                Some(previous) => week_of_week_based_year(previous),
                None => week,
            };
        }
        if week > 50 {
            let new_year_week = compute_week(offset, year_len(d) + MIN_DAYS);
            if week >= new_year_week {
                return week - new_year_week + 1;
            }
        }
        week
    }

    pub fn week_based_year(d: NaiveDate) -> i64 {
        let dow = localized_day_of_week(d);
        let year = i64::from(d.year());
        let doy = i64::from(d.ordinal());
        let offset = start_of_week_offset(doy, dow);
        let week = compute_week(offset, doy);
        if week == 0 {
            return year - 1;
        }
        let new_year_week = compute_week(offset, year_len(d) + MIN_DAYS);
        if week >= new_year_week {
            return year + 1;
        }
        year
    }
}

/// Java's `EXCEED_POINTS`: 10^n.
fn exceed_point(n: usize) -> i128 {
    10i128.pow(n.min(30) as u32)
}

fn unsupported(field: Field) -> String {
    format!("Unsupported field: {}", field.name())
}

impl JavaFormatter {
    /// Formats a temporal; the error is Java's message.
    pub fn format(&self, t: &Temporal) -> Result<String, String> {
        let mut out = String::new();
        for item in &self.items {
            if !format_item(item, t, &mut out, false)? {
                break;
            }
        }
        Ok(out)
    }
}

/// Prints one item. In an optional section a missing field makes it return `Ok(false)`.
fn format_item(
    item: &Item,
    t: &Temporal,
    out: &mut String,
    optional: bool,
) -> Result<bool, String> {
    let value = |field: Field| -> Result<Option<i64>, String> {
        match t.get(field) {
            Some(v) => Ok(Some(v)),
            None if optional => Ok(None),
            None => Err(unsupported(field)),
        }
    };
    match item {
        Item::Literal(s) => out.push_str(s),
        Item::Optional(items) => {
            let start = out.len();
            for item in items {
                if !format_item(item, t, out, true)? {
                    out.truncate(start);
                    break;
                }
            }
        }
        Item::Pad { width, item } => {
            let start = out.len();
            if !format_item(item, t, out, optional)? {
                return Ok(false);
            }
            let len = out[start..].chars().count();
            if len > *width {
                return Err(format!(
                    "Cannot print as output of {len} characters exceeds pad width of {width}"
                ));
            }
            out.insert_str(start, &" ".repeat(width - len));
        }
        Item::Text(field, style) => {
            let Some(v) = value(*field)? else {
                return Ok(false);
            };
            match texts(*field, *style, Locale::Us)
                .into_iter()
                .find(|(_, value)| *value == v)
            {
                Some((text, _)) => out.push_str(&text),
                None => out.push_str(&v.to_string()),
            }
        }
        Item::Number(n) => {
            let v = match n.kind {
                NumKind::Field(f) | NumKind::Reduced(f) => value(f)?,
                NumKind::Fraction => value(Field::NanoOfSecond)?,
                NumKind::Week(_) | NumKind::ReducedWeekYear => match t.date {
                    Some(d) => Some(match n.kind {
                        NumKind::Week('Y') | NumKind::ReducedWeekYear => week::week_based_year(d),
                        NumKind::Week('w') => week::week_of_week_based_year(d),
                        NumKind::Week('W') => week::week_of_month(d),
                        _ => week::localized_day_of_week(d),
                    }),
                    None if optional => None,
                    None => {
                        return Err(match n.kind {
                            NumKind::Week('Y') | NumKind::ReducedWeekYear => {
                                "Unsupported field: WeekBasedYear".to_string()
                            }
                            NumKind::Week('w') => {
                                "Unsupported field: WeekOfWeekBasedYear".to_string()
                            }
                            NumKind::Week('W') => "Unsupported field: WeekOfMonth".to_string(),
                            _ => "Unsupported field: DayOfWeek".to_string(),
                        });
                    }
                },
            };
            let Some(v) = v else { return Ok(false) };
            format_number(n, v, out)?;
        }
        Item::Offset { pattern, zero } => {
            let Some(v) = value(Field::OffsetSeconds)? else {
                return Ok(false);
            };
            format_offset(pattern, zero, v as i32, out);
        }
        Item::LocalizedOffset { full } => {
            let Some(v) = value(Field::OffsetSeconds)? else {
                return Ok(false);
            };
            format_localized_offset(*full, v as i32, out);
        }
        Item::ZoneText { full, generic } => {
            let Some((zone, _, epoch)) = t.zone else {
                if optional {
                    return Ok(false);
                }
                return Err(format!(
                    "Unable to extract ZoneId from temporal {}",
                    t.describe()
                ));
            };
            let instant = if *generic { None } else { Some(epoch) };
            match zone.display_name(*full, instant) {
                Some(name) => out.push_str(&name),
                None => out.push_str(zone.id()),
            }
        }
        Item::ZoneId => {
            let Some((zone, _, _)) = t.zone else {
                if optional {
                    return Ok(false);
                }
                return Err(format!(
                    "Unable to extract ZoneId from temporal {}",
                    t.describe()
                ));
            };
            out.push_str(zone.id());
        }
    }
    Ok(true)
}

fn format_number(n: &Number, value: i64, out: &mut String) -> Result<(), String> {
    match n.kind {
        NumKind::Fraction => {
            let digits = format!("{value:09}");
            out.push_str(&digits[..n.min.min(9)]);
            return Ok(());
        }
        NumKind::Reduced(_) | NumKind::ReducedWeekYear => {
            let v = value.unsigned_abs() % 100;
            out.push_str(&format!("{v:02}"));
            return Ok(());
        }
        _ => {}
    }
    let digits = value.unsigned_abs().to_string();
    let field_name = match n.kind {
        NumKind::Field(f) => f.name().to_string(),
        _ => "Week".to_string(),
    };
    if digits.len() > n.max {
        return Err(format!(
            "Field {field_name} cannot be printed as the value {value} exceeds the maximum print width of {}",
            n.max
        ));
    }
    if value >= 0 {
        if n.sign == SignStyle::ExceedsPad && n.min < 19 && i128::from(value) >= exceed_point(n.min)
        {
            out.push('+');
        }
    } else {
        match n.sign {
            SignStyle::Normal | SignStyle::ExceedsPad => out.push('-'),
            SignStyle::NotNegative => {
                return Err(format!(
                    "Field {field_name} cannot be printed as the value {value} cannot be negative according to the SignStyle"
                ));
            }
        }
    }
    for _ in digits.len()..n.min {
        out.push('0');
    }
    out.push_str(&digits);
    Ok(())
}

fn format_offset(pattern: &str, zero: &str, total: i32, out: &mut String) {
    if total == 0 {
        out.push_str(zero);
        return;
    }
    let kind = OFFSET_PATTERNS
        .iter()
        .position(|p| *p == pattern)
        .unwrap_or(0);
    let colon = pattern.contains(':');
    let abs_hours = ((total / 3600) % 100).abs();
    let abs_minutes = ((total / 60) % 60).abs();
    let abs_seconds = (total % 60).abs();
    let start = out.len();
    let mut output = abs_hours;
    out.push(if total < 0 { '-' } else { '+' });
    out.push_str(&format!("{abs_hours:02}"));
    if (3..=8).contains(&kind) || (kind >= 9 && abs_seconds > 0) || (kind >= 1 && abs_minutes > 0) {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{abs_minutes:02}"));
        output += abs_minutes;
        if kind == 7 || kind == 8 || (kind >= 5 && abs_seconds > 0) {
            if colon {
                out.push(':');
            }
            out.push_str(&format!("{abs_seconds:02}"));
            output += abs_seconds;
        }
    }
    if output == 0 {
        out.truncate(start);
        out.push_str(zero);
    }
}

fn format_localized_offset(full: bool, total: i32, out: &mut String) {
    out.push_str("GMT");
    if total == 0 {
        return;
    }
    let abs_hours = ((total / 3600) % 100).abs();
    let abs_minutes = ((total / 60) % 60).abs();
    let abs_seconds = (total % 60).abs();
    out.push(if total < 0 { '-' } else { '+' });
    if full {
        out.push_str(&format!("{abs_hours:02}:{abs_minutes:02}"));
        if abs_seconds != 0 {
            out.push_str(&format!(":{abs_seconds:02}"));
        }
    } else {
        out.push_str(&abs_hours.to_string());
        if abs_minutes != 0 || abs_seconds != 0 {
            out.push_str(&format!(":{abs_minutes:02}"));
            if abs_seconds != 0 {
                out.push_str(&format!(":{abs_seconds:02}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// What parsing found, before resolution.
#[derive(Debug, Clone, Default)]
struct Context {
    fields: BTreeMap<Field, i64>,
    zone: Option<Zone>,
}

impl Context {
    /// Java's `setParsedField`: a second, different value for a field fails the parse.
    fn set(
        &mut self,
        field: Field,
        value: i64,
        error_pos: usize,
        end: usize,
    ) -> Result<usize, usize> {
        match self.fields.insert(field, value) {
            Some(old) if old != value => Err(error_pos),
            _ => Ok(end),
        }
    }
}

struct Input<'a> {
    chars: &'a [char],
    ci: bool,
    locale: Locale,
}

impl Input<'_> {
    fn char_eq(&self, a: char, b: char) -> bool {
        a == b
            || (self.ci
                && (a.to_uppercase().eq(b.to_uppercase()) || a.to_lowercase().eq(b.to_lowercase())))
    }

    fn matches(&self, pos: usize, s: &str) -> bool {
        (pos..)
            .zip(s.chars())
            .all(|(i, c)| i < self.chars.len() && self.char_eq(self.chars[i], c))
    }

    fn digit(&self, pos: usize) -> Option<u32> {
        self.chars.get(pos).and_then(|c| {
            if c.is_ascii_digit() {
                c.to_digit(10)
            } else {
                None
            }
        })
    }
}

/// The result of parsing and resolving text (Java's `Parsed`).
#[derive(Debug, Clone)]
pub struct Parsed {
    fields: BTreeMap<Field, i64>,
    zone: Option<Zone>,
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    excess_days: i64,
}

impl JavaFormatter {
    /// Parses the whole text and resolves it; the error is Java's message.
    pub fn parse(&self, text: &str) -> Result<Parsed, String> {
        let chars: Vec<char> = text.chars().collect();
        let input = Input {
            chars: &chars,
            ci: self.case_insensitive,
            locale: self.locale,
        };
        let mut ctx = Context::default();
        let mut pos = 0;
        for item in &self.items {
            match parse_item(item, &input, &mut ctx, pos) {
                Ok(p) => pos = p,
                Err(at) => {
                    return Err(format!("Text '{text}' could not be parsed at index {at}"));
                }
            }
        }
        if pos < chars.len() {
            return Err(format!(
                "Text '{text}' could not be parsed, unparsed text found at index {pos}"
            ));
        }
        resolve(ctx).map_err(|e| format!("Text '{text}' could not be parsed: {e}"))
    }
}

fn parse_item(item: &Item, input: &Input, ctx: &mut Context, pos: usize) -> Result<usize, usize> {
    let len = input.chars.len();
    match item {
        Item::Literal(s) => {
            if pos > len {
                return Err(pos);
            }
            if input.matches(pos, s) {
                Ok(pos + s.chars().count())
            } else {
                Err(pos)
            }
        }
        Item::Optional(items) => {
            let saved = ctx.clone();
            let mut p = pos;
            for item in items {
                match parse_item(item, input, ctx, p) {
                    Ok(next) => p = next,
                    Err(_) => {
                        *ctx = saved;
                        return Ok(pos);
                    }
                }
            }
            Ok(p)
        }
        Item::Pad { width, item } => {
            // Strict: exactly `width` characters, leading pad spaces then the item.
            let end = pos + width;
            if end > len {
                return Err(pos);
            }
            let mut p = pos;
            while p < end && input.chars[p] == ' ' {
                p += 1;
            }
            let sub: Vec<char> = input.chars[..end].to_vec();
            let sub_input = Input {
                chars: &sub,
                ci: input.ci,
                locale: input.locale,
            };
            let r = parse_item(item, &sub_input, ctx, p)?;
            if r != end { Err(pos) } else { Ok(r) }
        }
        Item::Number(n) => parse_number(n, input, ctx, pos),
        Item::Text(field, style) => {
            if pos > len {
                return Err(pos);
            }
            // Longest first; of equal texts (narrow names) the last value wins, as in Java.
            let mut candidates = texts(*field, *style, input.locale);
            candidates.reverse();
            candidates.sort_by_key(|(t, _)| std::cmp::Reverse(t.chars().count()));
            for (text, value) in candidates {
                if input.matches(pos, &text) {
                    return ctx.set(*field, value, pos, pos + text.chars().count());
                }
            }
            Err(pos)
        }
        Item::Offset { pattern, zero } => parse_offset(pattern, zero, input, ctx, pos),
        Item::LocalizedOffset { full } => parse_localized_offset(*full, input, ctx, pos),
        Item::ZoneText { full, .. } => parse_zone(input, ctx, pos, Some(*full)),
        Item::ZoneId => parse_zone(input, ctx, pos, None),
    }
}

fn sign_allowed(sign: SignStyle, positive: bool) -> bool {
    match sign {
        SignStyle::Normal => !positive,
        SignStyle::ExceedsPad => true,
        SignStyle::NotNegative => false,
    }
}

fn parse_number(
    n: &Number,
    input: &Input,
    ctx: &mut Context,
    start: usize,
) -> Result<usize, usize> {
    if n.kind == NumKind::Fraction {
        return parse_fraction(n, input, ctx, start);
    }
    let chars = input.chars;
    let len = chars.len();
    if start >= len {
        return Err(start);
    }
    let mut position = start;
    let (mut negative, mut positive) = (false, false);
    match chars[position] {
        '+' => {
            if !sign_allowed(n.sign, true) {
                return Err(position);
            }
            positive = true;
            position += 1;
        }
        '-' => {
            if !sign_allowed(n.sign, false) {
                return Err(position);
            }
            negative = true;
            position += 1;
        }
        _ => {}
    }
    let eff_min = n.min;
    let min_end = position + eff_min;
    if min_end > len {
        return Err(position);
    }
    let mut eff_max = n.max + n.subsequent.max(0) as usize;
    let mut total: i128 = 0;
    let mut pos = position;
    for pass in 0..2 {
        let max_end = (pos + eff_max).min(len);
        while pos < max_end {
            let ch = chars[pos];
            pos += 1;
            if !ch.is_ascii_digit() {
                pos -= 1;
                if pos < min_end {
                    return Err(position);
                }
                break;
            }
            let digit = i128::from(ch as u8 - b'0');
            // Beyond i64 the last digit is dropped, as Java does.
            if total <= i128::from(i64::MAX) {
                total = total * 10 + digit;
            }
        }
        if n.subsequent > 0 && pass == 0 {
            let parse_len = (pos - position) as i64;
            eff_max = eff_min.max((parse_len - n.subsequent).max(0) as usize);
            pos = position;
            total = 0;
        } else {
            break;
        }
    }
    if total > i128::from(i64::MAX) {
        total /= 10;
        pos -= 1;
    }
    if negative {
        if total == 0 {
            return Err(position - 1);
        }
        total = -total;
    } else if n.sign == SignStyle::ExceedsPad {
        let parse_len = pos - position;
        if positive {
            if parse_len <= n.min {
                return Err(position - 1);
            }
        } else if parse_len > n.min {
            return Err(position);
        }
    }
    let value = total as i64;
    match n.kind {
        NumKind::Field(f) => ctx.set(f, value, position, pos),
        NumKind::Reduced(f) => {
            let mut value = value;
            if pos - position == n.min && value >= 0 {
                value += 2000;
            }
            ctx.set(f, value, position, pos)
        }
        // The localized day of week (Sunday is 1) is the day of week.
        NumKind::Week('e' | 'c') => {
            Field::DayOfWeek.check(value).map_err(|_| position)?;
            ctx.set(Field::DayOfWeek, (value + 5) % 7 + 1, position, pos)
        }
        // Week-based fields don't resolve without a day of week; ksqlDB ignores them.
        NumKind::Week(_) | NumKind::ReducedWeekYear | NumKind::Fraction => Ok(pos),
    }
}

fn parse_fraction(
    n: &Number,
    input: &Input,
    ctx: &mut Context,
    position: usize,
) -> Result<usize, usize> {
    let len = input.chars.len();
    if position == len {
        return if n.min > 0 {
            Err(position)
        } else {
            Ok(position)
        };
    }
    let min_end = position + n.min;
    if min_end > len {
        return Err(position);
    }
    let max_end = (position + n.max).min(len);
    let mut total: i64 = 0;
    let mut pos = position;
    while pos < max_end {
        match input.digit(pos) {
            Some(d) => {
                total = total * 10 + i64::from(d);
                pos += 1;
            }
            None => {
                if pos + 1 < min_end {
                    return Err(position);
                }
                break;
            }
        }
    }
    if pos < min_end {
        return Err(position);
    }
    let digits = pos - position;
    let nanos = total * 10i64.pow(9 - digits.min(9) as u32);
    ctx.set(Field::NanoOfSecond, nanos, position, pos)
}

/// Two digits (after a colon when asked), for the offset parser; Java's `parseDigits`.
fn offset_digits(input: &Input, colon: bool, index: usize, array: &mut [i64; 4]) -> bool {
    let mut pos = array[0];
    if pos < 0 {
        return true;
    }
    let chars = input.chars;
    if colon && index != 1 {
        if pos as usize + 1 > chars.len() || chars[pos as usize] != ':' {
            return false;
        }
        pos += 1;
    }
    let p = pos as usize;
    if p + 2 > chars.len() {
        return false;
    }
    let (c1, c2) = (chars[p], chars[p + 1]);
    if !c1.is_ascii_digit() || !c2.is_ascii_digit() {
        return false;
    }
    let value = i64::from(c1 as u8 - b'0') * 10 + i64::from(c2 as u8 - b'0');
    if value > 59 {
        return false;
    }
    array[index] = value;
    array[0] = pos + 2;
    true
}

/// Two digits that must be there: without them the parse fails.
fn mandatory_digits(input: &Input, colon: bool, index: usize, array: &mut [i64; 4]) {
    if !offset_digits(input, colon, index, array) {
        array[0] = !array[0];
    }
}

fn parse_offset(
    pattern: &str,
    zero: &str,
    input: &Input,
    ctx: &mut Context,
    position: usize,
) -> Result<usize, usize> {
    let len = input.chars.len();
    if zero.is_empty() {
        if position == len {
            return ctx.set(Field::OffsetSeconds, 0, position, position);
        }
    } else {
        if position >= len {
            return Err(position);
        }
        if input.matches(position, zero) {
            return ctx.set(
                Field::OffsetSeconds,
                0,
                position,
                position + zero.chars().count(),
            );
        }
    }
    let sign = input.chars[position];
    if sign == '+' || sign == '-' {
        let negative = if sign == '-' { -1 } else { 1 };
        let colon = pattern.contains(':');
        let kind = OFFSET_PATTERNS
            .iter()
            .position(|p| *p == pattern)
            .unwrap_or(0);
        let mut array = [position as i64 + 1, 0, 0, 0];
        // The hour: two digits, mandatory.
        mandatory_digits(input, false, 1, &mut array);
        match kind {
            1 | 2 => {
                offset_digits(input, colon, 2, &mut array);
            }
            3 | 4 => mandatory_digits(input, colon, 2, &mut array),
            5 | 6 => {
                mandatory_digits(input, colon, 2, &mut array);
                offset_digits(input, colon, 3, &mut array);
            }
            7 | 8 => {
                mandatory_digits(input, colon, 2, &mut array);
                mandatory_digits(input, colon, 3, &mut array);
            }
            9 | 10 => {
                let _ = offset_digits(input, colon, 2, &mut array)
                    && offset_digits(input, colon, 3, &mut array);
            }
            _ => {}
        }
        if array[0] > 0 {
            if array[1] > 23 {
                // Java throws here rather than failing the parse; treat as a failure.
                return Err(position);
            }
            let seconds = negative * (array[1] * 3600 + array[2] * 60 + array[3]);
            return ctx.set(Field::OffsetSeconds, seconds, position, array[0] as usize);
        }
    }
    if zero.is_empty() {
        return ctx.set(Field::OffsetSeconds, 0, position, position);
    }
    Err(position)
}

fn parse_localized_offset(
    full: bool,
    input: &Input,
    ctx: &mut Context,
    position: usize,
) -> Result<usize, usize> {
    let end = input.chars.len();
    if !input.matches(position, "GMT") {
        return Err(position);
    }
    let mut pos = position + 3;
    if pos == end {
        return ctx.set(Field::OffsetSeconds, 0, position, pos);
    }
    let negative = match input.chars[pos] {
        '+' => 1,
        '-' => -1,
        _ => return ctx.set(Field::OffsetSeconds, 0, position, pos),
    };
    pos += 1;
    let digit = |p: usize| input.digit(p).map(i64::from);
    let (h, mut m, mut s);
    if full {
        let (Some(h1), Some(h2)) = (digit(pos), digit(pos + 1)) else {
            return Err(position);
        };
        if input.chars.get(pos + 2) != Some(&':') {
            return Err(position);
        }
        h = h1 * 10 + h2;
        let (Some(m1), Some(m2)) = (digit(pos + 3), digit(pos + 4)) else {
            return Err(position);
        };
        m = m1 * 10 + m2;
        s = 0;
        pos += 5;
        if pos + 2 < end
            && input.chars[pos] == ':'
            && let (Some(s1), Some(s2)) = (digit(pos + 1), digit(pos + 2))
        {
            s = s1 * 10 + s2;
            pos += 3;
        }
    } else {
        let Some(h1) = digit(pos) else {
            return Err(position);
        };
        let mut hours = h1;
        pos += 1;
        m = 0;
        s = 0;
        if pos < end {
            if let Some(h2) = digit(pos) {
                hours = hours * 10 + h2;
                pos += 1;
            }
            if pos + 2 < end
                && input.chars[pos] == ':'
                && let (Some(m1), Some(m2)) = (digit(pos + 1), digit(pos + 2))
            {
                m = m1 * 10 + m2;
                pos += 3;
                if pos + 2 < end
                    && input.chars[pos] == ':'
                    && let (Some(s1), Some(s2)) = (digit(pos + 1), digit(pos + 2))
                {
                    s = s1 * 10 + s2;
                    pos += 3;
                }
            }
        }
        h = hours;
    }
    ctx.set(
        Field::OffsetSeconds,
        negative * (h * 3600 + m * 60 + s),
        position,
        pos,
    )
}

/// A zone prefix (`UTC`, `GMT`, `UT`, or none) followed by an optional offset, as Java's
/// `parseOffsetBased`.
fn parse_offset_based(
    input: &Input,
    ctx: &mut Context,
    prefix_pos: usize,
    position: usize,
    zero: &str,
) -> Result<usize, usize> {
    let prefix: String = input.chars[prefix_pos..position]
        .iter()
        .collect::<String>()
        .to_uppercase();
    let bare = |ctx: &mut Context| -> Result<usize, usize> {
        match Zone::of(&prefix) {
            Ok(z) => {
                ctx.zone = Some(z);
                Ok(position)
            }
            Err(_) => Err(prefix_pos),
        }
    };
    if position >= input.chars.len() {
        return bare(ctx);
    }
    let next = input.chars[position];
    if next == '0' || input.char_eq(next, 'Z') {
        return bare(ctx);
    }
    let mut sub = Context::default();
    match parse_offset("+HH:MM:ss", zero, input, &mut sub, position) {
        Err(_) => {
            if zero == "Z" {
                Err(prefix_pos)
            } else {
                bare(ctx)
            }
        }
        Ok(end) => {
            let seconds = sub.fields.get(&Field::OffsetSeconds).copied().unwrap_or(0) as i32;
            let zone = if prefix.is_empty() {
                Ok(Zone::offset(seconds))
            } else {
                Zone::of(&format!(
                    "{prefix}{}",
                    super::zone::offset_id(seconds).replace('Z', "+00:00")
                ))
            };
            match zone {
                Ok(z) => {
                    ctx.zone = Some(z);
                    Ok(end)
                }
                Err(_) => Err(prefix_pos),
            }
        }
    }
}

/// A zone id (`VV`) or a zone id or name (`z`, `v`).
/// `names`: whether zone names are accepted too, and whether the long ones.
fn parse_zone(
    input: &Input,
    ctx: &mut Context,
    position: usize,
    names: Option<bool>,
) -> Result<usize, usize> {
    let chars = input.chars;
    let len = chars.len();
    if position >= len {
        return Err(position);
    }
    let next = chars[position];
    if next == '+' || next == '-' {
        return parse_offset_based(input, ctx, position, position, "Z");
    }
    if len >= position + 2 {
        let next2 = chars[position + 1];
        if input.char_eq(next, 'U') && input.char_eq(next2, 'T') {
            if len >= position + 3 && input.char_eq(chars[position + 2], 'C') {
                return parse_offset_based(input, ctx, position, position + 3, "0");
            }
            return parse_offset_based(input, ctx, position, position + 2, "0");
        }
        if input.char_eq(next, 'G')
            && len >= position + 3
            && input.char_eq(next2, 'M')
            && input.char_eq(chars[position + 2], 'T')
        {
            if len >= position + 4 && input.char_eq(chars[position + 3], '0') {
                ctx.zone = Zone::of("GMT0").ok();
                return Ok(position + 4);
            }
            return parse_offset_based(input, ctx, position, position + 3, "0");
        }
    }
    // The longest region id…
    let mut end = position;
    while end < len && (chars[end].is_ascii_alphanumeric() || "~/._+-".contains(chars[end])) {
        end += 1;
    }
    let mut best: Option<(Zone, usize)> = None;
    let mut e = end;
    while e > position + 1 {
        let id: String = chars[position..e].iter().collect();
        let zone = if input.ci {
            Zone::region_ignoring_case(&id)
        } else {
            Zone::of(&id).ok().filter(|z| !z.is_offset())
        };
        if let Some(z) = zone {
            best = Some((z, e - position));
            break;
        }
        e -= 1;
    }
    // …or the longest zone name (a name the same length as an id wins).
    if let Some(full) = names {
        let rest: String = chars[position..].iter().collect();
        if let Some((zone, bytes)) = zone_for_name(&rest, input.ci, full) {
            let matched = rest[..bytes].chars().count();
            if best.as_ref().is_none_or(|(_, l)| matched >= *l) {
                best = Some((zone, matched));
            }
        }
    }
    match best {
        Some((zone, matched)) => {
            ctx.zone = Some(zone);
            Ok(position + matched)
        }
        None => {
            if input.char_eq(next, 'Z') {
                ctx.zone = Some(Zone::utc_offset());
                Ok(position + 1)
            } else {
                Err(position)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution

struct Resolver {
    fields: BTreeMap<Field, i64>,
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    excess_days: i64,
}

impl Resolver {
    fn add(&mut self, field: Field, value: i64) -> Result<(), String> {
        match self.fields.insert(field, value) {
            Some(old) if old != value => Err(format!(
                "Conflict found: {} {old} differs from {} {value}",
                field.name(),
                field.name()
            )),
            _ => Ok(()),
        }
    }

    fn update(&mut self, target: Field, field: Field, value: i64) -> Result<(), String> {
        match self.fields.insert(field, value) {
            Some(old) if old != value => Err(format!(
                "Conflict found: {} {old} differs from {} {value} while resolving  {}",
                field.name(),
                field.name(),
                target.name()
            )),
            _ => Ok(()),
        }
    }

    fn take(&mut self, field: Field) -> Option<i64> {
        self.fields.remove(&field)
    }

    fn has(&self, field: Field) -> bool {
        self.fields.contains_key(&field)
    }

    fn resolve_date(&mut self) -> Result<(), String> {
        if let Some(yoe) = self.take(Field::YearOfEra) {
            Field::YearOfEra.check(yoe)?;
            if let Some(era) = self.take(Field::Era) {
                Field::Era.check(era)?;
                self.add(Field::Year, if era == 1 { yoe } else { 1 - yoe })?;
            } else {
                let year = self.fields.get(&Field::Year).copied();
                let value = if year.is_none_or(|y| y > 0) {
                    yoe
                } else {
                    1 - yoe
                };
                self.add(Field::Year, value)?;
            }
        } else if let Some(&era) = self.fields.get(&Field::Era) {
            Field::Era.check(era)?;
        }
        if self.has(Field::Year) {
            if self.has(Field::Month) && self.has(Field::DayOfMonth) {
                let y = Field::Year.check(self.take(Field::Year).unwrap())?;
                let m = Field::Month.check(self.take(Field::Month).unwrap())?;
                let mut d = Field::DayOfMonth.check(self.take(Field::DayOfMonth).unwrap())?;
                if matches!(m, 4 | 6 | 9 | 11) {
                    d = d.min(30);
                } else if m == 2 {
                    d = d.min(if is_leap(y) { 29 } else { 28 });
                }
                self.date = Some(ymd(y, m, d)?);
            } else if self.has(Field::DayOfYear) {
                let y = Field::Year.check(self.take(Field::Year).unwrap())?;
                let doy = Field::DayOfYear.check(self.take(Field::DayOfYear).unwrap())?;
                if doy == 366 && !is_leap(y) {
                    return Err(format!(
                        "Invalid date 'DayOfYear 366' as '{y}' is not a leap year"
                    ));
                }
                self.date = Some(
                    to_chrono_year(y)
                        .and_then(|y| NaiveDate::from_yo_opt(y, doy as u32))
                        .ok_or_else(|| format!("Invalid value for Year: {y}"))?,
                );
            }
        }
        Ok(())
    }

    fn resolve_time(&mut self) -> Result<(), String> {
        if let Some(ch) = self.take(Field::ClockHourOfDay) {
            if ch != 0 {
                Field::ClockHourOfDay.check(ch)?;
            }
            self.update(
                Field::ClockHourOfDay,
                Field::HourOfDay,
                if ch == 24 { 0 } else { ch },
            )?;
        }
        if let Some(ch) = self.take(Field::ClockHourOfAmPm) {
            if ch != 0 {
                Field::ClockHourOfAmPm.check(ch)?;
            }
            self.update(
                Field::ClockHourOfAmPm,
                Field::HourOfAmPm,
                if ch == 12 { 0 } else { ch },
            )?;
        }
        if self.has(Field::AmPm) && self.has(Field::HourOfAmPm) {
            let ap = Field::AmPm.check(self.take(Field::AmPm).unwrap())?;
            let hap = Field::HourOfAmPm.check(self.take(Field::HourOfAmPm).unwrap())?;
            self.update(Field::AmPm, Field::HourOfDay, ap * 12 + hap)?;
        }
        if let Some(nod) = self.take(Field::NanoOfDay) {
            Field::NanoOfDay.check(nod)?;
            self.update(Field::NanoOfDay, Field::HourOfDay, nod / 3_600_000_000_000)?;
            self.update(Field::NanoOfDay, Field::Minute, (nod / 60_000_000_000) % 60)?;
            self.update(Field::NanoOfDay, Field::Second, (nod / 1_000_000_000) % 60)?;
            self.update(Field::NanoOfDay, Field::NanoOfSecond, nod % 1_000_000_000)?;
        }
        if let Some(mod_) = self.take(Field::MilliOfDay) {
            Field::MilliOfDay.check(mod_)?;
            let sod = mod_ / 1000;
            self.update(Field::MilliOfDay, Field::MilliOfSecond, mod_ % 1000)?;
            self.update(Field::MilliOfDay, Field::HourOfDay, sod / 3600)?;
            self.update(Field::MilliOfDay, Field::Minute, (sod / 60) % 60)?;
            self.update(Field::MilliOfDay, Field::Second, sod % 60)?;
        }
        if let Some(&nos) = self.fields.get(&Field::NanoOfSecond) {
            Field::NanoOfSecond.check(nos)?;
            if let Some(los) = self.take(Field::MilliOfSecond) {
                Field::MilliOfSecond.check(los)?;
                self.update(
                    Field::MilliOfSecond,
                    Field::NanoOfSecond,
                    los * 1_000_000 + nos % 1_000_000,
                )?;
            }
        } else if let Some(los) = self.take(Field::MilliOfSecond) {
            Field::MilliOfSecond.check(los)?;
            self.fields.insert(Field::NanoOfSecond, los * 1_000_000);
        }
        if let Some(&hod) = self.fields.get(&Field::HourOfDay) {
            let moh = self.fields.get(&Field::Minute).copied();
            let som = self.fields.get(&Field::Second).copied();
            let nos = self.fields.get(&Field::NanoOfSecond).copied();
            let incomplete = (moh.is_none() && (som.is_some() || nos.is_some()))
                || (moh.is_some() && som.is_none() && nos.is_some());
            if !incomplete {
                for f in [
                    Field::HourOfDay,
                    Field::Minute,
                    Field::Second,
                    Field::NanoOfSecond,
                ] {
                    self.fields.remove(&f);
                }
                let moh = Field::Minute.check(moh.unwrap_or(0))?;
                let nos = Field::NanoOfSecond.check(nos.unwrap_or(0))?;
                let som = som.unwrap_or(0);
                if hod == 24 && moh == 0 && som == 0 && nos == 0 {
                    self.time = Some(NaiveTime::MIN);
                    self.excess_days = 1;
                } else {
                    let hod = Field::HourOfDay.check(hod)?;
                    let som = Field::Second.check(som)?;
                    self.time = NaiveTime::from_hms_nano_opt(
                        hod as u32, moh as u32, som as u32, nos as u32,
                    );
                }
            }
        }
        // AM or PM alone is the middle of the half day (Java 16 and later).
        if self.time.is_none()
            && self.has(Field::AmPm)
            && !self
                .fields
                .keys()
                .any(|f| f.is_time_based() && *f != Field::AmPm)
        {
            let ap = Field::AmPm.check(self.take(Field::AmPm).unwrap())?;
            self.time = NaiveTime::from_hms_opt(ap as u32 * 12 + 6, 0, 0);
        }
        for (&field, &value) in &self.fields {
            if field.is_time_based() {
                field.check(value)?;
            }
        }
        Ok(())
    }

    /// Java's `crossCheck`: fields left over must agree with the resolved date and time.
    fn cross_check(&mut self) -> Result<(), String> {
        let t = Temporal {
            date: self.date,
            time: self.time,
            zone: None,
        };
        let fields: Vec<(Field, i64)> = self.fields.iter().map(|(f, v)| (*f, *v)).collect();
        for (field, value) in fields {
            if field == Field::OffsetSeconds {
                continue;
            }
            if let Some(derived) = t.get(field) {
                if derived != value {
                    return Err(format!(
                        "Conflict found: Field {} {derived} differs from {} {value} derived from {}",
                        field.name(),
                        field.name(),
                        t.describe()
                    ));
                }
                self.fields.remove(&field);
            }
        }
        Ok(())
    }
}

fn resolve(ctx: Context) -> Result<Parsed, String> {
    let mut r = Resolver {
        fields: ctx.fields,
        date: None,
        time: None,
        excess_days: 0,
    };
    r.resolve_date()?;
    r.resolve_time()?;
    r.cross_check()?;
    let mut date = r.date;
    if let Some(d) = date
        && r.time.is_some()
        && r.excess_days != 0
    {
        date = Some(
            d.checked_add_signed(Duration::days(r.excess_days))
                .ok_or_else(|| "Date out of range".to_string())?,
        );
    }
    Ok(Parsed {
        fields: r.fields,
        zone: ctx.zone,
        date,
        time: r.time,
        excess_days: r.excess_days,
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn to_chrono_year(y: i64) -> Option<i32> {
    i32::try_from(y).ok()
}

fn month_name(m: i64) -> String {
    MONTHS
        .get((m - 1) as usize)
        .map(|s| s.to_uppercase())
        .unwrap_or_default()
}

fn ymd(y: i64, m: i64, d: i64) -> Result<NaiveDate, String> {
    let year = to_chrono_year(y).ok_or_else(|| format!("Invalid value for Year: {y}"))?;
    NaiveDate::from_ymd_opt(year, m as u32, d as u32).ok_or_else(|| {
        if d == 29 && m == 2 {
            format!("Invalid date 'February 29' as '{y}' is not a leap year")
        } else {
            format!("Invalid date '{} {d}'", month_name(m))
        }
    })
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 => {
            if is_leap(i64::from(y)) {
                29
            } else {
                28
            }
        }
        _ => 31,
    }
}

impl Parsed {
    /// The fully resolved date (`LocalDate.from`).
    pub fn local_date(&self) -> Result<NaiveDate, String> {
        self.date
            .ok_or_else(|| "Unable to obtain LocalDate from TemporalAccessor".to_string())
    }

    /// The fully resolved time (`LocalTime.from`).
    pub fn local_time(&self) -> Result<NaiveTime, String> {
        self.time
            .ok_or_else(|| "Unable to obtain LocalTime from TemporalAccessor".to_string())
    }

    /// Whether any date-based field is known (resolved or not).
    pub fn has_date_field(&self) -> bool {
        self.date.is_some() || self.fields.keys().any(|f| f.is_date_based())
    }

    /// ksqlDB's `StringToTimestampParser.parseZoned`: the parsed fields laid over
    /// 1970-01-01T00:00 in the parsed zone (else `default_zone`), largest fields first.
    /// Returns epoch seconds and nanoseconds.
    pub fn to_instant(&self, default_zone: &Zone) -> Result<(i64, u32), String> {
        let offset = self.fields.get(&Field::OffsetSeconds).map(|o| *o as i32);
        let zone = match (&self.zone, offset) {
            (Some(z), _) => z.clone(),
            (None, Some(o)) => Zone::offset(o),
            (None, None) => default_zone.clone(),
        };
        if let (Some(date), Some(time)) = (self.date, self.time)
            && (offset.is_some() || self.zone.is_some())
        {
            let ldt = date.and_time(time);
            let seconds = match offset {
                Some(o) => ldt.and_utc().timestamp() - i64::from(o),
                None => zone.local_to_epoch(ldt),
            };
            return Ok((seconds, time.nanosecond()));
        }
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        let (mut ldt, mut off) = zone.resolve_local(epoch, None);
        let apply = |new: NaiveDateTime, ldt: &mut NaiveDateTime, off: &mut i32| {
            let (l, o) = zone.resolve_local(new, Some(*off));
            *ldt = l;
            *off = o;
        };
        if let Some(date) = self.date {
            apply(date.and_time(ldt.time()), &mut ldt, &mut off);
        } else {
            for field in [
                Field::Era,
                Field::Year,
                Field::Month,
                Field::DayOfWeek,
                Field::AlignedDayOfWeekInMonth,
                Field::DayOfMonth,
                Field::DayOfYear,
            ] {
                let Some(&value) = self.fields.get(&field) else {
                    continue;
                };
                if field == Field::DayOfYear
                    && value == 366
                    && !self.fields.contains_key(&Field::Year)
                {
                    return Err(
                        "Leap day cannot be parsed without supplying the year field".to_string()
                    );
                }
                let date = with_date_field(ldt.date(), field, value)?;
                apply(date.and_time(ldt.time()), &mut ldt, &mut off);
            }
        }
        if let Some(time) = self.time {
            apply(ldt.date().and_time(time), &mut ldt, &mut off);
        } else {
            for field in [
                Field::AmPm,
                Field::HourOfAmPm,
                Field::HourOfDay,
                Field::Minute,
                Field::Second,
                Field::NanoOfSecond,
            ] {
                let Some(&value) = self.fields.get(&field) else {
                    continue;
                };
                let time = with_time_field(ldt.time(), field, value)?;
                apply(ldt.date().and_time(time), &mut ldt, &mut off);
            }
        }
        let _ = self.excess_days;
        Ok((
            ldt.and_utc().timestamp() - i64::from(off),
            ldt.time().nanosecond(),
        ))
    }
}

/// `LocalDate.with(field, value)`.
fn with_date_field(d: NaiveDate, field: Field, value: i64) -> Result<NaiveDate, String> {
    field.check(value)?;
    let with_year = |y: i64| -> Result<NaiveDate, String> {
        let year = to_chrono_year(y).ok_or_else(|| format!("Invalid value for Year: {y}"))?;
        let day = d.day().min(days_in_month(year, d.month()));
        NaiveDate::from_ymd_opt(year, d.month(), day)
            .ok_or_else(|| format!("Invalid value for Year: {y}"))
    };
    match field {
        Field::Era => {
            let era = i64::from(d.year() >= 1);
            if era == value {
                Ok(d)
            } else {
                with_year(1 - i64::from(d.year()))
            }
        }
        Field::Year => with_year(value),
        Field::Month => {
            let m = value as u32;
            let day = d.day().min(days_in_month(d.year(), m));
            Ok(NaiveDate::from_ymd_opt(d.year(), m, day).unwrap_or(d))
        }
        Field::DayOfWeek => shift_days(d, value - i64::from(d.weekday().number_from_monday())),
        Field::AlignedDayOfWeekInMonth => shift_days(d, value - i64::from(d.day0() % 7 + 1)),
        Field::DayOfMonth => ymd(i64::from(d.year()), i64::from(d.month()), value),
        Field::DayOfYear => NaiveDate::from_yo_opt(d.year(), value as u32).ok_or_else(|| {
            format!(
                "Invalid date 'DayOfYear 366' as '{}' is not a leap year",
                d.year()
            )
        }),
        _ => Ok(d),
    }
}

fn shift_days(d: NaiveDate, days: i64) -> Result<NaiveDate, String> {
    d.checked_add_signed(Duration::days(days))
        .ok_or_else(|| "Date out of range".to_string())
}

/// `LocalTime.with(field, value)`.
fn with_time_field(t: NaiveTime, field: Field, value: i64) -> Result<NaiveTime, String> {
    field.check(value)?;
    let hour = i64::from(t.hour());
    let set_hour = |h: i64| t.with_hour(h.rem_euclid(24) as u32).unwrap_or(t);
    Ok(match field {
        Field::AmPm => set_hour(hour + (value - hour / 12) * 12),
        Field::HourOfAmPm => set_hour(hour + value - hour % 12),
        Field::HourOfDay => set_hour(value),
        Field::Minute => t.with_minute(value as u32).unwrap_or(t),
        Field::Second => t.with_second(value as u32).unwrap_or(t),
        Field::NanoOfSecond => t.with_nanosecond(value as u32).unwrap_or(t),
        _ => t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pattern: &str, t: &Temporal) -> String {
        JavaFormatter::new(pattern, false, Locale::Us)
            .unwrap()
            .format(t)
            .unwrap()
    }

    fn ts(pattern: &str, text: &str) -> Result<i64, String> {
        let f = JavaFormatter::new(pattern, true, Locale::Root)?;
        let (s, n) = f.parse(text)?.to_instant(&Zone::of("UTC").unwrap())?;
        Ok(s * 1000 + i64::from(n / 1_000_000))
    }

    #[test]
    fn formats_dates() {
        let d = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
        let t = Temporal {
            date: Some(d),
            time: None,
            zone: None,
        };
        assert_eq!(fmt("dd-MMM-yyyy", &t), "01-Jan-2022");
        assert_eq!(fmt("dd-MM-yyyy'Sophia'", &t), "01-01-2022Sophia");
        assert_eq!(
            fmt("EEEE, MMMM d, uuuu G", &t),
            "Saturday, January 1, 2022 AD"
        );
        assert_eq!(fmt("yy QQQ D DDD", &t), "22 Q1 1 001");
        assert_eq!(fmt("YYYY ww e", &t), "2022 01 7");
        assert!(
            JavaFormatter::new("HH", false, Locale::Us)
                .unwrap()
                .format(&t)
                .is_err()
        );
        assert_eq!(fmt("yyyy[ HH]", &t), "2022");
    }

    #[test]
    fn formats_zoned() {
        let zone = Zone::of("America/Los_Angeles").unwrap();
        let epoch = 1_526_075_913;
        let off = zone.offset_at(epoch);
        let ldt = chrono::DateTime::from_timestamp(epoch + i64::from(off), 0)
            .unwrap()
            .naive_utc();
        let t = Temporal {
            date: Some(ldt.date()),
            time: Some(ldt.time()),
            zone: Some((&zone, off, epoch)),
        };
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm:ss zzz", &t),
            "2018-05-11 14:58:33 PDT"
        );
        assert_eq!(
            fmt("X XX XXX x Z ZZZZ O VV", &t),
            "-07 -0700 -07:00 -07 -0700 GMT-07:00 GMT-7 America/Los_Angeles"
        );
        assert_eq!(fmt("hh:mm a SSS", &t), "02:58 PM 000");
    }

    #[test]
    fn parses_timestamps() {
        assert_eq!(
            ts("yyyy-MM-dd'T'HH:mm:ssX", "2018-05-11T21:58:33Z"),
            Ok(1_526_075_913_000)
        );
        assert_eq!(
            ts("yyyy-MM-dd'T'HH:mm:ssX", "2020-05-11T21:58:33z"),
            Ok(1_589_234_313_000)
        );
        assert_eq!(
            ts("yyyy-MM-dd'T'HH:mm:ss.SX", "2019-08-27T13:31:09.2+0000"),
            Ok(1_566_912_669_200)
        );
        assert_eq!(
            ts("yyyy-MM-dd'T'HH:mm:ss zzz", "2018-05-11T21:58:33 PST"),
            Ok(1_526_101_113_000)
        );
        assert_eq!(
            ts("yyyyMMddHHmmssSSS", "20180511215833123"),
            Ok(1_526_075_913_123)
        );
        assert_eq!(ts("yyyy", "2018"), Ok(1_514_764_800_000));
        assert_eq!(ts("MM-dd", "02-03"), Ok(2_851_200_000));
        assert_eq!(ts("HH:mm", "01:02"), Ok(3_720_000));
        assert_eq!(
            ts("yyyy-MM-dd", "2021-02-30"),
            ts("yyyy-MM-dd", "2021-02-28")
        );
        assert!(ts("yyyy-MM-dd", "2021-13-01").is_err());
        assert!(ts("yyyy-MM-dd", "2021-01-01x").is_err());
        assert!(ts("yyyy-MM-dd", "21-01-01").is_err());
        assert!(ts("MM-dd", "02-30").is_err());
        assert!(ts("D", "366").is_err());
        assert_eq!(
            ts("yyyy-MM-dd HH:mm VV", "2020-01-01 00:00 Europe/Paris"),
            Ok(1_577_833_200_000)
        );
        assert_eq!(
            ts("yyyy-MM-dd HH:mm O", "2020-01-01 00:00 GMT+1"),
            Ok(1_577_833_200_000)
        );
        assert_eq!(
            ts("yyyy-MM-dd HH:mm z", "2020-01-01 00:00 UTC+01:00"),
            Ok(1_577_833_200_000)
        );
        assert_eq!(
            ts("yyyy-MM-dd h:mm a", "2020-01-01 1:00 pm"),
            Ok(1_577_883_600_000)
        );
        assert_eq!(ts("dd MMM yyyy", "01 jan 2020"), Ok(1_577_836_800_000));
    }

    #[test]
    fn rejects_bad_patterns() {
        for p in ["ddd", "HHH", "VVV", "aa", "yyyy-MM-dd'T", "#", "b", "]"] {
            assert!(JavaFormatter::new(p, false, Locale::Us).is_err(), "{p}");
        }
    }
}
