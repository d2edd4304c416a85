//! MASK_KEEP_RIGHT(input, n [, upper, lower, digit, other]): all but the last n characters masked.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::masker::{self, Masker};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "MASK_KEEP_RIGHT",
        category: "STRING",
        description: "Returns a version of the input string with all but the specified number of right-most characters masked out. Default masking rules will replace all upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', and any other character with '-'.",
        overloads: masker::counted_overloads(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    masker::kernel(args, "MASK_KEEP_RIGHT", true, apply)
}

fn apply(masker: &Masker, s: &str, n: usize) -> String {
    let mask = super::units::len(s).saturating_sub(n);
    let (head, tail) = masker::split_at(s, mask);
    masker.mask(head) + tail
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{i, s, string};

    #[test]
    fn masks_as_ksqldb() {
        let input = s(Some("AbCd#$123xy Z"));
        let mask = |n| string(kernel, &[input.clone(), i(Some(n))]);
        assert_eq!(mask(5).unwrap().unwrap(), "XxXx--nn3xy Z");
        assert_eq!(mask(999).unwrap().unwrap(), "AbCd#$123xy Z");
        assert!(mask(-1).is_err());
        let masked = |masks: [Option<&str>; 4]| {
            let mut args = vec![input.clone(), i(Some(5))];
            args.extend(masks.map(s));
            string(kernel, &args).unwrap().unwrap()
        };
        assert_eq!(
            masked([Some("Q"), Some("q"), Some("9"), Some("@")]),
            "QqQq@@993xy Z"
        );
        assert_eq!(masked([None; 4]), "AbCd#$123xy Z");
        assert_eq!(masked([None, Some("q"), None, Some("=")]), "AqCq==123xy Z");
    }
}
