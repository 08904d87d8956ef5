//! License decisions and the license whitelist.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, entity, props, status_of};
use crate::domain::{EntityType, LicenseDecision, Operation, license_id, license_policy_id};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, EntityRef, PlanBuilder, Rejection};
use crate::governance::snapshot::{Snapshot, Targets};

/// ALLOW_LICENSE or DENY_LICENSE (the operation says which) for an SPDX license id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DecideLicense {
    /// Canonical SPDX id.
    pub spdx_id: String,
}

impl Decide for DecideLicense {
    fn targets(&self) -> Targets {
        Targets::default().node(license_id(&self.spdx_id))
    }
    fn primary_id(&self) -> Option<String> {
        Some(license_id(&self.spdx_id).to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let decision = if operation == Operation::DenyLicense {
            LicenseDecision::Denied
        } else {
            LicenseDecision::Allowed
        };
        let id = license_id(&self.spdx_id).to_string();
        match s.live(&id, EntityType::License) {
            None => {
                let primary = EntityRef {
                    entity_type: EntityType::License,
                    id: id.clone(),
                    label: self.spdx_id.clone(),
                };
                Ok(PlanBuilder::new(primary, 0)
                    .create(props(&[
                        ("id", json!(id)),
                        ("spdxId", json!(self.spdx_id)),
                        ("decision", json!(decision)),
                    ]))
                    .status(
                        Some(LicenseDecision::Undecided.to_string()),
                        Some(decision.to_string()),
                    )
                    .build(""))
            }
            Some(license) => Ok(PlanBuilder::new(entity(license), license.version())
                .set(license, "decision", json!(decision))
                .status(status_of(license, "decision"), Some(decision.to_string()))
                .build(format!("{} is already {}", self.spdx_id, decision))),
        }
    }
}

/// Turn the license whitelist on (ENABLE_LICENSE_WHITELIST) or off
/// (DISABLE_LICENSE_WHITELIST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetLicenseWhitelist {}

impl Decide for SetLicenseWhitelist {
    fn targets(&self) -> Targets {
        Targets::default().node(license_policy_id())
    }
    fn primary_id(&self) -> Option<String> {
        Some(license_policy_id().to_string())
    }
    fn decide(&self, operation: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let enabled = operation == Operation::EnableLicenseWhitelist;
        let id = license_policy_id().to_string();
        let word = |on: bool| if on { "ENABLED" } else { "DISABLED" }.to_owned();
        match s.live(&id, EntityType::LicensePolicy) {
            None => {
                let primary = EntityRef {
                    entity_type: EntityType::LicensePolicy,
                    id: id.clone(),
                    label: "license policy".into(),
                };
                let plan = PlanBuilder::new(primary, 0);
                if !enabled {
                    return Ok(plan.build("the license whitelist is already DISABLED"));
                }
                Ok(plan
                    .create(props(&[
                        ("id", json!(id)),
                        ("whitelistEnabled", json!(true)),
                    ]))
                    .status(Some(word(false)), Some(word(true)))
                    .build(""))
            }
            Some(policy) => {
                let current = policy
                    .props
                    .get("whitelistEnabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Ok(PlanBuilder::new(entity(policy), policy.version())
                    .set(policy, "whitelistEnabled", json!(enabled))
                    .status(Some(word(current)), Some(word(enabled)))
                    .build(format!(
                        "the license whitelist is already {}",
                        word(current)
                    )))
            }
        }
    }
}
