//! Post-conditions (`post`): what the catalog and the topic list must hold after a run.
//!
//! Both lists are "has items" checks, as in ksqlDB: every listed source or topic must match one
//! that exists, and the ones not listed are ignored.

use regex::Regex;

use super::model::{FormatInfoNode, KeyFormatNode, PostConditions, PostTopics, SourceNode};
use crate::catalog::{Catalog, Source, WindowInfo};
use crate::format::FormatSpec;
use crate::sql::ast::{SourceKind, WindowType};
use crate::topics::TopicDescription;

/// ksqlDB names internal topics `_confluent-ksql-<service id>query_<query id>-<step>-…`. When the
/// engine names its internal topics another way, `post.topics` entries for these are skipped.
const INTERNAL_TOPIC_PREFIX: &str = "_confluent-ksql-";

/// How an expected internal topic is found. Sluice keeps one changelog per stateful query
/// (ksqlDB one per state store, named by its steps) and reads every partition of a join's inputs
/// itself, without repartition topics: an expected changelog is matched by any changelog of the
/// same query, and an expected repartition topic is not checked.
fn internal_topic_exists(expected: &str, topics: &[TopicDescription]) -> Option<bool> {
    if !expected.ends_with("-changelog") {
        return None;
    }
    let query_end = expected
        .find("query_")
        .and_then(|at| expected[at..].find('-').map(|dash| at + dash + 1))?;
    let query = &expected[..query_end];
    Some(
        topics
            .iter()
            .any(|t| t.name.starts_with(query) && t.name.ends_with("-changelog")),
    )
}

/// Checks every post-condition; the error says which one failed and why.
pub fn check(
    post: &PostConditions,
    catalog: &Catalog,
    topics: &[TopicDescription],
) -> Result<(), String> {
    for expected in &post.sources {
        if catalog
            .sources()
            .any(|s| source_matches(expected, s).is_ok())
        {
            continue;
        }
        let reason = match catalog.source(&expected.name) {
            Some(actual) => source_matches(expected, actual).err().unwrap_or_default(),
            None => "there is no such source".to_string(),
        };
        return Err(format!("post: source {}: {reason}", expected.name));
    }
    match &post.topics {
        Some(expected) => check_topics(expected, catalog, topics),
        None => Ok(()),
    }
}

fn source_matches(expected: &SourceNode, actual: &Source) -> Result<(), String> {
    if expected.name != actual.name {
        return Err(format!("the name is {}", actual.name));
    }
    let kind = match expected.kind.to_ascii_uppercase().as_str() {
        "STREAM" => SourceKind::Stream,
        "TABLE" => SourceKind::Table,
        other => {
            return Err(format!(
                "invalid test: type must be STREAM or TABLE, not {other}"
            ));
        }
    };
    if kind != actual.kind {
        return Err(format!("expected a {kind} but it is a {}", actual.kind));
    }
    if let Some(schema) = &expected.schema {
        let actual_schema = actual.schema.to_sql();
        if normalize_schema(schema) != normalize_schema(&actual_schema) {
            return Err(format!(
                "expected schema \"{schema}\" but it is \"{actual_schema}\""
            ));
        }
    }
    if let Some(key_format) = &expected.key_format {
        key_format_matches(key_format, &actual.key_format, actual.window.as_ref())?;
    }
    if let Some(format) = &expected.value_format {
        let actual_format = actual.value_format.kind.name();
        if !format.eq_ignore_ascii_case(actual_format) {
            return Err(format!(
                "expected value format {format} but it is {actual_format}"
            ));
        }
    }
    if let Some(features) = &expected.key_features {
        features_match("key", features, &actual.key_features())?;
    }
    if let Some(features) = &expected.value_features {
        features_match("value", features, &actual.value_features())?;
    }
    if let Some(is_source) = expected.is_source
        && is_source != actual.read_only
    {
        return Err(format!(
            "expected isSource={is_source} but it is {}",
            actual.read_only
        ));
    }
    Ok(())
}

fn window_type_name(window_type: WindowType) -> &'static str {
    match window_type {
        WindowType::Tumbling => "TUMBLING",
        WindowType::Hopping => "HOPPING",
        WindowType::Session => "SESSION",
    }
}

/// The window type and size are compared even when absent: then the key must not be windowed.
fn key_format_matches(
    expected: &KeyFormatNode,
    actual: &FormatSpec,
    window: Option<&WindowInfo>,
) -> Result<(), String> {
    if let Some(format) = &expected.format
        && !format.eq_ignore_ascii_case(actual.kind.name())
    {
        return Err(format!(
            "expected key format {format} but it is {}",
            actual.kind
        ));
    }
    let expected_type = expected.window_type.as_deref().map(str::to_ascii_uppercase);
    let actual_type = window.map(|w| window_type_name(w.window_type));
    if expected_type.as_deref() != actual_type {
        return Err(format!(
            "expected key window type {expected_type:?} but it is {actual_type:?}"
        ));
    }
    let actual_size = window.and_then(|w| w.size_ms);
    if expected.window_size != actual_size {
        return Err(format!(
            "expected key window size {:?} but it is {actual_size:?}",
            expected.window_size
        ));
    }
    Ok(())
}

fn features_match(part: &str, expected: &[String], actual: &[String]) -> Result<(), String> {
    let normalize = |features: &[String]| {
        let mut v: Vec<String> = features.iter().map(|f| f.to_ascii_uppercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    if normalize(expected) != normalize(actual) {
        return Err(format!(
            "expected {part} features {expected:?} but they are {actual:?}"
        ));
    }
    Ok(())
}

fn check_topics(
    expected: &PostTopics,
    catalog: &Catalog,
    topics: &[TopicDescription],
) -> Result<(), String> {
    if let Some(pattern) = &expected.blacklist {
        let blacklist = Regex::new(pattern)
            .map_err(|e| format!("invalid test: the topic blacklist is not a valid regex: {e}"))?;
        if let Some(topic) = topics.iter().find(|t| blacklist.is_match(&t.name)) {
            return Err(format!(
                "post: blacklisted topic {} exists ({pattern})",
                topic.name
            ));
        }
    }
    for topic in &expected.topics {
        let internal = topic.name.starts_with(INTERNAL_TOPIC_PREFIX);
        if internal {
            if internal_topic_exists(&topic.name, topics) == Some(false) {
                return Err(format!("post: topic {} does not exist", topic.name));
            }
            continue;
        }
        let Some(actual) = topics.iter().find(|t| t.name == topic.name) else {
            return Err(format!("post: topic {} does not exist", topic.name));
        };
        if let Some(partitions) = topic.partitions
            && partitions != actual.config.partitions
        {
            return Err(format!(
                "post: topic {} has {} partitions, expected {partitions}",
                topic.name, actual.config.partitions
            ));
        }
        let Some(source) = catalog.source_for_topic(&topic.name) else {
            // Only the engine knows the formats of its internal topics.
            if internal {
                continue;
            }
            return Err(format!(
                "post: topic {}: no source is registered on it",
                topic.name
            ));
        };
        let context = |e: String| format!("post: topic {}: {e}", topic.name);
        if let Some(key_format) = &topic.key_format {
            format_info_matches(
                "key",
                key_format,
                &source.key_format,
                &source.key_features(),
                source.window.as_ref(),
            )
            .map_err(context)?;
        }
        if let Some(value_format) = &topic.value_format {
            format_info_matches(
                "value",
                value_format,
                &source.value_format,
                &source.value_features(),
                None,
            )
            .map_err(context)?;
        }
    }
    Ok(())
}

fn format_info_matches(
    part: &str,
    expected: &FormatInfoNode,
    actual: &FormatSpec,
    actual_features: &[String],
    window: Option<&WindowInfo>,
) -> Result<(), String> {
    if !expected.format.eq_ignore_ascii_case(actual.kind.name()) {
        return Err(format!(
            "expected {part} format {} but it is {}",
            expected.format, actual.kind
        ));
    }
    features_match(part, &expected.features, actual_features)?;
    if part == "key" {
        let expected_type = expected
            .window_info
            .as_ref()
            .map(|w| w.kind.to_ascii_uppercase());
        let actual_type = window.map(|w| window_type_name(w.window_type));
        if expected_type.as_deref() != actual_type {
            return Err(format!(
                "expected key window {expected_type:?} but it is {actual_type:?}"
            ));
        }
    }
    Ok(())
}

/// Tokens of a schema string that compare equal when ksqlDB's parser would read both strings as
/// the same columns: back-quotes dropped (quoted names keep their case, bare ones are
/// upper-cased, as the parser does), type synonyms unified, `PRIMARY KEY` read as `KEY`,
/// whitespace ignored.
pub fn normalize_schema(schema: &str) -> Vec<String> {
    let mut tokens: Vec<(String, bool)> = Vec::new();
    let mut chars = schema.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '`' | '\'' => {
                let mut text = String::new();
                while let Some(next) = chars.next() {
                    if next == c {
                        // A doubled quote is an escaped quote.
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    text.push(next);
                }
                let token = if c == '\'' { format!("'{text}'") } else { text };
                tokens.push((token, false));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_string();
                while let Some(next) = chars.next_if(|n| n.is_alphanumeric() || *n == '_') {
                    word.push(next);
                }
                tokens.push((word.to_uppercase(), true));
            }
            other => tokens.push((other.to_string(), false)),
        }
    }
    let mut out = Vec::with_capacity(tokens.len());
    for (i, (token, bare)) in tokens.iter().enumerate() {
        if !bare {
            out.push(token.clone());
            continue;
        }
        let next_is_key = matches!(tokens.get(i + 1), Some((t, true)) if t == "KEY");
        match token.as_str() {
            "PRIMARY" if next_is_key => {}
            "VARCHAR" => out.push("STRING".into()),
            "INT" => out.push("INTEGER".into()),
            _ => out.push(token.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::format::FormatKind;
    use crate::topics::TopicConfig;
    use crate::types::{Column, Schema, SqlType};

    fn windowed_table() -> Catalog {
        let mut catalog = Catalog::default();
        catalog.put_source(Source {
            name: "S2".into(),
            kind: SourceKind::Table,
            schema: Schema::new(vec![
                Column::key("ID", SqlType::Bigint),
                Column::value("KSQL_COL_0", SqlType::Bigint),
            ]),
            topic: "S2".into(),
            key_format: FormatSpec::new(FormatKind::Kafka),
            value_format: FormatSpec::new(FormatKind::Delimited),
            timestamp_column: None,
            timestamp_format: None,
            window: Some(WindowInfo {
                window_type: WindowType::Tumbling,
                size_ms: Some(30_000),
            }),
            read_only: false,
            sql: String::new(),
            wrap_single_value: None,
        });
        catalog
    }

    fn topic(name: &str, partitions: u32) -> TopicDescription {
        TopicDescription {
            name: name.into(),
            config: TopicConfig {
                partitions,
                ..TopicConfig::default()
            },
            start_offsets: vec![0; partitions as usize],
            end_offsets: vec![0; partitions as usize],
        }
    }

    fn conditions(raw: serde_json::Value) -> PostConditions {
        serde_json::from_value(raw).unwrap()
    }

    #[test]
    fn sources_match_on_every_given_attribute() {
        let catalog = windowed_table();
        let ok = conditions(json!({"sources": [{
            "name": "S2", "type": "table", "schema": "ID BIGINT KEY, KSQL_COL_0 BIGINT",
            "keyFormat": {"format": "KAFKA", "windowType": "TUMBLING", "windowSize": 30000},
            "valueFormat": "DELIMITED", "valueFeatures": [], "isSource": false
        }]}));
        assert_eq!(check(&ok, &catalog, &[]), Ok(()));
        for wrong in [
            json!({"name": "S2", "type": "stream"}),
            json!({"name": "S3", "type": "table"}),
            json!({"name": "S2", "type": "table", "schema": "ID BIGINT KEY, KSQL_COL_0 INT"}),
            json!({"name": "S2", "type": "table", "keyFormat": {"format": "KAFKA"}}),
            json!({"name": "S2", "type": "table", "keyFormat": {"windowType": "TUMBLING"}}),
            json!({"name": "S2", "type": "table", "valueFormat": "JSON"}),
            json!({"name": "S2", "type": "table", "valueFeatures": ["WRAP_SINGLES"]}),
        ] {
            let post = conditions(json!({"sources": [wrong]}));
            assert!(check(&post, &catalog, &[]).is_err(), "{post:?}");
        }
    }

    #[test]
    fn topics_are_checked_by_name_partitions_and_blacklist() {
        let catalog = windowed_table();
        let topics = [topic("S2", 4), topic("input", 1)];
        let ok = conditions(json!({"topics": {
            "blacklist": ".*-repartition",
            "topics": [
                {"name": "S2", "keyFormat": {"format": "KAFKA", "windowInfo": {"type": "TUMBLING"}},
                 "valueFormat": {"format": "DELIMITED"}, "partitions": 4},
                {"name": "_confluent-ksql-some.ksql.service.idquery_CTAS_S2_0-Join-repartition",
                 "keyFormat": {"format": "KAFKA"}, "valueFormat": {"format": "JSON"}}
            ]
        }}));
        assert_eq!(check(&ok, &catalog, &topics), Ok(()));

        let partitions =
            conditions(json!({"topics": {"topics": [{"name": "S2", "partitions": 2}]}}));
        assert!(check(&partitions, &catalog, &topics).is_err());
        let unwindowed = conditions(json!({"topics": {"topics": [
            {"name": "S2", "keyFormat": {"format": "KAFKA"}}]}}));
        assert!(check(&unwindowed, &catalog, &topics).is_err());
        let blacklisted = conditions(json!({"topics": {"blacklist": "inp"}}));
        assert!(check(&blacklisted, &catalog, &topics).is_err());

        // An expected changelog is matched by the query's changelog; repartition topics are
        // not checked.
        let changelog = conditions(json!({"topics": {"topics": [
            {"name": "_confluent-ksql-some.ksql.service.idquery_CTAS_S2_0-Aggregate-changelog"},
            {"name": "_confluent-ksql-some.ksql.service.idquery_CTAS_S2_0-Join-repartition"}]}}));
        let err = check(&changelog, &catalog, &topics).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let internal = [
            topic("S2", 4),
            topic(
                "_confluent-ksql-some.ksql.service.idquery_CTAS_S2_0-X-changelog",
                4,
            ),
        ];
        assert_eq!(check(&changelog, &catalog, &internal), Ok(()));
    }

    #[test]
    fn schemas_normalize_quotes_case_and_synonyms() {
        let actual = "`ID` BIGINT KEY, `NAME` STRING, `S` STRUCT<`a` INTEGER>, `D` DECIMAL(4, 2)";
        let expected = "ID BIGINT PRIMARY KEY, name VARCHAR, S STRUCT<`a` INT>, D DECIMAL(4,2)";
        assert_eq!(normalize_schema(actual), normalize_schema(expected));
        assert_ne!(normalize_schema("`a` INT"), normalize_schema("A INT"));
        assert_ne!(normalize_schema("A INT KEY"), normalize_schema("A INT"));
        assert_eq!(
            normalize_schema("`a``b` INT"),
            vec!["a`b".to_string(), "INTEGER".into()]
        );
        assert_eq!(
            normalize_schema("H BYTES HEADER('k')"),
            normalize_schema("`H` BYTES HEADER('k')")
        );
    }
}
