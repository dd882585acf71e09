//! The HTTP service (axum): event intake for the embedded path, checkpoints,
//! and the reports. Handlers are thin: parsing and folding live in
//! `custody-ingest` and `custody-ledger`, report building in the pure
//! `custody_verify::reports` pipeline, reading its inputs in [`source`],
//! rendering in [`render`], roles in [`auth`].

pub mod api;
pub mod auth;
pub mod checkpoints;
pub mod proofs;
pub mod render;
pub mod source;

/// The pure report builders and pipeline (from `custody-verify`).
pub use custody_verify::reports;

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custody_ingest::kafka::Emitter;
use custody_ingest::metrics::Metrics;
use custody_ingest::{parse_batch, Format};
use custody_ledger::{Ledger, Outcome, Store};
use serde_json::json;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 << 20;

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
}

impl AppState {
    pub fn new(ledger: Ledger) -> Self {
        AppState {
            reader: ledger.store().clone(),
            ledger: Arc::new(Mutex::new(ledger)),
            metrics: Arc::new(Metrics::default()),
            emitter: None,
        }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message, "status": self.status.as_u16() });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        if let Some(i) = self.index {
            body["index"] = json!(i);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/events", post(post_events))
        .route("/v1/checkpoint", get(get_checkpoint))
        .route("/v1/public-key", get(get_public_key))
        .route("/metrics", get(get_metrics))
        .route("/v1/status", get(get_status))
        .merge(api::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "application/x-ndjson" | "application/jsonl" | "" => Ok(Format::Json),
        "application/x-protobuf" | "application/protobuf" => {
            if ct.contains("delimited=true") {
                Ok(Format::ProtobufDelimited)
            } else {
                Ok(Format::Protobuf)
            }
        }
        "application/x-protobuf-delimited" => Ok(Format::ProtobufDelimited),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content type `{other}` is not accepted; use application/json (one event, an array or JSON lines), \
                 application/x-protobuf (one event) or application/x-protobuf-delimited (a batch)"
            ),
        )),
    }
}

/// `POST /v1/events`: one event or a batch, all or nothing. Every event is
/// validated before any is folded, so a 4xx means nothing was written.
async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    api::authorize_intake(&state, &headers).await?;
    let format = format_of(&headers)?;
    let accepted = parse_batch(format, &body).map_err(|e| ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: e.to_string(),
        field: e.field.clone(),
        index: Some(e.index),
    })?;
    if let Some(emitter) = &state.emitter {
        let events: Vec<_> = accepted.into_iter().map(|a| a.event).collect();
        let sent = emitter
            .send(&events)
            .await
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        return Ok(Json(
            json!({ "accepted": events.len(), "sentToKafka": sent }),
        ));
    }
    let ids: Vec<String> = accepted.iter().map(|a| a.event.event_id.clone()).collect();
    let global: Vec<bool> = accepted
        .iter()
        .map(|a| a.event.customer_id.is_empty())
        .collect();
    let ledger = state.ledger.clone();
    let (summary, shards) = tokio::task::spawn_blocking(move || {
        let mut ledger = ledger
            .lock()
            .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
        let records = ledger.embedded_records(
            accepted
                .into_iter()
                .map(|a| (a.event.customer_id, a.bytes))
                .collect(),
        );
        let summary = ledger.fold(&records).map_err(ApiError::internal)?;
        Ok::<_, ApiError>((summary, ledger.embedded_shards() as usize))
    })
    .await
    .map_err(ApiError::internal)??;
    // A global event (no customer) fans out to every shard: one result each.
    let mut outcomes = summary.outcomes.iter();
    let mut results = Vec::with_capacity(ids.len());
    for (id, global) in ids.iter().zip(&global) {
        let n = if *global { shards } else { 1 };
        let mine: Vec<&Outcome> = outcomes.by_ref().take(n).collect();
        let per_shard: Vec<serde_json::Value> = mine.iter().map(|o| outcome_json(o)).collect();
        let mut r = per_shard.first().cloned().unwrap_or_else(|| json!({}));
        r["eventId"] = json!(id);
        if *global {
            r["shards"] = json!(per_shard);
        }
        results.push(r);
    }
    Ok(Json(json!({
        "accepted": ids.len(),
        "folded": summary.folded,
        "duplicates": summary.duplicates,
        "results": if ids.len() <= 1000 { json!(results) } else { json!(null) },
    })))
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    match o {
        Outcome::Folded { shard, seq } => json!({"status": "folded", "shard": shard, "seq": seq}),
        Outcome::Duplicate { shard, seq } => {
            json!({"status": "duplicate", "shard": shard, "seq": seq})
        }
        Outcome::AlreadyFolded => json!({"status": "already_folded"}),
        Outcome::Quarantined { reason } => json!({"status": "quarantined", "reason": reason}),
    }
}

/// `GET /v1/checkpoint`: the latest signed checkpoint. Signing happens on
/// a schedule ([`checkpoints::Checkpointer`]), never because of a GET.
async fn get_checkpoint(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let cp = api::with_reader(&state, |store| api::latest_checkpoint(store)).await?;
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
async fn get_status(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(json!({
        "entries": entries,
        "quarantined": quarantined,
        "foldedSinceStart": folded,
        "duplicates": duplicates,
        "shards": heads,
        "offsets": offsets.iter().map(|((t, p), n)| json!({"topic": t, "partition": p, "next": n})).collect::<Vec<_>>(),
    })))
}

async fn get_public_key(State(state): State<AppState>) -> Result<String, ApiError> {
    Ok(format!(
        "{}\n",
        hex::encode(state.reader.public_key().as_bytes())
    ))
}

async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html><head><meta charset=utf-8><title>Custody</title></head><body>",
        "<h1>Custody</h1><p>Verifiable chain-of-custody ledger.</p><ul>",
        "<li><a href=\"/v1/checkpoint\">/v1/checkpoint</a>: the signed heads of every shard</li>",
        "<li><a href=\"/v1/public-key\">/v1/public-key</a>: the ledger's Ed25519 public key</li>",
        "<li>POST /v1/events: emit events (JSON or protobuf)</li>",
        "<li><a href=\"/openapi.json\">/openapi.json</a>: every endpoint, including the reports (bearer token required)</li>",
        "</ul></body></html>"
    ))
}
