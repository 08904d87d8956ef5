use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

use super::*;
use crate::config::PublicKeySpec;

const SECRET: &str = "unit-test-secret-0123456789abcdef-xyz";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");

fn settings() -> Settings {
    Settings {
        auth_hs256_secret: Some(SecretString::from(SECRET.to_owned())),
        auth_public_keys: vec![
            PublicKeySpec {
                alg: "RS256".into(),
                path: format!("{KEYS}/rsa-public.pem").into(),
                kid: Some("rsa-1".into()),
            },
            PublicKeySpec {
                alg: "ES256".into(),
                path: format!("{KEYS}/ec-public.pem").into(),
                kid: None,
            },
            PublicKeySpec {
                alg: "EdDSA".into(),
                path: format!("{KEYS}/ed25519-public.pem").into(),
                kid: None,
            },
        ],
        ..Settings::default()
    }
}

fn auth(settings: &Settings) -> Authenticator {
    match Authenticator::from_settings(settings) {
        Ok(a) => a,
        Err(e) => panic!("test key set must load: {e}"),
    }
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(0)
}

fn claims() -> Value {
    json!({
        "sub": "alice", "iss": "govtrail", "aud": "govtrail",
        "iat": now(), "exp": now() + 600, "roles": ["superuser", "unknown-role"],
        "name": "Alice", "email": "alice@example.com"
    })
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap_or_default()
}

fn hs(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        claims,
        None,
    )
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap_or_default()
}

#[test]
fn valid_hs256_token_yields_principal_with_known_roles_only() {
    let p = auth(&settings()).authenticate(Some(&format!("Bearer {}", hs(&claims()))));
    let Ok(p) = p else {
        panic!("valid token refused: {p:?}")
    };
    assert_eq!(p.subject.as_str(), "alice");
    assert_eq!(
        p.roles.iter().copied().collect::<Vec<_>>(),
        vec![Role::Superuser]
    );
    assert_eq!(p.source, Source::Api);
    assert_eq!(p.auth_method.to_string(), "jwt:HS256");
    assert!(
        !format!("{p:?}").contains("alice@example.com"),
        "email must not print"
    );
}

#[test]
fn missing_and_malformed_headers_are_refused() {
    let a = auth(&settings());
    assert_eq!(a.authenticate(None).err(), Some(AuthError::Missing));
    assert_eq!(
        a.authenticate(Some("Basic abc")).err(),
        Some(AuthError::Malformed)
    );
    assert_eq!(
        a.authenticate(Some("Bearer ")).err(),
        Some(AuthError::Malformed)
    );
    assert_eq!(
        a.authenticate(Some("Bearer not.a.jwt")).err(),
        Some(AuthError::Malformed)
    );
}

#[test]
fn alg_none_is_refused() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    let token = format!("{header}.{body}.");
    assert_eq!(
        auth(&settings()).verify(&token).err(),
        Some(AuthError::Algorithm)
    );
}

#[test]
fn wrong_secret_is_a_bad_signature() {
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-000"),
        &claims(),
        None,
    );
    assert_eq!(
        auth(&settings()).verify(&token).err(),
        Some(AuthError::Signature)
    );
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused_when_only_rs256_is_accepted() {
    let s = Settings {
        auth_hs256_secret: None,
        ..settings()
    };
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&pem("rsa-public.pem")),
        &claims(),
        Some("rsa-1"),
    );
    assert_eq!(auth(&s).verify(&token).err(), Some(AuthError::Algorithm));
}

#[test]
fn time_issuer_and_audience_claims_are_checked() {
    let a = auth(&settings());
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Expired));
    let mut c = claims();
    c["nbf"] = json!(now() + 3600);
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::NotYetValid));
    let mut c = claims();
    c["iss"] = json!("someone-else");
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Issuer));
    let mut c = claims();
    c["aud"] = json!("other-service");
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Audience));
    let mut c = claims();
    c.as_object_mut().map(|o| o.remove("sub"));
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Claims));
    let mut c = claims();
    c.as_object_mut().map(|o| o.remove("exp"));
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Claims));
}

#[test]
fn rs256_es256_and_eddsa_tokens_verify_with_their_public_keys() {
    let a = auth(&settings());
    let rsa = EncodingKey::from_rsa_pem(&pem("rsa-private.pem"));
    let ec = EncodingKey::from_ec_pem(&pem("ec-private.pem"));
    let ed = EncodingKey::from_ed_pem(&pem("ed25519-private.pem"));
    let (Ok(rsa), Ok(ec), Ok(ed)) = (rsa, ec, ed) else {
        panic!("fixture private keys must load")
    };
    for (alg, key, kid) in [
        (Algorithm::RS256, &rsa, Some("rsa-1")),
        (Algorithm::RS256, &rsa, None),
        (Algorithm::ES256, &ec, None),
        (Algorithm::EdDSA, &ed, None),
    ] {
        let p = a.verify(&sign(alg, key, &claims(), kid));
        assert!(p.is_ok(), "{alg:?} token refused: {p:?}");
    }
    // A kid that names no configured key matches nothing.
    let token = sign(Algorithm::RS256, &rsa, &claims(), Some("rsa-unknown"));
    assert_eq!(a.verify(&token).err(), Some(AuthError::Signature));
}

#[test]
fn jwks_keys_verify_tokens() {
    let der = pem("ed25519-public.pem");
    let text = String::from_utf8(der).unwrap_or_default();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap_or_default();
    let x = URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]);
    let dir = tempfile::tempdir().ok();
    let path = dir
        .as_ref()
        .map(|d| d.path().join("jwks.json"))
        .unwrap_or_default();
    let jwks =
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "kid": "ed-1"}]});
    std::fs::write(&path, jwks.to_string()).ok();
    let s = Settings {
        auth_jwks_file: Some(path),
        ..Settings::default()
    };
    let a = auth(&s);
    let Ok(ed) = EncodingKey::from_ed_pem(&pem("ed25519-private.pem")) else {
        panic!("fixture key")
    };
    assert!(
        a.verify(&sign(Algorithm::EdDSA, &ed, &claims(), Some("ed-1")))
            .is_ok()
    );
    assert_eq!(
        a.verify(&hs(&claims())).err(),
        Some(AuthError::Algorithm),
        "HS256 is not accepted when only JWKS keys are configured"
    );
}

#[test]
fn source_comes_from_the_token_for_integrations_only() {
    let a = auth(&settings());
    let mut c = claims();
    c["roles"] = json!(["integration"]);
    c["source"] = json!("SBOM");
    assert_eq!(a.verify(&hs(&c)).map(|p| p.source), Ok(Source::Sbom));
    c["source"] = json!("System");
    assert_eq!(a.verify(&hs(&c)).err(), Some(AuthError::Claims));
    c["roles"] = json!(["governance-admin"]);
    c["source"] = json!("SBOM");
    assert_eq!(
        a.verify(&hs(&c)).err(),
        Some(AuthError::SourceClaim),
        "a source claim on a human token is refused"
    );
    c.as_object_mut().map(|m| m.remove("source"));
    assert_eq!(a.verify(&hs(&c)).map(|p| p.source), Ok(Source::Api));
}

#[test]
fn an_integration_token_cannot_hold_a_human_role() {
    let a = auth(&settings());
    for human in ["superuser", "governance-admin", "approver"] {
        let mut c = claims();
        c["roles"] = json!(["integration", human]);
        c["source"] = json!("SBOM");
        assert_eq!(
            a.verify(&hs(&c)).err(),
            Some(AuthError::RoleConflict),
            "{human}"
        );
    }
}

#[test]
fn roles_can_come_from_a_nested_claim_or_a_string() {
    let s = Settings {
        auth_roles_claim: "realm_access.roles".into(),
        ..settings()
    };
    let mut c = claims();
    c["realm_access"] = json!({"roles": ["approver"]});
    let roles = auth(&s).verify(&hs(&c)).map(|p| p.roles);
    assert_eq!(
        roles.map(|r| r.into_iter().collect::<Vec<_>>()),
        Ok(vec![Role::Approver])
    );
    let mut c = claims();
    c["roles"] = json!("superuser approver");
    let roles = auth(&settings()).verify(&hs(&c)).map(|p| p.roles.len());
    assert_eq!(roles, Ok(2));
}

#[test]
fn key_configuration_errors_are_explicit() {
    assert!(matches!(
        Authenticator::from_settings(&Settings::default()),
        Err(KeyConfigError::NoKeys)
    ));
    let short = Settings {
        auth_hs256_secret: Some(SecretString::from("short".to_owned())),
        ..Settings::default()
    };
    assert!(matches!(
        Authenticator::from_settings(&short),
        Err(KeyConfigError::ShortSecret)
    ));
    let missing = Settings {
        auth_public_keys: vec![PublicKeySpec {
            alg: "RS256".into(),
            path: "/nonexistent.pem".into(),
            kid: None,
        }],
        ..Settings::default()
    };
    assert!(matches!(
        Authenticator::from_settings(&missing),
        Err(KeyConfigError::BadKey { .. })
    ));
}

#[test]
fn dev_tokens_verify_and_need_the_dev_secret() {
    let request = DevTokenRequest {
        subject: crate::domain::Subject::parse("dev-user").unwrap_or_else(|_| panic!("valid id")),
        roles: vec![Role::Integration],
        source: Some(Source::Sbom),
        name: Some("Dev".into()),
        ttl_secs: 60,
    };
    let token = mint_dev_token(&settings(), &request);
    let Ok(token) = token else {
        panic!("mint failed")
    };
    let p = auth(&settings()).verify(&token);
    assert_eq!(
        p.map(|p| (p.subject.as_str().to_owned(), p.source)),
        Ok(("dev-user".into(), Source::Sbom))
    );
    assert!(mint_dev_token(&Settings::default(), &request).is_err());
}
