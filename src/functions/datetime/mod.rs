//! Date and time functions.

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![]
}
