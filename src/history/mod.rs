//! Read side of the audit trail (superuser only): the filtered feed, an entity's
//! history, an actor's activity — one keyset-paginated query over `(timestamp, id)` —
//! plus state replay ([`replay`]) and approval lineage ([`lineage`]).

pub mod checkpoints;
pub mod lineage;
pub mod replay;
pub mod requests;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use neo4rs::query;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::domain::{Category, EntityType, Operation, Outcome, Source};
use crate::store::{Store, StoreError};

const AUDIT_PAGE: &str = include_str!("../../cypher/audit_page.cypher");
const AUDIT_LOG_BY_ID: &str = include_str!("../../cypher/audit_log_by_id.cypher");

/// Most entries one page may hold.
pub const MAX_LIMIT: usize = 500;
/// Entries per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// Whose entries to page through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole log.
    All,
    /// Entries that `AUDITS` one entity (as primary or related entity).
    Entity(EntityType, String),
    /// Entries whose (hashed) `userId` names one user.
    Actor(String),
}

impl Scope {
    /// The page query's pattern, the predicate that narrows it to the scope, the
    /// timestamp it pages by and the key it sorts by. One entity's entries are read
    /// through the `audits_entity_at` index on its AUDITS edges: sorting by the index's
    /// own key (entity, then timestamp; the entity is fixed) lets Neo4j take them in
    /// index order and stop after a page, so the first page of a long history reads
    /// one page of it, not all of it.
    fn pattern(&self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::All => ("MATCH (e:AuditLog)", "", "e.timestamp", "e.timestamp"),
            Self::Entity(..) => (
                "MATCH (e:AuditLog)-[r:AUDITS]->(x:Governed)",
                "AND r.entity = $scopeId AND $scopeType IN labels(x)",
                "r.at",
                "r.entity {dir}, r.at",
            ),
            Self::Actor(_) => (
                "MATCH (e:AuditLog)",
                "AND e.userId = $scopeId",
                "e.timestamp",
                "e.timestamp",
            ),
        }
    }
}

/// Newest first (default) or oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest first.
    #[default]
    Desc,
    /// Oldest first.
    Asc,
}

/// Filters on entries; every one is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    /// Primary entity type.
    pub entity_type: Option<EntityType>,
    /// Primary entity id.
    pub entity_id: Option<String>,
    /// Operation code.
    pub operation: Option<Operation>,
    /// Acting user.
    pub user_id: Option<String>,
    /// `API`, `SBOM` or `System`.
    pub source: Option<Source>,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// Catalog category.
    pub category: Option<Category>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Inclusive lower bound on `timestamp`.
    pub from: Option<DateTime<Utc>>,
    /// Inclusive upper bound on `timestamp`.
    pub to: Option<DateTime<Utc>>,
}

impl Filters {
    /// `(predicate, parameter name, value)` for each present filter. Property names are
    /// fixed here; only values come from the request.
    fn predicates(&self) -> Vec<(&'static str, &'static str, Value)> {
        let mut out = Vec::new();
        let mut push = |predicate, name, value: Option<Value>| {
            if let Some(value) = value {
                out.push((predicate, name, value));
            }
        };
        push(
            "e.entityType = $fEntityType",
            "fEntityType",
            self.entity_type.map(|v| json!(v)),
        );
        push(
            "e.entityId = $fEntityId",
            "fEntityId",
            self.entity_id.clone().map(Value::String),
        );
        push(
            "e.operation = $fOperation",
            "fOperation",
            self.operation.map(|v| json!(v)),
        );
        push(
            "e.userId = $fUserId",
            "fUserId",
            self.user_id.clone().map(Value::String),
        );
        push(
            "e.source = $fSource",
            "fSource",
            self.source.map(|v| json!(v)),
        );
        push(
            "e.outcome = $fOutcome",
            "fOutcome",
            self.outcome.map(|v| json!(v)),
        );
        push(
            "e.category = $fCategory",
            "fCategory",
            self.category.map(|v| json!(v)),
        );
        push(
            "e.correlationId = $fCorrelationId",
            "fCorrelationId",
            self.correlation_id.clone().map(Value::String),
        );
        out
    }
}

/// Position after the last entry of a page. Opaque to clients: base64url of JSON,
/// bound to the scope, filters and order it was issued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Timestamp of the last entry (RFC 3339, microseconds).
    t: String,
    /// Id of the last entry.
    i: String,
    /// Fingerprint of scope, filters and order.
    f: String,
}

/// A cursor could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not a cursor this service issued.
    #[error("the cursor is not valid")]
    Malformed,
    /// Issued for other filters, scope or order.
    #[error("the cursor belongs to a query with other filters, scope or order")]
    Mismatch,
}

fn fingerprint(scope: &Scope, filters: &Filters, order: Order) -> String {
    let text =
        json!({ "scope": format!("{scope:?}"), "filters": filters, "order": order }).to_string();
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

impl Cursor {
    /// Encodes for a response.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a client's cursor and checks it belongs to this query.
    pub fn decode(
        text: &str,
        scope: &Scope,
        filters: &Filters,
        order: Order,
    ) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| CursorError::Malformed)?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| CursorError::Malformed)?;
        DateTime::parse_from_rfc3339(&cursor.t).map_err(|_| CursorError::Malformed)?;
        if cursor.f != fingerprint(scope, filters, order) {
            return Err(CursorError::Mismatch);
        }
        Ok(cursor)
    }
}

/// One page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Whose entries.
    pub scope: Scope,
    /// Filters.
    pub filters: Filters,
    /// Sort order.
    pub order: Order,
    /// Page size (1..=500).
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

/// One page of entries.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// Entries as stored, with `changes` as JSON, the actor's current display name and
    /// the audited entities.
    pub entries: Vec<Value>,
    /// Cursor of the next page, absent on the last one.
    pub next_cursor: Option<String>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads one page.
pub async fn page(store: &Store, request: &PageRequest) -> Result<Page, StoreError> {
    let predicates = request.filters.predicates();
    let filters = predicates.iter().fold(String::new(), |mut out, (p, _, _)| {
        out.push_str("AND ");
        out.push_str(p);
        out.push_str("\n  ");
        out
    });
    let (dir, cmp) = match request.order {
        Order::Desc => ("DESC", "<"),
        Order::Asc => ("ASC", ">"),
    };
    let (pattern, scope_filter, ts, sort) = request.scope.pattern();
    let text = AUDIT_PAGE
        .replace("{scope}", pattern)
        .replace("{scopeFilter}", scope_filter)
        .replace("{ts}", ts)
        .replace("{sort}", sort)
        .replace("{filters}", &filters)
        .replace("{dir}", dir)
        .replace("{cmp}", cmp);
    let mut from = request
        .filters
        .from
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), rfc3339);
    let mut to = request
        .filters
        .to
        .map_or_else(|| "9999-12-31T23:59:59Z".to_owned(), rfc3339);
    // The cursor also narrows the indexed time range, not only the tie-break.
    if let Some(cursor) = &request.cursor {
        match request.order {
            Order::Desc => to.clone_from(&cursor.t),
            Order::Asc => from.clone_from(&cursor.t),
        }
    }
    let (scope_id, scope_type) = match &request.scope {
        Scope::All => (None, None),
        Scope::Entity(t, id) => (Some(id.clone()), Some(t.label().to_owned())),
        Scope::Actor(id) => (Some(id.clone()), None),
    };
    let limit = i64::try_from(request.limit.clamp(1, MAX_LIMIT)).unwrap_or(50);
    let mut q = query(&text)
        .param("scopeId", scope_id)
        .param("scopeType", scope_type)
        .param("from", from)
        .param("to", to)
        .param("cursorTs", request.cursor.as_ref().map(|c| c.t.clone()))
        .param("cursorId", request.cursor.as_ref().map(|c| c.i.clone()))
        .param("limit", limit);
    for (_, name, value) in predicates {
        q = q.param(
            name,
            neo4rs::BoltType::try_from(value).map_err(StoreError::Other)?,
        );
    }
    let mut rows = store.read(q).await?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let entry: Value = row.get("entry").map_err(|e| store.decode(e))?;
        let actor = ActorName::from_row(&row).map_err(|e| store.decode(e))?;
        let audits: Value = row.get("audits").map_err(|e| store.decode(e))?;
        let sealed: bool = row.get("sealed").map_err(|e| store.decode(e))?;
        let mut view = entry_view(entry, &actor, audits);
        if let Some(map) = view.as_object_mut() {
            map.insert("sealed".into(), Value::Bool(sealed));
        }
        entries.push(view);
    }
    let next_cursor = (entries.len() == usize::try_from(limit).unwrap_or(0))
        .then(|| entries.last())
        .flatten()
        .map(|last| {
            Cursor {
                t: last["timestamp"].as_str().unwrap_or_default().to_owned(),
                i: last["id"].as_str().unwrap_or_default().to_owned(),
                f: fingerprint(&request.scope, &request.filters, request.order),
            }
            .encode()
        });
    Ok(Page {
        entries,
        next_cursor,
    })
}

/// One entry in its API form ([`entry_view`]), or `None` when no entry has `id`.
pub async fn entry(store: &Store, id: &str) -> Result<Option<Value>, StoreError> {
    let Some(row) = store
        .read_one(query(AUDIT_LOG_BY_ID).param("id", id))
        .await?
    else {
        return Ok(None);
    };
    let entry: Value = row.get("entry").map_err(|e| store.decode(e))?;
    let actor = ActorName::from_row(&row).map_err(|e| store.decode(e))?;
    let audits: Value = row.get("audits").map_err(|e| store.decode(e))?;
    Ok(Some(entry_view(entry, &actor, audits)))
}

/// What a view shows of an entry's actor besides the id the entry itself records: the
/// display name the `User` node with that id holds now (never copied onto an entry),
/// and whether its personal data was erased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorName {
    /// The display name now (`None` when never given or erased).
    pub display_name: Option<String>,
    /// True once the user's personal data was erased.
    pub erased: bool,
}

impl ActorName {
    /// From a row's `actorName` and `actorErased` columns.
    pub fn from_row(row: &neo4rs::Row) -> Result<Self, neo4rs::DeError> {
        Ok(Self {
            display_name: row.get("actorName")?,
            erased: row.get::<Option<bool>>("actorErased")?.unwrap_or(false),
        })
    }
}

/// The API form of a stored entry: `changes` parsed, the actor named by the entry's own
/// `userId` with its display name resolved now, the audited entities listed.
#[must_use]
pub fn entry_view(mut entry: Value, actor: &ActorName, audits: Value) -> Value {
    if let Some(map) = entry.as_object_mut() {
        if let Some(Value::String(text)) = map.get("changes")
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            map.insert("changes".into(), parsed);
        }
        let user_id = map.get("userId").cloned().unwrap_or(Value::Null);
        map.insert(
            "actor".into(),
            json!({ "userId": user_id, "displayName": actor.display_name, "erased": actor.erased }),
        );
        map.insert("audits".into(), audits);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_query() {
        let scope = Scope::All;
        let filters = Filters {
            operation: Some(Operation::Activate),
            ..Filters::default()
        };
        let cursor = Cursor {
            t: "2026-11-25T10:00:00.000001Z".into(),
            i: "01a2".into(),
            f: fingerprint(&scope, &filters, Order::Desc),
        };
        let text = cursor.encode();
        assert_eq!(
            Cursor::decode(&text, &scope, &filters, Order::Desc),
            Ok(cursor)
        );
        assert_eq!(
            Cursor::decode(&text, &scope, &Filters::default(), Order::Desc),
            Err(CursorError::Mismatch)
        );
        assert_eq!(
            Cursor::decode(&text, &scope, &filters, Order::Asc),
            Err(CursorError::Mismatch)
        );
        assert_eq!(
            Cursor::decode("not-a-cursor!", &scope, &filters, Order::Desc),
            Err(CursorError::Malformed)
        );
    }

    #[test]
    fn only_present_filters_become_predicates() {
        let filters = Filters {
            user_id: Some("alice".into()),
            outcome: Some(Outcome::Denied),
            ..Filters::default()
        };
        let names: Vec<&str> = filters.predicates().iter().map(|(_, n, _)| *n).collect();
        assert_eq!(names, vec!["fUserId", "fOutcome"]);
    }
}
