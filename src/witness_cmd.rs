//! `custody witness`: a re-folding witness. It mirrors the primary's
//! entries over HTTP (a `witness` token), re-folds their events in the same
//! order, from the same source positions, through its own ledger (its own
//! policy engine, its own RocksDB), compares every entry hash it derives
//! with the primary's, and adopts each of the primary's checkpoints whose
//! heads and customer-map roots its own fold gives
//! ([`Ledger::adopt_checkpoint`]); `custody_query::witness_node` serves
//! `add-checkpoint` and cosigns only what was adopted. On a difference it
//! names the first differing shard and sequence number, writes the
//! evidence under `DATA/evidence/`, counts it in `/metrics` and stops
//! following that shard. Also `custody witness-key`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use custody_ledger::entry::split_stored;
use custody_ledger::{Checkpoint, Entry, Ledger, Outcome, Record};
use custody_query::witness::split_entries;
use custody_query::witness_node::{Refusal, WitnessNode};
use custody_verify::note::VerifierKey;
use ed25519_dalek::SigningKey;

/// The witness's cosigner key file in its data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";
/// Entries asked per request.
const PAGE: u64 = 5_000;

/// One mirrored entry: decoded, its hash, its stored bytes.
type Mirrored = (Entry, [u8; 32], Vec<u8>);

#[derive(clap::Args)]
pub struct WitnessArgs {
    /// Data directory of this witness (its own RocksDB, its cosigner key
    /// in DIR/witness.key, evidence of differences in DIR/evidence/).
    #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
    data: PathBuf,
    /// Base URL of the primary, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    primary: String,
    /// A `witness` token of the primary (`POST /v1/tokens {"role":"witness"}`).
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: String,
    /// The primary's note verifier key (`custody key export --format vkey`
    /// on the primary): its name is the primary's ledger name.
    #[arg(long)]
    log_key: String,
    /// The primary's map secrets (a file holding the line
    /// `custody key export --format map-secrets` prints on the primary):
    /// without them no re-folded customer map can match the primary's.
    #[arg(long)]
    map_secrets: PathBuf,
    /// Address of this witness's service (POST /add-checkpoint, GET
    /// /v1/witness/status, GET /metrics).
    #[arg(long, env = "CUSTODY_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// This witness's cosigner name (default: custody-witness.invalid/
    /// and 16 hex digits of SHA-256 of its public key).
    #[arg(long)]
    name: Option<String>,
    /// How often to look for new checkpoints of the primary (milliseconds).
    #[arg(long, default_value_t = 200)]
    poll_ms: u64,
}

#[derive(clap::Args)]
pub struct WitnessKeyArgs {
    /// Data directory of the witness (the key is created in DIR/witness.key).
    #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
    data: PathBuf,
    /// The cosigner name (as given to `custody witness --name`).
    #[arg(long)]
    name: Option<String>,
}

/// The cosigner key of a witness directory, created on first use.
fn load_or_create_key(dir: &Path) -> Result<SigningKey> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(WITNESS_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .with_context(|| format!("{} is not 64 hex digits", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut rand_core::OsRng);
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{}\n", hex::encode(key.to_bytes())))
                .with_context(|| format!("writing {}", tmp.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::rename(&tmp, &path)?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn default_name(key: &SigningKey) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.verifying_key().as_bytes());
    format!("custody-witness.invalid/{}", &hex::encode(digest)[..16])
}

/// `custody witness-key`: prints the cosigner verifier key
/// (`NAME+KEYID+BASE64`, type 0x04), creating the key if needed.
pub fn print_key(a: WitnessKeyArgs) -> Result<()> {
    let key = load_or_create_key(&a.data)?;
    let name = a.name.unwrap_or_else(|| default_name(&key));
    let vkey = custody_verify::cosign::CosignerKey::ed25519(&name, &key.verifying_key())?;
    println!("{vkey}");
    Ok(())
}

/// Installs the primary's map secrets in the witness's directory (once; a
/// different file already there is refused).
fn install_map_secrets(dir: &Path, from: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(from).with_context(|| format!("reading {}", from.display()))?;
    custody_verify::completeness::LedgerSecrets::from_line(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
    let target = dir.join(custody_ledger::store::MAP_SECRETS_FILE);
    match std::fs::read_to_string(&target) {
        Ok(existing) if existing.trim() == text.trim() => Ok(()),
        Ok(_) => bail!(
            "{} holds other map secrets: this directory re-derives another ledger",
            target.display()
        ),
        Err(_) => {
            std::fs::write(&target, text.trim().to_string() + "\n")
                .with_context(|| format!("writing {}", target.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
    }
}

pub fn run(a: WitnessArgs) -> Result<()> {
    let log_key: VerifierKey = a.log_key.parse().context("--log-key")?;
    let key = load_or_create_key(&a.data)?;
    let name = a.name.clone().unwrap_or_else(|| default_name(&key));
    install_map_secrets(&a.data, &a.map_secrets)?;
    let ledger = Ledger::open(&a.data)
        .with_context(|| format!("opening data directory {}", a.data.display()))?;
    let node = Arc::new(WitnessNode::new(ledger, log_key, name, key));
    tracing::info!(cosigner = %node.cosigner_key().map_err(anyhow::Error::msg)?, "witness key");
    let stop = Arc::new(AtomicBool::new(false));
    let mirror = {
        let (node, stop) = (node.clone(), stop.clone());
        let m = Mirror::new(&a.primary, &a.token, &a.data);
        let poll = Duration::from_millis(a.poll_ms.max(1));
        std::thread::Builder::new()
            .name("mirror".into())
            .spawn(move || m.run(&node, &stop, poll))?
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("binding {}", a.listen))?;
        tracing::info!(listen = %a.listen, "witness serving");
        axum::serve(listener, custody_query::witness_node::router(node.clone()))
            .with_graceful_shutdown(crate::shutdown_signal())
            .await?;
        anyhow::Ok(())
    });
    stop.store(true, Ordering::SeqCst);
    let _ = mirror.join();
    result
}

/// The mirror's HTTP side and where it keeps evidence.
struct Mirror {
    base: String,
    token: String,
    agent: ureq::Agent,
    evidence: PathBuf,
}

/// What stopped the mirror of a checkpoint.
enum Stop {
    /// A difference: refused (named, evidence kept).
    Refused(Refusal),
    /// An error reaching or reading the primary: try again later.
    Retry(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Retry(e)
    }
}

impl Mirror {
    fn new(base: &str, token: &str, data: &Path) -> Self {
        Mirror {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(30)))
                .build()
                .into(),
            evidence: data.join("evidence"),
        }
    }

    fn get(&self, path: &str) -> Result<(u16, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let mut resp = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .with_context(|| format!("reading GET {url}"))?;
        Ok((status, body))
    }

    fn checkpoint(&self, path: &str) -> Result<Option<Checkpoint>> {
        let (status, body) = self.get(path)?;
        match status {
            200 => Ok(Some(
                serde_json::from_slice(&body)
                    .with_context(|| format!("{path}: not a checkpoint"))?,
            )),
            404 | 503 => Ok(None),
            s => bail!(
                "GET {path} answered {s}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }

    /// The primary's stored entries `start..start+limit` of a shard.
    fn entries(&self, shard: u32, start: u64, limit: u64) -> Result<Vec<Mirrored>> {
        let path = format!("/v1/logs/{shard}/entries?start={start}&limit={limit}");
        let (status, body) = self.get(&path)?;
        if status != 200 {
            bail!(
                "GET {path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        split_entries(&body)
            .map_err(|e| anyhow::anyhow!("GET {path}: {e}"))?
            .into_iter()
            .map(|bytes| {
                let (entry, hash) =
                    Entry::open(bytes).with_context(|| format!("GET {path}: an entry"))?;
                Ok((entry, hash, bytes.to_vec()))
            })
            .collect()
    }

    fn keep_evidence(&self, name: &str, value: &serde_json::Value) -> Option<String> {
        std::fs::create_dir_all(&self.evidence).ok()?;
        let path = self.evidence.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).ok()?).ok()?;
        Some(path.display().to_string())
    }

    fn run(&self, node: &WitnessNode, stop: &AtomicBool, poll: Duration) {
        let mut last_error = String::new();
        while !stop.load(Ordering::SeqCst) {
            // Shards a refused add-checkpoint asked to compare.
            let asked: Vec<u32> = node
                .compare
                .lock()
                .map(|mut c| std::mem::take(&mut *c))
                .unwrap_or_default();
            for shard in asked {
                if node.refusal(shard).is_none() {
                    match self.first_difference(node, shard) {
                        Ok(Some(r)) => node.refuse(r),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(
                            error = format!("{e:#}"),
                            shard,
                            "comparing with the primary failed"
                        ),
                    }
                }
            }
            // Once it refused the primary, it stops following it (the
            // evidence stays for whoever investigates; a restart looks again).
            if node.refused() {
                std::thread::sleep(poll);
                continue;
            }
            let step = node.begin_step();
            match self.step(node) {
                Ok(()) => {
                    node.step_done(step);
                    last_error.clear();
                }
                Err(Stop::Refused(r)) => node.refuse(r),
                Err(Stop::Retry(e)) => {
                    let text = format!("{e:#}");
                    if text != last_error {
                        tracing::warn!(error = %text, "mirroring the primary");
                        last_error = text;
                    }
                }
            }
            std::thread::sleep(poll);
        }
    }

    /// Follows the primary up to its latest checkpoint, one checkpoint at a
    /// time.
    fn step(&self, node: &WitnessNode) -> Result<(), Stop> {
        let Some(latest) = self.checkpoint("/v1/checkpoint")? else {
            return Ok(());
        };
        let primary_key = *node.log_key.public_key();
        if let Err(e) = latest.verify(&primary_key) {
            return Err(Stop::Refused(Refusal {
                shard: latest.shards.first().map_or(0, |h| h.shard),
                seq: None,
                reason: format!("the primary's checkpoint {}: {e}", latest.number),
                evidence: None,
            }));
        }
        let adopted = node
            .store
            .latest_checkpoint()
            .map_err(anyhow::Error::from)?;
        let adopted_number = adopted.as_ref().map_or(0, |c| c.number);
        node.metrics
            .adopted
            .store(adopted_number, Ordering::Relaxed);
        if latest.number <= adopted_number {
            return self.same_history(node, &latest, adopted_number);
        }
        for number in adopted_number + 1..=latest.number {
            let cp = if number == latest.number {
                latest.clone()
            } else {
                match self.checkpoint(&format!("/v1/checkpoints/{number}"))? {
                    Some(cp) => cp,
                    None => continue,
                }
            };
            cp.verify(&primary_key)
                .map_err(|e| anyhow::anyhow!("checkpoint {number}: {e}"))?;
            self.derive(node, &cp)?;
        }
        Ok(())
    }

    /// The primary's latest checkpoint is not newer than the adopted one: it
    /// must be one this witness adopted, byte for byte.
    fn same_history(
        &self,
        node: &WitnessNode,
        latest: &Checkpoint,
        adopted: u64,
    ) -> Result<(), Stop> {
        let ours = node
            .store
            .checkpoint(latest.number)
            .map_err(anyhow::Error::from)?;
        if ours.as_ref() == Some(latest) && latest.number == adopted {
            return Ok(());
        }
        // A different checkpoint under a number already adopted: the
        // primary rewrote history; name the first entry that differs.
        for h in &latest.shards {
            let theirs = ours.as_ref().and_then(|c| c.shard(h.shard));
            if theirs.map(|t| (t.size, t.root)) != Some((h.size, h.root)) {
                if let Some(r) = self.first_difference(node, h.shard)? {
                    return Err(Stop::Refused(r));
                }
            }
        }
        let shard = latest.shards.first().map_or(0, |h| h.shard);
        Err(Stop::Refused(Refusal {
            shard,
            seq: None,
            reason: if ours.as_ref() == Some(latest) {
                format!(
                    "rollback: the primary's latest checkpoint is {}, this witness re-derived checkpoint {adopted} of it",
                    latest.number
                )
            } else {
                format!(
                    "two different checkpoints of the primary are both signed as number {}",
                    latest.number
                )
            },
            evidence: self.keep_evidence(
                &format!("checkpoint-{}.json", latest.number),
                &serde_json::json!({ "primary": latest, "adopted": ours }),
            ),
        }))
    }

    /// Mirrors and re-folds every shard up to `cp`'s sizes, then adopts it.
    fn derive(&self, node: &WitnessNode, cp: &Checkpoint) -> Result<(), Stop> {
        for h in &cp.shards {
            if node.refusal(h.shard).is_some() {
                return Err(Stop::Retry(anyhow::anyhow!(
                    "shard {} is refused; not following the primary",
                    h.shard
                )));
            }
            loop {
                let have = node
                    .store
                    .heads()
                    .map_err(anyhow::Error::from)?
                    .get(&h.shard)
                    .map_or(0, |s| s.size);
                if have > h.size {
                    return Err(Stop::Refused(self.first_difference(node, h.shard)?.unwrap_or(
                        Refusal {
                            shard: h.shard,
                            seq: Some(h.size),
                            reason: format!(
                                "the primary's checkpoint {} states {} entries, this witness already re-derived {have}",
                                cp.number, h.size
                            ),
                            evidence: None,
                        },
                    )));
                }
                if have == h.size {
                    break;
                }
                let page = self.entries(h.shard, have, PAGE.min(h.size - have))?;
                if page.is_empty() {
                    return Err(Stop::Retry(anyhow::anyhow!(
                        "the primary sent no entry of shard {} from {have}",
                        h.shard
                    )));
                }
                self.refold(node, h.shard, have, page)?;
            }
        }
        let adopted = node
            .ledger
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?
            .adopt_checkpoint(cp)
            .map_err(anyhow::Error::from)?;
        match adopted {
            Ok(()) => {
                node.metrics.adopted.store(cp.number, Ordering::Relaxed);
                Ok(())
            }
            Err(d) => {
                let evidence = self.keep_evidence(
                    &format!("checkpoint-{}-shard-{}.json", cp.number, d.shard),
                    &serde_json::json!({ "checkpoint": cp, "difference": d.to_string() }),
                );
                let named = self.first_difference(node, d.shard)?;
                Err(Stop::Refused(named.unwrap_or(Refusal {
                    shard: d.shard,
                    seq: None,
                    reason: d.what,
                    evidence,
                })))
            }
        }
    }

    /// Re-folds a page of the primary's entries of a shard (starting at
    /// `start`) and compares each entry this fold writes with the primary's.
    fn refold(
        &self,
        node: &WitnessNode,
        shard: u32,
        start: u64,
        page: Vec<Mirrored>,
    ) -> Result<(), Stop> {
        let mut ledger = node
            .ledger
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
        let store = ledger.store().clone();
        let mut last = match start {
            0 => [0u8; 32],
            n => own_hash(&store, shard, n - 1)?,
        };
        let mut records = Vec::with_capacity(page.len());
        for (i, (entry, _, _)) in page.iter().enumerate() {
            let seq = start + i as u64;
            if entry.shard != shard || entry.seq != seq {
                return Err(Stop::Retry(anyhow::anyhow!(
                    "asked for shard {shard} seq {seq}, the primary sent shard {} seq {}",
                    entry.shard,
                    entry.seq
                )));
            }
            if entry.prev_hash != last {
                // The primary's chain does not continue this witness's: it
                // was rewritten below what was mirrored.
                drop(ledger);
                return Err(match self.first_difference(node, shard)? {
                    Some(r) => Stop::Refused(r),
                    None => Stop::Refused(Refusal {
                        shard,
                        seq: Some(seq),
                        reason: "the primary's entry does not link to the previous one".into(),
                        evidence: None,
                    }),
                });
            }
            last = page[i].1;
            records.push(Record::new(entry.source.clone(), entry.event.clone()));
        }
        let summary = ledger
            .fold_replayable(&records)
            .map_err(anyhow::Error::from)?;
        drop(ledger);
        node.metrics
            .mirrored
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        for (i, outcome) in summary.outcomes.iter().enumerate() {
            let seq = start + i as u64;
            let (_, primary_hash, primary_bytes) = &page[i];
            let folded_here =
                matches!(outcome, Outcome::Folded { shard: s, seq: q } if *s == shard && *q == seq);
            let own = if folded_here {
                store.entry_bytes(shard, seq).map_err(anyhow::Error::from)?
            } else {
                None
            };
            let own_hash = own
                .as_deref()
                .and_then(|b| split_stored(b).ok())
                .map(|(_, h)| h);
            if own_hash.as_ref() == Some(primary_hash) {
                continue;
            }
            let reason = match outcome {
                Outcome::Folded { .. } => {
                    let own_entry = own.as_deref().and_then(|b| Entry::open(b).ok());
                    describe_difference(&page[i].0, own_entry.as_ref().map(|(e, _)| e))
                }
                Outcome::Duplicate { seq: s, .. } => {
                    format!(
                        "the primary's entry is an event this fold finds a duplicate of seq {s}"
                    )
                }
                Outcome::AlreadyFolded => {
                    "the primary's entry repeats a source offset already folded".into()
                }
                Outcome::Quarantined { reason } => {
                    format!("the primary's entry holds an event this fold quarantines: {reason}")
                }
            };
            let evidence = self.keep_evidence(
                &format!("shard-{shard}-seq-{seq}.json"),
                &serde_json::json!({
                    "shard": shard,
                    "seq": seq,
                    "reason": reason,
                    "primaryEntry": hex::encode(primary_bytes),
                    "derivedEntry": own.as_deref().map(hex::encode),
                }),
            );
            return Err(Stop::Refused(Refusal {
                shard,
                seq: Some(seq),
                reason,
                evidence,
            }));
        }
        Ok(())
    }

    /// Compares the primary's entries of a shard with this witness's from
    /// the start; the first that differs, if any, as a refusal.
    fn first_difference(&self, node: &WitnessNode, shard: u32) -> Result<Option<Refusal>> {
        let own_size = node.store.heads()?.get(&shard).map_or(0, |h| h.size);
        let mut seq = 0;
        while seq < own_size {
            let page = self.entries(shard, seq, PAGE.min(own_size - seq))?;
            if page.is_empty() {
                return Ok(Some(Refusal {
                    shard,
                    seq: Some(seq),
                    reason: format!(
                        "the primary no longer serves entry {seq}, which this witness re-derived (rollback)"
                    ),
                    evidence: None,
                }));
            }
            for (entry, hash, bytes) in page {
                let own = node.store.entry_bytes(shard, entry.seq)?;
                let own_hash = own
                    .as_deref()
                    .and_then(|b| split_stored(b).ok())
                    .map(|(_, h)| h);
                if own_hash != Some(hash) {
                    let own_entry = own.as_deref().and_then(|b| Entry::open(b).ok());
                    let reason = describe_difference(&entry, own_entry.as_ref().map(|(e, _)| e));
                    let evidence = self.keep_evidence(
                        &format!("shard-{shard}-seq-{}.json", entry.seq),
                        &serde_json::json!({
                            "shard": shard,
                            "seq": entry.seq,
                            "reason": reason,
                            "primaryEntry": hex::encode(&bytes),
                            "derivedEntry": own.as_deref().map(hex::encode),
                        }),
                    );
                    return Ok(Some(Refusal {
                        shard,
                        seq: Some(entry.seq),
                        reason,
                        evidence,
                    }));
                }
                seq = entry.seq + 1;
            }
        }
        Ok(None)
    }
}

fn own_hash(store: &custody_ledger::Store, shard: u32, seq: u64) -> Result<[u8; 32], Stop> {
    let bytes = store
        .entry_bytes(shard, seq)
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| anyhow::anyhow!("this witness has no entry {seq} of shard {shard}"))?;
    let (_, h) = split_stored(&bytes).map_err(anyhow::Error::from)?;
    Ok(h)
}

/// What differs between the primary's entry and the one re-derived here.
fn describe_difference(primary: &Entry, own: Option<&Entry>) -> String {
    let Some(own) = own else {
        return "this witness's fold wrote no entry here".into();
    };
    let mut parts = Vec::new();
    if primary.event != own.event {
        parts.push("the event bytes".to_string());
    }
    if primary.source != own.source {
        parts.push("the source position".to_string());
    }
    if primary.prev_hash != own.prev_hash {
        parts.push("the previous hash".to_string());
    }
    if primary.verdicts != own.verdicts {
        let rules = |e: &Entry| {
            e.verdicts
                .iter()
                .map(|v| v.rule.clone())
                .collect::<Vec<_>>()
                .join(",")
        };
        parts.push(format!(
            "the verdicts (the primary's: [{}], re-derived: [{}])",
            rules(primary),
            rules(own)
        ));
    }
    if parts.is_empty() {
        "the entry hash".into()
    } else {
        format!("the re-derived entry differs in {}", parts.join(", "))
    }
}
