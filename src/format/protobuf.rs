//! PROTOBUF and PROTOBUF_NOSR: protobuf messages, with or without Confluent's wire format.
//!
//! ```text
//!  PROTOBUF       0x00 │ schema id (4 bytes) │ message indexes (varints) │ message
//!  PROTOBUF_NOSR  message, of the schema ksqlDB builds from the columns
//! ```
//!
//! A record is always a message: its fields are the columns, for keys and values alike. Proto3
//! has no nulls for scalars, so a null column is written as its default (0, "", false) and read
//! back as that default, as in ksqlDB; a null message field stays null. Messages go to and from
//! JSON documents, which are coerced to the columns as JSON is (see [`super::avro`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use base64::Engine as _;
use datafusion::scalar::ScalarValue;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::{Map, Value as Json};

use super::avro::MAGIC_BYTE;
use super::text::{BASE64_JSON, BigDecimal, base64_encode};
use super::{FormatError, Result, json as json_format};
use crate::registry::{SchemaRegistry, SchemaType};
use crate::types::{Column, ColumnKind, SqlType, StructField};

/// The name ksqlDB gives the message of a source's columns.
pub const DEFAULT_MESSAGE_NAME: &str = "ConnectDefault1";

/// The file name a schema's text is compiled under.
const SCHEMA_FILE: &str = "schema.proto";

/// Imports Confluent's schemas use that protoc does not ship.
const EXTRA_FILES: [(&str, &str); 4] = [
    (
        "confluent/meta.proto",
        r#"syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
"#,
    ),
    (
        "confluent/type/decimal.proto",
        r#"syntax = "proto3";
package confluent.type;
import public "confluent/meta.proto";
message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }
"#,
    ),
    (
        "google/type/date.proto",
        r#"syntax = "proto3";
package google.type;
message Date { int32 year = 1; int32 month = 2; int32 day = 3; }
"#,
    ),
    (
        "google/type/timeofday.proto",
        r#"syntax = "proto3";
package google.type;
message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }
"#,
    ),
];

/// Resolves the schema being compiled, the files it references, and the extra imports.
struct Sources {
    schema: String,
    references: Vec<(String, String)>,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> std::result::Result<File, protox::Error> {
        if name == SCHEMA_FILE {
            return File::from_source(name, &self.schema);
        }
        if let Some((_, text)) = self.references.iter().find(|(n, _)| n == name) {
            return File::from_source(name, text);
        }
        match EXTRA_FILES.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A compiled schema: its pool, and the messages of the schema's own file.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub pool: DescriptorPool,
    messages: Vec<MessageDescriptor>,
}

impl Compiled {
    /// The message a record's indexes name: `[i, j]` is the `j`th message nested in the `i`th
    /// top-level one.
    pub fn message(&self, indexes: &[i64]) -> Option<MessageDescriptor> {
        let (first, nested) = indexes.split_first().unwrap_or((&0, &[]));
        let mut message = self.messages.get(usize::try_from(*first).ok()?)?.clone();
        for i in nested {
            let child = message.child_messages().nth(usize::try_from(*i).ok()?)?;
            message = child;
        }
        Some(message)
    }

    /// The message of a full name, or the first one.
    pub fn named(&self, full_name: Option<&str>) -> Option<(MessageDescriptor, Vec<i64>)> {
        let Some(name) = full_name else {
            return self.messages.first().map(|m| (m.clone(), vec![0]));
        };
        let message = self.pool.get_message_by_name(name)?;
        Some((message.clone(), indexes_of(&self.messages, &message)?))
    }
}

fn indexes_of(top: &[MessageDescriptor], wanted: &MessageDescriptor) -> Option<Vec<i64>> {
    fn search(
        messages: &mut dyn Iterator<Item = MessageDescriptor>,
        wanted: &MessageDescriptor,
        path: &mut Vec<i64>,
    ) -> bool {
        for (i, message) in messages.enumerate() {
            path.push(i as i64);
            if message.full_name() == wanted.full_name()
                || search(&mut message.child_messages(), wanted, path)
            {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    search(&mut top.iter().cloned(), wanted, &mut path).then_some(path)
}

/// Compiled schemas by their text (and references): compiling is far slower than a record.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<Compiled>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compiles a schema's `.proto` text, with the files it imports.
pub fn compile(
    text: &str,
    references: &[(String, String)],
) -> std::result::Result<Arc<Compiled>, String> {
    let cache_key = format!("{text}\u{0}{references:?}");
    if let Some(compiled) = COMPILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&cache_key)
    {
        return Ok(compiled.clone());
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(Sources {
        schema: text.to_string(),
        references: references.to_vec(),
    });
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler
        .open_file(SCHEMA_FILE)
        .map_err(|e| format!("Invalid Protobuf schema: {e}"))?;
    let pool = compiler.descriptor_pool();
    let messages = pool
        .get_file_by_name(SCHEMA_FILE)
        .map(|f| f.messages().collect())
        .unwrap_or_default();
    let compiled = Arc::new(Compiled { pool, messages });
    COMPILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(cache_key, compiled.clone());
    Ok(compiled)
}

// ---------------------------------------------------------------------------------------------
// The wire format.

/// A message framed with its schema id and message indexes.
pub fn frame(id: u32, indexes: &[i64], message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + message.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
    if indexes == [0] {
        out.push(0);
    } else {
        put_zigzag(&mut out, indexes.len() as i64);
        for i in indexes {
            put_zigzag(&mut out, *i);
        }
    }
    out.extend_from_slice(message);
    out
}

/// The schema id, message indexes and message of a framed record.
pub fn unframe(bytes: &[u8]) -> Result<(u32, Vec<i64>, &[u8])> {
    let bad = || FormatError::Deserialize("Unknown magic byte!".to_string());
    let [MAGIC_BYTE, a, b, c, d, rest @ ..] = bytes else {
        return Err(bad());
    };
    let id = u32::from_be_bytes([*a, *b, *c, *d]);
    let mut rest = rest;
    let count = take_zigzag(&mut rest).ok_or_else(bad)?;
    let indexes = if count == 0 {
        vec![0]
    } else {
        (0..count)
            .map(|_| take_zigzag(&mut rest).ok_or_else(bad))
            .collect::<Result<Vec<_>>>()?
    };
    Ok((id, indexes, rest))
}

fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let byte = (z & 0x7F) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn take_zigzag(bytes: &mut &[u8]) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        z |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            let v = ((z >> 1) as i64) ^ -((z & 1) as i64);
            // A count or index this large is not a real record.
            return (v.unsigned_abs() < 1 << 20).then_some(v);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Messages and JSON.

/// A decoded message as a JSON object: every field present, scalars at their defaults when
/// unset, unset message fields null.
pub fn message_json(message: &DynamicMessage) -> Json {
    let mut object = Map::new();
    for field in message.descriptor().fields() {
        let value = if is_singular_message(&field) && !message.has_field(&field) {
            Json::Null
        } else if let Some(entry) = entry_list(&field) {
            entries_json(&message.get_field(&field), &entry)
        } else {
            value_json(&message.get_field(&field), &field.kind())
        };
        object.insert(field.name().to_string(), value);
    }
    Json::Object(object)
}

/// The entry message of a repeated field that stands for a map: Kafka Connect writes a map as
/// repeated `…Entry` messages of a `key` and a `value`.
fn entry_list(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    if !field.is_list() {
        return None;
    }
    let Kind::Message(entry) = field.kind() else {
        return None;
    };
    let names: Vec<String> = entry.fields().map(|f| f.name().to_string()).collect();
    (entry.name().ends_with("Entry") && names == ["key", "value"]).then_some(entry)
}

fn entries_json(list: &Value, entry: &MessageDescriptor) -> Json {
    let Value::List(items) = list else {
        return Json::Null;
    };
    let mut object = Map::with_capacity(items.len());
    for item in items {
        let Value::Message(m) = item else {
            continue;
        };
        let Json::Object(mut fields) = message_json(m) else {
            continue;
        };
        let key = match fields.remove("key") {
            Some(Json::String(s)) => s,
            Some(other) => other.to_string(),
            None => continue,
        };
        object.insert(key, fields.remove("value").unwrap_or(Json::Null));
    }
    let _ = entry;
    Json::Object(object)
}

fn is_singular_message(field: &FieldDescriptor) -> bool {
    !field.is_list() && !field.is_map() && matches!(field.kind(), Kind::Message(_))
}

fn value_json(value: &Value, kind: &Kind) -> Json {
    match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(v) => Json::from(*v),
        Value::I64(v) => Json::from(*v),
        Value::U32(v) => Json::from(*v),
        Value::U64(v) => Json::from(*v),
        Value::F32(v) => json_format::number_value(&f64::from(*v).to_string()),
        Value::F64(v) => serde_json::Number::from_f64(*v)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64_encode(b)),
        Value::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map(|v| Json::String(v.name().to_string()))
                .unwrap_or_else(|| Json::from(*n)),
            _ => Json::from(*n),
        },
        Value::Message(m) => well_known_json(m).unwrap_or_else(|| message_json(m)),
        Value::List(items) => Json::Array(items.iter().map(|v| value_json(v, kind)).collect()),
        Value::Map(entries) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut keys: Vec<&MapKey> = entries.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (map_key_text(k), value_json(&entries[k], &value_kind)))
                    .collect(),
            )
        }
    }
}

fn map_key_text(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(v) => v.to_string(),
        MapKey::I64(v) => v.to_string(),
        MapKey::U32(v) => v.to_string(),
        MapKey::U64(v) => v.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// The JSON of the messages that stand for SQL types: wrappers, timestamps, dates, times and
/// decimals.
fn well_known_json(message: &DynamicMessage) -> Option<Json> {
    let int = |name: &str| match message.get_field_by_name(name).as_deref() {
        Some(Value::I32(v)) => i64::from(*v),
        Some(Value::I64(v)) => *v,
        Some(Value::U32(v)) => i64::from(*v),
        _ => 0,
    };
    Some(match message.descriptor().full_name() {
        // ksqlDB's `Timestamps.toMillis` multiplies exactly: one past 64 bits is unreadable.
        "google.protobuf.Timestamp" => Json::from(
            int("seconds")
                .checked_mul(1000)?
                .checked_add(int("nanos") / 1_000_000)?,
        ),
        "google.type.Date" => {
            let date = chrono::NaiveDate::from_ymd_opt(
                i32::try_from(int("year")).ok()?,
                u32::try_from(int("month")).ok()?,
                u32::try_from(int("day")).ok()?,
            )?;
            Json::from(
                date.signed_duration_since(chrono::NaiveDate::default())
                    .num_days(),
            )
        }
        "google.type.TimeOfDay" => Json::from(
            ((int("hours") * 60 + int("minutes")) * 60 + int("seconds")) * 1000
                + int("nanos") / 1_000_000,
        ),
        "confluent.type.Decimal" => {
            let bytes = match message.get_field_by_name("value").as_deref() {
                Some(Value::Bytes(b)) => b.to_vec(),
                _ => Vec::new(),
            };
            let unscaled = super::avro::unscaled_value(&bytes)?;
            let scale = i8::try_from(int("scale")).ok()?;
            json_format::number_value(&BigDecimal::from_unscaled(unscaled, scale).to_plain_string())
        }
        name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
            let field = message.descriptor().get_field_by_name("value")?;
            if message.has_field(&field) {
                value_json(&message.get_field(&field), &field.kind())
            } else {
                // An unset wrapper holds its type's default.
                value_json(&message.get_field(&field), &field.kind())
            }
        }
        _ => return None,
    })
}

/// A message of `descriptor` from a JSON object: fields matched by exact name, then without
/// regard to case; null and absent fields left unset.
pub fn json_message(
    descriptor: &MessageDescriptor,
    json: &Json,
) -> std::result::Result<DynamicMessage, String> {
    let Json::Object(object) = json else {
        return Err(format!(
            "Cannot write {json} as the Protobuf message {}",
            descriptor.full_name()
        ));
    };
    let mut message = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        let found = object.get(field.name()).or_else(|| {
            object
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field.name()))
                .map(|(_, v)| v)
        });
        let Some(value) = found.filter(|v| !v.is_null()) else {
            continue;
        };
        message.set_field(&field, field_value(&field, value)?);
    }
    Ok(message)
}

fn field_value(field: &FieldDescriptor, json: &Json) -> std::result::Result<Value, String> {
    let kind = field.kind();
    if field.is_map() {
        let Kind::Message(entry) = &kind else {
            return Err("a map field without entries".to_string());
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_kind = entry.map_entry_value_field().kind();
        let Json::Object(object) = json else {
            return Err(format!("Cannot write {json} as a Protobuf map"));
        };
        let mut entries = HashMap::with_capacity(object.len());
        for (k, v) in object {
            let key = match kind_value(&key_kind, &Json::String(k.clone()))? {
                Value::String(s) => MapKey::String(s),
                Value::I32(v) => MapKey::I32(v),
                Value::I64(v) => MapKey::I64(v),
                Value::U32(v) => MapKey::U32(v),
                Value::U64(v) => MapKey::U64(v),
                Value::Bool(b) => MapKey::Bool(b),
                _ => return Err(format!("Unsupported Protobuf map key: {k}")),
            };
            entries.insert(key, kind_value_or_default(&value_kind, v)?);
        }
        return Ok(Value::Map(entries));
    }
    if let Some(entry) = entry_list(field) {
        let Json::Object(object) = json else {
            return Err(format!("Cannot write {json} as a Protobuf map"));
        };
        return object
            .iter()
            .map(|(k, v)| {
                let pair = serde_json::json!({"key": k, "value": v});
                json_message(&entry, &pair).map(Value::Message)
            })
            .collect::<std::result::Result<_, _>>()
            .map(Value::List);
    }
    if field.is_list() {
        let Json::Array(items) = json else {
            return Err(format!("Cannot write {json} as a Protobuf list"));
        };
        return items
            .iter()
            .map(|item| kind_value_or_default(&kind, item))
            .collect::<std::result::Result<_, _>>()
            .map(Value::List);
    }
    kind_value(&kind, json)
}

/// A null inside a list or map takes its type's default, as protobuf has no nulls there.
fn kind_value_or_default(kind: &Kind, json: &Json) -> std::result::Result<Value, String> {
    if json.is_null() {
        return Ok(match kind {
            Kind::Message(m) => Value::Message(DynamicMessage::new(m.clone())),
            other => Value::default_value(other),
        });
    }
    kind_value(kind, json)
}

fn kind_value(kind: &Kind, json: &Json) -> std::result::Result<Value, String> {
    let mismatch = || format!("Cannot write {json} as Protobuf {kind:?}");
    let long = || match json {
        // A whole number written as a double (`3.0`) is that integer; a fraction or a value
        // past 64 bits is not one, rather than being cut or saturated.
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (-(2f64.powi(63))..2f64.powi(63)).contains(f))
                .map(|f| f as i64)
        }),
        Json::String(s) => s.trim().parse().ok(),
        Json::Bool(b) => Some(i64::from(*b)),
        _ => None,
    };
    let double = || match json {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(i32::try_from(long().ok_or_else(mismatch)?).map_err(|_| mismatch())?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(long().ok_or_else(mismatch)?),
        Kind::Uint32 | Kind::Fixed32 => {
            Value::U32(u32::try_from(long().ok_or_else(mismatch)?).map_err(|_| mismatch())?)
        }
        Kind::Uint64 | Kind::Fixed64 => {
            Value::U64(u64::try_from(long().ok_or_else(mismatch)?).map_err(|_| mismatch())?)
        }
        Kind::Float => Value::F32(double().ok_or_else(mismatch)? as f32),
        Kind::Double => Value::F64(double().ok_or_else(mismatch)?),
        Kind::Bool => match json {
            Json::Bool(b) => Value::Bool(*b),
            Json::String(s) => Value::Bool(s.eq_ignore_ascii_case("true")),
            _ => return Err(mismatch()),
        },
        Kind::String => match json {
            Json::String(s) => Value::String(s.clone()),
            Json::Number(n) => Value::String(n.to_string()),
            Json::Bool(b) => Value::String(b.to_string()),
            other => Value::String(other.to_string()),
        },
        Kind::Bytes => match json {
            Json::String(s) => Value::Bytes(BASE64_JSON.decode(s).map_err(|_| mismatch())?.into()),
            _ => return Err(mismatch()),
        },
        Kind::Enum(e) => match json {
            Json::String(s) => Value::EnumNumber(
                e.get_value_by_name(s)
                    .map(|v| v.number())
                    .ok_or_else(mismatch)?,
            ),
            Json::Number(n) => Value::EnumNumber(
                n.as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(mismatch)?,
            ),
            _ => return Err(mismatch()),
        },
        Kind::Message(m) => Value::Message(match well_known_message(m, json)? {
            Some(message) => message,
            None => json_message(m, json)?,
        }),
    })
}

/// The messages of the SQL types that protobuf has no scalar for, from their JSON form.
fn well_known_message(
    descriptor: &MessageDescriptor,
    json: &Json,
) -> std::result::Result<Option<DynamicMessage>, String> {
    let mut message = DynamicMessage::new(descriptor.clone());
    let number = || match json {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let mismatch = || format!("Cannot write {json} as {}", descriptor.full_name());
    match descriptor.full_name() {
        "google.protobuf.Timestamp" => {
            let ms = number().ok_or_else(mismatch)?;
            message.set_field_by_name("seconds", Value::I64(ms.div_euclid(1000)));
            message.set_field_by_name(
                "nanos",
                Value::I32((ms.rem_euclid(1000) * 1_000_000) as i32),
            );
        }
        "google.type.Date" => {
            let days = number().ok_or_else(mismatch)?;
            let date = chrono::NaiveDate::default()
                .checked_add_signed(chrono::TimeDelta::days(days))
                .ok_or_else(mismatch)?;
            use chrono::Datelike;
            message.set_field_by_name("year", Value::I32(date.year()));
            message.set_field_by_name("month", Value::I32(date.month() as i32));
            message.set_field_by_name("day", Value::I32(date.day() as i32));
        }
        "google.type.TimeOfDay" => {
            let ms = number()
                .filter(|ms| (0..=super::text::MILLIS_PER_DAY).contains(ms))
                .ok_or_else(mismatch)?;
            message.set_field_by_name("hours", Value::I32((ms / 3_600_000) as i32));
            message.set_field_by_name("minutes", Value::I32((ms / 60_000 % 60) as i32));
            message.set_field_by_name("seconds", Value::I32((ms / 1000 % 60) as i32));
            message.set_field_by_name("nanos", Value::I32((ms % 1000 * 1_000_000) as i32));
        }
        "confluent.type.Decimal" => {
            let text = match json {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.clone(),
                _ => return Err(mismatch()),
            };
            let decimal = BigDecimal::parse(&text).ok_or_else(mismatch)?;
            let scale = decimal.scale().clamp(0, 38) as u8;
            let unscaled = decimal.to_decimal128(38, scale)?;
            message.set_field_by_name(
                "value",
                Value::Bytes(super::avro::minimal_bytes_of(unscaled).into()),
            );
            message.set_field_by_name("precision", Value::U32(u32::from(decimal.precision())));
            message.set_field_by_name("scale", Value::I32(i32::from(scale)));
        }
        name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
            let field = descriptor.get_field_by_name("value").ok_or_else(mismatch)?;
            message.set_field(&field, kind_value(&field.kind(), json)?);
        }
        _ => return Ok(None),
    }
    Ok(Some(message))
}

// ---------------------------------------------------------------------------------------------
// Schemas of columns, and columns of schemas.

/// The `.proto` text ksqlDB registers for these columns: a message of the columns named
/// `full_name` (a dotted name gives the package), nested messages for structs, and the imports
/// their types need.
pub fn schema_text(columns: &[Column], full_name: &str) -> String {
    let (package, name) = match full_name.rsplit_once('.') {
        Some((package, name)) => (Some(package), name),
        None => (None, full_name),
    };
    let mut imports = std::collections::BTreeSet::new();
    let mut counter = 1;
    let fields: Vec<(&str, &SqlType)> = columns.iter().map(|c| (c.name.as_str(), &c.ty)).collect();
    let body = message_text(name, &fields, &mut imports, &mut counter, 1);
    let mut out = String::from("syntax = \"proto3\";\n\n");
    if let Some(package) = package {
        out.push_str(&format!("package {package};\n\n"));
    }
    for import in &imports {
        out.push_str(&format!("import \"{import}\";\n"));
    }
    if !imports.is_empty() {
        out.push('\n');
    }
    out.push_str(&body);
    out
}

fn message_text(
    name: &str,
    fields: &[(&str, &SqlType)],
    imports: &mut std::collections::BTreeSet<&'static str>,
    counter: &mut usize,
    depth: usize,
) -> String {
    let mut nested = Vec::new();
    let mut lines = String::new();
    for (i, &(field, ty)) in fields.iter().enumerate() {
        lines.push_str(&field_line(
            field,
            ty,
            i + 1,
            depth,
            &mut nested,
            imports,
            counter,
        ));
    }
    let outer = "  ".repeat(depth - 1);
    let mut out = format!("{outer}message {name} {{\n{lines}");
    for message in nested {
        out.push('\n');
        out.push_str(&message);
    }
    out.push_str(&format!("{outer}}}\n"));
    out
}

/// A field's declaration. Structs become nested messages named `ConnectDefaultN`, and maps
/// repeated `ConnectDefaultNEntry` messages of a `key` and a `value`, as Kafka Connect's
/// protobuf converter writes them.
fn field_line(
    field: &str,
    ty: &SqlType,
    number: usize,
    depth: usize,
    nested: &mut Vec<String>,
    imports: &mut std::collections::BTreeSet<&'static str>,
    counter: &mut usize,
) -> String {
    let indent = "  ".repeat(depth);
    let (repeated, ty) = match ty {
        SqlType::Array(item) => ("repeated ", item.as_ref()),
        other => ("", other),
    };
    let type_name = match ty {
        SqlType::Struct(inner) => {
            *counter += 1;
            let message = format!("ConnectDefault{counter}");
            let inner: Vec<(&str, &SqlType)> =
                inner.iter().map(|f| (f.name.as_str(), &f.ty)).collect();
            nested.push(message_text(&message, &inner, imports, counter, depth + 1));
            message
        }
        SqlType::Map(key, value) => {
            *counter += 1;
            let message = format!("ConnectDefault{counter}Entry");
            let entry: [(&str, &SqlType); 2] = [("key", key), ("value", value)];
            nested.push(message_text(&message, &entry, imports, counter, depth + 1));
            return format!("{indent}repeated {message} {field} = {number};\n");
        }
        other => scalar_name(other, imports),
    };
    let options = match ty {
        SqlType::Decimal { precision, scale } => format!(
            " [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{precision}\" }}, {{ key: \"scale\", value: \"{scale}\" }}] }}]"
        ),
        _ => String::new(),
    };
    format!("{indent}{repeated}{type_name} {field} = {number}{options};\n")
}

fn scalar_name(ty: &SqlType, imports: &mut std::collections::BTreeSet<&'static str>) -> String {
    match ty {
        SqlType::Boolean => "bool".into(),
        SqlType::Int => "int32".into(),
        SqlType::Bigint => "int64".into(),
        SqlType::Double => "double".into(),
        SqlType::String => "string".into(),
        SqlType::Bytes => "bytes".into(),
        SqlType::Decimal { .. } => {
            imports.insert("confluent/meta.proto");
            imports.insert("confluent/type/decimal.proto");
            "confluent.type.Decimal".into()
        }
        SqlType::Date => {
            imports.insert("google/type/date.proto");
            "google.type.Date".into()
        }
        SqlType::Time => {
            imports.insert("google/type/timeofday.proto");
            "google.type.TimeOfDay".into()
        }
        SqlType::Timestamp => {
            imports.insert("google/protobuf/timestamp.proto");
            "google.protobuf.Timestamp".into()
        }
        // Nested arrays, and maps or structs as map values, have no protobuf form without
        // wrapper messages; they are refused by `check_types`.
        _ => "bytes".into(),
    }
}

/// Refuses the column types protobuf cannot hold directly.
pub fn check_types(columns: &[Column]) -> std::result::Result<(), String> {
    if columns.iter().any(|c| super::has_non_string_map_key(&c.ty)) {
        return Err("PROTOBUF format only supports MAP types with STRING keys".to_string());
    }
    fn check(ty: &SqlType, in_array: bool) -> std::result::Result<(), String> {
        match ty {
            SqlType::Array(item) if in_array => Err(format!(
                "PROTOBUF cannot hold ARRAY<{item}> inside an ARRAY yet"
            )),
            SqlType::Map(..) if in_array => {
                Err(format!("PROTOBUF cannot hold {ty} inside an ARRAY yet"))
            }
            SqlType::Array(item) => check(item, true),
            SqlType::Map(_, v) => check(v, false),
            SqlType::Struct(fields) => fields.iter().try_for_each(|f| check(&f.ty, false)),
            _ => Ok(()),
        }
    }
    columns.iter().try_for_each(|c| check(&c.ty, false))
}

/// The columns of a message: its fields, names upper-cased unless the statement named the
/// schema by id.
pub fn infer_columns(
    message: &MessageDescriptor,
    kind: ColumnKind,
    upper_case: bool,
) -> std::result::Result<Vec<Column>, String> {
    message
        .fields()
        .map(|field| {
            Ok(Column {
                name: field_name(field.name(), upper_case),
                ty: field_type(&field, upper_case)?,
                kind,
                header_key: None,
            })
        })
        .collect()
}

fn field_name(name: &str, upper_case: bool) -> String {
    if upper_case {
        name.to_uppercase()
    } else {
        name.to_string()
    }
}

fn field_type(field: &FieldDescriptor, upper_case: bool) -> std::result::Result<SqlType, String> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return Err("a map field without entries".to_string());
        };
        return Ok(SqlType::Map(
            Box::new(kind_type(
                &entry.map_entry_key_field().kind(),
                None,
                upper_case,
            )?),
            Box::new(field_type(&entry.map_entry_value_field(), upper_case)?),
        ));
    }
    if let Some(entry) = entry_list(field) {
        let key = entry
            .get_field_by_name("key")
            .ok_or("an entry without a key")?;
        let value = entry
            .get_field_by_name("value")
            .ok_or("an entry without a value")?;
        return Ok(SqlType::Map(
            Box::new(kind_type(&key.kind(), Some(&key), upper_case)?),
            Box::new(field_type(&value, upper_case)?),
        ));
    }
    let ty = kind_type(&field.kind(), Some(field), upper_case)?;
    Ok(if field.is_list() {
        SqlType::Array(Box::new(ty))
    } else {
        ty
    })
}

fn kind_type(
    kind: &Kind,
    field: Option<&FieldDescriptor>,
    upper_case: bool,
) -> std::result::Result<SqlType, String> {
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => SqlType::Int,
        Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Fixed32
        | Kind::Fixed64 => SqlType::Bigint,
        Kind::Float | Kind::Double => SqlType::Double,
        Kind::Bool => SqlType::Boolean,
        Kind::String | Kind::Enum(_) => SqlType::String,
        Kind::Bytes => SqlType::Bytes,
        Kind::Message(m) => match m.full_name() {
            "google.protobuf.Timestamp" => SqlType::Timestamp,
            "google.type.Date" => SqlType::Date,
            "google.type.TimeOfDay" => SqlType::Time,
            "confluent.type.Decimal" => {
                let (precision, scale) = field.and_then(decimal_params).unwrap_or((64, 0));
                SqlType::checked_decimal(precision, scale)?
            }
            "google.protobuf.BoolValue" => SqlType::Boolean,
            "google.protobuf.Int32Value" => SqlType::Int,
            "google.protobuf.Int64Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.UInt64Value" => SqlType::Bigint,
            "google.protobuf.FloatValue" | "google.protobuf.DoubleValue" => SqlType::Double,
            "google.protobuf.StringValue" => SqlType::String,
            "google.protobuf.BytesValue" => SqlType::Bytes,
            _ => SqlType::Struct(
                m.fields()
                    .map(|f| {
                        Ok(StructField {
                            name: field_name(f.name(), upper_case),
                            ty: field_type(&f, upper_case)?,
                        })
                    })
                    .collect::<std::result::Result<_, String>>()?,
            ),
        },
    })
}

/// A decimal field's precision and scale, from its `(confluent.field_meta)` params.
fn decimal_params(field: &FieldDescriptor) -> Option<(u8, u8)> {
    let options = field.options();
    let extension = options
        .extensions()
        .find(|(e, _)| e.full_name() == "confluent.field_meta")?
        .1
        .clone();
    let Value::Message(meta) = extension else {
        return None;
    };
    let params = meta.get_field_by_name("params")?;
    let Value::Map(params) = params.as_ref() else {
        return None;
    };
    let param = |name: &str| match params.get(&MapKey::String(name.to_string())) {
        Some(Value::String(v)) => v.parse::<u8>().ok(),
        _ => None,
    };
    Some((param("precision")?, param("scale").unwrap_or(0)))
}

// ---------------------------------------------------------------------------------------------
// Records.

/// Decodes a record into one value per column: framed (PROTOBUF, schema from the registry) or
/// bare (PROTOBUF_NOSR, the schema of the columns).
pub fn deserialize(
    registry: Option<&SchemaRegistry>,
    columns: &[Column],
    bytes: &[u8],
) -> Result<Option<Vec<ScalarValue>>> {
    let fail = FormatError::Deserialize;
    let (message, body) = match registry {
        Some(registry) => {
            let (id, indexes, body) = unframe(bytes)?;
            let compiled = registry_schema(registry, id).map_err(fail)?;
            let message = compiled.message(&indexes).ok_or_else(|| {
                fail(format!("Schema {id} has no message at indexes {indexes:?}"))
            })?;
            (message, body)
        }
        None => (columns_message(columns).map_err(fail)?, bytes),
    };
    let decoded = DynamicMessage::decode(message, body)
        .map_err(|e| fail(format!("Failed to deserialize Protobuf data: {e}")))?;
    json_format::deserialize_document(columns, true, &message_json(&decoded))
}

/// Encodes one value per column as a message: of the schema registered under `id`, framed
/// (PROTOBUF), or of the columns' own schema (PROTOBUF_NOSR, `id` `None`).
pub fn serialize(
    registry: Option<(&SchemaRegistry, u32, Option<&str>)>,
    columns: &[Column],
    values: &[ScalarValue],
) -> Result<Option<Vec<u8>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let fail = FormatError::Serialize;
    let mut object = Map::with_capacity(columns.len());
    for (column, value) in columns.iter().zip(values) {
        object.insert(
            column.name.clone(),
            json_format::scalar_to_json(value, &column.ty)?,
        );
    }
    let document = Json::Object(object);
    match registry {
        Some((registry, id, name)) => {
            let compiled = registry_schema(registry, id).map_err(fail)?;
            let (message, indexes) = compiled
                .named(name)
                .ok_or_else(|| fail(format!("Schema {id} has no message {name:?}")))?;
            let encoded = json_message(&message, &document).map_err(fail)?;
            Ok(Some(frame(id, &indexes, &encoded.encode_to_vec())))
        }
        None => {
            let message = columns_message(columns).map_err(fail)?;
            let encoded = json_message(&message, &document).map_err(fail)?;
            Ok(Some(encoded.encode_to_vec()))
        }
    }
}

/// The compiled schema registered under an id.
pub fn registry_schema(
    registry: &SchemaRegistry,
    id: u32,
) -> std::result::Result<Arc<Compiled>, String> {
    let registered = registry
        .by_id(id)
        .ok_or_else(|| format!("Schema not found; error code: 40403 (schema id {id})"))?;
    if registered.schema_type != SchemaType::Protobuf {
        return Err(format!("Schema {id} is not a Protobuf schema"));
    }
    compile(&registered.text, &registered.references)
}

/// The message of the schema ksqlDB builds from columns (PROTOBUF_NOSR's schema).
pub fn columns_message(columns: &[Column]) -> std::result::Result<MessageDescriptor, String> {
    let compiled = compile(&schema_text(columns, DEFAULT_MESSAGE_NAME), &[])?;
    compiled
        .message(&[0])
        .ok_or_else(|| "the schema of the columns has no message".to_string())
}

/// Registers the schema of these columns under `subject`, returning its id.
pub fn register(registry: &SchemaRegistry, subject: &str, columns: &[Column], name: &str) -> u32 {
    registry.register(subject, SchemaType::Protobuf, &schema_text(columns, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::value("I", SqlType::Int),
            Column::value("S", SqlType::String),
            Column::value("A", SqlType::Array(Box::new(SqlType::Bigint))),
            Column::value(
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            ),
            Column::value(
                "T",
                SqlType::Struct(vec![StructField {
                    name: "F".to_string(),
                    ty: SqlType::Timestamp,
                }]),
            ),
            Column::value(
                "D",
                SqlType::Decimal {
                    precision: 4,
                    scale: 2,
                },
            ),
        ]
    }

    #[test]
    fn columns_round_trip_through_their_schema() {
        let columns = columns();
        let message = columns_message(&columns).unwrap();
        let inferred = infer_columns(&message, ColumnKind::Value, true).unwrap();
        assert_eq!(inferred, columns);
        let values = json_format::deserialize(
            &columns,
            true,
            br#"{"I": 1, "S": null, "A": [1, null], "M": {"x": 1.5}, "T": {"F": 1500}, "D": 1.25}"#,
        )
        .unwrap();
        let bytes = serialize(None, &columns, &values).unwrap().unwrap();
        let back = deserialize(None, &columns, &bytes).unwrap().unwrap();
        let expected = json_format::deserialize(
            &columns,
            true,
            br#"{"I": 1, "S": "", "A": [1, 0], "M": {"x": 1.5}, "T": {"F": 1500}, "D": 1.25}"#,
        )
        .unwrap();
        assert_eq!(back, expected);
    }

    #[test]
    fn framing_carries_message_indexes() {
        for indexes in [vec![0], vec![1], vec![2, 0, 3]] {
            let bytes = frame(9, &indexes, b"xy");
            let (id, read, body) = unframe(&bytes).unwrap();
            assert_eq!((id, read, body), (9, indexes, &b"xy"[..]));
        }
        assert!(unframe(b"\x01\0\0\0\x01\0").is_err());
    }

    #[test]
    fn bad_schemas_and_bytes_are_errors() {
        assert!(compile("syntax = \"proto3\"; message {", &[]).is_err());
        let columns = columns();
        assert!(deserialize(None, &columns, &[0xFF, 0xFF, 0xFF]).is_err());
    }
}
