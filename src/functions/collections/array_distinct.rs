//! ARRAY_DISTINCT(array): the distinct elements of an array (null among them), in order of
//! first occurrence; null for a null array.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, array_element, array_of, java_values, list_arg, row_range};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_DISTINCT",
        category: "ARRAY",
        description: "Returns an array of all the distinct values, including NULL if present, from the input array. The output array elements will be in order of their first occurrence in the input. Returns NULL if the input array is NULL.",
        overloads: vec![Overload::generic("ARRAY<T> input", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array] = args else { return None };
    let t = array_element(array)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![array_of(&t)],
        returns: array_of(&t),
    })
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_DISTINCT")?;
    let elements = list.values().to_data();
    let values = java_values(list.values().as_ref())?;
    let mut out = ListOut::new(vec![&elements], list.len());
    for row in 0..list.len() {
        let Some((s, e)) = row_range(list, row) else {
            out.null_row();
            continue;
        };
        let mut seen = HashSet::with_capacity(e - s);
        for (i, v) in (s..).zip(&values[s..e]) {
            if seen.insert(v) {
                out.extend(0, i, i + 1)?;
            }
        }
        out.end_row();
    }
    out.finish(return_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::{int_lists, show};

    #[test]
    fn keeps_first_occurrences() {
        let lists = int_lists(vec![
            Some(vec![Some(0), None, Some(1), Some(0), None, Some(-1)]),
            None,
            Some(vec![]),
        ]);
        let out = kernel(&[lists], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![J::Int(0), J::Null, J::Int(1), J::Int(-1)]),
                J::Null,
                J::List(vec![])
            ]
        );
    }
}
