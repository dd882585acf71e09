//! HTTP intake, `POST /v1/events`: content negotiation, parsing (all or
//! nothing), then either the folder (embedded mode) or Kafka (the `Emitter`,
//! in Kafka mode, so every replica folds the same log). The query service
//! merges [`router`] into its own; who may post is its business, passed in as
//! an [`Authorizer`], so this crate knows nothing of tokens.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use custody_ledger::Outcome;
use serde_json::json;

use crate::folder::{Batch, FoldError, Folder, Redelivery};
use crate::intake::{parse_external, Arrival, Format};
use crate::kafka::Emitter;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// A client that was answered 200 will not send again: the batch must be
/// durable before the answer.
pub const REDELIVERY: Redelivery = Redelivery::Impossible;

/// Decides whether a request may post events; `Err` is the answer sent
/// instead (401, 403...). Owned headers, so the future borrows nothing.
pub type Authorizer = Arc<
    dyn Fn(HeaderMap) -> Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send>> + Send + Sync,
>;

/// An authoriser that lets every request post (tests, tools).
pub fn open_to_all() -> Authorizer {
    Arc::new(|_| Box::pin(async { Ok(()) }))
}

/// The state of the intake route.
#[derive(Clone)]
pub struct Intake {
    pub folder: Folder,
    /// In Kafka mode, posted events go to Kafka (the log every node folds)
    /// instead of straight into this node's ledger.
    pub emitter: Option<Arc<Emitter>>,
    pub authorize: Authorizer,
    /// How far an event's `occurredAt` may be ahead of its arrival
    /// (`None`: no limit).
    pub max_skew_ms: Option<i64>,
}

/// An error answer: status plus a JSON body naming what was wrong. The query
/// service renders its own errors through this type, so every endpoint
/// answers in one shape.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
    pub index: Option<usize>,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            field: None,
            index: None,
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for HttpError {
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

/// The intake routes, for the caller to merge into its router (any state).
pub fn router<S: Clone + Send + Sync + 'static>(intake: Intake) -> Router<S> {
    Router::new()
        .route("/v1/events", post(post_events))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(intake)
}

fn format_of(headers: &HeaderMap) -> Result<Format, HttpError> {
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
        other => Err(HttpError::new(
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
    State(intake): State<Intake>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, HttpError> {
    (intake.authorize)(headers.clone()).await?;
    let format = format_of(&headers)?;
    let arrival = Arrival::now(intake.max_skew_ms);
    let accepted = parse_external(format, &body, &arrival).map_err(|e| HttpError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: e.to_string(),
        field: e.field.clone(),
        index: Some(e.index),
    })?;
    if let Some(emitter) = &intake.emitter {
        // Forward exactly the bytes received (protobuf input keeps unknown
        // fields; JSON input is its protobuf encoding), as the embedded
        // path stores them.
        let pairs: Vec<(&custody_proto::Event, &[u8])> = accepted
            .iter()
            .map(|a| (&a.event, a.bytes.as_slice()))
            .collect();
        let sent = emitter
            .send_encoded(&pairs)
            .await
            .map_err(|e| HttpError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        return Ok(Json(
            json!({ "accepted": accepted.len(), "sentToKafka": sent }),
        ));
    }
    let ids: Vec<String> = accepted.iter().map(|a| a.event.event_id.clone()).collect();
    let global: Vec<bool> = accepted
        .iter()
        .map(|a| a.event.customer_id.is_empty())
        .collect();
    let folder = intake.folder.clone();
    let folded = tokio::task::spawn_blocking(move || {
        folder.fold(
            REDELIVERY,
            Batch {
                embedded: accepted,
                ..Batch::default()
            },
        )
    })
    .await
    .map_err(HttpError::internal)?
    .map_err(|e| match e {
        FoldError::Conflict(index, _) => {
            let mut err = HttpError::new(StatusCode::CONFLICT, e.to_string());
            err.index = Some(index);
            err.field = Some("eventId".into());
            err
        }
        other => HttpError::internal(other),
    })?;
    // A global event (no customer) fans out to every shard: one result each.
    let results: Vec<serde_json::Value> = ids
        .iter()
        .zip(&global)
        .zip(folded.per_event())
        .map(|((id, global), outcomes)| {
            let per_shard: Vec<serde_json::Value> = outcomes.iter().map(outcome_json).collect();
            let mut r = per_shard.first().cloned().unwrap_or_else(|| json!({}));
            r["eventId"] = json!(id);
            if *global {
                r["shards"] = json!(per_shard);
            }
            r
        })
        .collect();
    Ok(Json(json!({
        "accepted": ids.len(),
        "folded": folded.summary.folded,
        "duplicates": folded.summary.duplicates,
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use custody_ledger::Ledger;

    const EVENT: &str = r#"{"eventId":"h-1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z","actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;

    fn intake(dir: &std::path::Path, authorize: Authorizer) -> Intake {
        Intake {
            folder: Folder::open(Ledger::open(dir).expect("open")),
            emitter: None,
            authorize,
            max_skew_ms: Some(crate::intake::DEFAULT_MAX_SKEW_MS),
        }
    }

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        h
    }

    async fn post(intake: &Intake, ct: &str, body: &str) -> Result<serde_json::Value, HttpError> {
        post_events(
            State(intake.clone()),
            headers(ct),
            Bytes::from(body.to_string()),
        )
        .await
        .map(|Json(v)| v)
    }

    #[tokio::test]
    async fn folds_durably_counts_and_answers_per_event() {
        let dir = tempfile::tempdir().expect("tmp");
        let intake = intake(dir.path(), open_to_all());
        let v = post(&intake, "application/json", EVENT).await.expect("200");
        assert_eq!(v["results"][0]["status"], "folded", "{v}");
        assert_eq!(v["results"][0]["eventId"], "h-1");
        let v = post(&intake, "application/x-ndjson", EVENT)
            .await
            .expect("200");
        assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
        assert_eq!(v["duplicates"], 1);
        assert_eq!(intake.folder.metrics().totals(), (1, 1, 0));
    }

    #[tokio::test]
    async fn refuses_before_folding_anything() {
        let dir = tempfile::tempdir().expect("tmp");
        let deny: Authorizer = Arc::new(|_| {
            Box::pin(async { Err(HttpError::new(StatusCode::UNAUTHORIZED, "no token")) })
        });
        let e = post(&intake(dir.path(), deny), "application/json", EVENT)
            .await
            .expect_err("401");
        assert_eq!(e.status, StatusCode::UNAUTHORIZED);

        let dir = tempfile::tempdir().expect("tmp");
        let intake = intake(dir.path(), open_to_all());
        let e = post(&intake, "text/plain", EVENT).await.expect_err("415");
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let bad = EVENT.replace("h-1", "h-2").replace("\"c1\"", "\"\"");
        let e = post(&intake, "application/json", &format!("[{EVENT},{bad}]"))
            .await
            .expect_err("422");
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((e.index, e.field.as_deref()), (Some(1), Some("customerId")));
        let heads = intake.folder.lock().expect("lock").heads();
        assert!(heads.iter().all(|h| h.size == 0), "{heads:?}");
    }
}
