//! ksqlDB's error bodies and codes (`@type`, `error_code` = HTTP status × 100 + n).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::engine::EngineError;

/// An error answered with ksqlDB's body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// For statement errors: the statement and the entities of those before it.
    pub statement: Option<(String, Vec<Value>)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
            statement: None,
        }
    }

    /// 40000: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 40000, message.into())
    }

    /// 40001: a statement was rejected.
    pub fn statement(message: String, text: &str, entities: Vec<Value>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40001,
            message,
            statement: Some((text.to_string(), entities)),
        }
    }

    /// 40002: a query sent to `/ksql`.
    pub fn query_endpoint(text: &str, entities: Vec<Value>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40002,
            message: "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT".to_string(),
            statement: Some((text.to_string(), entities)),
        }
    }

    pub fn from_engine(e: EngineError, text: &str, entities: Vec<Value>) -> ApiError {
        match e {
            EngineError::Runtime(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 50000, m),
            other => ApiError::statement(other.to_string(), text, entities),
        }
    }

    pub fn body(&self) -> Value {
        match &self.statement {
            Some((text, entities)) => json!({
                "@type": "statement_error",
                "error_code": self.code,
                "message": self.message,
                "statementText": text,
                "entities": entities,
            }),
            None => json!({
                "@type": "generic_error",
                "error_code": self.code,
                "message": self.message,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        super::json_response(self.status, &self.body())
    }
}
