//! A compressed sparse Merkle map over 32-byte keys: per shard, Custody
//! commits to customer map key → value hash with it (`crate::completeness`).
//! Rebuilt whole at each checkpoint, so the type is an immutable snapshot
//! built from its leaves, with every internal hash kept for proofs.
//!
//! Format (part of what a verifier recomputes):
//! - bit d of a key (d = 0..=255) is `(key[d / 8] >> (7 - d % 8)) & 1`;
//! - empty map root: `SHA-256("custody map v1 empty")`;
//! - leaf: `SHA-256(0x00 || key || value_hash)`;
//! - the tree is the compressed binary trie of the keys: one key is its leaf;
//!   two or more split at the first bit d where they do not all agree, left
//!   those with bit d = 0; node: `SHA-256(0x01 || d || left || right)`.
//! - a proof for key k: the siblings on k's path, root first, each with its
//!   depth, and the terminal reached: the empty map, or a leaf (k's own:
//!   membership; another key's: k is absent, since in the trie it could only
//!   be where its bits lead).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::hex_hash;
use crate::merkle::Hash;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("key {0} appears twice")]
    DuplicateKey(String),
    #[error("sibling depths are not strictly increasing from the root")]
    DepthOrder,
    #[error("the terminal leaf does not lie on the key's path")]
    OffPath,
    #[error("an empty terminal with siblings")]
    EmptyWithSiblings,
    #[error("the proof does not lead to the map root")]
    RootMismatch,
}

pub fn bit(key: &Hash, d: u8) -> u8 {
    (key[usize::from(d / 8)] >> (7 - d % 8)) & 1
}

pub fn empty_root() -> Hash {
    Sha256::digest(b"custody map v1 empty").into()
}

pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(key);
    h.update(value_hash);
    h.finalize().into()
}

fn node_hash(depth: u8, left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8, depth]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// First bit at which two different keys differ.
fn first_difference(a: &Hash, b: &Hash) -> u8 {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let diff = x ^ y;
        if diff != 0 {
            return (i * 8) as u8 + diff.leading_zeros() as u8;
        }
    }
    255
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MapSibling {
    pub depth: u8,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub hash: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum MapTerminal {
    Empty,
    Leaf {
        #[serde(with = "hex_hash")]
        #[cfg_attr(feature = "schema", schemars(with = "String"))]
        key: Hash,
        #[serde(with = "hex_hash")]
        #[cfg_attr(feature = "schema", schemars(with = "String"))]
        value_hash: Hash,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MapProof {
    pub siblings: Vec<MapSibling>,
    pub terminal: MapTerminal,
}

/// A node of the snapshot: leaves are `lo..lo + 1` ranges of the sorted keys.
#[derive(Debug, Clone)]
struct Node {
    hash: Hash,
    /// For an internal node: its depth and children's indices.
    split: Option<(u8, u32, u32)>,
    /// For a leaf: its index in the sorted leaves.
    leaf: u32,
}

/// An immutable map with every node hash kept.
#[derive(Debug, Clone)]
pub struct MapSnapshot {
    leaves: Vec<(Hash, Hash)>,
    nodes: Vec<Node>,
    root: Option<u32>,
}

impl MapSnapshot {
    /// Leaves in any order; a repeated key is an error.
    pub fn build(mut leaves: Vec<(Hash, Hash)>) -> Result<Self, MapError> {
        leaves.sort_unstable_by_key(|l| l.0);
        if let Some(w) = leaves.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(MapError::DuplicateKey(hex::encode(w[0].0)));
        }
        let mut nodes = Vec::with_capacity(leaves.len().saturating_mul(2));
        let root = if leaves.is_empty() {
            None
        } else {
            Some(build_range(&leaves, 0, leaves.len(), &mut nodes))
        };
        Ok(MapSnapshot {
            leaves,
            nodes,
            root,
        })
    }

    pub fn root(&self) -> Hash {
        self.root
            .map_or_else(empty_root, |i| self.nodes[i as usize].hash)
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    pub fn get(&self, key: &Hash) -> Option<Hash> {
        self.leaves
            .binary_search_by(|l| l.0.cmp(key))
            .ok()
            .map(|i| self.leaves[i].1)
    }

    /// Membership or non-membership proof of `key`.
    pub fn prove(&self, key: &Hash) -> MapProof {
        let Some(mut at) = self.root else {
            return MapProof {
                siblings: Vec::new(),
                terminal: MapTerminal::Empty,
            };
        };
        let mut siblings = Vec::new();
        loop {
            let node = &self.nodes[at as usize];
            match node.split {
                Some((depth, left, right)) => {
                    let (next, other) = if bit(key, depth) == 0 {
                        (left, right)
                    } else {
                        (right, left)
                    };
                    siblings.push(MapSibling {
                        depth,
                        hash: self.nodes[other as usize].hash,
                    });
                    at = next;
                }
                None => {
                    let (k, v) = self.leaves[node.leaf as usize];
                    return MapProof {
                        siblings,
                        terminal: MapTerminal::Leaf {
                            key: k,
                            value_hash: v,
                        },
                    };
                }
            }
        }
    }
}

/// Builds the subtree of sorted `leaves[lo..hi]` (non-empty), returns its index.
fn build_range(leaves: &[(Hash, Hash)], lo: usize, hi: usize, nodes: &mut Vec<Node>) -> u32 {
    if hi - lo == 1 {
        let (k, v) = &leaves[lo];
        nodes.push(Node {
            hash: leaf_hash(k, v),
            split: None,
            leaf: lo as u32,
        });
        return (nodes.len() - 1) as u32;
    }
    // Sorted: the first and last keys differ first where any two do.
    let depth = first_difference(&leaves[lo].0, &leaves[hi - 1].0);
    let mid = lo + leaves[lo..hi].partition_point(|l| bit(&l.0, depth) == 0);
    let left = build_range(leaves, lo, mid, nodes);
    let right = build_range(leaves, mid, hi, nodes);
    let hash = node_hash(
        depth,
        &nodes[left as usize].hash,
        &nodes[right as usize].hash,
    );
    nodes.push(Node {
        hash,
        split: Some((depth, left, right)),
        leaf: 0,
    });
    (nodes.len() - 1) as u32
}

/// Checks `proof` for `key` against `root`: `Some(value hash)` when the key
/// is in the map, `None` when the proof shows it is not.
pub fn verify_map_proof(
    root: &Hash,
    key: &Hash,
    proof: &MapProof,
) -> Result<Option<Hash>, MapError> {
    for pair in proof.siblings.windows(2) {
        if pair[0].depth >= pair[1].depth {
            return Err(MapError::DepthOrder);
        }
    }
    let (mut h, found) = match &proof.terminal {
        MapTerminal::Empty => {
            if !proof.siblings.is_empty() {
                return Err(MapError::EmptyWithSiblings);
            }
            (empty_root(), None)
        }
        MapTerminal::Leaf { key: k, value_hash } => {
            if proof
                .siblings
                .iter()
                .any(|s| bit(k, s.depth) != bit(key, s.depth))
            {
                return Err(MapError::OffPath);
            }
            (leaf_hash(k, value_hash), (k == key).then_some(*value_hash))
        }
    };
    for s in proof.siblings.iter().rev() {
        h = if bit(key, s.depth) == 0 {
            node_hash(s.depth, &h, &s.hash)
        } else {
            node_hash(s.depth, &s.hash, &h)
        };
    }
    if h == *root {
        Ok(found)
    } else {
        Err(MapError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn k(first: u8, last: u8) -> Hash {
        let mut key = [0u8; 32];
        key[0] = first;
        key[31] = last;
        key
    }

    #[test]
    fn small_maps_hash_as_specified() {
        assert_eq!(MapSnapshot::build(vec![]).unwrap().root(), empty_root());
        let a = (k(0x00, 1), [7; 32]);
        let one = MapSnapshot::build(vec![a]).unwrap();
        assert_eq!(one.root(), leaf_hash(&a.0, &a.1));
        // Differ at bit 0.
        let b = (k(0x80, 1), [8; 32]);
        let two = MapSnapshot::build(vec![b, a]).unwrap();
        assert_eq!(
            two.root(),
            node_hash(0, &leaf_hash(&a.0, &a.1), &leaf_hash(&b.0, &b.1))
        );
        // Differ at bit 250 (the last byte's third bit... 248 + 2).
        let c = (k(0x00, 0x21), [9; 32]);
        let three = MapSnapshot::build(vec![a, b, c]).unwrap();
        let low = node_hash(
            first_difference(&a.0, &c.0),
            &leaf_hash(&a.0, &a.1),
            &leaf_hash(&c.0, &c.1),
        );
        assert_eq!(first_difference(&a.0, &c.0), 250);
        assert_eq!(three.root(), node_hash(0, &low, &leaf_hash(&b.0, &b.1)));
        assert_eq!(
            MapSnapshot::build(vec![a, a]).unwrap_err(),
            MapError::DuplicateKey(hex::encode(a.0))
        );
    }

    proptest! {
        #[test]
        fn proofs_show_membership_and_absence(
            keys in proptest::collection::btree_set(any::<[u8; 32]>(), 0..120),
            probe in any::<[u8; 32]>(),
        ) {
            let leaves: Vec<(Hash, Hash)> = keys.iter().map(|k| (*k, Sha256::digest(k).into())).collect();
            let map = MapSnapshot::build(leaves.clone()).unwrap();
            let root = map.root();
            for (key, value) in &leaves {
                let proof = map.prove(key);
                prop_assert_eq!(verify_map_proof(&root, key, &proof), Ok(Some(*value)));
                // Not for another key, not with a changed sibling.
                if !proof.siblings.is_empty() {
                    let mut bad = proof.clone();
                    bad.siblings[0].hash[0] ^= 1;
                    prop_assert!(verify_map_proof(&root, key, &bad).is_err());
                    let mut bad = proof.clone();
                    bad.siblings[0].depth = bad.siblings[0].depth.wrapping_add(1);
                    prop_assert!(verify_map_proof(&root, key, &bad) != Ok(Some(*value)));
                }
                let mut bad = proof.clone();
                if let MapTerminal::Leaf { value_hash, .. } = &mut bad.terminal {
                    value_hash[5] ^= 1;
                }
                prop_assert!(verify_map_proof(&root, key, &bad).is_err());
                prop_assert!(verify_map_proof(&[0; 32], key, &proof).is_err());
            }
            let expected = map.get(&probe);
            prop_assert_eq!(verify_map_proof(&root, &probe, &map.prove(&probe)), Ok(expected));
            prop_assert_eq!(expected.is_some(), keys.contains(&probe));
        }
    }
}
