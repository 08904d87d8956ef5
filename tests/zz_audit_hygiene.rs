//! Runs last (test binaries run in name order): scans every `AuditLog` in the test
//! database — everything the whole suite wrote — for emails, tokens and secrets.
//! It first makes sure the scan has something to bite on: a change whose reason and
//! token carry all three.

mod common;

use common::{TEST_SECRET, TestApp, claims, hs256};
use serde_json::{Value, json};

#[tokio::test]
async fn no_audit_entry_holds_an_email_a_token_or_a_secret() {
    let app = TestApp::spawn().await;
    let mut c = claims(
        &format!("hygiene-{}", uuid::Uuid::new_v4()),
        &["governance-admin"],
    );
    c["email"] = json!("hygiene.owner@example.org");
    c["name"] = json!("Hygiene Owner");
    let token = hs256(&c, TEST_SECRET.as_bytes());
    let reason = format!(
        "pasted by mistake: Bearer {token} / password={TEST_SECRET} / mail hygiene.owner@example.org"
    );
    let r = app
        .send(
            "POST",
            "/v1/teams",
            &token,
            Some(json!({"name": format!("hygiene-{}", uuid::Uuid::new_v4()), "reason": reason})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let entries = app
        .query_column(
            "MATCH (e:AuditLog) RETURN e {.*, timestamp: toString(e.timestamp)} AS e",
            json!({}),
            "e",
        )
        .await;
    assert!(!entries.is_empty());
    let email = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
        .unwrap_or_else(|e| panic!("{e}"));
    let jwt = regex::Regex::new(r"eyJ[A-Za-z0-9_-]{5,}\.").unwrap_or_else(|e| panic!("{e}"));
    let bearer =
        regex::Regex::new(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}").unwrap_or_else(|e| panic!("{e}"));
    let mut offenders = Vec::new();
    for entry in &entries {
        let text = entry.to_string();
        if email.is_match(&text)
            || jwt.is_match(&text)
            || text.contains(TEST_SECRET)
            || bearer.is_match(&text)
            || text.contains("Hygiene Owner")
        {
            offenders.push(entry.get("id").cloned().unwrap_or(Value::Null));
        }
    }
    assert!(
        offenders.is_empty(),
        "{} of {} entries leak PII or secrets: {offenders:?}",
        offenders.len(),
        entries.len()
    );
}

#[tokio::test]
async fn no_lock_marker_outlives_its_transaction() {
    let app = TestApp::spawn().await;
    let left = app
        .query_column(
            "MATCH (n:Governed) WHERE n._lock IS NOT NULL RETURN n.id AS id",
            json!({}),
            "id",
        )
        .await;
    assert!(left.is_empty(), "lock markers left behind on {left:?}");
}
