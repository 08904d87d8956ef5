//! Reading change requests: `GET /v1/change-requests` (filtered, paginated) and
//! `GET /v1/change-requests/{id}` (with its transitions). A superuser sees every
//! request; approvers, operators and integrations see the requests they made or
//! approved and the PENDING ones they may approve. Acting on a request (approve,
//! reject, withdraw) is a governed operation in the catalog.

use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Authenticated, Path, Query};
use super::problem::{ApiError, FieldError};
use super::{Access, AppState, MediaType, Param, RouteDoc, schemas};
use crate::domain::{ChangeRequestId, Operation, RequestState, Role};
use crate::history::requests::{self, RequestCursor, RequestFilter, RequestPage, Viewer};

/// Who may read change requests at all.
const READERS: &[Role] = &[
    Role::Superuser,
    Role::Approver,
    Role::GovernanceAdmin,
    Role::Integration,
];

fn q_state() -> Value {
    json!({"enum": RequestState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()})
}
fn q_operation() -> Value {
    schemas::reference("Operation")
}
fn q_id() -> Value {
    json!({"type": "string", "format": "uuid"})
}
fn q_user() -> Value {
    json!({"type": "string", "description": "an internal user id"})
}
fn q_limit() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": requests::MAX_LIMIT})
}
fn q_cursor() -> Value {
    json!({"type": "string", "description": "opaque"})
}

const LIST_QUERY: &[Param] = &[
    Param {
        name: "state",
        description: "requests in this state",
        schema: q_state,
    },
    Param {
        name: "requester",
        description: "made by this user",
        schema: q_user,
    },
    Param {
        name: "approver",
        description: "approved by this user",
        schema: q_user,
    },
    Param {
        name: "operation",
        description: "holding this operation",
        schema: q_operation,
    },
    Param {
        name: "target",
        description: "changing this entity",
        schema: q_id,
    },
    Param {
        name: "limit",
        description: "page size (default 50)",
        schema: q_limit,
    },
    Param {
        name: "cursor",
        description: "nextCursor of the previous page",
        schema: q_cursor,
    },
];

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/v1/change-requests",
        summary: "Change requests the caller may see, newest first: a superuser sees all; others those they made or approved and the PENDING ones they may approve",
        tag: "change-control",
        access: Access::AnyRole,
        query: LIST_QUERY,
        response: (MediaType::Json, schemas::change_requests),
        route: || get(get_list),
    },
    RouteDoc {
        path: "/v1/change-requests/{id}",
        summary: "One change request: its exact command and digest, targets with their versions when requested, policy, approvers, evidence, state and transitions",
        tag: "change-control",
        access: Access::AnyRole,
        query: &[],
        response: (MediaType::Json, schemas::change_request),
        route: || get(get_one),
    },
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<RequestState>,
    requester: Option<String>,
    approver: Option<String>,
    operation: Option<Operation>,
    target: Option<ChangeRequestTarget>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// A target entity id: a UUID.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct ChangeRequestTarget(uuid::Uuid);

/// The viewer `principal` reads change requests as (API and console).
pub(super) async fn viewer(
    state: &AppState,
    principal: crate::auth::Principal,
) -> Result<Viewer, ApiError> {
    let actor = state
        .governor
        .actor(principal)
        .await
        .map_err(super::governed::to_api_error)?;
    Ok(Viewer {
        id: actor.id().to_string(),
        roles: actor.principal().roles.iter().copied().collect(),
    })
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidParameters(vec![FieldError::new(field, message)])
}

async fn get_list(
    State(state): State<AppState>,
    caller: Authenticated,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<RequestPage>, ApiError> {
    let viewer = viewer(&state, caller.require(READERS)?).await?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > requests::MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("must be 1 to {}", requests::MAX_LIMIT),
        ));
    }
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| RequestCursor::decode(c).ok_or_else(|| bad("cursor", "the cursor is not valid")))
        .transpose()?;
    let filter = RequestFilter {
        state: q.state,
        requester: q.requester,
        approver: q.approver,
        operation: q.operation,
        target: q.target.map(|t| t.0.to_string()),
    };
    Ok(axum::Json(
        requests::list(&state.store, &filter, &viewer, limit, cursor.as_ref()).await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    caller: Authenticated,
    Path(id): Path<ChangeRequestId>,
) -> Result<axum::Json<Value>, ApiError> {
    let viewer = viewer(&state, caller.require(READERS)?).await?;
    requests::get(&state.store, &id.to_string(), &viewer)
        .await?
        .map(axum::Json)
        .ok_or(ApiError::NotFound("the change request"))
}
