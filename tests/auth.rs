//! The JWT matrix over HTTP: every way a token can be wrong gets the right 401/403
//! problem+json, and the refusal is counted, not audited.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TEST_SECRET, TestApp, claims, hs256, keys_dir, now, problem, test_settings};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn rs256(claims: &Value) -> String {
    let pem = std::fs::read(keys_dir().join("rsa-private.pem")).unwrap_or_default();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap_or_else(|e| panic!("fixture key: {e}"));
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key)
        .unwrap_or_else(|e| panic!("sign: {e}"))
}

async fn me(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url("/v1/me"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.send().await.unwrap_or_else(|e| panic!("{e}"))
}

async fn assert_401(app: &TestApp, authorization: Option<&str>, detail: &str) {
    let response = me(app, authorization).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = problem(response).await;
    assert_eq!(status, 401, "{authorization:?}: {body}");
    assert!(challenge.starts_with("Bearer"), "challenge: {challenge}");
    assert_eq!(body["detail"], detail, "{authorization:?}");
}

#[tokio::test]
async fn a_valid_token_reaches_the_protected_endpoint() {
    let app = TestApp::spawn().await;
    let subject = common::unique("alice");
    let mut c = claims(&subject, &["governance-admin"]);
    c["name"] = json!("Alice");
    c["email"] = json!("alice@example.com");
    let response = me(
        &app,
        Some(&format!("Bearer {}", hs256(&c, TEST_SECRET.as_bytes()))),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap_or_default();
    // The caller is known by the internal id entries record, never by its subject.
    let id = body["userId"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{body}");
    assert!(!body.to_string().contains(&subject), "{body}");
    assert_eq!(body["roles"], json!(["governance-admin"]));
    assert_eq!(body["source"], "API");
    assert!(
        !body.to_string().contains("alice@example.com"),
        "no email in responses"
    );

    let rs = me(
        &app,
        Some(&format!("Bearer {}", rs256(&claims("bob", &["superuser"])))),
    )
    .await;
    assert_eq!(rs.status(), 200);
}

#[tokio::test]
async fn every_bad_token_gets_a_401_problem() {
    let app = TestApp::spawn().await;
    let good = claims("mallory", &["superuser"]);
    let secret = TEST_SECRET.as_bytes();

    assert_401(&app, None, "no bearer token was sent").await;
    assert_401(
        &app,
        Some("Basic dXNlcjpwYXNz"),
        "the bearer token is malformed",
    )
    .await;
    assert_401(
        &app,
        Some("Bearer not-a-jwt"),
        "the bearer token is malformed",
    )
    .await;

    let forged = hs256(&good, b"not-the-server-secret-0123456789abcdef");
    assert_401(
        &app,
        Some(&format!("Bearer {forged}")),
        "the token's signature is invalid",
    )
    .await;

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(good.to_string()));
    assert_401(
        &app,
        Some(&format!("Bearer {unsigned}")),
        "the token's algorithm is not accepted",
    )
    .await;

    let mut c = good.clone();
    c["exp"] = json!(now() - 3600);
    assert_401(
        &app,
        Some(&format!("Bearer {}", hs256(&c, secret))),
        "the token has expired",
    )
    .await;

    let mut c = good.clone();
    c["nbf"] = json!(now() + 3600);
    assert_401(
        &app,
        Some(&format!("Bearer {}", hs256(&c, secret))),
        "the token is not valid yet",
    )
    .await;

    let mut c = good.clone();
    c["iss"] = json!("https://evil.example");
    assert_401(
        &app,
        Some(&format!("Bearer {}", hs256(&c, secret))),
        "the token's issuer is not accepted",
    )
    .await;

    let mut c = good.clone();
    c["aud"] = json!("another-service");
    assert_401(
        &app,
        Some(&format!("Bearer {}", hs256(&c, secret))),
        "the token's audience is not accepted",
    )
    .await;

    let text = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    for reason in [
        "missing",
        "malformed",
        "signature",
        "algorithm",
        "expired",
        "not_yet_valid",
        "issuer",
        "audience",
    ] {
        assert!(
            text.contains(&format!(
                "govtrail_auth_failures_total{{reason=\"{reason}\"}}"
            )),
            "reason {reason} not counted"
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused_when_only_rs256_is_configured() {
    let mut settings = test_settings(&common::neo4j_uri());
    settings.auth_hs256_secret = None;
    let app = TestApp::spawn_with(settings).await;
    let public_pem = std::fs::read(keys_dir().join("rsa-public.pem")).unwrap_or_default();
    let confused = hs256(&claims("mallory", &["superuser"]), &public_pem);
    assert_401(
        &app,
        Some(&format!("Bearer {confused}")),
        "the token's algorithm is not accepted",
    )
    .await;
    let genuine = me(
        &app,
        Some(&format!("Bearer {}", rs256(&claims("bob", &["superuser"])))),
    )
    .await;
    assert_eq!(genuine.status(), 200);
}

#[tokio::test]
async fn a_valid_token_without_a_govtrail_role_gets_403() {
    let app = TestApp::spawn().await;
    let token = hs256(&claims("nobody", &["viewer"]), TEST_SECRET.as_bytes());
    let (status, body) = problem(me(&app, Some(&format!("Bearer {token}"))).await).await;
    assert_eq!(status, 403);
    assert_eq!(body["type"], "urn:govtrail:problem:forbidden");
}

#[tokio::test]
async fn a_pipeline_token_with_a_human_role_or_a_human_token_with_a_source_is_refused() {
    let app = TestApp::spawn().await;
    let mut pipeline = claims(&common::unique("pipeline"), &["integration", "superuser"]);
    pipeline["source"] = json!("SBOM");
    let mut human = claims(&common::unique("human"), &["governance-admin"]);
    human["source"] = json!("SBOM");
    for (c, detail) in [
        (
            pipeline,
            "an integration token cannot also hold superuser, governance-admin or approver: a pipeline identity never reads audit data or approves",
        ),
        (human, "only integration tokens may carry a source claim"),
    ] {
        let token = hs256(&c, TEST_SECRET.as_bytes());
        let r = app.get("/v1/audit-logs", Some(&token)).await;
        let (status, body) = problem(r).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["detail"], detail);
    }
}

#[tokio::test]
async fn an_email_subject_never_becomes_a_user_id_in_an_entry() {
    let app = TestApp::spawn().await;
    let subject = format!("mallory.{}@example.com", uuid::Uuid::new_v4().simple());
    let mut c = claims(&subject, &["governance-admin"]);
    c["email"] = json!(subject);
    let token = hs256(&c, TEST_SECRET.as_bytes());
    let r = app
        .send(
            "POST",
            "/v1/teams",
            &token,
            Some(json!({"name": common::unique("pseudonymous")})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let entry = app
        .entry(r.body["auditLogId"].as_str().unwrap_or_default())
        .await;
    let user = entry["userId"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(user).is_ok(), "{entry}");
    assert!(!entry.to_string().contains('@'), "{entry}");
    // The subject lives on the User node only, and maps to the same id every time.
    let users = app
        .query_column(
            "MATCH (u:User {subject: $s}) RETURN u.id AS id",
            json!({"s": subject}),
            "id",
        )
        .await;
    assert_eq!(users, vec![json!(user)]);
    assert_eq!(app.user_id(&token).await, user);
}
