//! Erasure of a user's personal data (ERASE_USER_PII) on a Neo4j of its own: an actor
//! makes 20 changes that are sealed into signed checkpoints; a superuser erases the
//! actor; afterwards `govtrail verify` is clean, a lineage packet of the changed entity
//! verifies with both offline verifiers and shows the actor as erased, and no property
//! of any node or relationship still holds the subject, the display name or the email.

#![expect(
    clippy::too_many_lines,
    reason = "one scenario per test, read top to bottom"
)]

mod common;

use std::time::Duration;

use common::{DedicatedNeo4j, TEST_SECRET, TestApp, keys_dir, test_settings, unique, verify_cli};
use govtrail::audit::checkpoint::CheckpointKey;
use govtrail::audit::checkpointer::Checkpointer;
use serde_json::{Value, json};

#[tokio::test]
async fn erasing_an_actor_keeps_every_chain_checkpoint_and_packet_verifiable() {
    let neo4j = DedicatedNeo4j::start();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sink = dir.path().join("sink.jsonl");
    let key_file = keys_dir().join("ed25519-private.pem");
    let mut settings = test_settings(&neo4j.uri);
    settings.checkpoint_key_file = Some(key_file.clone());
    settings.checkpoint_interval_ms = 0; // sealed by hand below
    settings.checkpoint_sink = Some(sink.clone());
    let app = TestApp::spawn_with(settings).await;
    let checkpointer = Checkpointer::new(
        app.state.store.clone(),
        CheckpointKey::from_pem_file(&key_file, None).unwrap_or_else(|e| panic!("{e}")),
        Some(sink.clone()),
        Duration::from_secs(120),
    );

    let subject = format!("ann.erasable.{}@example.com", uuid::Uuid::new_v4().simple());
    let name = format!("Ann Erasable {}", uuid::Uuid::new_v4().simple());
    let email = format!("ann.{}@mail.example.org", uuid::Uuid::new_v4().simple());
    let mut claims = common::claims(&subject, &["governance-admin"]);
    claims["name"] = json!(name);
    claims["email"] = json!(email);
    let ann = common::hs256(&claims, TEST_SECRET.as_bytes());
    let ann_id = app.user_id(&ann).await;

    // Twenty changes: a team and nineteen changes of its responsibility areas.
    let r = app
        .send(
            "POST",
            "/v1/teams",
            &ann,
            Some(json!({"name": unique("erasure")})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let team = r.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for i in 0..19 {
        let r = app
            .send(
                "PUT",
                &format!("/v1/teams/{team}/responsibility-areas"),
                &ann,
                Some(json!({"responsibilityAreas": [format!("area-{i}")]})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert!(
        checkpointer
            .round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );

    // Only a superuser erases, and only with a reason.
    let path = format!("/v1/users/{ann_id}/erase");
    let refused = app
        .send("POST", &path, &ann, Some(json!({"reason": "self"})), &[])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let (_, su) = app.caller(&["superuser"]).await;
    let no_reason = app.send("POST", &path, &su, None, &[]).await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.body);
    let erased = app
        .send(
            "POST",
            &path,
            &su,
            Some(json!({"reason": "data subject request DSR-4711"})),
            &[],
        )
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(erased.body["operation"], "ERASE_USER_PII");
    assert_eq!(erased.body["changed"], true);
    let again = app
        .send("POST", &path, &su, Some(json!({"reason": "twice"})), &[])
        .await;
    assert_eq!(
        again.body["changed"], false,
        "erasing twice changes nothing"
    );
    assert!(
        checkpointer
            .round()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some()
    );

    // Every chain and checkpoint still verifies.
    let (code, findings, summary) = verify_cli(
        &neo4j.uri,
        &[
            ("GOVTRAIL_CHECKPOINT_KEY_FILE", key_file.as_os_str()),
            ("GOVTRAIL_CHECKPOINT_SINK", sink.as_os_str()),
        ],
    );
    assert_eq!(code, 0, "verify after erasure: {findings:#?} {summary}");

    // History shows the actor by id, as an erased user.
    let history = app
        .send(
            "GET",
            &format!("/v1/entities/Team/{team}/history?limit=50"),
            &su,
            None,
            &[],
        )
        .await;
    let entries = history.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 20, "{}", history.body);
    for e in &entries {
        assert_eq!(
            e["actor"],
            json!({"userId": ann_id, "displayName": null, "erased": true})
        );
    }

    // A lineage packet of the team verifies with both verifiers.
    let packet = app
        .send(
            "GET",
            &format!("/v1/exports/entities/Team/{team}"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(packet.status, 200, "{}", packet.body);
    let file = dir.path().join("packet.json");
    std::fs::write(&file, serde_json::to_vec(&packet.body).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    for (verifier, code, output) in common::verify_packet_both(&file) {
        assert_eq!(code, 0, "{verifier}: {output}");
        assert!(output.starts_with("VALID"), "{verifier}: {output}");
    }
    let packet_text = packet.body.to_string();

    // No property of any node or relationship holds the subject, the name or the email.
    let leaks = app
        .query_column(
            "CALL () { MATCH (n) RETURN properties(n) AS p UNION ALL MATCH ()-[r]->() RETURN properties(r) AS p } \
             WITH p, [k IN keys(p) | CASE WHEN valueType(p[k]) STARTS WITH 'LIST' \
                 THEN reduce(t = '', x IN p[k] | t + ' ' + toString(x)) ELSE toString(p[k]) END] AS texts \
             WHERE any(t IN texts WHERE any(needle IN $needles WHERE t CONTAINS needle)) \
             RETURN p AS n",
            json!({"needles": [subject, name, email]}),
            "n",
        )
        .await;
    assert_eq!(leaks, Vec::<Value>::new(), "personal data left behind");
    for needle in [&subject, &name, &email] {
        assert!(
            !packet_text.contains(needle.as_str()),
            "the packet holds {needle}"
        );
    }

    // The same subject signing in again is a new user; the erased one keeps its entries.
    let new_id = app.user_id(&ann).await;
    assert_ne!(new_id, ann_id);
    assert_eq!(
        app.entry_count(&team).await,
        21,
        "the 20 changes and the export, which names the team it exported"
    );
}
