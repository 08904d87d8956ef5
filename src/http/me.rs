//! `GET /v1/me`: who the token says the caller is. Proves the authentication chain
//! end to end; requires at least one govtrail role.

use axum::routing::get;
use serde::Serialize;

use axum::extract::State;

use super::extract::Authenticated;
use super::problem::ApiError;
use super::{Access, AppState, MediaType, RouteDoc, schemas};
use crate::domain::{Role, Source};

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[RouteDoc {
    path: "/v1/me",
    summary: "Who the bearer token says the caller is: the internal user id entries name them by, display name, roles, source",
    tag: "authentication",
    access: Access::AnyRole,
    query: &[],
    response: (MediaType::Json, schemas::me),
    route: || get(get_me),
}];

/// The caller as govtrail sees it: its internal user id (what entries record), never
/// its token subject or email.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    user_id: String,
    display_name: Option<String>,
    roles: Vec<Role>,
    source: Source,
    auth_method: String,
}

async fn get_me(
    State(state): State<AppState>,
    caller: Authenticated,
) -> Result<axum::Json<Me>, ApiError> {
    let principal = caller.require(Role::ALL)?;
    let actor = state
        .governor
        .actor(principal.clone())
        .await
        .map_err(super::governed::to_api_error)?;
    Ok(axum::Json(Me {
        user_id: actor.id().to_string(),
        display_name: principal.display_name.clone(),
        roles: principal.roles.iter().copied().collect(),
        source: principal.source,
        auth_method: principal.auth_method.to_string(),
    }))
}
