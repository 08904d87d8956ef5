//! Extractors whose rejections are problem+json: `Path`, `Query`, `Authenticated`
//! (verifies the bearer token) and `AuditReader` (superuser only, denials recorded).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use super::AppState;
use super::problem::{ApiError, FieldError};
use crate::auth::{AuthError, Principal};
use crate::domain::{EntityType, Operation, Role, UserId, text};
use crate::governance::{Actor, Context, Target, definition};
use crate::metrics::ReasonLabels;

/// Whether a request's `Content-Type` is JSON (`application/json` or `*+json`).
pub fn has_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| is_json(&m))
}

fn is_json(mime: &mime::Mime) -> bool {
    mime.type_() == mime::APPLICATION
        && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
}

/// Path parameters; a value that does not parse → 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind;
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                Err(ApiError::InvalidParameters(vec![FieldError::new(
                    field,
                    e.body_text(),
                )]))
            }
            Err(other) => Err(ApiError::InvalidParameters(vec![FieldError::new(
                "path",
                other.body_text(),
            )])),
        }
    }
}

/// Query parameters; invalid → 400.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::InvalidParameters(vec![FieldError::new("query", rejection.body_text())])
            })
    }
}

/// A caller whose bearer token verified. Refusals (401) are counted in
/// `govtrail_auth_failures`, never audited.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl Authenticated {
    /// The principal if it holds one of `roles`, else 403.
    pub fn require(self, roles: &'static [Role]) -> Result<Principal, ApiError> {
        if self.0.has_any(roles) {
            Ok(self.0)
        } else {
            Err(ApiError::Forbidden { required: roles })
        }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|value| value.to_str().map_err(|_| AuthError::Malformed));
        let result = match header.transpose() {
            Ok(value) => state.auth.authenticate(value),
            Err(e) => Err(e),
        };
        result.map(Self).map_err(|error| {
            state
                .metrics
                .auth_failures
                .get_or_create(&ReasonLabels {
                    reason: error.reason(),
                })
                .inc();
            ApiError::Unauthenticated(error)
        })
    }
}

/// An authenticated caller as the governor sees it: the actor (its subject resolved
/// to its internal user id), the request's context (its correlation id) and what the
/// request is about (its route, and the entity its path names).
pub struct Caller {
    /// The actor.
    pub actor: Actor,
    /// The request context.
    pub context: Context,
    /// What the request is about, for the entry it may cause (a refusal, an export).
    pub target: Target,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        let actor = state
            .governor
            .actor(principal)
            .await
            .map_err(super::governed::to_api_error)?;
        Ok(Self {
            actor,
            context: Context::new(correlation_id(parts)),
            target: target(parts).await,
        })
    }
}

/// The request's correlation id (set by the correlation middleware).
pub fn correlation_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<super::middleware::CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default()
}

/// What a read or export request is about: `METHOD /route/template`, and the entity
/// its path names (`{type}/{id}`, or the user of `/v1/users/{id}/...`) when the id is
/// well-formed and safe to record.
async fn target(parts: &mut Parts) -> Target {
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| format!("{} {}", parts.method, p.as_str()));
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<std::collections::BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let entity_type = match params.get("type") {
        Some(text) => text.parse::<EntityType>().ok(),
        None if route
            .as_deref()
            .is_some_and(|r| r.contains("/v1/users/{id}")) =>
        {
            Some(EntityType::User)
        }
        None => None,
    };
    let entity = entity_type.zip(params.get("id")).and_then(|(t, id)| {
        let well_formed = if t == EntityType::User {
            UserId::parse(id).is_ok()
        } else {
            uuid::Uuid::parse_str(id).is_ok()
        };
        (well_formed && text::check(id).is_ok()).then(|| (t, id.clone()))
    });
    Target { entity, route }
}

/// A caller allowed to read audit data (role `superuser`). Anyone else with a valid
/// token gets 403, and the attempt is recorded as a `READ_AUDIT` entry with outcome
/// DENIED naming the route and entity it asked for (rate-limited per caller).
#[derive(Debug, Clone)]
pub struct AuditReader(pub Principal);

impl FromRequestParts<AppState> for AuditReader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        if principal.has_any(definition(Operation::ReadAudit).roles) {
            return Ok(Self(principal));
        }
        // Only a refusal needs the actor: it is recorded.
        let Caller {
            actor,
            context,
            target,
        } = Caller::from_request_parts(parts, state).await?;
        state
            .governor
            .authorize(&actor, Operation::ReadAudit, &target, &context)
            .await
            .map_err(super::governed::to_api_error)?;
        Ok(Self(actor.principal().clone()))
    }
}
