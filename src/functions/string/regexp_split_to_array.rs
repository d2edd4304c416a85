//! REGEXP_SPLIT_TO_ARRAY(string, pattern): the parts between matches of a Java regular
//! expression.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{rows, str_at, strings};
use super::java_regex;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Array, String};
    ScalarFunction {
        name: "REGEXP_SPLIT_TO_ARRAY",
        category: "REGULAR EXPRESSION",
        description: "Splits a string into an array of substrings based on a regexp. If the regexp is found at the beginning of the string, end of the string, or there are contiguous matches in the string, then empty strings are added to the array. If the regexp is not found, then the original string is returned as the only element in the array. If the regexp is empty, then all characters in the string are split.",
        overloads: vec![Overload::fixed(
            &[String, String],
            Array(Box::new(String)),
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, pattern) = (strings(&args[0]), strings(&args[1]));
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..rows(args) {
        let (Some(s), Some(pattern)) = (str_at(input, row), str_at(pattern, row)) else {
            out.append(false);
            continue;
        };
        let re = java_regex::compile(pattern)?;
        // A pattern that matches the empty string splits as Java's Pattern.split (dropping
        // trailing empty parts); any other as Guava's Splitter (keeping them).
        let parts = if re.is_match("") {
            java_regex::split_java(&re, s)
        } else {
            java_regex::split_guava(&re, s)
        };
        for part in parts {
            out.values().append_value(part);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{list, s};

    fn split(input: &str, pattern: &str) -> Vec<String> {
        list(kernel, &[s(Some(input)), s(Some(pattern))]).unwrap()
    }

    #[test]
    fn splits_as_ksqldb() {
        assert_eq!(list(kernel, &[s(None), s(Some("a"))]), None);
        assert_eq!(list(kernel, &[s(Some("a")), s(None)]), None);
        let cases: &[(&str, &str, &[&str])] = &[
            ("", "z", &[""]),
            ("x-y", "z", &["x-y"]),
            ("", "", &[""]),
            ("x-y", "", &["x", "-", "y"]),
            ("x", "", &["x"]),
            ("x-y", "-", &["x", "y"]),
            ("x-y", "x", &["", "-y"]),
            ("x-y", "y", &["x-", ""]),
            ("x-y", ".", &["", "", "", ""]),
            ("a-b-c-b-d", ".b.", &["a", "c", "d"]),
            ("a-b-c", "^..", &["", "b-c"]),
            (
                "a-b-ccatd-ecatf",
                "(-|cat)",
                &["a", "b", "c", "d", "e", "f"],
            ),
            ("-A-B-", "-", &["", "A", "B", ""]),
            ("A", "^", &["A"]),
            ("A", "$", &["A"]),
            ("AB", "^", &["AB"]),
            ("AB", "$", &["AB"]),
            ("--A--A", "-", &["", "", "A", "", "A"]),
            ("A--A--", "-", &["A", "", "A", "", ""]),
            ("aababa", "ab", &["a", "", "a"]),
            ("aababa", "(ab)+", &["a", "a"]),
            ("aabcda", "(ab|cd)", &["a", "", "a"]),
        ];
        for (input, pattern, expected) in cases {
            assert_eq!(split(input, pattern), *expected, "{input:?} by {pattern:?}");
        }
    }
}
