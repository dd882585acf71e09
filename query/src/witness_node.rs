//! A re-folding witness's own service (`custody witness`): the C2SP
//! `tlog-witness` `add-checkpoint` endpoint, its status and metrics. The
//! mirror (the binary's `witness_cmd`) re-folds the primary's entries into
//! this node's ledger and adopts each primary checkpoint its own fold
//! re-derives ([`custody_ledger::Ledger::adopt_checkpoint`]); this module
//! cosigns a shard's note only when
//!
//! 1. the note is signed by the primary's key, for an origin
//!    `<primary's ledger name>/shard/<n>` (else 403, 404);
//! 2. `old` is the size this witness last cosigned for that shard, kept in
//!    its RocksDB (else 409 with that size, `text/x.tlog.size`), and the
//!    consistency proof from that cosigned head verifies (else 422): so it
//!    never cosigns a rollback or a fork of what it cosigned;
//! 3. an adopted checkpoint states exactly the note's size, root and
//!    customer-map root: its own fold derived them (else 422 naming the
//!    difference, or 503 while it has not re-derived that far yet).
//!
//! The latest cosigned size is recorded (WAL fsynced) before the answer,
//! under one lock, so two requests cannot roll it back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custody_ledger::fold::cosigned;
use custody_ledger::{Ledger, Store};
use custody_verify::cosign::{cosign, AddCheckpoint, CosignerKey, SIZE_MEDIA_TYPE};
use custody_verify::merkle::{empty_root, verify_consistency, Hash};
use custody_verify::note::{CheckpointNote, Note, NoteError, VerifierKey};
use custody_verify::witnessed::MAP_EXTENSION;
use ed25519_dalek::SigningKey;
use serde::Serialize;

/// How long `add-checkpoint` waits for the mirror to re-derive a note
/// before answering 503.
pub const DERIVE_WAIT: Duration = Duration::from_secs(5);

/// Why this witness refuses the primary: the first difference it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub shard: u32,
    /// The first entry whose re-derivation differs, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub reason: String,
    /// Where the evidence was written (the primary's and the re-derived
    /// entry, the checkpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "shard {} seq {seq}: {}", self.shard, self.reason),
            None => write!(f, "shard {}: {}", self.shard, self.reason),
        }
    }
}

/// Counters of `/metrics`.
#[derive(Default)]
pub struct WitnessMetrics {
    pub cosigned: AtomicU64,
    pub conflicts: AtomicU64,
    pub unprocessable: AtomicU64,
    pub forbidden: AtomicU64,
    pub not_derived: AtomicU64,
    pub refusals: AtomicU64,
    pub mirrored: AtomicU64,
    pub adopted: AtomicU64,
}

/// Shared state of the witness service and its mirror.
pub struct WitnessNode {
    pub ledger: Arc<Mutex<Ledger>>,
    pub store: Store,
    /// The primary's note verifier key; its name is the primary's ledger
    /// name, the prefix of every origin this witness knows.
    pub log_key: VerifierKey,
    /// This witness's cosigner name and key.
    pub name: String,
    pub key: SigningKey,
    pub metrics: WitnessMetrics,
    /// The first difference found, once found: from then on nothing of the
    /// shard is cosigned.
    pub refusals: Mutex<BTreeMap<u32, Refusal>>,
    /// Shards a failed `add-checkpoint` asks the mirror to compare with the
    /// primary entry by entry.
    pub compare: Mutex<Vec<u32>>,
    /// Steps of the mirror begun (each first reads the log's latest
    /// checkpoint), and the last of them that ended having adopted
    /// everything up to that checkpoint ([`WitnessNode::begin_step`]).
    steps: AtomicU64,
    synced: AtomicU64,
    add_lock: tokio::sync::Mutex<()>,
}

impl WitnessNode {
    pub fn new(ledger: Ledger, log_key: VerifierKey, name: String, key: SigningKey) -> Self {
        let store = ledger.store().clone();
        WitnessNode {
            ledger: Arc::new(Mutex::new(ledger)),
            store,
            log_key,
            name,
            key,
            metrics: WitnessMetrics::default(),
            refusals: Mutex::default(),
            compare: Mutex::default(),
            steps: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            add_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn cosigner_key(&self) -> Result<CosignerKey, String> {
        CosignerKey::ed25519(&self.name, &self.key.verifying_key()).map_err(|e| e.to_string())
    }

    /// The mirror begins a step: it reads the log's latest checkpoint and
    /// re-derives and adopts every checkpoint up to it. Returns the step's
    /// number, for [`WitnessNode::step_done`].
    pub fn begin_step(&self) -> u64 {
        self.steps.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The step ended with every checkpoint up to the log's latest adopted
    /// (and nothing refused).
    pub fn step_done(&self, step: u64) {
        self.synced.fetch_max(step, Ordering::SeqCst);
    }

    /// Records a refusal (the first per shard is kept).
    pub fn refuse(&self, r: Refusal) {
        let Ok(mut m) = self.refusals.lock() else {
            return;
        };
        if m.contains_key(&r.shard) {
            return;
        }
        tracing::error!(shard = r.shard, seq = ?r.seq, reason = %r.reason, "witness refuses the primary");
        self.metrics.refusals.fetch_add(1, Ordering::Relaxed);
        m.insert(r.shard, r);
    }

    /// Whether any shard is refused: the mirror then stops following.
    pub fn refused(&self) -> bool {
        match self.refusals.lock() {
            Ok(m) => !m.is_empty(),
            Err(_) => true,
        }
    }

    pub fn refusal(&self, shard: u32) -> Option<Refusal> {
        self.refusals
            .lock()
            .ok()
            .and_then(|m| m.get(&shard).cloned())
    }

    /// The first refusal of any shard.
    pub fn first_refusal(&self) -> Option<Refusal> {
        self.refusals
            .lock()
            .ok()
            .and_then(|m| m.values().next().cloned())
    }

    fn ask_compare(&self, shard: u32) {
        if let Ok(mut c) = self.compare.lock() {
            if !c.contains(&shard) {
                c.push(shard);
            }
        }
    }

    /// The shard number of an origin `<primary name>/shard/<n>`.
    fn shard_of(&self, origin: &str) -> Option<u32> {
        let rest = origin.strip_prefix(self.log_key.name())?;
        let n = rest.strip_prefix("/shard/")?;
        if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
            return None;
        }
        n.parse().ok()
    }
}

pub fn router(node: Arc<WitnessNode>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/v1/witness/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(node)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", body.into()),
    )
        .into_response()
}

/// What the adopted checkpoints say of a shard's note (size, root, and
/// customer-map root when it states one).
///
/// Several checkpoints of the log may state one size of a shard (the heads
/// of other shards moved), and their customer-map roots differ all the
/// same, since every sealed commitment takes a fresh nonce at every
/// checkpoint: so the note is looked up among every adopted checkpoint at
/// its size, not only the latest.
#[derive(Debug, PartialEq, Eq)]
enum Derived {
    /// This adopted checkpoint states exactly the note's size, root and map
    /// root.
    At(u64),
    /// An adopted checkpoint states the note's size with another root.
    OtherRoot { number: u64, root: Hash },
    /// Adopted checkpoints state the note's size and root, none its map
    /// root (the latest of them).
    OtherMapRoot(u64),
    /// The adopted checkpoints are past this size but none states it.
    Skipped,
    /// Not re-derived that far yet.
    NotYet,
}

fn derived(
    store: &Store,
    shard: u32,
    size: u64,
    root: &Hash,
    map_root: Option<Hash>,
) -> Result<Derived, String> {
    let mut first = true;
    let mut other_map: Option<u64> = None;
    for c in store
        .checkpoints_newest_first()
        .map_err(|e| e.to_string())?
    {
        let c = c.map_err(|e| e.to_string())?;
        let head = c.shard(shard);
        let s = head.map_or(0, |h| h.size);
        let latest = std::mem::replace(&mut first, false);
        if s < size {
            if latest {
                return Ok(Derived::NotYet);
            }
            break;
        }
        if s > size {
            continue;
        }
        let (own_root, own_map) = (
            head.map_or(empty_root(), |h| h.root),
            head.and_then(|h| h.map_root),
        );
        if own_root != *root {
            return Ok(Derived::OtherRoot {
                number: c.number,
                root: own_root,
            });
        }
        if map_root.is_none() || map_root == own_map {
            return Ok(Derived::At(c.number));
        }
        other_map.get_or_insert(c.number);
    }
    Ok(match other_map {
        Some(number) => Derived::OtherMapRoot(number),
        None if first => Derived::NotYet,
        None => Derived::Skipped,
    })
}

fn map_root_of(body: &CheckpointNote) -> Option<Hash> {
    use base64::Engine as _;
    body.extensions.iter().find_map(|l| {
        l.strip_prefix(MAP_EXTENSION).and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .ok()
                .and_then(|v| v.try_into().ok())
        })
    })
}

/// `POST /add-checkpoint` (c2sp.org/tlog-witness).
async fn add_checkpoint(State(node): State<Arc<WitnessNode>>, body: Bytes) -> Response {
    let m = &node.metrics;
    let Ok(body) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let req = match AddCheckpoint::parse(body) {
        Ok(r) => r,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let note = match Note::parse(&req.checkpoint) {
        Ok(n) => n,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let cp = match CheckpointNote::parse_body(note.text()) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let Some(shard) = node.shard_of(&cp.origin) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("unknown origin {:?}", cp.origin),
        );
    };
    if let Err(e) = Note::open(&req.checkpoint, std::slice::from_ref(&node.log_key)) {
        m.forbidden.fetch_add(1, Ordering::Relaxed);
        let why = match e {
            NoteError::NoKnownSignature { .. } => "no signature of the log's key".to_string(),
            other => other.to_string(),
        };
        return text(StatusCode::FORBIDDEN, why);
    }
    if req.old > cp.size {
        return text(
            StatusCode::BAD_REQUEST,
            format!(
                "old size {} is larger than the checkpoint's {}",
                req.old, cp.size
            ),
        );
    }
    // 1. Against what this witness cosigned (under the lock).
    if let Some(resp) = check_against_cosigned(&node, shard, &req, &cp).await {
        return resp;
    }
    // 2. Against its own derivation, once the mirror has looked at the
    //    log's latest checkpoint since this note came and re-derived
    //    everything up to it: a note is cosigned only while the log's
    //    published history is the one this witness re-derived (a log that
    //    replaced it, even in another shard, gets nothing), and a note of a
    //    checkpoint not adopted yet waits for it (503 after the wait, and
    //    the log asks again), never 422.
    let deadline = Instant::now() + DERIVE_WAIT;
    let asked_at = node.steps.load(Ordering::SeqCst);
    let stated = map_root_of(&cp);
    let number = loop {
        if let Some(r) = node.first_refusal() {
            m.unprocessable.fetch_add(1, Ordering::Relaxed);
            return text(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("refused: this witness's fold differs from the log's at {r}"),
            );
        }
        if node.synced.load(Ordering::SeqCst) > asked_at {
            let store = node.store.clone();
            let (size, root) = (cp.size, cp.root);
            let found =
                tokio::task::spawn_blocking(move || derived(&store, shard, size, &root, stated))
                    .await;
            let refuse = |why: String| {
                m.unprocessable.fetch_add(1, Ordering::Relaxed);
                text(StatusCode::UNPROCESSABLE_ENTITY, why)
            };
            match found {
                Ok(Ok(Derived::At(number))) => break number,
                Ok(Ok(Derived::OtherRoot { number, root })) => {
                    node.ask_compare(shard);
                    return refuse(format!(
                        "refused: at size {} the log's checkpoint {number} (re-derived by this witness) has root {}, this note {}",
                        cp.size,
                        hex::encode(root),
                        hex::encode(cp.root)
                    ));
                }
                Ok(Ok(Derived::OtherMapRoot(number))) => {
                    return refuse(format!(
                        "refused: the note's customer-map root is in no checkpoint of the log this witness re-derived at size {} (the latest: checkpoint {number})",
                        cp.size
                    ));
                }
                Ok(Ok(Derived::Skipped)) => {
                    return refuse(format!(
                        "refused: no checkpoint the log published states {} entries for shard {shard}",
                        cp.size
                    ));
                }
                Ok(Ok(Derived::NotYet)) => {}
                Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
                Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        if Instant::now() >= deadline {
            return not_derived(&node, shard, cp.size);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // 3. Record and cosign, under the lock, checking `old` again.
    let _guard = node.add_lock.lock().await;
    let store = node.store.clone();
    let latest = match tokio::task::spawn_blocking(move || cosigned(&store, shard)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let latest_size = latest.map_or(0, |(s, _)| s);
    if latest_size != req.old {
        m.conflicts.fetch_add(1, Ordering::Relaxed);
        return size_conflict(latest_size);
    }
    let ledger = node.ledger.clone();
    let (size, root) = (cp.size, cp.root);
    let put = tokio::task::spawn_blocking(move || {
        ledger
            .lock()
            .map_err(|_| "ledger lock poisoned".to_string())?
            .put_cosigned(shard, size, &root)
            .map_err(|e| e.to_string())
    })
    .await;
    match put {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return text(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs().max(1));
    match cosign(note.text(), &node.name, &node.key, now) {
        Ok(sig) => {
            m.cosigned.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(shard, size = cp.size, checkpoint = number, "cosigned");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                sig.line(),
            )
                .into_response()
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// 503: not re-derived that far yet; the log retries.
fn not_derived(node: &WitnessNode, shard: u32, size: u64) -> Response {
    node.metrics.not_derived.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        format!("this witness has not re-derived shard {shard} up to {size} entries yet; retry\n"),
    )
        .into_response()
}

fn size_conflict(size: u64) -> Response {
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, SIZE_MEDIA_TYPE)],
        format!("{size}\n"),
    )
        .into_response()
}

/// The checks against the latest cosigned checkpoint of the shard: 409,
/// 422, or `None` when they pass.
async fn check_against_cosigned(
    node: &Arc<WitnessNode>,
    shard: u32,
    req: &AddCheckpoint,
    cp: &CheckpointNote,
) -> Option<Response> {
    let m = &node.metrics;
    let _guard = node.add_lock.lock().await;
    let store = node.store.clone();
    let latest = match tokio::task::spawn_blocking(move || cosigned(&store, shard)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Some(text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => return Some(text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    };
    let (latest_size, latest_root) = latest.unwrap_or((0, empty_root()));
    if latest_size != req.old {
        m.conflicts.fetch_add(1, Ordering::Relaxed);
        return Some(size_conflict(latest_size));
    }
    let unprocessable = |why: String| {
        m.unprocessable.fetch_add(1, Ordering::Relaxed);
        Some(text(StatusCode::UNPROCESSABLE_ENTITY, why))
    };
    if cp.size == 0 && cp.root != empty_root() {
        return unprocessable("a checkpoint of size 0 must have the empty tree's root".into());
    }
    if req.old == 0 {
        if !req.proof.is_empty() {
            return unprocessable("old size 0 takes an empty consistency proof".into());
        }
        return None;
    }
    if req.old == cp.size {
        if !req.proof.is_empty() {
            return unprocessable("equal sizes take an empty consistency proof".into());
        }
        if cp.root != latest_root {
            node.ask_compare(shard);
            return unprocessable(format!(
                "refused: this witness cosigned size {} with root {}, this checkpoint states {} (a fork)",
                req.old,
                hex::encode(latest_root),
                hex::encode(cp.root)
            ));
        }
        return None;
    }
    if let Err(e) = verify_consistency(req.old, cp.size, &latest_root, &cp.root, &req.proof) {
        node.ask_compare(shard);
        return unprocessable(format!(
            "refused: the consistency proof from the cosigned size {} does not verify: {e}",
            req.old
        ));
    }
    None
}

/// `GET /v1/witness/status`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    name: String,
    cosigner_key: String,
    /// The latest checkpoint of the log re-derived and adopted.
    adopted_checkpoint: Option<u64>,
    /// Per shard: entries re-folded, latest cosigned size.
    shards: BTreeMap<u32, ShardStatus>,
    refusals: Vec<Refusal>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShardStatus {
    entries: u64,
    cosigned_size: Option<u64>,
}

async fn status(State(node): State<Arc<WitnessNode>>) -> Response {
    let n = node.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Status, String> {
        let store = &n.store;
        let heads = store.heads().map_err(|e| e.to_string())?;
        let mut shards = BTreeMap::new();
        for (shard, h) in &heads {
            shards.insert(
                *shard,
                ShardStatus {
                    entries: h.size,
                    cosigned_size: cosigned(store, *shard)
                        .map_err(|e| e.to_string())?
                        .map(|(s, _)| s),
                },
            );
        }
        Ok(Status {
            name: n.name.clone(),
            cosigner_key: n.cosigner_key()?.to_string(),
            adopted_checkpoint: store
                .latest_checkpoint()
                .map_err(|e| e.to_string())?
                .map(|c| c.number),
            shards,
            refusals: n
                .refusals
                .lock()
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default(),
        })
    })
    .await;
    match built {
        Ok(Ok(s)) => Json(s).into_response(),
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn metrics(State(node): State<Arc<WitnessNode>>) -> Response {
    let m = &node.metrics;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
        ));
    };
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    counter(
        "custody_witness_cosigned_total",
        "Checkpoint notes cosigned.",
        get(&m.cosigned),
    );
    counter(
        "custody_witness_conflicts_total",
        "add-checkpoint answered 409 (old size is not the latest cosigned).",
        get(&m.conflicts),
    );
    counter(
        "custody_witness_unprocessable_total",
        "add-checkpoint answered 422 (proof or derivation refused).",
        get(&m.unprocessable),
    );
    counter(
        "custody_witness_forbidden_total",
        "add-checkpoint answered 403 (not signed by the log's key).",
        get(&m.forbidden),
    );
    counter(
        "custody_witness_not_derived_total",
        "add-checkpoint answered 503 (not re-derived yet).",
        get(&m.not_derived),
    );
    counter(
        "custody_witness_refusals_total",
        "Differences found between the log and this witness's own fold.",
        get(&m.refusals),
    );
    counter(
        "custody_witness_mirrored_entries_total",
        "Entries mirrored and re-folded since start.",
        get(&m.mirrored),
    );
    out.push_str(&format!(
        "# HELP custody_witness_adopted_checkpoint Latest log checkpoint re-derived.\n# TYPE custody_witness_adopted_checkpoint gauge\ncustody_witness_adopted_checkpoint {}\n",
        get(&m.adopted)
    ));
    if let Ok(r) = node.refusals.lock() {
        out.push_str("# HELP custody_witness_refused_shard First differing sequence number per refused shard.\n# TYPE custody_witness_refused_shard gauge\n");
        for (shard, refusal) in r.iter() {
            out.push_str(&format!(
                "custody_witness_refused_shard{{shard=\"{shard}\"}} {}\n",
                refusal.seq.map_or(-1, |s| s as i64)
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
