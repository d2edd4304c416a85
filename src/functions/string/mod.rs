//! String functions.

mod lcase;
mod ucase;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![lcase::function(), ucase::function()]
}
