//! INT_FROM_BYTES, BIGINT_FROM_BYTES, DOUBLE_FROM_BYTES(bytes [, byte_order]): a number from its
//! fixed-width binary form, big-endian unless 'LITTLE_ENDIAN' is given.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{bytes, bytes_at, rows, str_at, strings};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn functions() -> Vec<ScalarFunction> {
    use SqlType::{Bigint, Bytes, Double, Int, String};
    let function = |name, description, returns: SqlType, kernel| ScalarFunction {
        name,
        category: "CONVERSIONS",
        description,
        overloads: vec![
            Overload::fixed(&[Bytes], returns.clone(), kernel),
            Overload::fixed(&[Bytes, String], returns, kernel),
        ],
    };
    vec![
        function(
            "INT_FROM_BYTES",
            "Converts a BYTES value to an INT value according to the specified byte order. BYTES must be 4 bytes long or a NULL value will be returned.",
            Int,
            int_kernel,
        ),
        function(
            "BIGINT_FROM_BYTES",
            "Converts a BYTES value to a BIGINT value according to the specified byte order. BYTES must be 8 bytes long or a NULL value will be returned.",
            Bigint,
            bigint_kernel,
        ),
        function(
            "DOUBLE_FROM_BYTES",
            "Converts a BYTES value to a DOUBLE value according to the specified byte order. BYTES must be 8 bytes long or a NULL value will be returned.",
            Double,
            double_kernel,
        ),
    ]
}

/// The fixed-width bytes of each row, in big-endian order; `None` for null input.
fn fixed<const N: usize>(args: &[ArrayRef]) -> DfResult<Vec<Option<[u8; N]>>> {
    let input = bytes(&args[0]);
    let order = args.get(1).map(strings);
    (0..rows(args))
        .map(|row| {
            let Some(b) = bytes_at(input, row) else {
                return Ok(None);
            };
            let little = match order.and_then(|o| str_at(o, row)) {
                None => false,
                Some(o) if o.eq_ignore_ascii_case("BIG_ENDIAN") => false,
                Some(o) if o.eq_ignore_ascii_case("LITTLE_ENDIAN") => true,
                Some(o) => {
                    return exec_err!(
                        "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN. Unknown byte order {o}."
                    );
                }
            };
            let Ok(mut word) = <[u8; N]>::try_from(b) else {
                return exec_err!(
                    "Number of bytes must be equal to {N}, but found {}",
                    b.len()
                );
            };
            if little {
                word.reverse();
            }
            Ok(Some(word))
        })
        .collect()
}

fn int_kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let words = fixed::<4>(args)?;
    Ok(Arc::new(
        words
            .into_iter()
            .map(|w| w.map(i32::from_be_bytes))
            .collect::<Int32Array>(),
    ))
}

fn bigint_kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let words = fixed::<8>(args)?;
    Ok(Arc::new(
        words
            .into_iter()
            .map(|w| w.map(i64::from_be_bytes))
            .collect::<Int64Array>(),
    ))
}

fn double_kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let words = fixed::<8>(args)?;
    Ok(Arc::new(
        words
            .into_iter()
            .map(|w| w.map(f64::from_be_bytes))
            .collect::<Float64Array>(),
    ))
}
