//! Console sessions. A superuser signs in by pasting a bearer token; the token is
//! verified by the same [`crate::auth::Authenticator`] as an API call and becomes the
//! value of an `HttpOnly`, `SameSite=Strict` cookie scoped to `/console` that expires
//! with the token (`Secure` when the request came over TLS). Nothing is kept on the
//! server, so any replica serves any session, and every request verifies the token
//! again: an expired token ends the session at once.
//!
//! The cookie is the credential: [`cookie_to_bearer`] turns it into the request's
//! `Authorization` header, so every extractor of the API (the recorded 403 of audit
//! reads included) applies to the console unchanged. An OIDC sign-in would only add a
//! route that completes the code flow and sets the same cookie from the provider's
//! token (see `docs/console.md`).
//!
//! Every state-changing form carries a CSRF token: for a session, the HMAC-SHA256 of a
//! fixed label keyed by the session's token (an attacker without the token cannot
//! compute it, and no server state is needed); before sign-in, a random value that the
//! sign-in form and a short-lived cookie must both carry. [`require_csrf`] refuses any
//! console `POST` without it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::page::{Chrome, html};
use super::views::SignIn;
use crate::domain::Role;
use crate::http::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "govtrail_session";
/// The pre-sign-in CSRF cookie.
const SIGN_IN_COOKIE: &str = "govtrail_sign_in";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Largest console form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The CSRF token of the session whose credential is `token`.
#[must_use]
pub fn csrf_token(token: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(b"govtrail console csrf v1");
    hex::encode(mac.finalize().into_bytes())
}

/// Equal in constant time (CSRF tokens).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether the request reached govtrail over TLS (directly or through a proxy that says
/// so): session cookies are then `Secure`.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn cookie(name: &'static str, value: String, max_age_secs: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time_secs(max_age_secs))
        .build()
}

fn time_secs(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs.max(0))
}

/// Console middleware: the session cookie, if any, becomes the request's bearer
/// credential (an `Authorization` header sent to the console is ignored).
pub async fn cookie_to_bearer(mut request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    request.headers_mut().remove(header::AUTHORIZATION);
    if let Some(session) = jar.get(SESSION_COOKIE)
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", session.value()))
    {
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    next.run(request).await
}

/// Console middleware: a `POST` must carry the CSRF token of its session (or, to sign
/// in, the one its sign-in form was given); otherwise 403 and nothing runs.
pub async fn require_csrf(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return super::page::refusal(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    let jar = CookieJar::from_headers(&parts.headers);
    let expected = if parts.uri.path().ends_with("/sign-in") {
        jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_owned())
    } else {
        jar.get(SESSION_COOKIE).map(|c| csrf_token(c.value()))
    };
    match (sent, expected) {
        (Some(sent), Some(expected)) if same(&sent, &expected) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => super::page::refusal(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or does not match your session. Reload the page and try again.",
        ),
    }
}

/// `GET /console/sign-in`.
pub async fn sign_in_form(headers: HeaderMap) -> Response {
    sign_in_page(&headers, None, StatusCode::OK)
}

fn sign_in_page(headers: &HeaderMap, message: Option<String>, status: StatusCode) -> Response {
    let nonce = hex::encode(rand::random::<[u8; 32]>());
    let jar = CookieJar::new().add(cookie(
        SIGN_IN_COOKIE,
        nonce.clone(),
        600,
        over_tls(headers),
    ));
    let page = SignIn {
        chrome: Chrome::anonymous(),
        csrf: nonce,
        message,
    };
    (status, jar, html(&page)).into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
    #[expect(dead_code, reason = "checked by require_csrf before the handler runs")]
    csrf: String,
}

/// `POST /console/sign-in`: verifies the token like an API call and starts the session.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SignInForm>,
) -> Response {
    let token = form.token.trim().to_owned();
    let principal = match state.auth.authenticate(Some(&format!("Bearer {token}"))) {
        Ok(p) => p,
        Err(e) => {
            return sign_in_page(
                &headers,
                Some(format!("That token was refused: {e}.")),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    let remaining = principal
        .expires_at
        .map_or(0, |at| (at - chrono::Utc::now()).num_seconds());
    let jar = CookieJar::new()
        .add(cookie(SESSION_COOKIE, token, remaining, over_tls(&headers)))
        .remove(Cookie::build(SIGN_IN_COOKIE).path("/console"));
    // Superusers land on the timeline; approvers and admins, who may not read audit
    // data, on their approvals.
    let home = if principal.has_any(&[Role::Superuser])
        || !principal.has_any(&[Role::Approver, Role::GovernanceAdmin])
    {
        "/console/timeline"
    } else {
        "/console/approvals"
    };
    (jar, Redirect::to(home)).into_response()
}

/// `POST /console/sign-out`: ends the session (the token itself stays valid until it
/// expires; revoke it at its issuer).
pub async fn sign_out() -> Response {
    let jar = CookieJar::new().remove(Cookie::build(SESSION_COOKIE).path("/console"));
    (jar, Redirect::to("/console/sign-in")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let a = csrf_token("token-a");
        assert_eq!(a, csrf_token("token-a"));
        assert_ne!(a, csrf_token("token-b"));
        assert_eq!(a.len(), 64);
        assert!(same(&a, &csrf_token("token-a")));
        assert!(!same(&a, &csrf_token("token-b")));
        assert!(!same(&a, &a[..10]));
    }

    #[test]
    fn session_cookies_are_http_only_strict_scoped_and_expire_with_the_token() {
        let c = cookie(SESSION_COOKIE, "t".into(), 120, false).to_string();
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/console",
            "Max-Age=120",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Secure"));
        let tls = cookie(SESSION_COOKIE, "t".into(), -5, true).to_string();
        assert!(tls.contains("Secure") && tls.contains("Max-Age=0"), "{tls}");
    }
}
