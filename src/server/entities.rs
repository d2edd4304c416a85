//! Statement outcomes as ksqlDB's `/ksql` entities.

use serde_json::{Value, json};

use crate::engine::Outcome;
use crate::sql::split_statements;

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

/// The entity for a statement that succeeded.
pub fn entity(text: &str, outcome: &Outcome, sequence: i64) -> Value {
    match outcome {
        Outcome::Message(message) => json!({
            "@type": "currentStatus",
            "statementText": text,
            "commandId": command_id(text),
            "commandStatus": {"status": "SUCCESS", "message": message},
            "commandSequenceNumber": sequence,
            "warnings": []
        }),
        Outcome::QueryStarted { query_id, message } => json!({
            "@type": "currentStatus",
            "statementText": text,
            "commandId": command_id(text),
            "commandStatus": {"status": "SUCCESS", "message": message, "queryId": query_id},
            "commandSequenceNumber": sequence,
            "warnings": []
        }),
        Outcome::Entity(value) => {
            let mut value = value.clone();
            if let Some(map) = value.as_object_mut() {
                map.insert("statementText".into(), Value::String(text.to_string()));
                map.entry("warnings").or_insert_with(|| json!([]));
            }
            value
        }
    }
}

/// For `/status`: the command id, status and message of a `currentStatus` entity.
pub fn command_status(entity: &Value) -> Option<(String, String, String)> {
    if entity.get("@type")?.as_str()? != "currentStatus" {
        return None;
    }
    let id = entity.get("commandId")?.as_str()?.to_string();
    let status = entity
        .pointer("/commandStatus/status")?
        .as_str()?
        .to_string();
    let message = entity
        .pointer("/commandStatus/message")?
        .as_str()?
        .to_string();
    Some((id, status, message))
}
