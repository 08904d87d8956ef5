//! Teams, their responsibility areas and members.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Decide, conflict, entity, entity_id, joinable, live, props, tombstone};
use crate::domain::text::natural_key;
use crate::domain::{EntityType, Operation, RelType, TeamId, UserId};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Snapshot, Targets};

/// Create a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTeam {
    /// New id.
    pub id: TeamId,
    /// Unique name.
    pub name: String,
    /// Responsibility areas (normalized: trimmed, sorted, unique).
    pub responsibility_areas: Vec<String>,
}

impl Decide for CreateTeam {
    fn targets(&self) -> Targets {
        Targets::default()
    }
    fn primary_id(&self) -> Option<String> {
        None
    }
    fn decide(&self, _: Operation, _: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let primary = EntityRef {
            entity_type: EntityType::Team,
            id: self.id.to_string(),
            label: self.name.clone(),
        };
        Ok(PlanBuilder::new(primary, 0)
            .create(props(&[
                ("id", json!(self.id)),
                ("name", json!(self.name)),
                ("responsibilityAreas", json!(self.responsibility_areas)),
            ]))
            .bookkeeping("nameKey", json!(natural_key(&self.name)))
            .build(""))
    }
}

/// Delete a team (tombstone). Refused while it has members, owns systems or has
/// constraints enforced for it: those must be moved first, each with its own entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeleteTeam {
    /// Team.
    pub id: TeamId,
}

impl Decide for DeleteTeam {
    fn targets(&self) -> Targets {
        Targets::default()
            .node(self.id)
            .incoming(self.id, RelType::MemberOf)
            .outgoing(self.id, RelType::Owns)
            .incoming(self.id, RelType::EnforcedFor)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, stamp: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let team = live(s, &id, EntityType::Team, "id")?;
        if !s.incoming(&id, RelType::MemberOf).is_empty() {
            return Err(conflict(
                "members",
                "remove every member before deleting the team",
            ));
        }
        if !s.outgoing(&id, RelType::Owns).is_empty() {
            return Err(conflict(
                "systems",
                "transfer the team's systems before deleting it",
            ));
        }
        if !s.incoming(&id, RelType::EnforcedFor).is_empty() {
            return Err(conflict(
                "constraints",
                "remove the team's constraints before deleting it",
            ));
        }
        // The name moves to `deletedName` so it can be used again; the tombstone keeps its id.
        Ok(
            tombstone(PlanBuilder::new(entity(team), team.version()), team, stamp)
                .status(Some("ACTIVE".into()), Some("DELETED".into()))
                .build(""),
        )
    }
}

/// Replace a team's responsibility areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeResponsibilityAreas {
    /// Team.
    pub id: TeamId,
    /// New areas (normalized).
    pub responsibility_areas: Vec<String>,
}

impl Decide for ChangeResponsibilityAreas {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let team = live(s, &self.id.to_string(), EntityType::Team, "id")?;
        Ok(PlanBuilder::new(entity(team), team.version())
            .set(
                team,
                "responsibilityAreas",
                json!(self.responsibility_areas),
            )
            .build("the team already has these responsibility areas"))
    }
}

/// ADD_TEAM_MEMBER / REMOVE_TEAM_MEMBER. The entry audits both the Team and the User.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeamMembership {
    /// Team.
    pub team: TeamId,
    /// User.
    pub user: UserId,
}

impl Decide for TeamMembership {
    fn targets(&self) -> Targets {
        // The user's own MEMBER_OF list is short; the team's could be long.
        Targets::default()
            .node(self.team)
            .node(self.user.as_str())
            .outgoing(self.user.as_str(), RelType::MemberOf)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.team.to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let add = operation == Operation::AddTeamMember;
        let (team_id, user_id) = (self.team.to_string(), self.user.to_string());
        let team = live(s, &team_id, EntityType::Team, "teamId")?;
        let user = s
            .node(&user_id)
            .filter(|n| n.entity_type == EntityType::User);
        let is_member = s.outgoing(&user_id, RelType::MemberOf).contains(&team_id);
        let plan = PlanBuilder::new(entity(team), team.version())
            .related(entity_id(EntityType::User, &user_id));
        if add == is_member {
            let state = if is_member { "already" } else { "not" };
            return Ok(plan.build(format!("the user is {state} a member of this team")));
        }
        if add {
            joinable(user, &user_id, "userId")?;
            Ok(plan
                .add_rel(RelType::MemberOf, &user_id, &team_id)
                .set_delta("members", std::slice::from_ref(&user_id), &[])
                .touch(team)
                .build(""))
        } else {
            Ok(plan
                .remove_rel(RelType::MemberOf, &user_id, &team_id)
                .set_delta("members", &[], std::slice::from_ref(&user_id))
                .touch(team)
                .build(""))
        }
    }
}
