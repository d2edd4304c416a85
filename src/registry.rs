//! The schema registry of the schema-registry formats (AVRO, JSON_SR, PROTOBUF).
//!
//! Records of those formats carry a schema id after a magic byte (Confluent's wire format), and
//! the registry maps ids to schemas and subjects (`<topic>-key`, `<topic>-value`) to their
//! versions, as Confluent Schema Registry does. Sluice's embedded registry is held in memory,
//! beside the embedded store; a schema registered twice under a subject keeps its id, and the
//! same schema text gets the same id under every subject.
//!
//! Each registration is also handed to a journal ([`SchemaRegistry::journal_to`]): the engine
//! writes it to the compacted `_schemas` topic, as Confluent's registry keeps its state, and
//! restores the registry from there at start-up ([`SchemaRegistry::restore`]). The server
//! answers Confluent's REST API for it (`server::schemas`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The kind of a registered schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// The name Confluent's API gives it (`schemaType`; AVRO when absent).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

/// One registration: a schema as a subject's version, as the `_schemas` topic records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRecord {
    pub subject: String,
    pub version: u32,
    pub id: u32,
    pub schema_type: SchemaType,
    pub schema: String,
    /// The files a Protobuf schema imports: each name and text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<(String, String)>,
}

/// Where registrations are written as they happen.
pub type Journal = Arc<dyn Fn(&SchemaRecord) + Send + Sync>;

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

#[derive(Default)]
struct Registry {
    by_id: BTreeMap<u32, Arc<RegisteredSchema>>,
    /// Each subject's versions, oldest first, as schema ids.
    subjects: BTreeMap<String, Vec<u32>>,
    /// Avro schemas parsed once, by id.
    avro: BTreeMap<u32, Arc<apache_avro::Schema>>,
    journal: Option<Journal>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("by_id", &self.by_id)
            .field("subjects", &self.subjects)
            .finish_non_exhaustive()
    }
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

    /// Makes `id` the subject's latest version, unless it already is, and journals it.
    fn add_version(&mut self, subject: &str, id: u32) {
        let versions = self.subjects.entry(subject.to_string()).or_default();
        if versions.last() == Some(&id) {
            return;
        }
        versions.push(id);
        let version = u32::try_from(versions.len()).unwrap_or(u32::MAX);
        if let (Some(journal), Some(schema)) = (&self.journal, self.by_id.get(&id)) {
            journal(&SchemaRecord {
                subject: subject.to_string(),
                version,
                id,
                schema_type: schema.schema_type,
                schema: schema.text.clone(),
                references: schema.references.clone(),
            });
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

    /// Every subject, in order.
    pub fn subjects(&self) -> Vec<String> {
        self.lock().subjects.keys().cloned().collect()
    }

    /// A subject's versions, as schema ids, oldest (version 1) first; `None` when the subject
    /// has none.
    pub fn versions(&self, subject: &str) -> Option<Vec<u32>> {
        self.lock().subjects.get(subject).cloned()
    }

    /// The subjects and versions a schema is registered as.
    pub fn uses_of(&self, id: u32) -> Vec<(String, u32)> {
        let registry = self.lock();
        let mut uses = Vec::new();
        for (subject, ids) in &registry.subjects {
            for (version, _) in (1..).zip(ids).filter(|(_, i)| **i == id) {
                uses.push((subject.clone(), version));
            }
        }
        uses
    }

    /// Hands every registration from now on to `journal`.
    pub fn journal_to(&self, journal: Journal) {
        self.lock().journal = Some(journal);
    }

    /// Puts back a registration a journal recorded. Versions must come in order; one that is
    /// already there is skipped.
    pub fn restore(&self, record: SchemaRecord) -> Result<(), RegistryError> {
        let mut registry = self.lock();
        match registry.by_id.get(&record.id) {
            Some(s) if s.text != record.schema || s.schema_type != record.schema_type => {
                return Err(RegistryError::IdTaken { id: record.id });
            }
            Some(_) => {}
            None => registry.insert(
                record.id,
                record.schema_type,
                &record.schema,
                record.references,
            ),
        }
        let versions = registry.subjects.entry(record.subject).or_default();
        if usize::try_from(record.version).is_ok_and(|v| v == versions.len() + 1) {
            versions.push(record.id);
        }
        Ok(())
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

    #[test]
    fn a_journal_restores_the_same_ids_and_versions() {
        let journal = Arc::new(Mutex::new(Vec::new()));
        let registry = SchemaRegistry::new();
        let written = Arc::clone(&journal);
        registry.journal_to(Arc::new(move |record| {
            written.lock().unwrap().push(record.clone());
        }));
        let a = registry.register("t-value", SchemaType::Avro, "\"int\"");
        registry.register("t-value", SchemaType::Avro, "\"int\"");
        let b = registry.register("t-value", SchemaType::Json, "{}");
        registry
            .register_with_references(
                "p-value",
                SchemaType::Protobuf,
                "import \"x.proto\";",
                Some(9),
                vec![("x.proto".into(), "message X {}".into())],
            )
            .unwrap();
        let records = journal.lock().unwrap().clone();
        assert_eq!(records.len(), 3);
        let restored = SchemaRegistry::new();
        for record in records {
            let json = serde_json::to_string(&record).unwrap();
            restored
                .restore(serde_json::from_str(&json).unwrap())
                .unwrap();
        }
        assert_eq!(restored.versions("t-value"), Some(vec![a, b]));
        assert_eq!(restored.by_id(9), registry.by_id(9));
        assert_eq!(restored.subjects(), ["p-value", "t-value"]);
        assert_eq!(
            restored.register("u-value", SchemaType::Avro, "\"long\""),
            10
        );
    }
}
