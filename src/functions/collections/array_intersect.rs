//! ARRAY_INTERSECT(left, right): the distinct elements of the first array that the second also
//! holds, in order of first occurrence; null if either array is null.

use std::collections::HashSet;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, java_values, list_arg, row_range, two_arrays};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_INTERSECT",
        category: "ARRAY",
        description: "Returns an array of all the distinct elements from the intersection of both input arrays, or NULL if either input array is NULL. The order of entries in the output is the same as in the first input array.",
        overloads: vec![Overload::generic(
            "ARRAY<T> left, ARRAY<T> right",
            two_arrays,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let left = list_arg(&args[0], "ARRAY_INTERSECT")?;
    let right = list_arg(&args[1], "ARRAY_INTERSECT")?;
    let elements = left.values().to_data();
    let left_values = java_values(left.values().as_ref())?;
    let right_values = java_values(right.values().as_ref())?;
    let mut out = ListOut::new(vec![&elements], left.len());
    for row in 0..left.len() {
        let (Some((ls, le)), Some((rs, re))) = (row_range(left, row), row_range(right, row)) else {
            out.null_row();
            continue;
        };
        let wanted: HashSet<_> = right_values[rs..re].iter().collect();
        let mut seen = HashSet::new();
        for (i, v) in (ls..).zip(&left_values[ls..le]) {
            if wanted.contains(v) && seen.insert(v) {
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
    fn intersects() {
        let left = int_lists(vec![
            Some(vec![Some(0), None, Some(1), Some(0), Some(-1), None]),
            Some(vec![Some(1)]),
        ]);
        let right = int_lists(vec![Some(vec![Some(-1), None, Some(0)]), None]);
        let out = kernel(&[left, right], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![J::List(vec![J::Int(0), J::Null, J::Int(-1)]), J::Null]
        );
    }
}
