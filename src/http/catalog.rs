//! The operation catalog: every governed mutation's route, entity types, roles,
//! reason rule, category and severity, served at `GET /v1/catalog`. The governed
//! routes are built from this table, so a write route cannot exist outside it.

use axum::routing::{MethodRouter, delete, get, post, put};
use serde::Serialize;
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{PartialSchema, ToSchema};

use super::extract::Authenticated;
use super::mutations as m;
use super::problem::ApiError;
use super::{Access, AppState, RouteDoc};
use crate::domain::{EntityType, Operation, Role};

/// One catalog row.
pub struct CatalogEntry {
    /// Operation code.
    pub operation: Operation,
    /// HTTP method.
    pub method: &'static str,
    /// Route template.
    pub path: &'static str,
    /// Entity types the entry audits.
    pub entity_types: &'static [EntityType],
    /// Name and JSON schema of the request body.
    pub body: fn() -> (String, RefOr<Schema>),
    route: fn() -> MethodRouter<AppState>,
}

macro_rules! entry {
    ($op:ident, $method:ident, $path:literal, [$($t:ident),+], $handler:path, $body:ty) => {
        CatalogEntry {
            operation: Operation::$op,
            method: method_name!($method),
            path: $path,
            entity_types: &[$(EntityType::$t),+],
            body: || (<$body as ToSchema>::name().into_owned(), <$body as PartialSchema>::schema()),
            route: || $method($handler),
        }
    };
}

macro_rules! method_name {
    (get) => {
        "GET"
    };
    (post) => {
        "POST"
    };
    (put) => {
        "PUT"
    };
    (delete) => {
        "DELETE"
    };
}

/// Every governed operation, in catalog order.
pub static CATALOG: &[CatalogEntry] = &[
    entry!(
        CreateConstraint,
        post,
        "/v1/version-constraints",
        [VersionConstraint, Technology],
        m::create_constraint,
        m::CreateConstraintBody
    ),
    entry!(
        ChangeConstraintRange,
        put,
        "/v1/version-constraints/{id}/range",
        [VersionConstraint],
        m::change_constraint_range,
        m::RangeBody
    ),
    entry!(
        Activate,
        post,
        "/v1/version-constraints/{id}/activate",
        [VersionConstraint],
        m::activate_constraint,
        m::ReasonOnly
    ),
    entry!(
        Deactivate,
        post,
        "/v1/version-constraints/{id}/deactivate",
        [VersionConstraint],
        m::deactivate_constraint,
        m::ReasonOnly
    ),
    entry!(
        Archive,
        post,
        "/v1/version-constraints/{id}/archive",
        [VersionConstraint],
        m::archive_constraint,
        m::ReasonOnly
    ),
    entry!(
        DeleteConstraint,
        delete,
        "/v1/version-constraints/{id}",
        [VersionConstraint],
        m::delete_constraint,
        m::ReasonOnly
    ),
    entry!(
        ApplyConstraintToTeam,
        put,
        "/v1/version-constraints/{id}/teams/{team_id}",
        [VersionConstraint, Team],
        m::apply_constraint_to_team,
        m::ReasonOnly
    ),
    entry!(
        RemoveConstraintFromTeam,
        delete,
        "/v1/version-constraints/{id}/teams/{team_id}",
        [VersionConstraint, Team],
        m::remove_constraint_from_team,
        m::ReasonOnly
    ),
    entry!(
        AllowLicense,
        post,
        "/v1/licenses/{spdx_id}/allow",
        [License],
        m::allow_license,
        m::ReasonOnly
    ),
    entry!(
        DenyLicense,
        post,
        "/v1/licenses/{spdx_id}/deny",
        [License],
        m::deny_license,
        m::ReasonOnly
    ),
    entry!(
        EnableLicenseWhitelist,
        post,
        "/v1/license-policy/whitelist/enable",
        [LicensePolicy],
        m::enable_whitelist,
        m::ReasonOnly
    ),
    entry!(
        DisableLicenseWhitelist,
        post,
        "/v1/license-policy/whitelist/disable",
        [LicensePolicy],
        m::disable_whitelist,
        m::ReasonOnly
    ),
    entry!(
        CreateTechnology,
        post,
        "/v1/technologies",
        [Technology],
        m::create_technology,
        m::CreateTechnologyBody
    ),
    entry!(
        RetireTechnology,
        post,
        "/v1/technologies/{id}/retire",
        [Technology],
        m::retire_technology,
        m::ReasonOnly
    ),
    entry!(
        ChangeRiskLevel,
        put,
        "/v1/technologies/{id}/risk-level",
        [Technology],
        m::change_risk_level,
        m::RiskLevelBody
    ),
    entry!(
        SetTimeCategory,
        put,
        "/v1/teams/{team_id}/technologies/{technology_id}/time-category",
        [TeamApproval, Team, Technology],
        m::set_time_category,
        m::TimeCategoryBody
    ),
    entry!(
        SetEolDate,
        put,
        "/v1/teams/{team_id}/technologies/{technology_id}/eol-date",
        [TeamApproval, Team, Technology],
        m::set_eol_date,
        m::EolDateBody
    ),
    entry!(
        SetMigrationTarget,
        put,
        "/v1/teams/{team_id}/technologies/{technology_id}/migration-target",
        [TeamApproval, Team, Technology],
        m::set_migration_target,
        m::MigrationTargetBody
    ),
    entry!(
        ApproveVersion,
        post,
        "/v1/teams/{team_id}/technologies/{technology_id}/approvals",
        [TeamApproval, Team, Technology, Version],
        m::approve_version,
        m::ApprovalBody
    ),
    entry!(
        RevokeApproval,
        post,
        "/v1/teams/{team_id}/technologies/{technology_id}/approvals/revoke",
        [TeamApproval, Team, Technology],
        m::revoke_approval,
        m::ApprovalBody
    ),
    entry!(
        CreateTeam,
        post,
        "/v1/teams",
        [Team],
        m::create_team,
        m::CreateTeamBody
    ),
    entry!(
        DeleteTeam,
        delete,
        "/v1/teams/{id}",
        [Team],
        m::delete_team,
        m::ReasonOnly
    ),
    entry!(
        ChangeResponsibilityAreas,
        put,
        "/v1/teams/{id}/responsibility-areas",
        [Team],
        m::change_responsibility_areas,
        m::AreasBody
    ),
    entry!(
        AddTeamMember,
        put,
        "/v1/teams/{id}/members/{user_id}",
        [Team, User],
        m::add_team_member,
        m::ReasonOnly
    ),
    entry!(
        RemoveTeamMember,
        delete,
        "/v1/teams/{id}/members/{user_id}",
        [Team, User],
        m::remove_team_member,
        m::ReasonOnly
    ),
    entry!(
        CreateSystem,
        post,
        "/v1/systems",
        [System, Team],
        m::create_system,
        m::CreateSystemBody
    ),
    entry!(
        AssignSystemOwner,
        put,
        "/v1/systems/{id}/owner",
        [System, Team],
        m::assign_system_owner,
        m::OwnerBody
    ),
    entry!(
        ChangeCriticality,
        put,
        "/v1/systems/{id}/criticality",
        [System],
        m::change_criticality,
        m::CriticalityBody
    ),
    entry!(
        AssignSteward,
        put,
        "/v1/technologies/{id}/steward",
        [Technology, User],
        m::assign_steward,
        m::StewardBody
    ),
    entry!(
        RemoveSteward,
        delete,
        "/v1/technologies/{id}/steward",
        [Technology, User],
        m::remove_steward,
        m::ReasonOnly
    ),
];

/// What govtrail deliberately does not audit, with why.
pub const NOT_AUDITED: &[(&str, &str)] = &[
    (
        "SBOM-discovered components",
        "operational data changed by automated ingest; decisions about them (licenses, approvals) are audited",
    ),
    (
        "repositories",
        "operational data changed by automated ingest",
    ),
    ("hashes", "operational data changed by automated ingest"),
    (
        "external references",
        "operational data changed by automated ingest",
    ),
    (
        "reads of governed state",
        "only reads of audit data are restricted; denied ones are recorded",
    ),
];

impl CatalogEntry {
    /// The entry's handler on its method.
    pub fn method_router(&self) -> MethodRouter<AppState> {
        (self.route)()
    }
}

/// The catalog's own route.
pub const ROUTES: &[RouteDoc] = &[RouteDoc {
    path: "/v1/catalog",
    summary: "Every governed operation with its roles, reason rule, category and severity, and what is not audited",
    tag: "catalog",
    access: Access::AnyRole,
    query: &[],
    route: || get(get_catalog),
}];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperationView {
    code: Operation,
    method: &'static str,
    path: &'static str,
    entity_types: &'static [EntityType],
    required_roles: &'static [Role],
    reason_required: bool,
    category: &'static str,
    severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotAuditedView {
    what: &'static str,
    why: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogView {
    policy_version: &'static str,
    operations: Vec<OperationView>,
    not_audited: Vec<NotAuditedView>,
}

/// `GET /v1/catalog`: any authenticated caller with a govtrail role.
async fn get_catalog(caller: Authenticated) -> Result<axum::Json<CatalogView>, ApiError> {
    caller.require(Role::ALL)?;
    Ok(axum::Json(CatalogView {
        policy_version: crate::domain::POLICY_VERSION,
        operations: CATALOG
            .iter()
            .map(|e| OperationView {
                code: e.operation,
                method: e.method,
                path: e.path,
                entity_types: e.entity_types,
                required_roles: e.operation.roles(),
                reason_required: e.operation.reason_required(),
                category: e.operation.category().as_str(),
                severity: e.operation.severity().as_str(),
            })
            .collect(),
        not_audited: NOT_AUDITED
            .iter()
            .map(|(what, why)| NotAuditedView { what, why })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_governed_operation_has_exactly_one_catalog_entry() {
        for op in Operation::ALL.iter().filter(|o| o.is_change()) {
            let n = CATALOG.iter().filter(|e| e.operation == *op).count();
            assert_eq!(n, 1, "{op} has {n} catalog entries");
        }
        assert!(CATALOG.iter().all(|e| e.operation.is_change()));
    }

    #[test]
    fn no_two_entries_share_a_method_and_path() {
        for (i, a) in CATALOG.iter().enumerate() {
            for b in &CATALOG[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} is declared twice",
                    a.method,
                    a.path
                );
            }
        }
    }
}
