//! RPAD(input, length, padding): strings or bytes padded on the right to a length (truncated
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
        name: "RPAD",
        category: "STRING",
        description: "Pads the input string or bytes, starting from the end, with the specified padding string until the target length is reached. If the input string or bytes are longer than the specified target length it will be truncated. If the padding string or bytes are empty or NULL, or the target length is negative, then NULL is returned.",
        overloads: vec![
            Overload::fixed(&[String, Int, String], String, rpad_strings),
            Overload::fixed(&[Bytes, Int, Bytes], Bytes, rpad_bytes),
        ],
    }
}

fn rpad_strings(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, target, padding) = (strings(&args[0]), ints(&args[1]), strings(&args[2]));
    let out: StringArray = (0..rows(args))
        .map(|row| {
            let s = str_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = str_at(padding, row).filter(|p| !p.is_empty())?;
            Some(rpad(s, target, padding))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `s` followed by repetitions of `padding`, cut to `target` UTF-16 units.
fn rpad(s: &str, target: usize, padding: &str) -> String {
    let mut out = units::prefix(s, target).to_string();
    let mut len = units::len(&out);
    let padding_len = units::len(padding);
    while len < target {
        let missing = target - len;
        if missing >= padding_len {
            out.push_str(padding);
            len += padding_len;
        } else {
            out.push_str(units::prefix(padding, missing));
            break;
        }
    }
    out
}

fn rpad_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, target, padding) = (bytes(&args[0]), ints(&args[1]), bytes(&args[2]));
    let out: BinaryArray = (0..rows(args))
        .map(|row| {
            let b = bytes_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = bytes_at(padding, row).filter(|p| !p.is_empty())?;
            if b.len() >= target {
                return Some(b[..target].to_vec());
            }
            let mut out = b.to_vec();
            out.extend(padding.iter().copied().cycle().take(target - b.len()));
            Some(out)
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::rpad;

    #[test]
    fn pads() {
        assert_eq!(rpad("foo", 7, "Bar"), "fooBarB");
        assert_eq!(rpad("foo", 5, "Bar"), "fooBa");
        assert_eq!(rpad("foo", 2, "Bar"), "fo");
        assert_eq!(rpad("", 7, "Bar"), "BarBarB");
        assert_eq!(rpad("x", 3, "\u{e9}"), "x\u{e9}\u{e9}");
    }
}
