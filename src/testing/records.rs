//! Test records to topic records and back, the way ksqlDB's test serdes do it.
//!
//! These are the harness's own serdes, not Sluice's [`crate::format`] module: like ksqlDB's
//! `SerdeUtil` suppliers they are deliberately simple, so that they check the engine's bytes
//! instead of sharing its bugs. The formats of a topic are those of the source registered on it.
//!
//! | format | test data | bytes |
//! |---|---|---|
//! | JSON | any JSON | the JSON text (a string is a JSON string literal) |
//! | DELIMITED | a string: the raw line | its UTF-8 |
//! | KAFKA | one column: INT, BIGINT, DOUBLE (numbers), STRING, BYTES (strings) | 4/8-byte big-endian, IEEE double, UTF-8, the string's UTF-8 |
//! | NONE | ignored | none |
//!
//! A KAFKA key or value with no columns uses a string serde, so tests can pass data that is
//! ignored. Windowed keys wrap the inner key bytes as Kafka Streams does: time windows append
//! the 8-byte start, session windows the 8-byte end and then the 8-byte start.

use std::fmt;

use base64::Engine as _;
use serde_json::{Number, Value};

use super::compare::Decimal;
use super::model::{RecordNode, WindowData, WindowKind};
use crate::catalog::{Catalog, Source, WindowInfo};
use crate::format::{FormatKind, FormatSpec, avro, protobuf};
use crate::sql::ast::WindowType;
use crate::topics::{Header, ProducerRecord, Record};
use crate::types::{Column, SqlType};
use prost::Message as _;
use prost_reflect::DynamicMessage;

/// Bytes in a serialized window boundary (a big-endian i64).
const WINDOW_BOUNDARY_BYTES: usize = 8;

/// Why a record could not be converted, in the categories ksqlDB's runner tells apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// No source is registered over the topic. ksqlDB raises a `KsqlException`, which a negative
    /// test may expect.
    NoTopicInfo(String),
    /// The test data cannot be written in the topic's format (an assertion failure in ksqlDB).
    Serialize(String),
    /// The engine's bytes cannot be read in the topic's format (an assertion failure in ksqlDB).
    Deserialize(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NoTopicInfo(m)
            | RecordError::Serialize(m)
            | RecordError::Deserialize(m) => f.write_str(m),
        }
    }
}

/// A record read back from a topic, decoded for comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ActualRecord {
    /// The inner key when the key is windowed.
    pub key: Value,
    pub window: Option<WindowData>,
    pub value: Value,
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

impl fmt::Display for ActualRecord {
    /// Like ksqlDB's failure messages: `<key, value> with timestamp=… and headers=[…]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<{}, {}> with timestamp={} and headers=[{}]",
            describe_key(&self.key, self.window.as_ref()),
            self.value,
            self.timestamp,
            describe_headers(&self.headers)
        )
    }
}

/// Renders a key as Kafka Streams prints a `Windowed` key: `[key@start/end]`.
pub fn describe_key(key: &Value, window: Option<&WindowData>) -> String {
    match window {
        Some(w) => format!("[{key}@{}/{} ({})]", w.start, w.end, w.kind),
        None => key.to_string(),
    }
}

pub fn describe_headers(headers: &[Header]) -> String {
    headers
        .iter()
        .map(|h| {
            let value = h.value.as_ref().map_or("null".to_string(), |v| {
                base64::engine::general_purpose::STANDARD.encode(v)
            });
            format!("{{KEY={},VALUE={value}}}", h.key)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn source_for<'a>(catalog: &'a Catalog, topic: &str) -> Result<&'a Source, RecordError> {
    catalog
        .source_for_topic(topic)
        .ok_or_else(|| RecordError::NoTopicInfo(format!("No information found for topic: {topic}")))
}

/// Serializes an input record with the formats of the source over its topic. Inputs go to
/// partition 0 with timestamp 0 unless they give one, as ksqlDB's runner writes them.
pub fn to_producer_record(
    catalog: &Catalog,
    record: &RecordNode,
) -> Result<ProducerRecord, RecordError> {
    let source = source_for(catalog, &record.topic)?;
    let serialize_key = |e: String| RecordError::Serialize(format!("Failed to serialize key: {e}"));
    let inner_key =
        encode(&source.key_format, &source.key_columns(), &record.key).map_err(serialize_key)?;
    let key = match (&record.window, &source.window) {
        (None, None) => inner_key,
        (Some(window), Some(info)) => {
            Some(window_key(inner_key, window, info.window_type).map_err(serialize_key)?)
        }
        // The NONE serde ignores whatever it is given, windowed or not.
        (_, _) if source.key_format.kind == FormatKind::None => None,
        (Some(_), None) => {
            return Err(serialize_key(format!(
                "the record has a window but the key of topic '{}' is not windowed",
                record.topic
            )));
        }
        (None, Some(_)) => {
            return Err(serialize_key(format!(
                "the key of topic '{}' is windowed but the record has no window",
                record.topic
            )));
        }
    };
    let value = encode(&source.value_format, &source.value_columns(), &record.value)
        .map_err(|e| RecordError::Serialize(format!("Failed to serialize value: {e}")))?;
    Ok(ProducerRecord {
        key,
        value,
        timestamp: record.timestamp.unwrap_or(0),
        headers: record
            .headers
            .iter()
            .flatten()
            .map(|h| h.to_header())
            .collect(),
        partition: Some(0),
    })
}

/// Wraps serialized key bytes in Kafka Streams' windowed-key layout for `layout`.
fn window_key(
    inner: Option<Vec<u8>>,
    window: &WindowData,
    layout: WindowType,
) -> Result<Vec<u8>, String> {
    let mut bytes = inner.ok_or("a null key cannot be windowed")?;
    if layout == WindowType::Session {
        bytes.extend_from_slice(&window.end.to_be_bytes());
    }
    bytes.extend_from_slice(&window.start.to_be_bytes());
    Ok(bytes)
}

/// Decodes a record of a topic with the formats of the source registered on it.
pub fn from_record(
    catalog: &Catalog,
    topic: &str,
    record: &Record,
) -> Result<ActualRecord, RecordError> {
    let source = source_for(catalog, topic)?;
    let deserialize_key =
        |e: String| RecordError::Deserialize(format!("Failed to deserialize key: {e}"));
    let (key_bytes, window) = match (&source.window, record.key.as_deref()) {
        (Some(info), Some(bytes)) => {
            let (inner, window) = unwrap_window(bytes, info).map_err(deserialize_key)?;
            (Some(inner), Some(window))
        }
        (_, bytes) => (bytes, None),
    };
    let key =
        decode(&source.key_format, &source.key_columns(), key_bytes).map_err(deserialize_key)?;
    let value = decode(
        &source.value_format,
        &source.value_columns(),
        record.value.as_deref(),
    )
    .map_err(|e| RecordError::Deserialize(format!("Failed to deserialize value: {e}")))?;
    Ok(ActualRecord {
        key,
        window,
        value,
        timestamp: record.timestamp,
        headers: record.headers.clone(),
    })
}

/// Splits a windowed key into the inner key bytes and the window, as Kafka Streams'
/// `TimeWindowedDeserializer` (end = start + size) and `SessionWindowedDeserializer` do.
fn unwrap_window<'a>(bytes: &'a [u8], info: &WindowInfo) -> Result<(&'a [u8], WindowData), String> {
    let boundary = |at: usize| {
        let mut b = [0u8; WINDOW_BOUNDARY_BYTES];
        b.copy_from_slice(&bytes[at..at + WINDOW_BOUNDARY_BYTES]);
        i64::from_be_bytes(b)
    };
    if info.window_type == WindowType::Session {
        let Some(inner_len) = bytes.len().checked_sub(2 * WINDOW_BOUNDARY_BYTES) else {
            return Err(format!(
                "a session-windowed key needs at least 16 bytes, got {}",
                bytes.len()
            ));
        };
        let end = boundary(inner_len);
        let start = boundary(inner_len + WINDOW_BOUNDARY_BYTES);
        let window = WindowData {
            start,
            end,
            kind: WindowKind::Session,
        };
        return Ok((&bytes[..inner_len], window));
    }
    let Some(inner_len) = bytes.len().checked_sub(WINDOW_BOUNDARY_BYTES) else {
        return Err(format!(
            "a time-windowed key needs at least 8 bytes, got {}",
            bytes.len()
        ));
    };
    let size = info
        .size_ms
        .ok_or("the source's time window has no size, so the window end is unknown")?;
    let start = boundary(inner_len);
    // Kafka Streams' timeWindowForSize: an end that overflows is clamped to Long.MAX_VALUE.
    let end = start
        .checked_add(size)
        .filter(|e| *e >= 0)
        .unwrap_or(i64::MAX);
    Ok((
        &bytes[..inner_len],
        WindowData {
            start,
            end,
            kind: WindowKind::Time,
        },
    ))
}

/// Serializes one key or value of test data. `None` means no bytes (null data, or NONE).
pub fn encode(
    spec: &FormatSpec,
    columns: &[Column],
    data: &Value,
) -> Result<Option<Vec<u8>>, String> {
    if data.is_null() {
        return Ok(None);
    }
    match spec.kind {
        FormatKind::Json => serde_json::to_vec(data)
            .map(Some)
            .map_err(|e| e.to_string()),
        FormatKind::Delimited => string_bytes(data).map(Some),
        FormatKind::Kafka => encode_kafka(columns, data).map(Some),
        FormatKind::None => Ok(None),
        FormatKind::Avro => encode_avro(spec, data).map(Some),
        FormatKind::JsonSr => {
            let id = spec
                .schemas
                .writer_id
                .ok_or("no JSON schema is registered for the topic")?;
            let text = serde_json::to_vec(data).map_err(|e| e.to_string())?;
            Ok(Some(avro::frame(id, &text)))
        }
        FormatKind::Protobuf => {
            let (Some(registry), Some(id)) = (&spec.schemas.registry, spec.schemas.writer_id)
            else {
                return Err("no Protobuf schema is registered for the topic".to_string());
            };
            let compiled = protobuf::registry_schema(registry, id)?;
            let (message, indexes) = compiled
                .named(spec.schemas.message.as_deref())
                .ok_or("the topic's Protobuf schema has no such message")?;
            let encoded = protobuf::json_message(&message, data)?;
            Ok(Some(protobuf::frame(
                id,
                &indexes,
                &encoded.encode_to_vec(),
            )))
        }
        FormatKind::ProtobufNoSr => {
            let message = protobuf::columns_message(columns)?;
            Ok(Some(
                protobuf::json_message(&message, data)?.encode_to_vec(),
            ))
        }
    }
}

/// An AVRO record of test data, written with the topic's schema.
fn encode_avro(spec: &FormatSpec, data: &Value) -> Result<Vec<u8>, String> {
    let (Some(registry), Some(id)) = (&spec.schemas.registry, spec.schemas.writer_id) else {
        return Err("no Avro schema is registered for the topic".to_string());
    };
    let schema = registry.avro_schema(id, crate::format::avro::parse_schema)?;
    let resolved = avro::Resolved::new(&schema)?;
    let value = resolved.from_json(data, &schema)?;
    Ok(avro::frame(id, &resolved.encode(value)?))
}

/// Expected test data as the topic's AVRO schema holds it (decimals at the schema's scale,
/// absent fields at their defaults), the way ksqlDB's runner coerces expected records through
/// the topic's schema. Data the schema cannot hold is left as it is, to fail the comparison.
pub fn through_schema(spec: &FormatSpec, data: &Value) -> Value {
    let (Some(registry), Some(id)) = (&spec.schemas.registry, spec.schemas.writer_id) else {
        return data.clone();
    };
    if spec.kind != FormatKind::Avro || data.is_null() {
        return data.clone();
    }
    let Ok(schema) = registry.avro_schema(id, crate::format::avro::parse_schema) else {
        return data.clone();
    };
    let Ok(resolved) = avro::Resolved::new(&schema) else {
        return data.clone();
    };
    match resolved.from_json(data, &schema) {
        Ok(value) => resolved.to_json(&value, &schema),
        Err(_) => data.clone(),
    }
}

/// An AVRO record as JSON, read with the schema its id names.
fn decode_avro(spec: &FormatSpec, bytes: &[u8]) -> Result<Value, String> {
    let registry = spec
        .schemas
        .registry
        .as_ref()
        .ok_or("no schema registry for the topic")?;
    let (id, datum) = avro::unframe(bytes).map_err(|e| e.to_string())?;
    let schema = registry.avro_schema(id, crate::format::avro::parse_schema)?;
    let resolved = avro::Resolved::new(&schema)?;
    let value = resolved.decode(datum)?;
    Ok(resolved.to_json(&value, &schema))
}

/// Deserializes one key or value; no bytes decode to null whatever the format.
pub fn decode(
    spec: &FormatSpec,
    columns: &[Column],
    bytes: Option<&[u8]>,
) -> Result<Value, String> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    match spec.kind {
        FormatKind::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        FormatKind::Delimited => Ok(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        FormatKind::Kafka => decode_kafka(columns, bytes),
        FormatKind::None => Ok(Value::Null),
        FormatKind::Avro => decode_avro(spec, bytes),
        FormatKind::JsonSr => {
            let (_, text) = avro::unframe(bytes).map_err(|e| e.to_string())?;
            serde_json::from_slice(text).map_err(|e| e.to_string())
        }
        FormatKind::Protobuf => {
            let registry = spec
                .schemas
                .registry
                .as_ref()
                .ok_or("no schema registry for the topic")?;
            let (id, indexes, body) = protobuf::unframe(bytes).map_err(|e| e.to_string())?;
            let compiled = protobuf::registry_schema(registry, id)?;
            let message = compiled
                .message(&indexes)
                .ok_or("the record's message indexes name no message")?;
            let decoded = DynamicMessage::decode(message, body).map_err(|e| e.to_string())?;
            Ok(protobuf::message_json(&decoded))
        }
        FormatKind::ProtobufNoSr => {
            let message = protobuf::columns_message(columns)?;
            let decoded = DynamicMessage::decode(message, bytes).map_err(|e| e.to_string())?;
            Ok(protobuf::message_json(&decoded))
        }
    }
}

fn string_bytes(data: &Value) -> Result<Vec<u8>, String> {
    match data {
        Value::String(s) => Ok(s.clone().into_bytes()),
        other => Err(format!("Can't serialize {other} as String")),
    }
}

/// The single column a KAFKA key or value holds; `None` for no columns.
fn kafka_column(columns: &[Column]) -> Result<Option<&SqlType>, String> {
    match columns {
        [] => Ok(None),
        [column] => Ok(Some(&column.ty)),
        _ => Err("KAFKA format only supports single column schemas.".into()),
    }
}

fn encode_kafka(columns: &[Column], data: &Value) -> Result<Vec<u8>, String> {
    let Some(ty) = kafka_column(columns)? else {
        return string_bytes(data);
    };
    let number = || match data {
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("Can't serialize {other} as {ty}")),
    };
    match ty {
        SqlType::Int => {
            // Jackson reads small integers as Integer; anything else is a cast failure in Java.
            let v: i32 = number()?
                .parse()
                .map_err(|_| format!("Can't serialize {data} as INTEGER"))?;
            Ok(v.to_be_bytes().to_vec())
        }
        SqlType::Bigint => Ok(long_value(&number()?)
            .ok_or_else(|| format!("Can't serialize {data} as BIGINT"))?
            .to_be_bytes()
            .to_vec()),
        SqlType::Double => {
            let v: f64 = number()?
                .parse()
                .map_err(|_| format!("Can't serialize {data} as DOUBLE"))?;
            Ok(v.to_be_bytes().to_vec())
        }
        SqlType::String | SqlType::Bytes => string_bytes(data),
        _ => Err("Unsupported type for KAFKA format".into()),
    }
}

/// Java's `Number.longValue()`: decimals are truncated, big integers keep their low 64 bits.
fn long_value(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    if let Ok(v) = text.parse::<i128>() {
        // Deliberate truncation to the low 64 bits, as BigInteger.longValue() does.
        return Some(v as i64);
    }
    let truncated = Decimal::parse(text)?.truncated()?;
    Some(truncated as i64)
}

fn fixed<const N: usize>(bytes: &[u8], deserializer: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("Size of data received by {deserializer} is not {N}"))
}

fn decode_kafka(columns: &[Column], bytes: &[u8]) -> Result<Value, String> {
    let Some(ty) = kafka_column(columns)? else {
        return Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()));
    };
    Ok(match ty {
        SqlType::Int => Value::from(i32::from_be_bytes(fixed(bytes, "IntegerDeserializer")?)),
        SqlType::Bigint => Value::from(i64::from_be_bytes(fixed(bytes, "LongDeserializer")?)),
        SqlType::Double => {
            let v = f64::from_be_bytes(fixed(bytes, "DoubleDeserializer")?);
            // ksqlDB's test deserializer returns BigDecimal.valueOf(double), whose scale comes
            // from Double.toString, so the number keeps that text.
            let text = java_double_to_string(v).ok_or_else(|| format!("{v} is not a decimal"))?;
            Value::Number(serde_json::from_str::<Number>(&text).map_err(|e| e.to_string())?)
        }
        SqlType::String | SqlType::Bytes => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        _ => return Err("Unsupported type for KAFKA format".into()),
    })
}

/// Java's `Double.toString`: the shortest digits that round-trip, written plainly for
/// magnitudes in [10^-3, 10^7) (always with a fraction, as in `1.0`) and otherwise in
/// computerized scientific notation (`1.0E7`, `1.5E-4`). `None` for NaN and infinities.
pub fn java_double_to_string(d: f64) -> Option<String> {
    if !d.is_finite() {
        return None;
    }
    if d == 0.0 {
        return Some(if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_string());
    }
    let abs = d.abs();
    let scientific = format!("{abs:e}");
    let (mantissa, exponent) = scientific.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (1e-3..1e7).contains(&abs) {
        if exponent >= 0 {
            let int_len = usize::try_from(exponent).ok()? + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            let zeros = usize::try_from(-exponent - 1).ok()?;
            format!("0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{first}.{rest}E{exponent}")
    };
    Some(if d < 0.0 { format!("-{body}") } else { body })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::WindowInfo;
    use crate::sql::ast::SourceKind;
    use crate::types::Schema;

    fn source(
        topic: &str,
        key: FormatKind,
        value: FormatKind,
        columns: Vec<Column>,
        window: Option<WindowInfo>,
    ) -> Source {
        Source {
            name: topic.to_uppercase(),
            kind: SourceKind::Stream,
            schema: Schema::new(columns),
            topic: topic.to_string(),
            key_format: FormatSpec::new(key),
            value_format: FormatSpec::new(value),
            timestamp_column: None,
            timestamp_format: None,
            window,
            read_only: false,
            sql: String::new(),
            wrap_single_value: None,
        }
    }

    fn catalog(sources: Vec<Source>) -> Catalog {
        let mut catalog = Catalog::default();
        for s in sources {
            catalog.put_source(s);
        }
        catalog
    }

    fn input(raw: Value) -> RecordNode {
        serde_json::from_value(raw).unwrap()
    }

    fn spec(kind: FormatKind) -> FormatSpec {
        FormatSpec::new(kind)
    }

    #[test]
    fn kafka_primitives_are_big_endian() {
        let int = [Column::key("K", SqlType::Int)];
        assert_eq!(
            encode(&spec(FormatKind::Kafka), &int, &json!(1)).unwrap(),
            Some(vec![0, 0, 0, 1])
        );
        assert!(encode(&spec(FormatKind::Kafka), &int, &json!(3_000_000_000i64)).is_err());
        let bigint = [Column::key("K", SqlType::Bigint)];
        assert_eq!(
            encode(&spec(FormatKind::Kafka), &bigint, &json!(-2)).unwrap(),
            Some((-2i64).to_be_bytes().to_vec())
        );
        let double = [Column::value("V", SqlType::Double)];
        assert_eq!(
            encode(&spec(FormatKind::Kafka), &double, &json!(1.5)).unwrap(),
            Some(1.5f64.to_be_bytes().to_vec())
        );
        let bytes = [Column::value("V", SqlType::Bytes)];
        assert_eq!(
            encode(&spec(FormatKind::Kafka), &bytes, &json!("ab")).unwrap(),
            Some(b"ab".to_vec())
        );
        let boolean = [Column::value("V", SqlType::Boolean)];
        assert!(encode(&spec(FormatKind::Kafka), &boolean, &json!(true)).is_err());
        assert!(encode(&spec(FormatKind::Kafka), &[], &json!("free text")).is_ok());
    }

    #[test]
    fn kafka_round_trips_and_checks_sizes() {
        let bigint = [Column::key("K", SqlType::Bigint)];
        let bytes = 7i64.to_be_bytes();
        assert_eq!(
            decode(&spec(FormatKind::Kafka), &bigint, Some(&bytes)).unwrap(),
            json!(7)
        );
        let err = decode(&spec(FormatKind::Kafka), &bigint, Some(&[0, 1])).unwrap_err();
        assert!(err.contains("LongDeserializer is not 8"), "{err}");
        let double = [Column::value("V", SqlType::Double)];
        let decoded = decode(
            &spec(FormatKind::Kafka),
            &double,
            Some(&1.0f64.to_be_bytes()),
        )
        .unwrap();
        assert_eq!(decoded.to_string(), "1.0");
        assert_eq!(
            decode(&spec(FormatKind::Kafka), &double, None).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn json_and_delimited_pass_text_through() {
        let json = spec(FormatKind::Json);
        assert_eq!(
            encode(&json, &[], &json!("a")).unwrap(),
            Some(br#""a""#.to_vec())
        );
        assert_eq!(encode(&json, &[], &Value::Null).unwrap(), None);
        let decoded = decode(&json, &[], Some(b"{\"A\": 1.50}")).unwrap();
        assert_eq!(decoded.to_string(), r#"{"A":1.50}"#);
        assert!(decode(&json, &[], Some(b"{")).is_err());
        let delimited = spec(FormatKind::Delimited);
        assert_eq!(
            encode(&delimited, &[], &json!("1,a")).unwrap(),
            Some(b"1,a".to_vec())
        );
        assert!(encode(&delimited, &[], &json!(1)).is_err());
        assert_eq!(decode(&delimited, &[], Some(b"1,a")).unwrap(), json!("1,a"));
        assert_eq!(
            encode(&spec(FormatKind::None), &[], &json!(1)).unwrap(),
            None
        );
        assert!(encode(&spec(FormatKind::Avro), &[], &json!(1)).is_err());
    }

    #[test]
    fn inputs_use_the_sources_formats() {
        let columns = vec![
            Column::key("ID", SqlType::Bigint),
            Column::value("NAME", SqlType::String),
        ];
        let c = catalog(vec![source(
            "t",
            FormatKind::Kafka,
            FormatKind::Json,
            columns,
            None,
        )]);
        let r = input(json!({"topic": "t", "key": 1, "value": {"NAME": "a"},
                             "headers": [{"KEY": "h", "VALUE": "IQ=="}]}));
        let p = to_producer_record(&c, &r).unwrap();
        assert_eq!(p.key, Some(1i64.to_be_bytes().to_vec()));
        assert_eq!(p.value, Some(br#"{"NAME":"a"}"#.to_vec()));
        assert_eq!((p.timestamp, p.partition), (0, Some(0)));
        assert_eq!(
            p.headers,
            vec![Header {
                key: "h".into(),
                value: Some(b"!".to_vec())
            }]
        );
        let unknown = input(json!({"topic": "other", "value": 1}));
        assert!(matches!(
            to_producer_record(&c, &unknown),
            Err(RecordError::NoTopicInfo(_))
        ));
    }

    #[test]
    fn windowed_keys_round_trip() {
        let columns = vec![Column::key("ID", SqlType::Int)];
        let tumbling = WindowInfo {
            window_type: WindowType::Tumbling,
            size_ms: Some(30_000),
        };
        let session = WindowInfo {
            window_type: WindowType::Session,
            size_ms: None,
        };
        let c = catalog(vec![
            source(
                "tt",
                FormatKind::Kafka,
                FormatKind::Json,
                columns.clone(),
                Some(tumbling),
            ),
            source(
                "st",
                FormatKind::Kafka,
                FormatKind::Json,
                columns,
                Some(session),
            ),
        ]);
        let time = input(json!({"topic": "tt", "key": 1, "value": null,
                                "window": {"start": 30000, "end": 60000, "type": "time"}}));
        let p = to_producer_record(&c, &time).unwrap();
        let mut expected = vec![0, 0, 0, 1];
        expected.extend_from_slice(&30_000i64.to_be_bytes());
        assert_eq!(p.key.as_deref(), Some(&expected[..]));

        let read = |topic: &str, key: Option<Vec<u8>>| {
            let record = Record {
                key: key.map(bytes::Bytes::from),
                value: None,
                timestamp: 5,
                headers: vec![],
                partition: 0,
                offset: 0,
            };
            from_record(&c, topic, &record)
        };
        let actual = read("tt", p.key).unwrap();
        assert_eq!(actual.key, json!(1));
        assert_eq!(
            actual.window,
            Some(WindowData {
                start: 30_000,
                end: 60_000,
                kind: WindowKind::Time
            })
        );

        let sess = input(json!({"topic": "st", "key": 2, "value": null,
                                "window": {"start": 10, "end": 20, "type": "session"}}));
        let p = to_producer_record(&c, &sess).unwrap();
        let key = p.key.clone().unwrap();
        assert_eq!(&key[4..12], &20i64.to_be_bytes());
        assert_eq!(&key[12..], &10i64.to_be_bytes());
        let actual = read("st", p.key).unwrap();
        assert_eq!(
            actual.window,
            Some(WindowData {
                start: 10,
                end: 20,
                kind: WindowKind::Session
            })
        );
        assert!(read("st", Some(vec![1, 2, 3])).is_err());

        let unwindowed = input(json!({"topic": "tt", "key": 1, "value": null}));
        assert!(matches!(
            to_producer_record(&c, &unwindowed),
            Err(RecordError::Serialize(_))
        ));
    }

    #[test]
    fn java_double_strings() {
        let cases = [
            (1.0, "1.0"),
            (-1.5, "-1.5"),
            (100.0, "100.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e7, "1.0E7"),
            (1234567.0, "1234567.0"),
            (12345678.9, "1.23456789E7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
        ];
        for (d, text) in cases {
            assert_eq!(java_double_to_string(d).as_deref(), Some(text), "{d}");
        }
        assert_eq!(java_double_to_string(f64::NAN), None);
    }
}
