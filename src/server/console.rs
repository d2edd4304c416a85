//! The web console: its pages are built into the binary (no build step, no files beside it)
//! and speak only the public REST API.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

const INDEX: &str = include_str!("../../web/index.html");
const SCRIPT: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/style.css");

/// `GET /`: the console for a browser; anything else is sent on to `/info`, as ksqlDB does.
pub async fn index(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        page("text/html; charset=utf-8", INDEX)
    } else {
        Redirect::temporary("/info").into_response()
    }
}

pub async fn script() -> Response {
    page("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    page("text/css; charset=utf-8", STYLE)
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
