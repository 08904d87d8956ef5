//! `docs/api.md` promises its examples work: this runs every `sh` block of it, in
//! order, as one bash script against a real govtrail and Neo4j.

mod common;

use std::process::Command;

use common::{TEST_SECRET, TestApp, keys_dir, test_settings, token_for};

fn shell_blocks(markdown: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        if inside {
            if line.starts_with("```") {
                inside = false;
            } else {
                script.push_str(line);
                script.push('\n');
            }
        } else if line == "```sh" {
            inside = true;
        }
    }
    script
}

#[tokio::test]
async fn every_curl_example_in_the_api_docs_works() {
    // A signing key for the packet example; nothing seals in the background (the shared
    // test database belongs to every test binary).
    let mut settings = test_settings(&common::neo4j_uri());
    settings.checkpoint_key_file = Some(keys_dir().join("ed25519-private.pem"));
    settings.checkpoint_interval_ms = 0;
    // The default approval policies, as `dev/run` serves them.
    settings.approval_policies = std::collections::BTreeMap::new();
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = token_for(&["governance-admin"]);
    let (_, superuser) = token_for(&["superuser"]);
    let (_, approver) = token_for(&["approver"]);
    let markdown = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .unwrap_or_else(|e| panic!("docs/api.md: {e}"));
    let script = shell_blocks(&markdown);
    assert!(
        script.lines().filter(|l| l.contains("api -X")).count() >= 30,
        "{script}"
    );

    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .env("BASE", base)
            .env("ADMIN_TOKEN", admin)
            .env("SUPERUSER_TOKEN", superuser)
            .env("APPROVER_TOKEN", approver)
            .env("GOVTRAIL", env!("CARGO_BIN_EXE_govtrail"))
            .env("GOVTRAIL_AUTH_HS256_SECRET", TEST_SECRET)
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("bash: {e}"));
    assert!(
        output.status.success(),
        "docs/api.md examples failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
