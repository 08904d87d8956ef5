//! The scenarios, in the order they run: history and feed latency on a small then a
//! large log (same probe entities, so only the log size changes), as-of state and
//! lineage on a long history, export and verification of the whole log, then writes on
//! that log: Bolt round trips and records written per change, audit overhead (bare
//! Cypher, the minimal atomic audited write, governed library call, governed HTTP) at
//! each concurrency, a hot entity, and SBOM ingest.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use govtrail::auth::AuthMethod;
use govtrail::auth::Principal;
use govtrail::domain::{Role, Source, Subject, TeamId};
use govtrail::governance::commands::ChangeResponsibilityAreas;
use govtrail::governance::{Actor, Command, Context, Governor};
use govtrail::seed::{LogShape, Seeder, seed_log};
use govtrail::store::Store;
use neo4rs::query;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Options;
use crate::env::{Neo4j, Server, root, settings, token};
use crate::load::{Stats, closed_loop, sequential};
use crate::proxy::Proxy;

#[derive(Debug, Serialize)]
pub struct Report {
    smoke: bool,
    machine: Value,
    versions: Value,
    seeding: Vec<Value>,
    log_size: Vec<LogSizeRow>,
    log_size_ratio: Value,
    long_history: Value,
    export: Value,
    verify: Value,
    read_limit: Value,
    round_trips: Value,
    records_per_change: Value,
    overhead: Vec<OverheadRow>,
    hot_entity: Value,
    sbom: Value,
}

#[derive(Debug, Serialize)]
struct LogSizeRow {
    total_entries: u64,
    history_entity_entries: usize,
    history: Stats,
    feed: Stats,
    /// The console's timeline page (50 entries, rendered HTML).
    console_timeline: Stats,
    console_timeline_bytes: usize,
}

#[derive(Debug, Serialize)]
struct OverheadRow {
    concurrency: usize,
    bare: Stats,
    minimal: Stats,
    library: Stats,
    http: Stats,
    library_vs_bare: f64,
    http_vs_bare: f64,
    library_vs_minimal: f64,
    http_vs_minimal: f64,
}

struct Bench {
    http: reqwest::Client,
    base: String,
    admin: String,
    superuser: String,
    store: Store,
}

impl Bench {
    async fn get(&self, path: &str) -> Result<Value, String> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.superuser)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("GET {path}: {}", r.status()));
        }
        r.json().await.map_err(|e| e.to_string())
    }

    /// The server's lock histograms (`govtrail_governed_lock_{wait,hold}_seconds`): for
    /// each, the sum in seconds and the count, from `/metrics`.
    async fn lock_times(&self) -> Result<[(f64, f64); 2], String> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                .ok_or_else(|| format!("/metrics has no {name}"))
        };
        Ok([
            (
                value("govtrail_governed_lock_wait_seconds_sum")?,
                value("govtrail_governed_lock_wait_seconds_count")?,
            ),
            (
                value("govtrail_governed_lock_hold_seconds_sum")?,
                value("govtrail_governed_lock_hold_seconds_count")?,
            ),
        ])
    }

    /// A console page, signed in as the superuser (its session cookie).
    async fn page(&self, path: &str) -> Result<String, String> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", format!("govtrail_session={}", self.superuser))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("GET {path}: {}", r.status()));
        }
        r.text().await.map_err(|e| e.to_string())
    }

    async fn scalar(&self, statement: &str, params: &[(&str, &str)]) -> Result<i64, String> {
        let mut q = query(statement);
        for (k, v) in params {
            q = q.param(k, *v);
        }
        let mut rows = self
            .store
            .graph()
            .execute(q)
            .await
            .map_err(|e| e.to_string())?;
        let row = rows
            .next()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no row")?;
        row.get::<i64>("n").map_err(|e| e.to_string())
    }

    async fn entries(&self) -> Result<u64, String> {
        let n = self
            .scalar("MATCH (e:AuditLog) RETURN count(e) AS n", &[])
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Waits until the server's checkpointer has sealed everything queued.
    async fn sealed(&self, limit: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        loop {
            let queued = self
                .scalar("MATCH (q:SealQueue) RETURN count(q) AS n", &[])
                .await?;
            if queued == 0 {
                return Ok(start.elapsed());
            }
            if start.elapsed() > limit {
                return Err(format!("{queued} entries still unsealed after {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn create_teams(&self, n: usize) -> Result<Vec<String>, String> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r: Value = self
                .http
                .post(format!("{}/v1/teams", self.base))
                .bearer_auth(&self.admin)
                .json(&json!({"name": format!("bench-{}", uuid::Uuid::new_v4())}))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            out.push(
                r["entity"]["id"]
                    .as_str()
                    .ok_or_else(|| format!("team not created: {r}"))?
                    .to_owned(),
            );
        }
        Ok(out)
    }
}

fn timed(label: &str) -> impl FnOnce() -> f64 {
    let start = Instant::now();
    eprintln!("bench: {label} ...");
    move || start.elapsed().as_secs_f64()
}

#[expect(
    clippy::too_many_lines,
    reason = "the benchmark's script, in the order it runs"
)]
pub async fn run(o: &Options) -> Result<Report, String> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(dir.join("checkpoints.jsonl"));
    let neo4j = Neo4j::start(&dir.join("neo4j"), &o.neo4j_heap, o.neo4j_page_cache_mb)?;
    let server = Server::start(&neo4j.uri, &dir).await?;
    if let Some(pid) = neo4j.pid() {
        crate::load::watch_cpu("neo4j", pid);
    }
    crate::load::watch_cpu("server", server.pid);
    crate::load::watch_cpu("harness", std::process::id());
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = govtrail::metrics::Metrics::register(&mut registry);
    let store =
        Store::connect(&settings(&neo4j.uri), metrics.clone()).map_err(|e| e.to_string())?;
    store
        .wait_until_reachable(Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let bench = Bench {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(128)
            .build()
            .map_err(|e| e.to_string())?,
        base: server.base.clone(),
        admin: token("bench-admin", Role::GovernanceAdmin)?,
        superuser: token("bench-superuser", Role::Superuser)?,
        store: store.clone(),
    };
    let seal_limit = Duration::from_secs(120 + (o.large / 2_000) as u64);

    // Log size: the same probe entities on a small, then a large log.
    let mut seeder = Seeder::new(store.clone(), 7, chrono::Duration::days(30))
        .await
        .map_err(|e| e.to_string())?;
    let mut seeding = Vec::new();
    let probe_entries = (o.small / 50).max(20);
    let mut probes = seeder
        .entities(2, "probe")
        .await
        .map_err(|e| e.to_string())?;
    let done = timed("seeding the small log");
    seeder
        .entries(&mut probes, &[probe_entries, probe_entries])
        .await
        .map_err(|e| e.to_string())?;
    let rest = o.small.saturating_sub(2 * probe_entries);
    seed_log(
        &mut seeder,
        &LogShape {
            total: rest,
            hot: 1,
            hot_entries: rest / 4,
            tail_mean: 20,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let secs = done();
    seeding.push(json!({"entries": o.small, "seconds": secs, "perSecond": o.small as f64 / secs}));
    let sealed_in = bench.sealed(seal_limit).await?;
    eprintln!("bench: sealed in {sealed_in:?}");
    let probe = probes[0].id.clone();
    let mut log_size = vec![log_size_row(&bench, o, &probe, probe_entries).await?];

    let mut long_id = None;
    if !o.skip_large {
        let total = bench.entries().await?;
        let add = (o.large as u64).saturating_sub(total) as usize;
        let done = timed("seeding the large log");
        let hot = seed_log(
            &mut seeder,
            &LogShape {
                total: add,
                hot: 2,
                hot_entries: o.long_history,
                tail_mean: 20,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        let secs = done();
        seeding.push(json!({"entries": add, "seconds": secs, "perSecond": add as f64 / secs}));
        long_id = hot
            .first()
            .map(|e| (e.id.clone(), e.entity_type, e.entries));
        let sealed_in = bench.sealed(seal_limit).await?;
        eprintln!("bench: sealed in {sealed_in:?}");
        log_size.push(log_size_row(&bench, o, &probe, probe_entries).await?);
    }
    let ratio = |f: fn(&LogSizeRow) -> f64| match (log_size.first(), log_size.last()) {
        (Some(a), Some(b)) if log_size.len() == 2 => f(b) / f(a).max(1e-9),
        _ => f64::NAN,
    };
    let log_size_ratio = json!({
        "historyP50": ratio(|r| r.history.p50_ms),
        "historyP99": ratio(|r| r.history.p99_ms),
        "feedP50": ratio(|r| r.feed.p50_ms),
        "feedP99": ratio(|r| r.feed.p99_ms),
    });

    // As-of state and lineage on a long history.
    let (long, long_type, long_entries) = if let Some(x) = long_id {
        x
    } else {
        let mut e = seeder
            .entities(1, "long")
            .await
            .map_err(|e| e.to_string())?;
        seeder
            .entries(&mut e, &[o.long_history])
            .await
            .map_err(|e| e.to_string())?;
        bench.sealed(seal_limit).await?;
        (e[0].id.clone(), e[0].entity_type, e[0].entries)
    };
    let long_history = long_history(&bench, o, &long, long_type.as_str(), long_entries).await?;

    // Export and verification of the whole log.
    let export = export(&bench, &server).await?;
    let verify = verify(&neo4j.uri, &dir)?;
    let read_limit = read_limit(&store).await?;

    // Writes, on the log as it now is.
    let max_c = o.concurrency.iter().copied().max().unwrap_or(1);
    let teams = Arc::new(bench.create_teams(max_c + 1).await?);
    let round_trips = round_trips(&neo4j.uri, &teams[max_c], metrics.clone(), &bench).await?;
    let governor = Governor::new(store.clone(), NonZeroU32::MIN, 3);
    let actor = Arc::new(actor(&governor).await?);
    let minimal = Arc::new(Minimal::from_entry_of(&store, &teams[max_c]).await?);
    let records_per_change =
        records_per_change(&governor, &actor, &minimal, &store, &metrics, &teams[max_c]).await?;
    let mut overhead = Vec::new();
    for &c in &o.concurrency {
        let seconds = Duration::from_secs_f64(o.seconds);
        eprintln!("bench: writes at concurrency {c} ...");
        let bare = auto_commit_changes(&store, &teams, c, seconds, false, bare_change).await;
        let minimal = {
            let minimal = minimal.clone();
            auto_commit_changes(&store, &teams, c, seconds, false, move |team, areas| {
                minimal.statement(team, areas)
            })
            .await
        };
        let library = library_changes(&governor, &actor, &teams, c, seconds).await;
        let http = http_changes(&bench, &teams, c, seconds, false).await;
        overhead.push(OverheadRow {
            concurrency: c,
            library_vs_bare: library.per_second / bare.per_second.max(1e-9),
            http_vs_bare: http.per_second / bare.per_second.max(1e-9),
            library_vs_minimal: library.per_second / minimal.per_second.max(1e-9),
            http_vs_minimal: http.per_second / minimal.per_second.max(1e-9),
            bare,
            minimal,
            library,
            http,
        });
    }
    eprintln!("bench: hot entity ...");
    let seconds = Duration::from_secs_f64(o.seconds);
    let hot_bare = auto_commit_changes(&store, &teams, max_c, seconds, true, bare_change).await;
    let hot_minimal = {
        let minimal = minimal.clone();
        auto_commit_changes(&store, &teams, max_c, seconds, true, move |team, areas| {
            minimal.statement(team, areas)
        })
        .await
    };
    let locks_before = bench.lock_times().await?;
    let hot_http = http_changes(&bench, &teams, max_c, seconds, true).await;
    let locks_after = bench.lock_times().await?;
    // Mean lock wait and hold per committed change of the hot HTTP run, in ms.
    let [wait_ms, hold_ms] = [0, 1].map(|k| {
        let (sum, count) = (
            locks_after[k].0 - locks_before[k].0,
            locks_after[k].1 - locks_before[k].1,
        );
        1000.0 * sum / count.max(1.0)
    });
    let hot_entity = json!({
        "concurrency": max_c,
        "bare": hot_bare,
        "minimal": hot_minimal,
        "http": hot_http,
        "httpVsBare": hot_http.per_second / hot_bare.per_second.max(1e-9),
        "httpVsMinimal": hot_http.per_second / hot_minimal.per_second.max(1e-9),
        "httpLockWaitMeanMs": wait_ms,
        "httpLockHoldMeanMs": hold_ms,
        // The share of the run's time one team's locks were held: near 1, changes to
        // the team are serialized on its lock and the hold time sets the rate.
        "httpLockBusy": hot_http.per_second * hold_ms / 1000.0,
    });
    let sbom = crate::sbom::run(
        &bench.http,
        &bench.base,
        &server,
        o.sbom_components,
        o.requests,
    )
    .await?;
    drop(server);
    drop(neo4j);
    Ok(Report {
        smoke: !o.bench,
        machine: machine(),
        versions: json!({
            "govtrail": env!("CARGO_PKG_VERSION"),
            "neo4j": "5.26.30 Community (embedded, dev/neo4j)",
            "neo4jHeap": o.neo4j_heap,
            "neo4jPageCacheMiB": o.neo4j_page_cache_mb,
            "rustc": option_env!("RUSTC_VERSION").unwrap_or("see `rustc --version`"),
        }),
        seeding,
        log_size,
        log_size_ratio,
        long_history,
        export,
        verify,
        read_limit,
        round_trips,
        records_per_change,
        overhead,
        hot_entity,
        sbom,
    })
}

async fn log_size_row(
    bench: &Bench,
    o: &Options,
    probe: &str,
    probe_entries: usize,
) -> Result<LogSizeRow, String> {
    let total = bench.entries().await?;
    eprintln!("bench: history and feed at {total} entries ...");
    let history_path = format!("/v1/entities/Technology/{probe}/history?limit=50");
    let feed_path = "/v1/audit-logs?operation=CHANGE_RISK_LEVEL&limit=50";
    // Warm the caches and the JIT the way a running service has them: as many
    // requests as are measured.
    for _ in 0..o.requests {
        bench.get(&history_path).await?;
        bench.get(feed_path).await?;
    }
    let history = sequential(o.requests, |_| async {
        let page = bench.get(&history_path).await?;
        expect_page(&page)
    })
    .await;
    let feed = sequential(o.requests, |_| async {
        let page = bench.get(feed_path).await?;
        expect_page(&page)
    })
    .await;
    let console_path = "/console/timeline";
    let mut console_bytes = 0;
    for _ in 0..o.requests {
        console_bytes = bench.page(console_path).await?.len();
    }
    let console_timeline = sequential(o.requests, |_| async {
        let html = bench.page(console_path).await?;
        if html.matches("<tr class=\"entry\"").count() == 50 {
            Ok(())
        } else {
            Err("the console timeline did not show 50 entries".to_owned())
        }
    })
    .await;
    Ok(LogSizeRow {
        total_entries: total,
        history_entity_entries: probe_entries,
        history,
        feed,
        console_timeline,
        console_timeline_bytes: console_bytes,
    })
}

fn expect_page(page: &Value) -> Result<(), String> {
    match page["entries"].as_array() {
        Some(e) if !e.is_empty() => Ok(()),
        _ => Err(format!("empty page: {page}")),
    }
}

async fn long_history(
    bench: &Bench,
    o: &Options,
    id: &str,
    entity_type: &str,
    entries: usize,
) -> Result<Value, String> {
    eprintln!("bench: as-of state and lineage on {entries} entries ...");
    let middle = {
        let mut rows = bench
            .store
            .graph()
            .execute(
                query(
                    "MATCH (:Governed {id: $id})<-[:AUDITS]-(e:AuditLog) \
                     WITH e ORDER BY e.timestamp SKIP $skip LIMIT 1 RETURN toString(e.timestamp) AS at",
                )
                .param("id", id)
                .param("skip", i64::try_from(entries / 2).unwrap_or(0)),
            )
            .await
            .map_err(|e| e.to_string())?;
        let row = rows
            .next()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no entry")?;
        row.get::<String>("at").map_err(|e| e.to_string())?
    };
    let at = middle.replace(':', "%3A").replace('+', "%2B");
    let requests = (o.requests / 10).max(5);
    for _ in 0..3 {
        bench
            .get(&format!("/v1/entities/{entity_type}/{id}/state?at={at}"))
            .await?;
        bench
            .get(&format!("/v1/entities/{entity_type}/{id}/lineage?depth=2"))
            .await?;
    }
    let state = sequential(requests, |_| async {
        bench
            .get(&format!("/v1/entities/{entity_type}/{id}/state?at={at}"))
            .await
            .map(|_| ())
    })
    .await;
    let lineage = sequential(requests, |_| async {
        bench
            .get(&format!("/v1/entities/{entity_type}/{id}/lineage?depth=2"))
            .await
            .map(|_| ())
    })
    .await;
    let history = sequential(requests, |_| async {
        let page = bench
            .get(&format!("/v1/entities/{entity_type}/{id}/history?limit=50"))
            .await?;
        expect_page(&page)
    })
    .await;
    Ok(
        json!({"entityEntries": entries, "stateAt": state, "lineage": lineage, "historyPage": history}),
    )
}

async fn export(bench: &Bench, server: &Server) -> Result<Value, String> {
    eprintln!("bench: export ...");
    let mut out = serde_json::Map::new();
    for format in ["jsonl", "csv"] {
        let (idle, _) = server.memory_kib();
        server.reset_peak();
        let start = Instant::now();
        let mut response = bench
            .http
            .get(format!("{}/v1/exports/audit?format={format}", bench.base))
            .bearer_auth(&bench.superuser)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("export: {}", response.status()));
        }
        let (mut lines, mut bytes) = (0u64, 0u64);
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            #[expect(clippy::naive_bytecount, reason = "counting lines of a test stream")]
            {
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            }
            bytes += chunk.len() as u64;
        }
        let seconds = start.elapsed().as_secs_f64();
        let (_, peak) = server.memory_kib();
        let rows = if format == "csv" {
            lines.saturating_sub(1)
        } else {
            lines
        };
        out.insert(
            format.into(),
            json!({
                "entries": rows,
                "bytes": bytes,
                "seconds": seconds,
                "perSecond": rows as f64 / seconds,
                "serverRssBeforeMiB": idle as f64 / 1024.0,
                "serverPeakRssMiB": peak as f64 / 1024.0,
            }),
        );
    }
    Ok(Value::Object(out))
}

fn verify(uri: &str, dir: &std::path::Path) -> Result<Value, String> {
    eprintln!("bench: verify ...");
    let start = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_govtrail"))
        .arg("verify")
        .env_remove("GOVTRAIL_CONFIG")
        .env("GOVTRAIL_NEO4J_URI", uri)
        .env("GOVTRAIL_LOG_FILTER", "warn")
        .env(
            "GOVTRAIL_CHECKPOINT_KEY_FILE",
            root().join("tests/fixtures/keys/ed25519-private.pem"),
        )
        .env("GOVTRAIL_CHECKPOINT_SINK", dir.join("checkpoints.jsonl"))
        .output()
        .map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&out.stderr);
    let summary = summary
        .lines()
        .find(|l| l.starts_with("verify:"))
        .unwrap_or_default()
        .to_owned();
    let entries: u64 = summary
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let findings = String::from_utf8_lossy(&out.stdout).lines().count();
    if findings > 0 || !out.status.success() {
        return Err(format!(
            "verify found {findings} problems in the benchmark log: {summary}\n{}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(json!({
        "entries": entries,
        "seconds": seconds,
        "perSecond": entries as f64 / seconds,
        "findings": findings,
        "summary": summary,
    }))
}

/// The read limit of export and verification: every `AuditLog`, as they read it (all
/// properties, timestamp as text), streamed through neo4rs and discarded undecoded.
async fn read_limit(store: &Store) -> Result<Value, String> {
    eprintln!("bench: read limit ...");
    let start = Instant::now();
    let mut rows = store
        .graph()
        .execute(query(
            "MATCH (e:AuditLog) RETURN e {.*, timestamp: toString(e.timestamp)} AS entry",
        ))
        .await
        .map_err(|e| e.to_string())?;
    let mut entries = 0u64;
    while rows.next().await.map_err(|e| e.to_string())?.is_some() {
        entries += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "entries": entries,
        "seconds": seconds,
        "perSecond": entries as f64 / seconds,
    }))
}

/// The library benchmark's actor, resolved (and on first use registered) by `governor`.
async fn actor(governor: &Governor) -> Result<Actor, String> {
    let principal = Principal {
        subject: Subject::parse("bench-library").map_err(|e| e.to_string())?,
        roles: BTreeSet::from([Role::GovernanceAdmin]),
        source: Source::Api,
        auth_method: AuthMethod::Jwt(jsonwebtoken::Algorithm::HS256),
        display_name: Some("Bench library".into()),
        email: None,
        expires_at: None,
    };
    governor.actor(principal).await.map_err(|e| e.to_string())
}

fn change(team: &str, areas: Vec<String>) -> Result<Command, String> {
    Ok(Command::ChangeResponsibilityAreas(
        ChangeResponsibilityAreas {
            id: TeamId::parse(team).map_err(|e| e.to_string())?,
            responsibility_areas: areas,
        },
    ))
}

/// Bolt round trips per governed change, per no-op, and per bare change, counted by a
/// proxy in front of Neo4j (one pooled connection).
async fn round_trips(
    uri: &str,
    team: &str,
    metrics: govtrail::metrics::Metrics,
    bench: &Bench,
) -> Result<Value, String> {
    eprintln!("bench: round trips ...");
    let target: std::net::SocketAddr = uri
        .trim_start_matches("bolt://")
        .parse()
        .map_err(|e| format!("{uri}: {e}"))?;
    let proxy = Proxy::start(target).await?;
    let mut s = settings(&proxy.uri);
    s.neo4j_max_connections = 1;
    let store = Store::connect(&s, metrics).map_err(|e| e.to_string())?;
    let governor = Governor::new(store.clone(), NonZeroU32::MIN, 3);
    let actor = actor(&governor).await?;
    let n = 20u64;
    let change_rt = governed_turns(&proxy, &governor, &actor, team, n, |i| {
        vec![format!("rt-{i}")]
    })
    .await?;
    let noop_rt = governed_turns(&proxy, &governor, &actor, team, n, |_| {
        vec!["same".to_owned()]
    })
    .await?;
    let before = proxy.turns();
    for i in 0..n {
        store
            .graph()
            .run(bare_change(team, vec![format!("bare-{i}")]))
            .await
            .map_err(|e| e.to_string())?;
    }
    let bare_rt = (proxy.turns() - before) as f64 / n as f64;
    // The same change through HTTP: a server of its own, on the proxy, with nothing in
    // the background.
    let server = Server::start_as(&proxy.uri, &crate::env::Serve::Counting).await?;
    let url = format!("{}/v1/teams/{team}/responsibility-areas", server.base);
    let put = |i: u64| {
        bench
            .http
            .put(&url)
            .bearer_auth(&bench.admin)
            .json(&json!({"responsibilityAreas": [format!("http-rt-{i}")]}))
            .send()
    };
    for i in 0..3 {
        put(1000 + i).await.map_err(|e| e.to_string())?;
    }
    let before = proxy.turns();
    for i in 0..n {
        let r = put(i).await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("HTTP change for the round trips: {}", r.status()));
        }
    }
    let http_rt = (proxy.turns() - before) as f64 / n as f64;
    Ok(json!({
        "governedChange": change_rt,
        "governedChangeHttp": http_rt,
        "governedNoOp": noop_rt,
        "bareChange": bare_rt,
    }))
}

async fn governed_turns(
    proxy: &Proxy,
    governor: &Governor,
    actor: &Actor,
    team: &str,
    n: u64,
    areas: impl Fn(u64) -> Vec<String>,
) -> Result<f64, String> {
    for i in 0..3 {
        governor
            .execute(
                &change(team, areas(1000 + i))?,
                actor,
                &Context::new("warm".into()),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    let before = proxy.turns();
    for i in 0..n {
        governor
            .execute(&change(team, areas(i))?, actor, &Context::new("rt".into()))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok((proxy.turns() - before) as f64 / n as f64)
}

/// The bare change: the same property update as the governed change, one auto-commit
/// statement, no audit.
fn bare_change(team: &str, areas: Vec<String>) -> neo4rs::Query {
    query("MATCH (t:Team {id: $id}) SET t.responsibilityAreas = $areas, t.version = t.version + 1")
        .param("id", team)
        .param("areas", areas)
}

/// One auto-commit statement per change, built by `statement` (team, areas), in a
/// closed loop of `c` clients. `hot`: every client changes the first team.
async fn auto_commit_changes(
    store: &Store,
    teams: &Arc<Vec<String>>,
    c: usize,
    seconds: Duration,
    hot: bool,
    statement: impl Fn(&str, Vec<String>) -> neo4rs::Query + Send + Sync + 'static,
) -> Stats {
    let (store, teams, statement) = (store.clone(), teams.clone(), Arc::new(statement));
    closed_loop(c, seconds, move |w, i| {
        let (store, team) = (store.clone(), teams[if hot { 0 } else { w }].clone());
        let query = statement(&team, vec![format!("auto-{w}-{i}")]);
        async move {
            store
                .graph()
                .run(query)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
    .await
}

/// The minimal atomic audited write: the bare change plus an `AuditLog` with the
/// properties of a real entry, its `AUDITS` and `PERFORMED_BY` edges and the chain-head
/// move, in one auto-commit statement with no read, no lock and no hashing: the
/// cheapest way any service could write this evidence atomically.
const MINIMAL_AUDITED_WRITE: &str = "MATCH (t:Team {id: $id}) \
     MATCH (u:User {id: $entry.userId}) \
     SET t.responsibilityAreas = $areas, t.version = t.version + 1 \
     CREATE (e:AuditLog {id: $entryId, entityId: $id, timestamp: datetime()}) \
     SET e += $entry \
     CREATE (e)-[:AUDITS]->(t) \
     CREATE (e)-[:PERFORMED_BY]->(u) \
     SET t.auditHead = e.hash";

/// The minimal audited write's statement parameters: a governed entry's properties.
struct Minimal {
    entry: Value,
}

impl Minimal {
    /// Takes the newest entry of `team` (written by a governed change) as the template.
    async fn from_entry_of(store: &Store, team: &str) -> Result<Self, String> {
        let mut rows = store
            .graph()
            .execute(
                query(
                    "MATCH (e:AuditLog)-[:AUDITS]->(:Team {id: $id}) \
                     WITH e ORDER BY e.timestamp DESC LIMIT 1 \
                     RETURN e {.*, timestamp: toString(e.timestamp)} AS e",
                )
                .param("id", team),
            )
            .await
            .map_err(|e| e.to_string())?;
        let row = rows
            .next()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("no governed entry to copy")?;
        let mut entry: Value = row.get("e").map_err(|e| e.to_string())?;
        // Set per write: a fresh id (unique), the team written, the time of writing.
        if let Some(map) = entry.as_object_mut() {
            for key in ["id", "entityId", "timestamp"] {
                map.remove(key);
            }
        }
        Ok(Self { entry })
    }

    fn statement(&self, team: &str, areas: Vec<String>) -> neo4rs::Query {
        query(MINIMAL_AUDITED_WRITE)
            .param("id", team)
            .param("areas", areas)
            .param("entryId", uuid::Uuid::now_v7().to_string())
            .param("entry", govtrail::store::to_bolt(self.entry.clone()))
    }
}

/// Records one change writes, as Neo4j counts them: the governed write statement's
/// (from `govtrail_neo4j_records_written`, over 20 changes) and the minimal audited
/// write's (from its summary). Index entries follow from these and the schema
/// (docs/performance.md).
async fn records_per_change(
    governor: &Governor,
    actor: &Actor,
    minimal: &Minimal,
    store: &Store,
    metrics: &govtrail::metrics::Metrics,
    team: &str,
) -> Result<Value, String> {
    let read = || {
        govtrail::metrics::RECORD_KINDS.map(|kind| {
            metrics
                .records_written
                .get_or_create(&govtrail::metrics::RecordLabels { kind })
                .get()
        })
    };
    let n = 20u64;
    let before = read();
    for i in 0..n {
        governor
            .execute(
                &change(team, vec![format!("records-{i}")])?,
                actor,
                &Context::new("records".into()),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    let after = read();
    let governed: serde_json::Map<String, Value> = govtrail::metrics::RECORD_KINDS
        .iter()
        .zip(after.iter().zip(before))
        .map(|(kind, (a, b))| ((*kind).to_owned(), json!((a - b) as f64 / n as f64)))
        .collect();
    let summary = store
        .graph()
        .run(minimal.statement(team, vec!["records-minimal".to_owned()]))
        .await
        .map_err(|e| e.to_string())?;
    let s = summary.stats();
    Ok(json!({
        "governed": governed,
        "minimal": {
            "nodes_created": s.nodes_created,
            "relationships_created": s.relationships_created,
            "properties_set": s.properties_set,
            "labels_added": s.labels_added,
        },
    }))
}

/// The governed change through the library: lock, read, decide, write change and
/// entry in one transaction — no HTTP.
async fn library_changes(
    governor: &Governor,
    actor: &Arc<Actor>,
    teams: &Arc<Vec<String>>,
    c: usize,
    seconds: Duration,
) -> Stats {
    let (governor, actor, teams) = (governor.clone(), actor.clone(), teams.clone());
    closed_loop(c, seconds, move |w, i| {
        let (governor, actor, team) = (governor.clone(), actor.clone(), teams[w].clone());
        async move {
            let answer = governor
                .execute(
                    &change(&team, vec![format!("lib-{w}-{i}")])?,
                    &actor,
                    &Context::new(uuid::Uuid::new_v4().to_string()),
                )
                .await
                .map_err(|e| e.to_string())?;
            if answer.body["changed"] == json!(true) {
                Ok(())
            } else {
                Err(format!("not changed: {}", answer.body))
            }
        }
    })
    .await
}

/// The governed change through HTTP (`PUT /v1/teams/{id}/responsibility-areas`).
async fn http_changes(
    bench: &Bench,
    teams: &Arc<Vec<String>>,
    c: usize,
    seconds: Duration,
    hot: bool,
) -> Stats {
    let (http, base, admin, teams) = (
        bench.http.clone(),
        bench.base.clone(),
        bench.admin.clone(),
        teams.clone(),
    );
    closed_loop(c, seconds, move |w, i| {
        let (http, url, admin) = (
            http.clone(),
            format!(
                "{base}/v1/teams/{}/responsibility-areas",
                teams[if hot { 0 } else { w }]
            ),
            admin.clone(),
        );
        async move {
            let r = http
                .put(url)
                .bearer_auth(admin)
                .json(&json!({"responsibilityAreas": [format!("http-{w}-{i}")]}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if r.status().is_success() {
                Ok(())
            } else {
                Err(format!(
                    "{}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ))
            }
        }
    })
    .await
}

fn machine() -> Value {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    json!({"cpus": cpus, "cpuModel": model, "memoryGiB": mem_kib as f64 / 1024.0 / 1024.0})
}

fn stats_line(out: &mut String, label: &str, s: &Stats) {
    let cores = s
        .cpu_cores
        .iter()
        .fold(String::new(), |mut text, (name, busy)| {
            let _ = write!(text, "  {name} {busy:.2}");
            text
        });
    let _ = writeln!(
        out,
        "  {label:<34} {:>9.1}/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  ({} ops, {} errors){}",
        s.per_second,
        s.p50_ms,
        s.p95_ms,
        s.p99_ms,
        s.ops,
        s.errors,
        if cores.is_empty() {
            String::new()
        } else {
            format!("  cores:{cores}")
        }
    );
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "govtrail benchmark{} on {}",
        if r.smoke { " (smoke)" } else { "" },
        r.machine
    );
    for s in &r.seeding {
        let _ = writeln!(out, "seeding: {s}");
    }
    let _ = writeln!(out, "\nhistory page and filtered feed vs log size (c=1):");
    for row in &r.log_size {
        let _ = writeln!(
            out,
            " {} entries in the log ({} on the entity):",
            row.total_entries, row.history_entity_entries
        );
        stats_line(&mut out, "entity history, first page", &row.history);
        stats_line(&mut out, "feed operation=…, first page", &row.feed);
        stats_line(
            &mut out,
            &format!(
                "console timeline, 50 entries ({} bytes of HTML)",
                row.console_timeline_bytes
            ),
            &row.console_timeline,
        );
    }
    let _ = writeln!(out, "  large/small ratio: {}", r.log_size_ratio);
    let _ = writeln!(
        out,
        "\nlong history ({} entries):",
        r.long_history["entityEntries"]
    );
    for (key, label) in [
        ("stateAt", "state ?at= (replay)"),
        ("lineage", "lineage depth 2"),
        ("historyPage", "history, first page"),
    ] {
        if let Ok(s) = serde_json::from_value::<Stats>(r.long_history[key].clone()) {
            stats_line(&mut out, label, &s);
        }
    }
    let _ = writeln!(out, "\nexport: {}", r.export);
    let _ = writeln!(out, "verify: {}", r.verify);
    let _ = writeln!(out, "read limit (stream and discard): {}", r.read_limit);
    let _ = writeln!(out, "\nBolt round trips: {}", r.round_trips);
    let _ = writeln!(out, "records written per change: {}", r.records_per_change);
    let _ = writeln!(out, "\naudit overhead (same change; ratios of throughput):");
    for row in &r.overhead {
        let _ = writeln!(out, " concurrency {}:", row.concurrency);
        stats_line(&mut out, "bare Cypher (no audit)", &row.bare);
        stats_line(&mut out, "minimal atomic audited write", &row.minimal);
        stats_line(&mut out, "governed, library call", &row.library);
        stats_line(&mut out, "governed, HTTP", &row.http);
        let _ = writeln!(
            out,
            "  library/bare {:.2}   HTTP/bare {:.2}   library/minimal {:.2}   HTTP/minimal {:.2}",
            row.library_vs_bare, row.http_vs_bare, row.library_vs_minimal, row.http_vs_minimal
        );
    }
    let _ = writeln!(out, "\nhot entity: {}", r.hot_entity);
    let _ = writeln!(out, "\nSBOM: {}", r.sbom);
    out
}
