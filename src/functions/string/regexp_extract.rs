//! REGEXP_EXTRACT(pattern, string [, group]): the first match of a Java regular expression, or
//! one of its capturing groups.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{int_at, ints, rows, str_at, strings};
use super::java_regex;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Int, String};
    ScalarFunction {
        name: "REGEXP_EXTRACT",
        category: "REGULAR EXPRESSION",
        description: "extract the first subtring matched by a regex pattern",
        overloads: vec![
            Overload::fixed(&[String, String], String, kernel),
            Overload::fixed(&[String, String, Int], String, kernel),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (pattern, input) = (strings(&args[0]), strings(&args[1]));
    let group = args.get(2).map(ints);
    let out = (0..rows(args))
        .map(|row| {
            let group = match group {
                Some(g) => int_at(g, row),
                None => Some(0),
            };
            let (Some(pattern), Some(input), Some(group)) =
                (str_at(pattern, row), str_at(input, row), group)
            else {
                return Ok(None);
            };
            let re = java_regex::compile(pattern)?;
            if group as i64 > re.captures_len() as i64 - 1 {
                return Ok(None);
            }
            let Some(caps) = java_regex::matches(&re, input).next() else {
                return Ok(None);
            };
            let Ok(group) = usize::try_from(group) else {
                return exec_err!("No group {group}");
            };
            Ok(caps.get(group).map(|m| m.as_str().to_string()))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{i, s, string};

    fn extract(pattern: &str, input: &str, group: Option<i32>) -> Option<String> {
        string(kernel, &[s(Some(pattern)), s(Some(input)), i(group)]).unwrap()
    }

    #[test]
    fn extracts_as_ksqldb() {
        assert_eq!(string(kernel, &[s(None), s(Some("x"))]).unwrap(), None);
        assert_eq!(extract("x", "x", None), None);
        assert_eq!(
            string(kernel, &[s(Some("e.*")), s(Some("test string"))])
                .unwrap()
                .unwrap(),
            "est string"
        );
        assert_eq!(
            extract("[AEIOU].{4}", "usEr nAme 1", Some(0)).unwrap(),
            "Er nA"
        );
        assert_eq!(extract("tst", "test string", Some(0)), None);
        assert_eq!(
            extract("(.*) (.*)", "test string", Some(1)).unwrap(),
            "test"
        );
        assert_eq!(
            extract("(.*) (.*)", "test string", Some(2)).unwrap(),
            "string"
        );
        assert_eq!(extract("e", "test string", Some(3)), None);
        assert_eq!(extract("(a)(b)?", "a", Some(2)), None);
        assert!(string(kernel, &[s(Some("(()")), s(Some("x")), i(Some(0))]).is_err());
        assert!(string(kernel, &[s(Some("e")), s(Some("test")), i(Some(-1))]).is_err());
    }
}
