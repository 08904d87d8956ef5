//! Compliance evaluation: each component of a system's current SBOM against the
//! governed decisions in force. Pure: the decisions are read first (with the audit
//! entry behind each), then every component is judged here.
//!
//! - **Licenses.** The expression is parsed as SPDX (lax: `/` as `OR`, common
//!   misspellings) and evaluated with real `OR`/`AND`/`WITH` semantics. A license is
//!   acceptable when it is `ALLOWED`, or, with the whitelist off, when it is not
//!   `DENIED`. `X WITH E` is judged by the decision on `X` (an exception only adds
//!   permissions). Where the expression is satisfied, the minimal choice is reported,
//!   preferring `ALLOWED` licenses. `NOASSERTION`, `NONE`, a missing license or an
//!   expression that does not parse needs review.
//! - **Version constraints.** Every ACTIVE constraint enforced for the system's owning
//!   team on the component's technology: a version outside its range is a violation.
//! - **Technology approvals** (the owning team's record for the technology):
//!   `ELIMINATE` is a violation, `MIGRATE` a warning naming the target, a past EOL date
//!   a violation, and a version that only a revoked approval covered a violation.
//!
//! Every reason cites the entry of the decision behind it.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::matching::MatchKeys;

/// The entry behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Citation {
    /// The entry's id.
    pub audit_log_id: String,
    /// Its operation.
    pub operation: String,
}

/// A license decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRule {
    /// `ALLOWED`, `DENIED` or `UNDECIDED`.
    pub decision: String,
    /// The entry that made it.
    pub citation: Option<Citation>,
}

/// An ACTIVE constraint enforced for the owning team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveConstraint {
    /// Its id.
    pub id: String,
    /// The technology it constrains.
    pub technology_id: String,
    /// Its semver range.
    pub range: String,
    /// The entry that made it ACTIVE.
    pub citation: Option<Citation>,
}

/// The owning team's approval record for one technology.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalRecord {
    /// TIME category, and the entry that set it.
    pub time_category: Option<(String, Option<Citation>)>,
    /// EOL date, and the entry that set it.
    pub eol_date: Option<(NaiveDate, Option<Citation>)>,
    /// Migration target's name.
    pub migration_target: Option<String>,
    /// Ranges approved now.
    pub approved_ranges: Vec<String>,
    /// Ranges revoked, each with its revocation.
    pub revoked: Vec<(String, Citation)>,
}

/// A governed technology a component may be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechnologyRef {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// Everything in force for one system.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// SPDX license id → decision.
    pub licenses: HashMap<String, LicenseRule>,
    /// Whether the whitelist is on, and the entry that last switched it.
    pub whitelist: (bool, Option<Citation>),
    /// ACTIVE constraints enforced for the owning team.
    pub constraints: Vec<ActiveConstraint>,
    /// Technology id → the owning team's approval record.
    pub approvals: HashMap<String, ApprovalRecord>,
    /// Technology natural key → technology.
    pub technologies: HashMap<String, TechnologyRef>,
    /// The day EOL dates are compared with.
    pub today: NaiveDate,
}

/// A component as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Key (package URL or `name@version`).
    pub key: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// License expression.
    pub license: Option<String>,
}

/// How a component stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing in force stands against it.
    Allowed,
    /// A person has to look (no license, an unparseable one, an unreadable version).
    NeedsReview,
    /// A decision in force stands against it.
    Violation,
}

/// What one reason says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Makes the component a violation.
    Violation,
    /// Makes it need review.
    NeedsReview,
    /// Worth knowing; changes nothing.
    Warning,
    /// Why it is allowed.
    Satisfied,
}

/// One reason of a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// `license`, `constraint` or `approval`.
    pub rule: &'static str,
    /// What it does to the verdict.
    pub severity: Severity,
    /// In words.
    pub message: String,
    /// The decision behind it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub citation: Option<Citation>,
}

/// A component's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Component key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// The governed technology it is, if any.
    pub technology: Option<TechnologyRef>,
    /// `allowed`, `violation` or `needs-review`.
    pub verdict: Outcome,
    /// The license expression as given.
    pub license: Option<String>,
    /// The fewest licenses that satisfy it, when it is satisfied.
    pub license_choice: Option<Vec<String>>,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Components judged.
    pub components: usize,
    /// Allowed.
    pub allowed: usize,
    /// Violations.
    pub violation: usize,
    /// Needing review.
    pub needs_review: usize,
    /// Components that are no governed technology.
    pub unmatched: usize,
}

/// Judges every component; answers the verdicts and their counts.
#[must_use]
pub fn evaluate(
    subjects: &[Subject],
    decisions: &Decisions,
    aliases: &BTreeMap<String, String>,
) -> (Vec<Verdict>, Summary) {
    let mut summary = Summary::default();
    let verdicts: Vec<Verdict> = subjects
        .iter()
        .map(|s| {
            let v = judge(s, decisions, aliases);
            summary.components += 1;
            match v.verdict {
                Outcome::Allowed => summary.allowed += 1,
                Outcome::Violation => summary.violation += 1,
                Outcome::NeedsReview => summary.needs_review += 1,
            }
            if v.technology.is_none() {
                summary.unmatched += 1;
            }
            v
        })
        .collect();
    (verdicts, summary)
}

fn judge(s: &Subject, d: &Decisions, aliases: &BTreeMap<String, String>) -> Verdict {
    let key = MatchKeys::of(&s.name, s.purl.as_deref()).technology_key(aliases);
    let technology = d.technologies.get(&key).cloned();
    let (choice, mut reasons) = license(s.license.as_deref(), d);
    if let Some(tech) = &technology {
        reasons.extend(constraints(s, tech, d));
        if let Some(record) = d.approvals.get(&tech.id) {
            reasons.extend(approval(s, record, d.today));
        }
    }
    let verdict = reasons
        .iter()
        .map(|r| match r.severity {
            Severity::Violation => Outcome::Violation,
            Severity::NeedsReview => Outcome::NeedsReview,
            Severity::Warning | Severity::Satisfied => Outcome::Allowed,
        })
        .max()
        .unwrap_or(Outcome::Allowed);
    Verdict {
        key: s.key.clone(),
        name: s.name.clone(),
        version: s.version.clone(),
        technology,
        verdict,
        license: s.license.clone(),
        license_choice: choice,
        reasons,
    }
}

fn reason(
    severity: Severity,
    rule: &'static str,
    message: String,
    citation: Option<Citation>,
) -> Reason {
    Reason {
        rule,
        severity,
        message,
        citation,
    }
}

/// The SPDX id a requirement is decided by (`X WITH E` by `X`).
fn license_name(req: &spdx::LicenseReq) -> String {
    match &req.license {
        spdx::LicenseItem::Spdx { id, .. } => id.name.to_owned(),
        spdx::LicenseItem::Other(other) => other.to_string(),
    }
}

fn license(text: Option<&str>, d: &Decisions) -> (Option<Vec<String>>, Vec<Reason>) {
    let review = |message: String| {
        (
            None,
            vec![reason(Severity::NeedsReview, "license", message, None)],
        )
    };
    let text = match text.map(str::trim) {
        None | Some("") => return review("the component declares no license".into()),
        Some(t) if t == "NOASSERTION" || t == "NONE" => {
            return review(format!("the license is {t}"));
        }
        Some(t) => t,
    };
    let expr = match spdx::Expression::parse_mode(text, spdx::ParseMode::LAX) {
        Ok(expr) => expr,
        Err(e) => {
            return review(format!(
                "the license expression does not parse: {}",
                e.reason
            ));
        }
    };
    let (whitelist, whitelist_citation) = &d.whitelist;
    let rule = |req: &spdx::LicenseReq| d.licenses.get(&license_name(req));
    let decision = |req: &spdx::LicenseReq| rule(req).map_or("UNDECIDED", |r| r.decision.as_str());
    let acceptable = |req: &spdx::LicenseReq| match decision(req) {
        "ALLOWED" => true,
        "DENIED" => false,
        _ => !whitelist,
    };
    match expr.evaluate_with_failures(acceptable) {
        Ok(()) => {
            // ALLOWED licenses first, so the minimal choice prefers them.
            let mut licensees: Vec<(bool, spdx::Licensee)> = expr
                .requirements()
                .filter(|r| acceptable(&r.req))
                .map(|r| {
                    (
                        decision(&r.req) != "ALLOWED",
                        spdx::Licensee::new(r.req.license.clone(), r.req.addition.clone()),
                    )
                })
                .collect();
            licensees.sort_by_key(|(undecided, _)| *undecided);
            let chosen = expr
                .minimized_requirements(licensees.iter().map(|(_, l)| l))
                .unwrap_or_default();
            let reasons = chosen
                .iter()
                .map(|req| {
                    let name = license_name(req);
                    match rule(req).filter(|r| r.decision == "ALLOWED") {
                        Some(r) => reason(
                            Severity::Satisfied,
                            "license",
                            format!("{name} is ALLOWED"),
                            r.citation.clone(),
                        ),
                        None => reason(
                            Severity::Satisfied,
                            "license",
                            format!("{name} is not denied and the whitelist is off"),
                            whitelist_citation.clone(),
                        ),
                    }
                })
                .collect();
            (
                Some(chosen.iter().map(ToString::to_string).collect()),
                reasons,
            )
        }
        Err(failed) => {
            let reasons = failed
                .iter()
                .map(|f| {
                    let name = license_name(&f.req);
                    match rule(&f.req).filter(|r| r.decision == "DENIED") {
                        Some(r) => reason(
                            Severity::Violation,
                            "license",
                            format!("{name} is DENIED"),
                            r.citation.clone(),
                        ),
                        None => reason(
                            Severity::Violation,
                            "license",
                            format!("{name} is not ALLOWED and the whitelist is on"),
                            whitelist_citation.clone(),
                        ),
                    }
                })
                .collect();
            (None, reasons)
        }
    }
}

/// A version as semver, leniently (`v1.2` and `1.2` read as `1.2.0`).
fn version_of(text: &str) -> Option<semver::Version> {
    let t = text.trim().trim_start_matches(['v', 'V']);
    semver::Version::parse(t).ok().or_else(|| {
        let core = t.split(['-', '+']).next()?;
        let mut parts: Vec<&str> = core.split('.').collect();
        while parts.len() < 3 {
            parts.push("0");
        }
        semver::Version::parse(&parts.join(".")).ok()
    })
}

fn constraints(s: &Subject, tech: &TechnologyRef, d: &Decisions) -> Vec<Reason> {
    let mut out = Vec::new();
    for c in d.constraints.iter().filter(|c| c.technology_id == tech.id) {
        let Ok(range) = semver::VersionReq::parse(&c.range) else {
            continue;
        };
        let Some(version) = s.version.as_deref().and_then(version_of) else {
            out.push(reason(
                Severity::NeedsReview,
                "constraint",
                format!(
                    "constraint {} requires {}, and the version cannot be read",
                    c.id, c.range
                ),
                c.citation.clone(),
            ));
            continue;
        };
        if range.matches(&version) {
            continue;
        }
        out.push(reason(
            Severity::Violation,
            "constraint",
            format!(
                "{version} is outside {} (constraint {} on {})",
                c.range, c.id, tech.name
            ),
            c.citation.clone(),
        ));
    }
    out
}

fn approval(s: &Subject, record: &ApprovalRecord, today: NaiveDate) -> Vec<Reason> {
    let mut out = Vec::new();
    match &record.time_category {
        Some((category, citation)) if category == "ELIMINATE" => out.push(reason(
            Severity::Violation,
            "approval",
            "the owning team's TIME category is ELIMINATE".into(),
            citation.clone(),
        )),
        Some((category, citation)) if category == "MIGRATE" => out.push(reason(
            Severity::Warning,
            "approval",
            format!(
                "the owning team's TIME category is MIGRATE, to {}",
                record
                    .migration_target
                    .as_deref()
                    .unwrap_or("no target set")
            ),
            citation.clone(),
        )),
        _ => {}
    }
    if let Some((eol, citation)) = &record.eol_date
        && *eol < today
    {
        out.push(reason(
            Severity::Violation,
            "approval",
            format!("its end-of-life date {eol} has passed"),
            citation.clone(),
        ));
    }
    if let Some(version) = s.version.as_deref().and_then(version_of) {
        let covers =
            |range: &str| semver::VersionReq::parse(range).is_ok_and(|r| r.matches(&version));
        if !record.approved_ranges.iter().any(|r| covers(r))
            && let Some((range, citation)) = record.revoked.iter().rev().find(|(r, _)| covers(r))
        {
            out.push(reason(
                Severity::Violation,
                "approval",
                format!("the approval of {range} was revoked"),
                Some(citation.clone()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::natural_key;

    #[expect(
        clippy::unnecessary_wraps,
        reason = "decisions hold optional citations"
    )]
    fn cite(id: &str, op: &str) -> Option<Citation> {
        Some(Citation {
            audit_log_id: id.into(),
            operation: op.into(),
        })
    }

    fn decisions(licenses: &[(&str, &str)], whitelist: bool) -> Decisions {
        Decisions {
            licenses: licenses
                .iter()
                .map(|(id, d)| {
                    (
                        (*id).to_owned(),
                        LicenseRule {
                            decision: (*d).to_owned(),
                            citation: cite(&format!("e-{id}"), &format!("{d}_LICENSE")),
                        },
                    )
                })
                .collect(),
            whitelist: (whitelist, cite("e-wl", "ENABLE_LICENSE_WHITELIST")),
            today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default(),
            ..Decisions::default()
        }
    }

    fn subject(license: Option<&str>) -> Subject {
        Subject {
            key: "pkg:npm/x@1.2.3".into(),
            name: "x".into(),
            version: Some("1.2.3".into()),
            purl: Some("pkg:npm/x@1.2.3".into()),
            license: license.map(str::to_owned),
        }
    }

    fn one(license: Option<&str>, d: &Decisions) -> Verdict {
        evaluate(&[subject(license)], d, &BTreeMap::new())
            .0
            .remove(0)
    }

    #[test]
    fn or_is_satisfied_by_any_acceptable_alternative_and_reports_the_choice() {
        let d = decisions(&[("GPL-3.0-only", "DENIED")], false);
        let v = one(Some("MIT OR GPL-3.0-only"), &d);
        assert_eq!(v.verdict, Outcome::Allowed, "{v:?}");
        assert_eq!(v.license_choice, Some(vec!["MIT".to_owned()]));
        let d = decisions(&[("MIT", "ALLOWED"), ("Apache-2.0", "ALLOWED")], true);
        let v = one(Some("Apache-2.0 OR MIT"), &d);
        assert_eq!(v.license_choice.map(|c| c.len()), Some(1));
        assert_eq!(
            v.reasons[0].citation.as_ref().map(|c| c.operation.as_str()),
            Some("ALLOWED_LICENSE")
        );
    }

    #[test]
    fn and_needs_every_part_and_denied_fails() {
        let d = decisions(&[("GPL-3.0-only", "DENIED")], false);
        let v = one(Some("MIT AND GPL-3.0-only"), &d);
        assert_eq!(v.verdict, Outcome::Violation);
        assert_eq!(v.reasons.len(), 1);
        assert_eq!(
            v.reasons[0].citation,
            cite("e-GPL-3.0-only", "DENIED_LICENSE")
        );
    }

    #[test]
    fn with_is_judged_by_its_license() {
        let allowed = decisions(&[("Apache-2.0", "ALLOWED")], true);
        let v = one(Some("Apache-2.0 WITH LLVM-exception"), &allowed);
        assert_eq!(v.verdict, Outcome::Allowed, "{v:?}");
        assert_eq!(
            v.license_choice,
            Some(vec!["Apache-2.0 WITH LLVM-exception".to_owned()])
        );
        let denied = decisions(&[("Apache-2.0", "DENIED")], false);
        assert_eq!(
            one(Some("Apache-2.0 WITH LLVM-exception"), &denied).verdict,
            Outcome::Violation
        );
    }

    #[test]
    fn the_whitelist_fails_anything_not_allowed() {
        let d = decisions(&[], true);
        let v = one(Some("MIT"), &d);
        assert_eq!(v.verdict, Outcome::Violation);
        assert_eq!(
            v.reasons[0].citation,
            cite("e-wl", "ENABLE_LICENSE_WHITELIST")
        );
        assert_eq!(
            one(Some("MIT"), &decisions(&[], false)).verdict,
            Outcome::Allowed
        );
    }

    #[test]
    fn no_license_or_an_unreadable_one_needs_review() {
        let d = decisions(&[], false);
        for text in [
            None,
            Some("NOASSERTION"),
            Some("NONE"),
            Some("MIT OR OR"),
            Some(""),
        ] {
            assert_eq!(one(text, &d).verdict, Outcome::NeedsReview, "{text:?}");
        }
    }

    #[test]
    fn constraints_and_approvals_of_the_owning_team_apply_to_the_matched_technology() {
        let mut d = decisions(&[("MIT", "ALLOWED")], false);
        d.technologies.insert(
            natural_key("X"),
            TechnologyRef {
                id: "t".into(),
                name: "X".into(),
            },
        );
        d.constraints.push(ActiveConstraint {
            id: "c".into(),
            technology_id: "t".into(),
            range: "^2".into(),
            citation: cite("e-act", "ACTIVATE"),
        });
        let v = one(Some("MIT"), &d);
        assert_eq!(v.verdict, Outcome::Violation);
        assert_eq!(
            v.reasons.last().and_then(|r| r.citation.clone()),
            cite("e-act", "ACTIVATE")
        );
        d.constraints.clear();
        d.approvals.insert(
            "t".into(),
            ApprovalRecord {
                time_category: Some(("MIGRATE".into(), cite("e-time", "SET_TIME_CATEGORY"))),
                migration_target: Some("Y".into()),
                revoked: vec![(
                    "=1.2.3".into(),
                    Citation {
                        audit_log_id: "e-rev".into(),
                        operation: "REVOKE_APPROVAL".into(),
                    },
                )],
                ..ApprovalRecord::default()
            },
        );
        let v = one(Some("MIT"), &d);
        assert_eq!(v.verdict, Outcome::Violation, "{v:?}");
        assert!(
            v.reasons
                .iter()
                .any(|r| r.severity == Severity::Warning && r.message.contains("to Y"))
        );
        assert!(
            v.reasons
                .iter()
                .any(|r| r.citation == cite("e-rev", "REVOKE_APPROVAL"))
        );
        let record = d.approvals.get_mut("t").unwrap_or_else(|| unreachable!());
        record.revoked.clear();
        record.time_category = Some(("ELIMINATE".into(), cite("e-time", "SET_TIME_CATEGORY")));
        record.eol_date = Some((
            NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            cite("e-eol", "SET_EOL_DATE"),
        ));
        let v = one(Some("MIT"), &d);
        let cited: Vec<_> = v
            .reasons
            .iter()
            .filter_map(|r| r.citation.clone())
            .map(|c| c.operation)
            .collect();
        assert!(
            cited.contains(&"SET_TIME_CATEGORY".to_owned())
                && cited.contains(&"SET_EOL_DATE".to_owned()),
            "{cited:?}"
        );
    }
}
