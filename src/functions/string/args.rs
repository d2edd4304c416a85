//! Row access to the argument arrays of string and bytes kernels.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::Int32Type;
use datafusion::common::{Result as DfResult, exec_err};

/// The argument as a STRING array.
pub(super) fn strings(a: &ArrayRef) -> &StringArray {
    a.as_string::<i32>()
}

/// The argument as a BYTES array.
pub(super) fn bytes(a: &ArrayRef) -> &BinaryArray {
    a.as_binary::<i32>()
}

/// The argument as an INT array.
pub(super) fn ints(a: &ArrayRef) -> &Int32Array {
    a.as_primitive::<Int32Type>()
}

/// The STRING value at `row`, or `None` when it is null.
pub(super) fn str_at(a: &StringArray, row: usize) -> Option<&str> {
    a.is_valid(row).then(|| a.value(row))
}

/// The BYTES value at `row`, or `None` when it is null.
pub(super) fn bytes_at(a: &BinaryArray, row: usize) -> Option<&[u8]> {
    a.is_valid(row).then(|| a.value(row))
}

/// The INT value at `row`, or `None` when it is null.
pub(super) fn int_at(a: &Int32Array, row: usize) -> Option<i32> {
    a.is_valid(row).then(|| a.value(row))
}

/// An INT argument that ksqlDB's function takes as a Java `int`: a null cannot be passed to
/// it, so the call fails.
pub(super) fn required_int(a: &Int32Array, row: usize, function: &str) -> DfResult<i32> {
    match int_at(a, row) {
        Some(v) => Ok(v),
        None => exec_err!("{function}: a null value can't be passed to an INTEGER parameter"),
    }
}

/// The number of rows of a batch, from its argument arrays.
pub(super) fn rows(args: &[ArrayRef]) -> usize {
    args.first().map(|a| a.len()).unwrap_or(1)
}

/// Calling kernels on single rows, for tests.
#[cfg(test)]
pub(super) mod testing {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::DataType;
    use datafusion::common::{Result as DfResult, ScalarValue};

    use crate::functions::Kernel;

    /// A STRING argument (`None` is null).
    pub fn s(v: Option<&str>) -> ScalarValue {
        ScalarValue::Utf8(v.map(str::to_string))
    }

    /// An INT argument (`None` is null).
    pub fn i(v: Option<i32>) -> ScalarValue {
        ScalarValue::Int32(v)
    }

    /// A BYTES argument.
    pub fn b(v: &[u8]) -> ScalarValue {
        ScalarValue::Binary(Some(v.to_vec()))
    }

    /// The kernel's result for one row.
    pub fn call(kernel: Kernel, args: &[ScalarValue], returns: &DataType) -> DfResult<ScalarValue> {
        let arrays = args
            .iter()
            .map(|a| a.to_array())
            .collect::<DfResult<Vec<_>>>()?;
        let out = kernel(&arrays, returns)?;
        ScalarValue::try_from_array(&out, 0)
    }

    /// A STRING result.
    pub fn string(kernel: Kernel, args: &[ScalarValue]) -> DfResult<Option<String>> {
        Ok(match call(kernel, args, &DataType::Utf8)? {
            ScalarValue::Utf8(v) => v,
            other => panic!("not a string: {other:?}"),
        })
    }

    /// A BYTES result.
    pub fn binary(kernel: Kernel, args: &[ScalarValue]) -> DfResult<Option<Vec<u8>>> {
        Ok(match call(kernel, args, &DataType::Binary)? {
            ScalarValue::Binary(v) => v,
            other => panic!("not bytes: {other:?}"),
        })
    }

    /// An ARRAY<STRING> result.
    pub fn strings(kernel: Kernel, args: &[ScalarValue]) -> DfResult<Option<Vec<Option<String>>>> {
        let returns = crate::types::SqlType::Array(Box::new(crate::types::SqlType::String));
        Ok(match call(kernel, args, &returns.to_arrow())? {
            ScalarValue::List(list) if list.is_valid(0) => {
                let values = list.value(0);
                Some(
                    values
                        .as_string::<i32>()
                        .iter()
                        .map(|v| v.map(str::to_string))
                        .collect(),
                )
            }
            ScalarValue::List(_) => None,
            other => panic!("not a list: {other:?}"),
        })
    }

    /// An ARRAY<STRING> result of present strings, for brevity.
    pub fn list(kernel: Kernel, args: &[ScalarValue]) -> Option<Vec<String>> {
        strings(kernel, args)
            .unwrap()
            .map(|v| v.into_iter().map(|s| s.expect("a null element")).collect())
    }
}
