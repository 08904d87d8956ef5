//! Superuser reads of the audit trail: one entry, the filtered feed, an entity's
//! history, its state as of an instant (or replay beside the live graph), its approval
//! lineage, and an actor's activity. Every route takes an [`AuditReader`]: anyone else
//! gets 403 and the attempt is recorded.

use axum::extract::State;
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{AuditReader, Path, Query};
use super::listing::{ListQuery, bad, entity, instant, not_found};
use super::problem::{ApiError, FieldError};
use super::{Access, AppState, MediaType, Param, RouteDoc, schemas};
use crate::domain::{AuditLogId, Operation, UserId};
use crate::history::{self, MAX_LIMIT, Page, Scope, lineage, replay};

fn q_entity_type() -> Value {
    schemas::reference("EntityType")
}
fn q_operation() -> Value {
    schemas::reference("Operation")
}
fn q_source() -> Value {
    schemas::reference("Source")
}
fn q_outcome() -> Value {
    schemas::reference("Outcome")
}
fn q_category() -> Value {
    schemas::reference("Category")
}
fn q_id() -> Value {
    json!({"type": "string", "format": "uuid", "description": "an entity or internal user id"})
}
fn q_correlation() -> Value {
    json!({"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"})
}
fn q_instant() -> Value {
    json!({"type": "string", "format": "date-time"})
}
fn q_order() -> Value {
    json!({"enum": ["desc", "asc"]})
}
fn q_limit() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})
}
fn q_cursor() -> Value {
    json!({"type": "string", "description": "opaque"})
}
fn q_format() -> Value {
    json!({"enum": ["jsonl", "csv"]})
}
fn q_depth() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": lineage::MAX_DEPTH})
}

macro_rules! params {
    ($(($name:literal, $description:literal, $schema:ident)),* $(,)?) => {
        &[$(Param { name: $name, description: $description, schema: $schema }),*]
    };
}

const FILTERS_AND_PAGING: &[Param] = params![
    (
        "entityType",
        "primary entity type, e.g. Team",
        q_entity_type
    ),
    ("entityId", "primary entity id", q_id),
    (
        "operation",
        "operation code, e.g. ADD_TEAM_MEMBER",
        q_operation
    ),
    ("userId", "acting user's internal id", q_id),
    ("source", "API, SBOM or System", q_source),
    ("outcome", "SUCCEEDED, DENIED or REJECTED", q_outcome),
    (
        "category",
        "catalog category, e.g. team-membership",
        q_category
    ),
    (
        "correlationId",
        "correlation id of the request",
        q_correlation
    ),
    ("from", "inclusive lower bound, RFC 3339", q_instant),
    ("to", "inclusive upper bound, RFC 3339", q_instant),
    ("order", "desc (newest first, default) or asc", q_order),
    ("limit", "entries per page, 1 to 500 (default 50)", q_limit),
    ("cursor", "nextCursor of the previous page", q_cursor),
];

const EXPORT_FILTERS: &[Param] = params![
    ("format", "jsonl (default) or csv", q_format),
    ("entityType", "primary entity type", q_entity_type),
    ("entityId", "primary entity id", q_id),
    ("operation", "operation code", q_operation),
    ("userId", "acting user's internal id", q_id),
    ("source", "API, SBOM or System", q_source),
    ("outcome", "SUCCEEDED, DENIED or REJECTED", q_outcome),
    ("category", "catalog category", q_category),
    ("correlationId", "correlation id", q_correlation),
    ("from", "inclusive lower bound, RFC 3339", q_instant),
    ("to", "inclusive upper bound, RFC 3339", q_instant),
];

const STATE_QUERY: &[Param] = params![(
    "at",
    "RFC 3339 instant; omit to compare the replayed current state with the live graph",
    q_instant
)];

const LINEAGE_QUERY: &[Param] = params![(
    "depth",
    "1 to 3 hops of related decisions (default 2)",
    q_depth
)];

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/v1/audit-logs",
        summary: "The audit feed, filtered and cursor-paginated",
        tag: "audit",
        access: Access::Superuser,
        query: FILTERS_AND_PAGING,
        response: (MediaType::Json, schemas::page),
        route: || get(get_feed),
    },
    RouteDoc {
        path: "/v1/audit-logs/{id}",
        summary: "One audit entry",
        tag: "audit",
        access: Access::Superuser,
        query: &[],
        response: (MediaType::Json, || schemas::reference("AuditEntry")),
        route: || get(get_audit_log),
    },
    RouteDoc {
        path: "/v1/audit-logs/{id}/proof",
        summary: "RFC 6962 inclusion proof of an entry in the signed checkpoint that sealed it",
        tag: "audit",
        access: Access::Superuser,
        query: &[],
        response: (MediaType::Json, schemas::proof),
        route: || get(get_proof),
    },
    RouteDoc {
        path: "/v1/entities/{type}/{id}/history",
        summary: "Every entry that audits the entity (as primary or related entity)",
        tag: "audit",
        access: Access::Superuser,
        query: FILTERS_AND_PAGING,
        response: (MediaType::Json, schemas::page),
        route: || get(get_history),
    },
    RouteDoc {
        path: "/v1/entities/{type}/{id}/state",
        summary: "Governed state replayed from entries: as of `at`, or now beside the live graph with a `consistent` flag",
        tag: "audit",
        access: Access::Superuser,
        query: STATE_QUERY,
        response: (MediaType::Json, schemas::state),
        route: || get(get_state),
    },
    RouteDoc {
        path: "/v1/entities/{type}/{id}/lineage",
        summary: "The decisions behind the entity's approval state, as a JSON graph and Mermaid text",
        tag: "audit",
        access: Access::Superuser,
        query: LINEAGE_QUERY,
        response: (MediaType::Json, schemas::lineage),
        route: || get(get_lineage),
    },
    RouteDoc {
        path: "/v1/audit/verify",
        summary: "Recompute every entry hash, compare AUDITS edges, walk every entity chain; findings by entry and entity",
        tag: "audit",
        access: Access::Superuser,
        query: &[],
        response: (MediaType::Json, schemas::verification),
        route: || get(get_verify),
    },
    RouteDoc {
        path: "/v1/exports/audit",
        summary: "Every matching entry, oldest first, streamed as JSON lines or CSV (recorded as an EXPORT entry)",
        tag: "exports",
        access: Access::Superuser,
        query: EXPORT_FILTERS,
        response: (MediaType::Stream, schemas::text),
        route: || get(get_export),
    },
    RouteDoc {
        path: "/v1/exports/entities/{type}/{id}",
        summary: "Signed lineage packet of one entity (DSSE envelope, in-toto Statement): state digest, full history with hashes, chain links and inclusion proofs, signed checkpoints, lineage, what is in force; recorded as an EXPORT entry naming its digest",
        tag: "exports",
        access: Access::Superuser,
        query: &[],
        response: (MediaType::Json, schemas::envelope),
        route: || get(get_packet),
    },
    RouteDoc {
        path: "/v1/audit/keys",
        summary: "Public keys (Ed25519) that verify the signed checkpoints",
        tag: "audit",
        access: Access::Superuser,
        query: &[],
        response: (MediaType::Json, schemas::keys),
        route: || get(get_keys),
    },
    RouteDoc {
        path: "/v1/users/{id}/activity",
        summary: "What one actor did, filtered and cursor-paginated",
        tag: "audit",
        access: Access::Superuser,
        query: FILTERS_AND_PAGING,
        response: (MediaType::Json, schemas::page),
        route: || get(get_activity),
    },
];

type Result<T> = std::result::Result<T, ApiError>;

async fn get_feed(
    State(s): State<AppState>,
    _: AuditReader,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page>> {
    let request = q.page_request(Scope::All)?;
    Ok(axum::Json(history::page(&s.store, &request).await?))
}

async fn get_history(
    State(s): State<AppState>,
    _: AuditReader,
    Path((type_text, id)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page>> {
    let (entity_type, id) = entity(&type_text, &id)?;
    let request = q.page_request(Scope::Entity(entity_type, id))?;
    Ok(axum::Json(history::page(&s.store, &request).await?))
}

async fn get_activity(
    State(s): State<AppState>,
    _: AuditReader,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Page>> {
    let id = UserId::parse(&id).map_err(|e| bad("id", e.to_string()))?;
    let request = q.page_request(Scope::Actor(id.to_string()))?;
    Ok(axum::Json(history::page(&s.store, &request).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateQuery {
    at: Option<String>,
}

/// With `at`: the state replayed from entries up to that instant. Without: the
/// replayed current state beside the live graph, with a `consistent` flag.
async fn get_state(
    State(s): State<AppState>,
    _: AuditReader,
    Path((type_text, id)): Path<(String, String)>,
    Query(q): Query<StateQuery>,
) -> Result<axum::Json<Value>> {
    let (entity_type, id) = entity(&type_text, &id)?;
    let at = instant("at", q.at.as_ref())?;
    if let Some(at) = at {
        // The replay query only finds entries of an existing entity; an empty answer
        // needs one more question to tell "nothing before `at`" from "no entity".
        let entries = replay::entries(&s.store, entity_type, &id, Some(at)).await?;
        if entries.is_empty() && !replay::exists(&s.store, entity_type, &id).await? {
            return Err(not_found(entity_type, &id));
        }
        let state = replay::fold(&id, entity_type, &entries);
        return Ok(axum::Json(json!({
            "entityType": entity_type,
            "entityId": id,
            "at": at,
            "state": state,
            "entries": entries.len(),
            "lastEntryId": entries.last().map(|e| e.id.clone()),
        })));
    }
    // One read of the live state serves both the existence check and the comparison.
    let comparison = replay::compare(&s.store, entity_type, &id).await?;
    if comparison.live.is_none() {
        return Err(not_found(entity_type, &id));
    }
    Ok(axum::Json(json!({
        "entityType": entity_type,
        "entityId": id,
        "replayed": comparison.replayed,
        "live": comparison.live,
        "consistent": comparison.consistent,
        "differingFields": comparison.differing_fields,
        "entries": comparison.entries,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineageQuery {
    depth: Option<String>,
}

async fn get_lineage(
    State(s): State<AppState>,
    _: AuditReader,
    Path((type_text, id)): Path<(String, String)>,
    Query(q): Query<LineageQuery>,
) -> Result<axum::Json<lineage::Lineage>> {
    let (entity_type, id) = entity(&type_text, &id)?;
    let depth = match q.depth.as_deref() {
        None => 2,
        Some(d) => d
            .parse::<u8>()
            .ok()
            .filter(|d| (1..=lineage::MAX_DEPTH).contains(d))
            .ok_or_else(|| {
                bad(
                    "depth",
                    format!("must be an integer from 1 to {}", lineage::MAX_DEPTH),
                )
            })?,
    };
    // Decisions in the lineage prove the entity exists; only an empty lineage needs
    // the existence question.
    let lineage = lineage::lineage(&s.store, entity_type, &id, depth).await?;
    if lineage.nodes.is_empty() && !replay::exists(&s.store, entity_type, &id).await? {
        return Err(not_found(entity_type, &id));
    }
    Ok(axum::Json(lineage))
}

/// The entry's hash, the signed checkpoint that sealed it, its leaf index and audit
/// path: enough to check offline that the entry is in the signed Merkle root.
async fn get_proof(
    State(s): State<AppState>,
    _: AuditReader,
    Path(id): Path<AuditLogId>,
) -> Result<axum::Json<Value>> {
    let id = id.to_string();
    let proof = history::checkpoints::entry_proof(&s.store, &id)
        .await
        .map_err(|e| match e {
            history::checkpoints::ProofError::NotSealed => {
                ApiError::EntityNotFound(vec![FieldError::new(
                    "id",
                    format!("audit log entry {id} does not exist or is not sealed yet"),
                )])
            }
            history::checkpoints::ProofError::Broken => ApiError::Conflict(vec![FieldError::new(
                "id",
                format!(
                    "the checkpoint that sealed entry {id} no longer matches the log; run `govtrail verify`"
                ),
            )]),
            history::checkpoints::ProofError::Store(e) => e.into(),
        })?;
    Ok(axum::Json(json!({
        "entryId": id,
        "entryHash": proof.entry_hash,
        "leafIndex": proof.leaf_index,
        "treeSize": proof.tree_size,
        "auditPath": proof.audit_path,
        "checkpoint": proof.checkpoint,
    })))
}

/// Streams matching entries. The export is recorded (operation EXPORT, exporter,
/// format, range and filters) before the first byte leaves; no record, no export.
async fn get_export(
    State(s): State<AppState>,
    caller: super::extract::Caller,
    Query(q): Query<ListQuery>,
) -> Result<axum::response::Response> {
    export_stream(&s, &caller, &q).await
}

/// The export of `q`'s matches by `caller` (API and console): recorded, then streamed.
pub(super) async fn export_stream(
    s: &AppState,
    caller: &super::extract::Caller,
    q: &ListQuery,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let format = match q.format.as_deref() {
        None | Some("jsonl") => crate::export::Format::Jsonl,
        Some("csv") => crate::export::Format::Csv,
        Some(_) => return Err(bad("format", "must be `jsonl` or `csv`")),
    };
    for (name, given) in [
        ("order", &q.order),
        ("limit", &q.limit),
        ("cursor", &q.cursor),
    ] {
        if given.is_some() {
            return Err(bad(name, "exports stream every match, oldest first"));
        }
    }
    let filters = q.filters()?;
    let mut details = std::collections::BTreeMap::new();
    details.insert(
        "export".to_owned(),
        json!({ "old": null, "new": { "kind": "audit-stream", "format": q.format.clone().unwrap_or_else(|| "jsonl".into()), "filters": filters } }),
    );
    s.governor
        .record_export(
            &caller.actor,
            &caller.context,
            &caller.target,
            &details,
            AuditLogId::from(uuid::Uuid::now_v7()),
        )
        .await
        .map_err(super::governed::to_api_error)?;
    let body = axum::body::Body::from_stream(crate::export::stream(
        s.store.clone(),
        filters,
        format,
        crate::export::PAGE,
    ));
    Ok((
        [(axum::http::header::CONTENT_TYPE, format.media_type())],
        body,
    )
        .into_response())
}

/// Builds and signs the packet, records the export (with the packet's digest) under
/// the id the packet names, then sends it. No signing key: 503.
async fn get_packet(
    State(s): State<AppState>,
    caller: super::extract::Caller,
    Path((type_text, id)): Path<(String, String)>,
) -> Result<axum::response::Response> {
    packet(&s, &caller, &type_text, &id).await
}

/// The signed lineage packet of `{type_text}/{id}` for `caller` (API and console).
pub(super) async fn packet(
    s: &AppState,
    caller: &super::extract::Caller,
    type_text: &str,
    id: &str,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let (entity_type, id) = entity(type_text, id)?;
    let governor = &s.governor;
    governor
        .authorize(
            &caller.actor,
            Operation::Export,
            &caller.target,
            &caller.context,
        )
        .await
        .map_err(super::governed::to_api_error)?;
    let Some(key) = s.signing_key.as_deref() else {
        return Err(ApiError::NotConfigured(
            "no signing key is configured (GOVTRAIL_CHECKPOINT_KEY_FILE): packets cannot be signed"
                .into(),
        ));
    };
    let principal = caller.actor.principal();
    let entry_id = AuditLogId::from(uuid::Uuid::now_v7());
    let request = crate::export::packet::ExportRequest {
        exporter: crate::export::packet::Exporter {
            user_id: caller.actor.id().to_string(),
            roles: principal.roles.iter().map(ToString::to_string).collect(),
        },
        export_entry_id: entry_id.to_string(),
        exported_at: Utc::now(),
        policy_version: governor.policies().version().to_owned(),
    };
    let Some(signed) =
        crate::export::packet::build(&s.store, key, entity_type, &id, request).await?
    else {
        return Err(not_found(entity_type, &id));
    };
    let mut details = std::collections::BTreeMap::new();
    details.insert(
        "export".to_owned(),
        json!({ "old": null, "new": {
            "kind": "lineage-packet",
            "entityType": entity_type,
            "entityId": id,
            "range": "full history",
            "entries": signed.entries,
            "packetDigest": format!("sha256:{}", signed.payload_digest),
        } }),
    );
    governor
        .record_export(
            &caller.actor,
            &caller.context,
            &caller.target,
            &details,
            entry_id,
        )
        .await
        .map_err(super::governed::to_api_error)?;
    let file = format!(
        "attachment; filename=\"govtrail-{}-{id}.dsse.json\"",
        entity_type.as_str()
    );
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, file),
        ],
        axum::Json(signed.envelope),
    )
        .into_response())
}

async fn get_keys(State(s): State<AppState>, _: AuditReader) -> axum::Json<Value> {
    axum::Json(json!({ "keys": *s.checkpoint_keys }))
}

/// `verified` is true when there are no findings.
async fn get_verify(State(s): State<AppState>, _: AuditReader) -> Result<axum::Json<Value>> {
    let options = crate::audit::verify::VerifyOptions::new(
        &s.checkpoint_keys,
        s.settings.checkpoint_sink.clone(),
        std::time::Duration::from_secs(s.settings.unsealed_lag_bound_secs),
    );
    let report = crate::audit::verify::verify(&s.store, &options).await?;
    Ok(axum::Json(json!({
        "verified": report.findings.is_empty(),
        "entries": report.entries,
        "chains": report.chains,
        "checkpoints": report.checkpoints,
        "findings": report.findings,
    })))
}

async fn get_audit_log(
    State(state): State<AppState>,
    _: AuditReader,
    Path(id): Path<AuditLogId>,
) -> Result<axum::Json<Value>> {
    history::entry(&state.store, &id.to_string())
        .await?
        .map(axum::Json)
        .ok_or(ApiError::NotFound("audit log entry"))
}
