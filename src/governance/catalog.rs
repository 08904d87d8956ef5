//! The operation catalog: everything govtrail knows about each operation, in one row
//! per operation — its route and body, who may run it, whether it needs a reason, its
//! category and severity, the entity types its entry audits and the subject a DENIED
//! entry names. The router, the `OpenAPI` document, `/v1/catalog`, authorization and
//! the audit entry all read this table; nothing else restates it.
//!
//! [`definition`] is one exhaustive `match`: an operation without a row does not
//! compile.

use utoipa::openapi::{RefOr, schema::Schema};

use super::command::Command;
use super::commands::{
    Approval, ApprovalChange, AssignSystemOwner, ChangeAction, ChangeConstraintRange,
    ChangeCriticality, ChangeResponsibilityAreas, ChangeRiskLevel, ChecklistItem,
    ConstraintEnforcement, CreateConstraint, CreateSystem, CreateTeam, CreateTechnology,
    DecideLicense, DeleteConstraint, DeleteTeam, EraseUserPii, ROLLBACK_TYPES, RegisterUser,
    RetireSystem, RetireTechnology, Rollback, RollbackPoint, SYSTEM_CHECKLIST, SetLicenseWhitelist,
    SetSteward, TECHNOLOGY_CHECKLIST, TeamApprovalChange, TeamMembership, TransitionConstraint,
};
use super::input::{
    self as i, ApprovalBody, AreasBody, CreateConstraintBody, CreateSystemBody, CreateTeamBody,
    CreateTechnologyBody, CriticalityBody, EolDateBody, Invalid, MigrationTargetBody, OwnerBody,
    Parsed, PathParams, RangeBody, ReasonOnly, RegisterUserBody, RetireBody, RiskLevelBody,
    RollbackBody, StewardBody, TimeCategoryBody, schema_of, with_body,
};
use crate::domain::{
    Category, ChangeRequestId, EntityType, Operation, Role, Severity, SystemId, TeamId,
    TechnologyId, UserId, VersionConstraintId, license_id, license_policy_id, team_approval_id,
};

/// The HTTP method of a governed route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// Whether a caller must say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonRule {
    /// A reason is required.
    Required,
    /// A reason may be given.
    Optional,
}

/// How a governed operation is reached over HTTP and how its request becomes a command.
pub struct Route {
    /// Method.
    pub method: Method,
    /// Path template (`{name}` marks a parameter).
    pub path: &'static str,
    /// Name and JSON schema of the body.
    pub body: fn() -> (String, RefOr<Schema>),
    /// The id a DENIED entry names, from the path alone (parameters that do not parse
    /// are refused here, before authorization, as 400).
    pub target: fn(&PathParams) -> Result<Option<String>, Invalid>,
    /// Builds the command from the path and the (authorized) JSON body.
    pub parse: fn(&PathParams, &[u8]) -> Result<Parsed, Invalid>,
    /// The entity type a DENIED entry names when the path says it (`None`: the row's
    /// `denied_as`).
    pub denied_type: fn(&PathParams) -> Option<EntityType>,
}

/// One catalog row.
pub struct Definition {
    /// Operation code.
    pub operation: Operation,
    /// How it is reached; `None` for operations recorded by govtrail itself (reads and
    /// exports of audit data, which have routes of their own).
    pub route: Option<Route>,
    /// Roles allowed to run it.
    pub roles: &'static [Role],
    /// Whether a reason is required.
    pub reason: ReasonRule,
    /// Catalog category.
    pub category: Category,
    /// How serious it is.
    pub severity: Severity,
    /// Entity types its entry audits (a change-control entry audits its request and
    /// the entities the request's command changes, of any type).
    pub audits: &'static [EntityType],
    /// The entity type a DENIED entry names (with the id the route's target gives).
    pub denied_as: EntityType,
    /// Its default approval policy (settings may override it; see [`super::policy`]).
    pub approval: DefaultPolicy,
    /// What a request must acknowledge, item by item (a retirement's retention
    /// checklist); empty for most operations.
    pub checklist: &'static [ChecklistItem],
}

/// An operation's default approval policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// Runs at once unless settings ask for approval.
    None,
    /// Waits for one approval by an `approver` other than the requester.
    Dual,
    /// Never waits: it is part of the approval workflow itself, or govtrail records it.
    Never,
}

impl Definition {
    /// The operation's code, category and severity as an audit entry records them.
    #[must_use]
    pub fn facts(&self) -> crate::audit::OperationFacts {
        crate::audit::OperationFacts {
            operation: self.operation,
            category: self.category,
            severity: self.severity,
        }
    }

    /// Whether a reason is required.
    #[must_use]
    pub fn reason_required(&self) -> bool {
        self.reason == ReasonRule::Required
    }
}

const ADMIN: &[Role] = &[Role::GovernanceAdmin];
const ADMIN_OR_INTEGRATION: &[Role] = &[Role::GovernanceAdmin, Role::Integration];
const SUPERUSER: &[Role] = &[Role::Superuser];
const ADMIN_OR_SUPERUSER: &[Role] = &[Role::GovernanceAdmin, Role::Superuser];
/// Whoever may ask for a governed change (each operation's own roles still apply).
const REQUESTERS: &[Role] = &[Role::GovernanceAdmin, Role::Integration, Role::Superuser];
/// The people who may be a policy's approver role (each request names one).
const APPROVERS: &[Role] = &[Role::Approver, Role::GovernanceAdmin, Role::Superuser];
/// Who may review a break-glass change (never its own actor).
const REVIEWERS: &[Role] = &[Role::Approver, Role::Superuser];
/// Who may break glass: run an operation that needs approval without its approvals.
pub const BREAK_GLASS: &[Role] = &[Role::GovernanceAdmin];
/// What a rollback's entry audits: the entity (one of [`ROLLBACK_TYPES`]) and the
/// users its relationships reach.
const ROLLBACK_AUDITS: [EntityType; ROLLBACK_TYPES.len() + 1] = {
    let mut audits = [EntityType::User; ROLLBACK_TYPES.len() + 1];
    let mut i = 0;
    while i < ROLLBACK_TYPES.len() {
        audits[i] = ROLLBACK_TYPES[i];
        i += 1;
    }
    audits
};
/// The shortest reason a break-glass change may give.
pub const BREAK_GLASS_MIN_REASON: usize = 20;

/// A catalog row as a `'static` constant (with no checklist unless it names one first).
macro_rules! row {
    (checklist: $checklist:expr, $($field:ident : $value:expr),+ $(,)?) => {{
        const ROW: Definition = Definition { checklist: $checklist, $($field: $value),+ };
        &ROW
    }};
    ($($field:ident : $value:expr),+ $(,)?) => {{
        const ROW: Definition = Definition { checklist: &[], $($field: $value),+ };
        &ROW
    }};
}

/// A route built from its parts; `parse` and `target` are non-capturing closures.
macro_rules! route {
    ($method:ident $path:literal, $body:ty, target: $target:expr, parse: $parse:expr $(,)?) => {
        route!($method $path, $body, target: $target, parse: $parse, denied_type: |_| None)
    };
    ($method:ident $path:literal, $body:ty, target: $target:expr, parse: $parse:expr, denied_type: $denied:expr $(,)?) => {
        Some(Route {
            method: Method::$method,
            path: $path,
            body: schema_of::<$body>,
            target: $target,
            parse: $parse,
            denied_type: $denied,
        })
    };
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature every route target shares"
)]
fn none(_: &PathParams) -> Result<Option<String>, Invalid> {
    Ok(None)
}

fn id_param<T: TryFrom<uuid::Uuid> + ToString>(
    p: &PathParams,
    name: &str,
) -> Result<Option<String>, Invalid> {
    p.id::<T>(name).map(|id| Some(id.to_string()))
}

fn constraint_id(p: &PathParams) -> Result<Option<String>, Invalid> {
    id_param::<VersionConstraintId>(p, "id")
}

fn technology_id(p: &PathParams) -> Result<Option<String>, Invalid> {
    id_param::<TechnologyId>(p, "id")
}

fn team_id(p: &PathParams) -> Result<Option<String>, Invalid> {
    id_param::<TeamId>(p, "id")
}

fn system_id(p: &PathParams) -> Result<Option<String>, Invalid> {
    id_param::<SystemId>(p, "id")
}

fn change_request_id(p: &PathParams) -> Result<Option<String>, Invalid> {
    id_param::<ChangeRequestId>(p, "id")
}

/// A license route names the license only when its SPDX id is valid; an invalid one
/// is refused after authorization.
#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature every route target shares"
)]
fn license(p: &PathParams) -> Result<Option<String>, Invalid> {
    Ok(i::spdx_id(p.text("spdx_id"))
        .ok()
        .map(|id| license_id(&id).to_string()))
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature every route target shares"
)]
fn policy(_: &PathParams) -> Result<Option<String>, Invalid> {
    Ok(Some(license_policy_id().to_string()))
}

/// A user route names the user when its id is well-formed and safe to record.
#[expect(
    clippy::unnecessary_wraps,
    reason = "the signature every route target shares"
)]
fn user(p: &PathParams) -> Result<Option<String>, Invalid> {
    Ok(i::user_param("id", p.text("id"))
        .ok()
        .map(|u| u.to_string()))
}

/// The entity type a rollback path names, when it is one a rollback may touch.
fn rollback_type(p: &PathParams) -> Option<EntityType> {
    p.text("type")
        .parse()
        .ok()
        .filter(|t| ROLLBACK_TYPES.contains(t))
}

fn rollback_target(p: &PathParams) -> Result<Option<String>, Invalid> {
    if rollback_type(p).is_none() {
        return Err(Invalid::param(
            "type",
            format!(
                "a rollback touches one of {}",
                ROLLBACK_TYPES.map(EntityType::as_str).join(", ")
            ),
        ));
    }
    id_param::<uuid::Uuid>(p, "id")
}

fn rollback(p: &PathParams, body: &[u8]) -> Result<Parsed, Invalid> {
    with_body(body, |b: RollbackBody| {
        let to = match (b.to_entry_id, b.at) {
            (Some(entry), None) => RollbackPoint {
                entry_id: Some(entry.to_string()),
                at: None,
            },
            (None, Some(at)) => RollbackPoint {
                entry_id: None,
                at: Some(crate::audit::hash::canonical_timestamp(at)),
            },
            _ => {
                return Err(Invalid::field(
                    "toEntryId",
                    "give exactly one of `toEntryId` or `at`",
                ));
            }
        };
        Ok(Command::Rollback(Rollback {
            entity_type: rollback_type(p).unwrap_or(EntityType::Team),
            id: p.id::<uuid::Uuid>("id")?.to_string(),
            to,
            resolved: None,
            preview: !b.confirm,
        }))
    })
}

fn approval_record(p: &PathParams) -> Result<Option<String>, Invalid> {
    let team = p.id::<TeamId>("team_id")?;
    let technology = p.id::<TechnologyId>("technology_id")?;
    Ok(Some(team_approval_id(team, technology).to_string()))
}

/// The acknowledged checklist codes, sorted, when they are exactly `items`.
fn checked(items: &[ChecklistItem], given: &[String]) -> Result<Vec<String>, Invalid> {
    super::commands::acknowledged(items, given).map_err(|e| Invalid::field("acknowledged", e))
}

/// A body with nothing but a reason; the command is built after the body parses.
fn reason_only(
    bytes: &[u8],
    build: impl FnOnce() -> Result<Command, Invalid>,
) -> Result<Parsed, Invalid> {
    with_body(bytes, |_: ReasonOnly| build())
}

fn approval_change(
    p: &PathParams,
    change: ApprovalChange,
    wrap: fn(TeamApprovalChange) -> Command,
) -> Result<Command, Invalid> {
    Ok(wrap(TeamApprovalChange {
        team: p.id("team_id")?,
        technology: p.id("technology_id")?,
        change,
    }))
}

fn approval_of(body: &ApprovalBody) -> Result<Approval, Invalid> {
    i::approval(body)
}

/// The catalog row of `operation`.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "the catalog: one row per operation, read as a table"
)]
pub fn definition(operation: Operation) -> &'static Definition {
    use Category as C;
    use DefaultPolicy as A;
    use EntityType as E;
    use Operation as O;
    use ReasonRule::{Optional, Required};
    use Severity as S;
    match operation {
        O::CreateConstraint => row! {
            operation: O::CreateConstraint,
            route: route!(Post "/v1/version-constraints", CreateConstraintBody,
                target: none,
                parse: |_, b| with_body(b, |b: CreateConstraintBody| Ok(Command::CreateConstraint(CreateConstraint {
                    id: VersionConstraintId::new(),
                    technology: b.technology_id,
                    range: i::range("range", &b.range)?,
                })))),
            roles: ADMIN, reason: Optional, category: C::VersionConstraint, severity: S::Low,
            audits: &[E::VersionConstraint, E::Technology], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::ChangeConstraintRange => row! {
            operation: O::ChangeConstraintRange,
            route: route!(Put "/v1/version-constraints/{id}/range", RangeBody,
                target: constraint_id,
                parse: |p, b| with_body(b, |b: RangeBody| Ok(Command::ChangeConstraintRange(ChangeConstraintRange {
                    id: p.id("id")?,
                    range: i::range("range", &b.range)?,
                })))),
            roles: ADMIN, reason: Optional, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::Activate => row! {
            operation: O::Activate,
            route: route!(Post "/v1/version-constraints/{id}/activate", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::Activate(TransitionConstraint { id: p.id("id")? })))),
            roles: ADMIN, reason: Optional, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::Deactivate => row! {
            operation: O::Deactivate,
            route: route!(Post "/v1/version-constraints/{id}/deactivate", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::Deactivate(TransitionConstraint { id: p.id("id")? })))),
            roles: ADMIN, reason: Required, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::Archive => row! {
            operation: O::Archive,
            route: route!(Post "/v1/version-constraints/{id}/archive", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::Archive(TransitionConstraint { id: p.id("id")? })))),
            roles: ADMIN, reason: Required, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::DeleteConstraint => row! {
            operation: O::DeleteConstraint,
            route: route!(Delete "/v1/version-constraints/{id}", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::DeleteConstraint(DeleteConstraint { id: p.id("id")? })))),
            roles: ADMIN, reason: Required, category: C::VersionConstraint, severity: S::High,
            audits: &[E::VersionConstraint], denied_as: E::VersionConstraint, approval: A::Dual,
        },
        O::ApplyConstraintToTeam => row! {
            operation: O::ApplyConstraintToTeam,
            route: route!(Put "/v1/version-constraints/{id}/teams/{team_id}", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::ApplyConstraintToTeam(ConstraintEnforcement {
                    id: p.id("id")?,
                    team: p.id("team_id")?,
                })))),
            roles: ADMIN, reason: Optional, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint, E::Team], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::RemoveConstraintFromTeam => row! {
            operation: O::RemoveConstraintFromTeam,
            route: route!(Delete "/v1/version-constraints/{id}/teams/{team_id}", ReasonOnly,
                target: constraint_id,
                parse: |p, b| reason_only(b, || Ok(Command::RemoveConstraintFromTeam(ConstraintEnforcement {
                    id: p.id("id")?,
                    team: p.id("team_id")?,
                })))),
            roles: ADMIN, reason: Required, category: C::VersionConstraint, severity: S::Medium,
            audits: &[E::VersionConstraint, E::Team], denied_as: E::VersionConstraint, approval: A::None,
        },
        O::AllowLicense => row! {
            operation: O::AllowLicense,
            route: route!(Post "/v1/licenses/{spdx_id}/allow", ReasonOnly,
                target: license,
                parse: |p, b| reason_only(b, || Ok(Command::AllowLicense(DecideLicense {
                    spdx_id: i::spdx_id(p.text("spdx_id"))?,
                })))),
            roles: ADMIN_OR_INTEGRATION, reason: Optional, category: C::License, severity: S::Medium,
            audits: &[E::License], denied_as: E::License, approval: A::None,
        },
        O::DenyLicense => row! {
            operation: O::DenyLicense,
            route: route!(Post "/v1/licenses/{spdx_id}/deny", ReasonOnly,
                target: license,
                parse: |p, b| reason_only(b, || Ok(Command::DenyLicense(DecideLicense {
                    spdx_id: i::spdx_id(p.text("spdx_id"))?,
                })))),
            roles: ADMIN_OR_INTEGRATION, reason: Required, category: C::License, severity: S::High,
            audits: &[E::License], denied_as: E::License, approval: A::Dual,
        },
        O::EnableLicenseWhitelist => row! {
            operation: O::EnableLicenseWhitelist,
            route: route!(Post "/v1/license-policy/whitelist/enable", ReasonOnly,
                target: policy,
                parse: |_, b| reason_only(b, || Ok(Command::EnableLicenseWhitelist(SetLicenseWhitelist {})))),
            roles: ADMIN, reason: Optional, category: C::License, severity: S::High,
            audits: &[E::LicensePolicy], denied_as: E::LicensePolicy, approval: A::None,
        },
        O::DisableLicenseWhitelist => row! {
            operation: O::DisableLicenseWhitelist,
            route: route!(Post "/v1/license-policy/whitelist/disable", ReasonOnly,
                target: policy,
                parse: |_, b| reason_only(b, || Ok(Command::DisableLicenseWhitelist(SetLicenseWhitelist {})))),
            roles: ADMIN, reason: Required, category: C::License, severity: S::High,
            audits: &[E::LicensePolicy], denied_as: E::LicensePolicy, approval: A::Dual,
        },
        O::CreateTechnology => row! {
            operation: O::CreateTechnology,
            route: route!(Post "/v1/technologies", CreateTechnologyBody,
                target: none,
                parse: |_, b| with_body(b, |b: CreateTechnologyBody| Ok(Command::CreateTechnology(CreateTechnology {
                    id: TechnologyId::new(),
                    name: i::name(&b.name)?,
                    risk_level: b.risk_level,
                })))),
            roles: ADMIN_OR_INTEGRATION, reason: Optional, category: C::TechnologyApproval, severity: S::Low,
            audits: &[E::Technology], denied_as: E::Technology, approval: A::None,
        },
        O::RetireTechnology => row! {
            checklist: TECHNOLOGY_CHECKLIST,
            operation: O::RetireTechnology,
            route: route!(Post "/v1/technologies/{id}/retire", RetireBody,
                target: technology_id,
                parse: |p, b| with_body(b, |b: RetireBody| Ok(Command::RetireTechnology(RetireTechnology {
                    id: p.id("id")?,
                    acknowledged: checked(TECHNOLOGY_CHECKLIST, &b.acknowledged)?,
                    scope: None,
                })))),
            roles: ADMIN, reason: Required, category: C::TechnologyApproval, severity: S::High,
            audits: &[E::Technology, E::VersionConstraint, E::TeamApproval, E::User],
            denied_as: E::Technology, approval: A::Dual,
        },
        O::ChangeRiskLevel => row! {
            operation: O::ChangeRiskLevel,
            route: route!(Put "/v1/technologies/{id}/risk-level", RiskLevelBody,
                target: technology_id,
                parse: |p, b| with_body(b, |b: RiskLevelBody| Ok(Command::ChangeRiskLevel(ChangeRiskLevel {
                    id: p.id("id")?,
                    risk_level: b.risk_level,
                })))),
            roles: ADMIN_OR_INTEGRATION, reason: Optional, category: C::TechnologyApproval, severity: S::Medium,
            audits: &[E::Technology], denied_as: E::Technology, approval: A::None,
        },
        O::SetTimeCategory => row! {
            operation: O::SetTimeCategory,
            route: route!(Put "/v1/teams/{team_id}/technologies/{technology_id}/time-category", TimeCategoryBody,
                target: approval_record,
                parse: |p, b| with_body(b, |b: TimeCategoryBody| {
                    approval_change(p, ApprovalChange::TimeCategory(b.category), Command::SetTimeCategory)
                })),
            roles: ADMIN, reason: Optional, category: C::TechnologyApproval, severity: S::Medium,
            audits: &[E::TeamApproval, E::Team, E::Technology], denied_as: E::TeamApproval, approval: A::None,
        },
        O::SetEolDate => row! {
            operation: O::SetEolDate,
            route: route!(Put "/v1/teams/{team_id}/technologies/{technology_id}/eol-date", EolDateBody,
                target: approval_record,
                parse: |p, b| with_body(b, |b: EolDateBody| {
                    approval_change(p, ApprovalChange::EolDate(b.eol_date), Command::SetEolDate)
                })),
            roles: ADMIN, reason: Optional, category: C::TechnologyApproval, severity: S::Medium,
            audits: &[E::TeamApproval, E::Team, E::Technology], denied_as: E::TeamApproval, approval: A::None,
        },
        O::SetMigrationTarget => row! {
            operation: O::SetMigrationTarget,
            route: route!(Put "/v1/teams/{team_id}/technologies/{technology_id}/migration-target", MigrationTargetBody,
                target: approval_record,
                parse: |p, b| with_body(b, |b: MigrationTargetBody| {
                    approval_change(p, ApprovalChange::MigrationTarget(b.technology_id), Command::SetMigrationTarget)
                })),
            roles: ADMIN, reason: Optional, category: C::TechnologyApproval, severity: S::Medium,
            audits: &[E::TeamApproval, E::Team, E::Technology], denied_as: E::TeamApproval, approval: A::None,
        },
        O::ApproveVersion => row! {
            operation: O::ApproveVersion,
            route: route!(Post "/v1/teams/{team_id}/technologies/{technology_id}/approvals", ApprovalBody,
                target: approval_record,
                parse: |p, b| with_body(b, |b: ApprovalBody| {
                    approval_change(p, ApprovalChange::Approve(approval_of(&b)?), Command::ApproveVersion)
                })),
            roles: ADMIN_OR_INTEGRATION, reason: Optional, category: C::TechnologyApproval, severity: S::Medium,
            audits: &[E::TeamApproval, E::Team, E::Technology, E::Version], denied_as: E::TeamApproval, approval: A::None,
        },
        O::RevokeApproval => row! {
            operation: O::RevokeApproval,
            route: route!(Post "/v1/teams/{team_id}/technologies/{technology_id}/approvals/revoke", ApprovalBody,
                target: approval_record,
                parse: |p, b| with_body(b, |b: ApprovalBody| {
                    approval_change(p, ApprovalChange::Revoke(approval_of(&b)?), Command::RevokeApproval)
                })),
            roles: ADMIN, reason: Required, category: C::TechnologyApproval, severity: S::High,
            audits: &[E::TeamApproval, E::Team, E::Technology], denied_as: E::TeamApproval, approval: A::Dual,
        },
        O::CreateTeam => row! {
            operation: O::CreateTeam,
            route: route!(Post "/v1/teams", CreateTeamBody,
                target: none,
                parse: |_, b| with_body(b, |b: CreateTeamBody| Ok(Command::CreateTeam(CreateTeam {
                    id: TeamId::new(),
                    name: i::name(&b.name)?,
                    responsibility_areas: i::areas(&b.responsibility_areas)?,
                })))),
            roles: ADMIN, reason: Optional, category: C::TeamMembership, severity: S::Low,
            audits: &[E::Team], denied_as: E::Team, approval: A::None,
        },
        O::DeleteTeam => row! {
            operation: O::DeleteTeam,
            route: route!(Delete "/v1/teams/{id}", ReasonOnly,
                target: team_id,
                parse: |p, b| reason_only(b, || Ok(Command::DeleteTeam(DeleteTeam { id: p.id("id")? })))),
            roles: ADMIN, reason: Required, category: C::TeamMembership, severity: S::High,
            audits: &[E::Team], denied_as: E::Team, approval: A::None,
        },
        O::ChangeResponsibilityAreas => row! {
            operation: O::ChangeResponsibilityAreas,
            route: route!(Put "/v1/teams/{id}/responsibility-areas", AreasBody,
                target: team_id,
                parse: |p, b| with_body(b, |b: AreasBody| Ok(Command::ChangeResponsibilityAreas(ChangeResponsibilityAreas {
                    id: p.id("id")?,
                    responsibility_areas: i::areas(&b.responsibility_areas)?,
                })))),
            roles: ADMIN, reason: Optional, category: C::TeamMembership, severity: S::Low,
            audits: &[E::Team], denied_as: E::Team, approval: A::None,
        },
        O::AddTeamMember => row! {
            operation: O::AddTeamMember,
            route: route!(Put "/v1/teams/{id}/members/{user_id}", ReasonOnly,
                target: team_id,
                parse: |p, b| reason_only(b, || Ok(Command::AddTeamMember(TeamMembership {
                    team: p.id("id")?,
                    user: i::user_param("userId", p.text("user_id"))?,
                })))),
            roles: ADMIN, reason: Optional, category: C::TeamMembership, severity: S::Medium,
            audits: &[E::Team, E::User], denied_as: E::Team, approval: A::None,
        },
        O::RemoveTeamMember => row! {
            operation: O::RemoveTeamMember,
            route: route!(Delete "/v1/teams/{id}/members/{user_id}", ReasonOnly,
                target: team_id,
                parse: |p, b| reason_only(b, || Ok(Command::RemoveTeamMember(TeamMembership {
                    team: p.id("id")?,
                    user: i::user_param("userId", p.text("user_id"))?,
                })))),
            roles: ADMIN, reason: Required, category: C::TeamMembership, severity: S::Medium,
            audits: &[E::Team, E::User], denied_as: E::Team, approval: A::None,
        },
        O::CreateSystem => row! {
            operation: O::CreateSystem,
            route: route!(Post "/v1/systems", CreateSystemBody,
                target: none,
                parse: |_, b| with_body(b, |b: CreateSystemBody| Ok(Command::CreateSystem(CreateSystem {
                    id: SystemId::new(),
                    name: i::name(&b.name)?,
                    criticality: b.criticality,
                    owner: b.owner_team_id,
                })))),
            roles: ADMIN_OR_INTEGRATION, reason: Optional, category: C::Ownership, severity: S::Low,
            audits: &[E::System, E::Team], denied_as: E::System, approval: A::None,
        },
        O::AssignSystemOwner => row! {
            operation: O::AssignSystemOwner,
            route: route!(Put "/v1/systems/{id}/owner", OwnerBody,
                target: system_id,
                parse: |p, b| with_body(b, |b: OwnerBody| Ok(Command::AssignSystemOwner(AssignSystemOwner {
                    id: p.id("id")?,
                    team: b.team_id,
                })))),
            roles: ADMIN, reason: Optional, category: C::Ownership, severity: S::High,
            audits: &[E::System, E::Team], denied_as: E::System, approval: A::Dual,
        },
        O::ChangeCriticality => row! {
            operation: O::ChangeCriticality,
            route: route!(Put "/v1/systems/{id}/criticality", CriticalityBody,
                target: system_id,
                parse: |p, b| with_body(b, |b: CriticalityBody| Ok(Command::ChangeCriticality(ChangeCriticality {
                    id: p.id("id")?,
                    criticality: b.criticality,
                })))),
            roles: ADMIN, reason: Optional, category: C::Ownership, severity: S::Medium,
            audits: &[E::System], denied_as: E::System, approval: A::None,
        },
        O::RetireSystem => row! {
            checklist: SYSTEM_CHECKLIST,
            operation: O::RetireSystem,
            route: route!(Post "/v1/systems/{id}/retire", RetireBody,
                target: system_id,
                parse: |p, b| with_body(b, |b: RetireBody| Ok(Command::RetireSystem(RetireSystem {
                    id: p.id("id")?,
                    acknowledged: checked(SYSTEM_CHECKLIST, &b.acknowledged)?,
                })))),
            roles: ADMIN, reason: Required, category: C::Ownership, severity: S::High,
            audits: &[E::System, E::Team], denied_as: E::System, approval: A::Dual,
        },
        O::AssignSteward => row! {
            operation: O::AssignSteward,
            route: route!(Put "/v1/technologies/{id}/steward", StewardBody,
                target: technology_id,
                parse: |p, b| with_body(b, |b: StewardBody| Ok(Command::AssignSteward(SetSteward {
                    technology: p.id("id")?,
                    user: Some(i::user_id("userId", &b.user_id)?),
                })))),
            roles: ADMIN, reason: Optional, category: C::Ownership, severity: S::Medium,
            audits: &[E::Technology, E::User], denied_as: E::Technology, approval: A::None,
        },
        O::RemoveSteward => row! {
            operation: O::RemoveSteward,
            route: route!(Delete "/v1/technologies/{id}/steward", ReasonOnly,
                target: technology_id,
                parse: |p, b| reason_only(b, || Ok(Command::RemoveSteward(SetSteward {
                    technology: p.id("id")?,
                    user: None,
                })))),
            roles: ADMIN, reason: Required, category: C::Ownership, severity: S::Medium,
            audits: &[E::Technology, E::User], denied_as: E::Technology, approval: A::None,
        },
        O::RegisterUser => row! {
            operation: O::RegisterUser,
            route: route!(Post "/v1/users", RegisterUserBody,
                target: none,
                parse: |_, b| with_body(b, |b: RegisterUserBody| Ok(Command::RegisterUser(RegisterUser {
                    id: UserId::fresh(),
                    subject: i::subject("subject", &b.subject)?,
                })))),
            roles: ADMIN_OR_SUPERUSER, reason: Optional, category: C::Identity, severity: S::Low,
            audits: &[E::User], denied_as: E::User, approval: A::None,
        },
        O::EraseUserPii => row! {
            operation: O::EraseUserPii,
            route: route!(Post "/v1/users/{id}/erase", ReasonOnly,
                target: user,
                parse: |p, b| reason_only(b, || Ok(Command::EraseUserPii(EraseUserPii {
                    id: i::user_param("id", p.text("id"))?,
                })))),
            roles: SUPERUSER, reason: Required, category: C::Identity, severity: S::High,
            audits: &[E::User], denied_as: E::User, approval: A::Dual,
        },
        O::RequestChange => row! {
            operation: O::RequestChange,
            route: None,
            roles: REQUESTERS, reason: Required, category: C::ChangeControl, severity: S::Medium,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::ApproveChange => row! {
            operation: O::ApproveChange,
            route: route!(Post "/v1/change-requests/{id}/approve", ReasonOnly,
                target: change_request_id,
                parse: |p, b| reason_only(b, || Ok(Command::ApproveChange(ChangeAction { id: p.id("id")? })))),
            roles: APPROVERS, reason: Required, category: C::ChangeControl, severity: S::High,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::RejectChange => row! {
            operation: O::RejectChange,
            route: route!(Post "/v1/change-requests/{id}/reject", ReasonOnly,
                target: change_request_id,
                parse: |p, b| reason_only(b, || Ok(Command::RejectChange(ChangeAction { id: p.id("id")? })))),
            roles: APPROVERS, reason: Required, category: C::ChangeControl, severity: S::Medium,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::WithdrawChange => row! {
            operation: O::WithdrawChange,
            route: route!(Post "/v1/change-requests/{id}/withdraw", ReasonOnly,
                target: change_request_id,
                parse: |p, b| reason_only(b, || Ok(Command::WithdrawChange(ChangeAction { id: p.id("id")? })))),
            roles: REQUESTERS, reason: Required, category: C::ChangeControl, severity: S::Low,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::ExpireChange => row! {
            operation: O::ExpireChange,
            route: None,
            roles: &[], reason: Optional, category: C::ChangeControl, severity: S::Low,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::ReviewBreakGlass => row! {
            operation: O::ReviewBreakGlass,
            route: route!(Post "/v1/change-requests/{id}/review", ReasonOnly,
                target: change_request_id,
                parse: |p, b| reason_only(b, || Ok(Command::ReviewBreakGlass(ChangeAction { id: p.id("id")? })))),
            roles: REVIEWERS, reason: Required, category: C::ChangeControl, severity: S::High,
            audits: E::ALL, denied_as: E::ChangeRequest, approval: A::Never,
        },
        O::Rollback => row! {
            operation: O::Rollback,
            route: route!(Post "/v1/entities/{type}/{id}/rollback", RollbackBody,
                target: rollback_target,
                parse: rollback,
                denied_type: rollback_type),
            roles: ADMIN_OR_SUPERUSER, reason: Required, category: C::ChangeControl, severity: S::High,
            audits: &ROLLBACK_AUDITS, denied_as: E::Team, approval: A::Dual,
        },
        O::ReadAudit => row! {
            operation: O::ReadAudit,
            route: None,
            roles: SUPERUSER, reason: Optional, category: C::AuditAccess, severity: S::Medium,
            audits: &[], denied_as: E::User, approval: A::Never,
        },
        O::Export => row! {
            operation: O::Export,
            route: None,
            roles: SUPERUSER, reason: Optional, category: C::AuditAccess, severity: S::High,
            audits: &[], denied_as: E::User, approval: A::Never,
        },
    }
}

/// Every catalog row, in catalog order.
pub fn definitions() -> impl Iterator<Item = &'static Definition> {
    Operation::ALL.iter().map(|op| definition(*op))
}

/// The rows reached over their own governed route, with that route.
pub fn routed() -> impl Iterator<Item = (&'static Definition, &'static Route)> {
    definitions().filter_map(|d| d.route.as_ref().map(|r| (d, r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_the_row_of_its_own_operation() {
        for op in Operation::ALL {
            assert_eq!(definition(*op).operation, *op);
        }
    }

    #[test]
    fn no_two_routes_share_a_method_and_path() {
        let routes: Vec<_> = routed().map(|(_, r)| (r.method, r.path)).collect();
        for (i, a) in routes.iter().enumerate() {
            assert!(!routes[i + 1..].contains(a), "{a:?} is declared twice");
        }
    }

    #[test]
    fn reasons_are_required_where_the_seed_takes_something_away() {
        for op in [
            Operation::DenyLicense,
            Operation::Deactivate,
            Operation::Archive,
            Operation::DeleteConstraint,
            Operation::RevokeApproval,
            Operation::RemoveTeamMember,
        ] {
            assert!(
                definition(op).reason_required(),
                "{op} must require a reason"
            );
        }
        assert!(!definition(Operation::AllowLicense).reason_required());
    }

    #[test]
    fn every_route_parses_into_a_command_of_its_own_operation() {
        for (def, route) in routed() {
            let params = PathParams::new(
                route
                    .path
                    .split('/')
                    .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                    .map(|name| {
                        let value = match name {
                            "spdx_id" => "MIT".to_owned(),
                            "user_id" => "probe-user".to_owned(),
                            "type" => "Team".to_owned(),
                            _ => uuid::Uuid::new_v4().to_string(),
                        };
                        (name.to_owned(), value)
                    }),
            );
            assert!((route.target)(&params).is_ok(), "{}", def.operation);
            let body = sample_body(def.operation);
            let parsed = (route.parse)(&params, body.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e:?}", def.operation));
            assert_eq!(parsed.command.operation(), def.operation);
        }
    }

    fn sample_body(op: Operation) -> String {
        let tech = uuid::Uuid::new_v4();
        match op {
            Operation::CreateConstraint => format!(r#"{{"technologyId":"{tech}","range":"^1"}}"#),
            Operation::ChangeConstraintRange => r#"{"range":"^2"}"#.into(),
            Operation::CreateTechnology | Operation::CreateTeam | Operation::CreateSystem => {
                r#"{"name":"n"}"#.into()
            }
            Operation::ChangeRiskLevel => r#"{"riskLevel":"HIGH"}"#.into(),
            Operation::SetTimeCategory => r#"{"category":"INVEST"}"#.into(),
            Operation::SetEolDate => r#"{"eolDate":"2030-01-01"}"#.into(),
            Operation::SetMigrationTarget => format!(r#"{{"technologyId":"{tech}"}}"#),
            Operation::ApproveVersion | Operation::RevokeApproval => {
                r#"{"version":"1.2.3"}"#.into()
            }
            Operation::ChangeResponsibilityAreas => r#"{"responsibilityAreas":["a"]}"#.into(),
            Operation::AssignSystemOwner => format!(r#"{{"teamId":"{tech}"}}"#),
            Operation::ChangeCriticality => r#"{"criticality":"LOW"}"#.into(),
            Operation::AssignSteward => r#"{"userId":"u"}"#.into(),
            Operation::RegisterUser => r#"{"subject":"alice@idp.example"}"#.into(),
            Operation::Rollback => format!(r#"{{"toEntryId":"{tech}"}}"#),
            Operation::RetireTechnology | Operation::RetireSystem => {
                let codes: Vec<&str> = definition(op).checklist.iter().map(|i| i.code).collect();
                serde_json::json!({"reason": "end of life", "acknowledged": codes}).to_string()
            }
            _ => r#"{"reason":"because"}"#.into(),
        }
    }
}
