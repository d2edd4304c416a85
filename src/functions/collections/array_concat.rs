//! ARRAY_CONCAT(left, right): the elements of the first array then those of the second; a null
//! array counts as empty, but two null arrays give null.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{ListOut, list_arg, row_range, two_arrays};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_CONCAT",
        category: "ARRAY",
        description: "Concatenates two arrays, creating an array that contains all the elements in the first array followed by all the elements in the second array. Returns NULL if both input arrays are NULL. If only one argument is NULL, the result is the other argument. The two arrays must be of the same type.",
        overloads: vec![Overload::generic(
            "ARRAY<T> left, ARRAY<T> right",
            two_arrays,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let left = list_arg(&args[0], "ARRAY_CONCAT")?;
    let right = list_arg(&args[1], "ARRAY_CONCAT")?;
    let (left_elements, right_elements) = (left.values().to_data(), right.values().to_data());
    let mut out = ListOut::new(vec![&left_elements, &right_elements], left.len());
    for row in 0..left.len() {
        match (row_range(left, row), row_range(right, row)) {
            (None, None) => out.null_row(),
            (l, r) => {
                if let Some((s, e)) = l {
                    out.extend(0, s, e)?;
                }
                if let Some((s, e)) = r {
                    out.extend(1, s, e)?;
                }
                out.end_row();
            }
        }
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
    fn concatenates() {
        let left = int_lists(vec![Some(vec![Some(0), None]), None, None, Some(vec![])]);
        let right = int_lists(vec![Some(vec![Some(0)]), Some(vec![Some(2)]), None, None]);
        let out = kernel(&[left, right], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![J::Int(0), J::Null, J::Int(0)]),
                J::List(vec![J::Int(2)]),
                J::Null,
                J::List(vec![])
            ]
        );
    }
}
