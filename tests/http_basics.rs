//! The HTTP skeleton against a real Neo4j: health, readiness, ids, metrics, and
//! problem+json for every kind of bad request.

mod common;

use common::{TestApp, problem, token_for};
use serde_json::Value;

#[tokio::test]
async fn healthz_and_readyz_answer_200_when_neo4j_is_up() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap_or_default();
    assert_eq!(body["checks"]["neo4j"], "ok");
    assert_eq!(body["checks"]["migrations"], "current");
}

#[tokio::test]
async fn a_well_formed_correlation_id_is_echoed_back() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("X-Correlation-Id", "trace-123.abc")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response
            .headers()
            .get("x-correlation-id")
            .map(reqwest::header::HeaderValue::as_bytes),
        Some(&b"trace-123.abc"[..])
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(request_id).is_ok(),
        "request id: {request_id}"
    );
}

#[tokio::test]
async fn a_missing_or_malformed_correlation_id_is_replaced_by_a_fresh_one() {
    let app = TestApp::spawn().await;
    for sent in [None, Some("bad id with spaces"), Some("<script>")] {
        let mut request = app.http.get(app.url("/healthz"));
        if let Some(value) = sent {
            request = request.header("X-Correlation-Id", value);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        let echoed = response
            .headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            uuid::Uuid::parse_str(echoed).is_ok(),
            "{sent:?} -> {echoed}"
        );
    }
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(app.get("/v1/no-such-thing", None).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "urn:govtrail:problem:not-found");
}

#[tokio::test]
async fn wrong_method_is_a_405_problem_with_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .delete(app.url("/healthz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(response.headers().get("allow").is_some());
    let (status, _) = problem(response).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn a_bad_uuid_in_a_path_is_a_400_problem_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let (_, token) = token_for(&["superuser"]);
    let (status, body) = problem(app.get("/v1/audit-logs/not-a-uuid", Some(&token)).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "id");
}

#[tokio::test]
async fn an_unknown_audit_entry_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let (_, token) = token_for(&["superuser"]);
    let path = format!("/v1/audit-logs/{}", uuid::Uuid::new_v4());
    let (status, _) = problem(app.get(&path, Some(&token)).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reading_an_audit_entry_needs_the_superuser_role() {
    let app = TestApp::spawn().await;
    let (_, token) = token_for(&["governance-admin"]);
    let path = format!("/v1/audit-logs/{}", uuid::Uuid::new_v4());
    let (status, body) = problem(app.get(&path, Some(&token)).await).await;
    assert_eq!(status, 403);
    assert_eq!(body["type"], "urn:govtrail:problem:forbidden");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    let (_, token) = token_for(&["superuser"]);
    let path = format!("/v1/audit-logs/{}", uuid::Uuid::new_v4());
    app.get(&path, Some(&token)).await;
    app.get("/v1/me", None).await;
    let text = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        text.contains(
            r#"govtrail_http_requests_total{method="GET",route="/v1/audit-logs/{id}",status="404"}"#
        ),
        "{text}"
    );
    assert!(text.contains("govtrail_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"govtrail_auth_failures_total{reason="missing"}"#));
    assert!(!text.contains(&path), "raw paths must not become labels");
}

#[tokio::test]
async fn status_is_degraded_without_a_checkpoint_signing_key() {
    let app = TestApp::spawn().await;
    let status: Value = app
        .get("/status", None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(status["status"], "degraded", "{status}");
    assert_eq!(status["checks"]["neo4j"], "ok");
    assert!(
        status["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("signing key")),
        "{status}"
    );
}

#[tokio::test]
async fn oversized_headers_and_uris_get_a_problem_before_any_route_runs() {
    let app = TestApp::spawn().await;
    // 400 kB of Authorization: past govtrail's header limit, within hyper's.
    let huge = format!("Bearer {}", "a".repeat(400_000));
    let r = app
        .http
        .get(app.url("/v1/me"))
        .header("authorization", huge)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = problem(r).await;
    assert_eq!(status, 431, "{body}");
    assert_eq!(body["type"], "urn:govtrail:problem:header-fields-too-large");
    // Many small headers.
    let mut request = app.http.get(app.url("/healthz"));
    for i in 0..150 {
        request = request.header(format!("x-filler-{i}"), "1");
    }
    let (status, _) = problem(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(status, 431);
    // A 20 kB URI.
    let long = format!("/v1/audit-logs?correlationId={}", "c".repeat(20_000));
    let (status, body) = problem(app.get(&long, None).await).await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["type"], "urn:govtrail:problem:uri-too-long");
}
