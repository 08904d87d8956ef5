//! Prometheus metrics served at `/metrics` in the text exposition format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one HTTP request: the matched route template, never the raw path, so
/// ids in paths cannot explode the series count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Route template such as `/v1/me`, or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Labels of a latency observation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub route: String,
}

/// A short, fixed reason label.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Stable reason text from a closed set.
    pub reason: &'static str,
}

/// The `kind` labels of `govtrail_neo4j_records_written`, in the order
/// `Store::count_written` reports them.
pub const RECORD_KINDS: [&str; 7] = [
    "nodes_created",
    "nodes_deleted",
    "relationships_created",
    "relationships_deleted",
    "properties_set",
    "labels_added",
    "labels_removed",
];

/// What a write statement wrote, by kind of record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RecordLabels {
    /// One of [`RECORD_KINDS`].
    pub kind: &'static str,
}

/// Every metric govtrail exports. Cloning shares the underlying counters.
#[derive(Clone)]
pub struct Metrics {
    /// Requests by method, route and status.
    pub http_requests: Family<RequestLabels, Counter>,
    /// Request latency by method and route, in seconds.
    pub http_latency: Family<RouteLabels, Histogram>,
    /// Neo4j errors by kind (unavailable, transient, conflict, other).
    pub neo4j_errors: Family<ReasonLabels, Counter>,
    /// Requests refused for lack of a valid token, by reason (never audited).
    pub auth_failures: Family<ReasonLabels, Counter>,
    /// Records the governed write statements wrote, as Neo4j counted them.
    pub records_written: Family<RecordLabels, Counter>,
    /// Per committed governed change: from sending the locked read to its answer (the
    /// wait for the entities' write locks, and the read), in seconds.
    pub lock_wait: Histogram,
    /// Per committed governed change: from the locked read's answer to the commit's,
    /// how long it held its entities' write locks as govtrail sees it, in seconds.
    pub lock_hold: Histogram,
}

/// Buckets of the lock histograms: 0.1 ms .. ~3.3 s.
fn lock_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(|| {
                // 0.5 ms .. ~8 s
                Histogram::new(exponential_buckets(0.0005, 2.0, 15))
            }),
            neo4j_errors: Family::default(),
            auth_failures: Family::default(),
            records_written: Family::default(),
            lock_wait: lock_buckets(),
            lock_hold: lock_buckets(),
        };
        registry.register(
            "govtrail_http_requests",
            "HTTP requests by method, route and status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "govtrail_http_request_duration_seconds",
            "HTTP request latency by method and route",
            metrics.http_latency.clone(),
        );
        registry.register(
            "govtrail_neo4j_errors",
            "Neo4j errors by kind",
            metrics.neo4j_errors.clone(),
        );
        registry.register(
            "govtrail_auth_failures",
            "Requests without a valid bearer token, by reason",
            metrics.auth_failures.clone(),
        );
        registry.register(
            "govtrail_neo4j_records_written",
            "Records written by governed write statements (change, entry, edges), by kind, as Neo4j counts them",
            metrics.records_written.clone(),
        );
        registry.register(
            "govtrail_governed_lock_wait_seconds",
            "Committed governed changes: the locked read, sent to answered (waiting for the write locks, and reading)",
            metrics.lock_wait.clone(),
        );
        registry.register(
            "govtrail_governed_lock_hold_seconds",
            "Committed governed changes: from the locked read's answer to the commit's (the write locks held)",
            metrics.lock_hold.clone(),
        );
        metrics
    }
}
