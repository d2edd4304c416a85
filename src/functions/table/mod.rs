//! Table functions (UDTFs): each input row becomes zero or more output rows.
//!
//! A [`TableFunction`] resolves its argument types like a scalar function and then expands
//! one row's arguments into a list of values. When a SELECT has several table functions, their
//! lists are zipped: the output has as many rows as the longest list, and shorter lists give
//! null. A new table function is one file here and one line in [`table_functions`].

mod cube;
mod explode;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use datafusion::common::ScalarValue;

use super::registry::{Resolver, Signature};
use crate::types::SqlType;

/// Expands one row's arguments into the function's output values.
pub type Expand = fn(&[ScalarValue], &Signature) -> Result<Vec<ScalarValue>, String>;

/// One way of calling a table function.
#[derive(Debug, Clone)]
pub struct TableOverload {
    /// The parameters as DESCRIBE FUNCTION and error messages show them.
    pub display: &'static str,
    pub resolve: Resolver,
    pub expand: Expand,
}

#[derive(Debug, Clone)]
pub struct TableFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub overloads: Vec<TableOverload>,
}

impl TableFunction {
    pub fn resolve(&self, args: &[Option<SqlType>]) -> Option<(Signature, Expand)> {
        self.overloads
            .iter()
            .find_map(|o| (o.resolve)(args).map(|s| (s, o.expand)))
    }

    /// "explode(ARRAY<T> list)" lines for error messages.
    pub fn alternatives(&self) -> Vec<String> {
        self.overloads
            .iter()
            .map(|o| format!("{}({})", self.name.to_lowercase(), o.display))
            .collect()
    }
}

/// Every built-in table function.
pub fn table_functions() -> Vec<TableFunction> {
    vec![cube::function(), explode::function()]
}

fn registry() -> &'static RwLock<BTreeMap<String, Arc<TableFunction>>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, Arc<TableFunction>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RwLock::new(
            table_functions()
                .into_iter()
                .map(|f| (f.name.to_uppercase(), Arc::new(f)))
                .collect(),
        )
    })
}

/// The table function with this name (case-insensitive).
pub fn lookup(name: &str) -> Option<Arc<TableFunction>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&name.to_uppercase())
        .cloned()
}

/// Every table function, built-in and user-defined.
pub fn all() -> Vec<Arc<TableFunction>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect()
}

/// Adds (or replaces) a table function.
pub fn register(function: TableFunction) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(function.name.to_uppercase(), Arc::new(function));
}

/// The elements of an array value (empty for null).
pub fn elements(value: &ScalarValue) -> Result<Vec<ScalarValue>, String> {
    match value {
        ScalarValue::List(list) if !list.is_null(0) => {
            let values = list.value(0);
            (0..values.len())
                .map(|i| ScalarValue::try_from_array(&values, i).map_err(|e| e.to_string()))
                .collect()
        }
        ScalarValue::List(_) | ScalarValue::Null => Ok(Vec::new()),
        other => Err(format!("Expected an array, got {other}")),
    }
}

use datafusion::arrow::array::Array;
