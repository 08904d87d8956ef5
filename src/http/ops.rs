//! Operational endpoints: `/healthz` (process up), `/readyz` (Neo4j answers and the
//! schema is current) and `/metrics` (Prometheus text format). None needs a token;
//! none exposes audit data.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::problem::{PROBLEM_JSON, error_chain, problem_type};
use super::{Access, AppState, RouteDoc};

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/healthz",
        summary: "The process is up",
        tag: "operations",
        access: Access::Public,
        query: &[],
        route: || get(get_healthz),
    },
    RouteDoc {
        path: "/readyz",
        summary: "Neo4j answers and every migration is applied (503 problem with reasons otherwise)",
        tag: "operations",
        access: Access::Public,
        query: &[],
        route: || get(get_readyz),
    },
    RouteDoc {
        path: "/metrics",
        summary: "Prometheus metrics",
        tag: "operations",
        access: Access::Public,
        query: &[],
        route: || get(get_metrics),
    },
];

async fn get_healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "up" }))
}

/// 200 when one Neo4j round trip succeeds and every migration is applied with its
/// checksum; otherwise 503 with a reason per failed check.
async fn get_readyz(State(state): State<AppState>) -> Response {
    let timeout = state.settings.readiness_timeout();
    let status = tokio::time::timeout(timeout, state.migrator.status(&state.store)).await;
    let (neo4j, migrations) = match status {
        Ok(Ok(s)) if s.is_current() => ("ok".to_owned(), "current".to_owned()),
        Ok(Ok(s)) => ("ok".to_owned(), format!("pending: {:?}", s.pending)),
        Ok(Err(crate::store::migrations::MigrationError::Store(e))) => (
            format!("unavailable: {}", error_chain(&e)),
            "unknown".to_owned(),
        ),
        Ok(Err(e)) => ("ok".to_owned(), e.to_string()),
        Err(_) => (
            format!("no answer within {} ms", timeout.as_millis()),
            "unknown".to_owned(),
        ),
    };
    if neo4j == "ok" && migrations == "current" {
        return axum::Json(json!({
            "status": "ready",
            "checks": { "neo4j": neo4j, "migrations": migrations }
        }))
        .into_response();
    }
    tracing::warn!(%neo4j, %migrations, "not ready");
    let body = json!({
        "type": problem_type("not-ready"),
        "title": "Not ready",
        "status": 503,
        "detail": "govtrail cannot serve governed requests yet",
        "checks": { "neo4j": neo4j, "migrations": migrations },
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

async fn get_metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut text, &state.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        text,
    )
        .into_response()
}
