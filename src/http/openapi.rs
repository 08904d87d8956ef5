//! The OpenAPI 3.1 document, generated from the same tables the router is built from
//! (the operation catalog and every module's `ROUTES`), served at `/openapi.json`, and
//! an interactive reference page (Scalar) at `/docs`.

use std::sync::LazyLock;

use axum::response::Html;
use axum::routing::get;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Paths,
    Ref, Required, Type,
};
use utoipa_scalar::Scalar;

use super::{Access, RouteDoc, read_routes};
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
        route: || get(|| async { axum::Json(DOCUMENT.clone()) }),
    },
    RouteDoc {
        path: "/docs",
        summary: "Interactive API reference",
        tag: "documentation",
        access: Access::Public,
        query: &[],
        route: || get(|| async { Html(Scalar::new(DOCUMENT.clone()).to_html()) }),
    },
];

static DOCUMENT: LazyLock<OpenApi> = LazyLock::new(document);

fn path_parameters(path: &str) -> impl Iterator<Item = utoipa::openapi::path::Parameter> + '_ {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
        .map(|name| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        })
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn json_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().build())
        .build()
}

fn method(method: Method) -> HttpMethod {
    match method {
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Delete => HttpMethod::Delete,
    }
}

/// A governed mutation's operation object.
fn governed_operation(
    definition: &Definition,
    route: &Route,
    body_name: String,
) -> utoipa::openapi::path::Operation {
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    let op = definition.operation;
    let roles: Vec<&str> = definition.roles.iter().map(|r| r.as_str()).collect();
    OperationBuilder::new()
        .operation_id(Some(op.as_str()))
        .tag(definition.category.as_str())
        .summary(Some(format!("{op} — roles: {}", roles.join(", "))))
        .description(Some(format!(
            "Governed change; writes exactly one AuditLog entry in the same transaction. Severity {}; reason {}. Headers: If-Match, Idempotency-Key, X-Correlation-Id.",
            definition.severity,
            if definition.reason_required() { "required" } else { "optional" }
        )))
        .parameters(Some(path_parameters(route.path)))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name(body_name))).build(),
                )
                .build(),
        ))
        .security(bearer)
        .response("200", json_response("Changed (or nothing to change: `changed: false`)"))
        .response("201", json_response("Created"))
        .response("400", problem("Malformed JSON or invalid path parameter"))
        .response("401", problem("No valid bearer token"))
        .response("403", problem("Missing role (recorded as a DENIED entry)"))
        .response("404", problem("Unknown entity"))
        .response("409", problem("The current state does not allow the change"))
        .response("412", problem("Stale If-Match"))
        .response("422", problem("Invalid field"))
        .response("503", problem("Neo4j unavailable; retry"))
        .build()
}

/// Builds the document.
#[must_use]
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    let mut components = ComponentsBuilder::new()
        .schema(
            "Problem",
            ObjectBuilder::new()
                .description(Some(
                    "RFC 9457 problem details; `errors` lists invalid fields",
                ))
                .property("type", ObjectBuilder::new().schema_type(Type::String))
                .property("title", ObjectBuilder::new().schema_type(Type::String))
                .property("status", ObjectBuilder::new().schema_type(Type::Integer))
                .property("detail", ObjectBuilder::new().schema_type(Type::String)),
        )
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    let bearer = || SecurityRequirement::new("bearer", Vec::<String>::new());
    for (definition, route) in routed() {
        let (body_name, body_schema) = (route.body)();
        components = components.schema(body_name.clone(), body_schema);
        let operation = governed_operation(definition, route, body_name);
        paths.add_path_operation(route.path, vec![method(route.method)], operation);
    }
    for route in read_routes() {
        let mut operation = OperationBuilder::new()
            .tag(route.tag)
            .summary(Some(route.summary))
            .parameters(Some(path_parameters(route.path)))
            .response("200", json_response("OK"));
        for (name, description) in route.query {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        match route.access {
            Access::Public => {}
            Access::AnyRole => {
                operation = operation
                    .security(bearer())
                    .response("401", problem("No valid bearer token"))
                    .response("403", problem("No govtrail role"));
            }
            Access::Superuser => {
                operation = operation
                    .security(bearer())
                    .response("400", problem("Invalid parameter"))
                    .response("401", problem("No valid bearer token"))
                    .response(
                        "403",
                        problem("Not a superuser (recorded as a DENIED entry)"),
                    )
                    .response("404", problem("Unknown entity or entry"));
            }
        }
        paths.add_path_operation(route.path, vec![HttpMethod::Get], operation.build());
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("govtrail")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Governance audit trail on Neo4j: governed changes and their audit entries commit together; superusers read the history.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}
