//! Bulk seeding of a realistic governed graph and its audit log, for benchmarks and
//! demos (`govtrail seed`). Entries are built, hashed and chained by the same code a
//! governed change uses ([`AuditEntry`]), so `govtrail verify` accepts the seeded log,
//! and are written in batches with one `UNWIND` statement per batch. Each entity's
//! live governed state and chain head end at its newest entry. Seeded entries are
//! queued for sealing like any other; a running checkpointer seals them.
//!
//! Entities are technologies whose risk level changes and teams whose responsibility
//! areas change; the log is skewed: a few hot entities with thousands of entries and a
//! long tail with a handful each.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use neo4rs::{BoltType, query};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

use crate::audit::entry::{ActorFacts, AuditEntry, EntryFacts};
use crate::audit::hash::prev_hashes;
use crate::domain::{AuditLogId, EntityType, Operation, Outcome, Role, Source};
use crate::governance::Stamp;
use crate::store::{Store, StoreError};

const SEED_NODES: &str = include_str!("../cypher/seed_nodes.cypher");
const SEED_ENTRIES: &str = include_str!("../cypher/seed_entries.cypher");

/// Entries written per transaction.
pub const BATCH: usize = 2_000;
/// Actors the seeded entries are spread over.
pub const ACTORS: usize = 20;

const RISK: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// One seeded entity and its chain state.
#[derive(Debug, Clone)]
pub struct Entity {
    /// Technology or Team.
    pub entity_type: EntityType,
    /// Id.
    pub id: String,
    /// Label (name).
    pub label: String,
    /// Entries written so far.
    pub entries: usize,
    head: Option<String>,
}

/// Writes entities and entries; keeps the chain heads and a synthetic clock between
/// calls, so a log can grow in phases.
pub struct Seeder {
    store: Store,
    rng: StdRng,
    clock: DateTime<Utc>,
    actors: Vec<String>,
    run: String,
    created: usize,
}

impl Seeder {
    /// A seeder whose entries start `span` before now and advance 1 ms each; creates
    /// its actors.
    pub async fn new(store: Store, seed: u64, span: Duration) -> Result<Self, StoreError> {
        let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let actors: Vec<String> = (0..ACTORS)
            .map(|i| format!("seed-{run}-actor-{i}"))
            .collect();
        let nodes: Vec<Value> = actors
            .iter()
            .enumerate()
            .map(|(i, id)| json!({"id": id, "version": 1, "displayName": format!("Seeded actor {i}")}))
            .collect();
        let seeder = Self {
            store,
            rng: StdRng::seed_from_u64(seed),
            clock: Utc::now() - span,
            actors,
            run,
            created: 0,
        };
        seeder.create_nodes(EntityType::User, nodes).await?;
        Ok(seeder)
    }

    async fn create_nodes(&self, label: EntityType, nodes: Vec<Value>) -> Result<(), StoreError> {
        let store = &self.store;
        for chunk in nodes.chunks(BATCH) {
            store
                .graph()
                .run(
                    query(SEED_NODES)
                        .param("label", label.label())
                        .param("nodes", bolt(Value::Array(chunk.to_vec()))?),
                )
                .await
                .map_err(|e| store.error(e))?;
        }
        Ok(())
    }

    /// Creates `count` entities, alternately technologies and teams.
    pub async fn entities(
        &mut self,
        count: usize,
        prefix: &str,
    ) -> Result<Vec<Entity>, StoreError> {
        let mut out = Vec::with_capacity(count);
        let (mut techs, mut teams) = (Vec::new(), Vec::new());
        for i in 0..count {
            let id = uuid::Uuid::new_v4().to_string();
            let label = format!("{prefix}-{}-{}", self.run, self.created);
            self.created += 1;
            let entity_type = if i % 2 == 0 {
                techs.push(json!({"id": id, "name": label, "version": 1, "riskLevel": "LOW"}));
                EntityType::Technology
            } else {
                teams.push(
                    json!({"id": id, "name": label, "version": 1, "responsibilityAreas": []}),
                );
                EntityType::Team
            };
            out.push(Entity {
                entity_type,
                id,
                label,
                entries: 0,
                head: None,
            });
        }
        self.create_nodes(EntityType::Technology, techs).await?;
        self.create_nodes(EntityType::Team, teams).await?;
        Ok(out)
    }

    /// Writes `plan[i]` more entries to `entities[i]`, interleaved at random in time;
    /// returns the entries written.
    pub async fn entries(
        &mut self,
        entities: &mut [Entity],
        plan: &[usize],
    ) -> Result<usize, StoreError> {
        let mut order: Vec<usize> = plan
            .iter()
            .enumerate()
            .flat_map(|(i, n)| std::iter::repeat_n(i, *n))
            .collect();
        // Fisher-Yates with the seeded generator: a reproducible interleaving.
        for i in (1..order.len()).rev() {
            let j = self.rng.random_range(0..=i);
            order.swap(i, j);
        }
        let total = order.len();
        for chunk in order.chunks(BATCH) {
            let mut rows = Vec::with_capacity(chunk.len());
            let mut heads: BTreeMap<usize, Value> = BTreeMap::new();
            for &i in chunk {
                let actor = self.actors[self.rng.random_range(0..self.actors.len())].clone();
                self.clock += Duration::milliseconds(1);
                let (entry, set) = next_entry(&mut entities[i], &actor, self.clock)?;
                rows.push(json!({"entity": entities[i].id, "entry": entry}));
                heads.insert(i, json!({"id": entities[i].id, "set": set}));
            }
            let store = &self.store;
            store
                .graph()
                .run(
                    query(SEED_ENTRIES)
                        .param("rows", bolt(Value::Array(rows))?)
                        .param("heads", bolt(Value::Array(heads.into_values().collect()))?),
                )
                .await
                .map_err(|e| store.error(e))?;
        }
        Ok(total)
    }
}

fn bolt(value: Value) -> Result<BoltType, StoreError> {
    BoltType::try_from(value).map_err(StoreError::Other)
}

/// The entity's next entry (hashed, chained) and the state its node takes.
fn next_entry(
    entity: &mut Entity,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(Value, Value), StoreError> {
    let n = entity.entries;
    let version = i64::try_from(n).unwrap_or(i64::MAX - 1) + 2;
    let (operation, field, old, new, status) = match entity.entity_type {
        EntityType::Technology => {
            let (old, new) = (RISK[n % 4], RISK[(n + 1) % 4]);
            (
                Operation::ChangeRiskLevel,
                "riskLevel",
                json!(old),
                json!(new),
                Some((old.to_owned(), new.to_owned())),
            )
        }
        _ => (
            Operation::ChangeResponsibilityAreas,
            "responsibilityAreas",
            if n == 0 {
                json!([])
            } else {
                json!([format!("area-{}", n - 1)])
            },
            json!([format!("area-{n}")]),
            None,
        ),
    };
    let changes = BTreeMap::from([(field.to_owned(), json!({"old": old, "new": new}))]);
    let actor = ActorFacts {
        user_id: actor.to_owned(),
        roles: vec![Role::GovernanceAdmin],
        source: Source::Api,
        auth_method: "seed".to_owned(),
    };
    let seconds = now.timestamp();
    let nanos = now.timestamp_subsec_nanos();
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(seconds).unwrap_or(0),
        nanos,
    ));
    let correlation = uuid::Uuid::new_v4().to_string();
    let entry = AuditEntry::new(
        EntryFacts {
            kind: crate::governance::definition(operation).facts(),
            outcome: Outcome::Succeeded,
            entity_type: Some(entity.entity_type),
            entity_id: Some(&entity.id),
            entity_label: &entity.label,
            route: None,
            entity_version: Some(version),
            previous_status: status.as_ref().map(|s| s.0.clone()),
            new_status: status.map(|s| s.1),
            changes: &changes,
            related: Vec::new(),
            reason: Some("seeded".to_owned()),
            correlation_id: &correlation,
        },
        &actor,
        Stamp {
            now,
            entry_id: AuditLogId::from(id),
        },
    )
    .with_prev_hashes(prev_hashes([(entity.id.as_str(), entity.head.as_deref())]));
    let params = entry
        .to_params()
        .map_err(|e| StoreError::Decode(e.to_string()))?;
    let hash = params["hash"].as_str().unwrap_or_default().to_owned();
    entity.head = Some(hash.clone());
    entity.entries += 1;
    let set = json!({field: new, "version": version, "auditHead": hash});
    Ok((params, set))
}

/// A skewed log of `total` entries: `hot` entities get `hot_entries` each, the rest is
/// spread over a long tail of entities with about `tail_mean` entries each.
#[derive(Debug, Clone)]
pub struct LogShape {
    /// Entries to write.
    pub total: usize,
    /// Hot entities.
    pub hot: usize,
    /// Entries per hot entity.
    pub hot_entries: usize,
    /// Mean entries per tail entity.
    pub tail_mean: usize,
}

/// Writes a log of the given shape; returns the hot entities (then the tail).
pub async fn seed_log(seeder: &mut Seeder, shape: &LogShape) -> Result<Vec<Entity>, StoreError> {
    let hot_total = (shape.hot * shape.hot_entries).min(shape.total);
    let tail_total = shape.total - hot_total;
    let tail_count = tail_total.div_ceil(shape.tail_mean.max(1));
    let mut entities = seeder.entities(shape.hot + tail_count, "seed").await?;
    let mut plan = vec![0usize; entities.len()];
    let mut left = hot_total;
    for slot in plan.iter_mut().take(shape.hot) {
        *slot = left.min(shape.hot_entries);
        left -= *slot;
    }
    // The tail: random sizes around the mean (1 to 2 × mean - 1).
    let mut left = tail_total;
    for slot in plan.iter_mut().skip(shape.hot) {
        let n = seeder
            .rng
            .random_range(1..=(2 * shape.tail_mean.max(1) - 1))
            .min(left);
        *slot = n;
        left -= n;
    }
    if let Some(last) = plan.last_mut() {
        *last += left;
    }
    seeder.entries(&mut entities, &plan).await?;
    Ok(entities)
}
