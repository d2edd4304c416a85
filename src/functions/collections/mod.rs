//! Array and map functions.

mod array_concat;
mod array_contains;
mod array_distinct;
mod array_except;
mod array_intersect;
mod array_join;
mod array_length;
mod array_max;
mod array_min;
mod array_remove;
mod array_sort;
mod array_union;
mod as_map;
pub(crate) mod common;
mod entries;
mod generate_series;
mod map_keys;
mod map_union;
mod map_values;
mod slice;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        array_concat::function(),
        array_contains::function(),
        array_distinct::function(),
        array_except::function(),
        array_intersect::function(),
        array_join::function(),
        array_length::function(),
        array_max::function(),
        array_min::function(),
        array_remove::function(),
        array_sort::function(),
        array_union::function(),
        as_map::function(),
        entries::function(),
        generate_series::function(),
        map_keys::function(),
        map_union::function(),
        map_values::function(),
        slice::function(),
    ]
}
