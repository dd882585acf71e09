//! Reading proofs from the store: the stored bytes and inclusion proofs of
//! the entries a report relies on ([`custody_verify::reports::Report::relied`])
//! at the report's checkpoint, and consistency proofs between checkpoints.
//! The sections' types are `custody_verify::proofs`, which the checker reads.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use custody_ledger::merkle::{self, Hash, HashReader, ProofError};
use custody_ledger::store::ShardTree;
use custody_ledger::{Checkpoint, Store, StoreError};
pub use custody_verify::proofs::*;

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
    #[error("the customer maps of checkpoint {0} are not in memory (a ledger folded without commitments, or a read-only instance); no completeness proof can be given")]
    NoMaps(u64),
    #[error("VRF: {0}")]
    Vrf(String),
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
/// of `checkpoint`; the positions in `committed` (leaves of the customer's
/// tree that the report's completeness section carries) get no inclusion
/// proof, as the section proves them. Call it under the same ledger lock
/// that produced the checkpoint, so no fold moves the heads in between.
pub fn collect(
    store: &Store,
    checkpoint: &Checkpoint,
    report: &str,
    positions: &BTreeSet<(u32, u64)>,
    committed: &BTreeSet<(u32, u64)>,
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
        if committed.contains(&(shard, seq)) {
            entries.push(EntryProof {
                shard,
                seq,
                entry: hex::encode(bytes),
                inclusion: Vec::new(),
            });
            continue;
        }
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
        checkpoint: checkpoint.clone(),
        entries,
        completeness: None,
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

/// `?proofs=true` and `?since_checkpoint=N` (`--proofs`,
/// `--since-checkpoint`): what to attach to a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProofParams {
    pub proofs: bool,
    /// `?proofs=full`: an inclusion proof for every entry, also those the
    /// completeness section proves.
    pub full: bool,
    pub since_checkpoint: Option<u64>,
}
