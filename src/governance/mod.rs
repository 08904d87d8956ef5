//! Governed mutations. Each change runs in one Neo4j transaction of two statements:
//! `governed_read` write-locks and reads the nodes it touches; the command decides
//! (pure Rust, from that state); `governed_write` applies the effects and writes the
//! `AuditLog` entry with its edges and the idempotency record; then commit. Nothing
//! outside this module writes governed state or audit entries.

pub mod catalog;
pub mod command;
pub mod commands;
pub mod input;
pub mod plan;
pub mod snapshot;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use neo4rs::{Txn, query};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};

pub use crate::audit::Stamp;
use crate::audit::scrub::scrub;
use crate::audit::{ActorFacts, AuditEntry, EntryFacts};
use crate::auth::Principal;
use crate::domain::{AuditLogId, EntityType, Operation, Outcome, Role};
use crate::store::{Store, StoreError};
pub use catalog::{Definition, definition};
pub use command::Command;
pub use plan::{Decision, EntityRef, NoOp, Plan, Rejection};
pub use snapshot::{Node, Snapshot, StoredResponse, Targets};

const GOVERNED_READ: &str = include_str!("../../cypher/governed_read.cypher");
const GOVERNED_WRITE: &str = include_str!("../../cypher/governed_write.cypher");
const ACTOR_ENTRY_WRITE: &str = include_str!("../../cypher/actor_entry_write.cypher");
const IDEMPOTENCY_STORE: &str = include_str!("../../cypher/idempotency_store.cypher");
const INJECTED_FAILURE: &str = include_str!("../../cypher/injected_failure.cypher");

/// Longest accepted `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// The authenticated caller of a governed command. Only the HTTP layer's token
/// extractor can produce a [`Principal`], so no write is reachable without one.
#[derive(Debug, Clone)]
pub struct Actor(Principal);

impl Actor {
    /// Wraps a verified principal.
    #[must_use]
    pub fn new(principal: Principal) -> Self {
        Self(principal)
    }

    /// The principal.
    #[must_use]
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    fn facts(&self) -> ActorFacts {
        ActorFacts {
            user_id: self.0.subject.to_string(),
            roles: self.0.roles.iter().copied().collect(),
            source: self.0.source,
            auth_method: self.0.auth_method.to_string(),
        }
    }

    fn params(&self) -> Value {
        json!({
            "id": self.0.subject.as_str(),
            "displayName": self.0.display_name,
            "email": self.0.email.as_ref().map(|e| e.expose_secret().to_owned()),
        })
    }
}

/// An `Idempotency-Key` with the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The caller's key.
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
}

/// Per-request facts a change needs besides its input.
#[derive(Debug, Clone)]
pub struct Context {
    /// Caller's free-text reason (unscrubbed).
    pub reason: Option<String>,
    /// `If-Match` version, if sent.
    pub if_match: Option<i64>,
    /// `Idempotency-Key`, if sent.
    pub idempotency: Option<Idempotency>,
    /// Correlation id.
    pub correlation_id: String,
}

impl Context {
    /// A request's context with only its correlation id: no reason, no `If-Match`, no
    /// idempotency key (reads, exports, denials).
    #[must_use]
    pub fn new(correlation_id: String) -> Self {
        Self {
            reason: None,
            if_match: None,
            idempotency: None,
            correlation_id,
        }
    }
}

/// The clock entries are stamped with. Read inside the transaction, after the locks
/// are held, so one entity's entries are stamped in the order they commit.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

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

/// Why a governed change was refused.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// The caller lacks the role (an entry with outcome DENIED was recorded).
    #[error("requires one of {required:?}")]
    Forbidden {
        /// Roles accepted.
        required: &'static [Role],
    },
    /// `reason` is missing where required, or too long.
    #[error("reason: {0}")]
    Reason(String),
    /// `If-Match` names another version.
    #[error("the entity is at version {current}")]
    PreconditionFailed {
        /// Current version.
        current: i64,
    },
    /// The `Idempotency-Key` was used before with a different request.
    #[error("the Idempotency-Key was used with a different request")]
    IdempotencyMismatch,
    /// The command refused given the current state.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Neo4j failed (after retries where that could help).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Test seams; none is reachable from HTTP.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Fail the transaction after the entry is written, before commit.
    pub fail_after_write: bool,
}

/// Runs governed commands.
#[derive(Clone)]
pub struct Governor {
    store: Store,
    denials: Arc<DefaultKeyedRateLimiter<String>>,
    max_attempts: u32,
    faults: Faults,
    clock: Clock,
}

impl Governor {
    /// A governor writing through `store`, recording at most `denials_per_minute`
    /// DENIED entries per caller.
    #[must_use]
    pub fn new(store: Store, denials_per_minute: NonZeroU32, max_attempts: u32) -> Self {
        Self {
            store,
            denials: Arc::new(RateLimiter::keyed(Quota::per_minute(denials_per_minute))),
            max_attempts: max_attempts.max(1),
            faults: Faults::default(),
            clock: Arc::new(Utc::now),
        }
    }

    /// The same governor reading time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same governor with test faults switched on.
    #[doc(hidden)]
    #[must_use]
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Authorizes, validates the reason, and runs `command` in one transaction,
    /// retrying the whole transaction on transient Neo4j errors.
    pub async fn execute(
        &self,
        command: &Command,
        actor: &Actor,
        context: &Context,
    ) -> Result<Answer, GovernanceError> {
        let operation = command.operation();
        self.authorize(actor, operation, command.decider().primary_id(), context)
            .await?;
        let reason = checked_reason(operation, context.reason.as_deref())?;
        let mut attempt = 1;
        loop {
            match self
                .attempt(command, actor, context, reason.as_deref())
                .await
            {
                Err(GovernanceError::Store(e))
                    if e.is_retryable() && attempt < self.max_attempts =>
                {
                    tracing::warn!(error = %e, attempt, "retrying governed change");
                    let backoff = 20u64 << attempt.min(6);
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
    ) -> Result<Answer, GovernanceError> {
        let store = &self.store;
        let mut txn = store
            .graph()
            .start_txn()
            .await
            .map_err(|e| store.error(e))?;
        let result = self
            .in_transaction(&mut txn, command, actor, context, reason)
            .await;
        match result {
            Ok((answer, true)) => {
                txn.commit().await.map_err(|e| store.error(e))?;
                Ok(answer)
            }
            Ok((answer, false)) => {
                // Nothing was written; release the locks.
                txn.rollback().await.map_err(|e| store.error(e))?;
                Ok(answer)
            }
            Err(e) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::debug!(error = %rollback, "rollback after failure");
                }
                Err(e)
            }
        }
    }

    /// Returns the answer and whether anything was written.
    async fn in_transaction(
        &self,
        txn: &mut Txn,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
    ) -> Result<(Answer, bool), GovernanceError> {
        let store = &self.store;
        let idem_id = context
            .idempotency
            .as_ref()
            .map(|i| format!("{}\u{1f}{}", actor.principal().subject, i.key));
        let decider = command.decider();
        let snapshot = read_snapshot(store, txn, &decider.targets(), idem_id.as_deref()).await?;

        if let (Some(stored), Some(idem)) = (&snapshot.idempotent, &context.idempotency) {
            if stored.request_hash != idem.request_hash {
                return Err(GovernanceError::IdempotencyMismatch);
            }
            let body = serde_json::from_str(&stored.body).map_err(|e| store.decode(e))?;
            return Ok((
                Answer {
                    status: u16::try_from(stored.status).unwrap_or(200),
                    body,
                    etag: stored.etag.clone(),
                    replayed: true,
                },
                false,
            ));
        }
        if let (Some(expected), Some(id)) = (context.if_match, decider.primary_id())
            && let Some(node) = snapshot.node(&id)
            && node.version() != expected
        {
            return Err(GovernanceError::PreconditionFailed {
                current: node.version(),
            });
        }

        let stamp = Stamp {
            now: (self.clock)(),
            entry_id: AuditLogId::from(uuid::Uuid::now_v7()),
        };
        let operation = command.operation();
        let plan = match decider.decide(operation, &snapshot, &stamp)? {
            Decision::NoOp(noop) => {
                let answer = noop_answer(operation, &noop);
                // A keyed no-op still remembers its answer, so a retry of the same request
                // after the state moved on replays "nothing changed" instead of acting.
                // Nothing governed is written and no entry is made.
                let Some(record) = idempotency_record(context, idem_id, &answer) else {
                    return Ok((answer, false));
                };
                txn.run(
                    query(IDEMPOTENCY_STORE)
                        .param("idem", to_bolt(record))
                        .param("unlock", snapshot_ids(&snapshot)),
                )
                .await
                .map_err(|e| store.error(e))?;
                return Ok((answer, true));
            }
            Decision::Apply(plan) => plan,
        };
        let related: Vec<String> = plan
            .related
            .iter()
            .map(|r| format!("{}:{}", r.entity_type, r.id))
            .collect();
        let mut snapshot = snapshot;
        let prev = chain_heads(store, txn, &mut snapshot, &plan).await?;
        let entry = AuditEntry::new(
            EntryFacts {
                outcome: Outcome::Succeeded,
                entity_type: plan.primary.entity_type,
                entity_id: &plan.primary.id,
                entity_label: &plan.primary.label,
                entity_version: Some(plan.version),
                previous_status: plan.previous_status.clone(),
                new_status: plan.new_status.clone(),
                changes: &plan.changes,
                related,
                reason: reason.map(str::to_owned),
                correlation_id: &context.correlation_id,
                kind: definition(operation).facts(),
            },
            &actor.facts(),
            stamp,
        )
        .with_prev_hashes(prev);
        let answer = applied_answer(operation, &plan, &entry);
        let idem = idempotency_record(context, idem_id, &answer).unwrap_or(Value::Null);
        write_plan(store, txn, &plan, &entry, actor, &snapshot, idem).await?;
        if self.faults.fail_after_write {
            txn.run(query(INJECTED_FAILURE).param("entryId", entry.id.to_string()))
                .await
                .map_err(|e| store.error(e))?;
        }
        Ok((answer, true))
    }

    /// Refuses unless `actor` holds a role `operation` allows; a refusal records an
    /// entry with outcome DENIED (rate-limited per caller).
    pub async fn authorize(
        &self,
        actor: &Actor,
        operation: Operation,
        target: Option<String>,
        context: &Context,
    ) -> Result<(), GovernanceError> {
        let required = definition(operation).roles;
        if actor.principal().has_any(required) {
            return Ok(());
        }
        self.record_denied(actor, operation, target, context).await;
        Err(GovernanceError::Forbidden { required })
    }

    /// Writes an entry with outcome DENIED in a transaction of its own, unless the
    /// caller already used up its allowance. A failure is logged, never raised: the
    /// caller gets its 403 either way.
    pub async fn record_denied(
        &self,
        actor: &Actor,
        operation: Operation,
        entity: Option<String>,
        context: &Context,
    ) {
        let caller = actor.principal().subject.to_string();
        if self.denials.check_key(&caller).is_err() {
            tracing::info!(operation = %operation, "denied attempt not recorded: rate limit");
            return;
        }
        let changes = std::collections::BTreeMap::new();
        let entity_id = entity.unwrap_or_default();
        let facts = EntryFacts {
            outcome: Outcome::Denied,
            entity_type: definition(operation).subject,
            entity_id: &entity_id,
            entity_label: "",
            entity_version: None,
            previous_status: None,
            new_status: None,
            changes: &changes,
            related: Vec::new(),
            reason: None,
            correlation_id: &context.correlation_id,
            kind: definition(operation).facts(),
        };
        let entry_id = AuditLogId::from(uuid::Uuid::now_v7());
        if let Err(e) = self.write_actor_entry(actor, facts, entry_id).await {
            tracing::warn!(error = %e, "denied attempt could not be recorded");
        }
    }

    /// Records an export (operation `EXPORT`, the requested range and filters in
    /// `changes`) before any data leaves. Fails closed: no entry, no export. The entry
    /// gets `entry_id`, so a lineage packet can name the entry that records it.
    pub async fn record_export(
        &self,
        actor: &Actor,
        context: &Context,
        details: &std::collections::BTreeMap<String, Value>,
        entry_id: AuditLogId,
    ) -> Result<AuditLogId, GovernanceError> {
        self.authorize(actor, Operation::Export, None, context)
            .await?;
        let subject = actor.principal().subject.to_string();
        self.write_actor_entry(
            actor,
            EntryFacts {
                outcome: Outcome::Succeeded,
                entity_type: EntityType::User,
                entity_id: &subject,
                entity_label: "audit export",
                entity_version: None,
                previous_status: None,
                new_status: None,
                changes: details,
                related: Vec::new(),
                reason: None,
                correlation_id: &context.correlation_id,
                kind: definition(Operation::Export).facts(),
            },
            entry_id,
        )
        .await
    }

    /// Writes an entry that changes no entity (a denial, an export) in a transaction of
    /// its own.
    async fn write_actor_entry(
        &self,
        actor: &Actor,
        facts: EntryFacts<'_>,
        entry_id: AuditLogId,
    ) -> Result<AuditLogId, GovernanceError> {
        let entry = AuditEntry::new(
            facts,
            &actor.facts(),
            Stamp {
                now: (self.clock)(),
                entry_id,
            },
        );
        let params = entry.to_params().map_err(|e| self.store.decode(e))?;
        self.store
            .graph()
            .run(
                query(ACTOR_ENTRY_WRITE)
                    .param("actor", to_bolt(actor.params()))
                    .param("entry", to_bolt(params)),
            )
            .await
            .map_err(|e| self.store.error(e))?;
        Ok(entry.id)
    }
}

/// Checks presence and length, then scrubs.
pub fn checked_reason(
    operation: Operation,
    reason: Option<&str>,
) -> Result<Option<String>, GovernanceError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    match reason {
        None if definition(operation).reason_required() => Err(GovernanceError::Reason(format!(
            "a reason is required for {operation}"
        ))),
        None => Ok(None),
        Some(text) if text.chars().count() > MAX_REASON_CHARS => Err(GovernanceError::Reason(
            format!("at most {MAX_REASON_CHARS} characters"),
        )),
        Some(text) => Ok(Some(scrub(text))),
    }
}

fn noop_answer(operation: Operation, noop: &NoOp) -> Answer {
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

fn applied_answer(operation: Operation, plan: &Plan, entry: &AuditEntry) -> Answer {
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
fn idempotency_record(context: &Context, id: Option<String>, answer: &Answer) -> Option<Value> {
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

fn to_bolt(value: Value) -> neo4rs::BoltType {
    neo4rs::BoltType::try_from(value).unwrap_or(neo4rs::BoltType::Null(neo4rs::BoltNull))
}

async fn read_snapshot(
    store: &Store,
    txn: &mut Txn,
    targets: &Targets,
    idem: Option<&str>,
) -> Result<Snapshot, GovernanceError> {
    let mut ids = targets.ids.clone();
    ids.sort();
    ids.dedup();
    let rels: Vec<Value> = targets
        .rels
        .iter()
        .map(|(id, rel, out)| json!({"id": id, "type": rel.as_str(), "dir": if *out { "OUT" } else { "IN" }}))
        .collect();
    let mut stream = txn
        .execute(
            query(GOVERNED_READ)
                .param("ids", ids)
                .param("rels", to_bolt(Value::Array(rels)))
                .param("idem", idem.map(str::to_owned)),
        )
        .await
        .map_err(|e| store.error(e))?;
    let row = single_row(store, txn, &mut stream, "governed read").await?;
    let nodes: Vec<Value> = row.get("nodes").map_err(|e| store.decode(e))?;
    let rels: Vec<Value> = row.get("rels").map_err(|e| store.decode(e))?;
    let idem: Option<Value> = row.get("idem").map_err(|e| store.decode(e))?;
    Snapshot::from_rows(nodes, rels, idem).map_err(|e| store.record(StoreError::Decode(e)).into())
}

async fn write_plan(
    store: &Store,
    txn: &mut Txn,
    plan: &Plan,
    entry: &AuditEntry,
    actor: &Actor,
    snapshot: &Snapshot,
    idem: Value,
) -> Result<(), GovernanceError> {
    let effects = &plan.effects;
    let creates: Vec<Value> = effects
        .creates
        .iter()
        .map(|c| json!({"label": c.entity_type.label(), "props": c.props}))
        .collect();
    let updates: Vec<Value> = effects
        .updates
        .iter()
        .map(|u| json!({"id": u.id, "set": u.set}))
        .collect();
    let rel = |r: &plan::RelChange| json!({"type": r.rel.as_str(), "from": r.from, "to": r.to});
    let mut audits: Vec<String> = vec![plan.primary.id.clone()];
    audits.extend(plan.related.iter().map(|r| r.id.clone()));
    let unlock: Vec<String> = snapshot_ids(snapshot);
    let entry_params = entry.to_params().map_err(|e| store.decode(e))?;
    let mut stream = txn
        .execute(
            query(GOVERNED_WRITE)
                .param("creates", to_bolt(Value::Array(creates)))
                .param("updates", to_bolt(Value::Array(updates)))
                .param("unlock", unlock)
                .param(
                    "relAdds",
                    to_bolt(Value::Array(effects.rel_adds.iter().map(rel).collect())),
                )
                .param(
                    "relRemoves",
                    to_bolt(Value::Array(effects.rel_removes.iter().map(rel).collect())),
                )
                .param("actor", to_bolt(actor.params()))
                .param("entry", to_bolt(entry_params))
                .param("audits", audits.clone())
                .param("supersedes", plan.supersedes.clone())
                .param("idem", to_bolt(idem)),
        )
        .await
        .map_err(|e| store.error(e))?;
    let row = single_row(store, txn, &mut stream, "governed write").await?;
    let audited: i64 = row.get("audited").unwrap_or(-1);
    let superseded: i64 = row.get("superseded").unwrap_or(-1);
    let want_audited = i64::try_from(audits.len()).unwrap_or(i64::MAX);
    let want_superseded = i64::try_from(plan.supersedes.len()).unwrap_or(i64::MAX);
    if audited != want_audited || superseded != want_superseded {
        // Fail closed: an entry that does not link every touched entity is not written.
        return Err(store
            .record(StoreError::Decode(format!(
                "entry linked {audited}/{want_audited} entities and {superseded}/{want_superseded} superseded entries"
            )))
            .into());
    }
    Ok(())
}

/// The one row a statement returns; the stream is drained so the transaction's
/// connection is ready for the next statement.
async fn single_row(
    store: &Store,
    txn: &mut Txn,
    stream: &mut neo4rs::RowStream,
    what: &str,
) -> Result<neo4rs::Row, StoreError> {
    let row = stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?
        .ok_or_else(|| store.record(StoreError::Decode(format!("{what} returned no row"))))?;
    while stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?
        .is_some()
    {}
    Ok(row)
}

/// `prevHashes` of the entry `plan` writes: every audited entity's chain head, read
/// under lock. Entities the command only discovered through a relationship (a
/// system's previous owner) are locked and read now.
async fn chain_heads(
    store: &Store,
    txn: &mut Txn,
    snapshot: &mut Snapshot,
    plan: &Plan,
) -> Result<Vec<String>, GovernanceError> {
    let created: Vec<&str> = plan
        .effects
        .creates
        .iter()
        .filter_map(|c| c.props.get("id").and_then(Value::as_str))
        .collect();
    let audited: Vec<&str> = std::iter::once(plan.primary.id.as_str())
        .chain(plan.related.iter().map(|r| r.id.as_str()))
        .collect();
    let unread: Vec<String> = audited
        .iter()
        .filter(|id| snapshot.node(id).is_none() && !created.contains(id))
        .map(|id| (*id).to_owned())
        .collect();
    if !unread.is_empty() {
        let extra = Targets {
            ids: unread,
            rels: Vec::new(),
        };
        snapshot.absorb(read_snapshot(store, txn, &extra, None).await?);
    }
    Ok(crate::audit::hash::prev_hashes(audited.iter().map(|id| {
        (*id, snapshot.node(id).and_then(|n| n.str("auditHead")))
    })))
}

fn snapshot_ids(snapshot: &Snapshot) -> Vec<String> {
    snapshot.ids().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_required_bounded_and_scrubbed() {
        assert!(matches!(
            checked_reason(Operation::DenyLicense, None),
            Err(GovernanceError::Reason(_))
        ));
        assert!(matches!(
            checked_reason(Operation::DenyLicense, Some("   ")),
            Err(GovernanceError::Reason(_))
        ));
        assert!(matches!(
            checked_reason(Operation::AllowLicense, None),
            Ok(None)
        ));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert!(matches!(
            checked_reason(Operation::AllowLicense, Some(&long)),
            Err(GovernanceError::Reason(_))
        ));
        let scrubbed = checked_reason(Operation::DenyLicense, Some("per bob@example.com"));
        assert_eq!(scrubbed.ok().flatten().as_deref(), Some("per [REDACTED]"));
    }
}
