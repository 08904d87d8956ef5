//! Handlers of every governed mutation. Each one authorizes (403 + DENIED entry)
//! before parsing its body, validates input into a command, and hands it to the
//! governor. The routes are declared in [`super::catalog`], next to what the catalog
//! says about each operation.

use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use semver::VersionReq;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::extract::Path;
use super::governed::{Governed, Reasoned};
use super::problem::{ApiError, FieldError};
use crate::domain::{
    Criticality, LicenseDecision, Operation, RiskLevel, SystemId, TeamId, TechnologyId,
    TimeCategory, UserId, VersionConstraintId, license_id, license_policy_id, team_approval_id,
};
use crate::governance::commands::{
    Approval, ApprovalChange, AssignSystemOwner, ChangeConstraintRange, ChangeCriticality,
    ChangeResponsibilityAreas, ChangeRiskLevel, ConstraintEnforcement, CreateConstraint,
    CreateSystem, CreateTeam, CreateTechnology, DecideLicense, DeleteConstraint, DeleteTeam,
    RetireTechnology, SetLicenseWhitelist, SetSteward, TeamApprovalChange, TeamMembership,
    TransitionConstraint,
};

/// Longest name of a team, system or technology.
pub const MAX_NAME_CHARS: usize = 200;
/// Most responsibility areas per team, and the longest one.
pub const MAX_AREAS: usize = 50;
const MAX_AREA_CHARS: usize = 100;

type Result<T> = std::result::Result<T, ApiError>;

macro_rules! bodies {
    ($($(#[$doc:meta])* struct $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? })+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Deserialize, utoipa::ToSchema)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            pub struct $name {
                $($(#[$fdoc])* pub $field: $ty,)*
                /// Why (required for some operations; scrubbed before storage).
                #[serde(default)]
                pub reason: Option<String>,
            }
            impl Reasoned for $name {
                fn reason(&self) -> Option<&str> {
                    self.reason.as_deref()
                }
            }
        )+
    };
}

bodies! {
    /// Only a reason.
    struct ReasonOnly {}
    /// `POST /v1/version-constraints`.
    struct CreateConstraintBody { /// Technology constrained.
        #[schema(value_type = String, format = Uuid)] technology_id: TechnologyId, /// Semver range.
        range: String }
    /// A new semver range.
    struct RangeBody { /// Semver range.
        range: String }
    /// `POST /v1/technologies`.
    struct CreateTechnologyBody { /// Unique name.
        name: String, /// Initial risk level.
        #[serde(default)] risk_level: Option<RiskLevel> }
    /// A risk level.
    struct RiskLevelBody { /// New level.
        risk_level: RiskLevel }
    /// A TIME category.
    struct TimeCategoryBody { /// TOLERATE, INVEST, MIGRATE or ELIMINATE.
        category: TimeCategory }
    /// An end-of-life date (`null` clears it).
    struct EolDateBody { /// `YYYY-MM-DD`.
        #[serde(default)] eol_date: Option<NaiveDate> }
    /// A migration target (`null` clears it).
    struct MigrationTargetBody { /// Target technology.
        #[serde(default)] #[schema(value_type = Option<String>, format = Uuid)] technology_id: Option<TechnologyId> }
    /// An approval: exactly one of `version` or `range`.
    struct ApprovalBody { /// Exact version, e.g. `1.2.3`.
        #[serde(default)] version: Option<String>, /// Semver range, e.g. `>=1.2, <2`.
        #[serde(default)] range: Option<String> }
    /// `POST /v1/teams`.
    struct CreateTeamBody { /// Unique name.
        name: String, /// Areas the team is responsible for.
        #[serde(default)] responsibility_areas: Vec<String> }
    /// New responsibility areas.
    struct AreasBody { /// Areas (replaces the current list).
        responsibility_areas: Vec<String> }
    /// `POST /v1/systems`.
    struct CreateSystemBody { /// Unique name.
        name: String, /// Criticality.
        #[serde(default)] criticality: Option<Criticality>, /// Owning team.
        #[serde(default)] #[schema(value_type = Option<String>, format = Uuid)] owner_team_id: Option<TeamId> }
    /// A new owning team.
    struct OwnerBody { /// Team.
        #[schema(value_type = String, format = Uuid)] team_id: TeamId }
    /// A criticality.
    struct CriticalityBody { /// New criticality.
        criticality: Criticality }
    /// A steward.
    struct StewardBody { /// User id (token subject).
        user_id: String }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, message)])
}

fn name(text: &str) -> Result<String> {
    let trimmed = text.trim();
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn range(field: &str, text: &str) -> Result<VersionReq> {
    VersionReq::parse(text.trim())
        .map_err(|e| invalid(field, format!("not a valid semver range: {e}")))
}

fn areas(list: &[String]) -> Result<Vec<String>> {
    if list.len() > MAX_AREAS {
        return Err(invalid(
            "responsibilityAreas",
            format!("at most {MAX_AREAS} areas"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, area) in list.iter().enumerate() {
        let area = area.trim();
        if area.is_empty()
            || area.chars().count() > MAX_AREA_CHARS
            || area.chars().any(char::is_control)
        {
            return Err(invalid(
                &format!("responsibilityAreas[{i}]"),
                format!("must be 1 to {MAX_AREA_CHARS} characters"),
            ));
        }
        out.push(area.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn user_id(field: &str, text: &str) -> Result<UserId> {
    UserId::parse(text).map_err(|e| invalid(field, e.to_string()))
}

/// The canonical SPDX license id, or 400 naming the path parameter.
fn spdx_id(text: &str) -> Result<String> {
    spdx::license_id(text)
        .map(|l| l.name.to_owned())
        .ok_or_else(|| {
            ApiError::InvalidParameters(vec![FieldError::new(
                "spdxId",
                format!(
                    "`{}` is not an SPDX license identifier",
                    text.chars().take(64).collect::<String>()
                ),
            )])
        })
}

fn approval(body: &ApprovalBody) -> Result<Approval> {
    match (&body.version, &body.range) {
        (Some(v), None) => semver::Version::parse(v.trim())
            .map(Approval::version)
            .map_err(|e| invalid("version", format!("not a valid semver version: {e}"))),
        (None, Some(r)) => range("range", r).map(|r| Approval::range(&r)),
        _ => Err(invalid(
            "version",
            "give exactly one of `version` or `range`",
        )),
    }
}

// ------------------------------------------------------------------ version constraints

pub(super) async fn create_constraint(
    State(s): State<AppState>,
    mut g: Governed,
) -> Result<Response> {
    let body: CreateConstraintBody = g.authorize(&s, Operation::CreateConstraint, None).await?;
    let cmd = CreateConstraint {
        id: VersionConstraintId::new(),
        technology: body.technology_id,
        range: range("range", &body.range)?,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn change_constraint_range(
    State(s): State<AppState>,
    Path(id): Path<VersionConstraintId>,
    mut g: Governed,
) -> Result<Response> {
    let body: RangeBody = g
        .authorize(&s, Operation::ChangeConstraintRange, Some(id.to_string()))
        .await?;
    let range = range("range", &body.range)?;
    g.execute(&s, &ChangeConstraintRange { id, range }).await
}

async fn transition(
    s: AppState,
    id: VersionConstraintId,
    mut g: Governed,
    operation: Operation,
) -> Result<Response> {
    let _: ReasonOnly = g.authorize(&s, operation, Some(id.to_string())).await?;
    g.execute(&s, &TransitionConstraint { id, operation }).await
}

pub(super) async fn activate_constraint(
    State(s): State<AppState>,
    Path(id): Path<VersionConstraintId>,
    g: Governed,
) -> Result<Response> {
    transition(s, id, g, Operation::Activate).await
}

pub(super) async fn deactivate_constraint(
    State(s): State<AppState>,
    Path(id): Path<VersionConstraintId>,
    g: Governed,
) -> Result<Response> {
    transition(s, id, g, Operation::Deactivate).await
}

pub(super) async fn archive_constraint(
    State(s): State<AppState>,
    Path(id): Path<VersionConstraintId>,
    g: Governed,
) -> Result<Response> {
    transition(s, id, g, Operation::Archive).await
}

pub(super) async fn delete_constraint(
    State(s): State<AppState>,
    Path(id): Path<VersionConstraintId>,
    mut g: Governed,
) -> Result<Response> {
    let _: ReasonOnly = g
        .authorize(&s, Operation::DeleteConstraint, Some(id.to_string()))
        .await?;
    g.execute(&s, &DeleteConstraint { id }).await
}

async fn enforcement(
    s: AppState,
    id: VersionConstraintId,
    team: TeamId,
    mut g: Governed,
    apply: bool,
) -> Result<Response> {
    let cmd = ConstraintEnforcement { id, team, apply };
    let _: ReasonOnly = g
        .authorize(
            &s,
            crate::governance::Command::operation(&cmd),
            Some(id.to_string()),
        )
        .await?;
    g.execute(&s, &cmd).await
}

pub(super) async fn apply_constraint_to_team(
    State(s): State<AppState>,
    Path((id, team)): Path<(VersionConstraintId, TeamId)>,
    g: Governed,
) -> Result<Response> {
    enforcement(s, id, team, g, true).await
}

pub(super) async fn remove_constraint_from_team(
    State(s): State<AppState>,
    Path((id, team)): Path<(VersionConstraintId, TeamId)>,
    g: Governed,
) -> Result<Response> {
    enforcement(s, id, team, g, false).await
}

// ------------------------------------------------------------------ licenses

async fn decide_license(
    s: AppState,
    spdx: &str,
    mut g: Governed,
    decision: LicenseDecision,
) -> Result<Response> {
    let operation = if decision == LicenseDecision::Denied {
        Operation::DenyLicense
    } else {
        Operation::AllowLicense
    };
    let spdx = spdx_id(spdx);
    let target = spdx.as_ref().ok().map(|id| license_id(id).to_string());
    let _: ReasonOnly = g.authorize(&s, operation, target).await?;
    let cmd = DecideLicense {
        spdx_id: spdx?,
        decision,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn allow_license(
    State(s): State<AppState>,
    Path(spdx): Path<String>,
    g: Governed,
) -> Result<Response> {
    decide_license(s, &spdx, g, LicenseDecision::Allowed).await
}

pub(super) async fn deny_license(
    State(s): State<AppState>,
    Path(spdx): Path<String>,
    g: Governed,
) -> Result<Response> {
    decide_license(s, &spdx, g, LicenseDecision::Denied).await
}

async fn whitelist(s: AppState, mut g: Governed, enabled: bool) -> Result<Response> {
    let cmd = SetLicenseWhitelist { enabled };
    let operation = crate::governance::Command::operation(&cmd);
    let _: ReasonOnly = g
        .authorize(&s, operation, Some(license_policy_id().to_string()))
        .await?;
    g.execute(&s, &cmd).await
}

pub(super) async fn enable_whitelist(State(s): State<AppState>, g: Governed) -> Result<Response> {
    whitelist(s, g, true).await
}

pub(super) async fn disable_whitelist(State(s): State<AppState>, g: Governed) -> Result<Response> {
    whitelist(s, g, false).await
}

// ------------------------------------------------------------------ technologies

pub(super) async fn create_technology(
    State(s): State<AppState>,
    mut g: Governed,
) -> Result<Response> {
    let body: CreateTechnologyBody = g.authorize(&s, Operation::CreateTechnology, None).await?;
    let cmd = CreateTechnology {
        id: TechnologyId::new(),
        name: name(&body.name)?,
        risk_level: body.risk_level,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn retire_technology(
    State(s): State<AppState>,
    Path(id): Path<TechnologyId>,
    mut g: Governed,
) -> Result<Response> {
    let _: ReasonOnly = g
        .authorize(&s, Operation::RetireTechnology, Some(id.to_string()))
        .await?;
    g.execute(&s, &RetireTechnology { id }).await
}

pub(super) async fn change_risk_level(
    State(s): State<AppState>,
    Path(id): Path<TechnologyId>,
    mut g: Governed,
) -> Result<Response> {
    let body: RiskLevelBody = g
        .authorize(&s, Operation::ChangeRiskLevel, Some(id.to_string()))
        .await?;
    g.execute(
        &s,
        &ChangeRiskLevel {
            id,
            risk_level: body.risk_level,
        },
    )
    .await
}

pub(super) async fn assign_steward(
    State(s): State<AppState>,
    Path(id): Path<TechnologyId>,
    mut g: Governed,
) -> Result<Response> {
    let body: StewardBody = g
        .authorize(&s, Operation::AssignSteward, Some(id.to_string()))
        .await?;
    let user = user_id("userId", &body.user_id)?;
    g.execute(
        &s,
        &SetSteward {
            technology: id,
            user: Some(user),
        },
    )
    .await
}

pub(super) async fn remove_steward(
    State(s): State<AppState>,
    Path(id): Path<TechnologyId>,
    mut g: Governed,
) -> Result<Response> {
    let _: ReasonOnly = g
        .authorize(&s, Operation::RemoveSteward, Some(id.to_string()))
        .await?;
    g.execute(
        &s,
        &SetSteward {
            technology: id,
            user: None,
        },
    )
    .await
}

/// The approval record a DENIED entry names.
fn approval_target(team: TeamId, technology: TechnologyId) -> String {
    team_approval_id(team, technology).to_string()
}

/// Authorizes, parses `B`, and changes the team's approval record for the technology.
async fn change_approval<B: DeserializeOwned + Reasoned>(
    s: AppState,
    team: TeamId,
    technology: TechnologyId,
    mut g: Governed,
    operation: Operation,
    change: impl FnOnce(B) -> Result<ApprovalChange>,
) -> Result<Response> {
    let body: B = g
        .authorize(&s, operation, Some(approval_target(team, technology)))
        .await?;
    let cmd = TeamApprovalChange {
        team,
        technology,
        change: change(body)?,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn set_time_category(
    State(s): State<AppState>,
    Path((team, technology)): Path<(TeamId, TechnologyId)>,
    g: Governed,
) -> Result<Response> {
    change_approval(
        s,
        team,
        technology,
        g,
        Operation::SetTimeCategory,
        |b: TimeCategoryBody| Ok(ApprovalChange::TimeCategory(b.category)),
    )
    .await
}

pub(super) async fn set_eol_date(
    State(s): State<AppState>,
    Path((team, technology)): Path<(TeamId, TechnologyId)>,
    g: Governed,
) -> Result<Response> {
    change_approval(
        s,
        team,
        technology,
        g,
        Operation::SetEolDate,
        |b: EolDateBody| Ok(ApprovalChange::EolDate(b.eol_date)),
    )
    .await
}

pub(super) async fn set_migration_target(
    State(s): State<AppState>,
    Path((team, technology)): Path<(TeamId, TechnologyId)>,
    g: Governed,
) -> Result<Response> {
    change_approval(
        s,
        team,
        technology,
        g,
        Operation::SetMigrationTarget,
        |b: MigrationTargetBody| Ok(ApprovalChange::MigrationTarget(b.technology_id)),
    )
    .await
}

pub(super) async fn approve_version(
    State(s): State<AppState>,
    Path((team, technology)): Path<(TeamId, TechnologyId)>,
    g: Governed,
) -> Result<Response> {
    change_approval(
        s,
        team,
        technology,
        g,
        Operation::ApproveVersion,
        |b: ApprovalBody| approval(&b).map(ApprovalChange::Approve),
    )
    .await
}

pub(super) async fn revoke_approval(
    State(s): State<AppState>,
    Path((team, technology)): Path<(TeamId, TechnologyId)>,
    g: Governed,
) -> Result<Response> {
    change_approval(
        s,
        team,
        technology,
        g,
        Operation::RevokeApproval,
        |b: ApprovalBody| approval(&b).map(ApprovalChange::Revoke),
    )
    .await
}

// ------------------------------------------------------------------ teams

pub(super) async fn create_team(State(s): State<AppState>, mut g: Governed) -> Result<Response> {
    let body: CreateTeamBody = g.authorize(&s, Operation::CreateTeam, None).await?;
    let cmd = CreateTeam {
        id: TeamId::new(),
        name: name(&body.name)?,
        responsibility_areas: areas(&body.responsibility_areas)?,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn delete_team(
    State(s): State<AppState>,
    Path(id): Path<TeamId>,
    mut g: Governed,
) -> Result<Response> {
    let _: ReasonOnly = g
        .authorize(&s, Operation::DeleteTeam, Some(id.to_string()))
        .await?;
    g.execute(&s, &DeleteTeam { id }).await
}

pub(super) async fn change_responsibility_areas(
    State(s): State<AppState>,
    Path(id): Path<TeamId>,
    mut g: Governed,
) -> Result<Response> {
    let body: AreasBody = g
        .authorize(
            &s,
            Operation::ChangeResponsibilityAreas,
            Some(id.to_string()),
        )
        .await?;
    let cmd = ChangeResponsibilityAreas {
        id,
        responsibility_areas: areas(&body.responsibility_areas)?,
    };
    g.execute(&s, &cmd).await
}

async fn membership(
    s: AppState,
    team: TeamId,
    user: &str,
    mut g: Governed,
    add: bool,
) -> Result<Response> {
    let operation = if add {
        Operation::AddTeamMember
    } else {
        Operation::RemoveTeamMember
    };
    let _: ReasonOnly = g.authorize(&s, operation, Some(team.to_string())).await?;
    let user = UserId::parse(user)
        .map_err(|e| ApiError::InvalidParameters(vec![FieldError::new("userId", e.to_string())]))?;
    g.execute(&s, &TeamMembership { team, user, add }).await
}

pub(super) async fn add_team_member(
    State(s): State<AppState>,
    Path((team, user)): Path<(TeamId, String)>,
    g: Governed,
) -> Result<Response> {
    membership(s, team, &user, g, true).await
}

pub(super) async fn remove_team_member(
    State(s): State<AppState>,
    Path((team, user)): Path<(TeamId, String)>,
    g: Governed,
) -> Result<Response> {
    membership(s, team, &user, g, false).await
}

// ------------------------------------------------------------------ systems

pub(super) async fn create_system(State(s): State<AppState>, mut g: Governed) -> Result<Response> {
    let body: CreateSystemBody = g.authorize(&s, Operation::CreateSystem, None).await?;
    let cmd = CreateSystem {
        id: SystemId::new(),
        name: name(&body.name)?,
        criticality: body.criticality,
        owner: body.owner_team_id,
    };
    g.execute(&s, &cmd).await
}

pub(super) async fn assign_system_owner(
    State(s): State<AppState>,
    Path(id): Path<SystemId>,
    mut g: Governed,
) -> Result<Response> {
    let body: OwnerBody = g
        .authorize(&s, Operation::AssignSystemOwner, Some(id.to_string()))
        .await?;
    g.execute(
        &s,
        &AssignSystemOwner {
            id,
            team: body.team_id,
        },
    )
    .await
}

pub(super) async fn change_criticality(
    State(s): State<AppState>,
    Path(id): Path<SystemId>,
    mut g: Governed,
) -> Result<Response> {
    let body: CriticalityBody = g
        .authorize(&s, Operation::ChangeCriticality, Some(id.to_string()))
        .await?;
    g.execute(
        &s,
        &ChangeCriticality {
            id,
            criticality: body.criticality,
        },
    )
    .await
}
