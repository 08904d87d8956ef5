//! Every governed command: validated input, the nodes it locks, and its decision from
//! the locked state. Pure functions of (input, snapshot, stamp); no I/O.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Stamp;
use super::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use super::snapshot::{Node, Snapshot, Targets};
use crate::domain::{
    ConstraintStatus, Criticality, EntityType, LicenseDecision, Operation, RelType, RiskLevel,
    SystemId, TeamId, TechnologyId, TimeCategory, UserId, VersionConstraintId, license_id,
    license_policy_id, team_approval_id, version_node_id,
};

/// What every governed command does: name the nodes it locks, the entity `If-Match`
/// applies to, and decide from the locked state. `operation` is the code it runs
/// under, for inputs shared by two directions of one change (allow and deny, add and
/// remove).
pub trait Decide: Send + Sync {
    /// Nodes to lock and relationships to read.
    fn targets(&self) -> Targets;
    /// The existing entity whose version `If-Match` is checked against (`None` for creates).
    fn primary_id(&self) -> Option<String>;
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
        EntityType::User | EntityType::ChangeRequest => node.id.clone(),
    }
}

fn entity(node: &Node) -> EntityRef {
    EntityRef {
        entity_type: node.entity_type,
        id: node.id.clone(),
        label: label_of(node),
    }
}

fn entity_id(entity_type: EntityType, id: &str) -> EntityRef {
    EntityRef {
        entity_type,
        id: id.to_owned(),
        label: String::new(),
    }
}

fn live<'a>(
    s: &'a Snapshot,
    id: &str,
    entity_type: EntityType,
    field: &'static str,
) -> Result<&'a Node, Rejection> {
    s.live(id, entity_type)
        .ok_or_else(|| Rejection::not_found(entity_type, id, field))
}

fn props(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn status_of(node: &Node, key: &str) -> Option<String> {
    node.str(key).map(str::to_owned)
}

fn conflict(field: &'static str, message: impl Into<String>) -> Rejection {
    Rejection::Conflict {
        field,
        message: message.into(),
    }
}

// ---------------------------------------------------------------- version constraints

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

// ---------------------------------------------------------------- licenses

/// ALLOW_LICENSE or DENY_LICENSE (the operation says which) for an SPDX license id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DecideLicense {
    /// Canonical SPDX id.
    pub spdx_id: String,
}

impl Decide for DecideLicense {
    fn targets(&self) -> Targets {
        Targets::default().node(license_id(&self.spdx_id))
    }
    fn primary_id(&self) -> Option<String> {
        Some(license_id(&self.spdx_id).to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let decision = if operation == Operation::DenyLicense {
            LicenseDecision::Denied
        } else {
            LicenseDecision::Allowed
        };
        let id = license_id(&self.spdx_id).to_string();
        match s.live(&id, EntityType::License) {
            None => {
                let primary = EntityRef {
                    entity_type: EntityType::License,
                    id: id.clone(),
                    label: self.spdx_id.clone(),
                };
                Ok(PlanBuilder::new(primary, 0)
                    .create(props(&[
                        ("id", json!(id)),
                        ("spdxId", json!(self.spdx_id)),
                        ("decision", json!(decision)),
                    ]))
                    .status(
                        Some(LicenseDecision::Undecided.to_string()),
                        Some(decision.to_string()),
                    )
                    .build(""))
            }
            Some(license) => Ok(PlanBuilder::new(entity(license), license.version())
                .set(license, "decision", json!(decision))
                .status(status_of(license, "decision"), Some(decision.to_string()))
                .build(format!("{} is already {}", self.spdx_id, decision))),
        }
    }
}

/// Turn the license whitelist on (ENABLE_LICENSE_WHITELIST) or off
/// (DISABLE_LICENSE_WHITELIST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetLicenseWhitelist {}

impl Decide for SetLicenseWhitelist {
    fn targets(&self) -> Targets {
        Targets::default().node(license_policy_id())
    }
    fn primary_id(&self) -> Option<String> {
        Some(license_policy_id().to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let enabled = operation == Operation::EnableLicenseWhitelist;
        let id = license_policy_id().to_string();
        let word = |on: bool| if on { "ENABLED" } else { "DISABLED" }.to_owned();
        match s.live(&id, EntityType::LicensePolicy) {
            None => {
                let primary = EntityRef {
                    entity_type: EntityType::LicensePolicy,
                    id: id.clone(),
                    label: "license policy".into(),
                };
                let plan = PlanBuilder::new(primary, 0);
                if !enabled {
                    return Ok(plan.build("the license whitelist is already DISABLED"));
                }
                Ok(plan
                    .create(props(&[
                        ("id", json!(id)),
                        ("whitelistEnabled", json!(true)),
                    ]))
                    .status(Some(word(false)), Some(word(true)))
                    .build(""))
            }
            Some(policy) => {
                let current = policy
                    .props
                    .get("whitelistEnabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Ok(PlanBuilder::new(entity(policy), policy.version())
                    .set(policy, "whitelistEnabled", json!(enabled))
                    .status(Some(word(current)), Some(word(enabled)))
                    .build(format!(
                        "the license whitelist is already {}",
                        word(current)
                    )))
            }
        }
    }
}

// ---------------------------------------------------------------- technologies

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
            .status(None, Some("ACTIVE".into()))
            .build(""))
    }
}

/// Retire a technology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetireTechnology {
    /// Technology.
    pub id: TechnologyId,
}

impl Decide for RetireTechnology {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id)
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let t = live(s, &self.id.to_string(), EntityType::Technology, "id")?;
        Ok(PlanBuilder::new(entity(t), t.version())
            .set(t, "lifecycle", json!("RETIRED"))
            .status(status_of(t, "lifecycle"), Some("RETIRED".into()))
            .build("the technology is already RETIRED"))
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

// ---------------------------------------------------------------- teams

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
        Ok(PlanBuilder::new(entity(team), team.version())
            .set(team, "deleted", json!(true))
            .set(team, "name", Value::Null)
            .set_quietly(team, "deletedName", team.get("name"))
            .set_quietly(team, "deletedAt", json!(stamp.now.to_rfc3339()))
            .status(Some("ACTIVE".into()), Some("DELETED".into()))
            .build(""))
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
        let mut plan = PlanBuilder::new(entity(team), team.version())
            .related(entity_id(EntityType::User, &user_id));
        if add == is_member {
            let state = if is_member { "already" } else { "not" };
            return Ok(plan.build(format!("the user is {state} a member of this team")));
        }
        if add {
            if user.is_none() {
                plan = plan.create_other(EntityType::User, props(&[("id", json!(user_id))]));
            }
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

// ---------------------------------------------------------------- systems and stewardship

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
        let mut plan = PlanBuilder::new(primary, 0).create(props(&[
            ("id", json!(id)),
            ("name", json!(self.name)),
            ("criticality", json!(self.criticality)),
        ]));
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
            if s.node(user_id).is_none() {
                plan = plan.create_other(EntityType::User, props(&[("id", json!(user_id))]));
            }
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

#[cfg(test)]
mod tests;
