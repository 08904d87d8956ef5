//! The state a governed change reads, under lock, in its transaction.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{EntityType, RelType, Role};

/// Which nodes a command locks and which of their relationships it needs.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Ids to lock and read (missing ones are simply absent from the snapshot).
    pub ids: Vec<String>,
    /// Relationships to list: (node id, type, outgoing?).
    pub rels: Vec<(String, RelType, bool)>,
    /// A token subject whose user id to look up (not locked: registering a subject
    /// twice at once fails on its unique constraint).
    pub subject: Option<String>,
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "callers pass id newtypes by value; they are Copy or consumed as text"
)]
impl Targets {
    /// Locks and reads `id`.
    #[must_use]
    pub fn node(mut self, id: impl ToString) -> Self {
        self.ids.push(id.to_string());
        self
    }

    /// Lists `id`'s outgoing relationships of `rel`.
    #[must_use]
    pub fn outgoing(mut self, id: impl ToString, rel: RelType) -> Self {
        self.rels.push((id.to_string(), rel, true));
        self
    }

    /// Lists `id`'s incoming relationships of `rel`.
    #[must_use]
    pub fn incoming(mut self, id: impl ToString, rel: RelType) -> Self {
        self.rels.push((id.to_string(), rel, false));
        self
    }

    /// Looks up the user id of a token subject.
    #[must_use]
    pub fn subject(mut self, subject: &crate::domain::Subject) -> Self {
        self.subject = Some(subject.as_str().to_owned());
        self
    }
}

/// One governed node as read.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's `id`.
    pub id: String,
    /// Its governed type (from its labels).
    pub entity_type: EntityType,
    /// Its properties, without internal ones (those starting with `_`).
    pub props: Map<String, Value>,
}

impl Node {
    /// The optimistic-concurrency version (0 if never set).
    #[must_use]
    pub fn version(&self) -> i64 {
        self.props
            .get("version")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// True for a tombstone, and for a user whose personal data was erased (it can no
    /// longer join teams or steward technologies).
    #[must_use]
    pub fn is_deleted(&self) -> bool {
        ["deleted", "erased"]
            .iter()
            .any(|k| self.props.get(*k).and_then(Value::as_bool) == Some(true))
    }

    /// A string property.
    #[must_use]
    pub fn str(&self, key: &str) -> Option<&str> {
        self.props.get(key).and_then(Value::as_str)
    }

    /// A property, `Null` when absent.
    #[must_use]
    pub fn get(&self, key: &str) -> Value {
        self.props.get(key).cloned().unwrap_or(Value::Null)
    }
}

/// A stored idempotent response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    /// Hash of the request that produced it.
    pub request_hash: String,
    /// HTTP status.
    pub status: i64,
    /// JSON body text.
    pub body: String,
    /// `ETag` value, if any.
    #[serde(default)]
    pub etag: Option<String>,
}

/// Who is asking, for decisions that depend on the person (the requester of a change
/// cannot approve it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Internal user id.
    pub id: String,
    /// Roles.
    pub roles: Vec<Role>,
}

/// Everything a command may base its decision on.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    nodes: HashMap<String, Node>,
    rels: HashMap<(String, RelType, bool), Vec<String>>,
    /// The stored response for the request's idempotency key, if any.
    pub idempotent: Option<StoredResponse>,
    /// The user id of the subject the targets asked about, if it is registered.
    pub subject_user: Option<String>,
    /// The caller.
    pub caller: Option<Caller>,
}

#[derive(Debug, Deserialize)]
struct RelRow {
    id: String,
    #[serde(rename = "type")]
    rel: String,
    dir: String,
    other: String,
}

impl Snapshot {
    /// Builds a snapshot from the read statement's columns.
    pub fn from_rows(
        nodes: Vec<Value>,
        rels: Vec<Value>,
        idem: Option<Value>,
        subject_user: Option<String>,
    ) -> Result<Self, String> {
        let mut snapshot = Self {
            subject_user,
            ..Self::default()
        };
        for raw in nodes {
            let Value::Object(mut props) = raw else {
                return Err("node row is not a map".into());
            };
            let labels = props.remove("_labels").unwrap_or(Value::Null);
            let entity_type = labels
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find_map(|l| l.parse::<EntityType>().ok())
                .ok_or("governed node without a known label")?;
            props.retain(|k, _| !k.starts_with('_'));
            let id = props
                .get("id")
                .and_then(Value::as_str)
                .ok_or("governed node without id")?
                .to_owned();
            snapshot.nodes.insert(
                id.clone(),
                Node {
                    id,
                    entity_type,
                    props,
                },
            );
        }
        for raw in rels {
            let row: RelRow = serde_json::from_value(raw).map_err(|e| e.to_string())?;
            let rel = row.rel.parse::<RelType>().map_err(|e| e.to_string())?;
            snapshot
                .rels
                .entry((row.id, rel, row.dir == "OUT"))
                .or_default()
                .push(row.other);
        }
        if let Some(value) = idem.filter(|v| !v.is_null()) {
            snapshot.idempotent = Some(serde_json::from_value(value).map_err(|e| e.to_string())?);
        }
        Ok(snapshot)
    }

    /// Records that entry `hash` now heads `id`'s chain (a second entry written in the
    /// same transaction chains on the first).
    pub fn set_head(&mut self, id: &str, hash: &str) {
        if let Some(node) = self.nodes.get_mut(id) {
            node.props
                .insert("auditHead".into(), Value::String(hash.to_owned()));
        }
    }

    /// Adds the nodes (and relationships) of another read of the same transaction.
    pub fn absorb(&mut self, other: Snapshot) {
        self.nodes.extend(other.nodes);
        self.rels.extend(other.rels);
    }

    /// The node with `id`, if it exists (tombstones included).
    #[must_use]
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.get(id)
    }

    /// The node with `id` if it exists, is of `entity_type` and is not a tombstone.
    #[must_use]
    pub fn live(&self, id: &str, entity_type: EntityType) -> Option<&Node> {
        self.nodes
            .get(id)
            .filter(|n| n.entity_type == entity_type && !n.is_deleted())
    }

    /// Ids at the other end of `id`'s outgoing `rel` relationships (as requested in targets).
    #[must_use]
    pub fn outgoing(&self, id: &str, rel: RelType) -> &[String] {
        self.rels
            .get(&(id.to_owned(), rel, true))
            .map_or(&[], Vec::as_slice)
    }

    /// Ids at the other end of `id`'s incoming `rel` relationships.
    #[must_use]
    pub fn incoming(&self, id: &str, rel: RelType) -> &[String] {
        self.rels
            .get(&(id.to_owned(), rel, false))
            .map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
impl Snapshot {
    /// A snapshot holding `nodes` (test fixture).
    pub fn with_nodes(nodes: Vec<Node>) -> Self {
        Self {
            nodes: nodes.into_iter().map(|n| (n.id.clone(), n)).collect(),
            ..Self::default()
        }
    }

    /// Adds a relationship row (test fixture).
    #[must_use]
    pub fn with_rel(mut self, id: &str, rel: RelType, outgoing: bool, other: &str) -> Self {
        self.rels
            .entry((id.to_owned(), rel, outgoing))
            .or_default()
            .push(other.to_owned());
        self
    }
}
