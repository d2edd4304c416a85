//! REGEXP_REPLACE(string, pattern, replacement): every match of a Java regular expression
//! replaced (`$n` in the replacement inserts a group).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{rows, str_at, strings};
use super::java_regex;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::String;
    ScalarFunction {
        name: "REGEXP_REPLACE",
        category: "REGULAR EXPRESSION",
        description: "Replaces all matches of a regexp in a string with a new substring.",
        overloads: vec![Overload::fixed(&[String, String, String], String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, pattern, replacement) = (strings(&args[0]), strings(&args[1]), strings(&args[2]));
    let out = (0..rows(args))
        .map(|row| {
            let (Some(s), Some(pattern), Some(replacement)) = (
                str_at(input, row),
                str_at(pattern, row),
                str_at(replacement, row),
            ) else {
                return Ok(None);
            };
            let re = java_regex::compile(pattern)?;
            java_regex::replace_all(&re, s, replacement).map(Some)
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{s, string};

    fn replace(input: &str, pattern: &str, replacement: &str) -> Option<String> {
        string(
            kernel,
            &[s(Some(input)), s(Some(pattern)), s(Some(replacement))],
        )
        .unwrap()
    }

    #[test]
    fn replaces_as_ksqldb() {
        assert_eq!(
            string(kernel, &[s(None), s(Some("a")), s(Some("b"))]).unwrap(),
            None
        );
        assert_eq!(replace("foobar", "foo", "bar").unwrap(), "barbar");
        assert_eq!(replace("foobar", "fooo", "bar").unwrap(), "foobar");
        assert_eq!(replace("foobar", "o", "").unwrap(), "fbar");
        assert_eq!(replace("abc", "", "n").unwrap(), "nanbncn");
        assert_eq!(replace("foobar", "(foo|bar)", "cat").unwrap(), "catcat");
        assert_eq!(replace("foobar", "^foo", "cat").unwrap(), "catbar");
        assert_eq!(replace("foobar", "^bar", "cat").unwrap(), "foobar");
        assert_eq!(replace("barbar", "bar$", "cat").unwrap(), "barcat");
        assert_eq!(replace("aababa", "ab", "xy").unwrap(), "axyxya");
        assert_eq!(replace("aababa", "(ab)+", "xy").unwrap(), "axya");
        assert!(string(kernel, &[s(Some("foobar")), s(Some("(()")), s(Some("bar"))]).is_err());
    }
}
