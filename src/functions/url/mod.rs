//! URL functions.

mod common;
mod url_decode_param;
mod url_encode_param;
mod url_extract_fragment;
mod url_extract_host;
mod url_extract_parameter;
mod url_extract_path;
mod url_extract_port;
mod url_extract_protocol;
mod url_extract_query;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        url_decode_param::function(),
        url_encode_param::function(),
        url_extract_fragment::function(),
        url_extract_host::function(),
        url_extract_parameter::function(),
        url_extract_path::function(),
        url_extract_port::function(),
        url_extract_protocol::function(),
        url_extract_query::function(),
    ]
}
