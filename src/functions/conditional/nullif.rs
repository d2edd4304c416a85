//! NULLIF(value1, value2): null when the values are equal (Java `equals`), otherwise the first.

use datafusion::arrow::array::BooleanArray;
use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::compute::{kernels::zip::zip, not};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::collections::common::java_values;
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "NULLIF",
        category: "CONDITIONAL",
        description: "Returns NULL if value1 and value2 are equal. Otherwise it returns value1.",
        overloads: vec![Overload::generic("T expr1, T expr2", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    if args.len() != 2 {
        return None;
    }
    super::coalesce::same_type(args)
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let (first, second) = (
        java_values(args[0].as_ref())?,
        java_values(args[1].as_ref())?,
    );
    let equal: BooleanArray = first
        .iter()
        .zip(&second)
        .map(|(a, b)| Some(a == b))
        .collect();
    let nulls = new_null_array(return_type, args[0].len());
    Ok(zip(&not(&equal)?, &args[0], &nulls)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use datafusion::arrow::array::{Array, AsArray, StringArray};

    #[test]
    fn nulls_equal_values() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("a"),
            Some("a"),
            None,
            None,
        ]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("A"),
            None,
            Some("a"),
            None,
        ]));
        let out = kernel(&[a, b], &DataType::Utf8).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            vec![None, Some("a"), Some("a"), None, None]
        );
        assert_eq!(out.len(), 5);
    }
}
