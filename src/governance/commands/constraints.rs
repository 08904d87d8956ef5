//! Version constraints: create, change range, lifecycle, deletion, enforcement per team.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Decide, conflict, entity, label_of, live, props, status_of};
use crate::domain::{
    ConstraintStatus, EntityType, Operation, RelType, TeamId, TechnologyId, VersionConstraintId,
};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Snapshot, Targets};

/// Create a DRAFT constraint with a semver range on one technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateConstraint {
    /// New constraint's id.
    pub id: VersionConstraintId,
    /// Technology it constrains.
    pub technology: TechnologyId,
    /// Semver range (normalized text).
    pub range: String,
}

impl Decide for CreateConstraint {
    fn targets(&self) -> Targets {
        Targets::default().node(self.technology)
    }
    fn primary_id(&self) -> Option<String> {
        None
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let tech = live(
            s,
            &self.technology.to_string(),
            EntityType::Technology,
            "technologyId",
        )?;
        if tech.str("lifecycle") == Some("RETIRED") {
            return Err(conflict("technologyId", "the technology is retired"));
        }
        let id = self.id.to_string();
        let range = self.range.clone();
        let primary = EntityRef {
            entity_type: EntityType::VersionConstraint,
            id: id.clone(),
            label: format!("{} {range}", label_of(tech)),
        };
        Ok(PlanBuilder::new(primary, 0)
            .create(props(&[
                ("id", json!(id)),
                ("technologyId", json!(tech.id)),
                ("technologyName", json!(label_of(tech))),
                ("range", json!(range)),
                ("status", json!(ConstraintStatus::Draft)),
            ]))
            .add_rel(RelType::Constrains, &id, &tech.id)
            .related(entity(tech))
            .status(None, Some(ConstraintStatus::Draft.to_string()))
            .build(""))
    }
}

/// Change a constraint's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeConstraintRange {
    /// Constraint.
    pub id: VersionConstraintId,
    /// New range (normalized text).
    pub range: String,
}

impl Decide for ChangeConstraintRange {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let c = live(s, &self.id.to_string(), EntityType::VersionConstraint, "id")?;
        if c.str("status") == Some(ConstraintStatus::Archived.as_str()) {
            return Err(conflict("status", "an ARCHIVED constraint cannot change"));
        }
        Ok(PlanBuilder::new(entity(c), c.version())
            .set(c, "range", json!(self.range))
            .build("the constraint already has this range"))
    }
}

/// ACTIVATE, DEACTIVATE or ARCHIVE a constraint (the operation says which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransitionConstraint {
    /// Constraint.
    pub id: VersionConstraintId,
}

/// The status a lifecycle operation leads to.
const fn target_status(operation: Operation) -> ConstraintStatus {
    match operation {
        Operation::Activate => ConstraintStatus::Active,
        Operation::Deactivate => ConstraintStatus::Inactive,
        _ => ConstraintStatus::Archived,
    }
}

impl Decide for TransitionConstraint {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let c = live(s, &self.id.to_string(), EntityType::VersionConstraint, "id")?;
        let current: ConstraintStatus = c
            .str("status")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| conflict("status", "the constraint has no valid status"))?;
        let target = target_status(operation);
        if current == target {
            return Ok(PlanBuilder::new(entity(c), c.version())
                .build(format!("the constraint is already {target}")));
        }
        let next = current.transition(operation).ok_or_else(|| {
            conflict(
                "status",
                format!("{operation} is not allowed from status {current}"),
            )
        })?;
        Ok(PlanBuilder::new(entity(c), c.version())
            .set(c, "status", json!(next))
            .status(Some(current.to_string()), Some(next.to_string()))
            .build(""))
    }
}

/// Delete a constraint: it stays as a tombstone so its history remains reachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteConstraint {
    /// Constraint.
    pub id: VersionConstraintId,
}

impl Decide for DeleteConstraint {
    fn targets(&self) -> Targets {
        Targets::default()
            .node(self.id)
            .outgoing(self.id, RelType::EnforcedFor)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, stamp: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let c = live(s, &id, EntityType::VersionConstraint, "id")?;
        if c.str("status") == Some(ConstraintStatus::Active.as_str()) {
            return Err(conflict(
                "status",
                "deactivate or archive an ACTIVE constraint before deleting it",
            ));
        }
        if !s.outgoing(&id, RelType::EnforcedFor).is_empty() {
            return Err(conflict(
                "enforcedFor",
                "remove the constraint from every team before deleting it",
            ));
        }
        Ok(PlanBuilder::new(entity(c), c.version())
            .set(c, "deleted", json!(true))
            .set_quietly(c, "deletedAt", json!(stamp.now.to_rfc3339()))
            .status(status_of(c, "status"), Some("DELETED".into()))
            .build(""))
    }
}

/// Enforce (APPLY_CONSTRAINT_TO_TEAM) or stop enforcing (REMOVE_CONSTRAINT_FROM_TEAM) a
/// constraint for a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConstraintEnforcement {
    /// Constraint.
    pub id: VersionConstraintId,
    /// Team.
    pub team: TeamId,
}

impl Decide for ConstraintEnforcement {
    fn targets(&self) -> Targets {
        Targets::default()
            .node(self.id)
            .node(self.team)
            .outgoing(self.id, RelType::EnforcedFor)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let (id, team_id) = (self.id.to_string(), self.team.to_string());
        let c = live(s, &id, EntityType::VersionConstraint, "id")?;
        let team = live(s, &team_id, EntityType::Team, "teamId")?;
        let enforced = s.outgoing(&id, RelType::EnforcedFor).contains(&team_id);
        let apply = operation == Operation::ApplyConstraintToTeam;
        let plan = PlanBuilder::new(entity(c), c.version()).related(entity(team));
        if apply == enforced {
            let state = if enforced { "already" } else { "not" };
            return Ok(plan.build(format!("the constraint is {state} enforced for this team")));
        }
        if apply {
            if c.str("status") == Some(ConstraintStatus::Archived.as_str()) {
                return Err(conflict(
                    "status",
                    "an ARCHIVED constraint cannot be applied",
                ));
            }
            Ok(plan
                .add_rel(RelType::EnforcedFor, &id, &team_id)
                .set_delta("enforcedFor", std::slice::from_ref(&team_id), &[])
                .touch(c)
                .build(""))
        } else {
            Ok(plan
                .remove_rel(RelType::EnforcedFor, &id, &team_id)
                .set_delta("enforcedFor", &[], std::slice::from_ref(&team_id))
                .touch(c)
                .build(""))
        }
    }
}
