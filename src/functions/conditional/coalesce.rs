//! COALESCE(a, b, …): the first argument that is not null.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::functions::util::per_row;
use crate::types::SqlType;
use crate::types::common_type;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "COALESCE",
        category: "CONDITIONAL",
        description: "Returns the first parameter that is not NULL.",
        overloads: vec![Overload::generic(
            "T first, T[] others",
            same_type,
            first_non_null,
        )],
    }
}

/// All arguments brought to one type, which is also the result type.
pub fn same_type(args: &[Option<SqlType>]) -> Option<Signature> {
    let mut ty: Option<SqlType> = None;
    for a in args.iter().flatten() {
        ty = Some(match ty {
            None => a.clone(),
            Some(t) => common_type(&t, a)?,
        });
    }
    let ty = ty.unwrap_or(SqlType::String);
    if args.is_empty() {
        return None;
    }
    Some(Signature {
        params: vec![ty.clone(); args.len()],
        returns: ty,
    })
}

fn first_non_null(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let null = ScalarValue::try_from(return_type)?;
    per_row(args, return_type, |row| {
        Ok(row
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(|| null.clone()))
    })
}
