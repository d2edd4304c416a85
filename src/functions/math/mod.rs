//! Mathematical functions.

mod abs;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![abs::function()]
}
