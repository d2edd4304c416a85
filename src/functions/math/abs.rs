//! ABS(number): the absolute value.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};

use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::functions::util::per_row_strict;
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ABS",
        category: "MATHEMATICAL",
        description: "Returns the absolute value of its argument.",
        overloads: vec![
            Overload::fixed(&[SqlType::Int], SqlType::Int, kernel),
            Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, kernel),
            Overload::fixed(&[SqlType::Double], SqlType::Double, kernel),
            Overload::generic(
                "DECIMAL",
                |args| match args {
                    [Some(d @ SqlType::Decimal { .. })] => Some(Signature {
                        params: vec![d.clone()],
                        returns: d.clone(),
                    }),
                    _ => None,
                },
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    per_row_strict(args, return_type, |row| {
        Ok(match &row[0] {
            ScalarValue::Int32(Some(v)) => ScalarValue::Int32(Some(v.wrapping_abs())),
            ScalarValue::Int64(Some(v)) => ScalarValue::Int64(Some(v.wrapping_abs())),
            ScalarValue::Float64(Some(v)) => ScalarValue::Float64(Some(v.abs())),
            ScalarValue::Decimal128(Some(v), p, s) => {
                ScalarValue::Decimal128(Some(v.abs()), *p, *s)
            }
            other => return exec_err!("ABS does not take {other:?}"),
        })
    })
}
