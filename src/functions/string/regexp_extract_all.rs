//! REGEXP_EXTRACT_ALL(pattern, string [, group]): every match of a Java regular expression, or
//! one of its capturing groups in each match.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{int_at, ints, rows, str_at, strings};
use super::java_regex;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Array, Int, String};
    ScalarFunction {
        name: "REGEXP_EXTRACT_ALL",
        category: "REGULAR EXPRESSION",
        description: "Extracts the all subtrings matched by a regex pattern",
        overloads: vec![
            Overload::fixed(&[String, String], Array(Box::new(String)), kernel),
            Overload::fixed(&[String, String, Int], Array(Box::new(String)), kernel),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (pattern, input) = (strings(&args[0]), strings(&args[1]));
    let group = args.get(2).map(ints);
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..rows(args) {
        let group = match group {
            Some(g) => int_at(g, row),
            None => Some(0),
        };
        let (Some(pattern), Some(input), Some(group)) =
            (str_at(pattern, row), str_at(input, row), group)
        else {
            out.append(false);
            continue;
        };
        let re = java_regex::compile(pattern)?;
        if group as i64 > re.captures_len() as i64 - 1 {
            out.append(false);
            continue;
        }
        for caps in java_regex::matches(&re, input) {
            let Ok(group) = usize::try_from(group) else {
                return exec_err!("No group {group}");
            };
            out.values()
                .append_option(caps.get(group).map(|m| m.as_str()));
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::kernel;
    use crate::functions::string::args::testing::{i, list, s, strings};

    fn extract(pattern: &str, input: &str, group: i32) -> Vec<String> {
        list(kernel, &[s(Some(pattern)), s(Some(input)), i(Some(group))]).unwrap()
    }

    #[test]
    fn extracts_as_ksqldb() {
        assert_eq!(list(kernel, &[s(None), s(Some("x"))]), None);
        assert_eq!(extract("e.*", "test string", 0), vec!["est string"]);
        assert_eq!(extract(".", "test", 0), vec!["t", "e", "s", "t"]);
        assert_eq!(
            extract("[AEIOU].{4}", "usEr nAmE 1308", 0),
            vec!["Er nA", "E 130"]
        );
        assert!(extract("tst", "test string", 0).is_empty());
        assert_eq!(
            extract("(\\w*) (\\w*)", "test string another one", 1),
            vec!["test", "", ""]
        );
        assert_eq!(
            extract("(\\w*) (\\w*)", "test string another one", 2),
            vec!["string", "another", "one"]
        );
        assert_eq!(
            strings(kernel, &[s(Some("(a)(b)?")), s(Some("ab a")), i(Some(2))])
                .unwrap()
                .unwrap(),
            vec![Some("b".to_string()), None]
        );
        assert_eq!(
            list(kernel, &[s(Some("e")), s(Some("test")), i(Some(3))]),
            None
        );
        assert!(strings(kernel, &[s(Some("(()")), s(Some("x"))]).is_err());
    }
}
