//! MAP_VALUES(map): the values of a map as an array; null for a null map.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::common::{array_of, map_arg, string_map_of, string_map_value};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "MAP_VALUES",
        category: "MAP",
        description: "Returns an array of all the values from the specified map, or NULL if the input map is NULL.",
        overloads: vec![Overload::generic("MAP<STRING, T> input", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [map] = args else { return None };
    let t = string_map_value(map)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![string_map_of(&t)],
        returns: array_of(&t),
    })
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let map = map_arg(&args[0], "MAP_VALUES")?;
    let DataType::List(field) = return_type else {
        return exec_err!("MAP_VALUES returns an array");
    };
    let mut values = map.values().clone();
    if values.data_type() != field.data_type() {
        values = cast(&values, field.data_type())?;
    }
    let list = ListArray::try_new(
        field.clone(),
        map.offsets().clone(),
        values,
        map.nulls().cloned(),
    )?;
    Ok(Arc::new(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::show;
    use datafusion::arrow::array::{Int32Builder, MapBuilder, StringBuilder};

    #[test]
    fn values() {
        let mut b = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
        b.keys().append_value("foo");
        b.values().append_value(1);
        b.keys().append_value("bar");
        b.values().append_null();
        b.append(true).unwrap();
        b.append(false).unwrap();
        let maps: ArrayRef = Arc::new(b.finish());
        let out = kernel(&[maps], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(show(&out), vec![J::List(vec![J::Int(1), J::Null]), J::Null]);
    }
}
