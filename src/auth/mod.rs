//! Bearer-token authentication. Tokens are JWTs verified with `jsonwebtoken` against
//! a pinned set of (algorithm, key) pairs: an HS256 development secret, PEM public
//! keys, and JWKS keys. `exp`, `nbf`, `iss` and `aud` are checked; `alg: none` and
//! algorithm confusion (an HS256 token "signed" with an RSA public key) are refused
//! because each key verifies only its own algorithm.

mod principal;

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use principal::{AuthMethod, Principal};

use crate::config::Settings;
use crate::domain::{Role, Source, Subject};

/// Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash size).
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// The key set could not be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    /// No way to verify any token.
    #[error(
        "no token keys configured: set GOVTRAIL_AUTH_HS256_SECRET (development) or GOVTRAIL_AUTH_PUBLIC_KEYS / GOVTRAIL_AUTH_JWKS_FILE"
    )]
    NoKeys,
    /// The HS256 secret is too short.
    #[error("GOVTRAIL_AUTH_HS256_SECRET must be at least {MIN_HS256_SECRET_LEN} bytes")]
    ShortSecret,
    /// A key file could not be read or parsed.
    #[error("public key {path}: {detail}")]
    BadKey {
        /// File (or JWKS entry) the key came from.
        path: String,
        /// What was wrong.
        detail: String,
    },
}

/// Why a request's token was refused. Each maps to 401; the `reason` is a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no bearer token was sent")]
    Missing,
    /// Header present but not `Bearer <jwt>`, or the JWT is not well-formed.
    #[error("the bearer token is malformed")]
    Malformed,
    /// The header's algorithm is not one this service accepts (including `none`).
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// No configured key matches the token (`kid` unknown) or the signature is wrong.
    #[error("the token's signature is invalid")]
    Signature,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("the token's issuer is not accepted")]
    Issuer,
    /// Wrong `aud`.
    #[error("the token's audience is not accepted")]
    Audience,
    /// A required claim is missing or has the wrong shape.
    #[error("the token's claims are invalid")]
    Claims,
    /// An integration token also holds a human role.
    #[error(
        "an integration token cannot also hold superuser, governance-admin or approver: a pipeline identity never reads audit data or approves"
    )]
    RoleConflict,
    /// A token without the integration role carries a source claim.
    #[error("only integration tokens may carry a source claim")]
    SourceClaim,
}

impl AuthError {
    /// Stable label for the `govtrail_auth_failures` metric.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::Signature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Claims => "claims",
            Self::RoleConflict => "role_conflict",
            Self::SourceClaim => "source_claim",
        }
    }
}

struct VerifyingKey {
    kid: Option<String>,
    validation: Validation,
    key: DecodingKey,
}

/// Verifies bearer tokens and turns their claims into a [`Principal`].
pub struct Authenticator {
    keys: Vec<VerifyingKey>,
    roles_claim: Vec<String>,
    source_claim: String,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self
            .keys
            .iter()
            .map(|k| k.validation.algorithms[0])
            .collect();
        f.debug_struct("Authenticator")
            .field("algorithms", &algs)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the pinned key set from the settings.
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyConfigError> {
        let validation_for = |alg: Algorithm| {
            let mut v = Validation::new(alg);
            v.set_issuer(&[settings.auth_issuer.as_str()]);
            v.set_audience(&[settings.auth_audience.as_str()]);
            v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            v.validate_nbf = true;
            v.leeway = settings.auth_leeway_secs;
            v
        };
        let mut keys = Vec::new();
        if let Some(secret) = &settings.auth_hs256_secret {
            let bytes = secret.expose_secret().as_bytes();
            if bytes.len() < MIN_HS256_SECRET_LEN {
                return Err(KeyConfigError::ShortSecret);
            }
            keys.push(VerifyingKey {
                kid: None,
                validation: validation_for(Algorithm::HS256),
                key: DecodingKey::from_secret(bytes),
            });
        }
        for spec in &settings.auth_public_keys {
            let path = spec.path.display().to_string();
            let bad = |detail: String| KeyConfigError::BadKey {
                path: path.clone(),
                detail,
            };
            let alg = Algorithm::from_str(&spec.alg)
                .map_err(|_| bad(format!("unknown algorithm `{}`", spec.alg)))?;
            let pem = std::fs::read(&spec.path).map_err(|e| bad(e.to_string()))?;
            let key = match alg {
                Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512 => DecodingKey::from_rsa_pem(&pem),
                Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(&pem),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(&pem),
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                    return Err(bad(
                        "HMAC algorithms take a secret (GOVTRAIL_AUTH_HS256_SECRET), not a public key"
                            .into(),
                    ));
                }
                other => return Err(bad(format!("unsupported algorithm {other:?}"))),
            }
            .map_err(|e| bad(e.to_string()))?;
            keys.push(VerifyingKey {
                kid: spec.kid.clone(),
                validation: validation_for(alg),
                key,
            });
        }
        if let Some(path) = &settings.auth_jwks_file {
            let shown = path.display().to_string();
            let bad = |detail: String| KeyConfigError::BadKey {
                path: shown.clone(),
                detail,
            };
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            let set: JwkSet = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            for jwk in &set.keys {
                let alg = jwk
                    .common
                    .key_algorithm
                    .and_then(|a| Algorithm::from_str(&a.to_string()).ok())
                    .filter(|a| {
                        !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
                    })
                    .ok_or_else(|| bad("every JWKS key needs an asymmetric `alg`".into()))?;
                let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(e.to_string()))?;
                keys.push(VerifyingKey {
                    kid: jwk.common.key_id.clone(),
                    validation: validation_for(alg),
                    key,
                });
            }
        }
        if keys.is_empty() {
            return Err(KeyConfigError::NoKeys);
        }
        Ok(Self {
            keys,
            roles_claim: settings
                .auth_roles_claim
                .split('.')
                .map(str::to_owned)
                .collect(),
            source_claim: settings.auth_source_claim.clone(),
        })
    }

    /// Verifies an `Authorization` header value (`Bearer <jwt>`).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Malformed)?;
        self.verify(token)
    }

    /// Verifies a bare JWT.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
                AuthError::Algorithm
            }
            // A well-formed header naming an algorithm the library does not know
            // (`none` above all) is an algorithm refusal, not a malformed token.
            _ if declared_algorithm(token).is_some() => AuthError::Algorithm,
            _ => AuthError::Malformed,
        })?;
        let mut candidates = self
            .keys
            .iter()
            .filter(|k| k.validation.algorithms[0] == header.alg)
            .peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::Algorithm);
        }
        let mut last = AuthError::Signature;
        for key in candidates {
            if let (Some(want), Some(have)) = (&header.kid, &key.kid)
                && want != have
            {
                continue;
            }
            match jsonwebtoken::decode::<Value>(token, &key.key, &key.validation) {
                Ok(data) => return self.principal(&data.claims, header.alg),
                Err(e) => {
                    last = match e.kind() {
                        ErrorKind::InvalidSignature => {
                            last = AuthError::Signature;
                            continue;
                        }
                        ErrorKind::ExpiredSignature => AuthError::Expired,
                        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                        ErrorKind::InvalidIssuer => AuthError::Issuer,
                        ErrorKind::InvalidAudience => AuthError::Audience,
                        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => {
                            AuthError::Claims
                        }
                        ErrorKind::InvalidAlgorithm => AuthError::Algorithm,
                        _ => AuthError::Malformed,
                    };
                    // The signature verified (checks run after it), so no other key applies.
                    return Err(last);
                }
            }
        }
        Err(last)
    }

    fn principal(&self, claims: &Value, alg: Algorithm) -> Result<Principal, AuthError> {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .and_then(|s| Subject::parse(s).ok())
            .ok_or(AuthError::Claims)?;
        let mut node = Some(claims);
        for part in &self.roles_claim {
            node = node.and_then(|n| n.get(part));
        }
        let mut roles = std::collections::BTreeSet::new();
        let mut add = |text: &str| {
            if let Ok(role) = text.parse::<Role>() {
                roles.insert(role);
            }
        };
        match node {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut add),
            Some(Value::String(text)) => text.split_whitespace().for_each(&mut add),
            None | Some(Value::Null) => {}
            Some(_) => return Err(AuthError::Claims),
        }
        // A pipeline identity is only a pipeline: combined with a human role it could
        // read the audit trail in the pipeline's name.
        if roles.contains(&Role::Integration)
            && roles
                .iter()
                .any(|r| matches!(r, Role::Superuser | Role::GovernanceAdmin | Role::Approver))
        {
            return Err(AuthError::RoleConflict);
        }
        // Only an integration speaks for a pipeline; everyone else acts through the API.
        let source = if roles.contains(&Role::Integration) {
            match claims.get(&self.source_claim).and_then(Value::as_str) {
                None => Source::Api,
                Some(text) => match text.parse::<Source>() {
                    Ok(source @ (Source::Api | Source::Sbom)) => source,
                    // `System` is reserved for govtrail's own jobs.
                    Ok(Source::System) | Err(_) => return Err(AuthError::Claims),
                },
            }
        } else if claims.get(&self.source_claim).is_some_and(|v| !v.is_null()) {
            return Err(AuthError::SourceClaim);
        } else {
            Source::Api
        };
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(|s| s.chars().take(256).collect::<String>())
        };
        Ok(Principal {
            subject,
            roles,
            source,
            auth_method: AuthMethod::Jwt(alg),
            display_name: text("name"),
            email: text("email").map(SecretString::from),
            expires_at: claims
                .get("exp")
                .and_then(Value::as_i64)
                .and_then(|exp| chrono::DateTime::from_timestamp(exp, 0)),
        })
    }
}

/// The `alg` a token's header declares, read without trusting anything else in it.
fn declared_algorithm(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

/// Claims of a development token minted by `govtrail token`.
#[derive(Debug, Serialize, Deserialize)]
struct DevClaims<'a> {
    sub: &'a str,
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    roles: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// What a development token says.
#[derive(Debug, Clone)]
pub struct DevTokenRequest {
    /// Subject (`sub`).
    pub subject: Subject,
    /// Roles granted.
    pub roles: Vec<Role>,
    /// Source claim (integrations only).
    pub source: Option<Source>,
    /// Display name claim.
    pub name: Option<String>,
    /// Lifetime in seconds.
    pub ttl_secs: u64,
}

/// Mints an HS256 token with the development secret. There is no way to mint with any
/// other key: production tokens come from the identity provider.
pub fn mint_dev_token(
    settings: &Settings,
    request: &DevTokenRequest,
) -> Result<String, KeyConfigError> {
    let secret = settings
        .auth_hs256_secret
        .as_ref()
        .ok_or(KeyConfigError::NoKeys)?;
    if secret.expose_secret().len() < MIN_HS256_SECRET_LEN {
        return Err(KeyConfigError::ShortSecret);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = DevClaims {
        sub: request.subject.as_str(),
        iss: &settings.auth_issuer,
        aud: &settings.auth_audience,
        iat: now,
        nbf: now,
        exp: now + request.ttl_secs,
        roles: request.roles.iter().map(|r| r.as_str()).collect(),
        source: request.source.map(Source::as_str),
        name: request.name.as_deref(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|e| KeyConfigError::BadKey {
        path: "GOVTRAIL_AUTH_HS256_SECRET".into(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
