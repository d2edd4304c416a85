//! AS_MAP(keys, values): a map from an array of keys and an array of values, paired by position
//! (a key without a value maps to null; surplus values are ignored; a later duplicate key wins).
//! Null if either array is null. A null key can't be held by a map here and is skipped.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{MapOut, array_element, array_of, list_arg, row_range, string_map_of};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "AS_MAP",
        category: "MAP",
        description: "Construct a list based on some inputs",
        overloads: vec![Overload::generic(
            "ARRAY<STRING> keys, ARRAY<T> values",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [keys, values] = args else { return None };
    if !matches!(array_element(keys)?, None | Some(SqlType::String)) {
        return None;
    }
    let t = array_element(values)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![array_of(&SqlType::String), array_of(&t)],
        returns: string_map_of(&t),
    })
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let keys = list_arg(&args[0], "AS_MAP")?;
    let values = list_arg(&args[1], "AS_MAP")?;
    let key_data = keys.values().to_data();
    let value_data = values.values().to_data();
    let key_text = keys.values().as_string::<i32>();
    let mut out = MapOut::new(vec![&key_data], vec![&value_data], keys.len());
    for row in 0..keys.len() {
        let (Some((ks, ke)), Some((vs, ve))) = (row_range(keys, row), row_range(values, row))
        else {
            out.null_row();
            continue;
        };
        // (key index, value index) by first appearance of the key.
        let mut entries: Vec<(usize, Option<usize>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (n, k) in (ks..ke).enumerate() {
            if key_text.is_null(k) {
                continue;
            }
            let value = (vs + n < ve).then_some(vs + n);
            match index.get(key_text.value(k)) {
                Some(&at) => entries[at].1 = value,
                None => {
                    index.insert(key_text.value(k), entries.len());
                    entries.push((k, value));
                }
            }
        }
        for (k, v) in entries {
            out.push(0, k, v.map(|v| (0, v)))?;
        }
        out.end_row();
    }
    out.finish(return_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::{column, int_lists, show};
    use datafusion::common::ScalarValue;

    #[test]
    fn pairs_keys_with_values() {
        let keys = |k: Option<Vec<Option<&str>>>| match k {
            Some(k) => ScalarValue::List(ScalarValue::new_list_nullable(
                &k.into_iter()
                    .map(|s| ScalarValue::Utf8(s.map(str::to_string)))
                    .collect::<Vec<_>>(),
                &DataType::Utf8,
            )),
            None => ScalarValue::try_from(&array_of(&SqlType::String).to_arrow()).unwrap(),
        };
        let key_column = column(vec![
            keys(Some(vec![Some("a"), Some("b"), Some("c")])),
            keys(Some(vec![Some("a"), Some("b")])),
            keys(Some(vec![Some("a"), None, Some("a")])),
            keys(None),
        ]);
        let value_column = int_lists(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![Some(1), Some(2), Some(3)]),
            Some(vec![]),
        ]);
        let out = kernel(
            &[key_column, value_column],
            &string_map_of(&SqlType::Int).to_arrow(),
        )
        .unwrap();
        let s = |v: &str| J::String(v.to_string());
        assert_eq!(
            show(&out),
            vec![
                J::Map(vec![
                    (s("a"), J::Int(1)),
                    (s("b"), J::Int(2)),
                    (s("c"), J::Null)
                ]),
                J::Map(vec![(s("a"), J::Int(1)), (s("b"), J::Int(2))]),
                J::Map(vec![(s("a"), J::Int(3))]),
                J::Null
            ]
        );
    }
}
