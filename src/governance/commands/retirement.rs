//! Retirement of a technology or a system: in one change, the entity's stewardship or
//! ownership ends, what was decided only about it ends with it (a technology's ACTIVE
//! version constraints become INACTIVE and its team approvals are revoked), and the
//! entity becomes a tombstone whose history stays reachable. Each of those entities is
//! audited by the retirement's entry, which records their field changes under
//! `changes.affected`, so replaying any of them reaches its state after retirement.
//!
//! A retirement needs its retention checklist (in its catalog row) acknowledged,
//! item by item. A technology's constraints and approvals are found before the
//! change runs (the governor prepares the command), so a change request pins exactly
//! which ones it ends; if one was added or removed since, the retirement is refused.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, conflict, entity, entity_id, live, tombstone};
use crate::domain::{ConstraintStatus, EntityType, Operation, RelType, SystemId, TechnologyId};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, PlanBuilder, Rejection};
use crate::governance::snapshot::{Node, Snapshot, Targets};

/// One item of a retention checklist: a code the request acknowledges and what it
/// stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    /// What the request sends in `acknowledged`.
    pub code: &'static str,
    /// What acknowledging it says.
    pub text: &'static str,
}

/// What retiring a technology asks its requester to acknowledge.
pub const TECHNOLOGY_CHECKLIST: &[ChecklistItem] = &[
    ChecklistItem {
        code: "no-remaining-use",
        text: "No system still depends on the technology, or each remaining use has its own exemption",
    },
    ChecklistItem {
        code: "decisions-end",
        text: "Its ACTIVE version constraints become INACTIVE and every team approval of it is revoked",
    },
    ChecklistItem {
        code: "history-retained",
        text: "Its audit history, and that of its constraints and approvals, is kept and stays readable",
    },
];

/// What retiring a system asks its requester to acknowledge.
pub const SYSTEM_CHECKLIST: &[ChecklistItem] = &[
    ChecklistItem {
        code: "data-disposed",
        text: "Data the system holds has been migrated or disposed of under the retention policy",
    },
    ChecklistItem {
        code: "dependents-informed",
        text: "The owners of systems that depend on it have been told",
    },
    ChecklistItem {
        code: "history-retained",
        text: "Its audit history is kept and stays readable",
    },
];

/// Checks that `acknowledged` names every item of `items` and nothing else; answers
/// the sorted codes.
pub fn acknowledged(
    items: &[ChecklistItem],
    acknowledged: &[String],
) -> Result<Vec<String>, String> {
    let given: BTreeSet<&str> = acknowledged.iter().map(String::as_str).collect();
    if let Some(unknown) = given
        .iter()
        .find(|code| !items.iter().any(|i| i.code == **code))
    {
        return Err(format!(
            "`{unknown}` is not on this retirement's checklist (see /v1/catalog)"
        ));
    }
    let missing: Vec<&str> = items
        .iter()
        .map(|i| i.code)
        .filter(|code| !given.contains(code))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "acknowledge every item of the retention checklist; missing: {}",
            missing.join(", ")
        ));
    }
    Ok(given.into_iter().map(str::to_owned).collect())
}

/// What retiring a technology ends, found before the change runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetirementScope {
    /// Its version constraints (every status), sorted.
    pub constraints: Vec<String>,
    /// Its team approval records, sorted.
    pub approvals: Vec<String>,
}

/// Retire a technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetireTechnology {
    /// Technology.
    pub id: TechnologyId,
    /// The checklist codes acknowledged, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<String>,
    /// What it ends, once prepared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<RetirementScope>,
}

impl Decide for RetireTechnology {
    fn targets(&self) -> Targets {
        let mut targets = Targets::default()
            .node(self.id)
            .incoming(self.id, RelType::StewardOf)
            .incoming(self.id, RelType::Constrains)
            .incoming(self.id, RelType::ForTechnology);
        for id in self
            .scope
            .iter()
            .flat_map(|s| s.constraints.iter().chain(&s.approvals))
        {
            targets = targets.node(id);
        }
        targets
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, stamp: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let tech = live(s, &id, EntityType::Technology, "id")?;
        let scope = self
            .scope
            .as_ref()
            .ok_or_else(|| conflict("id", "the retirement was not prepared; send it again"))?;
        let moved = |rel: RelType, prepared: &[String]| {
            let now: BTreeSet<&String> = s.incoming(&id, rel).iter().collect();
            now != prepared.iter().collect()
        };
        if moved(RelType::Constrains, &scope.constraints)
            || moved(RelType::ForTechnology, &scope.approvals)
        {
            return Err(conflict(
                "id",
                "a constraint or team approval of this technology was added or removed since the retirement was prepared; send it again",
            ));
        }
        let mut plan = PlanBuilder::new(entity(tech), tech.version());
        for constraint in nodes(s, &scope.constraints) {
            if constraint.str("status") == Some(ConstraintStatus::Active.as_str()) {
                plan = plan
                    .set_affected(constraint, "status", json!(ConstraintStatus::Inactive))
                    .related(entity(constraint));
            }
        }
        for approval in nodes(s, &scope.approvals) {
            let granted = approval
                .get("approvedRanges")
                .as_array()
                .is_some_and(|r| !r.is_empty());
            if granted {
                plan = plan
                    .set_affected(approval, "approvedRanges", json!([]))
                    .related(entity(approval));
            }
        }
        let stewards = s.incoming(&id, RelType::StewardOf);
        for steward in stewards {
            plan = plan
                .remove_rel(RelType::StewardOf, steward, &id)
                .related(entity_id(EntityType::User, steward));
        }
        if let Some(old) = stewards.first() {
            plan = plan.record("steward", &json!(old), &Value::Null);
        }
        Ok(retired(plan, tech, stamp, &self.acknowledged)
            .set(tech, "lifecycle", json!("RETIRED"))
            .status(
                tech.str("lifecycle").map(str::to_owned),
                Some("RETIRED".into()),
            )
            .build(""))
    }
}

/// Retire a system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetireSystem {
    /// System.
    pub id: SystemId,
    /// The checklist codes acknowledged, sorted.
    pub acknowledged: Vec<String>,
}

impl Decide for RetireSystem {
    fn targets(&self) -> Targets {
        Targets::default()
            .node(self.id)
            .incoming(self.id, RelType::Owns)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, stamp: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let system = live(s, &id, EntityType::System, "id")?;
        let mut plan = PlanBuilder::new(entity(system), system.version());
        let owners = s.incoming(&id, RelType::Owns);
        for owner in owners {
            plan = plan
                .remove_rel(RelType::Owns, owner, &id)
                .related(entity_id(EntityType::Team, owner));
        }
        if let Some(old) = owners.first() {
            plan = plan.record("owner", &json!(old), &Value::Null);
        }
        Ok(retired(plan, system, stamp, &self.acknowledged)
            .status(Some("ACTIVE".into()), Some("RETIRED".into()))
            .build(""))
    }
}

/// The nodes of `ids` that the snapshot holds.
fn nodes<'a>(s: &'a Snapshot, ids: &'a [String]) -> impl Iterator<Item = &'a Node> {
    ids.iter().filter_map(|id| s.node(id))
}

/// Makes `node` a tombstone and records the acknowledged checklist.
fn retired(plan: PlanBuilder, node: &Node, stamp: &Stamp, acknowledged: &[String]) -> PlanBuilder {
    tombstone(plan, node, stamp).record("retentionChecklist", &Value::Null, &json!(acknowledged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_must_be_acknowledged_and_nothing_else() {
        let op = SYSTEM_CHECKLIST;
        let all: Vec<String> = SYSTEM_CHECKLIST.iter().map(|i| i.code.to_owned()).collect();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(acknowledged(op, &all), Ok(sorted));
        let missing = acknowledged(op, &all[..2]);
        assert!(
            missing
                .as_ref()
                .is_err_and(|e| e.contains("missing: history-retained")),
            "{missing:?}"
        );
        let mut extra = all.clone();
        extra.push("shrug".into());
        assert!(acknowledged(op, &extra).is_err_and(|e| e.contains("`shrug`")));
        assert!(acknowledged(TECHNOLOGY_CHECKLIST, &all).is_err());
    }
}
