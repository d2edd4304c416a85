//! URL_EXTRACT_FRAGMENT(url): the fragment (decoded), or null when there is none. A URL that `java.net.URI` rejects fails the call.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::map_urls;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "URL_EXTRACT_FRAGMENT",
        category: "URL",
        description: "Extracts the fragment of an application/x-www-form-urlencoded String input",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_urls(args, |u| u.fragment())
}
