//! An entity's page: its current state beside the replay of its entries (or the
//! replayed state as of an instant), its history with a field-by-field diff of each
//! entry, its approval lineage drawn as SVG, and the download of its signed lineage
//! packet with the command that verifies it offline.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::graph;
use super::page::{Chrome, html, shown};
use super::timeline::{actor_name, list_query, pairs, short_time};
use super::views::{EntityPage, FieldChange, HistoryEntry, VerifyPage};
use crate::history::{self, Scope, lineage, replay};
use crate::http::AppState;
use crate::http::extract::{AuditReader, Caller, Path};
use crate::http::listing::{bad, entity as entity_of, not_found};
use crate::http::problem::ApiError;

/// An as-of instant: RFC 3339, or a date and time without a zone read as UTC (what a
/// `datetime-local` field sends).
fn instant(text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| t.and_utc())
    .ok_or_else(|| bad("at", "must be a date and time, e.g. 2026-11-25T10:00:00Z"))
}

/// The field-by-field diff of an entry's `changes`.
fn diff(changes: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let Some(fields) = changes.as_object() else {
        return out;
    };
    for (field, change) in fields {
        if field == "affected" {
            // A retirement: field changes of every affected entity.
            for (id, inner) in change.as_object().into_iter().flatten() {
                for item in diff(inner) {
                    out.push(FieldChange {
                        field: format!("{id} · {}", item.field),
                        ..item
                    });
                }
            }
        } else if change.get("old").is_some() || change.get("new").is_some() {
            out.push(FieldChange {
                field: field.clone(),
                old: shown(&change["old"]),
                new: shown(&change["new"]),
            });
        } else if change.get("added").is_some() || change.get("removed").is_some() {
            out.push(FieldChange {
                field: field.clone(),
                old: format!("removed {}", shown(&change["removed"])),
                new: format!("added {}", shown(&change["added"])),
            });
        } else {
            out.push(FieldChange {
                field: field.clone(),
                old: "—".to_owned(),
                new: shown(change),
            });
        }
    }
    out
}

fn history_entry(entry: &Value) -> HistoryEntry {
    let text = |k: &str| entry[k].as_str().unwrap_or_default().to_owned();
    let time = text("timestamp");
    HistoryEntry {
        id: text("id"),
        time_short: short_time(&time),
        time,
        operation: text("operation"),
        outcome: text("outcome"),
        user_id: text("userId"),
        actor: actor_name(entry),
        reason: entry["reason"].as_str().map(str::to_owned),
        diff: diff(&entry["changes"]),
        sealed: entry["sealed"] == true,
    }
}

/// `GET /console/entities/{type}/{id}` (`?at=` for the state as of an instant,
/// `?cursor=` for older history).
pub async fn entity(
    State(state): State<AppState>,
    _: AuditReader,
    chrome: Chrome,
    Path((type_text, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (entity_type, id) = entity_of(&type_text, &id)?;
    let store = &state.store;
    let given = pairs(raw.as_deref().unwrap_or_default());
    let param = |name: &str| {
        given
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let at = param("at").map(|t| instant(&t)).transpose()?;
    let (fields, consistency) = if let Some(at) = at {
        let entries = replay::entries(store, entity_type, &id, Some(at)).await?;
        if entries.is_empty() && !replay::exists(store, entity_type, &id).await? {
            return Err(not_found(entity_type, &id));
        }
        (replay::fold(&id, entity_type, &entries), None)
    } else {
        let comparison = replay::compare(store, entity_type, &id).await?;
        let Some(live) = comparison.live else {
            return Err(not_found(entity_type, &id));
        };
        let sentence = if comparison.consistent {
            format!(
                "Consistent: replaying its {} entries gives exactly the live state.",
                comparison.entries
            )
        } else {
            format!(
                "Inconsistent: the replay of its {} entries differs from the live graph in {}. Run `govtrail check-replay`.",
                comparison.entries,
                comparison.differing_fields.join(", ")
            )
        };
        (live, Some((comparison.consistent, sentence)))
    };
    let cursor: Vec<(String, String)> = param("cursor")
        .map(|c| vec![("cursor".to_owned(), c)])
        .unwrap_or_default();
    let request = list_query(&cursor)?.page_request(Scope::Entity(entity_type, id.clone()))?;
    let page = history::page(store, &request).await?;
    let lineage = lineage::lineage(store, entity_type, &id, 2).await?;
    let self_href = format!("/console/entities/{}/{id}", entity_type.as_str());
    let label = page
        .entries
        .first()
        .and_then(|e| e["entityLabel"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            fields
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| id.clone());
    let view = EntityPage {
        csrf: chrome.csrf(),
        chrome,
        entity_type: entity_type.as_str().to_owned(),
        label,
        at: at.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        at_input: param("at").unwrap_or_default(),
        consistency,
        state: fields.iter().map(|(k, v)| (k.clone(), shown(v))).collect(),
        history: page.entries.iter().map(history_entry).collect(),
        next: page
            .next_cursor
            .map(|c| format!("{self_href}?cursor={}", urlencode(&c))),
        lineage_svg: graph::svg(&lineage)
            .unwrap_or_else(|| "<p>No decisions to draw yet.</p>".to_owned()),
        verify_command: format!(
            "govtrail verify-export govtrail-{}-{id}.dsse.json --public-key govtrail-public.pem",
            entity_type.as_str()
        ),
        self_href,
        id,
    };
    Ok(html(&view))
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `POST /console/entities/{type}/{id}/packet`: the signed lineage packet, built and
/// recorded exactly as the API's export.
pub async fn packet(
    State(state): State<AppState>,
    caller: Caller,
    Path((type_text, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    crate::http::history::packet(&state, &caller, &type_text, &id).await
}

/// `GET /console/entities/{type}/{id}/verify`: the entity's evidence verified now
/// (see [`crate::export::packet::verify_now`]).
pub async fn verify(
    State(state): State<AppState>,
    _: AuditReader,
    caller: Caller,
    chrome: Chrome,
    Path((type_text, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (entity_type, id) = entity_of(&type_text, &id)?;
    let Some(key) = state.signing_key.as_deref() else {
        return Err(ApiError::NotConfigured(
            "no signing key is configured: there are no checkpoints to verify against".into(),
        ));
    };
    let request = crate::export::packet::ExportRequest {
        exporter: crate::export::packet::Exporter {
            user_id: caller.actor.id().to_string(),
            roles: caller
                .actor
                .principal()
                .roles
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
        export_entry_id: uuid::Uuid::now_v7().to_string(),
        exported_at: Utc::now(),
        policy_version: state.governor.policies().version().to_owned(),
    };
    let Some(verdict) =
        crate::export::packet::verify_now(&state.store, key, entity_type, &id, request).await?
    else {
        return Err(not_found(entity_type, &id));
    };
    let page = VerifyPage {
        chrome,
        entity_type: entity_type.as_str().to_owned(),
        label: verdict.subject.clone().unwrap_or_else(|| id.clone()),
        valid: verdict.valid,
        summary: format!(
            "{} entries, {} with inclusion proofs verified against {} signed checkpoints",
            verdict.entries, verdict.sealed, verdict.checkpoints
        ),
        problems: verdict.problems,
        warnings: verdict.warnings,
        back: format!("/console/entities/{}/{id}", entity_type.as_str()),
    };
    Ok(html(&page))
}

/// `GET /console/public-key.pem`: the key lineage packets are verified with.
pub async fn public_key(State(state): State<AppState>, _: AuditReader) -> Response {
    match state.checkpoint_keys.first() {
        Some(key) => (
            [
                (header::CONTENT_TYPE, "application/x-pem-file"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"govtrail-public.pem\"",
                ),
            ],
            key.public_key_pem.clone(),
        )
            .into_response(),
        None => ApiError::NotConfigured("no signing key is configured".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_show_old_and_new_values_sets_and_affected_entities() {
        let changes = json!({
            "status": {"old": "DRAFT", "new": "ACTIVE"},
            "members": {"added": ["u1"], "removed": []},
            "affected": {"c1": {"status": {"old": "ACTIVE", "new": "INACTIVE"}}}
        });
        let rows: Vec<(String, String, String)> = diff(&changes)
            .into_iter()
            .map(|c| (c.field, c.old, c.new))
            .collect();
        assert!(rows.contains(&("status".into(), "DRAFT".into(), "ACTIVE".into())));
        assert!(rows.contains(&(
            "members".into(),
            "removed []".into(),
            "added [\"u1\"]".into()
        )));
        assert!(rows.contains(&("c1 · status".into(), "ACTIVE".into(), "INACTIVE".into())));
    }

    #[test]
    fn as_of_instants_take_rfc3339_or_a_local_date_time_as_utc() {
        let want = "2026-11-25T10:00:00Z";
        for text in [
            want,
            "2026-11-25T10:00",
            "2026-11-25T10:00:00",
            "2026-11-25T11:00:00+01:00",
        ] {
            let got = instant(text).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
            assert_eq!(got.ok().as_deref(), Some(want), "{text}");
        }
        assert!(instant("yesterday").is_err());
    }
}
