//! Tamper evidence, first part: content hashes and per-entity hash chains, checked by
//! `govtrail verify` on a Neo4j of its own. Each tampering is done with direct Cypher
//! behind govtrail's back and must be reported against the entry and entity it hit.

#![expect(
    clippy::too_many_lines,
    reason = "one scenario: build a log, tamper four ways, verify"
)]

mod common;

use common::{DedicatedNeo4j, TestApp, test_settings, token_for};
use serde_json::{Value, json};

fn verify(uri: &str) -> (i32, Vec<Value>, String) {
    common::verify_cli(uri, &[])
}

fn has(findings: &[Value], kind: &str, entry: Option<&str>, entity: &str) -> bool {
    findings.iter().any(|f| {
        f["kind"] == kind
            && f["entityId"] == json!(entity)
            && entry.is_none_or(|e| f["entryId"] == json!(e))
    })
}

#[tokio::test]
async fn verify_pinpoints_edits_deletions_forgeries_and_relinks() {
    let neo4j = DedicatedNeo4j::start();
    let app = TestApp::spawn_with(test_settings(&neo4j.uri)).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let send = |method: &'static str, path: String, body: Option<Value>| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let r = app.send(method, &path, &admin, body, &[]).await;
            assert!(r.status < 300, "{method} {path}: {}", r.body);
            r.body
        }
    };
    let id = |b: &Value| b["entity"]["id"].as_str().unwrap_or_default().to_owned();
    let entry = |b: &Value| b["auditLogId"].as_str().unwrap_or_default().to_owned();

    let team_a = id(&send("POST", "/v1/teams".into(), Some(json!({"name": "team-a"}))).await);
    let team_b = id(&send("POST", "/v1/teams".into(), Some(json!({"name": "team-b"}))).await);
    app.users(&["u1".to_owned(), "u2".to_owned()]).await;
    let add_u1 = entry(&send("PUT", format!("/v1/teams/{team_a}/members/u1"), None).await);
    send("PUT", format!("/v1/teams/{team_a}/members/u2"), None).await;
    let tech = id(&send(
        "POST",
        "/v1/technologies".into(),
        Some(json!({"name": "tokio"})),
    )
    .await);
    let risk = entry(
        &send(
            "PUT",
            format!("/v1/technologies/{tech}/risk-level"),
            Some(json!({"riskLevel": "HIGH"})),
        )
        .await,
    );
    let vc = id(&send(
        "POST",
        "/v1/version-constraints".into(),
        Some(json!({"technologyId": tech, "range": "^1"})),
    )
    .await);
    let activate = entry(
        &send(
            "POST",
            format!("/v1/version-constraints/{vc}/activate"),
            None,
        )
        .await,
    );
    send(
        "POST",
        format!("/v1/version-constraints/{vc}/deactivate"),
        Some(json!({"reason": "pause"})),
    )
    .await;
    let system = id(&send(
        "POST",
        "/v1/systems".into(),
        Some(json!({"name": "billing", "ownerTeamId": team_a})),
    )
    .await);
    send(
        "PUT",
        format!("/v1/systems/{system}/owner"),
        Some(json!({"teamId": team_b})),
    )
    .await;

    let (code, findings, summary) = verify(&neo4j.uri);
    assert_eq!(code, 0, "a clean log verifies: {findings:?} {summary}");
    assert!(summary.contains("0 findings"), "{summary}");
    let (_, su) = token_for(&["superuser"]);
    let over_http = app.send("GET", "/v1/audit/verify", &su, None, &[]).await;
    assert_eq!(
        over_http.body["verified"],
        json!(true),
        "{}",
        over_http.body
    );

    let cypher = |q: &'static str, p: Value| app.query_column(q, p, "n");
    // (a) edit one field of an entry
    cypher(
        "MATCH (e:AuditLog {id: $id}) SET e.reason = 'nothing to see' RETURN 1 AS n",
        json!({"id": add_u1}),
    )
    .await;
    // (b) delete a middle entry of the constraint's chain
    cypher(
        "MATCH (e:AuditLog {id: $id}) DETACH DELETE e RETURN 1 AS n",
        json!({"id": activate}),
    )
    .await;
    // (c) insert a forged, back-dated entry about the technology
    cypher(
        "MATCH (t:Governed {id: $tech}) CREATE (f:AuditLog {id: 'forged-1', timestamp: datetime('2020-01-01T00:00:00Z'), \
         operation: 'CHANGE_RISK_LEVEL', entityType: 'Technology', entityId: $tech, newStatus: 'LOW', \
         prevHashes: [$tech + '=GENESIS'], hash: 'f00d'})-[:AUDITS {entity: t.id, at: datetime('2020-01-01T00:00:00Z')}]->(t) \
         RETURN 1 AS n",
        json!({"tech": tech}),
    )
    .await;
    // (d) re-link team B's creation entry to team A
    let b_created = app
        .query_column(
            "MATCH (e:AuditLog {entityId: $id, operation: 'CREATE_TEAM'}) RETURN e.id AS n",
            json!({"id": team_b}),
            "n",
        )
        .await;
    let b_created = b_created
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    cypher(
        "MATCH (e:AuditLog {id: $e})-[r:AUDITS]->(:Team {id: $b}), (a:Team {id: $a}) DELETE r CREATE (e)-[:AUDITS]->(a) RETURN 1 AS n",
        json!({"e": b_created, "a": team_a, "b": team_b}),
    )
    .await;

    let (code, findings, _) = verify(&neo4j.uri);
    assert_eq!(code, 1);
    let over_http = app.send("GET", "/v1/audit/verify", &su, None, &[]).await;
    assert_eq!(over_http.body["verified"], json!(false));
    assert_eq!(
        over_http.body["findings"].as_array().map(Vec::len),
        Some(findings.len())
    );
    assert!(
        has(&findings, "modified", Some(&add_u1), &team_a),
        "edit: {findings:#?}"
    );
    assert!(
        has(&findings, "chain-broken", None, &vc),
        "deletion: {findings:#?}"
    );
    assert!(
        has(&findings, "not-on-chain", Some("forged-1"), &tech),
        "forgery: {findings:#?}"
    );
    assert!(
        has(&findings, "modified", Some("forged-1"), &tech),
        "forgery hash: {findings:#?}"
    );
    assert!(
        has(&findings, "relinked", Some(&b_created), &team_b),
        "relink: {findings:#?}"
    );
    assert!(
        has(&findings, "not-on-chain", Some(&b_created), &team_a),
        "relink lands off chain: {findings:#?}"
    );
    // Untouched entities raise nothing; the technology's genuine entries stay on its chain.
    for untouched in [&system, &"u2".to_owned()] {
        assert!(
            !findings.iter().any(|f| f["entityId"] == json!(untouched)),
            "{untouched}: {findings:#?}"
        );
    }
    assert!(
        !findings.iter().any(|f| f["entryId"] == json!(risk)),
        "{findings:#?}"
    );

    // (e) another catalog tool shares the database: AuditLog nodes govtrail never wrote,
    // one linked to a node without an id, one with a number for an id, one with no id.
    cypher(
        "CREATE (:AuditLog {id: 'foreign-1', note: 'theirs'})-[:AUDITS]->(:Asset {name: 'x'}) \
         CREATE (:AuditLog {id: 42, note: 'theirs'}) \
         CREATE (:AuditLog {note: 'theirs'}) RETURN 1 AS n",
        json!({}),
    )
    .await;
    let (code, after, summary) = verify(&neo4j.uri);
    assert_eq!(code, 1, "{summary}");
    let malformed: Vec<&Value> = after.iter().filter(|f| f["kind"] == "malformed").collect();
    assert!(
        malformed.iter().any(|f| f["entryId"] == "foreign-1"),
        "{malformed:#?}"
    );
    assert!(
        malformed.iter().any(|f| f["entryId"] == "42"),
        "{malformed:#?}"
    );
    assert_eq!(
        malformed.len(),
        3,
        "one finding per foreign node: {malformed:#?}"
    );
    // Verification went on past them: every earlier finding is still reported.
    for earlier in &findings {
        assert!(
            after.contains(earlier),
            "{earlier} went missing: {after:#?}"
        );
    }
}
