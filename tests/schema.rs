//! Migrations and readiness against Neo4j instances of their own: migrations are
//! idempotent, a changed applied file refuses start-up, and `/readyz` follows Neo4j
//! going down and coming back without restarting govtrail.

mod common;

use std::time::{Duration, Instant};

use common::{DedicatedNeo4j, TestApp, test_settings};
use govtrail::http::{App, StartError};
use govtrail::metrics::Metrics;
use govtrail::store::Store;
use govtrail::store::migrations::{MigrationError, Migrator};

fn store_for(uri: &str) -> Store {
    let mut registry = prometheus_client::registry::Registry::default();
    Store::connect(&test_settings(uri), Metrics::register(&mut registry))
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A store on `uri`, once Neo4j answers.
async fn reachable_store(uri: &str) -> Store {
    let store = store_for(uri);
    store
        .wait_until_reachable(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
}

fn embedded() -> Migrator {
    Migrator::embedded().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn migrations_apply_once_and_a_changed_applied_file_refuses_start_up() {
    let neo4j = DedicatedNeo4j::start();
    let store = reachable_store(&neo4j.uri).await;

    let all: Vec<i64> = embedded().migrations().iter().map(|m| m.version).collect();
    let first = embedded()
        .run(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, all, "a fresh database gets every migration");
    let second = embedded()
        .run(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(second.is_empty(), "re-running applies nothing: {second:?}");
    let status = embedded()
        .status(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.is_current());

    // The same migrations with one applied file edited by a single character.
    let edited = Migrator::new(embedded().migrations().iter().map(|m| {
        let script = if m.version == 2 {
            m.script.replace("IF NOT EXISTS", "if not exists")
        } else {
            m.script.clone()
        };
        (m.name.clone(), script)
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = App::build(test_settings(&neo4j.uri), edited).await;
    match refused {
        Err(StartError::Migration(MigrationError::ChecksumMismatch { version, .. })) => {
            assert_eq!(version, 2);
        }
        Err(other) => panic!("expected a checksum mismatch, got {other}"),
        Ok(_) => panic!("start-up must refuse a changed applied migration"),
    }
    let message = MigrationError::ChecksumMismatch {
        version: 2,
        name: "0002_natural_keys.cypher".into(),
        applied: "a".into(),
        current: "b".into(),
    }
    .to_string();
    assert!(message.contains("0002_natural_keys.cypher") && message.contains("never change"));
}

async fn column(store: &Store, cypher: &str) -> Vec<serde_json::Value> {
    let mut rows = store
        .graph()
        .execute(neo4rs::query(cypher))
        .await
        .unwrap_or_else(|e| panic!("{cypher}: {e}"));
    let mut out = Vec::new();
    while let Some(row) = rows
        .next()
        .await
        .unwrap_or_else(|e| panic!("{cypher}: {e}"))
    {
        out.push(row.get("v").unwrap_or_else(|e| panic!("{cypher}: {e}")));
    }
    out
}

/// A database written before migrations 15 and 16 (queue items that copy their entry's
/// id and hash; AUDITS edges without the history index's keys) keeps every queued
/// entry queued and every entry in its entity's history after the upgrade.
#[tokio::test]
async fn an_upgrade_keeps_queued_entries_queued_and_every_entry_in_its_history() {
    let neo4j = DedicatedNeo4j::start();
    let store = reachable_store(&neo4j.uri).await;
    let before = Migrator::new(
        embedded()
            .migrations()
            .iter()
            .filter(|m| m.version < 15)
            .map(|m| (m.name.clone(), m.script.clone())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    before.run(&store).await.unwrap_or_else(|e| panic!("{e}"));
    store
        .graph()
        .run(neo4rs::query(
            "CREATE (t:Governed:Team {id: 'upgrade-team', version: 1}) \
             CREATE (e:AuditLog {id: 'upgrade-entry', hash: 'h1', entityId: 'upgrade-team', \
                                 timestamp: datetime('2026-11-30T10:00:00.000001Z')})-[:AUDITS]->(t) \
             CREATE (:SealQueue {entryId: 'upgrade-entry', hash: 'h1', at: e.timestamp}) \
             CREATE (:SealQueue {entryId: 'gone-entry', hash: 'h2', at: e.timestamp})",
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let applied = embedded()
        .run(&store)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied, vec![15, 16]);
    assert_eq!(
        column(
            &store,
            "MATCH (q:SealQueue)-[:QUEUES]->(e:AuditLog) \
             RETURN [e.id, q.entryId IS NULL, q.hash IS NULL, toString(q.at)] AS v"
        )
        .await,
        vec![serde_json::json!([
            "upgrade-entry",
            true,
            true,
            "2026-11-30T10:00:00.000001Z"
        ])],
        "the queued entry is still queued, through its edge"
    );
    assert_eq!(
        column(
            &store,
            "MATCH (q:SealQueue) WHERE NOT (q)-[:QUEUES]->() RETURN q.entryId AS v"
        )
        .await,
        vec![serde_json::json!("gone-entry")],
        "an item whose entry is gone is left for the operator to see"
    );
    assert_eq!(
        column(
            &store,
            "MATCH (e:AuditLog)-[r:AUDITS]->(t) \
             RETURN [r.entity, r.at = e.timestamp] AS v"
        )
        .await,
        vec![serde_json::json!(["upgrade-team", true])],
        "the old AUDITS edge carries the history index's keys"
    );
    assert_eq!(
        column(
            &store,
            "SHOW CONSTRAINTS YIELD name WHERE name = 'seal_queue_entry' RETURN name AS v"
        )
        .await,
        Vec::<serde_json::Value>::new(),
        "the queue's unique constraint is gone"
    );
}

async fn wait_for_status(app: &TestApp, want: u16, limit: Duration) -> u16 {
    let deadline = Instant::now() + limit;
    loop {
        let status = app.get("/readyz", None).await.status().as_u16();
        if status == want || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn readyz_is_503_while_neo4j_is_down_and_200_once_it_is_back() {
    let neo4j = DedicatedNeo4j::start();
    let app = TestApp::spawn_with(test_settings(&neo4j.uri)).await;
    assert_eq!(
        wait_for_status(&app, 200, Duration::from_secs(10)).await,
        200
    );
    let (_, admin) = common::token_for(&["governance-admin"]);
    let create_team = |name: &'static str| {
        app.send(
            "POST",
            "/v1/teams",
            &admin,
            Some(serde_json::json!({ "name": name })),
            &[],
        )
    };

    neo4j.stop();
    // Fail closed: with no way to write the entry, the change is refused.
    let refused = create_team("written-while-down").await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
    let down = app.get("/readyz", None).await;
    assert_eq!(down.status(), 503);
    let (_, body) = common::problem(down).await;
    let status: serde_json::Value = app
        .get("/status", None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(status["status"], "blocked", "{status}");
    assert!(
        body["checks"]["neo4j"].as_str().is_some_and(|s| s != "ok"),
        "reason given: {body}"
    );

    neo4j.restart();
    assert_eq!(
        wait_for_status(&app, 200, Duration::from_secs(30)).await,
        200,
        "govtrail must recover by itself once Neo4j is back"
    );
    let accepted = create_team("written-after-recovery").await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    let refused_name = app
        .query_column(
            "MATCH (t:Team {name: 'written-while-down'}) RETURN count(t) AS n",
            serde_json::json!({}),
            "n",
        )
        .await;
    assert_eq!(
        refused_name,
        vec![serde_json::json!(0)],
        "nothing half-written"
    );
}
