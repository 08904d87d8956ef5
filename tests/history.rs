//! The superuser query API against the real Neo4j: filters, cursor paging under
//! concurrent writes, state as of any instant, replay consistency and `check-replay`,
//! approval lineage, and refusals.

#![expect(clippy::too_many_lines, reason = "scenario tests read top to bottom")]

mod common;

use common::unique;

use std::collections::{BTreeMap, BTreeSet};

use common::{DedicatedNeo4j, TestApp, test_settings, token_for};
use serde_json::{Value, json};

fn id_of(reply: &common::Reply) -> String {
    reply.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn all_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url = format!("{url}&cursor={c}");
        }
        let r = app.send("GET", &url, token, None, &[]).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        out.extend(r.body["entries"].as_array().cloned().unwrap_or_default());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

type Check = Box<dyn Fn(&Value) -> bool>;

#[tokio::test]
async fn each_filter_narrows_alone_and_combined() {
    let app = TestApp::spawn().await;
    let (admin_sub, admin) = app.caller(&["governance-admin"]).await;
    let (_, su) = token_for(&["superuser"]);
    let cid = unique("filter-test");
    let start = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let team = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": unique("f-team")})),
            &[("X-Correlation-Id", &cid)],
        )
        .await;
    let team = id_of(&team);
    let team_check = team.clone();
    app.users(&(0..3).map(|i| format!("f-user-{i}")).collect::<Vec<_>>())
        .await;
    for i in 0..3 {
        app.send(
            "PUT",
            &format!("/v1/teams/{team}/members/f-user-{i}"),
            &admin,
            None,
            &[],
        )
        .await;
    }
    let mut sbom = common::claims(&unique("f-sbom"), &["integration"]);
    sbom["source"] = json!("SBOM");
    let sbom = common::hs256(&sbom, common::TEST_SECRET.as_bytes());
    let tech = app
        .send(
            "POST",
            "/v1/technologies",
            &sbom,
            Some(json!({"name": unique("f-tech")})),
            &[],
        )
        .await;
    let tech = id_of(&tech);
    // A denied attempt by the admin (superuser-only read) lands in the feed too.
    app.send("GET", "/v1/audit-logs", &admin, None, &[]).await;

    let cid_check = cid.clone();
    let cases: Vec<(String, Check, usize)> = vec![
        (
            format!("entityId={team}"),
            Box::new(move |e: &Value| e["entityId"] == json!(team_check)),
            4,
        ),
        (
            "entityType=Technology".into(),
            Box::new(|e: &Value| e["entityType"] == "Technology"),
            1,
        ),
        (
            "operation=ADD_TEAM_MEMBER".into(),
            Box::new(|e: &Value| e["operation"] == "ADD_TEAM_MEMBER"),
            3,
        ),
        (
            format!("userId={admin_sub}"),
            Box::new(move |e: &Value| e["userId"] == json!(admin_sub.clone())),
            5,
        ),
        (
            "source=SBOM".into(),
            Box::new(|e: &Value| e["source"] == "SBOM"),
            1,
        ),
        (
            "outcome=DENIED".into(),
            Box::new(|e: &Value| e["outcome"] == "DENIED"),
            1,
        ),
        (
            "category=team-membership".into(),
            Box::new(|e: &Value| e["category"] == "team-membership"),
            4,
        ),
        (
            format!("correlationId={cid}"),
            Box::new(move |e: &Value| e["correlationId"] == json!(cid_check)),
            1,
        ),
    ];
    for (filter, holds, at_least) in &cases {
        let entries = all_pages(
            &app,
            &su,
            &format!("/v1/audit-logs?from={start}&{filter}"),
            200,
        )
        .await;
        assert!(
            entries.len() >= *at_least,
            "{filter}: {} entries",
            entries.len()
        );
        assert!(
            entries.iter().all(holds),
            "{filter} let through {entries:?}"
        );
    }
    // Combined filters are ANDed.
    let entries = all_pages(
        &app,
        &su,
        &format!("/v1/audit-logs?from={start}&entityId={team}&operation=ADD_TEAM_MEMBER&source=API&outcome=SUCCEEDED"),
        2,
    )
    .await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    let tech_only = all_pages(
        &app,
        &su,
        &format!("/v1/audit-logs?from={start}&entityId={tech}&source=API"),
        50,
    )
    .await;
    assert!(
        tech_only.is_empty(),
        "the technology was created by the SBOM integration"
    );
    // A window that ends before the test began holds none of its entries.
    let before = all_pages(
        &app,
        &su,
        &format!("/v1/audit-logs?to=2000-01-01T00:00:00Z&correlationId={cid}"),
        10,
    )
    .await;
    assert!(before.is_empty());
    // Entries carry the actor's display name resolved now, and what they audit.
    let created = all_pages(
        &app,
        &su,
        &format!("/v1/audit-logs?correlationId={cid}"),
        10,
    )
    .await;
    assert_eq!(created[0]["actor"]["userId"], created[0]["userId"]);
    assert_eq!(created[0]["audits"][0]["type"], "Team");
}

#[tokio::test]
async fn paging_while_100_entries_are_written_returns_every_earlier_entry_once() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, su) = token_for(&["superuser"]);
    let team = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": unique("p-team")})),
            &[],
        )
        .await,
    );
    app.users(
        &(0..60)
            .map(|i| format!("p-{i}"))
            .chain((0..100).map(|i| format!("late-{i}")))
            .collect::<Vec<_>>(),
    )
    .await;
    for i in 0..60 {
        app.send(
            "PUT",
            &format!("/v1/teams/{team}/members/p-{i}"),
            &admin,
            None,
            &[],
        )
        .await;
    }
    let history = format!("/v1/entities/Team/{team}/history");
    let before: BTreeSet<String> = all_pages(&app, &su, &history, 500)
        .await
        .iter()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(before.len(), 61);

    let writer = {
        let (base, http, admin, team) = (
            app.base.clone(),
            app.http.clone(),
            admin.clone(),
            team.clone(),
        );
        tokio::spawn(async move {
            for i in 0..100 {
                let r = http
                    .put(format!("{base}/v1/teams/{team}/members/late-{i}"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(r.status(), 200);
            }
        })
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for order in ["desc", "asc"] {
        seen.clear();
        for e in all_pages(&app, &su, &format!("{history}?order={order}"), 7).await {
            *seen
                .entry(e["id"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        for id in &before {
            assert_eq!(
                seen.get(id),
                Some(&1),
                "{order}: entry {id} seen {:?} times",
                seen.get(id)
            );
        }
        assert!(seen.values().all(|n| *n == 1), "{order}: a duplicate");
    }
    writer.await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn state_as_of_each_instant_matches_what_was_recorded_then() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, su) = token_for(&["superuser"]);
    let team = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": unique("s-team")})),
            &[],
        )
        .await,
    );
    let tech = id_of(
        &app.send(
            "POST",
            "/v1/technologies",
            &admin,
            Some(json!({"name": unique("s-tech")})),
            &[],
        )
        .await,
    );
    let vc = id_of(
        &app.send(
            "POST",
            "/v1/version-constraints",
            &admin,
            Some(json!({"technologyId": tech, "range": "^1"})),
            &[],
        )
        .await,
    );
    let approval = format!("/v1/teams/{team}/technologies/{tech}");
    app.users(&(0..8).map(|i| format!("s-{i}")).collect::<Vec<_>>())
        .await;
    let mut steps: Vec<(&str, String, Option<Value>)> = Vec::new();
    for i in 0..8 {
        steps.push(("PUT", format!("/v1/teams/{team}/members/s-{i}"), None));
    }
    for i in 0..4 {
        steps.push((
            "DELETE",
            format!("/v1/teams/{team}/members/s-{}", i * 2),
            Some(json!({"reason": "rotation"})),
        ));
    }
    steps.push((
        "PUT",
        format!("/v1/teams/{team}/responsibility-areas"),
        Some(json!({"responsibilityAreas": ["a", "b"]})),
    ));
    steps.push((
        "PUT",
        format!("/v1/teams/{team}/responsibility-areas"),
        Some(json!({"responsibilityAreas": ["c"]})),
    ));
    for (action, reason) in [
        ("activate", None),
        ("deactivate", Some("pause")),
        ("activate", None),
        ("deactivate", Some("pause again")),
    ] {
        steps.push((
            "POST",
            format!("/v1/version-constraints/{vc}/{action}"),
            reason.map(|r| json!({"reason": r})),
        ));
    }
    steps.push((
        "PUT",
        format!("/v1/version-constraints/{vc}/range"),
        Some(json!({"range": ">=1.2, <2"})),
    ));
    steps.push((
        "PUT",
        format!("/v1/version-constraints/{vc}/teams/{team}"),
        None,
    ));
    steps.push((
        "DELETE",
        format!("/v1/version-constraints/{vc}/teams/{team}"),
        Some(json!({"reason": "done"})),
    ));
    for category in ["TOLERATE", "INVEST", "MIGRATE"] {
        steps.push((
            "PUT",
            format!("{approval}/time-category"),
            Some(json!({"category": category})),
        ));
    }
    steps.push((
        "PUT",
        format!("{approval}/eol-date"),
        Some(json!({"eolDate": "2030-01-01"})),
    ));
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        steps.push((
            "POST",
            format!("{approval}/approvals"),
            Some(json!({"version": v})),
        ));
    }
    steps.push((
        "POST",
        format!("{approval}/approvals/revoke"),
        Some(json!({"version": "1.1.0", "reason": "cve"})),
    ));
    steps.push((
        "PUT",
        format!("{approval}/eol-date"),
        Some(json!({"eolDate": null})),
    ));
    steps.push((
        "POST",
        format!("/v1/version-constraints/{vc}/archive"),
        Some(json!({"reason": "retired"})),
    ));
    assert!(steps.len() >= 30, "{} steps", steps.len());

    let subjects = [("Team", team.clone()), ("VersionConstraint", vc.clone())];
    let approval_id = govtrail::domain::team_approval_id(
        govtrail::domain::TeamId::parse(&team).unwrap_or_else(|e| panic!("{e}")),
        govtrail::domain::TechnologyId::parse(&tech).unwrap_or_else(|e| panic!("{e}")),
    )
    .to_string();
    let mut recorded = Vec::new();
    for (method, path, body) in steps {
        let r = app.send(method, &path, &admin, body, &[]).await;
        assert!(
            r.status == 200 || r.status == 201,
            "{method} {path}: {}",
            r.body
        );
        let entry = app
            .entry(r.body["auditLogId"].as_str().unwrap_or_default())
            .await;
        let mut states = BTreeMap::new();
        for (t, id) in subjects
            .iter()
            .cloned()
            .chain([("TeamApproval", approval_id.clone())])
        {
            let s = app
                .send(
                    "GET",
                    &format!("/v1/entities/{t}/{id}/state"),
                    &su,
                    None,
                    &[],
                )
                .await;
            if s.status == 200 {
                states.insert(id.clone(), s.body["live"].clone());
            }
        }
        recorded.push((
            entry["timestamp"].as_str().unwrap_or_default().to_owned(),
            states,
        ));
    }
    for (at, states) in &recorded {
        for (id, live_then) in states {
            let t = if *id == team {
                "Team"
            } else if *id == vc {
                "VersionConstraint"
            } else {
                "TeamApproval"
            };
            let url = format!("/v1/entities/{t}/{id}/state?at={}", urlencode(at));
            let s = app.send("GET", &url, &su, None, &[]).await;
            assert_eq!(s.status, 200, "{url}: {}", s.body);
            assert_eq!(&s.body["state"], live_then, "{t} as of {at}");
        }
    }
    for (t, id) in subjects
        .iter()
        .cloned()
        .chain([("TeamApproval", approval_id)])
    {
        let s = app
            .send(
                "GET",
                &format!("/v1/entities/{t}/{id}/state"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(s.body["consistent"], json!(true), "{t}: {}", s.body);
    }
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn check_replay_reports_exactly_the_entity_edited_behind_govtrails_back() {
    let neo4j = DedicatedNeo4j::start();
    let app = TestApp::spawn_with(test_settings(&neo4j.uri)).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, su) = token_for(&["superuser"]);
    let team = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": "replay-team"})),
            &[],
        )
        .await,
    );
    let other = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": "other-team"})),
            &[],
        )
        .await,
    );
    app.users(&["ann".to_owned()]).await;
    app.send(
        "PUT",
        &format!("/v1/teams/{team}/members/ann"),
        &admin,
        None,
        &[],
    )
    .await;
    app.send(
        "PUT",
        &format!("/v1/teams/{other}/members/ann"),
        &admin,
        None,
        &[],
    )
    .await;
    let tech = id_of(
        &app.send(
            "POST",
            "/v1/technologies",
            &admin,
            Some(json!({"name": "replay-tech"})),
            &[],
        )
        .await,
    );
    app.send(
        "PUT",
        &format!("/v1/technologies/{tech}/steward"),
        &admin,
        Some(json!({"userId": "ann"})),
        &[],
    )
    .await;

    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_govtrail"))
            .arg("check-replay")
            .env("GOVTRAIL_NEO4J_URI", &neo4j.uri)
            .env("GOVTRAIL_LOG_FILTER", "warn")
            .env_remove("GOVTRAIL_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let clean = run();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    assert!(String::from_utf8_lossy(&clean.stderr).contains("0 inconsistent"));

    app.query_column(
        "MATCH (t:Team {id: $id}) SET t.responsibilityAreas = ['edited-directly'] RETURN 1 AS one",
        json!({"id": team}),
        "one",
    )
    .await;
    let dirty = run();
    assert_eq!(dirty.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8_lossy(&dirty.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    assert_eq!(lines.len(), 1, "exactly one mismatch: {lines:?}");
    assert_eq!(lines[0]["entityId"], json!(team));
    assert_eq!(
        lines[0]["comparison"]["differingFields"],
        json!(["responsibilityAreas"])
    );
    let state = app
        .send(
            "GET",
            &format!("/v1/entities/Team/{team}/state"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(state.body["consistent"], json!(false));
}

#[tokio::test]
async fn lineage_shows_approve_revoke_reapprove_with_actors_reasons_and_supersession() {
    let app = TestApp::spawn().await;
    let (_, su) = token_for(&["superuser"]);
    let actor = |name: &str| {
        let sub = unique(name);
        let mut c = common::claims(&sub, &["governance-admin"]);
        c["name"] = json!(name);
        (sub, common::hs256(&c, common::TEST_SECRET.as_bytes()))
    };
    let ((_, ada_t), (_, bob_t), (_, cy_t)) = (actor("Ada"), actor("Bob"), actor("Cy"));
    let (ada, bob, cy) = (
        app.user_id(&ada_t).await,
        app.user_id(&bob_t).await,
        app.user_id(&cy_t).await,
    );
    let team = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &ada_t,
            Some(json!({"name": unique("l-team")})),
            &[],
        )
        .await,
    );
    let tech = id_of(
        &app.send(
            "POST",
            "/v1/technologies",
            &ada_t,
            Some(json!({"name": unique("l-tech")})),
            &[],
        )
        .await,
    );
    let base = format!("/v1/teams/{team}/technologies/{tech}/approvals");
    let approve = app
        .send(
            "POST",
            &base,
            &ada_t,
            Some(json!({"range": "^2", "reason": "initial review"})),
            &[],
        )
        .await;
    let revoke = app
        .send(
            "POST",
            &format!("{base}/revoke"),
            &bob_t,
            Some(json!({"range": "^2", "reason": "licence issue"})),
            &[],
        )
        .await;
    let again = app
        .send(
            "POST",
            &base,
            &cy_t,
            Some(json!({"range": "^2", "reason": "issue resolved"})),
            &[],
        )
        .await;
    let ids: Vec<String> = [&approve, &revoke, &again]
        .iter()
        .map(|r| r.body["auditLogId"].as_str().unwrap_or_default().to_owned())
        .collect();

    for depth in ["1", "3"] {
        let r = app
            .send(
                "GET",
                &format!("/v1/entities/Technology/{tech}/lineage?depth={depth}"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let decisions: Vec<&Value> = r.body["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| {
                n["kind"] == "decision"
                    && ids.contains(&n["id"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        let order: Vec<&str> = decisions
            .iter()
            .map(|d| d["id"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            order,
            ids.iter().map(String::as_str).collect::<Vec<_>>(),
            "in time order"
        );
        let who: Vec<(&str, &str, &str)> = decisions
            .iter()
            .map(|d| {
                (
                    d["actor"]["userId"].as_str().unwrap_or_default(),
                    d["actor"]["displayName"].as_str().unwrap_or_default(),
                    d["reason"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            who,
            vec![
                (ada.as_str(), "Ada", "initial review"),
                (bob.as_str(), "Bob", "licence issue"),
                (cy.as_str(), "Cy", "issue resolved")
            ]
        );
        let edges = r.body["edges"].as_array().cloned().unwrap_or_default();
        assert!(
            edges.contains(&json!({"from": ids[1], "to": ids[0], "type": "SUPERSEDES"})),
            "the revocation supersedes the first approval: {edges:?}"
        );
        assert!(
            r.body["mermaid"]
                .as_str()
                .is_some_and(|m| m.contains("supersedes") && m.contains("Bob"))
        );
    }
}

#[tokio::test]
async fn non_superusers_get_403_on_every_read_route() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin", "approver"]);
    let mut c = common::claims(&unique("pipeline"), &["integration"]);
    c["source"] = json!("SBOM");
    let pipeline = common::hs256(&c, common::TEST_SECRET.as_bytes());
    let id = uuid::Uuid::new_v4();
    for token in [&admin, &pipeline] {
        for path in [
            "/v1/audit-logs".to_owned(),
            format!("/v1/audit-logs/{id}"),
            format!("/v1/entities/Team/{id}/history"),
            format!("/v1/entities/Team/{id}/state"),
            format!("/v1/entities/Team/{id}/lineage"),
            "/v1/users/someone/activity".to_owned(),
            "/v1/audit/verify".to_owned(),
            "/v1/audit/keys".to_owned(),
            format!("/v1/audit-logs/{id}/proof"),
        ] {
            let r = app.send("GET", &path, token, None, &[]).await;
            assert_eq!(r.status, 403, "{path}: {}", r.body);
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/problem+json")
            );
        }
    }
}

#[tokio::test]
async fn a_denied_read_names_the_route_and_the_entity_it_asked_for() {
    let app = TestApp::spawn().await;
    let (me, admin) = app.caller(&["governance-admin"]).await;
    let team = uuid::Uuid::new_v4().to_string();
    let reads = [
        (
            format!("/v1/entities/Team/{team}/history"),
            "GET /v1/entities/{type}/{id}/history",
            Some(("Team", team.clone())),
        ),
        ("/v1/audit-logs".to_owned(), "GET /v1/audit-logs", None),
        (
            format!("/v1/users/{me}/activity"),
            "GET /v1/users/{id}/activity",
            Some(("User", me.clone())),
        ),
    ];
    for (path, route, entity) in reads {
        let r = app.send("GET", &path, &admin, None, &[]).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        let entries = app
            .query_column(
                "MATCH (e:AuditLog {userId: $u, route: $route, outcome: 'DENIED'}) RETURN e {.*, timestamp: null} AS e",
                json!({"u": me, "route": route}),
                "e",
            )
            .await;
        assert_eq!(entries.len(), 1, "{route}: {entries:?}");
        let e = &entries[0];
        assert_eq!(e["operation"], "READ_AUDIT");
        if let Some((entity_type, id)) = entity {
            assert_eq!(e["entityType"], entity_type, "{route}");
            assert_eq!(e["entityId"], json!(id), "{route}");
        } else {
            assert!(e.get("entityType").is_none_or(Value::is_null), "{e}");
            assert!(e.get("entityId").is_none_or(Value::is_null), "{e}");
        }
    }
}

#[tokio::test]
async fn invalid_query_input_gets_a_4xx_problem_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let (_, su) = token_for(&["superuser"]);
    let team = uuid::Uuid::new_v4();
    let other_cursor = {
        let (_, admin) = token_for(&["governance-admin"]);
        let t = id_of(
            &app.send(
                "POST",
                "/v1/teams",
                &admin,
                Some(json!({"name": unique("c-team")})),
                &[],
            )
            .await,
        );
        let member = app.fresh_user().await;
        app.send(
            "PUT",
            &format!("/v1/teams/{t}/members/{member}"),
            &admin,
            None,
            &[],
        )
        .await;
        let r = app
            .send(
                "GET",
                &format!("/v1/entities/Team/{t}/history?limit=1"),
                &su,
                None,
                &[],
            )
            .await;
        r.body["nextCursor"].as_str().unwrap_or_default().to_owned()
    };
    for (path, field, status) in [
        ("/v1/audit-logs?cursor=garbage".to_owned(), "cursor", 400),
        (
            format!("/v1/audit-logs?cursor={other_cursor}"),
            "cursor",
            400,
        ),
        ("/v1/audit-logs?from=yesterday".to_owned(), "from", 400),
        (
            "/v1/audit-logs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".to_owned(),
            "from",
            400,
        ),
        ("/v1/audit-logs?limit=0".to_owned(), "limit", 400),
        ("/v1/audit-logs?limit=501".to_owned(), "limit", 400),
        ("/v1/audit-logs?order=sideways".to_owned(), "order", 400),
        (
            "/v1/audit-logs?operation=DROP_TABLE".to_owned(),
            "operation",
            400,
        ),
        (
            "/v1/audit-logs?entityType=Repository".to_owned(),
            "entityType",
            400,
        ),
        ("/v1/audit-logs?bogus=1".to_owned(), "query", 400),
        (format!("/v1/entities/Galaxy/{team}/history"), "type", 400),
        ("/v1/entities/Team/not-a-uuid/history".to_owned(), "id", 400),
        (format!("/v1/entities/Team/{team}/state?at=noon"), "at", 400),
        (
            format!("/v1/entities/Team/{team}/lineage?depth=0"),
            "depth",
            400,
        ),
        (
            format!("/v1/entities/Team/{team}/lineage?depth=4"),
            "depth",
            400,
        ),
        (
            format!("/v1/entities/Team/{team}/lineage?depth=deep"),
            "depth",
            400,
        ),
        (format!("/v1/entities/Team/{team}/state"), "id", 404),
        (format!("/v1/entities/Team/{team}/lineage"), "id", 404),
    ] {
        let r = app.send("GET", &path, &su, None, &[]).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn a_deleted_entity_keeps_its_history_and_labels_as_written() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, su) = token_for(&["superuser"]);
    let name = unique("doomed");
    let team = id_of(
        &app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": name})),
            &[],
        )
        .await,
    );
    let gone = app
        .send(
            "DELETE",
            &format!("/v1/teams/{team}"),
            &admin,
            Some(json!({"reason": "merged"})),
            &[],
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    // The name is free again; the tombstone keeps its id and its history.
    let again = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": name})),
            &[],
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
    let history = all_pages(
        &app,
        &su,
        &format!("/v1/entities/Team/{team}/history?order=asc"),
        10,
    )
    .await;
    let ops: Vec<&str> = history
        .iter()
        .map(|e| e["operation"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ops, vec!["CREATE_TEAM", "DELETE_TEAM"]);
    assert!(
        history.iter().all(|e| e["entityLabel"] == json!(name)),
        "labels as written"
    );
    let state = app
        .send(
            "GET",
            &format!("/v1/entities/Team/{team}/state"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(state.body["consistent"], json!(true), "{}", state.body);
    assert_eq!(state.body["replayed"]["deleted"], json!(true));
}
