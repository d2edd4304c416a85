//! ARRAY_UNION(left, right): the distinct elements of both arrays, in order of first occurrence
//! (the first array's, then the second's); null if either array is null.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, java_values, list_arg, row_range, two_arrays};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_UNION",
        category: "ARRAY",
        description: "Returns an array of all the distinct elements from both input arrays, or NULL if either array is NULL.",
        overloads: vec![Overload::generic(
            "ARRAY<T> left, ARRAY<T> right",
            two_arrays,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let left = list_arg(&args[0], "ARRAY_UNION")?;
    let right = list_arg(&args[1], "ARRAY_UNION")?;
    let (left_elements, right_elements) = (left.values().to_data(), right.values().to_data());
    let values = [
        java_values(left.values().as_ref())?,
        java_values(right.values().as_ref())?,
    ];
    let mut out = ListOut::new(vec![&left_elements, &right_elements], left.len());
    for row in 0..left.len() {
        let (Some(l), Some(r)) = (row_range(left, row), row_range(right, row)) else {
            out.null_row();
            continue;
        };
        let mut seen = HashSet::new();
        for (source, (s, e)) in [l, r].into_iter().enumerate() {
            for (i, v) in (s..).zip(&values[source][s..e]) {
                if seen.insert(v) {
                    out.extend(source, i, i + 1)?;
                }
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
    use crate::functions::collections::common::array_of;
    use crate::functions::collections::common::testing::{int_lists, show};
    use crate::types::SqlType;

    #[test]
    fn unites() {
        let left = int_lists(vec![
            Some(vec![Some(0), Some(0), Some(1), Some(0), Some(-1)]),
            None,
        ]);
        let right = int_lists(vec![Some(vec![Some(1), Some(-2), Some(0)]), Some(vec![])]);
        let out = kernel(&[left, right], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![J::Int(0), J::Int(1), J::Int(-1), J::Int(-2)]),
                J::Null
            ]
        );
    }
}
