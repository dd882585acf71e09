//! Completeness: proving that a report holds every entry about a customer,
//! not only that what it shows is real.
//!
//! Per shard, the fold keeps for each customer an append-only RFC 6962 tree
//! over that customer's entries; when a checkpoint is signed, each shard's
//! customers go into an authenticated map ([`crate::map`]) whose root the
//! checkpoint signs next to the shard's size. A report's `completeness`
//! section gives, for every shard of the checkpoint, the customer's map proof
//! (membership with the value, or proven absence) and the leaves of the
//! customer's tree, so the checker can recompute the tree root, compare it
//! with the signed map, and then require every leaf dated inside the report's
//! window to be among the report's proven entries.
//!
//! Format (part of what a verifier recomputes; all integers big-endian):
//!
//! - map key: the first 32 bytes of the RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI
//!   output for the customer id (`alpha` = the id's UTF-8 bytes) under the
//!   ledger's VRF key, which the checkpoint signs. Without the VRF secret,
//!   nobody can compute the key of a guessed customer id, so public data
//!   (map proofs, roots) does not let anyone test whether a customer exists;
//!   the VRF proof lets the customer check that the key is theirs and the
//!   only one theirs can have.
//! - customer leaf: RFC 6962 leaf hash of `seq (u64) || occurred_at_ms (i64)
//!   || entry hash`, in shard order (ascending seq).
//! - sealed commitment: `SHA-256("custody sealed v1\n" || nonce || count
//!   (u64) || root)` over the customer's entries sealed at the checkpoint
//!   (law-enforcement events of a request under a non-disclosure order in
//!   force at the checkpoint's signing time) with `nonce = SHA-256("custody
//!   seal nonce v1\n" || seal secret || shard (u32) || map key || checkpoint
//!   number (u64))`. A fresh nonce at every checkpoint re-randomises it, so
//!   watching it reveals nothing; the nonce is derived from a secret so that
//!   the fold stays deterministic for whoever holds it.
//! - map value: `SHA-256("custody map value v1\n" || count (u64) || root ||
//!   sealed commitment)`, where count and root are those of the customer's
//!   entries not sealed at the checkpoint.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::hex_hash;
use crate::map::{verify_map_proof, MapProof, MapSnapshot};
use crate::merkle::{self, Frontier, Hash};
use crate::reports::{gagged_requests, withheld, Item, Window};
use crate::vrf::{VrfProof, VrfPublicKey, VrfSecretKey};
use crate::Checkpoint;

/// The customer-tree leaf of an entry.
pub fn customer_leaf(seq: u64, occurred_ms: i64, entry_hash: &Hash) -> Hash {
    let mut data = [0u8; 48];
    data[..8].copy_from_slice(&seq.to_be_bytes());
    data[8..16].copy_from_slice(&occurred_ms.to_be_bytes());
    data[16..].copy_from_slice(entry_hash);
    merkle::leaf_hash(&data)
}

/// Root of a customer tree over leaves in order.
pub fn customer_root<'a>(leaves: impl IntoIterator<Item = &'a CustomerLeaf>) -> Hash {
    let mut f = Frontier::new();
    for l in leaves {
        f.append(
            customer_leaf(l.seq, l.occurred_at_ms, &l.entry_hash),
            |_, _, _| {},
        );
    }
    f.root()
}

/// The sealed commitment.
pub fn sealed_commitment(nonce: &Hash, count: u64, root: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(b"custody sealed v1\n");
    h.update(nonce);
    h.update(count.to_be_bytes());
    h.update(root);
    h.finalize().into()
}

/// The nonce of a customer's sealed commitment at a checkpoint.
pub fn seal_nonce(seal_secret: &Hash, shard: u32, key: &Hash, checkpoint: u64) -> Hash {
    let mut h = Sha256::new();
    h.update(b"custody seal nonce v1\n");
    h.update(seal_secret);
    h.update(shard.to_be_bytes());
    h.update(key);
    h.update(checkpoint.to_be_bytes());
    h.finalize().into()
}

/// The map key of a VRF output.
pub fn map_key(beta: &[u8; 64]) -> Hash {
    let mut k = [0u8; 32];
    k.copy_from_slice(&beta[..32]);
    k
}

/// The two secrets a ledger derives from its Ed25519 signing seed: the VRF
/// key of the map and the seal secret. Derived, so that a ledger has one key
/// file; separate, so that no signature and no VRF proof ever uses the same
/// scalar.
pub struct LedgerSecrets {
    pub vrf: VrfSecretKey,
    pub seal: Hash,
}

/// First word of the one-line text form of a ledger's map secrets
/// ([`map_secrets_line`]).
pub const MAP_SECRETS_HEADER: &str = "custody-map-secrets-v1";

/// The two seeds of a ledger's [`LedgerSecrets`], derived from its signing
/// seed: the VRF key's seed and the seal secret.
fn derive_seeds(signing_seed: &[u8; 32]) -> (Hash, Hash) {
    let derive = |label: &[u8]| -> Hash {
        let mut h = Sha256::new();
        h.update(label);
        h.update(signing_seed);
        h.finalize().into()
    };
    (
        derive(b"custody vrf key v1\n"),
        derive(b"custody seal secret v1\n"),
    )
}

/// The map secrets of the ledger with this signing seed as one line,
/// `custody-map-secrets-v1 <hex VRF seed> <hex seal secret>`: what a
/// re-folding witness needs to re-derive the ledger's customer maps. Both
/// are hashes of the seed under distinct labels, so the line does not
/// reveal the signing key.
pub fn map_secrets_line(signing_seed: &[u8; 32]) -> String {
    let (vrf, seal) = derive_seeds(signing_seed);
    format!(
        "{MAP_SECRETS_HEADER} {} {}\n",
        hex::encode(vrf),
        hex::encode(seal)
    )
}

impl LedgerSecrets {
    pub fn derive(signing_seed: &[u8; 32]) -> Self {
        let (vrf, seal) = derive_seeds(signing_seed);
        LedgerSecrets {
            vrf: VrfSecretKey::from_seed(&vrf),
            seal,
        }
    }

    /// Parses [`map_secrets_line`]'s text.
    pub fn from_line(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        if words.next() != Some(MAP_SECRETS_HEADER) {
            return Err(format!("does not start with `{MAP_SECRETS_HEADER}`"));
        }
        let mut seed = |what: &str| -> Result<Hash, String> {
            words
                .next()
                .and_then(|w| hex::decode(w).ok())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("the {what} is not 64 hex digits"))
        };
        let vrf = seed("VRF seed")?;
        let seal = seed("seal secret")?;
        if words.next().is_some() {
            return Err("trailing words".into());
        }
        Ok(LedgerSecrets {
            vrf: VrfSecretKey::from_seed(&vrf),
            seal,
        })
    }

    /// The map key of a customer (without the proof: the fold needs only
    /// the key).
    pub fn key_of(&self, customer: &str) -> Hash {
        map_key(&self.vrf.output(customer.as_bytes()))
    }
}

/// A customer's value in a shard's map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MapValue {
    /// Entries of the customer in this shard not sealed at the checkpoint.
    pub count: u64,
    /// Root of the customer tree over them.
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub root: Hash,
    /// The sealed commitment (hiding: looks random whether or not anything
    /// is sealed).
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub sealed: Hash,
}

impl MapValue {
    pub fn hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update(b"custody map value v1\n");
        h.update(self.count.to_be_bytes());
        h.update(self.root);
        h.update(self.sealed);
        h.finalize().into()
    }
}

/// One entry of a customer tree, as a report carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerLeaf {
    pub seq: u64,
    pub occurred_at_ms: i64,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub entry_hash: Hash,
}

/// The opening of a sealed commitment (officers' copies only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SealedOpening {
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub nonce: Hash,
    pub leaves: Vec<CustomerLeaf>,
}

/// A customer in one shard at the report's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerShard {
    pub shard: u32,
    /// Proof of the customer's value in the shard's map, or of its absence.
    pub map_proof: MapProof,
    /// The value, when the customer has one in this shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<MapValue>,
    /// Every leaf of the customer's tree (entries not sealed), in seq order.
    #[serde(default)]
    pub leaves: Vec<CustomerLeaf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedOpening>,
}

/// The `completeness` section of a report's proofs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Completeness {
    pub customer: String,
    /// Hex of the 80-byte VRF proof of the customer's map key.
    pub vrf_proof: String,
    /// One per shard of the checkpoint, ascending.
    pub shards: Vec<CustomerShard>,
    /// Openings of the sealed commitments of an earlier checkpoint (the one
    /// the customer named with `since_checkpoint`) whose entries are all
    /// visible now: an order expired, and these show they were committed
    /// then. Given only when every entry sealed then is visible now, so an
    /// absent opening tells nothing (nothing was sealed, or it still is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub openings: Vec<EarlierOpening>,
}

/// The opening of one shard's sealed commitment at an earlier checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EarlierOpening {
    pub checkpoint: u64,
    pub shard: u32,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub nonce: Hash,
    /// The entries sealed then, in seq order.
    pub leaves: Vec<CustomerLeaf>,
}

/// Checks `opening` against the sealed commitment an earlier report showed
/// for its shard, and that every entry it opens is among `now` (the
/// customer's leaves at the later checkpoint). Returns the number opened.
pub fn verify_earlier_opening(
    opening: &EarlierOpening,
    earlier: &MapValue,
    now: &[CustomerLeaf],
) -> Result<u64, String> {
    let count = opening.leaves.len() as u64;
    let root = customer_root(&opening.leaves);
    if sealed_commitment(&opening.nonce, count, &root) != earlier.sealed {
        return Err(format!(
            "shard {}: the opening of checkpoint {}'s sealed entries does not match the commitment your earlier report holds",
            opening.shard, opening.checkpoint
        ));
    }
    for l in &opening.leaves {
        if !now.iter().any(|n| n == l) {
            return Err(format!(
                "entry {}/{} was sealed at checkpoint {} but is not among your entries now",
                opening.shard, l.seq, opening.checkpoint
            ));
        }
    }
    Ok(count)
}

/// What a verified completeness section establishes for one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardCoverage {
    pub shard: u32,
    /// Every entry of the customer the map commits to and the report
    /// opened: the visible leaves, plus the sealed ones when opened.
    pub leaves: Vec<CustomerLeaf>,
    /// Entries sealed at the checkpoint and opened (officers' copies).
    pub sealed_opened: u64,
}

fn leaves_in_order(leaves: &[CustomerLeaf], size: u64) -> Result<(), String> {
    for pair in leaves.windows(2) {
        if pair[0].seq >= pair[1].seq {
            return Err(format!(
                "leaves are not in ascending seq order at seq {}",
                pair[1].seq
            ));
        }
    }
    match leaves.last() {
        Some(l) if l.seq >= size => Err(format!(
            "leaf seq {} is past the shard's size {size} at the checkpoint",
            l.seq
        )),
        _ => Ok(()),
    }
}

/// Verifies a completeness section against a checkpoint whose signature the
/// caller has checked: the VRF proof binds the map key to `customer`, every
/// shard of the checkpoint has a valid map proof, and each value's count and
/// root are those of the leaves given. Returns the leaves of every shard, or
/// every failure, each naming its shard.
pub fn verify_completeness(
    c: &Completeness,
    checkpoint: &Checkpoint,
    customer: &str,
) -> Result<Vec<ShardCoverage>, Vec<String>> {
    let mut failures = Vec::new();
    if c.customer != customer {
        failures.push(format!(
            "the completeness proof is for customer `{}`, the report is about `{customer}`",
            c.customer
        ));
        return Err(failures);
    }
    let Some(vrf_key) = checkpoint
        .vrf_key
        .as_deref()
        .and_then(|k| hex::decode(k).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VrfPublicKey::from_bytes(&b).ok())
    else {
        failures.push(format!(
            "checkpoint {} signs no valid VRF key, so no map position can be bound to a customer",
            checkpoint.number
        ));
        return Err(failures);
    };
    let Some(proof) = hex::decode(&c.vrf_proof)
        .ok()
        .and_then(|b| <[u8; 80]>::try_from(b).ok())
        .map(|b| VrfProof::from_bytes(&b))
    else {
        failures.push("the VRF proof is not 160 hex characters".into());
        return Err(failures);
    };
    let key = match vrf_key.verify(customer.as_bytes(), &proof) {
        Ok(beta) => map_key(&beta),
        Err(e) => {
            failures.push(format!(
                "the VRF proof does not bind the map position to customer `{customer}`: {e}"
            ));
            return Err(failures);
        }
    };
    let mut out = Vec::new();
    let mut given = c.shards.iter().peekable();
    for head in &checkpoint.shards {
        let at = format!("shard {}", head.shard);
        let Some(map_root) = head.map_root else {
            failures.push(format!(
                "{at}: checkpoint {} signs no map root for this shard",
                checkpoint.number
            ));
            continue;
        };
        let Some(s) = given.next_if(|s| s.shard == head.shard) else {
            failures.push(format!(
                "{at}: no map proof for this shard (the customer's entries there cannot be accounted for)"
            ));
            continue;
        };
        let proven = match verify_map_proof(&map_root, &key, &s.map_proof) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "{at}: the map proof does not lead to the signed map root: {e}"
                ));
                continue;
            }
        };
        if let Err(e) = leaves_in_order(&s.leaves, head.size) {
            failures.push(format!("{at}: {e}"));
            continue;
        }
        let mut leaves = s.leaves.clone();
        let mut sealed_opened = 0;
        match (proven, &s.value) {
            (None, None) => {
                if !s.leaves.is_empty() || s.sealed.is_some() {
                    failures.push(format!(
                        "{at}: the map proves the customer has no entries here, yet the report lists {} leaves",
                        s.leaves.len()
                    ));
                    continue;
                }
            }
            (None, Some(_)) => {
                failures.push(format!(
                    "{at}: the report gives a value, but the map proves the customer has none here"
                ));
                continue;
            }
            (Some(_), None) => {
                failures.push(format!(
                    "{at}: the map holds a value for the customer here, but the report gives none"
                ));
                continue;
            }
            (Some(value_hash), Some(value)) => {
                if value.hash() != value_hash {
                    failures.push(format!(
                        "{at}: the value given is not the one the signed map holds"
                    ));
                    continue;
                }
                if s.leaves.len() as u64 != value.count {
                    failures.push(format!(
                        "{at}: the report gives {} of the customer's entries, the signed map commits to {}: {} left out",
                        s.leaves.len(),
                        value.count,
                        describe_gap(s.leaves.len() as u64, value.count)
                    ));
                    continue;
                }
                if customer_root(&s.leaves) != value.root {
                    failures.push(format!(
                        "{at}: the {} leaves given do not hash to the customer tree root the map holds (an entry was swapped, reordered or altered)",
                        s.leaves.len()
                    ));
                    continue;
                }
                if let Some(opening) = &s.sealed {
                    if let Err(e) = leaves_in_order(&opening.leaves, head.size) {
                        failures.push(format!("{at}: sealed part: {e}"));
                        continue;
                    }
                    let root = customer_root(&opening.leaves);
                    let count = opening.leaves.len() as u64;
                    if sealed_commitment(&opening.nonce, count, &root) != value.sealed {
                        failures.push(format!(
                            "{at}: the opening of the sealed part ({count} entries) does not match the sealed commitment the map holds"
                        ));
                        continue;
                    }
                    sealed_opened = count;
                    leaves.extend(opening.leaves.iter().copied());
                    leaves.sort_by_key(|l| l.seq);
                }
            }
        }
        out.push(ShardCoverage {
            shard: head.shard,
            leaves,
            sealed_opened,
        });
    }
    for extra in given {
        failures.push(format!(
            "shard {}: a map proof for a shard the checkpoint does not have",
            extra.shard
        ));
    }
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(failures)
    }
}

fn describe_gap(given: u64, committed: u64) -> String {
    if given < committed {
        format!("{} entries", committed - given)
    } else {
        format!("{} entries too many", given - committed)
    }
}

/// One customer's commitment in one shard: what the reference construction
/// gives and a completeness section is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCommit {
    pub key: Hash,
    pub value: MapValue,
    /// Entries not sealed at the checkpoint, in seq order.
    pub shown: Vec<CustomerLeaf>,
    /// Entries sealed at the checkpoint, in seq order.
    pub hidden: Vec<CustomerLeaf>,
}

/// A shard's customer map with every customer's commitment.
pub struct ShardCommitments {
    pub shard: u32,
    pub map: MapSnapshot,
    pub customers: BTreeMap<String, CustomerCommit>,
}

/// The reference construction of one shard's customer map at checkpoint
/// `number` signed at `issued_at_ms`, from the shard's items (any order):
/// what `custody verify` and tests recompute, and what the ledger's
/// incremental fold must agree with.
pub fn reference_shard_map<'a>(
    secrets: &LedgerSecrets,
    shard: u32,
    items: impl IntoIterator<Item = &'a Item>,
    number: u64,
    issued_at_ms: i64,
) -> ShardCommitments {
    let mut by_customer: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
    for i in items {
        if i.shard == shard && !i.event.customer_id.is_empty() {
            by_customer
                .entry(i.event.customer_id.as_str())
                .or_default()
                .push(i.clone());
        }
    }
    let mut customers = BTreeMap::new();
    for (customer, mut mine) in by_customer {
        mine.sort_by_key(|i| i.seq);
        let gagged = gagged_requests(&mine, issued_at_ms);
        let leaf = |i: &Item| CustomerLeaf {
            seq: i.seq,
            occurred_at_ms: i.at_ms(),
            entry_hash: i.hash,
        };
        let (hidden, shown): (Vec<&Item>, Vec<&Item>) =
            mine.iter().partition(|i| withheld(i, &gagged));
        let shown: Vec<CustomerLeaf> = shown.into_iter().map(leaf).collect();
        let hidden: Vec<CustomerLeaf> = hidden.into_iter().map(leaf).collect();
        let key = secrets.key_of(customer);
        let nonce = seal_nonce(&secrets.seal, shard, &key, number);
        let value = MapValue {
            count: shown.len() as u64,
            root: customer_root(&shown),
            sealed: sealed_commitment(&nonce, hidden.len() as u64, &customer_root(&hidden)),
        };
        customers.insert(
            customer.to_string(),
            CustomerCommit {
                key,
                value,
                shown,
                hidden,
            },
        );
    }
    let leaves = customers
        .values()
        .map(|c| (c.key, c.value.hash()))
        .collect();
    // Keys are VRF outputs of distinct ids: a repeat would be a collision of
    // SHA-512, so `build` cannot fail here.
    let map = MapSnapshot::build(leaves).unwrap_or_else(|_| {
        MapSnapshot::build(Vec::new()).unwrap_or_else(|_| unreachable!("the empty map builds"))
    });
    ShardCommitments {
        shard,
        map,
        customers,
    }
}

/// The completeness section for `window` from reference commitments at
/// checkpoint `number`, adding the positions it requires to `relied`.
pub fn reference_section(
    secrets: &LedgerSecrets,
    shards: &[ShardCommitments],
    number: u64,
    window: &Window,
    relied: &mut BTreeSet<(u32, u64)>,
) -> Completeness {
    let key = secrets.key_of(&window.customer);
    let inside = |l: &CustomerLeaf| (window.from_ms..window.to_ms).contains(&l.occurred_at_ms);
    let shards = shards
        .iter()
        .map(|s| {
            let found = s.customers.get(&window.customer);
            if let Some(c) = found {
                relied.extend(
                    c.shown
                        .iter()
                        .filter(|l| inside(l))
                        .map(|l| (s.shard, l.seq)),
                );
                if window.officer {
                    relied.extend(
                        c.hidden
                            .iter()
                            .filter(|l| inside(l))
                            .map(|l| (s.shard, l.seq)),
                    );
                }
            }
            CustomerShard {
                shard: s.shard,
                map_proof: s.map.prove(&key),
                value: found.map(|c| c.value),
                leaves: found.map(|c| c.shown.clone()).unwrap_or_default(),
                sealed: found.filter(|_| window.officer).map(|c| SealedOpening {
                    nonce: seal_nonce(&secrets.seal, s.shard, &key, number),
                    leaves: c.hidden.clone(),
                }),
            }
        })
        .collect();
    Completeness {
        customer: window.customer.clone(),
        vrf_proof: hex::encode(secrets.vrf.prove(window.customer.as_bytes()).to_bytes()),
        shards,
        openings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_commitments_change_with_every_input() {
        let v = MapValue {
            count: 3,
            root: [1; 32],
            sealed: [2; 32],
        };
        let mut w = v;
        w.count = 4;
        assert_ne!(v.hash(), w.hash());
        let c = sealed_commitment(&[9; 32], 0, &merkle::empty_root());
        assert_ne!(c, sealed_commitment(&[8; 32], 0, &merkle::empty_root()));
        assert_ne!(
            seal_nonce(&[1; 32], 0, &[2; 32], 1),
            seal_nonce(&[1; 32], 0, &[2; 32], 2)
        );
        assert_ne!(customer_leaf(1, 5, &[0; 32]), customer_leaf(1, 6, &[0; 32]));
    }
}
