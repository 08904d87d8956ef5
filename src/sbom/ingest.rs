//! Where SBOMs meet Neo4j: an ingest stores a document's components as the system's
//! current component set in one transaction (so a failure leaves the previous state
//! whole), and an evaluation reads the current set and the decisions in force. Nothing
//! here writes an `AuditLog` or touches a governed node.

use std::collections::{BTreeMap, HashMap};

use chrono::{SecondsFormat, Utc};
use neo4rs::{Txn, query};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::document::{self, DocumentError, Inventory};
use super::evaluate::{
    self, ActiveConstraint, ApprovalRecord, Citation, Decisions, LicenseRule, Subject, Summary,
    TechnologyRef, Verdict,
};
use crate::store::{Store, StoreError, to_bolt};

const BEGIN: &str = include_str!("../../cypher/sbom_begin.cypher");
const KNOWN: &str = include_str!("../../cypher/sbom_known.cypher");
const CREATE: &str = include_str!("../../cypher/sbom_create.cypher");
const COMPONENTS: &str = include_str!("../../cypher/sbom_components.cypher");
const DEPENDENCIES: &str = include_str!("../../cypher/sbom_dependencies.cypher");
const PRUNE: &str = include_str!("../../cypher/sbom_prune.cypher");
const CURRENT: &str = include_str!("../../cypher/sbom_current.cypher");
const DECISIONS: &str = include_str!("../../cypher/sbom_decisions.cypher");

/// Components or edges written per statement.
const BATCH: usize = 5_000;

/// How ingests and evaluations behave.
#[derive(Debug, Clone)]
pub struct SbomSettings {
    /// SBOMs kept per system (the current one included).
    pub keep: usize,
    /// Package URL `type/namespace/name` (or `type/name`, or a component name) →
    /// technology name, where the two differ.
    pub aliases: BTreeMap<String, String>,
    /// The policy version verdicts are given under.
    pub policy_version: String,
}

/// Why an ingest or an evaluation was refused.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// No such (live) system.
    #[error("system {0} does not exist")]
    UnknownSystem(String),
    /// The document is not one govtrail reads.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// Neo4j failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomView {
    /// Id.
    pub id: String,
    /// `sha256:` of the document as received.
    pub digest: String,
    /// `CycloneDX` or `SPDX`.
    pub format: String,
    /// Its version.
    pub spec_version: String,
    /// Serial number or document namespace.
    pub serial_number: Option<String>,
    /// When it was ingested.
    pub ingested_at: String,
    /// The internal id of who sent it.
    pub ingested_by: String,
}

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

/// A system's compliance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compliance {
    /// The system.
    pub system_id: String,
    /// The SBOM judged (`None`: the system has none).
    pub sbom: Option<SbomView>,
    /// The owning team whose constraints and approvals apply.
    pub owner_team_id: Option<String>,
    /// The policy version.
    pub policy_version: String,
    /// When.
    pub evaluated_at: String,
    /// Counts.
    pub summary: Summary,
    /// One verdict per component.
    pub components: Vec<Verdict>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `sha256:<hex>` of `bytes`.
#[must_use]
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

async fn rows(
    store: &Store,
    txn: &mut Txn,
    statement: neo4rs::Query,
) -> Result<Vec<neo4rs::Row>, StoreError> {
    let mut stream = txn.execute(statement).await.map_err(|e| store.error(e))?;
    let mut out = Vec::new();
    while let Some(row) = stream
        .next(txn.handle())
        .await
        .map_err(|e| store.error(e))?
    {
        out.push(row);
    }
    Ok(out)
}

fn sbom_view(value: &Value) -> Option<SbomView> {
    let text = |k: &str| value[k].as_str().map(str::to_owned);
    Some(SbomView {
        id: text("id")?,
        digest: text("digest")?,
        format: text("format").unwrap_or_default(),
        spec_version: text("specVersion").unwrap_or_default(),
        serial_number: text("serialNumber"),
        ingested_at: text("ingestedAt").unwrap_or_default(),
        ingested_by: text("ingestedBy").unwrap_or_default(),
    })
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
    let mut txn = store
        .graph()
        .start_txn()
        .await
        .map_err(|e| store.error(e))?;
    let outcome = write(store, settings, &mut txn, system, &inventory, &digest, by).await;
    match outcome {
        Ok((view, already, counts)) => {
            if already {
                txn.rollback().await.map_err(|e| store.error(e))?;
            } else {
                txn.commit().await.map_err(|e| store.error(e))?;
            }
            let compliance = compliance(store, settings, system).await?;
            let mut counts = counts;
            counts.unmatched = compliance.summary.unmatched;
            Ok(Receipt {
                sbom: view,
                already_current: already,
                counts,
                evaluation: compliance.summary,
                policy_version: settings.policy_version.clone(),
            })
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::debug!(error = %rollback, "rollback after a failed ingest");
            }
            Err(e)
        }
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
) -> Result<(SbomView, bool, Counts), SbomError> {
    let begin = rows(store, txn, query(BEGIN).param("system", system)).await?;
    let row = begin
        .first()
        .ok_or_else(|| store.decode("the ingest lock returned no row"))?;
    let found: bool = row.get("found").map_err(|e| store.decode(e))?;
    if !found {
        return Err(SbomError::UnknownSystem(system.to_owned()));
    }
    let current: Option<Value> = row.get("current").map_err(|e| store.decode(e))?;
    let mut counts = Counts {
        components: inventory.components.len(),
        ..Counts::default()
    };
    if let Some(view) = current.as_ref().and_then(sbom_view)
        && view.digest == digest
    {
        counts.unchanged = counts.components;
        return Ok((view, true, counts));
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
    for (chunk, prints) in inventory
        .components
        .chunks(BATCH)
        .zip(fingerprints.chunks(BATCH))
    {
        let batch: Vec<Value> = chunk
            .iter()
            .zip(prints)
            .map(|(c, print)| {
                json!({
                    "key": c.key, "name": c.name, "version": c.version, "purl": c.purl,
                    "license": c.license,
                    "hashes": c.hashes.iter().map(|(a, h)| format!("{a}:{h}")).collect::<Vec<_>>(),
                    "references": c.references, "fingerprint": print,
                })
            })
            .collect();
        run(
            store,
            txn,
            query(COMPONENTS)
                .param("sbom", view.id.as_str())
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
    let keep = i64::try_from(settings.keep.max(1)).unwrap_or(i64::MAX);
    run(
        store,
        txn,
        query(PRUNE).param("system", system).param("keep", keep),
    )
    .await?;
    Ok((view, false, counts))
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
    txn.run(statement).await.map_err(|e| store.error(e))
}

/// What a component's stored facts are, as one digest (to tell updated from unchanged).
fn fingerprint(c: &document::Component) -> String {
    let facts = json!([c.name, c.version, c.purl, c.license, c.hashes, c.references]);
    digest(facts.to_string().as_bytes())
}

/// Judges `system`'s current SBOM against the decisions in force.
pub async fn compliance(
    store: &Store,
    settings: &SbomSettings,
    system: &str,
) -> Result<Compliance, SbomError> {
    let row = store
        .read_one(query(CURRENT).param("system", system))
        .await?
        .ok_or_else(|| store.decode("the current SBOM query returned no row"))?;
    let found: bool = row.get("found").map_err(|e| store.decode(e))?;
    if !found {
        return Err(SbomError::UnknownSystem(system.to_owned()));
    }
    let owner: Option<String> = row.get("owner").map_err(|e| store.decode(e))?;
    let sbom: Option<Value> = row.get("sbom").map_err(|e| store.decode(e))?;
    let raw: Vec<Value> = row.get("components").map_err(|e| store.decode(e))?;
    let subjects: Vec<Subject> = raw
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().map(str::to_owned);
            Subject {
                key: text("key").unwrap_or_default(),
                name: text("name").unwrap_or_default(),
                version: text("version"),
                purl: text("purl"),
                license: text("license"),
            }
        })
        .collect();
    let mut keys: Vec<String> = subjects
        .iter()
        .map(|s| evaluate::technology_key(s, &settings.aliases))
        .collect();
    keys.sort();
    keys.dedup();
    let decisions = decisions(store, owner.as_deref(), keys).await?;
    let (components, summary) = evaluate::evaluate(&subjects, &decisions, &settings.aliases);
    Ok(Compliance {
        system_id: system.to_owned(),
        sbom: sbom.as_ref().and_then(sbom_view),
        owner_team_id: owner,
        policy_version: settings.policy_version.clone(),
        evaluated_at: now(),
        summary,
        components,
    })
}

fn citation(value: &Value) -> Option<Citation> {
    Some(Citation {
        audit_log_id: value["auditLogId"].as_str()?.to_owned(),
        operation: value["operation"].as_str()?.to_owned(),
    })
}

async fn decisions(
    store: &Store,
    owner: Option<&str>,
    keys: Vec<String>,
) -> Result<Decisions, StoreError> {
    let row = store
        .read_one(query(DECISIONS).param("owner", owner).param("keys", keys))
        .await?
        .ok_or_else(|| store.decode("the decisions query returned no row"))?;
    let column = |name: &str| -> Result<Value, StoreError> {
        row.get::<Value>(name).map_err(|e| store.decode(e))
    };
    let list = |name: &str| -> Result<Vec<Value>, StoreError> {
        Ok(column(name)?.as_array().cloned().unwrap_or_default())
    };
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_owned);
    let licenses = list("licenses")?
        .iter()
        .filter_map(|l| {
            Some((
                text(l, "spdxId")?,
                LicenseRule {
                    decision: text(l, "decision").unwrap_or_default(),
                    citation: citation(&l["cite"]),
                },
            ))
        })
        .collect();
    let whitelist = column("whitelist")?;
    let constraints = list("constraints")?
        .iter()
        .filter_map(|c| {
            Some(ActiveConstraint {
                id: text(c, "id")?,
                technology_id: text(c, "technologyId")?,
                range: text(c, "range")?,
                citation: citation(&c["cite"]),
            })
        })
        .collect();
    let approvals = list("approvals")?
        .iter()
        .filter_map(|a| Some((text(a, "technologyId")?, approval_record(a))))
        .collect();
    let technologies = list("technologies")?
        .iter()
        .filter_map(|t| {
            Some((
                text(t, "key")?,
                TechnologyRef {
                    id: text(t, "id")?,
                    name: text(t, "name").unwrap_or_default(),
                },
            ))
        })
        .collect();
    Ok(Decisions {
        licenses,
        whitelist: (
            whitelist["enabled"].as_bool().unwrap_or(false),
            citation(&whitelist["cite"]),
        ),
        constraints,
        approvals,
        technologies,
        today: Utc::now().date_naive(),
    })
}

fn approval_record(a: &Value) -> ApprovalRecord {
    let text = |k: &str| a[k].as_str().map(str::to_owned);
    let revoked = a["revocations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let cite = citation(e)?;
            let changes: Value = serde_json::from_str(e["changes"].as_str()?).ok()?;
            let ranges = |k: &str| -> Vec<String> {
                changes["approvedRanges"][k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            };
            let (old, new) = (ranges("old"), ranges("new"));
            Some(
                old.into_iter()
                    .filter(|r| !new.contains(r))
                    .map(|r| (r, cite.clone()))
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect();
    ApprovalRecord {
        time_category: text("timeCategory").map(|c| (c, citation(&a["timeCite"]))),
        eol_date: text("eolDate")
            .and_then(|d| d.parse().ok())
            .map(|d| (d, citation(&a["eolCite"]))),
        migration_target: text("migrationTarget"),
        approved_ranges: a["approvedRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        revoked,
    }
}
