//! Loading files of lines into a topic, as `kafka-console-producer` or `kcat -P` do: each
//! non-empty line is one record's value, byte for byte, optionally keyed by one of its fields.
//!
//! `sluice topics produce` sends a file in chunks of whole lines to the server's
//! `POST /topics/{topic}/records`, which turns each chunk into records here and appends them in
//! one batch.

use datafusion::common::ScalarValue;
use thiserror::Error;

use super::{ProducerRecord, TopicConfig, TopicStore};
use crate::format::{Cell, FormatKind, FormatSpec, RowReader, delimited};
use crate::types::{Column, SqlType};

/// How the lines are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// One JSON document per line.
    Json,
    /// Delimited fields; the key field is named by its 1-based position.
    Delimited(char),
}

/// How a key field's value is written as the record key (the source's KEY_FORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEncoding {
    /// KAFKA STRING: the field's text as UTF-8.
    String,
    /// KAFKA BIGINT: 8 bytes, big-endian.
    Bigint,
    /// KAFKA INT: 4 bytes, big-endian.
    Int,
}

impl KeyEncoding {
    pub fn parse(name: &str) -> Option<KeyEncoding> {
        match name.to_ascii_lowercase().as_str() {
            "string" | "kafka" => Some(KeyEncoding::String),
            "bigint" => Some(KeyEncoding::Bigint),
            "int" | "integer" => Some(KeyEncoding::Int),
            _ => None,
        }
    }

    fn sql_type(self) -> SqlType {
        match self {
            KeyEncoding::String => SqlType::String,
            KeyEncoding::Bigint => SqlType::Bigint,
            KeyEncoding::Int => SqlType::Int,
        }
    }
}

/// A line that could not be turned into a record.
#[derive(Debug, Error, PartialEq)]
pub enum LoadError {
    #[error("line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("{0}")]
    BadOption(String),
    /// The store refused the topic or the records.
    #[error("{0}")]
    Store(#[from] super::TopicError),
}

/// How lines are turned into records and where they go: what `sluice topics produce` and
/// `POST /topics/{topic}/records` take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    pub format: LineFormat,
    /// The field that keys each record (a JSON field name or a 1-based DELIMITED position) and
    /// how its value is written.
    pub key: Option<(String, KeyEncoding)>,
    /// Creates a missing topic with this many partitions (default 1); an existing topic must
    /// have as many.
    pub partitions: Option<u32>,
}

impl LoadOptions {
    /// The options as given by name: `format` (`json`, the default, or `delimited`),
    /// `delimiter` (one character, default `,`), `key`, `key_format` (`string`, the default,
    /// `bigint` or `int`) and `partitions`.
    pub fn parse(
        format: Option<&str>,
        delimiter: Option<&str>,
        key: Option<&str>,
        key_format: Option<&str>,
        partitions: Option<u32>,
    ) -> Result<LoadOptions, LoadError> {
        let format = match format.map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => LineFormat::Json,
            Some("delimited") => {
                let delimiter = delimiter.unwrap_or(",");
                let mut chars = delimiter.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => LineFormat::Delimited(c),
                    _ => {
                        return Err(LoadError::BadOption(format!(
                            "The delimiter is one character, not '{delimiter}'"
                        )));
                    }
                }
            }
            Some(other) => {
                return Err(LoadError::BadOption(format!(
                    "Lines are json or delimited, not '{other}'"
                )));
            }
        };
        let encoding = match key_format {
            None => KeyEncoding::String,
            Some(name) => KeyEncoding::parse(name).ok_or_else(|| {
                LoadError::BadOption(format!(
                    "The key format is string, bigint or int, not '{name}'"
                ))
            })?,
        };
        if let Some(n) = partitions
            && !(1..=super::DEFAULT_MAX_PARTITIONS).contains(&n)
        {
            return Err(LoadError::BadOption(format!(
                "A topic has between 1 and {} partitions, not {n}",
                super::DEFAULT_MAX_PARTITIONS
            )));
        }
        Ok(LoadOptions {
            format,
            key: key.map(|field| (field.to_string(), encoding)),
            partitions,
        })
    }
}

/// Kafka's rule for topic names: 1 to 249 of ASCII letters, digits, `.`, `_` and `-`, and not
/// `.` or `..`.
pub fn check_topic_name(topic: &str) -> Result<(), LoadError> {
    let legal = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if topic.is_empty() || topic.len() > 249 || !legal || topic == "." || topic == ".." {
        return Err(LoadError::BadOption(format!(
            "Invalid topic name '{topic}': a topic name is 1 to 249 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(())
}

/// Appends a chunk of whole lines to `topic` (created if missing) as one produce, stamped with
/// the time of the append; `first_line` is the chunk's first line number in its file, for
/// errors. A bad line refuses the whole chunk. Returns how many records were appended.
pub fn load_lines(
    store: &dyn TopicStore,
    topic: &str,
    options: &LoadOptions,
    chunk: &[u8],
    first_line: usize,
) -> Result<usize, LoadError> {
    check_topic_name(topic)?;
    let key = options.key.as_ref().map(|(field, e)| (field.as_str(), *e));
    let mut loader = LineLoader::new(options.format, key)?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let records = loader.records(chunk, first_line, timestamp)?;
    let partitions = options.partitions.unwrap_or(1).max(1);
    match store.describe_topic(topic) {
        Ok(existing)
            if options.partitions.is_some() && existing.config.partitions != partitions =>
        {
            return Err(LoadError::BadOption(format!(
                "Topic '{topic}' has {} partitions, not {partitions}",
                existing.config.partitions
            )));
        }
        Ok(_) => {}
        Err(_) => store.create_topic(topic, TopicConfig::with_partitions(partitions))?,
    }
    let count = records.len();
    store.produce(topic, records)?;
    Ok(count)
}

/// Turns lines into records.
#[derive(Debug)]
pub struct LineLoader {
    key: Option<KeyField>,
}

#[derive(Debug)]
struct KeyField {
    name: String,
    encoding: KeyEncoding,
    source: KeySource,
}

#[derive(Debug)]
enum KeySource {
    /// The named field of a JSON object, matched as the JSON format matches column names.
    Json(RowReader),
    /// The field at a 0-based position of a delimited line.
    Delimited { index: usize, delimiter: char },
}

impl LineLoader {
    /// A loader; `key` names the field that keys each record (for DELIMITED, its 1-based
    /// position).
    pub fn new(
        format: LineFormat,
        key: Option<(&str, KeyEncoding)>,
    ) -> Result<LineLoader, LoadError> {
        let Some((name, encoding)) = key else {
            return Ok(LineLoader { key: None });
        };
        let source = match format {
            LineFormat::Json => {
                // Named as an unquoted SQL identifier would be, so any case in the data matches.
                let column = Column::value(name.to_uppercase(), encoding.sql_type());
                KeySource::Json(RowReader::new(
                    &FormatSpec::new(FormatKind::Json),
                    &[column],
                    true,
                ))
            }
            LineFormat::Delimited(delimiter) => {
                let position: usize = name.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                    LoadError::BadOption(format!(
                        "A DELIMITED key field is a 1-based position, not '{name}'"
                    ))
                })?;
                KeySource::Delimited {
                    index: position - 1,
                    delimiter,
                }
            }
        };
        Ok(LineLoader {
            key: Some(KeyField {
                name: name.to_string(),
                encoding,
                source,
            }),
        })
    }

    /// The records of a chunk of whole lines. `first_line` is the 1-based number of the
    /// chunk's first line, for errors. Empty lines are skipped. Nothing is returned if any
    /// line is bad.
    pub fn records(
        &mut self,
        chunk: &[u8],
        first_line: usize,
        timestamp: i64,
    ) -> Result<Vec<ProducerRecord>, LoadError> {
        let mut records = Vec::with_capacity(chunk.len() / 64 + 1);
        let mut cells = Vec::new();
        for (i, line) in chunk.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let key =
                match &mut self.key {
                    None => None,
                    Some(field) => Some(field.key_of(line, &mut cells).map_err(|message| {
                        LoadError::BadLine {
                            line: first_line + i,
                            message,
                        }
                    })?),
                };
            records.push(ProducerRecord {
                key,
                value: Some(line.to_vec()),
                timestamp,
                headers: Vec::new(),
                partition: None,
            });
        }
        Ok(records)
    }
}

impl KeyField {
    /// The key bytes of one line.
    fn key_of<'a>(&mut self, line: &'a [u8], cells: &mut Vec<Cell<'a>>) -> Result<Vec<u8>, String> {
        let ty = self.encoding.sql_type();
        let value = match &mut self.source {
            KeySource::Json(reader) => {
                let present = reader.read(Some(line), cells).map_err(|e| e.to_string())?;
                match cells.first() {
                    Some(cell) if present => cell.to_scalar(&ty),
                    _ => ScalarValue::Null,
                }
            }
            KeySource::Delimited { index, delimiter } => {
                let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
                let fields = delimited::parse_first_record(text, *delimiter)?;
                match fields.get(*index) {
                    Some(field) => delimited::parse_field(field, &ty)?,
                    None => ScalarValue::Null,
                }
            }
        };
        match value {
            ScalarValue::Utf8(Some(s)) => Ok(s.into_bytes()),
            ScalarValue::Int64(Some(v)) => Ok(v.to_be_bytes().to_vec()),
            ScalarValue::Int32(Some(v)) => Ok(v.to_be_bytes().to_vec()),
            _ => Err(format!("no value for the key field '{}'", self.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keyed_by_a_field() {
        let mut loader =
            LineLoader::new(LineFormat::Json, Some(("auction", KeyEncoding::Bigint))).unwrap();
        let chunk = b"{\"AUCTION\": 7, \"P\": 1}\n\n{\"auction\": 8}\r\n";
        let records = loader.records(&chunk[..], 1, 5).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].key.as_deref(), Some(&7i64.to_be_bytes()[..]));
        assert_eq!(
            records[0].value.as_deref(),
            Some(&b"{\"AUCTION\": 7, \"P\": 1}"[..])
        );
        assert_eq!(records[1].key.as_deref(), Some(&8i64.to_be_bytes()[..]));
        assert_eq!(records[1].timestamp, 5);

        let err = loader
            .records(b"{\"auction\": 1}\n{\"x\": 2}", 10, 0)
            .unwrap_err();
        assert_eq!(
            err,
            LoadError::BadLine {
                line: 11,
                message: "no value for the key field 'auction'".into()
            }
        );
        assert!(loader.records(b"{nope", 1, 0).is_err());
    }

    #[test]
    fn delimited_lines_keyed_by_position_and_unkeyed_lines() {
        let mut loader =
            LineLoader::new(LineFormat::Delimited(','), Some(("2", KeyEncoding::String))).unwrap();
        let records = loader.records(b"a,b,c\nd,e", 1, 0).unwrap();
        assert_eq!(records[0].key.as_deref(), Some(&b"b"[..]));
        assert_eq!(records[1].value.as_deref(), Some(&b"d,e"[..]));
        let mut plain = LineLoader::new(LineFormat::Json, None).unwrap();
        let records = plain.records(b"1\n2\n", 1, 0).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[0].key.is_none());
        assert!(
            LineLoader::new(LineFormat::Delimited(','), Some(("x", KeyEncoding::Int))).is_err()
        );
    }
}
