//! How the shell shows the server's answers, as ksqlDB's CLI shows them: each entity of a
//! statement's answer as its table or description, a query's values as Java prints them.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::table::answer_table;
use crate::api::{
    FieldInfo, FieldType, FunctionType, KsqlEntity, QueryDescription, RunningQuery, SchemaInfo,
    SourceDescription, SourceType,
};

/// TABULAR (tables, as ksqlDB's CLI draws them) or JSON (the API's own entities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Tabular,
    Json,
}

impl OutputFormat {
    pub fn parse(text: &str) -> Option<OutputFormat> {
        match text.to_ascii_uppercase().as_str() {
            "TABULAR" => Some(OutputFormat::Tabular),
            "JSON" => Some(OutputFormat::Json),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Tabular => "TABULAR",
            OutputFormat::Json => "JSON",
        }
    }
}

/// A statement's answer: each entity after an empty line (with its statement when there are
/// several), then its warnings.
pub fn entities(list: &[KsqlEntity], width: usize, format: OutputFormat) -> String {
    if format == OutputFormat::Json {
        return pretty_json(&list);
    }
    let mut out = String::new();
    for entity in list {
        out.push('\n');
        if list.len() > 1 {
            let _ = writeln!(out, "{}", entity.statement_text());
        }
        out.push_str(&entity_text(entity, width));
        for warning in entity.warnings() {
            let _ = writeln!(out, "WARNING: {}", warning.message);
        }
    }
    out
}

/// A value as indented JSON.
pub fn pretty_json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn entity_text(entity: &KsqlEntity, width: usize) -> String {
    let table = |headers: &[&str], rows: Vec<Vec<String>>| answer_table(headers, &rows, width);
    match entity {
        KsqlEntity::CurrentStatus { command_status, .. } => {
            let first = command_status.message.lines().next().unwrap_or_default();
            table(&["Message"], vec![vec![first.to_string()]])
        }
        KsqlEntity::Streams { streams, .. } => sources_table("Stream Name", streams, width),
        KsqlEntity::Tables { tables, .. } => sources_table("Table Name", tables, width),
        KsqlEntity::Queries { queries, .. } => {
            let mut out = table(
                &[
                    "Query ID",
                    "Query Type",
                    "Status",
                    "Sink Name",
                    "Sink Kafka Topic",
                    "Query String",
                ],
                queries.iter().map(query_row).collect(),
            );
            out.push_str("For detailed information on a Query run: EXPLAIN <Query ID>;\n");
            out
        }
        KsqlEntity::KafkaTopics { topics, .. } => table(
            &["Kafka Topic", "Partitions", "Partition Replicas"],
            topics
                .iter()
                .map(|t| topic_cells(&t.name, &t.replica_info))
                .collect(),
        ),
        KsqlEntity::KafkaTopicsExtended { topics, .. } => table(
            &[
                "Kafka Topic",
                "Partitions",
                "Partition Replicas",
                "Consumers",
                "ConsumerGroups",
            ],
            topics
                .iter()
                .map(|t| {
                    let mut cells = topic_cells(&t.name, &t.replica_info);
                    cells.push(t.consumer_count.to_string());
                    cells.push(t.consumer_group_count.to_string());
                    cells
                })
                .collect(),
        ),
        KsqlEntity::Properties {
            properties,
            overwritten_properties,
            default_properties,
            ..
        } => {
            let mut sorted: Vec<_> = properties.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            table(
                &["Property", "Scope", "Default override", "Effective Value"],
                sorted
                    .into_iter()
                    .map(|p| {
                        let overridden = if overwritten_properties.contains(&p.name) {
                            "SESSION"
                        } else if default_properties.contains(&p.name) {
                            ""
                        } else {
                            "SERVER"
                        };
                        vec![
                            p.name.clone(),
                            p.scope.clone(),
                            overridden.to_string(),
                            p.value.clone(),
                        ]
                    })
                    .collect(),
            )
        }
        KsqlEntity::Variables { variables, .. } => {
            let mut sorted: Vec<_> = variables.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            table(
                &["Variable Name", "Value"],
                sorted
                    .into_iter()
                    .map(|v| vec![v.name.clone(), v.value.clone()])
                    .collect(),
            )
        }
        KsqlEntity::FunctionNames { functions, .. } => {
            let mut sorted: Vec<_> = functions.iter().collect();
            sorted.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
            let mut rows = Vec::new();
            for (i, f) in sorted.iter().enumerate() {
                if i > 0 && sorted[i - 1].category != f.category {
                    rows.push(vec![" ".to_string(), " ".to_string()]);
                }
                rows.push(vec![f.name.clone(), f.category.clone()]);
            }
            let mut out = table(&["Function Name", "Category"], rows);
            out.push_str(
                "For detailed information about a function, run: DESCRIBE FUNCTION <Function Name>;\n",
            );
            out
        }
        KsqlEntity::TypeList { types, .. } => table(
            &["Type Name", "Schema"],
            types
                .iter()
                .map(|(name, schema)| vec![name.clone(), type_string(schema)])
                .collect(),
        ),
        KsqlEntity::SourceDescription {
            source_description, ..
        } => source_description_text(source_description, width),
        KsqlEntity::SourceDescriptions {
            source_descriptions,
            ..
        } => source_descriptions
            .iter()
            .map(|d| source_description_text(d, width) + "\n")
            .collect(),
        KsqlEntity::QueryDescription {
            query_description, ..
        } => query_description_text(query_description),
        KsqlEntity::DescribeFunction {
            name,
            description,
            kind,
            functions,
            ..
        } => {
            let mut out = String::new();
            let _ = writeln!(out, "{:<12}: {}", "Name", name.to_uppercase());
            let _ = writeln!(out, "{:<12}: {}", "Overview", description);
            let kind = match kind {
                FunctionType::Scalar => "SCALAR",
                FunctionType::Aggregate => "AGGREGATE",
                FunctionType::Table => "TABLE",
            };
            let _ = writeln!(out, "{:<12}: {}", "Type", kind);
            let _ = writeln!(out, "{:<12}: ", "Variations");
            for f in functions {
                let arguments: Vec<String> = f
                    .arguments
                    .iter()
                    .map(|a| {
                        let ty = if a.is_variadic {
                            format!("{}[]", a.kind)
                        } else {
                            a.kind.clone()
                        };
                        if a.name.is_empty() {
                            ty
                        } else {
                            format!("{} {ty}", a.name)
                        }
                    })
                    .collect();
                out.push('\n');
                let variation = format!("{}({})", name.to_uppercase(), arguments.join(", "));
                let _ = writeln!(out, "\t{:<12}: {variation}", "Variation");
                let _ = writeln!(out, "\t{:<12}: {}", "Returns", f.return_type);
                if !f.description.trim().is_empty() {
                    let _ = writeln!(out, "\t{:<12}: {}", "Description", f.description);
                }
                for a in f
                    .arguments
                    .iter()
                    .filter(|a| !a.description.trim().is_empty())
                {
                    let _ = writeln!(out, "\t{:<12}: {}", a.name, a.description);
                }
            }
            out
        }
    }
}

fn sources_table(title: &str, sources: &[crate::api::SourceInfo], width: usize) -> String {
    let mut sorted: Vec<_> = sources.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let rows: Vec<Vec<String>> = sorted
        .into_iter()
        .map(|s| {
            vec![
                s.name.clone(),
                s.topic.clone(),
                s.key_format.clone(),
                s.value_format.clone(),
                s.is_windowed.to_string(),
            ]
        })
        .collect();
    answer_table(
        &[
            title,
            "Kafka Topic",
            "Key Format",
            "Value Format",
            "Windowed",
        ],
        &rows,
        width,
    )
}

fn query_row(q: &RunningQuery) -> Vec<String> {
    let status = ["RUNNING", "ERROR", "UNRESPONSIVE", "PAUSED"]
        .iter()
        .filter_map(|s| q.status_count.get(*s).map(|n| format!("{s}:{n}")))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        q.id.clone(),
        q.query_type.clone(),
        status,
        q.sinks.join(","),
        q.sink_kafka_topics.join(","),
        q.query_string.replace(['\r', '\n'], " "),
    ]
}

/// A topic's name, partitions and replication, as SHOW TOPICS draws them.
fn topic_cells(name: &str, replica_info: &[i16]) -> Vec<String> {
    vec![
        name.to_string(),
        replica_info.len().to_string(),
        replicas(replica_info),
    ]
}

/// A topic's replication: one number when every partition has it.
fn replicas(info: &[i16]) -> String {
    match info {
        [] => "0".to_string(),
        [first, rest @ ..] if rest.iter().all(|r| r == first) => first.to_string(),
        all => all
            .iter()
            .map(i16::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A column's type as ksqlDB's CLI writes it.
pub fn type_string(schema: &SchemaInfo) -> String {
    let member = || {
        schema
            .member_schema
            .as_deref()
            .map_or_else(String::new, type_string)
    };
    match schema.kind.as_str() {
        "STRING" => "VARCHAR(STRING)".to_string(),
        "ARRAY" => format!("ARRAY<{}>", member()),
        "MAP" => format!("MAP<STRING, {}>", member()),
        "STRUCT" => {
            let fields: Vec<String> = schema
                .fields
                .iter()
                .flatten()
                .map(|f| format!("{} {}", f.name, type_string(&f.schema)))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => match schema
            .parameters
            .as_ref()
            .and_then(|p| Some((p.get("precision")?, p.get("scale")?)))
        {
            Some((precision, scale)) => format!("DECIMAL({precision}, {scale})"),
            None => "DECIMAL".to_string(),
        },
        other => other.to_string(),
    }
}

fn field_type(field: &FieldInfo, table: bool, window_type: Option<&str>) -> String {
    let ty = type_string(&field.schema);
    match field.kind {
        Some(FieldType::Key | FieldType::PrimaryKey) => {
            let key = if table { "(primary key)" } else { "(key)" };
            let window = window_type
                .map(|w| format!(" (Window type: {w})"))
                .unwrap_or_default();
            format!("{ty:<16} {key}{window}")
        }
        Some(FieldType::Header) => match &field.header_key {
            Some(key) => format!("{ty:<16} (header('{key}'))"),
            None => format!("{ty:<16} (headers)"),
        },
        None => ty,
    }
}

fn fields_table(fields: &[FieldInfo], table: bool, window: Option<&str>, width: usize) -> String {
    if fields.is_empty() {
        return String::new();
    }
    answer_table(
        &["Field", "Type"],
        &fields
            .iter()
            .map(|f| vec![f.name.clone(), field_type(f, table, window)])
            .collect::<Vec<_>>(),
        width,
    )
}

fn label(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name:<20} : {value}");
}

fn source_description_text(d: &SourceDescription, width: usize) -> String {
    let is_table = d.kind == SourceType::Table;
    let kind = if is_table { "TABLE" } else { "STREAM" };
    let mut out = String::new();
    label(&mut out, "Name", &d.name);
    if !d.extended {
        out.push_str(&fields_table(
            &d.fields,
            is_table,
            d.window_type.as_deref(),
            width,
        ));
        out.push_str(
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n",
        );
        return out;
    }
    label(&mut out, "Type", kind);
    let timestamp = if d.timestamp.is_empty() {
        "Not set - using <ROWTIME>".to_string()
    } else {
        d.timestamp.clone()
    };
    label(&mut out, "Timestamp field", timestamp);
    label(&mut out, "Key format", &d.key_format);
    label(&mut out, "Value format", &d.value_format);
    if !d.topic.is_empty() {
        let suffix = if d.partitions != 0 {
            format!(
                " (partitions: {}, replication: {})",
                d.partitions, d.replication
            )
        } else {
            String::new()
        };
        label(&mut out, "Kafka topic", format!("{}{suffix}", d.topic));
    }
    label(&mut out, "Statement", &d.statement);
    out.push('\n');
    out.push_str(&fields_table(
        &d.fields,
        is_table,
        d.window_type.as_deref(),
        width,
    ));
    if !d.source_constraints.is_empty() {
        out.push_str("\nSources that have a DROP constraint on this source\n");
        out.push_str("--------------------------------------------------\n");
        for name in &d.source_constraints {
            let _ = writeln!(out, "{name}");
        }
    }
    for (queries, verb) in [
        (&d.read_queries, "read from"),
        (&d.write_queries, "write from"),
    ] {
        if queries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\nQueries that {verb} this {kind}");
        out.push_str("-----------------------------------\n");
        for q in queries {
            let state = if q.state.is_empty() { "N/A" } else { &q.state };
            let _ = writeln!(
                out,
                "{} ({state}) : {}",
                q.id,
                q.query_string.replace(['\r', '\n'], " ")
            );
        }
        out.push_str("\nFor query topology and execution plan please run: EXPLAIN <QueryId>\n");
    }
    out.push_str("\nLocal runtime statistics\n------------------------\n");
    if !d.statistics.is_empty() {
        out.push_str(&d.statistics);
    }
    out.push('\n');
    if !d.error_stats.is_empty() {
        out.push_str(&d.error_stats);
        out.push('\n');
    }
    out.push('\n');
    if !d.topic.is_empty() {
        let _ = writeln!(
            out,
            "(Statistics of the local KSQL server interaction with the Kafka topic {})",
            d.topic
        );
    }
    if !d.query_offset_summaries.is_empty() {
        out.push_str("\nConsumer Groups summary:\n");
        for group in &d.query_offset_summaries {
            out.push('\n');
            label(&mut out, "Consumer Group", &group.group_id);
            if group.topic_summaries.is_empty() {
                out.push_str("<no offsets committed by this group yet>\n");
            }
            for topic in &group.topic_summaries {
                out.push('\n');
                label(&mut out, "Kafka topic", &topic.kafka_topic);
                let lag = |p: &crate::api::ConsumerPartitionOffsets| {
                    p.log_end_offset.saturating_sub(p.consumer_offset)
                };
                let max_lag = topic.offsets.iter().map(lag).max().unwrap_or(0);
                label(&mut out, "Max lag", max_lag);
                out.push('\n');
                let rows: Vec<Vec<String>> = topic
                    .offsets
                    .iter()
                    .map(|p| {
                        vec![
                            p.partition.to_string(),
                            p.log_start_offset.to_string(),
                            p.log_end_offset.to_string(),
                            p.consumer_offset.to_string(),
                            lag(p).to_string(),
                        ]
                    })
                    .collect();
                out.push_str(&answer_table(
                    &["Partition", "Start Offset", "End Offset", "Offset", "Lag"],
                    &rows,
                    width,
                ));
            }
        }
    }
    out
}

fn query_description_text(q: &QueryDescription) -> String {
    let mut out = String::new();
    label(&mut out, "ID", &q.id);
    label(&mut out, "Query Type", &q.query_type);
    if !q.statement_text.is_empty() {
        label(&mut out, "SQL", &q.statement_text);
    }
    if !q.state.is_empty() {
        label(&mut out, "Host Query Status", &q.state);
    }
    out.push('\n');
    for (names, title, hint) in [
        (
            &q.sources,
            "Sources that this query reads from: ",
            "For source description please run: DESCRIBE [EXTENDED] <SourceId>",
        ),
        (
            &q.sinks,
            "Sinks that this query writes to: ",
            "For sink description please run: DESCRIBE [EXTENDED] <SinkId>",
        ),
    ] {
        if names.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}\n-----------------------------------");
        for name in names {
            let _ = writeln!(out, "{name}");
        }
        let _ = writeln!(out, "\n{hint}");
    }
    out.push('\n');
    for error in &q.query_errors {
        label(&mut out, "Error Details", &error.error_message);
        label(&mut out, "Error Type", &error.kind);
    }
    out
}

/// A value of a query's row as ksqlDB's CLI prints it (Java's `toString` of the decoded JSON):
/// strings bare, arrays `[a, b]`, maps and structs `{K=v}`, `null`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            let text = n.to_string();
            // BigDecimal writes a positive exponent with its sign.
            match text.split_once(['E', 'e']) {
                Some((mantissa, exponent)) if !exponent.starts_with(['-', '+']) => {
                    format!("{mantissa}E+{exponent}")
                }
                Some((mantissa, exponent)) => format!("{mantissa}E{exponent}"),
                None => text,
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(cell).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", cell(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// The column names of a query's header schema, `` `A` STRING KEY, `B` STRUCT<`X` INT> ``.
pub fn column_names(schema: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut in_name, mut at_start) = (0i32, false, true);
    let mut name = String::new();
    let mut chars = schema.chars().peekable();
    while let Some(c) = chars.next() {
        if in_name {
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    name.push('`');
                } else {
                    in_name = false;
                    if depth == 0 {
                        names.push(std::mem::take(&mut name));
                    } else {
                        name.clear();
                    }
                }
            } else {
                name.push(c);
            }
            continue;
        }
        match c {
            '`' if at_start || depth > 0 => {
                in_name = true;
                at_start = false;
            }
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            _ => {}
        }
    }
    names
}

/// The variables of SHOW VARIABLES, kept by the shell.
pub fn variables_entity(variables: &BTreeMap<String, String>) -> KsqlEntity {
    KsqlEntity::Variables {
        statement_text: "SHOW VARIABLES;".to_string(),
        variables: variables
            .iter()
            .map(|(name, value)| crate::api::Variable {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_java_prints_them() {
        let row: Value = serde_json::from_str(
            r#"[null, "text", 10, 1.50, 1.0E10, 2.5e-3, true, [1, "a"], {"K": {"X": 1}}]"#,
        )
        .unwrap();
        let cells: Vec<String> = row.as_array().unwrap().iter().map(cell).collect();
        assert_eq!(
            cells,
            [
                "null",
                "text",
                "10",
                "1.50",
                "1.0E+10",
                "2.5E-3",
                "true",
                "[1, a]",
                "{K={X=1}}"
            ]
        );
    }

    #[test]
    fn a_header_schema_gives_its_top_level_names() {
        assert_eq!(
            column_names(
                "`ID` STRING KEY, `S` STRUCT<`A` INTEGER, `B` MAP<STRING, INTEGER>>, `D` DECIMAL(4, 2), `q``x` INTEGER"
            ),
            ["ID", "S", "D", "q`x"]
        );
    }

    #[test]
    fn types_read_as_in_ksqldb() {
        let schema: SchemaInfo = serde_json::from_str(
            r#"{"type":"STRUCT","fields":[{"name":"A","schema":{"type":"STRING","fields":null,"memberSchema":null}},
                {"name":"B","schema":{"type":"ARRAY","fields":null,"memberSchema":{"type":"DECIMAL","fields":null,"memberSchema":null,"parameters":{"precision":4,"scale":2}}}}],"memberSchema":null}"#,
        )
        .unwrap();
        assert_eq!(
            type_string(&schema),
            "STRUCT<A VARCHAR(STRING), B ARRAY<DECIMAL(4, 2)>>"
        );
    }
}
