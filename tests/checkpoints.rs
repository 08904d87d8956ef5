//! Signed checkpoints on a Neo4j of their own: two replicas share one checkpointer
//! through the lease, every entry gets sealed and proves its inclusion, a clean log
//! verifies, and the witness protocol survives a witness that fails and a checkpointer
//! that dies between committing a checkpoint and handing it to the witness. (What
//! tampering verification reports is `tests/tamper.rs`.)

#![expect(
    clippy::too_many_lines,
    reason = "one scenario per test, read top to bottom"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{DedicatedNeo4j, TestApp, keys_dir, test_settings, token_for};
use govtrail::audit::checkpoint::CheckpointKey;
use govtrail::audit::checkpointer::{CheckpointError, Checkpointer};
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
async fn checkpoints_seal_every_entry_with_one_checkpointer_and_prove_inclusion() {
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
    changes(&replica_a, &admin, 5).await;
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
            .query_column("MATCH (q:SealQueue) RETURN q.at AS n", json!({}), "n")
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

/// Runs `govtrail adopt-witness`; exit code and stderr.
fn adopt_witness(uri: &str, sink: &Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_govtrail"))
        .arg("adopt-witness")
        .env("GOVTRAIL_NEO4J_URI", uri)
        .env("GOVTRAIL_CHECKPOINT_SINK", sink)
        .env("GOVTRAIL_LOG_FILTER", "warn")
        .env_remove("GOVTRAIL_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn status(app: &TestApp) -> Value {
    app.get("/status", None)
        .await
        .json::<Value>()
        .await
        .unwrap_or_default()
}

fn reasons(status: &Value) -> String {
    status["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn a_failing_witness_stops_sealing_visibly_and_nothing_is_lost_when_it_returns() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The witness lives in a directory of its own, so the test can take it away: then
    // it reads as empty and takes nothing.
    let home = dir.path().join("witness");
    let away = dir.path().join("away");
    let sink = home.join("checkpoints.jsonl");
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_sink = Some(sink.clone());
    settings.checkpoint_interval_ms = 0; // the test drives the checkpointers itself
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let pending = async || {
        app.query_column(
            "MATCH (p:PendingCheckpoint) RETURN p {.seq, .hash} AS n",
            json!({}),
            "n",
        )
        .await
    };

    // (1) The witness cannot take the first checkpoint: it is committed pending and
    // stays so; /status says why; verification counts its entries as unsealed.
    let a = checkpointer(&app, &sink);
    changes(&app, &admin, 2).await;
    let refused = a.round().await;
    assert!(
        matches!(refused, Err(CheckpointError::Witness(_))),
        "{refused:?}"
    );
    let held = pending().await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["seq"], 1);
    let s = status(&app).await;
    assert_eq!(s["status"], "degraded", "{s}");
    assert!(
        reasons(&s).contains("checkpoints are not reaching the witness"),
        "{s}"
    );
    // Verification does not report a checkpoint that may still be on its way to the
    // witness (younger than WITNESS_WAIT); once older, it is reported.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let (code, findings) = loop {
        let (code, findings) = verify(&neo4j.uri, &sink);
        if code != 0 || std::time::Instant::now() > deadline {
            break (code, findings);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(code, 1);
    assert_eq!(
        kinds(&findings),
        vec!["unwitnessed".to_owned()],
        "{findings:#?}"
    );
    assert_eq!(findings[0]["checkpoint"], 1, "{findings:#?}");

    // (2) The witness is back: the same checkpoint is handed over and finalized.
    std::fs::create_dir(&home).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| (s.seq, s.count)),
        Some((1, 3))
    );
    let finalized = app
        .query_column(
            "MATCH (c:Checkpoint {seq: 1}) RETURN c.hash AS n",
            json!({}),
            "n",
        )
        .await;
    assert_eq!(finalized, vec![held[0]["hash"].clone()]);
    assert!(pending().await.is_empty());
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    assert_eq!(status(&app).await["status"], "healthy");

    // (3) The witness becomes unreadable (a directory where its file was): nothing is
    // sealed, /status says why, verification says the witness cannot be read. Once it
    // is restored, the next round seals what waited.
    let saved = dir.path().join("saved.jsonl");
    std::fs::rename(&sink, &saved).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(&sink).unwrap_or_else(|e| panic!("{e}"));
    changes(&app, &admin, 2).await;
    let refused = a.round().await;
    assert!(
        matches!(refused, Err(CheckpointError::Witness(_))),
        "{refused:?}"
    );
    assert!(pending().await.is_empty(), "nothing is committed unread");
    let s = status(&app).await;
    assert_eq!(s["status"], "degraded", "{s}");
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!(code, 1);
    assert_eq!(
        kinds(&findings),
        vec!["sink-mismatch".to_owned()],
        "{findings:#?}"
    );
    std::fs::remove_dir(&sink).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&saved, &sink).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| (s.seq, s.count)),
        Some((2, 3))
    );
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");

    // (4) A witness that vanishes once checkpoints exist blocks sealing: it must not
    // silently start a new chain.
    std::fs::rename(&home, &away).unwrap_or_else(|e| panic!("{e}"));
    changes(&app, &admin, 1).await;
    let blocked = a.round().await;
    assert!(
        matches!(blocked, Err(CheckpointError::Blocked(_))),
        "{blocked:?}"
    );
    assert!(pending().await.is_empty());
    std::fs::rename(&away, &home).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| s.seq),
        Some(3)
    );

    // (5) A witness added to a deployment that already has checkpoints (here: an
    // empty one in place of the old) blocks sealing until the operator adopts the
    // chain into it, once.
    std::fs::remove_file(&sink).unwrap_or_else(|e| panic!("{e}"));
    changes(&app, &admin, 1).await;
    assert!(matches!(a.round().await, Err(CheckpointError::Blocked(_))));
    let (code, stderr) = adopt_witness(&neo4j.uri, &sink);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("3 checkpoint heads written"), "{stderr}");
    let (code, stderr) = adopt_witness(&neo4j.uri, &sink);
    assert_ne!(code, 0, "a witness adopts a chain only once");
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(
        a.round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|s| s.seq),
        Some(4)
    );
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");

    // (6) A checkpointer dies between committing a checkpoint and handing it to the
    // witness (from a fresh log, so the empty witness would take it). Its lease lapses;
    // another replica takes over: the pending checkpoint is not its own and the witness
    // never saw it, so it is dropped (it sealed nothing) and its entries are sealed anew.
    app.query_column("MATCH (n) DETACH DELETE n RETURN 1 AS n", json!({}), "n")
        .await;
    std::fs::remove_file(&sink).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&home, &away).unwrap_or_else(|e| panic!("{e}"));
    changes(&app, &admin, 1).await;
    assert!(a.round().await.is_err());
    let orphan = pending().await;
    assert_eq!(orphan.len(), 1, "{orphan:?}");
    drop(a);
    std::fs::rename(&away, &home).unwrap_or_else(|e| panic!("{e}"));
    app.query_column(
        "MATCH (l:CheckpointLease) SET l.expiresAt = datetime() - duration('PT1S') RETURN 1 AS n",
        json!({}),
        "n",
    )
    .await;
    let b = checkpointer(&app, &sink);
    let taken = b.round().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(taken.map(|s| (s.seq, s.count)), Some((1, 2)));
    assert!(pending().await.is_empty());
    let resealed = app
        .query_column(
            "MATCH (c:Checkpoint {seq: 1}) RETURN c.hash AS n",
            json!({}),
            "n",
        )
        .await;
    assert_ne!(resealed, vec![orphan[0]["hash"].clone()], "sealed anew");
    let (code, findings) = verify(&neo4j.uri, &sink);
    assert_eq!((code, findings.len()), (0, 0), "{findings:#?}");
    let s = status(&app).await;
    assert_eq!(s["status"], "healthy", "{s}");
}

/// The log is live while `govtrail verify` (or `GET /v1/audit/verify`) reads it: entries
/// are written and sealed between its reads of the entries, the heads, the queue, the
/// checkpoints and the witness. None of that is tampering, so none of it is a finding.
#[tokio::test]
async fn verification_of_a_live_log_finds_nothing_while_changes_are_written_and_sealed() {
    use std::sync::atomic::{AtomicBool, Ordering};

    use govtrail::audit::checkpoint::PublicKey;
    use govtrail::audit::verify::{VerifyOptions, verify as verify_log};

    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = sink_path(&dir);
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0; // the test drives the checkpointer itself
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let team = changes(&app, &admin, 10).await;
    let sealer = checkpointer(&app, &sink);
    assert!(matches!(sealer.round().await, Ok(Some(_))));
    let key = CheckpointKey::from_pem_file(&keys_dir().join("ed25519-private.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = VerifyOptions::new(
        &[PublicKey::from(&key)],
        Some(sink.clone()),
        Duration::from_secs(600),
    );
    let done = AtomicBool::new(false);
    let count = async |cypher: &str| {
        app.query_column(cypher, json!({}), "n")
            .await
            .first()
            .and_then(Value::as_i64)
            .unwrap_or_default()
    };
    let entries = || count("MATCH (e:AuditLog) RETURN count(e) AS n");
    let checkpoints = || count("MATCH (c:Checkpoint) RETURN count(c) AS n");
    // New teams (new entities) and memberships of existing users (heads that move).
    let writes = async {
        let mut i = 0;
        while !done.load(Ordering::Relaxed) {
            let r = app
                .send(
                    "PUT",
                    &format!("/v1/teams/{team}/members/m-{}", i % 10),
                    &admin,
                    None,
                    &[],
                )
                .await;
            assert!(r.status == 200 || r.status == 409, "{}", r.body);
            let r = app
                .send(
                    "POST",
                    "/v1/teams",
                    &admin,
                    Some(json!({"name": format!("live-{}", uuid::Uuid::new_v4())})),
                    &[],
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            i += 1;
        }
    };
    let seals = async {
        while !done.load(Ordering::Relaxed) {
            if let Err(e) = sealer.round().await {
                panic!("{e}");
            }
            tokio::task::yield_now().await;
        }
    };
    // Runs until five runs overlapped both new entries and new checkpoints.
    let verifies = async {
        let (mut overlapped, mut runs) = (0, 0);
        while overlapped < 5 && runs < 200 {
            let before = (entries().await, checkpoints().await);
            let report = verify_log(&app.state.store, &options)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let after = (entries().await, checkpoints().await);
            assert!(
                report.findings.is_empty(),
                "run {runs}: {:#?}",
                report.findings
            );
            if after.0 > before.0 && after.1 > before.1 {
                overlapped += 1;
            }
            runs += 1;
        }
        done.store(true, Ordering::Relaxed);
        (overlapped, runs)
    };
    let ((), (), (overlapped, runs)) = tokio::join!(writes, seals, verifies);
    assert_eq!(
        overlapped, 5,
        "only {overlapped} of {runs} runs overlapped writes and sealing"
    );
}
