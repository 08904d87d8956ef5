//! Commands as data: every governed change is a [`Command`], a serde value whose
//! canonical JSON (RFC 8785) is `{"input": {...}, "operation": "<CODE>"}` and whose
//! digest is the SHA-256 of those bytes. A change request stores the canonical form
//! and runs exactly that command once approved; the digest pins it.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::commands::{
    AssignSystemOwner, ChangeAction, ChangeConstraintRange, ChangeCriticality,
    ChangeResponsibilityAreas, ChangeRiskLevel, ConstraintEnforcement, CreateConstraint,
    CreateSystem, CreateTeam, CreateTechnology, Decide, DecideLicense, DeleteConstraint,
    DeleteTeam, EraseUserPii, RegisterUser, RetireSystem, RetireTechnology, Rollback,
    SetLicenseWhitelist, SetSteward, TeamApprovalChange, TeamMembership, TransitionConstraint,
};
use crate::domain::Operation;

/// Declares [`Command`] with one variant per governed operation (named like its
/// [`Operation`]), its serde form, and the one match that maps each variant to its
/// code and its decision logic. A variant whose name is not an operation does not
/// compile.
macro_rules! commands {
    ($($variant:ident($input:ty)),+ $(,)?) => {
        /// A governed change, ready to run.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Command {
            $(
                #[doc = concat!("`", stringify!($variant), "`.")]
                $variant($input),
            )+
        }

        impl Command {
            /// The operation code and the decision logic of this command.
            fn parts(&self) -> (Operation, &dyn Decide) {
                match self {
                    $(Self::$variant(input) => (Operation::$variant, input),)+
                }
            }

            fn input_value(&self) -> Result<Value, serde_json::Error> {
                match self {
                    $(Self::$variant(input) => serde_json::to_value(input),)+
                }
            }

            fn from_parts(operation: Operation, input: Value) -> Result<Self, String> {
                match operation {
                    $(Operation::$variant => serde_json::from_value(input)
                        .map(Self::$variant)
                        .map_err(|e| e.to_string()),)+
                    other => Err(format!("{other} is not a governed command")),
                }
            }
        }
    };
}

commands! {
    CreateConstraint(CreateConstraint),
    ChangeConstraintRange(ChangeConstraintRange),
    Activate(TransitionConstraint),
    Deactivate(TransitionConstraint),
    Archive(TransitionConstraint),
    DeleteConstraint(DeleteConstraint),
    ApplyConstraintToTeam(ConstraintEnforcement),
    RemoveConstraintFromTeam(ConstraintEnforcement),
    AllowLicense(DecideLicense),
    DenyLicense(DecideLicense),
    EnableLicenseWhitelist(SetLicenseWhitelist),
    DisableLicenseWhitelist(SetLicenseWhitelist),
    CreateTechnology(CreateTechnology),
    RetireTechnology(RetireTechnology),
    ChangeRiskLevel(ChangeRiskLevel),
    SetTimeCategory(TeamApprovalChange),
    SetEolDate(TeamApprovalChange),
    SetMigrationTarget(TeamApprovalChange),
    ApproveVersion(TeamApprovalChange),
    RevokeApproval(TeamApprovalChange),
    CreateTeam(CreateTeam),
    DeleteTeam(DeleteTeam),
    ChangeResponsibilityAreas(ChangeResponsibilityAreas),
    AddTeamMember(TeamMembership),
    RemoveTeamMember(TeamMembership),
    CreateSystem(CreateSystem),
    AssignSystemOwner(AssignSystemOwner),
    ChangeCriticality(ChangeCriticality),
    RetireSystem(RetireSystem),
    AssignSteward(SetSteward),
    RemoveSteward(SetSteward),
    RegisterUser(RegisterUser),
    EraseUserPii(EraseUserPii),
    ApproveChange(ChangeAction),
    RejectChange(ChangeAction),
    WithdrawChange(ChangeAction),
    ExpireChange(ChangeAction),
    ReviewBreakGlass(ChangeAction),
    Rollback(Rollback),
}

impl Command {
    /// Its operation code.
    #[must_use]
    pub fn operation(&self) -> Operation {
        self.parts().0
    }

    /// Its decision logic.
    #[must_use]
    pub fn decider(&self) -> &dyn Decide {
        self.parts().1
    }

    /// The RFC 8785 canonical JSON of the command.
    pub fn canonical_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_jcs::to_vec(self)
    }

    /// `sha256:<hex>` of the canonical JSON.
    pub fn digest(&self) -> Result<String, serde_json::Error> {
        Ok(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.canonical_json()?))
        ))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tagged {
    operation: Operation,
    input: Value,
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let input = self.input_value().map_err(serde::ser::Error::custom)?;
        Tagged {
            operation: self.operation(),
            input,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let tagged = Tagged::deserialize(deserializer)?;
        Self::from_parts(tagged.operation, tagged.input).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TeamId, UserId};

    #[test]
    fn a_command_round_trips_through_its_canonical_json_and_keeps_its_digest() {
        let command = Command::AddTeamMember(TeamMembership {
            team: TeamId::new(),
            user: UserId::parse("u-1").unwrap_or_else(|e| panic!("{e}")),
        });
        let bytes = command.canonical_json().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with(r#"{"input":{"team":""#)
                && text.ends_with(r#""operation":"ADD_TEAM_MEMBER"}"#),
            "{text}"
        );
        let back: Command = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, command);
        assert_eq!(back.digest().ok(), command.digest().ok());
        assert!(
            command
                .digest()
                .is_ok_and(|d| d.starts_with("sha256:") && d.len() == 71)
        );
    }

    #[test]
    fn an_unknown_field_or_a_code_that_is_not_a_command_is_refused() {
        let team = TeamId::new();
        let extra = serde_json::json!({"operation": "DELETE_TEAM", "input": {"id": team, "x": 1}});
        assert!(serde_json::from_value::<Command>(extra).is_err());
        let read = serde_json::json!({"operation": "READ_AUDIT", "input": {}});
        assert!(serde_json::from_value::<Command>(read).is_err());
    }
}
