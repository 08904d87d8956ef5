//! The HTTP side of governed mutations: one generic handler serves every row of the
//! operation catalog. It reads the path (400 before anything else), the token,
//! `If-Match`, `Idempotency-Key`, correlation id and raw body (the `Governed`
//! extractor), authorizes before the body is even parsed (403 + DENIED entry), turns
//! the request into the row's command, and maps answers and refusals to responses.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::extract::{Authenticated, correlation_id, has_json_content_type};
use super::problem::{ApiError, FieldError};
use crate::governance::catalog::Route;
use crate::governance::input::{Invalid, PathParams};
use crate::governance::{
    Actor, Answer, Command, Context, Definition, GovernanceError, Idempotency, Rejection, Target,
};

/// Header naming an idempotency key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Response header set on a replayed answer.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// Longest accepted idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A governed request, before its body is parsed.
pub struct Governed {
    actor: Actor,
    context: Context,
    body: Bytes,
    json: bool,
}

impl FromRequest<AppState> for Governed {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let caller = Authenticated::from_request_parts(&mut parts, state).await?;
        let correlation_id = correlation_id(&parts);
        let actor = state.governor.actor(caller.0).await.map_err(to_api_error)?;
        let if_match = if_match(&parts.headers)?;
        let key = idempotency_key(&parts.headers)?;
        let json = has_json_content_type(&parts.headers);
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedBody("the body could not be read".into())
                }
            })?;
        let idempotency = key.map(|key| {
            let mut hash = Sha256::new();
            hash.update(parts.method.as_str());
            hash.update(b"\n");
            hash.update(parts.uri.path());
            hash.update(b"\n");
            hash.update(&bytes);
            Idempotency {
                key,
                request_hash: hex::encode(hash.finalize()),
            }
        });
        Ok(Self {
            actor,
            context: Context {
                if_match,
                idempotency,
                ..Context::new(correlation_id)
            },
            body: bytes,
            json,
        })
    }
}

impl Governed {
    /// The body as JSON bytes: an empty body reads as `{}`; anything else must be
    /// `application/json` (415 otherwise).
    fn json_body(&self) -> Result<&[u8], ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            Ok(b"{}")
        } else if self.json {
            Ok(&self.body)
        } else {
            Err(ApiError::UnsupportedMediaType)
        }
    }
}

/// Serves one governed route: path → token → authorization → body → command → run.
pub async fn serve_governed(
    definition: &'static Definition,
    route: &'static Route,
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map_err(|e| ApiError::InvalidParameters(vec![FieldError::new("path", e.body_text())]))?;
    let params = PathParams::new(
        params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
    );
    serve_governed_with(
        definition,
        route,
        &params,
        &state,
        Request::from_parts(parts, body),
    )
    .await
}

/// [`serve_governed`] with the route's path parameters already read (the console
/// acts on a change request through the same route without going through a router).
pub async fn serve_governed_with(
    definition: &'static Definition,
    route: &'static Route,
    params: &PathParams,
    state: &AppState,
    request: Request,
) -> Result<Response, ApiError> {
    let target = Target::entity(
        (route.denied_type)(params).unwrap_or(definition.denied_as),
        (route.target)(params).map_err(invalid)?,
    )
    .via(format!("{} {}", route.method.as_str(), route.path));
    let mut governed = Governed::from_request(request, state).await?;
    state
        .governor
        .authorize(
            &governed.actor,
            definition.operation,
            &target,
            &governed.context,
        )
        .await
        .map_err(to_api_error)?;
    let parsed = (route.parse)(params, governed.json_body()?).map_err(invalid)?;
    governed.context.reason = parsed.reason;
    governed.context.evidence = parsed.evidence;
    governed.context.break_glass = parsed.break_glass;
    execute(state, &governed, &parsed.command).await
}

/// Runs `command` for the request and turns the answer into a response.
async fn execute(
    state: &AppState,
    governed: &Governed,
    command: &Command,
) -> Result<Response, ApiError> {
    let answer = state
        .governor
        .execute(command, &governed.actor, &governed.context)
        .await
        .map_err(to_api_error)?;
    Ok(respond(answer))
}

/// Maps an input refusal to its problem.
#[must_use]
pub fn invalid(error: Invalid) -> ApiError {
    match error {
        Invalid::Params(errors) => ApiError::InvalidParameters(errors),
        Invalid::Malformed(detail) => ApiError::MalformedBody(detail),
        Invalid::Fields(errors) => ApiError::Validation(errors),
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(answer.body)).into_response();
    let headers = response.headers_mut();
    if let Some(etag) = answer.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if answer.replayed {
        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

/// `If-Match: "7"` → 7. `*` means "any version". Weak tags never match (RFC 9110).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::InvalidParameters(vec![FieldError::new(
            "If-Match",
            "must be a strong entity tag such as \"3\" (from an ETag header), or *",
        )])
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(bad)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    if text.is_empty()
        || text.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !text.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::InvalidParameters(vec![FieldError::new(
            "Idempotency-Key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
        )]));
    }
    Ok(Some(text.to_owned()))
}

/// Maps a governance refusal to its problem.
#[must_use]
pub fn to_api_error(error: GovernanceError) -> ApiError {
    match error {
        GovernanceError::Forbidden { required } => ApiError::Forbidden { required },
        GovernanceError::Reason(message) => {
            ApiError::Validation(vec![FieldError::new("reason", message)])
        }
        GovernanceError::PreconditionFailed { current } => ApiError::PreconditionFailed {
            current: crate::governance::etag(current),
        },
        GovernanceError::IdempotencyMismatch => ApiError::Validation(vec![FieldError::new(
            "Idempotency-Key",
            "this key was already used with a different request",
        )]),
        GovernanceError::Rejected(Rejection::NotFound { entity, id, field }) => {
            ApiError::EntityNotFound(vec![FieldError::new(
                field,
                format!("{entity} {id} does not exist"),
            )])
        }
        GovernanceError::Rejected(Rejection::Conflict { field, message }) => {
            ApiError::Conflict(vec![FieldError::new(field, message)])
        }
        GovernanceError::Rejected(Rejection::Invalid { field, message }) => {
            ApiError::Validation(vec![FieldError::new(field, message)])
        }
        GovernanceError::Rejected(Rejection::Forbidden { message })
        | GovernanceError::Refused(message) => ApiError::Refused(message),
        GovernanceError::Store(e) => ApiError::Store(e),
        GovernanceError::StaleActor => ApiError::Conflict(vec![FieldError::new(
            "actor",
            "the caller's identity changed while the request ran; retry",
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
        h
    }

    #[test]
    fn if_match_accepts_strong_tags_and_star_only() {
        assert_eq!(if_match(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(if_match(&headers("if-match", "\"7\"")).ok(), Some(Some(7)));
        assert_eq!(if_match(&headers("if-match", "*")).ok(), Some(None));
        assert!(if_match(&headers("if-match", "W/\"7\"")).is_err());
        assert!(if_match(&headers("if-match", "7")).is_err());
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert_eq!(
            idempotency_key(&headers("idempotency-key", "abc-123")).ok(),
            Some(Some("abc-123".into()))
        );
        assert!(idempotency_key(&headers("idempotency-key", "has space")).is_err());
        assert!(idempotency_key(&headers("idempotency-key", &"k".repeat(256))).is_err());
    }
}
