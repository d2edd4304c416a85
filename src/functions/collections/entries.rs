//! ENTRIES(map, sorted): the entries of a `MAP<STRING, V>` (V one of INT, BIGINT, DOUBLE,
//! BOOLEAN, STRING) as an array of `STRUCT<K, V>`, in the map's order or, when `sorted`, by key.
//! Null for a null map; a null `sorted` (a Java `boolean` in ksqlDB) fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, NullBufferBuilder, StructArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::common::{bounds, map_arg};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::{SqlType, StructField};

pub fn function() -> ScalarFunction {
    use SqlType::{Bigint, Boolean, Double, Int, String};
    let overload = |v: SqlType| {
        let map = SqlType::Map(Box::new(String), Box::new(v.clone()));
        let entry = SqlType::Struct(vec![
            StructField {
                name: "K".to_string(),
                ty: String,
            },
            StructField {
                name: "V".to_string(),
                ty: v,
            },
        ]);
        Overload::fixed(&[map, Boolean], SqlType::Array(Box::new(entry)), kernel)
    };
    ScalarFunction {
        name: "ENTRIES",
        category: "MAP",
        description: "Construct an array from the entries in a map.The array can be optionally sorted on the keys.",
        overloads: vec![
            overload(Int),
            overload(Bigint),
            overload(Double),
            overload(Boolean),
            overload(String),
        ],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let map = map_arg(&args[0], "ENTRIES")?;
    let sorted = args[1].as_boolean();
    let DataType::List(item) = return_type else {
        return exec_err!("ENTRIES returns an array");
    };
    let DataType::Struct(fields) = item.data_type() else {
        return exec_err!("ENTRIES returns an array of structs");
    };
    let keys = crate::types::map::keys(map).as_string::<i32>();
    let mut order: Vec<u32> = Vec::with_capacity(keys.len());
    let mut offsets = Vec::with_capacity(map.len() + 1);
    offsets.push(0i32);
    let mut nulls = NullBufferBuilder::new(map.len());
    for row in 0..map.len() {
        if sorted.is_null(row) {
            return exec_err!("ENTRIES: a null value can't be passed to a BOOLEAN parameter");
        }
        if map.is_null(row) {
            nulls.append_null();
        } else {
            let (s, e) = bounds(map.value_offsets(), row);
            let start = order.len();
            order.extend(s as u32..e as u32);
            if sorted.value(row) {
                order[start..].sort_by(|&a, &b| {
                    let (a, b) = (keys.value(a as usize), keys.value(b as usize));
                    a.encode_utf16().cmp(b.encode_utf16())
                });
            }
            nulls.append_non_null();
        }
        offsets.push(order.len() as i32);
    }
    let order = UInt32Array::from(order);
    let columns = [crate::types::map::keys(map), map.values()]
        .into_iter()
        .zip(fields.iter())
        .map(|(column, field)| {
            let taken = take(column.as_ref(), &order, None)?;
            Ok(if taken.data_type() != field.data_type() {
                datafusion::arrow::compute::cast(&taken, field.data_type())?
            } else {
                taken
            })
        })
        .collect::<DfResult<Vec<_>>>()?;
    let entries = StructArray::try_new(fields.clone(), columns, None)?;
    let list = ListArray::try_new(
        item.clone(),
        OffsetBuffer::new(offsets.into()),
        Arc::new(entries),
        nulls.finish(),
    )?;
    Ok(Arc::new(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::show;
    use datafusion::arrow::array::{BooleanArray, Int32Builder, StringBuilder};

    #[test]
    fn entries_in_order() {
        let mut b = crate::types::map::Builder::new(StringBuilder::new(), Int32Builder::new());
        for _ in 0..2 {
            b.keys().append_value("b");
            b.values().append_value(2);
            b.keys().append_value("a");
            b.values().append_null();
            b.append(true);
        }
        b.append(false);
        let maps: ArrayRef = Arc::new(b.finish().unwrap());
        let sorted: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
        let t = function().overloads[0].returns.clone().unwrap().to_arrow();
        let out = kernel(&[maps.clone(), sorted], &t).unwrap();
        let e = |k: &str, v: J| J::Struct(vec![J::String(k.to_string()), v]);
        assert_eq!(
            show(&out),
            vec![
                J::List(vec![e("a", J::Null), e("b", J::Int(2))]),
                J::List(vec![e("b", J::Int(2)), e("a", J::Null)]),
                J::Null
            ]
        );
        let sorted: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(true)]));
        assert!(kernel(&[maps, sorted], &t).is_err());
    }
}
