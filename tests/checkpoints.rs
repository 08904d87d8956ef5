//! Signed checkpoints on a Neo4j of their own: two replicas share one checkpointer
//! through the lease, every entry gets sealed, a clean log verifies, and the tampering
//! that hash chains alone cannot see — deleting an entity's newest entry and rewinding
//! its head, deleting a checkpoint, rewriting one without the key, rebuilding the
//! whole log consistently — is reported.

#![expect(
    clippy::too_many_lines,
    reason = "one scenario per test, read top to bottom"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{DedicatedNeo4j, TestApp, keys_dir, test_settings, token_for};
use govtrail::audit::checkpoint::{CheckpointKey, Checkpointer};
use serde_json::{Value, json};

fn verify(uri: &str, sink: &Path) -> (i32, Vec<Value>) {
    let key = keys_dir().join("ed25519-private.pem");
    let (code, findings, _) = common::verify_cli(
        uri,
        &[
            ("GOVTRAIL_CHECKPOINT_KEY_FILE", key.as_os_str()),
            ("GOVTRAIL_CHECKPOINT_SINK", sink.as_os_str()),
        ],
    );
    (code, findings)
}

fn kinds(findings: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = findings
        .iter()
        .filter_map(|f| f["kind"].as_str().map(str::to_owned))
        .collect();
    k.sort();
    k.dedup();
    k
}

/// A checkpointer the test drives round by round. Its lease lasts five intervals, so a
/// long interval keeps the lease held however slow the machine is between rounds.
fn checkpointer(app: &TestApp, sink: &Path) -> Checkpointer {
    checkpointer_with(app, sink, Duration::from_secs(120))
}

fn checkpointer_with(app: &TestApp, sink: &Path, interval: Duration) -> Checkpointer {
    let key = CheckpointKey::from_pem_file(&keys_dir().join("ed25519-private.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    Checkpointer::new(
        app.state.store.clone(),
        key,
        Some(sink.to_path_buf()),
        interval,
    )
}

async fn changes(app: &TestApp, admin: &str, n: usize) -> String {
    let r = app
        .send(
            "POST",
            "/v1/teams",
            admin,
            Some(json!({"name": format!("cp-{}", uuid::Uuid::new_v4())})),
            &[],
        )
        .await;
    let team = r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.users(&(0..n).map(|i| format!("m-{i}")).collect::<Vec<_>>())
        .await;
    for i in 0..n {
        let r = app
            .send(
                "PUT",
                &format!("/v1/teams/{team}/members/m-{i}"),
                admin,
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    team
}

fn sink_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("checkpoints.jsonl")
}

#[tokio::test]
async fn checkpoints_seal_every_entry_with_one_checkpointer_and_catch_what_chains_miss() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = sink_path(&dir);
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0; // the test drives the checkpointers itself
    let replica_a = TestApp::spawn_with(settings.clone()).await;
    let replica_b = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (a, b) = (
        checkpointer(&replica_a, &sink),
        checkpointer(&replica_b, &sink),
    );

    // Two replicas write; only the lease holder seals.
    let team_a = changes(&replica_a, &admin, 5).await;
    let team_b = changes(&replica_b, &admin, 5).await;
    let first = a.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.map(|s| (s.seq, s.count)), Some((1, 12)));
    assert_eq!(
        b.round().await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "B does not hold the lease"
    );
    changes(&replica_b, &admin, 3).await;
    assert_eq!(b.round().await.unwrap_or_else(|e| panic!("{e}")), None);
    let second = a.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.map(|s| s.seq), Some(2));
    assert_eq!(
        a.round().await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "nothing left to seal"
    );

    let (_, su) = token_for(&["superuser"]);
    let keys = replica_a
        .send("GET", "/v1/audit/keys", &su, None, &[])
        .await;
    assert_eq!(
        keys.body["keys"][0]["algorithm"], "Ed25519",
        "{}",
        keys.body
    );
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!(
        (code, findings.len()),
        (0, 0),
        "a sealed log verifies: {findings:#?}"
    );

    // Checkpoints link to what they seal; checkpoints from before those links get them
    // from migration 0007, run here as the migrator runs it (auto-commit).
    let unlink = "MATCH (:Checkpoint)-[s:SEALS]->(:AuditLog) DELETE s RETURN count(s) AS n";
    let removed = replica_a.query_column(unlink, json!({}), "n").await;
    assert_eq!(removed, vec![json!(16)], "one SEALS edge per sealed entry");
    let backfill = include_str!("../cypher/schema/0007_checkpoint_seals_edges.cypher");
    replica_a
        .state
        .store
        .graph()
        .run(neo4rs::query(backfill.trim().trim_end_matches(';')))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let relinked = replica_a
        .query_column(
            "MATCH (c:Checkpoint)-[s:SEALS]->(e:AuditLog) WHERE c.entryIds[s.leaf] = e.id RETURN count(s) AS n",
            json!({}),
            "n",
        )
        .await;
    assert_eq!(relinked, vec![json!(16)]);

    // Any sealed entry proves its inclusion in a signed root.
    let entry = replica_a
        .query_column(
            "MATCH (e:AuditLog {entityId: $t}) RETURN e.id AS n ORDER BY e.timestamp LIMIT 1",
            json!({"t": team_b}),
            "n",
        )
        .await;
    let entry = entry
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let proof = replica_a
        .send(
            "GET",
            &format!("/v1/audit-logs/{entry}/proof"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(proof.status, 200, "{}", proof.body);
    let path: Vec<String> = proof.body["auditPath"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let checkpoint = &proof.body["checkpoint"];
    assert!(govtrail::audit::checkpoint::verify_inclusion(
        checkpoint["root"].as_str().unwrap_or_default(),
        proof.body["treeSize"].as_u64().unwrap_or(0),
        proof.body["entryHash"].as_str().unwrap_or_default(),
        proof.body["leafIndex"].as_u64().unwrap_or(0),
        &path,
    ));
    assert!(!govtrail::audit::checkpoint::verify_inclusion(
        checkpoint["root"].as_str().unwrap_or_default(),
        proof.body["treeSize"].as_u64().unwrap_or(0),
        "a-different-hash",
        proof.body["leafIndex"].as_u64().unwrap_or(0),
        &path,
    ));

    // (a) delete team A's newest entry and rewind its head: the chain stays consistent,
    // but the entry was sealed.
    let newest = replica_a
        .query_column(
            "MATCH (t:Governed {id: $t})<-[:AUDITS]-(e:AuditLog) WITH t, e ORDER BY e.timestamp DESC LIMIT 1 \
             WITH t, e, [p IN e.prevHashes WHERE p STARTS WITH $t][0] AS prev \
             SET t.auditHead = substring(prev, size($t) + 1) \
             WITH e, e.id AS id DETACH DELETE e RETURN id AS n",
            json!({"t": team_a}),
            "n",
        )
        .await;
    let newest = newest
        .first()
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (_, findings) = verify(&neo4j.uri, &sink);
    assert!(
        findings
            .iter()
            .any(|f| f["kind"] == "deleted" && f["entryId"] == json!(newest)),
        "rewound head: {findings:#?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["entityId"] == json!(team_a) && f["kind"] != "deleted"),
        "the shortened chain itself is consistent: {findings:#?}"
    );

    // (b) rewrite checkpoint 2 without the key: its content no longer matches its hash;
    // the attacker can recompute the hash too, but cannot sign it.
    let forged_root = "0".repeat(64);
    replica_a
        .query_column(
            "MATCH (c:Checkpoint {seq: 2}) SET c.root = $root RETURN 1 AS n",
            json!({"root": forged_root}),
            "n",
        )
        .await;
    let (_, findings) = verify(&neo4j.uri, &sink);
    assert!(
        kinds(&findings).contains(&"checkpoint-modified".to_owned()),
        "{findings:#?}"
    );
    let forged = replica_a
        .query_column(
            "MATCH (c:Checkpoint {seq: 2}) RETURN c {.*, sealedAt: toString(c.sealedAt)} AS n",
            json!({}),
            "n",
        )
        .await;
    let rehashed =
        govtrail::audit::checkpoint::checkpoint_hash(&forged[0]).unwrap_or_else(|e| panic!("{e}"));
    replica_a
        .query_column(
            "MATCH (c:Checkpoint {seq: 2}) SET c.hash = $hash RETURN 1 AS n",
            json!({"hash": rehashed}),
            "n",
        )
        .await;
    let (_, findings) = verify(&neo4j.uri, &sink);
    let k = kinds(&findings);
    assert!(k.contains(&"signature-invalid".to_owned()), "{findings:#?}");
    assert!(
        !k.contains(&"checkpoint-modified".to_owned()),
        "the recomputed hash matches the forged content: {findings:#?}"
    );

    // (c) delete a whole checkpoint.
    replica_a
        .query_column(
            "MATCH (c:Checkpoint {seq: 1}) DETACH DELETE c RETURN 1 AS n",
            json!({}),
            "n",
        )
        .await;
    let (_, findings) = verify(&neo4j.uri, &sink);
    let k = kinds(&findings);
    assert!(
        k.contains(&"checkpoint-missing".to_owned()),
        "{findings:#?}"
    );
    assert!(k.contains(&"sink-mismatch".to_owned()), "{findings:#?}");
    assert!(
        k.contains(&"inserted".to_owned()),
        "entries it sealed are now unaccounted for: {findings:#?}"
    );

    // (d) truncate the log and rebuild every hash, head and checkpoint consistently —
    // even with the signing key — and only the external sink disagrees.
    replica_a
        .query_column(
            "CALL () { MATCH (n) WHERE n:AuditLog OR n:Checkpoint OR n:SealQueue DETACH DELETE n } \
             MATCH (g:Governed) REMOVE g.auditHead RETURN count(g) AS n",
            json!({}),
            "n",
        )
        .await;
    replica_a
        .query_column(
            "MATCH (l:CheckpointLease) DELETE l RETURN 1 AS n",
            json!({}),
            "n",
        )
        .await;
    changes(&replica_a, &admin, 2).await;
    let rogue_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rogue = checkpointer(&replica_a, &sink_path(&rogue_dir));
    assert!(
        rogue
            .round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!(code, 1);
    assert_eq!(
        kinds(&findings),
        vec!["sink-mismatch".to_owned()],
        "{findings:#?}"
    );
    // Against the rogue's own sink the rebuilt log looks clean: the sink is the anchor.
    let (code, _) = verify(&neo4j.uri, &sink_path(&rogue_dir));
    assert_eq!(code, 0);
}

#[tokio::test]
async fn the_background_checkpointer_seals_within_its_interval() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = sink_path(&dir);
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 200;
    settings.checkpoint_sink = Some(sink.clone());
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    app.users(&(0..260).map(|i| format!("bulk-{i}")).collect::<Vec<_>>())
        .await;
    // Thousands of entries, written by 8 concurrent clients while the checkpointer runs.
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (base, http, admin) = (app.base.clone(), app.http.clone(), admin.clone());
            tokio::spawn(async move {
                let team: Value = http
                    .post(format!("{base}/v1/teams"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("bulk-{}", uuid::Uuid::new_v4())}))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .json()
                    .await
                    .unwrap_or_default();
                let team = team["entity"]["id"].as_str().unwrap_or_default().to_owned();
                for i in 0..260 {
                    let r = http
                        .put(format!("{base}/v1/teams/{team}/members/bulk-{i}"))
                        .bearer_auth(&admin)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap_or_else(|e| panic!("{e}"));
    }
    // How fast sealing is belongs to the benchmarks; here it must simply happen, so the
    // deadline is generous for a busy machine.
    let mut queued = Vec::new();
    for _ in 0..300 {
        queued = app
            .query_column("MATCH (q:SealQueue) RETURN q.entryId AS n", json!({}), "n")
            .await;
        if queued.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(queued.is_empty(), "still unsealed after 30 s: {queued:?}");
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!(code, 0, "{findings:#?}");
    let entries = app
        .query_column("MATCH (e:AuditLog) RETURN count(e) AS n", json!({}), "n")
        .await;
    assert!(
        entries
            .first()
            .and_then(Value::as_u64)
            .is_some_and(|n| n >= 2000),
        "{entries:?}"
    );
    let lines = std::fs::read_to_string(&sink).unwrap_or_default();
    assert!(
        lines.lines().count() >= 1,
        "the sink received the checkpoint heads"
    );
}

#[tokio::test]
async fn a_replica_takes_over_the_lease_when_its_holder_stops_renewing() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = sink_path(&dir);
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0;
    let replica_a = TestApp::spawn_with(settings.clone()).await;
    let replica_b = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    // A's lease lasts its floor of 2 s; B's would last ten minutes.
    let a = checkpointer_with(&replica_a, &sink, Duration::from_millis(100));
    let b = checkpointer(&replica_b, &sink);

    changes(&replica_a, &admin, 2).await;
    let taken = std::time::Instant::now();
    let first = a.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.map(|s| s.seq), Some(1));

    // A dies (stops renewing). B keeps trying and must get the lease once it expires,
    // never before.
    changes(&replica_b, &admin, 2).await;
    let deadline = taken + Duration::from_secs(60);
    let second = loop {
        if let Some(sealed) = b.round().await.unwrap_or_else(|e| panic!("{e}")) {
            break sealed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "B never took over the expired lease"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        taken.elapsed() >= Duration::from_secs(2),
        "B took the lease after {:?}, before A's lease expired",
        taken.elapsed()
    );
    assert_eq!((second.seq, second.count), (2, 3), "B continues A's chain");
    assert_eq!(
        a.round().await.unwrap_or_else(|e| panic!("{e}")),
        None,
        "A comes back and finds the lease taken"
    );
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
}
