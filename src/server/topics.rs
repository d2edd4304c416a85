//! `POST /topics/{topic}/records`: appends a body of lines to a topic, one record per line,
//! as `kafka-console-producer` would (what `sluice topics produce` sends).
//!
//! Query parameters: `format` (`json`, the default, or `delimited`), `delimiter` (for
//! DELIMITED, default `,`), `key` (the field that keys each record: a JSON field name or a
//! 1-based DELIMITED position), `key_format` (`string`, the default, `bigint` or `int`, the
//! key's KAFKA encoding), `partitions` (creates a missing topic with this many partitions,
//! default 1; an existing topic must match it) and `first_line` (the body's first line number
//! in the caller's file, for errors). A bad line rejects the whole body: nothing is appended.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::errors::ApiError;
use super::{AppState, json_response};
use crate::topics::TopicConfig;
use crate::topics::load::{KeyEncoding, LineFormat, LineLoader};

#[derive(Debug, Deserialize)]
pub struct ProduceParams {
    format: Option<String>,
    delimiter: Option<String>,
    key: Option<String>,
    key_format: Option<String>,
    partitions: Option<u32>,
    first_line: Option<usize>,
}

pub async fn produce(
    State(state): State<Arc<AppState>>,
    Path(topic): Path<String>,
    Query(params): Query<ProduceParams>,
    body: Bytes,
) -> Response {
    // Parsing megabytes of lines is blocking work: off the threads that answer requests.
    let appended = {
        let (state, topic) = (Arc::clone(&state), topic.clone());
        tokio::task::spawn_blocking(move || append_lines(&state, &topic, &params, &body)).await
    };
    match appended {
        Ok(Ok(count)) => {
            state.runtime.wake();
            json_response(StatusCode::OK, &json!({"topic": topic, "records": count}))
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("appending the lines failed: {e}")).into_response(),
    }
}

fn append_lines(
    state: &AppState,
    topic: &str,
    params: &ProduceParams,
    body: &[u8],
) -> Result<usize, ApiError> {
    check_topic_name(topic)?;
    let format = match params
        .format
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("json") => LineFormat::Json,
        Some("delimited") => {
            let delimiter = params.delimiter.as_deref().unwrap_or(",");
            let mut chars = delimiter.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => LineFormat::Delimited(c),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "The delimiter is one character, not '{delimiter}'"
                    )));
                }
            }
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Lines are json or delimited, not '{other}'"
            )));
        }
    };
    let encoding = match params.key_format.as_deref() {
        None => KeyEncoding::String,
        Some(name) => KeyEncoding::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The key format is string, bigint or int, not '{name}'"
            ))
        })?,
    };
    let key = params.key.as_deref().map(|field| (field, encoding));
    let mut loader =
        LineLoader::new(format, key).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let records = loader
        .records(body, params.first_line.unwrap_or(1), timestamp)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = Arc::clone(state.engine().store());
    let config = TopicConfig {
        partitions: params.partitions.unwrap_or(1).max(1),
        ..TopicConfig::default()
    };
    match store.describe_topic(topic).ok() {
        Some(existing)
            if params.partitions.is_some() && existing.config.partitions != config.partitions =>
        {
            return Err(ApiError::bad_request(format!(
                "Topic '{topic}' has {} partitions, not {}",
                existing.config.partitions, config.partitions
            )));
        }
        Some(_) => {}
        None => store
            .create_topic(topic, config)
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
    }
    let count = records.len();
    store
        .produce(topic, records)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(count)
}

/// Kafka's rule for topic names: 1 to 249 of ASCII letters, digits, `.`, `_` and `-`, and not
/// `.` or `..`.
fn check_topic_name(topic: &str) -> Result<(), ApiError> {
    let legal = topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if topic.is_empty() || topic.len() > 249 || !legal || topic == "." || topic == ".." {
        return Err(ApiError::bad_request(format!(
            "Invalid topic name '{topic}': a topic name is 1 to 249 letters, digits, '.', '_' or '-'"
        )));
    }
    Ok(())
}
