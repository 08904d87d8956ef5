// Natural keys from DESIGN.md. A tombstoned (deleted) entity keeps its id but moves
// its natural key aside, so the name can be used again.
CREATE CONSTRAINT team_name IF NOT EXISTS FOR (n:Team) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT system_name IF NOT EXISTS FOR (n:System) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT technology_name IF NOT EXISTS FOR (n:Technology) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT license_spdx_id IF NOT EXISTS FOR (n:License) REQUIRE n.spdxId IS UNIQUE;
CREATE CONSTRAINT version_technology_version IF NOT EXISTS FOR (n:Version) REQUIRE (n.technologyId, n.semver) IS UNIQUE;
CREATE CONSTRAINT team_approval_team_technology IF NOT EXISTS FOR (n:TeamApproval) REQUIRE (n.teamId, n.technologyId) IS UNIQUE;
