//! The fast path of JSON reading: one pass over a record's bytes that finds each column's
//! field and reads the common scalars (booleans, integers, doubles, decimals, strings) straight
//! from their text, without building a `serde_json::Value` tree or allocating field names.
//!
//! It only answers where its answer is certain to equal [`super::deserialize_row`]'s: anything
//! else (a malformed document, a value that fails to coerce, a top-level value that is not an
//! object) is [`RowRead::Unhandled`], and the caller reads that record the slow way, which
//! gives ksqlDB's exact error. Nested values (ARRAY, MAP, STRUCT) and the rarer coercions are
//! read through the slow path field by field.

use std::borrow::Cow;

use serde::de;
use serde_json::value::RawValue;

use super::super::Cell;
use super::super::text::BigDecimal;
use super::coerce;
use super::scan::scan_object;
use crate::types::{Column, SqlType};

/// What [`JsonRowReader::read`] made of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRead {
    /// The cells hold one value per column.
    Row,
    /// A `null` document where a wrapped row was expected: ksqlDB's null row.
    NullRow,
    /// Not something the fast path answers; read the record with the general path.
    Unhandled,
}

/// Reads JSON keys or values of one set of columns. Built once per query input.
#[derive(Debug)]
pub struct JsonRowReader {
    columns: Vec<Column>,
    wrapped: bool,
    /// Per column: where its exactly named field was found in the current record.
    exact: Vec<Option<Found>>,
    /// Per column: where a field whose upper-cased name equals the column's was found.
    folded: Vec<Option<Found>>,
    /// Every column name is its own upper case, so a field that matches a column exactly
    /// cannot also match another by upper-casing.
    upper_case_columns: bool,
}

/// Where a field's value is in a record, and whether it is a string with escapes.
#[derive(Debug, Clone, Copy)]
struct Found {
    start: u32,
    end: u32,
    escaped: bool,
}

impl JsonRowReader {
    pub fn new(columns: &[Column], wrapped: bool) -> JsonRowReader {
        JsonRowReader {
            columns: columns.to_vec(),
            wrapped: wrapped || columns.len() != 1,
            exact: vec![None; columns.len()],
            folded: vec![None; columns.len()],
            upper_case_columns: columns.iter().all(|c| c.name == c.name.to_uppercase()),
        }
    }

    /// Reads one record's bytes into `cells` (cleared first), one cell per column.
    pub fn read<'a>(&mut self, bytes: &'a [u8], cells: &mut Vec<Cell<'a>>) -> RowRead {
        cells.clear();
        if self.columns.is_empty() {
            return RowRead::Row;
        }
        if !self.wrapped {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            // Like Jackson's `readTree`, anything after the first value is ignored.
            let Ok(raw) = <&RawValue as de::Deserialize>::deserialize(&mut deserializer) else {
                return RowRead::Unhandled;
            };
            return match read_cell(raw.get(), &self.columns[0].ty, raw.get().contains('\\')) {
                Some(cell) => {
                    cells.push(cell);
                    RowRead::Row
                }
                None => RowRead::Unhandled,
            };
        }
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {}
            Some(b'n') => {
                let mut deserializer = serde_json::Deserializer::from_slice(bytes);
                return match <() as de::Deserialize>::deserialize(&mut deserializer) {
                    Ok(()) => RowRead::NullRow,
                    Err(_) => RowRead::Unhandled,
                };
            }
            _ => return RowRead::Unhandled,
        }
        self.exact.fill(None);
        self.folded.fill(None);
        let Ok(text) = std::str::from_utf8(bytes) else {
            return RowRead::Unhandled;
        };
        // Spans are 32-bit.
        if text.len() > u32::MAX as usize {
            return RowRead::Unhandled;
        }
        let base = text.as_ptr() as usize;
        let mut ordinal = 0;
        let (columns, exact, folded) = (&self.columns, &mut self.exact, &mut self.folded);
        let upper_case_columns = self.upper_case_columns;
        let scanned = scan_object(text, |name, value, escaped| {
            let start = value.as_ptr() as usize - base;
            let found = Found {
                start: start as u32,
                end: (start + value.len()) as u32,
                escaped,
            };
            // Data usually lists the fields in the schema's order.
            match columns.get(ordinal) {
                Some(column) if upper_case_columns && column.name == name => {
                    exact[ordinal] = Some(found)
                }
                _ => locate(columns, exact, folded, ordinal, name, found),
            }
            ordinal += 1;
        });
        if scanned.is_none() {
            return RowRead::Unhandled;
        }
        for (i, column) in self.columns.iter().enumerate() {
            let found = self.exact[i].or(self.folded[i]);
            let cell = match found {
                Some(f) => match read_cell(
                    text.get(f.start as usize..f.end as usize)
                        .unwrap_or_default(),
                    &column.ty,
                    f.escaped,
                ) {
                    Some(cell) => cell,
                    None => return RowRead::Unhandled,
                },
                None => Cell::Null,
            };
            cells.push(cell);
        }
        RowRead::Row
    }
}

/// Notes where a field of the record is, if a column reads it: an exactly named column, or
/// one whose name the field's upper-cases to. As in the general path, a later duplicate field
/// replaces an earlier one.
fn locate(
    columns: &[Column],
    exact: &mut [Option<Found>],
    folded: &mut [Option<Found>],
    ordinal: usize,
    name: &str,
    range: Found,
) {
    // Names with no lower-case letters upper-case to themselves: only the exact match can
    // apply.
    let needs_folding = name
        .bytes()
        .any(|b| b.is_ascii_lowercase() || !b.is_ascii());
    // Data usually lists the fields in the schema's order, and column names are unique.
    if !needs_folding
        && let Some(column) = columns.get(ordinal)
        && column.name == name
    {
        exact[ordinal] = Some(range);
        return;
    }
    let folded_name = (needs_folding && !name.is_ascii()).then(|| name.to_uppercase());
    for (i, column) in columns.iter().enumerate() {
        if column.name == name {
            exact[i] = Some(range);
        } else if needs_folding
            && match &folded_name {
                Some(upper) => column.name == *upper,
                None => {
                    column.name.eq_ignore_ascii_case(name)
                        && !column.name.bytes().any(|b| b.is_ascii_lowercase())
                }
            }
        {
            folded[i] = Some(range);
        }
    }
}

/// An integer the scanner checked (`-?digits`), as `str::parse` reads it; `None` when it does
/// not fit an `i64`.
fn parse_integer(raw: &str) -> Option<i64> {
    let (negative, digits) = match raw.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        digits => (false, digits),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulated as a negative number, whose range includes i64::MIN.
    let mut value: i64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)?
            .checked_sub(i64::from(d.wrapping_sub(b'0')))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Reads one field's JSON text (already validated) as `ty`, or `None` when the general
/// path must decide.
fn read_cell<'a>(raw: &'a str, ty: &SqlType, escaped: bool) -> Option<Cell<'a>> {
    if raw == "null" {
        return Some(Cell::Null);
    }
    let first = *raw.as_bytes().first()?;
    let is_number = first == b'-' || first.is_ascii_digit();
    // The scanner checked the number's grammar: digits alone (and a sign) make an integer.
    let is_integer = is_number && raw.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    let fast = match ty {
        SqlType::Boolean => match raw {
            "true" => Some(Cell::Boolean(true)),
            "false" => Some(Cell::Boolean(false)),
            _ => None,
        },
        SqlType::Int if is_integer => parse_integer(raw)
            .and_then(|v| i32::try_from(v).ok())
            .map(Cell::Int),
        SqlType::Bigint | SqlType::Timestamp if is_integer => parse_integer(raw).map(Cell::Long),
        // Zero keeps its sign only through the general path's decimal reading.
        SqlType::Double if is_number => raw
            .parse::<f64>()
            .ok()
            .filter(|v| *v != 0.0 && v.is_finite())
            .map(Cell::Double),
        SqlType::Decimal { precision, scale } if is_number => BigDecimal::parse(raw)
            .and_then(|d| d.to_decimal128(*precision, *scale).ok())
            .map(Cell::Decimal),
        SqlType::String if first == b'"' => {
            let inner = &raw[1..raw.len() - 1];
            if escaped {
                serde_json::from_str::<String>(raw)
                    .ok()
                    .map(|s| Cell::Text(Cow::Owned(s)))
            } else {
                Some(Cell::Text(Cow::Borrowed(inner)))
            }
        }
        _ => None,
    };
    if fast.is_some() {
        return fast;
    }
    // Everything else through the general coercion, so that its answers are the same.
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    coerce(&value, ty).ok().map(|v| Cell::Scalar(Box::new(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(spec: &[(&str, SqlType)]) -> Vec<Column> {
        spec.iter()
            .map(|(name, ty)| Column::value(*name, ty.clone()))
            .collect()
    }

    /// The fast path either declines or agrees with the general path, value for value.
    fn agrees(columns: &[Column], wrapped: bool, text: &str) -> RowRead {
        let mut reader = JsonRowReader::new(columns, wrapped);
        let mut cells = Vec::new();
        let read = reader.read(text.as_bytes(), &mut cells);
        let general = super::super::deserialize_row(columns, wrapped, text.as_bytes());
        match read {
            RowRead::Row => {
                let general = general.expect("general path reads it").expect("a row");
                assert_eq!(cells.len(), general.len());
                for ((cell, expected), column) in cells.iter().zip(&general).zip(columns) {
                    let actual = cell.to_scalar(&column.ty);
                    assert_eq!(&actual, expected, "{text}: column {}", column.name);
                }
            }
            RowRead::NullRow => assert_eq!(general, Ok(None)),
            RowRead::Unhandled => {}
        }
        read
    }

    #[test]
    fn reads_scalars_without_the_general_path() {
        let cols = columns(&[
            ("A", SqlType::Bigint),
            ("B", SqlType::String),
            ("C", SqlType::Double),
            ("D", SqlType::Boolean),
            ("E", SqlType::Int),
            (
                "F",
                SqlType::Decimal {
                    precision: 5,
                    scale: 2,
                },
            ),
        ]);
        let text = r#"{"A": 12, "B": "x\"y", "C": 1.5, "D": true, "E": -3, "F": 1.25, "G": [1]}"#;
        assert_eq!(agrees(&cols, true, text), RowRead::Row);
        assert_eq!(agrees(&cols, true, "null"), RowRead::NullRow);
        assert_eq!(agrees(&cols, true, "{}"), RowRead::Row);
    }

    #[test]
    fn field_names_match_exactly_first_then_upper_cased() {
        let cols = columns(&[("A", SqlType::Bigint), ("a", SqlType::Bigint)]);
        assert_eq!(agrees(&cols, true, r#"{"a": 1}"#), RowRead::Row);
        assert_eq!(agrees(&cols, true, r#"{"a": 1, "A": 2}"#), RowRead::Row);
        assert_eq!(
            agrees(&cols, true, r#"{"A": 2, "a": 1, "a": 3}"#),
            RowRead::Row
        );
        let cols = columns(&[("ÄB", SqlType::String)]);
        assert_eq!(agrees(&cols, true, r#"{"äb": "x"}"#), RowRead::Row);
    }

    #[test]
    fn coercions_and_nested_values_match_the_general_path() {
        let cols = columns(&[
            ("A", SqlType::String),
            ("B", SqlType::Array(Box::new(SqlType::Int))),
            ("C", SqlType::Bigint),
            ("D", SqlType::Double),
        ]);
        assert_eq!(
            agrees(
                &cols,
                true,
                r#"{"A": 1.50, "B": [1, null], "C": "7", "D": -0.0}"#
            ),
            RowRead::Row
        );
        assert_eq!(
            agrees(&cols, true, r#"{"A": {"x": 1}, "C": 1.9}"#),
            RowRead::Row
        );
    }

    #[test]
    fn declines_what_the_general_path_must_report() {
        let cols = columns(&[("A", SqlType::Int), ("B", SqlType::Boolean)]);
        for text in [
            r#"{"A": 99999999999}"#,
            r#"{"A": true}"#,
            r#"{"B": 1}"#,
            r#"[1, 2]"#,
            r#"{"A": 1"#,
            "nul",
            "7",
        ] {
            assert_eq!(agrees(&cols, true, text), RowRead::Unhandled, "{text}");
        }
    }

    #[test]
    fn integers_parse_as_str_parse_does() {
        for text in [
            "0",
            "-0",
            "7",
            "-12",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "-",
            "",
        ] {
            assert_eq!(parse_integer(text), text.parse::<i64>().ok(), "{text}");
        }
    }

    #[test]
    fn unwrapped_single_values() {
        let cols = columns(&[("A", SqlType::Bigint)]);
        assert_eq!(agrees(&cols, false, "42 trailing"), RowRead::Row);
        assert_eq!(agrees(&cols, false, "null"), RowRead::Row);
        let cols = columns(&[("A", SqlType::String)]);
        assert_eq!(agrees(&cols, false, r#""s""#), RowRead::Row);
        assert_eq!(agrees(&cols, false, r#"{"x": 1}"#), RowRead::Row);
    }
}
