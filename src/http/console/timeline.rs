//! The timeline (the whole feed, newest first) and an actor's page (what one actor
//! did), with every filter of the API in the URL, cursor paging, and downloads of the
//! view over the API's export stream.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::page::{Chrome, html, shown_name};
use super::views::{Choice, Input, Row, Select, Timeline};
use crate::domain::{Category, EntityType, Operation, Outcome, Source, UserId};
use crate::history::{self, Scope};
use crate::http::AppState;
use crate::http::extract::{AuditReader, Caller, Path};
use crate::http::listing::{ListQuery, bad};
use crate::http::problem::ApiError;

/// The parameters a console list takes (the API's filters; empty form fields are
/// dropped), and those that carry over to the next page and the downloads.
pub(super) fn list_query(pairs: &[(String, String)]) -> Result<ListQuery, ApiError> {
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let uri: axum::http::Uri = format!("/?{encoded}")
        .parse()
        .map_err(|_| bad("query", "not a valid query"))?;
    axum::extract::Query::<ListQuery>::try_from_uri(&uri)
        .map(|axum::extract::Query(q)| q)
        .map_err(|e| bad("query", e.body_text()))
}

/// The non-empty pairs of a query string or form body.
pub(super) fn pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn query_string(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn select(
    name: &'static str,
    label: &'static str,
    values: impl Iterator<Item = &'static str>,
    kept: &[(String, String)],
) -> Select {
    let current = kept
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    Select {
        name,
        label,
        choices: values
            .map(|value| Choice {
                value,
                selected: current == Some(value),
            })
            .collect(),
    }
}

fn input(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kept: &[(String, String)],
) -> Input {
    Input {
        name,
        label,
        hint,
        value: kept
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    }
}

/// The console form of an actor: its current display name, or that it was erased.
pub(super) fn actor_name(entry: &Value) -> String {
    if entry["actor"]["erased"] == true {
        "(erased user)".to_owned()
    } else {
        shown_name(entry["actor"]["displayName"].as_str())
    }
}

/// What an entry changed, in one line.
fn summary(entry: &Value) -> String {
    let text = |k: &str| entry[k].as_str().map(str::to_owned);
    if let (Some(old), Some(new)) = (text("previousStatus"), text("newStatus")) {
        return format!("status {old} → {new}");
    }
    let fields: Vec<&str> = entry["changedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if fields.is_empty() {
        text("reason").unwrap_or_default()
    } else {
        format!("changed {}", fields.join(", "))
    }
}

/// Time to the second, for display.
pub(super) fn short_time(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(19)
        .collect::<String>()
        .replace('T', " ")
}

fn row(entry: &Value) -> Row {
    let text = |k: &str| entry[k].as_str().unwrap_or_default().to_owned();
    let entity_href = match (entry["entityType"].as_str(), entry["entityId"].as_str()) {
        (Some(t), Some(id)) => Some(format!("/console/entities/{t}/{id}")),
        _ => None,
    };
    let time = text("timestamp");
    Row {
        id: text("id"),
        time_short: short_time(&time),
        time,
        user_id: text("userId"),
        actor: actor_name(entry),
        operation: text("operation"),
        outcome: text("outcome"),
        entity: entry["entityLabel"]
            .as_str()
            .or(entry["entityType"].as_str())
            .unwrap_or("—")
            .to_owned(),
        entity_href,
        summary: summary(entry),
        category: text("category"),
        severity: text("severity"),
        sealed: entry["sealed"] == true,
    }
}

async fn list_page(
    state: &AppState,
    chrome: Chrome,
    scope: Scope,
    heading: String,
    action: String,
    raw: Option<&str>,
) -> Result<Response, ApiError> {
    let given = pairs(raw.unwrap_or_default());
    let q = list_query(&given)?;
    let request = q.page_request(scope.clone())?;
    let page = history::page(&state.store, &request).await?;
    let kept: Vec<(String, String)> = given
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "order" | "limit"))
        .collect();
    let next = page.next_cursor.as_ref().map(|cursor| {
        let mut with = kept.clone();
        with.push(("cursor".into(), cursor.clone()));
        format!("{action}?{}", query_string(&with))
    });
    let mut selects = vec![
        select(
            "entityType",
            "Entity type",
            EntityType::ALL.iter().map(|t| t.as_str()),
            &kept,
        ),
        select(
            "operation",
            "Operation",
            Operation::ALL.iter().map(|o| o.as_str()),
            &kept,
        ),
        select(
            "source",
            "Source",
            Source::ALL.iter().map(|s| s.as_str()),
            &kept,
        ),
        select(
            "outcome",
            "Outcome",
            Outcome::ALL.iter().map(|o| o.as_str()),
            &kept,
        ),
        select(
            "category",
            "Category",
            Category::ALL.iter().map(|c| c.as_str()),
            &kept,
        ),
    ];
    selects.retain(|s| !s.choices.is_empty());
    let mut inputs = Vec::new();
    if matches!(scope, Scope::All) {
        inputs.push(input("userId", "Actor id", "internal user id", &kept));
    }
    inputs.extend([
        input("entityId", "Entity id", "UUID", &kept),
        input("correlationId", "Correlation id", "", &kept),
        input("from", "From (UTC)", "2026-11-25T00:00:00Z", &kept),
        input("to", "To (UTC)", "2026-11-26T00:00:00Z", &kept),
    ]);
    let page = Timeline {
        csrf: chrome.csrf(),
        chrome,
        heading,
        action,
        selects,
        inputs,
        kept,
        rows: page.entries.iter().map(row).collect(),
        next,
    };
    Ok(html(&page))
}

/// `GET /console/timeline`.
pub async fn timeline(
    State(state): State<AppState>,
    _: AuditReader,
    chrome: Chrome,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list_page(
        &state,
        chrome,
        Scope::All,
        "Timeline".into(),
        "/console/timeline".into(),
        raw.as_deref(),
    )
    .await
}

/// `GET /console/actors/{id}`.
pub async fn actor(
    State(state): State<AppState>,
    _: AuditReader,
    chrome: Chrome,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = UserId::parse(&id).map_err(|e| bad("id", e.to_string()))?;
    list_page(
        &state,
        chrome,
        Scope::Actor(id.to_string()),
        format!("Activity of actor {id}"),
        format!("/console/actors/{id}"),
        raw.as_deref(),
    )
    .await
}

/// `POST /console/download`: the view's matches as CSV or JSON lines, through the
/// API's export (so it is recorded as an EXPORT entry first).
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    body: String,
) -> Result<Response, ApiError> {
    let given: Vec<(String, String)> = pairs(&body)
        .into_iter()
        .filter(|(k, _)| k != super::session::CSRF_FIELD)
        .collect();
    let q = list_query(&given)?;
    let name = if q.format.as_deref() == Some("csv") {
        "govtrail-audit.csv"
    } else {
        "govtrail-audit.jsonl"
    };
    let mut response = crate::http::history::export_stream(&state, &caller, &q)
        .await?
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_fields_are_dropped_and_the_rest_parse_as_api_filters() {
        let given = pairs("operation=ACTIVATE&entityType=&userId=&limit=5");
        assert_eq!(given.len(), 2);
        let q = list_query(&given).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.operation.as_deref(), Some("ACTIVATE"));
        assert!(list_query(&pairs("nonsense=1")).is_err());
    }

    #[test]
    fn rows_show_names_links_and_summaries() {
        let entry = json!({"id": "e", "timestamp": "2026-11-25T10:00:00.000001Z",
            "operation": "ACTIVATE", "outcome": "SUCCEEDED", "userId": "u",
            "actor": {"displayName": "ada@example.com", "erased": false},
            "entityType": "VersionConstraint", "entityId": "c", "entityLabel": "x ^1",
            "previousStatus": "DRAFT", "newStatus": "ACTIVE", "sealed": true,
            "category": "version-constraints", "severity": "medium"});
        let r = row(&entry);
        assert_eq!(r.actor, "(name withheld)");
        assert_eq!(r.summary, "status DRAFT → ACTIVE");
        assert_eq!(
            r.entity_href.as_deref(),
            Some("/console/entities/VersionConstraint/c")
        );
        assert_eq!(r.time_short, "2026-11-25 10:00:00");
        assert!(r.sealed);
    }
}
