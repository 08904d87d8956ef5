//! Technologies and their risk level, and team approvals (TIME category, EOL date, migration target, version approvals and revocations).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, entity, label_of, live, props, status_of};
use crate::domain::text::natural_key;
use crate::domain::{
    EntityType, Operation, RelType, RiskLevel, TeamId, TechnologyId, TimeCategory,
    team_approval_id, version_node_id,
};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Node, Snapshot, Targets};

/// Create a technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateTechnology {
    /// New id.
    pub id: TechnologyId,
    /// Unique name.
    pub name: String,
    /// Initial risk level.
    pub risk_level: Option<RiskLevel>,
}

impl Decide for CreateTechnology {
    fn targets(&self) -> Targets {
        Targets::default()
    }
    fn primary_id(&self) -> Option<String> {
        None
    }
    fn decide(&self, _: Operation, _: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let primary = EntityRef {
            entity_type: EntityType::Technology,
            id: self.id.to_string(),
            label: self.name.clone(),
        };
        Ok(PlanBuilder::new(primary, 0)
            .create(props(&[
                ("id", json!(self.id)),
                ("name", json!(self.name)),
                ("riskLevel", json!(self.risk_level)),
                ("lifecycle", json!("ACTIVE")),
            ]))
            .bookkeeping("nameKey", json!(natural_key(&self.name)))
            .status(None, Some("ACTIVE".into()))
            .build(""))
    }
}

/// Change a technology's risk level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeRiskLevel {
    /// Technology.
    pub id: TechnologyId,
    /// New level.
    pub risk_level: RiskLevel,
}

impl Decide for ChangeRiskLevel {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let t = live(s, &self.id.to_string(), EntityType::Technology, "id")?;
        Ok(PlanBuilder::new(entity(t), t.version())
            .set(t, "riskLevel", json!(self.risk_level))
            .status(status_of(t, "riskLevel"), Some(self.risk_level.to_string()))
            .build(format!("the risk level is already {}", self.risk_level)))
    }
}

/// A change to a team's approval record for a technology (TIME category, EOL date,
/// migration target, version approvals and revocations). Five operations share it;
/// each accepts only its own kind of change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TeamApprovalChange {
    /// Team.
    pub team: TeamId,
    /// Technology.
    pub technology: TechnologyId,
    /// What to change.
    pub change: ApprovalChange,
}

/// The parts of a team approval that change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalChange {
    /// SET_TIME_CATEGORY.
    TimeCategory(TimeCategory),
    /// SET_EOL_DATE (`None` clears it).
    EolDate(Option<NaiveDate>),
    /// SET_MIGRATION_TARGET (`None` clears it).
    MigrationTarget(Option<TechnologyId>),
    /// APPROVE_VERSION: an exact version or a range, normalized.
    Approve(Approval),
    /// REVOKE_APPROVAL of an approved version or range.
    Revoke(Approval),
}

/// An approved version or range, as stored (`=1.2.3` for an exact version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Approval {
    /// Normalized semver requirement text.
    pub range: String,
    /// The exact version, when the approval names one.
    pub exact: Option<semver::Version>,
}

impl Approval {
    /// An exact version.
    #[must_use]
    pub fn version(version: semver::Version) -> Self {
        Self {
            range: format!("={version}"),
            exact: Some(version),
        }
    }

    /// A range, in its normalized text form.
    #[must_use]
    pub fn range(range: String) -> Self {
        Self { range, exact: None }
    }
}

impl ApprovalChange {
    /// The operation that makes this kind of change.
    #[must_use]
    pub const fn operation(&self) -> Operation {
        match self {
            Self::TimeCategory(_) => Operation::SetTimeCategory,
            Self::EolDate(_) => Operation::SetEolDate,
            Self::MigrationTarget(_) => Operation::SetMigrationTarget,
            Self::Approve(_) => Operation::ApproveVersion,
            Self::Revoke(_) => Operation::RevokeApproval,
        }
    }
}

impl Decide for TeamApprovalChange {
    fn targets(&self) -> Targets {
        let mut t = Targets::default()
            .node(self.team)
            .node(self.technology)
            .node(team_approval_id(self.team, self.technology));
        match &self.change {
            ApprovalChange::MigrationTarget(Some(target)) => t = t.node(target),
            ApprovalChange::Approve(Approval { exact: Some(v), .. }) => {
                t = t.node(version_node_id(self.technology, v));
            }
            _ => {}
        }
        t
    }
    fn primary_id(&self) -> Option<String> {
        Some(team_approval_id(self.team, self.technology).to_string())
    }
    fn decide(
        &self,
        operation: Operation,
        s: &Snapshot,
        stamp: &Stamp,
    ) -> Result<Decision, Rejection> {
        if self.change.operation() != operation {
            return Err(Rejection::Invalid {
                field: "change",
                message: format!(
                    "{operation} cannot make a {} change",
                    self.change.operation()
                ),
            });
        }
        let team = live(s, &self.team.to_string(), EntityType::Team, "teamId")?;
        let tech = live(
            s,
            &self.technology.to_string(),
            EntityType::Technology,
            "technologyId",
        )?;
        let id = team_approval_id(self.team, self.technology).to_string();
        let existing = s.live(&id, EntityType::TeamApproval);
        let approvals = |key: &str| -> Vec<String> {
            existing
                .and_then(|n| n.props.get(key))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let ranges = approvals("approvedRanges");
        let entries = approvals("approvalEntryIds");

        // Clearing what was never set changes nothing, and creates nothing.
        if existing.is_none()
            && matches!(
                self.change,
                ApprovalChange::EolDate(None) | ApprovalChange::MigrationTarget(None)
            )
        {
            let primary = EntityRef {
                entity_type: EntityType::TeamApproval,
                id: id.clone(),
                label: format!("{} / {}", label_of(team), label_of(tech)),
            };
            return Ok(PlanBuilder::new(primary, 0).build("nothing is set for this team yet"));
        }
        // Revoking what was never approved is refused before anything is created.
        if let ApprovalChange::Revoke(approval) = &self.change
            && !ranges.contains(&approval.range)
        {
            return Err(Rejection::Invalid {
                field: "range",
                message: format!("{} is not approved for this team", approval.range),
            });
        }

        let primary = EntityRef {
            entity_type: EntityType::TeamApproval,
            id: id.clone(),
            label: format!("{} / {}", label_of(team), label_of(tech)),
        };
        let mut plan = PlanBuilder::new(primary, existing.map_or(0, Node::version))
            .related(entity(team))
            .related(entity(tech));
        // The approval node as it is, or as it will be once created.
        let blank;
        let node = if let Some(node) = existing {
            node
        } else {
            plan = plan
                .create_other(
                    EntityType::TeamApproval,
                    props(&[
                        ("id", json!(id)),
                        ("teamId", json!(team.id)),
                        ("technologyId", json!(tech.id)),
                        ("teamName", json!(label_of(team))),
                        ("technologyName", json!(label_of(tech))),
                    ]),
                )
                .add_rel(RelType::HasApproval, &team.id, &id)
                .add_rel(RelType::ForTechnology, &id, &tech.id);
            blank = Node {
                id: id.clone(),
                entity_type: EntityType::TeamApproval,
                props: props(&[("id", json!(id)), ("version", json!(0))]),
            };
            &blank
        };
        let plan = self.change_approval(plan, node, s, stamp, &ranges, &entries)?;
        Ok(plan.build("nothing to change"))
    }
}

impl TeamApprovalChange {
    /// Applies the requested change to the approval `node` (existing or about to be created).
    fn change_approval(
        &self,
        plan: PlanBuilder,
        node: &Node,
        s: &Snapshot,
        stamp: &Stamp,
        ranges: &[String],
        entries: &[String],
    ) -> Result<PlanBuilder, Rejection> {
        let tech = live(
            s,
            &self.technology.to_string(),
            EntityType::Technology,
            "technologyId",
        )?;
        Ok(match &self.change {
            ApprovalChange::TimeCategory(category) => plan
                .set(node, "timeCategory", json!(category))
                .status(status_of(node, "timeCategory"), Some(category.to_string())),
            ApprovalChange::EolDate(date) => plan
                .set(node, "eolDate", json!(date.map(|d| d.to_string())))
                .status(status_of(node, "eolDate"), date.map(|d| d.to_string())),
            ApprovalChange::MigrationTarget(target) => {
                let mut plan = plan;
                if let Some(target) = target {
                    if *target == self.technology {
                        return Err(Rejection::Invalid {
                            field: "technologyId",
                            message: "a technology cannot be its own migration target".into(),
                        });
                    }
                    let target_node = live(
                        s,
                        &target.to_string(),
                        EntityType::Technology,
                        "technologyId",
                    )?;
                    plan = plan.related(entity(target_node));
                }
                plan.set(node, "migrationTargetId", json!(target)).status(
                    status_of(node, "migrationTargetId"),
                    target.map(|t| t.to_string()),
                )
            }
            ApprovalChange::Approve(approval) => {
                if ranges.contains(&approval.range) {
                    return Ok(plan);
                }
                let mut plan = plan;
                if let Some(version) = &approval.exact {
                    let vid = version_node_id(self.technology, version).to_string();
                    if let Some(v) = s.node(&vid) {
                        plan = plan.related(entity(v));
                    } else {
                        plan = plan
                            .create_other(
                                EntityType::Version,
                                props(&[
                                    ("id", json!(vid)),
                                    ("technologyId", json!(tech.id)),
                                    ("technologyName", json!(label_of(tech))),
                                    ("semver", json!(version.to_string())),
                                ]),
                            )
                            .add_rel(RelType::HasVersion, &tech.id, &vid)
                            .related(EntityRef {
                                entity_type: EntityType::Version,
                                id: vid,
                                label: format!("{} {version}", label_of(tech)),
                            });
                    }
                }
                let mut new_ranges = ranges.to_vec();
                new_ranges.push(approval.range.clone());
                let mut new_entries = entries.to_vec();
                new_entries.push(stamp.entry_id.to_string());
                plan.set(node, "approvedRanges", json!(new_ranges))
                    .set_quietly(node, "approvalEntryIds", json!(new_entries))
                    .status(None, Some(format!("APPROVED {}", approval.range)))
            }
            ApprovalChange::Revoke(approval) => {
                let index = ranges
                    .iter()
                    .position(|r| *r == approval.range)
                    .unwrap_or(0);
                let mut new_ranges = ranges.to_vec();
                new_ranges.remove(index);
                let mut new_entries = entries.to_vec();
                let superseded = if index < new_entries.len() {
                    vec![new_entries.remove(index)]
                } else {
                    Vec::new()
                };
                plan.set(node, "approvedRanges", json!(new_ranges))
                    .set_quietly(node, "approvalEntryIds", json!(new_entries))
                    .supersedes(superseded)
                    .status(
                        Some(format!("APPROVED {}", approval.range)),
                        Some(format!("REVOKED {}", approval.range)),
                    )
            }
        })
    }
}
