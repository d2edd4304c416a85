//! The query endpoints: `/query` (the old API), `/query-stream`, `/close-query` and
//! `/inserts-stream`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::errors::{ApiError, ErrorCode};
use super::values::{rest_value, schema_text};
use super::{AppState, KsqlRequest, as_text_map, checked_properties, parse_body};
use crate::api::{
    CloseQueryRequest, ErrorBody, QueryHeader, QueryStreamRequest, RowData, StreamedRow,
};
use crate::engine::EngineError;
use crate::engine::print::PrintCursor;
use crate::engine::transient::{PullCursor, PushQuery, QueryKind, ResultColumn};
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
    Pull(String, Box<PullCursor>),
    Push(PushQuery),
    Print(Box<PrintCursor>),
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
            // Planned against the catalog under the engine's lock; answered without it, from
            // what the persistent queries have processed so far, as ksqlDB's pull queries
            // answer from their state stores.
            let prepared = engine
                .prepare_pull(&q, text, overrides)
                .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
            drop(engine);
            let result = prepared
                .open()
                .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
            Ok(Started::Pull(
                format!("pull_{:x}", rand_id()),
                Box::new(result),
            ))
        }
        QueryKind::Push(q) => {
            let push = engine
                .start_push_query(&q, text, overrides)
                .map_err(|e| ApiError::from_engine(e, text, Vec::new()))?;
            state.runtime.wake();
            Ok(Started::Push(push))
        }
        QueryKind::Print(request) => {
            let cursor = engine
                .prepare_print(&request, overrides)
                .map_err(|e| match e {
                    EngineError::Generic(message) => ApiError::bad_request(message),
                    other => ApiError::from_engine(other, text, Vec::new()),
                })?;
            Ok(Started::Print(Box::new(cursor)))
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
    Extension(caller): Extension<Caller>,
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
    let started = start(&state, &text, &overrides, &variables);
    state
        .security
        .audit
        .statement(&caller, "/query", &text, started.as_ref().map(|_| ()));
    let started = match started {
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

/// `POST /query-stream`: a metadata line, then one JSON array per row.
pub async fn query_stream(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args: QueryStreamRequest = match parse_body(&body) {
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
    let started = start(&state, &text, &overrides, &variables);
    state.security.audit.statement(
        &caller,
        "/query-stream",
        &text,
        started.as_ref().map(|_| ()),
    );
    let started = match started {
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
    /// An error that ends the rows (the header is already sent), in the response's format.
    fn error(&mut self, message: &str) -> String {
        let error = ErrorBody::Generic {
            error_code: 50000,
            message: message.to_string(),
        };
        match self.format {
            Format::OldApi | Format::Protobuf => {
                let mut text = self.element(&StreamedRow::ErrorMessage(error));
                text.push_str("]\n");
                text
            }
            _ => self.element(&error),
        }
    }

    fn element(&mut self, value: &impl serde::Serialize) -> String {
        // Our own types and JSON values: they always serialize.
        let text = serde_json::to_string(value).unwrap_or_default();
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
                    out.push_str(&self.element(&StreamedRow::FinalMessage(m.to_string())));
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
            Format::OldApi => self.element(&StreamedRow::Header(QueryHeader {
                query_id: id.to_string(),
                schema: schema_text(columns, mark_keys),
                proto_schema: None,
            })),
            Format::Protobuf => self.element(&StreamedRow::Header(QueryHeader {
                query_id: id.to_string(),
                schema: schema_text(columns, mark_keys),
                proto_schema: Some(crate::format::protobuf::schema_text(
                    &as_columns(columns),
                    crate::format::protobuf::DEFAULT_MESSAGE_NAME,
                )),
            })),
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
        Some(self.element(&StreamedRow::Row(RowData {
            protobuf_bytes: Some(bytes),
            ..RowData::default()
        })))
    }

    /// A row; `None` when this format drops it (tombstones outside the old API).
    fn row(&mut self, values: Vec<Value>, tombstone: bool) -> Option<String> {
        match self.format {
            Format::OldApi => Some(self.element(&StreamedRow::Row(RowData {
                columns: Some(values),
                protobuf_bytes: None,
                tombstone,
            }))),
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

/// The chunks of a streamed answer: written by the producer of the answer as they are ready,
/// at most `capacity` ahead of the client.
type ChunkSender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;
type ChunkReceiver = tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>;

fn chunk_channel(capacity: usize) -> (ChunkSender, ChunkReceiver) {
    tokio::sync::mpsc::channel(capacity)
}

/// A 200 whose body is the chunks sent into `body`, as they come.
fn streamed(content_type: &'static str, body: ChunkReceiver) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(body)),
    )
        .into_response()
}

/// How often a PRINT with nothing new looks at its topic again.
const PRINT_POLL: std::time::Duration = std::time::Duration::from_millis(50);
/// How long `/query`'s PRINT stays silent before it writes a blank line, as ksqlDB's does
/// after each empty poll.
const PRINT_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes a PRINT's lines into `chunks` as records arrive, until its LIMIT is reached or the
/// client goes away.
fn send_printed(mut cursor: PrintCursor, with_formats: bool, chunks: &ChunkSender) {
    let mut quiet_since = std::time::Instant::now();
    loop {
        let printed = match cursor.step() {
            Ok(printed) => printed,
            Err(e) => {
                let _ = chunks.blocking_send(Ok(Bytes::from(format!("{e}\n"))));
                return;
            }
        };
        let mut text = String::new();
        let lines = if with_formats {
            printed
                .formats
                .iter()
                .chain(&printed.records)
                .collect::<Vec<_>>()
        } else {
            printed.records.iter().collect()
        };
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        if text.is_empty() && with_formats && quiet_since.elapsed() >= PRINT_KEEP_ALIVE {
            text.push('\n');
        }
        if !text.is_empty() {
            quiet_since = std::time::Instant::now();
            if chunks.blocking_send(Ok(Bytes::from(text))).is_err() {
                return;
            }
        }
        if printed.done || chunks.is_closed() {
            return;
        }
        if printed.records.is_empty() {
            std::thread::sleep(PRINT_POLL);
        }
    }
}

/// Renders a pull query's header, its rows chunk by chunk and its end into `chunks`, until the
/// rows end or the client goes away.
fn send_pull_rows(id: &str, mut cursor: PullCursor, mut framer: Framer, chunks: &ChunkSender) {
    let table = cursor.source_kind() == SourceKind::Table;
    let columns = cursor.columns().to_vec();
    let send = |text: String| chunks.blocking_send(Ok(Bytes::from(text))).is_ok();
    if !send(framer.header(id, &columns, table)) {
        return;
    }
    loop {
        match cursor.next_chunk() {
            Ok(Some(rows)) => {
                let mut text = String::new();
                for row in &rows {
                    if let Some(line) = framer.values_row(row, &columns, false) {
                        text.push_str(&line);
                    }
                }
                if !send(text) {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                // The header is sent: the error ends the rows, as a push query's does.
                send(framer.error(&e.to_string()));
                return;
            }
        }
    }
    // A table's rows end without a final message, even at a LIMIT.
    let final_message = match (table, cursor.limit_reached()) {
        (true, _) => None,
        (false, true) => Some("Limit Reached"),
        (false, false) => Some("Query Completed"),
    };
    send(framer.end(final_message));
}

fn stream_response(started: Started, format: Format) -> Response {
    let mut framer = Framer {
        format,
        first: true,
    };
    match started {
        Started::Print(cursor) => {
            // `/query` writes plain text lines (under ksqlDB's `application/json`), with the
            // format lines and a blank line each idle second; the other framings only the
            // records.
            let old_api = format == Format::OldApi;
            let (chunks, body) = chunk_channel(4);
            tokio::task::spawn_blocking(move || send_printed(*cursor, old_api, &chunks));
            streamed(
                if old_api {
                    "application/json"
                } else {
                    DELIMITED
                },
                body,
            )
        }
        Started::Pull(id, cursor) => {
            // The rows are read and rendered a chunk at a time on a blocking thread and sent
            // as they are ready: an answer of any size takes bounded memory, and a client
            // that goes away stops the reading.
            let (chunks, body) = chunk_channel(4);
            tokio::task::spawn_blocking(move || send_pull_rows(&id, *cursor, framer, &chunks));
            streamed(content_type(format), body)
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
                                Some(PushEvent::Error(message)) => (framer.error(&message), true),
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

/// `POST /close-query`: stops a push query.
pub async fn close_query(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: CloseQueryRequest = match parse_body(&body) {
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

/// `POST /inserts-stream`: the first line names the target; every later line is a row,
/// inserted and acknowledged as it arrives on the still-open request, so a client streams rows
/// and reads their acks as it goes. A bad row is answered with an error and ends the response.
/// Acks are delimited JSON, or one JSON array when the client accepts `application/json`.
pub async fn inserts_stream(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let as_array = accepts(&headers, "application/json");
    let mut chunks = body.into_data_stream();
    let mut lines = LineBuffer::default();
    let first = loop {
        if let Some(line) = lines.next_line() {
            break Some(line);
        }
        if lines.overflowed() {
            return line_too_long().into_response();
        }
        match chunks.next().await {
            Some(Ok(chunk)) => lines.push(&chunk),
            Some(Err(e)) => {
                return ApiError::bad_request(format!("Cannot read the inserts stream: {e}"))
                    .into_response();
            }
            None => break lines.rest(),
        }
    };
    let target = first
        .as_deref()
        .map(serde_json::from_str::<InsertsArgs>)
        .transpose();
    let target = match target {
        Ok(Some(InsertsArgs {
            target: Some(target),
        })) => target,
        Ok(_) => return ApiError::bad_request("No target in inserts stream").into_response(),
        Err(e) => {
            return ApiError::bad_request(format!("Invalid JSON in inserts stream: {e}"))
                .into_response();
        }
    };
    let inserter = state
        .engine()
        .inserter(&target.to_uppercase())
        .map_err(|e| ApiError::from_engine(e, "", Vec::new()));
    let described = format!("INSERT INTO {target} (a stream of rows)");
    state.security.audit.statement(
        &caller,
        "/inserts-stream",
        &described,
        inserter.as_ref().map(|_| ()),
    );
    let inserter = match inserter {
        Ok(inserter) => inserter,
        Err(e) => return e.into_response(),
    };
    let (acks, body) = chunk_channel(ACK_BUFFER);
    tokio::spawn(async move {
        let mut writer = AckWriter {
            acks,
            as_array,
            written: 0,
        };
        let inserter = Arc::new(inserter);
        let mut seq = 0u64;
        'rows: loop {
            // Every complete row that has arrived goes into one write, acknowledged by one sync.
            let mut rows = Vec::new();
            while rows.len() < ROWS_PER_WRITE {
                match lines.next_line() {
                    Some(line) => rows.push(line),
                    None => break,
                }
            }
            let last = rows.is_empty() && lines.overflowed();
            let mut ended = false;
            if rows.is_empty() && !last {
                match chunks.next().await {
                    Some(Ok(chunk)) => {
                        lines.push(&chunk);
                        continue;
                    }
                    Some(Err(_)) => break,
                    None => {
                        rows.extend(lines.rest());
                        ended = true;
                    }
                }
            }
            if last {
                let error = line_too_long();
                writer
                    .send(
                        &json!({"status": "error", "seq": seq, "error_code": error.code.number(),
                                  "message": error.message}),
                    )
                    .await;
                break;
            }
            let (acks, failed) = insert_rows(Arc::clone(&inserter), rows, seq).await;
            state.runtime.wake();
            for ack in &acks {
                if !writer.send(ack).await {
                    break 'rows;
                }
                seq += 1;
            }
            if failed || ended {
                break;
            }
        }
        writer.finish().await;
    });
    streamed(
        if as_array {
            "application/json"
        } else {
            DELIMITED
        },
        body,
    )
}

/// A row of an inserts stream longer than a request body may be.
fn line_too_long() -> ApiError {
    ApiError::new(
        ErrorCode::Http(StatusCode::PAYLOAD_TOO_LARGE),
        format!(
            "Request body too large: a row of the inserts stream is over the limit of {} bytes",
            super::MAX_BODY_BYTES
        ),
    )
}

/// How many acks may wait for a slow reader before inserting pauses.
const ACK_BUFFER: usize = 64;

/// The most rows of an inserts stream written (and synced) together.
const ROWS_PER_WRITE: usize = 1024;

/// Inserts rows of an inserts stream, numbered from `first_seq`, in one write on a blocking
/// thread: the acks to send, in order, and whether the stream must stop (a row was refused:
/// the rows before it are written and acknowledged, the rest are not read).
async fn insert_rows(
    inserter: Arc<crate::engine::Inserter>,
    rows: Vec<String>,
    first_seq: u64,
) -> (Vec<Value>, bool) {
    let written = tokio::task::spawn_blocking(move || {
        let mut records = Vec::with_capacity(rows.len());
        let mut refused = None;
        for (line, seq) in rows.iter().zip(first_seq..) {
            match serde_json::from_str(line) {
                Ok(Value::Object(row)) => match inserter.record_json(&row) {
                    Ok(record) => records.push(record),
                    Err(e) => {
                        refused = Some(json!({"status": "error", "seq": seq,
                                              "error_code": 40000, "message": e.to_string()}));
                        break;
                    }
                },
                _ => {
                    refused = Some(json!({"status": "error", "seq": seq, "error_code": 40000,
                                          "message": "Invalid JSON in inserts stream"}));
                    break;
                }
            }
        }
        let count = records.len() as u64;
        let mut acks: Vec<Value> = match inserter.write(records) {
            Ok(()) => (first_seq..first_seq + count)
                .map(|seq| json!({"status": "ok", "seq": seq}))
                .collect(),
            Err(e) => {
                let message = e.to_string();
                let failed = (first_seq..first_seq + count)
                    .map(|seq| {
                        json!({"status": "error", "seq": seq, "error_code": 50000,
                                      "message": message})
                    })
                    .collect();
                return (failed, true);
            }
        };
        let stop = refused.is_some();
        acks.extend(refused);
        (acks, stop)
    })
    .await;
    written.unwrap_or_else(|e| {
        let ack = json!({"status": "error", "seq": first_seq, "error_code": 50000,
                         "message": format!("Internal error, please report: {e}")});
        (vec![ack], true)
    })
}

/// Splits a request body that arrives in chunks into its non-blank lines.
#[derive(Default)]
struct LineBuffer {
    pending: Vec<u8>,
    /// How much of `pending` is known to hold no newline.
    scanned: usize,
}

impl LineBuffer {
    fn push(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
    }

    /// Whether the line being read is longer than any request body may be.
    fn overflowed(&self) -> bool {
        self.pending.len() > super::MAX_BODY_BYTES
    }

    /// The next complete, non-blank line.
    fn next_line(&mut self) -> Option<String> {
        loop {
            let Some(found) = self.pending[self.scanned..]
                .iter()
                .position(|&b| b == b'\n')
            else {
                self.scanned = self.pending.len();
                return None;
            };
            let end = self.scanned + found;
            self.scanned = 0;
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line).trim().to_string();
            if !text.is_empty() {
                return Some(text);
            }
        }
    }

    /// What is left after the last newline, when the body has ended.
    fn rest(&mut self) -> Option<String> {
        self.scanned = 0;
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.pending))
            .trim()
            .to_string();
        (!text.is_empty()).then_some(text)
    }
}

/// Sends acks as delimited lines or as the elements of one JSON array.
struct AckWriter {
    acks: ChunkSender,
    as_array: bool,
    written: u64,
}

impl AckWriter {
    /// Sends one ack; false when the client has gone.
    async fn send(&mut self, ack: &Value) -> bool {
        let text = match (self.as_array, self.written) {
            (true, 0) => format!("[{ack}"),
            (true, _) => format!(",{ack}"),
            (false, _) => format!("{ack}\n"),
        };
        self.written += 1;
        self.acks.send(Ok(Bytes::from(text))).await.is_ok()
    }

    async fn finish(self) {
        if self.as_array {
            let close = if self.written == 0 { "[]" } else { "]" };
            let _ = self.acks.send(Ok(Bytes::from(close))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_and_a_body_ended_mid_line() {
        let mut lines = LineBuffer::default();
        lines.push(b"{\"target\":\"s\"}\n{\"A\"");
        assert_eq!(lines.next_line().as_deref(), Some("{\"target\":\"s\"}"));
        assert_eq!(lines.next_line(), None);
        lines.push(b":1}\n\n  \n{\"A\":2}");
        assert_eq!(lines.next_line().as_deref(), Some("{\"A\":1}"));
        assert_eq!(lines.next_line(), None);
        // The body ends without a newline: the rest is the last line, and the buffer is empty
        // (a fuzzed body once made the next look past its end).
        assert_eq!(lines.rest().as_deref(), Some("{\"A\":2}"));
        assert_eq!(lines.next_line(), None);
        assert_eq!(lines.rest(), None);
    }
}
