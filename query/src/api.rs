//! Report endpoints: authentication and roles, parameters, content
//! negotiation, and recording every read in the ledger. Every report goes
//! through one pipeline: [`custody_verify::reports::Report`] implementations
//! loaded and proven by [`crate::source::produce`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use custody_ledger::{Ledger, Outcome, Store};
use custody_proto::v1::{self, Actor, EntityKind, ReportRead};
use custody_proto::{timestamp_from_ms, Event, Kind, Timestamp};
use prost::Message;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::{self, Principal, Role};
pub use crate::openapi::openapi;
use crate::openapi::{TokenCreated, TokenRevoked};
use crate::proofs::{self as proof, ProofParams, ProofsError};
use crate::render::{self, Document};
use crate::source::{self, ProduceError, SourceError};
use crate::{now_ms, ApiError, AppState};
use custody_verify::reports::access_history::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use custody_verify::reports::findings::Filter;
use custody_verify::reports::{
    AccessHistoryParams, AccessHistoryReport, Audience, CustomerParams, Disclosure, DocumentOf,
    Findings, LawEnforcement, LawEnforcementParams, Period, ReadError, Report, Residency, Signed,
};

/// Subject recorded for reads of reports that span customers (the
/// law-enforcement report, unfiltered findings): report reads need a
/// customer id, and `*` cannot be mistaken for one of the emitters' ids.
pub use custody_verify::reports::AGGREGATE_SUBJECT;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/customers/{id}/access-history", get(get_access_history))
        .route("/v1/customers/{id}/reports/disclosure", get(get_disclosure))
        .route("/v1/customers/{id}/reports/residency", get(get_residency))
        .route("/v1/reports/law-enforcement", get(get_law_enforcement))
        .route("/v1/findings", get(get_findings))
        .route("/v1/proofs/consistency", get(get_consistency))
        .route("/v1/checkpoints/{number}", get(get_checkpoint_number))
        .route(
            "/v1/tokens",
            axum::routing::post(post_token).get(get_tokens),
        )
        .route(
            "/v1/tokens/{id}/revoke",
            axum::routing::post(post_revoke_token),
        )
        .route("/openapi.json", get(get_openapi))
}

/// `GET /openapi.json`.
async fn get_openapi() -> Result<Json<serde_json::Value>, ApiError> {
    openapi()
        .map(|doc| Json(doc.clone()))
        .map_err(ApiError::internal)
}

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> Self {
        ApiError::internal(e)
    }
}

fn bad_param(name: &str, message: impl std::fmt::Display) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("parameter `{name}`: {message}"),
    );
    e.field = Some(name.into());
    e
}

/// Runs `f` with the ledger locked, off the async threads.
/// Runs `f` on a read handle of the store, off the async threads, without
/// the writer's lock: reads see what is written and state only what a
/// checkpoint covers.
pub(crate) async fn with_reader<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || f(&reader))
        .await
        .map_err(ApiError::internal)?
}

async fn with_ledger<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut Ledger) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let ledger = state.ledger.clone();
    tokio::task::spawn_blocking(move || {
        let mut ledger = ledger
            .lock()
            .map_err(|_| ApiError::internal("ledger lock poisoned"))?;
        f(&mut ledger)
    })
    .await
    .map_err(ApiError::internal)?
}

fn bearer_of(headers: &HeaderMap) -> Option<String> {
    auth::bearer(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .map(str::to_string)
}

/// The caller of a report endpoint: 401 without a known token.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a bearer token is required (Authorization: Bearer TOKEN; see `custody token create`)",
        )
    };
    let token = bearer_of(headers).ok_or_else(unauthorized)?;
    with_reader(state, move |store| {
        auth::lookup(store, &token).map_err(ApiError::internal)
    })
    .await?
    .ok_or_else(unauthorized)
}

/// `POST /v1/events`: open until the first token is created, then only for
/// emitter and officer tokens.
pub(crate) async fn authorize_intake(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let token = bearer_of(headers);
    let principal = with_reader(state, move |store| {
        if !auth::any_tokens(store).map_err(ApiError::internal)? {
            return Ok(None);
        }
        let p = match token {
            Some(t) => auth::lookup(store, &t).map_err(ApiError::internal)?,
            None => None,
        };
        p.map(Some).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "an emitter or officer bearer token is required to post events",
            )
        })
    })
    .await?;
    match principal {
        Some(p) if p.grant.role == Role::Customer => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a customer token cannot post events",
        )),
        Some(p) if p.grant.role == Role::Witness => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a witness token reads entries and checkpoints only",
        )),
        _ => Ok(()),
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// Officers read any customer; a customer token only its own.
fn may_read_customer(p: &Principal, customer: &str) -> Result<Audience, ApiError> {
    match (p.grant.role, &p.grant.customer) {
        (Role::Officer, _) => Ok(Audience::Officer),
        (Role::Customer, Some(own)) if own == customer => Ok(Audience::Customer),
        (Role::Customer, _) => Err(forbidden(
            "this token reads only its own customer's reports",
        )),
        (Role::Emitter, _) => Err(forbidden("an emitter token cannot read reports")),
        (Role::Witness, _) => Err(forbidden(
            "a witness token reads entries and checkpoints only",
        )),
    }
}

/// `POST /v1/tokens` (officers): creates a token while the server runs
/// (the CLI cannot: the server holds the database), through the writer. Body: `{"role":
/// "customer", "customer": "ID"}`. The token is in the answer only.
async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let reader = authenticate(&state, &headers).await?;
    officer_only(&reader)?;
    let grant: auth::Grant = serde_json::from_slice(&body).map_err(|e| {
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("body must be {{\"role\": \"officer|customer|emitter|witness\", \"customer\": \"ID\"}}: {e}"),
        );
        err.field = Some("role".into());
        err
    })?;
    let token = with_ledger(&state, move |l| {
        auth::create_token(l, &grant).map_err(|e| match e {
            auth::AuthError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m),
            other => ApiError::internal(other),
        })
    })
    .await?;
    let id = format!("token-{}", &hex::encode(auth::token_hash(&token))[..16]);
    Ok((StatusCode::CREATED, Json(TokenCreated { token, id })).into_response())
}

/// `GET /v1/tokens` (officers): reader ids, roles, customers, revoked.
async fn get_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = authenticate(&state, &headers).await?;
    officer_only(&reader)?;
    let list = with_reader(&state, |store| {
        auth::list_tokens(store).map_err(ApiError::internal)
    })
    .await?;
    Ok(Json(list).into_response())
}

/// `POST /v1/tokens/{id}/revoke` (officers).
async fn post_revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = authenticate(&state, &headers).await?;
    officer_only(&reader)?;
    let id = with_ledger(&state, move |l| {
        auth::revoke_token(l, &id).map_err(|e| match e {
            auth::AuthError::Invalid(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            e @ auth::AuthError::LastOfficer(_) => {
                ApiError::new(StatusCode::CONFLICT, e.to_string())
            }
            other => ApiError::internal(other),
        })
    })
    .await?;
    Ok(Json(TokenRevoked { revoked: id }).into_response())
}

fn officer_only(p: &Principal) -> Result<(), ApiError> {
    match p.grant.role {
        Role::Officer => Ok(()),
        _ => Err(forbidden("this endpoint is for compliance officers")),
    }
}

/// Output format: `?format=` wins over `Accept`; JSON by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    Json,
    Csv,
    Html,
}

impl OutFormat {
    pub fn parse(s: &str) -> Option<OutFormat> {
        match s {
            "json" => Some(OutFormat::Json),
            "csv" => Some(OutFormat::Csv),
            "html" => Some(OutFormat::Html),
            _ => None,
        }
    }

    fn negotiate(q: &HashMap<String, String>, headers: &HeaderMap) -> Result<Self, ApiError> {
        if let Some(f) = q.get("format") {
            return Self::parse(f).ok_or_else(|| bad_param("format", "expected json, csv or html"));
        }
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // First listed type we serve; browsers list text/html first.
        for t in accept.split(',') {
            match t.split(';').next().unwrap_or("").trim() {
                "text/csv" => return Ok(OutFormat::Csv),
                "text/html" => return Ok(OutFormat::Html),
                "application/json" => return Ok(OutFormat::Json),
                _ => {}
            }
        }
        Ok(OutFormat::Json)
    }
}

/// Renders a signed document; the checkpoint number is also a header, so
/// CSV (a bare table) still says what it was computed at.
pub fn respond<T: Serialize + Document, P: Serialize>(
    format: OutFormat,
    doc: &Signed<T, P>,
) -> Result<Response, ApiError> {
    let mut resp = match format {
        OutFormat::Json => {
            Json(serde_json::to_value(doc).map_err(ApiError::internal)?).into_response()
        }
        OutFormat::Csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            render::csv(&doc.report),
        )
            .into_response(),
        OutFormat::Html => Html(render::html(doc)).into_response(),
    };
    resp.headers_mut().insert(
        "x-custody-checkpoint",
        HeaderValue::from(doc.checkpoint.number),
    );
    Ok(resp)
}

/// An RFC 3339 time parameter, in ms.
fn time_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some(s) => parse_rfc3339(s).map(Some).map_err(|_| {
            bad_param(
                name,
                format!("`{s}` is not an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"),
            )
        }),
    }
}

/// Parses an RFC 3339 time with the proto3 JSON timestamp parser, so
/// parameters accept exactly what events do.
pub fn parse_rfc3339(s: &str) -> Result<i64, String> {
    let ts: Timestamp =
        serde_json::from_value(serde_json::Value::String(s.into())).map_err(|e| e.to_string())?;
    Ok(custody_proto::timestamp_ms(&ts))
}

/// `[from, to)` from the query; 400 when `from` is not before `to`.
fn period_param(q: &HashMap<String, String>) -> Result<Period, ApiError> {
    let period = Period {
        from_ms: time_param(q, "from")?,
        to_ms: time_param(q, "to")?,
    };
    if let (Some(f), Some(t)) = (period.from_ms, period.to_ms) {
        if f >= t {
            return Err(bad_param("to", "must be later than `from`"));
        }
    }
    Ok(period)
}

fn proof_params(q: &HashMap<String, String>, format: OutFormat) -> Result<ProofParams, ApiError> {
    let (proofs, full) = match q.get("proofs").map(String::as_str) {
        None | Some("false") => (false, false),
        Some("true") => (true, false),
        Some("full") => (true, true),
        Some(_) => return Err(bad_param("proofs", "expected true, full or false")),
    };
    let since_checkpoint = q
        .get("since_checkpoint")
        .map(|s| s.parse::<u64>())
        .transpose()
        .map_err(|_| bad_param("since_checkpoint", "expected a checkpoint number"))?;
    let pp = ProofParams {
        proofs,
        full,
        since_checkpoint,
    };
    // Proofs are for machines: CSV and HTML have nowhere to put them.
    if pp != ProofParams::default() && format != OutFormat::Json {
        return Err(bad_param(
            if proofs { "proofs" } else { "since_checkpoint" },
            "proofs come with the JSON format only",
        ));
    }
    Ok(pp)
}

impl From<ProofsError> for ApiError {
    fn from(e: ProofsError) -> Self {
        match e {
            ProofsError::UnknownCheckpoint(n) => {
                let mut err =
                    ApiError::new(StatusCode::NOT_FOUND, format!("no checkpoint numbered {n}"));
                err.field = Some("since_checkpoint".into());
                err
            }
            ProofsError::NotEarlier { .. } => bad_param("since_checkpoint", e),
            ProofsError::SizeOutOfRange { .. } => bad_param("to_size", e),
            other => ApiError::internal(other),
        }
    }
}

impl From<ProduceError> for ApiError {
    fn from(e: ProduceError) -> Self {
        match e {
            ProduceError::Read(ReadError::UnknownCustomer(c)) => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("customer `{c}` has no entries in this ledger"),
            ),
            ProduceError::Read(other) => ApiError::internal(other),
            ProduceError::Proofs(p) => p.into(),
        }
    }
}

/// The report-read event of a successful read. Its id is derived from the
/// reader, report, subject and time, so a retried delivery folds once.
pub fn report_read_event(reader: &Principal, report: &str, subject: &str, now_ms: i64) -> Event {
    let mut h = Sha256::new();
    h.update(reader.token_hash);
    for part in [report.as_bytes(), b"\0", subject.as_bytes(), b"\0"] {
        h.update(part);
    }
    h.update(now_ms.to_be_bytes());
    let id = hex::encode(h.finalize());
    let (role, kind, entity_name) = match reader.grant.role {
        Role::Customer => (
            v1::Role::Customer,
            EntityKind::Customer,
            reader.grant.customer.clone().unwrap_or_default(),
        ),
        Role::Officer | Role::Emitter | Role::Witness => (
            v1::Role::ComplianceOfficer,
            EntityKind::Organisation,
            String::new(),
        ),
    };
    Event {
        event_id: format!("read-{}", &id[..32]),
        customer_id: subject.into(),
        occurred_at: Some(timestamp_from_ms(now_ms)),
        service: "custody-query".into(),
        case_id: String::new(),
        actor: Some(Actor {
            id: reader.reader_id(),
            role: role as i32,
            entity_kind: kind as i32,
            entity_name,
            office_country: String::new(),
            location_country: String::new(),
        }),
        kind: Some(Kind::ReportRead(ReportRead {
            report: report.into(),
            reader: reader.reader_id(),
            reader_role: role.as_str_name().into(),
        })),
    }
}

/// Records a read before the document is returned: a read that cannot be
/// recorded is not served.
pub(crate) async fn record_read(
    state: &AppState,
    reader: &Principal,
    report: &str,
    subject: &str,
    now: i64,
) -> Result<(), ApiError> {
    let event = report_read_event(reader, report, subject, now);
    if let Some(emitter) = &state.emitter {
        emitter
            .send(std::slice::from_ref(&event))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("recording the read: {e}"),
                )
            })?;
        return Ok(());
    }
    // Through the one folder, like every other source: the read is written
    // with the WAL (an answered request cannot be sent again) and counted.
    let folder = state.folder();
    let accepted = custody_ingest::Accepted {
        bytes: event.encode_to_vec(),
        event,
    };
    let folded = tokio::task::spawn_blocking(move || {
        folder.fold(
            custody_ingest::Redelivery::Impossible,
            custody_ingest::Batch {
                embedded: vec![accepted],
                positioned: Vec::new(),
            },
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    match folded.summary.outcomes.first() {
        Some(Outcome::Quarantined { reason }) => Err(ApiError::internal(format!(
            "report read was quarantined: {reason}"
        ))),
        _ => Ok(()),
    }
}

/// The one way every report endpoint answers: sign nothing, take no
/// writer lock, read at the latest (scheduled) checkpoint, build through
/// the report's pipeline, record the read, render.
async fn serve_report<R: Report>(
    state: &AppState,
    reader: &Principal,
    params: R::Params,
    pp: ProofParams,
    format: OutFormat,
) -> Result<Response, ApiError>
where
    R::Doc: Document,
{
    let cosignatures = state.cosignatures.clone();
    if cosignatures.enabled() && cosignatures.min > 0 {
        // Witnesses cosign a checkpoint moments after it is signed: wait a
        // little (never for the fold) for the latest one to carry them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let cp = with_reader(state, latest_checkpoint).await?;
            if cosignatures.complete(&cp) || std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
    let now = now_ms();
    let name = state.log_name.clone();
    let doc: DocumentOf<R> = with_reader(state, move |store| {
        let cp = latest_checkpoint(store)?;
        let mut doc = source::produce::<R>(store, &cp, params, now, pp)?;
        if cosignatures.enabled() {
            doc.cosigned =
                crate::witness::cosigned_notes(store, &name, &cosignatures, &doc.checkpoint)?;
        }
        Ok(doc)
    })
    .await?;
    record_read(state, reader, R::NAME, &R::subject(&doc.params), now).await?;
    respond(format, &doc)
}

/// The latest signed checkpoint; 503 before the first one is signed. The
/// one whose customer maps the writer published, when it did (it publishes
/// right after storing it), so that reports can prove completeness at it.
pub(crate) fn latest_checkpoint(store: &Store) -> Result<custody_ledger::Checkpoint, ApiError> {
    if let Some(maps) = store.published_maps() {
        return Ok(maps.checkpoint.clone());
    }
    store
        .latest_checkpoint()
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no checkpoint has been signed yet; retry in a second",
            )
        })
}

/// `?limit=` of the access history.
fn limit_param(q: &HashMap<String, String>) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad_param("limit", format!("expected 1 to {MAX_LIMIT}"))),
        },
    }
}

async fn get_access_history(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = OutFormat::negotiate(&q, &headers)?;
    let reader = authenticate(&state, &headers).await?;
    let audience = may_read_customer(&reader, &customer)?;
    let params = AccessHistoryParams {
        customer,
        period: period_param(&q)?,
        audience,
        limit: limit_param(&q)?,
        cursor: q
            .get("cursor")
            .map(|s| s.parse::<Cursor>())
            .transpose()
            .map_err(|e| bad_param("cursor", e))?,
    };
    let pp = proof_params(&q, format)?;
    serve_report::<AccessHistoryReport>(&state, &reader, params, pp, format).await
}

async fn get_disclosure(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = OutFormat::negotiate(&q, &headers)?;
    let reader = authenticate(&state, &headers).await?;
    let audience = may_read_customer(&reader, &customer)?;
    let params = CustomerParams {
        customer,
        period: period_param(&q)?,
        audience,
    };
    let pp = proof_params(&q, format)?;
    serve_report::<Disclosure>(&state, &reader, params, pp, format).await
}

async fn get_residency(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = OutFormat::negotiate(&q, &headers)?;
    let reader = authenticate(&state, &headers).await?;
    let audience = may_read_customer(&reader, &customer)?;
    let params = CustomerParams {
        customer,
        period: period_param(&q)?,
        audience,
    };
    let pp = proof_params(&q, format)?;
    serve_report::<Residency>(&state, &reader, params, pp, format).await
}

async fn get_law_enforcement(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = OutFormat::negotiate(&q, &headers)?;
    let reader = authenticate(&state, &headers).await?;
    officer_only(&reader)?;
    let params = LawEnforcementParams {
        period: period_param(&q)?,
    };
    let pp = proof_params(&q, format)?;
    serve_report::<LawEnforcement>(&state, &reader, params, pp, format).await
}

async fn get_findings(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = OutFormat::negotiate(&q, &headers)?;
    let reader = authenticate(&state, &headers).await?;
    officer_only(&reader)?;
    let filter = Filter {
        rule: q.get("rule").cloned(),
        customer: q.get("customer").cloned(),
        state: q.get("state").cloned(),
    };
    filter
        .validate()
        .map_err(|(name, message)| bad_param(name, message))?;
    let pp = proof_params(&q, format)?;
    serve_report::<Findings>(&state, &reader, filter, pp, format).await
}

fn size_param(q: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    q.get(name)
        .ok_or_else(|| bad_param(name, "required"))?
        .parse::<u64>()
        .map_err(|_| bad_param(name, "expected a number of entries"))
}

/// `GET /v1/proofs/consistency?shard&from_size&to_size`: lets a customer
/// check that today's checkpoint extends one they saved. Any valid token.
async fn get_consistency(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authenticate(&state, &headers).await?;
    let shard = q
        .get("shard")
        .ok_or_else(|| bad_param("shard", "required"))?
        .parse::<u32>()
        .map_err(|_| bad_param("shard", "expected a shard number"))?;
    let from_size = size_param(&q, "from_size")?;
    let to_size = size_param(&q, "to_size")?;
    if from_size > to_size {
        return Err(bad_param("to_size", "must not be smaller than `from_size`"));
    }
    let proof = with_reader(&state, move |store| {
        let held = store
            .heads()
            .map_err(ApiError::internal)?
            .get(&shard)
            .map(|h| h.size)
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no shard {shard}")))?;
        Ok(proof::shard_consistency(
            store, shard, from_size, to_size, held,
        )?)
    })
    .await?;
    Ok(Json(
        serde_json::to_value(proof).map_err(ApiError::internal)?,
    ))
}

/// `GET /v1/checkpoints/{number}`: an earlier signed checkpoint. Any valid token.
async fn get_checkpoint_number(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authenticate(&state, &headers).await?;
    let number: u64 = number
        .parse()
        .map_err(|_| bad_param("number", "expected a checkpoint number"))?;
    let cp = with_reader(&state, move |store| {
        store.checkpoint(number).map_err(ApiError::internal)
    })
    .await?
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no checkpoint numbered {number}"),
        )
    })?;
    Ok(Json(serde_json::to_value(cp).map_err(ApiError::internal)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Grant;

    #[test]
    fn report_read_events_are_valid_and_deterministic() {
        let reader = Principal {
            grant: Grant {
                role: Role::Customer,
                customer: Some("c1".into()),
            },
            token_hash: [7; 32],
        };
        let a = report_read_event(&reader, "disclosure", "c1", 1000);
        custody_proto::validate(&a).expect("valid event");
        assert_eq!(a, report_read_event(&reader, "disclosure", "c1", 1000));
        assert_ne!(
            a.event_id,
            report_read_event(&reader, "residency", "c1", 1000).event_id
        );
        assert_ne!(
            a.event_id,
            report_read_event(&reader, "disclosure", "c1", 1001).event_id
        );
        assert_eq!(
            a.actor.as_ref().map(|x| x.role),
            Some(v1::Role::Customer as i32)
        );
    }

    #[test]
    fn parses_times_and_formats() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Ok(1000));
        assert!(parse_rfc3339("yesterday").is_err());
        assert_eq!(OutFormat::parse("csv"), Some(OutFormat::Csv));
        assert_eq!(OutFormat::parse("xml"), None);
        let mut q = HashMap::new();
        q.insert("from".to_string(), "2026-02-01T00:00:00Z".to_string());
        q.insert("to".to_string(), "2026-01-01T00:00:00Z".to_string());
        assert_eq!(period_param(&q).unwrap_err().field.as_deref(), Some("to"));
    }

    #[test]
    fn openapi_lists_every_endpoint() {
        let doc = openapi().expect("description");
        for path in [
            "/v1/events",
            "/v1/customers/{id}/access-history",
            "/v1/customers/{id}/reports/disclosure",
            "/v1/customers/{id}/reports/residency",
            "/v1/reports/law-enforcement",
            "/v1/findings",
            "/v1/proofs/consistency",
            "/v1/checkpoints/{number}",
            "/v1/tokens",
            "/v1/tokens/{id}/revoke",
            "/v1/logs/{shard}/checkpoint",
            "/v1/logs/{shard}/proof",
            "/v1/logs/{shard}/entries",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path}");
        }
    }
}
