//! The JSON format, as ksqlDB's `KsqlJsonDeserializer` reads it and Kafka Connect's
//! `JsonConverter` (schemas off, decimals as numbers) writes it.
//!
//! Reading is lenient in ksqlDB's ways: field names match exactly or after upper-casing the
//! JSON name, strings coerce to numbers, numbers to strings, and an object or array read as a
//! STRING becomes its JSON text. Writing is exact: DECIMALs keep their scale, DOUBLEs print like
//! Java (`1.0`, `1.0E10`), BYTES are base64 and DATE/TIME/TIMESTAMP are integers.

pub mod reader;
mod scan;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use base64::Engine;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, MapArray, StructArray, new_empty_array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;
use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::text::{self, BASE64_JSON, BigDecimal};
use super::{FormatError, Result};
use crate::types::{Column, SqlType, StructField, quote_identifier};

/// Decodes one key or value. `wrapped` (or more than one column) means a JSON object with a
/// field per column; otherwise the document is the single column's bare value.
///
/// A `null` document for a wrapped row gives all-null values (ksqlDB reads it as a null row;
/// [`super::deserialize`] reports it as `None`).
pub fn deserialize(columns: &[Column], wrapped: bool, bytes: &[u8]) -> Result<Vec<ScalarValue>> {
    match deserialize_row(columns, wrapped, bytes)? {
        Some(row) => Ok(row),
        None => columns
            .iter()
            .map(|c| text::null_of(&c.ty))
            .collect::<Result<Vec<_>, _>>()
            .map_err(FormatError::Deserialize),
    }
}

/// [`deserialize`], with a wrapped `null` document as `None`: the null row ksqlDB sees.
pub(crate) fn deserialize_row(
    columns: &[Column],
    wrapped: bool,
    bytes: &[u8],
) -> Result<Option<Vec<ScalarValue>>> {
    if columns.is_empty() {
        return Ok(Some(Vec::new()));
    }
    deserialize_document(columns, wrapped, &parse_document(bytes)?)
}

/// [`deserialize_row`] of a parsed document: the schema-registry formats read their records
/// into JSON documents and coerce them to the columns as ksqlDB's JSON deserializer would.
pub(crate) fn deserialize_document(
    columns: &[Column],
    wrapped: bool,
    document: &Value,
) -> Result<Option<Vec<ScalarValue>>> {
    if columns.is_empty() {
        return Ok(Some(Vec::new()));
    }
    if !is_wrapped(columns, wrapped) {
        return Ok(Some(vec![json_to_scalar(document, &columns[0].ty)?]));
    }
    match document {
        Value::Null => Ok(None),
        Value::Object(object) => {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let types: Vec<&SqlType> = columns.iter().map(|c| &c.ty).collect();
            let row = coerce_fields(object, &names, &types).map_err(|e| e.at("$").into_format())?;
            Ok(Some(row))
        }
        other => {
            let row_type = row_type_name(columns);
            Err(invalid_conversion(other, &row_type).at("$").into_format())
        }
    }
}

/// Encodes one key or value: an object with a field per column (names exactly as declared),
/// or, unwrapped, the single column's bare value. An unwrapped null writes no bytes, as in
/// ksqlDB.
pub fn serialize(
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
) -> Result<Option<Vec<u8>>> {
    serialize_with_scales(columns, wrapped, values, &[])
}

/// [`serialize`], writing the decimals of the columns marked in `exact_scale` with every digit
/// of their scale: values that come out of a query's state (aggregate results) carry their
/// column's scale in ksqlDB, where values passed through keep the scale they arrived with.
pub fn serialize_with_scales(
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    serialize_row(columns, wrapped, values, exact_scale)
}

/// [`serialize_with_scales`] of row `row` of `arrays`: the common types are written straight
/// from their arrays, the others through their `ScalarValue`, with the same text either way.
pub fn serialize_arrays(
    columns: &[Column],
    wrapped: bool,
    arrays: &[ArrayRef],
    row: usize,
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    serialize_row(columns, wrapped, &ArrayRow { arrays, row }, exact_scale)
}

/// The values of one row, however they are held.
trait RowValues {
    fn len(&self) -> usize;
    fn is_null(&self, i: usize) -> Result<bool>;
    /// Appends value `i` as [`write_scalar`] writes it.
    fn write(&self, out: &mut Vec<u8>, i: usize, ty: &SqlType, exact_scale: bool) -> Result<()>;
}

impl RowValues for [ScalarValue] {
    fn len(&self) -> usize {
        <[ScalarValue]>::len(self)
    }
    fn is_null(&self, i: usize) -> Result<bool> {
        Ok(self.get(i).is_none_or(ScalarValue::is_null))
    }
    fn write(&self, out: &mut Vec<u8>, i: usize, ty: &SqlType, exact_scale: bool) -> Result<()> {
        write_scalar(out, &self[i], ty, exact_scale)
    }
}

/// Row `row` of a batch's arrays.
struct ArrayRow<'a> {
    arrays: &'a [ArrayRef],
    row: usize,
}

impl RowValues for ArrayRow<'_> {
    fn len(&self) -> usize {
        self.arrays.len()
    }
    fn is_null(&self, i: usize) -> Result<bool> {
        let array = &self.arrays[i];
        if is_plain(array.data_type()) {
            Ok(array.is_null(self.row))
        } else {
            Ok(cell_scalar(array, self.row)?.is_null())
        }
    }
    fn write(&self, out: &mut Vec<u8>, i: usize, ty: &SqlType, exact_scale: bool) -> Result<()> {
        write_cell(out, &self.arrays[i], self.row, ty, exact_scale)
    }
}

/// Encodes one row: an object with a field per column (names exactly as declared), or,
/// unwrapped, the single column's bare value, where a null writes no bytes.
fn serialize_row<R: RowValues + ?Sized>(
    columns: &[Column],
    wrapped: bool,
    values: &R,
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    if values.len() != columns.len() {
        return Err(FormatError::Serialize(format!(
            "Column count mismatch on serialization. expected: {}, got: {}",
            columns.len(),
            values.len()
        )));
    }
    let mut out = Vec::with_capacity(16 + 24 * columns.len());
    if is_wrapped(columns, wrapped) {
        out.push(b'{');
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(&mut out, &column.name)?;
            out.push(b':');
            let exact = exact_scale.get(i).copied().unwrap_or(false);
            values.write(&mut out, i, &column.ty, exact)?;
        }
        out.push(b'}');
        return Ok(Some(out));
    }
    if values.is_null(0)? {
        return Ok(None);
    }
    let exact = exact_scale.first().copied().unwrap_or(false);
    values.write(&mut out, 0, &columns[0].ty, exact)?;
    Ok(Some(out))
}

/// The array types [`write_cell`] writes itself (their nulls are in their null buffers).
fn is_plain(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float64
            | DataType::Utf8
            | DataType::Decimal128(..)
    )
}

fn cell_scalar(array: &ArrayRef, row: usize) -> Result<ScalarValue> {
    ScalarValue::try_from_array(array, row).map_err(|e| FormatError::Serialize(e.to_string()))
}

/// Appends row `row` of `array` as [`write_scalar`] writes its value.
fn write_cell(
    out: &mut Vec<u8>,
    array: &ArrayRef,
    row: usize,
    ty: &SqlType,
    exact_scale: bool,
) -> Result<()> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type};
    if !is_plain(array.data_type()) {
        return write_scalar(out, &cell_scalar(array, row)?, ty, exact_scale);
    }
    if array.is_null(row) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Boolean => {
            let b = array.as_boolean().value(row);
            out.extend_from_slice(if b { b"true" } else { b"false" });
        }
        DataType::Int32 => {
            let v = array.as_primitive::<Int32Type>().value(row);
            out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
        DataType::Int64 => {
            let v = array.as_primitive::<Int64Type>().value(row);
            out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
        DataType::Utf8 => write_string(out, array.as_string::<i32>().value(row))?,
        DataType::Decimal128(_, scale) if *scale >= 0 => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            write_decimal(out, v, *scale as u32, exact_scale);
        }
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            if !v.is_finite() {
                return write_scalar(out, &ScalarValue::Float64(Some(v)), ty, exact_scale);
            }
            text::write_java_double(out, v);
        }
        _ => return write_scalar(out, &cell_scalar(array, row)?, ty, exact_scale),
    }
    Ok(())
}

/// Appends a value's JSON as [`to_bytes`] of [`scalar_to_json`] would write it, going through
/// a `Value` only for the types whose text needs it.
fn write_scalar(
    out: &mut Vec<u8>,
    value: &ScalarValue,
    ty: &SqlType,
    exact_scale: bool,
) -> Result<()> {
    match value {
        v if v.is_null() => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        ScalarValue::Boolean(Some(b)) => write_json(out, b),
        ScalarValue::Int32(Some(v)) => {
            out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
            Ok(())
        }
        ScalarValue::Int64(Some(v)) => {
            out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes());
            Ok(())
        }
        ScalarValue::Utf8(Some(s)) => write_string(out, s),
        ScalarValue::Decimal128(Some(v), _, scale) if *scale >= 0 => {
            write_decimal(out, *v, *scale as u32, exact_scale);
            Ok(())
        }
        // Java's digits are already valid JSON (`1.0E10`); only NaN and the infinities are
        // quoted.
        ScalarValue::Float64(Some(v)) if v.is_finite() => {
            text::write_java_double(out, *v);
            Ok(())
        }
        other => write_json(out, &scalar_to_json(other, ty)?),
    }
}

/// A JSON string: quoted as it is when nothing in it needs escaping, else through serde_json.
fn write_string(out: &mut Vec<u8>, s: &str) -> Result<()> {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        return write_json(out, s);
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// A decimal's digits as [`decimal_json_text`] gives them (or, `exact`, with every digit of
/// its scale), written without allocating.
fn write_decimal(out: &mut Vec<u8>, unscaled: i128, scale: u32, exact: bool) {
    if unscaled < 0 {
        out.push(b'-');
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(unscaled.unsigned_abs()).as_bytes();
    let scale = scale as usize;
    if scale == 0 {
        out.extend_from_slice(digits);
        return;
    }
    // Left-pad with zeros so that there is at least one digit before the point.
    let padding = (scale + 1).saturating_sub(digits.len());
    let whole_len = digits.len() + padding - scale;
    let mut all = std::iter::repeat_n(b'0', padding).chain(digits.iter().copied());
    out.extend(all.by_ref().take(whole_len));
    out.push(b'.');
    let fraction: smallvec::SmallVec<[u8; 40]> = all.collect();
    // Trailing fractional zeros go, down to one digit.
    let kept = if exact {
        fraction.len()
    } else {
        fraction
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(1, |last| last + 1)
    };
    out.extend_from_slice(&fraction[..kept]);
}

fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, JavaFormatter);
    value
        .serialize(&mut serializer)
        .map_err(|e| FormatError::Serialize(format!("Error serializing JSON: {e}")))
}

/// Writes a JSON value as ksqlDB (Jackson) does: compact, and numbers in exponent form with
/// Java's `E` notation (`1.0E10`, where serde_json would write `1.0e+10`).
pub fn to_bytes(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, JavaFormatter);
    value
        .serialize(&mut serializer)
        .map_err(|e| FormatError::Serialize(format!("Error serializing JSON: {e}")))?;
    Ok(out)
}

/// Compact JSON whose exponent numbers read `1.0E10` / `1.5E-4`, as Java prints doubles.
struct JavaFormatter;

impl serde_json::ser::Formatter for JavaFormatter {
    fn write_number_str<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        match value.split_once(['e', 'E']) {
            Some((mantissa, exponent)) => {
                let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
                write!(writer, "{mantissa}E{exponent}")
            }
            None => writer.write_all(value.as_bytes()),
        }
    }
}

/// Coerces a JSON value to a SQL type the way ksqlDB's JSON deserializer does.
pub fn json_to_scalar(value: &Value, ty: &SqlType) -> Result<ScalarValue> {
    coerce(value, ty).map_err(|e| e.at("$").into_format())
}

/// Renders a value as ksqlDB's JSON serializer writes it.
pub fn scalar_to_json(value: &ScalarValue, ty: &SqlType) -> Result<Value> {
    to_json(value, ty).map_err(FormatError::Serialize)
}

fn is_wrapped(columns: &[Column], wrapped: bool) -> bool {
    wrapped || columns.len() != 1
}

/// Parses the first JSON value in the bytes. Like Jackson's `readTree`, anything after it is
/// ignored.
fn parse_document(bytes: &[u8]) -> Result<Value> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(FormatError::Deserialize(format!(
            "Failed to parse JSON: {e}"
        ))),
        None => Err(FormatError::Deserialize(
            "Failed to parse JSON: no content".to_string(),
        )),
    }
}

/// `STRUCT<`A` INTEGER, ...>`: how ksqlDB names the row type in conversion errors.
fn row_type_name(columns: &[Column]) -> String {
    let fields = columns
        .iter()
        .map(|c| format!("{} {}", quote_identifier(&c.name), c.ty))
        .collect::<Vec<_>>()
        .join(", ");
    format!("STRUCT<{fields}>")
}

/// A coercion failure and where in the document it happened (`$.A[2].B`), built up as the
/// error travels out of the recursion, as in ksqlDB's `CoercionException`.
#[derive(Debug)]
struct CoercionError {
    message: String,
    path: String,
}

impl CoercionError {
    fn new(message: impl Into<String>) -> CoercionError {
        CoercionError {
            message: message.into(),
            path: String::new(),
        }
    }

    fn at(mut self, part: &str) -> CoercionError {
        self.path.insert_str(0, part);
        self
    }

    fn into_format(self) -> FormatError {
        FormatError::Deserialize(format!("{}, path: {}", self.message, self.path))
    }
}

type Coerced<T = ScalarValue> = std::result::Result<T, CoercionError>;

/// The Jackson node class ksqlDB names in "Can't convert type" messages.
fn node_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NullNode",
        Value::Bool(_) => "BooleanNode",
        Value::Number(n) => match integer_text(n) {
            Some(text) => match text.parse::<i64>() {
                Ok(v) if i32::try_from(v).is_ok() => "IntNode",
                Ok(_) => "LongNode",
                Err(_) => "BigIntegerNode",
            },
            None => "DecimalNode",
        },
        Value::String(_) => "TextNode",
        Value::Array(_) => "ArrayNode",
        Value::Object(_) => "ObjectNode",
    }
}

fn invalid_conversion(value: &Value, required: &str) -> CoercionError {
    CoercionError::new(format!(
        "Can't convert type. sourceType: {}, requiredType: {required}",
        node_type(value)
    ))
}

fn failed_string_coercion(ty: &SqlType) -> CoercionError {
    CoercionError::new(format!("Can't coerce string to type. targetType: {ty}"))
}

/// The number's text when it is an integer literal (no fraction, no exponent).
fn integer_text(n: &Number) -> Option<&str> {
    let text = n.as_str();
    (!text.contains(['.', 'e', 'E'])).then_some(text)
}

fn number_decimal(n: &Number) -> Coerced<BigDecimal> {
    BigDecimal::parse(n.as_str())
        .ok_or_else(|| CoercionError::new(format!("Invalid number: {}", n.as_str())))
}

/// Jackson's `asLong()` on a number node: decimals truncate toward zero. Unlike Java, a value
/// outside the target range is an error rather than silently wrapping.
fn number_to_i64(n: &Number, ty: &SqlType) -> Coerced<i64> {
    // Most numbers are plain integers: parse those without going through a decimal.
    if let Some(v) = n.as_i64() {
        return Ok(v);
    }
    number_decimal(n)?
        .to_i64_truncated()
        .ok_or_else(|| out_of_range(n.as_str(), ty))
}

fn out_of_range(text: &str, ty: &SqlType) -> CoercionError {
    CoercionError::new(format!("Value {text} is out of range for type {ty}"))
}

/// Reads an integral JSON value (number, or string holding a Java `long`) for BIGINT and the
/// temporal types.
fn coerce_long(value: &Value, ty: &SqlType) -> Coerced<i64> {
    match value {
        Value::Number(n) => number_to_i64(n, ty),
        Value::String(s) => text::parse_java_long(s).ok_or_else(|| failed_string_coercion(ty)),
        other => Err(invalid_conversion(other, &ty.to_string())),
    }
}

fn coerce(value: &Value, ty: &SqlType) -> Coerced {
    if value.is_null() {
        return text::null_of(ty).map_err(CoercionError::new);
    }
    let scalar = match ty {
        SqlType::Boolean => match value {
            Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
            other => return Err(invalid_conversion(other, "BOOLEAN")),
        },
        SqlType::Int => {
            let v = match value {
                Value::Number(n) => {
                    let v = number_to_i64(n, ty)?;
                    i32::try_from(v).map_err(|_| out_of_range(n.as_str(), ty))?
                }
                Value::String(s) => {
                    text::parse_java_int(s).ok_or_else(|| failed_string_coercion(ty))?
                }
                other => return Err(invalid_conversion(other, "INTEGER")),
            };
            ScalarValue::Int32(Some(v))
        }
        SqlType::Bigint => ScalarValue::Int64(Some(coerce_long(value, ty)?)),
        SqlType::Double => {
            let v = match value {
                Value::Number(n) => number_decimal(n)?.to_f64(),
                Value::String(s) => {
                    text::parse_java_double(s).ok_or_else(|| failed_string_coercion(ty))?
                }
                other => return Err(invalid_conversion(other, "DOUBLE")),
            };
            ScalarValue::Float64(Some(v))
        }
        SqlType::Decimal { precision, scale } => {
            let decimal = match value {
                Value::Number(n) => number_decimal(n)?,
                Value::String(s) => BigDecimal::parse(s)
                    .ok_or_else(|| CoercionError::new(format!("Invalid decimal value: '{s}'")))?,
                other => return Err(invalid_conversion(other, &ty.to_string())),
            };
            let unscaled = decimal
                .to_decimal128(*precision, *scale)
                .map_err(CoercionError::new)?;
            ScalarValue::Decimal128(Some(unscaled), *precision, *scale as i8)
        }
        SqlType::String => ScalarValue::Utf8(Some(json_as_string(value)?)),
        SqlType::Bytes => match value {
            Value::String(s) => {
                let bytes = BASE64_JSON.decode(s).map_err(|_| {
                    CoercionError::new(format!("Value is not a valid Base64 encoded string: {s}"))
                })?;
                ScalarValue::Binary(Some(bytes))
            }
            other => return Err(invalid_conversion(other, "BYTES")),
        },
        SqlType::Date => {
            let days = coerce_long(value, ty)?;
            let days = i32::try_from(days).map_err(|_| out_of_range(&days.to_string(), ty))?;
            ScalarValue::Date32(Some(days))
        }
        SqlType::Time => {
            let millis = coerce_long(value, ty)?;
            ScalarValue::Time32Millisecond(Some(
                text::time_millis(millis).map_err(CoercionError::new)?,
            ))
        }
        SqlType::Timestamp => {
            ScalarValue::TimestampMillisecond(Some(coerce_long(value, ty)?), None)
        }
        SqlType::Array(inner) => {
            let Value::Array(items) = value else {
                return Err(invalid_conversion(value, &ty.to_string()));
            };
            let elements = items
                .iter()
                .enumerate()
                .map(|(i, item)| coerce(item, inner).map_err(|e| e.at(&format!("[{i}]"))))
                .collect::<Coerced<Vec<_>>>()?;
            list_scalar(elements, inner).map_err(CoercionError::new)?
        }
        SqlType::Map(key_ty, value_ty) => {
            let Value::Object(object) = value else {
                return Err(invalid_conversion(value, &ty.to_string()));
            };
            let mut keys = Vec::with_capacity(object.len());
            let mut values = Vec::with_capacity(object.len());
            let entries: Vec<(&String, &Value)> = object.iter().collect();
            let order = java_hash_map_order(entries.iter().map(|(k, _)| k.as_str()), entries.len());
            for (k, v) in order.into_iter().map(|i| entries[i]) {
                let key = coerce(&Value::String(k.clone()), key_ty)
                    .map_err(|e| e.at(&format!(".{k}.key")))?;
                keys.push(key);
                values.push(coerce(v, value_ty).map_err(|e| e.at(&format!(".{k}.value")))?);
            }
            map_scalar(ty, keys, values).map_err(CoercionError::new)?
        }
        SqlType::Struct(fields) => {
            let Value::Object(object) = value else {
                return Err(invalid_conversion(value, &ty.to_string()));
            };
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let types: Vec<&SqlType> = fields.iter().map(|f| &f.ty).collect();
            let values = coerce_fields(object, &names, &types)?;
            struct_scalar(ty, values).map_err(CoercionError::new)?
        }
    };
    Ok(scalar)
}

/// Reads the named fields of an object: an exact name match first, else a JSON name that
/// upper-cases to it (so unquoted, upper-cased SQL names match any case in the data, while a
/// quoted lower-case name needs the exact case). Missing fields are null.
fn coerce_fields(
    object: &Map<String, Value>,
    names: &[&str],
    types: &[&SqlType],
) -> Coerced<Vec<ScalarValue>> {
    // Built on the first miss only: most data spells the names exactly.
    let mut upper: Option<HashMap<String, &Value>> = None;
    let mut values = Vec::with_capacity(names.len());
    for (name, ty) in names.iter().zip(types) {
        let found = match object.get(*name) {
            Some(v) => Some(v),
            None => upper
                .get_or_insert_with(|| {
                    object
                        .iter()
                        .map(|(k, v)| (k.to_uppercase(), v))
                        .collect::<HashMap<_, _>>()
                })
                .get(*name)
                .copied(),
        };
        let value = match found {
            Some(v) => coerce(v, ty).map_err(|e| e.at(&format!(".{name}")))?,
            None => text::null_of(ty).map_err(CoercionError::new)?,
        };
        values.push(value);
    }
    Ok(values)
}

/// ksqlDB's reading of any JSON value as a STRING: text as is, numbers and booleans as their
/// text, objects as compact JSON, arrays as `[a, b, null]` of their elements read as strings.
fn json_as_string(value: &Value) -> Coerced<String> {
    Ok(match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_as_java_text(n),
        Value::String(s) => s.clone(),
        Value::Object(_) => serde_json::to_string(&java_numbers(value))
            .map_err(|e| CoercionError::new(format!("Unexpected inability to write value: {e}")))?,
        Value::Array(items) => {
            let parts = items
                .iter()
                .enumerate()
                .map(|(i, item)| json_as_string(item).map_err(|e| e.at(&format!("[{i}]"))))
                .collect::<Coerced<Vec<_>>>()?;
            format!("[{}]", parts.join(", "))
        }
    })
}

/// A number's text as Jackson gives it: integers canonical, others as `BigDecimal.toString()`.
fn number_as_java_text(n: &Number) -> String {
    match integer_text(n) {
        Some(text) => match text.parse::<i128>() {
            Ok(v) => v.to_string(),
            Err(_) => text.to_string(),
        },
        None => BigDecimal::parse(n.as_str())
            .map(|d| d.to_java_string())
            .unwrap_or_else(|| n.as_str().to_string()),
    }
}

/// The value with every number rewritten in Java's text (for objects read as STRING).
fn java_numbers(value: &Value) -> Value {
    match value {
        Value::Number(n) => number_value(&number_as_java_text(n)),
        Value::Array(items) => Value::Array(items.iter().map(java_numbers).collect()),
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| (k.clone(), java_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A JSON number with exactly this text (valid JSON number syntax is the caller's promise;
/// anything else becomes a string rather than a panic).
pub(crate) fn number_value(text: &str) -> Value {
    match text.parse::<Number>() {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(text.to_string()),
    }
}

fn list_scalar(
    elements: Vec<ScalarValue>,
    inner: &SqlType,
) -> std::result::Result<ScalarValue, String> {
    let DataType::List(item_field) = SqlType::Array(Box::new(inner.clone())).to_arrow() else {
        return Err(format!("Internal error: no list type for {inner}"));
    };
    let len = elements.len();
    let values = to_array(elements, item_field.data_type())?;
    let list = ListArray::try_new(item_field, OffsetBuffer::from_lengths([len]), values, None)
        .map_err(|e| format!("Internal error building list: {e}"))?;
    Ok(ScalarValue::List(Arc::new(list)))
}

fn to_array(
    values: Vec<ScalarValue>,
    data_type: &DataType,
) -> std::result::Result<ArrayRef, String> {
    if values.is_empty() {
        return Ok(new_empty_array(data_type));
    }
    ScalarValue::iter_to_array(values).map_err(|e| format!("Internal error building array: {e}"))
}

/// The order in which a Java `new HashMap<>(initial_capacity)` holding these keys iterates
/// them: by hash bucket, then insertion order. ksqlDB's deserializer copies a JSON object into
/// `new HashMap<>(size)`, and the order is observable (REDUCE folds a map in it, and output
/// maps are written in it), so maps are built in it.
pub(crate) fn java_hash_map_order<'a>(
    keys: impl Iterator<Item = &'a str>,
    initial_capacity: usize,
) -> Vec<usize> {
    let spread: Vec<u32> = keys
        .map(|k| {
            let h = k.encode_utf16().fold(0u32, |h, unit| {
                h.wrapping_mul(31).wrapping_add(u32::from(unit))
            });
            h ^ (h >> 16)
        })
        .collect();
    let n = spread.len();
    // HashMap(n) starts with the next power of two and doubles whenever it holds more than
    // three quarters of its capacity.
    let mut capacity = initial_capacity.max(1).next_power_of_two();
    while n * 4 > capacity * 3 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| spread[i] & mask);
    order
}

fn map_scalar(
    ty: &SqlType,
    keys: Vec<ScalarValue>,
    values: Vec<ScalarValue>,
) -> std::result::Result<ScalarValue, String> {
    let map_type = ty.to_arrow();
    let Some((key_type, value_type)) = crate::types::map::entry_types(&map_type) else {
        return Err(format!("Internal error: {ty} is not a map type"));
    };
    let key_array = to_array(keys, key_type)?;
    let value_array = to_array(values, value_type)?;
    let map = crate::types::map::single_map(&map_type, key_array, value_array)
        .map_err(|e| format!("Internal error building map: {e}"))?;
    Ok(ScalarValue::Map(Arc::new(map)))
}

fn struct_scalar(
    ty: &SqlType,
    values: Vec<ScalarValue>,
) -> std::result::Result<ScalarValue, String> {
    let DataType::Struct(fields) = ty.to_arrow() else {
        return Err(format!("Internal error: {ty} is not a struct type"));
    };
    let arrays = values
        .iter()
        .map(|v| v.to_array())
        .collect::<datafusion::error::Result<Vec<_>>>()
        .map_err(|e| format!("Internal error building struct: {e}"))?;
    let array = StructArray::try_new(fields, arrays, None)
        .map_err(|e| format!("Internal error building struct: {e}"))?;
    Ok(ScalarValue::Struct(Arc::new(array)))
}

/// The SQL type of an Arrow child, for nested values whose declared type is unknown.
fn type_of(data_type: &DataType) -> SqlType {
    SqlType::from_arrow(data_type).unwrap_or(SqlType::String)
}

fn to_json(value: &ScalarValue, ty: &SqlType) -> std::result::Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let json = match value {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(v)) => Value::from(*v),
        ScalarValue::Int16(Some(v)) => Value::from(*v),
        ScalarValue::Int32(Some(v)) => Value::from(*v),
        ScalarValue::Int64(Some(v)) => Value::from(*v),
        ScalarValue::UInt8(Some(v)) => Value::from(*v),
        ScalarValue::UInt16(Some(v)) => Value::from(*v),
        ScalarValue::UInt32(Some(v)) => Value::from(*v),
        ScalarValue::UInt64(Some(v)) => Value::from(*v),
        ScalarValue::Float32(Some(v)) => double_json(f64::from(*v)),
        ScalarValue::Float64(Some(v)) => double_json(*v),
        ScalarValue::Decimal128(Some(v), _, scale) => number_value(&decimal_json_text(
            &BigDecimal::from_unscaled(*v, *scale).to_plain_string(),
        )),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::String(s.clone()),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b))
        | ScalarValue::FixedSizeBinary(_, Some(b)) => Value::String(text::base64_encode(b)),
        ScalarValue::List(array) => list_json(array.as_ref(), ty)?,
        ScalarValue::LargeList(array) => list_json(array.as_ref(), ty)?,
        ScalarValue::FixedSizeList(array) => list_json(array.as_ref(), ty)?,
        ScalarValue::Map(array) => map_json(array, ty)?,
        ScalarValue::Struct(array) => struct_json(array, ty)?,
        other => match text::temporal_integer(other) {
            Some(v) => Value::from(v),
            None => {
                return Err(format!(
                    "The JSON format cannot write a value of type {}",
                    other.data_type()
                ));
            }
        },
    };
    Ok(json)
}

/// A DOUBLE as Jackson writes it: Java's digits, and the non-finite values quoted.
fn double_json(v: f64) -> Value {
    let text = text::java_double_to_string(v);
    if v.is_finite() {
        number_value(&text)
    } else {
        Value::String(text)
    }
}

fn list_json(array: &dyn Array, ty: &SqlType) -> std::result::Result<Value, String> {
    let elements = match array.data_type() {
        DataType::List(_) => array.as_list::<i32>().value(0),
        DataType::LargeList(_) => array.as_list::<i64>().value(0),
        DataType::FixedSizeList(..) => array.as_fixed_size_list().value(0),
        other => return Err(format!("Internal error: {other} is not a list")),
    };
    let inner = match ty {
        SqlType::Array(inner) => inner.as_ref().clone(),
        _ => type_of(elements.data_type()),
    };
    (0..elements.len())
        .map(|i| {
            let element = ScalarValue::try_from_array(&elements, i)
                .map_err(|e| format!("Internal error reading list: {e}"))?;
            to_json(&element, &inner)
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn map_json(array: &MapArray, ty: &SqlType) -> std::result::Result<Value, String> {
    let entries = array.value(0);
    let (keys, values) = (crate::types::map::entry_keys(&entries), entries.column(1));
    let value_ty = match ty {
        SqlType::Map(_, v) => v.as_ref().clone(),
        _ => type_of(values.data_type()),
    };
    let mut object = Map::with_capacity(entries.len());
    for i in 0..entries.len() {
        let key = ScalarValue::try_from_array(keys, i)
            .map_err(|e| format!("Internal error reading map: {e}"))?;
        let value = ScalarValue::try_from_array(values, i)
            .map_err(|e| format!("Internal error reading map: {e}"))?;
        let key = match text::scalar_text(&key)? {
            Some(k) => k,
            None => "null".to_string(),
        };
        object.insert(key, to_json(&value, &value_ty)?);
    }
    Ok(Value::Object(object))
}

/// A decimal's JSON text. ksqlDB keeps the scale each value arrived with (the JSON number 12.3
/// read into a DECIMAL(4,2) is written back as 12.3, the integer 10 into DECIMAL(6,4) as
/// 10.0). A column here has one scale, so trailing fractional zeros are dropped down to one
/// digit, which gives the same text for values read from JSON numbers; a value read from the
/// string "3.4" is written 3.4 where ksqlDB writes 3.40. Aggregate results, which ksqlDB
/// reads back from the aggregation's state at the column's scale, are written at full scale
/// ([`serialize_with_scales`]).
fn decimal_json_text(plain: &str) -> String {
    match plain.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            let fraction = if fraction.is_empty() { "0" } else { fraction };
            format!("{whole}.{fraction}")
        }
        None => plain.to_string(),
    }
}

fn struct_json(array: &StructArray, ty: &SqlType) -> std::result::Result<Value, String> {
    let declared: Option<&Vec<StructField>> = match ty {
        SqlType::Struct(fields) if fields.len() == array.num_columns() => Some(fields),
        _ => None,
    };
    let mut object = Map::with_capacity(array.num_columns());
    for (i, (field, column)) in array.fields().iter().zip(array.columns()).enumerate() {
        let (name, field_ty) = match declared {
            Some(fields) => (fields[i].name.clone(), fields[i].ty.clone()),
            None => (field.name().clone(), type_of(field.data_type())),
        };
        let value = ScalarValue::try_from_array(column, 0)
            .map_err(|e| format!("Internal error reading struct: {e}"))?;
        object.insert(name, to_json(&value, &field_ty)?);
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn col(name: &str, ty: SqlType) -> Column {
        Column::value(name, ty)
    }

    #[test]
    fn direct_writers_agree_with_the_general_renderer() {
        let cases = [
            (
                ScalarValue::Decimal128(Some(12300), 6, 3),
                SqlType::decimal(6, 3),
            ),
            (
                ScalarValue::Decimal128(Some(-5), 4, 2),
                SqlType::decimal(4, 2),
            ),
            (
                ScalarValue::Decimal128(Some(0), 4, 2),
                SqlType::decimal(4, 2),
            ),
            (
                ScalarValue::Decimal128(Some(100000), 6, 4),
                SqlType::decimal(6, 4),
            ),
            (
                ScalarValue::Decimal128(Some(-120), 3, 0),
                SqlType::decimal(3, 0),
            ),
            (
                ScalarValue::Decimal128(Some(i128::MAX / 7), 38, 10),
                SqlType::decimal(38, 10),
            ),
            (ScalarValue::Int64(Some(i64::MIN)), SqlType::Bigint),
            (ScalarValue::Int32(Some(-7)), SqlType::Int),
            (ScalarValue::Utf8(Some("plain é".into())), SqlType::String),
            (
                ScalarValue::Utf8(Some("quote \" and \\ and \n".into())),
                SqlType::String,
            ),
        ];
        for (value, ty) in cases {
            let mut direct = Vec::new();
            write_scalar(&mut direct, &value, &ty, false).unwrap();
            let general = to_bytes(&scalar_to_json(&value, &ty).unwrap()).unwrap();
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(general).unwrap(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn maps_iterate_as_a_java_hash_map_of_their_size() {
        // Buckets of a 4-slot table: 0, 1 and 0 (chained after the first).
        let keys = ["yes, thanks", "nope", "sure, yeah"];
        assert_eq!(java_hash_map_order(keys.into_iter(), 3), vec![0, 2, 1]);
        // Four keys outgrow four slots (more than 3/4 full) and spread over eight.
        let keys = ["a", "b", "c", "d"];
        assert_eq!(java_hash_map_order(keys.into_iter(), 4), vec![0, 1, 2, 3]);
        assert!(java_hash_map_order(std::iter::empty(), 0).is_empty());
    }

    fn field(name: &str, ty: SqlType) -> StructField {
        StructField {
            name: name.into(),
            ty,
        }
    }

    fn read(columns: &[Column], wrapped: bool, text: &str) -> Result<Vec<ScalarValue>> {
        deserialize(columns, wrapped, text.as_bytes())
    }

    fn write(columns: &[Column], wrapped: bool, values: &[ScalarValue]) -> String {
        let bytes = serialize(columns, wrapped, values)
            .expect("serializes")
            .expect("has bytes");
        String::from_utf8(bytes).expect("utf-8")
    }

    fn coerce_ok(value: Value, ty: &SqlType) -> ScalarValue {
        json_to_scalar(&value, ty).unwrap_or_else(|e| panic!("{value} as {ty}: {e}"))
    }

    fn coerce_err(value: Value, ty: &SqlType) -> String {
        match json_to_scalar(&value, ty) {
            Ok(v) => panic!("{value} as {ty} should fail, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn round_trip_json(value: Value, ty: &SqlType) -> Value {
        let scalar = coerce_ok(value, ty);
        scalar_to_json(&scalar, ty).expect("serializes")
    }

    #[test]
    fn reads_wrapped_rows_with_case_insensitive_names() {
        let columns = [
            col("FOO", SqlType::Int),
            col("bar", SqlType::String),
            col("BAZ", SqlType::Double),
        ];
        let row = read(&columns, true, r#"{"foo": 10, "bar": "x", "extra": true}"#).unwrap();
        assert_eq!(
            row,
            vec![
                ScalarValue::Int32(Some(10)),
                ScalarValue::Utf8(Some("x".into())),
                ScalarValue::Float64(None),
            ]
        );
        // A quoted lower-case column does not match an upper-case field.
        let row = read(&columns, true, r#"{"FOO": 1, "BAR": "x"}"#).unwrap();
        assert_eq!(row[1], ScalarValue::Utf8(None));
        // An exact match wins over a case-insensitive one.
        let row = read(&columns, true, r#"{"foo": 1, "FOO": 2}"#).unwrap();
        assert_eq!(row[0], ScalarValue::Int32(Some(2)));
    }

    #[test]
    fn reads_null_documents_and_unwrapped_values() {
        let columns = [col("A", SqlType::Int), col("B", SqlType::String)];
        let row = read(&columns, true, "null").unwrap();
        assert_eq!(row, vec![ScalarValue::Int32(None), ScalarValue::Utf8(None)]);
        assert_eq!(deserialize_row(&columns, true, b" null ").unwrap(), None);
        assert_eq!(
            deserialize_row(&columns, false, b"{}")
                .unwrap()
                .map(|r| r.len()),
            Some(2)
        );

        let single = [col("V", SqlType::Bigint)];
        assert_eq!(
            read(&single, false, "10827272222").unwrap(),
            vec![ScalarValue::Int64(Some(10827272222))]
        );
        assert_eq!(
            read(&single, false, "null").unwrap(),
            vec![ScalarValue::Int64(None)]
        );
        // Unwrapped means the object itself is the value, not a row.
        let err = read(&single, false, r#"{"V": 1}"#).unwrap_err().to_string();
        assert_eq!(
            err,
            "Can't convert type. sourceType: ObjectNode, requiredType: BIGINT, path: $"
        );
        // Multiple columns are always an object, whatever `wrapped` says.
        assert_eq!(
            read(&columns, false, r#"{"A": 1}"#).unwrap(),
            vec![ScalarValue::Int32(Some(1)), ScalarValue::Utf8(None)]
        );
        assert!(read(&[], true, "garbage").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_documents() {
        let columns = [col("A", SqlType::Int)];
        for bad in ["", "  ", "{", "{\"A\": }", "\u{0}", "[1,"] {
            assert!(read(&columns, true, bad).is_err(), "{bad:?}");
        }
        let err = read(&columns, true, "[1]").unwrap_err().to_string();
        assert_eq!(
            err,
            "Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<`A` INTEGER>, path: $"
        );
        let err = read(&columns, true, r#"{"A": "x"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "Can't coerce string to type. targetType: INTEGER, path: $.A"
        );
        // Invalid UTF-8 inside a string is a parse error, not a panic.
        assert!(deserialize(&columns, true, b"{\"A\": \"\xff\"}").is_err());
        // Like Jackson, trailing content after the document is ignored.
        assert_eq!(
            read(&columns, true, r#"{"A": 1} trailing"#).unwrap(),
            vec![ScalarValue::Int32(Some(1))]
        );
    }

    #[test]
    fn coerces_numbers() {
        assert_eq!(
            coerce_ok(json!(7), &SqlType::Int),
            ScalarValue::Int32(Some(7))
        );
        assert_eq!(
            coerce_ok(json!("7"), &SqlType::Int),
            ScalarValue::Int32(Some(7))
        );
        assert_eq!(
            coerce_ok(json!(1.9), &SqlType::Int),
            ScalarValue::Int32(Some(1))
        );
        assert!(coerce_err(json!(2147483648i64), &SqlType::Int).contains("out of range"));
        assert!(coerce_err(json!("1.5"), &SqlType::Int).contains("Can't coerce string"));
        assert_eq!(
            coerce_err(json!(true), &SqlType::Int),
            "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $"
        );
        assert_eq!(
            coerce_ok(json!(-9223372036854775808i64), &SqlType::Bigint),
            ScalarValue::Int64(Some(i64::MIN))
        );
        assert_eq!(
            coerce_ok(json!("12"), &SqlType::Bigint),
            ScalarValue::Int64(Some(12))
        );
        let huge: Value = serde_json::from_str("99999999999999999999").unwrap();
        assert!(coerce_err(huge, &SqlType::Bigint).contains("out of range"));

        assert_eq!(
            coerce_ok(json!(2), &SqlType::Double),
            ScalarValue::Float64(Some(2.0))
        );
        assert_eq!(
            coerce_ok(json!("1e3"), &SqlType::Double),
            ScalarValue::Float64(Some(1000.0))
        );
        assert!(coerce_err(json!("abc"), &SqlType::Double).contains("targetType: DOUBLE"));
        assert!(coerce_err(json!([1]), &SqlType::Double).contains("ArrayNode"));
    }

    #[test]
    fn coerces_decimals_exactly() {
        let ty = SqlType::decimal(6, 4);
        assert_eq!(
            coerce_ok(json!(10), &ty),
            ScalarValue::Decimal128(Some(100000), 6, 4)
        );
        assert_eq!(
            coerce_ok(json!("12.365"), &ty),
            ScalarValue::Decimal128(Some(123650), 6, 4)
        );
        let exact: Value = serde_json::from_str("10.123451234512345").unwrap();
        assert_eq!(
            coerce_ok(exact.clone(), &SqlType::decimal(21, 19)),
            ScalarValue::Decimal128(Some(101234512345123450000), 21, 19)
        );
        assert_eq!(
            round_trip_json(exact, &SqlType::decimal(21, 19)).to_string(),
            "10.123451234512345"
        );
        assert!(coerce_err(json!(100), &ty).contains("Numeric field overflow"));
        assert!(coerce_err(json!(1.00001), &ty).contains("without rounding"));
        assert!(coerce_err(json!("1,5"), &ty).contains("Invalid decimal"));
        assert!(coerce_err(json!(false), &ty).contains("requiredType: DECIMAL(6, 4)"));
    }

    #[test]
    fn coerces_strings_booleans_and_bytes() {
        let s = |v: Value| coerce_ok(v, &SqlType::String);
        assert_eq!(s(json!("hi")), ScalarValue::Utf8(Some("hi".into())));
        assert_eq!(s(json!(12)), ScalarValue::Utf8(Some("12".into())));
        assert_eq!(s(json!(true)), ScalarValue::Utf8(Some("true".into())));
        let decimal: Value = serde_json::from_str("1.50").unwrap();
        assert_eq!(s(decimal), ScalarValue::Utf8(Some("1.50".into())));
        let exponent: Value = serde_json::from_str("1e3").unwrap();
        assert_eq!(s(exponent), ScalarValue::Utf8(Some("1E+3".into())));
        assert_eq!(
            s(json!({"a": 1, "b": [true, null], "c": {"d": "e"}})),
            ScalarValue::Utf8(Some(r#"{"a":1,"b":[true,null],"c":{"d":"e"}}"#.into()))
        );
        assert_eq!(
            s(json!(["a", 1, null, {"x": 2}, [3, 4]])),
            ScalarValue::Utf8(Some(r#"[a, 1, null, {"x":2}, [3, 4]]"#.into()))
        );

        assert_eq!(
            coerce_ok(json!(true), &SqlType::Boolean),
            ScalarValue::Boolean(Some(true))
        );
        // ksqlDB's JSON reader takes only real booleans.
        assert!(coerce_err(json!("true"), &SqlType::Boolean).contains("TextNode"));
        assert!(coerce_err(json!(1), &SqlType::Boolean).contains("IntNode"));

        assert_eq!(
            coerce_ok(json!("dmFyaWF0aW9ucw=="), &SqlType::Bytes),
            ScalarValue::Binary(Some(b"variations".to_vec()))
        );
        assert_eq!(
            coerce_err(json!("not base64!"), &SqlType::Bytes),
            "Value is not a valid Base64 encoded string: not base64!, path: $"
        );
        assert!(coerce_err(json!(12), &SqlType::Bytes).contains("requiredType: BYTES"));
    }

    #[test]
    fn coerces_temporal_types() {
        assert_eq!(
            coerce_ok(json!(10), &SqlType::Date),
            ScalarValue::Date32(Some(10))
        );
        assert_eq!(
            coerce_ok(json!("-10"), &SqlType::Date),
            ScalarValue::Date32(Some(-10))
        );
        assert!(coerce_err(json!(1i64 << 40), &SqlType::Date).contains("out of range"));
        assert_eq!(
            coerce_ok(json!(5000), &SqlType::Time),
            ScalarValue::Time32Millisecond(Some(5000))
        );
        assert_eq!(
            coerce_ok(json!("1"), &SqlType::Time),
            ScalarValue::Time32Millisecond(Some(1))
        );
        assert!(coerce_err(json!(-1), &SqlType::Time).contains("Time values must use"));
        assert!(coerce_err(json!(86400001), &SqlType::Time).contains("Time values must use"));
        assert_eq!(
            coerce_ok(json!(1528224275715i64), &SqlType::Timestamp),
            ScalarValue::TimestampMillisecond(Some(1528224275715), None)
        );
        assert_eq!(
            coerce_ok(json!("10"), &SqlType::Timestamp),
            ScalarValue::TimestampMillisecond(Some(10), None)
        );
        assert!(coerce_err(json!("x"), &SqlType::Timestamp).contains("targetType: TIMESTAMP"));
    }

    #[test]
    fn coerces_nested_values() {
        let ty = SqlType::Struct(vec![
            field("ITEMID", SqlType::Bigint),
            field(
                "CATEGORY",
                SqlType::Struct(vec![
                    field("ID", SqlType::Bigint),
                    field("NAME", SqlType::String),
                ]),
            ),
            field("TAGS", SqlType::Array(Box::new(SqlType::String))),
            field(
                "PRICES",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::decimal(4, 2))),
            ),
        ]);
        let input = json!({
            "itemid": 6,
            "Category": {"id": 2, "NAME": "Food"},
            "TAGS": ["a", null, 3],
            "prices": {"x": 1.5, "y": null}
        });
        let scalar = coerce_ok(input, &ty);
        assert_eq!(scalar.data_type(), ty.to_arrow());
        let back = scalar_to_json(&scalar, &ty).unwrap();
        assert_eq!(
            back.to_string(),
            r#"{"ITEMID":6,"CATEGORY":{"ID":2,"NAME":"Food"},"TAGS":["a",null,"3"],"PRICES":{"x":1.5,"y":null}}"#
        );

        // Missing and null nested values are typed nulls.
        let scalar = coerce_ok(json!({"CATEGORY": null}), &ty);
        let back = scalar_to_json(&scalar, &ty).unwrap();
        assert_eq!(
            back.to_string(),
            r#"{"ITEMID":null,"CATEGORY":null,"TAGS":null,"PRICES":null}"#
        );

        // Empty containers.
        let empty = coerce_ok(json!({"TAGS": [], "PRICES": {}}), &ty);
        let back = scalar_to_json(&empty, &ty).unwrap();
        assert_eq!(back["TAGS"], json!([]));
        assert_eq!(back["PRICES"], json!({}));

        // Errors carry the path to the bad value.
        let err = coerce_err(json!({"CATEGORY": {"ID": "x"}}), &ty);
        assert_eq!(
            err,
            "Can't coerce string to type. targetType: BIGINT, path: $.CATEGORY.ID"
        );
        let err = coerce_err(json!({"TAGS": "a"}), &ty);
        assert!(
            err.ends_with("requiredType: ARRAY<STRING>, path: $.TAGS"),
            "{err}"
        );
        let err = coerce_err(json!({"PRICES": {"k": "bad"}}), &ty);
        assert!(err.ends_with("path: $.PRICES.k.value"), "{err}");
        let array = SqlType::Array(Box::new(SqlType::Int));
        assert!(coerce_err(json!([1, "x"]), &array).ends_with("path: $[1]"));
    }

    #[test]
    fn nested_arrays_of_structs_and_maps() {
        let ty = SqlType::Array(Box::new(SqlType::Struct(vec![
            field("D", SqlType::Int),
            field(
                "M",
                SqlType::Map(
                    Box::new(SqlType::String),
                    Box::new(SqlType::Array(Box::new(SqlType::Double))),
                ),
            ),
        ])));
        let input = json!([{"D": 1, "M": {"a": [1.5, null]}}, null, {"d": 2}]);
        let scalar = coerce_ok(input, &ty);
        assert_eq!(
            scalar_to_json(&scalar, &ty).unwrap(),
            json!([{"D": 1, "M": {"a": [1.5, null]}}, null, {"D": 2, "M": null}])
        );
    }

    #[test]
    fn writes_rows() {
        let columns = [
            col("ID", SqlType::Int),
            col("name", SqlType::String),
            col("D", SqlType::Double),
            col("DEC", SqlType::decimal(4, 2)),
            col("B", SqlType::Bytes),
            col("DAY", SqlType::Date),
            col("T", SqlType::Time),
            col("TS", SqlType::Timestamp),
            col("X", SqlType::Boolean),
        ];
        let values = [
            ScalarValue::Int32(Some(1)),
            ScalarValue::Utf8(Some("a\"b".into())),
            ScalarValue::Float64(Some(1.0)),
            ScalarValue::Decimal128(Some(1050), 4, 2),
            ScalarValue::Binary(Some(b"a".to_vec())),
            ScalarValue::Date32(Some(-10)),
            ScalarValue::Time32Millisecond(Some(5000)),
            ScalarValue::TimestampMillisecond(Some(1234), None),
            ScalarValue::Boolean(None),
        ];
        assert_eq!(
            write(&columns, true, &values),
            r#"{"ID":1,"name":"a\"b","D":1.0,"DEC":10.5,"B":"YQ==","DAY":-10,"T":5000,"TS":1234,"X":null}"#
        );
        let read_back = deserialize(&columns, true, write(&columns, true, &values).as_bytes());
        assert_eq!(read_back.unwrap(), values.to_vec());
    }

    #[test]
    fn writes_doubles_like_java() {
        let ty = SqlType::Double;
        let json = |v: f64| {
            let value = scalar_to_json(&ScalarValue::Float64(Some(v)), &ty).unwrap();
            String::from_utf8(to_bytes(&value).unwrap()).unwrap()
        };
        assert_eq!(json(1234.589), "1234.589");
        assert_eq!(json(2.0), "2.0");
        assert_eq!(json(1e10), "1.0E10");
        assert_eq!(json(-1.5e-4), "-1.5E-4");
        assert_eq!(json(0.1), "0.1");
        assert_eq!(json(f64::NAN), "\"NaN\"");
        assert_eq!(json(f64::INFINITY), "\"Infinity\"");
    }

    #[test]
    fn writes_unwrapped_values() {
        let columns = [col("V", SqlType::Array(Box::new(SqlType::Double)))];
        let value = coerce_ok(json!([99.99]), &columns[0].ty);
        assert_eq!(
            write(&columns, false, std::slice::from_ref(&value)),
            "[99.99]"
        );
        assert_eq!(write(&columns, true, &[value]), r#"{"V":[99.99]}"#);
        let null = text::null_of(&columns[0].ty).unwrap();
        assert_eq!(
            serialize(&columns, false, std::slice::from_ref(&null)).unwrap(),
            None
        );
        assert_eq!(write(&columns, true, &[null]), r#"{"V":null}"#);
        assert_eq!(serialize(&[], true, &[]).unwrap(), None);
        assert!(serialize(&columns, true, &[]).is_err());
    }

    #[test]
    fn writes_struct_names_as_declared() {
        let ty = SqlType::Struct(vec![
            field("moreMixedCase", SqlType::Int),
            field("B", SqlType::String),
        ]);
        let scalar = coerce_ok(json!({"moreMixedCase": 1, "b": "x"}), &ty);
        assert_eq!(
            scalar_to_json(&scalar, &ty).unwrap().to_string(),
            r#"{"moreMixedCase":1,"B":"x"}"#
        );
        // Without a declared type, the Arrow field names are used.
        assert_eq!(
            scalar_to_json(&scalar, &SqlType::String)
                .unwrap()
                .to_string(),
            r#"{"moreMixedCase":1,"B":"x"}"#
        );
    }

    #[test]
    fn tolerates_other_arrow_types_when_writing() {
        let values = [
            (ScalarValue::Int64(Some(5)), "5"),
            (ScalarValue::Float32(Some(1.5)), "1.5"),
            (ScalarValue::LargeUtf8(Some("s".into())), "\"s\""),
            (ScalarValue::TimestampMicrosecond(Some(1_500), None), "1"),
            (ScalarValue::Null, "null"),
        ];
        for (value, expected) in values {
            assert_eq!(
                scalar_to_json(&value, &SqlType::Int).unwrap().to_string(),
                expected
            );
        }
        let list = ScalarValue::List(ScalarValue::new_list_nullable(
            &[ScalarValue::Int32(Some(1))],
            &DataType::Int32,
        ));
        assert_eq!(scalar_to_json(&list, &SqlType::Int).unwrap(), json!([1]));
    }
}
