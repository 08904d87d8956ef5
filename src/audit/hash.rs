//! Content hashes of audit entries and the per-entity chains they form.
//!
//! An entry's `hash` is the hex SHA-256 of the RFC 8785 (JCS) canonical JSON of every
//! stored property except `hash` itself, with `timestamp` in its one canonical text
//! form: RFC 3339 UTC with exactly six fractional digits and upper-case `T` and `Z`
//! (`2026-11-25T19:20:43.100563Z`). No other spelling of the same instant is accepted:
//! two texts must never share a hash. Among those properties is
//! `prevHashes`: for each entity the entry audits, `"<entity id>=<hash of that entity's
//! previous entry>"` (or `=GENESIS` for its first), sorted — so each entity's entries
//! form a hash chain, and the entity's `auditHead` names the newest.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The previous hash of an entity's first entry.
pub const GENESIS: &str = "GENESIS";

/// A stored entry could not be put in canonical form.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The entry is not a JSON object or a field cannot be serialized.
    #[error("cannot canonicalize the entry: {0}")]
    Canonical(String),
    /// The timestamp is not in the canonical form.
    #[error("the timestamp `{0}` is not in the canonical form YYYY-MM-DDTHH:MM:SS.ffffffZ")]
    Timestamp(String),
}

/// The canonical timestamp text of an instant.
#[must_use]
pub fn canonical_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Whether `text` is a timestamp in the one canonical form
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (and a real instant).
#[must_use]
pub fn is_canonical(text: &str) -> bool {
    let b = text.as_bytes();
    let shape = b.len() == 27
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    shape && DateTime::parse_from_rfc3339(text).is_ok_and(|at| !is_leap_second(&at))
}

/// chrono reads a second of `60` as a leap second; govtrail never writes one (its clock
/// is UTC without leap seconds), so a timestamp holding one was not written by it.
fn is_leap_second<Tz: chrono::TimeZone>(at: &DateTime<Tz>) -> bool {
    chrono::Timelike::nanosecond(at) >= 1_000_000_000
}

/// The canonical text of a datetime as Neo4j renders it (`toString`): Neo4j prints
/// fewer fractional digits when they end in zeros, so those are padded; a value with
/// digits below the microsecond, or not in UTC, was not written by govtrail and is
/// refused (cutting it down would let two stored values share one hash).
pub fn from_store(text: &str) -> Result<String, HashError> {
    let bad = || HashError::Timestamp(text.to_owned());
    if !text.ends_with('Z') || !text.contains('T') {
        return Err(bad());
    }
    let fraction = text
        .split_once('.')
        .map(|(_, f)| f.trim_end_matches('Z'))
        .unwrap_or_default();
    // Bytes, not chars: a stored string need not be ASCII.
    if fraction.bytes().skip(6).any(|c| c != b'0') {
        return Err(bad());
    }
    let at = DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
    if is_leap_second(&at) {
        return Err(bad());
    }
    Ok(canonical_timestamp(at.with_timezone(&Utc)))
}

/// Rewrites `map[field]` from Neo4j's rendering into the canonical form; a value that
/// has none is left as it is, for verification to report.
pub fn canonicalize_field(map: &mut serde_json::Map<String, Value>, field: &str) {
    if let Some(Value::String(text)) = map.get(field)
        && let Ok(canonical) = from_store(text)
    {
        map.insert(field.to_owned(), Value::String(canonical));
    }
}

/// Hex SHA-256 of the canonical JSON of `entry` without its `hash` field and its null
/// fields. A `timestamp` must be in the canonical form already (see [`from_store`]).
pub fn content_hash(entry: &Value) -> Result<String, HashError> {
    let map = entry
        .as_object()
        .ok_or_else(|| HashError::Canonical("not an object".into()))?;
    if let Some(stamp) = map.get("timestamp").filter(|v| !v.is_null()) {
        match stamp.as_str() {
            Some(text) if is_canonical(text) => {}
            _ => return Err(HashError::Timestamp(stamp.to_string())),
        }
    }
    let bytes = serde_jcs::to_vec(&Hashed(map)).map_err(|e| HashError::Canonical(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// What the hash covers of an entry, serialized in place (no copy of the entry):
/// every field but `hash`, and no null field.
struct Hashed<'a>(&'a serde_json::Map<String, Value>);

impl serde::Serialize for Hashed<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .filter(|(k, v)| k.as_str() != "hash" && !v.is_null()),
        )
    }
}

/// `prevHashes` for an entry auditing `heads` (entity id, its current head if any).
#[must_use]
pub fn prev_hashes<'a>(heads: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Vec<String> {
    let mut out: Vec<String> = heads
        .into_iter()
        .map(|(id, head)| format!("{id}={}", head.unwrap_or(GENESIS)))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The previous hash an entry records for `entity_id`, if it audits it.
#[must_use]
pub fn prev_of<'a>(prev_hashes: &'a [String], entity_id: &str) -> Option<&'a str> {
    prev_hashes.iter().find_map(|p| {
        p.strip_prefix(entity_id)
            .and_then(|rest| rest.strip_prefix('='))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_canonical_timestamp_text_is_accepted() {
        for bad in [
            "2026-11-25T19:20:43.1Z",
            "2026-11-25T19:20:43.1000000Z",
            "2026-11-25t19:20:43.100000z",
            "2026-11-25T19:20:43.100000+00:00",
            "2026-11-25 19:20:43.100000Z",
            "2026-13-25T19:20:43.100000Z",
            "2026-11-25T23:59:60.100000Z",
            "2026-11-25T19:47:60.285549Z",
        ] {
            assert!(!is_canonical(bad), "{bad}");
            assert!(content_hash(&json!({"timestamp": bad})).is_err(), "{bad}");
        }
        assert!(is_canonical("2026-11-25T19:20:43.100000Z"));
    }

    #[test]
    fn neo4j_renderings_are_padded_but_sub_microsecond_or_zoned_values_are_refused() {
        assert_eq!(
            from_store("2026-11-25T19:20:43.1Z").ok().as_deref(),
            Some("2026-11-25T19:20:43.100000Z")
        );
        assert_eq!(
            from_store("2026-11-25T19:20:43Z").ok().as_deref(),
            Some("2026-11-25T19:20:43.000000Z")
        );
        assert!(from_store("2026-11-25T19:20:43.100000001Z").is_err());
        assert!(from_store("2026-11-25T20:20:43.1+01:00").is_err());
        assert!(
            from_store("2026-11-25T23:59:60.1Z").is_err(),
            "a leap second"
        );
        // Not ASCII where the digits below the microsecond would be: refused, not a panic.
        assert!(from_store("2026-11-25T19:20:43.12345\u{e9}Z").is_err());
        assert!(from_store("2026-11-25T19:20:43.123456\u{e9}Z").is_err());
    }

    #[test]
    fn the_hash_ignores_key_order_but_not_content() {
        let a = json!({"id": "1", "timestamp": "2026-11-25T19:20:43.100000Z", "reason": "x", "hash": "old"});
        let b = json!({"reason": "x", "timestamp": "2026-11-25T19:20:43.100000Z", "id": "1", "route": null});
        let c = json!({"reason": "y", "timestamp": "2026-11-25T19:20:43.100000Z", "id": "1"});
        let (ha, hb, hc) = (
            content_hash(&a).ok(),
            content_hash(&b).ok(),
            content_hash(&c).ok(),
        );
        assert!(ha.is_some());
        assert_eq!(ha, hb);
        assert_ne!(hb, hc);
    }

    #[test]
    fn the_hash_is_sha256_of_the_jcs_form() {
        // JCS sorts keys and writes no whitespace: {"a":1,"b":"x"}
        let entry = json!({"b": "x", "a": 1});
        let expected = hex::encode(Sha256::digest(br#"{"a":1,"b":"x"}"#));
        assert_eq!(content_hash(&entry).ok(), Some(expected));
    }

    #[test]
    fn prev_hashes_are_sorted_and_name_genesis() {
        let p = prev_hashes([("team", Some("abc")), ("user", None)]);
        assert_eq!(p, vec!["team=abc".to_owned(), "user=GENESIS".to_owned()]);
        assert_eq!(prev_of(&p, "user"), Some("GENESIS"));
        assert_eq!(prev_of(&p, "use"), None);
    }
}
