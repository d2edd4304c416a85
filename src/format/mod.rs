//! Record serde: the bytes of keys and values, to and from typed values.
//!
//! A format turns the bytes of one record's key or value into one [`ScalarValue`] per column
//! (and back), following ksqlDB's serializers exactly: field names, number and decimal
//! rendering, base64 bytes, DELIMITED quoting, KAFKA's big-endian primitives.

pub mod avro;
pub mod delimited;
pub mod json;
pub mod json_sr;
pub mod kafka;
pub mod print;
pub mod protobuf;
pub(crate) mod text;

use std::borrow::Cow;
use std::fmt;

use datafusion::scalar::ScalarValue;
use thiserror::Error;

use crate::registry::SchemaRegistry;
use crate::types::{Column, ColumnKind, SqlType, quote_identifier};

/// The serialization formats Sluice knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    Kafka,
    Json,
    Delimited,
    None,
    Avro,
    JsonSr,
    Protobuf,
    ProtobufNoSr,
}

impl FormatKind {
    /// Parses a format name as ksqlDB spells it (case-insensitive).
    pub fn parse(name: &str) -> Option<FormatKind> {
        Some(match name.to_ascii_uppercase().as_str() {
            "KAFKA" => FormatKind::Kafka,
            "JSON" => FormatKind::Json,
            "DELIMITED" => FormatKind::Delimited,
            "NONE" => FormatKind::None,
            "AVRO" => FormatKind::Avro,
            "PROTOBUF" => FormatKind::Protobuf,
            "PROTOBUF_NOSR" => FormatKind::ProtobufNoSr,
            "JSON_SR" => FormatKind::JsonSr,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Kafka => "KAFKA",
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::None => "NONE",
            FormatKind::Avro => "AVRO",
            FormatKind::Protobuf => "PROTOBUF",
            FormatKind::ProtobufNoSr => "PROTOBUF_NOSR",
            FormatKind::JsonSr => "JSON_SR",
        }
    }

    /// Whether Sluice can read and write this format today.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            FormatKind::Kafka
                | FormatKind::Json
                | FormatKind::Delimited
                | FormatKind::None
                | FormatKind::Avro
                | FormatKind::JsonSr
                | FormatKind::Protobuf
                | FormatKind::ProtobufNoSr
        )
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format with its options, for the key or the value of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    pub kind: FormatKind,
    /// DELIMITED's field separator.
    pub delimiter: char,
    /// Whether a single column is written as a one-field object/record (`WRAP_SINGLE_VALUE`).
    /// Keys are never wrapped.
    pub wrap_single: bool,
    /// Where a schema-registry format (AVRO) finds its schemas.
    pub schemas: SchemaBinding,
}

impl FormatSpec {
    pub fn new(kind: FormatKind) -> FormatSpec {
        FormatSpec {
            kind,
            delimiter: ',',
            wrap_single: true,
            schemas: SchemaBinding::default(),
        }
    }

    /// Whether records of this format carry a schema id (AVRO, JSON_SR, PROTOBUF).
    pub fn uses_schema_registry(&self) -> bool {
        matches!(
            self.kind,
            FormatKind::Avro | FormatKind::JsonSr | FormatKind::Protobuf
        )
    }
}

/// The registry a schema-registry format reads writer schemas from, and the id of the schema
/// it writes with. Where a format finds its schemas is not part of what the format is, so
/// every binding compares equal.
#[derive(Debug, Clone, Default)]
pub struct SchemaBinding {
    pub registry: Option<SchemaRegistry>,
    pub writer_id: Option<u32>,
    /// The message of the writer schema a record is written as (PROTOBUF), when not the first.
    pub message: Option<String>,
}

impl PartialEq for SchemaBinding {
    fn eq(&self, _: &SchemaBinding) -> bool {
        true
    }
}

impl Eq for SchemaBinding {}

impl SchemaBinding {
    fn registry(&self) -> std::result::Result<&SchemaRegistry, String> {
        self.registry
            .as_ref()
            .ok_or_else(|| "No schema registry is configured for this format".to_string())
    }
}

/// Errors turning bytes into values or values into bytes.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FormatError {
    #[error("{0}")]
    Deserialize(String),
    #[error("{0}")]
    Serialize(String),
}

pub type Result<T, E = FormatError> = std::result::Result<T, E>;

/// Decodes a key or value. `None` bytes (a null key or a tombstone) give `Ok(None)`, and so
/// does a JSON `null` document where a wrapped row was expected (ksqlDB reads it as a null
/// row). With no columns, the bytes are ignored and the row is empty.
///
/// `columns` are the columns this part of the record carries, in order; `wrapped` says whether
/// a single column is wrapped in an object or record (values usually are, keys never).
pub fn deserialize(
    spec: &FormatSpec,
    columns: &[Column],
    wrapped: bool,
    bytes: Option<&[u8]>,
) -> Result<Option<Vec<ScalarValue>>> {
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    if columns.is_empty() && spec.kind.is_supported() {
        return Ok(Some(Vec::new()));
    }
    match spec.kind {
        FormatKind::Json => json::deserialize_row(columns, wrapped, bytes),
        FormatKind::Delimited => delimited::deserialize(columns, spec.delimiter, bytes).map(Some),
        FormatKind::Kafka => kafka::deserialize(columns, bytes).map(Some),
        FormatKind::None => Ok(Some(Vec::new())),
        FormatKind::Avro => {
            let registry = spec.schemas.registry().map_err(FormatError::Deserialize)?;
            avro::deserialize(registry, columns, wrapped, bytes)
        }
        FormatKind::JsonSr => json_sr::deserialize(columns, wrapped, bytes),
        FormatKind::Protobuf => {
            let registry = spec.schemas.registry().map_err(FormatError::Deserialize)?;
            protobuf::deserialize(Some(registry), columns, bytes)
        }
        FormatKind::ProtobufNoSr => protobuf::deserialize(None, columns, bytes),
    }
}

/// One column's value read from a record, borrowing from the record's bytes where it can, so
/// that the common scalars reach their Arrow builders without a heap allocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell<'a> {
    #[default]
    Null,
    Boolean(bool),
    Int(i32),
    /// BIGINT or TIMESTAMP.
    Long(i64),
    Double(f64),
    /// The unscaled value of a DECIMAL of the column's precision and scale.
    Decimal(i128),
    Text(Cow<'a, str>),
    /// Any other value (boxed: it is rare, and keeps every cell small to move).
    Scalar(Box<ScalarValue>),
}

impl Cell<'_> {
    /// The cell as a value of the column's type.
    pub fn to_scalar(&self, ty: &SqlType) -> ScalarValue {
        match (self, ty) {
            (Cell::Null, ty) => text::null_of(ty).unwrap_or(ScalarValue::Null),
            (Cell::Boolean(v), _) => ScalarValue::Boolean(Some(*v)),
            (Cell::Int(v), _) => ScalarValue::Int32(Some(*v)),
            (Cell::Long(v), SqlType::Timestamp) => {
                ScalarValue::TimestampMillisecond(Some(*v), None)
            }
            (Cell::Long(v), _) => ScalarValue::Int64(Some(*v)),
            (Cell::Double(v), _) => ScalarValue::Float64(Some(*v)),
            (Cell::Decimal(v), SqlType::Decimal { precision, scale }) => {
                ScalarValue::Decimal128(Some(*v), *precision, *scale as i8)
            }
            (Cell::Decimal(v), _) => ScalarValue::Decimal128(Some(*v), 38, 0),
            (Cell::Text(s), _) => ScalarValue::Utf8(Some(s.to_string())),
            (Cell::Scalar(s), _) => (**s).clone(),
        }
    }
}

/// Reads the keys or values of one source into [`Cell`]s: [`deserialize`] for a stream of
/// records, with JSON read by [`json::reader`]'s single pass where it can be.
#[derive(Debug)]
pub struct RowReader {
    spec: FormatSpec,
    columns: Vec<Column>,
    wrapped: bool,
    json: Option<json::reader::JsonRowReader>,
}

impl RowReader {
    pub fn new(spec: &FormatSpec, columns: &[Column], wrapped: bool) -> RowReader {
        let json = (spec.kind == FormatKind::Json && !columns.is_empty())
            .then(|| json::reader::JsonRowReader::new(columns, wrapped));
        RowReader {
            spec: spec.clone(),
            columns: columns.to_vec(),
            wrapped,
            json,
        }
    }

    /// Reads one key or value into `cells`, one per column; `Ok(false)` where [`deserialize`]
    /// gives `Ok(None)` (no bytes, or a null row), leaving `cells` empty.
    pub fn read<'a>(&mut self, bytes: Option<&'a [u8]>, cells: &mut Vec<Cell<'a>>) -> Result<bool> {
        cells.clear();
        if let (FormatKind::Kafka, [column], Some(bytes)) =
            (self.spec.kind, &self.columns[..], bytes)
            && let Some(cell) = kafka::read_cell(column, bytes)
        {
            cells.push(cell);
            return Ok(true);
        }
        if let (Some(reader), Some(bytes)) = (&mut self.json, bytes) {
            match reader.read(bytes, cells) {
                json::reader::RowRead::Row => return Ok(true),
                json::reader::RowRead::NullRow => return Ok(false),
                json::reader::RowRead::Unhandled => cells.clear(),
            }
        }
        match deserialize(&self.spec, &self.columns, self.wrapped, bytes)? {
            Some(values) => {
                cells.extend(values.into_iter().map(|v| Cell::Scalar(Box::new(v))));
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Encodes a key or value. Returns `None` when the format writes no bytes for these values
/// (the NONE format, or an empty set of columns).
pub fn serialize(
    spec: &FormatSpec,
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
) -> Result<Option<Vec<u8>>> {
    serialize_with_scales(spec, columns, wrapped, values, &[])
}

/// [`serialize`], with the columns whose decimals are written at their full scale (see
/// [`json::serialize_with_scales`]).
pub fn serialize_with_scales(
    spec: &FormatSpec,
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    match spec.kind {
        FormatKind::Json => json::serialize_with_scales(columns, wrapped, values, exact_scale),
        FormatKind::Delimited => delimited::serialize(columns, spec.delimiter, values),
        FormatKind::Kafka => kafka::serialize(columns, values),
        FormatKind::None => Ok(None),
        FormatKind::Avro | FormatKind::JsonSr | FormatKind::Protobuf | FormatKind::ProtobufNoSr
            if columns.is_empty() =>
        {
            Ok(None)
        }
        FormatKind::Protobuf => {
            let registry = spec.schemas.registry().map_err(FormatError::Serialize)?;
            let id = spec.schemas.writer_id.ok_or_else(|| {
                FormatError::Serialize(
                    "No Protobuf schema is registered for this topic".to_string(),
                )
            })?;
            let message = spec.schemas.message.as_deref();
            protobuf::serialize(Some((registry, id, message)), columns, values)
        }
        FormatKind::ProtobufNoSr => protobuf::serialize(None, columns, values),
        FormatKind::JsonSr => {
            let id = spec.schemas.writer_id.ok_or_else(|| {
                FormatError::Serialize("No JSON schema is registered for this topic".to_string())
            })?;
            json_sr::serialize(id, columns, wrapped, values, exact_scale)
        }
        FormatKind::Avro => {
            let registry = spec.schemas.registry().map_err(FormatError::Serialize)?;
            let id = spec.schemas.writer_id.ok_or_else(|| {
                FormatError::Serialize("No Avro schema is registered for this topic".to_string())
            })?;
            avro::serialize(registry, id, columns, wrapped, values)
        }
    }
}

/// Row `row` of `arrays` as values.
pub fn row_scalars(
    arrays: &[datafusion::arrow::array::ArrayRef],
    row: usize,
) -> Result<Vec<ScalarValue>> {
    arrays
        .iter()
        .map(|a| ScalarValue::try_from_array(a, row))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| FormatError::Serialize(e.to_string()))
}

/// [`serialize_with_scales`] of row `row` of `arrays`. JSON and KAFKA read the common types
/// straight from the arrays, so a batch of outputs needs no `ScalarValue` per cell; the other
/// formats go through the row's values.
pub fn serialize_arrays(
    spec: &FormatSpec,
    columns: &[Column],
    wrapped: bool,
    arrays: &[datafusion::arrow::array::ArrayRef],
    row: usize,
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    match spec.kind {
        FormatKind::Json => json::serialize_arrays(columns, wrapped, arrays, row, exact_scale),
        FormatKind::None => Ok(None),
        FormatKind::Kafka => match kafka::serialize_array(columns, arrays, row) {
            Some(bytes) => Ok(Some(bytes)),
            None => kafka::serialize(columns, &row_scalars(arrays, row)?),
        },
        _ => serialize_with_scales(
            spec,
            columns,
            wrapped,
            &row_scalars(arrays, row)?,
            exact_scale,
        ),
    }
}

/// Checks that a format can carry these columns, with ksqlDB's messages.
pub fn check_supports(kind: FormatKind, columns: &[Column]) -> std::result::Result<(), String> {
    match kind {
        FormatKind::None if !columns.is_empty() => Err(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}",
            describe_columns(columns)
        )),
        FormatKind::Kafka if columns.len() > 1 => Err(format!(
            "The 'KAFKA' format only supports a single field. Got: {}",
            describe_columns(columns)
        )),
        FormatKind::Kafka => match columns.iter().find(|c| !kafka::supports(&c.ty)) {
            Some(c) => Err(kafka::unsupported(&c.ty)),
            None => Ok(()),
        },
        FormatKind::Delimited => delimited::check_types(columns),
        FormatKind::Json | FormatKind::JsonSr
            if columns.iter().any(|c| has_non_string_map_key(&c.ty)) =>
        {
            Err("JSON only supports MAP types with STRING keys".to_string())
        }
        FormatKind::Avro if columns.iter().any(|c| has_non_string_map_key(&c.ty)) => {
            Err("Avro only supports MAPs with STRING keys".to_string())
        }
        FormatKind::Protobuf | FormatKind::ProtobufNoSr => protobuf::check_types(columns),
        _ => Ok(()),
    }
}

/// Columns as ksqlDB lists them in format errors: ``[`K` INTEGER KEY, `V` STRING]``.
fn describe_columns(columns: &[Column]) -> String {
    let parts = columns
        .iter()
        .map(|c| {
            let key = if c.kind == ColumnKind::Key {
                " KEY"
            } else {
                ""
            };
            format!("{} {}{key}", quote_identifier(&c.name), c.ty)
        })
        .collect::<Vec<_>>();
    format!("[{}]", parts.join(", "))
}

/// The type's name without parameters for the complex types (`ARRAY`, not `ARRAY<INTEGER>`),
/// as ksqlDB's "does not support type" messages give it.
fn base_type_name(ty: &SqlType) -> String {
    match ty {
        SqlType::Decimal { .. } => "DECIMAL".to_string(),
        SqlType::Array(_) => "ARRAY".to_string(),
        SqlType::Map(..) => "MAP".to_string(),
        SqlType::Struct(_) => "STRUCT".to_string(),
        other => other.to_string(),
    }
}

/// Whether a type holds a MAP whose keys are not STRING, at any depth.
pub(crate) fn has_non_string_map_key(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(k, v) => **k != SqlType::String || has_non_string_map_key(v),
        SqlType::Array(inner) => has_non_string_map_key(inner),
        SqlType::Struct(fields) => fields.iter().any(|f| has_non_string_map_key(&f.ty)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FormatKind) -> FormatSpec {
        FormatSpec::new(kind)
    }

    #[test]
    fn cells_stay_small() {
        // Every decoded value moves through a cell.
        assert!(std::mem::size_of::<Cell<'_>>() <= 32);
    }

    #[test]
    fn rows_of_arrays_encode_as_their_values_do() {
        use datafusion::arrow::array::{
            ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
            ListArray, NullArray, StringArray,
        };
        use datafusion::arrow::datatypes::Int32Type;
        use std::sync::Arc;
        let decimal = SqlType::decimal(5, 2);
        let columns = vec![
            Column::value("B", SqlType::Boolean),
            Column::value("I", SqlType::Int),
            Column::value("L", SqlType::Bigint),
            Column::value("D", SqlType::Double),
            Column::value("S", SqlType::String),
            Column::value("M", decimal.clone()),
            Column::value("A", SqlType::Array(Box::new(SqlType::Int))),
            Column::value("N", SqlType::String),
        ];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            Arc::new(Int32Array::from(vec![Some(-3), Some(i32::MAX), None])),
            Arc::new(Int64Array::from(vec![None, Some(i64::MIN), Some(7)])),
            Arc::new(Float64Array::from(vec![
                Some(1e10),
                Some(f64::NAN),
                Some(-0.0),
            ])),
            Arc::new(StringArray::from(vec![Some("a\"b\n"), Some("plain"), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(150), None, Some(-5)])
                    .with_precision_and_scale(5, 2)
                    .unwrap(),
            ),
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(vec![Some(1), None]),
                None,
                Some(vec![]),
            ])),
            Arc::new(NullArray::new(3)),
        ];
        let json = spec(FormatKind::Json);
        for exact in [vec![], vec![false, false, false, false, false, true]] {
            for row in 0..3 {
                let values = row_scalars(&arrays, row).unwrap();
                assert_eq!(
                    serialize_arrays(&json, &columns, true, &arrays, row, &exact).unwrap(),
                    serialize_with_scales(&json, &columns, true, &values, &exact).unwrap(),
                    "row {row}"
                );
                for (column, array) in columns.iter().zip(&arrays) {
                    let single = std::slice::from_ref(column);
                    let array = std::slice::from_ref(array);
                    let value = row_scalars(array, row).unwrap();
                    for kind in [FormatKind::Json, FormatKind::Kafka, FormatKind::Delimited] {
                        let format = spec(kind);
                        let by_array = serialize_arrays(&format, single, false, array, row, &exact);
                        let by_value =
                            serialize_with_scales(&format, single, false, &value, &exact);
                        assert_eq!(
                            by_array.map_err(|e| e.to_string()),
                            by_value.map_err(|e| e.to_string()),
                            "{kind:?} {} row {row}",
                            column.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn check_supports_uses_ksqldb_messages() {
        let int = || Column::value("FOO", SqlType::Int);
        let array = SqlType::Array(Box::new(SqlType::Int));
        assert_eq!(
            check_supports(FormatKind::None, &[int()]),
            Err(
                "The 'NONE' format can only be used when no columns are defined. \
                 Got: [`FOO` INTEGER]"
                    .to_string()
            )
        );
        assert_eq!(check_supports(FormatKind::None, &[]), Ok(()));
        assert_eq!(
            check_supports(
                FormatKind::Kafka,
                &[
                    Column::key("ID", SqlType::Int),
                    Column::key("AGE", SqlType::Int)
                ]
            ),
            Err("The 'KAFKA' format only supports a single field. \
                 Got: [`ID` INTEGER KEY, `AGE` INTEGER KEY]"
                .to_string())
        );
        for (ty, name) in [
            (SqlType::Boolean, "BOOLEAN"),
            (SqlType::decimal(2, 1), "DECIMAL"),
            (array.clone(), "ARRAY"),
            (SqlType::Timestamp, "TIMESTAMP"),
        ] {
            assert_eq!(
                check_supports(FormatKind::Kafka, &[Column::key("K", ty)]),
                Err(format!("The 'KAFKA' format does not support type '{name}'"))
            );
        }
        for ty in [
            SqlType::Int,
            SqlType::Bigint,
            SqlType::Double,
            SqlType::String,
            SqlType::Bytes,
        ] {
            assert_eq!(
                check_supports(FormatKind::Kafka, &[Column::value("V", ty)]),
                Ok(())
            );
        }
        assert_eq!(check_supports(FormatKind::Kafka, &[]), Ok(()));
        assert_eq!(
            check_supports(
                FormatKind::Delimited,
                &[int(), Column::key("K", array.clone())]
            ),
            Err("The 'DELIMITED' format does not support type 'ARRAY', column: `K`".to_string())
        );
        assert_eq!(
            check_supports(
                FormatKind::Delimited,
                &[Column::value("D", SqlType::decimal(4, 2))]
            ),
            Ok(())
        );
        let map = |k: SqlType| SqlType::Map(Box::new(k), Box::new(SqlType::Double));
        assert_eq!(
            check_supports(FormatKind::Json, &[Column::value("M", map(SqlType::Int))]),
            Err("JSON only supports MAP types with STRING keys".to_string())
        );
        assert_eq!(
            check_supports(
                FormatKind::Json,
                &[Column::value("M", map(SqlType::String))]
            ),
            Ok(())
        );
    }

    #[test]
    fn json_null_document_is_a_null_row_only_when_wrapped() {
        let json = spec(FormatKind::Json);
        let one = [Column::value("V", SqlType::Int)];
        assert_eq!(deserialize(&json, &one, true, Some(b"null")), Ok(None));
        assert_eq!(
            deserialize(&json, &one, false, Some(b"null")),
            Ok(Some(vec![ScalarValue::Int32(None)]))
        );
        assert_eq!(deserialize(&json, &one, true, None), Ok(None));
        let two = [
            Column::value("A", SqlType::Int),
            Column::value("B", SqlType::Int),
        ];
        assert_eq!(deserialize(&json, &two, false, Some(b"null")), Ok(None));
    }

    #[test]
    fn dispatches_and_round_trips() {
        let columns = [
            Column::key("K1", SqlType::String),
            Column::key("K2", SqlType::String),
        ];
        let delimited = spec(FormatKind::Delimited);
        let row = deserialize(&delimited, &columns, false, Some(b"\"foo\",\"bar\""))
            .unwrap()
            .unwrap();
        assert_eq!(
            row,
            vec![
                ScalarValue::Utf8(Some("foo".into())),
                ScalarValue::Utf8(Some("bar".into()))
            ]
        );
        let json = serialize(&spec(FormatKind::Json), &columns, false, &row).unwrap();
        assert_eq!(
            json.as_deref(),
            Some(br#"{"K1":"foo","K2":"bar"}"#.as_slice())
        );

        let kafka = spec(FormatKind::Kafka);
        let single = [Column::value("V", SqlType::Int)];
        let bytes = serialize(&kafka, &single, true, &[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(bytes.as_deref(), Some([0, 0, 0, 1].as_slice()));

        let none = spec(FormatKind::None);
        assert_eq!(
            deserialize(&none, &[], false, Some(b"ignored")),
            Ok(Some(Vec::new()))
        );
        assert_eq!(serialize(&none, &[], false, &[]), Ok(None));
        assert_eq!(
            deserialize(&spec(FormatKind::Json), &[], false, Some(b"{")),
            Ok(Some(vec![]))
        );
        assert!(deserialize(&spec(FormatKind::Avro), &single, true, Some(b"x")).is_err());
    }
}
