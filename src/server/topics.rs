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
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::errors::ApiError;
use super::errors::ErrorCode;
use super::{AppState, json_response};
use crate::topics::TopicError;
use crate::topics::load::{LoadError, LoadOptions, load_lines};

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
    Extension(caller): Extension<Caller>,
    Path(topic): Path<String>,
    Query(params): Query<ProduceParams>,
    body: Bytes,
) -> Response {
    // Parsing megabytes of lines is blocking work: off the threads that answer requests.
    let appended = {
        let (state, topic) = (Arc::clone(&state), topic.clone());
        tokio::task::spawn_blocking(move || append_lines(&state, &topic, &params, &body)).await
    };
    let appended = appended
        .map_err(|e| ApiError::internal(format!("appending the lines failed: {e}")))
        .and_then(|result| result);
    let described = format!("produce to topic {topic}");
    state.security.audit.statement(
        &caller,
        "/topics/{topic}/records",
        &described,
        appended.as_ref().map(|_| ()),
    );
    match appended {
        Ok(count) => {
            state.runtime.wake();
            json_response(StatusCode::OK, &json!({"topic": topic, "records": count}))
        }
        Err(e) => e.into_response(),
    }
}

fn append_lines(
    state: &AppState,
    topic: &str,
    params: &ProduceParams,
    body: &[u8],
) -> Result<usize, ApiError> {
    let options = LoadOptions::parse(
        params.format.as_deref(),
        params.delimiter.as_deref(),
        params.key.as_deref(),
        params.key_format.as_deref(),
        params.partitions,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let store = Arc::clone(state.engine().store());
    load_lines(
        store.as_ref(),
        topic,
        &options,
        body,
        params.first_line.unwrap_or(1),
    )
    .map_err(|e| match e {
        // The log could not be written (a full disk): ours, not the request's.
        LoadError::Store(e @ TopicError::Storage(_)) => {
            ApiError::new(ErrorCode::ServerError, e.to_string())
        }
        other => ApiError::bad_request(other.to_string()),
    })
}
