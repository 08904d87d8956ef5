//! The operation catalog and the router agree: every catalog entry answers on its
//! method and path, and no route outside the catalog accepts a write.

mod common;

use common::{TestApp, concrete, token_for};
use serde_json::{Value, json};

#[tokio::test]
async fn every_catalog_entry_has_a_route_and_lists_its_rules() {
    let app = TestApp::spawn().await;
    let (_, reader) = token_for(&["approver"]);
    let catalog = app.send("GET", "/v1/catalog", &reader, None, &[]).await;
    assert_eq!(catalog.status, 200);
    let operations = catalog.body["operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(operations.len(), 30, "{}", catalog.body);
    for op in &operations {
        for key in [
            "code",
            "method",
            "path",
            "entityTypes",
            "requiredRoles",
            "reasonRequired",
            "category",
            "severity",
        ] {
            assert!(op.get(key).is_some(), "{key} missing in {op}");
        }
        // An approver holds none of the roles of any governed write, so every route
        // must exist and refuse with 403 — never 404 or 405.
        let method = op["method"].as_str().unwrap_or_default();
        let path = concrete(op["path"].as_str().unwrap_or_default());
        let reply = app.send(method, &path, &reader, Some(json!({})), &[]).await;
        assert_eq!(
            reply.status, 403,
            "{method} {path} ({}) -> {}",
            op["code"], reply.body
        );
    }
    let not_audited: Vec<&str> = catalog.body["notAudited"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["what"].as_str())
        .collect();
    for what in [
        "SBOM-discovered components",
        "repositories",
        "hashes",
        "external references",
    ] {
        assert!(
            not_audited.contains(&what),
            "{what} must be listed as not audited"
        );
    }
}

#[tokio::test]
async fn routes_outside_the_catalog_accept_no_writes() {
    let app = TestApp::spawn().await;
    let (_, admin) = token_for(&["governance-admin", "superuser"]);
    // Every documented path without a catalog write is read-only.
    let doc: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let reads: Vec<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, item)| {
            ["post", "put", "delete"]
                .iter()
                .all(|m| item.get(*m).is_none())
        })
        .map(|(path, _)| concrete(path))
        .collect();
    assert!(reads.len() >= 13, "{reads:?}");
    for path in &reads {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let reply = app.send(method, path, &admin, Some(json!({})), &[]).await;
            assert_eq!(
                reply.status, 405,
                "{method} {path} must not write: {}",
                reply.body
            );
            assert_eq!(
                reply.body["type"],
                Value::from("urn:govtrail:problem:method-not-allowed")
            );
        }
    }
}
