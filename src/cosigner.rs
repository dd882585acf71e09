//! The primary gathers cosignatures (`custody serve --witness URL=VKEY`):
//! one thread per witness watches the latest signed checkpoint and, for
//! each shard whose note it has not had cosigned, sends the witness one
//! C2SP `add-checkpoint` (the note, and a consistency proof from the size
//! the witness last cosigned). It reads through a clone of the store and
//! never takes the writer: a slow or absent witness delays cosignatures,
//! never the fold. A 409 teaches it the witness's size (then one retry);
//! a 503 (not re-derived yet) or an error is retried at the next tick.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use custody_ledger::{Checkpoint, Store};
use custody_query::witness::{shard_note, Cosignatures};
use custody_verify::cosign::{parse_signature_lines, AddCheckpoint, CosignerKey};

/// `--witness URL=VKEY`.
#[derive(Debug, Clone)]
pub struct WitnessSpec {
    pub url: String,
    pub key: CosignerKey,
}

pub fn parse_witness(text: &str) -> Result<WitnessSpec, String> {
    let (url, vkey) = text
        .split_once('=')
        .ok_or("expected URL=VKEY (the witness's base URL and its cosigner key)")?;
    let key = vkey.parse::<CosignerKey>().map_err(|e| e.to_string())?;
    Ok(WitnessSpec {
        url: url.trim_end_matches('/').to_string(),
        key,
    })
}

/// One witness's thread.
pub fn start(
    spec: WitnessSpec,
    store: Store,
    ledger_name: String,
    cosignatures: Arc<Cosignatures>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("cosigner {}", spec.key.name()))
        .spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(15)))
                .build()
                .into();
            let mut c = Cosigner {
                spec,
                store,
                ledger_name,
                cosignatures,
                agent,
                known: HashMap::new(),
                done: HashMap::new(),
                last_error: String::new(),
            };
            while !stop.load(Ordering::SeqCst) {
                c.tick();
                std::thread::sleep(Duration::from_millis(50));
            }
        })
}

struct Cosigner {
    spec: WitnessSpec,
    store: Store,
    ledger_name: String,
    cosignatures: Arc<Cosignatures>,
    agent: ureq::Agent,
    /// Per shard: the size the witness last cosigned, as it told us.
    known: HashMap<u32, u64>,
    /// Per shard: the checkpoint number whose note it cosigned (or refused).
    done: HashMap<u32, u64>,
    last_error: String,
}

enum Answer {
    /// 200: the signature lines.
    Cosigned(String),
    /// 409: the witness's latest cosigned size.
    Conflict(u64),
    /// Anything else, with the status (503 = not re-derived yet).
    Refused(u16, String),
}

impl Cosigner {
    fn tick(&mut self) {
        let cp = match self.store.published_maps() {
            Some(m) => Some(m.checkpoint.clone()),
            None => self.store.latest_checkpoint().ok().flatten(),
        };
        let Some(cp) = cp else {
            return;
        };
        for h in &cp.shards {
            if self.done.get(&h.shard) == Some(&cp.number) {
                continue;
            }
            match self.cosign(&cp, h.shard) {
                Ok(true) => {
                    self.done.insert(h.shard, cp.number);
                    self.last_error.clear();
                }
                Ok(false) => {}
                Err(e) => {
                    let text = format!("{e:#}");
                    if text != self.last_error {
                        tracing::warn!(witness = %self.spec.url, shard = h.shard, error = %text, "cosigning");
                        self.last_error = text;
                    }
                }
            }
        }
    }

    /// One shard's note at `cp`: `Ok(true)` when settled (cosigned, or
    /// refused for good), `Ok(false)` to retry later.
    fn cosign(&mut self, cp: &Checkpoint, shard: u32) -> Result<bool> {
        let note =
            shard_note(&self.store, &self.ledger_name, cp, shard).map_err(anyhow::Error::msg)?;
        let size = cp.shard(shard).map_or(0, |h| h.size);
        for _ in 0..2 {
            let old = self.known.get(&shard).copied().unwrap_or(0);
            if old > size {
                bail!(
                    "the witness cosigned {old} entries of shard {shard}, this ledger's checkpoint {} holds {size}: \
                     it will not cosign (a rollback?)",
                    cp.number
                );
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                self.store.consistency_proof(shard, old, size)?
            };
            let req = AddCheckpoint {
                old,
                proof,
                checkpoint: note.clone(),
            };
            match self.send(&req)? {
                Answer::Cosigned(lines) => {
                    self.known.insert(shard, size);
                    return self.keep(cp, shard, &note, &lines);
                }
                Answer::Conflict(latest) => {
                    self.known.insert(shard, latest);
                }
                Answer::Refused(503, _) => return Ok(false),
                Answer::Refused(status, text) => {
                    tracing::error!(witness = %self.spec.url, shard, checkpoint = cp.number, status, %text, "the witness refused to cosign");
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Keeps the witness's cosignatures of `note` that verify.
    fn keep(&self, cp: &Checkpoint, shard: u32, note: &str, lines: &str) -> Result<bool> {
        let body = custody_verify::note::Note::parse(note)?;
        let mut kept = 0;
        for sig in parse_signature_lines(lines)? {
            if self.spec.key.names(&sig) {
                self.spec.key.verify(body.text(), &sig)?;
                self.cosignatures.add(shard, cp.number, sig);
                kept += 1;
            }
        }
        if kept == 0 {
            bail!(
                "the witness answered 200 without a cosignature of {}",
                self.spec.key.name()
            );
        }
        Ok(true)
    }

    fn send(&mut self, req: &AddCheckpoint) -> Result<Answer> {
        let url = format!("{}/add-checkpoint", self.spec.url);
        let mut resp = self
            .agent
            .post(&url)
            .send(req.to_string().as_bytes())
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => Ok(Answer::Cosigned(text)),
            409 => Ok(Answer::Conflict(text.trim().parse().with_context(
                || format!("POST {url}: 409 without a size: {text:?}"),
            )?)),
            s => Ok(Answer::Refused(s, text)),
        }
    }
}
