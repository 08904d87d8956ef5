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

fn embedded() -> Migrator {
    Migrator::embedded().unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn migrations_apply_once_and_a_changed_applied_file_refuses_start_up() {
    let neo4j = DedicatedNeo4j::start();
    let store = store_for(&neo4j.uri);
    store
        .wait_until_reachable(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

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
