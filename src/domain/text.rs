//! Rules for text that may reach an append-only audit entry. An entry can never be
//! cleaned once written, so every string that can end up in one — names, labels,
//! responsibility areas, ids given in paths and bodies, evidence URIs, filter values
//! recorded by an export — passes [`check`]: it refuses what looks like an email
//! address, a JWT, a bearer or basic credential, a key/value secret, a private key, a
//! well-known token or a long high-entropy string, and characters that make text look
//! other than it is (bidi controls, zero-width and other invisible characters, control
//! characters). Free-text `reason` is scrubbed instead ([`secret_spans`]).
//!
//! Natural keys (team, system and technology names) are unique after
//! [`natural_key`]: Unicode NFC, then full case folding, so `Core` and `core`, or
//! `é` composed and decomposed, are one name.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// It contains something that looks like a secret or personal data.
    #[error("looks like {0}; personal data and secrets never enter the audit trail")]
    Secret(&'static str),
    /// It contains a character that hides or reorders text.
    #[error("contains {0} (U+{1:04X}), which can make text look other than it is")]
    Invisible(&'static str, u32),
}

/// One kind of secret-like span.
struct Pattern {
    kind: &'static str,
    regex: Regex,
    /// Refused in identifiers and names (every pattern is scrubbed from reasons).
    refuse: bool,
}

impl Pattern {
    /// Content addresses (commit ids, digests) are long hex runs by design: the
    /// location part of a URI may hold them.
    fn is_content_address(&self) -> bool {
        self.regex.as_str().starts_with(r"\b[0-9A-Fa-f]")
    }
}

/// Patterns, most specific first. Each is compiled once.
static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    [
        // JWTs and other JWS compact tokens: base64url segments, the first a JSON header.
        ("a JWT", r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*", true),
        // `Bearer <token>` / `Basic <credentials>` as pasted from a header.
        (
            "a bearer or basic credential",
            r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
            true,
        ),
        // key=value / key: value where the key names a secret.
        (
            "a credential",
            r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)\b\s*[:=]\s*\S+",
            true,
        ),
        // PEM blocks.
        (
            "a private key",
            r"-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)",
            true,
        ),
        // Well-known token prefixes: GitHub, GitLab, Slack, AWS access keys, OpenAI-style keys.
        (
            "an access token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,})\b",
            true,
        ),
        // Email addresses.
        (
            "an email address",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
            true,
        ),
        // Long opaque strings: 32+ hex digits.
        ("a long secret-like string", r"\b[0-9A-Fa-f]{32,}\b", true),
        // 24+ base64 characters with letters and digits (keys, session ids). Scrubbed
        // from reasons; identifiers use the stricter entropy test below instead.
        (
            "a long secret-like string",
            r"[A-Za-z0-9+/_-]{24,}={0,2}",
            false,
        ),
    ]
    .into_iter()
    .filter_map(|(kind, pattern, refuse)| {
        Regex::new(pattern).ok().map(|regex| Pattern {
            kind,
            regex,
            refuse,
        })
    })
    .collect()
});

/// Runs of base64 characters, for the entropy test.
static OPAQUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/]{24,}={0,2}").ok());

/// Shannon entropy of `text`, in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    let mut total = 0u32;
    for c in text.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
        total += 1;
    }
    let total = f64::from(total.max(1));
    counts
        .values()
        .map(|&n| {
            let p = f64::from(n) / total;
            -p * p.log2()
        })
        .sum()
}

/// A run of 24+ base64 characters mixing upper case, lower case and digits with at
/// least 4 bits of entropy per character: a generated secret, not a word or a name.
fn high_entropy(text: &str) -> bool {
    OPAQUE.as_ref().is_some_and(|re| {
        re.find_iter(text).any(|m| {
            let s = m.as_str();
            s.chars().any(|c| c.is_ascii_uppercase())
                && s.chars().any(|c| c.is_ascii_lowercase())
                && s.chars().any(|c| c.is_ascii_digit())
                && entropy(s) >= 4.0
        })
    })
}

/// The name of an invisible or reordering character, if `c` is one.
fn invisible(c: char) -> Option<&'static str> {
    match c {
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some("a bidirectional control"),
        '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' => {
            Some("a zero-width character")
        }
        '\u{00AD}'
        | '\u{034F}'
        | '\u{115F}'
        | '\u{1160}'
        | '\u{3164}'
        | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}' => Some("an invisible character"),
        c if c.is_control() => Some("a control character"),
        _ => None,
    }
}

/// Refuses text that must not enter an audit entry (see the module docs).
pub fn check(text: &str) -> Result<(), TextError> {
    if let Some((c, what)) = text.chars().find_map(|c| invisible(c).map(|w| (c, w))) {
        return Err(TextError::Invisible(what, u32::from(c)));
    }
    if let Some(p) = PATTERNS.iter().find(|p| p.refuse && p.regex.is_match(text)) {
        return Err(TextError::Secret(p.kind));
    }
    if high_entropy(text) {
        return Err(TextError::Secret("a long secret-like string"));
    }
    Ok(())
}

/// Refuses the location part of a URI (scheme, host and path) that must not enter an
/// audit entry: as [`check`], except that long hex and base64 runs are allowed there,
/// because content-addressed locations (a commit, a digest-named artifact) are made of
/// them. A query or fragment is ordinary text and passes [`check`].
pub fn check_locator(text: &str) -> Result<(), TextError> {
    if let Some((c, what)) = text.chars().find_map(|c| invisible(c).map(|w| (c, w))) {
        return Err(TextError::Invisible(what, u32::from(c)));
    }
    if let Some(p) = PATTERNS
        .iter()
        .find(|p| p.refuse && !p.is_content_address() && p.regex.is_match(text))
    {
        return Err(TextError::Secret(p.kind));
    }
    Ok(())
}

/// The byte ranges of every secret-like or email-like span in `text`, for scrubbing
/// free text. Plain long words (no digits) are prose, not keys.
#[must_use]
pub fn secret_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for p in PATTERNS.iter() {
        for m in p.regex.find_iter(text) {
            let found = m.as_str();
            let mixed = found.chars().any(|c| c.is_ascii_digit())
                && found.chars().any(|c| c.is_ascii_alphabetic());
            if p.refuse || mixed {
                spans.push(m.range());
            }
        }
    }
    spans.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// `text` with every span [`secret_spans`] finds replaced by `[REDACTED]`.
#[must_use]
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in secret_spans(text) {
        out.push_str(&text[at..span.start]);
        out.push_str("[REDACTED]");
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` in Unicode NFC.
#[must_use]
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// The uniqueness key of a natural key: NFC, then full Unicode case folding, then NFC
/// again (folding can decompose).
#[must_use]
pub fn natural_key(text: &str) -> String {
    nfc(&caseless::default_case_fold_str(&nfc(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for ok in [
            "Platform Core",
            "payments-eu-2026",
            "service-account-2024-platform-team",
            "Kafka 3.7 cluster",
            "Équipe Données",
            "internationalization",
            "GOV-1234",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn secrets_and_personal_data_are_refused_by_kind() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
        for (text, kind) in [
            ("contact mallory@example.com", "an email address"),
            (jwt, "a JWT"),
            ("Bearer abcdef0123456789xyz", "a bearer or basic credential"),
            ("Basic dXNlcjpwYXNzd29yZA==", "a bearer or basic credential"),
            ("password=hunter2", "a credential"),
            ("-----BEGIN PRIVATE KEY-----", "a private key"),
            (
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "an access token",
            ),
            (
                "0123456789abcdef0123456789abcdef",
                "a long secret-like string",
            ),
            (
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "a long secret-like string",
            ),
        ] {
            assert_eq!(check(text), Err(TextError::Secret(kind)), "{text}");
        }
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_refused() {
        for text in [
            "evil\u{202E}gnp.exe",
            "zero\u{200B}width",
            "bom\u{FEFF}",
            "tab\there",
        ] {
            assert!(
                matches!(check(text), Err(TextError::Invisible(..))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn natural_keys_ignore_case_and_normalization_form() {
        assert_eq!(natural_key("Core"), natural_key("CORE"));
        assert_eq!(natural_key("Stra\u{df}e"), natural_key("STRASSE"));
        assert_eq!(natural_key("caf\u{e9}"), natural_key("cafe\u{301}"));
        assert_ne!(natural_key("core"), natural_key("core2"));
        assert_eq!(nfc("cafe\u{301}"), "caf\u{e9}");
    }

    #[test]
    fn scrubbing_finds_every_secret_span_once() {
        let text = "per bob@example.com and token=abc123 ok";
        let spans = secret_spans(text);
        let found: Vec<&str> = spans.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(found, vec!["bob@example.com", "token=abc123"]);
        assert!(secret_spans("internationalization requirements").is_empty());
    }
}
