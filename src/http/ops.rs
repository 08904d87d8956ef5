//! Operational endpoints: `/healthz` (process up), `/readyz` (Neo4j answers and the
//! schema is current) and `/metrics` (Prometheus text format). None needs a token;
//! none exposes audit data.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::problem::{PROBLEM_JSON, error_chain, problem_type};
use super::{Access, AppState, MediaType, RouteDoc, schemas};

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/healthz",
        summary: "The process is up",
        tag: "operations",
        access: Access::Public,
        query: &[],
        response: (MediaType::Json, schemas::health),
        route: || get(get_healthz),
    },
    RouteDoc {
        path: "/readyz",
        summary: "Neo4j answers and every migration is applied (503 problem with reasons otherwise)",
        tag: "operations",
        access: Access::Public,
        query: &[],
        response: (MediaType::Json, schemas::ready),
        route: || get(get_readyz),
    },
    RouteDoc {
        path: "/status",
        summary: "healthy, degraded or blocked, with a reason per check (Neo4j, checkpoint signing, sealing lag, the external witness)",
        tag: "operations",
        access: Access::Public,
        query: &[],
        response: (MediaType::Json, schemas::status),
        route: || get(get_status),
    },
    RouteDoc {
        path: "/metrics",
        summary: "Prometheus metrics",
        tag: "operations",
        access: Access::Public,
        query: &[],
        response: (MediaType::Text, schemas::text),
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
    let status = tokio::time::timeout(timeout, state.migrator.status(state.store.probe())).await;
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

/// An unreviewed break-glass change older than this makes `/status` degraded.
const BREAK_GLASS_REVIEW_HOURS: i64 = 24;

/// A checkpoint pending its witness for longer than this makes `/status` degraded.
const WITNESS_WAIT_MS: i64 = crate::audit::WITNESS_WAIT
    .as_secs()
    .saturating_mul(1000)
    .cast_signed();

/// `blocked` when Neo4j does not answer (governed changes fail closed); `degraded`
/// when entries are not being sealed (no signing key), sealing lags past the bound,
/// there is no external witness, checkpoints are not reaching it (with the age of the
/// oldest one waiting), or a break-glass change has waited more than 24 h for its
/// review; `healthy` otherwise. Always 200: the body is the verdict.
async fn get_status(State(state): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(status(&state).await)
}

/// The `/status` summary (also shown by the console's integrity page).
pub(super) async fn status(state: &AppState) -> Value {
    let store = &state.store;
    let read = tokio::time::timeout(state.settings.readiness_timeout(), async {
        crate::history::checkpoints::sealing(store).await
    })
    .await;
    let bound_ms = i64::try_from(state.settings.unsealed_lag_bound_secs.saturating_mul(1000))
        .unwrap_or(i64::MAX);
    let mut reasons = Vec::new();
    let (neo4j, sealing, witness, break_glass) = match read {
        Ok(Ok(s)) => {
            let sealing = json!({ "queued": s.queued, "oldestUnsealedMs": s.oldest_ms });
            let witness = json!({
                "configured": state.settings.checkpoint_sink.is_some(),
                "oldestUnwitnessedMs": s.pending_ms,
                "error": s.witness_error,
            });
            let since = s
                .unreviewed_since
                .as_deref()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
            if let Some(since) = since.filter(|at| {
                chrono::Utc::now().signed_duration_since(at)
                    > chrono::Duration::hours(BREAK_GLASS_REVIEW_HOURS)
            }) {
                reasons.push(format!(
                    "{} break-glass change(s) await review; the oldest ran at {} (more than {BREAK_GLASS_REVIEW_HOURS} h ago)",
                    s.unreviewed,
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
            }
            let break_glass = json!({
                "unreviewed": s.unreviewed,
                "oldestUnreviewedAt": s.unreviewed_since,
            });
            if state.checkpoint_keys.is_empty() {
                reasons.push(
                    "no checkpoint signing key: entries are chained but not sealed".to_owned(),
                );
            } else {
                if s.oldest_ms.is_some_and(|ms| ms > bound_ms) {
                    reasons.push(format!(
                        "sealing lags: oldest unsealed entry is {} ms old",
                        s.oldest_ms.unwrap_or(0)
                    ));
                }
                if state.settings.checkpoint_sink.is_none() {
                    reasons.push(
                        "no external witness (checkpoint_sink): someone holding the signing key could rewrite history unnoticed".to_owned(),
                    );
                }
                if let Some(error) = &s.witness_error {
                    reasons.push(format!(
                        "checkpoints are not reaching the witness (for {} ms): {error}",
                        s.witness_error_ms.unwrap_or(0)
                    ));
                }
                if let Some(ms) = s.pending_ms.filter(|ms| *ms > WITNESS_WAIT_MS) {
                    reasons.push(format!(
                        "the oldest unwitnessed checkpoint has waited {ms} ms for the witness"
                    ));
                }
            }
            ("ok".to_owned(), sealing, witness, break_glass)
        }
        Ok(Err(e)) => (
            format!("unavailable: {}", error_chain(&e)),
            Value::Null,
            Value::Null,
            Value::Null,
        ),
        Err(_) => (
            "no answer in time".to_owned(),
            Value::Null,
            Value::Null,
            Value::Null,
        ),
    };
    let status = if neo4j != "ok" {
        reasons.insert(0, format!("Neo4j {neo4j}: governed changes are refused"));
        "blocked"
    } else if reasons.is_empty() {
        "healthy"
    } else {
        "degraded"
    };
    json!({
        "status": status,
        "reasons": reasons,
        "checks": {
            "neo4j": neo4j,
            "sealing": sealing,
            "witness": witness,
            "breakGlass": break_glass,
            "signingKeys": state.checkpoint_keys.len()
        },
    })
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
