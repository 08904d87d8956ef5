//! Shared harness for integration tests: a real govtrail on a free port against the
//! real Neo4j at `NEO4J_TEST_URI` (started by `dev/test`), token minting, and
//! dedicated Neo4j instances for tests that must stop the database or see a fresh one.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use govtrail::config::{PublicKeySpec, Settings};
use govtrail::http::App;
use govtrail::store::migrations::Migrator;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The development HS256 secret the test apps accept.
pub const TEST_SECRET: &str = "integration-test-secret-0123456789abcdef";

/// Directory of throw-away test keys.
pub fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys")
}

/// `prefix-<uuid v4>`: a name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

/// The shared test Neo4j. `dev/test` starts it; running `cargo test` alone needs it set.
pub fn neo4j_uri() -> String {
    match std::env::var("NEO4J_TEST_URI") {
        Ok(uri) if !uri.is_empty() => uri,
        _ => panic!(
            "NEO4J_TEST_URI is not set: run the suite with `dev/test`, which starts Neo4j, \
             or start one with `dev/neo4j/neo4j.sh start` and export its URI"
        ),
    }
}

/// Settings for a test app on a free port: HS256 development secret plus the RS256
/// fixture key, quiet logs unless `TEST_LOG` is set. The request timeout is generous:
/// tests run on busy machines, several cold Neo4j JVMs at once, and a test about
/// timeouts sets its own.
pub fn test_settings(neo4j_uri: &str) -> Settings {
    if std::env::var_os("TEST_LOG").is_some() {
        govtrail::telemetry::init(govtrail::config::LogFormat::Pretty, "info,govtrail=debug");
    }
    Settings {
        listen_addr: "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()),
        neo4j_uri: neo4j_uri.to_owned(),
        neo4j_startup_wait_secs: 60,
        request_timeout_ms: 60_000,
        auth_hs256_secret: Some(SecretString::from(TEST_SECRET.to_owned())),
        auth_public_keys: vec![PublicKeySpec {
            alg: "RS256".into(),
            path: keys_dir().join("rsa-public.pem"),
            kid: None,
        }],
        approval_policies: immediate(),
        change_request_sweep_ms: 0,
        ..Settings::default()
    }
}

/// The policy version entries record under [`test_settings`]: the rule set's, with
/// the digest of the test policies.
pub fn policy_version() -> String {
    govtrail::governance::Policies::new(&immediate())
        .map_or_else(|e| panic!("{e}"), |p| p.version().to_owned())
}

/// Approval policies under which every operation runs at once: the suites that test
/// what operations do use them; `tests/change_requests.rs` tests the defaults.
pub fn immediate()
-> std::collections::BTreeMap<govtrail::domain::Operation, govtrail::config::PolicySetting> {
    govtrail::governance::catalog::routed()
        .filter(|(d, _)| d.approval == govtrail::governance::catalog::DefaultPolicy::Dual)
        .map(|(d, _)| {
            (
                d.operation,
                govtrail::config::PolicySetting::Named(govtrail::config::PolicyName::None),
            )
        })
        .collect()
}

/// A running govtrail.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The app's state (same store, metrics).
    pub state: govtrail::http::AppState,
    stop: Option<oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts govtrail against the shared test Neo4j.
    pub async fn spawn() -> Self {
        Self::spawn_with(test_settings(&neo4j_uri())).await
    }

    /// Starts govtrail with explicit settings.
    pub async fn spawn_with(settings: Settings) -> Self {
        Self::start(settings, |g| g).await
    }

    async fn start(
        settings: Settings,
        governor: impl FnOnce(govtrail::governance::Governor) -> govtrail::governance::Governor,
    ) -> Self {
        let migrator = Migrator::embedded().unwrap_or_else(|e| panic!("migrations: {e}"));
        let app = App::build(settings, migrator)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "govtrail failed to start: {}",
                    govtrail::http::problem::error_chain(&e)
                )
            })
            .map_governor(governor);
        let addr = app
            .local_addr()
            .unwrap_or_else(|e| panic!("no address: {e}"));
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            state,
            stop: Some(stop),
        }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET with an optional bearer token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Valid claims for `sub` with `roles`.
pub fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({
        "sub": sub, "iss": "govtrail", "aud": "govtrail",
        "iat": now(), "exp": now() + 600, "roles": roles,
    })
}

/// An HS256 token over `claims` signed with `secret`.
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap_or_else(|e| panic!("sign: {e}"))
}

/// A valid development token for a fresh subject with `roles`; returns (subject, token).
pub fn token_for(roles: &[&str]) -> (String, String) {
    let sub = format!("test-{}", uuid::Uuid::new_v4());
    let token = hs256(&claims(&sub, roles), TEST_SECRET.as_bytes());
    (sub, token)
}

/// A valid development token for a fresh subject with `roles` and a `source` claim.
pub fn token_for_source(roles: &[&str], source: &str) -> (String, String) {
    let sub = format!("test-{}", uuid::Uuid::new_v4());
    let mut c = claims(&sub, roles);
    c["source"] = json!(source);
    (sub.clone(), hs256(&c, TEST_SECRET.as_bytes()))
}

/// Reads a response as a problem document, checking the media type.
pub async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        media, "application/problem+json",
        "status {status} must be problem+json, body {body}"
    );
    assert_eq!(body["status"], json!(status), "problem status field");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:govtrail:problem:")),
        "problem type: {body}"
    );
    (status, body)
}

/// A Neo4j of its own (fresh data directory, free port) for tests that stop the
/// database or need an empty schema. Stopped on drop.
pub struct DedicatedNeo4j {
    home: tempfile::TempDir,
    /// `bolt://127.0.0.1:PORT`.
    pub uri: String,
}

impl DedicatedNeo4j {
    fn script() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dev/neo4j/neo4j.sh")
    }

    fn run(home: &std::path::Path, port: &str, action: &str) -> String {
        let output = Command::new("bash")
            .arg(Self::script())
            .arg(action)
            .env("NEO4J_DEV_HOME", home)
            .env("NEO4J_DEV_PORT", port)
            .env("NEO4J_DEV_HEAP", "384m")
            .env("NEO4J_DEV_PAGECACHE_MB", "32")
            .output()
            .unwrap_or_else(|e| panic!("neo4j.sh {action}: {e}"));
        assert!(
            output.status.success(),
            "neo4j.sh {action} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Starts a fresh instance and waits until Bolt answers.
    pub fn start() -> Self {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let uri = Self::run(home.path(), "0", "start");
        Self { home, uri }
    }

    /// The Bolt port.
    pub fn port(&self) -> String {
        self.uri.rsplit(':').next().unwrap_or_default().to_owned()
    }

    /// Stops the database (clean shutdown).
    pub fn stop(&self) {
        Self::run(self.home.path(), &self.port(), "stop");
    }

    /// Kills the database with SIGKILL (no clean shutdown) and waits until it is gone.
    pub fn kill(&self) {
        let pidfile = self.home.path().join("neo4j.pid");
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("{}: {e}", pidfile.display()))
            .trim()
            .to_owned();
        let status = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(status.success(), "kill -KILL {pid}");
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while proc.exists() {
            assert!(
                Instant::now() < deadline,
                "Neo4j {pid} still runs after SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&self) {
        let uri = Self::run(self.home.path(), &self.port(), "start");
        assert_eq!(uri, self.uri, "restarted on another port");
    }
}

impl Drop for DedicatedNeo4j {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .env("NEO4J_DEV_HOME", self.home.path())
            .output();
    }
}

/// A response read whole: status, headers, JSON body (`Null` if none).
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl TestApp {
    /// Starts govtrail with explicit settings and a modified governor (a clock).
    pub async fn spawn_custom(
        settings: Settings,
        f: impl FnOnce(govtrail::governance::Governor) -> govtrail::governance::Governor,
    ) -> Self {
        Self::start(settings, f).await
    }

    /// Starts govtrail against the shared Neo4j with a modified governor (faults, clock).
    pub async fn spawn_with_governor(
        f: impl FnOnce(govtrail::governance::Governor) -> govtrail::governance::Governor,
    ) -> Self {
        Self::start(test_settings(&neo4j_uri()), f).await
    }

    /// Sends `method path` with a bearer token, an optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("method {method}: {e}"));
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Runs a read query on the shared Neo4j and returns each row's column `col`.
    pub async fn query_column(&self, cypher: &str, params: Value, col: &str) -> Vec<Value> {
        let mut q = neo4rs::query(cypher);
        if let Value::Object(map) = params {
            for (k, v) in map {
                q = q.param(
                    &k,
                    neo4rs::BoltType::try_from(v).unwrap_or_else(|e| panic!("{e}")),
                );
            }
        }
        let mut rows = self
            .state
            .store
            .graph()
            .execute(q)
            .await
            .unwrap_or_else(|e| panic!("{cypher}: {e}"));
        let mut out = Vec::new();
        while let Some(row) = rows.next().await.unwrap_or_else(|e| panic!("{e}")) {
            out.push(row.get::<Value>(col).unwrap_or(Value::Null));
        }
        out
    }

    /// One audit entry as stored, with `changes` parsed, its AUDITS targets (sorted ids)
    /// and its PERFORMED_BY user ids.
    pub async fn entry(&self, id: &str) -> Value {
        let rows = self
            .query_column(
                "MATCH (e:AuditLog {id: $id}) \
                 RETURN e {.*, timestamp: toString(e.timestamp), \
                   audits: COLLECT { MATCH (e)-[:AUDITS]->(x) RETURN x.id ORDER BY x.id }, \
                   performers: COLLECT { MATCH (e)-[:PERFORMED_BY]->(u) RETURN u.id }, \
                   supersedes: COLLECT { MATCH (e)-[:SUPERSEDES]->(o) RETURN o.id } } AS entry",
                json!({ "id": id }),
                "entry",
            )
            .await;
        assert_eq!(rows.len(), 1, "entry {id} must exist exactly once");
        let mut entry = rows.into_iter().next().unwrap_or(Value::Null);
        if let Some(text) = entry["changes"].as_str() {
            entry["changes"] = serde_json::from_str(text).unwrap_or(Value::Null);
        }
        entry
    }

    /// How many entries name `entity_id` as their primary entity.
    pub async fn entry_count(&self, entity_id: &str) -> usize {
        self.query_column(
            "MATCH (e:AuditLog {entityId: $id}) RETURN count(e) AS n",
            json!({ "id": entity_id }),
            "n",
        )
        .await
        .first()
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
    }
}

impl TestApp {
    /// The internal user id the token's subject maps to (`GET /v1/me`); resolving it
    /// creates the user on first sight, as any request does.
    pub async fn user_id(&self, token: &str) -> String {
        let me = self.send("GET", "/v1/me", token, None, &[]).await;
        assert_eq!(me.status, 200, "GET /v1/me: {}", me.body);
        me.body["userId"]
            .as_str()
            .unwrap_or_else(|| panic!("no userId in {}", me.body))
            .to_owned()
    }

    /// Registers `subject` as a user (`POST /v1/users`, as a fresh governance admin)
    /// and returns its internal id.
    pub async fn register(&self, subject: &str) -> String {
        let (_, admin) = token_for(&["governance-admin"]);
        let r = self
            .send(
                "POST",
                "/v1/users",
                &admin,
                Some(json!({"subject": subject})),
                &[],
            )
            .await;
        assert!(
            r.status == 201 || r.status == 200,
            "POST /v1/users: {} {}",
            r.status,
            r.body
        );
        r.body["entity"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", r.body))
            .to_owned()
    }

    /// A fresh caller with `roles`: its internal user id and its token.
    pub async fn caller(&self, roles: &[&str]) -> (String, String) {
        let (_, token) = token_for(roles);
        (self.user_id(&token).await, token)
    }

    /// Makes sure users with these internal ids exist, as if each had signed in once
    /// (test setup for tests about something else than identity; no entry, as for a
    /// real first sign-in).
    pub async fn users(&self, ids: &[String]) {
        self.query_column(
            "UNWIND $ids AS id MERGE (u:User {id: id}) \
             ON CREATE SET u:Governed, u.subject = 'fixture:' + id, u.version = 1 \
             RETURN count(u) AS n",
            json!({ "ids": ids }),
            "n",
        )
        .await;
    }

    /// A fresh registered user who has never signed in: its internal id.
    pub async fn fresh_user(&self) -> String {
        self.register(&unique("member")).await
    }
}

/// A concrete path for a route template: `{spdx_id}` becomes a real SPDX id,
/// `{user_id}` a subject, `{type}` a governed type, any other parameter a fresh UUID.
pub fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|part| match part {
            "{spdx_id}" => "MIT".to_owned(),
            "{user_id}" => uuid::Uuid::new_v4().to_string(),
            "{type}" => "Team".to_owned(),
            p if p.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            p => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs both offline packet verifiers (`govtrail verify-export` and the standalone
/// `tools/verify_export.py`) on `packet` with the fixture public key: each verifier's
/// name, exit code and output.
pub fn verify_packet_both(packet: &std::path::Path) -> Vec<(&'static str, i32, String)> {
    let key = keys_dir().join("ed25519-public.pem");
    let mut cli = Command::new(env!("CARGO_BIN_EXE_govtrail"));
    cli.arg("verify-export")
        .arg(packet)
        .arg("--public-key")
        .arg(&key)
        .env_remove("GOVTRAIL_CONFIG");
    let mut python = Command::new("python3");
    python
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
        .arg(packet)
        .arg("--public-key")
        .arg(&key);
    [
        ("govtrail verify-export", cli),
        ("verify_export.py", python),
    ]
    .into_iter()
    .map(|(name, mut command)| {
        let out = command.output().unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (name, out.status.code().unwrap_or(-1), text)
    })
    .collect()
}

/// Runs `govtrail verify` against `uri` with extra environment; returns the exit code,
/// the findings (one JSON object per stdout line) and the summary on stderr.
pub fn verify_cli(uri: &str, env: &[(&str, &std::ffi::OsStr)]) -> (i32, Vec<Value>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govtrail"));
    command
        .arg("verify")
        .env("GOVTRAIL_NEO4J_URI", uri)
        .env("GOVTRAIL_LOG_FILTER", "warn")
        .env_remove("GOVTRAIL_CONFIG");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap_or_else(|e| panic!("{e}"));
    let findings = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        findings,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `govtrail serve` process; SIGKILLed on drop.
pub struct Replica {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Replica {
    /// Starts `govtrail serve` on a free port against `neo4j`, with `env` added.
    pub fn start(neo4j: &str) -> Self {
        Self::start_with(neo4j, &[])
    }

    /// Starts `govtrail serve` with extra environment.
    pub fn start_with(neo4j: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_or_else(|e| panic!("free port: {e}"), |a| a.port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_govtrail"));
        command
            .arg("serve")
            .env_remove("GOVTRAIL_CONFIG")
            .env("GOVTRAIL_NEO4J_URI", neo4j)
            .env("GOVTRAIL_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("GOVTRAIL_AUTH_HS256_SECRET", TEST_SECRET)
            .env(
                "GOVTRAIL_CHECKPOINT_KEY_FILE",
                keys_dir().join("ed25519-private.pem"),
            )
            .env("GOVTRAIL_CHECKPOINT_INTERVAL_MS", "200")
            .env("GOVTRAIL_LOG_FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("govtrail serve: {e}"));
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&self, http: &reqwest::Client) {
        let url = format!("{}/readyz", self.base);
        until(
            "the replica is ready",
            Duration::from_secs(90),
            async || {
                http.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            },
        )
        .await;
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `condition` holds, checking every 100 ms, failing after `limit`.
pub async fn until(what: &str, limit: Duration, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
