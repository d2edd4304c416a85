//! LPAD(input, length, padding): strings or bytes padded on the left to a length (truncated
//! when longer).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::padding::{Side, pad_bytes, pad_strings};
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
    pad_strings(args, Side::Left)
}

fn lpad_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    pad_bytes(args, Side::Left)
}

#[cfg(test)]
mod tests {
    use super::super::padding::{Side, pad};

    fn lpad(s: &str, target: usize, padding: &str) -> String {
        pad(s, target, padding, Side::Left)
    }

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
