//! AVRO: Avro binary data in Confluent's wire format.
//!
//! ```text
//!  0x00 │ schema id (4 bytes, big-endian) │ Avro binary datum of that schema
//! ```
//!
//! Reading looks the writer's schema up by its id, decodes the datum, and coerces the fields
//! to the columns through the same rules as JSON (a record is a JSON object, a decimal a
//! number, bytes base64), matching field names without regard to case, as ksqlDB's
//! translation does. Writing renders the columns the same way and encodes them with the
//! schema registered for the topic, which [`schema_json`] builds from the columns with
//! ksqlDB's names (records `KsqlDataSourceSchema`, every field an optional union).

use std::collections::HashMap;

use apache_avro::schema::{Name, ResolvedSchema, Schema};
use apache_avro::types::Value as Avro;
use base64::Engine as _;
use datafusion::scalar::ScalarValue;
use serde_json::{Map, Value as Json, json};

use super::text::{BASE64_JSON, BigDecimal, base64_encode};
use super::{FormatError, Result, json as json_format};
use crate::registry::{SchemaRegistry, SchemaType};
use crate::types::{Column, ColumnKind, SqlType, StructField};

/// The first byte of every record in the wire format.
pub const MAGIC_BYTE: u8 = 0;

/// The full name ksqlDB gives the record of a source's columns.
pub const DEFAULT_SCHEMA_NAME: &str = "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema";

/// The schema id of a framed record, and its datum.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8])> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, datum @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), datum)),
        _ => Err(FormatError::Deserialize("Unknown magic byte!".to_string())),
    }
}

/// A datum framed with its schema id.
pub fn frame(id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + datum.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// Parses a registered schema's text.
pub fn parse_schema(text: &str) -> Result<Schema, String> {
    // apache-avro's parser unwraps the names of named types: an invalid one panics instead of
    // failing. A schema is user input, so the names are checked first, and a panic that
    // remains is turned into the error it should have been.
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(name) = invalid_type_name(&json)
    {
        return Err(format!(
            "Invalid Avro schema: the name '{name}' is not a valid Avro name"
        ));
    }
    match std::panic::catch_unwind(|| Schema::parse_str(text)) {
        Ok(parsed) => parsed.map_err(|e| format!("Invalid Avro schema: {e}")),
        Err(_) => Err(format!("Invalid Avro schema: {text}")),
    }
}

/// The first name of a named type (record, error, enum, fixed) in a schema's JSON that is
/// not a valid Avro full name. serde_json bounds the JSON's depth, and so this recursion.
fn invalid_type_name(json: &serde_json::Value) -> Option<String> {
    match json {
        serde_json::Value::Object(object) => {
            let named = object
                .get("type")
                .and_then(|t| t.as_str())
                .is_some_and(|t| matches!(t, "record" | "error" | "enum" | "fixed"));
            if named && let Some(name) = object.get("name") {
                match name.as_str() {
                    Some(name) if is_valid_full_name(name) => {}
                    _ => return Some(name.to_string()),
                }
            }
            object.values().find_map(invalid_type_name)
        }
        serde_json::Value::Array(items) => items.iter().find_map(invalid_type_name),
        _ => None,
    }
}

/// Whether a (dotted) full name is a valid Avro name.
pub fn is_valid_full_name(name: &str) -> bool {
    name.split('.').all(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A schema with its named types, so that references (`"type": "Name"`) resolve.
pub struct Resolved<'s> {
    pub schema: &'s Schema,
    names: HashMap<Name, &'s Schema>,
    /// Whether inferred field names are upper-cased.
    upper_case: bool,
}

impl<'s> Resolved<'s> {
    pub fn new(schema: &'s Schema) -> Result<Resolved<'s>, String> {
        let names = ResolvedSchema::try_from(schema)
            .map_err(|e| format!("Invalid Avro schema: {e}"))?
            .get_names()
            .clone();
        Ok(Resolved {
            schema,
            names,
            upper_case: true,
        })
    }

    fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self.names.get(name).copied().unwrap_or(schema),
            other => other,
        }
    }

    /// Decodes a datum written with this schema.
    pub fn decode(&self, mut datum: &[u8]) -> Result<Avro, String> {
        limit_allocations();
        let value = apache_avro::from_avro_datum(self.schema, &mut datum, None)
            .map_err(|e| format!("Failed to deserialize Avro data: {e}"))?;
        if !datum.is_empty() {
            return Err(format!(
                "Failed to deserialize Avro data: {} bytes after the record",
                datum.len()
            ));
        }
        Ok(value)
    }

    /// Encodes a value of this schema.
    pub fn encode(&self, value: Avro) -> Result<Vec<u8>, String> {
        limit_allocations();
        apache_avro::to_avro_datum(self.schema, value)
            .map_err(|e| format!("Failed to serialize Avro data: {e}"))
    }

    /// The JSON form of a decoded value: records as objects, decimals as exact numbers,
    /// bytes as base64, dates, times and timestamps as their integers (days, ms, ms).
    pub fn to_json(&self, value: &Avro, schema: &Schema) -> Json {
        let schema = self.resolve(schema);
        match (value, schema) {
            (Avro::Union(i, inner), Schema::Union(union)) => {
                match union.variants().get(*i as usize) {
                    Some(variant) => self.to_json(inner, variant),
                    None => self.to_json(inner, &Schema::Null),
                }
            }
            (Avro::Union(_, inner), _) => self.to_json(inner, schema),
            (Avro::Null, _) => Json::Null,
            (Avro::Boolean(b), _) => Json::Bool(*b),
            (Avro::Int(v), _) | (Avro::Date(v), _) | (Avro::TimeMillis(v), _) => json!(v),
            (Avro::Long(v), _) | (Avro::TimestampMillis(v), _) => json!(v),
            (Avro::LocalTimestampMillis(v), _) => json!(v),
            (Avro::TimeMicros(v), _)
            | (Avro::TimestampMicros(v), _)
            | (Avro::LocalTimestampMicros(v), _) => json!(v.div_euclid(1000)),
            (Avro::TimestampNanos(v), _) | (Avro::LocalTimestampNanos(v), _) => {
                json!(v.div_euclid(1_000_000))
            }
            (Avro::Float(v), _) => json_format::number_value(&f64::from(*v).to_string()),
            (Avro::Double(v), _) => serde_json::Number::from_f64(*v)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            (Avro::String(s), _) | (Avro::Enum(_, s), _) => Json::String(s.clone()),
            (Avro::Uuid(u), _) => Json::String(u.to_string()),
            (Avro::Bytes(b), _) | (Avro::Fixed(_, b), _) => Json::String(base64_encode(b)),
            (Avro::Decimal(d), Schema::Decimal(ds)) => {
                let bytes = <Vec<u8>>::try_from(d).unwrap_or_default();
                match unscaled(&bytes) {
                    Some(v) => json_format::number_value(
                        &BigDecimal::from_unscaled(v, ds.scale as i8).to_plain_string(),
                    ),
                    None => Json::Null,
                }
            }
            (Avro::Decimal(_), _) => Json::Null,
            (Avro::BigDecimal(d), _) => json_format::number_value(&d.to_string()),
            (Avro::Array(items), Schema::Array(array)) => Json::Array(
                items
                    .iter()
                    .map(|v| self.to_json(v, &array.items))
                    .collect(),
            ),
            (Avro::Map(entries), Schema::Map(map)) => {
                let mut keys: Vec<&String> = entries.keys().collect();
                keys.sort();
                Json::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), self.to_json(&entries[k], &map.types)))
                        .collect(),
                )
            }
            (Avro::Record(fields), Schema::Record(record)) => Json::Object(
                fields
                    .iter()
                    .zip(&record.fields)
                    .map(|((name, v), field)| (name.clone(), self.to_json(v, &field.schema)))
                    .collect(),
            ),
            (Avro::Array(items), _) => Json::Array(
                items
                    .iter()
                    .map(|v| self.to_json(v, &Schema::Null))
                    .collect(),
            ),
            (Avro::Map(entries), _) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), self.to_json(v, &Schema::Null)))
                    .collect(),
            ),
            (Avro::Record(fields), _) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.to_json(v, &Schema::Null)))
                    .collect(),
            ),
            (Avro::Duration(_), _) => Json::Null,
        }
    }

    /// The Avro value of a JSON value, for this schema: the reverse of [`Resolved::to_json`].
    /// Object fields are matched by exact name, then without regard to case; a missing field
    /// takes its default, or null when it may be null.
    pub fn from_json(&self, value: &Json, schema: &Schema) -> Result<Avro, String> {
        let schema = self.resolve(schema);
        let mismatch = || format!("Cannot write {value} as Avro {}", schema_name(schema));
        Ok(match schema {
            Schema::Union(union) => {
                let variants = union.variants();
                if value.is_null() {
                    return match variants.iter().position(|v| matches!(v, Schema::Null)) {
                        Some(i) => Ok(Avro::Union(i as u32, Box::new(Avro::Null))),
                        None => Err(mismatch()),
                    };
                }
                for (i, variant) in variants.iter().enumerate() {
                    if matches!(variant, Schema::Null) {
                        continue;
                    }
                    if let Ok(v) = self.from_json(value, variant) {
                        return Ok(Avro::Union(i as u32, Box::new(v)));
                    }
                }
                return Err(mismatch());
            }
            Schema::Null if value.is_null() => Avro::Null,
            Schema::Boolean => Avro::Boolean(value.as_bool().ok_or_else(mismatch)?),
            Schema::Int => Avro::Int(int(value).ok_or_else(mismatch)?),
            Schema::Date => Avro::Date(int(value).ok_or_else(mismatch)?),
            Schema::TimeMillis => Avro::TimeMillis(int(value).ok_or_else(mismatch)?),
            Schema::TimeMicros => Avro::TimeMicros(long(value).ok_or_else(mismatch)? * 1000),
            Schema::Long => Avro::Long(long(value).ok_or_else(mismatch)?),
            Schema::TimestampMillis => Avro::TimestampMillis(long(value).ok_or_else(mismatch)?),
            Schema::TimestampMicros => {
                Avro::TimestampMicros(long(value).ok_or_else(mismatch)? * 1000)
            }
            Schema::LocalTimestampMillis => {
                Avro::LocalTimestampMillis(long(value).ok_or_else(mismatch)?)
            }
            Schema::Float => Avro::Float(double(value).ok_or_else(mismatch)? as f32),
            Schema::Double => Avro::Double(double(value).ok_or_else(mismatch)?),
            Schema::String => match value {
                Json::String(s) => Avro::String(s.clone()),
                Json::Number(n) => Avro::String(n.to_string()),
                Json::Bool(b) => Avro::String(b.to_string()),
                _ => return Err(mismatch()),
            },
            Schema::Uuid => Avro::String(value.as_str().ok_or_else(mismatch)?.to_string()),
            Schema::Enum(e) => {
                let symbol = value.as_str().ok_or_else(mismatch)?;
                let i = e
                    .symbols
                    .iter()
                    .position(|s| s == symbol)
                    .ok_or_else(mismatch)?;
                Avro::Enum(i as u32, symbol.to_string())
            }
            Schema::Bytes => Avro::Bytes(bytes(value).ok_or_else(mismatch)?),
            Schema::Fixed(f) => Avro::Fixed(f.size, bytes(value).ok_or_else(mismatch)?),
            Schema::Decimal(ds) => {
                let text = match value {
                    Json::Number(n) => n.to_string(),
                    Json::String(s) => s.clone(),
                    _ => return Err(mismatch()),
                };
                let decimal = BigDecimal::parse(&text).ok_or_else(mismatch)?;
                let precision = u8::try_from(ds.precision).unwrap_or(u8::MAX);
                let scale = u8::try_from(ds.scale).unwrap_or(u8::MAX);
                let v = decimal.to_decimal128(precision, scale)?;
                let bytes = match ds.inner.as_ref() {
                    Schema::Fixed(f) => sign_extended(v, f.size),
                    _ => minimal_bytes(v),
                };
                Avro::Decimal(apache_avro::Decimal::from(bytes))
            }
            Schema::Array(array) => match value {
                Json::Array(items) => Avro::Array(
                    items
                        .iter()
                        .map(|v| self.from_json(v, &array.items))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(mismatch()),
            },
            Schema::Map(map) => match value {
                Json::Object(entries) => Avro::Map(
                    entries
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), self.from_json(v, &map.types)?)))
                        .collect::<Result<_, String>>()?,
                ),
                _ => return Err(mismatch()),
            },
            Schema::Record(record) => {
                let Json::Object(object) = value else {
                    return Err(mismatch());
                };
                let mut fields = Vec::with_capacity(record.fields.len());
                for field in &record.fields {
                    let found = object.get(&field.name).or_else(|| {
                        object
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(&field.name))
                            .map(|(_, v)| v)
                    });
                    let v = match (found, &field.default) {
                        // A null where the schema takes none gets the field's default.
                        (Some(Json::Null), Some(default)) => self
                            .from_json(&Json::Null, &field.schema)
                            .or_else(|_| self.from_json(default, &field.schema))?,
                        (Some(v), _) => self.from_json(v, &field.schema)?,
                        (None, Some(default)) => self.from_json(default, &field.schema)?,
                        (None, None) => self.from_json(&Json::Null, &field.schema)?,
                    };
                    fields.push((field.name.clone(), v));
                }
                Avro::Record(fields)
            }
            _ => return Err(mismatch()),
        })
    }
}

fn schema_name(schema: &Schema) -> String {
    serde_json::to_string(schema).unwrap_or_else(|_| "schema".to_string())
}

fn int(value: &Json) -> Option<i32> {
    i32::try_from(long(value)?).ok()
}

fn long(value: &Json) -> Option<i64> {
    match value {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn double(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn bytes(value: &Json) -> Option<Vec<u8>> {
    BASE64_JSON.decode(value.as_str()?).ok()
}

/// A two's-complement big-endian integer of at most 16 bytes.
pub(crate) fn unscaled_value(bytes: &[u8]) -> Option<i128> {
    unscaled(bytes)
}

fn unscaled(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 16 {
        // Longer encodings are valid when the leading bytes are only sign extension.
        let (head, tail) = bytes.split_at(bytes.len() - 16);
        let fill = if tail[0] & 0x80 != 0 { 0xFF } else { 0 };
        return head.iter().all(|b| *b == fill).then(|| unscaled(tail))?;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xFF } else { 0 };
    let mut buffer = [fill; 16];
    buffer[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buffer))
}

/// The fewest two's-complement big-endian bytes that hold `v`.
pub(crate) fn minimal_bytes_of(v: i128) -> Vec<u8> {
    minimal_bytes(v)
}

fn minimal_bytes(v: i128) -> Vec<u8> {
    let all = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (all[start], all[start + 1]);
        let redundant = (b == 0 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    all[start..].to_vec()
}

fn sign_extended(v: i128, size: usize) -> Vec<u8> {
    let minimal = minimal_bytes(v);
    let fill = if v < 0 { 0xFF } else { 0 };
    let mut out = vec![fill; size.saturating_sub(minimal.len())];
    out.extend_from_slice(&minimal);
    out
}

// ---------------------------------------------------------------------------------------------
// Schemas of columns, and columns of schemas.

/// The Avro schema ksqlDB registers for these columns: a record of optional fields named
/// `full_name`, or, for a single unwrapped column, that column's optional type.
pub fn schema_json(columns: &[Column], wrapped: bool, full_name: &str) -> Json {
    if columns.len() == 1 && !wrapped {
        return optional(type_json(&columns[0].ty, full_name));
    }
    record_json(columns.iter().map(|c| (c.name.as_str(), &c.ty)), full_name)
}

fn record_json<'a>(fields: impl Iterator<Item = (&'a str, &'a SqlType)>, full_name: &str) -> Json {
    let (namespace, name) = match full_name.rsplit_once('.') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, full_name),
    };
    let fields: Vec<Json> = fields
        .map(|(field, ty)| {
            json!({
                "name": field,
                "type": optional(type_json(ty, &format!("{full_name}_{field}"))),
                "default": null,
            })
        })
        .collect();
    let mut record = Map::new();
    record.insert("type".into(), json!("record"));
    record.insert("name".into(), json!(name));
    if let Some(namespace) = namespace {
        record.insert("namespace".into(), json!(namespace));
    }
    record.insert("fields".into(), Json::Array(fields));
    record.insert("connect.name".into(), json!(full_name));
    Json::Object(record)
}

fn optional(ty: Json) -> Json {
    json!(["null", ty])
}

/// The (non-null) Avro type of a SQL type; nested records are named after their path.
fn type_json(ty: &SqlType, name: &str) -> Json {
    match ty {
        SqlType::Boolean => json!("boolean"),
        SqlType::Int => json!("int"),
        SqlType::Bigint => json!("long"),
        SqlType::Double => json!("double"),
        SqlType::String => json!("string"),
        SqlType::Bytes => json!("bytes"),
        SqlType::Decimal { precision, scale } => json!({
            "type": "bytes",
            "scale": scale,
            "precision": precision,
            "connect.version": 1,
            "connect.parameters": {
                "scale": scale.to_string(),
                "connect.decimal.precision": precision.to_string(),
            },
            "connect.name": "org.apache.kafka.connect.data.Decimal",
            "logicalType": "decimal",
        }),
        SqlType::Date => json!({
            "type": "int",
            "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Date",
            "logicalType": "date",
        }),
        SqlType::Time => json!({
            "type": "int",
            "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Time",
            "logicalType": "time-millis",
        }),
        SqlType::Timestamp => json!({
            "type": "long",
            "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Timestamp",
            "logicalType": "timestamp-millis",
        }),
        SqlType::Array(item) => json!({
            "type": "array",
            "items": optional(type_json(item, name)),
        }),
        SqlType::Map(_, value) => json!({
            "type": "map",
            "values": optional(type_json(value, &format!("{name}_MapValue"))),
        }),
        SqlType::Struct(fields) => {
            record_json(fields.iter().map(|f| (f.name.as_str(), &f.ty)), name)
        }
    }
}

/// Checks that column names are valid Avro names, with ksqlDB's message.
pub fn check_names(columns: &[Column]) -> Result<(), String> {
    fn valid(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
    fn check(name: &str, ty: &SqlType) -> Result<(), String> {
        if !valid(name) {
            return Err(format!(
                "Schema is not compatible with Avro: Illegal initial character: {name}"
            ));
        }
        nested(ty)
    }
    fn nested(ty: &SqlType) -> Result<(), String> {
        match ty {
            SqlType::Struct(fields) => fields.iter().try_for_each(|f| check(&f.name, &f.ty)),
            SqlType::Array(item) => nested(item),
            SqlType::Map(_, value) => nested(value),
            _ => Ok(()),
        }
    }
    columns.iter().try_for_each(|c| check(&c.name, &c.ty))
}

/// The columns of a registered schema, as ksqlDB infers them: a record's fields for values,
/// or a single column `single_name` (keys, and values of any other type). Field names are upper-cased when the schema is the
/// topic's latest, and kept as they are when a statement names the schema by id.
pub fn infer_columns(
    schema: &Schema,
    kind: ColumnKind,
    single_name: &str,
    upper_case: bool,
) -> Result<Vec<Column>, String> {
    let mut resolved = Resolved::new(schema)?;
    resolved.upper_case = upper_case;
    let column = |name: String, ty: SqlType| Column {
        name,
        ty,
        kind,
        header_key: None,
    };
    match resolved.resolve(schema) {
        // A key is always one column, whatever its type.
        Schema::Record(record) if kind == ColumnKind::Value => record
            .fields
            .iter()
            .map(|f| {
                Ok(column(
                    resolved.field_name(&f.name),
                    resolved.sql_type(&f.schema)?,
                ))
            })
            .collect(),
        other => Ok(vec![column(
            single_name.to_string(),
            resolved.sql_type(other)?,
        )]),
    }
}

impl Resolved<'_> {
    fn field_name(&self, name: &str) -> String {
        if self.upper_case {
            name.to_uppercase()
        } else {
            name.to_string()
        }
    }

    fn sql_type(&self, schema: &Schema) -> Result<SqlType, String> {
        Ok(match self.resolve(schema) {
            Schema::Union(union) => {
                let non_null: Vec<&Schema> = union
                    .variants()
                    .iter()
                    .filter(|v| !matches!(v, Schema::Null))
                    .collect();
                match non_null[..] {
                    [only] => self.sql_type(only)?,
                    _ => {
                        return Err(format!("Unsupported Avro union: {}", schema_name(schema)));
                    }
                }
            }
            Schema::Boolean => SqlType::Boolean,
            Schema::Int => SqlType::Int,
            Schema::Long => SqlType::Bigint,
            Schema::Float | Schema::Double => SqlType::Double,
            Schema::String | Schema::Enum(_) | Schema::Uuid => SqlType::String,
            Schema::Bytes | Schema::Fixed(_) => SqlType::Bytes,
            Schema::Decimal(ds) => SqlType::Decimal {
                precision: u8::try_from(ds.precision).unwrap_or(u8::MAX),
                scale: u8::try_from(ds.scale).unwrap_or(u8::MAX),
            },
            Schema::Date => SqlType::Date,
            Schema::TimeMillis | Schema::TimeMicros => SqlType::Time,
            Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => SqlType::Timestamp,
            Schema::Array(array) => SqlType::Array(Box::new(self.sql_type(&array.items)?)),
            Schema::Map(map) => SqlType::Map(
                Box::new(SqlType::String),
                Box::new(self.sql_type(&map.types)?),
            ),
            Schema::Record(record) => SqlType::Struct(
                record
                    .fields
                    .iter()
                    .map(|f| {
                        Ok(StructField {
                            name: self.field_name(&f.name),
                            ty: self.sql_type(&f.schema)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
            other => {
                return Err(format!("Unsupported Avro type: {}", schema_name(other)));
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Records.

/// Decodes a framed record into one value per column.
pub fn deserialize(
    registry: &SchemaRegistry,
    columns: &[Column],
    wrapped: bool,
    bytes: &[u8],
) -> Result<Option<Vec<ScalarValue>>> {
    let (id, datum) = unframe(bytes)?;
    let schema = registry
        .avro_schema(id, parse_schema)
        .map_err(FormatError::Deserialize)?;
    let resolved = Resolved::new(&schema).map_err(FormatError::Deserialize)?;
    let value = resolved.decode(datum).map_err(FormatError::Deserialize)?;
    let document = resolved.to_json(&value, &schema);
    json_format::deserialize_document(columns, wrapped, &document)
}

/// Encodes one value per column with the schema registered under `id`.
pub fn serialize(
    registry: &SchemaRegistry,
    id: u32,
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
) -> Result<Option<Vec<u8>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let document = if columns.len() == 1 && !wrapped {
        if values.first().is_none_or(|v| v.is_null()) {
            return Ok(None);
        }
        json_format::scalar_to_json(&values[0], &columns[0].ty)?
    } else {
        let mut object = Map::with_capacity(columns.len());
        for (column, value) in columns.iter().zip(values) {
            object.insert(
                column.name.clone(),
                json_format::scalar_to_json(value, &column.ty)?,
            );
        }
        Json::Object(object)
    };
    let schema = registry
        .avro_schema(id, parse_schema)
        .map_err(FormatError::Serialize)?;
    let resolved = Resolved::new(&schema).map_err(FormatError::Serialize)?;
    let value = resolved
        .from_json(&document, &schema)
        .map_err(FormatError::Serialize)?;
    let datum = resolved.encode(value).map_err(FormatError::Serialize)?;
    Ok(Some(frame(id, &datum)))
}

/// Registers the schema of these columns under `subject`, returning its id.
pub fn register(
    registry: &SchemaRegistry,
    subject: &str,
    columns: &[Column],
    wrapped: bool,
    full_name: &str,
) -> u32 {
    let text = schema_json(columns, wrapped, full_name).to_string();
    registry.register(subject, SchemaType::Avro, &text)
}

/// The most elements (of an array or a map) or bytes (of a string) one AVRO datum may
/// declare. The decoder reserves what a count in the datum says before it reads the elements,
/// so a count from a record must be bounded: apache-avro's own bound, 512M elements, let one
/// 40-byte record reserve 43 GB for a map.
pub const MAX_AVRO_ALLOCATION: usize = 1 << 20;

/// Sets apache-avro's bound, once, before its first use (it keeps the first it is given).
fn limit_allocations() {
    static LIMIT: std::sync::Once = std::sync::Once::new();
    LIMIT.call_once(|| {
        apache_avro::util::max_allocation_bytes(MAX_AVRO_ALLOCATION);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::value("ID", SqlType::Bigint),
            Column::value(
                "S",
                SqlType::Struct(vec![StructField {
                    name: "D".to_string(),
                    ty: SqlType::Decimal {
                        precision: 4,
                        scale: 2,
                    },
                }]),
            ),
            Column::value(
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            ),
            Column::value("B", SqlType::Bytes),
        ]
    }

    #[test]
    fn an_invalid_type_name_is_an_error_not_a_panic() {
        // apache-avro unwraps this name's check (found by the HTTP fuzz through the registry).
        let schema = r#"{"type":"record","name":"r,","fields":[{"name":"a","type":"int"}]}"#;
        let message = parse_schema(schema).unwrap_err();
        assert!(
            message.contains("'\"r,\"' is not a valid Avro name"),
            "{message}"
        );
        let nested = r#"{"type":"record","name":"ok","fields":[{"name":"a","type":{"type":"enum","name":"1x","symbols":["A"]}}]}"#;
        assert!(parse_schema(nested).is_err());
        assert!(parse_schema(r#"{"type":"record","name":"ns.ok","fields":[]}"#).is_ok());
    }

    #[test]
    fn values_round_trip_through_the_registered_schema() {
        let registry = SchemaRegistry::new();
        let columns = columns();
        let id = register(&registry, "t-value", &columns, true, DEFAULT_SCHEMA_NAME);
        let values = json_format::deserialize(
            &columns,
            true,
            br#"{"ID": 7, "S": {"D": 1.5}, "M": {"a": 1}, "B": "AQI="}"#,
        )
        .unwrap();
        let bytes = serialize(&registry, id, &columns, true, &values)
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, id as u8]);
        let back = deserialize(&registry, &columns, true, &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn inference_upper_cases_names_and_unwraps_optional_types() {
        let schema = parse_schema(
            r#"{"type":"record","name":"r","fields":[
                {"name":"c1","type":["null","long"]},
                {"name":"c2","type":{"type":"record","name":"inner","fields":[{"name":"f","type":"int"}]}},
                {"name":"c3","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}}]}"#,
        )
        .unwrap();
        let columns = infer_columns(&schema, ColumnKind::Value, "ROWVAL", true).unwrap();
        let described: Vec<String> = columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty))
            .collect();
        assert_eq!(
            described,
            ["C1 BIGINT", "C2 STRUCT<`F` INTEGER>", "C3 DECIMAL(5, 2)"]
        );
        let int = parse_schema(r#""int""#).unwrap();
        let columns = infer_columns(&int, ColumnKind::Key, "ROWKEY", true).unwrap();
        assert_eq!(columns[0].name, "ROWKEY");
        assert_eq!(columns[0].ty, SqlType::Int);
    }

    #[test]
    fn bad_bytes_are_errors() {
        let registry = SchemaRegistry::new();
        let columns = columns();
        assert!(deserialize(&registry, &columns, true, b"{}").is_err());
        assert!(deserialize(&registry, &columns, true, &[0, 0, 0, 0, 9, 1]).is_err());
        let id = register(&registry, "t-value", &columns, true, DEFAULT_SCHEMA_NAME);
        let r = deserialize(&registry, &columns, true, &frame(id, &[0x08]));
        assert!(r.is_err(), "{r:?}");
    }

    #[test]
    fn random_bytes_fail_cleanly() {
        let registry = SchemaRegistry::new();
        let columns = columns();
        let id = register(&registry, "t-value", &columns, true, DEFAULT_SCHEMA_NAME);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400 {
            let datum: Vec<u8> = (0..len % 40)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            // Whatever the bytes, decoding returns; it never panics.
            let _ = deserialize(&registry, &columns, true, &frame(id, &datum));
        }
        assert!(parse_schema(r#"{"type":"record","name":" ","fields":[]}"#).is_err());
    }

    #[test]
    fn decimals_take_the_fewest_bytes() {
        for v in [0i128, 1, -1, 127, 128, -128, -129, i128::MAX, i128::MIN] {
            assert_eq!(unscaled(&minimal_bytes(v)), Some(v));
            assert_eq!(unscaled(&sign_extended(v, 20)), Some(v));
        }
        assert_eq!(minimal_bytes(127), vec![127]);
        assert_eq!(minimal_bytes(128), vec![0, 128]);
    }
}
