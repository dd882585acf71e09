//! Witnesses, on the primary's side:
//!
//! - `GET /v1/logs/{shard}/entries?start=N&limit=M` (witness and officer
//!   tokens): the stored entries of a shard, in order, up to the latest
//!   signed checkpoint's size, exactly as stored (canonical bytes and
//!   hash), each preceded by its length (u32, big-endian), as
//!   `application/octet-stream`. What a re-folding witness mirrors.
//! - [`Cosignatures`]: the cosignatures collected from the witnesses
//!   (`custody serve --witness URL=VKEY`, by the binary's cosigner threads,
//!   off the fold's path), added to the shards' notes
//!   (`GET /v1/logs/{shard}/checkpoint`) and to reports (`cosigned`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::RwLock;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use custody_ledger::{Checkpoint, Store};
use custody_verify::cosign::{CosignedNote, CosignerKey};
use custody_verify::note::{Note, NoteSignature};

use crate::api::{authenticate, latest_checkpoint, with_reader};
use crate::auth::Role;
use crate::{ApiError, AppState};

/// Most entries one request returns.
pub const MAX_ENTRIES: u64 = 10_000;
/// Entries returned when `limit` is not given.
pub const DEFAULT_ENTRIES: u64 = 1_000;
/// Checkpoints per shard whose cosignatures are kept in memory.
const KEPT: usize = 16;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/logs/{shard}/entries", get(get_entries))
}

fn bad_param(name: &str, message: impl std::fmt::Display) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("parameter `{name}`: {message}"),
    );
    e.field = Some(name.into());
    e
}

fn number_param(
    q: &HashMap<String, String>,
    name: &str,
    default: Option<u64>,
) -> Result<u64, ApiError> {
    match (q.get(name), default) {
        (Some(v), _) => v
            .parse()
            .map_err(|_| bad_param(name, "expected a non-negative integer")),
        (None, Some(d)) => Ok(d),
        (None, None) => Err(bad_param(name, "required")),
    }
}

/// `GET /v1/logs/{shard}/entries?start=N&limit=M`.
async fn get_entries(
    State(state): State<AppState>,
    Path(shard): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reader = authenticate(&state, &headers).await?;
    if !matches!(reader.grant.role, Role::Witness | Role::Officer) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "entries are mirrored by witness (and officer) tokens only",
        ));
    }
    let shard: u32 = shard
        .parse()
        .map_err(|_| bad_param("shard", "expected a shard number"))?;
    let start = number_param(&q, "start", None)?;
    let limit = number_param(&q, "limit", Some(DEFAULT_ENTRIES))?.clamp(1, MAX_ENTRIES);
    let (number, size, body) = with_reader(&state, move |store| {
        let cp = latest_checkpoint(store)?;
        let size = cp.shard(shard).map_or(0, |h| h.size);
        let end = size.min(start.saturating_add(limit));
        let mut body = Vec::new();
        for seq in start..end {
            let bytes = store
                .entry_bytes(shard, seq)
                .map_err(ApiError::internal)?
                .ok_or_else(|| {
                    ApiError::internal(format!("entry {seq} of shard {shard} is not stored"))
                })?;
            let len = u32::try_from(bytes.len()).map_err(ApiError::internal)?;
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&bytes);
        }
        Ok((cp.number, size, body))
    })
    .await?;
    let mut resp = ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response();
    let h = resp.headers_mut();
    h.insert("x-custody-checkpoint", HeaderValue::from(number));
    h.insert("x-custody-shard-size", HeaderValue::from(size));
    Ok(resp)
}

/// Splits an entries answer into the stored entries.
pub fn split_entries(body: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let Some((len, after)) = rest.split_first_chunk::<4>() else {
            return Err("truncated length".into());
        };
        let len = u32::from_be_bytes(*len) as usize;
        if after.len() < len {
            return Err("truncated entry".into());
        }
        let (entry, after) = after.split_at(len);
        out.push(entry);
        rest = after;
    }
    Ok(out)
}

/// A checkpoint number and the cosignatures gathered for it.
type Gathered = (u64, Vec<NoteSignature>);

/// Cosignatures collected per shard and checkpoint number (the last
/// [`KEPT`] checkpoints of each shard), and the witnesses they come from.
#[derive(Default)]
pub struct Cosignatures {
    pub witnesses: Vec<CosignerKey>,
    /// How many of them a report's checkpoint should carry
    /// (`--min-witnesses`); reports wait a little for them.
    pub min: usize,
    by_shard: RwLock<BTreeMap<u32, VecDeque<Gathered>>>,
}

impl Cosignatures {
    pub fn new(witnesses: Vec<CosignerKey>, min: usize) -> Self {
        Cosignatures {
            witnesses,
            min,
            by_shard: RwLock::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.witnesses.is_empty()
    }

    /// Keeps a verified cosignature of the shard's note at checkpoint `number`.
    pub fn add(&self, shard: u32, number: u64, sig: NoteSignature) {
        let Ok(mut map) = self.by_shard.write() else {
            return;
        };
        let list = map.entry(shard).or_default();
        let pos = match list.iter().position(|(n, _)| *n == number) {
            Some(p) => p,
            None => {
                list.push_back((number, Vec::new()));
                while list.len() > KEPT {
                    list.pop_front();
                }
                list.len() - 1
            }
        };
        let lines = &mut list[pos].1;
        lines.retain(|s| !(s.name == sig.name && s.id == sig.id));
        lines.push(sig);
    }

    /// The cosignatures of the shard's note at checkpoint `number`.
    pub fn lines(&self, shard: u32, number: u64) -> Vec<NoteSignature> {
        self.by_shard
            .read()
            .ok()
            .and_then(|m| {
                m.get(&shard)
                    .and_then(|l| l.iter().find(|(n, _)| *n == number).map(|(_, s)| s.clone()))
            })
            .unwrap_or_default()
    }

    /// Whether every shard of `cp` has at least [`Self::min`] cosignatures.
    pub fn complete(&self, cp: &Checkpoint) -> bool {
        cp.shards
            .iter()
            .all(|h| self.lines(h.shard, cp.number).len() >= self.min)
    }

    /// The note with the cosignatures collected for it.
    pub fn decorate(&self, shard: u32, number: u64, note: String) -> String {
        let lines = self.lines(shard, number);
        if lines.is_empty() {
            return note;
        }
        match Note::parse(&note) {
            Ok(mut n) => {
                for l in lines {
                    if n.push_signature(l).is_err() {
                        break;
                    }
                }
                n.to_string()
            }
            Err(_) => note,
        }
    }
}

/// Every shard's note at `cp` with its cosignatures, for a report.
pub fn cosigned_notes(
    store: &Store,
    ledger_name: &str,
    cosignatures: &Cosignatures,
    cp: &Checkpoint,
) -> Result<Vec<CosignedNote>, ApiError> {
    cp.shards
        .iter()
        .map(|h| {
            let (_, note) = crate::logs::signed_note(store, ledger_name, cp, h.shard)?;
            Ok(CosignedNote {
                shard: h.shard,
                note: cosignatures.decorate(h.shard, cp.number, note),
            })
        })
        .collect()
}

/// The shard's signed note at `cp` (for the cosigner threads).
pub fn shard_note(
    store: &Store,
    ledger_name: &str,
    cp: &Checkpoint,
    shard: u32,
) -> Result<String, String> {
    crate::logs::signed_note(store, ledger_name, cp, shard)
        .map(|(_, n)| n)
        .map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn entries_split_back_and_truncation_is_refused() {
        let mut body = Vec::new();
        for e in [&b"abc"[..], b"", b"defgh"] {
            body.extend_from_slice(&(e.len() as u32).to_be_bytes());
            body.extend_from_slice(e);
        }
        assert_eq!(
            split_entries(&body).unwrap(),
            vec![&b"abc"[..], b"", b"defgh"]
        );
        assert!(split_entries(&body[..body.len() - 1]).is_err());
        assert!(split_entries(&[0, 0]).is_err());
    }

    #[test]
    fn cosignatures_are_kept_per_checkpoint_and_replace_their_witness() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let w = CosignerKey::ed25519("w.example", &key.verifying_key()).unwrap();
        let c = Cosignatures::new(vec![w], 1);
        let body = "o/shard/0\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        let line = |t| custody_verify::cosign::cosign(body, "w.example", &key, t).unwrap();
        c.add(0, 5, line(1));
        c.add(0, 5, line(2));
        assert_eq!(c.lines(0, 5).len(), 1);
        assert!(c.lines(0, 4).is_empty());
        for n in 6..40 {
            c.add(0, n, line(n));
        }
        assert!(c.lines(0, 5).is_empty(), "old checkpoints are dropped");
        assert_eq!(c.lines(0, 39).len(), 1);
        let signer = SigningKey::from_bytes(&[4; 32]);
        let note = Note::new(body).map(|mut n| {
            n.sign("o", &signer).unwrap();
            n.to_string()
        });
        let decorated = c.decorate(0, 39, note.unwrap());
        assert_eq!(Note::parse(&decorated).unwrap().signatures().len(), 2);
    }
}
