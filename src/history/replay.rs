//! Replay: an entity's governed state rebuilt from its audit entries alone, and the
//! same state read from the live graph, in one shape so they can be compared
//! (DESIGN invariant 3: replaying an entity's entries reproduces its current state).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use neo4rs::query;
use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{EntityType, Operation};
use crate::store::{Store, StoreError};

/// The key of an entry's `changes` that holds the field changes of entities other
/// than its primary one: `{"<id>": {"<field>": {"old": .., "new": ..}}}`.
pub const AFFECTED: &str = "affected";

const ENTITY_ENTRIES: &str = include_str!("../../cypher/entity_entries.cypher");
const ENTITY_EXISTS: &str = include_str!("../../cypher/entity_exists.cypher");
const ENTITY_STATE: &str = include_str!("../../cypher/entity_state.cypher");
const GOVERNED_ENTITIES: &str = include_str!("../../cypher/governed_entities.cypher");

/// Governed state: field → value; set-valued fields are sorted arrays.
pub type State = BTreeMap<String, Value>;

/// The fields that make up an entity type's governed state. Bookkeeping (`version`,
/// `deletedAt`, names copied for labels) is not governed state.
#[must_use]
pub fn governed_fields(entity_type: EntityType) -> &'static [&'static str] {
    match entity_type {
        EntityType::Team => &["name", "responsibilityAreas", "deleted", "members"],
        EntityType::System => &["name", "criticality", "deleted", "owner"],
        EntityType::Technology => &["name", "riskLevel", "lifecycle", "deleted", "steward"],
        EntityType::VersionConstraint => &[
            "technologyId",
            "technologyName",
            "range",
            "status",
            "deleted",
            "enforcedFor",
        ],
        EntityType::License => &["spdxId", "decision"],
        EntityType::LicensePolicy => &["whitelistEnabled"],
        EntityType::TeamApproval => &[
            "timeCategory",
            "eolDate",
            "migrationTargetId",
            "approvedRanges",
        ],
        EntityType::User => &["teams", "stewardOf", "erased"],
        EntityType::ChangeRequest => &[
            "state",
            "operation",
            "commandDigest",
            "targetIds",
            "approvalsRequired",
            "approverRole",
            "approverIds",
            "expiresAt",
            "evidence",
            "failure",
            "breakGlass",
            "reviewState",
            "reviewedBy",
        ],
        EntityType::Version => &[],
    }
}

/// One entry as replay needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayEntry {
    /// Entry id.
    pub id: String,
    /// Primary entity of the entry.
    pub entity_id: String,
    /// Operation.
    pub operation: Option<Operation>,
    /// Parsed `changes`.
    pub changes: Value,
    /// Timestamp text.
    pub timestamp: String,
}

fn set_field(state: &mut State, field: &str, add: &[Value], remove: &[Value]) {
    let mut set: BTreeSet<String> = state
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for v in add.iter().filter_map(Value::as_str) {
        set.insert(v.to_owned());
    }
    for v in remove.iter().filter_map(Value::as_str) {
        set.remove(v);
    }
    state.insert(field.to_owned(), json!(set));
}

/// Folds entries (oldest first) into the state of `entity_id`.
#[must_use]
pub fn fold(entity_id: &str, entity_type: EntityType, entries: &[ReplayEntry]) -> State {
    let mut state = State::new();
    for entry in entries {
        let Some(changes) = entry.changes.as_object() else {
            continue;
        };
        if entry.entity_id == entity_id {
            apply(&mut state, changes);
            continue;
        }
        // Field changes the entry made to this entity beside its primary one.
        if let Some(Value::Object(mine)) = changes.get(AFFECTED).and_then(|a| a.get(entity_id)) {
            apply(&mut state, mine);
        }
        // The entity is a related one: apply the other side of relationship changes.
        let other = json!(entry.entity_id);
        let me = json!(entity_id);
        match (entity_type, entry.operation) {
            (EntityType::User, Some(Operation::AddTeamMember)) => {
                set_field(&mut state, "teams", &[other], &[]);
            }
            (EntityType::User, Some(Operation::RemoveTeamMember)) => {
                set_field(&mut state, "teams", &[], &[other]);
            }
            (EntityType::User, Some(Operation::Rollback)) => {
                // A rollback of a team's members names each user it adds or removes.
                let members = changes.get("members");
                let has = |k: &str| {
                    members
                        .and_then(|m| m.get(k))
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.contains(&me))
                };
                if has("added") {
                    set_field(&mut state, "teams", std::slice::from_ref(&other), &[]);
                }
                if has("removed") {
                    set_field(&mut state, "teams", &[], std::slice::from_ref(&other));
                }
                steward_side(&mut state, changes, &me, &other);
            }
            (
                EntityType::User,
                Some(
                    Operation::AssignSteward
                    | Operation::RemoveSteward
                    | Operation::RetireTechnology,
                ),
            ) => {
                steward_side(&mut state, changes, &me, &other);
            }
            _ => {}
        }
    }
    normalize(entity_type, state)
}

/// Applies `{field: {old, new} | {added, removed}}` to `state`.
fn apply(state: &mut State, changes: &serde_json::Map<String, Value>) {
    for (field, change) in changes {
        let list = |k: &str| {
            change
                .get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        if change.get("added").is_some() || change.get("removed").is_some() {
            set_field(state, field, &list("added"), &list("removed"));
        } else {
            match change.get("new") {
                Some(Value::Null) | None => state.remove(field),
                Some(value) => state.insert(field.clone(), value.clone()),
            };
        }
    }
}

/// The user's side of a technology's steward change: `stewardOf` gains or loses it.
fn steward_side(
    state: &mut State,
    changes: &serde_json::Map<String, Value>,
    me: &Value,
    technology: &Value,
) {
    let Some(steward) = changes.get("steward") else {
        return;
    };
    if steward.get("new") == Some(me) {
        set_field(state, "stewardOf", std::slice::from_ref(technology), &[]);
    }
    if steward.get("old") == Some(me) {
        set_field(state, "stewardOf", &[], std::slice::from_ref(technology));
    }
}

/// Keeps only governed fields; empty sets count as absent so "never had members" and
/// "had members, all removed" compare equal.
fn normalize(entity_type: EntityType, mut state: State) -> State {
    let fields = governed_fields(entity_type);
    state.retain(|k, v| {
        fields.contains(&k.as_str()) && !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty())
    });
    state
}

/// The entries of an entity up to `at` (all when `None`), oldest first.
pub async fn entries(
    store: &Store,
    entity_type: EntityType,
    id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Vec<ReplayEntry>, StoreError> {
    let mut rows = store
        .read(
            query(ENTITY_ENTRIES)
                .param("id", id)
                .param("type", entity_type.label())
                .param(
                    "at",
                    at.map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true)),
                ),
        )
        .await?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let e: Value = row.get("entry").map_err(|e| store.decode(e))?;
        let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        out.push(ReplayEntry {
            id: text("id"),
            entity_id: text("entityId"),
            operation: e["operation"].as_str().and_then(|o| o.parse().ok()),
            changes: serde_json::from_str(&text("changes")).unwrap_or(Value::Null),
            timestamp: text("timestamp"),
        });
    }
    Ok(out)
}

/// The live state of an entity, or `None` if it does not exist.
pub async fn live(
    store: &Store,
    entity_type: EntityType,
    id: &str,
) -> Result<Option<State>, StoreError> {
    let statement = query(ENTITY_STATE)
        .param("id", id)
        .param("type", entity_type.label());
    let Some(row) = store.read_one(statement).await? else {
        return Ok(None);
    };
    let mut state: State = row
        .get::<serde_json::Map<String, Value>>("props")
        .map_err(|e| store.decode(e))?
        .into_iter()
        .collect();
    let mut sorted = |name: &str, field: &str| -> Result<(), StoreError> {
        let mut ids: Vec<String> = row.get(name).map_err(|e| store.decode(e))?;
        ids.sort();
        state.insert(field.to_owned(), json!(ids));
        Ok(())
    };
    sorted("members", "members")?;
    sorted("enforcedFor", "enforcedFor")?;
    sorted("teams", "teams")?;
    sorted("stewardOf", "stewardOf")?;
    let single = |name: &str| -> Result<Value, StoreError> {
        let ids: Vec<String> = row.get(name).map_err(|e| store.decode(e))?;
        Ok(ids.first().map_or(Value::Null, |id| json!(id)))
    };
    let owner = single("owners")?;
    let steward = single("stewards")?;
    state.insert("owner".into(), owner);
    state.insert("steward".into(), steward);
    if let Some(Value::Array(areas)) = state.get_mut("responsibilityAreas") {
        areas.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    }
    Ok(Some(normalize(entity_type, state)))
}

/// Whether the entity exists (tombstones included): one index seek.
pub async fn exists(store: &Store, entity_type: EntityType, id: &str) -> Result<bool, StoreError> {
    let statement = query(ENTITY_EXISTS)
        .param("id", id)
        .param("type", entity_type.label());
    Ok(store.read_one(statement).await?.is_some())
}

/// Replay beside the live graph.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// State rebuilt from entries.
    pub replayed: State,
    /// State read from the graph (`None` if the entity is gone).
    pub live: Option<State>,
    /// True when they are equal.
    pub consistent: bool,
    /// Fields whose values differ.
    pub differing_fields: Vec<String>,
    /// Entries replayed.
    pub entries: usize,
}

/// Replays all entries of an entity and compares with the live graph.
pub async fn compare(
    store: &Store,
    entity_type: EntityType,
    id: &str,
) -> Result<Comparison, StoreError> {
    let entries = entries(store, entity_type, id, None).await?;
    let replayed = fold(id, entity_type, &entries);
    let live = live(store, entity_type, id).await?;
    let empty = State::new();
    let live_state = live.as_ref().unwrap_or(&empty);
    let mut differing: BTreeSet<String> = BTreeSet::new();
    for key in replayed.keys().chain(live_state.keys()) {
        if replayed.get(key) != live_state.get(key) {
            differing.insert(key.clone());
        }
    }
    Ok(Comparison {
        consistent: differing.is_empty() && live.is_some(),
        differing_fields: differing.into_iter().collect(),
        entries: entries.len(),
        replayed,
        live,
    })
}

/// One entity whose replay disagrees with the graph.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mismatch {
    /// Entity type.
    pub entity_type: EntityType,
    /// Entity id.
    pub entity_id: String,
    /// The comparison.
    pub comparison: Comparison,
}

/// Totals of a whole-graph check.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckSummary {
    /// Entities checked.
    pub checked: usize,
    /// Entities whose replay disagrees.
    pub mismatches: usize,
}

/// Compares replay with the live graph for every governed entity, calling `report` for
/// each mismatch.
pub async fn check_all(
    store: &Store,
    mut report: impl FnMut(&Mismatch),
) -> Result<CheckSummary, StoreError> {
    let mut summary = CheckSummary::default();
    let mut after = String::new();
    loop {
        let mut rows = store
            .read(
                query(GOVERNED_ENTITIES)
                    .param("after", after.as_str())
                    .param("limit", 500),
            )
            .await?;
        let mut batch = Vec::new();
        while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
            let id: String = row.get("id").unwrap_or_default();
            let entity_type: Option<String> = row.get("type").unwrap_or(None);
            batch.push((id, entity_type));
        }
        let Some((last, _)) = batch.last() else {
            return Ok(summary);
        };
        after.clone_from(last);
        for (id, entity_type) in batch {
            let Some(entity_type) = entity_type.and_then(|t| t.parse::<EntityType>().ok()) else {
                continue;
            };
            summary.checked += 1;
            let comparison = compare(store, entity_type, &id).await?;
            if !comparison.consistent {
                summary.mismatches += 1;
                report(&Mismatch {
                    entity_type,
                    entity_id: id,
                    comparison,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(entity_id: &str, op: Operation, changes: Value) -> ReplayEntry {
        ReplayEntry {
            id: String::new(),
            entity_id: entity_id.into(),
            operation: Some(op),
            changes,
            timestamp: String::new(),
        }
    }

    #[test]
    fn primary_changes_fold_into_fields_and_sets() {
        let entries = vec![
            entry(
                "t",
                Operation::CreateTeam,
                json!({"name": {"old": null, "new": "core"}}),
            ),
            entry(
                "t",
                Operation::AddTeamMember,
                json!({"members": {"added": ["b", "a"], "removed": []}}),
            ),
            entry(
                "t",
                Operation::RemoveTeamMember,
                json!({"members": {"added": [], "removed": ["b"]}}),
            ),
            entry(
                "t",
                Operation::DeleteTeam,
                json!({"name": {"old": "core", "new": null}, "deleted": {"old": null, "new": true}}),
            ),
        ];
        let state = fold("t", EntityType::Team, &entries);
        assert_eq!(state.get("members"), Some(&json!(["a"])));
        assert_eq!(state.get("deleted"), Some(&json!(true)));
        assert!(!state.contains_key("name"));
    }

    #[test]
    fn an_entity_replays_what_another_entitys_entry_did_to_it() {
        let retire = json!({
            "lifecycle": {"old": "ACTIVE", "new": "RETIRED"},
            "affected": {
                "c": {"status": {"old": "ACTIVE", "new": "INACTIVE"}},
                "other": {"status": {"old": "DRAFT", "new": "ACTIVE"}},
            },
        });
        let entries = vec![
            entry(
                "c",
                Operation::CreateConstraint,
                json!({"status": {"old": null, "new": "DRAFT"}, "range": {"old": null, "new": "^1"}}),
            ),
            entry(
                "c",
                Operation::Activate,
                json!({"status": {"old": "DRAFT", "new": "ACTIVE"}}),
            ),
            entry("t", Operation::RetireTechnology, retire.clone()),
        ];
        let state = fold("c", EntityType::VersionConstraint, &entries);
        assert_eq!(state.get("status"), Some(&json!("INACTIVE")));
        assert_eq!(state.get("range"), Some(&json!("^1")));
        // The primary entity keeps its own fields; `affected` is not one of them.
        let tech = fold(
            "t",
            EntityType::Technology,
            &[entry("t", Operation::RetireTechnology, retire)],
        );
        assert_eq!(tech.get("lifecycle"), Some(&json!("RETIRED")));
        assert!(!tech.contains_key("affected"));
    }

    #[test]
    fn a_user_replays_the_other_side_of_memberships_and_stewardship() {
        let entries = vec![
            entry(
                "team-1",
                Operation::AddTeamMember,
                json!({"members": {"added": ["u"], "removed": []}}),
            ),
            entry(
                "team-2",
                Operation::AddTeamMember,
                json!({"members": {"added": ["u"], "removed": []}}),
            ),
            entry(
                "team-1",
                Operation::RemoveTeamMember,
                json!({"members": {"added": [], "removed": ["u"]}}),
            ),
            entry(
                "tech",
                Operation::AssignSteward,
                json!({"steward": {"old": null, "new": "u"}}),
            ),
        ];
        let state = fold("u", EntityType::User, &entries);
        assert_eq!(state.get("teams"), Some(&json!(["team-2"])));
        assert_eq!(state.get("stewardOf"), Some(&json!(["tech"])));
    }

    #[test]
    fn empty_sets_and_bookkeeping_are_not_state() {
        let mut s = State::new();
        s.insert("members".into(), json!([]));
        s.insert("version".into(), json!(3));
        s.insert("name".into(), json!("x"));
        assert_eq!(
            normalize(EntityType::Team, s).keys().collect::<Vec<_>>(),
            vec!["name"]
        );
    }
}
