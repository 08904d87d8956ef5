//! Compliance evaluation against Neo4j: reads a system's current component set and
//! the governed decisions in force (each with the entry behind it), then judges every
//! component with the pure rules of [`super::evaluate`]. Reads only.

use chrono::Utc;
use neo4rs::query;
use serde::Serialize;
use serde_json::Value;

use super::evaluate::{
    self, ActiveConstraint, ApprovalRecord, Citation, Decisions, LicenseRule, Subject, Summary,
    TechnologyRef, Verdict,
};
use super::matching::MatchKeys;
use super::{SbomError, SbomSettings, SbomView, now};
use crate::store::{Store, StoreError};

const CURRENT: &str = include_str!("../../cypher/sbom_current.cypher");
const DECISIONS: &str = include_str!("../../cypher/sbom_decisions.cypher");

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
    let sbom = sbom.as_ref().and_then(SbomView::from_value);
    Ok(judge(store, settings, system, sbom, owner, &subjects).await?)
}

/// Judges `subjects`, the components of `system`'s SBOM `sbom`, owned by `owner`.
pub(super) async fn judge(
    store: &Store,
    settings: &SbomSettings,
    system: &str,
    sbom: Option<SbomView>,
    owner: Option<String>,
    subjects: &[Subject],
) -> Result<Compliance, StoreError> {
    let mut keys: Vec<String> = subjects
        .iter()
        .map(|s| MatchKeys::of(&s.name, s.purl.as_deref()).technology_key(&settings.aliases))
        .collect();
    keys.sort();
    keys.dedup();
    let decisions = decisions(store, owner.as_deref(), keys).await?;
    let (components, summary) = evaluate::evaluate(subjects, &decisions, &settings.aliases);
    Ok(Compliance {
        system_id: system.to_owned(),
        sbom,
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
