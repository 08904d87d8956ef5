//! What a governed change answers: the body (stored verbatim with an idempotency key,
//! so a retry replays it), its status and `ETag`.

use serde::Serialize;
use serde_json::{Value, json};

use super::Context;
use super::plan::{NoOp, Plan};
use crate::audit::AuditEntry;
use crate::domain::{EntityType, Operation};

/// What the caller gets back. Stored verbatim for idempotent replays.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// HTTP status (200, or 201 for a create).
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// The primary entity's version, for `ETag`.
    pub etag: Option<String>,
    /// True when this is a replay of a stored answer.
    pub replayed: bool,
}

/// The body of a governed change's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangeBody<'a> {
    changed: bool,
    operation: Operation,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit_log_id: Option<String>,
    entity: EntityBody<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed_fields: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<&'a std::collections::BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EntityBody<'a> {
    #[serde(rename = "type")]
    entity_type: EntityType,
    id: &'a str,
    label: &'a str,
    version: i64,
}

pub(super) fn noop_answer(operation: Operation, noop: &NoOp) -> Answer {
    let body = ChangeBody {
        changed: false,
        operation,
        audit_log_id: None,
        entity: EntityBody {
            entity_type: noop.primary.entity_type,
            id: &noop.primary.id,
            label: &noop.primary.label,
            version: noop.version,
        },
        previous_status: None,
        new_status: None,
        changed_fields: None,
        changes: None,
        detail: Some(&noop.detail),
    };
    Answer {
        status: 200,
        body: serde_json::to_value(&body).unwrap_or(Value::Null),
        etag: Some(etag(noop.version)),
        replayed: false,
    }
}

pub(super) fn applied_answer(operation: Operation, plan: &Plan, entry: &AuditEntry) -> Answer {
    let body = ChangeBody {
        changed: true,
        operation,
        audit_log_id: Some(entry.id.to_string()),
        entity: EntityBody {
            entity_type: plan.primary.entity_type,
            id: &plan.primary.id,
            label: &plan.primary.label,
            version: plan.version,
        },
        previous_status: plan.previous_status.as_deref(),
        new_status: plan.new_status.as_deref(),
        changed_fields: Some(plan.changes.keys().map(String::as_str).collect()),
        changes: Some(&plan.changes),
        detail: None,
    };
    Answer {
        status: if plan.created { 201 } else { 200 },
        body: serde_json::to_value(&body).unwrap_or(Value::Null),
        etag: Some(etag(plan.version)),
        replayed: false,
    }
}

/// The idempotency record of `answer`, when the request carried a key.
pub(super) fn idempotency_record(
    context: &Context,
    id: Option<String>,
    answer: &Answer,
) -> Option<Value> {
    let (key, id) = (context.idempotency.as_ref()?, id?);
    Some(json!({
        "id": id,
        "requestHash": key.request_hash,
        "status": answer.status,
        "body": answer.body.to_string(),
        "etag": answer.etag,
    }))
}

/// Strong `ETag` of a version.
#[must_use]
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
