//! `GET /v1/audit-logs/{id}`: one audit entry. Superuser only.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use neo4rs::query;
use serde_json::Value;

use super::AppState;
use super::extract::{AuditReader, Path};
use super::problem::ApiError;
use crate::domain::AuditLogId;
use crate::store::StoreError;

const AUDIT_LOG_BY_ID: &str = include_str!("../../cypher/audit_log_by_id.cypher");

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/audit-logs/{id}", get(get_audit_log))
}

async fn get_audit_log(
    State(state): State<AppState>,
    _reader: AuditReader,
    Path(id): Path<AuditLogId>,
) -> Result<axum::Json<Value>, ApiError> {
    let store = &state.store;
    let mut rows = store
        .graph()
        .execute_read(query(AUDIT_LOG_BY_ID).param("id", id.to_string()))
        .await
        .map_err(|e| store.error(e))?;
    let row = rows
        .next()
        .await
        .map_err(|e| store.error(e))?
        .ok_or(ApiError::NotFound("audit log entry"))?;
    let mut entry: Value = row
        .get("entry")
        .map_err(|e| store.record(StoreError::Decode(e.to_string())))?;
    let actor: Option<String> = row.get("actorName").unwrap_or(None);
    if let Some(map) = entry.as_object_mut() {
        // `changes` is stored as JSON text (Neo4j has no nested maps); serve it as JSON.
        if let Some(Value::String(text)) = map.get("changes")
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            map.insert("changes".into(), parsed);
        }
        map.insert("actorName".into(), actor.map_or(Value::Null, Value::String));
    }
    Ok(axum::Json(entry))
}
