//! Neo4j access: the connection pool (direct or routed), causal consistency, error
//! classification and schema migrations. Every other module reaches Neo4j through a
//! [`Store`].

pub mod causal;
pub mod migrations;
pub mod name_keys;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use neo4rs::{
    ConfigBuilder, DetachedRowStream, Graph, Neo4jClientErrorKind, Neo4jErrorKind, Operation, Txn,
    query,
};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::metrics::{Metrics, ReasonLabels};
use causal::Causal;

/// The database a routing URI uses when none is configured: Neo4j's and Aura's default.
/// Naming it saves neo4rs's routed pool a routing-table fetch before every transaction.
pub const ROUTED_DEFAULT_DATABASE: &str = "neo4j";

/// The rows of a statement run by [`Store::read`] or [`Store::write`].
#[expect(
    clippy::large_enum_variant,
    reason = "the stream is neo4rs's own size, returned by value as before; boxing it would \
              allocate on every read to shrink the rare fetched case"
)]
pub enum Rows {
    /// Streamed from an auto-commit statement as they are read.
    Streamed(DetachedRowStream),
    /// Fetched whole in an explicit transaction (the request sent bookmarks).
    Fetched(std::vec::IntoIter<neo4rs::Row>),
}

impl Rows {
    /// The next row, if any.
    pub async fn next(&mut self) -> Result<Option<neo4rs::Row>, neo4rs::Error> {
        match self {
            Self::Streamed(stream) => stream.next().await,
            Self::Fetched(rows) => Ok(rows.next()),
        }
    }
}

/// A handle on the Neo4j pool. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    graph: Arc<RwLock<Graph>>,
    config: neo4rs::Config,
    routed: bool,
    metrics: Metrics,
    /// A one-connection pool of its own for readiness checks, so `/readyz` answers
    /// whether Neo4j does, not whether the main pool has a free connection.
    probe: Option<Arc<Store>>,
}

/// What went wrong talking to Neo4j, sorted by what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Neo4j cannot be reached or the connection broke: retry later (503).
    #[error("Neo4j is unavailable")]
    Unavailable(#[source] neo4rs::Error),
    /// A transient Neo4j error (deadlock, leader switch): the whole transaction may be retried.
    #[error("transient Neo4j error")]
    Transient(#[source] neo4rs::Error),
    /// A schema constraint was violated (409).
    #[error("Neo4j constraint violation")]
    ConstraintViolation(#[source] neo4rs::Error),
    /// Neo4j refused a bookmark the client sent back (400).
    #[error("Neo4j refused the bookmark")]
    Bookmark(#[source] neo4rs::Error),
    /// Any other Neo4j or driver error (500).
    #[error("Neo4j error")]
    Other(#[source] neo4rs::Error),
    /// A row did not have the expected shape (500).
    #[error("unexpected Neo4j result: {0}")]
    Decode(String),
    /// Neo4j did not answer in time.
    #[error("Neo4j did not answer within {0:?}")]
    Timeout(Duration),
}

impl StoreError {
    /// Sorts a driver error into the kinds above.
    #[must_use]
    pub fn classify(error: neo4rs::Error) -> Self {
        match &error {
            neo4rs::Error::Neo4j(e) => {
                if e.code() == "Neo.ClientError.Schema.ConstraintValidationFailed" {
                    Self::ConstraintViolation(error)
                } else if e
                    .code()
                    .starts_with("Neo.ClientError.Transaction.InvalidBookmark")
                {
                    Self::Bookmark(error)
                } else if matches!(
                    e.kind(),
                    Neo4jErrorKind::Transient
                        // NotALeader, ForbiddenOnReadOnlyDatabase: the cluster moved its
                        // leader; a retry on a fresh routing table may succeed.
                        | Neo4jErrorKind::Client(Neo4jClientErrorKind::SessionExpired)
                ) {
                    Self::Transient(error)
                } else {
                    Self::Other(error)
                }
            }
            neo4rs::Error::IOError { .. }
            | neo4rs::Error::ConnectionError
            | neo4rs::Error::ConnectionTimedOut
            | neo4rs::Error::IncompleteBoltExchange
            | neo4rs::Error::ServerUnavailableError(_)
            | neo4rs::Error::RoutingTableError(_)
            | neo4rs::Error::RoutingTableRefreshFailed(_)
            | neo4rs::Error::RequestIgnoredError => Self::Unavailable(error),
            _ => Self::Other(error),
        }
    }

    /// Stable label for the `govtrail_neo4j_errors` metric.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Transient(_) => "transient",
            Self::ConstraintViolation(_) => "constraint",
            Self::Bookmark(_) => "bookmark",
            Self::Other(_) => "other",
            Self::Decode(_) => "decode",
            Self::Timeout(_) => "timeout",
        }
    }

    /// Whether retrying the whole transaction may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Unavailable(_))
    }
}

/// A JSON value as a Bolt parameter (`null` for what Bolt cannot carry).
#[must_use]
pub fn to_bolt(value: serde_json::Value) -> neo4rs::BoltType {
    neo4rs::BoltType::try_from(value).unwrap_or(neo4rs::BoltType::Null(neo4rs::BoltNull))
}

impl Store {
    /// Builds the pool: a routed one (neo4rs's, which sends writes to the leader and
    /// reads to readers) for `neo4j://` and `neo4j+s://`, a direct one to the one server
    /// otherwise. Connections open lazily, so this succeeds while Neo4j is down.
    pub fn connect(settings: &Settings, metrics: Metrics) -> Result<Self, StoreError> {
        let probe = Self::pool(settings, metrics.clone(), 1)?;
        Ok(Self {
            probe: Some(Arc::new(probe)),
            ..Self::pool(settings, metrics, settings.neo4j_max_connections)?
        })
    }

    fn pool(settings: &Settings, metrics: Metrics, size: usize) -> Result<Self, StoreError> {
        let routed = is_routing_uri(&settings.neo4j_uri);
        let database = settings
            .neo4j_database
            .clone()
            .or_else(|| routed.then(|| ROUTED_DEFAULT_DATABASE.to_owned()));
        let mut config = ConfigBuilder::default()
            .uri(settings.neo4j_uri.as_str())
            .user(settings.neo4j_user.as_str())
            .password(settings.neo4j_password.expose_secret())
            .max_connections(size)
            .connection_timeout(Duration::from_millis(settings.neo4j_io_timeout_ms));
        if let Some(db) = &database {
            config = config.db(db.as_str());
        }
        let config = config.build().map_err(StoreError::Other)?;
        let graph = Graph::connect(config.clone()).map_err(StoreError::Other)?;
        Ok(Self {
            graph: Arc::new(RwLock::new(graph)),
            config,
            routed,
            metrics,
            probe: None,
        })
    }

    /// The store over the readiness pool (one connection of its own).
    #[must_use]
    pub fn probe(&self) -> &Store {
        self.probe.as_deref().unwrap_or(self)
    }

    /// Whether the pool routes (the URI is `neo4j://` or `neo4j+s://`).
    #[must_use]
    pub fn routed(&self) -> bool {
        self.routed
    }

    /// The driver handle, for work outside a request (migrations, seeding, tests).
    /// Request paths use [`Store::begin`], [`Store::read`] and [`Store::write`], which
    /// apply the request's bookmarks.
    #[must_use]
    pub fn graph(&self) -> Graph {
        self.graph
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Classifies a driver error and counts it. A write refused because the server is
    /// no longer the leader drops the routing table, so the retry asks for a new one.
    pub fn error(&self, error: neo4rs::Error) -> StoreError {
        if self.routed && leader_moved(&error) {
            self.reroute();
        }
        self.record(StoreError::classify(error))
    }

    /// Replaces the routed pool (and with it the routing table neo4rs keeps until its
    /// TTL ends, even after the leader moved) by a fresh one. Transactions under way
    /// keep their connections.
    fn reroute(&self) {
        match Graph::connect(self.config.clone()) {
            Ok(graph) => {
                *self.graph.write().unwrap_or_else(PoisonError::into_inner) = graph;
                tracing::warn!("the Neo4j leader moved; routing table dropped");
            }
            Err(e) => tracing::warn!(error = %e, "could not rebuild the routed pool"),
        }
    }

    /// Begins a write transaction that waits for the current request's bookmarks.
    pub async fn begin(&self) -> Result<Txn, StoreError> {
        self.graph()
            .start_txn_as(Operation::Write, Some(Causal::wait_for()))
            .await
            .map_err(|e| self.error(e))
    }

    /// Commits `txn` and keeps its bookmark for the rest of the request (and for the
    /// response's `Govtrail-Bookmark`).
    pub async fn commit(&self, txn: Txn) -> Result<(), StoreError> {
        let bookmark = txn.commit().await.map_err(|e| self.error(e))?;
        Causal::record_commit(bookmark);
        Ok(())
    }

    /// Runs a read statement in its own transaction, on a reader when routed, after the
    /// request's bookmarks.
    pub async fn read(&self, statement: neo4rs::Query) -> Result<Rows, StoreError> {
        self.auto_commit(Operation::Read, statement).await
    }

    /// Runs a statement that writes, in its own transaction, after the request's
    /// bookmarks. Its bookmark is kept when the request sent bookmarks; otherwise the
    /// stream is read lazily and its bookmark is not kept (use [`Store::begin`] and
    /// [`Store::commit`] for a change a client may want to read back elsewhere).
    pub async fn write(&self, statement: neo4rs::Query) -> Result<Rows, StoreError> {
        self.auto_commit(Operation::Write, statement).await
    }

    /// Runs a statement that writes and returns nothing, in its own transaction, after
    /// the request's bookmarks; its bookmark is kept like a commit's.
    pub async fn run(&self, statement: neo4rs::Query) -> Result<(), StoreError> {
        let bookmarks = Causal::wait_for();
        if !bookmarks.is_empty() {
            return self
                .in_transaction(Operation::Write, bookmarks, statement)
                .await
                .map(drop);
        }
        let summary = self
            .graph()
            .run(statement)
            .await
            .map_err(|e| self.error(e))?;
        Causal::record_commit(summary.bookmark);
        Ok(())
    }

    /// A statement in its own transaction. Without bookmarks it runs auto-commit and
    /// streams. With them it runs in an explicit transaction, because neo4rs sends
    /// bookmarks only on BEGIN (its auto-commit RUN carries none), and its rows are
    /// fetched before the commit.
    async fn auto_commit(
        &self,
        operation: Operation,
        statement: neo4rs::Query,
    ) -> Result<Rows, StoreError> {
        let bookmarks = Causal::wait_for();
        if !bookmarks.is_empty() {
            return self.in_transaction(operation, bookmarks, statement).await;
        }
        let graph = self.graph();
        let rows = match operation {
            Operation::Read => graph.execute_read(statement).await,
            Operation::Write => graph.execute(statement).await,
        };
        rows.map(Rows::Streamed).map_err(|e| self.error(e))
    }

    async fn in_transaction(
        &self,
        operation: Operation,
        bookmarks: Vec<String>,
        statement: neo4rs::Query,
    ) -> Result<Rows, StoreError> {
        let mut txn = self
            .graph()
            .start_txn_as(operation, Some(bookmarks))
            .await
            .map_err(|e| self.error(e))?;
        let mut stream = txn.execute(statement).await.map_err(|e| self.error(e))?;
        let mut rows = Vec::new();
        while let Some(row) = stream.next(txn.handle()).await.map_err(|e| self.error(e))? {
            rows.push(row);
        }
        match operation {
            // A read changes nothing a client could want to read back.
            Operation::Read => txn.commit().await.map(drop).map_err(|e| self.error(e))?,
            Operation::Write => self.commit(txn).await?,
        }
        Ok(Rows::Fetched(rows.into_iter()))
    }

    /// Adds what a write statement wrote (its summary's counters) to
    /// `govtrail_neo4j_records_written`.
    pub fn count_written(&self, written: &neo4rs::summary::Counters) {
        let counts = [
            written.nodes_created,
            written.nodes_deleted,
            written.relationships_created,
            written.relationships_deleted,
            written.properties_set,
            written.labels_added,
            written.labels_removed,
        ];
        let kinds = crate::metrics::RECORD_KINDS.into_iter().zip(counts);
        for (kind, n) in kinds.filter(|(_, n)| *n > 0) {
            self.metrics
                .records_written
                .get_or_create(&crate::metrics::RecordLabels { kind })
                .inc_by(n);
        }
    }

    /// Adds a committed governed change's lock wait and hold to
    /// `govtrail_governed_lock_wait_seconds` and `govtrail_governed_lock_hold_seconds`.
    pub fn time_locks(&self, wait: std::time::Duration, hold: std::time::Duration) {
        self.metrics.lock_wait.observe(wait.as_secs_f64());
        self.metrics.lock_hold.observe(hold.as_secs_f64());
    }

    /// Counts an already classified error in `govtrail_neo4j_errors` and returns it.
    pub fn record(&self, error: StoreError) -> StoreError {
        self.metrics
            .neo4j_errors
            .get_or_create(&ReasonLabels {
                reason: error.kind(),
            })
            .inc();
        error
    }

    /// A value that does not convert as expected (a row column, an entry to hash):
    /// counted, and reported as `Decode`.
    pub fn decode(&self, error: impl std::fmt::Display) -> StoreError {
        self.record(StoreError::Decode(error.to_string()))
    }

    /// Runs a read statement and returns its first row, if any (the rest is not read).
    pub async fn read_one(
        &self,
        statement: neo4rs::Query,
    ) -> Result<Option<neo4rs::Row>, StoreError> {
        let mut rows = self.read(statement).await?;
        rows.next().await.map_err(|e| self.error(e))
    }

    /// Runs a statement that writes, in its own transaction, and returns its first row,
    /// if any (the rest is not read).
    pub async fn write_one(
        &self,
        statement: neo4rs::Query,
    ) -> Result<Option<neo4rs::Row>, StoreError> {
        let mut rows = self.write(statement).await?;
        rows.next().await.map_err(|e| self.error(e))
    }

    /// One round trip (`RETURN 1`), bounded by `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let round_trip = async {
            let mut rows = self
                .graph()
                .execute(query(PING))
                .await
                .map_err(|e| self.error(e))?;
            rows.next().await.map_err(|e| self.error(e))?;
            Ok(())
        };
        tokio::time::timeout(timeout, round_trip)
            .await
            .map_err(|_| self.record(StoreError::Timeout(timeout)))?
    }

    /// Waits until Neo4j answers, up to `limit`, backing off between tries.
    pub async fn wait_until_reachable(&self, limit: Duration) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut delay = Duration::from_millis(200);
        loop {
            match self.ping(Duration::from_secs(5)).await {
                Ok(()) => return Ok(()),
                Err(e) if tokio::time::Instant::now() + delay < deadline => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis(), "Neo4j not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether `uri` asks for routing (`neo4j://`, `neo4j+s://`, `neo4j+ssc://`).
#[must_use]
pub fn is_routing_uri(uri: &str) -> bool {
    uri.split_once("://")
        .is_some_and(|(scheme, _)| matches!(scheme, "neo4j" | "neo4j+s" | "neo4j+ssc"))
}

/// NotALeader or ForbiddenOnReadOnlyDatabase: the write reached a server that does not
/// lead (any more).
fn leader_moved(error: &neo4rs::Error) -> bool {
    matches!(error, neo4rs::Error::Neo4j(e)
        if matches!(e.kind(), Neo4jErrorKind::Client(Neo4jClientErrorKind::SessionExpired)))
}

/// Cheapest possible round trip.
const PING: &str = include_str!("../../cypher/ping.cypher");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_is_asked_for_by_the_neo4j_schemes_only() {
        for uri in [
            "neo4j://db:7687",
            "neo4j+s://x.databases.neo4j.io",
            "neo4j+ssc://db",
        ] {
            assert!(is_routing_uri(uri), "{uri}");
        }
        for uri in ["bolt://db:7687", "bolt+s://db", "db:7687", "neo4jx://db"] {
            assert!(!is_routing_uri(uri), "{uri}");
        }
    }
}
