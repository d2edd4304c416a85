//! Time zones as Java's `ZoneId` sees them: fixed offsets (`+02:00`), fixed regions (`UTC`,
//! `GMT`, `UTC+02:00`) and IANA regions (`Europe/London`).
//!
//! IANA rules come from Arrow's `Tz` (DataFusion builds Arrow with chrono-tz); the ids Java
//! accepts and the zone names it prints and parses (`PST`, `Pacific Daylight Time`) come from
//! [`super::zone_names`], taken from the JDK. Java's `SystemV/*` zones (what `PST` parses to in
//! ksqlDB's parsers) follow the old US rule: daylight time from the last Sunday of April to the
//! last Sunday of October.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{Duration, LocalResult, NaiveDateTime, Offset, TimeZone};
use datafusion::arrow::array::timezone::Tz;

use super::zone_names::{LONG_NAME_ZONES, SHORT_NAME_ZONES, ZONE_NAME_GROUPS};

/// A Java `ZoneId`.
#[derive(Debug, Clone)]
pub struct Zone {
    id: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A `ZoneOffset` (its id is `Z` or `+HH:MM[:SS]`).
    Offset(i32),
    /// A region with a fixed offset (`UTC`, `GMT`, `UT`, `UTC+02:00`).
    Fixed(i32),
    /// An IANA region.
    Named(Tz),
    /// A `SystemV/*` zone: a standard offset, with or without the old US daylight rule.
    SystemV { standard: i32, daylight: bool },
}

/// How a local date-time maps onto a zone's offsets.
enum Local {
    Single(i32),
    /// In an overlap: the offsets before and after the transition.
    Overlap(i32, i32),
    /// In a gap: the offsets before and after the transition.
    Gap(i32, i32),
}

impl Zone {
    pub fn utc_offset() -> Zone {
        Zone {
            id: "Z".to_string(),
            kind: Kind::Offset(0),
        }
    }

    /// `ZoneId.of("GMT")`.
    pub fn gmt() -> Zone {
        Zone {
            id: "GMT".to_string(),
            kind: Kind::Fixed(0),
        }
    }

    /// The JVM's default zone: ksqlDB servers run in UTC.
    pub fn system_default() -> Zone {
        Zone {
            id: "UTC".to_string(),
            kind: Kind::Fixed(0),
        }
    }

    /// A `ZoneOffset` of so many seconds.
    pub fn offset(seconds: i32) -> Zone {
        Zone {
            id: offset_id(seconds),
            kind: Kind::Offset(seconds),
        }
    }

    /// `ZoneId.of(id)`; the error is Java's message.
    pub fn of(id: &str) -> Result<Zone, String> {
        if id == "Z" {
            return Ok(Zone::utc_offset());
        }
        if id.starts_with('+') || id.starts_with('-') {
            return parse_offset_id(id).map(Zone::offset);
        }
        if id == "UTC" || id == "GMT" || id == "UT" {
            return Ok(Zone {
                id: id.to_string(),
                kind: Kind::Fixed(0),
            });
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = id.strip_prefix(prefix)
                && (rest.starts_with('+') || rest.starts_with('-'))
            {
                let seconds = parse_offset_id(rest)
                    .map_err(|_| format!("Invalid ID for offset-based ZoneId: {id}"))?;
                let id = if seconds == 0 {
                    prefix.to_string()
                } else {
                    format!("{prefix}{}", offset_id(seconds))
                };
                return Ok(Zone {
                    id,
                    kind: Kind::Fixed(seconds),
                });
            }
        }
        let valid_format = id.len() >= 2
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "~/._+-".contains(c));
        if !valid_format {
            return Err(format!(
                "Invalid ID for region-based ZoneId, invalid format: {id}"
            ));
        }
        region(id).ok_or_else(|| format!("Unknown time-zone ID: {id}"))
    }

    /// A region id matched case-insensitively, as case-insensitive parsers do.
    pub fn region_ignoring_case(id: &str) -> Option<Zone> {
        let canonical = java_ids().lower.get(&id.to_ascii_lowercase())?;
        region(canonical)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this is a `ZoneOffset` rather than a region.
    pub fn is_offset(&self) -> bool {
        matches!(self.kind, Kind::Offset(_))
    }

    /// The offset in seconds at an instant (epoch seconds).
    pub fn offset_at(&self, epoch_second: i64) -> i32 {
        match &self.kind {
            Kind::Offset(s) | Kind::Fixed(s) => *s,
            Kind::SystemV { standard, daylight } => {
                if *daylight && system_v_daylight(*standard, epoch_second) {
                    standard + 3600
                } else {
                    *standard
                }
            }
            Kind::Named(tz) => match chrono::DateTime::from_timestamp(epoch_second, 0) {
                Some(utc) => tz
                    .offset_from_utc_datetime(&utc.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    fn local(&self, ldt: &NaiveDateTime) -> Local {
        let tz = match &self.kind {
            Kind::Offset(s) | Kind::Fixed(s) => return Local::Single(*s),
            Kind::SystemV { standard, daylight } => {
                if !daylight {
                    return Local::Single(*standard);
                }
                let local = ldt.and_utc().timestamp();
                let valid = |o: i32| self.offset_at(local - i64::from(o)) == o;
                let (std, dst) = (*standard, standard + 3600);
                return match (valid(dst), valid(std)) {
                    (true, true) => Local::Overlap(dst, std),
                    (true, false) => Local::Single(dst),
                    (false, true) => Local::Single(std),
                    (false, false) => Local::Gap(std, dst),
                };
            }
            Kind::Named(tz) => tz,
        };
        match tz.offset_from_local_datetime(ldt) {
            LocalResult::Single(o) => Local::Single(o.fix().local_minus_utc()),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.fix().local_minus_utc(), b.fix().local_minus_utc());
                // The offset before an overlap is the larger one.
                Local::Overlap(a.max(b), a.min(b))
            }
            LocalResult::None => {
                let secs = ldt.and_utc().timestamp();
                let before = self.offset_at(secs - 86_400);
                let after = self.offset_at(secs + 86_400);
                Local::Gap(before, after)
            }
        }
    }

    /// Java's `ZonedDateTime.ofLocal`: the local date-time (moved forward by the gap when it
    /// falls in one) and its offset; in an overlap the preferred offset if valid, else the
    /// earlier one.
    pub fn resolve_local(
        &self,
        ldt: NaiveDateTime,
        preferred: Option<i32>,
    ) -> (NaiveDateTime, i32) {
        match self.local(&ldt) {
            Local::Single(o) => (ldt, o),
            Local::Overlap(before, after) => match preferred {
                Some(p) if p == before || p == after => (ldt, p),
                _ => (ldt, before),
            },
            Local::Gap(before, after) => {
                match ldt.checked_add_signed(Duration::seconds(i64::from(after - before))) {
                    Some(shifted) => (shifted, after),
                    None => (ldt, before),
                }
            }
        }
    }

    /// Epoch seconds of a local date-time in this zone (`ldt.atZone(zone)`).
    pub fn local_to_epoch(&self, ldt: NaiveDateTime) -> i64 {
        let (ldt, offset) = self.resolve_local(ldt, None);
        ldt.and_utc().timestamp() - i64::from(offset)
    }

    /// Whether daylight saving time is in force at an instant.
    pub fn is_dst(&self, epoch_second: i64) -> bool {
        match &self.kind {
            Kind::Named(_) | Kind::SystemV { .. } => {
                let standard = self.standard_offset(epoch_second);
                self.offset_at(epoch_second) != standard
            }
            _ => false,
        }
    }

    /// The standard offset near an instant: the smaller of the offsets in January and July.
    pub fn standard_offset(&self, epoch_second: i64) -> i32 {
        use chrono::Datelike;
        if let Kind::SystemV { standard, .. } = self.kind {
            return standard;
        }
        let Some(dt) = chrono::DateTime::from_timestamp(epoch_second, 0) else {
            return self.offset_at(epoch_second);
        };
        let year = dt.year();
        let at = |month: u32| {
            chrono::NaiveDate::from_ymd_opt(year, month, 1)
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp())
                .map(|s| self.offset_at(s))
                .unwrap_or(0)
        };
        at(1).min(at(7))
    }

    fn names(&self) -> Option<&'static [&'static str; 6]> {
        java_ids().names.get(self.id.as_str()).copied()
    }

    /// Whether `name` is one of the zone's daylight-saving names (`PDT`).
    pub fn is_daylight_name(&self, name: &str) -> bool {
        self.names().is_some_and(|[ss, sl, ds, dl, _, _]| {
            (ds != ss && ds.eq_ignore_ascii_case(name))
                || (dl != sl && dl.eq_ignore_ascii_case(name))
        })
    }

    /// The zone's display name (`z`/`zzzz`, `v`/`vvvv`): daylight or standard at the instant
    /// when one is given, else the generic name. `None` when Java would print the id.
    pub fn display_name(&self, full: bool, epoch_second: Option<i64>) -> Option<String> {
        if self.is_offset() {
            return None;
        }
        if let Kind::Fixed(s) = self.kind
            && s != 0
        {
            return None;
        }
        let [ss, sl, ds, dl, gs, gl] = self.names()?;
        let name = match epoch_second {
            Some(t) if self.is_dst(t) => {
                if full {
                    dl
                } else {
                    ds
                }
            }
            Some(_) => {
                if full {
                    sl
                } else {
                    ss
                }
            }
            None => {
                if full {
                    gl
                } else {
                    gs
                }
            }
        };
        Some(name.to_string())
    }
}

/// Java's normalised id of an offset: `Z`, `+02:00`, `-05:30:15`.
pub fn offset_id(seconds: i32) -> String {
    if seconds == 0 {
        return "Z".to_string();
    }
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// `ZoneOffset.of`: `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss` (at most ±18:00).
pub fn parse_offset_id(text: &str) -> Result<i32, String> {
    let invalid = || format!("Invalid ID for ZoneOffset, invalid format: {text}");
    let bytes = text.as_bytes();
    let sign = match bytes.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(invalid()),
    };
    let digits = |from: usize| -> Result<i32, String> {
        let pair = bytes.get(from..from + 2).ok_or_else(invalid)?;
        if pair.iter().all(u8::is_ascii_digit) {
            Ok(i32::from(pair[0] - b'0') * 10 + i32::from(pair[1] - b'0'))
        } else {
            Err(invalid())
        }
    };
    let (h, m, s) = match bytes.len() {
        2 if bytes[1].is_ascii_digit() => (i32::from(bytes[1] - b'0'), 0, 0),
        3 => (digits(1)?, 0, 0),
        5 => (digits(1)?, digits(3)?, 0),
        6 if bytes[3] == b':' => (digits(1)?, digits(4)?, 0),
        7 => (digits(1)?, digits(3)?, digits(5)?),
        9 if bytes[3] == b':' && bytes[6] == b':' => (digits(1)?, digits(4)?, digits(7)?),
        _ => return Err(invalid()),
    };
    if h > 18 || m > 59 || s > 59 || (h == 18 && (m > 0 || s > 0)) {
        return Err(format!(
            "Zone offset not in valid range: -18:00 to +18:00 ({text})"
        ));
    }
    Ok(sign * (h * 3600 + m * 60 + s))
}

/// A region by its exact Java id.
fn region(id: &str) -> Option<Zone> {
    if !java_ids().names.contains_key(id) {
        return None;
    }
    let kind = match id.strip_prefix("SystemV/") {
        Some(rest) => {
            let standard = match &rest[..3] {
                "AST" => -4,
                "EST" => -5,
                "CST" => -6,
                "MST" => -7,
                "PST" => -8,
                "YST" => -9,
                "HST" => -10,
                _ => return None,
            } * 3600;
            Kind::SystemV {
                standard,
                daylight: rest.ends_with("DT"),
            }
        }
        None => Kind::Named(Tz::from_str(id).ok()?),
    };
    Some(Zone {
        id: id.to_string(),
        kind,
    })
}

/// Whether the old US daylight rule (the last Sunday of April, 02:00 standard time, to the
/// last Sunday of October, 02:00 daylight time) is in force at an instant.
fn system_v_daylight(standard: i32, epoch_second: i64) -> bool {
    use chrono::{Datelike, NaiveDate, Weekday};
    let local = epoch_second + i64::from(standard);
    let Some(year) = chrono::DateTime::from_timestamp(local, 0).map(|d| d.year()) else {
        return false;
    };
    let last_sunday = |month: u32| -> Option<i64> {
        let first_next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }?;
        let last = first_next.pred_opt()?;
        let back = last.weekday().days_since(Weekday::Sun);
        let day = last.checked_sub_signed(Duration::days(i64::from(back)))?;
        Some(day.and_hms_opt(2, 0, 0)?.and_utc().timestamp())
    };
    match (last_sunday(4), last_sunday(10)) {
        // The end is at 02:00 daylight time, 01:00 standard time.
        (Some(start), Some(end)) => local >= start && local < end - 3600,
        _ => false,
    }
}

struct JavaIds {
    /// Each id's names: standard, daylight and generic; short and long.
    names: HashMap<&'static str, &'static [&'static str; 6]>,
    /// Lower-case ids to ids.
    lower: HashMap<String, &'static str>,
}

fn java_ids() -> &'static JavaIds {
    static IDS: OnceLock<JavaIds> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut names = HashMap::new();
        let mut lower = HashMap::new();
        for (group, ids) in ZONE_NAME_GROUPS {
            for id in *ids {
                names.insert(*id, group);
                lower.insert(id.to_ascii_lowercase(), *id);
            }
        }
        JavaIds { names, lower }
    })
}

/// The zone a zone name at the start of `text` stands for, as Java's parsers (in
/// `Locale.ROOT`) read it, with the number of bytes matched: the longest name wins. `full`
/// selects long names (`zzzz`) rather than short ones.
pub fn zone_for_name(text: &str, ci: bool, full: bool) -> Option<(Zone, usize)> {
    let table = if full {
        LONG_NAME_ZONES
    } else {
        SHORT_NAME_ZONES
    };
    let mut best: Option<(&str, usize)> = None;
    for (name, id) in table {
        let len = name.len();
        if len <= text.len()
            && text.is_char_boundary(len)
            && (if ci {
                text[..len].eq_ignore_ascii_case(name)
            } else {
                &text[..len] == *name
            })
            && best.is_none_or(|(_, l)| len > l)
        {
            best = Some((id, len));
        }
    }
    let (id, len) = best?;
    region(id).map(|z| (z, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_zone_ids() {
        assert_eq!(Zone::of("+2").unwrap().id(), "+02:00");
        assert_eq!(Zone::of("-0530").unwrap().id(), "-05:30");
        assert_eq!(Zone::of("UTC+2").unwrap().id(), "UTC+02:00");
        assert_eq!(Zone::of("GMT+0").unwrap().id(), "GMT");
        assert!(Zone::of("PST").is_err());
        assert!(Zone::of("america/los_angeles").is_err());
        assert!(Zone::of("+19").is_err());
        let la = Zone::of("America/Los_Angeles").unwrap();
        assert_eq!(la.offset_at(1_526_075_913), -7 * 3600);
        assert_eq!(la.offset_at(0), -8 * 3600);
        assert_eq!(
            la.display_name(false, Some(1_526_075_913)).as_deref(),
            Some("PDT")
        );
        let london = Zone::of("Europe/London").unwrap();
        assert_eq!(
            london.display_name(false, Some(1_526_075_913)).as_deref(),
            Some("BST")
        );
    }

    #[test]
    fn resolves_gaps_and_overlaps_like_java() {
        let la = Zone::of("America/Los_Angeles").unwrap();
        let gap = chrono::NaiveDate::from_ymd_opt(2020, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let (ldt, off) = la.resolve_local(gap, None);
        assert_eq!(ldt.to_string(), "2020-03-08 03:30:00");
        assert_eq!(off, -7 * 3600);
        let overlap = chrono::NaiveDate::from_ymd_opt(2020, 11, 1)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(la.resolve_local(overlap, None).1, -7 * 3600);
        assert_eq!(la.resolve_local(overlap, Some(-8 * 3600)).1, -8 * 3600);
    }
}
