//! ARRAY_REMOVE(array, value): the array without the elements equal to a value (Java `equals`,
//! so a null value removes the nulls); null for a null array.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, array_element, array_of, java_values, list_arg, row_range, unify};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_REMOVE",
        category: "ARRAY",
        description: "Removes all the elements equal to a specific value from an array. Returns NULL if the input array is NULL.",
        overloads: vec![Overload::generic(
            "ARRAY<T> array, T victim",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array, value] = args else { return None };
    let t = unify(&[array_element(array)?, value.clone()])?;
    Some(Signature {
        params: vec![array_of(&t), t.clone()],
        returns: array_of(&t),
    })
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_REMOVE")?;
    let elements = list.values().to_data();
    let values = java_values(list.values().as_ref())?;
    let victims = java_values(args[1].as_ref())?;
    let mut out = ListOut::new(vec![&elements], list.len());
    for (row, victim) in victims.iter().enumerate() {
        let Some((s, e)) = row_range(list, row) else {
            out.null_row();
            continue;
        };
        for (i, v) in (s..).zip(&values[s..e]) {
            if v != victim {
                out.extend(0, i, i + 1)?;
            }
        }
        out.end_row();
    }
    out.finish(return_type)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::{int_lists, show};
    use datafusion::arrow::array::Int32Array;

    #[test]
    fn removes() {
        let lists = int_lists(vec![
            Some(vec![Some(0), None, Some(1), Some(0)]),
            Some(vec![Some(0), None, Some(1), Some(0)]),
            None,
        ]);
        let victims: ArrayRef = Arc::new(Int32Array::from(vec![Some(0), None, Some(1)]));
        let out = kernel(&[lists, victims], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![J::Null, J::Int(1)]),
                J::List(vec![J::Int(0), J::Int(1), J::Int(0)]),
                J::Null
            ]
        );
    }
}
