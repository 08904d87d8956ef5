//! The console's page models: one askama template (under `templates/console/`) per
//! page, filled with text already shaped for display. Askama escapes every value;
//! only the lineage SVG (escaped by its writer) is inserted as markup.

use askama::Template;

use super::page::Chrome;

/// `sign_in.html`.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignIn {
    /// Navigation.
    pub chrome: Chrome,
    /// The sign-in form's CSRF value (also in its cookie).
    pub csrf: String,
    /// Why the last try failed.
    pub message: Option<String>,
}

/// `error.html`.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    /// Navigation.
    pub chrome: Chrome,
    /// HTTP status.
    pub status: u16,
    /// Problem title.
    pub title: String,
    /// Problem detail.
    pub detail: String,
    /// Field errors: field, message.
    pub fields: Vec<(String, String)>,
}

/// A `<select>` filter.
pub struct Select {
    /// Query parameter.
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Options.
    pub choices: Vec<Choice>,
}

/// One option.
pub struct Choice {
    /// Value.
    pub value: &'static str,
    /// Whether the current view has it.
    pub selected: bool,
}

/// A text filter.
pub struct Input {
    /// Query parameter.
    pub name: &'static str,
    /// Label.
    pub label: &'static str,
    /// Current value.
    pub value: String,
    /// Placeholder.
    pub hint: &'static str,
}

/// One row of the timeline.
pub struct Row {
    /// Entry id.
    pub id: String,
    /// RFC 3339 time.
    pub time: String,
    /// Time to the second.
    pub time_short: String,
    /// Actor's internal id.
    pub user_id: String,
    /// Actor's display name.
    pub actor: String,
    /// Operation code.
    pub operation: String,
    /// Outcome.
    pub outcome: String,
    /// Entity label.
    pub entity: String,
    /// Link to the entity's page.
    pub entity_href: Option<String>,
    /// What changed, in a line.
    pub summary: String,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: String,
    /// Sealed by a signed checkpoint.
    pub sealed: bool,
}

/// `timeline.html`: the feed, or one actor's activity.
#[derive(Template)]
#[template(path = "console/timeline.html")]
pub struct Timeline {
    /// Navigation.
    pub chrome: Chrome,
    /// Page heading.
    pub heading: String,
    /// The form's own path.
    pub action: String,
    /// Select filters.
    pub selects: Vec<Select>,
    /// Text filters.
    pub inputs: Vec<Input>,
    /// The view's filters, for the download forms.
    pub kept: Vec<(String, String)>,
    /// CSRF token of the session.
    pub csrf: String,
    /// Entries.
    pub rows: Vec<Row>,
    /// Link to the next page.
    pub next: Option<String>,
}

/// One field's change in an entry.
pub struct FieldChange {
    /// Field.
    pub field: String,
    /// Value before.
    pub old: String,
    /// Value after.
    pub new: String,
}

/// One entry of an entity's history.
pub struct HistoryEntry {
    /// Entry id.
    pub id: String,
    /// RFC 3339 time.
    pub time: String,
    /// Time to the second.
    pub time_short: String,
    /// Operation.
    pub operation: String,
    /// Outcome.
    pub outcome: String,
    /// Actor's internal id.
    pub user_id: String,
    /// Actor's display name.
    pub actor: String,
    /// Reason given.
    pub reason: Option<String>,
    /// Field-by-field diff.
    pub diff: Vec<FieldChange>,
    /// Sealed.
    pub sealed: bool,
}

/// `entity.html`.
#[derive(Template)]
#[template(path = "console/entity.html")]
pub struct EntityPage {
    /// Navigation.
    pub chrome: Chrome,
    /// Entity type.
    pub entity_type: String,
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// This page's path.
    pub self_href: String,
    /// The as-of instant shown, if any.
    pub at: Option<String>,
    /// The as-of field's value.
    pub at_input: String,
    /// Replay-vs-live: consistent, and a sentence.
    pub consistency: Option<(bool, String)>,
    /// Field, value (JSON).
    pub state: Vec<(String, String)>,
    /// History, newest first.
    pub history: Vec<HistoryEntry>,
    /// Link to older entries.
    pub next: Option<String>,
    /// The lineage drawn.
    pub lineage_svg: String,
    /// CSRF token.
    pub csrf: String,
    /// The command that verifies the packet.
    pub verify_command: String,
}

/// `integrity.html`.
#[derive(Template)]
#[template(path = "console/integrity.html")]
pub struct Integrity {
    /// Navigation.
    pub chrome: Chrome,
    /// `healthy`, `degraded` or `blocked`.
    pub status: String,
    /// True when healthy.
    pub healthy: bool,
    /// Why it is not healthy.
    pub reasons: Vec<String>,
    /// Label, value.
    pub facts: Vec<(String, String)>,
    /// Newest checkpoints: seq, sealed at, entries, key id, pending.
    pub checkpoints: Vec<CheckpointRow>,
    /// When the newest checkpoint was sealed, and how long ago.
    pub last_seal: String,
}

/// One checkpoint row.
pub struct CheckpointRow {
    /// Sequence number.
    pub seq: i64,
    /// Sealed at.
    pub sealed_at: String,
    /// Entries sealed.
    pub entries: i64,
    /// Key id.
    pub key_id: String,
    /// Waiting for the witness.
    pub pending: bool,
}

/// A change request as the approvals page shows it.
pub struct RequestCard {
    /// Id.
    pub id: String,
    /// Operation.
    pub operation: String,
    /// Requester's internal id.
    pub requester: String,
    /// When requested (RFC 3339).
    pub time: String,
    /// To the second.
    pub time_short: String,
    /// Why.
    pub reason: String,
    /// Policy and approvals required.
    pub policy: String,
    /// Approvals so far, of those required.
    pub approvals: String,
    /// When it expires.
    pub expires: Option<String>,
    /// The command's input, field by field (what it will change).
    pub command: Vec<(String, String)>,
    /// Targets: label, link.
    pub targets: Vec<(String, String)>,
    /// Evidence, one line each (with its digest).
    pub evidence: Vec<String>,
}

/// `approvals.html`.
#[derive(Template)]
#[template(path = "console/approvals.html")]
pub struct Approvals {
    /// Navigation.
    pub chrome: Chrome,
    /// What was just done.
    pub done: Option<String>,
    /// CSRF token.
    pub csrf: String,
    /// Pending requests the viewer may approve.
    pub pending: Vec<RequestCard>,
    /// Break-glass changes awaiting review.
    pub reviews: Vec<RequestCard>,
}

/// `verify.html`.
#[derive(Template)]
#[template(path = "console/verify.html")]
pub struct VerifyPage {
    /// Navigation.
    pub chrome: Chrome,
    /// Entity type.
    pub entity_type: String,
    /// Label.
    pub label: String,
    /// No problem found.
    pub valid: bool,
    /// Counts, in a sentence.
    pub summary: String,
    /// What is wrong.
    pub problems: Vec<String>,
    /// What deserves attention.
    pub warnings: Vec<String>,
    /// The entity's page.
    pub back: String,
}
