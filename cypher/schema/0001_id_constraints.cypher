// Every governed label, AuditLog and SchemaMigration get a unique key. A uniqueness
// constraint also creates the index that lookups by id use.
CREATE CONSTRAINT schema_migration_version IF NOT EXISTS FOR (n:SchemaMigration) REQUIRE n.version IS UNIQUE;
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT team_id IF NOT EXISTS FOR (n:Team) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT system_id IF NOT EXISTS FOR (n:System) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT technology_id IF NOT EXISTS FOR (n:Technology) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT version_id IF NOT EXISTS FOR (n:Version) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT version_constraint_id IF NOT EXISTS FOR (n:VersionConstraint) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT license_id IF NOT EXISTS FOR (n:License) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT license_policy_id IF NOT EXISTS FOR (n:LicensePolicy) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT team_approval_id IF NOT EXISTS FOR (n:TeamApproval) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT change_request_id IF NOT EXISTS FOR (n:ChangeRequest) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT audit_log_id IF NOT EXISTS FOR (n:AuditLog) REQUIRE n.id IS UNIQUE;
