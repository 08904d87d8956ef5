//! Deterministic ids for entities identified by a natural key (license by SPDX id,
//! team approval by team + technology, version by technology + version string, the
//! single license policy). A UUID v5 of the key means the first decision about a
//! license and every later one find the same node by its indexed `id`, with no
//! separate lookup by key.

use uuid::Uuid;

use super::{LicenseId, TeamApprovalId, TeamId, TechnologyId, VersionId};

/// Namespace of govtrail's v5 ids (itself a v5 id of "govtrail" in the URL namespace).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:govtrail:ids")
}

/// The `License` node of an SPDX id.
#[must_use]
pub fn license_id(spdx_id: &str) -> LicenseId {
    LicenseId::from(Uuid::new_v5(
        &namespace(),
        format!("License:{spdx_id}").as_bytes(),
    ))
}

/// The single `LicensePolicy` node.
#[must_use]
pub fn license_policy_id() -> Uuid {
    Uuid::new_v5(&namespace(), b"LicensePolicy")
}

/// The `TeamApproval` of a team for a technology.
#[must_use]
pub fn team_approval_id(team: TeamId, technology: TechnologyId) -> TeamApprovalId {
    TeamApprovalId::from(Uuid::new_v5(
        &namespace(),
        format!("TeamApproval:{team}:{technology}").as_bytes(),
    ))
}

/// The `Version` node of a technology's version string.
#[must_use]
pub fn version_node_id(technology: TechnologyId, version: &semver::Version) -> VersionId {
    VersionId::from(Uuid::new_v5(
        &namespace(),
        format!("Version:{technology}:{version}").as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_keys_map_to_stable_distinct_ids() {
        assert_eq!(license_id("MIT"), license_id("MIT"));
        assert_ne!(license_id("MIT"), license_id("Apache-2.0"));
        let (t, x) = (TeamId::new(), TechnologyId::new());
        assert_eq!(team_approval_id(t, x), team_approval_id(t, x));
        assert_ne!(team_approval_id(t, x), team_approval_id(TeamId::new(), x));
    }
}
