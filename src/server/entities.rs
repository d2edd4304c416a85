//! Statement outcomes rendered as ksqlDB's `/ksql` entities.

use std::collections::BTreeMap;

use crate::api::{
    self, ArgumentInfo, CommandState, CommandStatus, ConsumerPartitionOffsets, FieldInfo,
    FieldType, FunctionInfo, FunctionType, KafkaTopicInfo, KafkaTopicInfoExtended, KsqlEntity,
    Property, QueryError, QueryOffsetSummary, QueryTopicOffsetSummary, RunningQuery, SchemaInfo,
    SimpleFunctionInfo, SourceInfo, SourceType, Variable,
};
use crate::engine::Outcome;
use crate::engine::listing::{
    FunctionKind, Listing, QueryDescription, QueryStatus, SourceDescription,
};
use crate::sql::ast::SourceKind;
use crate::sql::split_statements;
use crate::types::{ColumnKind, SqlType};

/// The command id ksqlDB gives a statement: `stream/`NAME`/create`.
fn command_id(text: &str) -> String {
    let words: Vec<String> = split_statements(text)
        .first()
        .map(|s| s.text.clone())
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| w.trim_end_matches(';').to_string())
        .collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    let find = |kw: &str| upper.iter().position(|w| w == kw);
    let name_after = |i: usize| {
        let mut j = i + 1;
        while j < upper.len() && ["IF", "NOT", "EXISTS", "SOURCE"].contains(&upper[j].as_str()) {
            j += 1;
        }
        words
            .get(j)
            .map(|w| {
                let w = w.split('(').next().unwrap_or(w);
                if w.starts_with('`') {
                    w.to_string()
                } else {
                    format!("`{}`", w.to_uppercase())
                }
            })
            .unwrap_or_default()
    };
    match upper.first().map(String::as_str) {
        Some("CREATE") => {
            for kind in ["STREAM", "TABLE", "TYPE"] {
                if let Some(i) = find(kind) {
                    return format!("{}/{}/create", kind.to_lowercase(), name_after(i));
                }
            }
            "unknown/create".to_string()
        }
        Some("DROP") => {
            for kind in ["STREAM", "TABLE", "TYPE"] {
                if let Some(i) = find(kind) {
                    return format!("{}/{}/drop", kind.to_lowercase(), name_after(i));
                }
            }
            "unknown/drop".to_string()
        }
        Some("INSERT") => match find("INTO") {
            Some(i) => format!("stream/{}/create", name_after(i)),
            None => "stream/unknown/create".to_string(),
        },
        Some("TERMINATE") => format!(
            "terminate/{}/execute",
            words.get(1).cloned().unwrap_or_default()
        ),
        _ => "cluster/CONFIG/execute".to_string(),
    }
}

/// The entity for a statement that succeeded; `sequence` is its command's number (-1 when it
/// changed nothing).
pub fn entity(text: &str, outcome: Outcome, sequence: i64) -> KsqlEntity {
    let statement_text = text.to_string();
    let status = |message: String, query_id: Option<String>| KsqlEntity::CurrentStatus {
        statement_text: statement_text.clone(),
        command_id: command_id(text),
        command_status: CommandStatus {
            status: CommandState::Success,
            message,
            query_id,
        },
        command_sequence_number: sequence,
        warnings: Vec::new(),
    };
    match outcome {
        Outcome::Message(message) => status(message, None),
        Outcome::QueryStarted { query_id, message } => status(message, Some(query_id)),
        Outcome::Listing(listing) => listing_entity(statement_text, listing),
    }
}

fn listing_entity(statement_text: String, listing: Listing) -> KsqlEntity {
    let warnings = Vec::new();
    match listing {
        Listing::Sources { kind, sources } => {
            let infos = sources.iter().map(source_info).collect();
            match kind {
                SourceKind::Stream => KsqlEntity::Streams {
                    statement_text,
                    streams: infos,
                    warnings,
                },
                SourceKind::Table => KsqlEntity::Tables {
                    statement_text,
                    tables: infos,
                    warnings,
                },
            }
        }
        Listing::SourceDescriptions(sources) => KsqlEntity::SourceDescriptions {
            statement_text,
            source_descriptions: sources.iter().map(source_description).collect(),
            warnings,
        },
        Listing::Source(source) => KsqlEntity::SourceDescription {
            statement_text,
            source_description: source_description(&source),
            warnings,
        },
        Listing::Topics {
            extended: false,
            topics,
        } => KsqlEntity::KafkaTopics {
            statement_text,
            topics: topics
                .into_iter()
                .map(|t| KafkaTopicInfo {
                    replica_info: vec![t.replicas; t.partitions as usize],
                    name: t.name,
                })
                .collect(),
            warnings,
        },
        Listing::Topics {
            extended: true,
            topics,
        } => KsqlEntity::KafkaTopicsExtended {
            statement_text,
            topics: topics
                .into_iter()
                .map(|t| KafkaTopicInfoExtended {
                    replica_info: vec![t.replicas; t.partitions as usize],
                    name: t.name,
                    consumer_count: t.consumers,
                    consumer_group_count: t.consumer_groups,
                })
                .collect(),
            warnings,
        },
        Listing::Queries(queries) => KsqlEntity::Queries {
            statement_text,
            queries: queries.iter().map(running_query).collect(),
            warnings,
        },
        Listing::Query(q) => KsqlEntity::QueryDescription {
            statement_text,
            query_description: api::QueryDescription {
                id: q.query.id.clone(),
                statement_text: q.query.sql.clone(),
                sources: q.query.sources.clone(),
                sinks: q.query.sink.iter().cloned().collect(),
                query_type: "PERSISTENT".to_string(),
                state: q.status.name().to_string(),
                query_errors: match &q.status {
                    QueryStatus::Error(message) => vec![QueryError {
                        error_message: message.clone(),
                        kind: "UNKNOWN".to_string(),
                    }],
                    QueryStatus::Running => Vec::new(),
                },
            },
            warnings,
        },
        Listing::Properties(properties) => KsqlEntity::Properties {
            statement_text,
            properties: properties
                .into_iter()
                .map(|(name, value)| Property {
                    name,
                    scope: "KSQL".to_string(),
                    value,
                })
                .collect(),
            overwritten_properties: Vec::new(),
            default_properties: Vec::new(),
            warnings,
        },
        Listing::Types(types) => KsqlEntity::TypeList {
            statement_text,
            types: types
                .iter()
                .map(|(name, ty)| (name.clone(), schema_info(ty)))
                .collect(),
            warnings,
        },
        Listing::Functions(functions) => KsqlEntity::FunctionNames {
            statement_text,
            functions: functions
                .into_iter()
                .map(|f| SimpleFunctionInfo {
                    name: f.name,
                    kind: function_type(f.kind),
                    category: f.category,
                })
                .collect(),
            warnings,
        },
        Listing::Function(f) => KsqlEntity::DescribeFunction {
            statement_text,
            name: f.name,
            description: f.description,
            author: "Confluent".to_string(),
            version: String::new(),
            path: "internal".to_string(),
            functions: f
                .overloads
                .into_iter()
                .map(|o| FunctionInfo {
                    arguments: o
                        .arguments
                        .into_iter()
                        .map(|a| ArgumentInfo {
                            name: a.name,
                            kind: a.ty,
                            description: String::new(),
                            is_variadic: a.variadic,
                        })
                        .collect(),
                    return_type: o.returns,
                    description: o.description,
                })
                .collect(),
            kind: function_type(f.kind),
            warnings,
        },
        Listing::Variables(variables) => KsqlEntity::Variables {
            statement_text,
            variables: variables
                .into_iter()
                .map(|(name, value)| Variable { name, value })
                .collect(),
            warnings,
        },
    }
}

fn function_type(kind: FunctionKind) -> FunctionType {
    match kind {
        FunctionKind::Scalar => FunctionType::Scalar,
        FunctionKind::Aggregate => FunctionType::Aggregate,
        FunctionKind::Table => FunctionType::Table,
    }
}

fn source_type(kind: SourceKind) -> SourceType {
    match kind {
        SourceKind::Stream => SourceType::Stream,
        SourceKind::Table => SourceType::Table,
    }
}

fn source_info(d: &SourceDescription) -> SourceInfo {
    let s = &d.source;
    SourceInfo {
        kind: source_type(s.kind),
        name: s.name.clone(),
        topic: s.topic.clone(),
        key_format: s.key_format.kind.name().to_string(),
        value_format: s.value_format.kind.name().to_string(),
        is_windowed: s.window.is_some(),
    }
}

fn source_description(d: &SourceDescription) -> api::SourceDescription {
    let s = &d.source;
    let fields = s
        .schema
        .columns
        .iter()
        .map(|c| FieldInfo {
            name: c.name.clone(),
            schema: schema_info(&c.ty),
            kind: match c.kind {
                ColumnKind::Key if s.kind == SourceKind::Table => Some(FieldType::PrimaryKey),
                ColumnKind::Key => Some(FieldType::Key),
                ColumnKind::Header => Some(FieldType::Header),
                ColumnKind::Value => None,
            },
            header_key: match c.kind {
                ColumnKind::Header => c.header_key.clone(),
                _ => None,
            },
        })
        .collect();
    api::SourceDescription {
        name: s.name.clone(),
        window_type: s
            .window
            .map(|w| format!("{:?}", w.window_type).to_uppercase()),
        read_queries: d.read_queries.iter().map(running_query).collect(),
        write_queries: d.write_queries.iter().map(running_query).collect(),
        fields,
        kind: source_type(s.kind),
        timestamp: s.timestamp_column.clone().unwrap_or_default(),
        statistics: String::new(),
        error_stats: String::new(),
        extended: d.extended,
        key_format: s.key_format.kind.name().to_string(),
        value_format: s.value_format.kind.name().to_string(),
        topic: s.topic.clone(),
        partitions: d.partitions,
        replication: d.replicas,
        statement: s.sql.clone(),
        query_offset_summaries: d
            .offsets
            .iter()
            .map(|group| QueryOffsetSummary {
                group_id: group.group.clone(),
                topic_summaries: group
                    .topics
                    .iter()
                    .map(|t| QueryTopicOffsetSummary {
                        kafka_topic: t.topic.clone(),
                        offsets: t
                            .partitions
                            .iter()
                            .map(|p| ConsumerPartitionOffsets {
                                partition: p.partition,
                                log_start_offset: p.log_start,
                                log_end_offset: p.log_end,
                                consumer_offset: p.committed,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
        source_constraints: Vec::new(),
    }
}

fn running_query(q: &QueryDescription) -> RunningQuery {
    let state = q.status.name().to_string();
    RunningQuery {
        query_string: q.query.sql.clone(),
        sinks: q.query.sink.iter().cloned().collect(),
        sink_kafka_topics: q.sink_topic.iter().cloned().collect(),
        id: q.query.id.clone(),
        status_count: BTreeMap::from([(state.clone(), 1)]),
        query_type: "PERSISTENT".to_string(),
        state,
    }
}

/// A column type as ksqlDB's entities describe it.
fn schema_info(ty: &SqlType) -> SchemaInfo {
    let plain = |kind: &str| SchemaInfo {
        kind: kind.to_string(),
        fields: None,
        member_schema: None,
        parameters: None,
    };
    match ty {
        SqlType::Array(inner) => SchemaInfo {
            member_schema: Some(Box::new(schema_info(inner))),
            ..plain("ARRAY")
        },
        SqlType::Map(_, value) => SchemaInfo {
            member_schema: Some(Box::new(schema_info(value))),
            ..plain("MAP")
        },
        SqlType::Struct(fields) => SchemaInfo {
            fields: Some(
                fields
                    .iter()
                    .map(|f| FieldInfo {
                        name: f.name.clone(),
                        schema: schema_info(&f.ty),
                        kind: None,
                        header_key: None,
                    })
                    .collect(),
            ),
            ..plain("STRUCT")
        },
        SqlType::Decimal { precision, scale } => SchemaInfo {
            parameters: Some(BTreeMap::from([
                ("precision".to_string(), i64::from(*precision)),
                ("scale".to_string(), i64::from(*scale)),
            ])),
            ..plain("DECIMAL")
        },
        SqlType::Int => plain("INTEGER"),
        other => plain(&other.to_string()),
    }
}

/// For `/status`: the command id, status and message of a `currentStatus` entity.
pub fn command_status(entity: &KsqlEntity) -> Option<(String, CommandStatus)> {
    match entity {
        KsqlEntity::CurrentStatus {
            command_id,
            command_status,
            ..
        } => Some((command_id.clone(), command_status.clone())),
        _ => None,
    }
}
