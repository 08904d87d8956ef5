//! The governed vocabulary: entity types, statuses, roles, sources, outcomes and the
//! operation codes stored on `AuditLog` entries. Pure types; no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a closed string enum with `as_str`, `Display`, `FromStr`, serde and `ALL`.
///
/// The string is the stored and wire form; it never changes once released, because
/// audit entries written with it must keep their meaning.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored and wire form.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        // Written by hand: the schema must list the wire forms, which a derive cannot
        // read from a macro-built `serde(rename)`.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: text.chars().take(64).collect() }),
                }
            }
        }
    };
}

/// A string that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    /// Which enum was asked.
    pub kind: &'static str,
    /// The rejected text (truncated to 64 characters).
    pub value: String,
}

string_enum!(
    /// A governed node label. Labels cannot be Cypher parameters, so queries that need
    /// one take it from here and never from input text.
    EntityType {
        /// A person or service account (the token subject).
        User => "User",
        /// A team; members, responsibility areas.
        Team => "Team",
        /// A system owned by a team.
        System => "System",
        /// A technology with versions, risk level and a steward.
        Technology => "Technology",
        /// One version of a technology.
        Version => "Version",
        /// A semver range constraint on a technology, enforced for teams.
        VersionConstraint => "VersionConstraint",
        /// An SPDX license and its decision.
        License => "License",
        /// The global license policy (whitelist on/off).
        LicensePolicy => "LicensePolicy",
        /// A team's TIME categorization and approvals of one technology.
        TeamApproval => "TeamApproval",
        /// A privileged mutation waiting for a second approver.
        ChangeRequest => "ChangeRequest",
    }
);

impl EntityType {
    /// The Neo4j label of this entity type (the same text as its wire form).
    #[must_use]
    pub const fn label(self) -> &'static str {
        self.as_str()
    }
}

string_enum!(
    /// Lifecycle of a `VersionConstraint`.
    ConstraintStatus {
        /// Created, not yet enforced.
        Draft => "DRAFT",
        /// Enforced.
        Active => "ACTIVE",
        /// Switched off, can be re-activated.
        Inactive => "INACTIVE",
        /// Retired for good.
        Archived => "ARCHIVED",
    }
);

string_enum!(
    /// Gartner TIME categorization of a technology for a team.
    TimeCategory {
        /// Keep, but do not invest.
        Tolerate => "TOLERATE",
        /// Strategic: invest.
        Invest => "INVEST",
        /// Move away to a target.
        Migrate => "MIGRATE",
        /// Remove.
        Eliminate => "ELIMINATE",
    }
);

string_enum!(
    /// A license decision.
    LicenseDecision {
        /// May be used.
        Allowed => "ALLOWED",
        /// May not be used.
        Denied => "DENIED",
        /// No decision yet.
        Undecided => "UNDECIDED",
    }
);

string_enum!(
    /// Risk level of a technology.
    RiskLevel {
        /// Little risk.
        Low => "LOW",
        /// Some risk.
        Medium => "MEDIUM",
        /// Serious risk.
        High => "HIGH",
        /// Unacceptable without mitigation.
        Critical => "CRITICAL",
    }
);

string_enum!(
    /// Business criticality of a system.
    Criticality {
        /// Can be down for days.
        Low => "LOW",
        /// Can be down for hours.
        Medium => "MEDIUM",
        /// Must be up in business hours.
        High => "HIGH",
        /// Must always be up.
        Critical => "CRITICAL",
    }
);

string_enum!(
    /// Governed relationship types. Like labels, relationship types cannot be Cypher
    /// parameters, so the only ones written come from here.
    RelType {
        /// `(User)-[:MEMBER_OF]->(Team)`.
        MemberOf => "MEMBER_OF",
        /// `(Team)-[:OWNS]->(System)`.
        Owns => "OWNS",
        /// `(User)-[:STEWARD_OF]->(Technology)`.
        StewardOf => "STEWARD_OF",
        /// `(VersionConstraint)-[:ENFORCED_FOR]->(Team)`.
        EnforcedFor => "ENFORCED_FOR",
        /// `(VersionConstraint)-[:CONSTRAINS]->(Technology)`.
        Constrains => "CONSTRAINS",
        /// `(Technology)-[:HAS_VERSION]->(Version)`.
        HasVersion => "HAS_VERSION",
        /// `(Team)-[:HAS_APPROVAL]->(TeamApproval)`.
        HasApproval => "HAS_APPROVAL",
        /// `(TeamApproval)-[:FOR_TECHNOLOGY]->(Technology)`.
        ForTechnology => "FOR_TECHNOLOGY",
    }
);

string_enum!(
    /// A caller's role, from the configured token claim.
    Role {
        /// Reads audit data; nobody else does.
        Superuser => "superuser",
        /// Human governance operator; makes governed mutations.
        GovernanceAdmin => "governance-admin",
        /// Gives second approvals on change requests.
        Approver => "approver",
        /// Service account (SBOM pipeline, other APIs) making governed mutations.
        Integration => "integration",
    }
);

string_enum!(
    /// Where a change came from. Taken from the token, never from a request body.
    Source {
        /// An API caller (human or integration).
        Api => "API",
        /// The SBOM pipeline.
        Sbom => "SBOM",
        /// govtrail's own jobs; never granted to a token.
        System => "System",
    }
);

string_enum!(
    /// What happened to an attempted operation.
    Outcome {
        /// The change was applied.
        Succeeded => "SUCCEEDED",
        /// The caller lacked the role.
        Denied => "DENIED",
        /// A precondition failed after authorization.
        Rejected => "REJECTED",
    }
);

string_enum!(
    /// How serious an operation is, for reviewers and alerting.
    Severity {
        /// Routine.
        Low => "low",
        /// Worth a look.
        Medium => "medium",
        /// Changes what may be used or who holds power.
        High => "high",
        /// Bypassed a control: a break-glass change, run without its approvals.
        Critical => "critical",
    }
);

string_enum!(
    /// Catalog grouping of operations.
    Category {
        /// Version constraint lifecycle and enforcement.
        VersionConstraint => "version-constraint",
        /// License decisions and the whitelist.
        License => "license",
        /// Technologies, versions and team approvals.
        TechnologyApproval => "technology-approval",
        /// Teams and their members.
        TeamMembership => "team-membership",
        /// System ownership and technology stewardship.
        Ownership => "ownership",
        /// Reading or exporting audit data.
        AuditAccess => "audit-access",
        /// Users' pseudonyms and the erasure of their personal data.
        Identity => "identity",
        /// Change requests: asking for, approving, rejecting, withdrawing and expiring
        /// a change that needs a second person.
        ChangeControl => "change-control",
    }
);

string_enum!(
    /// Lifecycle of a `ChangeRequest`. PENDING is the only state that moves.
    RequestState {
        /// Waiting for approvals.
        Pending => "PENDING",
        /// Approved; its command ran in the transaction of the last approval.
        Executed => "EXECUTED",
        /// An approver rejected it.
        Rejected => "REJECTED",
        /// Nobody approved it in time.
        Expired => "EXPIRED",
        /// Its requester withdrew it.
        Withdrawn => "WITHDRAWN",
        /// Its last approval came, but the command could not run (a target changed
        /// since the request, or the command no longer applies); nothing ran.
        Failed => "FAILED",
    }
);

string_enum!(
    /// Operation codes stored in `AuditLog.operation`. The seed's codes are kept verbatim
    /// (`ACTIVATE`, `DENY_LICENSE`, `ADD_TEAM_MEMBER`, ...); the rest follow the same style.
    Operation {
        /// Create a DRAFT version constraint.
        CreateConstraint => "CREATE_CONSTRAINT",
        /// Change a constraint's semver range.
        ChangeConstraintRange => "CHANGE_CONSTRAINT_RANGE",
        /// DRAFT/INACTIVE -> ACTIVE.
        Activate => "ACTIVATE",
        /// ACTIVE -> INACTIVE.
        Deactivate => "DEACTIVATE",
        /// Any non-archived -> ARCHIVED.
        Archive => "ARCHIVE",
        /// Delete a constraint (kept as a tombstone).
        DeleteConstraint => "DELETE_CONSTRAINT",
        /// Enforce a constraint for a team.
        ApplyConstraintToTeam => "APPLY_CONSTRAINT_TO_TEAM",
        /// Stop enforcing a constraint for a team.
        RemoveConstraintFromTeam => "REMOVE_CONSTRAINT_FROM_TEAM",
        /// Allow a license.
        AllowLicense => "ALLOW_LICENSE",
        /// Deny a license.
        DenyLicense => "DENY_LICENSE",
        /// Turn the license whitelist on.
        EnableLicenseWhitelist => "ENABLE_LICENSE_WHITELIST",
        /// Turn the license whitelist off.
        DisableLicenseWhitelist => "DISABLE_LICENSE_WHITELIST",
        /// Create a technology.
        CreateTechnology => "CREATE_TECHNOLOGY",
        /// Retire a technology: its stewardship, ACTIVE constraints and team approvals
        /// end, and it becomes a tombstone.
        RetireTechnology => "RETIRE_TECHNOLOGY",
        /// Change a technology's risk level.
        ChangeRiskLevel => "CHANGE_RISK_LEVEL",
        /// Set a team's TIME category for a technology.
        SetTimeCategory => "SET_TIME_CATEGORY",
        /// Set a team's end-of-life date for a technology.
        SetEolDate => "SET_EOL_DATE",
        /// Set a team's migration target for a technology.
        SetMigrationTarget => "SET_MIGRATION_TARGET",
        /// Approve a version (or range) of a technology for a team.
        ApproveVersion => "APPROVE_VERSION",
        /// Revoke an approval; supersedes the approval entry.
        RevokeApproval => "REVOKE_APPROVAL",
        /// Create a team.
        CreateTeam => "CREATE_TEAM",
        /// Delete a team (kept as a tombstone).
        DeleteTeam => "DELETE_TEAM",
        /// Change a team's responsibility areas.
        ChangeResponsibilityAreas => "CHANGE_RESPONSIBILITY_AREAS",
        /// Add a user to a team.
        AddTeamMember => "ADD_TEAM_MEMBER",
        /// Remove a user from a team.
        RemoveTeamMember => "REMOVE_TEAM_MEMBER",
        /// Create a system.
        CreateSystem => "CREATE_SYSTEM",
        /// Assign or transfer a system's owning team.
        AssignSystemOwner => "ASSIGN_SYSTEM_OWNER",
        /// Change a system's criticality.
        ChangeCriticality => "CHANGE_CRITICALITY",
        /// Retire a system: its ownership ends and it becomes a tombstone.
        RetireSystem => "RETIRE_SYSTEM",
        /// Make a user steward of a technology.
        AssignSteward => "ASSIGN_STEWARD",
        /// Remove a technology's steward.
        RemoveSteward => "REMOVE_STEWARD",
        /// Register a token subject as a user (its internal id) before it first signs in.
        RegisterUser => "REGISTER_USER",
        /// Erase a user's subject, display name and email; entries keep its internal id.
        EraseUserPii => "ERASE_USER_PII",
        /// Ask for a change that needs approval: the command waits in a change request.
        RequestChange => "REQUEST_CHANGE",
        /// Approve a change request; the last required approval runs its command.
        ApproveChange => "APPROVE_CHANGE",
        /// Reject a change request (it ends).
        RejectChange => "REJECT_CHANGE",
        /// Withdraw one's own change request (it ends).
        WithdrawChange => "WITHDRAW_CHANGE",
        /// A change request ran out of time (recorded by govtrail itself).
        ExpireChange => "EXPIRE_CHANGE",
        /// Review a break-glass change: someone other than its actor has looked at it.
        ReviewBreakGlass => "REVIEW_BREAK_GLASS",
        /// Set an entity's governed state back to an earlier entry; supersedes the
        /// entries it reverts.
        Rollback => "ROLLBACK",
        /// Read audit data (recorded only when denied).
        ReadAudit => "READ_AUDIT",
        /// Export audit data.
        Export => "EXPORT",
    }
);

/// Version of the governance rule set (transition tables, reason and role rules)
/// under which a decision was checked; stored on every entry as `policyVersion`.
/// Bump it whenever those rules change, so an entry names the rules it obeyed.
pub const POLICY_VERSION: &str = "govtrail-rules/2026-12.1";

impl ConstraintStatus {
    /// The status an action leads to from `self`, or `None` if the transition is illegal.
    /// ARCHIVED is final; re-activating an INACTIVE constraint is allowed.
    #[must_use]
    pub const fn transition(self, op: Operation) -> Option<Self> {
        use ConstraintStatus as S;
        match (self, op) {
            (S::Draft | S::Inactive, Operation::Activate) => Some(S::Active),
            (S::Active, Operation::Deactivate) => Some(S::Inactive),
            (S::Draft | S::Active | S::Inactive, Operation::Archive) => Some(S::Archived),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_round_trips_through_its_text() {
        for op in Operation::ALL {
            assert_eq!(op.as_str().parse::<Operation>(), Ok(*op));
            assert_eq!(
                serde_json::to_string(op).ok(),
                Some(format!("\"{}\"", op.as_str()))
            );
        }
        for t in EntityType::ALL {
            assert_eq!(t.as_str().parse::<EntityType>(), Ok(*t));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
    }

    #[test]
    fn enum_schemas_list_the_wire_forms() {
        use utoipa::PartialSchema as _;
        let schema = serde_json::to_value(Source::schema()).unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["API", "SBOM", "System"]));
        let schema = serde_json::to_value(Role::schema()).unwrap_or_default();
        assert_eq!(schema["enum"][1], "governance-admin");
    }

    #[test]
    fn seed_operation_codes_are_kept_verbatim() {
        assert_eq!(Operation::Activate.as_str(), "ACTIVATE");
        assert_eq!(Operation::Deactivate.as_str(), "DEACTIVATE");
        assert_eq!(Operation::Archive.as_str(), "ARCHIVE");
        assert_eq!(Operation::AllowLicense.as_str(), "ALLOW_LICENSE");
        assert_eq!(Operation::DenyLicense.as_str(), "DENY_LICENSE");
        assert_eq!(Operation::AddTeamMember.as_str(), "ADD_TEAM_MEMBER");
        assert_eq!(Operation::RemoveTeamMember.as_str(), "REMOVE_TEAM_MEMBER");
    }

    #[test]
    fn unknown_text_is_rejected_with_its_kind() {
        let err = "SUPERUSER".parse::<Role>().err();
        assert_eq!(
            err,
            Some(UnknownValue {
                kind: "Role",
                value: "SUPERUSER".into()
            })
        );
    }

    #[test]
    fn constraint_lifecycle_allows_only_legal_transitions() {
        use ConstraintStatus as S;
        assert_eq!(S::Draft.transition(Operation::Activate), Some(S::Active));
        assert_eq!(
            S::Active.transition(Operation::Deactivate),
            Some(S::Inactive)
        );
        assert_eq!(S::Inactive.transition(Operation::Activate), Some(S::Active));
        assert_eq!(
            S::Inactive.transition(Operation::Archive),
            Some(S::Archived)
        );
        assert_eq!(S::Archived.transition(Operation::Activate), None);
        assert_eq!(S::Archived.transition(Operation::Archive), None);
        assert_eq!(S::Draft.transition(Operation::Deactivate), None);
        assert_eq!(S::Active.transition(Operation::AllowLicense), None);
    }

    #[test]
    fn system_source_is_a_distinct_value() {
        assert_eq!("System".parse::<Source>(), Ok(Source::System));
        assert!("system".parse::<Source>().is_err());
    }
}
