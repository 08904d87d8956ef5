//! The approval workflow's transactions: asking for a change its policy makes wait,
//! the last approval that runs the stored command (two entries, one transaction), and
//! the expiry of requests past their time. The decisions themselves are pure
//! (`commands::requests`); this is where they meet Neo4j.

use neo4rs::{Txn, query};
use serde_json::{Value, json};

use super::answer::{applied_answer, idempotency_record};
use super::commands::{Ask, ChangeAction, Concluded, Execution, Requester, conclude, request_plan};
use super::statements::{Performer, read_snapshot, remember_noop, single_row, write_plan};
use super::{
    Actor, Answer, ApprovalPolicy, Command, Context, Decided, Decision, EntryParts,
    GovernanceError, Governor, LockTimes, Node, Plan, Rejection, Snapshot, Stamp, Step, definition,
};
use crate::audit::hash::canonical_timestamp;
use crate::audit::{ActorFacts, AuditEntry, RequestLink};
use crate::domain::{ChangeRequestId, EntityType, Operation, Severity};

const DUE: &str = include_str!("../../cypher/change_requests_due.cypher");
const UNREVIEWED: &str = include_str!("../../cypher/break_glass_unreviewed.cypher");

/// Most expired requests one sweep ends.
const SWEEP_BATCH: i64 = 100;

impl Governor {
    /// Records a `REQUEST_CHANGE`: the command is decided now (a request for something
    /// that would be refused or change nothing is answered at once), and stored with
    /// the versions of what it would change. Answers 202.
    ///
    /// Break-glass (`context.break_glass`, checked by the caller): the request is
    /// written EXECUTED and awaiting review, and the command runs in the same
    /// transaction as a `critical` change; refused while the actor's previous
    /// break-glass change is unreviewed (the actor's user node is locked first, so
    /// two at once cannot both pass).
    #[expect(
        clippy::too_many_arguments,
        reason = "the transaction, its lock times, the command and the request's context"
    )]
    pub(super) async fn request_in_transaction(
        &self,
        txn: &mut Txn,
        locks: &mut LockTimes,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
        policy: ApprovalPolicy,
    ) -> Result<(Answer, bool), GovernanceError> {
        let store = &self.store;
        let glass = context.break_glass;
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
        let Decision::Apply(inner) = decision else {
            return Err(cannot_wait(operation));
        };
        let facts = actor.facts();
        let executed_stamp = self.stamp_at(stamp.now);
        let ask = Ask {
            id: ChangeRequestId::new(),
            command,
            inner: &inner,
            snapshot: &snapshot,
            requester: &Requester::from(&facts),
            policy,
            policy_version: self.policies.version(),
            evidence: context.evidence.clone(),
            reason: reason.map(str::to_owned),
            expires_at: self.expiry(stamp.now),
            break_glass: glass,
            executed_entry_id: glass.then(|| executed_stamp.entry_id.to_string()),
        };
        let plan = request_plan(&ask, &stamp).map_err(|e| store.decode(e))?;
        let link = RequestLink {
            change_request_id: Some(ask.id.to_string()),
            command_digest: Some(command.digest().map_err(|e| store.decode(e))?),
            approver_ids: None,
            evidence: context.evidence.clone(),
            break_glass: glass,
        };
        let entry = self
            .entry(
                txn,
                &mut snapshot,
                &plan,
                EntryParts {
                    kind: definition(Operation::RequestChange).facts(),
                    actor: &facts,
                    reason,
                    context,
                    stamp,
                    link: link.clone(),
                },
            )
            .await?;
        if glass {
            return self
                .break_glass(
                    txn,
                    snapshot,
                    (plan, entry),
                    (*inner, executed_stamp),
                    (context, idem_id),
                    link,
                )
                .await
                .map(|answer| (answer, true));
        }
        let mut answer = applied_answer(Operation::RequestChange, &plan, &entry);
        answer.status = 202;
        // The ETag would be the request's, not the entity's the caller addressed.
        answer.etag = None;
        let idem = idempotency_record(context, idem_id, &answer).unwrap_or(Value::Null);
        write_plan(store, txn, &plan, &entry, &Performer::caller(actor), idem).await?;
        Ok((answer, true))
    }

    /// The last approval: reads (and locks) the stored command's targets too, then
    /// either fails the request or writes the approval and the executed change.
    #[expect(
        clippy::too_many_arguments,
        reason = "the state of the transaction the approval runs in"
    )]
    pub(super) async fn conclude_in_transaction(
        &self,
        txn: &mut Txn,
        execution: Execution,
        mut snapshot: Snapshot,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
        stamp: Stamp,
        idem_id: Option<String>,
    ) -> Result<(Answer, bool), GovernanceError> {
        let store = &self.store;
        let targets = execution.command.decider().targets();
        snapshot.absorb(read_snapshot(store, txn, &targets, None).await?);
        let executed_stamp = self.stamp_at(stamp.now);
        let request = &execution.request;
        let link = RequestLink {
            change_request_id: Some(request.id.clone()),
            command_digest: request.str("commandDigest").map(str::to_owned),
            approver_ids: None,
            evidence: None,
            break_glass: false,
        };
        let facts = actor.facts();
        let approval_parts = |link: RequestLink| EntryParts {
            kind: definition(Operation::ApproveChange).facts(),
            actor: &facts,
            reason,
            context,
            stamp,
            link,
        };
        let (approval, executed) = match conclude(&execution, &snapshot, &executed_stamp) {
            Concluded::Fail(approval) => (approval, None),
            Concluded::Execute { approval, executed } => (approval, Some(executed)),
        };
        let approval_entry = self
            .entry(
                txn,
                &mut snapshot,
                &approval,
                approval_parts(RequestLink {
                    evidence: context.evidence.clone(),
                    ..link.clone()
                }),
            )
            .await?;
        let mut answer = applied_answer(Operation::ApproveChange, &approval, &approval_entry);
        let idem = idempotency_record(context, idem_id, &answer).unwrap_or(Value::Null);
        write_plan(
            store,
            txn,
            &approval,
            &approval_entry,
            &Performer::caller(actor),
            idem,
        )
        .await?;
        let Some(executed) = executed else {
            return Ok((answer, true));
        };
        // The executed change chains on the approval just written.
        let hash = entry_hash(store, &approval_entry)?;
        for id in std::iter::once(&approval.primary)
            .chain(&approval.related)
            .map(|e| e.id.as_str())
        {
            snapshot.set_head(id, &hash);
        }
        let ran = Ran {
            execution: &execution,
            plan: &executed,
            context,
            stamp: executed_stamp,
            link,
        };
        answer.body["executed"] = self.write_executed(txn, &mut snapshot, ran).await?.body;
        Ok((answer, true))
    }

    /// A fresh entry id stamped at `now` (a second entry of the same change).
    fn stamp_at(&self, now: chrono::DateTime<chrono::Utc>) -> Stamp {
        Stamp {
            now,
            entry_id: self.stamp().entry_id,
        }
    }

    /// When a request made at `now` lapses.
    fn expiry(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now.checked_add_signed(self.request_ttl)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }

    /// The rest of a break-glass change, after its request (EXECUTED, unreviewed) was
    /// planned and its entry made: writes the request, then runs the command at once
    /// as a `critical` change executing that request. Answers as the command would,
    /// naming the request.
    async fn break_glass(
        &self,
        txn: &mut Txn,
        mut snapshot: Snapshot,
        (plan, entry): (Plan, AuditEntry),
        (mut executed, executed_stamp): (Plan, Stamp),
        (context, idem_id): (&Context, Option<String>),
        link: RequestLink,
    ) -> Result<Answer, GovernanceError> {
        let store = &self.store;
        let facts_actor = Performer {
            params: json!({"id": entry.user_id, "subject": null}),
            executes: None,
            approvers: &[],
        };
        write_plan(store, txn, &plan, &entry, &facts_actor, Value::Null).await?;
        let hash = entry_hash(store, &entry)?;
        for id in std::iter::once(&plan.primary)
            .chain(&plan.related)
            .map(|e| e.id.as_str())
        {
            snapshot.set_head(id, &hash);
        }
        let request = plan
            .effects
            .creates
            .first()
            .map(|c| Node {
                id: plan.primary.id.clone(),
                entity_type: EntityType::ChangeRequest,
                props: c.props.clone(),
            })
            .ok_or_else(|| store.decode("a break-glass request plan creates its request"))?;
        if !executed.related.contains(&plan.primary) {
            executed.related.push(plan.primary.clone());
        }
        let execution = Execution {
            request,
            approvers: Vec::new(),
            command: serde_json::from_str(
                plan.effects.creates[0]
                    .props
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            )
            .map_err(|e| store.decode(e))?,
        };
        let ran = Ran {
            execution: &execution,
            plan: &executed,
            context,
            stamp: executed_stamp,
            link,
        };
        let mut answer = self.write_executed(txn, &mut snapshot, ran).await?;
        answer.body["changeRequestId"] = json!(plan.primary.id);
        answer.body["breakGlass"] = json!(true);
        if let Some(record) = idempotency_record(context, idem_id, &answer) {
            remember_noop(store, txn, record).await?;
        }
        Ok(answer)
    }

    /// Writes the change an approved request runs, as its requester's, naming the
    /// request and its approvers (a break-glass change: none, and `critical`); returns
    /// its answer.
    async fn write_executed(
        &self,
        txn: &mut Txn,
        snapshot: &mut Snapshot,
        ran: Ran<'_>,
    ) -> Result<Answer, GovernanceError> {
        let Ran {
            execution,
            plan: executed,
            context,
            stamp: executed_stamp,
            link,
        } = ran;
        let request = &execution.request;
        let requester = execution.requester();
        let requester_facts = ActorFacts {
            user_id: requester.id.clone(),
            roles: requester.roles,
            source: requester.source,
            auth_method: requester.auth_method,
        };
        let operation = execution.command.operation();
        let break_glass = request.get("breakGlass") == json!(true);
        let mut kind = definition(operation).facts();
        if break_glass {
            kind.severity = Severity::Critical;
        }
        let executed_entry = self
            .entry(
                txn,
                snapshot,
                executed,
                EntryParts {
                    kind,
                    actor: &requester_facts,
                    reason: request.str("reason"),
                    context,
                    stamp: executed_stamp,
                    link: RequestLink {
                        approver_ids: (!break_glass).then(|| execution.approvers.clone()),
                        evidence: request.str("evidence").map(str::to_owned),
                        break_glass,
                        ..link
                    },
                },
            )
            .await?;
        let performer = Performer {
            params: json!({"id": requester.id, "subject": null}),
            executes: Some(&request.id),
            approvers: &execution.approvers,
        };
        write_plan(
            &self.store,
            txn,
            executed,
            &executed_entry,
            &performer,
            Value::Null,
        )
        .await?;
        Ok(applied_answer(operation, executed, &executed_entry))
    }

    /// Ends every PENDING change request past its time (up to a batch), each with its
    /// own `EXPIRE_CHANGE` entry by govtrail itself. Replicas may sweep at once: each
    /// expiry re-reads its request under lock, so a request expires exactly once.
    /// Returns how many this call ended.
    pub async fn expire_due(&self) -> Result<usize, GovernanceError> {
        let store = &self.store;
        let mut rows = store
            .write(
                query(DUE)
                    .param("now", canonical_timestamp((self.clock)()))
                    .param("limit", SWEEP_BATCH),
            )
            .await?;
        let mut due = Vec::new();
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let id: String = row.get("id").map_err(|e| store.decode(e))?;
            if let Ok(id) = ChangeRequestId::parse(&id) {
                due.push(id);
            }
        }
        let actor = Actor::system();
        let mut ended = 0;
        for id in due {
            let command = Command::ExpireChange(ChangeAction { id });
            let context = Context::new(format!("govtrail-expiry-{}", uuid::Uuid::now_v7()));
            let answer = self.run_as(&command, &actor, &context).await?;
            if answer.body["changed"] == json!(true) {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Runs a command govtrail issues itself (no authorization: no caller asked),
    /// retrying transient Neo4j errors.
    async fn run_as(
        &self,
        command: &Command,
        actor: &Actor,
        context: &Context,
    ) -> Result<Answer, GovernanceError> {
        let mut attempt = 1;
        loop {
            match self.attempt(command, actor, context, None, None).await {
                Err(GovernanceError::Store(e))
                    if e.is_retryable() && attempt < self.max_attempts =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// What an approved request runs, and in which context.
struct Ran<'a> {
    execution: &'a Execution,
    plan: &'a crate::governance::Plan,
    context: &'a Context,
    stamp: Stamp,
    link: RequestLink,
}

/// The content hash an entry is written with.
fn entry_hash(store: &crate::store::Store, entry: &AuditEntry) -> Result<String, GovernanceError> {
    let params = entry.to_params().map_err(|e| store.decode(e))?;
    Ok(params["hash"].as_str().unwrap_or_default().to_owned())
}

/// A change-request action cannot itself wait for approval.
fn cannot_wait(operation: Operation) -> GovernanceError {
    Rejection::Invalid {
        field: "operation",
        message: format!("{operation} cannot wait for approval"),
    }
    .into()
}

/// Refuses a break-glass change while the actor's previous one awaits review.
pub(super) async fn unreviewed(
    store: &crate::store::Store,
    txn: &mut Txn,
    actor: &Actor,
) -> Result<(), GovernanceError> {
    let mut rows = txn
        .execute(query(UNREVIEWED).param("requester", actor.id().to_string()))
        .await
        .map_err(|e| store.error(e))?;
    if let Some(row) = single_row(store, txn, &mut rows).await? {
        let id: String = row.get("id").map_err(|e| store.decode(e))?;
        return Err(Rejection::Forbidden {
            message: format!(
                "your break-glass change (change request {id}) has not been reviewed yet: \
                 an approver or a superuser reviews it before you may break glass again"
            ),
        }
        .into());
    }
    Ok(())
}
