//! Signed lineage packets, on a Neo4j of their own: a superuser exports a technology's
//! packet; both offline verifiers (`govtrail verify-export` and the standalone
//! `tools/verify_export.py`) accept it; flipping any byte, removing or reordering
//! entries, editing an entry, or verifying with another key fails in both with a
//! message that says what is wrong; the export is recorded with the packet's digest;
//! nobody else can export.

#![expect(
    clippy::too_many_lines,
    reason = "one scenario per test, read top to bottom"
)]

mod common;

use common::unique;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{DedicatedNeo4j, TestApp, keys_dir, test_settings, token_for};
use govtrail::audit::checkpoint::CheckpointKey;
use govtrail::audit::checkpointer::Checkpointer;
use govtrail::export::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ADMIN_NAME: &str = "Ada Admin";

fn private_key() -> CheckpointKey {
    CheckpointKey::from_pem_file(&keys_dir().join("ed25519-private.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn public_key_file() -> PathBuf {
    keys_dir().join("ed25519-public.pem")
}

/// The verdict of one verifier: exit code and everything it printed.
struct Run {
    code: i32,
    output: String,
}

fn run(mut command: Command) -> Run {
    let out = command.output().unwrap_or_else(|e| panic!("{e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Runs both verifiers on `packet` with `key`.
fn verify_both(packet: &Path, key: &Path) -> [(&'static str, Run); 2] {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_govtrail"));
    cli.arg("verify-export")
        .arg(packet)
        .arg("--public-key")
        .arg(key)
        .env_remove("GOVTRAIL_CONFIG");
    let mut python = Command::new("python3");
    python
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
        .arg(packet)
        .arg("--public-key")
        .arg(key);
    [
        ("govtrail verify-export", run(cli)),
        ("verify_export.py", run(python)),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn payload_of(envelope: &Envelope) -> Value {
    let bytes = STANDARD
        .decode(&envelope.payload)
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// The envelope around `statement`, signed with the real key (an insider who holds it)
/// or keeping the original signature (`resign` false).
fn envelope_with(original: &Envelope, statement: &Value, resign: bool) -> Vec<u8> {
    let payload = serde_json::to_vec(statement).unwrap_or_default();
    let envelope = if resign {
        dsse::sign(&private_key(), IN_TOTO_PAYLOAD_TYPE, &payload)
    } else {
        Envelope {
            payload: STANDARD.encode(&payload),
            ..original.clone()
        }
    };
    serde_json::to_vec_pretty(&envelope).unwrap_or_default()
}

async fn ok(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> Value {
    let r = app.send(method, path, token, Some(body), &[]).await;
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
    r.body
}

/// A technology with a constraint in force for a team, a license decision, and an
/// approval that was revoked: decisions a packet must carry.
async fn scenario(app: &TestApp, admin: &str) -> (String, String) {
    let id = |b: Value| b["entity"]["id"].as_str().unwrap_or_default().to_owned();
    let tech = id(ok(
        app,
        admin,
        "POST",
        "/v1/technologies",
        json!({"name": unique("pkt-tech")}),
    )
    .await);
    let team = id(ok(
        app,
        admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("pkt-team")}),
    )
    .await);
    let constraint = id(ok(
        app,
        admin,
        "POST",
        "/v1/version-constraints",
        json!({"technologyId": tech, "range": ">=1.2, <2"}),
    )
    .await);
    let reason = json!({"reason": "security baseline"});
    ok(
        app,
        admin,
        "POST",
        &format!("/v1/version-constraints/{constraint}/activate"),
        reason.clone(),
    )
    .await;
    ok(
        app,
        admin,
        "PUT",
        &format!("/v1/version-constraints/{constraint}/teams/{team}"),
        reason.clone(),
    )
    .await;
    ok(app, admin, "POST", "/v1/licenses/MIT/allow", reason.clone()).await;
    let approvals = format!("/v1/teams/{team}/technologies/{tech}/approvals");
    let approval = json!({"range": "^1.4", "reason": "reviewed"});
    ok(app, admin, "POST", &approvals, approval.clone()).await;
    ok(
        app,
        admin,
        "POST",
        &format!("{approvals}/revoke"),
        json!({"range": "^1.4", "reason": "CVE found"}),
    )
    .await;
    (tech, constraint)
}

#[tokio::test]
async fn a_packet_verifies_offline_and_every_tampering_fails_with_a_clear_message() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0; // sealed by hand below
    let app = TestApp::spawn_with(settings).await;
    let admin_id = unique("pkt-admin");
    let mut claims = common::claims(&admin_id, &["governance-admin"]);
    claims["name"] = json!(ADMIN_NAME);
    let admin = common::hs256(&claims, common::TEST_SECRET.as_bytes());
    let admin_user = app.user_id(&admin).await;
    let (su_id, su) = app.caller(&["superuser"]).await;
    let (tech, constraint) = scenario(&app, &admin).await;

    // Seal what exists, then make one more change that stays unsealed.
    let checkpointer = Checkpointer::new(
        app.state.store.clone(),
        private_key(),
        Some(dir.path().join("sink.jsonl")),
        Duration::from_secs(120),
    );
    assert!(
        checkpointer
            .round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    ok(
        &app,
        &admin,
        "PUT",
        &format!("/v1/technologies/{tech}/risk-level"),
        json!({"riskLevel": "HIGH", "reason": "new CVE class"}),
    )
    .await;

    // Nobody but a superuser exports; the attempt is recorded.
    let path = format!("/v1/exports/entities/Technology/{tech}");
    let denied = app.send("GET", &path, &admin, None, &[]).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let denials = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT', outcome: 'DENIED', userId: $u}) RETURN count(e) AS n",
            json!({"u": admin_user}),
            "n",
        )
        .await;
    assert_eq!(denials, vec![json!(1)]);

    let reply = app.send("GET", &path, &su, None, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .contains(".dsse.json"),
        "{:?}",
        reply.headers
    );
    let envelope: Envelope =
        serde_json::from_value(reply.body.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(envelope.payload_type, IN_TOTO_PAYLOAD_TYPE);
    let statement = payload_of(&envelope);
    let packet = &statement["predicate"];

    // What the packet holds: identity and state digest, the full history in chain
    // order, proofs for sealed entries, lineage with the revocation superseding the
    // approval, what is in force, the policy version, the exporter.
    assert_eq!(
        statement["subject"][0]["name"],
        json!(format!("govtrail:Technology/{tech}"))
    );
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        packet["entity"]["stateDigest"]
    );
    assert_eq!(packet["entity"]["state"]["riskLevel"], "HIGH");
    let stored = app
        .query_column(
            "MATCH (:Technology {id: $t})<-[:AUDITS]-(e:AuditLog) RETURN e.id AS n ORDER BY e.timestamp",
            json!({"t": tech}),
            "n",
        )
        .await;
    let history: Vec<Value> = packet["history"].as_array().cloned().unwrap_or_default();
    let exported: Vec<Value> = history.iter().map(|h| h["entry"]["id"].clone()).collect();
    assert_eq!(exported, stored, "every entry, oldest first");
    let operations: Vec<&str> = history
        .iter()
        .filter_map(|h| h["entry"]["operation"].as_str())
        .collect();
    for op in [
        "CREATE_TECHNOLOGY",
        "CREATE_CONSTRAINT",
        "APPROVE_VERSION",
        "REVOKE_APPROVAL",
        "CHANGE_RISK_LEVEL",
    ] {
        assert!(operations.contains(&op), "{op} in {operations:?}");
    }
    let unsealed: Vec<&Value> = history.iter().filter(|h| h["proof"].is_null()).collect();
    assert_eq!(unsealed.len(), 1, "only the last change is unsealed");
    assert_eq!(unsealed[0]["entry"]["operation"], "CHANGE_RISK_LEVEL");
    assert!(
        history
            .iter()
            .all(|h| h["context"]["actorDisplayName"] == json!(ADMIN_NAME)),
        "display names are resolved at export: {history:#?}"
    );
    assert!(
        packet["checkpoints"][0]["signature"].is_string(),
        "{packet:#}"
    );
    let edges = packet["lineage"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        edges.iter().any(|e| e["type"] == "SUPERSEDES"),
        "the revocation supersedes the approval: {edges:#?}"
    );
    let constraints = &packet["inForce"]["versionConstraints"];
    assert_eq!(constraints[0]["id"], json!(constraint), "{constraints:#}");
    assert_eq!(constraints[0]["status"], "ACTIVE");
    assert_eq!(
        constraints[0]["enforcedFor"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(
        packet["inForce"]["licenseDecisions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["spdxId"] == "MIT" && l["decision"] == "ALLOWED"),
        "{packet:#}"
    );
    assert_eq!(packet["policyVersion"], json!(common::policy_version()));
    assert_eq!(packet["exportedBy"]["userId"], json!(su_id));

    // The export is an entry naming the exporter and the packet's digest.
    let payload = STANDARD
        .decode(&envelope.payload)
        .unwrap_or_else(|e| panic!("{e}"));
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&payload)));
    let record = app
        .query_column(
            "MATCH (e:AuditLog {id: $id})-[:PERFORMED_BY]->(u:User) \
             RETURN {op: e.operation, outcome: e.outcome, user: u.id, changes: e.changes} AS n",
            json!({"id": packet["exportEntryId"]}),
            "n",
        )
        .await;
    let record = record.first().cloned().unwrap_or(Value::Null);
    assert_eq!(record["op"], "EXPORT", "{record:#}");
    assert_eq!(record["outcome"], "SUCCEEDED");
    assert_eq!(record["user"], json!(su_id));
    let changes: Value =
        serde_json::from_str(record["changes"].as_str().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(changes["export"]["new"]["packetDigest"], json!(digest));
    assert_eq!(changes["export"]["new"]["entityId"], json!(tech));

    // Both verifiers accept the packet, and say that one entry is not sealed yet.
    let bytes = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
    let good = write(dir.path(), "packet.json", &bytes);
    for (name, result) in verify_both(&good, &public_key_file()) {
        assert_eq!(result.code, 0, "{name}: {}", result.output);
        assert!(
            result.output.starts_with("VALID"),
            "{name}: {}",
            result.output
        );
        assert!(
            result.output.contains("1 entry was not yet sealed"),
            "{name}: {}",
            result.output
        );
    }

    // Tampering, each with what both verifiers must say.
    let entries = |s: &Value| {
        s["predicate"]["history"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let second_id = entries(&statement)[1]["entry"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let third_id = entries(&statement)[2]["entry"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut removed = statement.clone();
    if let Some(h) = removed["predicate"]["history"].as_array_mut() {
        h.remove(1);
    }
    let mut reordered = statement.clone();
    if let Some(h) = reordered["predicate"]["history"].as_array_mut() {
        h.swap(1, 2);
    }
    let mut edited = statement.clone();
    edited["predicate"]["history"][1]["entry"]["reason"] = json!("nothing to see here");
    let mut restated = statement.clone();
    restated["predicate"]["entity"]["state"]["riskLevel"] = json!("LOW");
    let cases: Vec<(&str, Vec<u8>, Vec<String>)> = vec![
        (
            "entry removed",
            envelope_with(&envelope, &removed, false),
            vec![
                "does not verify".into(),
                format!("an entry is missing before entry {third_id}"),
            ],
        ),
        (
            "entry removed, re-signed by a key holder",
            envelope_with(&envelope, &removed, true),
            vec![format!("an entry is missing before entry {third_id}")],
        ),
        (
            "entries reordered, re-signed",
            envelope_with(&envelope, &reordered, true),
            vec![format!("entries are out of order: entry {third_id}")],
        ),
        (
            "entry edited, re-signed",
            envelope_with(&envelope, &edited, true),
            vec![format!(
                "entry {second_id}: its content does not match its hash"
            )],
        ),
        (
            "state edited, re-signed",
            envelope_with(&envelope, &restated, true),
            vec!["the entity's state does not match its digest".into()],
        ),
    ];
    for (case, bytes, expected) in &cases {
        let file = write(dir.path(), "tampered.json", bytes);
        for (name, result) in verify_both(&file, &public_key_file()) {
            assert_eq!(result.code, 1, "{case} / {name}: {}", result.output);
            assert!(
                result.output.starts_with("INVALID"),
                "{case} / {name}: {}",
                result.output
            );
            for text in expected {
                assert!(
                    result.output.contains(text.as_str()),
                    "{case} / {name}: expected `{text}` in\n{}",
                    result.output
                );
            }
        }
    }

    // Another key: neither the envelope nor any checkpoint verifies.
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key();
    let other_pem = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
        &other,
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let other_key = write(dir.path(), "other-public.pem", other_pem.as_bytes());
    for (name, result) in verify_both(&good, &other_key) {
        assert_eq!(result.code, 1, "{name}: {}", result.output);
        assert!(
            result
                .output
                .contains("no signature verifies under the given public key"),
            "{name}: {}",
            result.output
        );
        assert!(
            result
                .output
                .contains("its signature does not verify under the given public key"),
            "{name}: {}",
            result.output
        );
    }

    // One flipped byte anywhere in the file: every verifier rejects it.
    let positions: Vec<usize> = (0..48).map(|i| i * (bytes.len() - 1) / 47).collect();
    for at in positions {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x01;
        let file = write(dir.path(), "flipped.json", &flipped);
        for (name, result) in verify_both(&file, &public_key_file()) {
            assert_eq!(
                result.code, 1,
                "byte {at} flipped / {name}: {}",
                result.output
            );
            assert!(
                result.output.contains("problem: "),
                "byte {at} flipped / {name}: {}",
                result.output
            );
        }
    }
}

#[tokio::test]
async fn packets_need_a_known_entity_and_a_signing_key() {
    let neo4j = DedicatedNeo4j::start();
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0;
    let app = TestApp::spawn_with(settings.clone()).await;
    let (_, su) = token_for(&["superuser"]);
    let unknown = uuid::Uuid::new_v4();
    for (path, status) in [
        (format!("/v1/exports/entities/Technology/{unknown}"), 404),
        (format!("/v1/exports/entities/Spaceship/{unknown}"), 400),
        ("/v1/exports/entities/Technology/not-a-uuid".to_owned(), 400),
    ] {
        let r = app.send("GET", &path, &su, None, &[]).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert_eq!(
            r.headers["content-type"], "application/problem+json",
            "{path}"
        );
    }
    let (_, admin) = token_for(&["governance-admin"]);
    let team = ok(
        &app,
        &admin,
        "POST",
        "/v1/teams",
        json!({"name": unique("k")}),
    )
    .await;
    let team = team["entity"]["id"].as_str().unwrap_or_default().to_owned();

    settings.checkpoint_key_file = None;
    let keyless = TestApp::spawn_with(settings).await;
    let r = keyless
        .send(
            "GET",
            &format!("/v1/exports/entities/Team/{team}"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no signing key"),
        "{}",
        r.body
    );
    let exports = keyless
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPORT'}) RETURN count(e) AS n",
            json!({}),
            "n",
        )
        .await;
    assert_eq!(
        exports,
        vec![json!(0)],
        "nothing was exported, nothing recorded"
    );
}
