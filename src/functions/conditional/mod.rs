//! Null handling: COALESCE, IFNULL, NULLIF, AS_VALUE.

mod as_value;
mod coalesce;
mod ifnull;
mod nullif;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        as_value::function(),
        coalesce::function(),
        ifnull::function(),
        nullif::function(),
    ]
}
