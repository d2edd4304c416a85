//! Array and map functions.

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![]
}
