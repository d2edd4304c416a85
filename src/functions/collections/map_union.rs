//! MAP_UNION(map1, map2): the entries of both maps, the second's value winning for a key both
//! hold; a null map counts as empty, but two null maps give null.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{MapOut, bounds, map_arg, string_map_of, string_map_value, unify};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "MAP_UNION",
        category: "MAP",
        description: "Returns a new map containing the union of all entries from both input maps. If a key is present in both input maps then the value from map2 is the one which appears in the result. Returns NULL if all of the input maps are NULL.",
        overloads: vec![Overload::generic(
            "MAP<STRING, T> map1, MAP<STRING, T> map2",
            resolve,
            kernel,
        )],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [a, b] = args else { return None };
    let t = unify(&[string_map_value(a)?, string_map_value(b)?])?;
    Some(Signature {
        params: vec![string_map_of(&t), string_map_of(&t)],
        returns: string_map_of(&t),
    })
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let maps = [
        map_arg(&args[0], "MAP_UNION")?,
        map_arg(&args[1], "MAP_UNION")?,
    ];
    let keys = [
        crate::types::map::keys(maps[0]).to_data(),
        crate::types::map::keys(maps[1]).to_data(),
    ];
    let values = [maps[0].values().to_data(), maps[1].values().to_data()];
    let key_text = [
        crate::types::map::keys(maps[0]).as_string::<i32>(),
        crate::types::map::keys(maps[1]).as_string::<i32>(),
    ];
    let rows = maps[0].len();
    let mut out = MapOut::new(vec![&keys[0], &keys[1]], vec![&values[0], &values[1]], rows);
    for row in 0..rows {
        if maps.iter().all(|m| m.is_null(row)) {
            out.null_row();
            continue;
        }
        // Entries by first appearance of their key: (key source, key index, value source,
        // value index).
        let mut entries: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut index: HashMap<Option<&str>, usize> = HashMap::new();
        for (m, map) in maps.iter().enumerate() {
            if map.is_null(row) {
                continue;
            }
            let (s, e) = bounds(map.value_offsets(), row);
            for i in s..e {
                let key = key_text[m].is_valid(i).then(|| key_text[m].value(i));
                match index.get(&key) {
                    Some(&at) => {
                        entries[at].2 = m;
                        entries[at].3 = i;
                    }
                    None => {
                        index.insert(key, entries.len());
                        entries.push((m, i, m, i));
                    }
                }
            }
        }
        for (ks, k, vs, v) in entries {
            out.push(ks, k, Some((vs, v)))?;
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
    use crate::functions::collections::common::testing::show;
    use datafusion::arrow::array::{Int32Builder, StringBuilder};

    /// Rows of map entries; `None` is a null map.
    type Rows<'a> = Vec<Option<Vec<(&'a str, Option<i32>)>>>;

    #[test]
    fn unites() {
        let build = |rows: Rows<'_>| -> ArrayRef {
            let mut b = crate::types::map::Builder::new(StringBuilder::new(), Int32Builder::new());
            for r in rows {
                match r {
                    Some(entries) => {
                        for (k, v) in entries {
                            b.keys().append_value(k);
                            b.values().append_option(v);
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish().unwrap())
        };
        let left = build(vec![
            Some(vec![("foo", Some(10)), ("bar", Some(20))]),
            None,
            None,
        ]);
        let right = build(vec![
            Some(vec![("foo", None), ("apple", Some(-1))]),
            Some(vec![("foo", None)]),
            None,
        ]);
        let t = string_map_of(&SqlType::Int).to_arrow();
        let out = kernel(&[left, right], &t).unwrap();
        let s = |v: &str| J::String(v.to_string());
        assert_eq!(
            show(&out),
            vec![
                J::Map(vec![
                    (s("apple"), J::Int(-1)),
                    (s("bar"), J::Int(20)),
                    (s("foo"), J::Null)
                ]),
                J::Map(vec![(s("foo"), J::Null)]),
                J::Null
            ]
        );
    }
}
