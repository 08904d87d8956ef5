//! `GET /v1/catalog` and the governed routes, both built from the operation catalog
//! ([`crate::governance::catalog`]): a write route cannot exist outside it.

use axum::extract::{Request, State};
use axum::routing::{MethodFilter, MethodRouter, get, on};
use serde::Serialize;

use super::extract::Authenticated;
use super::governed::serve_governed;
use super::problem::ApiError;
use super::{Access, AppState, MediaType, RouteDoc, schemas};
use crate::domain::{EntityType, Operation, Role};
use crate::governance::ApprovalPolicy;
use crate::governance::catalog::{Method, routed};
use crate::governance::commands::ChecklistItem;

/// Every governed route: its path and its method router (the generic governed handler
/// bound to the route's catalog row).
pub fn governed_routes() -> impl Iterator<Item = (&'static str, MethodRouter<AppState>)> {
    routed().map(|(definition, route)| {
        let filter = match route.method {
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Delete => MethodFilter::DELETE,
        };
        let handler = on(filter, move |state: State<AppState>, request: Request| {
            serve_governed(definition, route, state, request)
        });
        (route.path, handler)
    })
}

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
        "a token subject's first sign-in",
        "creates the User its internal id belongs to; the subject is personal data and never enters an entry (the user's entries name it by id; REGISTER_USER, which registers a subject ahead of sign-in, is audited)",
    ),
    (
        "reads of governed state",
        "only reads of audit data are restricted; denied ones are recorded",
    ),
];

/// The catalog's own route.
pub const ROUTES: &[RouteDoc] = &[RouteDoc {
    path: "/v1/catalog",
    summary: "Every governed operation with its roles, reason rule, category, severity and effective approval policy, the policy version, and what is not audited",
    tag: "catalog",
    access: Access::AnyRole,
    query: &[],
    response: (MediaType::Json, schemas::catalog),
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
    /// The effective approval policy: `null` when the operation runs at once.
    approval: Option<ApprovalPolicy>,
    /// What a request must acknowledge (`acknowledged`), item by item.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    checklist: &'static [ChecklistItem],
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
    policy_version: String,
    change_request_ttl_secs: u64,
    operations: Vec<OperationView>,
    not_audited: Vec<NotAuditedView>,
}

/// `GET /v1/catalog`: any authenticated caller with a govtrail role.
async fn get_catalog(
    State(state): State<AppState>,
    caller: Authenticated,
) -> Result<axum::Json<CatalogView>, ApiError> {
    caller.require(Role::ALL)?;
    let policies = state.governor.policies();
    Ok(axum::Json(CatalogView {
        policy_version: policies.version().to_owned(),
        change_request_ttl_secs: state.settings.change_request_ttl_secs,
        operations: routed()
            .map(|(d, route)| OperationView {
                code: d.operation,
                method: route.method.as_str(),
                path: route.path,
                entity_types: d.audits,
                required_roles: d.roles,
                reason_required: d.reason_required(),
                category: d.category.as_str(),
                severity: d.severity.as_str(),
                approval: policies.of(d.operation),
                checklist: d.checklist,
            })
            .collect(),
        not_audited: NOT_AUDITED
            .iter()
            .map(|(what, why)| NotAuditedView { what, why })
            .collect(),
    }))
}
