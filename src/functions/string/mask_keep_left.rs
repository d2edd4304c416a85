//! MASK_KEEP_LEFT(input, n [, upper, lower, digit, other]): all but the first n characters masked.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::masker::{self, Masker};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "MASK_KEEP_LEFT",
        category: "STRING",
        description: "Returns a version of the input string with all but the specified number of left-most characters masked out. Default masking rules will replace all upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', and any other character with '-'.",
        overloads: masker::counted_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    masker::kernel(args, "MASK_KEEP_LEFT", true, apply)
}

fn apply(masker: &Masker, s: &str, n: usize) -> String {
    let (head, tail) = masker::split_at(s, n);
    format!("{head}{}", masker.mask(tail))
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{i, s, string};

    #[test]
    fn masks_as_ksqldb() {
        let mask = |n| string(kernel, &[s(Some("AbCd#$123xy Z")), i(Some(n))]);
        assert_eq!(mask(5).unwrap().unwrap(), "AbCd#-nnnxx-X");
        assert_eq!(mask(999).unwrap().unwrap(), "AbCd#$123xy Z");
        assert!(mask(-1).is_err());
    }
}
