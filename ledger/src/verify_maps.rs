//! `custody verify`'s recomputation of the customer commitments
//! (`crate::customers`): every customer's tree, against the stored
//! `customers` column family, and every shard's customer map at every
//! checkpoint, against the root that checkpoint signs. The entries are
//! streamed once; memory is per customer, not per entry. (The few customers
//! with entries sealed at the checkpoint have their leaves read from the
//! by-customer index, which `verify` checks against the entries.)

use std::collections::{BTreeMap, HashMap, VecDeque};

use custody_verify::map::MapSnapshot;
use custody_verify::reports::item_of;

use crate::customers::CustomerTree;
use crate::keys::{self, CF_CUSTOMERS};
use crate::merkle::Hash;
use crate::store::{Result, Store};
use crate::verify::Problem;
use crate::Checkpoint;

/// What the stream keeps per customer of a shard: the tree the fold keeps.
type Acc = CustomerTree;

/// Recomputes the customer trees and every checkpoint's maps; adds a
/// problem for each disagreement. `decode_failed` positions are skipped
/// (the entry check names them).
///
/// Every checkpoint, not only the latest: a customer may hold a report at
/// any of them, and a map root signed wrong once would stay wrong in that
/// report. The cost is one map build (about five SHA-256 per customer of
/// the shard) per checkpoint that signs maps.
pub fn verify_customer_maps(store: &Store, problems: &mut Vec<Problem>) -> Result<()> {
    let checkpoints: Vec<Checkpoint> = store
        .checkpoints()?
        .into_iter()
        .filter(|cp| cp.vrf_key.is_some())
        .collect();
    let secrets = store.secrets();
    // Map keys from the writer's cache: a wrong cached key gives a map root
    // other than the signed one, which is reported below; a missing one is
    // derived (one VRF evaluation).
    let mut keys_cache: HashMap<String, Hash> = HashMap::new();
    for kv in store.scan(keys::CF_MAP_KEYS)? {
        let (k, v) = kv?;
        if let (Ok(customer), Ok(key)) = (
            String::from_utf8(k.to_vec()),
            <[u8; 32]>::try_from(v.as_ref()),
        ) {
            keys_cache.insert(customer, key);
        }
    }
    // Per shard, the sizes at which a checkpoint signs a map, ascending,
    // with the checkpoint (index into `checkpoints`).
    let mut boundaries: BTreeMap<u32, VecDeque<(u64, usize)>> = BTreeMap::new();
    for (i, cp) in checkpoints.iter().enumerate() {
        for head in &cp.shards {
            boundaries
                .entry(head.shard)
                .or_default()
                .push_back((head.size, i));
        }
    }
    for b in boundaries.values_mut() {
        b.make_contiguous().sort_unstable();
    }
    // Customer trees of the entries streamed so far, per shard.
    let mut trees: BTreeMap<u32, HashMap<String, Acc>> = BTreeMap::new();
    // Customer trees at the sizes the stored trees cover (`customers_at`,
    // written with each checkpoint and on close), to compare with them.
    let mut covered: BTreeMap<u32, HashMap<String, Acc>> = BTreeMap::new();
    let mut markers: BTreeMap<u32, u64> = BTreeMap::new();
    for (shard, _) in store.heads()? {
        if let Some(v) = store.get(keys::CF_META, &keys::customers_at(shard))? {
            if let Ok(b) = <[u8; 8]>::try_from(v.as_slice()) {
                markers.insert(shard, u64::from_be_bytes(b));
            }
        }
    }
    let mut mismatches = 0usize;
    // The maps of every checkpoint of `shard` whose size is at most
    // `upto` (the entries streamed so far), against the roots they sign.
    let mut maps_up_to = |shard: u32,
                          upto: u64,
                          accs: &HashMap<String, Acc>,
                          boundaries: &mut VecDeque<(u64, usize)>,
                          problems: &mut Vec<Problem>|
     -> Result<()> {
        while let Some(&(size, i)) = boundaries.front() {
            if size > upto {
                break;
            }
            boundaries.pop_front();
            let cp = &checkpoints[i];
            let mut leaves = Vec::with_capacity(accs.len());
            for (customer, acc) in accs {
                let key = *keys_cache
                    .entry(customer.clone())
                    .or_insert_with(|| secrets.key_of(customer));
                let (value, _) = acc.map_value(
                    &key,
                    shard,
                    cp.number,
                    cp.issued_at_ms,
                    &secrets.seal,
                    || store.customer_leaves(customer, shard, size),
                )?;
                leaves.push((key, value.hash()));
            }
            let computed = MapSnapshot::build(leaves).map(|m| m.root()).ok();
            let signed = cp.shard(shard).and_then(|h| h.map_root);
            if computed.is_none() || signed != computed {
                mismatches += 1;
                if mismatches <= 20 {
                    problems.push(Problem {
                        shard,
                        seq: None,
                        what: format!(
                            "checkpoint {} signs customer-map root {}, the entries give {}",
                            cp.number,
                            signed.map_or_else(|| "none".to_string(), hex::encode),
                            computed.map_or_else(|| "no map".to_string(), hex::encode)
                        ),
                    });
                }
            }
        }
        Ok(())
    };
    let mut current: Option<u32> = None;
    for item in store.all_entries()? {
        // An entry that does not open (altered bytes) is named by the
        // entry check; its customer's tree is then reported as differing.
        let (entry, hash) = match item {
            Ok(x) => x,
            Err(crate::store::StoreError::Entry { .. }) => continue,
            Err(e) => return Err(e),
        };
        let shard = entry.shard;
        if current != Some(shard) {
            if let Some(prev) = current {
                let b = boundaries.entry(prev).or_default();
                maps_up_to(prev, u64::MAX, trees.entry(prev).or_default(), b, problems)?;
            }
            current = Some(shard);
        }
        let seq = entry.seq;
        // Before entry `seq` is added, the trees hold entries 0..seq.
        let b = boundaries.entry(shard).or_default();
        maps_up_to(shard, seq, trees.entry(shard).or_default(), b, problems)?;
        let Ok(item) = item_of(entry, hash) else {
            continue;
        };
        if item.event.customer_id.is_empty() {
            continue;
        }
        let occurred = item.at_ms();
        let add = |accs: &mut BTreeMap<u32, HashMap<String, Acc>>| {
            accs.entry(shard)
                .or_default()
                .entry(item.event.customer_id.clone())
                .or_default()
                .record(
                    seq,
                    occurred,
                    &hash,
                    crate::customers::SealOp::of(&item.event).as_ref(),
                );
        };
        add(&mut trees);
        if markers.get(&shard).is_some_and(|m| seq < *m) {
            add(&mut covered);
        }
    }
    // What is left: the last shard streamed, and shards without entries.
    let no_customers = HashMap::new();
    for (shard, b) in boundaries.iter_mut() {
        let accs = trees.get(shard).unwrap_or(&no_customers);
        maps_up_to(*shard, u64::MAX, accs, b, problems)?;
    }
    if mismatches > 20 {
        problems.push(Problem {
            shard: 0,
            seq: None,
            what: format!("… and {} more customer-map mismatches", mismatches - 20),
        });
    }

    // The stored trees, as the fold keeps them, against the recomputed ones.
    let mut listed = 0;
    let mut seen: HashMap<(u32, String), ()> = HashMap::new();
    for kv in store.scan(CF_CUSTOMERS)? {
        let (k, v) = kv?;
        let Some((shard, customer)) = keys::parse_customer_tree(&k) else {
            problems.push(Problem {
                shard: 0,
                seq: None,
                what: format!(
                    "customers column family: undecodable key {}",
                    hex::encode(&k)
                ),
            });
            continue;
        };
        let stored = CustomerTree::decode(&v);
        if !markers.contains_key(&shard) {
            // Derived again on the next open (see `Ledger::open`).
            continue;
        }
        let computed = covered.get(&shard).and_then(|t| t.get(&customer));
        let what = match (stored, computed) {
            (Err(e), _) => Some(format!("the stored tree of customer `{customer}` does not decode: {e}")),
            (Ok(_), None) => Some(format!(
                "a tree is stored for customer `{customer}`, who has no entry in this shard"
            )),
            (Ok(s), Some(c)) if s.frontier != c.frontier => Some(format!(
                "the stored tree of customer `{customer}` holds {} entries with root {}, the entries give {} with root {}",
                s.frontier.size(),
                hex::encode(s.frontier.root()),
                c.frontier.size(),
                hex::encode(c.frontier.root())
            )),
            (Ok(s), Some(c)) if s.requests != c.requests => Some(format!(
                "the stored law-enforcement requests of customer `{customer}` differ from the entries'"
            )),
            _ => None,
        };
        seen.insert((shard, customer), ());
        if let Some(what) = what {
            listed += 1;
            if listed <= 20 {
                problems.push(Problem {
                    shard,
                    seq: None,
                    what,
                });
            }
        }
    }
    for (shard, accs) in &covered {
        for customer in accs.keys() {
            if !seen.contains_key(&(*shard, customer.clone())) {
                listed += 1;
                if listed <= 20 {
                    problems.push(Problem {
                        shard: *shard,
                        seq: None,
                        what: format!(
                            "no tree is stored for customer `{customer}`, who has entries here"
                        ),
                    });
                }
            }
        }
    }
    if listed > 20 {
        problems.push(Problem {
            shard: 0,
            seq: None,
            what: format!("… and {} more customer-tree mismatches", listed - 20),
        });
    }
    Ok(())
}
