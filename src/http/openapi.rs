//! The `OpenAPI` 3.1 document, generated from the same tables the router is built from
//! (the operation catalog and every module's `ROUTES`), served at `/openapi.json`, and
//! an interactive reference page (Swagger UI, served by govtrail itself from the
//! `utoipa-swagger-ui` crate's vendored assets: no CDN, works offline) at `/docs`.

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::PartialSchema;

use super::problem::ApiError;
use super::schemas::{self, reference};
use super::{Access, MediaType, Param, RouteDoc, WriteDoc, read_routes, write_routes};
use crate::domain::{
    Category, Criticality, EntityType, LicenseDecision, Operation, Outcome, RiskLevel, Role,
    Severity, Source, TimeCategory,
};
use crate::governance::Definition;
use crate::governance::catalog::{Method, Route, routed};

/// Routes of this module.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        path: "/openapi.json",
        summary: "This OpenAPI 3.1 document",
        tag: "documentation",
        access: Access::Public,
        query: &[],
        response: (MediaType::Json, schemas::object),
        route: || get(|| async { axum::Json(DOCUMENT.clone()) }),
    },
    RouteDoc {
        path: "/docs",
        summary: "Interactive API reference (redirects to its page)",
        tag: "documentation",
        access: Access::Public,
        query: &[],
        response: (MediaType::Redirect, schemas::text),
        route: || get(|| async { Redirect::to("/docs/index.html") }),
    },
    RouteDoc {
        path: "/docs/{file}",
        summary: "A file of the interactive API reference (Swagger UI, served offline)",
        tag: "documentation",
        access: Access::Public,
        query: &[],
        response: (MediaType::Html, schemas::text),
        route: || get(get_docs_file),
    },
];

static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

static SWAGGER: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> =
    LazyLock::new(|| Arc::new(utoipa_swagger_ui::Config::new(["/openapi.json"])));

/// One file of Swagger UI, from the assets compiled into the binary.
async fn get_docs_file(Path(file): Path<String>) -> Result<Response, ApiError> {
    let found = utoipa_swagger_ui::serve(&file, SWAGGER.clone())
        .map_err(|e| ApiError::Internal(format!("swagger-ui: {e}")))?
        .ok_or(ApiError::NotFound("documentation file"))?;
    let mut response = (StatusCode::OK, Body::from(found.bytes.into_owned())).into_response();
    if let Ok(media) = HeaderValue::from_str(&found.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, media);
    }
    Ok(response)
}

/// The component schemas every document carries: the closed enums, the problem, and
/// the shared response shapes.
fn components() -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |name: &str, schema: Value| {
        out.insert(name.to_owned(), schema);
    };
    let of = |schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>| {
        serde_json::to_value(schema).unwrap_or(Value::Null)
    };
    put("Operation", of(Operation::schema()));
    put("EntityType", of(EntityType::schema()));
    put("Outcome", of(Outcome::schema()));
    put("Source", of(Source::schema()));
    put("Category", of(Category::schema()));
    put("Severity", of(Severity::schema()));
    put("Role", of(Role::schema()));
    put("Criticality", of(Criticality::schema()));
    put("RiskLevel", of(RiskLevel::schema()));
    put("TimeCategory", of(TimeCategory::schema()));
    put("LicenseDecision", of(LicenseDecision::schema()));
    put(
        "EvidenceRef",
        of(<crate::governance::input::EvidenceRef as utoipa::PartialSchema>::schema()),
    );
    put("Problem", schemas::problem());
    put("ChangeAnswer", schemas::change_answer());
    put("AuditEntry", schemas::entry());
    put("Page", schemas::page());
    out
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": reference("Problem")}}
    })
}

fn success(description: &str, media: MediaType, schema: &Value) -> Value {
    let types: &[&str] = match media {
        MediaType::Redirect => {
            return json!({
                "description": description,
                "headers": {"Location": {"schema": {"type": "string"}}}
            });
        }
        MediaType::Stream => &["application/x-ndjson", "text/csv"],
        MediaType::Html => &[
            "text/html",
            "text/css",
            "application/javascript",
            "text/javascript",
            "image/png",
        ],
        MediaType::Json | MediaType::Text => &[media.as_str()],
    };
    let content: Map<String, Value> = types
        .iter()
        .map(|t| ((*t).to_owned(), json!({"schema": schema})))
        .collect();
    json!({"description": description, "content": content})
}

/// A path parameter's schema, by its name and route.
fn path_schema(path: &str, name: &str) -> Value {
    match name {
        "type" if path.ends_with("/rollback") => json!({
            "enum": crate::governance::commands::ROLLBACK_TYPES.map(crate::domain::EntityType::as_str),
            "description": "the entity types a rollback may touch"
        }),
        "type" => reference("EntityType"),
        "spdx_id" => json!({
            "type": "string",
            "description": "an SPDX license identifier, e.g. MIT or Apache-2.0",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$",
            "examples": ["MIT", "Apache-2.0", "GPL-3.0-only"]
        }),
        "file" => json!({"type": "string", "examples": ["index.html"]}),
        "id" | "user_id" if path.starts_with("/v1/users") || name == "user_id" => json!({
            "type": "string",
            "format": "uuid",
            "description": "an internal user id (users created before pseudonymization keep older, non-UUID ids, which are accepted too)"
        }),
        _ => json!({"type": "string", "format": "uuid"}),
    }
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": path_schema(path, name)
            })
        })
        .collect()
}

fn correlation_header() -> Value {
    json!({
        "name": "X-Correlation-Id",
        "in": "header",
        "required": false,
        "description": "echoed back and recorded on entries; a fresh one is made when absent or malformed",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"}
    })
}

fn governed_headers() -> Vec<Value> {
    vec![
        json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "the entity's ETag (its version, quoted) or *; a stale one answers 412",
            "schema": {"type": "string", "pattern": "^(\"[0-9]{1,9}\"|\\*)$"}
        }),
        json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "a retry with the same key and request replays the first answer",
            "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"}
        }),
        correlation_header(),
    ]
}

fn method(method: Method) -> &'static str {
    match method {
        Method::Post => "post",
        Method::Put => "put",
        Method::Delete => "delete",
    }
}

/// The statuses every route may answer before or around its handler.
fn common_errors(responses: &mut Map<String, Value>) {
    responses.insert(
        "405".into(),
        problem("The route does not accept this method"),
    );
    responses.insert("414".into(), problem("The request URI is too long"));
    responses.insert(
        "431".into(),
        problem("The request headers are too large or too many"),
    );
}

/// A governed mutation's body: its schema, and a required non-blank reason where the
/// operation needs one.
fn request_body(definition: &Definition, body_name: &str) -> Value {
    if !definition.reason_required() {
        return json!({
            "required": false,
            "content": {"application/json": {"schema": reference(body_name)}}
        });
    }
    json!({
        "required": true,
        "content": {"application/json": {"schema": {
            "allOf": [
                reference(body_name),
                {
                    "required": ["reason"],
                    "properties": {"reason": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 1000,
                        "pattern": "\\S"
                    }}
                }
            ]
        }}}
    })
}

/// A governed mutation's operation object.
fn governed_operation(definition: &Definition, route: &Route, body_name: &str) -> Value {
    let op = definition.operation;
    let roles: Vec<&str> = definition.roles.iter().map(|r| r.as_str()).collect();
    let mut responses = Map::new();
    for (status, description) in [
        ("200", "Changed (or nothing to change: `changed: false`)"),
        ("201", "Created"),
        (
            "202",
            "The operation's approval policy makes it wait: a change request holding the exact command was recorded (REQUEST_CHANGE; `entity` is the ChangeRequest); it runs when approved",
        ),
    ] {
        responses.insert(
            status.into(),
            success(description, MediaType::Json, &reference("ChangeAnswer")),
        );
    }
    for (status, description) in [
        ("400", "Malformed JSON or an invalid path parameter"),
        ("401", "No valid bearer token"),
        ("403", "Missing role (recorded as a DENIED entry)"),
        ("404", "An entity the request names does not exist"),
        (
            "409",
            "The current state does not allow the change, or a name is taken",
        ),
        ("412", "Stale If-Match"),
        ("413", "The body is too large"),
        ("415", "The body is not application/json"),
        ("422", "An invalid field"),
        ("503", "Neo4j unavailable; retry"),
    ] {
        responses.insert(status.into(), problem(description));
    }
    common_errors(&mut responses);
    let mut parameters = path_parameters(route.path);
    parameters.extend(governed_headers());
    json!({
        "operationId": op.as_str(),
        "tags": [definition.category.as_str()],
        "summary": format!("{op} — roles: {}", roles.join(", ")),
        "description": format!(
            "Governed change; writes its AuditLog entry in the same transaction. Severity {}; reason {}. When /v1/catalog shows an approval policy for it, it answers 202 with a change request instead, and a reason is required.",
            definition.severity,
            if definition.reason_required() { "required" } else { "optional" }
        ),
        "parameters": parameters,
        "requestBody": request_body(definition, body_name),
        "security": [{"bearer": []}],
        "responses": responses,
    })
}

fn query_parameter(param: &Param) -> Value {
    json!({
        "name": param.name,
        "in": "query",
        "required": false,
        "description": param.description,
        "schema": (param.schema)(),
    })
}

/// A read route's operation object.
fn read_operation(route: &RouteDoc) -> Value {
    let (media, schema) = route.response;
    let mut responses = Map::new();
    let status = if media == MediaType::Redirect {
        "303"
    } else {
        "200"
    };
    responses.insert(status.into(), success("OK", media, &schema()));
    let mut security = Vec::new();
    match route.access {
        Access::Public => {}
        Access::AnyRole | Access::Superuser => {
            security.push(json!({"bearer": []}));
            responses.insert("401".into(), problem("No valid bearer token"));
            responses.insert(
                "403".into(),
                problem(if route.access == Access::Superuser {
                    "Not a superuser (recorded as a DENIED entry)"
                } else {
                    "No govtrail role"
                }),
            );
            responses.insert("503".into(), problem("Neo4j unavailable; retry"));
        }
    }
    if route.path.contains('{') || !route.query.is_empty() {
        responses.insert("400".into(), problem("An invalid parameter"));
        responses.insert("404".into(), problem("Unknown entity, entry or file"));
    }
    if route.path.ends_with("/proof") {
        responses.insert(
            "409".into(),
            problem("The checkpoint that sealed the entry no longer matches the log"),
        );
    }
    if route.path == "/readyz" {
        responses.insert("503".into(), problem("Not ready, with a reason per check"));
    }
    common_errors(&mut responses);
    let mut parameters = path_parameters(route.path);
    parameters.extend(route.query.iter().map(query_parameter));
    parameters.push(correlation_header());
    let mut op = json!({
        "tags": [route.tag],
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if !security.is_empty() {
        op["security"] = Value::Array(security);
    }
    op
}

/// A write of operational data (an SBOM): its body media types and its answers.
fn write_operation(route: &WriteDoc) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        success(
            "Stored (or already current)",
            MediaType::Json,
            &(route.response)(),
        ),
    );
    for (status, description) in [
        ("400", "Not JSON, or an invalid path parameter"),
        ("401", "No valid bearer token"),
        (
            "403",
            "Not an integration with source SBOM nor a governance-admin",
        ),
        ("404", "The system does not exist"),
        ("413", "The document is larger than sbom_max_bytes"),
        ("415", "Not one of the accepted media types"),
        (
            "422",
            "Not CycloneDX 1.4-1.6 or SPDX 2.3, or a field breaks its schema (named by its JSON pointer)",
        ),
        ("503", "Neo4j unavailable; retry"),
    ] {
        responses.insert(status.into(), problem(description));
    }
    common_errors(&mut responses);
    let mut parameters = path_parameters(route.path);
    parameters.push(correlation_header());
    json!({
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
        "description": "Operational data: stored without an audit entry (see notAudited in /v1/catalog).",
        "parameters": parameters,
        "requestBody": super::sbom::request_body(route.media_types),
        "responses": responses,
        "security": [{"bearer": []}],
    })
}

/// Builds the document.
#[must_use]
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut components = components();
    for (definition, route) in routed() {
        let (body_name, body_schema) = (route.body)();
        components.insert(
            body_name.clone(),
            serde_json::to_value(body_schema).unwrap_or(Value::Null),
        );
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[method(route.method)] = governed_operation(definition, route, &body_name);
    }
    for route in read_routes() {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item["get"] = read_operation(route);
    }
    for route in write_routes() {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item["post"] = write_operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "govtrail",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Governance audit trail on Neo4j: governed changes and their audit entries commit together; superusers read the history.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `value`.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.push(v.as_str().unwrap_or_default().to_owned());
                    }
                    refs(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_resolves_and_every_success_has_a_schema() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} does not resolve"
            );
        }
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (verb, op) in item.as_object().into_iter().flatten() {
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                for (status, response) in &responses {
                    if status.starts_with('2') {
                        let content = response["content"].as_object().cloned().unwrap_or_default();
                        assert!(
                            content.values().all(|c| c.get("schema").is_some())
                                && !content.is_empty(),
                            "{verb} {path} {status} has no schema"
                        );
                    }
                }
                for status in ["405", "414", "431"] {
                    assert!(
                        responses.contains_key(status),
                        "{verb} {path} lacks {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn entity_ids_in_paths_are_uuids() {
        let doc = document();
        let params =
            &doc["paths"]["/v1/version-constraints/{id}/teams/{team_id}"]["put"]["parameters"];
        for name in ["id", "team_id"] {
            let p = params
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap_or(Value::Null);
            assert_eq!(p["schema"]["format"], "uuid", "{name}");
        }
    }
}
