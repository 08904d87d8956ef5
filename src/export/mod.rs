//! Compliance exports. Audit streams for SIEM and spreadsheet users: every entry
//! matching the feed's filters, oldest first, as JSON lines or CSV, fetched page by
//! page (keyset pagination) and written as it is read, so memory stays flat whatever
//! the size. Signed lineage packets of one entity ([`packet`]), verifiable offline
//! ([`offline`]).

pub mod dsse;
pub mod offline;
pub mod packet;

use axum::body::Bytes;
use futures_util::Stream;
use serde_json::Value;

use crate::history::{self, Cursor, Filters, Order, PageRequest, Scope};
use crate::store::Store;

/// Entries read per page.
pub const PAGE: usize = 500;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header row.
    Csv,
}

impl Format {
    /// The response media type.
    #[must_use]
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jsonl => "application/x-ndjson",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// CSV columns, in order. Lists and `changes` are JSON text in their cell.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "timestamp",
    "operation",
    "outcome",
    "entityType",
    "entityId",
    "entityLabel",
    "entityVersion",
    "previousStatus",
    "newStatus",
    "changedFields",
    "changes",
    "reason",
    "source",
    "userId",
    "actorRoles",
    "authMethod",
    "correlationId",
    "policyVersion",
    "category",
    "severity",
    "relatedEntities",
    "prevHashes",
    "hash",
];

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_rows(entries: &[Value], header: bool) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        writer.write_record(CSV_COLUMNS)?;
    }
    for entry in entries {
        let mut stored = entry.clone();
        if let Some(changes) = stored.get("changes").filter(|c| !c.is_string()) {
            // The page view parsed `changes`; the export keeps the stored JSON text.
            stored["changes"] = Value::String(changes.to_string());
        }
        writer.write_record(CSV_COLUMNS.iter().map(|c| cell(&stored[*c])))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

fn jsonl_rows(entries: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        out.extend(entry.to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

struct State {
    store: Store,
    filters: Filters,
    format: Format,
    cursor: Option<Cursor>,
    first: bool,
    done: bool,
}

/// The stream of encoded chunks, one per page.
pub fn stream(
    store: Store,
    filters: Filters,
    format: Format,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let state = State {
        store,
        filters,
        format,
        cursor: None,
        first: true,
        done: false,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let request = PageRequest {
            scope: Scope::All,
            filters: state.filters.clone(),
            order: Order::Asc,
            limit: PAGE,
            cursor: state.cursor.take(),
        };
        let page = match history::page(&state.store, &request).await {
            Ok(page) => page,
            Err(e) => {
                state.done = true;
                return Some((Err(std::io::Error::other(e)), state));
            }
        };
        let chunk = match state.format {
            Format::Jsonl => Ok(jsonl_rows(&page.entries)),
            Format::Csv => csv_rows(&page.entries, state.first).map_err(std::io::Error::other),
        };
        state.first = false;
        match page.next_cursor.as_deref() {
            Some(text) => match Cursor::decode(text, &Scope::All, &state.filters, Order::Asc) {
                Ok(cursor) => state.cursor = Some(cursor),
                Err(e) => {
                    state.done = true;
                    return Some((Err(std::io::Error::other(e)), state));
                }
            },
            None => state.done = true,
        }
        Some((chunk.map(Bytes::from), state))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn csv_quotes_commas_quotes_and_newlines_and_keeps_json_cells() {
        let entry = json!({"id": "1", "reason": "a, \"quoted\"\nline", "changedFields": ["a", "b"],
                           "changes": {"x": {"old": 1, "new": 2}}});
        let bytes = csv_rows(&[entry], true).unwrap_or_default();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let headers = reader.headers().cloned().unwrap_or_default();
        assert_eq!(headers.len(), CSV_COLUMNS.len());
        let row = reader
            .records()
            .next()
            .and_then(Result::ok)
            .unwrap_or_default();
        assert_eq!(&row[12], "a, \"quoted\"\nline");
        assert_eq!(&row[10], r#"["a","b"]"#);
        assert_eq!(&row[11], r#"{"x":{"new":2,"old":1}}"#);
    }
}
