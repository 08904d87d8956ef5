//! RFC 9457 `application/problem+json` for every error the service returns: one
//! error enum with an exhaustive status mapping, plus a last-resort middleware that
//! turns any bare error response (from a layer or axum itself) into a problem.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::domain::Role;
use crate::store::StoreError;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub use crate::domain::FieldError;

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid bearer token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(AuthError),
    /// Valid token without any of the required roles.
    #[error("forbidden: requires one of {required:?}")]
    Forbidden {
        /// Roles that would have been accepted.
        required: &'static [Role],
    },
    /// The caller may not do this to this resource, whatever their roles.
    #[error("forbidden: {0}")]
    Refused(String),
    /// No route matches the path.
    #[error("no such route")]
    RouteNotFound,
    /// A named resource does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Path or query parameters are invalid.
    #[error("invalid parameters")]
    InvalidParameters(Vec<FieldError>),
    /// The JSON body is well-formed but its fields are invalid.
    #[error("invalid request body")]
    Validation(Vec<FieldError>),
    /// The body is not well-formed JSON.
    #[error("malformed JSON body: {0}")]
    MalformedBody(String),
    /// The body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body exceeds the size limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A referenced entity does not exist.
    #[error("not found")]
    EntityNotFound(Vec<FieldError>),
    /// The current state does not allow the change.
    #[error("conflict")]
    Conflict(Vec<FieldError>),
    /// `If-Match` names another version.
    #[error("precondition failed")]
    PreconditionFailed {
        /// The entity's current `ETag`.
        current: String,
    },
    /// The service lacks a setting this request needs (e.g. a signing key).
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug: an invariant the code relies on did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem document.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

/// Stable problem `type` URI for a slug.
#[must_use]
pub fn problem_type(slug: &str) -> String {
    format!("urn:govtrail:problem:{slug}")
}

/// Builds a problem response.
fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: Option<String>,
    errors: &[FieldError],
) -> Response {
    let body = Problem {
        kind: problem_type(slug),
        title,
        status: status.as_u16(),
        detail,
        errors,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    #[expect(
        clippy::too_many_lines,
        reason = "one exhaustive table from error kind to problem; splitting it hides the mapping"
    )]
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated(reason) => {
                let mut r = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authentication required",
                    Some(reason.to_string()),
                    &[],
                );
                let challenge = match reason {
                    AuthError::Missing => "Bearer realm=\"govtrail\"",
                    _ => "Bearer realm=\"govtrail\", error=\"invalid_token\"",
                };
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                r
            }
            Self::Forbidden { required } => {
                let names: Vec<&str> = required.iter().map(|r| r.as_str()).collect();
                problem(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Forbidden",
                    Some(format!("requires one of the roles: {}", names.join(", "))),
                    &[],
                )
            }
            Self::Refused(why) => problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                Some(why.clone()),
                &[],
            ),
            Self::RouteNotFound => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                Some("no route matches this path".into()),
                &[],
            ),
            Self::NotFound(what) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                Some(format!("{what} does not exist")),
                &[],
            ),
            Self::InvalidParameters(errors) => problem(
                StatusCode::BAD_REQUEST,
                "invalid-parameters",
                "Invalid parameters",
                None,
                &errors,
            ),
            Self::Validation(errors) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid request body",
                None,
                &errors,
            ),
            Self::MalformedBody(detail) => problem(
                StatusCode::BAD_REQUEST,
                "malformed-body",
                "Malformed JSON body",
                Some(detail),
                &[],
            ),
            Self::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                Some("the body must be application/json".into()),
                &[],
            ),
            Self::PayloadTooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                Some("the request body exceeds the size limit".into()),
                &[],
            ),
            Self::EntityNotFound(errors) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                errors.first().map(|e| e.message.clone()),
                &errors,
            ),
            Self::Conflict(errors) => problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                errors.first().map(|e| e.message.clone()),
                &errors,
            ),
            Self::PreconditionFailed { current } => {
                let mut r = problem(
                    StatusCode::PRECONDITION_FAILED,
                    "precondition-failed",
                    "Precondition failed",
                    Some(format!(
                        "If-Match does not match the current version {current}; nothing was changed"
                    )),
                    &[],
                );
                if let Ok(value) = HeaderValue::from_str(&current) {
                    r.headers_mut().insert(header::ETAG, value);
                }
                r
            }
            Self::NotConfigured(detail) => problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-configured",
                "Not configured",
                Some(detail),
                &[],
            ),
            Self::Store(error) => store_problem(&error),
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                internal()
            }
        }
    }
}

fn store_problem(error: &StoreError) -> Response {
    match error {
        StoreError::Unavailable(_) | StoreError::Transient(_) | StoreError::Timeout(_) => {
            tracing::warn!(error = %error_chain(error), "Neo4j unavailable");
            let mut r = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                Some("the database is unavailable; retry later".into()),
                &[],
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        StoreError::ConstraintViolation(source) => {
            // Neo4j's message quotes the conflicting value (a name, a subject): log its
            // code only.
            let code = match source {
                neo4rs::Error::Neo4j(e) => e.code().to_owned(),
                _ => "unknown".to_owned(),
            };
            tracing::info!(%code, "constraint violation");
            problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                Some(
                    "the change conflicts with existing data (for example, a name already in use)"
                        .into(),
                ),
                &[],
            )
        }
        StoreError::Bookmark(source) => {
            let code = match source {
                neo4rs::Error::Neo4j(e) => e.code().to_owned(),
                _ => "unknown".to_owned(),
            };
            tracing::info!(%code, "bookmark refused");
            problem(
                StatusCode::BAD_REQUEST,
                "invalid-bookmark",
                "Invalid bookmark",
                Some(
                    "Neo4j does not know the bookmark sent in Govtrail-Bookmark; send one \
                     govtrail returned, unchanged"
                        .into(),
                ),
                &[],
            )
        }
        StoreError::Other(_) | StoreError::Decode(_) => {
            tracing::error!(error = %error_chain(error), "Neo4j error");
            internal()
        }
    }
}

fn internal() -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal server error",
        None,
        &[],
    )
}

pub use crate::telemetry::error_chain;

/// Response for a panic caught by `CatchPanicLayer`: a plain 500 problem; the panic
/// message is logged, never returned.
#[expect(
    clippy::needless_pass_by_value,
    reason = "signature required by CatchPanicLayer"
)]
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = message, "handler panicked");
    internal()
}

/// Refuses, before anything else runs, a request whose URI is longer than `max_uri`
/// bytes (414) or whose headers take more than `max_headers` bytes or number more than
/// [`super::MAX_HEADERS`] (431), with a problem document.
pub async fn request_head_limits(
    axum::extract::State((max_headers, max_uri)): axum::extract::State<(usize, usize)>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri().to_string().len();
    if uri > max_uri {
        return problem(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI too long",
            Some(format!(
                "the request URI is {uri} bytes; at most {max_uri} are accepted"
            )),
            &[],
        );
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > max_headers || headers.len() > super::MAX_HEADERS {
        return problem(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header-fields-too-large",
            "Request header fields too large",
            Some(format!(
                "the request headers take {bytes} bytes in {} fields; at most {max_headers} bytes and {} fields are accepted",
                headers.len(),
                super::MAX_HEADERS
            )),
            &[],
        );
    }
    next.run(request).await
}

/// Last-resort middleware: any error response that is not already a problem (405 from
/// the router, 413 from the body limit, the timeout's 503, ...) gets a problem body,
/// keeping its status and headers such as `Allow`.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // A problem, or a console error page (HTML), is a deliberate answer.
    let is_answer = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes().starts_with(b"text/html")
        });
    if is_answer {
        return response;
    }
    let (slug, title, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "Method not allowed",
            "this route does not accept the method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large",
            "Payload too large",
            "the request body exceeds the size limit",
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "Request timed out",
            "the request did not complete within the time limit",
        ),
        StatusCode::NOT_FOUND => ("not-found", "Not found", "no route matches this path"),
        s if s.is_server_error() => ("internal", "Internal server error", ""),
        _ => (
            "bad-request",
            "Bad request",
            "the request could not be processed",
        ),
    };
    let (mut parts, _) = response.into_parts();
    let fresh = problem(
        status,
        slug,
        title,
        (!detail.is_empty()).then(|| detail.to_owned()),
        &[],
    );
    let (fresh_parts, body): (_, Body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        fresh_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static(PROBLEM_JSON)),
    );
    Response::from_parts(parts, body)
}
