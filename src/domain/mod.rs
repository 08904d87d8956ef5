//! Domain vocabulary: ids, entity types, statuses, roles and operation codes.
//! Pure types and rules with no I/O, shared by every other module.

mod ids;
mod model;

pub use ids::{
    AuditLogId, ChangeRequestId, IdError, LicenseId, SystemId, TeamApprovalId, TeamId,
    TechnologyId, UserId, VersionConstraintId, VersionId,
};
pub use model::{
    Category, ConstraintStatus, EntityType, LicenseDecision, Operation, Outcome, Role, Severity,
    Source, TimeCategory, UnknownValue,
};
