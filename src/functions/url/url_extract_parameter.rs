//! URL_EXTRACT_PARAMETER(url, name): the value of the first `name=value` pair of the decoded
//! query (split on `&`, then on the first `=`); an empty string for a bare `name`; null when
//! the name is absent or there is no query. A URL that `java.net.URI` rejects fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::parse_url;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "URL_EXTRACT_PARAMETER",
        category: "URL",
        description: "Extracts a parameter with a specified name encoded inside an application/x-www-form-urlencoded String.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::String],
            SqlType::String,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let urls = args[0].as_string::<i32>();
    let names = args[1].as_string::<i32>();
    let out = urls
        .iter()
        .zip(names.iter())
        .map(|(url, name)| {
            let Some(url) = url else { return Ok(None) };
            let Some(query) = parse_url(url)?.query() else {
                return Ok(None);
            };
            // A null name matches nothing (Java's `equals(null)` is false).
            let Some(name) = name else { return Ok(None) };
            Ok(find(&query, name))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

fn find(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|param| match param.split_once('=') {
            None if param == name => Some(String::new()),
            Some((key, value)) if key == name => Some(value.to_string()),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_parameters() {
        assert_eq!(find("one=a&two=b&three", "two").as_deref(), Some("b"));
        assert_eq!(find("one=a&two=b&three", "three").as_deref(), Some(""));
        assert_eq!(find("one=a=b", "one").as_deref(), Some("a=b"));
        assert_eq!(find("one=a", "four"), None);
    }
}
