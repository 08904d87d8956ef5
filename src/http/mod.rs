//! The HTTP interface: application state, the router with its layers, and the
//! server lifecycle (bind, serve, graceful shutdown).

pub mod catalog;
mod console;
pub mod extract;
pub mod governed;
mod history;
mod listing;
mod me;
pub mod middleware;
pub mod openapi;
mod ops;
pub mod problem;
mod requests;
pub mod sbom;
pub mod schemas;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode, header};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::audit::checkpoint::{CheckpointKey, PublicKey};
use crate::audit::checkpointer::Checkpointer;
use crate::auth::{Authenticator, KeyConfigError};
use crate::config::Settings;
use crate::governance::{Governor, Policies};
use crate::metrics::Metrics;
use crate::store::migrations::{MigrationError, Migrator};
use crate::store::{Store, StoreError};
use problem::ApiError;

/// Everything a handler may use. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Neo4j.
    pub store: Store,
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// Metric handles.
    pub metrics: Metrics,
    /// The registry `/metrics` encodes.
    pub registry: Arc<Registry>,
    /// Schema migrations, for `/readyz`.
    pub migrator: Arc<Migrator>,
    /// Runs governed changes.
    pub governor: Governor,
    /// Public keys that verify checkpoints (empty when none is configured).
    pub checkpoint_keys: Arc<Vec<crate::audit::checkpoint::PublicKey>>,
    /// The key that signs checkpoints and lineage packets, if configured.
    pub signing_key: Option<Arc<CheckpointKey>>,
    /// Settings.
    pub settings: Arc<Settings>,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// Any caller holding a govtrail role.
    AnyRole,
    /// Role `superuser` only (audit data); other callers' attempts are recorded.
    Superuser,
}

/// A route that is not a governed mutation. The router and the OpenAPI document are
/// both built from these tables (and from the operation catalog for mutations), so a
/// route cannot exist undocumented.
pub struct RouteDoc {
    /// Route template.
    pub path: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Query parameters.
    pub query: &'static [Param],
    /// What a success answers: its media type and the JSON Schema of its body.
    pub response: (MediaType, fn() -> serde_json::Value),
    /// The `GET` handler.
    pub route: fn() -> axum::routing::MethodRouter<AppState>,
}

/// A route that writes operational data (not a governed change, so outside the
/// operation catalog and never audited): documented with the media types its body is
/// accepted as.
pub struct WriteDoc {
    /// Route template.
    pub path: &'static str,
    /// `OpenAPI` operation id (not an operation code: nothing is audited).
    pub operation_id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// Media types the body is accepted as.
    pub media_types: &'static [&'static str],
    /// The JSON Schema of a success.
    pub response: fn() -> serde_json::Value,
    /// The `POST` handler.
    pub route: fn() -> axum::routing::MethodRouter<AppState>,
}

/// Every write route outside the operation catalog.
pub fn write_routes() -> impl Iterator<Item = &'static WriteDoc> {
    sbom::WRITES.iter()
}

/// A documented query parameter.
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its JSON Schema.
    pub schema: fn() -> serde_json::Value,
}

/// The media type of a success response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`.
    Json,
    /// `application/x-ndjson` or `text/csv`, as asked.
    Stream,
    /// `text/plain` (Prometheus).
    Text,
    /// `text/html` and the other files of the reference page.
    Html,
    /// A redirect (303) with no body.
    Redirect,
}

impl MediaType {
    /// The media type's name in the document.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Stream => "application/x-ndjson",
            Self::Text => "text/plain",
            Self::Html | Self::Redirect => "text/html",
        }
    }
}

/// Largest request head (start line and headers) hyper reads before answering a bare
/// 431 itself; govtrail's own, smaller `max_header_bytes` answers with a problem first.
pub const HYPER_MAX_HEAD_BYTES: usize = 1024 * 1024;
/// Most headers hyper accepts in one request before answering a bare 431.
pub const HYPER_MAX_HEADERS: usize = 500;
/// Most headers govtrail accepts (answered 431 problem+json above it).
pub const MAX_HEADERS: usize = 100;

/// Every read route, by module.
pub fn read_routes() -> impl Iterator<Item = &'static RouteDoc> {
    ops::ROUTES
        .iter()
        .chain(me::ROUTES)
        .chain(catalog::ROUTES)
        .chain(history::ROUTES)
        .chain(requests::ROUTES)
        .chain(sbom::ROUTES)
        .chain(openapi::ROUTES)
}

/// The router with every route and layer.
pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit_bytes;
    let timeout = state.settings.request_timeout();
    let request_id = HeaderName::from_static(middleware::REQUEST_ID);
    let mut routes = Router::new();
    for doc in read_routes() {
        routes = routes.route(doc.path, (doc.route)());
    }
    for (path, method_router) in catalog::governed_routes() {
        routes = routes.route(path, method_router);
    }
    for doc in write_routes() {
        routes = routes.route(doc.path, (doc.route)());
    }
    routes
        .nest("/console", console::router(state.clone()))
        .fallback(|| async { ApiError::RouteNotFound })
        .layer(
            // Outermost first: ids, then the span, then metrics, then the problem
            // fallback (so it sees every inner error), then panic, timeout and size guards.
            ServiceBuilder::new()
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                ]))
                .layer(axum::middleware::from_fn_with_state(
                    (
                        state.settings.max_header_bytes,
                        state.settings.max_uri_bytes,
                    ),
                    problem::request_head_limits,
                ))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn(middleware::correlation_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(middleware::request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::record_metrics,
                ))
                .layer(axum::middleware::from_fn(problem::problem_for_bare_errors))
                .layer(axum::middleware::from_fn(middleware::bookmarks))
                .layer(CatchPanicLayer::custom(problem::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                ))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Token keys are misconfigured.
    #[error(transparent)]
    Keys(#[from] KeyConfigError),
    /// Neo4j could not be reached or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Migrations failed or an applied migration changed.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// The checkpoint signing key could not be loaded.
    #[error(transparent)]
    CheckpointKey(#[from] crate::audit::checkpoint::KeyError),
    /// An approval policy setting is impossible.
    #[error("approval_policies: {0}")]
    Policy(#[from] crate::governance::policy::PolicyError),
    /// The listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
}

/// A built application: migrated, listening, not yet serving.
pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl App {
    /// Connects to Neo4j (waiting up to `neo4j_startup_wait_secs`), applies `migrator`'s
    /// pending migrations (refusing to start if an applied one changed), and binds the
    /// listener, so a caller that passes port 0 can learn the real port.
    pub async fn build(settings: Settings, migrator: Migrator) -> Result<Self, StartError> {
        let auth = Authenticator::from_settings(&settings)?;
        let policies = Policies::new(&settings.approval_policies)?;
        if settings.auth_hs256_secret.is_some() {
            tracing::warn!(
                "HS256 development tokens are accepted (GOVTRAIL_AUTH_HS256_SECRET is set); do not use in production"
            );
        }
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let store = Store::connect(&settings, metrics.clone())?;
        store
            .wait_until_reachable(std::time::Duration::from_secs(
                settings.neo4j_startup_wait_secs,
            ))
            .await?;
        let applied = migrator.run(&store).await?;
        tracing::info!(applied = ?applied, "schema is current");
        crate::store::name_keys::backfill(&store).await?;
        let listener = TcpListener::bind(settings.listen_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: settings.listen_addr,
                source,
            })?;
        let checkpoint_key = settings
            .checkpoint_key_file
            .as_deref()
            .map(|path| CheckpointKey::from_pem_file(path, settings.checkpoint_key_id.clone()))
            .transpose()?;
        let checkpoint_keys: Vec<PublicKey> = checkpoint_key.iter().map(PublicKey::from).collect();
        if let Some(key) = &checkpoint_key {
            if settings.checkpoint_interval_ms > 0 {
                let checkpointer = Checkpointer::new(
                    store.clone(),
                    key.clone(),
                    settings.checkpoint_sink.clone(),
                    std::time::Duration::from_millis(settings.checkpoint_interval_ms),
                );
                tokio::spawn(checkpointer.run());
            }
        } else {
            tracing::warn!(
                "no checkpoint signing key configured: entries are hashed and chained but not sealed"
            );
        }
        let governor = Governor::new(
            store.clone(),
            settings.denied_audit_per_minute,
            settings.write_attempts,
        )
        .with_policies(
            policies,
            std::time::Duration::from_secs(settings.change_request_ttl_secs),
        );
        let started = std::time::Instant::now();
        governor.warm_up().await?;
        tracing::info!(ms = started.elapsed().as_millis(), "write path planned");
        let state = AppState {
            checkpoint_keys: Arc::new(checkpoint_keys),
            signing_key: checkpoint_key.map(Arc::new),
            governor,
            store,
            auth: Arc::new(auth),
            metrics,
            registry: Arc::new(registry),
            migrator: Arc::new(migrator),
            settings: Arc::new(settings),
        };
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
        })
    }

    /// Replaces the governor (tests use it to switch on fault injection or a fixed clock).
    #[doc(hidden)]
    #[must_use]
    pub fn map_governor(mut self, f: impl FnOnce(Governor) -> Governor) -> Self {
        self.state.governor = f(self.state.governor.clone());
        self.router = router(self.state.clone());
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Shared state (tests use it to reach the same store).
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    ///
    /// Connections are served by hyper with explicit limits: a request head may take up
    /// to [`HYPER_MAX_HEAD_BYTES`] and [`HYPER_MAX_HEADERS`] headers before hyper itself
    /// answers a bare 431; within those, govtrail's own limits
    /// (`max_header_bytes`, `max_uri_bytes`) answer 431 and 414 as problem+json.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use hyper_util::server::conn::auto::Builder;
        use hyper_util::service::TowerToHyperService;

        let sweep = self.state.settings.change_request_sweep_ms;
        if sweep > 0 {
            tokio::spawn(sweep_expired(
                self.state.governor.clone(),
                std::time::Duration::from_millis(sweep),
            ));
        }
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(std::time::Duration::from_secs(30))
            .max_buf_size(HYPER_MAX_HEAD_BYTES)
            .max_headers(HYPER_MAX_HEADERS);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let service = TowerToHyperService::new(self.router);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, keep serving.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY");
                    }
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service.clone())
                        .into_owned();
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        graceful.shutdown().await;
        Ok(())
    }
}

/// Ends change requests past their time, every `interval`, until the task is dropped.
async fn sweep_expired(governor: Governor, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match governor.expire_due().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "change requests expired"),
            Err(e) => tracing::warn!(
                error = %crate::telemetry::error_chain(&e),
                "change request sweep failed; next sweep retries"
            ),
        }
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
