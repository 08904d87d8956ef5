//! The served OpenAPI document and the router agree: every route is documented, and
//! every documented operation is routed.

mod common;

use common::{TestApp, concrete, token_for};
use serde_json::{Value, json};

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .get("/openapi.json", None)
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            ["get", "post", "put", "delete"]
                .into_iter()
                .filter(|m| item.get(*m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    // Every governed operation of the catalog is documented with its body schema.
    let (_, any) = token_for(&["approver"]);
    let catalog = app.send("GET", "/v1/catalog", &any, None, &[]).await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    assert_eq!(
        catalog.body["operations"].as_array().map(Vec::len),
        Some(govtrail::governance::catalog::routed().count()),
        "{}",
        catalog.body
    );
    for op in catalog.body["operations"].as_array().into_iter().flatten() {
        let key = (
            op["method"].as_str().unwrap_or_default().to_owned(),
            op["path"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(documented.contains(&key), "{key:?} is not documented");
        let item = &paths[&key.1][key.0.to_lowercase().as_str()];
        assert_eq!(item["operationId"], op["code"]);
        // A body that must carry a reason refines its component with `allOf`.
        let schema = &item["requestBody"]["content"]["application/json"]["schema"];
        let schema_ref = schema["$ref"]
            .as_str()
            .or_else(|| schema["allOf"][0]["$ref"].as_str())
            .unwrap_or_default();
        let name = schema_ref.rsplit('/').next().unwrap_or_default();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{} body schema {name} missing",
            op["code"]
        );
    }
    for read in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/me",
        "/v1/catalog",
        "/v1/audit-logs",
        "/v1/audit-logs/{id}",
        "/v1/entities/{type}/{id}/history",
        "/v1/entities/{type}/{id}/state",
        "/v1/entities/{type}/{id}/lineage",
        "/v1/users/{id}/activity",
        "/openapi.json",
        "/docs",
    ] {
        assert!(
            documented.contains(&("GET".to_owned(), read.to_owned())),
            "GET {read} is not documented"
        );
    }
    // Every documented operation is routed: with tokens that pass authentication it
    // never answers 404 for the route or 405 for the method.
    let (_, token) = token_for(&["superuser"]);
    for (method, path) in &documented {
        let r = app
            .send(method, &concrete(path), &token, Some(json!({})), &[])
            .await;
        assert_ne!(r.status, 405, "{method} {path}");
        assert!(
            r.status != 404
                || r.body["type"] != "urn:govtrail:problem:not-found"
                || r.body["detail"] != "no route matches this path",
            "{method} {path} is documented but not routed"
        );
    }
}

#[tokio::test]
async fn the_interactive_reference_page_is_served_by_govtrail_itself() {
    let app = TestApp::spawn().await;
    let page = app.get("/docs", None).await;
    assert_eq!(page.status(), 200, "/docs leads to the page");
    assert!(
        page.url().path().ends_with("/docs/index.html"),
        "{}",
        page.url()
    );
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every asset is a relative link, served by govtrail: nothing comes from a CDN.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    let assets: Vec<String> = html
        .split(['"', '\''])
        .filter(|s| {
            std::path::Path::new(s)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["js", "css", "png"].contains(&e))
        })
        .map(|s| s.trim_start_matches("./").to_owned())
        .collect();
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in &assets {
        let r = app.get(&format!("/docs/{asset}"), None).await;
        assert_eq!(r.status(), 200, "{asset}");
    }
    let init = app
        .get("/docs/swagger-initializer.js", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(init.contains("\"/openapi.json\""), "{init}");
}

#[tokio::test]
async fn an_independent_validator_accepts_the_document_as_openapi_3_1() {
    let app = TestApp::spawn().await;
    let doc = app
        .get("/openapi.json", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.readers import read_from_filename\n\
             spec, _ = read_from_filename(sys.argv[1])\n\
             validate(spec)\n\
             print('valid', spec['openapi'])",
        )
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid 3.1"));
}
