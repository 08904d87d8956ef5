//! SBOM documents as received: CycloneDX JSON 1.4 to 1.6 and SPDX 2.3 JSON, recognised
//! from their content, read into one neutral [`Inventory`]. Only the fields govtrail
//! uses are read (serde skips the rest without keeping it); a field of the wrong shape
//! is refused with its JSON pointer.
//!
//! These are govtrail's own serde types: `cyclonedx-bom` reads whole documents into
//! its model (holding every field, so memory grows with what govtrail never uses) and
//! `spdx-rs` lags behind SPDX 2.3; the handful of fields read here are stable across
//! the supported versions.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The document formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Format {
    /// CycloneDX JSON.
    CycloneDx,
    /// SPDX JSON.
    Spdx,
}

impl Format {
    /// The name stored on the `Sbom` node.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CycloneDx => "CycloneDX",
            Self::Spdx => "SPDX",
        }
    }
}

/// CycloneDX versions read.
pub const CYCLONEDX_VERSIONS: [&str; 3] = ["1.4", "1.5", "1.6"];
/// SPDX versions read.
pub const SPDX_VERSIONS: [&str; 1] = ["SPDX-2.3"];

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON at all.
    #[error("the document is not JSON: {0}")]
    Json(String),
    /// Neither CycloneDX nor SPDX.
    #[error("the document is neither CycloneDX (bomFormat) nor SPDX (spdxVersion)")]
    Unrecognised,
    /// A version govtrail does not read.
    #[error("{format} {version} is not supported (supported: {supported})")]
    Version {
        /// Format.
        format: &'static str,
        /// The version the document names.
        version: String,
        /// The versions read.
        supported: String,
    },
    /// A field breaks the format's schema.
    #[error("{pointer}: {message}")]
    Schema {
        /// JSON pointer of the first offending value.
        pointer: String,
        /// What is wrong with it.
        message: String,
    },
}

/// One component as a document lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Its key: the package URL, or `name@version` where it has none.
    pub key: String,
    /// Name.
    pub name: String,
    /// Version text.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// Declared license expression, as written (`None` when the document says nothing).
    pub license: Option<String>,
    /// Hashes, algorithm → hex value.
    pub hashes: BTreeMap<String, String>,
    /// External references, `type url`.
    pub references: Vec<String>,
}

/// What a document says, in govtrail's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    /// Format.
    pub format: Format,
    /// `specVersion` or `spdxVersion`.
    pub spec_version: String,
    /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
    pub serial_number: Option<String>,
    /// Components, each key once (the first listing wins).
    pub components: Vec<Component>,
    /// Dependency edges between component keys.
    pub dependencies: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    spec_version: Option<String>,
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
}

/// Reads a document, recognising its format from its content.
pub fn parse(bytes: &[u8]) -> Result<Inventory, DocumentError> {
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| DocumentError::Json(e.to_string()))?;
    match (probe.bom_format.as_deref(), probe.spdx_version) {
        (Some("CycloneDX"), _) => {
            let version = probe.spec_version.unwrap_or_default();
            supported(Format::CycloneDx, &version, &CYCLONEDX_VERSIONS)?;
            let bom: CycloneDx = strict(bytes)?;
            bom.inventory(version)
        }
        (None, Some(version)) => {
            supported(Format::Spdx, &version, &SPDX_VERSIONS)?;
            let doc: Spdx = strict(bytes)?;
            doc.inventory(version)
        }
        _ => Err(DocumentError::Unrecognised),
    }
}

fn supported(format: Format, version: &str, known: &[&str]) -> Result<(), DocumentError> {
    if known.contains(&version) {
        return Ok(());
    }
    Err(DocumentError::Version {
        format: format.as_str(),
        version: version.to_owned(),
        supported: known.join(", "),
    })
}

/// Deserializes `bytes`, naming the first offending value by its JSON pointer.
fn strict<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DocumentError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut pointer = String::new();
        for segment in e.path() {
            pointer.push('/');
            match segment {
                serde_path_to_error::Segment::Seq { index } => {
                    pointer.push_str(&index.to_string());
                }
                serde_path_to_error::Segment::Map { key } => {
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                serde_path_to_error::Segment::Enum { variant } => pointer.push_str(variant),
                serde_path_to_error::Segment::Unknown => pointer.push('?'),
            }
        }
        DocumentError::Schema {
            pointer: if pointer.is_empty() {
                "/".into()
            } else {
                pointer
            },
            message: e.into_inner().to_string(),
        }
    })
}

/// The version a package URL names, for a component that gives none itself.
fn purl_version(purl: Option<&str>) -> Option<String> {
    let parsed = purl?.parse::<packageurl::PackageUrl<'static>>().ok()?;
    parsed.version().map(str::to_owned)
}

/// The key of a component: its package URL, else `name@version`.
fn key_of(name: &str, version: Option<&str>, purl: Option<&str>) -> String {
    purl.map_or_else(
        || format!("{name}@{}", version.unwrap_or_default()),
        str::to_owned,
    )
}

/// Components in order, each key once; `refs` maps document references to keys.
#[derive(Default)]
struct Collected {
    components: Vec<Component>,
    seen: HashMap<String, usize>,
    refs: HashMap<String, String>,
}

/// The longest component key stored (Neo4j indexes keys of up to about 8 KB; a real
/// package URL is far shorter).
pub const MAX_KEY_BYTES: usize = 4096;

impl Collected {
    /// Adds the component found at JSON pointer `at`, unless its key was seen.
    fn push(
        &mut self,
        at: &str,
        reference: Option<String>,
        component: Component,
    ) -> Result<(), DocumentError> {
        if component.key.len() > MAX_KEY_BYTES {
            return Err(DocumentError::Schema {
                pointer: at.to_owned(),
                message: format!(
                    "the component's key (its package URL, or name@version) is longer than {MAX_KEY_BYTES} bytes"
                ),
            });
        }
        if let Some(reference) = reference {
            self.refs.insert(reference, component.key.clone());
        }
        if !self.seen.contains_key(&component.key) {
            self.seen
                .insert(component.key.clone(), self.components.len());
            self.components.push(component);
        }
        Ok(())
    }

    fn edge(&self, from: &str, to: &str) -> Option<(String, String)> {
        Some((self.refs.get(from)?.clone(), self.refs.get(to)?.clone()))
    }
}

// ---- CycloneDX

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CycloneDx {
    serial_number: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
    #[serde(default)]
    dependencies: Vec<CdxDependency>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CdxComponent {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    name: String,
    group: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    licenses: Vec<CdxLicenseChoice>,
    #[serde(default)]
    hashes: Vec<CdxHash>,
    #[serde(default)]
    external_references: Vec<CdxReference>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CdxLicenseChoice {
    Expression { expression: String },
    License { license: CdxLicense },
}

#[derive(Deserialize)]
struct CdxLicense {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct CdxHash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct CdxReference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CdxDependency {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    depends_on: Vec<String>,
}

impl CycloneDx {
    fn inventory(self, spec_version: String) -> Result<Inventory, DocumentError> {
        let mut collected = Collected::default();
        let mut stack: Vec<(String, CdxComponent)> = self
            .components
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, c)| (format!("/components/{i}"), c))
            .collect();
        while let Some((at, mut c)) = stack.pop() {
            let nested = std::mem::take(&mut c.components);
            stack.extend(
                nested
                    .into_iter()
                    .enumerate()
                    .rev()
                    .map(|(i, n)| (format!("{at}/components/{i}"), n)),
            );
            let name = match &c.group {
                Some(group) if !group.is_empty() => format!("{group}/{}", c.name),
                _ => c.name.clone(),
            };
            let component = Component {
                key: key_of(&name, c.version.as_deref(), c.purl.as_deref()),
                license: cdx_license(&c.licenses),
                hashes: c.hashes.into_iter().map(|h| (h.alg, h.content)).collect(),
                references: c
                    .external_references
                    .into_iter()
                    .map(|r| format!("{} {}", r.kind, r.url))
                    .collect(),
                name,
                version: c.version.or_else(|| purl_version(c.purl.as_deref())),
                purl: c.purl,
            };
            collected.push(&at, c.bom_ref, component)?;
        }
        let dependencies = self
            .dependencies
            .iter()
            .flat_map(|d| d.depends_on.iter().map(move |to| (&d.reference, to)))
            .filter_map(|(from, to)| collected.edge(from, to))
            .collect();
        Ok(Inventory {
            format: Format::CycloneDx,
            spec_version,
            serial_number: self.serial_number,
            components: collected.components,
            dependencies,
        })
    }
}

/// A CycloneDX component's licenses as one expression: an `expression` as written,
/// several licenses joined with `AND` (each applies).
fn cdx_license(choices: &[CdxLicenseChoice]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for choice in choices {
        let part = match choice {
            CdxLicenseChoice::Expression { expression } => Some(expression.clone()),
            CdxLicenseChoice::License { license } => license.id.clone().or(license.name.clone()),
        };
        // A license listed twice (tools do) is one license, not `(MIT) AND (MIT)`.
        if let Some(part) = part.filter(|p| !parts.contains(p)) {
            parts.push(part);
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(
            parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" AND "),
        ),
    }
}

// ---- SPDX

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spdx {
    document_namespace: Option<String>,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
    #[serde(default)]
    relationships: Vec<SpdxRelationship>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    version_info: Option<String>,
    license_declared: Option<String>,
    license_concluded: Option<String>,
    #[serde(default)]
    checksums: Vec<SpdxChecksum>,
    #[serde(default)]
    external_refs: Vec<SpdxExternalRef>,
    homepage: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxChecksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxExternalRef {
    reference_type: String,
    reference_locator: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship {
    spdx_element_id: String,
    relationship_type: String,
    related_spdx_element: String,
}

impl Spdx {
    fn inventory(self, spec_version: String) -> Result<Inventory, DocumentError> {
        let mut collected = Collected::default();
        for (i, p) in self.packages.into_iter().enumerate() {
            let purl = p
                .external_refs
                .iter()
                .find(|r| r.reference_type == "purl")
                .map(|r| r.reference_locator.clone());
            // The declared license; the concluded one where nothing is declared.
            let asserted = |l: &Option<String>| l.clone().filter(|l| l != "NOASSERTION");
            let license = asserted(&p.license_declared)
                .or_else(|| asserted(&p.license_concluded))
                .or(p.license_declared.clone());
            let mut references: Vec<String> = p
                .external_refs
                .iter()
                .filter(|r| r.reference_type != "purl")
                .map(|r| format!("{} {}", r.reference_type, r.reference_locator))
                .collect();
            references.extend(p.homepage.map(|h| format!("website {h}")));
            let component = Component {
                key: key_of(&p.name, p.version_info.as_deref(), purl.as_deref()),
                name: p.name,
                version: p.version_info.or_else(|| purl_version(purl.as_deref())),
                purl,
                license,
                hashes: p
                    .checksums
                    .into_iter()
                    .map(|c| (c.algorithm, c.checksum_value))
                    .collect(),
                references,
            };
            collected.push(&format!("/packages/{i}"), Some(p.spdx_id), component)?;
        }
        let dependencies = self
            .relationships
            .iter()
            .filter_map(|r| match r.relationship_type.as_str() {
                "DEPENDS_ON" => collected.edge(&r.spdx_element_id, &r.related_spdx_element),
                "DEPENDENCY_OF" => collected.edge(&r.related_spdx_element, &r.spdx_element_id),
                _ => None,
            })
            .collect();
        Ok(Inventory {
            format: Format::Spdx,
            spec_version,
            serial_number: self.document_namespace,
            components: collected.components,
            dependencies,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cyclonedx_components_nest_and_licenses_combine() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"urn:uuid:1",
          "components":[
            {"bom-ref":"a","type":"library","name":"a","version":"1.0.0","purl":"pkg:npm/a@1.0.0",
             "licenses":[{"license":{"id":"MIT"}},{"license":{"name":"Custom"}}],
             "hashes":[{"alg":"SHA-256","content":"ab"}],
             "components":[{"bom-ref":"b","name":"b","version":"2.0.0",
                            "licenses":[{"expression":"MIT OR Apache-2.0"}]}]}],
          "dependencies":[{"ref":"a","dependsOn":["b","missing"]}]}"#;
        let inv = parse(doc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.format, Format::CycloneDx);
        assert_eq!(inv.components.len(), 2);
        assert_eq!(inv.components[0].key, "pkg:npm/a@1.0.0");
        assert_eq!(
            inv.components[0].license.as_deref(),
            Some("(MIT) AND (Custom)")
        );
        assert_eq!(inv.components[1].key, "b@2.0.0");
        assert_eq!(
            inv.components[1].license.as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            inv.dependencies,
            vec![("pkg:npm/a@1.0.0".to_owned(), "b@2.0.0".to_owned())]
        );
    }

    #[test]
    fn spdx_packages_take_the_declared_license_and_their_purl() {
        let doc = br#"{"spdxVersion":"SPDX-2.3","documentNamespace":"https://x/1",
          "packages":[
            {"SPDXID":"SPDXRef-a","name":"six","versionInfo":"1.16.0","licenseDeclared":"NOASSERTION",
             "licenseConcluded":"MIT","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER",
             "referenceType":"purl","referenceLocator":"pkg:pypi/six@1.16.0"}]},
            {"SPDXID":"SPDXRef-b","name":"idna","versionInfo":"3.7","licenseDeclared":"NOASSERTION"}],
          "relationships":[{"spdxElementId":"SPDXRef-a","relationshipType":"DEPENDS_ON",
                            "relatedSpdxElement":"SPDXRef-b"}]}"#;
        let inv = parse(doc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inv.format, Format::Spdx);
        assert_eq!(inv.components[0].key, "pkg:pypi/six@1.16.0");
        assert_eq!(inv.components[0].license.as_deref(), Some("MIT"));
        assert_eq!(inv.components[1].license.as_deref(), Some("NOASSERTION"));
        assert_eq!(inv.dependencies.len(), 1);
    }

    #[test]
    fn bad_documents_name_what_is_wrong() {
        assert!(matches!(parse(b"{"), Err(DocumentError::Json(_))));
        assert_eq!(parse(b"{}"), Err(DocumentError::Unrecognised));
        assert!(matches!(
            parse(br#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#),
            Err(DocumentError::Version { .. })
        ));
        let wrong = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a"},{"name":7}]}"#;
        let Err(DocumentError::Schema { pointer, .. }) = parse(wrong) else {
            panic!("expected a schema error")
        };
        assert_eq!(pointer, "/components/1/name");
    }

    #[test]
    fn a_component_without_a_version_takes_its_package_url_version() {
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"name": "a", "purl": "pkg:npm/a@1.2.3"},
            {"name": "b", "version": "2.0.0", "purl": "pkg:npm/b@9.9.9"},
            {"name": "c", "purl": "pkg:npm/c"}
        ]});
        let Ok(inventory) = parse(doc.to_string().as_bytes()) else {
            panic!("a valid document")
        };
        let versions: Vec<_> = inventory
            .components
            .iter()
            .map(|c| c.version.as_deref())
            .collect();
        assert_eq!(versions, [Some("1.2.3"), Some("2.0.0"), None]);
    }

    #[test]
    fn several_licenses_are_joined_with_and_each_once() {
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"name": "a", "licenses": [{"license": {"id": "MIT"}}, {"license": {"id": "MIT"}}]},
            {"name": "b", "licenses": [{"license": {"id": "MIT"}}, {"license": {"name": "Custom"}}]}
        ]});
        let Ok(inventory) = parse(doc.to_string().as_bytes()) else {
            panic!("a valid document")
        };
        let licenses: Vec<_> = inventory
            .components
            .iter()
            .map(|c| c.license.as_deref())
            .collect();
        assert_eq!(licenses, [Some("MIT"), Some("(MIT) AND (Custom)")]);
    }

    #[test]
    fn an_overlong_key_is_refused_at_the_component_that_has_it() {
        let long = "x".repeat(MAX_KEY_BYTES);
        let nested = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
            {"name": "a", "components": [{"name": "b"}, {"name": long, "version": "1"}]}
        ]});
        let Err(DocumentError::Schema { pointer, .. }) = parse(nested.to_string().as_bytes())
        else {
            panic!("expected a schema error")
        };
        assert_eq!(pointer, "/components/0/components/1");
        let spdx = json!({"spdxVersion": "SPDX-2.3", "packages": [
            {"SPDXID": "SPDXRef-a", "name": long}
        ]});
        let Err(DocumentError::Schema { pointer, .. }) = parse(spdx.to_string().as_bytes()) else {
            panic!("expected a schema error")
        };
        assert_eq!(pointer, "/packages/0");
        let fits = json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                          "components": [{"name": "x".repeat(MAX_KEY_BYTES - 1)}]});
        assert!(parse(fits.to_string().as_bytes()).is_ok());
    }
}
