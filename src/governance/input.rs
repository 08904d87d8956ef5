//! What a governed request carries before it becomes a [`Command`]: path parameters,
//! the JSON body types every operation accepts (each with an optional `reason`), and
//! the validators that turn text into domain values. Pure: no I/O, no HTTP types.
//!
//! [`Command`]: super::command::Command

use std::collections::BTreeMap;

use chrono::NaiveDate;
use semver::VersionReq;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{PartialSchema, ToSchema};

use super::command::Command;
use crate::domain::text::{self, nfc};
use crate::domain::{
    Criticality, FieldError, RiskLevel, Subject, TeamId, TechnologyId, TimeCategory, UserId,
};

/// Longest name of a team, system or technology.
pub const MAX_NAME_CHARS: usize = 200;
/// Most responsibility areas per team.
pub const MAX_AREAS: usize = 50;
/// Longest responsibility area.
pub const MAX_AREA_CHARS: usize = 100;

/// Why a request could not become a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A path (or query) parameter does not parse (HTTP 400).
    Params(Vec<FieldError>),
    /// The body is not well-formed JSON (HTTP 400).
    Malformed(String),
    /// The body is JSON but a field is invalid (HTTP 422).
    Fields(Vec<FieldError>),
}

impl Invalid {
    /// One invalid body field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Fields(vec![FieldError::new(field, message)])
    }

    /// One invalid path parameter.
    pub fn param(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Params(vec![FieldError::new(field, message)])
    }
}

/// A command and the caller's reason, as parsed from one request.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// What to run.
    pub command: Command,
    /// The caller's free-text reason, unscrubbed.
    pub reason: Option<String>,
    /// The evidence it cites (checked; canonical JSON text).
    pub evidence: Option<String>,
    /// Whether the caller breaks glass (runs it without its approvals).
    pub break_glass: bool,
}

/// A route's path parameters by name, as text.
#[derive(Debug, Clone, Default)]
pub struct PathParams(BTreeMap<String, String>);

impl PathParams {
    /// Parameters from `(name, value)` pairs.
    #[must_use]
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The raw text of `name` (empty when absent: routes declare their parameters).
    #[must_use]
    pub fn text(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// `name` parsed as a UUID-backed id.
    pub fn id<T: TryFrom<uuid::Uuid>>(&self, name: &str) -> Result<T, Invalid> {
        uuid::Uuid::parse_str(self.text(name))
            .ok()
            .and_then(|u| T::try_from(u).ok())
            .ok_or_else(|| Invalid::param(name, "must be a UUID"))
    }
}

/// Every body may carry a reason.
pub trait Reasoned {
    /// The caller's reason, unscrubbed.
    fn reason(&self) -> Option<&str>;
    /// The evidence the caller cites.
    fn evidence(&self) -> Option<&[EvidenceRef]>;
    /// Whether the caller breaks glass.
    fn break_glass(&self) -> bool;
}

/// Most evidence references one request may cite.
pub const MAX_EVIDENCE: usize = 20;

/// A piece of evidence a change cites: what it is, where it lives, and the digest
/// that pins exactly which version of it (a floating name such as `latest` is not
/// evidence of anything).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    /// What it is, e.g. `ticket`, `sbom`, `scan-report`, `review`.
    #[schema(
        pattern = r"^[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,3}$",
        example = "ticket"
    )]
    pub kind: String,
    /// Where it lives: an absolute URI without credentials (no user info), naming an
    /// exact version rather than `latest`.
    #[schema(
        min_length = 3,
        max_length = 2048,
        pattern = r"^[a-z][a-z0-9+.-]*:[!-?A-~]+$",
        example = "https://tickets.example/CHG-1042"
    )]
    pub uri: String,
    /// `sha256:` and 64 lowercase hex digits of its content.
    #[schema(pattern = r"^sha256:[0-9a-f]{64}$")]
    pub digest: String,
}

/// An evidence kind: 1 to 4 words of 1 to 20 lowercase letters and digits joined by `-`
/// (short enough that no run of it can pass for a generated secret).
fn evidence_kind(kind: &str) -> bool {
    let words: Vec<&str> = kind.split('-').collect();
    words.len() <= 4
        && words.iter().all(|w| {
            (1..=20).contains(&w.len())
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Evidence references, checked, as canonical JSON text (`None` when none were sent).
pub fn evidence(list: Option<&[EvidenceRef]>) -> Result<Option<String>, Invalid> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if list.len() > MAX_EVIDENCE {
        return Err(Invalid::field(
            "evidence",
            format!("at most {MAX_EVIDENCE} references"),
        ));
    }
    for (i, e) in list.iter().enumerate() {
        let at = |f: &str| format!("evidence[{i}].{f}");
        if !evidence_kind(&e.kind) {
            return Err(Invalid::field(
                at("kind"),
                "must be lowercase words of letters and digits joined by `-` (at most 4 words of 20), e.g. `ticket` or `scan-report`",
            ));
        }
        let uri = url::Url::parse(&e.uri)
            .map_err(|err| Invalid::field(at("uri"), format!("not an absolute URI: {err}")))?;
        if e.uri.len() > 2048 {
            return Err(Invalid::field(at("uri"), "at most 2048 characters"));
        }
        if !uri.username().is_empty() || uri.password().is_some() {
            return Err(Invalid::field(at("uri"), "must not carry credentials"));
        }
        let lower = e.uri.to_ascii_lowercase();
        if [":latest", "@latest", "/latest"]
            .iter()
            .any(|tag| lower.ends_with(tag) || lower.contains(&format!("{tag}/")))
        {
            return Err(Invalid::field(
                at("uri"),
                "names a floating version (latest): cite the exact version the digest pins",
            ));
        }
        let split = e.uri.find(['?', '#']).unwrap_or(e.uri.len());
        let (location, rest) = e.uri.split_at(split);
        text::check_locator(location).map_err(|err| Invalid::field(at("uri"), err.to_string()))?;
        safe(&at("uri"), rest)?;
        let hex = e.digest.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Invalid::field(
                at("digest"),
                "must be sha256: and 64 lowercase hex digits of the evidence's content",
            ));
        }
    }
    serde_jcs::to_string(list)
        .map(Some)
        .map_err(|e| Invalid::Malformed(e.to_string()))
}

/// Deserializes a JSON body strictly: not JSON, or anything after the value → `Malformed`;
/// wrong shape → `Fields`, naming the field by its JSON path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Invalid> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            let field = if path == "." { String::new() } else { path };
            Invalid::Fields(vec![FieldError::new(field, strip_position(&inner))])
        } else {
            Invalid::Malformed(inner.to_string())
        }
    })?;
    deserializer
        .end()
        .map_err(|e| Invalid::Malformed(format!("trailing data after the JSON value: {e}")))?;
    Ok(value)
}

/// `serde_json`'s messages end with " at line 1 column 17"; the field path says more.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Parses a body of type `B` and builds the command from it.
pub fn with_body<B: DeserializeOwned + Reasoned>(
    bytes: &[u8],
    build: impl FnOnce(B) -> Result<Command, Invalid>,
) -> Result<Parsed, Invalid> {
    let body: B = parse_json(bytes)?;
    let reason = body.reason().map(str::to_owned);
    let evidence = evidence(body.evidence())?;
    let break_glass = body.break_glass();
    Ok(Parsed {
        command: build(body)?,
        reason,
        evidence,
        break_glass,
    })
}

/// The name and JSON schema of body type `B`, for the `OpenAPI` document.
#[must_use]
pub fn schema_of<B: ToSchema>() -> (String, RefOr<Schema>) {
    (B::name().into_owned(), <B as PartialSchema>::schema())
}

macro_rules! bodies {
    ($($(#[$doc:meta])* struct $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? })+) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Deserialize, utoipa::ToSchema)]
            #[serde(deny_unknown_fields, rename_all = "camelCase")]
            pub struct $name {
                $($(#[$fdoc])* pub $field: $ty,)*
                /// Why (required for some operations; scrubbed before storage).
                #[serde(default)]
                #[schema(max_length = 1000)]
                pub reason: Option<String>,
                /// Evidence the change cites, each pinned by its digest (recorded on
                /// the entry, and on the change request when it needs approval).
                #[serde(default)]
                #[schema(max_items = 20)]
                pub evidence: Option<Vec<EvidenceRef>>,
                /// Run an operation that needs approval at once, without its
                /// approvals (governance-admin only, a reason of at least 20
                /// characters; the entry is `critical` and awaits review).
                #[serde(default)]
                pub break_glass: bool,
            }
            impl Reasoned for $name {
                fn reason(&self) -> Option<&str> {
                    self.reason.as_deref()
                }
                fn evidence(&self) -> Option<&[EvidenceRef]> {
                    self.evidence.as_deref()
                }
                fn break_glass(&self) -> bool {
                    self.break_glass
                }
            }
        )+
    };
}

bodies! {
    /// Only a reason.
    struct ReasonOnly {}
    /// `POST /v1/version-constraints`.
    struct CreateConstraintBody { /// Technology constrained.
        #[schema(value_type = String, format = Uuid)] technology_id: TechnologyId, /// Semver range.
        #[schema(pattern = r"^(\^|~|>=|<=|>|<|=)?[0-9]{1,3}(\.[0-9]{1,3}){0,2}$", example = "^1.2")] range: String }
    /// A new semver range.
    struct RangeBody { /// Semver range.
        #[schema(pattern = r"^(\^|~|>=|<=|>|<|=)?[0-9]{1,3}(\.[0-9]{1,3}){0,2}$", example = "^1.2")] range: String }
    /// `POST /v1/technologies`.
    struct CreateTechnologyBody { /// Unique name.
        #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f\xad]*[^\s\x00-\x1f\x7f-\x9f\xad][^\x00-\x1f\x7f-\x9f\xad]*$")] name: String, /// Initial risk level.
        #[serde(default)] risk_level: Option<RiskLevel> }
    /// A risk level.
    struct RiskLevelBody { /// New level.
        risk_level: RiskLevel }
    /// A TIME category.
    struct TimeCategoryBody { /// TOLERATE, INVEST, MIGRATE or ELIMINATE.
        category: TimeCategory }
    /// An end-of-life date (`null` clears it).
    struct EolDateBody { /// `YYYY-MM-DD`.
        #[serde(default)] eol_date: Option<NaiveDate> }
    /// A migration target (`null` clears it).
    struct MigrationTargetBody { /// Target technology.
        #[serde(default)] #[schema(value_type = Option<String>, format = Uuid)] technology_id: Option<TechnologyId> }
    /// An approval: exactly one of `version` or `range`.
    struct ApprovalBody { /// Exact version, e.g. `1.2.3`.
        #[serde(default)] #[schema(pattern = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$", example = "1.2.3")] version: Option<String>, /// Semver range, e.g. `>=1.2, <2`.
        #[serde(default)] #[schema(pattern = r"^(\^|~|>=|<=|>|<|=)?[0-9]{1,3}(\.[0-9]{1,3}){0,2}$", example = "^1.2")] range: Option<String> }
    /// `POST /v1/entities/{type}/{id}/rollback`: exactly one of `toEntryId` or `at`.
    struct RollbackBody { /// The entry whose state to return to.
        #[serde(default)] #[schema(value_type = Option<String>, format = Uuid)] to_entry_id: Option<uuid::Uuid>, /// Or an instant: the state after the entity's last entry at or before it.
        #[serde(default)] at: Option<chrono::DateTime<chrono::Utc>>, /// `true` to ask for the rollback; without it the answer is a preview that writes nothing.
        #[serde(default)] confirm: bool }
    /// `POST /v1/technologies/{id}/retire` and `/v1/systems/{id}/retire`.
    struct RetireBody { /// Every item of the operation's retention checklist (listed in `/v1/catalog`), by code.
        #[serde(default)] #[schema(max_items = 20)] acknowledged: Vec<String> }
    /// `POST /v1/teams`.
    struct CreateTeamBody { /// Unique name.
        #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f\xad]*[^\s\x00-\x1f\x7f-\x9f\xad][^\x00-\x1f\x7f-\x9f\xad]*$")] name: String, /// Areas the team is responsible for.
        #[serde(default)] #[schema(max_items = 50)] responsibility_areas: Vec<String> }
    /// New responsibility areas.
    struct AreasBody { /// Areas (replaces the current list).
        #[schema(max_items = 50)] responsibility_areas: Vec<String> }
    /// `POST /v1/systems`.
    struct CreateSystemBody { /// Unique name.
        #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f\xad]*[^\s\x00-\x1f\x7f-\x9f\xad][^\x00-\x1f\x7f-\x9f\xad]*$")] name: String, /// Criticality.
        #[serde(default)] criticality: Option<Criticality>, /// Owning team.
        #[serde(default)] #[schema(value_type = Option<String>, format = Uuid)] owner_team_id: Option<TeamId> }
    /// A new owning team.
    struct OwnerBody { /// Team.
        #[schema(value_type = String, format = Uuid)] team_id: TeamId }
    /// A criticality.
    struct CriticalityBody { /// New criticality.
        criticality: Criticality }
    /// A steward.
    struct StewardBody { /// Internal user id (`userId` of `GET /v1/me`, or the id `POST /v1/users` gave).
        #[schema(format = Uuid)] user_id: String }
    /// `POST /v1/users`.
    struct RegisterUserBody { /// The user's token subject (`sub` claim); stored only on the User node.
        #[schema(pattern = r"^[!-~]{1,256}$", example = "alice@idp.example")] subject: String }
}

/// Text that may reach an entry: refused with its field named if [`text::check`]
/// refuses it.
fn safe(field: &str, value: &str) -> Result<(), Invalid> {
    text::check(value).map_err(|e| Invalid::field(field, e.to_string()))
}

/// A name: trimmed, in Unicode NFC, 1 to [`MAX_NAME_CHARS`] characters, and nothing
/// [`text::check`] refuses.
pub fn name(value: &str) -> Result<String, Invalid> {
    let trimmed = nfc(value.trim());
    let len = trimmed.chars().count();
    if len == 0 || len > MAX_NAME_CHARS {
        return Err(Invalid::field(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    safe("name", &trimmed)?;
    Ok(trimmed)
}

/// A semver range, in its normalized text form.
pub fn range(field: &str, text: &str) -> Result<String, Invalid> {
    VersionReq::parse(text.trim())
        .map(|r| r.to_string())
        .map_err(|e| Invalid::field(field, format!("not a valid semver range: {e}")))
}

/// Responsibility areas: each trimmed and bounded, sorted, without duplicates.
pub fn areas(list: &[String]) -> Result<Vec<String>, Invalid> {
    if list.len() > MAX_AREAS {
        return Err(Invalid::field(
            "responsibilityAreas",
            format!("at most {MAX_AREAS} areas"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, area) in list.iter().enumerate() {
        let field = format!("responsibilityAreas[{i}]");
        let area = nfc(area.trim());
        if area.is_empty() || area.chars().count() > MAX_AREA_CHARS {
            return Err(Invalid::field(
                field,
                format!("must be 1 to {MAX_AREA_CHARS} characters"),
            ));
        }
        safe(&field, &area)?;
        out.push(area);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// An internal user id given in a body field.
pub fn user_id(field: &str, value: &str) -> Result<UserId, Invalid> {
    let id = UserId::parse(value).map_err(|e| Invalid::field(field, e.to_string()))?;
    safe(field, value)?;
    Ok(id)
}

/// An internal user id given as a path parameter (refused with 422 if it looks like
/// personal data or a secret: it would be recorded).
pub fn user_param(field: &str, value: &str) -> Result<UserId, Invalid> {
    let id = UserId::parse(value).map_err(|e| Invalid::param(field, e.to_string()))?;
    safe(field, value)?;
    Ok(id)
}

/// A token subject. Any text an identity provider may issue (an email address too):
/// it is stored on the `User` node only.
pub fn subject(field: &str, value: &str) -> Result<Subject, Invalid> {
    Subject::parse(value.trim()).map_err(|e| Invalid::field(field, e.to_string()))
}

/// The canonical SPDX license id, or a path-parameter error naming `spdxId`.
pub fn spdx_id(text: &str) -> Result<String, Invalid> {
    spdx::license_id(text)
        .map(|l| l.name.to_owned())
        .ok_or_else(|| {
            Invalid::param(
                "spdxId",
                format!(
                    "`{}` is not an SPDX license identifier",
                    text.chars().take(64).collect::<String>()
                ),
            )
        })
}

/// An approval body: exactly one of an exact version or a range.
pub fn approval(body: &ApprovalBody) -> Result<super::commands::Approval, Invalid> {
    use super::commands::Approval;
    match (&body.version, &body.range) {
        (Some(v), None) => semver::Version::parse(v.trim())
            .map(Approval::version)
            .map_err(|e| Invalid::field("version", format!("not a valid semver version: {e}"))),
        (None, Some(r)) => range("range", r).map(Approval::range),
        _ => Err(Invalid::field(
            "version",
            "give exactly one of `version` or `range`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cite(kind: &str, uri: &str, digest: &str) -> Result<Option<String>, Invalid> {
        evidence(Some(&[EvidenceRef {
            kind: kind.into(),
            uri: uri.into(),
            digest: digest.into(),
        }]))
    }

    #[test]
    fn evidence_is_pinned_located_and_free_of_secrets() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let commit = format!(
            "https://git.example/app/commit/{}",
            "0123456789abcdef".repeat(2) + "01234567"
        );
        for (kind, uri) in [
            ("ticket", "https://tickets.example/CHG-1042"),
            ("scan-report", "urn:scan:2026-12-01"),
            ("review", commit.as_str()),
            ("sbom", "oci://registry.example/app@sha256:0f0f"),
        ] {
            assert!(cite(kind, uri, &d).is_ok(), "{kind} {uri}");
        }
        for (kind, uri, digest, field) in [
            ("Ticket", "https://t.example/1", d.as_str(), "kind"),
            ("scan--report", "https://t.example/1", &d, "kind"),
            ("a-b-c-d-e", "https://t.example/1", &d, "kind"),
            ("ticket", "tickets/1", &d, "uri"),
            ("ticket", "https://bob:pw@t.example/1", &d, "uri"),
            ("ticket", "oci://registry.example/app:latest", &d, "uri"),
            (
                "ticket",
                "https://t.example/1?token=abcdef123456",
                &d,
                "uri",
            ),
            (
                "ticket",
                "https://t.example/1#mallory@example.com",
                &d,
                "uri",
            ),
            ("ticket", "https://t.example/\u{202E}1", &d, "uri"),
            ("ticket", "https://t.example/1", "sha256:abc", "digest"),
            ("ticket", "https://t.example/1", &d.to_uppercase(), "digest"),
        ] {
            match cite(kind, uri, digest) {
                Err(Invalid::Fields(errors)) => assert!(
                    errors
                        .iter()
                        .any(|e| e.field == format!("evidence[0].{field}")),
                    "{kind} {uri} {digest}: {errors:?}"
                ),
                other => panic!("{kind} {uri} {digest}: {other:?}"),
            }
        }
    }

    #[test]
    fn trailing_data_after_the_json_value_is_malformed() {
        assert!(matches!(
            parse_json::<ReasonOnly>(br#"{"reason":"x"} xyz"#),
            Err(Invalid::Malformed(_))
        ));
        assert!(parse_json::<ReasonOnly>(b"{\"reason\":\"x\"}  \n").is_ok());
    }

    #[test]
    fn a_wrongly_typed_field_is_named_by_its_path() {
        let Err(Invalid::Fields(errors)) =
            parse_json::<AreasBody>(br#"{"responsibilityAreas":[1]}"#)
        else {
            panic!("expected a field error")
        };
        assert_eq!(errors[0].field, "responsibilityAreas[0]");
    }

    #[test]
    fn areas_are_trimmed_sorted_and_deduplicated() {
        let list = vec![" b ".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(areas(&list), Ok(vec!["a".to_owned(), "b".to_owned()]));
        assert!(areas(&[String::new()]).is_err());
    }
}
