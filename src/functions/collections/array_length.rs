//! ARRAY_LENGTH(array): the number of elements of an array; null for a null array.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{array_element, array_of, list_arg};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_LENGTH",
        category: "ARRAY",
        description: "Returns the length on an array",
        overloads: vec![Overload::generic("ARRAY<T> array", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array] = args else { return None };
    let element = array_element(array)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![array_of(&element)],
        returns: SqlType::Int,
    })
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_LENGTH")?;
    let lengths: Vec<i32> = list
        .value_offsets()
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    Ok(Arc::new(Int32Array::new(
        lengths.into(),
        list.nulls().cloned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::testing::int_lists;

    #[test]
    fn lengths() {
        let lists = int_lists(vec![Some(vec![Some(1), None]), None, Some(vec![])]);
        let out = kernel(&[lists], &DataType::Int32).unwrap();
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(2), None, Some(0)]);
    }
}
