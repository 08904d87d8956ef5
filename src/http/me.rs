//! `GET /v1/me`: who the token says the caller is. Proves the authentication chain
//! end to end; requires at least one govtrail role.

use axum::Router;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::extract::Authenticated;
use super::problem::ApiError;
use crate::domain::{Role, Source};

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/me", get(get_me))
}

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
