//! ARRAY_MAX(array): the greatest non-null element of an array, by Java's natural order; null
//! for a null array or one with no non-null element.

use std::cmp::Ordering;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{array_to_element, extreme, list_arg, pick};
use crate::functions::registry::{Overload, ScalarFunction};

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_MAX",
        category: "ARRAY",
        description: "Return the maximum value from within an array of primitive values, according to their natural sort order. If the array is NULL, or contains only NULLs, return NULL.",
        overloads: vec![Overload::generic(
            "ARRAY<T> input",
            array_to_element,
            kernel,
        )],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_MAX")?;
    let picks = extreme(list, Ordering::Greater, "ARRAY_MAX")?;
    pick(list.values(), &picks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::{column, show};
    use datafusion::common::ScalarValue;

    fn strings(rows: Vec<Option<Vec<Option<&str>>>>) -> ArrayRef {
        let item = DataType::Utf8;
        column(
            rows.into_iter()
                .map(|r| match r {
                    None => ScalarValue::List(std::sync::Arc::new(
                        datafusion::arrow::array::ListArray::new_null(
                            std::sync::Arc::new(datafusion::arrow::datatypes::Field::new(
                                "item",
                                item.clone(),
                                true,
                            )),
                            1,
                        ),
                    )),
                    Some(v) => ScalarValue::List(ScalarValue::new_list_nullable(
                        &v.into_iter()
                            .map(|s| ScalarValue::Utf8(s.map(str::to_string)))
                            .collect::<Vec<_>>(),
                        &item,
                    )),
                })
                .collect(),
        )
    }

    #[test]
    fn greatest() {
        let lists = strings(vec![
            Some(vec![
                Some("foo"),
                Some("fo"),
                Some("Food"),
                None,
                Some("food"),
            ]),
            Some(vec![None]),
            None,
        ]);
        let out = kernel(&[lists], &DataType::Utf8).unwrap();
        assert_eq!(show(&out), vec![J::String("food".into()), J::Null, J::Null]);
    }

    #[test]
    fn nested_elements_cannot_be_compared() {
        let inner = crate::functions::collections::common::testing::int_lists(vec![
            Some(vec![Some(1)]),
            Some(vec![Some(2)]),
        ]);
        let lists = column(vec![ScalarValue::List(ScalarValue::new_list_nullable(
            &[
                ScalarValue::try_from_array(&inner, 0).unwrap(),
                ScalarValue::try_from_array(&inner, 1).unwrap(),
            ],
            inner.data_type(),
        ))]);
        assert!(kernel(&[lists], inner.data_type()).is_err());
    }
}
