//! The authenticated caller.

use std::collections::BTreeSet;
use std::fmt;

use jsonwebtoken::Algorithm;
use secrecy::SecretString;

use crate::domain::{Role, Source, Subject};

/// How the caller proved who they are; recorded on audit entries as `authMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A bearer JWT verified with the given algorithm.
    Jwt(Algorithm),
    /// govtrail itself (its own jobs): no token.
    Internal,
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jwt(alg) => write!(f, "jwt:{alg:?}"),
            Self::Internal => f.write_str("internal"),
        }
    }
}

/// A caller whose token verified. The subject, name and email are personal data: they
/// are kept only to be stored on the `User` node, none is shown by `Debug`, and none
/// reaches an audit entry (entries name the caller by its internal user id).
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token subject; maps to the `User` node's internal id.
    pub subject: Subject,
    /// Recognised roles (unknown role names are ignored).
    pub roles: BTreeSet<Role>,
    /// `API` or `SBOM`, from the token (integrations only; `API` otherwise).
    pub source: Source,
    /// How the token was verified.
    pub auth_method: AuthMethod,
    /// `name` claim, for the `User` node.
    pub display_name: Option<String>,
    /// `email` claim, for the `User` node only.
    pub email: Option<SecretString>,
    /// When the credential stops being valid (`exp`); `None` for govtrail itself.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Principal {
    /// True if the caller holds any of `roles`.
    #[must_use]
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }
}
