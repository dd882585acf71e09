//! Full verification of a data directory, reading RocksDB directly rather
//! than trusting the fold's bookkeeping: every entry hash, every link, the
//! sequence numbers, every stored Merkle node, the stored heads, every
//! checkpoint's signature and roots, and the indexes derived from the
//! entries (`by_customer`, `by_event`, `by_request`, `findings`: recomputed
//! from the entries and compared both ways, see [`indexes`]).
//!
//! Memory stays flat: each shard is streamed once, entries and tree nodes
//! side by side, since both are keyed in append order; the index keys the
//! entries give are looked up in bounded batches as they stream by.
//!
//! Not checked here: the policy `state` column family, which only a replay
//! of the policy rules can recompute (`custody rebuild`).

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::VerifyingKey;
use rocksdb::{Direction, IteratorMode};

use crate::entry::{entry_hash, peek_position, peek_prev_hash, split_stored};
use crate::keys::{self, CF_ENTRIES, CF_TREE};
use crate::merkle::{leaf_hash, Frontier, Hash};
use crate::store::{Result, Store};

mod indexes;

/// One thing found wrong, named by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub shard: u32,
    /// The sequence number where it was found, when it is about an entry.
    pub seq: Option<u64>,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "shard {} seq {}: {}", self.shard, seq, self.what),
            None => write!(f, "shard {}: {}", self.shard, self.what),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// (shard, entries, root) as recomputed.
    pub shards: Vec<(u32, u64, Hash)>,
    pub entries: u64,
    pub checkpoints: usize,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies everything; `progress` is called with the count of entries read
/// so far (for a progress bar). `expected_key` pins the public key the
/// checkpoints must be signed with (default: the data directory's own key).
pub fn verify_store(
    store: &Store,
    expected_key: Option<&VerifyingKey>,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let heads = store.heads()?;
    let checkpoints = store.checkpoints()?;
    let key = expected_key.copied().unwrap_or_else(|| store.public_key());
    report.checkpoints = checkpoints.len();

    // Sizes at which a checkpoint states a root, per shard.
    let mut wanted: BTreeMap<u32, BTreeSet<u64>> = BTreeMap::new();
    let mut previous_number = 0;
    for cp in &checkpoints {
        if let Err(e) = cp.verify(&key) {
            report.problems.push(Problem {
                shard: cp.shards.first().map_or(0, |h| h.shard),
                seq: None,
                what: format!("checkpoint {}: {e}", cp.number),
            });
        }
        if cp.number <= previous_number {
            report.problems.push(Problem {
                shard: 0,
                seq: None,
                what: format!("checkpoint {} is out of order", cp.number),
            });
        }
        previous_number = cp.number;
        for h in &cp.shards {
            wanted.entry(h.shard).or_default().insert(h.size);
        }
    }

    let mut shards: BTreeSet<u32> = heads.keys().copied().collect();
    shards.extend(wanted.keys().copied());
    shards.extend(shards_with_entries(store)?);

    let mut total = 0u64;
    let mut index_check = indexes::IndexCheck::new(store)?;
    let mut extents = Vec::new();
    for shard in shards {
        let want = wanted.get(&shard).cloned().unwrap_or_default();
        let (size, root, roots_at, problem) = verify_shard(
            store,
            shard,
            &want,
            &mut total,
            &mut progress,
            &mut index_check,
        )?;
        if let Some(p) = problem {
            report.problems.push(p);
        }
        match heads.get(&shard) {
            None => report.problems.push(Problem {
                shard,
                seq: None,
                what: "entries exist but the shard has no stored head".into(),
            }),
            Some(h) if h.size > size => report.problems.push(Problem {
                shard,
                seq: Some(size),
                what: format!(
                    "shard is truncated: its head records {} entries, only {} are intact and in order",
                    h.size, size
                ),
            }),
            Some(h) if h.size < size => report.problems.push(Problem {
                shard,
                seq: Some(h.size),
                what: format!(
                    "{} entries beyond the stored head of {} entries",
                    size - h.size,
                    h.size
                ),
            }),
            Some(_) => {}
        }
        for cp in &checkpoints {
            if let Some(h) = cp.shard(shard) {
                match roots_at.get(&h.size) {
                    Some(r) if *r == h.root => {}
                    Some(_) => report.problems.push(Problem {
                        shard,
                        seq: None,
                        what: format!(
                            "checkpoint {} states a root for {} entries that the entries do not give",
                            cp.number, h.size
                        ),
                    }),
                    None => report.problems.push(Problem {
                        shard,
                        seq: Some(size),
                        what: format!(
                            "checkpoint {} states {} entries but only {} are intact (truncated or rolled back)",
                            cp.number, h.size, size
                        ),
                    }),
                }
            }
        }
        report.shards.push((shard, size, root));
        // How far the shard verified, and how far its head or a checkpoint
        // says it goes (index keys in between are not judged: the shard is
        // named broken or truncated above).
        let claimed = heads.get(&shard).map_or(0, |h| h.size);
        let claimed = claimed.max(want.last().copied().unwrap_or(0)).max(size);
        extents.push((shard, size, claimed));
    }
    index_check.finish(&extents, &mut report.problems)?;
    report.entries = total;
    progress(total);
    crate::verify_maps::verify_customer_maps(store, &mut report.problems)?;
    Ok(report)
}

fn shards_with_entries(store: &Store) -> Result<BTreeSet<u32>> {
    let cf = store.cf(CF_ENTRIES)?;
    let mut out = BTreeSet::new();
    let mut from = [0u8; 4];
    loop {
        let mut iter = store
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward));
        let Some(item) = iter.next() else { break };
        let (k, _) = item?;
        let Some((shard, _)) = keys::parse_entry(&k) else {
            break;
        };
        out.insert(shard);
        match shard.checked_add(1) {
            Some(n) => from = n.to_be_bytes(),
            None => break,
        }
    }
    Ok(out)
}

type ShardResult = (u64, Hash, BTreeMap<u64, Hash>, Option<Problem>);

/// Streams one shard, handing each verified entry to the index check.
/// Stops at the first problem: what follows a broken link cannot be trusted
/// to be in order.
fn verify_shard(
    store: &Store,
    shard: u32,
    want: &BTreeSet<u64>,
    total: &mut u64,
    progress: &mut impl FnMut(u64),
    index_check: &mut indexes::IndexCheck<'_>,
) -> Result<ShardResult> {
    let mut frontier = Frontier::new();
    let mut roots_at = BTreeMap::new();
    if want.contains(&0) {
        roots_at.insert(0, frontier.root());
    }
    let mut prev: Hash = [0; 32];
    let prefix = shard.to_be_bytes();
    let mut nodes = store.db.iterator_cf(
        store.cf(CF_TREE)?,
        IteratorMode::From(&prefix, Direction::Forward),
    );
    let mut pending_node: Option<(u8, u64, Vec<u8>)> = None;
    let mut next_node = |pending: &mut Option<(u8, u64, Vec<u8>)>| -> Result<()> {
        *pending = match nodes.next() {
            Some(item) => {
                let (k, v) = item?;
                match keys::parse_tree(&k) {
                    Some((s, level, index)) if s == shard => Some((level, index, v.to_vec())),
                    _ => None,
                }
            }
            None => None,
        };
        Ok(())
    };
    next_node(&mut pending_node)?;

    let entries = store.db.iterator_cf(
        store.cf(CF_ENTRIES)?,
        IteratorMode::From(&prefix, Direction::Forward),
    );
    let mut expected: u64 = 0;
    let mut emitted: Vec<(u8, u64, Hash)> = Vec::with_capacity(4);
    let problem = |seq: u64, what: String| Problem {
        shard,
        seq: Some(seq),
        what,
    };
    for item in entries {
        let (k, v) = item?;
        let Some((s, seq)) = keys::parse_entry(&k) else {
            return Ok((
                expected,
                frontier.root(),
                roots_at,
                Some(problem(
                    expected,
                    format!("malformed entry key {}", hex::encode(&k)),
                )),
            ));
        };
        if s != shard {
            break;
        }
        if seq != expected {
            let what = format!("entry {expected} is missing (next stored entry is {seq})");
            return Ok((
                expected,
                frontier.root(),
                roots_at,
                Some(problem(expected, what)),
            ));
        }
        let fail = |what: String| Some(problem(seq, what));
        let (body, recorded) = match split_stored(&v) {
            Ok(x) => x,
            Err(e) => return Ok((expected, frontier.root(), roots_at, fail(e.to_string()))),
        };
        let hash = entry_hash(body);
        if hash != recorded {
            let what = "entry bytes do not match the entry hash (altered in storage)".to_string();
            return Ok((expected, frontier.root(), roots_at, fail(what)));
        }
        if peek_position(body) != Some((shard, seq)) {
            let what = match peek_position(body) {
                Some((s2, q2)) => format!(
                    "entry stored here belongs at shard {s2} seq {q2} (entries reordered or moved)"
                ),
                None => "entry is truncated".to_string(),
            };
            return Ok((expected, frontier.root(), roots_at, fail(what)));
        }
        if peek_prev_hash(body) != Some(prev) {
            let what = "previous-hash link does not match the entry before it".to_string();
            return Ok((expected, frontier.root(), roots_at, fail(what)));
        }
        emitted.clear();
        frontier.append(leaf_hash(&hash), |level, index, node| {
            if keys::stored_level(level) {
                emitted.push((level, index, node));
            }
        });
        for (level, index, node) in emitted.drain(..) {
            let what = match &pending_node {
                Some((l, i, v)) if *l == level && *i == index => (v.as_slice() != node.as_slice())
                    .then(|| format!("stored Merkle node level {level} index {index} is wrong")),
                _ => Some(format!(
                    "Merkle node level {level} index {index} is missing"
                )),
            };
            if let Some(what) = what {
                return Ok((expected, frontier.root(), roots_at, fail(what)));
            }
            next_node(&mut pending_node)?;
        }
        index_check.entry(shard, seq, body, &hash);
        prev = hash;
        expected += 1;
        *total += 1;
        if want.contains(&expected) {
            roots_at.insert(expected, frontier.root());
        }
        if total.is_multiple_of(65_536) {
            progress(*total);
        }
    }
    Ok((expected, frontier.root(), roots_at, None))
}
