//! Bad input to governed operations: every refusal is a 4xx `application/problem+json`
//! naming the offending field, never a 5xx, and writes nothing: the entity's stored
//! properties (its version included) and its number of audit entries are the same
//! before and after, and no entry carries the request's correlation id. The one
//! deliberate exception is a 403, which records a single DENIED entry and nothing else.

mod common;

use common::{Reply, TEST_SECRET, TestApp, claims, hs256, token_for};
use govtrail::domain::license_id;
use serde_json::{Value, json};

/// A request body.
enum Body {
    None,
    Json(Value),
    Raw(Option<&'static str>, Vec<u8>),
}

/// What a governed entity looks like in the store: all its properties and how many
/// entries name it.
#[derive(Debug, PartialEq)]
struct Stored {
    props: Value,
    entries: usize,
}

struct Fixture {
    app: TestApp,
    admin: String,
}

impl Fixture {
    async fn new() -> Self {
        let (_, admin) = token_for(&["governance-admin"]);
        Self {
            app: TestApp::spawn().await,
            admin,
        }
    }

    /// A setup request that must succeed with `status`; returns the body.
    async fn setup(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let r = self.app.send(method, path, &self.admin, body, &[]).await;
        assert_eq!(r.status, status, "setup {method} {path}: {}", r.body);
        r.body
    }

    async fn create(&self, path: &str, body: Value) -> String {
        let body = self.setup("POST", path, Some(body), 201).await;
        body["entity"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("setup POST {path}: no entity id in {body}"))
            .to_owned()
    }

    async fn technology(&self) -> String {
        let name = format!("bad-input tech {}", uuid::Uuid::new_v4());
        self.create("/v1/technologies", json!({ "name": name }))
            .await
    }

    async fn team(&self) -> String {
        let name = format!("bad-input team {}", uuid::Uuid::new_v4());
        self.create("/v1/teams", json!({ "name": name })).await
    }

    /// A DRAFT constraint on a fresh technology.
    async fn draft_constraint(&self) -> String {
        let tech = self.technology().await;
        self.create(
            "/v1/version-constraints",
            json!({ "technologyId": tech, "range": "^2.1" }),
        )
        .await
    }

    async fn active_constraint(&self) -> String {
        let id = self.draft_constraint().await;
        self.setup(
            "POST",
            &format!("/v1/version-constraints/{id}/activate"),
            None,
            200,
        )
        .await;
        id
    }

    async fn stored(&self, id: &str) -> Stored {
        let props = self
            .app
            .query_column(
                "MATCH (n:Governed {id: $id}) RETURN n {.*} AS n",
                json!({ "id": id }),
                "n",
            )
            .await
            .into_iter()
            .next()
            .unwrap_or(Value::Null);
        Stored {
            props,
            entries: self.app.entry_count(id).await,
        }
    }

    async fn entries_with_correlation_id(&self, cid: &str) -> Vec<Value> {
        self.app
            .query_column(
                "MATCH (e:AuditLog {correlationId: $c}) \
                 RETURN e {.*, audits: COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN x.id }} AS e",
                json!({ "c": cid }),
                "e",
            )
            .await
    }

    /// Sends `method path` with a fresh correlation id; returns it with the reply.
    async fn send(&self, token: &str, method: &str, path: &str, body: Body) -> (String, Reply) {
        let cid = format!("bad-input-{}", uuid::Uuid::new_v4());
        let reply = match body {
            Body::None => {
                self.app
                    .send(method, path, token, None, &[("X-Correlation-Id", &cid)])
                    .await
            }
            Body::Json(value) => {
                self.app
                    .send(
                        method,
                        path,
                        token,
                        Some(value),
                        &[("X-Correlation-Id", &cid)],
                    )
                    .await
            }
            Body::Raw(content_type, bytes) => {
                let method = reqwest::Method::from_bytes(method.as_bytes())
                    .unwrap_or_else(|e| panic!("method {method}: {e}"));
                let mut request = self
                    .app
                    .http
                    .request(method, self.app.url(path))
                    .bearer_auth(token)
                    .header("X-Correlation-Id", &cid)
                    .body(bytes);
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                let response = request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{path}: {e}"));
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                Reply {
                    status,
                    headers,
                    body: serde_json::from_str(&text).unwrap_or(Value::Null),
                }
            }
        };
        (cid, reply)
    }

    /// Sends a request the admin makes that must be refused with `status` naming
    /// `field`, and checks that no entry at all was written for it.
    async fn refused(
        &self,
        method: &str,
        path: &str,
        body: Body,
        status: u16,
        field: Option<&str>,
    ) -> Reply {
        let token = self.admin.clone();
        let (cid, reply) = self.send(&token, method, path, body).await;
        assert_problem(&reply, status, field, &format!("{method} {path}"));
        assert_eq!(
            self.entries_with_correlation_id(&cid).await,
            Vec::<Value>::new(),
            "{method} {path}: a refused request writes no entry"
        );
        reply
    }
}

/// A 4xx problem+json with `status`, naming `field` first when given.
fn assert_problem(reply: &Reply, status: u16, field: Option<&str>, ctx: &str) {
    assert!(
        reply.status < 500,
        "{ctx}: bad input must never be a 5xx, got {} {}",
        reply.status,
        reply.body
    );
    assert_eq!(reply.status, status, "{ctx}: status; body {}", reply.body);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{ctx}: media type"
    );
    assert_eq!(
        reply.body["status"],
        json!(status),
        "{ctx}: problem status field"
    );
    assert!(
        reply.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:govtrail:problem:")),
        "{ctx}: problem type in {}",
        reply.body
    );
    if let Some(field) = field {
        assert_eq!(
            reply.body["errors"][0]["field"],
            json!(field),
            "{ctx}: the problem names the field: {}",
            reply.body
        );
    }
}

fn reason(text: &str) -> Body {
    Body::Json(json!({ "reason": text }))
}

/// A random SPDX id, so concurrent runs rarely decide the same license.
fn random_spdx_id() -> String {
    let licenses = spdx::identifiers::LICENSES;
    let pick = usize::try_from(uuid::Uuid::new_v4().as_u128() % 1_000_003).unwrap_or(0);
    licenses[pick % licenses.len()]
        .name
        .trim_end_matches('+')
        .to_owned()
}

#[tokio::test]
async fn activating_an_unknown_constraint_returns_404_naming_id_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = uuid::Uuid::new_v4().to_string();
    let before = f.stored(&id).await;
    let r = f
        .refused(
            "POST",
            &format!("/v1/version-constraints/{id}/activate"),
            Body::None,
            404,
            Some("id"),
        )
        .await;
    assert_eq!(r.body["type"], "urn:govtrail:problem:not-found");
    assert_eq!(f.stored(&id).await, before);
    assert_eq!(
        before,
        Stored {
            props: Value::Null,
            entries: 0
        }
    );
}

#[tokio::test]
async fn creating_a_constraint_for_an_unknown_technology_returns_404_naming_technology_id_and_writes_nothing()
 {
    let f = Fixture::new().await;
    let tech = uuid::Uuid::new_v4().to_string();
    f.refused(
        "POST",
        "/v1/version-constraints",
        Body::Json(json!({ "technologyId": tech, "range": "^1.0" })),
        404,
        Some("technologyId"),
    )
    .await;
    let constraints = f
        .app
        .query_column(
            "MATCH (c:VersionConstraint {technologyId: $t}) RETURN count(c) AS n",
            json!({ "t": tech }),
            "n",
        )
        .await;
    assert_eq!(constraints, vec![json!(0)], "no constraint was created");
    assert_eq!(f.stored(&tech).await.props, Value::Null);
}

#[tokio::test]
async fn creating_a_constraint_with_an_invalid_semver_range_returns_422_naming_range_and_writes_nothing()
 {
    let f = Fixture::new().await;
    let tech = f.technology().await;
    let before = f.stored(&tech).await;
    for range in ["banana", ">=1.2 <<2", "1.2.3.4"] {
        f.refused(
            "POST",
            "/v1/version-constraints",
            Body::Json(json!({ "technologyId": tech, "range": range })),
            422,
            Some("range"),
        )
        .await;
    }
    assert_eq!(f.stored(&tech).await, before, "the technology is untouched");
    let constraints = f
        .app
        .query_column(
            "MATCH (c:VersionConstraint {technologyId: $t}) RETURN count(c) AS n",
            json!({ "t": tech }),
            "n",
        )
        .await;
    assert_eq!(constraints, vec![json!(0)], "no constraint was created");
}

#[tokio::test]
async fn changing_a_constraint_to_an_invalid_semver_range_returns_422_naming_range_and_writes_nothing()
 {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    let before = f.stored(&id).await;
    f.refused(
        "PUT",
        &format!("/v1/version-constraints/{id}/range"),
        Body::Json(json!({ "range": "banana", "reason": "tightening" })),
        422,
        Some("range"),
    )
    .await;
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn an_invalid_spdx_id_in_the_path_returns_400_naming_spdx_id_and_writes_nothing() {
    let f = Fixture::new().await;
    let bogus = format!("Not-A-License-{}", uuid::Uuid::new_v4().simple());
    let before = f.stored(&license_id(&bogus).to_string()).await;
    for (verb, body) in [
        ("allow", Body::None),
        ("deny", reason("not on the approved list")),
    ] {
        let r = f
            .refused(
                "POST",
                &format!("/v1/licenses/{bogus}/{verb}"),
                body,
                400,
                Some("spdxId"),
            )
            .await;
        assert_eq!(r.body["type"], "urn:govtrail:problem:invalid-parameters");
    }
    assert_eq!(f.stored(&license_id(&bogus).to_string()).await, before);
    let licenses = f
        .app
        .query_column(
            "MATCH (l:License {spdxId: $s}) RETURN count(l) AS n",
            json!({ "s": bogus }),
            "n",
        )
        .await;
    assert_eq!(licenses, vec![json!(0)], "no license was created");
}

#[tokio::test]
async fn activating_an_archived_constraint_returns_409_naming_status_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    f.setup(
        "POST",
        &format!("/v1/version-constraints/{id}/archive"),
        Some(json!({ "reason": "never rolled out" })),
        200,
    )
    .await;
    let before = f.stored(&id).await;
    assert_eq!(before.props["status"], "ARCHIVED");
    let r = f
        .refused(
            "POST",
            &format!("/v1/version-constraints/{id}/activate"),
            Body::None,
            409,
            Some("status"),
        )
        .await;
    assert_eq!(r.body["type"], "urn:govtrail:problem:conflict");
    f.refused(
        "POST",
        &format!("/v1/version-constraints/{id}/deactivate"),
        reason("switch it off"),
        409,
        Some("status"),
    )
    .await;
    f.refused(
        "PUT",
        &format!("/v1/version-constraints/{id}/range"),
        Body::Json(json!({ "range": "^3" })),
        409,
        Some("status"),
    )
    .await;
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn deactivate_without_reason_returns_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.active_constraint().await;
    let before = f.stored(&id).await;
    let path = format!("/v1/version-constraints/{id}/deactivate");
    for body in [
        Body::None,
        Body::Json(json!({})),
        Body::Json(json!({ "reason": null })),
        reason(""),
        reason("   \t "),
    ] {
        let r = f.refused("POST", &path, body, 422, Some("reason")).await;
        assert_eq!(r.body["type"], "urn:govtrail:problem:validation");
    }
    let after = f.stored(&id).await;
    assert_eq!(after, before);
    assert_eq!(after.props["status"], "ACTIVE");
}

#[tokio::test]
async fn deny_license_without_reason_returns_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let spdx = random_spdx_id();
    let id = license_id(&spdx).to_string();
    let before = f.stored(&id).await;
    let path = format!("/v1/licenses/{spdx}/deny");
    for body in [Body::None, Body::Json(json!({})), reason("  ")] {
        f.refused("POST", &path, body, 422, Some("reason")).await;
    }
    assert_eq!(f.stored(&id).await, before, "license {spdx} is untouched");
}

#[tokio::test]
async fn remove_team_member_without_reason_returns_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let team = f.team().await;
    let member = f.app.fresh_user().await;
    let path = format!("/v1/teams/{team}/members/{member}");
    f.setup("PUT", &path, None, 200).await;
    let before = f.stored(&team).await;
    for body in [Body::None, reason(" ")] {
        f.refused("DELETE", &path, body, 422, Some("reason")).await;
    }
    assert_eq!(f.stored(&team).await, before);
    let membership = f
        .app
        .query_column(
            "MATCH (:User {id: $u})-[m:MEMBER_OF]->(:Team {id: $t}) RETURN count(m) AS n",
            json!({ "u": member, "t": team }),
            "n",
        )
        .await;
    assert_eq!(membership, vec![json!(1)], "the user is still a member");
}

#[tokio::test]
async fn a_reason_over_1000_characters_returns_422_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.active_constraint().await;
    let before = f.stored(&id).await;
    let long = "x".repeat(1001);
    // Required (DEACTIVATE) or optional (CHANGE_CONSTRAINT_RANGE), the limit holds;
    // it counts characters, not bytes.
    f.refused(
        "POST",
        &format!("/v1/version-constraints/{id}/deactivate"),
        reason(&long),
        422,
        Some("reason"),
    )
    .await;
    f.refused(
        "PUT",
        &format!("/v1/version-constraints/{id}/range"),
        Body::Json(json!({ "range": "^2.2", "reason": "é".repeat(1001) })),
        422,
        Some("reason"),
    )
    .await;
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn a_reason_of_exactly_1000_characters_is_accepted() {
    let f = Fixture::new().await;
    let id = f.active_constraint().await;
    let text = "é".repeat(1000);
    let body = f
        .setup(
            "POST",
            &format!("/v1/version-constraints/{id}/deactivate"),
            Some(json!({ "reason": text })),
            200,
        )
        .await;
    let entry = f
        .app
        .entry(body["auditLogId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(entry["reason"], json!(text));
}

#[tokio::test]
async fn malformed_json_returns_400_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    let before = f.stored(&id).await;
    let path = format!("/v1/version-constraints/{id}/activate");
    for text in [&b"{\"reason\": "[..], b"not json", b"{\"reason\": \"a\",}"] {
        let r = f
            .refused(
                "POST",
                &path,
                Body::Raw(Some("application/json"), text.to_vec()),
                400,
                None,
            )
            .await;
        assert_eq!(r.body["type"], "urn:govtrail:problem:malformed-body");
    }
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn a_body_without_a_json_content_type_returns_415_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    let before = f.stored(&id).await;
    let path = format!("/v1/version-constraints/{id}/activate");
    let body = br#"{"reason": "ready for enforcement"}"#.to_vec();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let r = f
            .refused(
                "POST",
                &path,
                Body::Raw(content_type, body.clone()),
                415,
                None,
            )
            .await;
        assert_eq!(
            r.body["type"], "urn:govtrail:problem:unsupported-media-type",
            "{content_type:?}"
        );
    }
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn a_body_over_64_kib_returns_413_problem_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.active_constraint().await;
    let before = f.stored(&id).await;
    let body = json!({ "reason": "y".repeat(64 * 1024 + 1) }).to_string();
    let r = f
        .refused(
            "POST",
            &format!("/v1/version-constraints/{id}/deactivate"),
            Body::Raw(Some("application/json"), body.into_bytes()),
            413,
            None,
        )
        .await;
    assert_eq!(r.body["type"], "urn:govtrail:problem:payload-too-large");
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn an_unknown_body_field_returns_422_naming_it_and_writes_nothing() {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    let before = f.stored(&id).await;
    f.refused(
        "POST",
        &format!("/v1/version-constraints/{id}/activate"),
        Body::Json(json!({ "reason": "go live", "force": true })),
        422,
        Some("force"),
    )
    .await;
    f.refused(
        "PUT",
        &format!("/v1/version-constraints/{id}/range"),
        Body::Json(json!({ "range": "^2.2", "status": "ACTIVE" })),
        422,
        Some("status"),
    )
    .await;
    assert_eq!(f.stored(&id).await, before);
}

#[tokio::test]
async fn a_bad_uuid_in_the_path_returns_400_naming_id_and_writes_nothing() {
    let f = Fixture::new().await;
    for (method, path, body) in [
        (
            "POST",
            "/v1/version-constraints/not-a-uuid/activate",
            Body::None,
        ),
        (
            "POST",
            "/v1/technologies/1234/retire",
            reason("end of life"),
        ),
        ("DELETE", "/v1/teams/team-42", reason("merged")),
    ] {
        let r = f.refused(method, path, body, 400, Some("id")).await;
        assert_eq!(r.body["type"], "urn:govtrail:problem:invalid-parameters");
    }
}

#[tokio::test]
async fn an_admin_only_operation_with_an_integration_token_returns_403_and_changes_nothing() {
    let f = Fixture::new().await;
    let id = f.draft_constraint().await;
    let before = f.stored(&id).await;
    let sub = format!("sbom-{}", uuid::Uuid::new_v4());
    let mut c = claims(&sub, &["integration"]);
    c["source"] = json!("SBOM");
    let token = hs256(&c, TEST_SECRET.as_bytes());
    let path = format!("/v1/version-constraints/{id}/activate");
    let (cid, r) = f.send(&token, "POST", &path, Body::None).await;
    assert_problem(&r, 403, None, &format!("POST {path}"));
    assert_eq!(r.body["type"], "urn:govtrail:problem:forbidden");

    let after = f.stored(&id).await;
    assert_eq!(after.props, before.props, "the constraint is unchanged");
    assert_eq!(after.props["status"], "DRAFT");
    // The refusal itself is audited: exactly one DENIED entry, linked to no entity.
    assert_eq!(after.entries, before.entries + 1);
    let entries = f.entries_with_correlation_id(&cid).await;
    assert_eq!(entries.len(), 1, "one DENIED entry: {entries:?}");
    let e = &entries[0];
    assert_eq!(e["outcome"], "DENIED");
    assert_eq!(e["operation"], "ACTIVATE");
    assert_eq!(e["entityType"], "VersionConstraint");
    assert_eq!(e["entityId"], json!(id));
    assert_eq!(
        e["route"], "POST /v1/version-constraints/{id}/activate",
        "the entry names what was attempted"
    );
    assert_eq!(e["userId"], json!(f.app.user_id(&token).await));
    assert_eq!(e["source"], "SBOM");
    assert_eq!(e["changedFields"], json!([]));
    assert_eq!(e["audits"], json!([]), "a denied attempt audits no entity");
}

#[tokio::test]
async fn trailing_data_after_the_json_body_returns_400_and_creates_nothing() {
    let f = Fixture::new().await;
    let name = format!("trailing-{}", uuid::Uuid::new_v4());
    let body = format!(r#"{{"name":"{name}"}} xyz"#);
    let r = f
        .refused(
            "POST",
            "/v1/teams",
            Body::Raw(Some("application/json"), body.into_bytes()),
            400,
            None,
        )
        .await;
    assert_eq!(r.body["type"], "urn:govtrail:problem:malformed-body");
    let teams = f
        .app
        .query_column(
            "MATCH (t:Team {name: $n}) RETURN count(t) AS n",
            json!({ "n": name }),
            "n",
        )
        .await;
    assert_eq!(teams, vec![json!(0)], "no team was created");
}

/// Personal data and secrets, each as some client would paste it.
fn leaky_values() -> Vec<(&'static str, String)> {
    vec![
        ("an email", "contact mallory@example.com".to_owned()),
        (
            "a JWT",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLWJ5dGVz".to_owned(),
        ),
        (
            "a bearer credential",
            "Bearer abcdef0123456789xyz".to_owned(),
        ),
        ("a basic credential", "Basic dXNlcjpodW50ZXIy".to_owned()),
        ("a password", "db password=hunter2".to_owned()),
        ("a private key", "-----BEGIN PRIVATE KEY-----".to_owned()),
        (
            "a high-entropy secret",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
        ),
        ("a bidi override", "invoice\u{202E}fdp.exe".to_owned()),
        ("a zero-width space", "core\u{200B}team".to_owned()),
    ]
}

#[tokio::test]
async fn names_areas_and_ids_that_carry_personal_data_or_secrets_are_refused_with_422() {
    let f = Fixture::new().await;
    let team = f.team().await;
    let tech = f.technology().await;
    let before = f.stored(&team).await;
    for (what, value) in leaky_values() {
        let ctx = |route: &str| format!("{what} in {route}");
        let r = f
            .refused(
                "POST",
                "/v1/teams",
                Body::Json(json!({ "name": value })),
                422,
                Some("name"),
            )
            .await;
        assert!(
            r.body["errors"][0]["message"].is_string(),
            "{}",
            ctx("a team name")
        );
        for path in ["/v1/systems", "/v1/technologies"] {
            f.refused(
                "POST",
                path,
                Body::Json(json!({ "name": value })),
                422,
                Some("name"),
            )
            .await;
        }
        f.refused(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            Body::Json(json!({ "responsibilityAreas": ["payments", value] })),
            422,
            Some("responsibilityAreas[1]"),
        )
        .await;
        f.refused(
            "PUT",
            &format!("/v1/technologies/{tech}/steward"),
            Body::Json(json!({ "userId": value })),
            422,
            Some("userId"),
        )
        .await;
        // In a path: percent-encoded as a client would send it.
        let encoded: String = value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let r = f
            .refused(
                "PUT",
                &format!("/v1/teams/{team}/members/{encoded}"),
                Body::None,
                422,
                Some("userId"),
            )
            .await;
        assert_eq!(
            r.body["type"],
            "urn:govtrail:problem:validation",
            "{}",
            ctx("a member path")
        );
    }
    assert_eq!(f.stored(&team).await, before, "the team is untouched");
}

#[tokio::test]
async fn names_that_differ_only_in_case_or_unicode_form_are_one_name() {
    let f = Fixture::new().await;
    let stem = format!("Platform-{}", uuid::Uuid::new_v4());
    f.create("/v1/teams", json!({ "name": format!("{stem} Café") }))
        .await;
    for twin in [
        format!("{} café", stem.to_uppercase()),
        format!("{stem} Cafe\u{301}"),
        format!("{} CAFÉ", stem.to_lowercase()),
    ] {
        let r = f
            .refused(
                "POST",
                "/v1/teams",
                Body::Json(json!({ "name": twin })),
                409,
                None,
            )
            .await;
        assert_eq!(r.body["type"], "urn:govtrail:problem:conflict", "{twin}");
    }
    // The decomposed spelling is stored composed.
    let other = format!("Équipe-{}", uuid::Uuid::new_v4());
    let decomposed = other.replacen('É', "E\u{301}", 1);
    let id = f.create("/v1/teams", json!({ "name": decomposed })).await;
    let stored = f.stored(&id).await;
    assert_eq!(stored.props["name"], json!(other));
}
