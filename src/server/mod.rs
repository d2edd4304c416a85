//! The server: ksqlDB's REST API over the engine.
//!
//! Statements run one at a time through the engine, behind a mutex that no request holds
//! across an await. Queries do not run under it: the engine hands each to the runtime, whose
//! stream threads run their tasks (see [`crate::exec::runtime`]); handlers that produce records
//! wake them. Push queries stream from a bounded channel per client, so a slow client pauses
//! only its own query.
//!
//! ```text
//!  HTTP ─► axum router ─► handlers ─► Engine (mutex): statements, one at a time
//!             │                │ starts/stops queries
//!             │ produce, wake  ▼
//!             └──────────► Runtime: stream threads ─► tasks ─► topics
//!                              └── push rows (mpsc) ─► client
//! ```

pub mod audit;
pub mod auth;
mod cluster;
mod console;
mod entities;
mod errors;
mod h2c;
mod listener;
mod query;
mod schemas;
pub mod settings;
mod tls;
mod topics;
mod values;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{CommandStatus, KsqlEntity, ServerInfo, ServerInfoResponse};
use crate::engine::{Engine, EngineError};
use crate::exec::Runtime;
use crate::sql::{self, Statement};
use crate::topics::{
    DiskOptions, DiskTopicStore, FlushPolicy, KafkaTopicStore, MemoryTopicStore, TopicStore,
};
use auth::{Access, Caller};
use errors::{ApiError, ErrorCode};

/// How the server is started.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Headless mode: these statements run at start-up and the API accepts no others.
    pub queries_file: Option<PathBuf>,
    /// Properties set for every statement (`--config` file entries).
    pub properties: BTreeMap<String, String>,
    /// Where topics live.
    pub storage: Storage,
    /// A PEM file with the certificate chain and key: the listener speaks TLS.
    pub keystore: Option<PathBuf>,
    /// BASIC authentication, when configured.
    pub authentication: Option<auth::AuthSettings>,
    pub max_connections: usize,
    pub max_concurrent_requests: usize,
}

/// Where the server keeps its topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Segment files under this data directory, synced before each produce is acknowledged.
    Disk(PathBuf),
    /// In memory only: gone when the server stops.
    Memory,
    /// On a Kafka cluster; the directory holds only this server's own files (the audit log).
    Kafka(crate::topics::KafkaOptions, PathBuf),
}

/// The log's own settings among the server's properties, Kafka's broker names.
const LOG_FLUSH_MESSAGES: &str = settings::LOG_SETTINGS[0];
const LOG_SEGMENT_BYTES: &str = settings::LOG_SETTINGS[1];
/// How often the log is cleaned: sealed segments past their topic's retention deleted,
/// compacted topics compacted.
const RETENTION_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the data directory's log (which locks it, so that no other process uses it).
fn open_disk_store(
    dir: &std::path::Path,
    properties: &BTreeMap<String, String>,
) -> anyhow::Result<Arc<DiskTopicStore>> {
    let mut options = DiskOptions::default();
    if let Some(value) = properties.get(LOG_FLUSH_MESSAGES) {
        options.flush = match value.trim().parse::<u64>() {
            Ok(1) => FlushPolicy::EveryProduce,
            Ok(n) if n > 1 => FlushPolicy::Os,
            _ => anyhow::bail!(
                "{LOG_FLUSH_MESSAGES} must be a positive whole number (1 syncs every produce before it is acknowledged; more leaves syncing to the operating system), not '{value}'"
            ),
        };
    }
    if let Some(value) = properties.get(LOG_SEGMENT_BYTES) {
        options.segment_bytes = match value.trim().parse::<u64>() {
            Ok(n) if n >= 1024 * 1024 => n,
            _ => anyhow::bail!("{LOG_SEGMENT_BYTES} must be at least 1048576, not '{value}'"),
        };
    }
    let store = DiskTopicStore::open(dir, options)
        .map_err(|e| anyhow::anyhow!("Cannot open the log in {}: {e}", dir.display()))?;
    Ok(Arc::new(store))
}

/// What every handler shares.
pub struct AppState {
    engine: Mutex<Engine>,
    /// Runs the queries; told when records arrive.
    runtime: Arc<Runtime>,
    headless: bool,
    /// The status of every command run through `/ksql`, by command id.
    commands: Mutex<BTreeMap<String, CommandStatus>>,
    /// The engine's schema registry, served without the engine's lock.
    registry: crate::registry::SchemaRegistry,
    security: Security,
    /// The servers of the service, when it runs on Kafka.
    cluster: std::sync::OnceLock<Arc<cluster::Cluster>>,
}

/// Who may use the server, how much at once, and the record of what they did.
pub struct Security {
    /// `None` when authentication is off: every request may do everything.
    pub authenticator: Option<auth::Authenticator>,
    pub audit: audit::AuditLog,
    /// One permit per request being handled (`ksql.server.max.concurrent.requests`); a
    /// streaming response holds none once its rows flow.
    pub requests: tokio::sync::Semaphore,
    pub max_concurrent_requests: usize,
}

impl Security {
    pub fn new(
        authenticator: Option<auth::Authenticator>,
        audit: audit::AuditLog,
        max_concurrent_requests: usize,
    ) -> Security {
        Security {
            authenticator,
            audit,
            requests: tokio::sync::Semaphore::new(max_concurrent_requests),
            max_concurrent_requests,
        }
    }
}

impl Default for Security {
    fn default() -> Security {
        Security::new(
            None,
            audit::AuditLog::default(),
            settings::DEFAULT_MAX_CONCURRENT_REQUESTS,
        )
    }
}

/// Middleware: answers 429 when `ksql.server.max.concurrent.requests` are being handled.
async fn limit_requests(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(_permit) = state.security.requests.try_acquire() else {
        return ApiError::new(
            ErrorCode::TooManyRequests,
            format!(
                "Too many requests: the server is handling {} at once (ksql.server.max.concurrent.requests); retry shortly",
                state.security.max_concurrent_requests
            ),
        )
        .into_response();
    };
    next.run(request).await
}

impl AppState {
    /// The engine, locked; in-process harnesses (the REST test runner) use it to produce
    /// records and run the queries between requests.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the engine is a bug that was already reported; the engine's
        // own state stays consistent between statements, so keep serving.
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Builds the application state for an engine, open to every request (in-process tests).
pub fn state(engine: Engine, headless: bool) -> Arc<AppState> {
    secured_state(engine, headless, Security::default())
}

/// Builds the application state for an engine, behind `security`.
pub fn secured_state(engine: Engine, headless: bool, security: Security) -> Arc<AppState> {
    Arc::new(AppState {
        security,
        runtime: Arc::clone(engine.runtime()),
        registry: engine.schema_registry().clone(),
        engine: Mutex::new(engine),
        headless,
        commands: Mutex::new(BTreeMap::new()),
        cluster: std::sync::OnceLock::new(),
    })
}

/// The REST API's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let routes = routes(state);
    routes
        .clone()
        .layer(axum::middleware::from_fn_with_state(routes, h2c::upgrade))
}

/// The API's routes, served over HTTP/1.1, HTTP/2 by prior knowledge, and HTTP/2 after an
/// `h2c` upgrade.
fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(console::index))
        .route("/console/app.js", get(console::script))
        .route("/console/style.css", get(console::style))
        .route("/ksql", post(ksql))
        .route("/query", post(query::query))
        .route("/query-stream", post(query::query_stream))
        .route("/close-query", post(query::close_query))
        .route("/inserts-stream", post(query::inserts_stream))
        .route("/topics/{topic}/records", post(topics::produce))
        .route("/info", get(info))
        .route("/healthcheck", get(healthcheck))
        .route("/chc/live", get(|| async { axum::Json(json!({})) }))
        .route("/chc/ready", get(|| async { axum::Json(json!({})) }))
        .route("/status", get(status_all))
        .route("/status/{kind}/{entity}/{action}", get(status_one))
        .route("/clusterStatus", get(cluster_status))
        // Confluent Schema Registry's API, for the schemas of the registry formats.
        .route("/subjects", get(schemas::subjects))
        .route("/subjects/{subject}", post(schemas::lookup))
        .route(
            "/subjects/{subject}/versions",
            get(schemas::versions).post(schemas::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(schemas::version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(schemas::version_schema),
        )
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::id_versions))
        .route("/schemas/types", get(schemas::types))
        .route("/config", get(schemas::config).put(schemas::set_config))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(schemas::compatibility),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            limit_requests,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Errors that axum answers before a handler runs (a wrong method, a body over the limit) get
/// ksqlDB's JSON error body too, so clients can parse every error the same way; an unknown
/// path keeps ksqlDB's plain-text `Not Found`.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
    if is_json
        || status == StatusCode::NOT_FOUND
        || !(status.is_client_error() || status.is_server_error())
    {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("Request body too large: the limit is {MAX_BODY_BYTES} bytes")
        }
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this endpoint".to_string(),
        other => other.canonical_reason().unwrap_or("Error").to_string(),
    };
    let mut error = ApiError::new(ErrorCode::Http(status), message).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        error.headers_mut().insert(header::ALLOW, allow.clone());
    }
    error
}

/// ksqlDB's default record cache size.
const DEFAULT_CACHE_MAX_BYTES_BUFFERING: &str = "10000000";
/// How many entries of the processing log the server keeps in memory (the latest ones).
const PROCESSING_LOG_ENTRIES: &str = "ksql.logging.processing.retained.entries";

/// ksqlDB's default bound on push queries running at once (each holds a task and a queue of
/// up to 4,096 rows).
const DEFAULT_MAX_PUSH_QUERIES: &str = "100";

/// Starts the server and serves until SIGTERM or Ctrl-C.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let store: Arc<dyn TopicStore> = match &config.storage {
        Storage::Memory => Arc::new(MemoryTopicStore::new()),
        Storage::Kafka(options, _) => {
            let servers = options.bootstrap_servers.clone();
            let options = options.clone();
            let store = tokio::task::spawn_blocking(move || KafkaTopicStore::connect(options))
                .await?
                .map_err(|e| anyhow::anyhow!("Cannot use the Kafka cluster at {servers}: {e}"))?;
            println!("Topics are kept on the Kafka cluster at {servers}");
            Arc::new(store)
        }
        Storage::Disk(dir) => {
            let store = open_disk_store(dir, &config.properties)?;
            let retained = Arc::clone(&store);
            tokio::spawn(async move {
                // Not at once: a restart's first moments belong to restoring state.
                let first = tokio::time::Instant::now() + RETENTION_CHECK;
                let mut every = tokio::time::interval_at(first, RETENTION_CHECK);
                loop {
                    every.tick().await;
                    let store = Arc::clone(&retained);
                    let now = chrono::Utc::now().timestamp_millis();
                    let applied = tokio::task::spawn_blocking(move || store.clean(now)).await;
                    if let Ok(Err(e)) = applied {
                        tracing::warn!("cleaning the log: {e}");
                    }
                }
            });
            store
        }
    };
    let properties: BTreeMap<String, String> = config
        .properties
        .iter()
        .filter(|(k, _)| ![LOG_FLUSH_MESSAGES, LOG_SEGMENT_BYTES].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut engine = Engine::new(store);
    if matches!(config.storage, Storage::Kafka(..)) {
        // The servers of the service share each query's tasks (see `cluster`).
        engine.share_tasks();
    }
    // Like ksqlDB, a server coalesces table updates per key unless configured not to.
    let cache_keys = [
        "ksql.streams.cache.max.bytes.buffering",
        "cache.max.bytes.buffering",
    ];
    if !cache_keys.iter().any(|k| properties.contains_key(*k)) {
        engine.set_property(cache_keys[0], DEFAULT_CACHE_MAX_BYTES_BUFFERING);
    }
    if !properties.contains_key(crate::engine::transient::MAX_PUSH_QUERIES) {
        engine.set_property(
            crate::engine::transient::MAX_PUSH_QUERIES,
            DEFAULT_MAX_PUSH_QUERIES,
        );
    }
    // A query that can run a task per partition uses every core, unless configured not to.
    let thread_keys = ["ksql.streams.num.stream.threads", "num.stream.threads"];
    if !thread_keys.iter().any(|k| properties.contains_key(*k)) {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        engine.set_property(thread_keys[0], &cores.to_string());
    }
    for (k, v) in &properties {
        engine.set_property(k, v);
    }
    let flag = |name: &str| {
        config
            .properties
            .get(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    if let Some(value) = config.properties.get(PROCESSING_LOG_ENTRIES) {
        match value.trim().parse::<usize>() {
            Ok(n) if (1..=crate::exec::processing_log::MAX_CAPACITY).contains(&n) => {
                engine.runtime().processing_log().set_capacity(n);
            }
            _ => anyhow::bail!(
                "{PROCESSING_LOG_ENTRIES} must be a whole number from 1 to {}, not '{value}'",
                crate::exec::processing_log::MAX_CAPACITY
            ),
        }
    }
    if flag("ksql.logging.processing.stream.auto.create") {
        engine
            .create_processing_log_stream()
            .map_err(|e| anyhow::anyhow!("Cannot create the processing log stream: {e}"))?;
    }
    if config.storage != Storage::Memory {
        let schemas = engine.schemas_topic_name(matches!(config.storage, Storage::Kafka(..)));
        engine
            .recover_schemas(&schemas)
            .map_err(|e| anyhow::anyhow!("Cannot recover the schema registry: {e}"))?;
    }
    if config.queries_file.is_none() && config.storage != Storage::Memory {
        let replayed = engine
            .recover_from_command_topic()
            .map_err(|e| anyhow::anyhow!("Cannot recover the catalog: {e}"))?;
        if replayed.applied + replayed.failed.len() > 0 {
            println!(
                "Recovered {} statements from {}{}",
                replayed.applied,
                engine.command_topic_name(),
                if replayed.failed.is_empty() {
                    String::new()
                } else {
                    format!("; {} failed again (see the log)", replayed.failed.len())
                }
            );
        }
    }
    if let Some(path) = &config.queries_file {
        let sql = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("Cannot read {}: {e}", path.display()))?;
        engine.execute_script(&sql).map_err(|(i, e)| {
            anyhow::anyhow!("Statement {} of {} failed: {e}", i + 1, path.display())
        })?;
    }
    let security = security(&config)?;
    let tls = config
        .keystore
        .as_deref()
        .map(tls::acceptor)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    let threads = engine.stream_threads();
    let state = secured_state(engine, config.queries_file.is_some(), security);
    state.runtime.start_workers(threads)?;
    if matches!(config.storage, Storage::Kafka(..)) {
        follow_commands(Arc::clone(&state));
        // Others reach this server at its advertised listener (ksqlDB's setting).
        let host = config
            .properties
            .get("ksql.advertised.listener")
            .map(|l| {
                l.trim()
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string()
            })
            .unwrap_or_else(|| config.listen.to_string());
        let (store, service) = {
            let engine = state.engine();
            let service = engine
                .property(crate::engine::SERVICE_ID)
                .unwrap_or("default_")
                .to_string();
            (Arc::clone(engine.store()), service)
        };
        let joined =
            tokio::task::spawn_blocking(move || cluster::Cluster::join(store, &service, host))
                .await?
                .map_err(|e| anyhow::anyhow!("Cannot join the service's servers: {e}"))?;
        joined.start(Arc::clone(&state.runtime));
        let _ = state.cluster.set(joined);
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!("listening on {}", config.listen);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let reach = if config.listen.ip().is_loopback() {
        " (this machine only: set listeners in --config, or --listen, to serve others)"
    } else {
        ""
    };
    println!("Sluice is listening on {scheme}://{}{reach}", config.listen);
    if state.security.authenticator.is_none() && !config.listen.ip().is_loopback() {
        println!(
            "warning: authentication is off: anyone who reaches {} may run any statement (authentication.method=BASIC)",
            config.listen
        );
    }
    listener::serve(
        listener,
        tls,
        config.max_connections,
        router(state),
        shutdown_signal(),
    )
    .await;
    println!("Shutting down.");
    Ok(())
}

/// How often a server on Kafka looks for the statements other servers of its service ran.
const COMMAND_FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Applies, as they come, the commands other servers of the service record: servers that
/// share a service id share one catalog, and each runs its share of every query.
fn follow_commands(state: Arc<AppState>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(COMMAND_FOLLOW_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let state = Arc::clone(&state);
            let followed =
                tokio::task::spawn_blocking(move || state.engine().follow_command_topic()).await;
            match followed {
                Ok(Ok(replayed)) if replayed.applied + replayed.failed.len() > 0 => {
                    tracing::info!(
                        "applied {} statements of other servers ({} failed)",
                        replayed.applied,
                        replayed.failed.len()
                    );
                }
                Ok(Err(e)) => tracing::warn!("following the command topic: {e}"),
                _ => {}
            }
        }
    });
}

/// The server's authentication and audit log, as configured, said at start-up.
fn security(config: &ServerConfig) -> anyhow::Result<Security> {
    let authenticator = match &config.authentication {
        None => None,
        Some(settings) => {
            let authenticator =
                auth::Authenticator::new(settings).map_err(|e| anyhow::anyhow!(e))?;
            let users = authenticator.users();
            println!(
                "Authentication: BASIC, {} users from {} (realm {})",
                users.len(),
                settings.users_file.display(),
                settings.realm
            );
            let plain = users.plain_text();
            if !plain.is_empty() {
                println!(
                    "warning: the users file holds the passwords of {} in plain text; store Argon2 hashes (sluice users add)",
                    plain.join(", ")
                );
            }
            Some(authenticator)
        }
    };
    let audit = match &config.storage {
        Storage::Disk(dir) | Storage::Kafka(_, dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("Cannot create {}: {e}", dir.display()))?;
            let path = dir.join("audit.log");
            audit::AuditLog::open(&path)
                .map_err(|e| anyhow::anyhow!("Cannot open {}: {e}", path.display()))?
        }
        Storage::Memory => audit::AuditLog::default(),
    };
    Ok(Security::new(
        authenticator,
        audit,
        config.max_concurrent_requests,
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

pub use crate::api::KsqlRequest;

/// Property and variable maps take any JSON scalar; they are used as text.
/// A request's streams properties as text, refusing values Kafka's own config checks would.
pub fn checked_properties(
    map: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let properties = as_text_map(map);
    for (name, value) in &properties {
        crate::engine::config::check_property_name(name).map_err(ApiError::bad_request)?;
        let bare = name.strip_prefix("ksql.streams.").unwrap_or(name);
        if bare == "auto.offset.reset"
            && !["earliest", "latest", "none"].contains(&value.to_lowercase().as_str())
        {
            return Err(ApiError::bad_request(format!(
                "Invalid value {value} for configuration {name}: String must be one of: latest, earliest, none"
            )));
        }
    }
    Ok(properties)
}

pub fn as_text_map(map: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Parses a JSON request body, answering ksqlDB's 40000 when it isn't.
pub fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request: {e}")))
}

async fn ksql(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    match run_ksql(&state, &caller, &body) {
        Ok(entities) => {
            state.runtime.wake();
            json_response(StatusCode::OK, &entities)
        }
        Err(e) => {
            state.runtime.wake();
            e.into_response()
        }
    }
}

fn run_ksql(state: &AppState, caller: &Caller, body: &Bytes) -> Result<Vec<KsqlEntity>, ApiError> {
    let audit = |text: &str, outcome: Result<(), &ApiError>| {
        state
            .security
            .audit
            .statement(caller, "/ksql", text, outcome);
    };
    let request: KsqlRequest = parse_body(body)?;
    let Some(text) = request.ksql.filter(|t| !t.trim().is_empty()) else {
        return Err(ApiError::bad_request(
            "Empty statement: the 'ksql' field is required",
        ));
    };
    let overrides = checked_properties(&request.streams_properties)?;
    let variables = as_text_map(&request.session_variables);
    let mut engine = state.engine();
    let saved = engine.properties_snapshot();
    for (k, v) in &overrides {
        engine.set_property(k, v);
    }
    let mut entities = Vec::new();
    let result = (|| {
        // As in ksqlDB, a request with a statement that doesn't parse runs none of its
        // statements. Only statements that no earlier one in the request could affect, by
        // defining a type or a variable, can be parsed before running; each is parsed once.
        let pieces = sql::split_statements(&text);
        let mut parsed: Vec<Option<Statement>> = Vec::with_capacity(pieces.len());
        // A read-only caller's request is checked whole before any of it runs.
        let read_only = caller.access == Access::ReadOnly;
        for piece in &pieces {
            let head = piece.text.trim_start().to_uppercase();
            if ["CREATE TYPE", "DROP TYPE", "DEFINE", "UNDEFINE"]
                .iter()
                .any(|h| head.starts_with(h))
            {
                if read_only {
                    let error = forbidden_statement(caller, &piece.text);
                    audit(&piece.text, Err(&error));
                    return Err(error);
                }
                break;
            }
            let statement_text = engine.substitute(&piece.text, &variables);
            let statement = engine.parse(&statement_text, piece.start).map_err(|e| {
                let error = ApiError::from_engine(e, &statement_text, Vec::new());
                audit(&statement_text, Err(&error));
                error
            })?;
            if read_only && !statement.only_reads() {
                let error = forbidden_statement(caller, &statement_text);
                audit(&statement_text, Err(&error));
                return Err(error);
            }
            parsed.push(Some(statement));
        }
        parsed.resize_with(pieces.len(), || None);
        for (piece, statement) in pieces.iter().zip(parsed) {
            let statement_text = engine.substitute(&piece.text, &variables);
            let refuse = |error: ApiError| {
                audit(&statement_text, Err(&error));
                error
            };
            let statement = match statement {
                Some(statement) => statement,
                None => engine.parse(&statement_text, piece.start).map_err(|e| {
                    refuse(ApiError::from_engine(e, &statement_text, entities.clone()))
                })?,
            };
            if matches!(statement, Statement::Query(_) | Statement::Print { .. }) {
                return Err(refuse(ApiError::query_endpoint(
                    &statement_text,
                    entities.clone(),
                )));
            }
            if state.headless && statement.changes_catalog() {
                return Err(refuse(ApiError::statement(
                    format!(
                        "The server is running in headless mode (--queries-file): statements that change the catalog are refused. Statement: {statement_text}"
                    ),
                    &statement_text,
                    entities.clone(),
                )));
            }
            // INSERT VALUES answers with no entity, as ksqlDB's does.
            let answers = !matches!(statement, Statement::InsertValues { .. });
            let outcome = engine.execute_statement(statement, &statement_text);
            if outcome.is_ok() {
                audit(&statement_text, Ok(()));
            }
            match outcome {
                Ok(_) if !answers => {}
                Ok(outcome) => {
                    let sequence = engine.command_sequence().map_or(-1, |n| n as i64);
                    let entity = entities::entity(&statement_text, outcome, sequence);
                    if let Some((id, status)) = entities::command_status(&entity) {
                        state
                            .commands
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(id, status);
                    }
                    entities.push(entity);
                }
                Err(e) => {
                    return Err(refuse(ApiError::from_engine(
                        e,
                        &statement_text,
                        entities.clone(),
                    )));
                }
            }
        }
        Ok(entities.clone())
    })();
    engine.restore_properties(saved);
    result
}

/// 403 for a statement a read-only caller may not run; the request runs none of its statements.
fn forbidden_statement(caller: &Caller, text: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "Forbidden: user '{}' has a read-only role and may run only queries, SHOW, LIST, DESCRIBE, EXPLAIN and PRINT. Statement: {}",
            caller.name(),
            text.trim()
        ),
    )
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (status, [(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Internal error, please report: the answer could not be written: {e}"),
        )
            .into_response(),
    }
}

async fn info(State(state): State<Arc<AppState>>) -> Response {
    let service_id = state
        .engine()
        .property(crate::engine::SERVICE_ID)
        .unwrap_or("default_")
        .to_string();
    json_response(
        StatusCode::OK,
        &ServerInfoResponse {
            server_info: ServerInfo {
                version: env!("CARGO_PKG_VERSION").to_string(),
                kafka_cluster_id: "sluice-embedded".to_string(),
                ksql_service_id: service_id,
                server_status: "RUNNING".to_string(),
            },
        },
    )
}

async fn healthcheck() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "isHealthy": true,
            "details": {
                "metastore": {"isHealthy": true},
                "kafka": {"isHealthy": true},
                "commandRunner": {"isHealthy": true}
            },
            "serverState": "READY"
        }),
    )
}

async fn status_all(State(state): State<Arc<AppState>>) -> Response {
    let commands = state.commands.lock().unwrap_or_else(|e| e.into_inner());
    let statuses: serde_json::Map<String, Value> = commands
        .iter()
        .map(|(id, status)| (id.clone(), json!(status.status)))
        .collect();
    json_response(StatusCode::OK, &json!({"commandStatuses": statuses}))
}

async fn status_one(
    State(state): State<Arc<AppState>>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Response {
    let commands = state.commands.lock().unwrap_or_else(|e| e.into_inner());
    let wanted = format!("{kind}/{entity}/{action}");
    let found = commands.iter().find(|(id, _)| {
        id.eq_ignore_ascii_case(&wanted) || id.replace('`', "").eq_ignore_ascii_case(&wanted)
    });
    match found {
        Some((_, status)) => json_response(StatusCode::OK, status),
        None => ApiError::new(ErrorCode::NotFound, "Command not found").into_response(),
    }
}

async fn cluster_status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(cluster) = state.cluster.get() {
        return json_response(StatusCode::OK, &cluster.status());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:8088")
        .to_string();
    let engine = state.engine();
    let queries: serde_json::Map<String, Value> = engine
        .catalog()
        .queries()
        .map(|q| {
            (
                q.id.clone(),
                json!({"activeStores": [], "activePartitions": [], "standByStores": [], "standByPartitions": []}),
            )
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    json_response(
        StatusCode::OK,
        &json!({"clusterStatus": {host: {
            "hostAlive": true,
            "lastStatusUpdateMs": now,
            "activeStandbyPerQuery": queries,
            "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": now}
        }}}),
    )
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError::from_engine(e, "", Vec::new())
    }
}
