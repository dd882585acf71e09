//! Each shard as a C2SP transparency log, in the text formats that Go's
//! `sumdb/note`, transparency witnesses and tlog clients read
//! (`custody_verify::note`):
//!
//! - `GET /v1/logs/{shard}/checkpoint`: the shard's `tlog-checkpoint`
//!   signed note at the latest signed checkpoint (public, like
//!   `GET /v1/checkpoint`);
//! - `GET /v1/logs/{shard}/proof?index=N`: a `tlog-proof` of entry N
//!   against that note (officers: any entry; customers: their own entries).
//!
//! Sizes and roots come from the stored (JSON) checkpoint; the note is
//! signed on demand with the ledger's key. Ed25519 is deterministic, so
//! every request at one checkpoint gets the same bytes, and nothing is
//! signed that the scheduled checkpoint did not already state.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use custody_ledger::{Checkpoint, Store};
use custody_verify::note::{shard_origin, CheckpointNote, TlogProof};
use prost::Message;

use crate::api::{authenticate, latest_checkpoint, with_reader};
use crate::auth::Role;
use crate::{ApiError, AppState};

/// Media type of both answers (C2SP names none).
pub const TEXT: &str = "text/plain; charset=utf-8";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/logs/{shard}/checkpoint", get(get_log_checkpoint))
        .route("/v1/logs/{shard}/proof", get(get_log_proof))
}

fn bad_param(name: &str, message: impl std::fmt::Display) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("parameter `{name}`: {message}"),
    );
    e.field = Some(name.into());
    e
}

fn shard_param(text: &str) -> Result<u32, ApiError> {
    text.parse()
        .map_err(|_| bad_param("shard", "expected a shard number"))
}

/// The shards a checkpoint lists, for the 404: `0 to 3`, or a list.
fn shard_list(ids: &[u32]) -> String {
    match (ids.first(), ids.last()) {
        (None, _) | (_, None) => "none".into(),
        (Some(&first), Some(&last))
            if ids.len() > 2 && u64::from(last - first) + 1 == ids.len() as u64 =>
        {
            format!("{first} to {last}")
        }
        _ => ids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The shard's signed checkpoint note at `cp`, and the shard's size there.
pub(crate) fn signed_note(
    store: &Store,
    ledger_name: &str,
    cp: &Checkpoint,
    shard: u32,
) -> Result<(u64, String), ApiError> {
    let head = cp.shard(shard).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no shard {shard}: the latest checkpoint ({}) lists shards {}",
                cp.number,
                shard_list(&cp.shards.iter().map(|h| h.shard).collect::<Vec<_>>())
            ),
        )
    })?;
    let body = CheckpointNote {
        origin: shard_origin(ledger_name, shard),
        size: head.size,
        root: head.root,
        // The customer-map root (`custody_verify::completeness`) as an
        // extension line, so that whoever cosigns the note cosigns the map.
        extensions: head
            .map_root
            .map(|r| {
                use base64::Engine as _;
                format!(
                    "custody-customer-map {}",
                    base64::engine::general_purpose::STANDARD.encode(r)
                )
            })
            .into_iter()
            .collect(),
    };
    let note = body
        .sign(ledger_name, store.signing_key())
        .map_err(ApiError::internal)?;
    Ok((head.size, note.to_string()))
}

fn text_answer(checkpoint: u64, body: String) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, TEXT)], body).into_response();
    resp.headers_mut()
        .insert("x-custody-checkpoint", HeaderValue::from(checkpoint));
    resp
}

/// `GET /v1/logs/{shard}/checkpoint`: public; 404 for a shard the latest
/// checkpoint does not list, 503 before the first checkpoint.
async fn get_log_checkpoint(
    State(state): State<AppState>,
    Path(shard): Path<String>,
) -> Result<Response, ApiError> {
    let shard = shard_param(&shard)?;
    let name = state.log_name.clone();
    let cosignatures = state.cosignatures.clone();
    let (number, note) = with_reader(&state, move |store| {
        let cp = latest_checkpoint(store)?;
        let (_, note) = signed_note(store, &name, &cp, shard)?;
        // With the witnesses' cosignatures collected for it
        // (`custody serve --witness`).
        Ok((cp.number, cosignatures.decorate(shard, cp.number, note)))
    })
    .await?;
    Ok(text_answer(number, note))
}

/// `GET /v1/logs/{shard}/proof?index=N`: as the reports' inclusion
/// proofs, a bearer token: officers prove any entry, a customer only the
/// entries of its own customer (a global entry, which has none, is not
/// its own), emitters none.
async fn get_log_proof(
    State(state): State<AppState>,
    Path(shard): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = authenticate(&state, &headers).await?;
    let own_customer = match (reader.grant.role, reader.grant.customer) {
        (Role::Officer, _) => None,
        (Role::Customer, Some(customer)) => Some(customer),
        (Role::Customer, None) | (Role::Emitter, _) | (Role::Witness, _) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "only officer and customer tokens get proofs of entries",
            ))
        }
    };
    let shard = shard_param(&shard)?;
    let index: u64 = q
        .get("index")
        .ok_or_else(|| bad_param("index", "required"))?
        .parse()
        .map_err(|_| bad_param("index", "expected an entry's sequence number in its shard"))?;
    let name = state.log_name.clone();
    let (number, proof) = with_reader(&state, move |store| {
        let cp = latest_checkpoint(store)?;
        let (size, note) = signed_note(store, &name, &cp, shard)?;
        if index >= size {
            let mut e = ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "entry {index} of shard {shard} is not inside the latest checkpoint ({}), which holds {size} entries of that shard",
                    cp.number
                ),
            );
            e.field = Some("index".into());
            return Err(e);
        }
        if let Some(own) = own_customer {
            let (entry, _) = store
                .entry(shard, index)
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    ApiError::internal(format!("entry {index} of shard {shard} is not stored"))
                })?;
            let event =
                custody_proto::Event::decode(entry.event.as_slice()).map_err(ApiError::internal)?;
            if event.customer_id != own {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "a customer token gets proofs of its own customer's entries only",
                ));
            }
        }
        let hashes = store
            .inclusion_proof(shard, index, size)
            .map_err(ApiError::internal)?;
        let proof = TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: note,
        };
        Ok((cp.number, proof.to_string()))
    })
    .await?;
    Ok(text_answer(number, proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_lists_are_short() {
        assert_eq!(shard_list(&[0, 1, 2, 3]), "0 to 3");
        assert_eq!(shard_list(&[0, 1]), "0, 1");
        assert_eq!(shard_list(&[0, 2, 5]), "0, 2, 5");
        assert_eq!(shard_list(&[]), "none");
    }
}
