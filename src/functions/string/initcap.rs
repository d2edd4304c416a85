//! INITCAP(string): each word capitalised, the rest lower case.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::strings;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "INITCAP",
        category: "STRING",
        description: "Capitalizes the first letter of each word in a string and the rest lowercased. Words are delimited by whitespace.",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = strings(&args[0]).iter().map(|s| s.map(initcap)).collect();
    Ok(Arc::new(out))
}

/// Java's `\s`: ASCII whitespace only.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// The string lower-cased, then each word (a run of non-space characters with the spaces that
/// follow it) starting with its first character upper-cased. As in ksqlDB, spaces before the
/// first word are dropped.
fn initcap(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut at_word_start = true;
    for c in lower.trim_start_matches(is_space).chars() {
        if is_space(c) {
            at_word_start = true;
            out.push(c);
        } else if at_word_start {
            at_word_start = false;
            // Java upper-cases the first UTF-16 unit alone: half of a surrogate pair stays.
            if c.len_utf16() == 1 {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::initcap;

    #[test]
    fn capitalises_words() {
        assert_eq!(initcap("the   Quick br0wn fOx"), "The   Quick Br0wn Fox");
        assert_eq!(initcap("some_string"), "Some_string");
        assert_eq!(initcap("  lead\tand trail  "), "Lead\tAnd Trail  ");
        assert_eq!(initcap(""), "");
        assert_eq!(initcap("\u{df}x"), "SSx");
    }
}
