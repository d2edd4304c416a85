//! ARRAY_SORT(array [, direction]): the elements of an array in Java's natural order, ascending
//! (`ASC`/`ASCENDING`, the default) or descending (`DESC`/`DESCENDING`, any case), nulls last.
//! Null for a null array, a null direction or an unknown one.

use std::cmp::Ordering;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::common::{
    ListOut, array_element, array_of, java_compare, java_values, list_arg, row_range,
};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_SORT",
        category: "ARRAY",
        description: "Sort an array of primitive values, according to their natural sort order. Any NULLs in the array will be placed at the end.",
        overloads: vec![
            Overload::generic("ARRAY<T> input", resolve, kernel),
            Overload::generic("ARRAY<T> input, STRING direction", resolve, kernel),
        ],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let (array, direction) = match args {
        [array] => (array, None),
        [array, direction] => (array, Some(direction)),
        _ => return None,
    };
    let t = array_element(array)?.unwrap_or(SqlType::String);
    let mut params = vec![array_of(&t)];
    if let Some(direction) = direction {
        if !matches!(direction, None | Some(SqlType::String)) {
            return None;
        }
        params.push(SqlType::String);
    }
    Some(Signature {
        params,
        returns: array_of(&t),
    })
}

/// Whether a direction sorts descending; `None` for one ksqlDB doesn't know.
fn descending(direction: &str) -> Option<bool> {
    match direction.to_uppercase().as_str() {
        "ASC" | "ASCENDING" => Some(false),
        "DESC" | "DESCENDING" => Some(true),
        _ => None,
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_SORT")?;
    let directions = args.get(1).map(|d| d.as_string::<i32>());
    let elements = list.values().to_data();
    let values = java_values(list.values().as_ref())?;
    let mut out = ListOut::new(vec![&elements], list.len());
    for row in 0..list.len() {
        let desc = match directions {
            None => Some(false),
            Some(d) if d.is_null(row) => None,
            Some(d) => descending(d.value(row)),
        };
        let (Some((s, e)), Some(desc)) = (row_range(list, row), desc) else {
            out.null_row();
            continue;
        };
        let (mut present, nulls): (Vec<usize>, Vec<usize>) =
            (s..e).partition(|&i| !values[i].is_null());
        if present.len() >= 2 && java_compare(&values[present[0]], &values[present[1]]).is_none() {
            return exec_err!(
                "ARRAY_SORT: {} cannot be cast to java.lang.Comparable",
                values[present[0]].class_name()
            );
        }
        present.sort_by(|&a, &b| {
            let o = java_compare(&values[a], &values[b]).unwrap_or(Ordering::Equal);
            if desc { o.reverse() } else { o }
        });
        for i in present {
            out.extend(0, i, i + 1)?;
        }
        for _ in nulls {
            out.push_null()?;
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
    use datafusion::arrow::array::StringArray;

    #[test]
    fn sorts_with_nulls_last() {
        let lists = int_lists(vec![
            Some(vec![Some(0), None, Some(1), Some(-1)]),
            Some(vec![Some(0), None, Some(1), Some(-1)]),
            Some(vec![Some(0)]),
            Some(vec![Some(0)]),
            None,
        ]);
        let directions: ArrayRef = Arc::new(StringArray::from(vec![
            Some("asCending"),
            Some("DESC"),
            Some("up"),
            None,
            Some("asc"),
        ]));
        let out = kernel(&[lists, directions], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![J::Int(-1), J::Int(0), J::Int(1), J::Null]),
                J::List(vec![J::Int(1), J::Int(0), J::Int(-1), J::Null]),
                J::Null,
                J::Null,
                J::Null
            ]
        );
    }
}
