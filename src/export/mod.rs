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
use tracing::Instrument as _;

use crate::history::{self, Cursor, Filters, Order, PageRequest, Scope};
use crate::store::Store;

/// Entries read per page by the HTTP export.
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

/// A CSV cell: text as is, absent as empty, anything else as its JSON text. `changes`
/// keeps the stored JSON text (the page view parsed it), which is what this gives too.
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
        writer.write_record(CSV_COLUMNS.iter().map(|c| cell(&entry[*c])))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// One JSON object per line, serialized straight into the chunk.
fn jsonl_rows(entries: &[Value]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(entries.len() * 1024);
    for entry in entries {
        serde_json::to_writer(&mut out, entry)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Pages read ahead of the one being encoded: Neo4j reads the next page while govtrail
/// encodes the current one and the client drains it. One page keeps memory flat.
const READ_AHEAD: usize = 1;

type Entries = Result<Vec<Value>, std::io::Error>;

/// The stream of encoded chunks, one per page of `page` entries. A task of its own, in
/// the caller's span, reads the pages one ahead of the encoder; it ends when the log
/// does, on the first error (sent as the stream's last item), or when the client goes
/// away (the stream is dropped).
pub fn stream(
    store: Store,
    filters: Filters,
    format: Format,
    page: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let (pages, received) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(read_pages(store, filters, page, pages).in_current_span());
    futures_util::stream::unfold((received, true), move |(mut received, first)| async move {
        let entries = received.recv().await?;
        let chunk = entries.and_then(|entries| match format {
            Format::Jsonl => jsonl_rows(&entries).map_err(std::io::Error::other),
            Format::Csv => csv_rows(&entries, first).map_err(std::io::Error::other),
        });
        Some((chunk.map(Bytes::from), (received, false)))
    })
}

/// How a [`read_pages`] run ended.
enum Ended {
    /// Every page was handed over.
    Complete,
    /// The encoder stopped taking pages: the client went away.
    ClientGone,
}

/// Reads the feed page by page (keyset pagination, oldest first) into `pages`; at least
/// one page, so that an empty CSV export still has its header row. Stops at the first
/// page the encoder no longer takes: the client went away, and reading on would load
/// Neo4j for nobody. How each export ended is logged once, with the entries handed
/// over; an error is also sent as the stream's last item.
async fn read_pages(
    store: Store,
    filters: Filters,
    limit: usize,
    pages: tokio::sync::mpsc::Sender<Entries>,
) {
    let mut handed_over = 0usize;
    match hand_over(&store, &filters, limit, &pages, &mut handed_over).await {
        Ok(Ended::Complete) => {
            tracing::debug!(entries = handed_over, "audit export read to the end");
        }
        Ok(Ended::ClientGone) => tracing::info!(
            entries = handed_over,
            "audit export stopped: the client went away"
        ),
        Err(e) => {
            tracing::warn!(
                entries = handed_over,
                error = %crate::telemetry::error_chain(e.as_ref()),
                "audit export failed"
            );
            let _ = pages.send(Err(std::io::Error::other(e))).await;
        }
    }
}

/// The pages of [`read_pages`], counting in `handed_over` the entries the encoder took.
async fn hand_over(
    store: &Store,
    filters: &Filters,
    limit: usize,
    pages: &tokio::sync::mpsc::Sender<Entries>,
    handed_over: &mut usize,
) -> Result<Ended, Box<dyn std::error::Error + Send + Sync>> {
    let mut cursor = None;
    loop {
        let request = PageRequest {
            scope: Scope::All,
            filters: filters.clone(),
            order: Order::Asc,
            limit,
            cursor,
        };
        let page = history::page(store, &request).await?;
        let next = page
            .next_cursor
            .as_deref()
            .map(|text| Cursor::decode(text, &Scope::All, filters, Order::Asc))
            .transpose();
        let count = page.entries.len();
        if pages.send(Ok(page.entries)).await.is_err() {
            return Ok(Ended::ClientGone);
        }
        *handed_over += count;
        // A bad cursor fails the export after the page it came with.
        match next? {
            Some(next) => cursor = Some(next),
            None => return Ok(Ended::Complete),
        }
    }
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
