//! Faults survived under load: sixteen clients create teams through HTTP while the test
//! kills Neo4j with SIGKILL twice (restarting it on the same data) and kills govtrail
//! once. Afterwards every acknowledged change is present with exactly one entry, no
//! entry lacks its change and no change its entry, `govtrail verify` is clean, `/readyz`
//! came back within 5 s of Neo4j answering, and no request outlived the request
//! timeout. Prints requests, acknowledged, 503s, lost and recovery times.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use common::{DedicatedNeo4j, Replica, keys_dir, token_for, unique, until};
use serde_json::json;

const CLIENTS: usize = 16;
/// Requests per client at most, so the test stays bounded.
const PER_CLIENT: usize = 200;
const REQUEST_TIMEOUT_MS: u64 = 5_000;

#[derive(Default)]
struct Tally {
    requests: usize,
    unavailable: usize,
    refused: usize,
    other: usize,
    hung: usize,
    acknowledged: Vec<String>,
}

fn replica(neo4j: &str) -> Replica {
    let timeout = REQUEST_TIMEOUT_MS.to_string();
    Replica::start_with(
        neo4j,
        &[
            ("GOVTRAIL_REQUEST_TIMEOUT_MS", timeout.as_str()),
            ("GOVTRAIL_NEO4J_IO_TIMEOUT_MS", timeout.as_str()),
        ],
    )
}

async fn client(
    base: Arc<RwLock<String>>,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    token: String,
) {
    // A request that outlives the server's own timeout (plus slack for a loaded
    // machine) counts as hung.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS * 3))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    for _ in 0..PER_CLIENT {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let url = format!(
            "{}/v1/teams",
            base.read().map(|b| b.clone()).unwrap_or_default()
        );
        let sent = http
            .post(url)
            .bearer_auth(&token)
            .json(&json!({"name": unique("fault team")}))
            .send()
            .await;
        let outcome = match sent {
            Ok(r) if r.status().as_u16() == 201 => {
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                body["entity"]["id"]
                    .as_str()
                    .map_or(Outcome::Other, |id| Outcome::Acknowledged(id.to_owned()))
            }
            Ok(r) if r.status().as_u16() == 503 => Outcome::Unavailable,
            Ok(_) => Outcome::Other,
            Err(e) if e.is_timeout() => Outcome::Hung,
            Err(_) => Outcome::Refused,
        };
        let refused = matches!(outcome, Outcome::Refused);
        if let Ok(mut t) = tally.lock() {
            t.requests += 1;
            match outcome {
                Outcome::Acknowledged(id) => t.acknowledged.push(id),
                Outcome::Unavailable => t.unavailable += 1,
                Outcome::Refused => t.refused += 1,
                Outcome::Hung => t.hung += 1,
                Outcome::Other => t.other += 1,
            }
        }
        if refused {
            // govtrail is down (killed): no connection. Do not spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

enum Outcome {
    Acknowledged(String),
    Unavailable,
    Refused,
    Hung,
    Other,
}

fn acknowledged(tally: &Mutex<Tally>) -> usize {
    tally.lock().map_or(0, |t| t.acknowledged.len())
}

/// Waits until a hundred more changes are acknowledged.
async fn hundred_more(tally: &Mutex<Tally>) {
    let target = acknowledged(tally) + 100;
    until(
        "changes are acknowledged",
        Duration::from_secs(60),
        async || acknowledged(tally) >= target,
    )
    .await;
}

/// Restarts Neo4j on the same data and measures how long `/readyz` takes to answer 200
/// once Bolt answers again.
async fn restart_and_time_readiness(neo4j: &DedicatedNeo4j, base: &str) -> Duration {
    tokio::task::block_in_place(|| neo4j.restart());
    let answering = Instant::now();
    let http = reqwest::Client::new();
    until(
        "readyz after the restart",
        Duration::from_secs(30),
        async || {
            http.get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        },
    )
    .await;
    answering.elapsed()
}

async fn count(graph: &neo4rs::Graph, cypher: &str, ids: &[String]) -> i64 {
    let mut rows = graph
        .execute(neo4rs::query(cypher).param("ids", ids.to_vec()))
        .await
        .unwrap_or_else(|e| panic!("{cypher}: {e}"));
    let row = rows
        .next()
        .await
        .unwrap_or_else(|e| panic!("{cypher}: {e}"))
        .unwrap_or_else(|| panic!("{cypher}: no row"));
    row.get("n").unwrap_or_else(|e| panic!("{cypher}: {e}"))
}

/// Acknowledged changes missing (or without exactly one entry), entries without their
/// change, changes without their entry.
async fn integrity(neo4j: &DedicatedNeo4j, ids: &[String]) -> (usize, i64, i64) {
    let graph = neo4rs::Graph::new(neo4j.uri.as_str(), "neo4j", "")
        .unwrap_or_else(|e| panic!("neo4j: {e}"));
    let present = count(
        &graph,
        "UNWIND $ids AS id MATCH (t:Team {id: id}) \
         WHERE COUNT { (a:AuditLog {operation: 'CREATE_TEAM'})-[:AUDITS]->(t) } = 1 \
         RETURN count(t) AS n",
        ids,
    )
    .await;
    let lost = ids.len() - usize::try_from(present).unwrap_or(0);
    let entries_without_change = count(
        &graph,
        "MATCH (a:AuditLog {operation: 'CREATE_TEAM'}) \
         WHERE NOT (a)-[:AUDITS]->(:Team) RETURN count(a) AS n",
        &[],
    )
    .await;
    let changes_without_entry = count(
        &graph,
        "MATCH (t:Team) WHERE NOT (:AuditLog)-[:AUDITS]->(t) RETURN count(t) AS n",
        &[],
    )
    .await;
    (lost, entries_without_change, changes_without_entry)
}

// Several worker threads, and the blocking steps (kill, restart) off them: the clients
// must keep sending while Neo4j restarts, or a stalled test would count its own pause
// as hung requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_changes_survive_neo4j_and_govtrail_being_killed() {
    let started = Instant::now();
    let neo4j = DedicatedNeo4j::start();
    let mut server = replica(&neo4j.uri);
    let http = reqwest::Client::new();
    server.ready(&http).await;
    let base = Arc::new(RwLock::new(server.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let (_, token) = token_for(&["governance-admin"]);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(client(
                base.clone(),
                stop.clone(),
                tally.clone(),
                token.clone(),
            ))
        })
        .collect();

    let mut recoveries = Vec::new();
    for round in 1..=2 {
        hundred_more(&tally).await;
        tokio::task::block_in_place(|| neo4j.kill());
        eprintln!(
            "faults: Neo4j killed (round {round}) at {} acknowledged",
            acknowledged(&tally)
        );
        recoveries.push(restart_and_time_readiness(&neo4j, &server.base).await);
    }
    hundred_more(&tally).await;
    tokio::task::block_in_place(|| server.kill());
    eprintln!(
        "faults: govtrail killed at {} acknowledged",
        acknowledged(&tally)
    );
    server = replica(&neo4j.uri);
    server.ready(&http).await;
    if let Ok(mut b) = base.write() {
        b.clone_from(&server.base);
    }
    hundred_more(&tally).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap_or_else(|e| panic!("client: {e}"));
    }

    let t = std::mem::take(
        &mut *tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let ids: Vec<String> = t.acknowledged.clone();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "an id acknowledged twice"
    );
    let (lost, entries_without_change, changes_without_entry) = integrity(&neo4j, &ids).await;
    let slowest = recoveries.iter().max().copied().unwrap_or_default();
    eprintln!(
        "faults: {} requests, {} acknowledged, {} 503s, {} refused while govtrail was down, \
         {} other, {} hung, {lost} lost; /readyz back {recoveries:?} after Neo4j answered; \
         {:.0?} in all",
        t.requests,
        ids.len(),
        t.unavailable,
        t.refused,
        t.other,
        t.hung,
        started.elapsed()
    );
    assert_eq!(
        lost, 0,
        "acknowledged changes missing or without exactly one entry"
    );
    assert_eq!(entries_without_change, 0, "an entry without its change");
    assert_eq!(changes_without_entry, 0, "a change without its entry");
    assert_eq!(t.hung, 0, "a request outlived the request timeout");
    assert_eq!(t.other, 0, "answers other than 201, 503 or no connection");
    assert!(
        slowest <= Duration::from_secs(5),
        "/readyz took {slowest:?} after Neo4j answered again"
    );

    assert_verified(&neo4j);
}

/// `govtrail verify` is clean and `govtrail check-replay` consistent.
fn assert_verified(neo4j: &DedicatedNeo4j) {
    let key = keys_dir().join("ed25519-private.pem");
    let (code, findings, summary) = common::verify_cli(
        &neo4j.uri,
        &[("GOVTRAIL_CHECKPOINT_KEY_FILE", key.as_os_str())],
    );
    assert_eq!(code, 0, "verify: {findings:?} {summary}");
    let replay = std::process::Command::new(env!("CARGO_BIN_EXE_govtrail"))
        .arg("check-replay")
        .env_remove("GOVTRAIL_CONFIG")
        .env("GOVTRAIL_NEO4J_URI", &neo4j.uri)
        .env("GOVTRAIL_LOG_FILTER", "warn")
        .output()
        .unwrap_or_else(|e| panic!("check-replay: {e}"));
    assert!(
        replay.status.success(),
        "check-replay: {}",
        String::from_utf8_lossy(&replay.stderr)
    );
}
