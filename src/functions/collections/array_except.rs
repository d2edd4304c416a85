//! ARRAY_EXCEPT(array, exceptions): the distinct elements of an array that the second array
//! doesn't hold, in order of first occurrence; null if either array is null.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, java_values, list_arg, row_range, two_arrays};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_EXCEPT",
        category: "ARRAY",
        description: "Returns an array of all the elements in an array except for those also present in a second array. The order of entries in the first array is preserved although any duplicates are removed. Returns NULL if either input is NULL.",
        overloads: vec![Overload::generic(
            "ARRAY<T> left, ARRAY<T> right",
            two_arrays,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let left = list_arg(&args[0], "ARRAY_EXCEPT")?;
    let right = list_arg(&args[1], "ARRAY_EXCEPT")?;
    let elements = left.values().to_data();
    let left_values = java_values(left.values().as_ref())?;
    let right_values = java_values(right.values().as_ref())?;
    let mut out = ListOut::new(vec![&elements], left.len());
    for row in 0..left.len() {
        let (Some((ls, le)), Some((rs, re))) = (row_range(left, row), row_range(right, row)) else {
            out.null_row();
            continue;
        };
        let mut excluded: HashSet<_> = right_values[rs..re].iter().collect();
        for (i, v) in (ls..).zip(&left_values[ls..le]) {
            // Adding each kept element to the exclusions drops its later duplicates.
            if excluded.insert(v) {
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
    use crate::functions::collections::common::array_of;
    use crate::functions::collections::common::testing::{int_lists, show};
    use crate::types::SqlType;

    #[test]
    fn removes_exceptions_and_duplicates() {
        let left = int_lists(vec![
            Some(vec![Some(0), Some(0), Some(1), Some(0), Some(-1)]),
            Some(vec![Some(1)]),
            None,
        ]);
        let right = int_lists(vec![Some(vec![Some(1), Some(-2)]), None, Some(vec![])]);
        let out = kernel(&[left, right], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![J::List(vec![J::Int(0), J::Int(-1)]), J::Null, J::Null]
        );
    }
}
