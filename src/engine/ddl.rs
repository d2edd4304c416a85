//! CREATE STREAM/TABLE over a topic, and DROP.

use super::properties::{WithClause, format_spec};
use super::{Engine, EngineError, Outcome};
use crate::catalog::{Source, WindowInfo};
use crate::format::{self, FormatKind};
use crate::plan::RESERVED_COLUMN_NAMES;
use crate::sql::ast::{ColumnConstraint, CreateSource, SourceKind, WindowType};
use crate::sql::parser::time_unit_ms;
use crate::topics::{CleanupPolicy, TopicConfig};
use crate::types::{Column, ColumnKind, Schema, SqlType};

/// A source kind as ksqlDB writes it in messages: "stream" / "table".
pub fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

fn capitalised(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

impl Engine {
    /// The key and value formats a statement gets when it names none.
    pub(super) fn default_formats(&self) -> (Option<FormatKind>, Option<FormatKind>) {
        let key = self
            .property("ksql.persistence.default.format.key")
            .and_then(FormatKind::parse)
            .or(Some(FormatKind::Kafka));
        let value = self
            .property("ksql.persistence.default.format.value")
            .and_then(FormatKind::parse);
        (key, value)
    }

    pub(super) fn create_source(
        &mut self,
        c: CreateSource,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        let kind_name = kind_word(c.kind);
        if c.or_replace && c.read_only {
            return Err(EngineError::Generic(format!(
                "Cannot add {kind_name} '{}': CREATE OR REPLACE is not supported on source {kind_name}s.",
                c.name
            )));
        }
        if let Some(existing) = self.catalog.source(&c.name) {
            if c.if_not_exists {
                return Ok(Outcome::Message(format!(
                    "Cannot add {kind_name} {}: A {} with the same name already exists.",
                    c.name,
                    kind_word(existing.kind)
                )));
            }
            if c.or_replace && (existing.read_only || c.read_only) {
                return Err(EngineError::Generic(format!(
                    "Cannot add {kind_name} '{}': CREATE OR REPLACE is not supported on source {kind_name}s.",
                    c.name
                )));
            }
            if !c.or_replace {
                return Err(EngineError::Generic(format!(
                    "Cannot add {kind_name} '{}': A {} with the same name already exists",
                    c.name,
                    kind_word(existing.kind)
                )));
            }
        }
        let with = WithClause::new(&c.properties)?;

        let (default_key, default_value) = self.default_formats();
        let (key_kind, value_kind) = with.formats(default_key, default_value)?;
        let Some(value_kind) = value_kind else {
            return Err(EngineError::statement(
                "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.",
            ));
        };
        let key_kind = key_kind.unwrap_or(FormatKind::Kafka);
        let topic = with.text("KAFKA_TOPIC").unwrap_or_else(|| c.name.clone());

        // Columns.
        let mut columns = Vec::with_capacity(c.columns.len());
        for def in &c.columns {
            if RESERVED_COLUMN_NAMES.contains(&def.name.as_str()) {
                return Err(EngineError::statement(format!(
                    "'{}' is a reserved column name. You cannot use it as a name for a column.",
                    def.name
                )));
            }
            if columns.iter().any(|x: &Column| x.name == def.name) {
                return Err(EngineError::statement(format!(
                    "Duplicate column names: {}",
                    def.name
                )));
            }
            let (kind, header_key) = match (&def.constraint, c.kind) {
                (ColumnConstraint::Key, SourceKind::Table) => {
                    return Err(EngineError::Parse(format!(
                        "Line: {}, Col: {}: Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        def.location.line, def.location.column, def.name
                    )));
                }
                (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                    return Err(EngineError::Parse(format!(
                        "Line: {}, Col: {}: Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.",
                        def.location.line, def.location.column, def.name
                    )));
                }
                (ColumnConstraint::Key | ColumnConstraint::PrimaryKey, _) => {
                    (ColumnKind::Key, None)
                }
                (ColumnConstraint::Headers, _) => {
                    if def.ty != crate::types::headers_type() {
                        return Err(EngineError::statement(format!(
                            "Invalid type for HEADERS column: expected ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got {}",
                            def.ty
                        )));
                    }
                    (ColumnKind::Header, None)
                }
                (ColumnConstraint::Header(k), _) => {
                    if def.ty != SqlType::Bytes {
                        return Err(EngineError::statement(format!(
                            "Invalid type for HEADER('{k}') column: expected BYTES, got {}",
                            def.ty
                        )));
                    }
                    (ColumnKind::Header, Some(k.clone()))
                }
                (ColumnConstraint::None, _) => (ColumnKind::Value, None),
            };
            if kind == ColumnKind::Key && def.ty.contains_map() {
                return Err(EngineError::statement(format!(
                    "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                    def.name, def.ty
                )));
            }
            columns.push(Column {
                name: def.name.clone(),
                ty: def.ty.clone(),
                kind,
                header_key,
            });
        }
        self.infer_columns(&mut columns, &with, &topic, key_kind, value_kind)?;
        // Keys first, as ksqlDB orders them.
        columns.sort_by_key(|c| c.kind != ColumnKind::Key);
        let schema = Schema::new(columns);
        if c.kind == SourceKind::Table && schema.key_columns().next().is_none() {
            return Err(EngineError::statement(
                "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
            ));
        }

        // Formats.
        let wrap = self.wrap_single_value(&with, value_kind, &schema)?;
        let key_format = format_spec(key_kind, with.delimiter("KEY_DELIMITER")?);
        let mut value_format = format_spec(value_kind, with.delimiter("VALUE_DELIMITER")?);
        if let Some(w) = wrap {
            value_format.wrap_single = w;
        }
        check_formats(
            &key_format.kind,
            &value_format.kind,
            &schema,
            with.text("VALUE_DELIMITER").is_some(),
            with.text("KEY_DELIMITER").is_some(),
        )?;

        // Windowed sources.
        let window = match with.text("WINDOW_TYPE") {
            None => None,
            Some(t) => {
                let window_type = match t.to_uppercase().as_str() {
                    "TUMBLING" => WindowType::Tumbling,
                    "HOPPING" => WindowType::Hopping,
                    "SESSION" => WindowType::Session,
                    other => {
                        return Err(EngineError::statement(format!(
                            "Invalid WINDOW_TYPE: {other}"
                        )));
                    }
                };
                let size_ms = match with.text("WINDOW_SIZE") {
                    Some(s) => {
                        if window_type == WindowType::Session {
                            return Err(EngineError::Parse(
                                "'WINDOW_SIZE' should not be set for SESSION windows.".to_string(),
                            ));
                        }
                        Some(parse_duration(&s)?)
                    }
                    None if window_type != WindowType::Session => {
                        return Err(EngineError::Parse(format!(
                            "{} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'",
                            t.to_uppercase()
                        )));
                    }
                    None => None,
                };
                Some(WindowInfo {
                    window_type,
                    size_ms,
                })
            }
        };

        // Timestamp column.
        let timestamp_column = match with.text("TIMESTAMP") {
            None => None,
            Some(t) => {
                let name = normalise_column_name(&t);
                let Some(column) = schema.find(&name) else {
                    return Err(EngineError::statement(format!(
                        "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
                    )));
                };
                let ok = match column.ty {
                    SqlType::Bigint | SqlType::Timestamp => true,
                    SqlType::String => with.text("TIMESTAMP_FORMAT").is_some(),
                    _ => false,
                };
                if !ok {
                    return Err(EngineError::statement(format!(
                        "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified."
                    )));
                }
                Some(name)
            }
        };

        // Topic.
        let partitions = with.partitions(self.max_partitions())?;
        let replicas = with.replicas()?;
        match self.store.describe_topic(&topic).ok() {
            Some(existing) => {
                if let Some(p) = partitions
                    && p != existing.config.partitions
                {
                    return Err(EngineError::Generic(format!(
                        "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {p} partitions (topic has {}), 1 replication factor (topic has 1).",
                        existing.config.partitions
                    )));
                }
            }
            None => match partitions {
                Some(p) => {
                    self.store.create_topic(
                        &topic,
                        TopicConfig {
                            partitions: p,
                            replicas: replicas.unwrap_or(1),
                            cleanup_policy: if c.kind == SourceKind::Table {
                                CleanupPolicy::Compact
                            } else {
                                CleanupPolicy::Delete
                            },
                            ..TopicConfig::default()
                        },
                    )?;
                }
                _ => {
                    return Err(EngineError::Generic(format!(
                        "Topic '{topic}' does not exist. If you want to create a new topic for the {kind_name} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} {} (...) WITH (KAFKA_TOPIC='{topic}', PARTITIONS=2, REPLICAS=1, ...);",
                        c.kind, c.name
                    )));
                }
            },
        }

        let mut source = Source {
            name: c.name.clone(),
            kind: c.kind,
            schema,
            topic,
            key_format,
            value_format,
            timestamp_column,
            timestamp_format: with.text("TIMESTAMP_FORMAT"),
            window,
            read_only: c.read_only,
            sql: text.to_string(),
            wrap_single_value: wrap,
        };
        self.bind_schemas(&mut source, &with, false)?;
        if source.read_only && source.kind == SourceKind::Table {
            // A source table is queryable: its rows are kept for pull queries.
            self.materialize(&source);
        }
        self.catalog.put_source(source);
        Ok(Outcome::Message(format!("{} created", capitalised(c.kind))))
    }

    /// The WRAP_SINGLE_VALUE setting, validated against the format and the value columns.
    pub(super) fn wrap_single_value(
        &self,
        with: &WithClause<'_>,
        value_kind: FormatKind,
        schema: &Schema,
    ) -> Result<Option<bool>, EngineError> {
        let explicit = with.boolean("WRAP_SINGLE_VALUE")?;
        let single = schema.value_columns().count() == 1;
        if let Some(w) = explicit {
            if !single {
                return Err(EngineError::statement(
                    "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas",
                ));
            }
            if matches!(
                value_kind,
                FormatKind::Kafka | FormatKind::Delimited | FormatKind::None
            ) && w
            {
                return Err(EngineError::statement(format!(
                    "Format '{value_kind}' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
                )));
            }
            // A protobuf record is always a message.
            if matches!(value_kind, FormatKind::Protobuf | FormatKind::ProtobufNoSr) && !w {
                return Err(EngineError::statement(format!(
                    "Format '{value_kind}' does not support 'WRAP_SINGLE_VALUE' set to 'false'."
                )));
            }
            return Ok(Some(w));
        }
        if single
            && matches!(
                value_kind,
                FormatKind::Json
                    | FormatKind::Avro
                    | FormatKind::Protobuf
                    | FormatKind::JsonSr
                    | FormatKind::ProtobufNoSr
            )
            && let Some(p) = self.property("ksql.persistence.wrap.single.values")
        {
            return Ok(Some(p.eq_ignore_ascii_case("true")));
        }
        Ok(None)
    }

    pub(super) fn drop_source(
        &mut self,
        kind: SourceKind,
        name: &str,
        if_exists: bool,
        delete_topic: bool,
    ) -> Result<Outcome, EngineError> {
        let Some(source) = self.catalog.source(name).cloned() else {
            if if_exists {
                return Ok(Outcome::Message(format!("Source `{name}` does not exist.")));
            }
            return Err(EngineError::Generic(format!(
                "{} {name} does not exist",
                capitalised(kind)
            )));
        };
        if source.kind != kind {
            return Err(EngineError::Generic(format!(
                "Incompatible data source type is {}, but statement was DROP {kind}",
                source.kind
            )));
        }
        if delete_topic && source.read_only {
            return Err(EngineError::Generic(format!(
                "Cannot delete topic for read-only source: {name}"
            )));
        }
        let readers: Vec<String> = self
            .catalog
            .queries()
            .filter(|q| q.sources.iter().any(|s| s == name))
            .map(|q| q.id.clone())
            .collect();
        let writers: Vec<String> = self
            .catalog
            .queries()
            .filter(|q| q.sink.as_deref() == Some(name))
            .map(|q| q.id.clone())
            .collect();
        // A source's own query (CSAS/CTAS) is terminated along with it, as ksqlDB does.
        let own: Vec<String> = writers
            .iter()
            .filter(|id| !id.starts_with("INSERTQUERY"))
            .cloned()
            .collect();
        let other_writers: Vec<&String> = writers.iter().filter(|w| !own.contains(w)).collect();
        if !readers.is_empty() || !other_writers.is_empty() {
            return Err(EngineError::Generic(format!(
                "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
                readers.join(", "),
                other_writers
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for id in own {
            self.stop_query(&id)?;
        }
        self.catalog.remove_source(name);
        if self.catalog.source_for_topic(&source.topic).is_none() {
            self.runtime.drop_view(&source.topic);
        }
        if delete_topic {
            let _ = self.store.delete_topic(&source.topic);
        }
        Ok(Outcome::Message(format!(
            "Source `{name}` (topic: {}) was dropped.",
            source.topic
        )))
    }
}

impl Engine {
    /// `ALTER STREAM|TABLE … ADD COLUMN …`: appends value columns to a source declared over a
    /// topic. Records written before read the new columns as null.
    pub(super) fn alter_source(
        &mut self,
        kind: SourceKind,
        name: &str,
        columns: Vec<(String, SqlType)>,
    ) -> Result<Outcome, EngineError> {
        let Some(mut source) = self.catalog.source(name).cloned() else {
            return Err(EngineError::statement(format!(
                "Source {name} does not exist."
            )));
        };
        if source.kind != kind {
            return Err(EngineError::statement(format!(
                "Incompatible data source type is {}, but statement was ALTER {kind}",
                source.kind
            )));
        }
        let word = kind_word(kind);
        if source.read_only {
            return Err(EngineError::statement(format!(
                "Cannot alter {word} '{name}': ALTER operations are not supported on source {word}s."
            )));
        }
        let derived = self
            .catalog
            .queries()
            .any(|q| q.sink.as_deref() == Some(name) && !q.id.starts_with("INSERTQUERY"));
        if derived {
            return Err(EngineError::statement(
                "ALTER command is not supported for CREATE ... AS SELECT statements.",
            ));
        }
        for (column, ty) in columns {
            if source.schema.find(&column).is_some() {
                return Err(EngineError::statement(format!(
                    "Cannot add column `{column}` to schema. A column with the same name already exists."
                )));
            }
            source.schema.columns.push(Column::value(column, ty));
        }
        self.catalog.put_source(source);
        Ok(Outcome::Message(format!("{} altered.", capitalised(kind))))
    }
}

/// Unquoted names in property values are upper-cased; back-quoted ones are kept.
pub fn normalise_column_name(text: &str) -> String {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('`').and_then(|s| s.strip_suffix('`')) {
        inner.to_string()
    } else {
        t.to_uppercase()
    }
}

/// `'30 SECONDS'` as milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, EngineError> {
    let mut parts = text.split_whitespace();
    let (Some(amount), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EngineError::Parse(format!(
            "Configuration WINDOW_SIZE is invalid: Invalid duration: '{text}'. Expected '<number> <unit>'"
        )));
    };
    let amount: i64 = amount.parse().map_err(|_| {
        EngineError::Parse(format!(
            "Configuration WINDOW_SIZE is invalid: Invalid duration: '{text}'. Not a number: '{amount}'"
        ))
    })?;
    let unit_ms = time_unit_ms(unit).ok_or_else(|| {
        EngineError::Parse(format!(
            "Configuration WINDOW_SIZE is invalid: Invalid duration: '{text}'. Unknown time unit: '{}'",
            unit.to_uppercase()
        ))
    })?;
    amount
        .checked_mul(unit_ms)
        .filter(|ms| *ms > 0)
        .ok_or_else(|| {
            EngineError::Parse(format!(
                "Configuration WINDOW_SIZE is invalid: Invalid duration: '{text}'. The size must be larger than zero and fit in 64 bits of milliseconds"
            ))
        })
}

/// Checks that the key and value formats can carry the schema's columns.
pub fn check_formats(
    key: &FormatKind,
    value: &FormatKind,
    schema: &Schema,
    has_value_delimiter: bool,
    has_key_delimiter: bool,
) -> Result<(), EngineError> {
    for kind in [key, value] {
        if !kind.is_supported() {
            return Err(EngineError::statement(format!(
                "The '{kind}' format is not supported yet by Sluice."
            )));
        }
    }
    if has_value_delimiter && *value != FormatKind::Delimited {
        return Err(EngineError::statement(format!(
            "{value} does not support the following configs: [delimiter]"
        )));
    }
    if has_key_delimiter && *key != FormatKind::Delimited {
        return Err(EngineError::statement(format!(
            "{key} does not support the following configs: [delimiter]"
        )));
    }
    let keys: Vec<Column> = schema.key_columns().cloned().collect();
    let values: Vec<Column> = schema.value_columns().cloned().collect();
    let persistence = |cols: &[Column]| {
        cols.iter()
            .map(|c| {
                format!(
                    "{} {}{}",
                    crate::types::quote_identifier(&c.name),
                    c.ty,
                    if c.kind == ColumnKind::Key {
                        " KEY"
                    } else {
                        ""
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unsupported = |part: &str, kind: &FormatKind, cols: &[Column], reason: String| {
        EngineError::statement(format!(
            "{part} format does not support schema.\nformat: {kind}\nschema: Persistence{{columns=[{}], features=[]}}\nreason: {reason}",
            persistence(cols)
        ))
    };
    format::check_supports(*key, &keys).map_err(|r| unsupported("Key", key, &keys, r))?;
    format::check_supports(*value, &values).map_err(|r| unsupported("Value", value, &values, r))?;
    if *key == FormatKind::Kafka && keys.len() > 1 {
        return Err(EngineError::statement(format!(
            "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{{columns=[{}], features=[]}}\nreason: The 'KAFKA' format only supports a single field. Got: [{}]",
            persistence(&keys),
            persistence(&keys)
        )));
    }
    if *key == FormatKind::Kafka
        && let Some(k) = keys.first()
        && matches!(
            k.ty,
            SqlType::Decimal { .. }
                | SqlType::Boolean
                | SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp
        )
    {
        return Err(EngineError::statement(format!(
            "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{{columns=[{}], features=[]}}\nreason: The 'KAFKA' format does not support type '{}'",
            persistence(&keys),
            type_family(&k.ty)
        )));
    }
    if *value == FormatKind::Kafka && values.len() > 1 {
        return Err(EngineError::statement(format!(
            "Value format does not support schema.\nformat: KAFKA\nschema: Persistence{{columns=[{}], features=[]}}\nreason: The 'KAFKA' format only supports a single field. Got: [{}]",
            persistence(&values),
            persistence(&values)
        )));
    }
    if *key == FormatKind::None && !keys.is_empty() {
        return Err(EngineError::statement(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
            persistence(&keys)
        )));
    }
    if *value == FormatKind::None && !values.is_empty() {
        return Err(EngineError::statement(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: [{}]",
            persistence(&values)
        )));
    }
    Ok(())
}

fn type_family(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::Boolean => "BOOLEAN",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        _ => "OTHER",
    }
}
