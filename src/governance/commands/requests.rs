//! Change requests. A command whose policy needs approval does not run when asked
//! for: it waits, as its exact canonical JSON and digest, in a `ChangeRequest` with
//! the versions of the entities it would change. People other than the requester who
//! hold the policy's role approve it; the last required approval runs the stored
//! command in the same transaction, as the requester's change, naming the approvers.
//! If a target moved since the request, or the command no longer applies, the request
//! fails and nothing runs. Pure decisions; the governor runs them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, conflict, entity, entity_id, live, props, status_of};
use crate::audit::ActorFacts;
use crate::audit::hash::canonical_timestamp;
use crate::domain::{ChangeRequestId, EntityType, Operation, RequestState, Role, Source};
use crate::governance::Stamp;
use crate::governance::command::Command;
use crate::governance::plan::{Decision, EntityRef, Plan, PlanBuilder, Rejection};
use crate::governance::policy::ApprovalPolicy;
use crate::governance::snapshot::{Caller, Node, Snapshot, Targets};

/// Approve, reject, withdraw or expire a change request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeAction {
    /// The request.
    pub id: ChangeRequestId,
}

/// Who asked for a change, as the entry of the executed change records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// Internal user id.
    pub id: String,
    /// Roles when they asked.
    pub roles: Vec<Role>,
    /// Source when they asked.
    pub source: Source,
    /// Authentication method when they asked.
    pub auth_method: String,
}

impl From<&ActorFacts> for Requester {
    fn from(facts: &ActorFacts) -> Self {
        Self {
            id: facts.user_id.clone(),
            roles: facts.roles.clone(),
            source: facts.source,
            auth_method: facts.auth_method.clone(),
        }
    }
}

/// The last approval of a request: the approval's own plan, and what to run.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The request as read.
    pub request: Node,
    /// Every approver, this one included, sorted.
    pub approvers: Vec<String>,
    /// The stored command.
    pub command: Command,
}

impl Execution {
    /// The entities the stored command was asked for, with their versions then.
    #[must_use]
    pub fn targets(&self) -> Vec<(String, i64)> {
        let ids = strings(&self.request, "targetIds");
        let versions = self.request.get("targetVersions");
        ids.into_iter()
            .enumerate()
            .map(|(i, id)| (id, versions[i].as_i64().unwrap_or(-1)))
            .collect()
    }

    /// Who asked.
    #[must_use]
    pub fn requester(&self) -> Requester {
        let r = &self.request;
        Requester {
            id: r.str("requesterId").unwrap_or_default().to_owned(),
            roles: strings(r, "requesterRoles")
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            source: r
                .str("requesterSource")
                .and_then(|s| s.parse().ok())
                .unwrap_or(Source::Api),
            auth_method: r.str("requesterAuthMethod").unwrap_or_default().to_owned(),
        }
    }
}

/// How the last approval ends.
#[derive(Debug)]
pub enum Concluded {
    /// The command runs: the approval's plan (request EXECUTED) and the command's.
    Execute {
        /// The approval entry's plan.
        approval: Box<Plan>,
        /// The executed change's plan.
        executed: Box<Plan>,
    },
    /// Nothing runs: the approval's plan (request FAILED, with the reason).
    Fail(Box<Plan>),
}

/// What a caller asks for when the command's policy needs approval.
pub struct Ask<'a> {
    /// The new request's id.
    pub id: ChangeRequestId,
    /// The command, as it will run.
    pub command: &'a Command,
    /// What the command would do now (its targets are the entities it changes).
    pub inner: &'a Plan,
    /// The state the command was decided from (for the targets' versions).
    pub snapshot: &'a Snapshot,
    /// Who asks.
    pub requester: &'a Requester,
    /// The policy the request must satisfy.
    pub policy: ApprovalPolicy,
    /// The policy version in force.
    pub policy_version: &'a str,
    /// Evidence references (JSON text), if any.
    pub evidence: Option<String>,
    /// The requester's (scrubbed) reason.
    pub reason: Option<String>,
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// Break-glass: the command runs now, without approvals, and awaits review.
    pub break_glass: bool,
    /// The id the executed change's entry will have (break-glass only).
    pub executed_entry_id: Option<String>,
}

/// The recorded version of a target the request did not read.
const NOT_READ: i64 = -1;

/// `reviewState` of a break-glass request nobody has reviewed yet.
pub const REVIEW_PENDING: &str = "UNREVIEWED";
/// `reviewState` once reviewed.
pub const REVIEWED: &str = "REVIEWED";

fn strings(node: &Node, key: &str) -> Vec<String> {
    node.get(key)
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The entities a plan changes that exist already (those it creates have no version).
fn existing_targets(plan: &Plan) -> Vec<EntityRef> {
    let created: Vec<&str> = plan
        .effects
        .creates
        .iter()
        .filter_map(|c| c.props.get("id").and_then(Value::as_str))
        .collect();
    std::iter::once(&plan.primary)
        .chain(&plan.related)
        .filter(|e| !created.contains(&e.id.as_str()))
        .cloned()
        .collect()
}

fn targets_of(node: &Node) -> Vec<EntityRef> {
    strings(node, "targetIds")
        .iter()
        .zip(strings(node, "targetTypes"))
        .filter_map(|(id, t)| t.parse().ok().map(|t| entity_id(t, id)))
        .collect()
}

/// The plan of `REQUEST_CHANGE`: a new PENDING request holding the command, chained
/// on the request and on every entity the command would change.
pub fn request_plan(ask: &Ask<'_>, stamp: &Stamp) -> Result<Plan, serde_json::Error> {
    let targets = existing_targets(ask.inner);
    let operation = ask.command.operation();
    let command = String::from_utf8(ask.command.canonical_json()?).unwrap_or_default();
    let primary = EntityRef {
        entity_type: EntityType::ChangeRequest,
        id: ask.id.to_string(),
        label: operation.as_str().to_owned(),
    };
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    let types: Vec<&str> = targets.iter().map(|t| t.entity_type.as_str()).collect();
    let versions: Vec<i64> = targets
        .iter()
        // An entity the command relates without reading it (the far end of a
        // relationship it removes) has no version here: -1, and the entity that holds
        // the relationship carries the check.
        .map(|t| ask.snapshot.node(&t.id).map_or(NOT_READ, Node::version))
        .collect();
    let state = if ask.break_glass {
        RequestState::Executed
    } else {
        RequestState::Pending
    };
    let glass = |v: Value| if ask.break_glass { v } else { Value::Null };
    let mut builder = PlanBuilder::new(primary, 0)
        .create(props(&[
            ("id", json!(ask.id)),
            ("state", json!(state)),
            ("operation", json!(operation)),
            ("commandDigest", json!(ask.command.digest()?)),
            ("targetIds", json!(ids)),
            ("approvalsRequired", json!(ask.policy.approvals)),
            ("approverRole", json!(ask.policy.role)),
            ("expiresAt", json!(canonical_timestamp(ask.expires_at))),
            ("evidence", json!(ask.evidence)),
            ("breakGlass", glass(json!(true))),
            ("reviewState", glass(json!(REVIEW_PENDING))),
        ]))
        .bookkeeping("command", json!(command))
        .bookkeeping("targetTypes", json!(types))
        .bookkeeping("targetVersions", json!(versions))
        .bookkeeping("approverIds", json!(Vec::<String>::new()))
        .bookkeeping("requesterId", json!(ask.requester.id))
        .bookkeeping("requesterRoles", json!(ask.requester.roles))
        .bookkeeping("requesterSource", json!(ask.requester.source))
        .bookkeeping("requesterAuthMethod", json!(ask.requester.auth_method))
        .bookkeeping("policyVersion", json!(ask.policy_version))
        .bookkeeping("requestedAt", json!(canonical_timestamp(stamp.now)))
        .bookkeeping("reason", json!(ask.reason))
        .status(None, Some(state.as_str().to_owned()));
    if ask.break_glass {
        builder = builder.bookkeeping("executedEntryId", json!(ask.executed_entry_id));
    }
    for target in targets {
        builder = builder.related(target);
    }
    match builder.build("") {
        Decision::Apply(plan) => Ok(*plan),
        Decision::NoOp(_) | Decision::Execute(_) => unreachable!("a create always applies"),
    }
}

impl Decide for ChangeAction {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(
        &self,
        operation: Operation,
        s: &Snapshot,
        stamp: &Stamp,
    ) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let request = live(s, &id, EntityType::ChangeRequest, "id")?;
        let state = status_of(request, "state").unwrap_or_default();
        let pending = state == RequestState::Pending.as_str();
        let expired = request
            .str("expiresAt")
            .is_some_and(|at| at <= canonical_timestamp(stamp.now).as_str());
        if operation == Operation::ReviewBreakGlass {
            return review(request, s.caller.as_ref(), stamp);
        }
        if operation == Operation::ExpireChange {
            if !pending || !expired {
                return Ok(
                    PlanBuilder::new(entity(request), request.version()).build(format!(
                        "the request is {state} and expires at {}",
                        request.get("expiresAt")
                    )),
                );
            }
            return Ok(end(request, RequestState::Expired, None));
        }
        if !pending {
            return Err(conflict(
                "state",
                format!("the request is {state}; only a PENDING request can be acted on"),
            ));
        }
        if expired {
            return Err(conflict(
                "expiresAt",
                format!(
                    "the request expired at {}",
                    request.str("expiresAt").unwrap_or_default()
                ),
            ));
        }
        let caller = s.caller.as_ref().ok_or_else(|| Rejection::Forbidden {
            message: "acting on a change request needs a caller".into(),
        })?;
        let requester = request.str("requesterId").unwrap_or_default();
        match operation {
            Operation::WithdrawChange => {
                if caller.id != requester {
                    return Err(Rejection::Forbidden {
                        message: "only the requester can withdraw a request".into(),
                    });
                }
                Ok(end(request, RequestState::Withdrawn, None))
            }
            Operation::RejectChange | Operation::ApproveChange => {
                eligible(request, caller, requester)?;
                if operation == Operation::RejectChange {
                    return Ok(end(request, RequestState::Rejected, None));
                }
                approve(request, &caller.id)
            }
            other => Err(Rejection::Invalid {
                field: "operation",
                message: format!("{other} does not act on a change request"),
            }),
        }
    }
}

/// `REVIEW_BREAK_GLASS`: someone other than its actor records that they looked at a
/// break-glass change; its actor may break glass again.
fn review(request: &Node, caller: Option<&Caller>, stamp: &Stamp) -> Result<Decision, Rejection> {
    if request.get("breakGlass") != json!(true) {
        return Err(conflict(
            "breakGlass",
            "only a break-glass change is reviewed; this request went through approval",
        ));
    }
    if request.str("reviewState") != Some(REVIEW_PENDING) {
        return Err(conflict(
            "reviewState",
            format!(
                "the break-glass change was already reviewed at {}",
                request.str("reviewedAt").unwrap_or_default()
            ),
        ));
    }
    let caller = caller.ok_or_else(|| Rejection::Forbidden {
        message: "reviewing needs a caller".into(),
    })?;
    if request.str("requesterId") == Some(caller.id.as_str()) {
        return Err(Rejection::Forbidden {
            message: "the actor of a break-glass change cannot review it".into(),
        });
    }
    let mut builder = PlanBuilder::new(entity(request), request.version())
        .set(request, "reviewState", json!(REVIEWED))
        .set(request, "reviewedBy", json!(caller.id))
        .set_quietly(request, "reviewedAt", json!(canonical_timestamp(stamp.now)));
    for target in targets_of(request) {
        builder = builder.related(target);
    }
    Ok(builder.build(""))
}

/// Whether `caller` may approve or reject `request`: not its requester, and holding
/// the policy's role.
fn eligible(request: &Node, caller: &Caller, requester: &str) -> Result<(), Rejection> {
    if caller.id == requester {
        return Err(Rejection::Forbidden {
            message: "the requester cannot approve or reject their own request".into(),
        });
    }
    let role = request.str("approverRole").unwrap_or_default();
    if !caller.roles.iter().any(|r| r.as_str() == role) {
        return Err(Rejection::Forbidden {
            message: format!("approving or rejecting this request needs the role {role}"),
        });
    }
    Ok(())
}

fn approve(request: &Node, approver: &str) -> Result<Decision, Rejection> {
    let mut approvers: BTreeSet<String> = strings(request, "approverIds").into_iter().collect();
    if !approvers.insert(approver.to_owned()) {
        return Err(conflict(
            "approverIds",
            "you already approved this request; an approver counts once",
        ));
    }
    let required = request.get("approvalsRequired").as_u64().unwrap_or(1);
    let approvers: Vec<String> = approvers.into_iter().collect();
    if (approvers.len() as u64) < required {
        let mut builder = PlanBuilder::new(entity(request), request.version())
            .set(request, "approverIds", json!(approvers))
            .status(
                Some(RequestState::Pending.as_str().to_owned()),
                Some(RequestState::Pending.as_str().to_owned()),
            );
        for target in targets_of(request) {
            builder = builder.related(target);
        }
        return Ok(builder.build(""));
    }
    let command: Command = serde_json::from_str(request.str("command").unwrap_or_default())
        .map_err(|e| Rejection::Invalid {
            field: "command",
            message: format!("the stored command cannot be read: {e}"),
        })?;
    Ok(Decision::Execute(Box::new(Execution {
        request: request.clone(),
        approvers,
        command,
    })))
}

/// A request that ends (rejected, withdrawn, expired, failed) without running.
fn end(request: &Node, state: RequestState, failure: Option<String>) -> Decision {
    let previous = status_of(request, "state");
    let mut builder = PlanBuilder::new(entity(request), request.version())
        .set(request, "state", json!(state))
        .status(previous, Some(state.as_str().to_owned()));
    if let Some(failure) = failure {
        builder = builder.set(request, "failure", json!(failure));
    }
    for target in targets_of(request) {
        builder = builder.related(target);
    }
    builder.build("")
}

/// Ends the last approval, from the state of the request and of the command's
/// targets (read in the same transaction): the command runs if every target is at its
/// requested version and it still applies; otherwise the request fails.
pub fn conclude(execution: &Execution, s: &Snapshot, executed_stamp: &Stamp) -> Concluded {
    let request = &execution.request;
    let approval = |state: RequestState, failure: Option<String>, executed: Option<&str>| {
        let mut builder = PlanBuilder::new(entity(request), request.version())
            .set(request, "approverIds", json!(execution.approvers))
            .set(request, "state", json!(state))
            .status(
                Some(RequestState::Pending.as_str().to_owned()),
                Some(state.as_str().to_owned()),
            );
        if let Some(failure) = failure {
            builder = builder.set(request, "failure", json!(failure));
        }
        if let Some(entry) = executed {
            builder = builder.set_quietly(request, "executedEntryId", json!(entry));
        }
        for target in targets_of(request) {
            builder = builder.related(target);
        }
        match builder.build("") {
            Decision::Apply(plan) => plan,
            Decision::NoOp(_) | Decision::Execute(_) => unreachable!("the state changes"),
        }
    };
    let fail = |why: String| Concluded::Fail(approval(RequestState::Failed, Some(why), None));
    for (id, version) in execution.targets() {
        if version == NOT_READ {
            continue;
        }
        let now = s.node(&id).map_or(NOT_READ, Node::version);
        if now != version {
            return fail(format!(
                "{id} is at version {now}, not {version} as when the change was requested: nothing ran"
            ));
        }
    }
    let operation = execution.command.operation();
    match execution
        .command
        .decider()
        .decide(operation, s, executed_stamp)
    {
        Err(rejection) => fail(format!(
            "the change no longer applies ({rejection}): nothing ran"
        )),
        Ok(Decision::NoOp(noop)) => fail(format!(
            "the change no longer changes anything ({}): nothing ran",
            noop.detail
        )),
        Ok(Decision::Execute(_)) => fail("a change request cannot approve another".into()),
        Ok(Decision::Apply(mut executed)) => {
            let request_entity = entity(request);
            if !executed.related.contains(&request_entity) {
                executed.related.push(request_entity);
            }
            let entry = executed_stamp.entry_id.to_string();
            Concluded::Execute {
                approval: approval(RequestState::Executed, None, Some(&entry)),
                executed,
            }
        }
    }
}
