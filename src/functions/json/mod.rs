//! JSON functions.

mod common;
mod extractjsonfield;
mod is_json_string;
mod json_array_contains;
mod json_array_length;
mod json_concat;
mod json_items;
mod json_keys;
mod json_records;
mod to_json_string;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        extractjsonfield::function(),
        is_json_string::function(),
        json_array_contains::function(),
        json_array_length::function(),
        json_concat::function(),
        json_items::function(),
        json_keys::function(),
        json_records::function(),
        to_json_string::function(),
    ]
}
