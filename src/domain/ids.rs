//! Identifier newtypes. Each governed node's `id` is a UUID string. A `User` is named
//! in entries by its internal [`UserId`] (a UUID govtrail assigns when it first sees a
//! token [`Subject`]); the subject, which an identity provider chooses and which is
//! often an email address, lives only on the `User` node.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a UUID-backed id newtype with parsing, display and serde as a string.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            #[must_use]
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses the canonical (hyphenated) or simple UUID text form.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                Uuid::parse_str(text).map(Self).map_err(|_| IdError::NotAUuid)
            }

            /// The underlying UUID.
            #[must_use]
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Id of a `Team`.
    TeamId
);
uuid_id!(
    /// Id of a `System`.
    SystemId
);
uuid_id!(
    /// Id of a `Technology`.
    TechnologyId
);
uuid_id!(
    /// Id of a `Version` of a technology.
    VersionId
);
uuid_id!(
    /// Id of a `VersionConstraint`.
    VersionConstraintId
);
uuid_id!(
    /// Id of a `License` node (its natural key is the SPDX id).
    LicenseId
);
uuid_id!(
    /// Id of a `TeamApproval` (team + technology).
    TeamApprovalId
);
uuid_id!(
    /// Id of a `ChangeRequest` awaiting a second approver.
    ChangeRequestId
);
uuid_id!(
    /// Id of an `AuditLog` entry.
    AuditLogId
);

/// Why an id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text is not a UUID.
    #[error("must be a UUID")]
    NotAUuid,
    /// A user id or token subject is empty, too long or has control characters.
    #[error("must be 1 to {max} printable characters", max = UserId::MAX_LEN)]
    BadSubject,
}

/// Internal id of a `User`, the only way entries name a person. Users first seen
/// since pseudonymization get a random UUID; users created before it keep the id
/// they were created with (their subject then), because entries already written name
/// them by it and those entries are never rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Longest accepted subject, in characters.
    pub const MAX_LEN: usize = 256;

    /// Accepts 1..=256 characters with no control characters.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let len = text.chars().count();
        if len == 0 || len > Self::MAX_LEN || text.chars().any(char::is_control) {
            return Err(IdError::BadSubject);
        }
        Ok(Self(text.to_owned()))
    }

    /// The id text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fresh random id for a user seen for the first time.
    #[must_use]
    pub fn fresh() -> Self {
        Self(Uuid::new_v4().to_string())
    }
}

impl TryFrom<String> for UserId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The `sub` claim of a caller's token. Personal data in many identity providers
/// (an email address): it is stored only on the `User` node and never reaches an
/// entry, a response about someone else, or a log line.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subject(String);

impl Subject {
    /// Accepts 1..=256 characters with no control characters.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        UserId::parse(text).map(|id| Self(id.0))
    }

    /// The subject text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed: a subject is often an email address.
impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subject(..)")
    }
}

impl TryFrom<String> for Subject {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Subject> for String {
    fn from(value: Subject) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_through_text() {
        let id = TeamId::new();
        assert_eq!(TeamId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn uuid_ids_reject_other_text() {
        assert_eq!(TeamId::parse("not-a-uuid"), Err(IdError::NotAUuid));
        assert_eq!(AuditLogId::parse(""), Err(IdError::NotAUuid));
    }

    #[test]
    fn user_ids_are_bounded_printable_text() {
        assert!(UserId::parse("alice@idp").is_ok());
        assert_eq!(UserId::parse(""), Err(IdError::BadSubject));
        assert_eq!(UserId::parse("a\nb"), Err(IdError::BadSubject));
        assert_eq!(UserId::parse(&"x".repeat(257)), Err(IdError::BadSubject));
        assert!(UserId::parse(&"x".repeat(256)).is_ok());
    }

    #[test]
    fn subjects_never_show_in_debug_output() {
        let s = Subject::parse("mallory@example.com").unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{s:?}").contains("mallory"));
        assert_ne!(UserId::fresh(), UserId::fresh());
    }

    #[test]
    fn user_id_deserialization_validates() {
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<UserId>("\"svc-sbom\"").ok(),
            UserId::parse("svc-sbom").ok()
        );
    }
}
