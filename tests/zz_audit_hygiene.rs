//! Runs last (test binaries run in name order): scans every property of every
//! `AuditLog` in the test database — everything the whole suite wrote: labels, changes,
//! related entities, prevHashes, routes, user ids — for emails, tokens, credentials and
//! the personal data of token subjects. It first makes sure the scan has something to
//! bite on: a caller whose token subject is an email address tries to get personal
//! data and secrets in through every channel that reaches an entry.

mod common;

use common::{TEST_SECRET, TestApp, claims, hs256};
use serde_json::{Value, json};

#[tokio::test]
async fn no_audit_entry_holds_an_email_a_token_a_secret_or_a_subject() {
    let app = TestApp::spawn().await;
    let subject = format!("hygiene.{}@example.org", uuid::Uuid::new_v4().simple());
    let mut c = claims(&subject, &["governance-admin"]);
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
    let team = r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Every other channel refuses.
    let attempts = [
        (
            "POST",
            "/v1/teams".to_owned(),
            Some(json!({"name": "ask mallory@example.com"})),
        ),
        (
            "PUT",
            format!("/v1/teams/{team}/responsibility-areas"),
            Some(json!({"responsibilityAreas": [format!("Bearer {token}")]})),
        ),
        (
            "PUT",
            format!("/v1/teams/{team}/members/mallory%40example.com"),
            None,
        ),
        (
            "GET",
            format!("/v1/exports/audit?userId={}", "mallory%40example.com"),
            None,
        ),
    ];
    let (_, su) = common::token_for(&["superuser"]);
    for (method, path, body) in attempts {
        let caller = if method == "GET" { &su } else { &token };
        let r = app.send(method, &path, caller, body, &[]).await;
        assert!(
            r.status == 400 || r.status == 422,
            "{method} {path} must be refused: {} {}",
            r.status,
            r.body
        );
    }

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
    let bearer = regex::Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut offenders = Vec::new();
    for entry in &entries {
        // Every property, whatever its type (lists, the changes text, labels, routes).
        let text = entry.to_string();
        if email.is_match(&text)
            || jwt.is_match(&text)
            || bearer.is_match(&text)
            || text.contains(TEST_SECRET)
            || text.contains("Hygiene Owner")
            || text.contains(&subject)
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
