//! What a command decides: apply a plan (effects plus the facts the audit entry is
//! built from), do nothing, or reject the request. Pure data; no I/O.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::snapshot::Node;
use crate::domain::{EntityType, RelType};
use crate::history::replay::AFFECTED;

/// An entity an entry audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRef {
    /// Type.
    pub entity_type: EntityType,
    /// Id.
    pub id: String,
    /// Display label as it is now (stored on the entry as `entityLabel`).
    pub label: String,
}

/// A node to create.
#[derive(Debug, Clone)]
pub struct NodeCreate {
    /// Its type (label).
    pub entity_type: EntityType,
    /// All its properties, `id` and `version` included.
    pub props: Map<String, Value>,
}

/// Properties to set on an existing node (`Null` removes a property).
#[derive(Debug, Clone)]
pub struct NodeUpdate {
    /// Node id.
    pub id: String,
    /// Properties to set.
    pub set: Map<String, Value>,
}

/// A relationship to add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelChange {
    /// Type.
    pub rel: RelType,
    /// Start node id.
    pub from: String,
    /// End node id.
    pub to: String,
}

/// The graph writes of a change.
#[derive(Debug, Clone, Default)]
pub struct Effects {
    /// Nodes to create.
    pub creates: Vec<NodeCreate>,
    /// Nodes to update.
    pub updates: Vec<NodeUpdate>,
    /// Relationships to add.
    pub rel_adds: Vec<RelChange>,
    /// Relationships to remove.
    pub rel_removes: Vec<RelChange>,
}

/// A change to apply.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The entity the operation is about.
    pub primary: EntityRef,
    /// Other entities it touches (each gets an AUDITS edge too).
    pub related: Vec<EntityRef>,
    /// True when the primary entity is created by this change (HTTP 201).
    pub created: bool,
    /// The primary entity's version after the change (its new ETag).
    pub version: i64,
    /// Status-like value before (`previousStatus`).
    pub previous_status: Option<String>,
    /// Status-like value after (`newStatus`).
    pub new_status: Option<String>,
    /// Field → `{old, new}` (or `{added, removed}` for set-valued fields), for replay.
    pub changes: BTreeMap<String, Value>,
    /// Audit entries this decision supersedes (a revocation supersedes its approval).
    pub supersedes: Vec<String>,
    /// The writes.
    pub effects: Effects,
}

/// A request that changes nothing: answered, not written.
#[derive(Debug, Clone)]
pub struct NoOp {
    /// The entity as it stands.
    pub primary: EntityRef,
    /// Its version.
    pub version: i64,
    /// Why nothing changed.
    pub detail: String,
}

/// A command's verdict.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Apply it.
    Apply(Box<Plan>),
    /// Nothing to do.
    NoOp(NoOp),
    /// The last approval of a change request: run its stored command (decided once
    /// the command's targets are read too).
    Execute(Box<super::commands::Execution>),
}

/// Why a command refused, after reading the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A referenced entity does not exist (or is a tombstone).
    #[error("{entity} {id} does not exist")]
    NotFound {
        /// Entity type.
        entity: EntityType,
        /// The id asked for.
        id: String,
        /// Request field that named it.
        field: &'static str,
    },
    /// The entity's current state does not allow the operation.
    #[error("{field}: {message}")]
    Conflict {
        /// The field whose state is in the way.
        field: &'static str,
        /// What is in the way.
        message: String,
    },
    /// The caller may not do this to this entity, whatever their roles (the requester
    /// of a change approving it): refused with 403 and a DENIED entry.
    #[error("{message}")]
    Forbidden {
        /// Why.
        message: String,
    },
    /// A value is invalid given the current state.
    #[error("{field}: {message}")]
    Invalid {
        /// Field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Rejection {
    /// Shorthand for a missing entity.
    #[must_use]
    pub fn not_found(entity: EntityType, id: &str, field: &'static str) -> Self {
        Self::NotFound {
            entity,
            id: id.to_owned(),
            field,
        }
    }
}

/// Builds a plan while recording every field change exactly once.
#[derive(Debug)]
pub struct PlanBuilder {
    plan: Plan,
    bumped: Vec<String>,
}

impl PlanBuilder {
    /// A plan about `primary`, whose current version is `version` (0 if it is created).
    #[must_use]
    pub fn new(primary: EntityRef, version: i64) -> Self {
        Self {
            plan: Plan {
                primary,
                related: Vec::new(),
                created: false,
                version,
                previous_status: None,
                new_status: None,
                changes: BTreeMap::new(),
                supersedes: Vec::new(),
                effects: Effects::default(),
            },
            bumped: Vec::new(),
        }
    }

    /// Creates the primary entity with `props` (the caller gives `id`); every
    /// property becomes a change from `null`.
    #[must_use]
    pub fn create(mut self, props: Map<String, Value>) -> Self {
        for (key, value) in &props {
            if key != "id" && !value.is_null() {
                self.plan
                    .changes
                    .insert(key.clone(), json!({ "old": Value::Null, "new": value }));
            }
        }
        let mut props = props;
        props.retain(|_, v| !v.is_null());
        props.insert("version".into(), json!(1));
        self.plan.effects.creates.push(NodeCreate {
            entity_type: self.plan.primary.entity_type,
            props,
        });
        self.plan.created = true;
        self.plan.version = 1;
        self
    }

    /// Creates a supporting node (not the primary), e.g. the `User` added to a team or
    /// a `TeamApproval` on first use. Not recorded in `changes`.
    #[must_use]
    pub fn create_other(mut self, entity_type: EntityType, mut props: Map<String, Value>) -> Self {
        props.retain(|_, v| !v.is_null());
        // Creating the entity the change is about (a team approval on first use) is a create.
        if entity_type == self.plan.primary.entity_type
            && props.get("id").and_then(Value::as_str) == Some(self.plan.primary.id.as_str())
        {
            self.plan.created = true;
        }
        props.insert("version".into(), json!(1));
        self.plan
            .effects
            .creates
            .push(NodeCreate { entity_type, props });
        self
    }

    /// Adds bookkeeping `key` to the primary entity being created (a natural key, a
    /// subject), without recording it in `changes`.
    #[must_use]
    pub fn bookkeeping(mut self, key: &str, value: Value) -> Self {
        let id = self.plan.primary.id.clone();
        if let Some(create) = self
            .plan
            .effects
            .creates
            .iter_mut()
            .find(|c| c.props.get("id").and_then(Value::as_str) == Some(id.as_str()))
        {
            create.props.insert(key.to_owned(), value);
        }
        self
    }

    /// Sets `key` on the primary `node` to `new`, recording `{old, new}`; a value equal
    /// to the current one is skipped.
    #[must_use]
    pub fn set(mut self, node: &Node, key: &str, new: Value) -> Self {
        let old = node.get(key);
        if old == new {
            return self;
        }
        self.plan
            .changes
            .insert(key.to_owned(), json!({ "old": old, "new": new }));
        self.write(&node.id, node.version(), key, new);
        self
    }

    /// Sets `key` on another entity the change touches (`node` is not the primary),
    /// recording `{old, new}` under `changes.affected.<id>.<key>` so replaying that
    /// entity's entries reaches the same state; a value equal to the current one is
    /// skipped. The caller names the entity as related.
    #[must_use]
    pub fn set_affected(mut self, node: &Node, key: &str, new: Value) -> Self {
        let old = node.get(key);
        if old == new {
            return self;
        }
        let affected = self
            .plan
            .changes
            .entry(AFFECTED.to_owned())
            .or_insert_with(|| json!({}));
        if let Some(map) = affected.as_object_mut() {
            let fields = map.entry(node.id.clone()).or_insert_with(|| json!({}));
            if let Some(fields) = fields.as_object_mut() {
                fields.insert(key.to_owned(), json!({ "old": old, "new": new }));
            }
        }
        self.write(&node.id, node.version(), key, new);
        self
    }

    /// Sets `key` on a node without recording it in `changes` (bookkeeping such as
    /// `deletedAt`), still bumping that node's version.
    #[must_use]
    pub fn set_quietly(mut self, node: &Node, key: &str, new: Value) -> Self {
        self.write(&node.id, node.version(), key, new);
        self
    }

    /// Records a set-valued field change (`{added, removed}`) on the primary entity.
    #[must_use]
    pub fn set_delta(mut self, key: &str, added: &[String], removed: &[String]) -> Self {
        self.plan.changes.insert(
            key.to_owned(),
            json!({ "added": added, "removed": removed }),
        );
        self
    }

    /// Records a single-valued relationship field change (`{old, new}`) without a
    /// property write (the relationship itself is the state).
    #[must_use]
    pub fn record(mut self, key: &str, old: &Value, new: &Value) -> Self {
        self.plan
            .changes
            .insert(key.to_owned(), json!({ "old": old, "new": new }));
        self
    }

    /// Bumps `node`'s version because its governed relationships changed.
    #[must_use]
    pub fn touch(mut self, node: &Node) -> Self {
        self.bump(&node.id, node.version());
        self
    }

    /// Adds a relationship.
    #[must_use]
    pub fn add_rel(mut self, rel: RelType, from: &str, to: &str) -> Self {
        self.plan.effects.rel_adds.push(RelChange {
            rel,
            from: from.to_owned(),
            to: to.to_owned(),
        });
        self
    }

    /// Removes a relationship.
    #[must_use]
    pub fn remove_rel(mut self, rel: RelType, from: &str, to: &str) -> Self {
        self.plan.effects.rel_removes.push(RelChange {
            rel,
            from: from.to_owned(),
            to: to.to_owned(),
        });
        self
    }

    /// Another entity this change touches.
    #[must_use]
    pub fn related(mut self, entity: EntityRef) -> Self {
        if entity != self.plan.primary && !self.plan.related.contains(&entity) {
            self.plan.related.push(entity);
        }
        self
    }

    /// `previousStatus` / `newStatus`.
    #[must_use]
    pub fn status(mut self, previous: Option<String>, new: Option<String>) -> Self {
        self.plan.previous_status = previous;
        self.plan.new_status = new;
        self
    }

    /// Entries this decision supersedes.
    #[must_use]
    pub fn supersedes(mut self, entries: Vec<String>) -> Self {
        self.plan.supersedes = entries;
        self
    }

    /// The plan, or a no-op if nothing changed.
    #[must_use]
    pub fn build(self, noop_detail: impl Into<String>) -> Decision {
        let plan = self.plan;
        let writes = &plan.effects;
        if plan.changes.is_empty()
            && writes.creates.is_empty()
            && writes.rel_adds.is_empty()
            && writes.rel_removes.is_empty()
        {
            return Decision::NoOp(NoOp {
                primary: plan.primary,
                version: plan.version,
                detail: noop_detail.into(),
            });
        }
        Decision::Apply(Box::new(plan))
    }

    fn write(&mut self, id: &str, version: i64, key: &str, value: Value) {
        self.bump(id, version);
        if let Some(update) = self.plan.effects.updates.iter_mut().find(|u| u.id == id) {
            update.set.insert(key.to_owned(), value);
        }
    }

    fn bump(&mut self, id: &str, version: i64) {
        if self.bumped.iter().any(|b| b == id) {
            return;
        }
        self.bumped.push(id.to_owned());
        let mut set = Map::new();
        set.insert("version".into(), json!(version + 1));
        self.plan.effects.updates.push(NodeUpdate {
            id: id.to_owned(),
            set,
        });
        if id == self.plan.primary.id {
            self.plan.version = version + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, props: Value) -> Node {
        let Value::Object(props) = props else {
            panic!("map")
        };
        Node {
            id: id.into(),
            entity_type: EntityType::Team,
            props,
        }
    }

    fn team_ref(id: &str) -> EntityRef {
        EntityRef {
            entity_type: EntityType::Team,
            id: id.into(),
            label: "t".into(),
        }
    }

    #[test]
    fn unchanged_values_make_a_noop() {
        let t = node("t", json!({"id": "t", "name": "a", "version": 3}));
        let decision = PlanBuilder::new(team_ref("t"), 3)
            .set(&t, "name", json!("a"))
            .build("same name");
        assert!(matches!(decision, Decision::NoOp(NoOp { version: 3, .. })));
    }

    #[test]
    fn a_change_records_old_and_new_and_bumps_the_version_once() {
        let t = node(
            "t",
            json!({"id": "t", "name": "a", "areas": [], "version": 3}),
        );
        let Decision::Apply(plan) = PlanBuilder::new(team_ref("t"), 3)
            .set(&t, "name", json!("b"))
            .set(&t, "areas", json!(["x"]))
            .build("")
        else {
            panic!("expected a plan")
        };
        assert_eq!(plan.version, 4);
        assert_eq!(plan.changes["name"], json!({"old": "a", "new": "b"}));
        assert_eq!(plan.effects.updates.len(), 1);
        assert_eq!(
            Value::Object(plan.effects.updates[0].set.clone()),
            json!({"version": 4, "name": "b", "areas": ["x"]})
        );
    }

    #[test]
    fn creating_records_every_property_as_new() {
        let mut props = Map::new();
        props.insert("id".into(), json!("t"));
        props.insert("name".into(), json!("core"));
        props.insert("eol".into(), Value::Null);
        let Decision::Apply(plan) = PlanBuilder::new(team_ref("t"), 0).create(props).build("")
        else {
            panic!("expected a plan")
        };
        assert!(plan.created);
        assert_eq!(plan.version, 1);
        assert_eq!(plan.changes.keys().collect::<Vec<_>>(), vec!["name"]);
        assert_eq!(
            plan.effects.creates[0].props.get("version"),
            Some(&json!(1))
        );
        assert!(!plan.effects.creates[0].props.contains_key("eol"));
    }
}
