//! Where SBOMs meet Neo4j: an ingest stores a document's components as the system's
//! current component set in one transaction (so a failure leaves the previous state
//! whole), and an evaluation reads the current set and the decisions in force. Nothing
//! here writes an `AuditLog` or touches a governed node.

use std::collections::HashMap;

use neo4rs::{Txn, query};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::compliance::judge;
use super::document::{self, Inventory};
use super::evaluate::{Subject, Summary};
use super::matching::MatchKeys;
use super::{SbomError, SbomSettings, SbomView, now, rows};
use crate::store::{Store, StoreError, to_bolt};

const BEGIN: &str = include_str!("../../cypher/sbom_begin.cypher");
const KNOWN: &str = include_str!("../../cypher/sbom_known.cypher");
const CREATE: &str = include_str!("../../cypher/sbom_create.cypher");
const COMPONENTS: &str = include_str!("../../cypher/sbom_components.cypher");
const DEPENDENCIES: &str = include_str!("../../cypher/sbom_dependencies.cypher");
const PRUNE: &str = include_str!("../../cypher/sbom_prune.cypher");

/// Components or edges written per statement.
const BATCH: usize = 5_000;

/// Component counts of an ingest.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Components listed.
    pub components: usize,
    /// Not stored before.
    pub new: usize,
    /// Stored, with other facts.
    pub updated: usize,
    /// Stored as they are.
    pub unchanged: usize,
    /// Matching no governed technology.
    pub unmatched: usize,
}

/// What an ingest answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The system's current SBOM.
    pub sbom: SbomView,
    /// True when the document was already the current one (nothing was written).
    pub already_current: bool,
    /// Counts.
    pub counts: Counts,
    /// The evaluation summary after the ingest.
    pub evaluation: Summary,
    /// The policy version it was judged under.
    pub policy_version: String,
}

/// `sha256:<hex>` of `bytes`.
#[must_use]
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What the write step of an ingest did.
struct Written {
    /// The system's current SBOM afterwards.
    view: SbomView,
    /// True when the document was already current (nothing to commit).
    already: bool,
    /// Component counts (all but `unmatched`).
    counts: Counts,
    /// The system's owning team.
    owner: Option<String>,
}

/// Stores `bytes` as `system`'s current SBOM, sent by the user with internal id
/// `by`, and evaluates the system. Re-sending the current document writes nothing.
pub async fn ingest(
    store: &Store,
    settings: &SbomSettings,
    system: &str,
    bytes: &[u8],
    by: &str,
) -> Result<Receipt, SbomError> {
    let inventory = document::parse(bytes)?;
    let digest = digest(bytes);
    let mut txn = store.begin().await?;
    let written = match write(store, settings, &mut txn, system, &inventory, &digest, by).await {
        Ok(written) => written,
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a failed ingest");
            }
            return Err(e);
        }
    };
    if written.already {
        txn.rollback().await.map_err(|e| store.error(e))?;
    } else {
        store.commit(txn).await?;
    }
    // The components just stored are the document's: judge them from memory.
    let subjects: Vec<Subject> = inventory.components.iter().map(subject).collect();
    let view = written.view;
    let compliance = judge(
        store,
        settings,
        system,
        Some(view.clone()),
        written.owner,
        &subjects,
    )
    .await?;
    let mut counts = written.counts;
    counts.unmatched = compliance.summary.unmatched;
    Ok(Receipt {
        sbom: view,
        already_current: written.already,
        counts,
        evaluation: compliance.summary,
        policy_version: settings.policy_version.clone(),
    })
}

fn subject(c: &document::Component) -> Subject {
    Subject {
        key: c.key.clone(),
        name: c.name.clone(),
        version: c.version.clone(),
        purl: c.purl.clone(),
        license: c.license.clone(),
    }
}

async fn write(
    store: &Store,
    settings: &SbomSettings,
    txn: &mut Txn,
    system: &str,
    inventory: &Inventory,
    digest: &str,
    by: &str,
) -> Result<Written, SbomError> {
    let begin = rows(store, txn, query(BEGIN).param("system", system)).await?;
    let row = begin
        .first()
        .ok_or_else(|| store.decode("the ingest lock returned no row"))?;
    let found: bool = row.get("found").map_err(|e| store.decode(e))?;
    if !found {
        return Err(SbomError::UnknownSystem(system.to_owned()));
    }
    let owner: Option<String> = row.get("owner").map_err(|e| store.decode(e))?;
    let current: Option<Value> = row.get("current").map_err(|e| store.decode(e))?;
    let mut counts = Counts {
        components: inventory.components.len(),
        ..Counts::default()
    };
    if let Some(view) = current.as_ref().and_then(SbomView::from_value)
        && view.digest == digest
    {
        counts.unchanged = counts.components;
        return Ok(Written {
            view,
            already: true,
            counts,
            owner,
        });
    }
    let fingerprints: Vec<String> = inventory.components.iter().map(fingerprint).collect();
    tally(store, txn, inventory, &fingerprints, &mut counts).await?;
    let view = SbomView {
        id: uuid::Uuid::now_v7().to_string(),
        digest: digest.to_owned(),
        format: inventory.format.as_str().to_owned(),
        spec_version: inventory.spec_version.clone(),
        serial_number: inventory.serial_number.clone(),
        ingested_at: now(),
        ingested_by: by.to_owned(),
    };
    let props = json!({
        "id": view.id, "digest": view.digest, "format": view.format,
        "specVersion": view.spec_version, "serialNumber": view.serial_number,
        "ingestedAt": view.ingested_at, "ingestedBy": view.ingested_by,
        "components": inventory.components.len(),
    });
    run(
        store,
        txn,
        query(CREATE)
            .param("system", system)
            .param("sbom", to_bolt(props)),
    )
    .await?;
    store_components(store, txn, &view.id, inventory, &fingerprints).await?;
    let keep = i64::try_from(settings.keep.max(1)).unwrap_or(i64::MAX);
    run(
        store,
        txn,
        query(PRUNE).param("system", system).param("keep", keep),
    )
    .await?;
    if settings.fail_before_commit {
        return Err(store.decode("injected failure before commit").into());
    }
    Ok(Written {
        view,
        already: false,
        counts,
        owner,
    })
}

/// Writes the components of SBOM `sbom` and their dependency edges, in batches.
async fn store_components(
    store: &Store,
    txn: &mut Txn,
    sbom: &str,
    inventory: &Inventory,
    fingerprints: &[String],
) -> Result<(), StoreError> {
    for (chunk, prints) in inventory
        .components
        .chunks(BATCH)
        .zip(fingerprints.chunks(BATCH))
    {
        let batch: Vec<Value> = chunk
            .iter()
            .zip(prints)
            .map(|(c, print)| {
                let keys = MatchKeys::of(&c.name, c.purl.as_deref());
                json!({
                    "key": c.key, "name": c.name, "version": c.version, "purl": c.purl,
                    "license": c.license,
                    "hashes": c.hashes.iter().map(|(a, h)| format!("{a}:{h}")).collect::<Vec<_>>(),
                    "references": c.references, "fingerprint": print,
                    "baseKey": keys.base, "lookups": keys.lookups,
                })
            })
            .collect();
        run(
            store,
            txn,
            query(COMPONENTS)
                .param("sbom", sbom)
                .param("rows", to_bolt(Value::Array(batch))),
        )
        .await?;
    }
    for chunk in inventory.dependencies.chunks(BATCH) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|(from, to)| json!({"from": from, "to": to}))
            .collect();
        run(
            store,
            txn,
            query(DEPENDENCIES).param("rows", to_bolt(Value::Array(batch))),
        )
        .await?;
    }
    Ok(())
}

/// Counts the listed components that are new, updated or unchanged.
async fn tally(
    store: &Store,
    txn: &mut Txn,
    inventory: &Inventory,
    fingerprints: &[String],
    counts: &mut Counts,
) -> Result<(), StoreError> {
    let mut stored: HashMap<String, Option<String>> = HashMap::new();
    for chunk in inventory.components.chunks(BATCH) {
        let keys: Vec<String> = chunk.iter().map(|c| c.key.clone()).collect();
        for row in rows(store, txn, query(KNOWN).param("keys", keys)).await? {
            let key: String = row.get("key").map_err(|e| store.decode(e))?;
            let known: Option<String> = row.get("fingerprint").map_err(|e| store.decode(e))?;
            stored.insert(key, known);
        }
    }
    for (c, print) in inventory.components.iter().zip(fingerprints) {
        match stored.get(&c.key).cloned().flatten() {
            None => counts.new += 1,
            Some(known) if known == *print => counts.unchanged += 1,
            Some(_) => counts.updated += 1,
        }
    }
    Ok(())
}

async fn run(store: &Store, txn: &mut Txn, statement: neo4rs::Query) -> Result<(), StoreError> {
    txn.run(statement)
        .await
        .map(drop)
        .map_err(|e| store.error(e))
}

/// What a component's stored facts are, as one digest (to tell updated from unchanged).
fn fingerprint(c: &document::Component) -> String {
    let facts = json!([c.name, c.version, c.purl, c.license, c.hashes, c.references]);
    digest(facts.to_string().as_bytes())
}
