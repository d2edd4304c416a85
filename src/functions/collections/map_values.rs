//! MAP_VALUES(map): the values of a map as an array; null for a null map.

use datafusion::arrow::array::{ArrayRef, MapArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{array_of, map_part_as_list, string_map_of, string_map_value};
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
    map_part_as_list(&args[0], return_type, "MAP_VALUES", MapArray::values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::JavaValue as J;
    use crate::functions::collections::common::testing::show;
    use datafusion::arrow::array::{Int32Builder, StringBuilder};
    use std::sync::Arc;

    #[test]
    fn values() {
        let mut b = crate::types::map::Builder::new(StringBuilder::new(), Int32Builder::new());
        b.keys().append_value("foo");
        b.values().append_value(1);
        b.keys().append_value("bar");
        b.values().append_null();
        b.append(true);
        b.append(false);
        let maps: ArrayRef = Arc::new(b.finish().unwrap());
        let out = kernel(&[maps], &array_of(&SqlType::Int).to_arrow()).unwrap();
        assert_eq!(show(&out), vec![J::List(vec![J::Int(1), J::Null]), J::Null]);
    }
}
