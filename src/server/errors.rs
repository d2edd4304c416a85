//! ksqlDB's error bodies and codes (`@type`, `error_code` = HTTP status × 100 + n).

use crate::api::{ErrorBody, KsqlEntity};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::EngineError;

/// ksqlDB's error codes (its `Errors` class): the HTTP status × 100 + n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is malformed: bad JSON, a bad property, an unknown query id.
    BadRequest,
    /// A statement was refused (always a `statement_error`).
    BadStatement,
    /// A `SELECT` or `PRINT` sent to `/ksql`.
    QueryEndpoint,
    /// More push queries than `ksql.max.push.queries`.
    MaxPushQueriesExceeded,
    /// No credentials, or credentials that do not match a user.
    Unauthorized,
    /// A known user without the role the request needs.
    Forbidden,
    NotFound,
    /// More requests at once than the server serves (`ksql.server.max.concurrent.requests`).
    TooManyRequests,
    /// A failure of ours, never the user's: its message asks for a report.
    ServerError,
    /// An HTTP error ksqlDB gives no name (a wrong method, a body over the limit).
    Http(StatusCode),
}

impl ErrorCode {
    /// The number in `error_code`.
    pub fn number(self) -> u32 {
        match self {
            ErrorCode::BadRequest => 40000,
            ErrorCode::BadStatement => 40001,
            ErrorCode::QueryEndpoint => 40002,
            ErrorCode::MaxPushQueriesExceeded => 40003,
            ErrorCode::Unauthorized => 40100,
            ErrorCode::Forbidden => 40300,
            ErrorCode::NotFound => 40400,
            ErrorCode::TooManyRequests => 42900,
            ErrorCode::ServerError => 50000,
            ErrorCode::Http(status) => u32::from(status.as_u16()) * 100,
        }
    }

    /// The HTTP status the code answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::BadStatement
            | ErrorCode::QueryEndpoint
            | ErrorCode::MaxPushQueriesExceeded => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Http(status) => status,
        }
    }
}

/// An error answered with ksqlDB's body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// For statement errors: the statement and the entities of those before it.
    pub statement: Option<(String, Vec<KsqlEntity>)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            statement: None,
        }
    }

    /// 40000: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// 50000: a failure of ours.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            ErrorCode::ServerError,
            format!("Internal error, please report: {message}"),
        )
    }

    /// 40001: a statement was rejected.
    pub fn statement(message: String, text: &str, entities: Vec<KsqlEntity>) -> ApiError {
        ApiError {
            code: ErrorCode::BadStatement,
            message,
            statement: Some((text.to_string(), entities)),
        }
    }

    /// 40002: a query sent to `/ksql`.
    pub fn query_endpoint(text: &str, entities: Vec<KsqlEntity>) -> ApiError {
        ApiError {
            code: ErrorCode::QueryEndpoint,
            message: "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT".to_string(),
            statement: Some((text.to_string(), entities)),
        }
    }

    pub fn from_engine(e: EngineError, text: &str, entities: Vec<KsqlEntity>) -> ApiError {
        match e {
            EngineError::Runtime(m) => ApiError::new(ErrorCode::ServerError, m),
            EngineError::Internal(m) => ApiError::internal(m),
            EngineError::TooManyPushQueries(m) => {
                ApiError::new(ErrorCode::MaxPushQueriesExceeded, m)
            }
            other => ApiError::statement(other.to_string(), text, entities),
        }
    }

    pub fn body(&self) -> ErrorBody {
        match &self.statement {
            Some((text, entities)) => ErrorBody::Statement {
                error_code: self.code.number(),
                message: self.message.clone(),
                statement_text: text.clone(),
                entities: entities.clone(),
            },
            None => ErrorBody::Generic {
                error_code: self.code.number(),
                message: self.message.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        super::json_response(self.code.status(), &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_status_times_a_hundred_plus_their_number() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::BadStatement,
            ErrorCode::QueryEndpoint,
            ErrorCode::MaxPushQueriesExceeded,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::TooManyRequests,
            ErrorCode::ServerError,
            ErrorCode::Http(StatusCode::PAYLOAD_TOO_LARGE),
        ] {
            assert_eq!(
                code.number() / 100,
                u32::from(code.status().as_u16()),
                "{code:?}"
            );
        }
        assert_eq!(ErrorCode::MaxPushQueriesExceeded.number(), 40003);
    }

    #[test]
    fn a_bug_of_ours_is_a_server_error_not_the_statements() {
        let bug =
            ApiError::from_engine(EngineError::Internal("lost".into()), "SHOW x;", Vec::new());
        assert_eq!(bug.code, ErrorCode::ServerError);
        assert!(matches!(bug.body(), ErrorBody::Generic { .. }));
        assert!(bug.message.contains("please report"), "{}", bug.message);
        let refused = ApiError::from_engine(
            EngineError::Statement {
                message: "no".into(),
                statement: String::new(),
            },
            "SHOW x;",
            Vec::new(),
        );
        assert!(matches!(
            refused.body(),
            ErrorBody::Statement {
                error_code: 40001,
                ..
            }
        ));
        let busy = ApiError::from_engine(
            EngineError::TooManyPushQueries("full".into()),
            "",
            Vec::new(),
        );
        assert!(matches!(
            busy.body(),
            ErrorBody::Generic {
                error_code: 40003,
                ..
            }
        ));
    }
}
