//! Settings: documented defaults, then an optional TOML file, then `GOVTRAIL_*`
//! environment variables (later sources win). Secrets are `SecretString`, so no
//! `Debug` or log line can print them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::{Operation, Role};

/// Environment variable naming the optional settings file.
pub const CONFIG_FILE_ENV: &str = "GOVTRAIL_CONFIG";

/// All of govtrail's settings. Field `x` is set by `GOVTRAIL_X` or key `x` in the file;
/// `docs/configuration.md` lists each with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds.
    pub listen_addr: SocketAddr,
    /// Neo4j URI: `bolt://`, `neo4j://` (routing) or their `+s` TLS forms.
    pub neo4j_uri: String,
    /// Neo4j user.
    pub neo4j_user: String,
    /// Neo4j password.
    pub neo4j_password: SecretString,
    /// Neo4j database; the server's default database when unset.
    pub neo4j_database: Option<String>,
    /// Largest number of pooled Bolt connections.
    pub neo4j_max_connections: usize,
    /// Time limit for opening a Bolt connection and for each Bolt response, in
    /// milliseconds (the driver uses one timeout for both, so it must exceed the
    /// longest lock wait a governed change may see).
    pub neo4j_io_timeout_ms: u64,
    /// How long `serve` and `migrate` wait for Neo4j at start-up, in seconds.
    pub neo4j_startup_wait_secs: u64,
    /// Timeout of the `/readyz` Neo4j round trip, in milliseconds.
    pub readiness_timeout_ms: u64,
    /// Time limit for one HTTP request, in milliseconds.
    pub request_timeout_ms: u64,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Largest accepted SBOM document, in bytes (413 above it).
    pub sbom_max_bytes: usize,
    /// SBOMs kept per system, the current one included (older ones are deleted, with
    /// the components no kept SBOM lists).
    pub sbom_keep: usize,
    /// Package URL `type/namespace/name` or `type/name` (or a component name) →
    /// the name of the governed technology it is, where the two differ.
    pub sbom_technology_aliases: BTreeMap<String, String>,
    /// Largest total size of a request's headers, in bytes (431 problem above it).
    pub max_header_bytes: usize,
    /// Longest accepted request URI, in bytes (414 problem above it).
    pub max_uri_bytes: usize,
    /// Most DENIED entries recorded per caller per minute (further denials are only logged).
    pub denied_audit_per_minute: std::num::NonZeroU32,
    /// Attempts of a governed transaction on transient Neo4j errors before answering 503.
    pub write_attempts: u32,
    /// PKCS#8 PEM Ed25519 private key that signs checkpoints. Kept outside Neo4j.
    /// Without it no checkpoints are written.
    pub checkpoint_key_file: Option<PathBuf>,
    /// Key id recorded on checkpoints (default: derived from the public key).
    pub checkpoint_key_id: Option<String>,
    /// How often the checkpointer seals queued entries, in milliseconds; 0 switches the
    /// checkpointer off on this replica.
    pub checkpoint_interval_ms: u64,
    /// Append-only JSONL file receiving every checkpoint head.
    pub checkpoint_sink: Option<PathBuf>,
    /// Verification flags entries still unsealed after this many seconds.
    pub unsealed_lag_bound_secs: u64,
    /// `json` (one object per line) or `pretty`.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,govtrail=debug`.
    pub log_filter: String,
    /// Required `iss` claim of bearer tokens.
    pub auth_issuer: String,
    /// Required `aud` claim of bearer tokens.
    pub auth_audience: String,
    /// HS256 shared secret (at least 32 bytes). Development only: it also lets
    /// `govtrail token` mint tokens. Leave unset in production.
    pub auth_hs256_secret: Option<SecretString>,
    /// Public keys (PEM files) accepted for RS256/ES256/EdDSA tokens.
    pub auth_public_keys: Vec<PublicKeySpec>,
    /// A JWKS file whose keys (each with `alg`) are accepted.
    pub auth_jwks_file: Option<PathBuf>,
    /// Claim holding the caller's roles (an array or a space-separated string);
    /// dots descend into nested objects, e.g. `realm_access.roles`.
    pub auth_roles_claim: String,
    /// Claim holding an integration's source (`API` or `SBOM`).
    pub auth_source_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub auth_leeway_secs: u64,
    /// Approval policy per operation code, over the catalog's defaults (`/v1/catalog`
    /// shows the effective ones): `"none"`, `"default"`, or `{approvals = N, role = R}`.
    pub approval_policies: BTreeMap<Operation, PolicySetting>,
    /// How long a change request waits for its approvals, in seconds (default 72 h).
    pub change_request_ttl_secs: u64,
    /// How often each replica looks for change requests past their time, in
    /// milliseconds; 0 switches the sweep off on this replica (approving an expired
    /// request is refused either way).
    pub change_request_sweep_ms: u64,
}

/// One operation's approval policy setting.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PolicySetting {
    /// `"none"` (runs at once) or `"default"` (the catalog's default).
    Named(PolicyName),
    /// `{approvals = N, role = R}`: N approvals by holders of role R (default
    /// `approver`), none of them the requester.
    Rule {
        /// Approvals needed (1 to 10).
        approvals: u32,
        /// Role an approver must hold.
        #[serde(default = "approver")]
        role: Role,
    },
}

/// A policy named by a word.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PolicyName {
    /// No approval: the operation runs at once.
    None,
    /// The catalog's default for the operation.
    Default,
}

const fn approver() -> Role {
    Role::Approver
}

/// One accepted public key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicKeySpec {
    /// Algorithm this key verifies: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or `EdDSA`.
    pub alg: String,
    /// PEM file with the public key.
    pub path: PathBuf,
    /// Key id matched against the token header's `kid`, if any.
    #[serde(default)]
    pub kid: Option<String>,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            neo4j_uri: "bolt://127.0.0.1:7687".into(),
            neo4j_user: "neo4j".into(),
            neo4j_password: SecretString::from(String::new()),
            neo4j_database: None,
            neo4j_max_connections: 16,
            neo4j_io_timeout_ms: 30_000,
            neo4j_startup_wait_secs: 60,
            readiness_timeout_ms: 2_000,
            request_timeout_ms: 10_000,
            body_limit_bytes: 64 * 1024,
            sbom_max_bytes: 50 * 1024 * 1024,
            sbom_keep: 5,
            sbom_technology_aliases: BTreeMap::new(),
            max_header_bytes: 32 * 1024,
            max_uri_bytes: 8 * 1024,
            denied_audit_per_minute: std::num::NonZeroU32::MIN.saturating_add(5),
            write_attempts: 5,
            checkpoint_key_file: None,
            checkpoint_key_id: None,
            checkpoint_interval_ms: 1_000,
            checkpoint_sink: None,
            unsealed_lag_bound_secs: 60,
            log_format: LogFormat::Json,
            log_filter: "info".into(),
            auth_issuer: "govtrail".into(),
            auth_audience: "govtrail".into(),
            auth_hs256_secret: None,
            auth_public_keys: Vec::new(),
            auth_jwks_file: None,
            auth_roles_claim: "roles".into(),
            auth_source_claim: "source".into(),
            auth_leeway_secs: 30,
            approval_policies: BTreeMap::new(),
            change_request_ttl_secs: 72 * 3600,
            change_request_sweep_ms: 60_000,
        }
    }
}

/// Settings could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Settings {
    /// Reads defaults, then `file` (or the file named by `GOVTRAIL_CONFIG`), then the
    /// process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
        Self::from_figment(
            file.as_deref(),
            Env::prefixed("GOVTRAIL_").ignore(&["config"]),
        )
    }

    fn from_figment(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            // `Toml::file` silently skips a missing file; a named file must exist.
            figment = figment.merge(Toml::file_exact(path));
        }
        figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// [`Self::request_timeout_ms`] as a duration.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// [`Self::readiness_timeout_ms`] as a duration.
    #[must_use]
    pub fn readiness_timeout(&self) -> Duration {
        Duration::from_millis(self.readiness_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_are_documented_values() {
        let s = Settings::default();
        assert_eq!(s.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.neo4j_uri, "bolt://127.0.0.1:7687");
        assert_eq!(s.body_limit_bytes, 65_536);
        assert!(s.auth_hs256_secret.is_none());
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment::Jail fixes the closure's error type"
    )]
    fn environment_overrides_defaults_and_unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GOVTRAIL_NEO4J_URI", "bolt://db:7687");
            jail.set_env("GOVTRAIL_REQUEST_TIMEOUT_MS", "1500");
            jail.set_env("GOVTRAIL_CONFIG", "ignored-here.toml");
            let s = Settings::from_figment(None, Env::prefixed("GOVTRAIL_").ignore(&["config"]))
                .map_err(|e| e.to_string())?;
            assert_eq!(s.neo4j_uri, "bolt://db:7687");
            assert_eq!(s.request_timeout_ms, 1500);
            jail.set_env("GOVTRAIL_NEO4J_URL", "typo");
            let typo = Settings::from_figment(None, Env::prefixed("GOVTRAIL_").ignore(&["config"]));
            assert!(
                typo.is_err(),
                "an unknown GOVTRAIL_ variable must be refused"
            );
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment::Jail fixes the closure's error type"
    )]
    fn approval_policies_are_read_from_the_environment_and_files() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "GOVTRAIL_APPROVAL_POLICIES",
                r#"{DELETE_CONSTRAINT={approvals=2}, DENY_LICENSE="none", ADD_TEAM_MEMBER={approvals=1,role="governance-admin"}}"#,
            );
            let s = Settings::from_figment(None, Env::prefixed("GOVTRAIL_").ignore(&["config"]))
                .map_err(|e| e.to_string())?;
            assert_eq!(
                s.approval_policies.get(&Operation::DeleteConstraint),
                Some(&PolicySetting::Rule {
                    approvals: 2,
                    role: Role::Approver
                })
            );
            assert_eq!(
                s.approval_policies.get(&Operation::DenyLicense),
                Some(&PolicySetting::Named(PolicyName::None))
            );
            assert_eq!(
                s.approval_policies.get(&Operation::AddTeamMember),
                Some(&PolicySetting::Rule {
                    approvals: 1,
                    role: Role::GovernanceAdmin
                })
            );
            jail.set_env("GOVTRAIL_APPROVAL_POLICIES", r#"{NOT_AN_OPERATION="none"}"#);
            assert!(
                Settings::from_figment(None, Env::prefixed("GOVTRAIL_").ignore(&["config"]))
                    .is_err()
            );
            Ok(())
        });
    }

    #[test]
    fn a_named_file_must_exist_and_is_read() {
        let missing = Settings::from_figment(
            Some(Path::new("/nonexistent/govtrail.toml")),
            Env::prefixed("GOVTRAIL_TEST_UNUSED_"),
        );
        assert!(missing.is_err());

        let dir = tempfile::tempdir().ok();
        let path = dir.as_ref().map(|d| d.path().join("g.toml"));
        let path = path.as_deref().unwrap_or(Path::new("/nonexistent"));
        std::fs::write(
            path,
            "neo4j_password = \"s3cret-value\"\n[[auth_public_keys]]\nalg = \"RS256\"\npath = \"/k.pem\"\n",
        )
        .ok();
        let s = Settings::from_figment(Some(path), Env::prefixed("GOVTRAIL_TEST_UNUSED_")).ok();
        assert_eq!(
            s.as_ref()
                .map(|s| s.neo4j_password.expose_secret().to_owned()),
            Some("s3cret-value".to_owned())
        );
        assert_eq!(s.as_ref().map(|s| s.auth_public_keys.len()), Some(1));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let s = Settings {
            neo4j_password: SecretString::from("hunter2-db".to_owned()),
            auth_hs256_secret: Some(SecretString::from("dev-secret-0123456789".to_owned())),
            ..Settings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2-db"));
        assert!(!text.contains("dev-secret-0123456789"));
    }
}
