//! Start-up backfill of natural keys. Names written before natural keys existed get
//! their `nameKey` ([`crate::domain::text::natural_key`]: NFC, then case folding),
//! which Cypher cannot compute. Names that now collide (`Core` and `core`) cannot both
//! hold the key: the first (by id) keeps it, each other gets `<key>#<id>` so every
//! node stays valid, and the collision is reported by ids (names are not logged) for an
//! operator to rename one.

use std::collections::BTreeMap;

use neo4rs::query;
use serde::Deserialize;
use serde_json::json;

use super::{Store, StoreError};
use crate::domain::text::natural_key;

const MISSING: &str = include_str!("../../cypher/name_keys_missing.cypher");
const SET: &str = include_str!("../../cypher/name_keys_set.cypher");

/// Names of one label that share a natural key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// `Team`, `System` or `Technology`.
    pub label: String,
    /// Ids of the nodes whose names collide; the first keeps the key.
    pub ids: Vec<String>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct Keyed {
    id: String,
    key: String,
}

/// Gives every name without a natural key its key; returns the collisions found.
pub async fn backfill(store: &Store) -> Result<Vec<Collision>, StoreError> {
    let mut rows = store
        .graph()
        .execute(query(MISSING))
        .await
        .map_err(|e| store.error(e))?;
    let mut collisions = Vec::new();
    let mut updates = Vec::new();
    while let Some(row) = rows.next().await.map_err(|e| store.error(e))? {
        let label: String = row.get("label").map_err(|e| store.decode(e))?;
        let missing: Vec<Named> = row.get("missing").map_err(|e| store.decode(e))?;
        let taken: Vec<Keyed> = row.get("taken").map_err(|e| store.decode(e))?;
        let (rows, found) = assign(&label, missing, taken);
        updates.extend(rows);
        collisions.extend(found);
    }
    for chunk in updates.chunks(1000) {
        let params = neo4rs::BoltType::try_from(json!(chunk)).map_err(StoreError::Other)?;
        store
            .graph()
            .run(query(SET).param("rows", params))
            .await
            .map_err(|e| store.error(e))?;
    }
    for c in &collisions {
        tracing::warn!(label = %c.label, ids = ?c.ids, "names differ only in case or Unicode form; rename all but the first");
    }
    Ok(collisions)
}

/// The keys to set and the collisions, for one label.
fn assign(
    label: &str,
    missing: Vec<Named>,
    taken: Vec<Keyed>,
) -> (Vec<serde_json::Value>, Vec<Collision>) {
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in taken {
        // A key already suffixed for a collision is its own holder.
        holders.entry(t.key).or_default().push(t.id);
    }
    let mut wanting: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in missing {
        wanting.entry(natural_key(&m.name)).or_default().push(m.id);
    }
    let mut updates = Vec::new();
    let mut collisions = Vec::new();
    for (key, mut ids) in wanting {
        ids.sort();
        let holder = holders.get(&key).and_then(|h| h.first().cloned());
        let mut all: Vec<String> = holder.iter().cloned().collect();
        for (i, id) in ids.iter().enumerate() {
            let value = if holder.is_none() && i == 0 {
                key.clone()
            } else {
                format!("{key}#{id}")
            };
            updates.push(json!({"id": id, "key": value}));
            all.push(id.clone());
        }
        if all.len() > 1 {
            collisions.push(Collision {
                label: label.to_owned(),
                ids: all,
            });
        }
    }
    (updates, collisions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(id: &str, name: &str) -> Named {
        Named {
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn colliding_names_keep_one_key_and_are_reported() {
        let (updates, collisions) = assign(
            "Team",
            vec![named("b", "CORE"), named("a", "core"), named("c", "Other")],
            vec![],
        );
        assert_eq!(
            updates,
            vec![
                json!({"id": "a", "key": "core"}),
                json!({"id": "b", "key": "core#b"}),
                json!({"id": "c", "key": "other"}),
            ]
        );
        assert_eq!(
            collisions,
            vec![Collision {
                label: "Team".into(),
                ids: vec!["a".into(), "b".into()]
            }]
        );
    }

    #[test]
    fn a_name_colliding_with_a_keyed_one_gets_a_suffix() {
        let (updates, collisions) = assign(
            "System",
            vec![named("x", "Billing")],
            vec![Keyed {
                id: "k".into(),
                key: "billing".into(),
            }],
        );
        assert_eq!(updates, vec![json!({"id": "x", "key": "billing#x"})]);
        assert_eq!(collisions[0].ids, vec!["k".to_owned(), "x".to_owned()]);
    }
}
