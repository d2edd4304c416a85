//! The query endpoints: `/query` (the old API), `/query-stream`, `/close-query` and
//! `/inserts-stream`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::ApiError;
use super::values::{rest_value, schema_text};
use super::{AppState, KsqlRequest, as_text_map, checked_properties, parse_body};
use crate::engine::transient::{PullResult, PushQuery, QueryKind, ResultColumn};
use crate::exec::PushEvent;
use crate::sql::ast::SourceKind;

const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
/// `/query`'s protobuf rows: the header carries the rows' `.proto` schema, and each row is a
/// base64 message of it.
const PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";

fn row_json(values: &[datafusion::common::ScalarValue], columns: &[ResultColumn]) -> Vec<Value> {
    values
        .iter()
        .zip(columns)
        .map(|(v, c)| rest_value(v, &c.ty))
        .collect()
}

/// Starts a query: a pull query answers at once; a push query starts streaming.
enum Started {
    Pull(String, PullResult),
    Push(PushQuery),
}

fn start(
    state: &AppState,
    text: &str,
    overrides: &BTreeMap<String, String>,
    variables: &BTreeMap<String, String>,
) -> Result<Started, ApiError> {
    let mut engine = state.engine();
    let kind = engine
        .parse_query(text, variables)
        .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
    match kind {
        QueryKind::Pull(q) => {
            // Answer from what the persistent queries have processed so far, as ksqlDB's
            // pull queries answer from their state stores.
            let result = engine
                .pull_query(&q, text, overrides)
                .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
            Ok(Started::Pull(format!("pull_{:x}", rand_id()), result))
        }
        QueryKind::Push(q) => {
            let push = engine
                .start_push_query(&q, text, overrides)
                .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
            state.runtime.wake();
            Ok(Started::Push(push))
        }
    }
}

/// A pseudo-random id for pull queries (their ids only label responses).
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// `POST /query`: the header, the rows and a final message, as one streamed JSON array.
pub async fn query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: KsqlRequest = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(text) = request.ksql.filter(|t| !t.trim().is_empty()) else {
        return ApiError::bad_request("Empty statement: the 'ksql' field is required")
            .into_response();
    };
    let overrides = match checked_properties(&request.streams_properties) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let variables = as_text_map(&request.session_variables);
    let started = match start(&state, &text, &overrides, &variables) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if accepts(&headers, DELIMITED) {
        return stream_response(started, Format::Delimited);
    }
    if accepts(&headers, PROTOBUF) {
        return stream_response(started, Format::Protobuf);
    }
    stream_response(started, Format::OldApi)
}

/// The body of `/query-stream`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStreamArgs {
    pub sql: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub session_variables: BTreeMap<String, Value>,
}

/// `POST /query-stream`: a metadata line, then one JSON array per row.
pub async fn query_stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args: QueryStreamArgs = match parse_body(&body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let Some(text) = args.sql.filter(|t| !t.trim().is_empty()) else {
        return ApiError::bad_request("No sql in request").into_response();
    };
    let overrides = match checked_properties(&args.properties) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let variables = as_text_map(&args.session_variables);
    let started = match start(&state, &text, &overrides, &variables) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let format = if accepts(&headers, "application/vnd.ksql.v1+json") {
        Format::OldApi
    } else if accepts(&headers, "application/json") {
        Format::JsonArray
    } else {
        Format::Delimited
    };
    stream_response(started, format)
}

fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|m| m.trim().starts_with(media)))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    /// `/query`'s `[{"header":…},{"row":…},…]`.
    OldApi,
    /// One JSON value per line.
    Delimited,
    /// `[{metadata},[row],…]`.
    JsonArray,
    /// `/query`'s array, with protobuf rows (`application/vnd.ksql.v1+protobuf`).
    Protobuf,
}

fn metadata(id: &str, columns: &[ResultColumn]) -> Value {
    json!({
        "queryId": id,
        "columnNames": columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "columnTypes": columns.iter().map(|c| c.ty.to_string()).collect::<Vec<_>>(),
    })
}

/// Frames a response's elements: the header, rows and the end.
struct Framer {
    format: Format,
    first: bool,
}

impl Framer {
    fn element(&mut self, value: &Value) -> String {
        let text = value.to_string();
        match self.format {
            Format::Delimited => format!("{text}\n"),
            Format::OldApi | Format::Protobuf => {
                let prefix = if self.first { "[" } else { ",\n" };
                self.first = false;
                format!("{prefix}{text}")
            }
            Format::JsonArray => {
                let prefix = if self.first { "[" } else { "," };
                self.first = false;
                format!("{prefix}{text}")
            }
        }
    }

    fn end(&mut self, final_message: Option<&str>) -> String {
        match self.format {
            Format::Delimited => String::new(),
            Format::OldApi | Format::Protobuf => {
                let mut out = String::new();
                if let Some(m) = final_message {
                    out.push_str(&self.element(&json!({"finalMessage": m})));
                }
                if self.first {
                    out.push('[');
                }
                out.push_str("]\n");
                out
            }
            Format::JsonArray => {
                if self.first {
                    "[]".to_string()
                } else {
                    "]".to_string()
                }
            }
        }
    }

    fn header(&mut self, id: &str, columns: &[ResultColumn], mark_keys: bool) -> String {
        match self.format {
            Format::OldApi => self.element(&json!({"header": {
                "queryId": id,
                "schema": schema_text(columns, mark_keys),
            }})),
            Format::Protobuf => self.element(&json!({"header": {
                "queryId": id,
                "schema": schema_text(columns, mark_keys),
                "protoSchema": crate::format::protobuf::schema_text(
                    &as_columns(columns),
                    crate::format::protobuf::DEFAULT_MESSAGE_NAME,
                ),
            }})),
            _ => self.element(&metadata(id, columns)),
        }
    }

    /// A row of values, in this format; `None` when the format drops it.
    fn values_row(
        &mut self,
        values: &[datafusion::common::ScalarValue],
        columns: &[ResultColumn],
        tombstone: bool,
    ) -> Option<String> {
        if self.format != Format::Protobuf {
            return self.row(row_json(values, columns), tombstone);
        }
        let encoded =
            crate::format::protobuf::serialize(None, &as_columns(columns), values).ok()??;
        let bytes = crate::format::text::base64_encode(&encoded);
        Some(self.element(&json!({"row": {"protobufBytes": bytes}})))
    }

    /// A row; `None` when this format drops it (tombstones outside the old API).
    fn row(&mut self, values: Vec<Value>, tombstone: bool) -> Option<String> {
        match self.format {
            Format::OldApi => {
                let mut row = json!({"columns": values});
                if tombstone {
                    row["tombstone"] = Value::Bool(true);
                }
                Some(self.element(&json!({ "row": row })))
            }
            _ if tombstone => None,
            _ => Some(self.element(&Value::Array(values))),
        }
    }
}

/// Result columns as the columns of a protobuf message.
fn as_columns(columns: &[ResultColumn]) -> Vec<crate::types::Column> {
    columns
        .iter()
        .map(|c| crate::types::Column::value(&c.name, c.ty.clone()))
        .collect()
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Delimited => DELIMITED,
        Format::Protobuf => PROTOBUF,
        _ => "application/json",
    }
}

fn stream_response(started: Started, format: Format) -> Response {
    let mut framer = Framer {
        format,
        first: true,
    };
    match started {
        Started::Pull(id, result) => {
            let table = result.source_kind == SourceKind::Table;
            let mut body = framer.header(&id, &result.columns, table);
            for row in &result.rows {
                if let Some(text) = framer.values_row(row, &result.columns, false) {
                    body.push_str(&text);
                }
            }
            // A table's rows end without a final message, even at a LIMIT.
            let final_message = match (table, result.limit_reached) {
                (true, _) => None,
                (false, true) => Some("Limit Reached"),
                (false, false) => Some("Query Completed"),
            };
            body.push_str(&framer.end(final_message));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(format))],
                body,
            )
                .into_response()
        }
        Started::Push(push) => {
            let PushQuery {
                id,
                columns,
                events,
            } = push;
            let head = framer.header(&id, &columns, false);
            let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
                .chain(stream::unfold(
                    (events, framer, columns, false),
                    |(mut events, mut framer, columns, done)| async move {
                        if done {
                            return None;
                        }
                        loop {
                            let chunk = match events.recv().await {
                                Some(PushEvent::Row { values, tombstone }) => {
                                    match framer.values_row(&values, &columns, tombstone) {
                                        Some(text) => (text, false),
                                        None => continue,
                                    }
                                }
                                Some(PushEvent::LimitReached) => {
                                    (framer.end(Some("Limit Reached")), true)
                                }
                                Some(PushEvent::Error(message)) => {
                                    let error = json!({"@type": "generic_error", "error_code": 50000, "message": message});
                                    let text = match framer.format {
                                        Format::OldApi | Format::Protobuf => {
                                            let mut t = framer.element(&json!({"errorMessage": error}));
                                            t.push_str("]\n");
                                            t
                                        }
                                        _ => framer.element(&error),
                                    };
                                    (text, true)
                                }
                                None => (framer.end(None), true),
                            };
                            return Some((
                                Ok(Bytes::from(chunk.0)),
                                (events, framer, columns, chunk.1),
                            ));
                        }
                    },
                ));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(format))],
                Body::from_stream(body),
            )
                .into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseQuery {
    query_id: Option<String>,
}

/// `POST /close-query`: stops a push query.
pub async fn close_query(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: CloseQuery = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(id) = request.query_id else {
        return ApiError::bad_request("No queryId in request").into_response();
    };
    if state.engine().close_push_query(&id) {
        StatusCode::OK.into_response()
    } else {
        ApiError::bad_request(format!("No query with id {id}")).into_response()
    }
}

#[derive(Debug, Deserialize)]
struct InsertsArgs {
    target: Option<String>,
}

/// `POST /inserts-stream`: the first line names the target stream; every later line is a row.
/// Each row is acknowledged with its position; a bad row ends the response with an error.
pub async fn inserts_stream(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else {
        return ApiError::bad_request("No target in inserts stream").into_response();
    };
    let args: InsertsArgs = match serde_json::from_str(first) {
        Ok(a) => a,
        Err(e) => {
            return ApiError::bad_request(format!("Invalid JSON in inserts stream: {e}"))
                .into_response();
        }
    };
    let Some(target) = args.target else {
        return ApiError::bad_request("No target in inserts stream").into_response();
    };
    {
        let engine = state.engine();
        let exists = engine.catalog().source(&target.to_uppercase()).is_some();
        if !exists {
            return ApiError::statement(
                format!("Cannot insert values into an unknown stream: {target}"),
                "",
                Vec::new(),
            )
            .into_response();
        }
    }
    let mut out = String::new();
    for (seq, line) in lines.enumerate() {
        let row: serde_json::Map<String, Value> = match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            _ => {
                out.push_str(
                    &json!({"status": "error", "seq": seq, "error_code": 40000, "message": "Invalid JSON in inserts stream"})
                        .to_string(),
                );
                out.push('\n');
                break;
            }
        };
        let inserted = state.engine().insert_json_row(&target, &row);
        match inserted {
            Ok(()) => {
                out.push_str(&json!({"status": "ok", "seq": seq}).to_string());
                out.push('\n');
            }
            Err(e) => {
                out.push_str(
                    &json!({"status": "error", "seq": seq, "error_code": 40000, "message": e.to_string()})
                        .to_string(),
                );
                out.push('\n');
                break;
            }
        }
    }
    state.runtime.wake();
    (StatusCode::OK, [(header::CONTENT_TYPE, DELIMITED)], out).into_response()
}
