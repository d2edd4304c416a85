//! ARRAY_MIN(array): the least non-null element of an array, by Java's natural order; null for
//! a null array or one with no non-null element.

use std::cmp::Ordering;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{array_to_element, extreme, list_arg, pick};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_MIN",
        category: "ARRAY",
        description: "Return the minimum value from within an array of primitive values, according to their natural sort order. If the array is NULL, or contains only NULLs, return NULL.",
        overloads: vec![Overload::generic(
            "ARRAY<T> input",
            array_to_element,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_MIN")?;
    let picks = extreme(list, Ordering::Less, "ARRAY_MIN")?;
    pick(list.values(), &picks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::{int_lists, show};

    #[test]
    fn least() {
        let lists = int_lists(vec![
            Some(vec![Some(0), None, Some(1), Some(-1), Some(-1)]),
            Some(vec![]),
            None,
        ]);
        let out = kernel(&[lists], &DataType::Int32).unwrap();
        assert_eq!(show(&out), vec![J::Int(-1), J::Null, J::Null]);
    }
}
