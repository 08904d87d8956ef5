//! The known-answer suite of tamper evidence, on a Neo4j of its own: one table of
//! attacks, each done behind govtrail's back with direct Cypher or file edits on a
//! freshly built, sealed and witnessed log, and each required to produce exactly the
//! findings docs/integrity.md lists for it — right kind, entry, entity, checkpoint.
//! The key-holder attacks (a forged entry sealed by a checkpoint signed with the real
//! key) are among them.

#![expect(
    clippy::too_many_lines,
    reason = "one table of attacks, read top to bottom"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use common::{DedicatedNeo4j, TestApp, keys_dir, test_settings, token_for};
use govtrail::audit::checkpoint::{CheckpointKey, checkpoint_hash, merkle_root};
use govtrail::audit::checkpointer::{CheckpointError, Checkpointer};
use govtrail::audit::hash::{canonical_timestamp, content_hash, from_store};
use serde_json::{Value, json};

fn key() -> CheckpointKey {
    CheckpointKey::from_pem_file(&keys_dir().join("ed25519-private.pem"), None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The log every attack starts from: two teams, a technology, a member, sealed in two
/// checkpoints and witnessed.
struct Log {
    /// Team A's six entries (create and five changes), oldest first; it audits only A.
    a: Vec<String>,
    team_a: String,
    team_b: String,
    tech: String,
    /// Team B's creation entry.
    b_created: String,
    /// The membership entry (audits team B and the user).
    joined: String,
    user: String,
}

struct Bench {
    neo4j: DedicatedNeo4j,
    app: TestApp,
    admin: String,
    sink: PathBuf,
    cp: Checkpointer,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn cypher(&self, q: &str, params: Value) -> Vec<Value> {
        self.app.query_column(q, params, "n").await
    }

    /// The deployment's one checkpointer (it keeps the lease between rounds).
    fn checkpointer(&self) -> &Checkpointer {
        &self.cp
    }

    fn verify(&self) -> Vec<Value> {
        let key = keys_dir().join("ed25519-private.pem");
        let (_, findings, _) = common::verify_cli(
            &self.neo4j.uri,
            &[
                ("GOVTRAIL_CHECKPOINT_KEY_FILE", key.as_os_str()),
                ("GOVTRAIL_CHECKPOINT_SINK", self.sink.as_os_str()),
                ("GOVTRAIL_UNSEALED_LAG_BOUND_SECS", "3600".as_ref()),
            ],
        );
        findings
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let r = self
            .app
            .send(method, path, &self.admin, Some(body), &[])
            .await;
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
        r.body
    }

    /// Wipes the database and the witness, then builds and seals the log.
    async fn fresh_log(&self) -> Log {
        self.cypher("MATCH (n) DETACH DELETE n RETURN 1 AS n", json!({}))
            .await;
        let _ = std::fs::remove_file(&self.sink);
        let id = |b: &Value| b["entity"]["id"].as_str().unwrap_or_default().to_owned();
        let entry = |b: &Value| b["auditLogId"].as_str().unwrap_or_default().to_owned();
        let created = self
            .send("POST", "/v1/teams", json!({"name": common::unique("a")}))
            .await;
        let team_a = id(&created);
        let mut a = vec![entry(&created)];
        for i in 0..5 {
            let b = self
                .send(
                    "PUT",
                    &format!("/v1/teams/{team_a}/responsibility-areas"),
                    json!({"responsibilityAreas": [format!("area-{i}")]}),
                )
                .await;
            a.push(entry(&b));
        }
        let b = self
            .send("POST", "/v1/teams", json!({"name": common::unique("b")}))
            .await;
        let (team_b, b_created) = (id(&b), entry(&b));
        let user = self.app.fresh_user().await;
        let joined = entry(
            &self
                .send(
                    "PUT",
                    &format!("/v1/teams/{team_b}/members/{user}"),
                    json!({}),
                )
                .await,
        );
        let cp = self.checkpointer();
        assert!(cp.round().await.unwrap_or_else(|e| panic!("{e}")).is_some());
        let tech = id(&self
            .send(
                "POST",
                "/v1/technologies",
                json!({"name": common::unique("t")}),
            )
            .await);
        self.send(
            "PUT",
            &format!("/v1/technologies/{tech}/risk-level"),
            json!({"riskLevel": "HIGH"}),
        )
        .await;
        assert_eq!(
            cp.round()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|s| s.seq),
            Some(2)
        );
        let findings = self.verify();
        assert!(findings.is_empty(), "the fresh log verifies: {findings:#?}");
        Log {
            a,
            team_a,
            team_b,
            tech,
            b_created,
            joined,
            user,
        }
    }

    /// An entry as stored, timestamp canonical.
    async fn stored(&self, id: &str) -> Value {
        let rows = self
            .cypher(
                "MATCH (e:AuditLog {id: $id}) RETURN e {.*, timestamp: toString(e.timestamp)} AS n",
                json!({"id": id}),
            )
            .await;
        let mut e = rows.into_iter().next().unwrap_or(Value::Null);
        let ts = e["timestamp"].as_str().unwrap_or_default().to_owned();
        e["timestamp"] = json!(from_store(&ts).unwrap_or(ts));
        e
    }

    /// Signs and stores checkpoint `seq` sealing `entries` on top of `prev`, as a key
    /// holder with database access could; returns it.
    async fn forge_checkpoint(
        &self,
        seq: i64,
        prev: &str,
        entries: &[(String, String, String)],
        sealed_at: &str,
    ) -> Value {
        let hashes: Vec<String> = entries.iter().map(|e| e.1.clone()).collect();
        let mut c = json!({
            "seq": seq, "prev": prev, "root": merkle_root(&hashes), "count": entries.len(),
            "entryIds": entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
            "entryHashes": hashes,
            "entryEntities": entries.iter().map(|e| e.2.clone()).collect::<Vec<_>>(),
            "sealedAt": sealed_at, "keyId": key().key_id(),
        });
        let hash = checkpoint_hash(&c).unwrap_or_else(|e| panic!("{e}"));
        c["signature"] = json!(
            base64::engine::general_purpose::STANDARD
                .encode(key().sign(hash.as_bytes()).to_bytes())
        );
        c["hash"] = json!(hash);
        self.cypher(
            "CREATE (c:Checkpoint) SET c = $c, c.sealedAt = datetime($c.sealedAt) \
             WITH c UNWIND range(0, size(c.entryIds) - 1) AS leaf MATCH (e:AuditLog {id: c.entryIds[leaf]}) \
             CREATE (c)-[:SEALS {leaf: leaf}]->(e) WITH DISTINCT c MATCH (q:SealQueue)-[:QUEUES]->(e:AuditLog) WHERE e.id IN c.entryIds DETACH DELETE q RETURN 1 AS n",
            json!({"c": c}),
        )
        .await;
        c
    }

    /// Appends a forged entry at `entity`'s head with a valid hash, as a key holder
    /// would; returns (entry id, hash).
    async fn forge_head_entry(&self, entity: &str, actor: &str) -> (String, String) {
        let head = self
            .cypher(
                "MATCH (x:Governed {id: $id}) RETURN x.auditHead AS n",
                json!({"id": entity}),
            )
            .await;
        let head = head[0].as_str().unwrap_or_default().to_owned();
        let id = uuid::Uuid::now_v7().to_string();
        let mut e = json!({
            "id": id, "timestamp": canonical_timestamp(chrono::Utc::now()), "operation": "CHANGE_RESPONSIBILITY_AREAS",
            "outcome": "SUCCEEDED", "entityType": "Team", "entityId": entity, "entityLabel": "forged",
            "changedFields": ["responsibilityAreas"], "changes": "{\"responsibilityAreas\":{\"new\":[\"forged\"],\"old\":[]}}",
            "source": "API", "userId": actor, "correlationId": "forged", "policyVersion": govtrail::domain::POLICY_VERSION,
            "actorRoles": ["governance-admin"], "authMethod": "jwt:HS256", "category": "team-membership",
            "severity": "low", "relatedEntities": [], "prevHashes": [format!("{entity}={head}")],
        });
        let hash = content_hash(&e).unwrap_or_else(|e| panic!("{e}"));
        e["hash"] = json!(hash);
        self.cypher(
            "MATCH (x:Governed {id: $entity}), (u:User {id: $actor}) CREATE (f:AuditLog) SET f = $e, \
             f.timestamp = datetime($e.timestamp) CREATE (f)-[:AUDITS {entity: x.id, at: f.timestamp}]->(x) CREATE (f)-[:PERFORMED_BY]->(u) \
             SET x.auditHead = $e.hash RETURN 1 AS n",
            json!({"entity": entity, "actor": actor, "e": e}),
        )
        .await;
        (id, hash)
    }

    fn sink_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.sink)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect()
    }

    fn write_sink(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
        std::fs::write(&self.sink, text).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// One expected finding: kind, and the entry, entity and checkpoint it must name
/// (`None`: not checked).
type Want<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<i64>);

/// Every wanted finding is present, and every finding is of an allowed kind.
fn expect(attack: &str, findings: &[Value], want: &[Want<'_>], also: &[&str]) {
    for (kind, entry, entity, checkpoint) in want {
        let found = findings.iter().any(|f| {
            f["kind"] == *kind
                && entry.is_none_or(|e| f["entryId"] == e)
                && entity.is_none_or(|e| f["entityId"] == e)
                && checkpoint.is_none_or(|c| f["checkpoint"] == c)
        });
        assert!(
            found,
            "{attack}: no {kind} finding for entry {entry:?}, entity {entity:?}, checkpoint {checkpoint:?}: {findings:#?}"
        );
    }
    for f in findings {
        let kind = f["kind"].as_str().unwrap_or_default();
        assert!(
            want.iter().any(|w| w.0 == kind) || also.contains(&kind),
            "{attack}: unexpected {kind} finding: {f:#} among {findings:#?}"
        );
    }
}

fn sink_path(dir: &Path) -> PathBuf {
    dir.join("witness.jsonl")
}

#[tokio::test]
async fn every_attack_is_reported_with_the_right_kind_entry_entity_and_checkpoint() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0; // sealed by hand
    // Attack 17 needs a change that waits for approval.
    settings.approval_policies.insert(
        govtrail::domain::Operation::DisableLicenseWhitelist,
        govtrail::config::PolicySetting::Named(govtrail::config::PolicyName::Default),
    );
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let sink = sink_path(dir.path());
    let bench = Bench {
        cp: Checkpointer::new(
            app.state.store.clone(),
            key(),
            Some(sink.clone()),
            Duration::from_secs(120),
        ),
        sink,
        neo4j,
        app,
        admin,
        _dir: dir,
    };

    // (1) Edit a field of a sealed entry.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $id}) SET e.reason = 'nothing to see' RETURN 1 AS n",
            json!({"id": log.a[1]}),
        )
        .await;
    expect(
        "edit",
        &bench.verify(),
        &[("modified", Some(&log.a[1]), Some(&log.team_a), None)],
        &[],
    );

    // (2) Delete a middle entry: the break is named at the entry after the gap, the
    // deletion by its checkpoint with its entity, and the older entries stay on chain.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $id}) DETACH DELETE e RETURN 1 AS n",
            json!({"id": log.a[2]}),
        )
        .await;
    expect(
        "delete a middle entry",
        &bench.verify(),
        &[
            ("chain-broken", Some(&log.a[3]), Some(&log.team_a), None),
            ("deleted", Some(&log.a[2]), Some(&log.team_a), Some(1)),
        ],
        &[],
    );

    // (3) Delete the newest entry and rewind the head: the chain is consistent, the
    // checkpoint names the deleted entry and its entity.
    let log = bench.fresh_log().await;
    let newest = log.a[5].clone();
    let prev = bench.stored(&log.a[4]).await["hash"].clone();
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $id}) DETACH DELETE e WITH 1 AS x MATCH (t:Governed {id: $t}) SET t.auditHead = $h RETURN 1 AS n",
            json!({"id": newest, "t": log.team_a, "h": prev}),
        )
        .await;
    expect(
        "rewound head",
        &bench.verify(),
        &[("deleted", Some(&newest), Some(&log.team_a), Some(1))],
        &[],
    );

    // (4) Insert a forged, back-dated entry about the technology.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (t:Governed {id: $tech}) CREATE (f:AuditLog {id: 'forged-1', timestamp: datetime('2020-01-01T00:00:00Z'), \
             operation: 'CHANGE_RISK_LEVEL', entityType: 'Technology', entityId: $tech, newStatus: 'LOW', \
             prevHashes: [$tech + '=GENESIS'], hash: 'f00d'})-[:AUDITS {entity: t.id, at: datetime('2020-01-01T00:00:00Z')}]->(t) \
             RETURN 1 AS n",
            json!({"tech": log.tech}),
        )
        .await;
    expect(
        "forged entry",
        &bench.verify(),
        &[
            ("modified", Some("forged-1"), Some(&log.tech), None),
            ("not-on-chain", Some("forged-1"), Some(&log.tech), None),
            ("inserted", Some("forged-1"), None, None),
            ("actor-mismatch", Some("forged-1"), None, None),
        ],
        &[],
    );

    // (5) Re-link team B's creation entry to team A.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $e})-[r:AUDITS]->(:Team {id: $b}), (a:Team {id: $a}) DELETE r CREATE (e)-[:AUDITS]->(a) RETURN 1 AS n",
            json!({"e": log.b_created, "a": log.team_a, "b": log.team_b}),
        )
        .await;
    expect(
        "relink",
        &bench.verify(),
        &[
            ("relinked", Some(&log.b_created), Some(&log.team_b), None),
            (
                "not-on-chain",
                Some(&log.b_created),
                Some(&log.team_a),
                None,
            ),
        ],
        &["relinked", "chain-broken", "head-missing"],
    );

    // (5b) Misplace an entry in its entity's history (or, with a time filter, hide it):
    // change the timestamp its AUDITS edge carries for the history index.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (:AuditLog {id: $e})-[r:AUDITS]->(:Team {id: $a}) SET r.at = datetime('1999-01-01T00:00:00Z') RETURN 1 AS n",
            json!({"e": log.a[0], "a": log.team_a}),
        )
        .await;
    expect(
        "history index misfiled",
        &bench.verify(),
        &[("relinked", Some(&log.a[0]), Some(&log.team_a), None)],
        &[],
    );

    // (6) Delete an entry's PERFORMED_BY edge; (7) point it at another user.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (:AuditLog {id: $id})-[p:PERFORMED_BY]->() DELETE p RETURN 1 AS n",
            json!({"id": log.a[0]}),
        )
        .await;
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $id})-[p:PERFORMED_BY]->(), (u:User {id: $u}) DELETE p CREATE (e)-[:PERFORMED_BY]->(u) RETURN 1 AS n",
            json!({"id": log.a[1], "u": log.user}),
        )
        .await;
    expect(
        "actor edges",
        &bench.verify(),
        &[
            ("actor-mismatch", Some(&log.a[0]), None, None),
            ("actor-mismatch", Some(&log.a[1]), None, None),
        ],
        &[],
    );
    // Views take the actor from the hashed entry, not from the edge.
    let (_, su) = token_for(&["superuser"]);
    let shown = bench
        .app
        .send(
            "GET",
            &format!("/v1/audit-logs/{}", log.a[1]),
            &su,
            None,
            &[],
        )
        .await;
    assert_ne!(
        shown.body["actor"]["userId"],
        json!(log.user),
        "{}",
        shown.body
    );
    assert_eq!(
        shown.body["actor"]["userId"],
        bench.stored(&log.a[1]).await["userId"]
    );

    // (8) Rewrite checkpoint 2's root without the key, then also its hash.
    let _log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (c:Checkpoint {seq: 2}) SET c.root = $r RETURN 1 AS n",
            json!({"r": "0".repeat(64)}),
        )
        .await;
    expect(
        "rewritten checkpoint",
        &bench.verify(),
        &[
            ("checkpoint-modified", None, None, Some(2)),
            ("resealed", None, None, Some(2)),
        ],
        &[],
    );
    let forged = bench
        .cypher(
            "MATCH (c:Checkpoint {seq: 2}) RETURN c {.*, sealedAt: toString(c.sealedAt)} AS n",
            json!({}),
        )
        .await;
    let mut forged = forged[0].clone();
    forged["sealedAt"] =
        json!(from_store(forged["sealedAt"].as_str().unwrap_or_default()).unwrap_or_default());
    let rehashed = checkpoint_hash(&forged).unwrap_or_else(|e| panic!("{e}"));
    bench
        .cypher(
            "MATCH (c:Checkpoint {seq: 2}) SET c.hash = $h RETURN 1 AS n",
            json!({"h": rehashed}),
        )
        .await;
    expect(
        "rehashed checkpoint",
        &bench.verify(),
        &[
            ("signature-invalid", None, None, Some(2)),
            ("resealed", None, None, Some(2)),
            ("sink-mismatch", None, None, Some(2)),
        ],
        &[],
    );

    // (9) Delete a whole checkpoint: reported as missing, its entries as uncovered.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (c:Checkpoint {seq: 1}) DETACH DELETE c RETURN 1 AS n",
            json!({}),
        )
        .await;
    let findings = bench.verify();
    let mut want: Vec<Want<'_>> = vec![("checkpoint-missing", None, None, Some(1))];
    want.extend(
        log.a
            .iter()
            .map(|e| ("uncovered", Some(e.as_str()), None, None)),
    );
    want.push(("uncovered", Some(&log.joined), None, None));
    expect("deleted checkpoint", &findings, &want, &[]);

    // (10) Rebuild team A's whole chain consistently (six entries, hashes recomputed):
    // only the checkpoint's recorded leaves tell, naming each entry.
    let log = bench.fresh_log().await;
    let mut prev = "GENESIS".to_owned();
    for id in &log.a {
        let mut e = bench.stored(id).await;
        e["reason"] = json!("rewritten history");
        e["prevHashes"] = json!([format!("{}={prev}", log.team_a)]);
        let hash = content_hash(&e).unwrap_or_else(|err| panic!("{err}"));
        bench
            .cypher(
                "MATCH (e:AuditLog {id: $id}) SET e.reason = 'rewritten history', e.prevHashes = $p, e.hash = $h RETURN 1 AS n",
                json!({"id": id, "p": e["prevHashes"], "h": hash}),
            )
            .await;
        prev = hash;
    }
    bench
        .cypher(
            "MATCH (t:Governed {id: $t}) SET t.auditHead = $h RETURN 1 AS n",
            json!({"t": log.team_a, "h": prev}),
        )
        .await;
    let want: Vec<Want<'_>> = log
        .a
        .iter()
        .map(|e| {
            (
                "rewritten",
                Some(e.as_str()),
                Some(log.team_a.as_str()),
                Some(1),
            )
        })
        .collect();
    expect("rebuilt chain", &bench.verify(), &want, &[]);

    // (11) Key holder: a forged entry at A's head, sealed by checkpoint 3 signed with the
    // real key and sealedAt far in the future. The witness never saw checkpoint 3; the
    // checkpointer refuses to seal on top of it.
    let log = bench.fresh_log().await;
    let actor = bench.stored(&log.a[0]).await["userId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (forged_entry, forged_hash) = bench.forge_head_entry(&log.team_a, &actor).await;
    let cp2 = bench.sink_lines()[1]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    bench
        .forge_checkpoint(
            3,
            &cp2,
            &[(
                forged_entry.clone(),
                forged_hash.clone(),
                log.team_a.clone(),
            )],
            "2099-01-01T00:00:00.000000Z",
        )
        .await;
    expect(
        "key holder, future sealedAt",
        &bench.verify(),
        &[("unwitnessed", None, None, Some(3))],
        &[],
    );
    let refused = bench.checkpointer().round().await;
    assert!(
        matches!(refused, Err(CheckpointError::Blocked(_))),
        "{refused:?}"
    );
    let status = bench
        .app
        .get("/status", None)
        .await
        .json::<Value>()
        .await
        .unwrap_or_default();
    assert_eq!(status["status"], "degraded", "{status}");
    assert!(
        status["reasons"].as_array().into_iter().flatten().any(|r| r
            .as_str()
            .is_some_and(|r| r.contains("checkpoint 3 is in the database"))),
        "{status}"
    );

    // (12) Key holder: the same with sealedAt now, and a later checkpoint 4 that reaches
    // the witness (written there by hand: the checkpointer would refuse to make it).
    let log = bench.fresh_log().await;
    let actor = bench.stored(&log.a[0]).await["userId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (forged_entry, forged_hash) = bench.forge_head_entry(&log.team_a, &actor).await;
    let cp2 = bench.sink_lines()[1]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let now = canonical_timestamp(chrono::Utc::now());
    let cp3 = bench
        .forge_checkpoint(
            3,
            &cp2,
            &[(forged_entry, forged_hash, log.team_a.clone())],
            &now,
        )
        .await;
    let r = bench
        .send(
            "PUT",
            &format!("/v1/teams/{}/responsibility-areas", log.team_b),
            json!({"responsibilityAreas": ["later"]}),
        )
        .await;
    let later = r["auditLogId"].as_str().unwrap_or_default().to_owned();
    let later_hash = bench.stored(&later).await["hash"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cp4 = bench
        .forge_checkpoint(
            4,
            cp3["hash"].as_str().unwrap_or_default(),
            &[(later, later_hash, log.team_b.clone())],
            &now,
        )
        .await;
    let mut lines = bench.sink_lines();
    lines.push(serde_json::to_value(govtrail::audit::witness::Head::of(&cp4)).unwrap_or_default());
    bench.write_sink(&lines);
    expect(
        "key holder, a later checkpoint witnessed",
        &bench.verify(),
        &[
            ("unwitnessed", None, None, Some(3)),
            ("sink-mismatch", None, None, Some(3)),
        ],
        &[],
    );

    // (13) Delete the witness's first line; (14) edit a line's hash; then a gap.
    let _log = bench.fresh_log().await;
    let lines = bench.sink_lines();
    bench.write_sink(&lines[1..]);
    expect(
        "witness line deleted",
        &bench.verify(),
        &[("unwitnessed", None, None, Some(1))],
        &[],
    );
    let mut edited = lines.clone();
    edited[0]["hash"] = json!("0".repeat(64));
    bench.write_sink(&edited);
    expect(
        "witness line edited",
        &bench.verify(),
        &[("sink-mismatch", None, None, Some(1))],
        &[],
    );
    bench.write_sink(&[lines[0].clone(), json!({"seq": 3, "hash": "h", "root": "r", "count": 1, "sealedAt": "x", "keyId": "k", "signature": "s"})]);
    expect(
        "witness gap",
        &bench.verify(),
        &[
            ("sink-mismatch", None, None, Some(2)),
            ("unwitnessed", None, None, Some(2)),
            ("checkpoint-missing", None, None, Some(3)),
        ],
        &[],
    );

    // (15) A timestamp given digits below the microsecond: same instant to the
    // microsecond, different stored value.
    let log = bench.fresh_log().await;
    bench
        .cypher(
            "MATCH (e:AuditLog {id: $id}) SET e.timestamp = e.timestamp + duration({nanoseconds: 1}) RETURN 1 AS n",
            json!({"id": log.a[0]}),
        )
        .await;
    expect(
        "sub-microsecond timestamp",
        &bench.verify(),
        &[("modified", Some(&log.a[0]), Some(&log.team_a), None)],
        // The entry's AUDITS edge still carries the old instant for the history index.
        &["relinked"],
    );

    // (17) A change a change request ran: delete its APPROVED_BY edge, then its
    // EXECUTES edge. The approvers and the request are in the hashed entry.
    let _log = bench.fresh_log().await;
    bench
        .send(
            "POST",
            "/v1/license-policy/whitelist/enable",
            json!({"reason": "start strict"}),
        )
        .await;
    let requested = bench
        .app
        .send(
            "POST",
            "/v1/license-policy/whitelist/disable",
            &bench.admin,
            Some(json!({"reason": "audit of the whitelist"})),
            &[],
        )
        .await;
    assert_eq!(requested.status, 202, "{}", requested.body);
    let request = requested.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, approver) = token_for(&["approver"]);
    let approval = bench
        .app
        .send(
            "POST",
            &format!("/v1/change-requests/{request}/approve"),
            &approver,
            Some(json!({"reason": "checked"})),
            &[],
        )
        .await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    let executed = approval.body["executed"]["auditLogId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    expect("a change request run", &bench.verify(), &[], &[]);
    bench
        .cypher(
            "MATCH (:AuditLog {id: $id})-[a:APPROVED_BY]->() DELETE a RETURN 1 AS n",
            json!({"id": executed}),
        )
        .await;
    expect(
        "approver edge deleted",
        &bench.verify(),
        &[("actor-mismatch", Some(&executed), None, None)],
        &[],
    );
    bench
        .cypher(
            "MATCH (:AuditLog {id: $id})-[x:EXECUTES]->() DELETE x RETURN 1 AS n",
            json!({"id": executed}),
        )
        .await;
    expect(
        "execution edge deleted",
        &bench.verify(),
        &[
            ("actor-mismatch", Some(&executed), None, None),
            ("relinked", Some(&executed), None, None),
        ],
        &[],
    );

    // (16) Truncate the log and rebuild every hash, head and checkpoint consistently,
    // with the key and a witness of one's own: only the real witness disagrees.
    let _log = bench.fresh_log().await;
    bench
        .cypher(
            "CALL () { MATCH (n) WHERE n:AuditLog OR n:Checkpoint OR n:SealQueue OR n:CheckpointLease DETACH DELETE n } \
             MATCH (g:Governed) REMOVE g.auditHead RETURN count(g) AS n",
            json!({}),
        )
        .await;
    bench
        .send(
            "POST",
            "/v1/teams",
            json!({"name": common::unique("rebuilt")}),
        )
        .await;
    let rogue_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rogue = Checkpointer::new(
        bench.app.state.store.clone(),
        key(),
        Some(sink_path(rogue_dir.path())),
        Duration::from_secs(120),
    );
    assert!(
        rogue
            .round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );
    expect(
        "rebuilt log",
        &bench.verify(),
        &[
            ("sink-mismatch", None, None, Some(1)),
            ("checkpoint-missing", None, None, Some(2)),
        ],
        &[],
    );
}
