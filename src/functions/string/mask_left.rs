//! MASK_LEFT(input, n [, upper, lower, digit, other]): the first n characters masked.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::masker::{self, Masker};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "MASK_LEFT",
        category: "STRING",
        description: "Returns a version of the input string with the specified number of characters, starting from the beginning of the string, masked out. Default masking rules will replace all upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', and any other character with '-'.",
        overloads: masker::counted_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    masker::kernel(args, "MASK_LEFT", true, apply)
}

fn apply(masker: &Masker, s: &str, n: usize) -> String {
    let (head, tail) = masker::split_at(s, n);
    masker.mask(head) + tail
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{i, s, string};

    #[test]
    fn masks_as_ksqldb() {
        let mask = |n| string(kernel, &[s(Some("AbCd#$123xy Z")), i(Some(n))]);
        assert_eq!(mask(5).unwrap().unwrap(), "XxXx-$123xy Z");
        assert_eq!(mask(999).unwrap().unwrap(), "XxXx--nnnxx-X");
        let e = mask(-1).unwrap_err().to_string();
        assert!(
            e.contains("function mask_left requires a non-negative number"),
            "{e}"
        );
        assert_eq!(string(kernel, &[s(None), i(Some(5))]).unwrap(), None);
        assert!(string(kernel, &[s(Some("a")), i(None)]).is_err());
    }
}
