//! SUBSTRING(string | bytes, pos [, length]): the part from 1-based `pos` (counted from the end
//! when negative), of at most `length` characters or bytes.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, bytes_at, int_at, ints, rows, str_at, strings};
use super::units;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Bytes, Int, String};
    ScalarFunction {
        name: "SUBSTRING",
        category: "STRING",
        description: "Returns the portion of the string or bytes passed in value.",
        overloads: vec![
            Overload::fixed(&[String, Int], String, substring_string),
            Overload::fixed(&[String, Int, Int], String, substring_string),
            Overload::fixed(&[Bytes, Int], Bytes, substring_bytes),
            Overload::fixed(&[Bytes, Int, Int], Bytes, substring_bytes),
        ],
    }
}

/// The start and end of the part of a value of `len` units.
fn range(len: usize, pos: i32, length: Option<i32>) -> (usize, usize) {
    let len = len as i64;
    let pos = pos as i64;
    let start = if pos < 0 {
        (len + pos).max(0)
    } else {
        (pos - 1).min(len).max(0)
    };
    let end = match length {
        // Java adds in 32 bits: an overflowing end gives an empty part.
        Some(length) => ((start as i32).wrapping_add(length) as i64)
            .min(len)
            .max(start),
        None => len,
    };
    (start as usize, end as usize)
}

/// The optional third argument at `row`: `None` when absent, `Some(None)` when null.
fn length_at(args: &[ArrayRef], row: usize) -> Option<Option<i32>> {
    args.get(2).map(|a| int_at(ints(a), row))
}

fn substring_string(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = strings(&args[0]);
    let pos = ints(&args[1]);
    let out: StringArray = (0..rows(args))
        .map(|row| {
            let s = str_at(input, row)?;
            let pos = int_at(pos, row)?;
            let length = match length_at(args, row) {
                Some(l) => Some(l?),
                None => None,
            };
            if s.is_ascii() {
                let (start, end) = range(s.len(), pos, length);
                return Some(&s[start..end]);
            }
            let (start, end) = range(units::len(s), pos, length);
            Some(&s[units::byte_offset(s, start)..units::byte_offset(s, end)])
        })
        .collect();
    Ok(Arc::new(out))
}

fn substring_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = bytes(&args[0]);
    let pos = ints(&args[1]);
    let out: BinaryArray = (0..rows(args))
        .map(|row| {
            let b = bytes_at(input, row)?;
            let pos = int_at(pos, row)?;
            let length = match length_at(args, row) {
                Some(l) => Some(l?),
                None => None,
            };
            let (start, end) = range(b.len(), pos, length);
            Some(&b[start..end])
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges() {
        assert_eq!(range(11, 6, None), (5, 11));
        assert_eq!(range(5, 6, None), (5, 5));
        assert_eq!(range(11, 6, Some(3)), (5, 8));
        assert_eq!(range(7, 6, Some(3)), (5, 7));
        assert_eq!(range(5, -2, None), (3, 5));
        assert_eq!(range(5, -9, Some(2)), (0, 2));
        assert_eq!(range(5, 0, Some(2)), (0, 2));
        assert_eq!(range(5, 2, Some(-1)), (1, 1));
        assert_eq!(range(5, 2, Some(i32::MAX)), (1, 1));
    }

    #[test]
    fn substrings_as_ksqldb() {
        use super::substring_string;
        use crate::functions::string::args::testing::{i, s, string};
        let sub = |pos: i32, len: Option<i32>| {
            let mut args = vec![s(Some("a test string")), i(Some(pos))];
            if let Some(l) = len {
                args.push(i(Some(l)));
            }
            string(substring_string, &args).unwrap().unwrap()
        };
        assert_eq!(sub(1, Some(1)), "a");
        assert_eq!(sub(-1, Some(1)), "g");
        assert_eq!(sub(3, None), "test string");
        assert_eq!(sub(3, Some(4)), "test");
        assert_eq!(sub(-6, None), "string");
        assert_eq!(sub(-6, Some(2)), "st");
        assert_eq!(sub(0, None), "a test string");
        assert_eq!(sub(100, None), "");
        assert_eq!(sub(-100, None), "a test string");
        assert_eq!(sub(3, Some(100)), "test string");
        assert_eq!(sub(3, Some(-100)), "");
        let null_length = [s(Some("abc")), i(Some(1)), i(None)];
        assert_eq!(string(substring_string, &null_length).unwrap(), None);
        let wide = [s(Some("h\u{e9}llo \u{1F600}!")), i(Some(2)), i(Some(4))];
        assert_eq!(
            string(substring_string, &wide).unwrap().unwrap(),
            "\u{e9}llo"
        );
        let wide = [s(Some("h\u{e9}llo \u{1F600}!")), i(Some(-3))];
        assert_eq!(
            string(substring_string, &wide).unwrap().unwrap(),
            "\u{1F600}!"
        );
    }
}
