//! SBOM ingest and compliance evaluation. SBOM data (documents, components, their
//! hashes, references and dependencies) is operational: it changes through automated
//! ingest and is never audited. The governed decisions that apply to it (license
//! decisions, the whitelist, version constraints, technology approvals) are, and every
//! verdict cites the entry behind the decision it rests on.

pub mod document;
pub mod evaluate;
pub mod ingest;
