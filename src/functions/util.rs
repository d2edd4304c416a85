//! Helpers for writing kernels.

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};

/// Computes a function row by row over typed values: the general (slower) path, for functions
/// whose logic is easier on values than on arrays. `f` gets the row's arguments.
pub fn per_row(
    args: &[ArrayRef],
    return_type: &DataType,
    f: impl Fn(&[ScalarValue]) -> DfResult<ScalarValue>,
) -> DfResult<ArrayRef> {
    let rows = args.first().map(|a| a.len()).unwrap_or(1);
    let mut out = Vec::with_capacity(rows);
    let mut row = Vec::with_capacity(args.len());
    for i in 0..rows {
        row.clear();
        for a in args {
            row.push(ScalarValue::try_from_array(a, i)?);
        }
        out.push(f(&row)?);
    }
    to_array(out, return_type)
}

/// Like [`per_row`], but any null argument gives a null result without calling `f`.
pub fn per_row_strict(
    args: &[ArrayRef],
    return_type: &DataType,
    f: impl Fn(&[ScalarValue]) -> DfResult<ScalarValue>,
) -> DfResult<ArrayRef> {
    let null = ScalarValue::try_from(return_type)?;
    per_row(args, return_type, |row| {
        if row.iter().any(ScalarValue::is_null) {
            Ok(null.clone())
        } else {
            f(row)
        }
    })
}

/// Builds an array of `data_type` from values (casting when a value's type differs slightly,
/// e.g. a decimal of another precision).
pub fn to_array(values: Vec<ScalarValue>, data_type: &DataType) -> DfResult<ArrayRef> {
    if values.is_empty() {
        return Ok(new_null_array(data_type, 0));
    }
    let values = values
        .into_iter()
        .map(|v| {
            if v.is_null() {
                ScalarValue::try_from(data_type)
            } else if &v.data_type() != data_type {
                v.cast_to(data_type)
            } else {
                Ok(v)
            }
        })
        .collect::<DfResult<Vec<_>>>()?;
    ScalarValue::iter_to_array(values)
}
