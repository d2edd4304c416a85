//! EXPLODE(array): one row per element.

use datafusion::common::ScalarValue;

use super::{TableFunction, TableOverload, elements};
use crate::functions::registry::Signature;
use crate::types::SqlType;

pub fn function() -> TableFunction {
    TableFunction {
        name: "EXPLODE",
        description: "Explodes an array. This function outputs one value for each element of the array.",
        overloads: vec![
            TableOverload {
                display: "ARRAY<DECIMAL> input",
                resolve: |args| match args {
                    [Some(SqlType::Array(item))] if matches!(**item, SqlType::Decimal { .. }) => {
                        Some(Signature {
                            params: vec![SqlType::Array(item.clone())],
                            returns: (**item).clone(),
                        })
                    }
                    _ => None,
                },
                expand,
            },
            TableOverload {
                display: "ARRAY<T> list",
                resolve: |args| match args {
                    [Some(SqlType::Array(item))] => Some(Signature {
                        params: vec![SqlType::Array(item.clone())],
                        returns: (**item).clone(),
                    }),
                    _ => None,
                },
                expand,
            },
        ],
    }
}

fn expand(args: &[ScalarValue], _: &Signature) -> Result<Vec<ScalarValue>, String> {
    elements(&args[0])
}
