//! Users: registering a token subject under a fresh internal id, and erasing a user's
//! personal data. Entries name users only by internal id, so erasing the subject,
//! display name and email on the `User` node leaves every entry, chain and checkpoint
//! as it was.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, conflict, props};
use crate::domain::{EntityType, Operation, Subject, UserId};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Snapshot, Targets};

/// REGISTER_USER: give a token subject its internal id before it first signs in, so
/// it can be added to teams. Registering a known subject answers its id and changes
/// nothing. The subject is stored on the `User` node only; the entry records that a
/// user was registered, never who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegisterUser {
    /// The id the user gets if the subject is new.
    pub id: UserId,
    /// The token subject.
    pub subject: Subject,
}

fn user_ref(id: &str) -> EntityRef {
    EntityRef {
        entity_type: EntityType::User,
        id: id.to_owned(),
        label: id.to_owned(),
    }
}

impl Decide for RegisterUser {
    fn targets(&self) -> Targets {
        Targets::default().subject(&self.subject)
    }
    fn primary_id(&self) -> Option<String> {
        None
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        if let Some(existing) = &s.subject_user {
            return Ok(PlanBuilder::new(user_ref(existing), 1)
                .build("this subject is already registered under this id"));
        }
        let id = self.id.to_string();
        Ok(PlanBuilder::new(user_ref(&id), 0)
            .create(props(&[("id", json!(id)), ("registered", json!(true))]))
            .bookkeeping("subject", json!(self.subject.as_str()))
            .status(None, Some("REGISTERED".into()))
            .build(""))
    }
}

/// ERASE_USER_PII: remove a user's token subject, display name and email from its
/// `User` node. The user keeps its internal id (so every entry that names it still
/// verifies) and shows as erased; it can no longer sign in under its old mapping,
/// join teams or steward technologies. A later token with the same subject becomes a
/// new user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EraseUserPii {
    /// The user.
    pub id: UserId,
}

impl Decide for EraseUserPii {
    fn targets(&self) -> Targets {
        Targets::default().node(self.id.as_str())
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let id = self.id.to_string();
        let user = s
            .node(&id)
            .filter(|n| n.entity_type == EntityType::User)
            .ok_or_else(|| Rejection::not_found(EntityType::User, &id, "id"))?;
        let plan = PlanBuilder::new(user_ref(&id), user.version());
        if user.props.get("erased").and_then(Value::as_bool) == Some(true) {
            return Ok(plan.build("the user's personal data is already erased"));
        }
        if user.str("subject").is_none() && user.str("displayName").is_none() {
            return Err(conflict("id", "the user holds no personal data to erase"));
        }
        Ok(plan
            .set(user, "erased", json!(true))
            .set_quietly(user, "subject", Value::Null)
            .set_quietly(user, "displayName", Value::Null)
            .set_quietly(user, "email", Value::Null)
            .status(None, Some("ERASED".into()))
            .build(""))
    }
}
