//! What a benchmark run stands on: its own Neo4j (the embedded development server,
//! fresh data directory), the release `govtrail serve` as a child process, tokens.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use govtrail::auth::{DevTokenRequest, mint_dev_token};
use govtrail::config::Settings;
use govtrail::domain::{Role, Source, Subject};
use secrecy::SecretString;

pub const SECRET: &str = "govtrail-bench-development-secret-0123456789";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The embedded Neo4j, stopped on drop.
pub struct Neo4j {
    home: PathBuf,
    pub uri: String,
}

impl Neo4j {
    pub fn start(home: &Path, heap: &str, page_cache_mb: u32) -> Result<Self, String> {
        let _ = std::fs::remove_dir_all(home);
        let out = Command::new("bash")
            .arg(root().join("dev/neo4j/neo4j.sh"))
            .arg("start")
            .env("NEO4J_DEV_HOME", home)
            .env("NEO4J_DEV_PORT", "0")
            .env("NEO4J_DEV_HEAP", heap)
            .env("NEO4J_DEV_PAGECACHE_MB", page_cache_mb.to_string())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("neo4j.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!("neo4j.sh start failed ({})", out.status));
        }
        Ok(Self {
            home: home.to_path_buf(),
            uri: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        })
    }
}

impl Neo4j {
    /// The database process (from the launcher's pid file).
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.home.join("neo4j.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Neo4j {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("dev/neo4j/neo4j.sh"))
            .arg("stop")
            .env("NEO4J_DEV_HOME", &self.home)
            .output();
    }
}

/// Settings for in-process stores and governors (and token minting).
pub fn settings(uri: &str) -> Settings {
    Settings {
        neo4j_uri: uri.to_owned(),
        neo4j_max_connections: 64,
        auth_hs256_secret: Some(SecretString::from(SECRET.to_owned())),
        ..Settings::default()
    }
}

pub fn token(subject: &str, role: Role) -> Result<String, String> {
    token_from(subject, role, None)
}

/// A token with `role` whose `source` claim is `source`.
pub fn token_from(subject: &str, role: Role, source: Option<Source>) -> Result<String, String> {
    let request = DevTokenRequest {
        subject: Subject::parse(subject).map_err(|e| e.to_string())?,
        roles: vec![role],
        source,
        name: Some(format!("Bench {subject}")),
        ttl_secs: 24 * 3600,
    };
    mint_dev_token(&settings("bolt://unused"), &request).map_err(|e| e.to_string())
}

/// `govtrail serve` (the binary built with this benchmark), killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub pid: u32,
}

/// How a benchmark server is run.
pub enum Serve<'a> {
    /// As in production: a checkpoint key, sealing every second into a sink in `dir`.
    Sealing { dir: &'a Path },
    /// No checkpoint key (nothing runs in the background) and a pool of 4 connections
    /// (with 1, the server did not become ready through the proxy; not investigated):
    /// for counting a request's round trips through a proxy, one request at a time.
    Counting,
}

impl Server {
    pub async fn start(uri: &str, dir: &Path) -> Result<Self, String> {
        Self::start_as(uri, &Serve::Sealing { dir }).await
    }

    pub async fn start_as(uri: &str, serve: &Serve<'_>) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_govtrail"));
        command
            .arg("serve")
            .env_remove("GOVTRAIL_CONFIG")
            .env("GOVTRAIL_NEO4J_URI", uri)
            .env("GOVTRAIL_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("GOVTRAIL_AUTH_HS256_SECRET", SECRET)
            .env("GOVTRAIL_REQUEST_TIMEOUT_MS", "600000")
            .env("GOVTRAIL_LOG_FILTER", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        match serve {
            Serve::Sealing { dir } => command
                .env("GOVTRAIL_NEO4J_MAX_CONNECTIONS", "64")
                .env(
                    "GOVTRAIL_CHECKPOINT_KEY_FILE",
                    root().join("tests/fixtures/keys/ed25519-private.pem"),
                )
                .env("GOVTRAIL_CHECKPOINT_SINK", dir.join("checkpoints.jsonl")),
            Serve::Counting => command.env("GOVTRAIL_NEO4J_MAX_CONNECTIONS", "4"),
        };
        let child = command
            .spawn()
            .map_err(|e| format!("govtrail serve: {e}"))?;
        let server = Self {
            pid: child.id(),
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", server.base)).send().await
                && r.status().is_success()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err("govtrail did not become ready within 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Resident and peak resident memory of the server, in KiB (Linux).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Resets the peak resident memory to the current one (Linux `clear_refs` 5).
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
