//! INSTR(string, substring [, position [, occurrence]]): the 1-based position of the nth
//! occurrence of a substring, searching from a position (from the end when negative), or 0.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{ints, required_int, rows, str_at, strings};
use super::units;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Int, String};
    ScalarFunction {
        name: "INSTR",
        category: "STRING",
        description: "Returns the position of substring in the provided string",
        overloads: vec![
            Overload::fixed(&[String, String], Int, kernel),
            Overload::fixed(&[String, String, Int], Int, kernel),
            Overload::fixed(&[String, String, Int, Int], Int, kernel),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let s = strings(&args[0]);
    let sub = strings(&args[1]);
    let position = args.get(2).map(ints);
    let occurrence = args.get(3).map(ints);
    let out = (0..rows(args))
        .map(|row| {
            let position = match position {
                Some(p) => required_int(p, row, "INSTR")?,
                None => 1,
            };
            let occurrence = match occurrence {
                Some(o) => required_int(o, row, "INSTR")?,
                None => 1,
            };
            Ok(Some(match (str_at(s, row), str_at(sub, row)) {
                (Some(s), Some(sub)) => instr(s, sub, position, occurrence),
                _ => 0,
            }))
        })
        .collect::<DfResult<Int32Array>>()?;
    Ok(Arc::new(out))
}

/// ksqlDB's INSTR, positions counted in UTF-16 units.
fn instr(s: &str, sub: &str, position: i32, occurrence: i32) -> i32 {
    let len = units::len(s) as i64;
    let position = position as i64;
    if position.abs() > len {
        return 0;
    }
    if position < 0 {
        let reversed: String = s.chars().rev().collect();
        let reversed_sub: String = sub.chars().rev().collect();
        match find(&reversed, &reversed_sub, -position, occurrence) {
            Some(i) => (len - -position - i - units::len(sub) as i64 + 2) as i32,
            None => 0,
        }
    } else {
        match find(s, sub, position, occurrence) {
            Some(i) => (i + position) as i32,
            None => 0,
        }
    }
}

/// The UTF-16 index, in `s` from 1-based `position` on, of the nth occurrence of `sub`
/// (occurrences may overlap).
fn find(s: &str, sub: &str, position: i64, occurrence: i32) -> Option<i64> {
    // Commons Lang's substring(s, position - 1): a negative start counts from the end.
    let len = units::len(s) as i64;
    let mut start = position - 1;
    if start < 0 {
        start += len;
    }
    let tail = units::suffix(s, start.max(0) as usize);
    nth_index_of(tail, sub, occurrence).map(|i| i as i64)
}

/// Commons Lang's `ordinalIndexOf`: the UTF-16 index of the nth occurrence of `sub`.
fn nth_index_of(s: &str, sub: &str, n: i32) -> Option<usize> {
    if n <= 0 {
        return None;
    }
    if sub.is_empty() {
        return Some(0);
    }
    let mut from = 0;
    let mut found = 0;
    loop {
        let at = from + s[from..].find(sub)?;
        found += 1;
        if found == n {
            return Some(units::position(s, at));
        }
        from = at + s[at..].chars().next().map_or(1, char::len_utf8);
    }
}

#[cfg(test)]
mod tests {
    use super::instr;

    #[test]
    fn finds_occurrences() {
        assert_eq!(instr("corporate floor", "or", -4, 1), 5);
        assert_eq!(instr("short", "or", -4, 1), 0);
        assert_eq!(instr("corporate floor", "or", 1, 1), 2);
        assert_eq!(instr("corporate floor", "or", 3, 2), 14);
        assert_eq!(instr("corporate floor", "or", -3, 2), 2);
        assert_eq!(instr("corporate floor", "xyz", 1, 1), 0);
        assert_eq!(instr("aaa", "aa", 1, 2), 2);
        assert_eq!(instr("abc", "", 1, 1), 1);
        let cases = [
            ("OR", 1, 1, 2),
            ("OR", 3, 1, 5),
            ("OR", 3, 2, 14),
            ("OR", 3, 5, 0),
            ("ATE", 1, 1, 7),
            ("ATE", 2, 1, 7),
            ("ATE", 3, 2, 0),
            ("OR", -1, 1, 14),
            ("OR", -3, 1, 5),
            ("OR", -3, 2, 2),
            ("OR", -3, 5, 0),
            ("ATE", -1, 1, 7),
            ("ATE", -3, 1, 7),
            ("ATE", -3, 2, 0),
            ("ABC", 1, 1, 0),
            ("OR", 100, 1, 0),
            ("OR", -100, 1, 0),
        ];
        for (sub, position, occurrence, expected) in cases {
            assert_eq!(
                instr("CORPORATE FLOOR", sub, position, occurrence),
                expected,
                "{sub} {position} {occurrence}"
            );
        }
    }

    #[test]
    fn nulls() {
        use super::kernel;
        use crate::functions::string::args::testing::{call, i, s};
        use datafusion::arrow::datatypes::DataType;
        use datafusion::common::ScalarValue;
        let zero = ScalarValue::Int32(Some(0));
        assert_eq!(
            call(kernel, &[s(None), s(Some("OR"))], &DataType::Int32).unwrap(),
            zero
        );
        assert_eq!(
            call(
                kernel,
                &[s(Some("OR")), s(None), i(Some(1)), i(Some(1))],
                &DataType::Int32
            )
            .unwrap(),
            zero
        );
        assert!(
            call(
                kernel,
                &[s(Some("OR")), s(Some("O")), i(None)],
                &DataType::Int32
            )
            .is_err()
        );
    }
}
