//! LPAD(input, length, padding): strings or bytes padded on the left to a length (truncated
//! when longer).

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
        name: "LPAD",
        category: "STRING",
        description: "Pads the input string or bytes, starting from the beginning, with the specified padding string until the target length is reached. If the input string or bytes are longer than the specified target length it will be truncated. If the padding string or bytes are empty or NULL, or the target length is negative, then NULL is returned.",
        overloads: vec![
            Overload::fixed(&[String, Int, String], String, lpad_strings),
            Overload::fixed(&[Bytes, Int, Bytes], Bytes, lpad_bytes),
        ],
    }
}

fn lpad_strings(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, target, padding) = (strings(&args[0]), ints(&args[1]), strings(&args[2]));
    let out: StringArray = (0..rows(args))
        .map(|row| {
            let s = str_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = str_at(padding, row).filter(|p| !p.is_empty())?;
            Some(lpad(s, target, padding))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `s` after enough repetitions of `padding` to make `target` UTF-16 units, cut to `target`.
fn lpad(s: &str, target: usize, padding: &str) -> String {
    let pad = target.saturating_sub(units::len(s));
    let padding_len = units::len(padding);
    let mut out = String::new();
    let mut len = 0;
    while len < pad {
        let missing = pad - len;
        if missing >= padding_len {
            out.push_str(padding);
            len += padding_len;
        } else {
            out.push_str(units::prefix(padding, missing));
            break;
        }
    }
    out.push_str(s);
    units::prefix(&out, target).to_string()
}

fn lpad_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, target, padding) = (bytes(&args[0]), ints(&args[1]), bytes(&args[2]));
    let out: BinaryArray = (0..rows(args))
        .map(|row| {
            let b = bytes_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = bytes_at(padding, row).filter(|p| !p.is_empty())?;
            if b.len() >= target {
                return Some(b[..target].to_vec());
            }
            let pad = target - b.len();
            let mut out: Vec<u8> = padding.iter().copied().cycle().take(pad).collect();
            out.extend_from_slice(b);
            Some(out)
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::lpad;

    #[test]
    fn pads() {
        assert_eq!(lpad("foo", 7, "Bar"), "BarBfoo");
        assert_eq!(lpad("foo", 5, "Bar"), "Bafoo");
        assert_eq!(lpad("foo", 2, "Bar"), "fo");
        assert_eq!(lpad("", 7, "Bar"), "BarBarB");
        assert_eq!(lpad("x", 4, "\u{e9}"), "\u{e9}\u{e9}\u{e9}x");
    }

    #[test]
    fn pads_bytes() {
        use super::lpad_bytes;
        use crate::functions::string::args::testing::{b, binary, i};
        let pad = |n| binary(lpad_bytes, &[b(b"yes"), i(Some(n)), b(b"no")]).unwrap();
        assert_eq!(pad(8).unwrap(), b"nononyes");
        assert_eq!(pad(5).unwrap(), b"noyes");
        assert_eq!(pad(2).unwrap(), b"ye");
        assert_eq!(pad(0).unwrap(), b"");
        assert_eq!(pad(-1), None);
        assert_eq!(
            binary(lpad_bytes, &[b(b"yes"), i(Some(5)), b(b"")]).unwrap(),
            None
        );
    }
}
