//! SLICE(array, from, to): the elements from position `from` to position `to`, both 1-based and
//! inclusive (a null `from` is the start, a null `to` the end). Null for a null array or when the
//! positions fall outside it or cross.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::Result as DfResult;

use super::common::{ListOut, array_element, array_of, list_arg, row_range};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "SLICE",
        category: "ARRAY",
        description: "slice of an ARRAY",
        overloads: vec![Overload::generic(
            "ARRAY<T> in, INTEGER from, INTEGER to",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array, from, to] = args else { return None };
    for index in [from, to] {
        if !matches!(index, None | Some(SqlType::Int)) {
            return None;
        }
    }
    let t = array_element(array)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![array_of(&t), SqlType::Int, SqlType::Int],
        returns: array_of(&t),
    })
}

/// The elements `start..end` (relative to the array) that `from` and `to` select from an array
/// of `len` elements, as Java's `subList(from - 1, to)`; `None` when out of bounds.
fn selection(len: usize, from: Option<i32>, to: Option<i32>) -> Option<(usize, usize)> {
    let start = from.map_or(0, |f| f as i64 - 1);
    let end = to.map_or(len as i64, |t| t as i64);
    if start < 0 || end > len as i64 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "SLICE")?;
    let from = args[1].as_primitive::<Int32Type>();
    let to = args[2].as_primitive::<Int32Type>();
    let elements = list.values().to_data();
    let mut out = ListOut::new(vec![&elements], list.len());
    for row in 0..list.len() {
        let at = |a: &datafusion::arrow::array::Int32Array| a.is_valid(row).then(|| a.value(row));
        match row_range(list, row).and_then(|(s, e)| Some((s, selection(e - s, at(from), at(to))?)))
        {
            Some((base, (start, end))) => {
                out.extend(0, base + start, base + end)?;
                out.end_row();
            }
            None => out.null_row(),
        }
    }
    out.finish(return_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_like_sublist() {
        assert_eq!(selection(4, Some(2), Some(3)), Some((1, 3)));
        assert_eq!(selection(4, None, None), Some((0, 4)));
        assert_eq!(selection(4, Some(0), Some(3)), None);
        assert_eq!(selection(4, Some(2), Some(5)), None);
        assert_eq!(selection(4, Some(3), Some(2)), Some((2, 2)));
        assert_eq!(selection(4, Some(4), Some(2)), None);
        assert_eq!(selection(4, Some(5), None), Some((4, 4)));
        assert_eq!(selection(4, Some(i32::MIN), None), None);
    }
}
