//! RPAD(input, length, padding): strings or bytes padded on the right to a length (truncated
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
    pad_strings(args, Side::Right)
}

fn rpad_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    pad_bytes(args, Side::Right)
}

#[cfg(test)]
mod tests {
    use super::super::padding::{Side, pad};

    fn rpad(s: &str, target: usize, padding: &str) -> String {
        pad(s, target, padding, Side::Right)
    }

    #[test]
    fn pads() {
        assert_eq!(rpad("foo", 7, "Bar"), "fooBarB");
        assert_eq!(rpad("foo", 5, "Bar"), "fooBa");
        assert_eq!(rpad("foo", 2, "Bar"), "fo");
        assert_eq!(rpad("", 7, "Bar"), "BarBarB");
        assert_eq!(rpad("x", 3, "\u{e9}"), "x\u{e9}\u{e9}");
    }

    #[test]
    fn pads_bytes() {
        use super::rpad_bytes;
        use crate::functions::string::args::testing::{b, binary, i};
        let pad = |n| binary(rpad_bytes, &[b(b"yes"), i(Some(n)), b(b"no")]).unwrap();
        assert_eq!(pad(8).unwrap(), b"yesnonon");
        assert_eq!(pad(2).unwrap(), b"ye");
        assert_eq!(pad(-1), None);
    }
}
