//! Sources and sinks of the schema-registry formats (AVRO, JSON_SR): columns inferred from
//! the registered schemas, and the schemas registered for declared columns and query results.

use super::properties::WithClause;
use super::{Engine, EngineError};
use crate::catalog::Source;
use crate::format::{FormatKind, avro, json_sr, protobuf};
use crate::registry::{RegisteredSchema, SchemaType, subject};
use crate::types::{Column, ColumnKind};

impl Engine {
    /// Adds the columns a CREATE statement leaves out to `columns`, from the schemas
    /// registered for the topic (or named by `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`), as
    /// ksqlDB's schema inference does: keys when the key format has schemas and no key column
    /// is declared, values likewise.
    pub(super) fn infer_columns(
        &self,
        columns: &mut Vec<Column>,
        with: &WithClause,
        topic: &str,
        key_kind: FormatKind,
        value_kind: FormatKind,
    ) -> Result<(), EngineError> {
        for (key, kind, id_property) in [
            (true, key_kind, "KEY_SCHEMA_ID"),
            (false, value_kind, "VALUE_SCHEMA_ID"),
        ] {
            let column_kind = if key {
                ColumnKind::Key
            } else {
                ColumnKind::Value
            };
            let declared = columns.iter().any(|c| c.kind == column_kind);
            let schema_id = with.schema_id(id_property)?;
            if schema_id.is_some() {
                if declared {
                    return Err(EngineError::statement(format!(
                        "Table elements and {id_property} cannot both exist for create statement."
                    )));
                }
                if !has_schemas(kind) {
                    let part = if key { "KEY" } else { "VALUE" };
                    return Err(EngineError::statement(format!(
                        "{part}_FORMAT should support schema inference when {id_property} is provided. Current format is {kind}."
                    )));
                }
            }
            if declared || !has_schemas(kind) {
                continue;
            }
            let registered = match schema_id {
                Some(id) => self.registry.by_id(id).ok_or_else(|| {
                    EngineError::statement(format!(
                        "Schema with id {id} does not exist in the Schema Registry."
                    ))
                })?,
                None => match self.registry.latest(&subject(topic, key)) {
                    Some(schema) => schema,
                    // A stream may have no key at all.
                    None if key => continue,
                    None => {
                        return Err(EngineError::statement(format!(
                            "Schema for message values on topic '{topic}' does not exist in the Schema Registry."
                        )));
                    }
                },
            };
            let single_name = if key { "ROWKEY" } else { "ROWVAL" };
            let upper_case = schema_id.is_none();
            let message = with.text(if key {
                "KEY_SCHEMA_FULL_NAME"
            } else {
                "VALUE_SCHEMA_FULL_NAME"
            });
            columns.extend(inferred(
                &registered,
                column_kind,
                single_name,
                upper_case,
                message.as_deref(),
            )?);
        }
        Ok(())
    }

    /// Binds a source's schema-registry formats to the registry, registering the schema of
    /// its columns where the topic has none yet (or, for a query's sink, always), so that
    /// records written to it carry that schema's id.
    pub(super) fn bind_schemas(
        &self,
        source: &mut Source,
        with: &WithClause,
        sink: bool,
    ) -> Result<(), EngineError> {
        if let Some(name) = with.text("VALUE_AVRO_SCHEMA_FULL_NAME") {
            if source.value_format.kind != FormatKind::Avro {
                return Err(EngineError::statement(format!(
                    "{} does not support the following configs: [fullSchemaName]",
                    source.value_format.kind
                )));
            }
            if name.trim().is_empty() {
                return Err(EngineError::statement(
                    "fullSchemaName cannot be empty. Format configuration: {fullSchemaName=}",
                ));
            }
        }
        let keys: Vec<Column> = source.schema.key_columns().cloned().collect();
        let values: Vec<Column> = source.schema.value_columns().cloned().collect();
        let value_wrapped = source.value_wrapped();
        for (key, spec, columns, wrapped, name_property, id_property) in [
            (
                true,
                &mut source.key_format,
                &keys,
                keys.len() > 1,
                "KEY_SCHEMA_FULL_NAME",
                "KEY_SCHEMA_ID",
            ),
            (
                false,
                &mut source.value_format,
                &values,
                value_wrapped,
                "VALUE_AVRO_SCHEMA_FULL_NAME",
                "VALUE_SCHEMA_ID",
            ),
        ] {
            if !spec.uses_schema_registry() {
                continue;
            }
            spec.schemas.registry = Some(self.registry.clone());
            if spec.kind == FormatKind::Avro {
                avro::check_names(columns).map_err(EngineError::statement)?;
            }
            let subject = subject(&source.topic, key);
            let named_id = with.schema_id(id_property)?;
            let full_name = with
                .text(name_property)
                .or_else(|| with.text("VALUE_SCHEMA_FULL_NAME").filter(|_| !key))
                .unwrap_or_else(|| avro::DEFAULT_SCHEMA_NAME.to_string());
            if !avro::is_valid_full_name(&full_name) {
                return Err(EngineError::statement(format!(
                    "Invalid schema name: '{full_name}'. An Avro full name is dot-separated names, each a letter or '_' followed by letters, digits or '_'."
                )));
            }
            if let (Some(id), true) = (named_id, sink) {
                check_compatible(self, id, columns, key)?;
            }
            if spec.kind == FormatKind::Protobuf {
                spec.schemas.message = with.text(if key {
                    "KEY_SCHEMA_FULL_NAME"
                } else {
                    "VALUE_SCHEMA_FULL_NAME"
                });
            }
            spec.schemas.writer_id = match (named_id, self.registry.latest(&subject)) {
                (Some(id), _) => Some(id),
                (None, Some(existing)) if !sink => Some(existing.id),
                _ if columns.is_empty() => None,
                _ if spec.kind == FormatKind::Protobuf => Some(protobuf::register(
                    &self.registry,
                    &subject,
                    columns,
                    with.text(if key {
                        "KEY_SCHEMA_FULL_NAME"
                    } else {
                        "VALUE_SCHEMA_FULL_NAME"
                    })
                    .as_deref()
                    .unwrap_or(protobuf::DEFAULT_MESSAGE_NAME),
                )),
                _ if spec.kind == FormatKind::JsonSr => Some(json_sr::register(
                    &self.registry,
                    &subject,
                    columns,
                    wrapped,
                )),
                _ => Some(avro::register(
                    &self.registry,
                    &subject,
                    columns,
                    wrapped,
                    &full_name,
                )),
            };
        }
        Ok(())
    }
}

/// The columns of a registered schema.
fn inferred(
    registered: &RegisteredSchema,
    kind: ColumnKind,
    single_name: &str,
    upper_case: bool,
    message: Option<&str>,
) -> Result<Vec<Column>, EngineError> {
    match registered.schema_type {
        SchemaType::Avro => {
            let schema = avro::parse_schema(&registered.text).map_err(EngineError::statement)?;
            avro::infer_columns(&schema, kind, single_name, upper_case)
        }
        SchemaType::Json => {
            let schema = json_sr::parse_schema(&registered.text).map_err(EngineError::statement)?;
            json_sr::infer_columns(&schema, kind, single_name, upper_case)
        }
        SchemaType::Protobuf => {
            let compiled = protobuf::compile(&registered.text, &registered.references)
                .map_err(EngineError::statement)?;
            match compiled.named(message) {
                Some((message, _)) => protobuf::infer_columns(&message, kind, upper_case),
                None => Err(format!(
                    "Schema for message {} not found in the Protobuf schema",
                    message.unwrap_or("(the first)")
                )),
            }
        }
    }
    .map_err(EngineError::statement)
}

/// Checks that a query's columns are the leading columns of the schema a statement names by
/// id, with ksqlDB's message listing those that are not.
fn check_compatible(
    engine: &Engine,
    id: u32,
    columns: &[Column],
    key: bool,
) -> Result<(), EngineError> {
    let Some(registered) = engine.registry.by_id(id) else {
        return Err(EngineError::statement(format!(
            "Schema with id {id} does not exist in the Schema Registry."
        )));
    };
    let kind = if key {
        ColumnKind::Key
    } else {
        ColumnKind::Value
    };
    let single_name = if key { "ROWKEY" } else { "ROWVAL" };
    let schema_columns = inferred(&registered, kind, single_name, false, None)?;
    let describe = |c: &Column| format!("{} {}", crate::types::quote_identifier(&c.name), c.ty);
    let changed: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            schema_columns
                .get(*i)
                .is_none_or(|s| s.name != c.name || s.ty != c.ty)
        })
        .map(|(_, c)| describe(c))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let part = if key { "key" } else { "value" };
    let listed: Vec<String> = schema_columns.iter().map(describe).collect();
    Err(EngineError::statement(format!(
        "The following {part} columns are changed, missing or reordered: [{}]. Schema from schema registry is [{}]",
        changed.join(", "),
        listed.join(", ")
    )))
}

/// Whether a format's records carry schema ids, so that columns can be inferred.
fn has_schemas(kind: FormatKind) -> bool {
    matches!(
        kind,
        FormatKind::Avro | FormatKind::JsonSr | FormatKind::Protobuf
    )
}
