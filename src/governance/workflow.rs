//! The approval workflow's transactions: asking for a change its policy makes wait,
//! the last approval that runs the stored command (two entries, one transaction), and
//! the expiry of requests past their time. The decisions themselves are pure
//! (`commands::requests`); this is where they meet Neo4j.

use neo4rs::{Txn, query};
use serde_json::{Value, json};

use super::answer::{applied_answer, idempotency_record, noop_answer};
use super::commands::{Ask, ChangeAction, Concluded, Execution, Requester, conclude, request_plan};
use super::statements::{Performer, read_snapshot, write_plan};
use super::{
    Actor, Answer, ApprovalPolicy, Command, Context, Decision, EntryParts, GovernanceError,
    Governor, Rejection, Snapshot, Stamp, caller, check_if_match, definition, idempotency_id,
    replay,
};
use crate::audit::hash::canonical_timestamp;
use crate::audit::{ActorFacts, AuditEntry, RequestLink};
use crate::domain::{ChangeRequestId, Operation};

const DUE: &str = include_str!("../../cypher/change_requests_due.cypher");

/// Most expired requests one sweep ends.
const SWEEP_BATCH: i64 = 100;

impl Governor {
    /// Records a `REQUEST_CHANGE`: the command is decided now (a request for something
    /// that would be refused or change nothing is answered at once), and stored with
    /// the versions of what it would change. Answers 202.
    pub(super) async fn request_in_transaction(
        &self,
        txn: &mut Txn,
        command: &Command,
        actor: &Actor,
        context: &Context,
        reason: Option<&str>,
        policy: ApprovalPolicy,
    ) -> Result<(Answer, bool), GovernanceError> {
        let store = &self.store;
        let idem_id = idempotency_id(actor, context);
        let decider = command.decider();
        let mut snapshot =
            read_snapshot(store, txn, &decider.targets(), idem_id.as_deref()).await?;
        if let Some(replayed) = replay(store, &snapshot, context)? {
            return Ok((replayed, false));
        }
        check_if_match(&snapshot, context, decider.primary_id())?;
        snapshot.caller = Some(caller(actor));
        let stamp = self.stamp();
        let operation = command.operation();
        let inner = match decider.decide(operation, &snapshot, &stamp)? {
            Decision::NoOp(noop) => {
                let answer = noop_answer(operation, &noop);
                return self
                    .remember(txn, context, idem_id, answer, &snapshot)
                    .await;
            }
            Decision::Execute(_) => {
                return Err(Rejection::Invalid {
                    field: "operation",
                    message: format!("{operation} cannot wait for approval"),
                }
                .into());
            }
            Decision::Apply(plan) => plan,
        };
        let facts = actor.facts();
        let ask = Ask {
            id: ChangeRequestId::new(),
            command,
            inner: &inner,
            snapshot: &snapshot,
            requester: &Requester {
                id: facts.user_id.clone(),
                roles: facts.roles.clone(),
                source: facts.source,
                auth_method: facts.auth_method.clone(),
            },
            policy,
            policy_version: self.policies.version(),
            evidence: context.evidence.clone(),
            reason: reason.map(str::to_owned),
            expires_at: stamp
                .now
                .checked_add_signed(self.request_ttl)
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC),
        };
        let plan = request_plan(&ask, &stamp).map_err(|e| store.decode(e))?;
        let link = RequestLink {
            change_request_id: Some(ask.id.to_string()),
            command_digest: Some(command.digest().map_err(|e| store.decode(e))?),
            approver_ids: None,
            evidence: context.evidence.clone(),
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
                    link,
                },
            )
            .await?;
        let mut answer = applied_answer(Operation::RequestChange, &plan, &entry);
        answer.status = 202;
        // The ETag would be the request's, not the entity's the caller addressed.
        answer.etag = None;
        let idem = idempotency_record(context, idem_id, &answer).unwrap_or(Value::Null);
        write_plan(
            store,
            txn,
            &plan,
            &entry,
            &Performer::caller(actor),
            &snapshot,
            idem,
        )
        .await?;
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
        let executed_stamp = Stamp {
            now: stamp.now,
            entry_id: self.stamp().entry_id,
        };
        let request = &execution.request;
        let link = RequestLink {
            change_request_id: Some(request.id.clone()),
            command_digest: request.str("commandDigest").map(str::to_owned),
            approver_ids: None,
            evidence: None,
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
            &snapshot,
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
        answer.body["executed"] = self.write_executed(txn, &mut snapshot, ran).await?;
        Ok((answer, true))
    }

    /// Writes the change an approved request runs, as its requester's, naming the
    /// request and its approvers; returns its answer body.
    async fn write_executed(
        &self,
        txn: &mut Txn,
        snapshot: &mut Snapshot,
        ran: Ran<'_>,
    ) -> Result<Value, GovernanceError> {
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
        let executed_entry = self
            .entry(
                txn,
                snapshot,
                executed,
                EntryParts {
                    kind: definition(operation).facts(),
                    actor: &requester_facts,
                    reason: request.str("reason"),
                    context,
                    stamp: executed_stamp,
                    link: RequestLink {
                        approver_ids: Some(execution.approvers.clone()),
                        evidence: request.str("evidence").map(str::to_owned),
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
            snapshot,
            Value::Null,
        )
        .await?;
        Ok(applied_answer(operation, executed, &executed_entry).body)
    }

    /// Ends every PENDING change request past its time (up to a batch), each with its
    /// own `EXPIRE_CHANGE` entry by govtrail itself. Replicas may sweep at once: each
    /// expiry re-reads its request under lock, so a request expires exactly once.
    /// Returns how many this call ended.
    pub async fn expire_due(&self) -> Result<usize, GovernanceError> {
        let store = &self.store;
        let mut rows = store
            .graph()
            .execute(
                query(DUE)
                    .param("now", canonical_timestamp((self.clock)()))
                    .param("limit", SWEEP_BATCH),
            )
            .await
            .map_err(|e| store.error(e))?;
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
