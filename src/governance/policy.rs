//! Approval policies: which operations wait for a second person, and how many
//! approvals of which role they need. Each operation's default is in its catalog row;
//! settings (`approval_policies`) override it. The effective table names itself in
//! every entry's `policyVersion`: the rule set's version, plus a digest of the table
//! when it differs from the defaults, so an entry always says which policy it obeyed.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::catalog::{self, DefaultPolicy};
use crate::config::{PolicyName, PolicySetting};
use crate::domain::{Operation, POLICY_VERSION, Role};

/// Most approvals a policy may ask for.
pub const MAX_APPROVALS: u32 = 10;

/// What an operation needs before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalPolicy {
    /// Approvals needed, each by a different person, none of them the requester.
    pub approvals: u32,
    /// The role each approver must hold.
    pub role: Role,
}

/// Dual approval: the requester and one approver.
pub const DUAL: ApprovalPolicy = ApprovalPolicy {
    approvals: 1,
    role: Role::Approver,
};

/// A setting that cannot be a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The operation is not one a caller asks for through its own route.
    #[error("{0} cannot have an approval policy (it is not a change a caller asks for)")]
    NotGoverned(Operation),
    /// Zero approvals, or too many.
    #[error("{operation}: approvals must be 1 to {MAX_APPROVALS}, not {approvals}")]
    Approvals {
        /// The operation.
        operation: Operation,
        /// The number given.
        approvals: u32,
    },
    /// Integrations are machines: they cannot be the second person.
    #[error("{0}: an approver must be a person (role approver, governance-admin or superuser)")]
    Role(Operation),
}

/// The effective approval policy of every operation.
#[derive(Debug, Clone)]
pub struct Policies {
    table: BTreeMap<Operation, Option<ApprovalPolicy>>,
    version: String,
}

impl Policies {
    /// The catalog's defaults with `overrides` applied.
    pub fn new(overrides: &BTreeMap<Operation, PolicySetting>) -> Result<Self, PolicyError> {
        let mut table: BTreeMap<Operation, Option<ApprovalPolicy>> = catalog::routed()
            .filter(|(d, _)| d.approval != DefaultPolicy::Never)
            .map(|(d, _)| (d.operation, default_of(d.approval)))
            .collect();
        let defaults = table.clone();
        for (operation, setting) in overrides {
            let slot = table
                .get_mut(operation)
                .ok_or(PolicyError::NotGoverned(*operation))?;
            *slot = match *setting {
                PolicySetting::Named(PolicyName::None) => None,
                PolicySetting::Named(PolicyName::Default) => defaults[operation],
                PolicySetting::Rule { approvals, role } => {
                    if approvals == 0 || approvals > MAX_APPROVALS {
                        return Err(PolicyError::Approvals {
                            operation: *operation,
                            approvals,
                        });
                    }
                    if role == Role::Integration {
                        return Err(PolicyError::Role(*operation));
                    }
                    Some(ApprovalPolicy { approvals, role })
                }
            };
        }
        let version = if table == defaults {
            POLICY_VERSION.to_owned()
        } else {
            let digest = Sha256::digest(serde_jcs::to_vec(&as_json(&table)).unwrap_or_default());
            format!("{POLICY_VERSION}+{}", &hex::encode(digest)[..12])
        };
        Ok(Self { table, version })
    }

    /// The catalog's defaults.
    #[must_use]
    pub fn defaults() -> Self {
        Self::new(&BTreeMap::new()).unwrap_or_else(|_| unreachable!("no overrides"))
    }

    /// What `operation` needs before it runs (`None`: it runs at once).
    #[must_use]
    pub fn of(&self, operation: Operation) -> Option<ApprovalPolicy> {
        self.table.get(&operation).copied().flatten()
    }

    /// The version entries record: the rule set's, plus a digest of this table when
    /// it is not the defaults.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The table as served in `/v1/catalog`: operation code → policy or `null`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        as_json(&self.table)
    }
}

fn default_of(approval: DefaultPolicy) -> Option<ApprovalPolicy> {
    match approval {
        DefaultPolicy::Dual => Some(DUAL),
        DefaultPolicy::None | DefaultPolicy::Never => None,
    }
}

fn as_json(table: &BTreeMap<Operation, Option<ApprovalPolicy>>) -> Value {
    Value::Object(
        table
            .iter()
            .map(|(op, p)| (op.as_str().to_owned(), json!(p)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_ask_a_second_person_for_what_takes_something_away() {
        let p = Policies::defaults();
        for op in [
            Operation::DeleteConstraint,
            Operation::DenyLicense,
            Operation::DisableLicenseWhitelist,
            Operation::RevokeApproval,
            Operation::AssignSystemOwner,
            Operation::RetireTechnology,
            Operation::RetireSystem,
            Operation::Rollback,
            Operation::EraseUserPii,
        ] {
            assert_eq!(p.of(op), Some(DUAL), "{op}");
        }
        assert_eq!(p.of(Operation::AddTeamMember), None);
        assert_eq!(p.of(Operation::ApproveChange), None);
        assert_eq!(p.version(), POLICY_VERSION);
    }

    #[test]
    fn overrides_change_the_table_and_its_version() {
        let overrides = BTreeMap::from([
            (
                Operation::DeleteConstraint,
                PolicySetting::Rule {
                    approvals: 2,
                    role: Role::Approver,
                },
            ),
            (
                Operation::DenyLicense,
                PolicySetting::Named(PolicyName::None),
            ),
        ]);
        let p = Policies::new(&overrides).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.of(Operation::DeleteConstraint).map(|p| p.approvals),
            Some(2)
        );
        assert_eq!(p.of(Operation::DenyLicense), None);
        assert!(p.version().starts_with(&format!("{POLICY_VERSION}+")));
        assert_eq!(p.version().len(), POLICY_VERSION.len() + 13);
        // Setting the defaults explicitly is the default table.
        let same = BTreeMap::from([(
            Operation::DenyLicense,
            PolicySetting::Named(PolicyName::Default),
        )]);
        assert_eq!(
            Policies::new(&same).map(|p| p.version().to_owned()),
            Ok(POLICY_VERSION.to_owned())
        );
    }

    #[test]
    fn impossible_policies_are_refused() {
        let zero = BTreeMap::from([(
            Operation::DenyLicense,
            PolicySetting::Rule {
                approvals: 0,
                role: Role::Approver,
            },
        )]);
        assert!(matches!(
            Policies::new(&zero),
            Err(PolicyError::Approvals { .. })
        ));
        let machine = BTreeMap::from([(
            Operation::DenyLicense,
            PolicySetting::Rule {
                approvals: 1,
                role: Role::Integration,
            },
        )]);
        assert!(matches!(Policies::new(&machine), Err(PolicyError::Role(_))));
        let read = BTreeMap::from([(Operation::ReadAudit, PolicySetting::Named(PolicyName::None))]);
        assert!(matches!(
            Policies::new(&read),
            Err(PolicyError::NotGoverned(_))
        ));
        let approve = BTreeMap::from([(
            Operation::ApproveChange,
            PolicySetting::Named(PolicyName::None),
        )]);
        assert!(matches!(
            Policies::new(&approve),
            Err(PolicyError::NotGoverned(_))
        ));
    }
}
