//! The per-customer commitments of each shard
//! (`custody_verify::completeness`): every customer's append-only tree,
//! kept up to date with the written batches by `crate::tree_keeper`, and
//! the authenticated map built from those trees whenever a checkpoint is
//! signed.
//!
//! Why the map is built at checkpoints and not per batch: every customer's
//! sealed commitment takes a fresh nonce at every checkpoint (so watching it
//! reveals nothing), which changes every leaf of the map anyway; building it
//! once per checkpoint costs about five SHA-256 per customer of the shard,
//! while the fold itself pays only one leaf and one amortised node hash per
//! entry. The map is a function of the entries up to the checkpoint's sizes,
//! its number and signing time, and the ledger's secrets: a second fold of
//! the same records derives the same roots.

use std::collections::{BTreeMap, HashMap};

use custody_verify::completeness::{
    customer_root, seal_nonce, sealed_commitment, CustomerLeaf, LedgerSecrets, MapValue,
};
use custody_verify::map::MapSnapshot;
use serde::{Deserialize, Serialize};

use crate::merkle::{Frontier, Hash};
use crate::store::{Result, StoreError};
use crate::Checkpoint;

/// Law-enforcement entries of one request of a customer, and the
/// non-disclosure orders its received events carry: what decides, at each
/// checkpoint, which entries are sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RequestSeal {
    /// One per received event with a non-disclosure order: the event's seq
    /// and the order's expiry in ms (`None`: no expiry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<(u64, Option<i64>)>,
    /// Sequence numbers of every event of the request in this shard.
    pub seqs: Vec<u64>,
}

impl RequestSeal {
    /// Under an order in force at `at_ms` (as the reports' customer copy
    /// decides it: `custody_verify::reports::gagged_requests`).
    /// Only orders folded below `size` count (the state at an earlier
    /// checkpoint).
    fn sealed_at(&self, at_ms: i64, size: u64) -> bool {
        self.orders
            .iter()
            .any(|(seq, o)| *seq < size && o.is_none_or(|t| at_ms < t))
    }
}

/// What a law-enforcement event adds to its customer's seals: its request,
/// and for a received event under a non-disclosure order the order's expiry
/// in ms (`Some(None)`: the order has no expiry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealOp {
    pub request: String,
    pub order: Option<Option<i64>>,
}

impl SealOp {
    pub fn of(event: &custody_proto::Event) -> Option<Self> {
        let kind = event.kind.as_ref()?;
        let request = crate::fold::request_id(kind)?;
        let order = match kind {
            custody_proto::Kind::LawEnforcementRequestReceived(r) if r.nondisclosure_order => Some(
                r.nondisclosure_expires_at
                    .as_ref()
                    .map(custody_proto::timestamp_ms),
            ),
            _ => None,
        };
        Some(SealOp {
            request: request.to_string(),
            order,
        })
    }
}

/// One customer's tree in one shard, as the fold keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CustomerTree {
    /// Over every entry of the customer in the shard, sealed or not.
    pub frontier: Frontier,
    /// Only customers with law-enforcement events have any.
    pub requests: BTreeMap<String, RequestSeal>,
    /// Changed since it was last stored.
    pub dirty: bool,
}

impl CustomerTree {
    /// Stored value: count (u64), the frontier's peaks, then the requests as
    /// JSON when there are any.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let peaks = self.frontier.peaks();
        let mut out = Vec::with_capacity(8 + 32 * peaks.len());
        out.extend_from_slice(&self.frontier.size().to_be_bytes());
        for p in peaks {
            out.extend_from_slice(p);
        }
        if !self.requests.is_empty() {
            let json = serde_json::to_vec(&self.requests)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            out.extend_from_slice(&json);
        }
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> std::result::Result<Self, String> {
        let size = bytes
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or("shorter than its count")?;
        let n = size.count_ones() as usize;
        let end = 8 + 32 * n;
        let peaks: Vec<Hash> = bytes
            .get(8..end)
            .ok_or("shorter than its peaks")?
            .chunks_exact(32)
            .map(|c| <[u8; 32]>::try_from(c).unwrap_or_default())
            .collect();
        let frontier = Frontier::from_peaks(size, peaks).ok_or("peaks do not fit the count")?;
        let requests = match &bytes[end..] {
            [] => BTreeMap::new(),
            json => serde_json::from_slice(json).map_err(|e| e.to_string())?,
        };
        Ok(CustomerTree {
            frontier,
            requests,
            dirty: false,
        })
    }

    /// Appends an entry of the customer: its leaf, and for a
    /// law-enforcement event its request (and the order a received event
    /// carries).
    pub fn record(&mut self, seq: u64, occurred_ms: i64, hash: &Hash, seal: Option<&SealOp>) {
        self.frontier.append(
            custody_verify::completeness::customer_leaf(seq, occurred_ms, hash),
            |_, _, _| {},
        );
        self.dirty = true;
        let Some(op) = seal else {
            return;
        };
        let seal = self.requests.entry(op.request.clone()).or_default();
        seal.seqs.push(seq);
        if let Some(expiry) = op.order {
            seal.orders.push((seq, expiry));
        }
    }

    /// The customer's value in the shard's map at checkpoint `number`
    /// signed at `issued_at_ms`, with the seqs sealed then. `leaves_of`
    /// reads the customer's leaves; called only when something is sealed
    /// (the visible tree is then not the append-only one).
    pub fn map_value(
        &self,
        key: &Hash,
        shard: u32,
        number: u64,
        issued_at_ms: i64,
        seal_secret: &Hash,
        leaves_of: impl FnOnce() -> Result<Vec<CustomerLeaf>>,
    ) -> Result<(MapValue, Vec<u64>)> {
        let sealed = self.sealed_seqs(issued_at_ms);
        let nonce = seal_nonce(seal_secret, shard, key, number);
        let value = if sealed.is_empty() {
            MapValue {
                count: self.frontier.size(),
                root: self.frontier.root(),
                sealed: sealed_commitment(&nonce, 0, &crate::merkle::empty_root()),
            }
        } else {
            let (hidden, shown): (Vec<CustomerLeaf>, Vec<CustomerLeaf>) = leaves_of()?
                .into_iter()
                .partition(|l| sealed.binary_search(&l.seq).is_ok());
            MapValue {
                count: shown.len() as u64,
                root: customer_root(&shown),
                sealed: sealed_commitment(&nonce, hidden.len() as u64, &customer_root(&hidden)),
            }
        };
        Ok((value, sealed))
    }

    /// Sequence numbers sealed at `at_ms`, ascending.
    pub fn sealed_seqs(&self, at_ms: i64) -> Vec<u64> {
        self.sealed_seqs_below(at_ms, u64::MAX)
    }

    /// Sequence numbers below `size` sealed at `at_ms` by orders folded
    /// below `size`: what was sealed at an earlier checkpoint of that size.
    pub fn sealed_seqs_below(&self, at_ms: i64, size: u64) -> Vec<u64> {
        let mut seqs: Vec<u64> = self
            .requests
            .values()
            .filter(|r| r.sealed_at(at_ms, size))
            .flat_map(|r| r.seqs.iter().copied().filter(|s| *s < size))
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }
}

/// One shard's map at a checkpoint, with what proofs need.
pub struct ShardMap {
    pub map: MapSnapshot,
    /// Per map key: the customer's value and the entries sealed at the
    /// checkpoint (ascending seq).
    pub values: HashMap<Hash, (MapValue, Vec<u64>)>,
}

/// The maps of every shard at one signed checkpoint: published by the
/// writer when it signs, read by report producers.
pub struct PublishedMaps {
    pub checkpoint: Checkpoint,
    pub shards: BTreeMap<u32, ShardMap>,
}

/// Builds one shard's map. `key_of` gives each customer's map key;
/// `leaves_of` reads a customer's leaves in the shard up to the checkpoint
/// (needed only for customers with entries sealed at the checkpoint, whose
/// visible tree is not the append-only one).
pub(crate) fn build_shard_map(
    shard: u32,
    customers: &HashMap<String, CustomerTree>,
    checkpoint_number: u64,
    issued_at_ms: i64,
    secrets: &LedgerSecrets,
    key_of: &HashMap<String, Hash>,
    mut leaves_of: impl FnMut(&str) -> Result<Vec<CustomerLeaf>>,
) -> Result<ShardMap> {
    let mut leaves = Vec::with_capacity(customers.len());
    let mut values = HashMap::with_capacity(customers.len());
    for (customer, tree) in customers {
        let key = *key_of.get(customer).ok_or_else(|| {
            StoreError::Invalid(format!("no map key derived for customer `{customer}`"))
        })?;
        let (value, sealed) = tree.map_value(
            &key,
            shard,
            checkpoint_number,
            issued_at_ms,
            &secrets.seal,
            || leaves_of(customer),
        )?;
        leaves.push((key, value.hash()));
        values.insert(key, (value, sealed));
    }
    let map = MapSnapshot::build(leaves)
        .map_err(|e| StoreError::Invalid(format!("shard {shard} customer map: {e}")))?;
    Ok(ShardMap { map, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_round_trip_through_their_encoding() {
        let mut t = CustomerTree::default();
        for i in 0..11u8 {
            t.frontier.append([i; 32], |_, _, _| {});
        }
        assert_eq!(CustomerTree::decode(&t.encode().unwrap()).unwrap(), t);
        t.requests.insert(
            "le-1".into(),
            RequestSeal {
                orders: vec![(3, Some(1000)), (9, None)],
                seqs: vec![3, 9],
            },
        );
        assert_eq!(CustomerTree::decode(&t.encode().unwrap()).unwrap(), t);
        assert!(CustomerTree::decode(&[0, 0]).is_err());
    }

    #[test]
    fn an_order_seals_until_it_expires() {
        let mut t = CustomerTree::default();
        t.requests.insert(
            "a".into(),
            RequestSeal {
                orders: vec![(2, Some(100))],
                seqs: vec![5, 2],
            },
        );
        t.requests.insert(
            "b".into(),
            RequestSeal {
                orders: vec![],
                seqs: vec![7],
            },
        );
        assert_eq!(t.sealed_seqs(99), vec![2, 5]);
        assert!(t.sealed_seqs(100).is_empty());
        // As of a checkpoint of size 5: seq 5 was not folded yet; as of
        // size 2, neither was the order.
        assert_eq!(t.sealed_seqs_below(99, 5), vec![2]);
        assert!(t.sealed_seqs_below(99, 2).is_empty());
    }
}
