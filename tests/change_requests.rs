//! Privileged workflows over HTTP on the real Neo4j, under the default approval
//! policies: an operation that needs a second person answers 202 with a change
//! request; its requester cannot approve it; someone holding the policy's role can,
//! and the last approval runs the exact stored command in the same transaction; a
//! target that moved, an expired request, a withdrawn or rejected one run nothing;
//! concurrent approvals run a request once.

#![expect(
    clippy::too_many_lines,
    reason = "each test is one workflow, read top to bottom"
)]

mod common;

use common::{Reply, TestApp, neo4j_uri, test_settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const EVIDENCE_DIGEST: &str =
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// govtrail under the default approval policies; change requests last `ttl_secs`.
async fn app_with_defaults(ttl_secs: u64) -> TestApp {
    let mut settings = test_settings(&neo4j_uri());
    settings.approval_policies = std::collections::BTreeMap::new();
    settings.change_request_ttl_secs = ttl_secs;
    // Signs lineage packets (and seals entries, as production does).
    settings.checkpoint_key_file = Some(common::keys_dir().join("ed25519-private.pem"));
    TestApp::spawn_with(settings).await
}

fn id(reply: &Reply) -> String {
    reply.body["entity"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A fresh DRAFT constraint, made by `admin`.
async fn constraint(app: &TestApp, admin: &str) -> String {
    let tech = app
        .send(
            "POST",
            "/v1/technologies",
            admin,
            Some(json!({"name": common::unique("cr-tech")})),
            &[],
        )
        .await;
    assert_eq!(tech.status, 201, "{}", tech.body);
    let c = app
        .send(
            "POST",
            "/v1/version-constraints",
            admin,
            Some(json!({"technologyId": id(&tech), "range": "^1"})),
            &[],
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    id(&c)
}

async fn request_delete(app: &TestApp, admin: &str, constraint: &str) -> String {
    let r = app
        .send(
            "DELETE",
            &format!("/v1/version-constraints/{constraint}"),
            admin,
            Some(json!({
                "reason": "superseded by the platform-wide policy",
                "evidence": [{"kind": "ticket", "uri": "https://tickets.example/CHG-1042", "digest": EVIDENCE_DIGEST}]
            })),
            &[],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["operation"], "REQUEST_CHANGE", "{}", r.body);
    assert_eq!(r.body["entity"]["type"], "ChangeRequest", "{}", r.body);
    id(&r)
}

async fn act(app: &TestApp, token: &str, request: &str, action: &str) -> Reply {
    app.send(
        "POST",
        &format!("/v1/change-requests/{request}/{action}"),
        token,
        Some(json!({"reason": format!("{action}: reviewed the ticket")})),
        &[],
    )
    .await
}

async fn constraint_deleted(app: &TestApp, constraint: &str) -> bool {
    app.query_column(
        "MATCH (c:VersionConstraint {id: $id}) RETURN coalesce(c.deleted, false) AS n",
        json!({"id": constraint}),
        "n",
    )
    .await
        == vec![json!(true)]
}

async fn request(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app
        .send(
            "GET",
            &format!("/v1/change-requests/{id}"),
            token,
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn a_dual_approval_runs_the_exact_command_when_someone_else_approves() {
    let app = app_with_defaults(72 * 3600).await;
    let (admin_id, admin) = app.caller(&["governance-admin"]).await;
    let (approver_id, approver) = app.caller(&["approver"]).await;
    let (_, other_admin) = app.caller(&["governance-admin"]).await;
    let (_, su) = app.caller(&["superuser"]).await;
    let c = constraint(&app, &admin).await;

    // The catalog says what needs approval.
    let catalog = app.send("GET", "/v1/catalog", &admin, None, &[]).await;
    let delete = catalog.body["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["code"] == "DELETE_CONSTRAINT")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        delete["approval"],
        json!({"approvals": 1, "role": "approver"}),
        "{delete}"
    );

    // A request needs a reason; evidence must be pinned by a digest.
    let unreasoned = app
        .send(
            "DELETE",
            &format!("/v1/version-constraints/{c}"),
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(unreasoned.status, 422, "{}", unreasoned.body);
    let floating = app
        .send(
            "DELETE",
            &format!("/v1/version-constraints/{c}"),
            &admin,
            Some(json!({"reason": "cleanup", "evidence": [{"kind": "sbom", "uri": "oci://registry.example/app:latest", "digest": EVIDENCE_DIGEST}]})),
            &[],
        )
        .await;
    assert_eq!(floating.status, 422, "{}", floating.body);
    let undigested = app
        .send(
            "DELETE",
            &format!("/v1/version-constraints/{c}"),
            &admin,
            Some(json!({"reason": "cleanup", "evidence": [{"kind": "ticket", "uri": "https://tickets.example/1", "digest": "sha256:abc"}]})),
            &[],
        )
        .await;
    assert_eq!(undigested.status, 422, "{}", undigested.body);

    // The request: 202, nothing deleted yet.
    let cr = request_delete(&app, &admin, &c).await;
    assert!(!constraint_deleted(&app, &c).await);
    let pending = request(&app, &approver, &cr).await;
    assert_eq!(pending["state"], "PENDING");
    assert_eq!(pending["requesterId"], json!(admin_id));
    assert_eq!(pending["operation"], "DELETE_CONSTRAINT");
    assert_eq!(pending["targets"][0]["id"], json!(c), "{pending}");
    assert_eq!(pending["targets"][0]["version"], 1, "{pending}");
    assert_eq!(pending["evidence"][0]["digest"], EVIDENCE_DIGEST);
    // The digest pins the exact command: SHA-256 of its RFC 8785 form.
    let canonical = serde_jcs::to_vec(&pending["command"]).unwrap_or_default();
    assert_eq!(
        pending["commandDigest"],
        json!(format!(
            "sha256:{}",
            hex::encode(Sha256::digest(&canonical))
        ))
    );
    assert_eq!(
        pending["command"],
        json!({"operation": "DELETE_CONSTRAINT", "input": {"id": c}})
    );
    // Approvers see it among what they may approve.
    let listed = app
        .send(
            "GET",
            "/v1/change-requests?state=PENDING&operation=DELETE_CONSTRAINT",
            &approver,
            None,
            &[],
        )
        .await;
    assert!(
        listed.body["changeRequests"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["id"] == json!(cr)),
        "{}",
        listed.body
    );

    // The requester cannot approve (403, recorded); nor can a caller without the role.
    let own = act(&app, &admin, &cr, "approve").await;
    assert_eq!(own.status, 403, "{}", own.body);
    let denied = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'APPROVE_CHANGE', outcome: 'DENIED', entityId: $cr}) RETURN e.userId AS n",
            json!({"cr": cr}),
            "n",
        )
        .await;
    assert_eq!(
        denied,
        vec![json!(admin_id)],
        "the self-approval is recorded"
    );
    let unqualified = act(&app, &other_admin, &cr, "approve").await;
    assert_eq!(unqualified.status, 403, "{}", unqualified.body);
    assert!(!constraint_deleted(&app, &c).await);

    // The approver approves: the command runs in the same transaction.
    let approval = act(&app, &approver, &cr, "approve").await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    assert_eq!(approval.body["newStatus"], "EXECUTED", "{}", approval.body);
    assert_eq!(approval.body["executed"]["operation"], "DELETE_CONSTRAINT");
    assert!(constraint_deleted(&app, &c).await);
    let executed_id = approval.body["executed"]["auditLogId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let executed = app.entry(&executed_id).await;
    assert_eq!(
        executed["userId"],
        json!(admin_id),
        "the requester's change"
    );
    assert_eq!(executed["approverIds"], json!([approver_id]));
    assert_eq!(executed["changeRequestId"], json!(cr));
    assert_eq!(executed["commandDigest"], pending["commandDigest"]);
    assert_eq!(executed["reason"], "superseded by the platform-wide policy");
    assert!(
        executed["evidence"]
            .as_str()
            .is_some_and(|e| e.contains(EVIDENCE_DIGEST))
    );
    assert_eq!(executed["performers"], json!([admin_id]));
    let edges = app
        .query_column(
            "MATCH (e:AuditLog {id: $id}) RETURN [ \
               COLLECT { MATCH (e)-[:APPROVED_BY]->(u) RETURN u.id }, \
               COLLECT { MATCH (e)-[:EXECUTES]->(r) RETURN r.id } ] AS n",
            json!({"id": executed_id}),
            "n",
        )
        .await;
    assert_eq!(edges, vec![json!([[approver_id], [cr]])]);

    // The lineage shows the request, its requester, its approver and the execution as
    // nodes and edges.
    let lineage = app
        .send(
            "GET",
            &format!("/v1/entities/VersionConstraint/{c}/lineage"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(lineage.status, 200, "{}", lineage.body);
    let has_node = |id: &str, kind: &str| {
        lineage.body["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["id"] == json!(id) && n["kind"] == json!(kind))
    };
    let has_edge = |from: &str, to: &str, kind: &str| {
        lineage.body["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["from"] == json!(from) && e["to"] == json!(to) && e["type"] == json!(kind))
    };
    assert!(has_node(&cr, "request"), "{}", lineage.body);
    assert!(has_node(&executed_id, "decision"), "{}", lineage.body);
    let ran = lineage.body["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["id"] == json!(executed_id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ran["evidence"][0]["digest"], EVIDENCE_DIGEST, "{ran}");
    assert_eq!(ran["approverIds"], json!([approver_id]), "{ran}");
    assert_eq!(ran["changeRequestId"], json!(cr), "{ran}");
    assert!(has_node(&admin_id, "actor") && has_node(&approver_id, "actor"));
    assert!(has_edge(&executed_id, &cr, "EXECUTES"), "{}", lineage.body);
    assert!(
        has_edge(&executed_id, &approver_id, "APPROVED_BY"),
        "{}",
        lineage.body
    );
    assert!(
        has_edge(&executed_id, &admin_id, "PERFORMED_BY"),
        "{}",
        lineage.body
    );
    let requested = lineage.body["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["operation"] == "REQUEST_CHANGE")
        .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    assert!(has_edge(&requested, &cr, "AUDITS"), "{}", lineage.body);
    assert!(
        lineage.body["mermaid"]
            .as_str()
            .is_some_and(|m| m.contains("==>|executes|") && m.contains("-.-|approved by|")),
        "{}",
        lineage.body
    );

    // The constraint's packet carries the request with its command, requester,
    // approver and evidence; both offline verifiers check that the command that ran
    // is the one the request holds, and say VALID.
    let packet = app
        .send(
            "GET",
            &format!("/v1/exports/entities/VersionConstraint/{c}"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(packet.status, 200, "{}", packet.body);
    let payload = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        packet.body["payload"].as_str().unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let statement: Value = serde_json::from_slice(&payload).unwrap_or_else(|e| panic!("{e}"));
    let carried = &statement["predicate"]["requests"];
    assert_eq!(carried.as_array().map(Vec::len), Some(1), "{carried}");
    assert_eq!(carried[0]["id"], json!(cr), "{carried}");
    assert_eq!(carried[0]["requesterId"], json!(admin_id), "{carried}");
    assert_eq!(carried[0]["approverIds"], json!([approver_id]), "{carried}");
    assert_eq!(
        carried[0]["evidence"][0]["digest"], EVIDENCE_DIGEST,
        "{carried}"
    );
    assert_eq!(
        carried[0]["command"]["operation"], "DELETE_CONSTRAINT",
        "{carried}"
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("constraint.dsse.json");
    std::fs::write(&file, packet.body.to_string()).unwrap_or_else(|e| panic!("{e}"));
    for (name, code, output) in common::verify_packet_both(&file) {
        assert_eq!(code, 0, "{name}: {output}");
        assert!(output.starts_with("VALID"), "{name}: {output}");
    }

    // Every transition is on the request's chain and on the constraint's.
    let done = request(&app, &su, &cr).await;
    assert_eq!(done["state"], "EXECUTED");
    assert_eq!(done["executedEntryId"], json!(executed_id));
    let ops: Vec<&str> = done["transitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["operation"].as_str())
        .collect();
    assert_eq!(
        ops,
        vec!["REQUEST_CHANGE", "APPROVE_CHANGE", "DELETE_CONSTRAINT"]
    );
    let history = app
        .send(
            "GET",
            &format!("/v1/entities/VersionConstraint/{c}/history?order=asc"),
            &su,
            None,
            &[],
        )
        .await;
    let on_constraint: Vec<&str> = history.body["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["operation"].as_str())
        .collect();
    assert_eq!(
        on_constraint,
        vec![
            "CREATE_CONSTRAINT",
            "REQUEST_CHANGE",
            "APPROVE_CHANGE",
            "DELETE_CONSTRAINT"
        ],
        "{}",
        history.body
    );
    for (entity_type, entity) in [("VersionConstraint", &c), ("ChangeRequest", &cr)] {
        let state = app
            .send(
                "GET",
                &format!("/v1/entities/{entity_type}/{entity}/state"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(
            state.body["consistent"],
            json!(true),
            "{entity_type}: {}",
            state.body
        );
    }

    // An executed request is done.
    let again = act(&app, &other_admin, &cr, "reject").await;
    assert_eq!(again.status, 409, "{}", again.body);
}

#[tokio::test]
async fn stale_expired_withdrawn_and_rejected_requests_run_nothing() {
    let app = app_with_defaults(72 * 3600).await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let (_, su) = app.caller(&["superuser"]).await;

    // A target that moved since the request: FAILED, nothing deleted.
    let c = constraint(&app, &admin).await;
    let cr = request_delete(&app, &admin, &c).await;
    let moved = app
        .send(
            "PUT",
            &format!("/v1/version-constraints/{c}/range"),
            &admin,
            Some(json!({"range": "^2"})),
            &[],
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let failed = act(&app, &approver, &cr, "approve").await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.body["newStatus"], "FAILED", "{}", failed.body);
    assert!(failed.body.get("executed").is_none());
    assert!(!constraint_deleted(&app, &c).await);
    let why = request(&app, &approver, &cr).await;
    assert!(
        why["failure"]
            .as_str()
            .is_some_and(|f| f.contains("version 2, not 1")),
        "{why}"
    );

    // Withdrawn: only by its requester.
    let cr = request_delete(&app, &admin, &c).await;
    let (_, stranger) = app.caller(&["governance-admin"]).await;
    assert_eq!(act(&app, &stranger, &cr, "withdraw").await.status, 403);
    let withdrawn = act(&app, &admin, &cr, "withdraw").await;
    assert_eq!(
        withdrawn.body["newStatus"], "WITHDRAWN",
        "{}",
        withdrawn.body
    );
    assert_eq!(act(&app, &approver, &cr, "approve").await.status, 409);

    // Rejected by an approver: it ends.
    let cr = request_delete(&app, &admin, &c).await;
    let rejected = act(&app, &approver, &cr, "reject").await;
    assert_eq!(rejected.body["newStatus"], "REJECTED", "{}", rejected.body);
    assert_eq!(act(&app, &approver, &cr, "approve").await.status, 409);

    // Expired: past its time it cannot be approved, and the sweep ends it once, as
    // govtrail itself. (Requests here last a second; the test waits until the
    // request's own expiresAt has passed.)
    let short = app_with_defaults(1).await;
    let cr = request_delete(&short, &admin, &c).await;
    let expires_at = request(&short, &su, &cr).await["expiresAt"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("expiresAt"));
    while chrono::Utc::now() <= expires_at {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let app = short;
    let late = act(&app, &approver, &cr, "approve").await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.to_string().contains("expired"), "{}", late.body);
    let ended = app
        .state
        .governor
        .expire_due()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ended >= 1);
    // An approver sees only PENDING requests they did not act on; a superuser sees all.
    let hidden = app
        .send(
            "GET",
            &format!("/v1/change-requests/{cr}"),
            &approver,
            None,
            &[],
        )
        .await;
    assert_eq!(hidden.status, 404, "{}", hidden.body);
    let expired = request(&app, &su, &cr).await;
    assert_eq!(expired["state"], "EXPIRED", "{expired}");
    let expiries = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPIRE_CHANGE', entityId: $cr}) RETURN e.userId AS n",
            json!({"cr": cr}),
            "n",
        )
        .await;
    assert_eq!(
        expiries,
        vec![json!("00000000-0000-0000-0000-000000000000")]
    );
    // A second sweep finds nothing more to end for it.
    app.state
        .governor
        .expire_due()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expiries = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'EXPIRE_CHANGE', entityId: $cr}) RETURN count(e) AS n",
            json!({"cr": cr}),
            "n",
        )
        .await;
    assert_eq!(expiries, vec![json!(1)]);
    assert!(!constraint_deleted(&app, &c).await);
}

#[tokio::test]
async fn sixteen_concurrent_approvals_of_a_two_approval_request_run_it_once() {
    let mut settings = test_settings(&neo4j_uri());
    settings.approval_policies = std::collections::BTreeMap::from([(
        govtrail::domain::Operation::DeleteConstraint,
        govtrail::config::PolicySetting::Rule {
            approvals: 2,
            role: govtrail::domain::Role::Approver,
        },
    )]);
    let app = TestApp::spawn_with(settings).await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let c = constraint(&app, &admin).await;
    let cr = request_delete(&app, &admin, &c).await;
    let mut approvers = Vec::new();
    for _ in 0..16 {
        approvers.push(app.caller(&["approver"]).await.1);
    }
    let calls: Vec<_> = approvers
        .into_iter()
        .map(|token| {
            let (http, url) = (
                app.http.clone(),
                app.url(&format!("/v1/change-requests/{cr}/approve")),
            );
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(token)
                    .json(&json!({"reason": "looked at it"}))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16())
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap_or(0));
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "two approvals count: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "the rest find the request ended: {statuses:?}"
    );
    let executed = app
        .query_column(
            "MATCH (e:AuditLog {operation: 'DELETE_CONSTRAINT', changeRequestId: $cr}) RETURN e.approverIds AS n",
            json!({"cr": cr}),
            "n",
        )
        .await;
    assert_eq!(executed.len(), 1, "executed exactly once: {executed:?}");
    assert_eq!(executed[0].as_array().map(Vec::len), Some(2));
    assert!(constraint_deleted(&app, &c).await);
}

#[tokio::test]
async fn break_glass_runs_at_once_as_critical_and_waits_for_review() {
    let app = app_with_defaults(72 * 3600).await;
    let (admin_id, admin) = app.caller(&["governance-admin"]).await;
    let (_, integration) = app.caller(&["integration"]).await;
    let (approver_id, approver) = app.caller(&["approver"]).await;
    let first = constraint(&app, &admin).await;
    let second = constraint(&app, &admin).await;
    let path = |c: &str| format!("/v1/version-constraints/{c}");
    let glass = |reason: &str| Some(json!({"reason": reason, "breakGlass": true}));
    let reason = "production outage INC-7731: the constraint blocks the hotfix";

    // Only a governance-admin, only with a reason of 20 characters, only where a
    // policy applies.
    let short = app
        .send("DELETE", &path(&first), &admin, glass("outage"), &[])
        .await;
    assert_eq!(short.status, 422, "{}", short.body);
    let pipeline = app
        .send("DELETE", &path(&first), &integration, glass(reason), &[])
        .await;
    assert_eq!(pipeline.status, 403, "{}", pipeline.body);
    let no_policy = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": common::unique("bg-team"), "breakGlass": true, "reason": reason})),
            &[],
        )
        .await;
    assert_eq!(no_policy.status, 422, "{}", no_policy.body);
    assert!(!constraint_deleted(&app, &first).await);

    // It runs at once, as a critical change that names its request.
    let ran = app
        .send("DELETE", &path(&first), &admin, glass(reason), &[])
        .await;
    assert_eq!(ran.status, 200, "{}", ran.body);
    assert_eq!(ran.body["operation"], "DELETE_CONSTRAINT", "{}", ran.body);
    assert_eq!(ran.body["breakGlass"], true, "{}", ran.body);
    assert!(constraint_deleted(&app, &first).await);
    let request_id = ran.body["changeRequestId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let entry_id = ran.body["auditLogId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, su) = app.caller(&["superuser"]).await;
    let entry = app
        .send("GET", &format!("/v1/audit-logs/{entry_id}"), &su, None, &[])
        .await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    assert_eq!(entry.body["severity"], "critical", "{}", entry.body);
    assert_eq!(entry.body["breakGlass"], true, "{}", entry.body);
    assert_eq!(entry.body["userId"], json!(admin_id), "{}", entry.body);
    assert_eq!(entry.body["changeRequestId"], json!(request_id));
    assert_eq!(
        app.query_column(
            "MATCH (e:AuditLog {id: $id})-[:EXECUTES]->(r:ChangeRequest) RETURN r.id AS r",
            json!({"id": entry_id}),
            "r",
        )
        .await,
        vec![json!(request_id)]
    );
    let stored = request(&app, &su, &request_id).await;
    assert_eq!(stored["state"], "EXECUTED", "{stored}");
    assert_eq!(stored["breakGlass"], true, "{stored}");
    assert_eq!(stored["reviewState"], "UNREVIEWED", "{stored}");
    let status = app.send("GET", "/status", &su, None, &[]).await;
    assert!(
        status.body["checks"]["breakGlass"]["unreviewed"]
            .as_i64()
            .is_some_and(|n| n >= 1),
        "{}",
        status.body
    );

    // Its packet carries the break-glass request; both verifiers say VALID.
    let packet = app
        .send(
            "GET",
            &format!("/v1/exports/entities/VersionConstraint/{first}"),
            &su,
            None,
            &[],
        )
        .await;
    assert_eq!(packet.status, 200, "{}", packet.body);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("glass.dsse.json");
    std::fs::write(&file, packet.body.to_string()).unwrap_or_else(|e| panic!("{e}"));
    for (name, code, output) in common::verify_packet_both(&file) {
        assert_eq!(code, 0, "{name}: {output}");
    }

    // Unreviewed for more than 24 hours, it makes /status degraded (the request's
    // time is moved back here; nothing else reads it).
    app.query_column(
        "MATCH (r:ChangeRequest {id: $id}) SET r.requestedAt = $at RETURN r.id AS id",
        json!({"id": request_id, "at": (chrono::Utc::now() - chrono::Duration::hours(25)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)}),
        "id",
    )
    .await;
    let status = app.send("GET", "/status", &su, None, &[]).await;
    assert_eq!(status.body["status"], "degraded", "{}", status.body);
    let overdue = |body: &Value| {
        body["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r.as_str().is_some_and(|r| r.contains("break-glass")))
    };
    assert!(overdue(&status.body), "{}", status.body);

    // The same actor cannot break glass again until someone else reviews it.
    let again = app
        .send("DELETE", &path(&second), &admin, glass(reason), &[])
        .await;
    assert_eq!(again.status, 403, "{}", again.body);
    assert!(!constraint_deleted(&app, &second).await);
    let denied = app
        .query_column(
            "MATCH (e:AuditLog {outcome: 'DENIED', userId: $u, operation: 'DELETE_CONSTRAINT'}) RETURN count(e) AS n",
            json!({"u": admin_id}),
            "n",
        )
        .await;
    assert!(denied[0].as_i64().is_some_and(|n| n >= 1), "{denied:?}");
    let own = act(&app, &admin, &request_id, "review").await;
    assert_eq!(own.status, 403, "{}", own.body);
    let reviewed = act(&app, &approver, &request_id, "review").await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.body);
    assert_eq!(reviewed.body["operation"], "REVIEW_BREAK_GLASS");
    let twice = act(&app, &approver, &request_id, "review").await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    let stored = request(&app, &su, &request_id).await;
    assert_eq!(stored["reviewState"], "REVIEWED", "{stored}");
    assert_eq!(stored["reviewedBy"], json!(approver_id), "{stored}");
    let status = app.send("GET", "/status", &su, None, &[]).await;
    assert!(!overdue(&status.body), "{}", status.body);

    let after = app
        .send("DELETE", &path(&second), &admin, glass(reason), &[])
        .await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(constraint_deleted(&app, &second).await);

    // A request that went through approval is not reviewed as break-glass.
    let third = constraint(&app, &admin).await;
    let normal = request_delete(&app, &admin, &third).await;
    let not_glass = act(&app, &approver, &normal, "review").await;
    assert_eq!(not_glass.status, 409, "{}", not_glass.body);

    for (entity_type, entity) in [
        ("VersionConstraint", &first),
        ("ChangeRequest", &request_id),
    ] {
        let state = app
            .send(
                "GET",
                &format!("/v1/entities/{entity_type}/{entity}/state"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(
            state.body["consistent"],
            json!(true),
            "{entity_type}: {}",
            state.body
        );
    }
}

#[tokio::test]
async fn a_team_rolled_back_to_its_third_entry_has_that_state_again() {
    let app = app_with_defaults(72 * 3600).await;
    let (_, admin) = app.caller(&["governance-admin"]).await;
    let (_, approver) = app.caller(&["approver"]).await;
    let (_, su) = app.caller(&["superuser"]).await;
    let mut users = Vec::new();
    for _ in 0..4 {
        users.push(app.fresh_user().await);
    }
    let (ann, bob, cat, dan) = (&users[0], &users[1], &users[2], &users[3]);
    let created = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": common::unique("rollback"), "responsibilityAreas": ["runtime"]})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let team = id(&created);
    let mut entries = vec![created.body["auditLogId"].clone()];
    let areas = |list: &[&str]| Some(json!({"responsibilityAreas": list}));
    let member = |user: &str| format!("/v1/teams/{team}/members/{user}");
    let steps: Vec<(&str, String, Option<Value>)> = vec![
        (
            "PUT",
            format!("/v1/teams/{team}/responsibility-areas"),
            areas(&["runtime", "observability"]),
        ),
        ("PUT", member(ann), None),
        ("PUT", member(bob), None),
        (
            "PUT",
            format!("/v1/teams/{team}/responsibility-areas"),
            areas(&["observability"]),
        ),
        (
            "DELETE",
            member(ann),
            Some(json!({"reason": "moved teams"})),
        ),
        ("PUT", member(cat), None),
        (
            "PUT",
            format!("/v1/teams/{team}/responsibility-areas"),
            areas(&["billing"]),
        ),
        ("PUT", member(dan), None),
        (
            "DELETE",
            member(bob),
            Some(json!({"reason": "moved teams"})),
        ),
    ];
    let state = async || {
        let s = app
            .send(
                "GET",
                &format!("/v1/entities/Team/{team}/state"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(s.status, 200, "{}", s.body);
        assert_eq!(s.body["consistent"], true, "{}", s.body);
        s.body["live"].clone()
    };
    let mut third = Value::Null;
    for (method, path, body) in steps {
        let r = app.send(method, &path, &admin, body, &[]).await;
        assert!(
            r.status == 200 || r.status == 201,
            "{method} {path}: {}",
            r.body
        );
        entries.push(r.body["auditLogId"].clone());
        if entries.len() == 3 {
            third = state().await;
        }
    }
    assert_eq!(entries.len(), 10);
    assert_eq!(third["members"], json!([ann]), "{third}");

    // Without `confirm`, the answer is a preview: the difference, and nothing written.
    let preview = app
        .send(
            "POST",
            &format!("/v1/entities/Team/{team}/rollback"),
            &admin,
            Some(json!({"toEntryId": entries[2]})),
            &[],
        )
        .await;
    let mut gone = vec![cat.clone(), dan.clone()];
    gone.sort();
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.body["preview"], true, "{}", preview.body);
    assert_eq!(
        preview.body["changes"]["members"],
        json!({"added": [ann], "removed": gone}),
        "{}",
        preview.body
    );
    assert_eq!(
        preview.body["supersedes"].as_array().map(Vec::len),
        Some(7),
        "{}",
        preview.body
    );
    assert!(preview.body.get("auditLogId").is_none(), "{}", preview.body);

    // Rolling back needs a second person: the request holds the state to restore.
    let asked = app
        .send(
            "POST",
            &format!("/v1/entities/Team/{team}/rollback"),
            &admin,
            Some(json!({"toEntryId": entries[2], "confirm": true, "reason": "the reorg was reverted"})),
            &[],
        )
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    let cr = id(&asked);
    let held = request(&app, &su, &cr).await;
    assert_eq!(held["operation"], "ROLLBACK", "{held}");
    assert_eq!(
        held["command"]["input"]["resolved"]["toEntryId"], entries[2],
        "{held}"
    );
    let approval = act(&app, &approver, &cr, "approve").await;
    assert_eq!(approval.status, 200, "{}", approval.body);
    assert_eq!(
        approval.body["executed"]["operation"], "ROLLBACK",
        "{}",
        approval.body
    );
    let executed = approval.body["executed"]["auditLogId"].clone();

    // The team is as it was after its third entry; every replay agrees with the graph.
    assert_eq!(state().await, third);
    for user in &users {
        let s = app
            .send(
                "GET",
                &format!("/v1/entities/User/{user}/state"),
                &su,
                None,
                &[],
            )
            .await;
        assert_eq!(s.body["consistent"], true, "{user}: {}", s.body);
    }
    let mut superseded = app
        .query_column(
            "MATCH (:AuditLog {id: $id})-[:SUPERSEDES]->(x:AuditLog) RETURN x.id AS x",
            json!({"id": executed}),
            "x",
        )
        .await;
    superseded.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    let mut reverted: Vec<Value> = entries[3..].to_vec();
    reverted.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    assert_eq!(superseded, reverted);

    // Rolling back to the state it is in changes nothing, and asks nobody.
    let again = app
        .send(
            "POST",
            &format!("/v1/entities/Team/{team}/rollback"),
            &admin,
            Some(json!({"toEntryId": entries[2], "confirm": true, "reason": "once more"})),
            &[],
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["changed"], false, "{}", again.body);

    // A tombstone cannot be rolled back: 409 naming it.
    let gone = app
        .send(
            "POST",
            "/v1/teams",
            &admin,
            Some(json!({"name": common::unique("gone")})),
            &[],
        )
        .await;
    let gone_id = id(&gone);
    let deleted = app
        .send(
            "DELETE",
            &format!("/v1/teams/{gone_id}"),
            &admin,
            Some(json!({"reason": "created by mistake"})),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let refused = app
        .send(
            "POST",
            &format!("/v1/entities/Team/{gone_id}/rollback"),
            &admin,
            Some(json!({"toEntryId": gone.body["auditLogId"], "confirm": true, "reason": "bring it back"})),
            &[],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.to_string().contains(&gone_id),
        "{}",
        refused.body
    );
}
