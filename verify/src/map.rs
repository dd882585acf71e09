//! A compressed sparse Merkle map over 32-byte keys: per shard, Custody
//! commits to customer key -> value hash with one root, and proves for any
//! key either its value hash or that it is absent.
//!
//! # Format (part of what a verifier checks; changing it changes every root)
//!
//! - Keys and value hashes are 32 bytes. Bit `d` of a key (`d` = 0..=255)
//!   is `(key[d / 8] >> (7 - d % 8)) & 1`: most significant bit first.
//! - Root of the empty map: `SHA-256("custody map v1 empty")`.
//! - Leaf hash: `SHA-256(0x00 || key || value_hash)`.
//! - The tree is the compressed binary trie (Patricia trie) of the keys: a
//!   set of one key is that key's leaf; a set of two or more keys splits at
//!   the first bit `d` at which they do not all agree, into the keys with
//!   bit `d` = 0 (left) and those with bit `d` = 1 (right). Internal node
//!   hash: `SHA-256(0x01 || d (one byte) || left || right)`. The tree, and so
//!   the root, depends only on the set of (key, value hash) pairs.
//! - A proof for key `k` lists the siblings along `k`'s path from the root,
//!   root first, each with its node's split depth, then a terminal:
//!   `Leaf { key, value_hash }`, which proves membership when `key == k` and
//!   absence otherwise (the leaf that following `k`'s bits reaches), or
//!   `Empty`, only for the empty map and with no siblings.
//! - Verification recomputes from the terminal up, going left or right by
//!   `k`'s bit at each sibling's depth. It requires the depths to increase
//!   strictly from the root, the terminal leaf's key to agree with `k` at
//!   every sibling depth, and the result to equal the root.
//!
//! Why absence is proven: following `k`'s bits from the root reaches exactly
//! one leaf, and if `k` were in the map that leaf would be `k` itself (`k`
//! lies in every subtree on its own path). A proof ending at another leaf
//! that `k`'s bits lead to is therefore a proof that `k` is absent. Depths
//! are hashed into nodes, so a proof cannot move a split; the 0x00 / 0x01
//! prefixes keep leaves and nodes apart. Even a root built by a dishonest
//! party allows at most one answer per key, since `k`'s bits fix the path.
//!
//! Pure: no I/O. [`MapSnapshot`] is rebuilt whole at each checkpoint from
//! the list of leaves.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::hex_hash;
use crate::merkle::Hash;

/// Root of the empty map.
pub fn empty_root() -> Hash {
    Sha256::digest(b"custody map v1 empty").into()
}

/// `SHA-256(0x00 || key || value_hash)`.
pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(key)
        .chain_update(value_hash)
        .finalize()
        .into()
}

/// `SHA-256(0x01 || depth || left || right)`.
pub fn node_hash(depth: u8, left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01, depth])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Bit `depth` of `key`, most significant first: `true` goes right.
pub fn bit(key: &Hash, depth: u8) -> bool {
    (key[depth as usize / 8] >> (7 - depth % 8)) & 1 == 1
}

/// First bit at which two different keys disagree.
fn first_difference(a: &Hash, b: &Hash) -> u8 {
    // Two big-endian halves: leading zeros of the XOR count agreeing bits.
    let half = |k: &Hash, i: usize| u128::from_be_bytes(k[i..i + 16].try_into().expect("16"));
    let high = half(a, 0) ^ half(b, 0);
    let d = if high != 0 {
        high.leading_zeros()
    } else {
        128 + (half(a, 16) ^ half(b, 16)).leading_zeros()
    };
    debug_assert!(d < 256, "keys are distinct");
    d as u8
}

/// Why a map could not be built or a proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("key {} appears more than once", hex::encode(.0))]
    DuplicateKey(Hash),
    #[error("a map snapshot holds at most 2^32 - 1 leaves, not {0}")]
    TooManyLeaves(usize),
    #[error("an empty-map proof has siblings")]
    EmptyWithSiblings,
    #[error("proof sibling depths do not increase strictly from the root")]
    DepthsNotIncreasing,
    #[error("the proof's leaf is not on the key's path (they differ at bit {0})")]
    OffPath(u8),
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
}

/// One sibling on a key's path: the other child of the node that splits at
/// `depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MapSibling {
    pub depth: u8,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub hash: Hash,
}

/// Where a key's path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum MapTerminal {
    /// The map is empty.
    Empty,
    /// The leaf the key's bits lead to: the key's own (membership) or
    /// another (absence).
    #[serde(rename_all = "camelCase")]
    Leaf {
        #[serde(with = "hex_hash")]
        #[cfg_attr(feature = "schema", schemars(with = "String"))]
        key: Hash,
        #[serde(with = "hex_hash")]
        #[cfg_attr(feature = "schema", schemars(with = "String"))]
        value_hash: Hash,
    },
}

/// Membership or absence of one key; see the module documentation. JSON:
///
/// ```text
/// {"siblings": [{"depth": 0, "hash": "<hex>"}, ...],
///  "terminal": {"type": "leaf", "key": "<hex>", "valueHash": "<hex>"}}
/// ```
///
/// or, for the empty map, `{"siblings": [], "terminal": {"type": "empty"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MapProof {
    /// Root first.
    pub siblings: Vec<MapSibling>,
    pub terminal: MapTerminal,
}

/// Checks `proof` for `key` against `root`: `Some(value_hash)` if the key
/// is in the map, `None` if it is proven absent.
pub fn verify_map_proof(
    root: &Hash,
    key: &Hash,
    proof: &MapProof,
) -> Result<Option<Hash>, MapError> {
    let (leaf_key, value_hash) = match &proof.terminal {
        MapTerminal::Empty if !proof.siblings.is_empty() => {
            return Err(MapError::EmptyWithSiblings)
        }
        MapTerminal::Empty if *root == empty_root() => return Ok(None),
        MapTerminal::Empty => return Err(MapError::RootMismatch),
        MapTerminal::Leaf { key, value_hash } => (key, value_hash),
    };
    if proof.siblings.windows(2).any(|w| w[0].depth >= w[1].depth) {
        return Err(MapError::DepthsNotIncreasing);
    }
    let mut hash = leaf_hash(leaf_key, value_hash);
    for sibling in proof.siblings.iter().rev() {
        let right = bit(key, sibling.depth);
        if bit(leaf_key, sibling.depth) != right {
            return Err(MapError::OffPath(sibling.depth));
        }
        hash = if right {
            node_hash(sibling.depth, &sibling.hash, &hash)
        } else {
            node_hash(sibling.depth, &hash, &sibling.hash)
        };
    }
    if hash != *root {
        return Err(MapError::RootMismatch);
    }
    Ok((leaf_key == key).then_some(*value_hash))
}

/// A child: leaf `i` (in key order) or internal node `i` of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    Leaf(u32),
    Node(u32),
}

#[derive(Debug, Clone)]
struct Node {
    hash: Hash,
    depth: u8,
    left: Child,
    right: Child,
}

/// An immutable map with every node hash cached: built in one pass over
/// the sorted leaves (one hash per leaf and per internal node, N - 1 of
/// them; each input is 65 or 66 bytes, so two SHA-256 blocks), then proofs
/// are a walk down the stored nodes. About 150 bytes per leaf: the sorted
/// pairs, the leaf hashes and one 52-byte node per internal node. One
/// million random leaves build in about half a second (release, one core).
#[derive(Debug, Clone)]
pub struct MapSnapshot {
    /// (key, value hash), sorted by key.
    leaves: Vec<(Hash, Hash)>,
    leaf_hashes: Vec<Hash>,
    /// Internal nodes, children before parents (the root is last).
    nodes: Vec<Node>,
    root: Option<Child>,
}

impl MapSnapshot {
    /// Leaves in any order; a repeated key is an error
    /// ([`MapError::DuplicateKey`]), even with the same value hash.
    pub fn build(mut leaves: Vec<(Hash, Hash)>) -> Result<Self, MapError> {
        if u32::try_from(leaves.len()).is_err() {
            return Err(MapError::TooManyLeaves(leaves.len()));
        }
        leaves.sort_unstable_by_key(|(key, _)| *key);
        if let Some(w) = leaves.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(MapError::DuplicateKey(w[0].0));
        }
        let leaf_hashes: Vec<Hash> = leaves.iter().map(|(k, v)| leaf_hash(k, v)).collect();
        let mut nodes = Vec::with_capacity(leaves.len().saturating_sub(1));
        let root = (!leaves.is_empty())
            .then(|| build_range(&leaves, &leaf_hashes, &mut nodes, 0, leaves.len()).0);
        Ok(Self {
            leaves,
            leaf_hashes,
            nodes,
            root,
        })
    }

    pub fn root(&self) -> Hash {
        self.root.map_or_else(empty_root, |c| self.hash(c))
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The value hash stored for `key`.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        self.leaves
            .binary_search_by(|(k, _)| k.cmp(key))
            .ok()
            .map(|i| self.leaves[i].1)
    }

    /// (key, value hash) in key order.
    pub fn iter(&self) -> impl Iterator<Item = &(Hash, Hash)> {
        self.leaves.iter()
    }

    /// Proof of membership or absence of `key`: O(depth) node lookups.
    pub fn prove(&self, key: &Hash) -> MapProof {
        // Paths of random keys are about log2(len) long (25 at most with a
        // million keys): 32 saves regrowing the vector, a third of the time.
        let mut siblings = Vec::with_capacity(32);
        let Some(mut at) = self.root else {
            return MapProof {
                siblings,
                terminal: MapTerminal::Empty,
            };
        };
        loop {
            match at {
                Child::Leaf(i) => {
                    let (key, value_hash) = self.leaves[i as usize];
                    return MapProof {
                        siblings,
                        terminal: MapTerminal::Leaf { key, value_hash },
                    };
                }
                Child::Node(i) => {
                    let node = &self.nodes[i as usize];
                    let (next, other) = if bit(key, node.depth) {
                        (node.right, node.left)
                    } else {
                        (node.left, node.right)
                    };
                    siblings.push(MapSibling {
                        depth: node.depth,
                        hash: self.hash(other),
                    });
                    at = next;
                }
            }
        }
    }

    fn hash(&self, child: Child) -> Hash {
        match child {
            Child::Leaf(i) => self.leaf_hashes[i as usize],
            Child::Node(i) => self.nodes[i as usize].hash,
        }
    }
}

/// Builds the subtree of the sorted, distinct leaves `[lo, hi)` (nonempty),
/// returning it and its hash. Recursion depth is at most 256: every level
/// splits at a strictly larger bit.
fn build_range(
    leaves: &[(Hash, Hash)],
    leaf_hashes: &[Hash],
    nodes: &mut Vec<Node>,
    lo: usize,
    hi: usize,
) -> (Child, Hash) {
    if hi - lo == 1 {
        return (Child::Leaf(lo as u32), leaf_hashes[lo]);
    }
    // Sorted keys: the first and last disagree first where the range does,
    // and all keys with a 0 at that bit come before those with a 1.
    let depth = first_difference(&leaves[lo].0, &leaves[hi - 1].0);
    let mid = lo + leaves[lo..hi].partition_point(|(k, _)| !bit(k, depth));
    let (left, left_hash) = build_range(leaves, leaf_hashes, nodes, lo, mid);
    let (right, right_hash) = build_range(leaves, leaf_hashes, nodes, mid, hi);
    let hash = node_hash(depth, &left_hash, &right_hash);
    nodes.push(Node {
        hash,
        depth,
        left,
        right,
    });
    (Child::Node(nodes.len() as u32 - 1), hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    fn sha(parts: &[&[u8]]) -> Hash {
        let mut hasher = Sha256::new();
        for p in parts {
            hasher.update(p);
        }
        hasher.finalize().into()
    }

    /// The spec's formulas spelled out again, independently of the code
    /// under test.
    fn leaf(k: &Hash, v: &Hash) -> Hash {
        sha(&[&[0x00], k, v])
    }

    fn node(d: u8, l: &Hash, r: &Hash) -> Hash {
        sha(&[&[0x01, d], l, r])
    }

    fn key_with_first_byte(b: u8) -> Hash {
        let mut k = [0; 32];
        k[0] = b;
        k
    }

    // The pinned roots below were computed with Python's hashlib from the
    // format in the module documentation (not by this code).
    #[test]
    fn empty_map() {
        let map = MapSnapshot::build(vec![]).unwrap();
        assert_eq!(
            map.root(),
            h("163283a245520621713123c5c78c0c286d326e830d1b268b7217394ccaaf8f40")
        );
        assert_eq!(map.root(), sha(&[b"custody map v1 empty"]));
        assert!(map.is_empty());
        assert_eq!(map.len(), 0);
        let proof = map.prove(&[7; 32]);
        assert_eq!(proof.siblings, vec![]);
        assert_eq!(proof.terminal, MapTerminal::Empty);
        assert_eq!(verify_map_proof(&map.root(), &[7; 32], &proof), Ok(None));
        assert_eq!(
            verify_map_proof(&[0; 32], &[7; 32], &proof),
            Err(MapError::RootMismatch)
        );
        let padded = MapProof {
            siblings: vec![MapSibling {
                depth: 0,
                hash: [0; 32],
            }],
            terminal: MapTerminal::Empty,
        };
        assert_eq!(
            verify_map_proof(&map.root(), &[7; 32], &padded),
            Err(MapError::EmptyWithSiblings)
        );
    }

    #[test]
    fn one_key() {
        let (k, v) = ([0x11; 32], [0xaa; 32]);
        let map = MapSnapshot::build(vec![(k, v)]).unwrap();
        assert_eq!(map.root(), leaf(&k, &v));
        assert_eq!(
            map.root(),
            h("5226b1b3b5d064e7aaac9d9ff053ac0a7c5a9d9f8d730b44ce885941e15d2854")
        );
        let proof = map.prove(&k);
        assert_eq!(proof.siblings, vec![]);
        assert_eq!(
            proof.terminal,
            MapTerminal::Leaf {
                key: k,
                value_hash: v
            }
        );
        assert_eq!(verify_map_proof(&map.root(), &k, &proof), Ok(Some(v)));
        // Any other key reaches the same (only) leaf: absent.
        let other = [0x12; 32];
        assert_eq!(map.prove(&other), proof);
        assert_eq!(verify_map_proof(&map.root(), &other, &proof), Ok(None));
        assert_eq!(map.get(&k), Some(v));
        assert_eq!(map.get(&other), None);
    }

    #[test]
    fn two_keys_differing_at_bit_0() {
        let (a, b) = ([0; 32], key_with_first_byte(0x80));
        let (va, vb) = ([1; 32], [2; 32]);
        // Given in reverse order: the root depends on the set only.
        let map = MapSnapshot::build(vec![(b, vb), (a, va)]).unwrap();
        assert_eq!(map.root(), node(0, &leaf(&a, &va), &leaf(&b, &vb)));
        assert_eq!(
            map.root(),
            h("6ed645559db668648ee0b7c81ef3cf621a812db8a2dcc60f94d6b5ca65c0e89d")
        );
        let proof = map.prove(&b);
        assert_eq!(
            proof.siblings,
            vec![MapSibling {
                depth: 0,
                hash: leaf(&a, &va)
            }]
        );
        assert_eq!(verify_map_proof(&map.root(), &b, &proof), Ok(Some(vb)));
        assert_eq!(
            verify_map_proof(&map.root(), &a, &map.prove(&a)),
            Ok(Some(va))
        );
        // 0x40.. goes left at bit 0 and reaches a: absent.
        let absent = key_with_first_byte(0x40);
        let proof = map.prove(&absent);
        assert_eq!(
            proof.terminal,
            MapTerminal::Leaf {
                key: a,
                value_hash: va
            }
        );
        assert_eq!(verify_map_proof(&map.root(), &absent, &proof), Ok(None));
    }

    #[test]
    fn two_keys_differing_at_bit_200() {
        let a = [0x33; 32];
        let mut b = a;
        b[25] ^= 0x80; // bit 200 = byte 25, most significant bit
        assert!(!bit(&a, 200) && bit(&b, 200));
        let (va, vb) = ([1; 32], [2; 32]);
        let map = MapSnapshot::build(vec![(a, va), (b, vb)]).unwrap();
        assert_eq!(map.root(), node(200, &leaf(&a, &va), &leaf(&b, &vb)));
        assert_eq!(
            map.root(),
            h("f0fa456bfbca58b5683ebd2684c405be517678d5d1caf5cffb7a79987f0b591d")
        );
        let proof = map.prove(&a);
        assert_eq!(
            proof.siblings,
            vec![MapSibling {
                depth: 200,
                hash: leaf(&b, &vb)
            }]
        );
        assert_eq!(verify_map_proof(&map.root(), &a, &proof), Ok(Some(va)));
        // A key differing from both before bit 200 still follows bit 200
        // and reaches one of them: proven absent.
        let absent = [0; 32];
        let proof = map.prove(&absent);
        assert_eq!(
            proof.terminal,
            MapTerminal::Leaf {
                key: a,
                value_hash: va
            }
        );
        assert_eq!(verify_map_proof(&map.root(), &absent, &proof), Ok(None));
    }

    #[test]
    fn three_keys() {
        // a = 00.., b = 01.. (first bits), c = 1...: root splits at bit 0,
        // its left child at bit 1.
        let (a, b, c) = (
            [0; 32],
            key_with_first_byte(0x40),
            key_with_first_byte(0x80),
        );
        let (va, vb, vc) = ([1; 32], [2; 32], [3; 32]);
        let map = MapSnapshot::build(vec![(c, vc), (a, va), (b, vb)]).unwrap();
        let ab = node(1, &leaf(&a, &va), &leaf(&b, &vb));
        assert_eq!(map.root(), node(0, &ab, &leaf(&c, &vc)));
        assert_eq!(
            map.root(),
            h("7d1dac7036cf1e881285e7ec548a459a53a75e0cf2464048d053fdb47e215c84")
        );
        assert_eq!(map.len(), 3);

        let proof = map.prove(&b);
        assert_eq!(
            proof.siblings,
            vec![
                MapSibling {
                    depth: 0,
                    hash: leaf(&c, &vc)
                },
                MapSibling {
                    depth: 1,
                    hash: leaf(&a, &va)
                },
            ]
        );
        assert_eq!(verify_map_proof(&map.root(), &b, &proof), Ok(Some(vb)));

        // 0xc0..: right at bit 0, reaches c.
        let absent = key_with_first_byte(0xc0);
        let proof = map.prove(&absent);
        assert_eq!(proof.siblings, vec![MapSibling { depth: 0, hash: ab }]);
        assert_eq!(
            proof.terminal,
            MapTerminal::Leaf {
                key: c,
                value_hash: vc
            }
        );
        assert_eq!(verify_map_proof(&map.root(), &absent, &proof), Ok(None));
        // 0x20..: left, left, reaches a.
        let absent = key_with_first_byte(0x20);
        let proof = map.prove(&absent);
        assert_eq!(
            proof.terminal,
            MapTerminal::Leaf {
                key: a,
                value_hash: va
            }
        );
        assert_eq!(verify_map_proof(&map.root(), &absent, &proof), Ok(None));
        // c's proof does not prove b (present) absent, nor anything for a.
        assert_eq!(
            verify_map_proof(&map.root(), &b, &map.prove(&c)),
            Err(MapError::OffPath(0))
        );
        assert!(verify_map_proof(&map.root(), &a, &map.prove(&b)).is_err());
    }

    #[test]
    fn duplicate_key_is_an_error() {
        let k = [5; 32];
        assert_eq!(
            MapSnapshot::build(vec![(k, [1; 32]), ([6; 32], [0; 32]), (k, [2; 32])]).unwrap_err(),
            MapError::DuplicateKey(k)
        );
        assert_eq!(
            MapSnapshot::build(vec![(k, [1; 32]), (k, [1; 32])]).unwrap_err(),
            MapError::DuplicateKey(k)
        );
    }

    #[test]
    fn proof_json_is_camel_case_with_hex_hashes() {
        let (a, b) = ([0; 32], key_with_first_byte(0x80));
        let map = MapSnapshot::build(vec![(a, [1; 32]), (b, [2; 32])]).unwrap();
        let proof = map.prove(&b);
        let json = serde_json::to_value(&proof).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "siblings": [{ "depth": 0, "hash": hex::encode(leaf(&a, &[1; 32])) }],
                "terminal": {
                    "type": "leaf",
                    "key": hex::encode(b),
                    "valueHash": hex::encode([2; 32]),
                },
            })
        );
        assert_eq!(serde_json::from_value::<MapProof>(json).unwrap(), proof);
        let empty = MapSnapshot::build(vec![]).unwrap().prove(&a);
        let json = serde_json::to_value(&empty).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "siblings": [], "terminal": { "type": "empty" } })
        );
        assert_eq!(serde_json::from_value::<MapProof>(json).unwrap(), empty);
    }

    /// The root by the spec's definition, straight from a sorted set.
    fn reference_root(set: &BTreeMap<Hash, Hash>) -> Hash {
        fn go(keys: &[(&Hash, &Hash)]) -> Hash {
            if let [(k, v)] = keys {
                return leaf(k, v);
            }
            let d = (0..=255u8)
                .find(|&d| keys.iter().any(|(k, _)| bit(k, d) != bit(keys[0].0, d)))
                .unwrap();
            let (left, right): (Vec<_>, Vec<_>) = keys.iter().partition(|(k, _)| !bit(k, d));
            node(d, &go(&left), &go(&right))
        }
        let keys: Vec<_> = set.iter().collect();
        if keys.is_empty() {
            sha(&[b"custody map v1 empty"])
        } else {
            go(&keys)
        }
    }

    /// Keys from random bytes, many sharing a long prefix with a base key
    /// (a random cut per key), so that splits happen at every depth and
    /// not only in the first few bits.
    fn keys() -> impl Strategy<Value = Vec<Hash>> {
        (
            any::<Hash>(),
            prop::collection::vec((any::<Hash>(), 0usize..=256), 0..200),
        )
            .prop_map(|(base, raw)| {
                raw.into_iter()
                    .map(|(mut k, keep)| {
                        // Copy the first `keep` bits of base (keep is halved
                        // for half the keys, which stay fully random).
                        let keep = if k[31] & 1 == 0 { keep } else { 0 };
                        for d in 0..keep {
                            let (byte, mask) = (d / 8, 0x80u8 >> (d % 8));
                            k[byte] = (k[byte] & !mask) | (base[byte] & mask);
                        }
                        k
                    })
                    .collect()
            })
    }

    /// Every way of changing one field of `proof` must fail for `key`.
    fn assert_tampering_fails(root: &Hash, key: &Hash, proof: &MapProof) {
        let fails = |p: &MapProof, what: &str| {
            assert!(verify_map_proof(root, key, p).is_err(), "{what} verified");
        };
        for i in 0..proof.siblings.len() {
            for bit in [0usize, 77, 255] {
                let mut p = proof.clone();
                p.siblings[i].hash[bit / 8] ^= 0x80 >> (bit % 8);
                fails(&p, "changed sibling hash");
            }
            for flip in [1u8, 2, 0x80] {
                let mut p = proof.clone();
                p.siblings[i].depth ^= flip;
                fails(&p, "changed sibling depth");
            }
            let mut p = proof.clone();
            p.siblings.remove(i);
            fails(&p, "dropped sibling");
        }
        let mut p = proof.clone();
        p.siblings.push(MapSibling {
            depth: 255,
            hash: [0; 32],
        });
        fails(&p, "extra sibling");
        if let MapTerminal::Leaf { key: k, value_hash } = proof.terminal {
            for bit in [0usize, 100, 255] {
                let mut changed = k;
                changed[bit / 8] ^= 0x80 >> (bit % 8);
                let p = MapProof {
                    siblings: proof.siblings.clone(),
                    terminal: MapTerminal::Leaf {
                        key: changed,
                        value_hash,
                    },
                };
                fails(&p, "changed terminal key");
                let mut changed = value_hash;
                changed[bit / 8] ^= 0x80 >> (bit % 8);
                let p = MapProof {
                    siblings: proof.siblings.clone(),
                    terminal: MapTerminal::Leaf {
                        key: k,
                        value_hash: changed,
                    },
                };
                fails(&p, "changed terminal value hash");
            }
            let p = MapProof {
                siblings: vec![],
                terminal: MapTerminal::Empty,
            };
            fails(&p, "empty terminal");
        }
        let mut other_root = *root;
        other_root[3] ^= 1;
        assert!(verify_map_proof(&other_root, key, proof).is_err());
        if *root != empty_root() {
            assert!(verify_map_proof(&empty_root(), key, proof).is_err());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn membership_and_absence_proofs_verify(keys in keys(), absent in prop::collection::vec(any::<Hash>(), 8), salt: u8) {
            let set: BTreeMap<Hash, Hash> = keys.iter().map(|k| (*k, sha(&[k, &[salt]]))).collect();
            let map = MapSnapshot::build(set.iter().rev().map(|(k, v)| (*k, *v)).collect()).unwrap();
            let root = map.root();
            prop_assert_eq!(root, reference_root(&set));
            prop_assert_eq!(map.len(), set.len());
            prop_assert_eq!(map.iter().copied().collect::<Vec<_>>(), set.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());

            for (k, v) in &set {
                prop_assert_eq!(map.get(k), Some(*v));
                let proof = map.prove(k);
                prop_assert_eq!(verify_map_proof(&root, k, &proof), Ok(Some(*v)));
            }
            // Absent keys: random ones, and each present key with its last
            // bit flipped (a path as deep as the tree goes).
            let neighbours = set.keys().map(|k| { let mut n = *k; n[31] ^= 1; n });
            for k in absent.iter().copied().chain(neighbours).filter(|k| !set.contains_key(k)) {
                prop_assert_eq!(map.get(&k), None);
                let proof = map.prove(&k);
                prop_assert_eq!(verify_map_proof(&root, &k, &proof), Ok(None));
            }
        }

        #[test]
        fn changed_proofs_and_other_roots_fail(keys in keys(), absent: Hash, pick in any::<prop::sample::Index>()) {
            let map = MapSnapshot::build(keys.iter().map(|k| (*k, sha(&[k]))).collect::<BTreeMap<_, _>>().into_iter().collect()).unwrap();
            let root = map.root();
            let present: Vec<Hash> = map.iter().map(|(k, _)| *k).collect();
            let mut targets = vec![absent];
            if !present.is_empty() {
                targets.push(present[pick.index(present.len())]);
            }
            for key in targets {
                let proof = map.prove(&key);
                assert_tampering_fails(&root, &key, &proof);
            }
        }

        #[test]
        fn a_proof_for_one_key_never_says_anything_false_about_another(keys in keys(), others in prop::collection::vec(any::<Hash>(), 4), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let map = MapSnapshot::build(keys.iter().map(|k| (*k, sha(&[k]))).collect::<BTreeMap<_, _>>().into_iter().collect()).unwrap();
            let root = map.root();
            let present: Vec<Hash> = map.iter().map(|(k, _)| *k).collect();
            let mut candidates = others.clone();
            if !present.is_empty() {
                candidates.push(present[a.index(present.len())]);
                candidates.push(present[b.index(present.len())]);
                // Absent, and on the same path as a present key.
                let mut neighbour = present[a.index(present.len())];
                neighbour[31] ^= 1;
                candidates.push(neighbour);
            }
            for k in &candidates {
                let proof = map.prove(k);
                for other in candidates.iter().filter(|o| *o != k) {
                    // A proof may hold for another key too (the same path
                    // shows both absent, or ends at the other key's own
                    // leaf), but then it tells the truth about it.
                    if let Ok(answer) = verify_map_proof(&root, other, &proof) {
                        prop_assert_eq!(answer, map.get(other));
                    }
                    // In particular, a membership proof for k never
                    // verifies for another key that is present.
                    if map.get(k).is_some() && map.get(other).is_some() {
                        prop_assert!(verify_map_proof(&root, other, &proof).is_err());
                    }
                }
            }
        }

        #[test]
        fn verifier_never_panics(root: Hash, key: Hash, depths in prop::collection::vec(any::<u8>(), 0..300), leaf_key: Hash, value_hash: Hash, empty: bool) {
            let proof = MapProof {
                siblings: depths.into_iter().map(|depth| MapSibling { depth, hash: root }).collect(),
                terminal: if empty { MapTerminal::Empty } else { MapTerminal::Leaf { key: leaf_key, value_hash } },
            };
            let _ = verify_map_proof(&root, &key, &proof);
        }
    }
}
