//! Scrubbing of free text (`reason`) before it is stored: every span that
//! [`crate::domain::text::secret_spans`] finds — credentials, tokens, keys, email
//! addresses — becomes `[REDACTED]`. Entries are append-only, so a secret that reached
//! one could never be removed; scrubbing errs on the side of redacting. (Names and ids
//! are refused instead of scrubbed: [`crate::domain::text::check`].)

/// What a redacted span is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Returns `text` with every credential-like or email-like span replaced by `[REDACTED]`.
#[must_use]
pub fn scrub(text: &str) -> String {
    crate::domain::text::redact(text)
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
