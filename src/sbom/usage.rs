//! Technology usage: which systems use which versions of a governed technology,
//! from their current SBOMs, by the matching rule of [`super::matching`]. Reads only.

use std::collections::BTreeMap;

use neo4rs::query;
use serde::Serialize;
use serde_json::{Value, json};

use super::matching::MatchKeys;
use super::{SbomError, SbomSettings};
use crate::domain::text::natural_key;
use crate::store::{Store, to_bolt};

const USAGE: &str = include_str!("../../cypher/sbom_usage.cypher");

/// A component of a system's current SBOM that is the technology.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedComponent {
    /// Its key (package URL, or `name@version`).
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its version, as the SBOM gives it.
    pub version: Option<String>,
    /// Its package URL.
    pub purl: Option<String>,
}

/// One system using the technology.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemUse {
    /// The system.
    pub system_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its owning team.
    pub owner_team_id: Option<String>,
    /// The current SBOM the use was read from.
    pub sbom_id: String,
    /// When that SBOM was ingested.
    pub ingested_at: String,
    /// The components that are the technology.
    pub components: Vec<UsedComponent>,
}

/// One version in use.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionUse {
    /// The version (`None`: the SBOM gives none).
    pub version: Option<String>,
    /// The systems using it.
    pub system_ids: Vec<String>,
}

/// Where a technology is used.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// The technology.
    pub technology_id: String,
    /// Its name.
    pub name: String,
    /// The systems using it, by id.
    pub systems: Vec<SystemUse>,
    /// The versions in use, lowest first (semantic versions before others).
    pub versions: Vec<VersionUse>,
}

/// Where `technology` is used, from the current SBOMs of the live systems.
pub async fn usage(
    store: &Store,
    settings: &SbomSettings,
    technology: &str,
) -> Result<Usage, SbomError> {
    let aliases: Vec<Value> = settings
        .aliases
        .iter()
        .map(|(key, target)| json!({"key": key, "target": natural_key(target)}))
        .collect();
    let row = store
        .read_one(
            query(USAGE)
                .param("technology", technology)
                .param("aliases", to_bolt(Value::Array(aliases))),
        )
        .await?
        .ok_or_else(|| store.decode("the usage query returned no row"))?;
    let found: bool = row.get("found").map_err(|e| store.decode(e))?;
    if !found {
        return Err(SbomError::UnknownTechnology(technology.to_owned()));
    }
    let name: String = row.get("name").map_err(|e| store.decode(e))?;
    let key: String = row.get("key").map_err(|e| store.decode(e))?;
    let uses: Vec<Value> = row.get("uses").map_err(|e| store.decode(e))?;
    let systems = systems(&uses, &key, &settings.aliases);
    Ok(Usage {
        technology_id: technology.to_owned(),
        name,
        versions: versions(&systems),
        systems,
    })
}

/// The uses that really are the technology with natural key `key`, by system.
fn systems(uses: &[Value], key: &str, aliases: &BTreeMap<String, String>) -> Vec<SystemUse> {
    let mut out: Vec<SystemUse> = Vec::new();
    for u in uses {
        let text = |k: &str| u[k].as_str().map(str::to_owned);
        let component = UsedComponent {
            key: text("key").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            version: text("version"),
            purl: text("purl"),
        };
        let keys = MatchKeys::of(&component.name, component.purl.as_deref());
        if keys.technology_key(aliases) != key {
            continue;
        }
        let system_id = text("systemId").unwrap_or_default();
        match out.last_mut() {
            Some(last) if last.system_id == system_id => last.components.push(component),
            _ => out.push(SystemUse {
                system_id,
                name: text("systemName"),
                owner_team_id: text("ownerTeamId"),
                sbom_id: text("sbomId").unwrap_or_default(),
                ingested_at: text("ingestedAt").unwrap_or_default(),
                components: vec![component],
            }),
        }
    }
    out
}

/// The versions `systems` use, with the systems using each, in [`order`].
fn versions(systems: &[SystemUse]) -> Vec<VersionUse> {
    let mut by_version: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for s in systems {
        for c in &s.components {
            let ids = by_version.entry(c.version.clone()).or_default();
            if !ids.contains(&s.system_id) {
                ids.push(s.system_id.clone());
            }
        }
    }
    let mut versions: Vec<VersionUse> = by_version
        .into_iter()
        .map(|(version, system_ids)| VersionUse {
            version,
            system_ids,
        })
        .collect();
    versions.sort_by_key(|v| order(v.version.as_deref()));
    versions
}

/// Semantic versions first, in version order; then other texts; then no version.
fn order(version: Option<&str>) -> (u8, Option<semver::Version>, Option<String>) {
    match version {
        Some(v) => match semver::Version::parse(v.trim_start_matches('v')) {
            Ok(parsed) => (0, Some(parsed), None),
            Err(_) => (1, None, Some(v.to_owned())),
        },
        None => (2, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_of(system: &str, name: &str, version: &str, purl: Option<&str>) -> Value {
        json!({"systemId": system, "systemName": system, "sbomId": "sb", "ingestedAt": "t",
               "key": format!("{name}@{version}"), "name": name, "version": version, "purl": purl})
    }

    #[test]
    fn uses_are_grouped_by_system_and_versions_ordered_semantically() {
        let uses = [
            use_of("a", "left-pad", "1.10.0", Some("pkg:npm/left-pad@1.10.0")),
            use_of("a", "left-pad", "1.9.0", Some("pkg:npm/left-pad@1.9.0")),
            use_of("b", "left-pad", "1.9.0", Some("pkg:npm/left-pad@1.9.0")),
            use_of("b", "left-pad", "nightly", None),
        ];
        let grouped = systems(&uses, &natural_key("left-pad"), &BTreeMap::new());
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].components.len(), 2);
        let versions: Vec<_> = versions(&grouped)
            .iter()
            .map(|v| (v.version.clone().unwrap_or_default(), v.system_ids.len()))
            .collect();
        assert_eq!(
            versions,
            [
                ("1.9.0".to_owned(), 2),
                ("1.10.0".to_owned(), 1),
                ("nightly".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn a_component_whose_alias_points_elsewhere_is_not_a_use() {
        let uses = [use_of(
            "a",
            "left-pad",
            "1.0.0",
            Some("pkg:npm/left-pad@1.0.0"),
        )];
        let aliases = BTreeMap::from([("npm/left-pad".to_owned(), "Padding".to_owned())]);
        assert!(systems(&uses, &natural_key("left-pad"), &aliases).is_empty());
        assert_eq!(systems(&uses, &natural_key("padding"), &aliases).len(), 1);
    }
}
