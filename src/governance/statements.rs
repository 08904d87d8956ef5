//! The Cypher statements of a governed transaction: the locked read, the chain heads
//! of entities reached through relationships, and the write of effects, entry and
//! idempotency record.

use neo4rs::{Txn, query};
use serde_json::{Value, json};

use super::GovernanceError;
use super::actor::Actor;
use super::plan::{self, Plan};
use super::snapshot::{Snapshot, Targets};
use crate::audit::AuditEntry;
pub(super) use crate::store::to_bolt;
use crate::store::{Store, StoreError};

const GOVERNED_READ: &str = include_str!("../../cypher/governed_read.cypher");
const GOVERNED_WRITE: &str = include_str!("../../cypher/governed_write.cypher");
const IDEMPOTENCY_STORE: &str = include_str!("../../cypher/idempotency_store.cypher");
const INJECTED_FAILURE: &str = include_str!("../../cypher/injected_failure.cypher");

pub(super) async fn read_snapshot(
    store: &Store,
    txn: &mut Txn,
    targets: &Targets,
    idem: Option<&str>,
) -> Result<Snapshot, GovernanceError> {
    let mut ids = targets.ids.clone();
    ids.sort();
    ids.dedup();
    let rels: Vec<Value> = targets
        .rels
        .iter()
        .map(|(id, rel, out)| json!({"id": id, "type": rel.as_str(), "dir": if *out { "OUT" } else { "IN" }}))
        .collect();
    let mut stream = txn
        .execute(
            query(GOVERNED_READ)
                .param("ids", ids)
                .param("rels", to_bolt(Value::Array(rels)))
                .param("idem", idem.map(str::to_owned))
                .param("subject", targets.subject.clone()),
        )
        .await
        .map_err(|e| store.error(e))?;
    let row = single_row(store, txn, &mut stream)
        .await?
        .ok_or_else(|| store.decode("governed read returned no row"))?;
    let nodes: Vec<Value> = row.get("nodes").map_err(|e| store.decode(e))?;
    let rels: Vec<Value> = row.get("rels").map_err(|e| store.decode(e))?;
    let idem: Option<Value> = row.get("idem").map_err(|e| store.decode(e))?;
    let subject_user: Option<String> = row.get("subjectUser").map_err(|e| store.decode(e))?;
    Snapshot::from_rows(nodes, rels, idem, subject_user)
        .map_err(|e| store.record(StoreError::Decode(e)).into())
}

/// Who performs a written change, and how its entry ties to a change request.
pub(super) struct Performer<'a> {
    /// The `User` to find (`subject` null: found by id alone, for a requester whose
    /// approved change runs now).
    pub params: Value,
    /// The change request the entry executes.
    pub executes: Option<&'a str>,
    /// Approvers to link with `APPROVED_BY`.
    pub approvers: &'a [String],
}

impl Performer<'_> {
    /// The caller, acting for itself.
    pub(super) fn caller(actor: &Actor) -> Self {
        Self {
            params: actor.params(),
            executes: None,
            approvers: &[],
        }
    }
}

pub(super) async fn write_plan(
    store: &Store,
    txn: &mut Txn,
    plan: &Plan,
    entry: &AuditEntry,
    performer: &Performer<'_>,
    idem: Value,
) -> Result<(), GovernanceError> {
    let effects = &plan.effects;
    let creates: Vec<Value> = effects
        .creates
        .iter()
        .map(|c| json!({"label": c.entity_type.label(), "props": c.props}))
        .collect();
    let updates: Vec<Value> = effects
        .updates
        .iter()
        .map(|u| json!({"id": u.id, "set": u.set}))
        .collect();
    let rel = |r: &plan::RelChange| json!({"type": r.rel.as_str(), "from": r.from, "to": r.to});
    let mut audits: Vec<String> = vec![plan.primary.id.clone()];
    audits.extend(plan.related.iter().map(|r| r.id.clone()));
    let entry_params = entry.to_params().map_err(|e| store.decode(e))?;
    let mut stream = txn
        .execute(
            query(GOVERNED_WRITE)
                .param("creates", to_bolt(Value::Array(creates)))
                .param("updates", to_bolt(Value::Array(updates)))
                .param(
                    "relAdds",
                    to_bolt(Value::Array(effects.rel_adds.iter().map(rel).collect())),
                )
                .param(
                    "relRemoves",
                    to_bolt(Value::Array(effects.rel_removes.iter().map(rel).collect())),
                )
                .param("actor", to_bolt(performer.params.clone()))
                .param("entry", to_bolt(entry_params))
                .param("audits", audits.clone())
                .param("supersedes", plan.supersedes.clone())
                .param("idem", to_bolt(idem))
                .param("executes", performer.executes.map(str::to_owned))
                .param("approvers", performer.approvers.to_vec()),
        )
        .await
        .map_err(|e| store.error(e))?;
    // No row: the actor's user no longer has the actor's subject (erased, or mapped
    // anew), and the statement wrote nothing.
    let row = single_row(store, txn, &mut stream).await?;
    // The stream is drained: its summary is at hand, no round trip.
    let summary = stream
        .finish(txn.handle())
        .await
        .map_err(|e| store.error(e))?;
    store.count_written(summary.stats());
    let row = row.ok_or(GovernanceError::StaleActor)?;
    let count = |column: &str| row.get::<i64>(column).unwrap_or(-1);
    let want = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let linked = [
        ("entities", count("audited"), want(audits.len())),
        (
            "superseded entries",
            count("superseded"),
            want(plan.supersedes.len()),
        ),
        (
            "approvers",
            count("approved"),
            want(performer.approvers.len()),
        ),
    ];
    if let Some((what, got, wanted)) = linked.iter().find(|(_, got, want)| got != want) {
        // Fail closed: an entry that does not link everything it names is not written.
        return Err(store
            .record(StoreError::Decode(format!(
                "entry linked {got}/{wanted} {what}"
            )))
            .into());
    }
    Ok(())
}

/// Has Neo4j plan every statement of the write path (`EXPLAIN`, which executes
/// nothing), so the first change after a start does not pay for it: on a freshly
/// started Neo4j, planning these statements costs about two seconds of a cold JVM on
/// the development machine under load, the longest part of a first change.
pub(super) async fn warm_up(store: &Store, extra: &[&str]) -> Result<(), StoreError> {
    for statement in [GOVERNED_READ, GOVERNED_WRITE, IDEMPOTENCY_STORE]
        .iter()
        .chain(extra)
    {
        store
            .graph()
            .run(query(&format!("EXPLAIN {statement}")))
            .await
            .map_err(|e| store.error(e))?;
    }
    Ok(())
}

/// The first row a statement returns, if any; the stream is drained so the
/// transaction's connection is ready for the next statement.
pub(super) async fn single_row(
    store: &Store,
    txn: &mut Txn,
    stream: &mut neo4rs::RowStream,
) -> Result<Option<neo4rs::Row>, StoreError> {
    let row = stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?;
    while stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?
        .is_some()
    {}
    Ok(row)
}

/// Stores the idempotency record of a keyed no-op.
pub(super) async fn remember_noop(
    store: &Store,
    txn: &mut Txn,
    record: Value,
) -> Result<(), StoreError> {
    txn.run(query(IDEMPOTENCY_STORE).param("idem", to_bolt(record)))
        .await
        .map(drop)
        .map_err(|e| store.error(e))
}

/// Test seam: makes the transaction fail after the entry was written.
pub(super) async fn inject_failure(
    store: &Store,
    txn: &mut Txn,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    txn.run(query(INJECTED_FAILURE).param("entryId", entry.id.to_string()))
        .await
        .map(drop)
        .map_err(|e| store.error(e))
}

/// `prevHashes` of the entry `plan` writes: every audited entity's chain head, read
/// under lock. Entities the command only discovered through a relationship (a
/// system's previous owner) are locked and read now.
pub(super) async fn chain_heads(
    store: &Store,
    txn: &mut Txn,
    snapshot: &mut Snapshot,
    plan: &Plan,
) -> Result<Vec<String>, GovernanceError> {
    let created: Vec<&str> = plan
        .effects
        .creates
        .iter()
        .filter_map(|c| c.props.get("id").and_then(Value::as_str))
        .collect();
    let audited: Vec<&str> = std::iter::once(plan.primary.id.as_str())
        .chain(plan.related.iter().map(|r| r.id.as_str()))
        .collect();
    let unread: Vec<String> = audited
        .iter()
        .filter(|id| snapshot.node(id).is_none() && !created.contains(id))
        .map(|id| (*id).to_owned())
        .collect();
    if !unread.is_empty() {
        let extra = Targets {
            ids: unread,
            ..Targets::default()
        };
        snapshot.absorb(read_snapshot(store, txn, &extra, None).await?);
    }
    Ok(crate::audit::hash::prev_hashes(audited.iter().map(|id| {
        (*id, snapshot.node(id).and_then(|n| n.str("auditHead")))
    })))
}
