//! The approvals page: pending change requests the viewer may approve, with what each
//! will change, its targets and its evidence digests, approve and reject forms with a
//! reason; and break-glass changes awaiting review. Acting on a request runs the
//! API's governed route itself (same parsing, policy, audit entry), so the console
//! adds no second path to a governed change.

use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::page::{Chrome, html, shown};
use super::timeline::{pairs, short_time};
use super::views::{Approvals, RequestCard};
use crate::domain::{Operation, RequestState, Role};
use crate::governance::definition;
use crate::governance::input::PathParams;
use crate::history::requests::{self, RequestFilter};
use crate::http::AppState;
use crate::http::extract::{Authenticated, Path};
use crate::http::governed::serve_governed_with;
use crate::http::problem::ApiError;

/// Who sees the page: those who may approve or review.
const APPROVERS: &[Role] = &[Role::Approver, Role::GovernanceAdmin, Role::Superuser];

fn card(request: &Value) -> RequestCard {
    let text = |k: &str| request[k].as_str().unwrap_or_default().to_owned();
    let time = text("requestedAt");
    let command = request["command"]["input"]
        .as_object()
        .map(|fields| fields.iter().map(|(k, v)| (k.clone(), shown(v))).collect())
        .unwrap_or_default();
    let targets = request["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let (kind, id) = (shown(&t["type"]), shown(&t["id"]));
            let version = t["version"]
                .as_i64()
                .map(|v| format!(" (version {v})"))
                .unwrap_or_default();
            (
                format!("{kind} {id}{version}"),
                format!("/console/entities/{kind}/{id}"),
            )
        })
        .collect();
    let evidence = request["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e.as_object().map_or_else(
                || shown(e),
                |m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}: {}", shown(v)))
                        .collect::<Vec<_>>()
                        .join(" · ")
                },
            )
        })
        .collect();
    let approvers = request["approverIds"].as_array().map_or(0, Vec::len);
    RequestCard {
        id: text("id"),
        operation: text("operation"),
        requester: text("requesterId"),
        time_short: short_time(&time),
        time,
        reason: text("reason"),
        policy: format!(
            "{} approval(s) by role {}",
            shown(&request["approvalsRequired"]),
            text("approverRole")
        ),
        approvals: format!("{approvers} of {}", shown(&request["approvalsRequired"])),
        expires: request["expiresAt"].as_str().map(str::to_owned),
        command,
        targets,
        evidence,
    }
}

/// `GET /console/approvals`.
pub async fn approvals(
    State(state): State<AppState>,
    caller: Authenticated,
    chrome: Chrome,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let viewer = crate::http::requests::viewer(&state, caller.require(APPROVERS)?).await?;
    let pending = RequestFilter {
        state: Some(RequestState::Pending),
        ..RequestFilter::default()
    };
    let page = requests::list(&state.store, &pending, &viewer, 50, None).await?;
    // The requester cannot approve their own request: it is not offered.
    let pending: Vec<RequestCard> = page
        .change_requests
        .iter()
        .filter(|r| r["requesterId"].as_str() != Some(&viewer.id))
        .map(card)
        .collect();
    let mut reviews = Vec::new();
    if viewer
        .roles
        .iter()
        .any(|r| definition(Operation::ReviewBreakGlass).roles.contains(r))
    {
        let executed = RequestFilter {
            state: Some(RequestState::Executed),
            ..RequestFilter::default()
        };
        let page =
            requests::list(&state.store, &executed, &viewer, requests::MAX_LIMIT, None).await?;
        reviews = page
            .change_requests
            .iter()
            .filter(|r| r["reviewState"] == "UNREVIEWED")
            .filter(|r| r["requesterId"].as_str() != Some(&viewer.id))
            .map(card)
            .collect();
    }
    let done = pairs(raw.as_deref().unwrap_or_default())
        .into_iter()
        .find(|(k, _)| k == "done")
        .and_then(|(_, v)| match v.as_str() {
            "approve" => Some("Your approval was recorded."),
            "reject" => Some("The request was rejected."),
            "review" => Some("The break-glass change was marked reviewed."),
            _ => None,
        })
        .map(str::to_owned);
    let page = Approvals {
        csrf: chrome.csrf(),
        chrome,
        done,
        pending,
        reviews,
    };
    Ok(html(&page))
}

/// `POST /console/requests/{id}/{action}` (`approve`, `reject` or `review`) with a
/// `reason`: runs the API's governed route for it, then returns to the approvals page.
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let operation = match action.as_str() {
        "approve" => Operation::ApproveChange,
        "reject" => Operation::RejectChange,
        "review" => Operation::ReviewBreakGlass,
        _ => return Err(ApiError::RouteNotFound),
    };
    let definition = definition(operation);
    let Some(route) = definition.route.as_ref() else {
        return Err(ApiError::RouteNotFound);
    };
    let (parts, body) = request.into_parts();
    let form = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let reason = url::form_urlencoded::parse(&form)
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut forwarded = Request::builder()
        .method(Method::POST)
        .uri(route.path.replace("{id}", &id))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"reason": reason}).to_string()))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(credential) = parts.headers.get(header::AUTHORIZATION) {
        forwarded
            .headers_mut()
            .insert(header::AUTHORIZATION, credential.clone());
    }
    if let Some(correlation) = parts
        .extensions
        .get::<crate::http::middleware::CorrelationId>()
    {
        forwarded.extensions_mut().insert(correlation.clone());
    }
    let params = PathParams::new([("id".to_owned(), id)]);
    let response = serve_governed_with(definition, route, &params, &state, forwarded)
        .await
        .into_response();
    if response.status().is_success() {
        Ok(Redirect::to(&format!("/console/approvals?done={action}")).into_response())
    } else {
        Ok(response)
    }
}
