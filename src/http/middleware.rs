//! Request-scoped middleware: correlation ids, bookmarks (read-your-writes across
//! replicas), the per-request tracing span and request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use tower_http::request_id::RequestId;
use uuid::Uuid;

use super::AppState;
use super::problem::ApiError;
use crate::domain::FieldError;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::store::causal::{Causal, parse_bookmarks};

/// Header carrying the caller's correlation id; echoed on every response.
pub const CORRELATION_ID: &str = "x-correlation-id";
/// Header carrying govtrail's own per-request id.
pub const REQUEST_ID: &str = "x-request-id";

/// The correlation id of the current request: the caller's if well-formed, else a
/// fresh UUID. Stored on audit entries as `correlationId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    /// Longest accepted correlation id.
    pub const MAX_LEN: usize = 128;

    /// Accepts 1..=128 characters of `[A-Za-z0-9._:-]`, starting alphanumeric — enough
    /// for UUIDs, W3C trace ids and most gateways' ids, and safe in logs and headers.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
        ok.then(|| Self(text.to_owned()))
    }
}

/// Accepts or generates the correlation id and echoes it on the response.
pub async fn correlation_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(CorrelationId::parse)
        .unwrap_or_else(|| CorrelationId(Uuid::new_v4().to_string()));
    let header = HeaderValue::from_str(&id.0).ok();
    request.extensions_mut().insert(id);
    let mut response = next.run(request).await;
    if let Some(value) = header {
        response.headers_mut().insert(CORRELATION_ID, value);
    }
    response
}

/// Header carrying Neo4j bookmarks: sent by govtrail on a response whose request
/// committed, and back by a client that wants a later request (through any replica)
/// to see that write.
pub const BOOKMARK: &str = "govtrail-bookmark";

/// Runs the request with the bookmarks it sent applied to every transaction it starts
/// (causal consistency), and returns the bookmark of its last commit, if it made one.
pub async fn bookmarks(request: Request, next: Next) -> Response {
    let sent = request
        .headers()
        .get_all(BOOKMARK)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect::<Vec<_>>();
    let wait_for = match parse_bookmarks(sent) {
        Ok(bookmarks) => bookmarks,
        Err(e) => {
            return ApiError::InvalidParameters(vec![FieldError::new(
                "Govtrail-Bookmark",
                e.to_string(),
            )])
            .into_response();
        }
    };
    let causal = Causal::new(wait_for);
    let mut response = causal.scope(next.run(request)).await;
    if let Some(value) = causal
        .committed()
        .and_then(|b| HeaderValue::from_str(&b).ok())
    {
        response.headers_mut().insert(BOOKMARK, value);
    }
    response
}

/// The span every log line of a request is written in.
pub fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    let correlation_id = request
        .extensions()
        .get::<CorrelationId>()
        .map_or("-", |c| c.0.as_str());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id,
        correlation_id,
        method = %request.method(),
        route,
    )
}

/// Counts requests by route and status and observes latency.
pub async fn record_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics
        .http_requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: response.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .http_latency
        .get_or_create(&RouteLabels { method, route })
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_accepted_only_when_well_formed() {
        assert!(CorrelationId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_some());
        assert!(CorrelationId::parse("trace:abc.DEF_1").is_some());
        assert!(CorrelationId::parse("").is_none());
        assert!(CorrelationId::parse("-leading-dash").is_none());
        assert!(CorrelationId::parse("has space").is_none());
        assert!(CorrelationId::parse("new\nline").is_none());
        assert!(CorrelationId::parse(&"a".repeat(129)).is_none());
        assert!(CorrelationId::parse(&"a".repeat(128)).is_some());
    }
}
