//! The `AuditLog` entry: built on the server from the state read in the mutation's
//! transaction and the authenticated actor, never from client-supplied audit data.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{
    AuditLogId, Category, EntityType, Operation, Outcome, POLICY_VERSION, Role, Severity, Source,
};

/// Who acted, as recorded on an entry: ids and roles, never names or emails.
#[derive(Debug, Clone)]
pub struct ActorFacts {
    /// Internal user id (`userId`), never the token subject.
    pub user_id: String,
    /// Roles held (`actorRoles`).
    pub roles: Vec<Role>,
    /// `API` or `SBOM` (from the token).
    pub source: Source,
    /// How the actor authenticated (`authMethod`).
    pub auth_method: String,
}

/// One audit entry. Serialized field names are the stored property names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id (UUID v7: time-ordered).
    pub id: AuditLogId,
    /// When it happened (UTC); stored as a Neo4j `datetime`.
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// Operation code.
    pub operation: Operation,
    /// Primary entity type (absent when the entry concerns no entity: a refused or
    /// exported listing).
    pub entity_type: Option<EntityType>,
    /// Primary entity id.
    pub entity_id: Option<String>,
    /// Primary entity's display label when the entry was written.
    pub entity_label: String,
    /// The route a refused or exporting request took (`GET /v1/audit-logs`), for entries
    /// that change nothing.
    pub route: Option<String>,
    /// Primary entity's version after the change: orders one entity's entries exactly.
    pub entity_version: Option<i64>,
    /// Status-like value before.
    pub previous_status: Option<String>,
    /// Status-like value after.
    pub new_status: Option<String>,
    /// Names of the changed fields.
    pub changed_fields: Vec<String>,
    /// Scrubbed reason, if any.
    pub reason: Option<String>,
    /// `API`, `SBOM` or `System`.
    pub source: Source,
    /// Acting user's id.
    pub user_id: String,
    /// What happened.
    pub outcome: Outcome,
    /// Correlation id of the request.
    pub correlation_id: String,
    /// Rule set and approval policies the decision was checked against.
    pub policy_version: String,
    /// Actor's roles.
    pub actor_roles: Vec<Role>,
    /// Actor's authentication method.
    pub auth_method: String,
    /// Catalog category.
    pub category: &'static str,
    /// Catalog severity.
    pub severity: &'static str,
    /// JSON text: field → `{old, new}` or `{added, removed}`.
    pub changes: String,
    /// Other audited entities as `Type:id`.
    pub related_entities: Vec<String>,
    /// For each audited entity, `id=<hash of its previous entry>` (see [`super::hash`]).
    pub prev_hashes: Vec<String>,
    /// The change request this entry asks for, acts on or executes.
    pub change_request_id: Option<String>,
    /// `sha256:` digest of the canonical command that request holds.
    pub command_digest: Option<String>,
    /// The people who approved the change this entry records (internal ids, sorted);
    /// each also has an `APPROVED_BY` edge.
    pub approver_ids: Option<Vec<String>>,
    /// Evidence references `[{kind, uri, digest}]` as JSON text.
    pub evidence: Option<String>,
    /// `true` on a break-glass change: it ran without its approvals and awaits review
    /// (absent otherwise).
    pub break_glass: Option<bool>,
}

/// What ties an entry to a change request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestLink {
    /// The request.
    pub change_request_id: Option<String>,
    /// Its command's digest.
    pub command_digest: Option<String>,
    /// Approvers of an executed change.
    pub approver_ids: Option<Vec<String>>,
    /// Evidence references (JSON text).
    pub evidence: Option<String>,
    /// The change ran without its approvals (break-glass).
    pub break_glass: bool,
}

fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// The operation an entry records, with the catalog's category and severity for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationFacts {
    /// Operation code.
    pub operation: Operation,
    /// Catalog category.
    pub category: Category,
    /// Catalog severity.
    pub severity: Severity,
}

/// When the change happens and the id its entry will have (an approval remembers the
/// entry that granted it, so a revocation can supersede exactly that entry).
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// The clock reading.
    pub now: DateTime<Utc>,
    /// Id of the entry this change writes.
    pub entry_id: AuditLogId,
}

/// The facts an entry is made of, besides the actor.
#[derive(Debug, Clone)]
pub struct EntryFacts<'a> {
    /// Operation, category and severity.
    pub kind: OperationFacts,
    /// Outcome.
    pub outcome: Outcome,
    /// Primary entity type (none for an entry about a listing).
    pub entity_type: Option<EntityType>,
    /// Primary entity id.
    pub entity_id: Option<&'a str>,
    /// Primary entity label.
    pub entity_label: &'a str,
    /// The route of a refused or exporting request.
    pub route: Option<String>,
    /// Primary entity version after the change (none for a DENIED attempt).
    pub entity_version: Option<i64>,
    /// Before.
    pub previous_status: Option<String>,
    /// After.
    pub new_status: Option<String>,
    /// Field changes.
    pub changes: &'a std::collections::BTreeMap<String, Value>,
    /// Other audited entities as `Type:id`.
    pub related: Vec<String>,
    /// Scrubbed reason.
    pub reason: Option<String>,
    /// Correlation id.
    pub correlation_id: &'a str,
}

impl AuditEntry {
    /// Builds the entry.
    #[must_use]
    pub fn new(facts: EntryFacts<'_>, actor: &ActorFacts, stamp: Stamp) -> Self {
        let changes: Map<String, Value> = facts
            .changes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            id: stamp.entry_id,
            timestamp: stamp.now,
            operation: facts.kind.operation,
            entity_type: facts.entity_type,
            entity_id: facts.entity_id.map(str::to_owned),
            entity_label: facts.entity_label.to_owned(),
            route: facts.route,
            entity_version: facts.entity_version,
            previous_status: facts.previous_status,
            new_status: facts.new_status,
            changed_fields: facts.changes.keys().cloned().collect(),
            reason: facts.reason,
            source: actor.source,
            user_id: actor.user_id.clone(),
            outcome: facts.outcome,
            correlation_id: facts.correlation_id.to_owned(),
            policy_version: POLICY_VERSION.to_owned(),
            actor_roles: actor.roles.clone(),
            auth_method: actor.auth_method.clone(),
            category: facts.kind.category.as_str(),
            severity: facts.kind.severity.as_str(),
            // BTreeMap order: the text is deterministic for the same changes.
            changes: Value::Object(changes).to_string(),
            related_entities: facts.related,
            prev_hashes: Vec::new(),
            change_request_id: None,
            command_digest: None,
            approver_ids: None,
            evidence: None,
            break_glass: None,
        }
    }

    /// The same entry under the policy version in force.
    #[must_use]
    pub fn with_policy_version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.policy_version);
        self
    }

    /// The same entry tied to a change request, with its evidence.
    #[must_use]
    pub fn with_request(mut self, link: RequestLink) -> Self {
        self.change_request_id = link.change_request_id;
        self.command_digest = link.command_digest;
        self.approver_ids = link.approver_ids;
        self.evidence = link.evidence;
        self.break_glass = link.break_glass.then_some(true);
        self
    }

    /// The same entry recording the previous chain hashes of the entities it audits.
    #[must_use]
    pub fn with_prev_hashes(mut self, prev_hashes: Vec<String>) -> Self {
        self.prev_hashes = prev_hashes;
        self
    }

    /// The entry as a property map for Cypher (`SET e = $entry`; nulls are dropped),
    /// sealed with its content `hash`.
    pub fn to_params(&self) -> Result<Value, super::hash::HashError> {
        let mut value = serde_json::to_value(self)
            .map_err(|e| super::hash::HashError::Canonical(e.to_string()))?;
        if let Value::Object(map) = &mut value {
            map.retain(|_, v| !v.is_null());
        }
        let hash = super::hash::content_hash(&value)?;
        if let Value::Object(map) = &mut value {
            map.insert("hash".into(), Value::String(hash));
        }
        Ok(value)
    }
}
