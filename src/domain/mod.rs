//! Domain vocabulary: ids, entity types, statuses, roles and operation codes.
//! Pure types and rules with no I/O, shared by every other module.

mod field;
mod ids;
mod keys;
mod model;
pub mod text;

pub use field::FieldError;
pub use ids::{
    AuditLogId, ChangeRequestId, IdError, LicenseId, Subject, SystemId, TeamApprovalId, TeamId,
    TechnologyId, UserId, VersionConstraintId, VersionId,
};
pub use keys::{license_id, license_policy_id, team_approval_id, version_node_id};
pub use model::{
    Category, ConstraintStatus, Criticality, EntityType, LicenseDecision, Operation, Outcome,
    POLICY_VERSION, RelType, RequestState, RiskLevel, Role, Severity, Source, TimeCategory,
    UnknownValue,
};
