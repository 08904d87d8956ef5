//! SBOM routes: `POST /v1/systems/{id}/sboms` (an `integration` token with source
//! SBOM, or a `governance-admin`) stores a CycloneDX or SPDX document as the system's
//! current component set and answers a receipt with the evaluation summary;
//! `GET /v1/systems/{id}/compliance` judges the current set against the governed
//! decisions in force; `GET /v1/technologies/{id}/usage` answers which systems use
//! which versions of a technology. SBOM data is operational: none writes an audit
//! entry.

use axum::body::to_bytes;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::extract::Authenticated;
use super::problem::{ApiError, FieldError};
use super::{Access, AppState, MediaType, RouteDoc, WriteDoc, schemas};
use crate::domain::{Role, Source, SystemId, TechnologyId};
use crate::sbom::document::DocumentError;
use crate::sbom::{SbomError, SbomSettings, compliance, ingest, usage};

/// The media types an SBOM is accepted as.
pub const SBOM_MEDIA_TYPES: [&str; 3] = [
    "application/vnd.cyclonedx+json",
    "application/spdx+json",
    "application/json",
];

/// Read routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/v1/systems/{id}/compliance",
        summary: "Each component of the system's current SBOM judged against the license decisions, the whitelist, and the owning team's constraints and approvals, every reason citing the entry behind it",
        tag: "sbom",
        access: Access::AnyRole,
        query: &[],
        response: (MediaType::Json, schemas::compliance),
        route: || get(get_compliance),
    },
    RouteDoc {
        path: "/v1/technologies/{id}/usage",
        summary: "Which live systems use which versions of the technology, from their current SBOMs, by the documented matching rule",
        tag: "sbom",
        access: Access::AnyRole,
        query: &[],
        response: (MediaType::Json, schemas::technology_usage),
        route: || get(get_usage),
    },
];

/// Write routes of this module (operational data, not governed changes).
pub const WRITES: &[WriteDoc] = &[WriteDoc {
    path: "/v1/systems/{id}/sboms",
    operation_id: "ingestSbom",
    summary: "Ingest a CycloneDX (1.4-1.6) or SPDX 2.3 JSON document as the system's current SBOM (integration with source SBOM, or governance-admin); not audited",
    tag: "sbom",
    media_types: &SBOM_MEDIA_TYPES,
    response: schemas::sbom_receipt,
    route: || post(post_sbom).layer(axum::extract::DefaultBodyLimit::disable()),
}];

fn settings(state: &AppState) -> SbomSettings {
    SbomSettings {
        keep: state.settings.sbom_keep,
        aliases: state.settings.sbom_technology_aliases.clone(),
        policy_version: state.governor.policies().version().to_owned(),
        fail_before_commit: false,
    }
}

fn system_id(text: &str) -> Result<String, ApiError> {
    SystemId::parse(text)
        .map(|id| id.to_string())
        .map_err(|e| ApiError::InvalidParameters(vec![FieldError::new("id", e.to_string())]))
}

fn technology_id(text: &str) -> Result<String, ApiError> {
    TechnologyId::parse(text)
        .map(|id| id.to_string())
        .map_err(|e| ApiError::InvalidParameters(vec![FieldError::new("id", e.to_string())]))
}

fn to_api_error(error: SbomError) -> ApiError {
    match error {
        SbomError::UnknownSystem(_) | SbomError::UnknownTechnology(_) => {
            ApiError::EntityNotFound(vec![FieldError::new("id", error.to_string())])
        }
        SbomError::Document(DocumentError::Json(message)) => ApiError::MalformedBody(message),
        SbomError::Document(DocumentError::Schema { pointer, message }) => {
            ApiError::Validation(vec![FieldError::new(pointer, message)])
        }
        SbomError::Document(other) => {
            ApiError::Validation(vec![FieldError::new("/", other.to_string())])
        }
        SbomError::Store(e) => ApiError::Store(e),
    }
}

async fn post_sbom(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
    request: Request,
) -> Result<axum::Json<Value>, ApiError> {
    const SENDERS: &[Role] = &[Role::Integration, Role::GovernanceAdmin];
    let principal = caller.require(SENDERS)?;
    if !principal.has_any(&[Role::GovernanceAdmin]) && principal.source != Source::Sbom {
        return Err(ApiError::Refused(
            "an integration sends SBOMs only with source SBOM".into(),
        ));
    }
    let system = system_id(&id)?;
    let media = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !media.is_some_and(|m| SBOM_MEDIA_TYPES.contains(&m.as_str())) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = to_bytes(request.into_body(), state.settings.sbom_max_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let actor = state
        .governor
        .actor(principal)
        .await
        .map_err(super::governed::to_api_error)?;
    let receipt = ingest::ingest(
        &state.store,
        &settings(&state),
        &system,
        &bytes,
        &actor.id().to_string(),
    )
    .await
    .map_err(to_api_error)?;
    Ok(axum::Json(
        serde_json::to_value(receipt).unwrap_or(Value::Null),
    ))
}

async fn get_compliance(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    caller.require(Role::ALL)?;
    let system = system_id(&id)?;
    let compliance = compliance::compliance(&state.store, &settings(&state), &system)
        .await
        .map_err(to_api_error)?;
    Ok(axum::Json(
        serde_json::to_value(compliance).unwrap_or(Value::Null),
    ))
}

async fn get_usage(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    caller.require(Role::ALL)?;
    let technology = technology_id(&id)?;
    let usage = usage::usage(&state.store, &settings(&state), &technology)
        .await
        .map_err(to_api_error)?;
    Ok(axum::Json(
        serde_json::to_value(usage).unwrap_or(Value::Null),
    ))
}

/// The `OpenAPI` request body of an SBOM write.
#[must_use]
pub fn request_body(media_types: &[&str]) -> Value {
    let content: Map<String, Value> = media_types
        .iter()
        .map(|m| {
            (
                (*m).to_owned(),
                json!({"schema": {"type": "object", "description": "A CycloneDX JSON (bomFormat, specVersion 1.4-1.6) or SPDX JSON (spdxVersion SPDX-2.3) document"}}),
            )
        })
        .collect();
    json!({"required": true, "content": content})
}
