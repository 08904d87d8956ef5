//! The guarantees around every governed change, against the real Neo4j: atomicity
//! (a failure after the entry is written leaves nothing), concurrency (no lost
//! update under 50 concurrent changes), optimistic concurrency, idempotency, denied
//! attempts recorded and rate-limited, reasons scrubbed, source from the token.

mod common;

use common::unique;

use common::{TEST_SECRET, TestApp, claims, hs256, token_for};
use govtrail::governance::Faults;
use serde_json::{Value, json};

async fn create_team(app: &TestApp, token: &str) -> String {
    let r = app
        .send(
            "POST",
            "/v1/teams",
            token,
            Some(json!({"name": unique("team")})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn create_constraint(app: &TestApp, token: &str) -> String {
    let r = app
        .send(
            "POST",
            "/v1/technologies",
            token,
            Some(json!({"name": unique("tech")})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let tech = r.body["entity"]["id"].clone();
    let r = app
        .send(
            "POST",
            "/v1/version-constraints",
            token,
            Some(json!({"technologyId": tech, "range": ">=1.2, <2"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn team_state(app: &TestApp, team: &str) -> (i64, Vec<String>, Vec<String>) {
    let rows = app
        .query_column(
            "MATCH (t:Team {id: $id}) RETURN {version: t.version, areas: t.responsibilityAreas, \
             members: COLLECT { MATCH (u:User)-[:MEMBER_OF]->(t) RETURN u.id ORDER BY u.id }} AS s",
            json!({"id": team}),
            "s",
        )
        .await;
    let s = rows.into_iter().next().unwrap_or(Value::Null);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    (
        s["version"].as_i64().unwrap_or(-1),
        strings(&s["areas"]),
        strings(&s["members"]),
    )
}

#[tokio::test]
async fn a_failure_after_the_entry_is_written_leaves_neither_change_nor_entry() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let before = team_state(&app, &team).await;
    let entries_before = app.entry_count(&team).await;

    let faulty = TestApp::spawn_with_governor(|g| {
        g.with_faults(Faults {
            fail_after_write: true,
        })
    })
    .await;
    let r = faulty
        .send(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            &admin,
            Some(json!({"responsibilityAreas": ["payments"]})),
            &[],
        )
        .await;
    assert_eq!(
        r.status, 409,
        "the injected constraint violation surfaces: {}",
        r.body
    );
    let member = app.fresh_user().await;
    let r = faulty
        .send(
            "PUT",
            &format!("/v1/teams/{team}/members/{member}"),
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    assert_eq!(team_state(&app, &team).await, before, "no change survived");
    assert_eq!(
        app.entry_count(&team).await,
        entries_before,
        "no entry survived"
    );

    // The same change through a healthy governor commits both.
    let r = app
        .send(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            &admin,
            Some(json!({"responsibilityAreas": ["payments"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.entry_count(&team).await, entries_before + 1);
}

/// Replays the team's entries in version order and returns the member set they imply.
async fn members_by_replay(app: &TestApp, team: &str) -> Vec<String> {
    let entries = app
        .query_column(
            "MATCH (e:AuditLog {entityId: $id}) WHERE e.outcome = 'SUCCEEDED' \
             RETURN e {.entityVersion, .changes, .operation} AS e ORDER BY e.entityVersion",
            json!({"id": team}),
            "e",
        )
        .await;
    let mut members = std::collections::BTreeSet::new();
    for e in entries {
        let changes: Value =
            serde_json::from_str(e["changes"].as_str().unwrap_or("{}")).unwrap_or_default();
        for u in changes["members"]["added"].as_array().into_iter().flatten() {
            members.insert(u.as_str().unwrap_or_default().to_owned());
        }
        for u in changes["members"]["removed"]
            .as_array()
            .into_iter()
            .flatten()
        {
            members.remove(u.as_str().unwrap_or_default());
        }
    }
    members.into_iter().collect()
}

#[tokio::test]
async fn fifty_concurrent_membership_changes_on_one_team_lose_no_update() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let mut users: Vec<String> = Vec::new();
    for _ in 0..25 {
        users.push(app.fresh_user().await);
    }

    let mut tasks = Vec::new();
    for (i, user) in users.iter().enumerate() {
        for add in [true, false] {
            let (app_base, http, admin, team, user) = (
                app.base.clone(),
                app.http.clone(),
                admin.clone(),
                team.clone(),
                user.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let url = format!("{app_base}/v1/teams/{team}/members/{user}");
                let request = if add {
                    http.put(url).bearer_auth(&admin)
                } else {
                    http.delete(url)
                        .bearer_auth(&admin)
                        .json(&json!({"reason": format!("rotation {i}")}))
                };
                let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or_default();
                (status, body)
            }));
        }
    }
    let mut changed = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "every request succeeds: {body}");
        if body["changed"] == json!(true) {
            changed += 1;
        }
    }
    assert!(
        changed >= 1,
        "some of the concurrent changes change the team"
    );
    let (version, _, live_members) = team_state(&app, &team).await;
    assert_eq!(
        app.entry_count(&team).await,
        1 + changed,
        "one entry per change (+ create)"
    );
    assert_eq!(
        version,
        1 + i64::try_from(changed).unwrap_or(0),
        "every change bumped the version once"
    );
    assert_eq!(
        members_by_replay(&app, &team).await,
        live_members,
        "entries replay to the live state"
    );
}

#[tokio::test]
async fn fifty_concurrent_status_changes_on_one_constraint_lose_no_update() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let constraint = create_constraint(&app, &admin).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let action = if i % 2 == 0 { "activate" } else { "deactivate" };
        let (base, http, admin, id) = (
            app.base.clone(),
            app.http.clone(),
            admin.clone(),
            constraint.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(format!("{base}/v1/version-constraints/{id}/{action}"))
                .bearer_auth(&admin)
                .json(&json!({"reason": format!("flip {i}")}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }));
    }
    let mut changed = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap_or_else(|e| panic!("{e}"));
        // A DEACTIVATE that runs while the constraint is still DRAFT is a legal refusal.
        assert!(status == 200 || status == 409, "{status}: {body}");
        if body["changed"] == json!(true) {
            changed += 1;
        }
    }
    assert!(changed >= 1, "the first ACTIVATE on the DRAFT changes it");
    let entries = app
        .query_column(
            "MATCH (e:AuditLog {entityId: $id}) RETURN e {.entityVersion, .previousStatus, .newStatus} AS e \
             ORDER BY e.entityVersion",
            json!({"id": constraint}),
            "e",
        )
        .await;
    assert_eq!(
        entries.len(),
        1 + changed,
        "one entry per change (+ create)"
    );
    // Each entry starts where the previous one ended: no change was lost or interleaved.
    for pair in entries.windows(2) {
        assert_eq!(
            pair[1]["previousStatus"], pair[0]["newStatus"],
            "{entries:?}"
        );
        assert_eq!(
            pair[1]["entityVersion"].as_i64(),
            pair[0]["entityVersion"].as_i64().map(|v| v + 1)
        );
    }
    let live = app
        .query_column(
            "MATCH (c:VersionConstraint {id: $id}) RETURN c.status AS s",
            json!({"id": constraint}),
            "s",
        )
        .await;
    assert_eq!(live.first(), entries.last().map(|e| &e["newStatus"]));
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let path = format!("/v1/teams/{team}/responsibility-areas");
    let first = app
        .send(
            "PUT",
            &path,
            &admin,
            Some(json!({"responsibilityAreas": ["a"]})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("etag").as_deref(), Some("\"2\""));
    let stale = app
        .send(
            "PUT",
            &path,
            &admin,
            Some(json!({"responsibilityAreas": ["b"]})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(
        stale.header("etag").as_deref(),
        Some("\"2\""),
        "the current tag is returned"
    );
    let (version, areas, _) = team_state(&app, &team).await;
    assert_eq!((version, areas), (2, vec!["a".to_owned()]));
    assert_eq!(app.entry_count(&team).await, 2);
}

#[tokio::test]
async fn an_idempotency_key_replay_returns_the_first_response_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"name": unique("idem-team")});
    let first = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(body.clone()),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let team = first.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let replay = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(body),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, first.body, "the first response, verbatim");
    assert_eq!(
        replay.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(replay.header("etag"), first.header("etag"));
    assert_eq!(app.entry_count(&team).await, 1, "no second entry");

    let other = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": unique("other")})),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.body["errors"][0]["field"], "Idempotency-Key");

    // Keys are per caller: another caller's identical key is independent.
    let (_, other_admin) = token_for(&["governance-admin"]);
    let theirs = app
        .send(
            "POST",
            "/v1/teams",
            &other_admin,
            Some(json!({"name": unique("theirs")})),
            &[("Idempotency-Key", &key)],
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
}

#[tokio::test]
async fn a_change_that_changes_nothing_writes_nothing_and_says_so() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let user = app.fresh_user().await;
    let path = format!("/v1/teams/{team}/members/{user}");
    assert_eq!(app.send("PUT", &path, &admin, None, &[]).await.status, 200);
    let again = app.send("PUT", &path, &admin, None, &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["changed"], json!(false));
    assert!(
        again.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already"))
    );
    assert!(again.body.get("auditLogId").is_none());
    assert_eq!(app.entry_count(&team).await, 2, "create + one add");
}

#[tokio::test]
async fn a_caller_without_the_role_gets_403_and_a_rate_limited_denied_entry() {
    let app = TestApp::spawn().await;
    let (sub, superuser) = app.caller(&["superuser"]).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    for _ in 0..20 {
        let r = app
            .send(
                "PUT",
                &format!("/v1/teams/{team}/responsibility-areas"),
                &superuser,
                Some(json!({"responsibilityAreas": ["x"]})),
                &[],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    let denied = app
        .query_column(
            "MATCH (e:AuditLog {userId: $u})-[:PERFORMED_BY]->(:User {id: $u}) \
             RETURN e {.outcome, .operation, .entityId, audits: COUNT { (e)-[:AUDITS]->() }} AS e",
            json!({"u": sub}),
            "e",
        )
        .await;
    assert!(!denied.is_empty(), "denied attempts are recorded");
    assert!(
        denied.len() <= 6,
        "at most 6 per caller per minute, got {}",
        denied.len()
    );
    for e in &denied {
        assert_eq!(e["outcome"], "DENIED");
        assert_eq!(e["operation"], "CHANGE_RESPONSIBILITY_AREAS");
        assert_eq!(e["entityId"], json!(team));
        assert_eq!(
            e["audits"],
            json!(0),
            "a denial changes no entity's history"
        );
    }
    let (version, areas, _) = team_state(&app, &team).await;
    assert_eq!((version, areas.len()), (1, 0), "nothing changed");
}

#[tokio::test]
async fn source_comes_from_the_token_and_reasons_are_scrubbed() {
    let app = TestApp::spawn().await;
    let sub = format!("sbom-{}", uuid::Uuid::new_v4());
    let mut c = claims(&sub, &["integration"]);
    c["source"] = json!("SBOM");
    c["email"] = json!("pipeline-owner@example.com");
    let token = hs256(&c, TEST_SECRET.as_bytes());
    let reason = format!("seen in build; token was {token} and ask ops@example.com");
    let r = app
        .send(
            "POST",
            "/v1/technologies",
            &token,
            Some(json!({"name": unique("lib"), "reason": reason})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let entry = app
        .entry(r.body["auditLogId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(entry["source"], "SBOM");
    assert_eq!(entry["userId"], json!(app.user_id(&token).await));
    assert!(
        !entry.to_string().contains(&sub),
        "the token subject never enters an entry"
    );
    let stored = entry["reason"].as_str().unwrap_or_default();
    assert!(stored.contains("[REDACTED]"), "{stored}");
    assert!(!stored.contains("eyJ") && !stored.contains('@'), "{stored}");
    assert!(!entry.to_string().contains("pipeline-owner@example.com"));

    let spoof = app
        .send(
            "POST",
            "/v1/technologies",
            &token,
            Some(json!({"name": unique("lib"), "source": "System"})),
            &[],
        )
        .await;
    assert_eq!(
        spoof.status, 422,
        "a body cannot choose the source: {}",
        spoof.body
    );
}

#[tokio::test]
async fn the_user_node_keeps_name_and_email_and_entries_do_not() {
    let app = TestApp::spawn().await;
    let sub = format!("person-{}", uuid::Uuid::new_v4());
    let mut c = claims(&sub, &["governance-admin"]);
    c["name"] = json!("Grace Hopper");
    c["email"] = json!("grace@example.com");
    let token = hs256(&c, TEST_SECRET.as_bytes());
    let team = create_team(&app, &token).await;
    let users = app
        .query_column(
            "MATCH (u:User {subject: $sub}) RETURN u {.displayName, .email} AS u",
            json!({"sub": sub}),
            "u",
        )
        .await;
    assert_eq!(
        users,
        vec![json!({"displayName": "Grace Hopper", "email": "grace@example.com"})]
    );
    let entries = app
        .query_column(
            "MATCH (e:AuditLog {entityId: $id}) RETURN e {.*, timestamp: null} AS e",
            json!({"id": team}),
            "e",
        )
        .await;
    assert_eq!(entries.len(), 1);
    let text = entries[0].to_string();
    assert!(
        !text.contains("Grace") && !text.contains("grace@") && !text.contains(&sub),
        "{text}"
    );
}

#[tokio::test]
async fn entries_are_stamped_with_the_governor_clock() {
    let fixed = chrono::DateTime::parse_from_rfc3339("2031-01-02T03:04:05.123456Z")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timezone(&chrono::Utc);
    let app =
        TestApp::spawn_with_governor(|g| g.with_clock(std::sync::Arc::new(move || fixed))).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let r = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": unique("clock")})),
            &[],
        )
        .await;
    let entry = app
        .entry(r.body["auditLogId"].as_str().unwrap_or_default())
        .await;
    assert_eq!(entry["timestamp"], "2031-01-02T03:04:05.123456Z");
}

/// Opens a transaction of its own that holds the team's write lock until it ends.
async fn hold_write_lock(app: &TestApp, team: &str) -> neo4rs::Txn {
    let mut holder = app
        .state
        .store
        .graph()
        .start_txn()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    holder
        .run(neo4rs::query("MATCH (t:Team {id: $id}) SET t.heldBy = 'test'").param("id", team))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    holder
}

/// The team's properties, as stored.
async fn team_properties(graph: &neo4rs::Graph, team: &str) -> Value {
    let mut rows = graph
        .execute(
            neo4rs::query("MATCH (t:Team {id: $id}) RETURN properties(t) AS p").param("id", team),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = rows.next().await.unwrap_or_else(|e| panic!("{e}"));
    row.and_then(|r| r.get::<Value>("p").ok())
        .unwrap_or(Value::Null)
}

/// Whether a transaction whose parameters name `team` waits for a lock.
async fn blocked_on(graph: &neo4rs::Graph, team: &str) -> bool {
    let mut rows = graph
        .execute(
            neo4rs::query(
                "SHOW TRANSACTIONS YIELD status, parameters \
                 WHERE status STARTS WITH 'Blocked' AND $team IN parameters.ids \
                 RETURN count(*) AS n",
            )
            .param("team", team),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = rows.next().await.unwrap_or_else(|e| panic!("{e}"));
    row.and_then(|r| r.get::<i64>("n").ok()).unwrap_or(0) > 0
}

/// The locked read of every governed change (cypher/governed_read.cypher) takes the
/// write lock of each node it reads and changes nothing: a governed change on the same
/// team waits, visibly blocked in Neo4j, until the reading transaction ends, and a
/// committed read leaves the node as it was. On a database of its own, fresh, because
/// how Neo4j handles a property name it has never seen is part of what is tested.
#[tokio::test]
async fn the_locked_read_write_locks_what_it_reads_and_changes_nothing() {
    let neo4j = common::DedicatedNeo4j::start();
    let mut settings = common::test_settings(&neo4j.uri);
    settings.request_timeout_ms = 60_000;
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let read = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cypher/governed_read.cypher"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let locked_read = || {
        neo4rs::query(&read)
            .param("ids", vec![team.clone()])
            .param("rels", Vec::<String>::new())
            .param("idem", Option::<String>::None)
            .param("subject", Option::<String>::None)
    };
    let graph = app.state.store.graph();
    let before = team_properties(&graph, &team).await;
    let mut committed = graph.start_txn().await.unwrap_or_else(|e| panic!("{e}"));
    let counters = *committed
        .run(locked_read())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .stats();
    committed.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            counters.nodes_created,
            counters.labels_added,
            counters.relationships_created
        ),
        (0, 0, 0),
        "{counters:?}"
    );
    assert_eq!(
        team_properties(&graph, &team).await,
        before,
        "a committed locked read changes nothing"
    );

    let mut reader = graph.start_txn().await.unwrap_or_else(|e| panic!("{e}"));
    reader
        .run(locked_read())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let writer = {
        let url = format!("{}/v1/teams/{team}/responsibility-areas", app.base);
        let request = app
            .http
            .put(url)
            .bearer_auth(&admin)
            .json(&json!({"responsibilityAreas": ["after-the-read"]}));
        tokio::spawn(async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            (status, body)
        })
    };
    common::until(
        "the change waits for the read's lock",
        std::time::Duration::from_secs(30),
        async || blocked_on(&graph, &team).await,
    )
    .await;
    assert!(
        !writer.is_finished(),
        "the change did not get past the lock"
    );
    reader.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = writer.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200, "the change runs once the lock is free: {body}");
    let (version, areas, _) = team_state(&app, &team).await;
    assert_eq!((version, areas), (2, vec!["after-the-read".to_owned()]));
}

#[tokio::test]
async fn a_transient_lock_timeout_retries_the_whole_transaction() {
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.request_timeout_ms = 60_000;
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;

    // Someone else holds the team's write lock past Neo4j's lock acquisition timeout
    // (10 s in dev/neo4j), then lets go.
    let holder = hold_write_lock(&app, &team).await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    });

    let r = app
        .send(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            &admin,
            Some(json!({"responsibilityAreas": ["after-retry"]})),
            &[],
        )
        .await;
    release.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.status, 200,
        "the retried transaction succeeds: {}",
        r.body
    );
    let metrics = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains(r#"govtrail_neo4j_errors_total{reason="transient"}"#),
        "the first attempt failed transiently: {metrics}"
    );
    let (_, areas, _) = team_state(&app, &team).await;
    assert_eq!(areas, vec!["after-retry".to_owned()]);
    assert_eq!(
        app.entry_count(&team).await,
        2,
        "one entry despite two attempts"
    );
}

#[tokio::test]
async fn a_request_that_outlives_the_time_limit_gets_a_503_problem_and_changes_nothing() {
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.request_timeout_ms = 500;
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let holder = hold_write_lock(&app, &team).await;
    let r = app
        .send(
            "PUT",
            &format!("/v1/teams/{team}/responsibility-areas"),
            &admin,
            Some(json!({"responsibilityAreas": ["too-late"]})),
            &[],
        )
        .await;
    holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["type"], "urn:govtrail:problem:timeout");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (version, areas, _) = team_state(&app, &team).await;
    assert_eq!(
        (version, areas.len()),
        (1, 0),
        "the abandoned change was rolled back"
    );
    assert_eq!(app.entry_count(&team).await, 1);
}

#[tokio::test]
async fn a_keyed_noop_replays_as_a_noop_even_after_the_state_moved_on() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let user = app.fresh_user().await;
    let path = format!("/v1/teams/{team}/members/{user}");
    assert_eq!(app.send("PUT", &path, &admin, None, &[]).await.status, 200);
    let key = uuid::Uuid::new_v4().to_string();
    let noop = app
        .send("PUT", &path, &admin, None, &[("Idempotency-Key", &key)])
        .await;
    assert_eq!(noop.body["changed"], json!(false));
    let markers = app
        .query_column(
            "MATCH (n:Governed) WHERE n.id IN [$t, $u] AND n._lock IS NOT NULL RETURN n.id AS n",
            json!({"t": team, "u": user}),
            "n",
        )
        .await;
    assert!(
        markers.is_empty(),
        "no lock marker outlives its transaction: {markers:?}"
    );
    let removed = app
        .send(
            "DELETE",
            &path,
            &admin,
            Some(json!({"reason": "moved"})),
            &[],
        )
        .await;
    assert_eq!(removed.body["changed"], json!(true));
    // The client retries its earlier (no-op) request with the same key.
    let retry = app
        .send("PUT", &path, &admin, None, &[("Idempotency-Key", &key)])
        .await;
    assert_eq!(retry.body, noop.body, "the first answer, not a new change");
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    let (_, _, members) = team_state(&app, &team).await;
    assert!(members.is_empty(), "the retry did not re-add the member");
    assert_eq!(app.entry_count(&team).await, 3, "create, add, remove");
}

/// The sum (seconds) and count of one of `/metrics`' histograms.
async fn histogram(app: &TestApp, name: &str) -> (f64, u64) {
    let text = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    let value = |suffix: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(suffix)?
                    .strip_prefix(' ')
            })
            .unwrap_or_else(|| panic!("no {name}{suffix} in {text}"))
            .to_owned()
    };
    let sum = value("_sum").parse().unwrap_or_else(|e| panic!("{e}"));
    let count = value("_count").parse().unwrap_or_else(|e| panic!("{e}"));
    (sum, count)
}

/// `/metrics` times the write locks of committed governed changes: a change that
/// waited for another transaction's lock shows at least that wait in
/// `govtrail_governed_lock_wait_seconds`, each committed change adds one hold to
/// `govtrail_governed_lock_hold_seconds`, and a no-op (rolled back) adds neither.
#[tokio::test]
async fn lock_metrics_time_the_wait_and_the_hold_of_committed_changes() {
    const WAIT: &str = "govtrail_governed_lock_wait_seconds";
    const HOLD: &str = "govtrail_governed_lock_hold_seconds";
    let mut settings = common::test_settings(&common::neo4j_uri());
    settings.request_timeout_ms = 60_000;
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = create_team(&app, &admin).await;
    let (wait_before, wait_count_before) = histogram(&app, WAIT).await;
    let (hold_before, hold_count_before) = histogram(&app, HOLD).await;

    let holder = hold_write_lock(&app, &team).await;
    let change = |areas: &'static str| {
        let request = app
            .http
            .put(format!("{}/v1/teams/{team}/responsibility-areas", app.base))
            .bearer_auth(&admin)
            .json(&json!({ "responsibilityAreas": [areas] }));
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let writer = tokio::spawn(change("after-the-wait"));
    let graph = app.state.store.graph();
    common::until(
        "the change waits for the holder's lock",
        std::time::Duration::from_secs(30),
        async || blocked_on(&graph, &team).await,
    )
    .await;
    let blocked = std::time::Instant::now();
    // The holder keeps the lock a while longer, so the wait is large next to a hold.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let waited_at_least = blocked.elapsed().as_secs_f64();
    let (status, body) = writer.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200, "{body}");

    let (wait_after, wait_count_after) = histogram(&app, WAIT).await;
    let (hold_after, hold_count_after) = histogram(&app, HOLD).await;
    assert_eq!(
        (
            wait_count_after - wait_count_before,
            hold_count_after - hold_count_before
        ),
        (1, 1)
    );
    assert!(
        wait_after - wait_before >= waited_at_least,
        "the wait ({} s) covers the time the change was seen blocked ({waited_at_least} s)",
        wait_after - wait_before
    );
    assert!(hold_after > hold_before, "the hold is timed");

    let (status, body) = change("after-the-wait").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        histogram(&app, HOLD).await.1,
        hold_count_after,
        "a no-op commits nothing, so holds nothing"
    );
}
