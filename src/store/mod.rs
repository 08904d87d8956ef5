//! Neo4j access: the connection pool, error classification and schema migrations.
//! Every other module reaches Neo4j through a [`Store`].

pub mod migrations;
pub mod name_keys;

use std::time::Duration;

use neo4rs::{ConfigBuilder, Graph, Neo4jErrorKind, query};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::metrics::{Metrics, ReasonLabels};

/// A handle on the Neo4j pool. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    graph: Graph,
    metrics: Metrics,
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
                } else if matches!(e.kind(), Neo4jErrorKind::Transient) {
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
    /// Builds the pool. Connections open lazily, so this succeeds while Neo4j is down.
    pub fn connect(settings: &Settings, metrics: Metrics) -> Result<Self, StoreError> {
        let mut config = ConfigBuilder::default()
            .uri(settings.neo4j_uri.as_str())
            .user(settings.neo4j_user.as_str())
            .password(settings.neo4j_password.expose_secret())
            .max_connections(settings.neo4j_max_connections)
            .connection_timeout(Duration::from_millis(settings.neo4j_io_timeout_ms));
        if let Some(db) = &settings.neo4j_database {
            config = config.db(db.as_str());
        }
        let config = config.build().map_err(StoreError::Other)?;
        let graph = Graph::connect(config).map_err(StoreError::Other)?;
        Ok(Self { graph, metrics })
    }

    /// The driver handle, for modules that run their own statements.
    #[must_use]
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Classifies a driver error and counts it.
    pub fn error(&self, error: neo4rs::Error) -> StoreError {
        self.record(StoreError::classify(error))
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
        let mut rows = self
            .graph
            .execute_read(statement)
            .await
            .map_err(|e| self.error(e))?;
        rows.next().await.map_err(|e| self.error(e))
    }

    /// Runs a statement that writes, in its own transaction, and returns its first row,
    /// if any (the rest is not read).
    pub async fn write_one(
        &self,
        statement: neo4rs::Query,
    ) -> Result<Option<neo4rs::Row>, StoreError> {
        let mut rows = self
            .graph
            .execute(statement)
            .await
            .map_err(|e| self.error(e))?;
        rows.next().await.map_err(|e| self.error(e))
    }

    /// One round trip (`RETURN 1`), bounded by `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let round_trip = async {
            let mut rows = self
                .graph
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

/// Cheapest possible round trip.
const PING: &str = include_str!("../../cypher/ping.cypher");
