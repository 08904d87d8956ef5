//! What every console page shares: the navigation (who is signed in, the sign-out
//! form's CSRF token), rendering, the security headers, and HTML pages for the
//! problems the API's extractors and handlers answer with.

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde_json::Value;

use super::session::{SESSION_COOKIE, csrf_token};
use super::views::ErrorPage;
use crate::http::AppState;

/// The signed-in user as the navigation shows them.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Display name (never an email address).
    pub name: String,
    /// CSRF token of the session.
    pub csrf: String,
}

/// Navigation of a page.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The session, when signed in.
    pub session: Option<SessionView>,
}

impl Chrome {
    /// No session.
    #[must_use]
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The session's CSRF token (empty when signed out).
    #[must_use]
    pub fn csrf(&self) -> String {
        self.session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default()
    }

    fn of(state: &AppState, jar: &CookieJar) -> Self {
        let Some(token) = jar.get(SESSION_COOKIE).map(Cookie::value) else {
            return Self::anonymous();
        };
        let Ok(principal) = state.auth.authenticate(Some(&format!("Bearer {token}"))) else {
            return Self::anonymous();
        };
        Self {
            session: Some(SessionView {
                name: shown_name(principal.display_name.as_deref()),
                csrf: csrf_token(token),
            }),
        }
    }
}

impl FromRequestParts<AppState> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state, &CookieJar::from_headers(&parts.headers)))
    }
}

/// A display name as the console shows it: never an email address.
#[must_use]
pub fn shown_name(name: Option<&str>) -> String {
    match name {
        Some(n) if !n.trim().is_empty() && !n.contains('@') => n.to_owned(),
        Some(_) => "(name withheld)".to_owned(),
        None => "(no display name)".to_owned(),
    }
}

/// A JSON value as a page shows it: text as is, null as a dash, anything else as JSON.
#[must_use]
pub fn shown(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders `page`; a template that fails to render is a 500 page.
pub fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(text) => Html(text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>This page could not be drawn.</p>"),
            )
                .into_response()
        }
    }
}

/// A refusal the console itself decides (CSRF, form size), as an HTML page.
pub fn refusal(status: StatusCode, detail: &str) -> Response {
    let page = ErrorPage {
        chrome: Chrome::anonymous(),
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Refused").to_owned(),
        detail: detail.to_owned(),
        fields: Vec::new(),
    };
    (status, html(&page)).into_response()
}

/// Console middleware: a problem+json answer becomes an HTML page with the same
/// status (a missing or refused session: a redirect to sign in).
pub async fn html_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Only an error page needs the navigation: keep the cookies, verify them then.
    let jar = CookieJar::from_headers(request.headers());
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if !is_problem {
        return response;
    }
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        let jar = CookieJar::new().remove(Cookie::build(SESSION_COOKIE).path("/console"));
        return (jar, Redirect::to("/console/sign-in")).into_response();
    }
    let bytes = axum::body::to_bytes(response.into_body(), 256 * 1024)
        .await
        .unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = |k: &str| problem[k].as_str().unwrap_or_default().to_owned();
    let fields = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let page = ErrorPage {
        chrome: Chrome::of(&state, &jar),
        status: status.as_u16(),
        title: text("title"),
        detail: text("detail"),
        fields,
    };
    (status, html(&page)).into_response()
}

/// The content security policy of every console page: nothing but govtrail itself,
/// and no script at all.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Console middleware: the CSP, no sniffing, no referrer, no caching of audit data.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The stylesheet (compiled in; no outside fonts or assets).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        Body::from(include_str!("../../../templates/console/console.css")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_never_shown_as_a_name() {
        assert_eq!(shown_name(Some("Ada Lovelace")), "Ada Lovelace");
        assert_eq!(shown_name(Some("ada@example.com")), "(name withheld)");
        assert_eq!(shown_name(None), "(no display name)");
    }
}
