//! ARRAY_CONTAINS(array, value): whether an array holds a value (Java `equals`, so a null value
//! is found among null elements); false for a null array.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{array_element, array_of, java_values, list_arg, row_range, unify};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_CONTAINS",
        category: "ARRAY",
        description: "Returns true if the array is non-null and contains the supplied value.",
        overloads: vec![Overload::generic("ARRAY<T> array, T val", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array, value] = args else { return None };
    let t = unify(&[array_element(array)?, value.clone()])?;
    Some(Signature {
        params: vec![array_of(&t), t],
        returns: SqlType::Boolean,
    })
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_CONTAINS")?;
    let elements = java_values(list.values().as_ref())?;
    let needles = java_values(args[1].as_ref())?;
    let out: BooleanArray = (0..list.len())
        .map(|row| {
            Some(
                row_range(list, row)
                    .is_some_and(|(s, e)| elements[s..e].iter().any(|v| *v == needles[row])),
            )
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::testing::int_lists;
    use datafusion::arrow::array::Int32Array;

    #[test]
    fn finds_values_and_nulls() {
        let lists = int_lists(vec![
            Some(vec![Some(1), None]),
            Some(vec![Some(1), None]),
            Some(vec![Some(1)]),
            None,
            Some(vec![Some(3)]),
        ]);
        let needles: ArrayRef = Arc::new(Int32Array::from(vec![
            Some(1),
            None,
            None,
            Some(1),
            Some(2),
        ]));
        let out = kernel(&[lists, needles], &DataType::Boolean).unwrap();
        let out = out.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![
                Some(true),
                Some(true),
                Some(false),
                Some(false),
                Some(false)
            ]
        );
    }

    #[test]
    fn types() {
        let s = resolve(&[Some(array_of(&SqlType::Bigint)), Some(SqlType::Int)]).unwrap();
        assert_eq!(s.params, vec![array_of(&SqlType::Bigint), SqlType::Bigint]);
        assert!(resolve(&[Some(SqlType::Int), Some(SqlType::Int)]).is_none());
        assert!(resolve(&[Some(array_of(&SqlType::String)), Some(SqlType::Int)]).is_none());
    }
}
