//! Governed rollback: an entity's governed state set back to what it was at one of its
//! earlier entries, as one change (`ROLLBACK`) that supersedes every entry it reverts.
//! The state to return to is replayed from the entity's own entries before the command
//! runs ([`Rollback::resolved`]), so a change request holds, and its digest pins, the
//! exact state an approval would restore. Pure decision; the governor prepares it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decide, conflict, entity, entity_id, joinable};
use crate::domain::{EntityType, Operation, RelType};
use crate::governance::Stamp;
use crate::governance::plan::{Decision, PlanBuilder, Rejection};
use crate::governance::snapshot::{Node, Snapshot, Targets};
use crate::history::replay::{State, governed_fields};

/// The entity types a rollback may touch: those whose every governed field is a
/// property or a relationship this module knows how to restore.
pub const ROLLBACK_TYPES: [EntityType; 7] = [
    EntityType::Team,
    EntityType::System,
    EntityType::Technology,
    EntityType::VersionConstraint,
    EntityType::TeamApproval,
    EntityType::License,
    EntityType::LicensePolicy,
];

/// Fields no governed change sets after creation: a state that differs in one of
/// them cannot be restored by a rollback.
const FIXED_FIELDS: [&str; 5] = [
    "name",
    "technologyId",
    "technologyName",
    "spdxId",
    "deleted",
];

/// A governed field held as relationships: the entity type, the field, the
/// relationship, whether it points at the entity, the type at its other end, and
/// whether the field is single-valued.
struct RelationshipField {
    entity_type: EntityType,
    field: &'static str,
    rel: RelType,
    incoming: bool,
    other: EntityType,
    single: bool,
}

const RELATIONSHIP_FIELDS: [RelationshipField; 4] = [
    RelationshipField {
        entity_type: EntityType::Team,
        field: "members",
        rel: RelType::MemberOf,
        incoming: true,
        other: EntityType::User,
        single: false,
    },
    RelationshipField {
        entity_type: EntityType::System,
        field: "owner",
        rel: RelType::Owns,
        incoming: true,
        other: EntityType::Team,
        single: true,
    },
    RelationshipField {
        entity_type: EntityType::Technology,
        field: "steward",
        rel: RelType::StewardOf,
        incoming: true,
        other: EntityType::User,
        single: true,
    },
    RelationshipField {
        entity_type: EntityType::VersionConstraint,
        field: "enforcedFor",
        rel: RelType::EnforcedFor,
        incoming: false,
        other: EntityType::Team,
        single: false,
    },
];

fn relationship(entity_type: EntityType, field: &str) -> Option<&'static RelationshipField> {
    RELATIONSHIP_FIELDS
        .iter()
        .find(|r| r.entity_type == entity_type && r.field == field)
}

/// Where to roll back to: one of the entity's entries, or an instant (the state after
/// the last entry at or before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollbackPoint {
    /// An entry of the entity's history.
    pub entry_id: Option<String>,
    /// An instant (canonical RFC 3339 UTC).
    pub at: Option<String>,
}

/// The rollback as prepared from the entity's entries: the entry it returns to, the
/// governed state then, and the later entries it reverts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resolved {
    /// The entry whose state is restored.
    pub to_entry_id: String,
    /// The governed state after that entry.
    pub target: BTreeMap<String, Value>,
    /// Every later entry of the entity (superseded by the rollback).
    pub reverts: Vec<String>,
}

/// `ROLLBACK`: set an entity's governed state back to an earlier point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rollback {
    /// The entity's type.
    pub entity_type: EntityType,
    /// The entity's id.
    pub id: String,
    /// Where to.
    pub to: RollbackPoint,
    /// Filled in from the entity's entries before the command runs.
    pub resolved: Option<Resolved>,
    /// Only answer with the difference (nothing is written). Not part of the command's
    /// canonical form: a stored rollback always runs.
    #[serde(skip)]
    pub preview: bool,
}

impl Rollback {
    /// Ids of the entities the target state relates this one to, of `other`'s type.
    fn target_ids(&self) -> Vec<String> {
        let Some(resolved) = &self.resolved else {
            return Vec::new();
        };
        RELATIONSHIP_FIELDS
            .iter()
            .filter(|r| r.entity_type == self.entity_type)
            .flat_map(|r| ids(resolved.target.get(r.field)))
            .collect()
    }
}

fn ids(value: Option<&Value>) -> BTreeSet<String> {
    match value {
        Some(Value::String(id)) => BTreeSet::from([id.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Null, absent and empty lists are one thing: no value.
fn value(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(other) => other.clone(),
    }
}

/// The entity's governed state as the snapshot holds it, in replay's shape.
fn live_state(node: &Node, s: &Snapshot) -> State {
    let mut state = State::new();
    for field in governed_fields(node.entity_type) {
        let v = match relationship(node.entity_type, field) {
            Some(r) => {
                let mut others: Vec<String> = if r.incoming {
                    s.incoming(&node.id, r.rel).to_vec()
                } else {
                    s.outgoing(&node.id, r.rel).to_vec()
                };
                others.sort();
                if r.single {
                    others.first().map_or(Value::Null, |id| json!(id))
                } else {
                    json!(others)
                }
            }
            None => match node.get(field) {
                Value::Array(mut items) => {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                    Value::Array(items)
                }
                other => other,
            },
        };
        state.insert((*field).to_owned(), value(Some(&v)));
    }
    state
}

impl Decide for Rollback {
    fn targets(&self) -> Targets {
        let mut targets = Targets::default().node(&self.id);
        for r in RELATIONSHIP_FIELDS
            .iter()
            .filter(|r| r.entity_type == self.entity_type)
        {
            targets = if r.incoming {
                targets.incoming(&self.id, r.rel)
            } else {
                targets.outgoing(&self.id, r.rel)
            };
        }
        for id in self.target_ids() {
            targets = targets.node(id);
        }
        targets
    }
    fn primary_id(&self) -> Option<String> {
        Some(self.id.clone())
    }
    fn denied_type(&self) -> Option<EntityType> {
        Some(self.entity_type)
    }
    fn decide(&self, _: Operation, s: &Snapshot, _: &Stamp) -> Result<Decision, Rejection> {
        let resolved = self.resolved.as_ref().ok_or_else(|| Rejection::Invalid {
            field: "toEntryId",
            message: "the rollback was not prepared from the entity's history".into(),
        })?;
        let node = s
            .node(&self.id)
            .filter(|n| n.entity_type == self.entity_type)
            .ok_or_else(|| Rejection::not_found(self.entity_type, &self.id, "id"))?;
        if node.is_deleted() {
            return Err(tombstone(self.entity_type, &self.id));
        }
        let live = live_state(node, s);
        let mut plan = PlanBuilder::new(entity(node), node.version());
        let mut touched = false;
        for field in governed_fields(self.entity_type) {
            let (old, new) = (value(live.get(*field)), value(resolved.target.get(*field)));
            if old == new {
                continue;
            }
            if FIXED_FIELDS.contains(field) {
                return Err(conflict(
                    "toEntryId",
                    format!(
                        "{field} differs at that point, and no governed change sets it: it cannot be rolled back"
                    ),
                ));
            }
            let Some(r) = relationship(self.entity_type, field) else {
                plan = plan.set(node, field, new);
                continue;
            };
            let (before, after) = (ids(Some(&old)), ids(Some(&new)));
            let added: Vec<String> = after.difference(&before).cloned().collect();
            let removed: Vec<String> = before.difference(&after).cloned().collect();
            for other in &added {
                let found = s.node(other).filter(|n| n.entity_type == r.other);
                if r.other == EntityType::User {
                    joinable(found, other, "toEntryId")?;
                } else if found.is_none_or(Node::is_deleted) {
                    return Err(tombstone(r.other, other));
                }
            }
            for (others, add) in [(&added, true), (&removed, false)] {
                for other in others {
                    let (from, to) = if r.incoming {
                        (other.as_str(), self.id.as_str())
                    } else {
                        (self.id.as_str(), other.as_str())
                    };
                    plan = if add {
                        plan.add_rel(r.rel, from, to)
                    } else {
                        plan.remove_rel(r.rel, from, to)
                    };
                    plan = plan.related(entity_id(r.other, other));
                }
            }
            plan = if r.single {
                plan.record(field, &old, &new)
            } else {
                plan.set_delta(field, &added, &removed)
            };
            touched = true;
        }
        if touched {
            plan = plan.touch(node);
        }
        Ok(plan
            .supersedes(resolved.reverts.clone())
            .build("the entity is already in that state: nothing to roll back"))
    }
}

fn tombstone(entity_type: EntityType, id: &str) -> Rejection {
    conflict(
        "toEntryId",
        format!("{entity_type} {id} is deleted: a rollback cannot touch a tombstone"),
    )
}
