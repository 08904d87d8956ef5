//! The `govtrail` binary end to end: `--help` names the subcommands, `serve` migrates,
//! answers, writes one JSON log line per request carrying the request and correlation
//! ids, and stops cleanly on SIGTERM; `token` refuses without a development secret.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_govtrail");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("{e}"), |a| a.port())
}

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    // The first word of each line of the "Commands:" list.
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for sub in [
        "serve",
        "migrate",
        "verify",
        "verify-export",
        "check-replay",
        "seed",
        "token",
    ] {
        assert!(listed.contains(&sub), "--help lacks {sub}: {text}");
    }
}

#[test]
fn token_refuses_without_a_development_secret() {
    let out = Command::new(BIN)
        .arg("token")
        .env_remove("GOVTRAIL_AUTH_HS256_SECRET")
        .env("GOVTRAIL_CONFIG", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no token printed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("GOVTRAIL_AUTH_HS256_SECRET"));
}

#[tokio::test]
async fn serve_logs_json_with_request_ids_and_stops_cleanly_on_sigterm() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("GOVTRAIL_NEO4J_URI", common::neo4j_uri())
        .env("GOVTRAIL_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GOVTRAIL_AUTH_HS256_SECRET", common::TEST_SECRET)
        .env("GOVTRAIL_LOG_FORMAT", "json")
        .env("GOVTRAIL_LOG_FILTER", "info")
        .env_remove("GOVTRAIL_CONFIG")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
    let lines = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "govtrail did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, token) = common::token_for(&["superuser"]);
    let me = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(&token)
        .header("X-Correlation-Id", "binary-test-123")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(me.status(), 200);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "no clean stop within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "exit status {exit}");

    let lines = lines.join().unwrap_or_default();
    let json: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let request_line = json
        .iter()
        .find(|l| l["span"]["correlation_id"] == "binary-test-123")
        .unwrap_or_else(|| panic!("no log line for the request: {lines:?}"));
    assert!(
        request_line["span"]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert_eq!(request_line["span"]["route"], "/v1/me");
    assert!(
        json.iter()
            .any(|l| l["message"] == "govtrail stopped cleanly"),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains(&token) || l.contains(common::TEST_SECRET)),
        "no secret in logs"
    );
}
