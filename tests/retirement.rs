//! Retirement over HTTP on the real Neo4j, under the default (dual approval) policies:
//! retiring a technology ends its stewardship, deactivates its ACTIVE constraints and
//! revokes its team approvals, and retiring a system ends its ownership, each in one
//! transaction with one entry that audits every affected entity; their histories show
//! that entry, replay agrees with the graph, and `state?at=` before the retirement
//! still shows the old state. A scope that moved between request and approval runs
//! nothing; a checklist that is not fully acknowledged is refused.

#![expect(
    clippy::too_many_lines,
    reason = "each test is one workflow, read top to bottom"
)]

mod common;

use common::{Reply, TestApp, neo4j_uri, test_settings, unique};
use serde_json::{Value, json};

const TECHNOLOGY_CHECKLIST: [&str; 3] = ["no-remaining-use", "decisions-end", "history-retained"];
const SYSTEM_CHECKLIST: [&str; 3] = ["data-disposed", "dependents-informed", "history-retained"];

async fn app_with_defaults() -> TestApp {
    let mut settings = test_settings(&neo4j_uri());
    settings.approval_policies = std::collections::BTreeMap::new();
    TestApp::spawn_with(settings).await
}

fn id(reply: &Reply) -> String {
    reply.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sends and expects `status`.
async fn call(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
    status: u16,
) -> Reply {
    let r = app.send(method, path, token, Some(body), &[]).await;
    assert_eq!(r.status, status, "{method} {path}: {}", r.body);
    r
}

/// Asks for a retirement (202), has `approver` approve it, and answers the approval.
async fn retire(app: &TestApp, admin: &str, approver: &str, path: &str, items: &[&str]) -> Reply {
    let asked = call(
        app,
        admin,
        "POST",
        path,
        json!({"reason": "end of life, per the architecture board", "acknowledged": items}),
        202,
    )
    .await;
    let request = id(&asked);
    app.send(
        "POST",
        &format!("/v1/change-requests/{request}/approve"),
        approver,
        Some(json!({"reason": "checked the retention checklist"})),
        &[],
    )
    .await
}

/// The ids of an entity's entries, oldest first.
async fn history(app: &TestApp, su: &str, entity_type: &str, entity: &str) -> Vec<String> {
    let r = app
        .send(
            "GET",
            &format!("/v1/entities/{entity_type}/{entity}/history?order=asc&limit=500"),
            su,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

/// The replayed state and whether it equals the live graph.
async fn state(app: &TestApp, su: &str, entity_type: &str, entity: &str) -> (Value, bool) {
    let r = app
        .send(
            "GET",
            &format!("/v1/entities/{entity_type}/{entity}/state"),
            su,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["replayed"].clone(),
        r.body["consistent"] == json!(true),
    )
}

async fn state_at(app: &TestApp, su: &str, entity_type: &str, entity: &str, at: &str) -> Value {
    let at = at.replace('+', "%2B");
    let r = app
        .send(
            "GET",
            &format!("/v1/entities/{entity_type}/{entity}/state?at={at}"),
            su,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["state"].clone()
}

#[tokio::test]
async fn retiring_a_technology_ends_its_stewardship_constraints_and_approvals_in_one_change() {
    let app = app_with_defaults().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let (_, su) = app.caller(&["superuser"]).await;
    let steward = app.fresh_user().await;

    let team = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("retire team")}),
        201,
    )
    .await);
    let other = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("retire other")}),
        201,
    )
    .await);
    let name = unique("left-pad");
    let tech = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/technologies",
        json!({"name": name}),
        201,
    )
    .await);
    call(
        &app,
        &admin,
        "PUT",
        &format!("/v1/technologies/{tech}/steward"),
        json!({"userId": steward}),
        200,
    )
    .await;
    let active = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": "^1"}),
        201,
    )
    .await);
    call(
        &app,
        &admin,
        "POST",
        &format!("/v1/version-constraints/{active}/activate"),
        json!({}),
        200,
    )
    .await;
    call(
        &app,
        &admin,
        "PUT",
        &format!("/v1/version-constraints/{active}/teams/{team}"),
        json!({}),
        200,
    )
    .await;
    let draft = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": "^2"}),
        201,
    )
    .await);
    let mut approvals = Vec::new();
    for t in [&team, &other] {
        let r = call(
            &app,
            &admin,
            "POST",
            &format!("/v1/teams/{t}/technologies/{tech}/approvals"),
            json!({"version": "1.2.3"}),
            201,
        )
        .await;
        approvals.push(id(&r));
    }

    // An incomplete checklist is refused before anything waits for approval.
    let partial = call(
        &app,
        &admin,
        "POST",
        &format!("/v1/technologies/{tech}/retire"),
        json!({"reason": "end of life", "acknowledged": ["history-retained"]}),
        422,
    )
    .await;
    assert!(
        partial.body.to_string().contains("no-remaining-use"),
        "{}",
        partial.body
    );

    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let retired = retire(
        &app,
        &admin,
        &approver,
        &format!("/v1/technologies/{tech}/retire"),
        &TECHNOLOGY_CHECKLIST,
    )
    .await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    assert_eq!(
        retired.body["executed"]["operation"], "RETIRE_TECHNOLOGY",
        "{}",
        retired.body
    );
    let entry_id = retired.body["executed"]["auditLogId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let entry = app.entry(&entry_id).await;
    assert_eq!(entry["entityId"], json!(tech));
    let affected = &entry["changes"]["affected"];
    assert_eq!(
        affected[&active]["status"],
        json!({"old": "ACTIVE", "new": "INACTIVE"}),
        "{entry}"
    );
    assert!(
        affected.get(&draft).is_none(),
        "a DRAFT constraint is left as it is: {entry}"
    );
    for approval in &approvals {
        assert_eq!(
            affected[approval]["approvedRanges"],
            json!({"old": ["=1.2.3"], "new": []}),
            "{entry}"
        );
    }
    assert_eq!(
        entry["changes"]["steward"],
        json!({"old": steward, "new": null})
    );

    // The graph: no steward, the constraint INACTIVE, no approved range, a tombstone.
    let live = app
        .query_column(
            "MATCH (t:Technology {id: $tech}) RETURN {deleted: t.deleted, lifecycle: t.lifecycle, \
             name: t.name, stewards: COUNT { (:User)-[:STEWARD_OF]->(t) }, \
             status: [(c:VersionConstraint {id: $active})-[:CONSTRAINS]->(t) | c.status][0], \
             ranges: [(a:TeamApproval)-[:FOR_TECHNOLOGY]->(t) | size(coalesce(a.approvedRanges, []))]} AS s",
            json!({"tech": tech, "active": active}),
            "s",
        )
        .await;
    assert_eq!(
        live,
        vec![
            json!({"deleted": true, "lifecycle": "RETIRED", "name": null, "stewards": 0, "status": "INACTIVE", "ranges": [0, 0]})
        ]
    );

    // One entry audits them all; each one's history shows it, and replay agrees.
    let mut affected_entities = vec![
        ("Technology", tech.clone()),
        ("VersionConstraint", active.clone()),
        ("User", steward.clone()),
    ];
    affected_entities.extend(approvals.iter().map(|a| ("TeamApproval", a.clone())));
    for (entity_type, entity) in &affected_entities {
        let ids = history(&app, &su, entity_type, entity).await;
        assert_eq!(
            ids.last(),
            Some(&entry_id),
            "{entity_type} {entity}: {ids:?}"
        );
        let (_, consistent) = state(&app, &su, entity_type, entity).await;
        assert!(
            consistent,
            "{entity_type} {entity}: replay disagrees with the graph"
        );
    }
    assert!(
        !history(&app, &su, "VersionConstraint", &draft)
            .await
            .contains(&entry_id),
        "the DRAFT constraint did not change"
    );
    let (user_state, _) = state(&app, &su, "User", &steward).await;
    assert!(user_state.get("stewardOf").is_none(), "{user_state}");

    // Before the retirement, the old state is still there.
    let old = state_at(&app, &su, "Technology", &tech, &before).await;
    assert_eq!(old["name"], json!(name), "{old}");
    assert_eq!(old["lifecycle"], json!("ACTIVE"), "{old}");
    assert_eq!(old["steward"], json!(steward), "{old}");
    let old = state_at(&app, &su, "VersionConstraint", &active, &before).await;
    assert_eq!(old["status"], json!("ACTIVE"), "{old}");
    let old = state_at(&app, &su, "TeamApproval", &approvals[0], &before).await;
    assert_eq!(old["approvedRanges"], json!(["=1.2.3"]), "{old}");

    // A tombstone takes no new constraint, and its name is free again.
    call(
        &app,
        &admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": "^3"}),
        404,
    )
    .await;
    call(
        &app,
        &admin,
        "POST",
        "/v1/technologies",
        json!({"name": name}),
        201,
    )
    .await;

    let (code, findings, out) = common::verify_cli(&neo4j_uri(), &[]);
    let ours: Vec<&Value> = findings
        .iter()
        .filter(|f| {
            affected_entities
                .iter()
                .any(|(_, e)| f.to_string().contains(e.as_str()))
        })
        .collect();
    assert!(ours.is_empty(), "verify (exit {code}): {ours:?}\n{out}");
}

#[tokio::test]
async fn retiring_a_system_ends_its_ownership_and_keeps_its_history() {
    let app = app_with_defaults().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let (_, su) = app.caller(&["superuser"]).await;
    let team = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("owners")}),
        201,
    )
    .await);
    let name = unique("ledger");
    let system = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/systems",
        json!({"name": name, "criticality": "HIGH", "ownerTeamId": team}),
        201,
    )
    .await);
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let retired = retire(
        &app,
        &admin,
        &approver,
        &format!("/v1/systems/{system}/retire"),
        &SYSTEM_CHECKLIST,
    )
    .await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    assert_eq!(
        retired.body["executed"]["operation"], "RETIRE_SYSTEM",
        "{}",
        retired.body
    );
    let entry_id = retired.body["executed"]["auditLogId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let owners = app
        .query_column(
            "MATCH (s:System {id: $id}) RETURN {deleted: s.deleted, owners: COUNT { (:Team)-[:OWNS]->(s) }} AS s",
            json!({"id": system}),
            "s",
        )
        .await;
    assert_eq!(owners, vec![json!({"deleted": true, "owners": 0})]);
    for (entity_type, entity) in [("System", &system), ("Team", &team)] {
        let ids = history(&app, &su, entity_type, entity).await;
        assert_eq!(ids.last(), Some(&entry_id), "{entity_type}: {ids:?}");
        let (_, consistent) = state(&app, &su, entity_type, entity).await;
        assert!(consistent, "{entity_type}: replay disagrees with the graph");
    }
    let old = state_at(&app, &su, "System", &system, &before).await;
    assert_eq!(old["owner"], json!(team), "{old}");
    assert_eq!(old["name"], json!(name), "{old}");
    // The owning team can now be deleted: it owns nothing.
    call(
        &app,
        &admin,
        "DELETE",
        &format!("/v1/teams/{team}"),
        json!({"reason": "dissolved after the retirement"}),
        200,
    )
    .await;
    // A retired system is gone for governed changes.
    call(
        &app,
        &admin,
        "PUT",
        &format!("/v1/systems/{system}/criticality"),
        json!({"criticality": "LOW"}),
        404,
    )
    .await;
}

#[tokio::test]
async fn a_constraint_added_after_the_request_fails_the_retirement_and_changes_nothing() {
    let app = app_with_defaults().await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let tech = id(&call(
        &app,
        &admin,
        "POST",
        "/v1/technologies",
        json!({"name": unique("moment")}),
        201,
    )
    .await);
    let asked = call(
        &app,
        &admin,
        "POST",
        &format!("/v1/technologies/{tech}/retire"),
        json!({"reason": "end of life", "acknowledged": TECHNOLOGY_CHECKLIST}),
        202,
    )
    .await;
    let request = id(&asked);
    let pending = app
        .send(
            "GET",
            &format!("/v1/change-requests/{request}"),
            &approver,
            None,
            &[],
        )
        .await;
    assert_eq!(
        pending.body["command"]["input"]["scope"],
        json!({"constraints": [], "approvals": []}),
        "the request pins what the retirement ends: {}",
        pending.body
    );
    call(
        &app,
        &admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": "^1"}),
        201,
    )
    .await;
    let approval = app
        .send(
            "POST",
            &format!("/v1/change-requests/{request}/approve"),
            &approver,
            Some(json!({"reason": "looks fine"})),
            &[],
        )
        .await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    assert_eq!(approval.body["newStatus"], "FAILED", "{}", approval.body);
    assert!(approval.body.get("executed").is_none(), "{}", approval.body);
    let lifecycle = app
        .query_column(
            "MATCH (t:Technology {id: $id}) RETURN {lifecycle: t.lifecycle, deleted: t.deleted} AS s",
            json!({"id": tech}),
            "s",
        )
        .await;
    assert_eq!(
        lifecycle,
        vec![json!({"lifecycle": "ACTIVE", "deleted": null})]
    );
}
