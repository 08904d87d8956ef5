//! The rule that matches a component to a governed technology. A component is the
//! technology whose natural key (NFC, case-folded name) equals, in order of
//! preference: the alias table's entry for its component name, for its package URL's
//! `type/namespace/name`, or for its `type/name`; else its package URL's name; else its
//! component name.
//!
//! The part of the rule that does not depend on the alias table (the base key, and the
//! strings the table is looked up by) is stored on each `Component`, so that the
//! technologies' usage can be found by index; the table itself is applied when read,
//! so a change to it applies at once to evaluations and usage alike.

use std::collections::BTreeMap;

use packageurl::PackageUrl;

use crate::domain::text::natural_key;

/// What a component can be matched by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKeys {
    /// The natural key of its package URL's name, or of its name: what it matches
    /// when no alias applies.
    pub base: String,
    /// The alias-table keys that apply to it, most preferred first.
    pub lookups: Vec<String>,
}

impl MatchKeys {
    /// The keys of a component named `name` with package URL `purl`.
    #[must_use]
    pub fn of(name: &str, purl: Option<&str>) -> Self {
        let parsed = purl.and_then(|p| p.parse::<PackageUrl<'static>>().ok());
        let mut lookups = vec![name.to_owned()];
        let base = match &parsed {
            Some(p) => {
                if let Some(ns) = p.namespace() {
                    lookups.push(format!("{}/{ns}/{}", p.ty(), p.name()));
                }
                lookups.push(format!("{}/{}", p.ty(), p.name()));
                natural_key(p.name())
            }
            None => natural_key(name),
        };
        Self { base, lookups }
    }

    /// The natural key of the technology these keys match under `aliases`.
    #[must_use]
    pub fn technology_key(&self, aliases: &BTreeMap<String, String>) -> String {
        self.lookups
            .iter()
            .find_map(|k| aliases.get(k))
            .map_or_else(|| self.base.clone(), |target| natural_key(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_match_by_purl_name_then_name_unless_an_alias_applies() {
        let none = BTreeMap::new();
        let plain = MatchKeys::of("X", None);
        assert_eq!(plain.technology_key(&none), "x");
        let npm = MatchKeys::of("whatever", Some("pkg:npm/Left-Pad@1.3.0"));
        assert_eq!(npm.base, natural_key("left-pad"));
        assert_eq!(npm.technology_key(&none), natural_key("Left-Pad"));
        // The package URL crate applies the npm rule: names are lower case.
        let aliases = BTreeMap::from([("npm/left-pad".to_owned(), "Left Pad".to_owned())]);
        assert_eq!(npm.technology_key(&aliases), natural_key("left pad"));
    }

    #[test]
    fn the_name_alias_wins_then_the_namespaced_one_then_the_short_one() {
        let scoped = MatchKeys::of("types-node", Some("pkg:npm/%40types/node@20.0.0"));
        assert_eq!(
            scoped.lookups,
            ["types-node", "npm/@types/node", "npm/node"],
            "the namespace is decoded"
        );
        let mut aliases = BTreeMap::from([("npm/node".to_owned(), "Node".to_owned())]);
        assert_eq!(scoped.technology_key(&aliases), natural_key("node"));
        aliases.insert("npm/@types/node".into(), "Node Types".into());
        assert_eq!(scoped.technology_key(&aliases), natural_key("node types"));
        aliases.insert("types-node".into(), "Typings".into());
        assert_eq!(scoped.technology_key(&aliases), natural_key("typings"));
    }

    #[test]
    fn an_unparseable_purl_falls_back_to_the_name() {
        let keys = MatchKeys::of("Thing", Some("not a purl"));
        assert_eq!(keys.base, natural_key("thing"));
        assert_eq!(keys.lookups, ["Thing"]);
    }
}
