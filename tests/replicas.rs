//! Two `govtrail serve` processes on one Neo4j: concurrent writers through both on the
//! same entity lose no update and break no chain; one replica holds the checkpointer
//! lease at a time, and when it is killed with SIGKILL the other takes over and seals;
//! `govtrail verify` is clean afterwards.

mod common;

use std::time::Duration;

use common::{DedicatedNeo4j, Replica, keys_dir, token_for, unique, until};
use serde_json::{Value, json};

async fn lease_holder(graph: &neo4rs::Graph) -> Option<String> {
    let mut rows = graph
        .execute(neo4rs::query(
            "MATCH (l:CheckpointLease {id: 'checkpointer'}) WHERE l.expiresAt > datetime() \
             RETURN l.holder AS holder",
        ))
        .await
        .ok()?;
    let row = rows.next().await.ok()??;
    row.get::<String>("holder").ok()
}

async fn sealed(graph: &neo4rs::Graph, entry: &str) -> bool {
    let Ok(mut rows) = graph
        .execute(
            neo4rs::query(
                "MATCH (c:Checkpoint)-[:SEALS]->(:AuditLog {id: $id}) \
                 WHERE NOT c:PendingCheckpoint RETURN count(c) AS n",
            )
            .param("id", entry),
        )
        .await
    else {
        return false;
    };
    matches!(rows.next().await, Ok(Some(row)) if row.get::<i64>("n").is_ok_and(|n| n == 1))
}

fn holder_pid(holder: &str) -> Option<u32> {
    holder.split('/').nth(1)?.parse().ok()
}

/// Eight writers, four through each replica, change the same team at once; returns how
/// many changes were acknowledged.
async fn write_concurrently(
    http: &reqwest::Client,
    replicas: &[Replica],
    admin: &str,
    team: &str,
) -> u32 {
    let writers = (0..8).map(|w| {
        let (http, admin, team) = (http.clone(), admin.to_owned(), team.to_owned());
        let base = replicas[w % 2].base.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for i in 0..15 {
                let response = http
                    .put(format!("{base}/v1/teams/{team}/responsibility-areas"))
                    .bearer_auth(&admin)
                    .json(&json!({"responsibilityAreas": [format!("area {w} {i}")]}))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status().is_success()) {
                    acknowledged += 1;
                }
            }
            acknowledged
        })
    });
    let mut acknowledged = 0;
    for writer in writers {
        acknowledged += writer.await.unwrap_or_else(|e| panic!("writer: {e}"));
    }
    assert!(acknowledged > 0, "no change was acknowledged");
    acknowledged
}

async fn assert_no_lost_update(graph: &neo4rs::Graph, team: &str, acknowledged: u32) {
    // No lost update: one entry per acknowledged change, versions 1..=n without a gap or
    // a repeat, and the team's version is the last of them.
    let mut rows = graph
        .execute(
            neo4rs::query(
                "MATCH (t:Team {id: $id}) OPTIONAL MATCH (a:AuditLog)-[:AUDITS]->(t) \
                 WITH t, a ORDER BY a.entityVersion \
                 RETURN t.version AS version, collect(a.entityVersion) AS versions",
            )
            .param("id", team),
        )
        .await
        .unwrap_or_else(|e| panic!("versions: {e}"));
    let row = rows
        .next()
        .await
        .unwrap_or_else(|e| panic!("versions: {e}"))
        .unwrap_or_else(|| panic!("team missing"));
    let version: i64 = row.get("version").unwrap_or_else(|e| panic!("{e}"));
    let versions: Vec<i64> = row.get("versions").unwrap_or_else(|e| panic!("{e}"));
    let n = i64::from(acknowledged) + 1;
    assert_eq!(
        versions,
        (1..=n).collect::<Vec<_>>(),
        "one entry per change"
    );
    assert_eq!(version, n, "the team's version counts every change");
}

#[tokio::test]
async fn two_replicas_share_writes_and_hand_over_the_checkpointer_lease() {
    let neo4j = DedicatedNeo4j::start();
    let mut replicas = vec![Replica::start(&neo4j.uri), Replica::start(&neo4j.uri)];
    let http = reqwest::Client::new();
    for replica in &replicas {
        replica.ready(&http).await;
    }
    let graph = neo4rs::Graph::new(neo4j.uri.as_str(), "neo4j", "")
        .unwrap_or_else(|e| panic!("neo4j: {e}"));
    let (_, admin) = token_for(&["governance-admin"]);

    let created: Value = http
        .post(format!("{}/v1/teams", replicas[0].base))
        .bearer_auth(&admin)
        .json(&json!({"name": unique("replicated team")}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("create body: {e}"));
    let team = created["entity"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no team in {created}"))
        .to_owned();

    let acknowledged = write_concurrently(&http, &replicas, &admin, &team).await;
    assert_no_lost_update(&graph, &team, acknowledged).await;

    // One lease holder, one of the two replicas.
    let mut holder = None;
    until(
        "a replica holds the lease",
        Duration::from_secs(30),
        async || {
            holder = lease_holder(&graph).await;
            holder.is_some()
        },
    )
    .await;
    let holder = holder.unwrap_or_default();
    let pid = holder_pid(&holder).unwrap_or_else(|| panic!("holder {holder} names no pid"));
    let held = replicas
        .iter()
        .position(|r| r.pid() == pid)
        .unwrap_or_else(|| panic!("holder {holder} is neither replica"));

    // SIGKILL the holder; the survivor takes the lease and seals a change made after.
    replicas[held].kill();
    let survivor = &replicas[1 - held];
    let changed: Value = http
        .put(format!(
            "{}/v1/teams/{team}/responsibility-areas",
            survivor.base
        ))
        .bearer_auth(&admin)
        .json(&json!({"responsibilityAreas": ["after the failover"]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("change: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("change body: {e}"));
    let entry = changed["auditLogId"]
        .as_str()
        .unwrap_or_else(|| panic!("no entry in {changed}"))
        .to_owned();
    until(
        "the survivor holds the lease",
        Duration::from_secs(60),
        async || {
            lease_holder(&graph)
                .await
                .and_then(|h| holder_pid(&h))
                .is_some_and(|p| p == survivor.pid())
        },
    )
    .await;
    until(
        "the survivor seals the new entry",
        Duration::from_secs(60),
        async || sealed(&graph, &entry).await,
    )
    .await;

    let key = keys_dir().join("ed25519-private.pem");
    let (code, findings, summary) = common::verify_cli(
        &neo4j.uri,
        &[("GOVTRAIL_CHECKPOINT_KEY_FILE", key.as_os_str())],
    );
    assert_eq!(code, 0, "verify: {findings:?} {summary}");
}
