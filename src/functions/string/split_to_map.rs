//! SPLIT_TO_MAP(string, entry_delimiter, kv_delimiter): a map from `k=v` entries.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::{Map, String};
    ScalarFunction {
        name: "SPLIT_TO_MAP",
        category: "STRING",
        description: "Splits a string into key-value pairs and creates a map from them. The 'entryDelimiter' splits the string into key-value pairs which are then split by 'kvDelimiter'. If the same key is present multiple times in the input, the latest value for that key is returned. Returns NULL if the input text or either of the delimiters is NULL.",
        overloads: vec![Overload::fixed(
            &[String, String, String],
            Map(Box::new(String), Box::new(String)),
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, entry, kv) = (strings(&args[0]), strings(&args[1]), strings(&args[2]));
    let mut out = crate::types::map::Builder::new(StringBuilder::new(), StringBuilder::new());
    for row in 0..rows(args) {
        let entries = match (str_at(input, row), str_at(entry, row), str_at(kv, row)) {
            (Some(s), Some(e), Some(k)) => split_to_map(s, e, k),
            _ => None,
        };
        match entries {
            Some(entries) => {
                for (k, v) in entries {
                    out.keys().append_value(k);
                    out.values().append_value(v);
                }
                out.append(true);
            }
            None => out.append(false),
        }
    }
    Ok(Arc::new(out.finish()?))
}

/// The entries of `s`: non-empty parts between entry delimiters that contain the key-value
/// delimiter, each the key before it and the value up to the next one. A later entry for a key
/// replaces the value of an earlier one. Empty or equal delimiters give null.
fn split_to_map<'a>(s: &'a str, entry: &str, kv: &str) -> Option<Vec<(&'a str, &'a str)>> {
    if entry.is_empty() || kv.is_empty() || entry == kv {
        return None;
    }
    let mut entries: Vec<(&str, &str)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for part in s.split(entry).filter(|p| !p.is_empty() && p.contains(kv)) {
        let mut pieces = part.split(kv);
        let key = pieces.next().unwrap_or_default();
        let value = pieces.next().unwrap_or_default();
        match index.get(key) {
            Some(&i) => entries[i].1 = value,
            None => {
                index.insert(key, entries.len());
                entries.push((key, value));
            }
        }
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::split_to_map;

    #[test]
    fn splits() {
        assert_eq!(
            split_to_map("a=1;b=2;;c;a=3=4", ";", "=").unwrap(),
            vec![("a", "3"), ("b", "2")]
        );
        assert_eq!(split_to_map("", ";", "=").unwrap(), vec![]);
        assert!(split_to_map("a=1", "=", "=").is_none());
        assert!(split_to_map("a=1", "", "=").is_none());
        assert!(split_to_map("a=1", ";", "").is_none());
        assert_eq!(
            split_to_map("foo:=apple||bar:=cherry", "||", ":=").unwrap(),
            vec![("foo", "apple"), ("bar", "cherry")]
        );
        assert_eq!(
            split_to_map("foo :=\tapple || bar:=cherry", "||", ":=").unwrap(),
            vec![("foo ", "\tapple "), (" bar", "cherry")]
        );
        assert_eq!(
            split_to_map("/foo:=apple//bar:=cherry/", "/", ":=").unwrap(),
            vec![("foo", "apple"), ("bar", "cherry")]
        );
        assert_eq!(
            split_to_map("foo:=apple/cherry", "/", ":=").unwrap(),
            vec![("foo", "apple")]
        );
        assert_eq!(split_to_map("cherry", "/", ":=").unwrap(), vec![]);
        assert_eq!(
            split_to_map("/foo:=apple/foo:=cherry/", "/", ":=").unwrap(),
            vec![("foo", "cherry")]
        );
    }
}
