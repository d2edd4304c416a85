//! The KAFKA format: a single column in Kafka's own primitive serdes.
//!
//! INT is a 4-byte and BIGINT an 8-byte big-endian integer, DOUBLE an 8-byte big-endian IEEE
//! 754 value, STRING UTF-8 text and BYTES the raw bytes. Other types are rejected, as are
//! several columns; no columns at all means the bytes are ignored and none are written.

use datafusion::scalar::ScalarValue;

use super::{FormatError, Result, base_type_name, describe_columns};
use crate::types::{Column, SqlType};

/// The bits Java's `Double.doubleToLongBits` gives every NaN.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

/// Decodes the single column's value.
pub fn deserialize(columns: &[Column], bytes: &[u8]) -> Result<Vec<ScalarValue>> {
    let Some(column) = single_column(columns).map_err(FormatError::Deserialize)? else {
        return Ok(Vec::new());
    };
    let value = match column.ty {
        SqlType::Int => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(bytes, "Integer")?))),
        SqlType::Bigint => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(bytes, "Long")?))),
        SqlType::Double => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(bytes, "Double")?))),
        // Kafka's StringDeserializer replaces malformed UTF-8 rather than failing.
        SqlType::String => ScalarValue::Utf8(Some(String::from_utf8_lossy(bytes).into_owned())),
        SqlType::Bytes => ScalarValue::Binary(Some(bytes.to_vec())),
        ref other => return Err(FormatError::Deserialize(unsupported(other))),
    };
    Ok(vec![value])
}

/// The single column's value as a cell, for the types read without an allocation; `None`
/// sends the caller to [`deserialize`] (which also reports malformed bytes).
pub fn read_cell<'a>(column: &Column, bytes: &'a [u8]) -> Option<super::Cell<'a>> {
    match column.ty {
        SqlType::Int => Some(super::Cell::Int(i32::from_be_bytes(bytes.try_into().ok()?))),
        SqlType::Bigint => Some(super::Cell::Long(i64::from_be_bytes(
            bytes.try_into().ok()?,
        ))),
        SqlType::String => Some(super::Cell::Text(String::from_utf8_lossy(bytes))),
        _ => None,
    }
}

/// Encodes the single column's value. A null value writes no bytes.
pub fn serialize(columns: &[Column], values: &[ScalarValue]) -> Result<Option<Vec<u8>>> {
    let Some(column) = single_column(columns).map_err(FormatError::Serialize)? else {
        return Ok(None);
    };
    let [value] = values else {
        return Err(FormatError::Serialize(format!(
            "Column count mismatch on serialization. expected: 1, got: {}",
            values.len()
        )));
    };
    if value.is_null() {
        return Ok(None);
    }
    let mismatch = || {
        FormatError::Serialize(format!(
            "value does not match expected type. expected: {}, but got: {}",
            column.ty,
            value.data_type()
        ))
    };
    let bytes = match column.ty {
        SqlType::Int => {
            let v = integer(value).ok_or_else(mismatch)?;
            i32::try_from(v)
                .map_err(|_| mismatch())?
                .to_be_bytes()
                .to_vec()
        }
        SqlType::Bigint => integer(value).ok_or_else(mismatch)?.to_be_bytes().to_vec(),
        SqlType::Double => {
            let v = match value {
                ScalarValue::Float64(Some(v)) => *v,
                ScalarValue::Float32(Some(v)) => f64::from(*v),
                other => integer(other).ok_or_else(mismatch)? as f64,
            };
            let bits = if v.is_nan() {
                CANONICAL_NAN_BITS
            } else {
                v.to_bits()
            };
            bits.to_be_bytes().to_vec()
        }
        SqlType::String => match value {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => s.as_bytes().to_vec(),
            _ => return Err(mismatch()),
        },
        SqlType::Bytes => match value {
            ScalarValue::Binary(Some(b))
            | ScalarValue::LargeBinary(Some(b))
            | ScalarValue::BinaryView(Some(b))
            | ScalarValue::FixedSizeBinary(_, Some(b)) => b.clone(),
            _ => return Err(mismatch()),
        },
        ref other => return Err(FormatError::Serialize(unsupported(other))),
    };
    Ok(Some(bytes))
}

/// [`serialize`] of row `row` of a BIGINT, INTEGER or STRING column's array, read straight
/// from it; `None` for anything else (including a null), which [`serialize`] then writes.
pub fn serialize_array(
    columns: &[Column],
    arrays: &[datafusion::arrow::array::ArrayRef],
    row: usize,
) -> Option<Vec<u8>> {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
    let ([column], [array]) = (columns, arrays) else {
        return None;
    };
    if array.is_null(row) {
        return None;
    }
    match (&column.ty, array.data_type()) {
        (SqlType::Bigint, DataType::Int64) => Some(
            array
                .as_primitive::<Int64Type>()
                .value(row)
                .to_be_bytes()
                .to_vec(),
        ),
        (SqlType::Int, DataType::Int32) => Some(
            array
                .as_primitive::<Int32Type>()
                .value(row)
                .to_be_bytes()
                .to_vec(),
        ),
        (SqlType::String, DataType::Utf8) => {
            Some(array.as_string::<i32>().value(row).as_bytes().to_vec())
        }
        _ => None,
    }
}

/// The one column KAFKA carries, `None` for no columns, or ksqlDB's error for several.
fn single_column(columns: &[Column]) -> std::result::Result<Option<&Column>, String> {
    match columns {
        [] => Ok(None),
        [column] => Ok(Some(column)),
        _ => Err(format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            describe_columns(columns)
        )),
    }
}

/// Whether KAFKA can carry a column of this type.
pub(crate) fn supports(ty: &SqlType) -> bool {
    matches!(
        ty,
        SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::String | SqlType::Bytes
    )
}

/// ksqlDB's message for a type KAFKA cannot carry, naming the base type (`DECIMAL`, `ARRAY`).
pub(crate) fn unsupported(ty: &SqlType) -> String {
    format!(
        "The 'KAFKA' format does not support type '{}'",
        base_type_name(ty)
    )
}

/// Exactly `N` bytes, or the error Kafka's `<name>Deserializer` gives.
fn fixed<const N: usize>(bytes: &[u8], name: &str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| {
        FormatError::Deserialize(format!(
            "Size of data received by {name}Deserializer is not {N}"
        ))
    })
}

fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: SqlType) -> Vec<Column> {
        vec![Column::value("V", ty)]
    }

    fn round_trip(ty: SqlType, value: ScalarValue, bytes: &[u8]) {
        let columns = col(ty);
        let written = serialize(&columns, std::slice::from_ref(&value)).unwrap();
        assert_eq!(written.as_deref(), Some(bytes), "{value:?}");
        assert_eq!(deserialize(&columns, bytes).unwrap(), vec![value]);
    }

    #[test]
    fn round_trips_primitives() {
        round_trip(SqlType::Int, ScalarValue::Int32(Some(2)), &[0, 0, 0, 2]);
        round_trip(SqlType::Int, ScalarValue::Int32(Some(-1)), &[0xff; 4]);
        round_trip(
            SqlType::Bigint,
            ScalarValue::Int64(Some(1 << 40)),
            &[0, 0, 1, 0, 0, 0, 0, 0],
        );
        round_trip(
            SqlType::Double,
            ScalarValue::Float64(Some(1.5)),
            &1.5f64.to_be_bytes(),
        );
        round_trip(
            SqlType::String,
            ScalarValue::Utf8(Some("bar".into())),
            b"bar",
        );
        round_trip(SqlType::String, ScalarValue::Utf8(Some(String::new())), b"");
        round_trip(
            SqlType::Bytes,
            ScalarValue::Binary(Some(b"variations".to_vec())),
            b"variations",
        );
    }

    #[test]
    fn rejects_wrong_sizes() {
        let err = deserialize(&col(SqlType::Int), &[0, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Size of data received by IntegerDeserializer is not 4"
        );
        let err = deserialize(&col(SqlType::Bigint), &[0; 4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Size of data received by LongDeserializer is not 8"
        );
        let err = deserialize(&col(SqlType::Double), &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Size of data received by DoubleDeserializer is not 8"
        );
    }

    #[test]
    fn strings_replace_bad_utf8() {
        let row = deserialize(&col(SqlType::String), b"a\xffb").unwrap();
        assert_eq!(row, vec![ScalarValue::Utf8(Some("a\u{fffd}b".into()))]);
    }

    #[test]
    fn nulls_and_no_columns_write_nothing() {
        assert_eq!(
            serialize(&col(SqlType::Int), &[ScalarValue::Int32(None)]).unwrap(),
            None
        );
        assert_eq!(serialize(&[], &[]).unwrap(), None);
        assert!(deserialize(&[], b"ignored").unwrap().is_empty());
    }

    #[test]
    fn writes_nan_canonically_and_widens_integers() {
        let bytes = serialize(
            &col(SqlType::Double),
            &[ScalarValue::Float64(Some(f64::NAN))],
        )
        .unwrap()
        .unwrap();
        assert_eq!(bytes, CANONICAL_NAN_BITS.to_be_bytes());
        let bytes = serialize(&col(SqlType::Bigint), &[ScalarValue::Int32(Some(7))])
            .unwrap()
            .unwrap();
        assert_eq!(bytes, 7i64.to_be_bytes());
        let err = serialize(&col(SqlType::Int), &[ScalarValue::Int64(Some(1 << 40))]);
        assert!(err.is_err());
        let err = serialize(&col(SqlType::String), &[ScalarValue::Int32(Some(1))]);
        assert!(err.is_err());
    }

    #[test]
    fn rejects_unsupported_schemas() {
        let err = deserialize(&col(SqlType::Boolean), &[1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The 'KAFKA' format does not support type 'BOOLEAN'"
        );
        let err = serialize(
            &col(SqlType::decimal(2, 1)),
            &[ScalarValue::Decimal128(Some(1), 2, 1)],
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            "The 'KAFKA' format does not support type 'DECIMAL'"
        );
        let columns = vec![
            Column::key("K1", SqlType::Int),
            Column::key("K2", SqlType::String),
        ];
        let err = deserialize(&columns, &[0; 4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The 'KAFKA' format only supports a single field. Got: [`K1` INTEGER KEY, `K2` STRING KEY]"
        );
        assert!(serialize(&col(SqlType::Int), &[]).is_err());
    }
}
