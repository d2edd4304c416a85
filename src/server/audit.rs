//! The audit log: one JSON line per statement, request write and refusal, with who, from
//! where, when and how it ended. It lives beside the data (`audit.log` in the data
//! directory); a server in memory keeps none.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use axum::extract::Request;
use serde::Serialize;

use super::auth::Caller;
use super::errors::ApiError;

/// The most of a statement's text one line keeps.
const MAX_STATEMENT_CHARS: usize = 16 * 1024;

/// Where audit lines go.
#[derive(Default)]
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<&'a str>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
}

impl AuditLog {
    /// Appends to `path`, creating it.
    pub fn open(path: &Path) -> std::io::Result<AuditLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(AuditLog {
            file: Some(Mutex::new(file)),
        })
    }

    /// A statement (or a query, or a stream of inserts) and how it ended.
    pub fn statement(
        &self,
        caller: &Caller,
        endpoint: &str,
        statement: &str,
        outcome: Result<(), &ApiError>,
    ) {
        self.write(caller, endpoint, Some(statement), outcome);
    }

    /// A request refused before any handler ran it.
    pub fn request(&self, caller: &Caller, request: &Request, error: &ApiError) {
        let endpoint = format!("{} {}", request.method(), request.uri().path());
        self.write(caller, &endpoint, None, Err(error));
    }

    fn write(
        &self,
        caller: &Caller,
        endpoint: &str,
        statement: Option<&str>,
        outcome: Result<(), &ApiError>,
    ) {
        let Some(file) = &self.file else {
            return;
        };
        let statement = statement.map(|s| match s.char_indices().nth(MAX_STATEMENT_CHARS) {
            Some((end, _)) => &s[..end],
            None => s,
        });
        let line = Line {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: caller.name(),
            address: caller.address.map(|a| a.to_string()),
            endpoint,
            statement,
            outcome: match outcome {
                Ok(()) => "ok",
                Err(e) if e.code.status().as_u16() == 401 || e.code.status().as_u16() == 403 => {
                    "refused"
                }
                Err(_) => "error",
            },
            error_code: outcome.err().map(|e| e.code.number()),
            message: outcome.err().map(|e| e.message.as_str()),
        };
        let Ok(mut text) = serde_json::to_vec(&line) else {
            return;
        };
        text.push(b'\n');
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&text) {
            tracing::warn!("cannot write the audit log: {e}");
        }
    }
}
