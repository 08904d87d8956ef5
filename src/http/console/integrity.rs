//! The integrity page: the `/status` summary with its reasons (sealing lag, the
//! external witness, break-glass reviews, signing keys) and where to verify.

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use super::page::{Chrome, html, shown};
use super::views::{CheckpointRow, Integrity};
use crate::http::AppState;

/// `GET /console/integrity`: the `/status` summary with its reasons.
pub async fn integrity(
    State(state): State<AppState>,
    _: crate::http::extract::AuditReader,
    chrome: Chrome,
) -> Result<Response, crate::http::problem::ApiError> {
    let status = crate::http::ops::status(&state).await;
    let recent = crate::history::checkpoints::recent(&state.store, 10).await?;
    let last_seal = recent
        .first()
        .and_then(|c| c.sealed_at.as_deref())
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map_or_else(
            || "never".to_owned(),
            |at| {
                let ago = chrono::Utc::now().signed_duration_since(at).num_seconds();
                format!(
                    "{} ({ago} s ago)",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            },
        );
    let checkpoints = recent
        .into_iter()
        .map(|c| CheckpointRow {
            seq: c.seq,
            sealed_at: c.sealed_at.unwrap_or_default(),
            entries: c.entries,
            key_id: c.key_id.unwrap_or_default(),
            pending: c.pending,
        })
        .collect();
    let checks = &status["checks"];
    let age = |ms: &Value| {
        ms.as_i64().map_or_else(
            || "none".to_owned(),
            |ms| format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        )
    };
    let facts = vec![
        ("Neo4j".to_owned(), shown(&checks["neo4j"])),
        (
            "Entries waiting to be sealed".to_owned(),
            shown(&checks["sealing"]["queued"]),
        ),
        (
            "Age of the oldest unsealed entry".to_owned(),
            age(&checks["sealing"]["oldestUnsealedMs"]),
        ),
        (
            "External witness configured".to_owned(),
            shown(&checks["witness"]["configured"]),
        ),
        (
            "Oldest checkpoint waiting for the witness".to_owned(),
            age(&checks["witness"]["oldestUnwitnessedMs"]),
        ),
        (
            "Break-glass changes awaiting review".to_owned(),
            shown(&checks["breakGlass"]["unreviewed"]),
        ),
        ("Signing keys".to_owned(), shown(&checks["signingKeys"])),
    ];
    let page = Integrity {
        chrome,
        healthy: status["status"] == "healthy",
        status: shown(&status["status"]),
        reasons: status["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .map(shown)
            .collect(),
        facts,
        checkpoints,
        last_seal,
    };
    Ok(html(&page))
}
