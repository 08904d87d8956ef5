//! `GET /v1/me`: who the token says the caller is. Proves the authentication chain
//! end to end; requires at least one govtrail role.

use axum::routing::get;
use serde::Serialize;

use super::extract::Authenticated;
use super::problem::ApiError;
use super::{Access, RouteDoc};
use crate::domain::{Role, Source};

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[RouteDoc {
    path: "/v1/me",
    summary: "Who the bearer token says the caller is (user id, roles, source)",
    tag: "authentication",
    access: Access::AnyRole,
    query: &[],
    route: || get(get_me),
}];

/// The caller as govtrail sees it. No email: PII is kept off responses and logs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    user_id: String,
    display_name: Option<String>,
    roles: Vec<Role>,
    source: Source,
    auth_method: String,
}

async fn get_me(caller: Authenticated) -> Result<axum::Json<Me>, ApiError> {
    let principal = caller.require(Role::ALL)?;
    Ok(axum::Json(Me {
        user_id: principal.subject.to_string(),
        display_name: principal.display_name.clone(),
        roles: principal.roles.iter().copied().collect(),
        source: principal.source,
        auth_method: principal.auth_method.to_string(),
    }))
}
