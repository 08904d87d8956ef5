//! Change requests as read: one request with its transitions, and lists filtered by
//! state, requester, approver, operation and target, as a viewer may see them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use neo4rs::query;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::audit::hash::from_store;
use crate::domain::{Operation, RequestState, Role};
use crate::store::{Store, StoreError};

const LIST: &str = include_str!("../../cypher/change_requests_list.cypher");
const GET: &str = include_str!("../../cypher/change_request_get.cypher");

/// Largest page.
pub const MAX_LIMIT: usize = 200;

/// Who reads: a superuser sees every request; anyone else the requests they made or
/// approved and the PENDING ones they may approve.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Internal user id.
    pub id: String,
    /// Roles.
    pub roles: Vec<Role>,
}

impl Viewer {
    fn sees_all(&self) -> bool {
        self.roles.contains(&Role::Superuser)
    }

    /// Whether this viewer may see `request` (a view as [`get`] returns it).
    fn may_see(&self, request: &Value) -> bool {
        let text = |k: &str| request[k].as_str().unwrap_or_default();
        self.sees_all()
            || text("requesterId") == self.id
            || request["approverIds"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(&self.id)))
            || (text("state") == RequestState::Pending.as_str()
                && self
                    .roles
                    .iter()
                    .any(|r| r.as_str() == text("approverRole")))
    }
}

/// List filters (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFilter {
    /// Requests in this state.
    pub state: Option<RequestState>,
    /// Made by this user id.
    pub requester: Option<String>,
    /// Approved by this user id.
    pub approver: Option<String>,
    /// Holding this operation.
    pub operation: Option<Operation>,
    /// Changing this entity id.
    pub target: Option<String>,
}

/// Where the previous page ended: opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCursor {
    t: String,
    i: String,
}

impl RequestCursor {
    /// Encodes for a response.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a client's cursor; `None` if it is not one this service issued.
    #[must_use]
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let cursor: Self = serde_json::from_slice(&bytes).ok()?;
        crate::audit::hash::is_canonical(&cursor.t).then_some(cursor)
    }
}

/// One page of requests.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPage {
    /// Requests, newest first.
    pub change_requests: Vec<Value>,
    /// Cursor of the next page, absent on the last one.
    pub next_cursor: Option<String>,
}

/// A stored request as the API shows it: the command and evidence as JSON, the
/// targets with the versions they had when the change was requested.
#[must_use]
pub fn view(mut props: Map<String, Value>) -> Value {
    let parse = |v: Option<Value>| match v {
        Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or(Value::Null),
        other => other.unwrap_or(Value::Null),
    };
    let command = parse(props.remove("command"));
    let evidence = parse(props.remove("evidence"));
    let list = |v: Option<Value>| match v {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let ids = list(props.remove("targetIds"));
    let types = list(props.remove("targetTypes"));
    let versions = list(props.remove("targetVersions"));
    let targets: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"type": types.get(i), "id": id, "version": versions.get(i)}))
        .collect();
    for key in ["auditHead", "targetTypes"] {
        props.remove(key);
    }
    props.retain(|k, _| !k.starts_with('_'));
    let mut out = Value::Object(props);
    out["command"] = command;
    out["evidence"] = evidence;
    out["targets"] = json!(targets);
    out
}

/// One request with its transitions, if it exists and `viewer` may see it.
pub async fn get(store: &Store, id: &str, viewer: &Viewer) -> Result<Option<Value>, StoreError> {
    let Some(row) = store.read_one(query(GET).param("id", id)).await? else {
        return Ok(None);
    };
    let props: Map<String, Value> = row.get("request").map_err(|e| store.decode(e))?;
    let mut transitions: Vec<Value> = row.get("transitions").map_err(|e| store.decode(e))?;
    for t in &mut transitions {
        if let Some(stamp) = t["timestamp"].as_str().and_then(|s| from_store(s).ok()) {
            t["timestamp"] = Value::String(stamp);
        }
    }
    let mut request = view(props);
    if !viewer.may_see(&request) {
        return Ok(None);
    }
    request["transitions"] = Value::Array(transitions);
    Ok(Some(request))
}

/// One page of requests matching `filter` that `viewer` may see.
pub async fn list(
    store: &Store,
    filter: &RequestFilter,
    viewer: &Viewer,
    limit: usize,
    after: Option<&RequestCursor>,
) -> Result<RequestPage, StoreError> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let roles: Vec<String> = viewer.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let statement = query(LIST)
        .param("all", viewer.sees_all())
        .param("viewer", viewer.id.as_str())
        .param("viewerRoles", roles)
        .param("state", filter.state.map(|s| s.as_str().to_owned()))
        .param("requester", filter.requester.clone())
        .param("approver", filter.approver.clone())
        .param("operation", filter.operation.map(|o| o.as_str().to_owned()))
        .param("target", filter.target.clone())
        .param("afterAt", after.map(|c| c.t.clone()))
        .param("afterId", after.map(|c| c.i.clone()))
        .param("limit", i64::try_from(limit + 1).unwrap_or(i64::MAX));
    let mut rows = store.read(statement).await?;
    let mut requests = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let props: Map<String, Value> = row.get("request").map_err(|e| store.decode(e))?;
        requests.push(view(props));
    }
    let next_cursor = if requests.len() > limit {
        requests.truncate(limit);
        requests.last().map(|r| {
            RequestCursor {
                t: r["requestedAt"].as_str().unwrap_or_default().to_owned(),
                i: r["id"].as_str().unwrap_or_default().to_owned(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok(RequestPage {
        change_requests: requests,
        next_cursor,
    })
}
