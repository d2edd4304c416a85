//! The schema registry of the schema-registry formats (AVRO, JSON_SR, PROTOBUF).
//!
//! Records of those formats carry a schema id after a magic byte (Confluent's wire format), and
//! the registry maps ids to schemas and subjects (`<topic>-key`, `<topic>-value`) to their
//! versions, as Confluent Schema Registry does. Sluice's embedded registry lives in memory,
//! beside the embedded store; a schema registered twice under a subject keeps its id, and the
//! same schema text gets the same id under every subject.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use thiserror::Error;

/// The kind of a registered schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

/// A schema as registered: its id, its type, its text, and the files it imports by name
/// (Protobuf references), with their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub id: u32,
    pub schema_type: SchemaType,
    pub text: String,
    pub references: Vec<(String, String)>,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum RegistryError {
    #[error("Schema id {id} is already registered with a different schema")]
    IdTaken { id: u32 },
}

#[derive(Debug, Default)]
struct Registry {
    by_id: BTreeMap<u32, Arc<RegisteredSchema>>,
    /// Each subject's versions, oldest first, as schema ids.
    subjects: BTreeMap<String, Vec<u32>>,
    /// Avro schemas parsed once, by id.
    avro: BTreeMap<u32, Arc<apache_avro::Schema>>,
}

impl Registry {
    fn next_id(&self) -> u32 {
        self.by_id.keys().next_back().map_or(1, |last| last + 1)
    }

    fn insert(
        &mut self,
        id: u32,
        schema_type: SchemaType,
        text: &str,
        references: Vec<(String, String)>,
    ) {
        let schema = RegisteredSchema {
            id,
            schema_type,
            text: text.to_string(),
            references,
        };
        self.by_id.insert(id, Arc::new(schema));
    }

    /// Makes `id` the subject's latest version, unless it already is.
    fn add_version(&mut self, subject: &str, id: u32) {
        let versions = self.subjects.entry(subject.to_string()).or_default();
        if versions.last() != Some(&id) {
            versions.push(id);
        }
    }
}

/// Schemas by id and by subject. Cheap to share: clones see the same registry.
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistry {
    inner: Arc<Mutex<Registry>>,
}

impl PartialEq for SchemaRegistry {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for SchemaRegistry {}

impl SchemaRegistry {
    pub fn new() -> SchemaRegistry {
        SchemaRegistry::default()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves the maps consistent (every update is one
        // insert), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `text` under `subject`, unless its latest version already is that schema,
    /// and returns the schema's id.
    pub fn register(&self, subject: &str, schema_type: SchemaType, text: &str) -> u32 {
        let mut registry = self.lock();
        let existing = registry
            .by_id
            .values()
            .find(|s| s.schema_type == schema_type && s.text == text)
            .map(|s| s.id);
        let id = existing.unwrap_or_else(|| {
            let id = registry.next_id();
            registry.insert(id, schema_type, text, Vec::new());
            id
        });
        registry.add_version(subject, id);
        id
    }

    /// Registers `text` under `subject` with a chosen id, as a registry restored from
    /// elsewhere (or a test) does.
    pub fn register_with_id(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        id: u32,
    ) -> Result<(), RegistryError> {
        self.register_with_references(subject, schema_type, text, Some(id), Vec::new())
            .map(|_| ())
    }

    /// Registers `text`, which imports `references` (name and text), under `subject`, with a
    /// chosen id or the next one; returns the id.
    pub fn register_with_references(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        id: Option<u32>,
        references: Vec<(String, String)>,
    ) -> Result<u32, RegistryError> {
        let id = match id {
            Some(id) => id,
            None if references.is_empty() => return Ok(self.register(subject, schema_type, text)),
            None => self.lock().next_id(),
        };
        let mut registry = self.lock();
        match registry.by_id.get(&id) {
            Some(s) if s.text != text || s.schema_type != schema_type => {
                return Err(RegistryError::IdTaken { id });
            }
            Some(_) => {}
            None => registry.insert(id, schema_type, text, references),
        }
        registry.add_version(subject, id);
        Ok(id)
    }

    pub fn by_id(&self, id: u32) -> Option<Arc<RegisteredSchema>> {
        self.lock().by_id.get(&id).cloned()
    }

    /// The parsed Avro schema of an id, parsed by `parse` (the format layer's parser) the first
    /// time it is asked for and kept.
    pub fn avro_schema(
        &self,
        id: u32,
        parse: impl FnOnce(&str) -> Result<apache_avro::Schema, String>,
    ) -> Result<Arc<apache_avro::Schema>, String> {
        if let Some(parsed) = self.lock().avro.get(&id) {
            return Ok(parsed.clone());
        }
        let registered = self
            .by_id(id)
            .ok_or_else(|| format!("Schema not found; error code: 40403 (schema id {id})"))?;
        if registered.schema_type != SchemaType::Avro {
            return Err(format!("Schema {id} is not an Avro schema"));
        }
        let parsed = Arc::new(parse(&registered.text)?);
        self.lock().avro.insert(id, parsed.clone());
        Ok(parsed)
    }

    /// The latest version registered under `subject`.
    pub fn latest(&self, subject: &str) -> Option<Arc<RegisteredSchema>> {
        let registry = self.lock();
        let id = registry.subjects.get(subject)?.last()?;
        registry.by_id.get(id).cloned()
    }
}

/// The subject of a topic's keys or values.
pub fn subject(topic: &str, key: bool) -> String {
    format!("{topic}-{}", if key { "key" } else { "value" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_shared_by_equal_schemas_and_subjects_keep_versions() {
        let registry = SchemaRegistry::new();
        let a = registry.register("t-value", SchemaType::Avro, "\"int\"");
        let b = registry.register("u-value", SchemaType::Avro, "\"int\"");
        assert_eq!(a, b);
        let c = registry.register("t-value", SchemaType::Avro, "\"long\"");
        assert_ne!(a, c);
        assert_eq!(registry.latest("t-value").unwrap().id, c);
        assert_eq!(registry.by_id(a).unwrap().text, "\"int\"");
        registry
            .register_with_id("v-value", SchemaType::Avro, "\"string\"", 42)
            .unwrap();
        assert_eq!(
            registry.register_with_id("v-value", SchemaType::Avro, "\"bytes\"", 42),
            Err(RegistryError::IdTaken { id: 42 })
        );
        assert_eq!(
            registry.register("w-value", SchemaType::Avro, "\"bytes\""),
            43
        );
    }
}
