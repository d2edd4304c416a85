//! AS_VALUE(column): copies a key column into the value.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "AS_VALUE",
        category: "OTHER",
        description: "Used exclusively in the projection of a query to allow a key column to be copied into the value schema.",
        overloads: vec![Overload::generic("T source", resolve, identity)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [arg] = args else { return None };
    let ty = arg.clone().unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![ty.clone()],
        returns: ty,
    })
}

fn identity(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    Ok(args[0].clone())
}
