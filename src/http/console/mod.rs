//! The superuser console at `/console`: pages rendered on the server (askama
//! templates under `templates/console/`) over the same library calls and extractors
//! as the API, so a superuser never needs curl to answer who changed what, when, why,
//! and what it looked like before. Every page works with plain links and forms; the
//! console sends no script, and its CSP lets the browser load nothing but govtrail's
//! own stylesheet. See `docs/console.md`.

mod approvals;
mod entity;
mod graph;
mod integrity;
mod page;
mod session;
mod timeline;
mod views;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use super::AppState;

/// The console's routes (nested under `/console`) and its layers.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/timeline") }))
        .route(
            "/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/timeline", get(timeline::timeline))
        .route("/actors/{id}", get(timeline::actor))
        .route("/download", post(timeline::download))
        .route("/entities/{type}/{id}", get(entity::entity))
        .route("/entities/{type}/{id}/packet", post(entity::packet))
        .route("/entities/{type}/{id}/verify", get(entity::verify))
        .route("/integrity", get(integrity::integrity))
        .route("/approvals", get(approvals::approvals))
        .route("/requests/{id}/{action}", post(approvals::act))
        .route("/public-key.pem", get(entity::public_key))
        .route("/assets/console.css", get(page::stylesheet))
        .fallback(|| async { super::problem::ApiError::RouteNotFound })
        // Outermost first: headers on every answer, then problems as pages, then the
        // session cookie as the credential, then the CSRF check of every POST.
        .layer(axum::middleware::from_fn(session::require_csrf))
        .layer(axum::middleware::from_fn(session::cookie_to_bearer))
        .layer(axum::middleware::from_fn_with_state(
            state,
            page::html_errors,
        ))
        .layer(axum::middleware::from_fn(page::security_headers))
}
