//! IFNULL(expression, alternative).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::functions::util::per_row;
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "IFNULL",
        category: "CONDITIONAL",
        description: "Returns expression if it is not NULL, otherwise alternative.",
        overloads: vec![Overload::generic(
            "T expression, T alternative",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    if args.len() != 2 {
        return None;
    }
    super::coalesce::same_type(args)
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    per_row(args, return_type, |row| {
        Ok(if row[0].is_null() {
            row[1].clone()
        } else {
            row[0].clone()
        })
    })
}
