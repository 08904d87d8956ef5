//! Scrubbing of free text (`reason`) before it is stored: anything that looks like a
//! credential or an email address becomes `[REDACTED]`. Entries are append-only, so a
//! secret that reached one could never be removed; scrubbing errs on the side of
//! redacting.

use std::sync::LazyLock;

use regex::Regex;

/// What a redacted span is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Patterns, most specific first. Each is compiled once.
static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // JWTs and other JWS compact tokens: three base64url segments, the first a JSON header.
        r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
        // `Bearer <token>` / `Basic <credentials>` as pasted from a header.
        r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
        // key=value / key: value where the key names a secret.
        r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)\b\s*[:=]\s*\S+",
        // PEM blocks.
        r"-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)",
        // Well-known token prefixes: GitHub, GitLab, Slack, AWS access keys, OpenAI-style keys.
        r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,})\b",
        // Email addresses.
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        // Long opaque strings: 32+ hex digits, or 24+ base64 characters with both
        // letters and digits (keys, hashes of secrets, session ids).
        r"\b[0-9A-Fa-f]{32,}\b",
        r"[A-Za-z0-9+/_-]{24,}={0,2}",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// Returns `text` with every credential-like or email-like span replaced by `[REDACTED]`.
#[must_use]
pub fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    for (i, pattern) in PATTERNS.iter().enumerate() {
        let is_base64_like = i == PATTERNS.len() - 1;
        out = pattern
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                let found = &caps[0];
                // Plain long words (no digits) are prose, not keys.
                if is_base64_like
                    && !(found.chars().any(|c| c.is_ascii_digit())
                        && found.chars().any(|c| c.is_ascii_alphabetic()))
                {
                    found.to_owned()
                } else {
                    REDACTED.to_owned()
                }
            })
            .into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_reasons_are_kept() {
        let text = "Superseded by the 2026 platform decision (ticket GOV-1234); see wiki.";
        assert_eq!(scrub(text), text);
        assert_eq!(
            scrub("internationalization requirements"),
            "internationalization requirements"
        );
    }

    #[test]
    fn jwts_and_bearer_tokens_are_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
        let out = scrub(&format!("token was {jwt} oops"));
        assert!(!out.contains("eyJ"), "{out}");
        assert!(out.contains(REDACTED));
        let out = scrub("header Authorization: Bearer abcdef0123456789xyz");
        assert!(!out.contains("abcdef0123456789xyz"), "{out}");
    }

    #[test]
    fn emails_are_redacted() {
        let out = scrub("asked by alice.smith+gov@example.co.uk yesterday");
        assert_eq!(out, "asked by [REDACTED] yesterday");
    }

    #[test]
    fn key_like_strings_are_redacted() {
        for secret in [
            "password=hunter2",
            "api_key: 1234abcd",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "0123456789abcdef0123456789abcdef",
            "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3OA==",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----",
        ] {
            let out = scrub(&format!("reason: {secret} end"));
            assert!(out.contains(REDACTED), "{secret} -> {out}");
            assert!(!out.contains(secret), "{secret} -> {out}");
        }
    }
}
