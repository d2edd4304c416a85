//! SHOW, DESCRIBE and EXPLAIN: the catalog as ksqlDB's REST entities.

use serde_json::{Value, json};

use super::{Engine, EngineError, Outcome};
use crate::catalog::Source;
use crate::sql::ast::{ExplainTarget, ShowKind, SourceKind};
use crate::types::{ColumnKind, SqlType};

/// A field schema as ksqlDB's entities describe it.
fn schema_json(ty: &SqlType) -> Value {
    match ty {
        SqlType::Array(inner) => {
            json!({"type": "ARRAY", "fields": null, "memberSchema": schema_json(inner)})
        }
        SqlType::Map(_, v) => {
            json!({"type": "MAP", "fields": null, "memberSchema": schema_json(v)})
        }
        SqlType::Struct(fields) => json!({
            "type": "STRUCT",
            "fields": fields.iter().map(|f| json!({"name": f.name, "schema": schema_json(&f.ty)})).collect::<Vec<_>>(),
            "memberSchema": null
        }),
        SqlType::Decimal { precision, scale } => json!({
            "type": "DECIMAL", "fields": null, "memberSchema": null,
            "parameters": {"precision": precision, "scale": scale}
        }),
        SqlType::Int => json!({"type": "INTEGER", "fields": null, "memberSchema": null}),
        other => json!({"type": other.to_string(), "fields": null, "memberSchema": null}),
    }
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    }
}

impl Engine {
    fn source_summary(&self, s: &Source) -> Value {
        json!({
            "type": kind_name(s.kind),
            "name": s.name,
            "topic": s.topic,
            "keyFormat": s.key_format.kind.name(),
            "valueFormat": s.value_format.kind.name(),
            "isWindowed": s.window.is_some(),
        })
    }

    fn source_description(&self, s: &Source, extended: bool) -> Value {
        let fields: Vec<Value> = s
            .schema
            .columns
            .iter()
            .map(|c| {
                let mut f = json!({"name": c.name, "schema": schema_json(&c.ty)});
                if c.kind == ColumnKind::Key {
                    f["type"] = json!(if s.kind == SourceKind::Table {
                        "PRIMARY_KEY"
                    } else {
                        "KEY"
                    });
                } else if c.kind == ColumnKind::Header {
                    f["type"] = json!("HEADER");
                    f["headerKey"] = json!(c.header_key);
                }
                f
            })
            .collect();
        let queries = |write: bool| -> Vec<Value> {
            self.catalog
                .queries()
                .filter(|q| {
                    if write {
                        q.sink.as_deref() == Some(s.name.as_str())
                    } else {
                        q.sources.iter().any(|x| x == &s.name)
                    }
                })
                .map(|q| {
                    json!({
                        "queryString": q.sql,
                        "sinks": q.sink.iter().collect::<Vec<_>>(),
                        "id": q.id,
                        "state": self.query_state(&q.id).0,
                        "queryType": "PERSISTENT",
                    })
                })
                .collect()
        };
        let partitions = self
            .store
            .describe_topic(&s.topic)
            .ok()
            .map(|t| t.config.partitions)
            .unwrap_or(0);
        json!({
            "name": s.name,
            "windowType": s.window.map(|w| format!("{:?}", w.window_type).to_uppercase()),
            "readQueries": queries(false),
            "writeQueries": queries(true),
            "fields": fields,
            "type": kind_name(s.kind),
            "timestamp": s.timestamp_column.clone().unwrap_or_default(),
            "statistics": "",
            "errorStats": "",
            "extended": extended,
            "keyFormat": s.key_format.kind.name(),
            "valueFormat": s.value_format.kind.name(),
            "topic": s.topic,
            "partitions": partitions,
            "replication": 1,
            "statement": s.sql,
            "queryOffsetSummaries": [],
            "sourceConstraints": [],
        })
    }

    pub(super) fn show(&self, kind: &ShowKind, extended: bool, text: &str) -> Value {
        match kind {
            ShowKind::Streams | ShowKind::Tables => {
                let want = if *kind == ShowKind::Streams {
                    SourceKind::Stream
                } else {
                    SourceKind::Table
                };
                let items: Vec<Value> = self
                    .catalog
                    .sources()
                    .filter(|s| s.kind == want)
                    .map(|s| {
                        if extended {
                            self.source_description(s, true)
                        } else {
                            self.source_summary(s)
                        }
                    })
                    .collect();
                let (tag, field) = match (want, extended) {
                    (_, true) => ("source_descriptions", "sourceDescriptions"),
                    (SourceKind::Stream, false) => ("streams", "streams"),
                    (SourceKind::Table, false) => ("tables", "tables"),
                };
                json!({"@type": tag, "statementText": text, field: items, "warnings": []})
            }
            ShowKind::Topics => {
                let topics: Vec<Value> = self
                    .store
                    .list_topics()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "replicaInfo": vec![t.config.replicas; t.config.partitions as usize],
                        })
                    })
                    .collect();
                json!({"@type": "kafka_topics", "statementText": text, "topics": topics, "warnings": []})
            }
            ShowKind::Queries => {
                let queries: Vec<Value> = self
                    .catalog
                    .queries()
                    .map(|q| {
                        let topic = q
                            .sink
                            .as_ref()
                            .and_then(|s| self.catalog.source(s))
                            .map(|s| s.topic.clone());
                        json!({
                            "queryString": q.sql,
                            "sinks": q.sink.iter().collect::<Vec<_>>(),
                            "sinkKafkaTopics": topic.iter().collect::<Vec<_>>(),
                            "id": q.id,
                            "statusCount": {self.query_state(&q.id).0: 1},
                            "queryType": "PERSISTENT",
                            "state": self.query_state(&q.id).0,
                        })
                    })
                    .collect();
                json!({"@type": "queries", "statementText": text, "queries": queries, "warnings": []})
            }
            ShowKind::Properties => {
                let properties: Vec<Value> = self
                    .properties
                    .iter()
                    .map(|(k, v)| json!({"name": k, "scope": "KSQL", "value": v}))
                    .collect();
                json!({"@type": "properties", "statementText": text, "properties": properties, "overwrittenProperties": [], "defaultProperties": [], "warnings": []})
            }
            ShowKind::Types => {
                let mut types = serde_json::Map::new();
                for (name, ty) in self.catalog.custom_types() {
                    types.insert(name.clone(), schema_json(ty));
                }
                json!({"@type": "type_list", "statementText": text, "types": types, "warnings": []})
            }
            ShowKind::Functions => {
                let mut functions: Vec<Value> = Vec::new();
                for f in crate::functions::FunctionRegistry::global().scalars() {
                    functions
                        .push(json!({"name": f.name, "type": "SCALAR", "category": f.category}));
                }
                for f in crate::functions::aggregate::all() {
                    functions.push(
                        json!({"name": f.name, "type": "AGGREGATE", "category": "AGGREGATE"}),
                    );
                }
                for f in crate::functions::table::all() {
                    functions.push(json!({"name": f.name, "type": "TABLE", "category": "TABLE"}));
                }
                functions.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                json!({"@type": "function_names", "statementText": text, "functions": functions, "warnings": []})
            }
            ShowKind::Variables => {
                let variables: Vec<Value> = self
                    .variables
                    .iter()
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect();
                json!({"@type": "variables", "statementText": text, "variables": variables, "warnings": []})
            }
        }
    }

    pub(super) fn describe_source(
        &self,
        name: &str,
        extended: bool,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        let Some(s) = self.catalog.source(name) else {
            return Err(EngineError::statement(format!(
                "Could not find STREAM/TABLE '{name}' in the Metastore"
            )));
        };
        Ok(Outcome::Entity(json!({
            "@type": "sourceDescription",
            "statementText": text,
            "sourceDescription": self.source_description(s, extended),
            "warnings": [],
        })))
    }

    /// DESCRIBE FUNCTION: a function's overloads, as ksqlDB's `describe_function` entity.
    pub(super) fn describe_function(&self, name: &str, text: &str) -> Result<Outcome, EngineError> {
        let entity = |kind: &str, description: &str, overloads: Vec<Value>, name: &str| {
            json!({
                "@type": "describe_function",
                "statementText": text,
                "name": name,
                "description": description,
                "author": "Confluent",
                "version": "",
                "path": "internal",
                "functions": overloads,
                "type": kind,
                "warnings": [],
            })
        };
        if let Some(f) = crate::functions::FunctionRegistry::global().scalar(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| {
                    json!({
                        "arguments": o.display(),
                        "returnType": o.returns.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "T".to_string()),
                        "description": f.description,
                        "argumentTypes": o.display(),
                    })
                })
                .collect();
            return Ok(Outcome::Entity(entity(
                "SCALAR",
                f.description,
                overloads,
                f.name,
            )));
        }
        if let Some(f) = crate::functions::aggregate::lookup(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| {
                    json!({
                        "arguments": match &o.params {
                            crate::functions::registry::Params::Generic { display, .. } => display.to_string(),
                            crate::functions::registry::Params::Fixed(p) | crate::functions::registry::Params::Variadic(p, _) => {
                                p.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
                            }
                        },
                        "returnType": o.returns.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "T".to_string()),
                        "description": f.description,
                    })
                })
                .collect();
            return Ok(Outcome::Entity(entity(
                "AGGREGATE",
                f.description,
                overloads,
                f.name,
            )));
        }
        if let Some(f) = crate::functions::table::lookup(name) {
            let overloads = f
                .overloads
                .iter()
                .map(|o| json!({"arguments": o.display, "description": f.description}))
                .collect();
            return Ok(Outcome::Entity(entity(
                "TABLE",
                f.description,
                overloads,
                f.name,
            )));
        }
        Err(EngineError::statement(format!(
            "Can't find any functions with the name '{name}'"
        )))
    }

    pub(super) fn describe_all(&self, kind: SourceKind, extended: bool, text: &str) -> Value {
        let items: Vec<Value> = self
            .catalog
            .sources()
            .filter(|s| s.kind == kind)
            .map(|s| self.source_description(s, extended))
            .collect();
        json!({"@type": "source_descriptions", "statementText": text, "sourceDescriptions": items, "warnings": []})
    }

    /// A persistent query's state as ksqlDB names it (RUNNING or ERROR), and the error that
    /// stopped it.
    fn query_state(&self, id: &str) -> (&'static str, Option<String>) {
        match self.runtime.find(id).map(|q| q.state()) {
            Some(crate::exec::QueryState::Error(message)) => ("ERROR", Some(message)),
            _ => ("RUNNING", None),
        }
    }

    pub(super) fn explain(
        &self,
        target: ExplainTarget,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        match target {
            ExplainTarget::QueryId(id) => {
                let Some(q) = self
                    .catalog
                    .queries()
                    .find(|q| q.id.eq_ignore_ascii_case(&id))
                else {
                    return Err(EngineError::statement(format!(
                        "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries."
                    )));
                };
                let (state, error) = self.query_state(&q.id);
                let errors: Vec<Value> = error
                    .into_iter()
                    .map(|message| json!({"errorMessage": message, "type": "UNKNOWN"}))
                    .collect();
                Ok(Outcome::Entity(json!({
                    "@type": "queryDescription",
                    "statementText": text,
                    "queryDescription": {
                        "id": q.id,
                        "statementText": q.sql,
                        "sources": q.sources,
                        "sinks": q.sink.iter().collect::<Vec<_>>(),
                        "queryType": "PERSISTENT",
                        "state": state,
                        "queryErrors": errors,
                    },
                    "warnings": [],
                })))
            }
            ExplainTarget::Statement(_) => Err(EngineError::statement(
                "EXPLAIN of a statement is not supported yet; EXPLAIN a running query by its id.",
            )),
        }
    }
}
