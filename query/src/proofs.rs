//! Proofs attached to reports (`?proofs=true`, `custody report --proofs`) and
//! consistency proofs between checkpoints.
//!
//! A report "relies on" the entries its figures are computed from: the
//! functions named `*_relied` say which (pure, over the same items the
//! builders read), and [`collect`] reads their stored bytes and inclusion
//! proofs at the report's checkpoint. The relied-on set is chosen so that
//! the builder, run on the proven entries alone, gives the same document:
//! that is what `custody verify-report` checks (see [`crate::verify_report`]).
//! Entries withheld from a customer's copy are never among them.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use custody_ledger::checkpoint::hex_hash;
use custody_ledger::merkle::{self, Hash, HashReader, ProofError};
use custody_ledger::store::ShardTree;
use custody_ledger::{Checkpoint, Store, StoreError};
use custody_proto::Kind;
use serde::{Deserialize, Serialize};

use crate::reports::law_enforcement::TransparencyReport;
use crate::reports::residency::EEA_RULE;
use crate::reports::{
    access_history, disclosure, findings::FindingsList, gagged_requests, le_request_id, residency,
    withheld, Audience, Item,
};

/// Report names as they appear in `proofs.report`.
pub const ACCESS_HISTORY: &str = "access-history";
pub const DISCLOSURE: &str = "disclosure";
pub const RESIDENCY: &str = "residency";
pub const LAW_ENFORCEMENT: &str = "law-enforcement";
pub const FINDINGS: &str = "findings";

/// The `proofs` section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proofs {
    /// Which builder made the document (one of the constants above).
    pub report: String,
    /// access-history: the `cursor` the page was requested with (the
    /// document itself does not carry it, and the page depends on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The signed checkpoint the inclusion proofs lead to (the same as the
    /// document's), so the section stands on its own.
    pub checkpoint: Checkpoint,
    /// Every entry the report relies on, in (shard, seq) order.
    pub entries: Vec<EntryProof>,
}

/// One entry: its stored bytes and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryProof {
    pub shard: u32,
    pub seq: u64,
    /// Hex of the stored value: canonical entry bytes followed by their
    /// SHA-256 (ARCHITECTURE.md, "Entry format").
    pub entry: String,
    /// RFC 6962 inclusion proof of leaf `seq` in the shard's tree at the
    /// checkpoint's size, hex hashes from the leaf up.
    pub inclusion: Vec<String>,
}

/// Consistency of one shard's tree between two sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardConsistency {
    pub shard: u32,
    pub from_size: u64,
    pub to_size: u64,
    #[serde(with = "hex_hash")]
    pub from_root: Hash,
    #[serde(with = "hex_hash")]
    pub to_root: Hash,
    /// RFC 6962 consistency proof, hex hashes.
    pub proof: Vec<String>,
}

/// The `consistency` section: the report's checkpoint extends `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consistency {
    /// The earlier signed checkpoint (the one the request named).
    pub from: Checkpoint,
    /// One proof per shard of `from`.
    pub shards: Vec<ShardConsistency>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProofsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Merkle proof of shard {shard}: {source}")]
    Proof { shard: u32, source: ProofError },
    #[error("entry shard {shard} seq {seq} is not stored")]
    MissingEntry { shard: u32, seq: u64 },
    #[error("entry shard {shard} seq {seq} is not inside checkpoint {checkpoint}")]
    OutsideCheckpoint {
        shard: u32,
        seq: u64,
        checkpoint: u64,
    },
    #[error("no checkpoint numbered {0}")]
    UnknownCheckpoint(u64),
    #[error("checkpoint {from} is not earlier than checkpoint {to}")]
    NotEarlier { from: u64, to: u64 },
    #[error("shard {shard} has no tree of size {size} here (it holds {held} entries)")]
    SizeOutOfRange { shard: u32, size: u64, held: u64 },
}

/// A shard's tree with every node read once per request: proofs of many
/// entries share their upper nodes, and the unstored low levels are
/// recomputed from entries, so memoising saves most of the reads.
struct CachedTree<'a> {
    tree: ShardTree<'a>,
    cache: RefCell<HashMap<(u8, u64), Hash>>,
}

impl HashReader for CachedTree<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        if let Some(h) = self.cache.borrow().get(&(level, index)) {
            return Ok(*h);
        }
        let h = self.tree.node(level, index)?;
        self.cache.borrow_mut().insert((level, index), h);
        Ok(h)
    }
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// Reads the stored bytes and inclusion proofs of `positions` at the sizes
/// of `checkpoint`. Call it under the same ledger lock that produced the
/// checkpoint, so no fold moves the heads in between.
pub fn collect(
    store: &Store,
    checkpoint: &Checkpoint,
    report: &str,
    cursor: Option<String>,
    positions: &BTreeSet<(u32, u64)>,
) -> Result<Proofs, ProofsError> {
    let mut trees: HashMap<u32, CachedTree<'_>> = HashMap::new();
    let mut entries = Vec::with_capacity(positions.len());
    for &(shard, seq) in positions {
        let outside = ProofsError::OutsideCheckpoint {
            shard,
            seq,
            checkpoint: checkpoint.number,
        };
        let size = checkpoint.shard(shard).map(|h| h.size).unwrap_or(0);
        if seq >= size {
            return Err(outside);
        }
        let bytes = store
            .entry_bytes(shard, seq)?
            .ok_or(ProofsError::MissingEntry { shard, seq })?;
        let tree = trees.entry(shard).or_insert_with(|| CachedTree {
            tree: store.tree(shard),
            cache: RefCell::new(HashMap::new()),
        });
        let proof = merkle::inclusion_proof(tree, seq, size)
            .map_err(|source| ProofsError::Proof { shard, source })?;
        entries.push(EntryProof {
            shard,
            seq,
            entry: hex::encode(bytes),
            inclusion: hexes(&proof),
        });
    }
    Ok(Proofs {
        report: report.into(),
        cursor,
        checkpoint: checkpoint.clone(),
        entries,
    })
}

/// Consistency proof of one shard between two sizes, both within what the
/// store holds, with both roots.
pub fn shard_consistency(
    store: &Store,
    shard: u32,
    from_size: u64,
    to_size: u64,
    held: u64,
) -> Result<ShardConsistency, ProofsError> {
    for size in [from_size, to_size] {
        if size > held {
            return Err(ProofsError::SizeOutOfRange { shard, size, held });
        }
    }
    let tree = CachedTree {
        tree: store.tree(shard),
        cache: RefCell::new(HashMap::new()),
    };
    let err = |source| ProofsError::Proof { shard, source };
    let proof = merkle::consistency_proof(&tree, from_size, to_size).map_err(err)?;
    Ok(ShardConsistency {
        shard,
        from_size,
        to_size,
        from_root: merkle::tree_root(&tree, from_size).map_err(err)?,
        to_root: merkle::tree_root(&tree, to_size).map_err(err)?,
        proof: hexes(&proof),
    })
}

/// The `consistency` section from stored checkpoint `from` to `to`. Shards
/// that shrank are left for the verifier to name: no proof exists for them.
pub fn consistency(store: &Store, from: u64, to: &Checkpoint) -> Result<Consistency, ProofsError> {
    let old = store
        .checkpoint(from)?
        .ok_or(ProofsError::UnknownCheckpoint(from))?;
    if old.number > to.number {
        return Err(ProofsError::NotEarlier {
            from: old.number,
            to: to.number,
        });
    }
    let mut shards = Vec::new();
    for h in &old.shards {
        let Some(new) = to.shard(h.shard) else {
            continue;
        };
        if new.size < h.size {
            continue;
        }
        shards.push(shard_consistency(
            store, h.shard, h.size, new.size, new.size,
        )?);
    }
    Ok(Consistency { from: old, shards })
}

fn pos(i: &Item) -> (u32, u64) {
    (i.shard, i.seq)
}

/// Disclosure: the period's data accesses, handoffs, transfers and entries
/// with verdicts, plus every event of each law-enforcement request with an
/// event in the period (a request's row needs all its steps). For the
/// customer's copy, nothing of a request under an order in force.
pub fn disclosure_relied(items: &[Item], p: &disclosure::Params) -> BTreeSet<(u32, u64)> {
    let mine: Vec<Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .cloned()
        .collect();
    let gagged = gagged_requests(&mine, p.now_ms);
    let visible: Vec<&Item> = mine
        .iter()
        .filter(|i| !(p.audience == Audience::Customer && withheld(i, &gagged)))
        .collect();
    let mut out = BTreeSet::new();
    let mut requests = BTreeSet::new();
    for i in visible.iter().filter(|i| p.period.contains(i.at_ms())) {
        let kind = i.event.kind.as_ref();
        if let Some(id) = kind.and_then(le_request_id) {
            requests.insert(id.to_string());
        }
        let counted = matches!(
            kind,
            Some(Kind::DataAccessed(_) | Kind::SubcontractorHandoff(_) | Kind::DataTransferred(_))
        );
        if counted || !i.verdicts.is_empty() {
            out.insert(pos(i));
        }
    }
    for i in &visible {
        if i.event
            .kind
            .as_ref()
            .and_then(le_request_id)
            .is_some_and(|id| requests.contains(id))
        {
            out.insert(pos(i));
        }
    }
    out
}

/// Residency: the period's storage, transfer and access-like events and
/// EEA findings, plus the customer profile in force at the period's end.
pub fn residency_relied(items: &[Item], p: &residency::Params) -> BTreeSet<(u32, u64)> {
    let mine: Vec<Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .cloned()
        .collect();
    let gagged = gagged_requests(&mine, p.now_ms);
    let mut visible: Vec<&Item> = mine
        .iter()
        .filter(|i| !(p.audience == Audience::Customer && withheld(i, &gagged)))
        .collect();
    visible.sort_by_key(|i| i.order_key());
    let mut out = BTreeSet::new();
    let profile = visible
        .iter()
        .filter(|i| p.period.to_ms.is_none_or(|t| i.at_ms() < t))
        .rev()
        .find(|i| matches!(i.event.kind, Some(Kind::CustomerProfileSet(_))));
    if let Some(i) = profile {
        out.insert(pos(i));
    }
    for i in visible.iter().filter(|i| p.period.contains(i.at_ms())) {
        let used = matches!(
            i.event.kind,
            Some(
                Kind::DataCollected(_)
                    | Kind::DataTransferred(_)
                    | Kind::DataAccessed(_)
                    | Kind::SubcontractorHandoff(_)
                    | Kind::LawEnforcementDisclosed(_)
            )
        );
        if used || i.verdicts.iter().any(|v| v.rule == EEA_RULE) {
            out.insert(pos(i));
        }
    }
    out
}

/// Access history: the page's accesses plus the first access after it (the
/// evidence that there is a next page), and the request received event of
/// each law-enforcement disclosure among them, from `support` (the
/// customer's items of all time), which decides whether it was withheld.
pub fn access_history_relied(
    items: &[Item],
    support: &[Item],
    p: &access_history::Params,
) -> BTreeSet<(u32, u64)> {
    let limit = p.limit.clamp(1, access_history::MAX_LIMIT);
    let page: Vec<&Item> = access_history::candidates(items, p)
        .into_iter()
        .take(limit + 1)
        .collect();
    let requests: BTreeSet<&str> = page
        .iter()
        .filter_map(|i| match &i.event.kind {
            Some(Kind::LawEnforcementDisclosed(d)) => Some(d.request_id.as_str()),
            _ => None,
        })
        .collect();
    let mut out: BTreeSet<(u32, u64)> = page.iter().map(|i| pos(i)).collect();
    for i in support.iter().chain(items) {
        if i.event.customer_id != p.customer {
            continue;
        }
        if let Some(Kind::LawEnforcementRequestReceived(r)) = &i.event.kind {
            if requests.contains(r.request_id.as_str()) {
                out.insert(pos(i));
            }
        }
    }
    out
}

/// Law enforcement: every event of every request listed.
pub fn law_enforcement_relied(report: &TransparencyReport) -> BTreeSet<(u32, u64)> {
    report
        .request_list
        .iter()
        .flat_map(|r| r.positions.iter().map(|p| (p.shard, p.seq)))
        .collect()
}

/// Findings: the entry of every row.
pub fn findings_relied(list: &FindingsList) -> BTreeSet<(u32, u64)> {
    list.findings
        .iter()
        .map(|r| (r.finding.position.shard, r.finding.position.seq))
        .collect()
}
