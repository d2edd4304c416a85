//! ksqlDB's REST API as types: the `/ksql` entities, error bodies and server info, with the
//! field names ksqlDB's clients read. The server writes them and the client reads them, so the
//! two cannot drift apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One statement's answer from `/ksql`, tagged by `@type` as ksqlDB tags it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@type")]
pub enum KsqlEntity {
    /// A statement that changed something (CREATE, DROP, TERMINATE, SET…).
    #[serde(rename = "currentStatus", rename_all = "camelCase")]
    CurrentStatus {
        statement_text: String,
        command_id: String,
        command_status: CommandStatus,
        command_sequence_number: i64,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "streams", rename_all = "camelCase")]
    Streams {
        statement_text: String,
        streams: Vec<SourceInfo>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "tables", rename_all = "camelCase")]
    Tables {
        statement_text: String,
        tables: Vec<SourceInfo>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    /// SHOW STREAMS EXTENDED, DESCRIBE STREAMS.
    #[serde(rename = "source_descriptions", rename_all = "camelCase")]
    SourceDescriptions {
        statement_text: String,
        source_descriptions: Vec<SourceDescription>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    /// DESCRIBE name [EXTENDED].
    #[serde(rename = "sourceDescription", rename_all = "camelCase")]
    SourceDescription {
        statement_text: String,
        source_description: SourceDescription,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "kafka_topics", rename_all = "camelCase")]
    KafkaTopics {
        statement_text: String,
        topics: Vec<KafkaTopicInfo>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    /// SHOW TOPICS EXTENDED.
    #[serde(rename = "kafka_topics_extended", rename_all = "camelCase")]
    KafkaTopicsExtended {
        statement_text: String,
        topics: Vec<KafkaTopicInfoExtended>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "queries", rename_all = "camelCase")]
    Queries {
        statement_text: String,
        queries: Vec<RunningQuery>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    /// EXPLAIN query_id.
    #[serde(rename = "queryDescription", rename_all = "camelCase")]
    QueryDescription {
        statement_text: String,
        query_description: QueryDescription,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "properties", rename_all = "camelCase")]
    Properties {
        statement_text: String,
        properties: Vec<Property>,
        #[serde(default)]
        overwritten_properties: Vec<String>,
        #[serde(default)]
        default_properties: Vec<String>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "type_list", rename_all = "camelCase")]
    TypeList {
        statement_text: String,
        types: BTreeMap<String, SchemaInfo>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "function_names", rename_all = "camelCase")]
    FunctionNames {
        statement_text: String,
        functions: Vec<SimpleFunctionInfo>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    /// DESCRIBE FUNCTION.
    #[serde(rename = "describe_function", rename_all = "camelCase")]
    DescribeFunction {
        statement_text: String,
        name: String,
        description: String,
        author: String,
        version: String,
        path: String,
        functions: Vec<FunctionInfo>,
        #[serde(rename = "type")]
        kind: FunctionType,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
    #[serde(rename = "variables", rename_all = "camelCase")]
    Variables {
        statement_text: String,
        variables: Vec<Variable>,
        #[serde(default)]
        warnings: Vec<Warning>,
    },
}

impl KsqlEntity {
    /// The statement this entity answers.
    pub fn statement_text(&self) -> &str {
        match self {
            KsqlEntity::CurrentStatus { statement_text, .. }
            | KsqlEntity::Streams { statement_text, .. }
            | KsqlEntity::Tables { statement_text, .. }
            | KsqlEntity::SourceDescriptions { statement_text, .. }
            | KsqlEntity::SourceDescription { statement_text, .. }
            | KsqlEntity::KafkaTopics { statement_text, .. }
            | KsqlEntity::KafkaTopicsExtended { statement_text, .. }
            | KsqlEntity::Queries { statement_text, .. }
            | KsqlEntity::QueryDescription { statement_text, .. }
            | KsqlEntity::Properties { statement_text, .. }
            | KsqlEntity::TypeList { statement_text, .. }
            | KsqlEntity::FunctionNames { statement_text, .. }
            | KsqlEntity::DescribeFunction { statement_text, .. }
            | KsqlEntity::Variables { statement_text, .. } => statement_text,
        }
    }

    /// What the server warns of with this entity.
    pub fn warnings(&self) -> &[Warning] {
        match self {
            KsqlEntity::CurrentStatus { warnings, .. }
            | KsqlEntity::Streams { warnings, .. }
            | KsqlEntity::Tables { warnings, .. }
            | KsqlEntity::SourceDescriptions { warnings, .. }
            | KsqlEntity::SourceDescription { warnings, .. }
            | KsqlEntity::KafkaTopics { warnings, .. }
            | KsqlEntity::KafkaTopicsExtended { warnings, .. }
            | KsqlEntity::Queries { warnings, .. }
            | KsqlEntity::QueryDescription { warnings, .. }
            | KsqlEntity::Properties { warnings, .. }
            | KsqlEntity::TypeList { warnings, .. }
            | KsqlEntity::FunctionNames { warnings, .. }
            | KsqlEntity::DescribeFunction { warnings, .. }
            | KsqlEntity::Variables { warnings, .. } => warnings,
        }
    }
}

/// A warning attached to an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub message: String,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandStatus {
    pub status: CommandState,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommandState {
    Queued,
    Parsing,
    Executing,
    Success,
    Error,
    Terminated,
}

/// A stream or table in SHOW STREAMS / SHOW TABLES.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub name: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub is_windowed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceType {
    Stream,
    Table,
}

/// A stream or table as DESCRIBE shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceDescription {
    pub name: String,
    pub window_type: Option<String>,
    pub read_queries: Vec<RunningQuery>,
    pub write_queries: Vec<RunningQuery>,
    pub fields: Vec<FieldInfo>,
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub timestamp: String,
    pub statistics: String,
    pub error_stats: String,
    pub extended: bool,
    pub key_format: String,
    pub value_format: String,
    pub topic: String,
    pub partitions: u32,
    pub replication: i16,
    pub statement: String,
    #[serde(default)]
    pub query_offset_summaries: Vec<QueryOffsetSummary>,
    #[serde(default)]
    pub source_constraints: Vec<String>,
}

/// DESCRIBE … EXTENDED: a writing query's consumer group and its position in each input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryOffsetSummary {
    pub group_id: String,
    pub topic_summaries: Vec<QueryTopicOffsetSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryTopicOffsetSummary {
    pub kafka_topic: String,
    pub offsets: Vec<ConsumerPartitionOffsets>,
}

/// A partition's first and next offsets and the group's committed offset; the lag is their
/// difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerPartitionOffsets {
    pub partition: u32,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub consumer_offset: u64,
}

/// A column of a source or query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    pub schema: SchemaInfo,
    /// KEY or PRIMARY_KEY for key columns, HEADER for header columns, absent for values.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FieldType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldType {
    Key,
    PrimaryKey,
    Header,
}

/// A column's type: `type` is the SQL type's name, `fields` a struct's fields and
/// `memberSchema` an array's element or a map's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub fields: Option<Vec<FieldInfo>>,
    pub member_schema: Option<Box<SchemaInfo>>,
    /// DECIMAL's precision and scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, i64>>,
}

/// A persistent query in SHOW QUERIES and in a source's read and write queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningQuery {
    pub query_string: String,
    pub sinks: Vec<String>,
    pub sink_kafka_topics: Vec<String>,
    pub id: String,
    /// How many of the query's instances are in each state (one server: one instance).
    pub status_count: BTreeMap<String, u32>,
    pub query_type: String,
    pub state: String,
}

/// A query as EXPLAIN describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDescription {
    pub id: String,
    pub statement_text: String,
    pub sources: Vec<String>,
    pub sinks: Vec<String>,
    pub query_type: String,
    pub state: String,
    pub query_errors: Vec<QueryError>,
}

/// An error that stopped a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryError {
    pub error_message: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicInfo {
    pub name: String,
    /// The replication factor of each partition.
    pub replica_info: Vec<i16>,
}

/// A topic in SHOW TOPICS EXTENDED: how many consumers and consumer groups read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTopicInfoExtended {
    pub name: String,
    pub replica_info: Vec<i16>,
    pub consumer_count: usize,
    pub consumer_group_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub scope: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FunctionType {
    Scalar,
    Aggregate,
    Table,
}

/// A function in SHOW FUNCTIONS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleFunctionInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FunctionType,
    pub category: String,
}

/// One overload in DESCRIBE FUNCTION.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    pub arguments: Vec<ArgumentInfo>,
    pub return_type: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgumentInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub is_variadic: bool,
}

/// ksqlDB's error body: `generic_error`, or `statement_error` with the statement and the
/// entities of the statements before it in the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@type")]
pub enum ErrorBody {
    #[serde(rename = "generic_error")]
    Generic { error_code: u32, message: String },
    #[serde(rename = "statement_error", rename_all = "camelCase")]
    Statement {
        #[serde(rename = "error_code")]
        error_code: u32,
        message: String,
        statement_text: String,
        entities: Vec<KsqlEntity>,
    },
}

/// The body of `/ksql` and `/query`: statements, with properties and variables for them
/// (JSON scalars, used as text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlRequest {
    pub ksql: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub streams_properties: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub session_variables: BTreeMap<String, serde_json::Value>,
}

/// The body of `/query-stream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStreamRequest {
    pub sql: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub session_variables: BTreeMap<String, serde_json::Value>,
}

/// The body of `/close-query`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseQueryRequest {
    pub query_id: Option<String>,
}

/// One element of `/query`'s streamed answer (a JSON array, one element per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StreamedRow {
    Header(QueryHeader),
    Row(RowData),
    /// Why the rows ended: "Limit Reached", "Query Completed".
    FinalMessage(String),
    ErrorMessage(ErrorBody),
}

/// The query's id and its columns, as `` `NAME` TYPE [KEY], … ``.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryHeader {
    pub query_id: String,
    pub schema: String,
    /// The rows' protobuf message (`application/vnd.ksql.v1+protobuf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto_schema: Option<String>,
}

/// A row: its values, or (protobuf) its message in base64; a table's deleted row is a
/// tombstone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protobuf_bytes: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tombstone: bool,
}

/// `GET /info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfoResponse {
    #[serde(rename = "KsqlServerInfo")]
    pub server_info: ServerInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub version: String,
    pub kafka_cluster_id: String,
    pub ksql_service_id: String,
    pub server_status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entity_is_tagged_and_named_as_ksqldb_names_it() {
        let entity = KsqlEntity::CurrentStatus {
            statement_text: "CREATE STREAM S …;".into(),
            command_id: "stream/`S`/create".into(),
            command_status: CommandStatus {
                status: CommandState::Success,
                message: "Stream created".into(),
                query_id: None,
            },
            command_sequence_number: 2,
            warnings: Vec::new(),
        };
        let json = serde_json::to_value(&entity).unwrap();
        assert_eq!(json["@type"], "currentStatus");
        assert_eq!(json["commandStatus"]["status"], "SUCCESS");
        assert_eq!(json["commandSequenceNumber"], 2);
        assert!(json["commandStatus"].get("queryId").is_none());
        let back: KsqlEntity = serde_json::from_value(json).unwrap();
        assert_eq!(back, entity);
    }

    #[test]
    fn a_schema_keeps_nulls_where_ksqldb_writes_them() {
        let schema = SchemaInfo {
            kind: "INTEGER".into(),
            fields: None,
            member_schema: None,
            parameters: None,
        };
        assert_eq!(
            serde_json::to_string(&schema).unwrap(),
            r#"{"type":"INTEGER","fields":null,"memberSchema":null}"#
        );
    }
}
