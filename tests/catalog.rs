//! The operation catalog and the router agree: every catalog entry answers on its
//! method and path, and no route outside the catalog accepts a write.

mod common;

use common::{TestApp, concrete, token_for};
use serde_json::{Value, json};

/// A token holding a govtrail role but none of the roles `operation` (a catalog
/// entry) accepts.
fn outsider(operation: &Value) -> String {
    let required: Vec<&str> = operation["requiredRoles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let role = ["approver", "integration", "superuser", "governance-admin"]
        .into_iter()
        .find(|r| !required.contains(r))
        .unwrap_or_else(|| panic!("{operation} accepts every role"));
    token_for(&[role]).1
}

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
    assert_eq!(
        operations.len(),
        govtrail::governance::catalog::routed().count(),
        "{}",
        catalog.body
    );
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
            "approval",
        ] {
            assert!(op.get(key).is_some(), "{key} missing in {op}");
        }
        // A caller holding none of the operation's roles is refused with 403, so
        // every route exists — never 404 or 405.
        let method = op["method"].as_str().unwrap_or_default();
        let path = concrete(op["path"].as_str().unwrap_or_default());
        let outsider = outsider(op);
        let reply = app
            .send(method, &path, &outsider, Some(json!({})), &[])
            .await;
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

#[tokio::test]
async fn each_operation_is_defined_once_and_appears_in_routes_openapi_and_catalog() {
    use govtrail::governance::catalog::{definition, routed};
    let app = TestApp::spawn().await;
    let (_, reader) = token_for(&["approver"]);
    let catalog = app.send("GET", "/v1/catalog", &reader, None, &[]).await;
    let doc: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .unwrap_or_default();
    let listed: Vec<Value> = catalog.body["operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let documented: Vec<(String, String, Value)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            ["post", "put", "delete"].into_iter().filter_map(move |m| {
                item.get(m)
                    .map(|op| (m.to_uppercase(), path.clone(), op["operationId"].clone()))
            })
        })
        // Writes of operational data (SBOMs) are not governed operations.
        .filter(|(_, path, _)| !govtrail::http::write_routes().any(|w| w.path == path))
        .collect();
    let rows: Vec<_> = routed().collect();
    assert_eq!(listed.len(), rows.len(), "{}", catalog.body);
    assert_eq!(
        documented.len(),
        rows.len(),
        "every documented write is a catalog row"
    );
    for (row, route) in rows {
        let code = row.operation.as_str();
        // The row is the one definition of its operation.
        assert!(std::ptr::eq(definition(row.operation), row), "{code}");
        let in_catalog: Vec<&Value> = listed.iter().filter(|o| o["code"] == code).collect();
        assert_eq!(in_catalog.len(), 1, "{code} in /v1/catalog");
        assert_eq!(in_catalog[0]["method"], route.method.as_str(), "{code}");
        assert_eq!(in_catalog[0]["path"], route.path, "{code}");
        let in_doc: Vec<_> = documented.iter().filter(|(_, _, id)| *id == code).collect();
        assert_eq!(in_doc.len(), 1, "{code} in the OpenAPI document");
        assert_eq!(
            (in_doc[0].0.as_str(), in_doc[0].1.as_str()),
            (route.method.as_str(), route.path),
            "{code}"
        );
        let reply = app
            .send(
                route.method.as_str(),
                &concrete(route.path),
                &outsider(in_catalog[0]),
                Some(json!({})),
                &[],
            )
            .await;
        assert_eq!(reply.status, 403, "{code} is routed: {}", reply.body);
    }
}
