//! MASK(input [, upper, lower, digit, other]): every character masked.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::masker::{self, Masker};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::String;
    ScalarFunction {
        name: "MASK",
        category: "STRING",
        description: "Returns a version of the input string with every character replaced by a mask. Default masking rules will replace all upper-case characters with 'X', all lower-case characters with 'x', all digits with 'n', and any other character with '-'.",
        overloads: vec![
            Overload::fixed(&[String], String, kernel),
            Overload::fixed(&[String, String, String, String, String], String, kernel),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    masker::kernel(args, "MASK", false, apply)
}

fn apply(masker: &Masker, s: &str, _: usize) -> String {
    masker.mask(s)
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{s, string};

    #[test]
    fn masks_as_ksqldb() {
        let input = s(Some("AbCd#$123xy Z"));
        let mask = |masks: [Option<&str>; 4]| {
            let mut args = vec![input.clone()];
            args.extend(masks.map(s));
            string(kernel, &args)
        };
        assert_eq!(
            string(kernel, std::slice::from_ref(&input))
                .unwrap()
                .unwrap(),
            "XxXx--nnnxx-X"
        );
        assert_eq!(
            mask([Some("Q"), Some("q"), Some("9"), Some("@")])
                .unwrap()
                .unwrap(),
            "QqQq@@999qq@Q"
        );
        assert_eq!(mask([None; 4]).unwrap().unwrap(), "AbCd#$123xy Z");
        assert_eq!(
            mask([None, Some("q"), None, Some("=")]).unwrap().unwrap(),
            "AqCq==123qq=Z"
        );
        assert!(mask([Some(""), None, None, None]).is_err());
        assert!(mask([Some("2c"), None, None, None]).is_err());
        assert_eq!(string(kernel, &[s(None)]).unwrap(), None);
    }
}
