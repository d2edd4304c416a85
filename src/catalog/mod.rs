//! The metastore: streams, tables, custom types and running queries.

use std::collections::BTreeMap;

use crate::format::FormatSpec;
use crate::sql::ast::{SourceKind, WindowType};
use crate::types::{Column, Schema, SqlType};

/// How a windowed source's keys are windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowInfo {
    pub window_type: WindowType,
    /// The window size for time windows, in ms.
    pub size_ms: Option<i64>,
}

/// A stream or table.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
    pub schema: Schema,
    pub topic: String,
    pub key_format: FormatSpec,
    pub value_format: FormatSpec,
    /// The column that gives the record timestamp (`TIMESTAMP=`), and its format.
    pub timestamp_column: Option<String>,
    pub timestamp_format: Option<String>,
    pub window: Option<WindowInfo>,
    /// `CREATE SOURCE …`: readable, never written by a query.
    pub read_only: bool,
    /// The statement that created it, as written.
    pub sql: String,
    /// Whether the value format wraps a single column (an explicit WRAP_SINGLE_VALUE setting).
    pub wrap_single_value: Option<bool>,
}

impl Source {
    pub fn key_columns(&self) -> Vec<Column> {
        self.schema.key_columns().cloned().collect()
    }

    pub fn value_columns(&self) -> Vec<Column> {
        self.schema.value_columns().cloned().collect()
    }

    /// Whether a single value column is wrapped in an object or record.
    pub fn value_wrapped(&self) -> bool {
        let single = self.schema.value_columns().count() == 1;
        !single || self.value_format.wrap_single
    }

    /// The key features ksqlDB reports: `UNWRAP_SINGLES` for a single-column key in a
    /// schema-registry format, which could otherwise wrap it in a record.
    pub fn key_features(&self) -> Vec<String> {
        let single = self.schema.key_columns().count() == 1;
        if single && self.key_format.uses_schema_registry() {
            vec!["UNWRAP_SINGLES".to_string()]
        } else {
            Vec::new()
        }
    }

    /// The value features ksqlDB reports (`WRAP_SINGLES`/`UNWRAP_SINGLES` when set explicitly).
    pub fn value_features(&self) -> Vec<String> {
        match self.wrap_single_value {
            Some(true) => vec!["WRAP_SINGLES".to_string()],
            Some(false) => vec!["UNWRAP_SINGLES".to_string()],
            None => Vec::new(),
        }
    }
}

/// A running persistent query as the catalog records it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryInfo {
    pub id: String,
    pub sql: String,
    pub sink: Option<String>,
    pub sources: Vec<String>,
}

/// Every named object the engine knows.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, Source>,
    types: BTreeMap<String, SqlType>,
    queries: BTreeMap<String, QueryInfo>,
}

impl Catalog {
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.get(name)
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }

    /// The first source registered over a topic.
    pub fn source_for_topic(&self, topic: &str) -> Option<&Source> {
        self.sources.values().find(|s| s.topic == topic)
    }

    pub fn put_source(&mut self, source: Source) {
        self.sources.insert(source.name.clone(), source);
    }

    pub fn remove_source(&mut self, name: &str) -> Option<Source> {
        self.sources.remove(name)
    }

    pub fn custom_type(&self, name: &str) -> Option<&SqlType> {
        self.types.get(name)
    }

    pub fn custom_types(&self) -> impl Iterator<Item = (&String, &SqlType)> {
        self.types.iter()
    }

    pub fn put_type(&mut self, name: String, ty: SqlType) {
        self.types.insert(name, ty);
    }

    pub fn remove_type(&mut self, name: &str) -> Option<SqlType> {
        self.types.remove(name)
    }

    pub fn queries(&self) -> impl Iterator<Item = &QueryInfo> {
        self.queries.values()
    }

    pub fn query(&self, id: &str) -> Option<&QueryInfo> {
        self.queries.get(id)
    }

    pub fn put_query(&mut self, query: QueryInfo) {
        self.queries.insert(query.id.clone(), query);
    }

    pub fn remove_query(&mut self, id: &str) -> Option<QueryInfo> {
        self.queries.remove(id)
    }

    /// Queries that read from or write to a source.
    pub fn queries_using(&self, source: &str) -> Vec<&QueryInfo> {
        self.queries
            .values()
            .filter(|q| q.sink.as_deref() == Some(source) || q.sources.iter().any(|s| s == source))
            .collect()
    }
}
