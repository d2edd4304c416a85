//! The `WITH (...)` properties of CREATE statements, validated as ksqlDB validates them.

use super::EngineError;
use crate::format::{FormatKind, FormatSpec};
use crate::sql::ast::{Properties, PropertyValue};

/// Every property name ksqlDB accepts in a WITH clause.
const KNOWN: &[&str] = &[
    "KAFKA_TOPIC",
    "PARTITIONS",
    "REPLICAS",
    "KEY_FORMAT",
    "VALUE_FORMAT",
    "FORMAT",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "WRAP_SINGLE_VALUE",
    "WINDOW_TYPE",
    "WINDOW_SIZE",
    "KEY_SCHEMA_ID",
    "VALUE_SCHEMA_ID",
    "KEY_SCHEMA_FULL_NAME",
    "VALUE_SCHEMA_FULL_NAME",
    "VALUE_AVRO_SCHEMA_FULL_NAME",
    "SOURCE_CONNECTOR",
    "RETENTION_MS",
    "CLEANUP_POLICY",
];

/// Statement-level access to WITH properties.
pub struct WithClause<'a> {
    pub properties: &'a Properties,
}

impl<'a> WithClause<'a> {
    pub fn new(properties: &'a Properties) -> Result<WithClause<'a>, EngineError> {
        let unknown: Vec<&String> = properties
            .keys()
            .filter(|k| !KNOWN.contains(&k.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(EngineError::Generic(format!(
                "Invalid config variable(s) in the WITH clause: {}",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        Ok(WithClause { properties })
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.properties.get(name).map(PropertyValue::as_text)
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, EngineError> {
        match self.properties.get(name) {
            None => Ok(None),
            Some(v) => v.as_text().trim().parse::<i64>().map(Some).map_err(|_| {
                EngineError::Generic(format!(
                    "Invalid value for {name}: expected an integer but got {}",
                    v.as_text()
                ))
            }),
        }
    }

    /// PARTITIONS: a 32-bit integer (Kafka's INT config type) of at least 1, and at most
    /// `max` (`ksql.topic.max.partitions`).
    pub fn partitions(&self, max: u32) -> Result<Option<u32>, EngineError> {
        let Some(value) = self.integer("PARTITIONS")? else {
            return Ok(None);
        };
        let invalid = |why: &str| {
            EngineError::Generic(format!(
                "Invalid value {value} for property PARTITIONS: {why}"
            ))
        };
        let value = i32::try_from(value).map_err(|_| {
            invalid("Expected value to be a 32-bit integer, but it was a java.lang.Long")
        })?;
        match u32::try_from(value) {
            Ok(0) | Err(_) => Err(invalid("Number of partitions must be larger than 0.")),
            Ok(n) if n > max => Err(invalid(&format!(
                "a topic may have at most {max} partitions (ksql.topic.max.partitions)"
            ))),
            Ok(n) => Ok(Some(n)),
        }
    }

    /// KEY_SCHEMA_ID / VALUE_SCHEMA_ID: a 32-bit integer (ksqlDB's INT); a schema registry's
    /// ids are never negative, so a negative one names no schema.
    pub fn schema_id(&self, name: &str) -> Result<Option<u32>, EngineError> {
        let Some(value) = self.integer(name)? else {
            return Ok(None);
        };
        let value = i32::try_from(value).map_err(|_| {
            EngineError::Generic(format!(
                "Invalid value {value} for property {name}: Expected value to be a 32-bit integer, but it was a java.lang.Long"
            ))
        })?;
        u32::try_from(value).map(Some).map_err(|_| {
            EngineError::statement(format!(
                "Schema with id {value} does not exist in the Schema Registry."
            ))
        })
    }

    /// REPLICAS: a 16-bit integer (Kafka's SHORT config type), at least 1, or -1 for the
    /// cluster's default.
    pub fn replicas(&self) -> Result<Option<i16>, EngineError> {
        let Some(value) = self.integer("REPLICAS")? else {
            return Ok(None);
        };
        let invalid = |why: &str| {
            EngineError::Generic(format!(
                "Invalid value {value} for property REPLICAS: {why}"
            ))
        };
        match i16::try_from(value) {
            Err(_) => Err(invalid(
                "Expected value to be a 16-bit integer (short), but it was a java.lang.Long",
            )),
            Ok(r) if r == 0 || r < -1 => Err(invalid(
                "Replication factor must be larger than 0, or -1 to use the default value.",
            )),
            Ok(r) => Ok(Some(r)),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, EngineError> {
        match self.properties.get(name) {
            None => Ok(None),
            Some(PropertyValue::Boolean(b)) => Ok(Some(*b)),
            Some(v) => match v.as_text().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                other => Err(EngineError::Generic(format!(
                    "Invalid value for {name}: expected a boolean but got {other}"
                ))),
            },
        }
    }

    /// The key and value formats: FORMAT sets both, KEY_FORMAT/VALUE_FORMAT one each.
    pub fn formats(
        &self,
        default_key: Option<FormatKind>,
        default_value: Option<FormatKind>,
    ) -> Result<(Option<FormatKind>, Option<FormatKind>), EngineError> {
        let format = self.text("FORMAT");
        let key = self.text("KEY_FORMAT");
        let value = self.text("VALUE_FORMAT");
        if format.is_some() && (key.is_some() || value.is_some()) {
            let other = if key.is_some() {
                "KEY_FORMAT"
            } else {
                "VALUE_FORMAT"
            };
            return Err(EngineError::statement(format!(
                "Cannot supply both '{other}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
            )));
        }
        let key = key.or(format.clone());
        let value = value.or(format);
        Ok((
            key.map(|k| parse_format(&k)).transpose()?.or(default_key),
            value
                .map(|v| parse_format(&v))
                .transpose()?
                .or(default_value),
        ))
    }

    /// A DELIMITED separator: one character, or a name like TAB or SPACE.
    pub fn delimiter(&self, name: &str) -> Result<Option<char>, EngineError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        parse_delimiter(&text).map(Some).ok_or_else(|| {
            let reason = if text.trim().is_empty() {
                "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'".to_string()
            } else {
                format!(
                    "Invalid delimiter value: '{text}'. Delimiter must be a single character or TAB,SPACE"
                )
            };
            EngineError::Statement {
                message: format!(
                    "Failed to prepare statement: Configuration {name} is invalid: {reason}\nExample valid value: ';'"
                ),
                statement: String::new(),
            }
        })
    }
}

pub fn parse_format(name: &str) -> Result<FormatKind, EngineError> {
    FormatKind::parse(name).ok_or_else(|| EngineError::Statement {
        message: format!("Unknown format: {}", name.to_uppercase()),
        statement: String::new(),
    })
}

fn parse_delimiter(text: &str) -> Option<char> {
    match text.to_ascii_uppercase().as_str() {
        "TAB" => return Some('\t'),
        "SPACE" => return Some(' '),
        _ => {}
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_whitespace() => Some(c),
        _ => None,
    }
}

/// A format with its delimiter applied.
pub fn format_spec(kind: FormatKind, delimiter: Option<char>) -> FormatSpec {
    let mut spec = FormatSpec::new(kind);
    if let Some(d) = delimiter {
        spec.delimiter = d;
    }
    spec
}
