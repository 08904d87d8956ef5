//! Systems, their ownership and criticality, and technology stewardship.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, entity, entity_id, joinable, live, props, status_of};
use crate::domain::text::natural_key;
use crate::domain::{
    Criticality, EntityType, Operation, RelType, SystemId, TeamId, TechnologyId, UserId,
};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Snapshot, Targets};

/// Create a system, optionally with an owning team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateSystem {
    /// New id.
    pub id: SystemId,
    /// Unique name.
    pub name: String,
    /// Criticality.
    pub criticality: Option<Criticality>,
    /// Owning team.
    pub owner: Option<TeamId>,
}

impl Decide for CreateSystem {
    fn targets(&self) -> Targets {
        self.owner
            .map_or_else(Targets::default, |team| Targets::default().node(team))
    }
    fn primary_id(&self) -> Option<String> {
        None
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let primary = EntityRef {
            entity_type: EntityType::System,
            id: id.clone(),
            label: self.name.clone(),
        };
        let mut plan = PlanBuilder::new(primary, 0)
            .create(props(&[
                ("id", json!(id)),
                ("name", json!(self.name)),
                ("criticality", json!(self.criticality)),
            ]))
            .bookkeeping("nameKey", json!(natural_key(&self.name)));
        if let Some(owner) = self.owner {
            let team = live(s, &owner.to_string(), EntityType::Team, "ownerTeamId")?;
            plan = plan
                .add_rel(RelType::Owns, &team.id, &id)
                .record("owner", &Value::Null, &json!(team.id))
                .related(entity(team));
        }
        Ok(plan.build(""))
    }
}

/// Assign or transfer a system's owning team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignSystemOwner {
    /// System.
    pub id: SystemId,
    /// New owner.
    pub team: TeamId,
}

impl Decide for AssignSystemOwner {
    fn targets(&self) -> Targets {
        Targets::default()
            .node(self.id)
            .node(self.team)
            .incoming(self.id, RelType::Owns)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let (id, team_id) = (self.id.to_string(), self.team.to_string());
        let system = live(s, &id, EntityType::System, "id")?;
        let team = live(s, &team_id, EntityType::Team, "teamId")?;
        let owners = s.incoming(&id, RelType::Owns);
        let mut plan = PlanBuilder::new(entity(system), system.version()).related(entity(team));
        if owners.len() == 1 && owners[0] == team_id {
            return Ok(plan.build("the team already owns this system"));
        }
        for old in owners {
            plan = plan
                .remove_rel(RelType::Owns, old, &id)
                .related(entity_id(EntityType::Team, old));
        }
        let old = owners.first().map_or(Value::Null, |o| json!(o));
        Ok(plan
            .add_rel(RelType::Owns, &team_id, &id)
            .record("owner", &old, &json!(team_id))
            .touch(system)
            .status(old.as_str().map(str::to_owned), Some(team_id.clone()))
            .build(""))
    }
}

/// Change a system's criticality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeCriticality {
    /// System.
    pub id: SystemId,
    /// New criticality.
    pub criticality: Criticality,
}

impl Decide for ChangeCriticality {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let system = live(s, &self.id.to_string(), EntityType::System, "id")?;
        Ok(PlanBuilder::new(entity(system), system.version())
            .set(system, "criticality", json!(self.criticality))
            .status(
                status_of(system, "criticality"),
                Some(self.criticality.to_string()),
            )
            .build(format!("the criticality is already {}", self.criticality)))
    }
}

/// Assign (ASSIGN_STEWARD, with a user) or remove (REMOVE_STEWARD, without one) a
/// technology's steward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetSteward {
    /// Technology.
    pub technology: TechnologyId,
    /// New steward, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
}

impl Decide for SetSteward {
    fn targets(&self) -> Targets {
        let t = Targets::default()
            .node(self.technology)
            .incoming(self.technology, RelType::StewardOf);
        match &self.user {
            Some(user) => t.node(user.as_str()),
            None => t,
        }
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.technology.to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        if self.user.is_some() != (operation == Operation::AssignSteward) {
            return Err(Rejection::Invalid {
                field: "userId",
                message: format!("{operation} takes a user exactly when it assigns one"),
            });
        }
        let id = self.technology.to_string();
        let tech = live(s, &id, EntityType::Technology, "id")?;
        let current = s.incoming(&id, RelType::StewardOf);
        let mut plan = PlanBuilder::new(entity(tech), tech.version());
        let new = self.user.as_ref().map(ToString::to_string);
        if current.len() <= 1 && current.first() == new.as_ref() {
            return Ok(plan.build(match &new {
                Some(_) => "the user is already the steward",
                None => "the technology has no steward",
            }));
        }
        for old in current {
            plan = plan
                .remove_rel(RelType::StewardOf, old, &id)
                .related(entity_id(EntityType::User, old));
        }
        if let Some(user_id) = &new {
            joinable(
                s.node(user_id)
                    .filter(|n| n.entity_type == EntityType::User),
                user_id,
                "userId",
            )?;
            plan = plan
                .add_rel(RelType::StewardOf, user_id, &id)
                .related(entity_id(EntityType::User, user_id));
        }
        let old = current.first().map_or(Value::Null, |o| json!(o));
        Ok(plan
            .record("steward", &old, &json!(new))
            .touch(tech)
            .build(""))
    }
}
