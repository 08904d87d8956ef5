//! Governed mutations. Each change runs in one Neo4j transaction of two statements:
//! `governed_read` write-locks and reads the nodes it touches; the command decides
//! (pure Rust, from that state); `governed_write` applies the effects and writes the
//! `AuditLog` entry with its edges and the idempotency record; then commit. Nothing
//! outside this module writes governed state or audit entries.

mod actor;
mod answer;
pub mod catalog;
pub mod command;
pub mod commands;
pub mod input;
pub mod plan;
pub mod policy;
mod prepare;
pub mod snapshot;
mod statements;
mod workflow;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use neo4rs::{Txn, query};
use serde_json::Value;

pub use crate::audit::Stamp;
use crate::audit::scrub::scrub;
use crate::audit::{ActorFacts, AuditEntry, EntryFacts, OperationFacts, RequestLink};
use crate::auth::Principal;
use crate::domain::{AuditLogId, EntityType, Operation, Outcome, Role};
use crate::store::{Store, StoreError};
pub use actor::{Actor, Identities};
pub use answer::{Answer, etag};
use answer::{applied_answer, idempotency_record, noop_answer};
pub use catalog::{Definition, definition};
pub use command::Command;
pub use plan::{Decision, EntityRef, NoOp, Plan, Rejection};
pub use policy::{ApprovalPolicy, Policies};
pub use snapshot::{Caller, Node, Snapshot, StoredResponse, Targets};
use statements::{
    Performer, chain_heads, inject_failure, read_snapshot, remember_noop, to_bolt, write_plan,
};

const ACTOR_ENTRY_WRITE: &str = include_str!("../../cypher/actor_entry_write.cypher");

/// Longest accepted `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 1000;

/// An `Idempotency-Key` with the hash of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The caller's key.
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
}

/// What a request is about, for an entry that changes nothing (a refusal or an
/// export): an entity, the route it took, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The entity (type and id) the request names, if it names one.
    pub entity: Option<(EntityType, String)>,
    /// `METHOD /route/{template}`, when the request came over HTTP.
    pub route: Option<String>,
}

impl Target {
    /// An entity of `entity_type` with `id`, if there is an id.
    #[must_use]
    pub fn entity(entity_type: EntityType, id: Option<String>) -> Self {
        Self {
            entity: id.map(|id| (entity_type, id)),
            route: None,
        }
    }

    /// The same target, reached through `route`.
    #[must_use]
    pub fn via(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
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
    /// Evidence references `[{kind, uri, digest}]` (validated JSON text), if sent.
    pub evidence: Option<String>,
    /// The caller breaks glass: an operation that needs approval runs at once.
    pub break_glass: bool,
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
            evidence: None,
            break_glass: false,
        }
    }
}

/// When a governed transaction asked for its write locks (sent the locked read) and
/// got them (the read answered), for the lock metrics of a committed change.
#[derive(Debug, Default)]
pub(super) struct LockTimes {
    asked: Option<Instant>,
    granted: Option<Instant>,
}

impl LockTimes {
    /// Records the wait and the hold (until now, the commit's answer) of a committed
    /// change; nothing when the transaction never read under lock.
    fn committed(&self, store: &Store) {
        if let (Some(asked), Some(granted)) = (self.asked, self.granted) {
            store.time_locks(granted - asked, granted.elapsed());
        }
    }
}

/// The clock entries are stamped with. Read inside the transaction, after the locks
/// are held, so one entity's entries are stamped in the order they commit.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

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
    /// The caller may not do this to this entity, whatever their roles (an entry
    /// with outcome DENIED was recorded).
    #[error("{0}")]
    Refused(String),
    /// Neo4j failed (after retries where that could help).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor's user id no longer belongs to its subject (the user was erased, or
    /// the subject was mapped anew): resolved again and retried once.
    #[error("the actor's identity changed while the request ran")]
    StaleActor,
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
    identities: Identities,
    denials: Arc<DefaultKeyedRateLimiter<String>>,
    max_attempts: u32,
    faults: Faults,
    clock: Clock,
    policies: Arc<Policies>,
    request_ttl: chrono::Duration,
}

/// Where the first half of a governed transaction ends.
pub(super) enum Step {
    /// Answered already (a replayed idempotent request, or a no-op), with whether
    /// anything was written.
    Answered((Answer, bool)),
    /// Decided: a plan to apply or a change request to execute.
    Decided(Box<Decided>),
}

/// What the first half of a governed transaction leaves for the second.
pub(super) struct Decided {
    /// The locked state it was decided from.
    pub snapshot: Snapshot,
    /// When, and the id the entry gets.
    pub stamp: Stamp,
    /// The idempotency record's id, if the request has a key.
    pub idem_id: Option<String>,
    /// `Apply` or `Execute`, never `NoOp`.
    pub decision: Decision,
}

impl Governor {
    /// A governor writing through `store`, recording at most `denials_per_minute`
    /// DENIED entries per caller.
    #[must_use]
    pub fn new(store: Store, denials_per_minute: NonZeroU32, max_attempts: u32) -> Self {
        Self {
            identities: Identities::new(store.clone()),
            store,
            denials: Arc::new(RateLimiter::keyed(Quota::per_minute(denials_per_minute))),
            max_attempts: max_attempts.max(1),
            faults: Faults::default(),
            clock: Arc::new(Utc::now),
            policies: Arc::new(Policies::defaults()),
            request_ttl: chrono::Duration::hours(72),
        }
    }

    /// The same governor under `policies`, with change requests lasting `ttl`.
    #[must_use]
    pub fn with_policies(mut self, policies: Policies, ttl: Duration) -> Self {
        self.policies = Arc::new(policies);
        self.request_ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self
    }

    /// The approval policies in force.
    #[must_use]
    pub fn policies(&self) -> &Policies {
        &self.policies
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

    /// Has Neo4j plan the statements every change runs, before the first one needs
    /// them (see `statements::warm_up`).
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        statements::warm_up(&self.store, &[ACTOR_ENTRY_WRITE, actor::USER_RESOLVE]).await
    }

    /// The actor a verified principal is (see [`Identities::resolve`]).
    pub async fn actor(&self, principal: Principal) -> Result<Actor, GovernanceError> {
        Ok(self.identities.resolve(principal).await?)
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
        let target = Target::entity(
            command
                .decider()
                .denied_type()
                .unwrap_or(definition(operation).denied_as),
            command.decider().primary_id(),
        );
        self.authorize(actor, operation, &target, context).await?;
        let prepared = self.prepare(command).await?;
        let command = prepared.as_ref().unwrap_or(command);
        if let Command::Rollback(rollback) = command
            && rollback.preview
        {
            return self.preview(command).await;
        }
        let reason = checked_reason(operation, context.reason.as_deref())?;
        let policy = self.policies.of(operation);
        if policy.is_some() && reason.is_none() {
            return Err(GovernanceError::Reason(format!(
                "a reason is required: {operation} needs approval, and approvers read why"
            )));
        }
        if context.break_glass {
            self.may_break_glass(
                actor,
                operation,
                policy,
                reason.as_deref(),
                &target,
                context,
            )
            .await?;
        }
        let mut actor = actor.clone();
        let mut refreshed = false;
        let mut attempt = 1;
        loop {
            match self
                .attempt(command, &actor, context, reason.as_deref(), policy)
                .await
            {
                Ok(answer) => {
                    if let Command::EraseUserPii(erase) = command {
                        // This replica forgets the subject now; others find out on
                        // their next write for it (the write checks the mapping).
                        self.identities.forget_user(&erase.id);
                    }
                    return Ok(answer);
                }
                Err(GovernanceError::Store(e))
                    if e.is_retryable() && attempt < self.max_attempts =>
                {
                    tracing::warn!(error = %e, attempt, "retrying governed change");
                    let backoff = 20u64 << attempt.min(6);
                    tokio::time::sleep(Duration::from_millis(backoff)).await;
                    attempt += 1;
                }
                Err(GovernanceError::StaleActor) if !refreshed => {
                    actor = self.refresh(&actor).await?;
                    refreshed = true;
                }
                Err(GovernanceError::Rejected(Rejection::Forbidden { message })) => {
                    self.record_denied(&actor, operation, &target, context)
                        .await;
                    return Err(GovernanceError::Refused(message));
                }
                other => return other,
            }
        }
    }

    /// Refuses a break-glass request that cannot be one: the operation needs no
    /// approval (422), the caller is no governance-admin (403 and a DENIED entry), or
    /// the reason is shorter than [`catalog::BREAK_GLASS_MIN_REASON`] (422). Whether the
    /// caller's previous break-glass change was reviewed is checked in the transaction.
    async fn may_break_glass(
        &self,
        actor: &Actor,
        operation: Operation,
        policy: Option<ApprovalPolicy>,
        reason: Option<&str>,
        target: &Target,
        context: &Context,
    ) -> Result<(), GovernanceError> {
        if policy.is_none() {
            return Err(Rejection::Invalid {
                field: "breakGlass",
                message: format!("{operation} needs no approval: there is no glass to break"),
            }
            .into());
        }
        if !actor.principal().has_any(catalog::BREAK_GLASS) {
            self.record_denied(actor, operation, target, context).await;
            return Err(GovernanceError::Forbidden {
                required: catalog::BREAK_GLASS,
            });
        }
        let length = reason.map_or(0, |r| r.chars().count());
        if length < catalog::BREAK_GLASS_MIN_REASON {
            return Err(GovernanceError::Reason(format!(
                "breaking glass needs a reason of at least {} characters: reviewers read why approval was skipped",
                catalog::BREAK_GLASS_MIN_REASON
            )));
        }
        Ok(())
    }

    /// Resolves `actor`'s subject anew, bypassing this replica's memory of it.
    async fn refresh(&self, actor: &Actor) -> Result<Actor, GovernanceError> {
        self.identities.forget(&actor.principal().subject);
        self.actor(actor.principal().clone()).await
    }

    async fn attempt(
        &self,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
        policy: Option<ApprovalPolicy>,
    ) -> Result<Answer, GovernanceError> {
        let store = &self.store;
        let mut txn = store.begin().await?;
        let mut locks = LockTimes::default();
        let result = match policy {
            Some(policy) => {
                self.request_in_transaction(
                    &mut txn, &mut locks, command, actor, context, reason, policy,
                )
                .await
            }
            None => {
                self.in_transaction(&mut txn, &mut locks, command, actor, context, reason)
                    .await
            }
        };
        match result {
            Ok((answer, true)) => {
                store.commit(txn).await?;
                locks.committed(store);
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
        locks: &mut LockTimes,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
    ) -> Result<(Answer, bool), GovernanceError> {
        let store = &self.store;
        let operation = command.operation();
        let Decided {
            mut snapshot,
            stamp,
            idem_id,
            decision,
        } = match self
            .read_and_decide(txn, locks, command, actor, context)
            .await?
        {
            Step::Answered(answer) => return Ok(answer),
            Step::Decided(decided) => *decided,
        };
        let plan = match decision {
            Decision::Execute(execution) => {
                return self
                    .conclude_in_transaction(
                        txn, *execution, snapshot, actor, context, reason, stamp, idem_id,
                    )
                    .await;
            }
            Decision::Apply(plan) => plan,
            Decision::NoOp(_) => return Err(store.decode("a no-op left undecided").into()),
        };
        let entry = self
            .entry(
                txn,
                &mut snapshot,
                &plan,
                EntryParts {
                    kind: definition(operation).facts(),
                    actor: &actor.facts(),
                    reason,
                    context,
                    stamp,
                    link: RequestLink {
                        evidence: context.evidence.clone(),
                        ..RequestLink::default()
                    },
                },
            )
            .await?;
        let answer = applied_answer(operation, &plan, &entry);
        let idem = idempotency_record(context, idem_id, &answer).unwrap_or(Value::Null);
        write_plan(store, txn, &plan, &entry, &Performer::caller(actor), idem).await?;
        if self.faults.fail_after_write {
            inject_failure(store, txn, &entry).await?;
        }
        Ok((answer, true))
    }

    /// The first half of every governed transaction: locks and reads the command's
    /// targets (and, for break-glass, the actor's user node), replays the stored answer
    /// of a repeated idempotent request, checks `If-Match`, refuses a break-glass while
    /// the actor's previous one awaits review, and decides. A no-op is answered (and
    /// remembered) here; what is left is a plan to apply or a request to execute.
    pub(super) async fn read_and_decide(
        &self,
        txn: &mut Txn,
        locks: &mut LockTimes,
        command: &Command,
        actor: &Actor,
        context: &Context,
    ) -> Result<Step, GovernanceError> {
        let store = &self.store;
        let idem_id = idempotency_id(actor, context);
        let decider = command.decider();
        let glass = context.break_glass;
        // Break-glass locks the actor too: one unreviewed break-glass per actor.
        let targets = if glass {
            decider.targets().node(actor.id())
        } else {
            decider.targets()
        };
        locks.asked = Some(Instant::now());
        let mut snapshot = read_snapshot(store, txn, &targets, idem_id.as_deref()).await?;
        locks.granted = Some(Instant::now());
        if let Some(replayed) = replay(store, &snapshot, context)? {
            return Ok(Step::Answered((replayed, false)));
        }
        check_if_match(&snapshot, context, decider.primary_id())?;
        if glass {
            workflow::unreviewed(store, txn, actor).await?;
        }
        snapshot.caller = Some(caller(actor));
        let stamp = self.stamp();
        let operation = command.operation();
        match decider.decide(operation, &snapshot, &stamp)? {
            Decision::NoOp(noop) => {
                let answer = noop_answer(operation, &noop);
                self.remember(txn, context, idem_id, answer)
                    .await
                    .map(Step::Answered)
            }
            decision => Ok(Step::Decided(Box::new(Decided {
                snapshot,
                stamp,
                idem_id,
                decision,
            }))),
        }
    }

    /// The clock reading and a fresh, time-ordered entry id.
    fn stamp(&self) -> Stamp {
        Stamp {
            now: (self.clock)(),
            entry_id: AuditLogId::from(uuid::Uuid::now_v7()),
        }
    }

    /// Answers a no-op. A keyed no-op still remembers its answer, so a retry of the
    /// same request after the state moved on replays "nothing changed" instead of
    /// acting. Nothing governed is written and no entry is made.
    async fn remember(
        &self,
        txn: &mut Txn,
        context: &Context,
        idem_id: Option<String>,
        answer: Answer,
    ) -> Result<(Answer, bool), GovernanceError> {
        let Some(record) = idempotency_record(context, idem_id, &answer) else {
            return Ok((answer, false));
        };
        remember_noop(&self.store, txn, record).await?;
        Ok((answer, true))
    }

    /// The entry `plan` writes, chained on every entity it audits.
    async fn entry(
        &self,
        txn: &mut Txn,
        snapshot: &mut Snapshot,
        plan: &Plan,
        parts: EntryParts<'_>,
    ) -> Result<AuditEntry, GovernanceError> {
        let related: Vec<String> = plan
            .related
            .iter()
            .map(|r| format!("{}:{}", r.entity_type, r.id))
            .collect();
        let prev = chain_heads(&self.store, txn, snapshot, plan).await?;
        Ok(AuditEntry::new(
            EntryFacts {
                outcome: Outcome::Succeeded,
                entity_type: Some(plan.primary.entity_type),
                entity_id: Some(&plan.primary.id),
                entity_label: &plan.primary.label,
                route: None,
                entity_version: Some(plan.version),
                previous_status: plan.previous_status.clone(),
                new_status: plan.new_status.clone(),
                changes: &plan.changes,
                related,
                reason: parts.reason.map(str::to_owned),
                correlation_id: &parts.context.correlation_id,
                kind: parts.kind,
            },
            parts.actor,
            parts.stamp,
        )
        .with_prev_hashes(prev)
        .with_policy_version(self.policies.version())
        .with_request(parts.link))
    }

    /// Refuses unless `actor` holds a role `operation` allows; a refusal records an
    /// entry with outcome DENIED (rate-limited per caller).
    pub async fn authorize(
        &self,
        actor: &Actor,
        operation: Operation,
        target: &Target,
        context: &Context,
    ) -> Result<(), GovernanceError> {
        let required = definition(operation).roles;
        if actor.principal().has_any(required) {
            return Ok(());
        }
        self.record_denied(actor, operation, target, context).await;
        Err(GovernanceError::Forbidden { required })
    }

    /// Writes an entry with outcome DENIED in a transaction of its own, naming what
    /// was attempted, unless the caller already used up its allowance. A failure is
    /// logged, never raised: the caller gets its 403 either way.
    pub async fn record_denied(
        &self,
        actor: &Actor,
        operation: Operation,
        target: &Target,
        context: &Context,
    ) {
        if self.denials.check_key(&actor.id().to_string()).is_err() {
            tracing::info!(operation = %operation, "denied attempt not recorded: rate limit");
            return;
        }
        let changes = std::collections::BTreeMap::new();
        let facts = EntryFacts {
            outcome: Outcome::Denied,
            entity_type: target.entity.as_ref().map(|(t, _)| *t),
            entity_id: target.entity.as_ref().map(|(_, id)| id.as_str()),
            entity_label: "",
            route: target.route.clone(),
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
        target: &Target,
        details: &std::collections::BTreeMap<String, Value>,
        entry_id: AuditLogId,
    ) -> Result<AuditLogId, GovernanceError> {
        self.authorize(actor, Operation::Export, target, context)
            .await?;
        self.write_actor_entry(
            actor,
            EntryFacts {
                outcome: Outcome::Succeeded,
                entity_type: target.entity.as_ref().map(|(t, _)| *t),
                entity_id: target.entity.as_ref().map(|(_, id)| id.as_str()),
                entity_label: "audit export",
                route: target.route.clone(),
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
        let stamp = Stamp {
            now: (self.clock)(),
            entry_id,
        };
        if self.try_actor_entry(actor, &facts, stamp).await? {
            return Ok(entry_id);
        }
        let actor = self.refresh(actor).await?;
        if self.try_actor_entry(&actor, &facts, stamp).await? {
            return Ok(entry_id);
        }
        Err(GovernanceError::StaleActor)
    }

    /// One attempt; `false` when the actor's user no longer has its subject.
    async fn try_actor_entry(
        &self,
        actor: &Actor,
        facts: &EntryFacts<'_>,
        stamp: Stamp,
    ) -> Result<bool, GovernanceError> {
        let entry = AuditEntry::new(facts.clone(), &actor.facts(), stamp);
        let params = entry.to_params().map_err(|e| self.store.decode(e))?;
        let statement = query(ACTOR_ENTRY_WRITE)
            .param("actor", to_bolt(actor.params()))
            .param("entry", to_bolt(params));
        let mut rows = self.store.write(statement).await?;
        Ok(rows
            .next()
            .await
            .map_err(|e| self.store.error(e))?
            .is_some())
    }
}

/// The facts of an entry besides its plan.
struct EntryParts<'a> {
    kind: OperationFacts,
    actor: &'a ActorFacts,
    reason: Option<&'a str>,
    context: &'a Context,
    stamp: Stamp,
    link: RequestLink,
}

/// The idempotency record id of the caller's key, if the request has one.
fn idempotency_id(actor: &Actor, context: &Context) -> Option<String> {
    context
        .idempotency
        .as_ref()
        .map(|i| format!("{}\u{1f}{}", actor.id(), i.key))
}

/// The stored answer of a repeated `Idempotency-Key`, if this is a repeat.
fn replay(
    store: &Store,
    snapshot: &Snapshot,
    context: &Context,
) -> Result<Option<Answer>, GovernanceError> {
    let (Some(stored), Some(idem)) = (&snapshot.idempotent, &context.idempotency) else {
        return Ok(None);
    };
    if stored.request_hash != idem.request_hash {
        return Err(GovernanceError::IdempotencyMismatch);
    }
    let body = serde_json::from_str(&stored.body).map_err(|e| store.decode(e))?;
    Ok(Some(Answer {
        status: u16::try_from(stored.status).unwrap_or(200),
        body,
        etag: stored.etag.clone(),
        replayed: true,
    }))
}

/// Refuses when `If-Match` names another version of the command's entity.
fn check_if_match(
    snapshot: &Snapshot,
    context: &Context,
    primary: Option<String>,
) -> Result<(), GovernanceError> {
    if let (Some(expected), Some(id)) = (context.if_match, primary)
        && let Some(node) = snapshot.node(&id)
        && node.version() != expected
    {
        return Err(GovernanceError::PreconditionFailed {
            current: node.version(),
        });
    }
    Ok(())
}

/// The caller as a decision sees it.
fn caller(actor: &Actor) -> Caller {
    Caller {
        id: actor.id().to_string(),
        roles: actor.principal().roles.iter().copied().collect(),
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
