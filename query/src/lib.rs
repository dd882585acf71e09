//! The HTTP service (axum): checkpoints and the reports, with event intake
//! (`POST /v1/events`) merged in from `custody-ingest`, which owns it; this
//! crate only says who may post ([`intake_authorizer`]). Handlers are thin:
//! report building lives in the pure `custody_verify::reports` pipeline, reading its inputs
//! in [`source`], roles in [`auth`].

pub mod api;
pub mod auth;
pub mod charts;
pub mod checkpoints;
pub mod completeness;
pub mod console;
pub mod labels;
pub mod logs;
pub mod openapi;
pub mod proofs;
pub mod render;
pub mod session;
pub mod source;
pub mod witness;
pub mod witness_node;

/// The pure report builders and pipeline (from `custody-verify`).
pub use custody_verify::reports;

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use custody_ingest::http::{Authorizer, HttpError, Intake};
use custody_ingest::kafka::Emitter;
use custody_ingest::metrics::Metrics;
use custody_ingest::Folder;
use custody_ledger::{Ledger, Store};

/// Largest accepted request body, the same as intake's.
pub use custody_ingest::http::MAX_BODY_BYTES;

/// Shared state of the service.
#[derive(Clone)]
pub struct AppState {
    /// The single ledger writer (shared with the Kafka consumer, if any).
    pub ledger: Arc<Mutex<Ledger>>,
    /// A read handle on the same database: reports, checkpoints and proofs
    /// are read through it, never under the writer's lock.
    pub reader: Store,
    pub metrics: Arc<Metrics>,
    /// In Kafka mode, posted events go to Kafka (the log every node folds)
    /// instead of straight into this node's ledger.
    pub emitter: Option<Arc<Emitter>>,
    /// Key name of the shards' C2SP checkpoint notes, and the prefix of
    /// their origins (`<name>/shard/<n>`); `custody serve --log-name`.
    pub log_name: String,
    /// How far a posted event's `occurredAt` may be ahead of its arrival
    /// (`None`: no limit); `custody serve --max-clock-skew`.
    pub max_skew_ms: Option<i64>,
    /// Witness cosignatures collected for the shards' notes
    /// (`custody serve --witness`), added to notes and reports.
    pub cosignatures: Arc<witness::Cosignatures>,
    /// Browser sessions of the console and portal (in memory: they end
    /// when the process does; [`session`]).
    pub sessions: Arc<session::Sessions>,
    /// The one folder over `ledger` and `metrics`: every source and every
    /// recorded read shares it, so durable batches waiting together share
    /// one write and one fsync (`custody_ingest::folder`).
    folder: Folder,
}

impl AppState {
    pub fn new(ledger: Ledger) -> Self {
        let log_name = custody_verify::note::default_ledger_name(&ledger.store().public_key());
        let reader = ledger.store().clone();
        let ledger = Arc::new(Mutex::new(ledger));
        let metrics = Arc::new(Metrics::default());
        AppState {
            log_name,
            reader,
            folder: Folder::new(ledger.clone(), metrics.clone()),
            ledger,
            metrics,
            emitter: None,
            max_skew_ms: Some(custody_ingest::DEFAULT_MAX_SKEW_MS),
            cosignatures: Arc::default(),
            sessions: Arc::new(session::Sessions::default()),
        }
    }

    /// The folder over this service's writer and counters, for the sources
    /// that run beside it (HTTP intake, the Kafka consumer, recorded
    /// reads); clones share its group commit.
    pub fn folder(&self) -> Folder {
        self.folder.clone()
    }
}

/// An error answer: status plus a JSON body naming what was wrong.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
    pub index: Option<usize>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            field: None,
            index: None,
        }
    }
    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError {
            status: e.status,
            message: e.message,
            field: e.field,
            index: e.index,
        }
    }
}

/// Rendered by intake's error type, so every endpoint answers in one shape.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        HttpError::from(self).into_response()
    }
}

/// Who may post events: the bearer-token rule of [`api`], handed to the
/// intake route, which lives in `custody-ingest` and knows no tokens.
pub fn intake_authorizer(state: AppState) -> Authorizer {
    Arc::new(move |headers| {
        let state = state.clone();
        Box::pin(async move {
            api::authorize_intake(&state, &headers)
                .await
                .map_err(HttpError::from)
        })
    })
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let intake = Intake {
        folder: state.folder(),
        emitter: state.emitter.clone(),
        authorize: intake_authorizer(state.clone()),
        max_skew_ms: state.max_skew_ms,
    };
    Router::new()
        .merge(console::routes())
        .route("/healthz", get(|| async { "ok" }))
        .merge(custody_ingest::http::router(intake))
        .route("/v1/checkpoint", get(get_checkpoint))
        .route("/v1/public-key", get(get_public_key))
        .route("/metrics", get(get_metrics))
        .route("/v1/status", get(get_status))
        .merge(api::routes())
        .merge(logs::routes())
        .merge(witness::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `GET /v1/checkpoint`: the latest signed checkpoint. Signing happens on
/// a schedule ([`checkpoints::Checkpointer`]), never because of a GET.
async fn get_checkpoint(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let cp = api::with_reader(&state, api::latest_checkpoint).await?;
    Ok(Json(serde_json::to_value(cp).map_err(ApiError::internal)?))
}

async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    if let Ok(ledger) = state.ledger.lock() {
        text.push_str("# HELP custody_shard_entries Entries in each shard.\n# TYPE custody_shard_entries gauge\n");
        for h in ledger.heads() {
            text.push_str(&format!(
                "custody_shard_entries{{shard=\"{}\"}} {}\n",
                h.shard, h.size
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// `GET /v1/status`: what this node has folded, for operators and tests.
async fn get_status(State(state): State<AppState>) -> Result<Json<openapi::Status>, ApiError> {
    let (folded, duplicates, _) = state.metrics.totals();
    let ledger = state.ledger.clone();
    let (heads, offsets, quarantined) = tokio::task::spawn_blocking(move || {
        let ledger = ledger
            .lock()
            .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
        let store = ledger.store();
        Ok::<_, ApiError>((
            ledger.heads(),
            store.offsets().map_err(ApiError::internal)?,
            store.quarantine_count().map_err(ApiError::internal)?,
        ))
    })
    .await
    .map_err(ApiError::internal)??;
    let entries: u64 = heads.iter().map(|h| h.size).sum();
    Ok(Json(openapi::Status {
        entries,
        quarantined,
        folded_since_start: folded,
        duplicates,
        shards: heads,
        offsets: offsets
            .into_iter()
            .map(|((topic, partition), next)| openapi::SourceOffset {
                topic,
                partition,
                next,
            })
            .collect(),
    }))
}

async fn get_public_key(State(state): State<AppState>) -> Result<String, ApiError> {
    Ok(format!(
        "{}\n",
        hex::encode(state.reader.public_key().as_bytes())
    ))
}

/// The machine endpoints, listed under the sign-in form at `/`.
pub const API_LINKS: &str = concat!(
    "<ul>",
    "<li><a href=\"/v1/checkpoint\">/v1/checkpoint</a>: the signed heads of every shard</li>",
    "<li><a href=\"/v1/public-key\">/v1/public-key</a>: the ledger's Ed25519 public key</li>",
    "<li><a href=\"/v1/logs/0/checkpoint\">/v1/logs/{shard}/checkpoint</a>: a shard's checkpoint as a C2SP signed note</li>",
    "<li>POST /v1/events: emit events (JSON or protobuf)</li>",
    "<li><a href=\"/openapi.json\">/openapi.json</a>: every endpoint, including the reports (bearer token required)</li>",
    "</ul>"
);
