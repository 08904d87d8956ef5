//! Every governed command: validated input, the nodes it locks, and its decision from
//! the locked state. Pure functions of (input, snapshot, stamp); no I/O. One file per
//! area; shared helpers here.

mod constraints;
mod licenses;
mod requests;
mod retirement;
mod rollback;
mod systems;
mod teams;
mod technologies;
mod users;

use serde_json::{Map, Value};

use super::Stamp;
use super::plan::{Decision, EntityRef, Rejection};
use super::snapshot::{Node, Snapshot, Targets};
use crate::domain::{EntityType, Operation};
pub use constraints::{
    ChangeConstraintRange, ConstraintEnforcement, CreateConstraint, DeleteConstraint,
    TransitionConstraint,
};
pub use licenses::{DecideLicense, SetLicenseWhitelist};
pub use requests::{Ask, ChangeAction, Concluded, Execution, Requester, conclude, request_plan};
pub use retirement::{
    ChecklistItem, RetireSystem, RetireTechnology, RetirementScope, SYSTEM_CHECKLIST,
    TECHNOLOGY_CHECKLIST, acknowledged,
};
pub use rollback::{ROLLBACK_TYPES, Resolved, Rollback, RollbackPoint};
pub use systems::{AssignSystemOwner, ChangeCriticality, CreateSystem, SetSteward};
pub use teams::{ChangeResponsibilityAreas, CreateTeam, DeleteTeam, TeamMembership};
pub use technologies::{
    Approval, ApprovalChange, ChangeRiskLevel, CreateTechnology, TeamApprovalChange,
};
pub use users::{EraseUserPii, RegisterUser};

/// What every governed command does: name the nodes it locks, the entity `If-Match`
/// applies to, and decide from the locked state. `operation` is the code it runs
/// under, for inputs shared by two directions of one change (allow and deny, add and
/// remove).
pub trait Decide: Send + Sync {
    /// Nodes to lock and relationships to read.
    fn targets(&self) -> Targets;
    /// The existing entity whose version `If-Match` is checked against (`None` for creates).
    fn primary_id(&self) -> Option<String>;
    /// The entity type a DENIED entry names, when the command says it rather than the
    /// catalog (a rollback names the entity it was asked to roll back).
    fn denied_type(&self) -> Option<EntityType> {
        None
    }
    /// Decides from the locked state.
    fn decide(
        &self,
        operation: Operation,
        snapshot: &Snapshot,
        stamp: &Stamp,
    ) -> Result<Decision, Rejection>;
}

/// The display label of a node as it is now (stored on entries as `entityLabel`).
/// A user's label is its id: display names are PII and live only on the `User` node.
#[must_use]
pub fn label_of(node: &Node) -> String {
    let s = |k: &str| node.str(k).unwrap_or_default().to_owned();
    match node.entity_type {
        EntityType::Team | EntityType::System | EntityType::Technology => node
            .str("name")
            .or(node.str("deletedName"))
            .unwrap_or_default()
            .to_owned(),
        EntityType::License => s("spdxId"),
        EntityType::LicensePolicy => "license policy".into(),
        EntityType::VersionConstraint => format!("{} {}", s("technologyName"), s("range")),
        EntityType::TeamApproval => format!("{} / {}", s("teamName"), s("technologyName")),
        EntityType::Version => format!("{} {}", s("technologyName"), s("semver")),
        EntityType::ChangeRequest => s("operation"),
        EntityType::User => node.id.clone(),
    }
}

pub(super) fn entity(node: &Node) -> EntityRef {
    EntityRef {
        entity_type: node.entity_type,
        id: node.id.clone(),
        label: label_of(node),
    }
}

pub(super) fn entity_id(entity_type: EntityType, id: &str) -> EntityRef {
    EntityRef {
        entity_type,
        id: id.to_owned(),
        label: String::new(),
    }
}

pub(super) fn live<'a>(
    s: &'a Snapshot,
    id: &str,
    entity_type: EntityType,
    field: &'static str,
) -> Result<&'a Node, Rejection> {
    s.live(id, entity_type)
        .ok_or_else(|| Rejection::not_found(entity_type, id, field))
}

pub(super) fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

pub(super) fn status_of(node: &Node, key: &str) -> Option<String> {
    node.str(key).map(str::to_owned)
}

/// Makes `node` a tombstone: `deleted`, its name moved to `deletedName` so it can be
/// used again (`nameKey` cleared), and when it happened.
pub(super) fn tombstone(
    plan: super::plan::PlanBuilder,
    node: &Node,
    stamp: &Stamp,
) -> super::plan::PlanBuilder {
    plan.set(node, "deleted", serde_json::json!(true))
        .set(node, "name", Value::Null)
        .set_quietly(node, "deletedName", node.get("name"))
        .set_quietly(node, "nameKey", Value::Null)
        .set_quietly(node, "deletedAt", serde_json::json!(stamp.now.to_rfc3339()))
}

pub(super) fn conflict(field: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::Conflict {
        field,
        message: message.into(),
    }
}

/// A user that may take a new role (join a team, steward a technology): it exists (it
/// signed in, or was registered) and its personal data was not erased.
pub(super) fn joinable(
    user: Option<&Node>,
    id: &str,
    field: &'static str,
) -> Result<(), Rejection> {
    match user {
        None => Err(Rejection::not_found(EntityType::User, id, field)),
        Some(u) if u.is_deleted() => Err(conflict(
            field,
            "the user's personal data was erased; it can take no new role",
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
