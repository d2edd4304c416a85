//! PRINT: a topic's raw records rendered as text, their formats guessed from the bytes, as
//! ksqlDB's `RecordFormatter` does.
//!
//! Keys and values each have an ordered list of candidate formats. Every non-null record is
//! tried against each candidate still in the list; a candidate that cannot read it leaves the
//! list for good, and the first one left renders it. Keys may also be windowed (a time window's
//! start, or a session's end and start, after the key). The formats still possible are what
//! PRINT's `Key format:` / `Value format:` lines say. Bytes that fit nothing are shown with
//! their non-printable bytes escaped.

use apache_avro::types::Value as Avro;
use chrono::{TimeZone, Utc};
use prost_reflect::DynamicMessage;

use super::text::java_double_to_string;
use super::{avro, protobuf};
use crate::registry::{SchemaRegistry, SchemaType};
use crate::topics::Record;

/// A format a key or value may be in, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Avro,
    Protobuf,
    Json,
    JsonSr,
    KafkaInt,
    KafkaBigint,
    KafkaDouble,
    KafkaString,
    /// Anything: the bytes as they are. Never named.
    Bytes,
}

const FORMATS: [Format; 8] = [
    Format::Avro,
    Format::Protobuf,
    Format::Json,
    Format::JsonSr,
    Format::KafkaInt,
    Format::KafkaBigint,
    Format::KafkaDouble,
    Format::KafkaString,
];

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Avro => "AVRO",
            Format::Protobuf => "PROTOBUF",
            Format::Json => "JSON",
            Format::JsonSr => "JSON_SR",
            Format::KafkaInt => "KAFKA_INT",
            Format::KafkaBigint => "KAFKA_BIGINT",
            Format::KafkaDouble => "KAFKA_DOUBLE",
            Format::KafkaString => "KAFKA_STRING",
            Format::Bytes => "",
        }
    }

    /// The bytes as this format reads them, or `None` when it cannot.
    fn render(self, bytes: &[u8], registry: &SchemaRegistry) -> Option<String> {
        match self {
            Format::Avro => render_avro(bytes, registry),
            Format::Protobuf => render_protobuf(bytes, registry),
            Format::Json => {
                let text = utf8(bytes)?;
                serde_json::from_str::<serde_json::Value>(text).ok()?;
                Some(text.to_string())
            }
            Format::JsonSr => render_json_sr(bytes, registry),
            Format::KafkaInt => Some(i32::from_be_bytes(bytes.try_into().ok()?).to_string()),
            Format::KafkaBigint => Some(i64::from_be_bytes(bytes.try_into().ok()?).to_string()),
            Format::KafkaDouble => Some(java_double_to_string(f64::from_be_bytes(
                bytes.try_into().ok()?,
            ))),
            Format::KafkaString => utf8(bytes).map(str::to_string),
            Format::Bytes => Some(escaped(bytes)),
        }
    }
}

/// Text that is UTF-8 and not empty (as Java decodes it: no replacement character).
fn utf8(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.contains('\u{FFFD}')).then_some(text)
}

/// Bytes as Kafka's `Bytes.toString` shows them: printable ASCII as it is, the rest `\xHH`.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (b' '..=b'~').contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// A schema id after Confluent's magic byte, registered with the given type.
fn framed(bytes: &[u8], registry: &SchemaRegistry, wanted: SchemaType) -> Option<u32> {
    let [0, a, b, c, d, ..] = bytes else {
        return None;
    };
    let id = u32::from_be_bytes([*a, *b, *c, *d]);
    (registry.by_id(id)?.schema_type == wanted).then_some(id)
}

fn render_avro(bytes: &[u8], registry: &SchemaRegistry) -> Option<String> {
    let id = framed(bytes, registry, SchemaType::Avro)?;
    let schema = registry.avro_schema(id, avro::parse_schema).ok()?;
    let (_, datum) = avro::unframe(bytes).ok()?;
    let value = avro::Resolved::new(&schema).ok()?.decode(datum).ok()?;
    let mut out = String::new();
    write_avro(&value, &mut out);
    Some(out)
}

/// Writes items between brackets, separated by `, ` as Java's collections print.
fn write_all<T>(
    out: &mut String,
    open: char,
    close: char,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(T, &mut String),
) {
    out.push(open);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write(item, out);
    }
    out.push(close);
}

/// A decoded Avro value as Avro's Java `GenericData.toString` writes it.
fn write_avro(value: &Avro, out: &mut String) {
    let quoted = |text: &str, out: &mut String| {
        out.push_str(&serde_json::Value::String(text.to_string()).to_string());
    };
    match value {
        Avro::Null => out.push_str("null"),
        Avro::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Avro::Int(n) | Avro::Date(n) | Avro::TimeMillis(n) => out.push_str(&n.to_string()),
        Avro::Long(n)
        | Avro::TimeMicros(n)
        | Avro::TimestampMillis(n)
        | Avro::TimestampMicros(n)
        | Avro::LocalTimestampMillis(n)
        | Avro::LocalTimestampMicros(n) => out.push_str(&n.to_string()),
        Avro::Float(f) => out.push_str(&java_double_to_string(f64::from(*f))),
        Avro::Double(f) => out.push_str(&java_double_to_string(*f)),
        Avro::String(s) | Avro::Enum(_, s) => quoted(s, out),
        Avro::Bytes(b) | Avro::Fixed(_, b) => {
            out.push_str("{\"bytes\": ");
            quoted(&b.iter().map(|&b| char::from(b)).collect::<String>(), out);
            out.push('}');
        }
        Avro::Union(_, inner) => write_avro(inner, out),
        Avro::Array(items) => write_all(out, '[', ']', items, write_avro),
        Avro::Map(entries) => write_all(out, '{', '}', entries, |(key, item), out| {
            quoted(key, out);
            out.push_str(": ");
            write_avro(item, out);
        }),
        Avro::Record(fields) => write_all(out, '{', '}', fields, |(name, item), out| {
            quoted(name, out);
            out.push_str(": ");
            write_avro(item, out);
        }),
        // Java's reader leaves a decimal as its unscaled bytes.
        Avro::Decimal(decimal) => {
            let bytes = Vec::<u8>::try_from(decimal).unwrap_or_default();
            write_avro(&Avro::Bytes(bytes), out);
        }
        Avro::Uuid(uuid) => quoted(&uuid.to_string(), out),
        other => out.push_str(&format!("{other:?}")),
    }
}

fn render_protobuf(bytes: &[u8], registry: &SchemaRegistry) -> Option<String> {
    let id = framed(bytes, registry, SchemaType::Protobuf)?;
    let (_, indexes, body) = protobuf::unframe(bytes).ok()?;
    let compiled = protobuf::registry_schema(registry, id).ok()?;
    let message = DynamicMessage::decode(compiled.message(&indexes)?, body).ok()?;
    // The text format on one line, as protobuf's `shortDebugString`.
    Some(message.to_string())
}

fn render_json_sr(bytes: &[u8], registry: &SchemaRegistry) -> Option<String> {
    framed(bytes, registry, SchemaType::Json)?;
    let value: serde_json::Value = serde_json::from_slice(bytes.get(5..)?).ok()?;
    Some(value.to_string())
}

/// How a key's bytes may carry a window after the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// End and start, 8 bytes each, big-endian.
    Session,
    /// The start, 8 bytes, big-endian (a hopping window is written as a tumbling one).
    Hopping,
    Tumbling,
}

/// A candidate: a format, perhaps windowed.
type Candidate = (Option<Window>, Format);

fn render(candidate: Candidate, bytes: &[u8], registry: &SchemaRegistry) -> Option<String> {
    let long_at = |at: usize| -> Option<i64> {
        Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
    };
    match candidate {
        (None, format) => format.render(bytes, registry),
        (Some(Window::Hopping | Window::Tumbling), format) => {
            let split = bytes.len().checked_sub(8).filter(|n| *n > 0)?;
            let start = long_at(split).filter(|s| *s >= 0)?;
            let key = format.render(&bytes[..split], registry)?;
            Some(format!("[{key}@{start}/-]"))
        }
        (Some(Window::Session), format) => {
            let split = bytes.len().checked_sub(16).filter(|n| *n > 0)?;
            let (end, start) = (long_at(split)?, long_at(split + 8)?);
            if start < 0 || end < start {
                return None;
            }
            let key = format.render(&bytes[..split], registry)?;
            Some(format!("[{key}@{start}/{end}]"))
        }
    }
}

fn candidate_name((window, format): Candidate) -> String {
    match window {
        None => format.name().to_string(),
        Some(Window::Session) => format!("SESSION({})", format.name()),
        Some(Window::Hopping) => format!("HOPPING({})", format.name()),
        Some(Window::Tumbling) => format!("TUMBLING({})", format.name()),
    }
}

/// What the key or value side has found out about its records' format.
struct Deserializers {
    candidates: Vec<Candidate>,
    seen_data: bool,
}

impl Deserializers {
    fn values() -> Deserializers {
        let mut candidates: Vec<Candidate> = FORMATS.iter().map(|f| (None, *f)).collect();
        candidates.push((None, Format::Bytes));
        Deserializers {
            candidates,
            seen_data: false,
        }
    }

    fn keys() -> Deserializers {
        let mut candidates = Vec::new();
        for format in FORMATS {
            for window in [Window::Session, Window::Hopping, Window::Tumbling] {
                candidates.push((Some(window), format));
            }
            candidates.push((None, format));
        }
        candidates.push((None, Format::Bytes));
        Deserializers {
            candidates,
            seen_data: false,
        }
    }

    /// Renders one key or value, dropping the candidates that cannot read it.
    fn format(&mut self, bytes: Option<&[u8]>, registry: &SchemaRegistry) -> String {
        let Some(bytes) = bytes else {
            return "<null>".to_string();
        };
        self.seen_data = true;
        let mut first = None;
        self.candidates
            .retain(|&candidate| match render(candidate, bytes, registry) {
                Some(text) => {
                    first.get_or_insert(text);
                    true
                }
                None => false,
            });
        first.unwrap_or_else(|| "<Failed to deserialize>".to_string())
    }

    /// The formats the records seen so far may be in.
    fn possible(&self) -> Vec<String> {
        if !self.seen_data {
            return vec![NO_DATA.to_string()];
        }
        self.candidates
            .iter()
            .filter(|(_, format)| *format != Format::Bytes)
            .map(|c| candidate_name(*c))
            .collect()
    }
}

/// What PRINT says of a format before it has seen a record.
const NO_DATA: &str = "¯\\_(ツ)_/¯ - no data processed";

/// Renders records as PRINT shows them, narrowing down their formats as it goes.
pub struct RecordFormatter {
    keys: Deserializers,
    values: Deserializers,
    registry: SchemaRegistry,
}

impl RecordFormatter {
    pub fn new(registry: SchemaRegistry) -> RecordFormatter {
        RecordFormatter {
            keys: Deserializers::keys(),
            values: Deserializers::values(),
            registry,
        }
    }

    /// One line per record. When the batch rules out the format its first records were
    /// rendered with, the whole batch is rendered again, so that its lines agree.
    pub fn format(&mut self, records: &[Record]) -> Vec<String> {
        let before = (
            self.keys.possible().first().cloned(),
            self.values.possible().first().cloned(),
        );
        let lines = self.format_all(records);
        let after = (self.keys.possible(), self.values.possible());
        let kept = |first: &Option<String>, now: &[String]| {
            first.as_ref().is_some_and(|f| now.contains(f))
        };
        if kept(&before.0, &after.0) && kept(&before.1, &after.1) {
            lines
        } else {
            self.format_all(records)
        }
    }

    fn format_all(&mut self, records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| {
                let key = self.keys.format(r.key.as_deref(), &self.registry);
                let value = self.values.format(r.value.as_deref(), &self.registry);
                format!(
                    "rowtime: {}, key: {key}, value: {value}, partition: {}",
                    rowtime(r.timestamp),
                    r.partition
                )
            })
            .collect()
    }

    /// The formats the keys may be in.
    pub fn key_formats(&self) -> Vec<String> {
        self.keys.possible()
    }

    /// The formats the values may be in.
    pub fn value_formats(&self) -> Vec<String> {
        self.values.possible()
    }
}

/// A record's timestamp as PRINT writes it, in UTC.
fn rowtime(timestamp: i64) -> String {
    if timestamp < 0 {
        return "N/A".to_string();
    }
    match Utc.timestamp_millis_opt(timestamp).single() {
        Some(time) => time.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
        None => "N/A".to_string(),
    }
}

/// The line that names the formats one side (`Key` or `Value`) may be in.
pub fn format_line(side: &str, formats: &[String]) -> String {
    if formats.is_empty() {
        return format!(
            "{side} format:  does not match any supported format. It may be a STRING with encoding other than UTF8, or some other format."
        );
    }
    format!("{side} format: {}", formats.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record(key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) -> Record {
        Record {
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            timestamp,
            headers: Vec::new(),
            partition: 1,
            offset: 0,
        }
    }

    #[test]
    fn a_line_has_the_time_key_value_and_partition() {
        let mut formatter = RecordFormatter::new(SchemaRegistry::new());
        assert_eq!(formatter.key_formats(), [NO_DATA]);
        let lines =
            formatter.format(&[record(Some(b"key-0"), Some(b"value-0"), 1_588_344_313_111)]);
        assert_eq!(
            lines,
            ["rowtime: 2020/05/01 14:45:13.111 Z, key: key-0, value: value-0, partition: 1"]
        );
        assert_eq!(formatter.key_formats(), ["KAFKA_STRING"]);
        assert_eq!(formatter.value_formats(), ["KAFKA_STRING"]);
        let lines = formatter.format(&[record(None, None, -1)]);
        assert_eq!(
            lines,
            ["rowtime: N/A, key: <null>, value: <null>, partition: 1"]
        );
    }

    #[test]
    fn formats_are_narrowed_record_by_record() {
        let mut formatter = RecordFormatter::new(SchemaRegistry::new());
        // Four bytes read as an INT, a JSON number as JSON, until other records rule them out.
        let lines = formatter.format(&[record(Some(b"abcd"), Some(b"24.987"), 0)]);
        assert!(
            lines[0].contains("key: 1633837924, value: 24.987"),
            "{lines:?}"
        );
        assert_eq!(formatter.value_formats(), ["JSON", "KAFKA_STRING"]);
        let lines = formatter.format(&[
            record(Some(b"a longer key"), Some(br#"{"a":1}"#), 0),
            record(Some(&42i32.to_be_bytes()), Some(b"not json"), 0),
        ]);
        assert_eq!(formatter.value_formats(), ["KAFKA_STRING"]);
        assert!(lines[0].contains(r#"value: {"a":1}"#), "{lines:?}");
        let lines = formatter.format(&[record(Some(&[0xFF, 0xFE]), Some(&[0xFF]), 0)]);
        assert_eq!(formatter.value_formats(), Vec::<String>::new());
        assert!(lines[0].contains(r"value: \xFF"), "{lines:?}");
        assert_eq!(
            format_line("Value", &formatter.value_formats()),
            "Value format:  does not match any supported format. It may be a STRING with encoding other than UTF8, or some other format."
        );
    }

    #[test]
    fn numbers_and_windowed_keys() {
        let mut formatter = RecordFormatter::new(SchemaRegistry::new());
        let mut tumbling = 24i32.to_be_bytes().to_vec();
        tumbling.extend_from_slice(&1_234_567_890_123i64.to_be_bytes());
        let mut session = 24i32.to_be_bytes().to_vec();
        session.extend_from_slice(&1_534_567_899_999i64.to_be_bytes());
        session.extend_from_slice(&1_534_567_890_123i64.to_be_bytes());
        let lines = formatter.format(&[record(Some(&tumbling), Some(&199i64.to_be_bytes()), 0)]);
        assert!(
            lines[0].contains("key: [24@1234567890123/-], value: 199"),
            "{lines:?}"
        );
        assert_eq!(
            formatter.key_formats()[..2],
            ["HOPPING(KAFKA_INT)", "TUMBLING(KAFKA_INT)"]
        );
        let mut other = RecordFormatter::new(SchemaRegistry::new());
        let lines = other.format(&[record(Some(&session), None, 0)]);
        assert!(
            lines[0].contains("key: [24@1534567890123/1534567899999]"),
            "{lines:?}"
        );
        assert_eq!(
            format_line("Key", &other.key_formats()[..1]),
            "Key format: SESSION(KAFKA_INT)"
        );
    }

    #[test]
    fn registry_formats_are_read_through_their_schemas() {
        let registry = SchemaRegistry::new();
        let text = r#"{"type":"record","name":"R","fields":[{"name":"str1","type":"string"},{"name":"n","type":["null","long"]}]}"#;
        let id = registry.register("t-value", SchemaType::Avro, text);
        let schema = avro::parse_schema(text).expect("a schema");
        let datum = avro::Resolved::new(&schema)
            .expect("resolved")
            .encode(Avro::Record(vec![
                ("str1".into(), Avro::String("My first string".into())),
                ("n".into(), Avro::Union(1, Box::new(Avro::Long(7)))),
            ]))
            .expect("encoded");
        let json_id = registry.register("u-value", SchemaType::Json, r#"{"type":"object"}"#);
        let mut json_sr = vec![0];
        json_sr.extend_from_slice(&json_id.to_be_bytes());
        json_sr.extend_from_slice(br#"{ "a" : 1 }"#);
        let mut formatter = RecordFormatter::new(registry.clone());
        let lines = formatter.format(&[record(None, Some(&avro::frame(id, &datum)), 0)]);
        assert!(
            lines[0].contains(r#"value: {"str1": "My first string", "n": 7}"#),
            "{lines:?}"
        );
        assert_eq!(formatter.value_formats()[0], "AVRO");
        let mut formatter = RecordFormatter::new(registry);
        let lines = formatter.format(&[record(None, Some(&json_sr), 0)]);
        assert!(lines[0].contains(r#"value: {"a":1}"#), "{lines:?}");
        assert_eq!(formatter.value_formats()[0], "JSON_SR");
    }
}
