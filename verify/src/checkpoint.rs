//! Signed checkpoints: every shard's size and Merkle root, signed with the
//! ledger's Ed25519 key.
//!
//! The signed message is a small text note (in the spirit of Go's sumdb
//! notes), so that anyone can reproduce it from the JSON fields:
//!
//! ```text
//! custody checkpoint v2
//! key <hex of the public key>
//! vrf <hex of the VRF public key of the customer maps>
//! number <n>
//! issued_at_ms <ms>
//! shard <id> <size> <root hex> <map root hex>    one line per shard, ascending id
//! ```
//!
//! A checkpoint without a VRF key and map roots (signed before the customer
//! maps existed) uses `custody checkpoint v1`, without the `vrf` line and
//! the map roots; both verify.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::merkle::Hash;

/// Head of one shard at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShardHead {
    pub shard: u32,
    pub size: u64,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub root: Hash,
    /// Root of the shard's customer map at this size (`crate::completeness`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_hash"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub map_root: Option<Hash>,
}

/// A signed statement of every shard's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Checkpoint {
    /// Increases by one with every checkpoint this ledger signs.
    pub number: u64,
    /// Wall-clock time of signing: informative only, never part of an entry.
    pub issued_at_ms: i64,
    /// Hex of the Ed25519 public key that signed it.
    pub key: String,
    /// Hex of the ledger's VRF public key, which keys the customer maps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf_key: Option<String>,
    pub shards: Vec<ShardHead>,
    /// Hex of the Ed25519 signature over [`Checkpoint::signed_message`].
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint signature is not valid hex or not 64 bytes")]
    MalformedSignature,
    #[error("public key is not valid hex or not a valid Ed25519 key")]
    MalformedKey,
    #[error("checkpoint was signed by key {signed_by}, expected {expected}")]
    WrongKey { signed_by: String, expected: String },
    #[error("checkpoint signature does not verify")]
    BadSignature,
    #[error("checkpoint lists shard {0} more than once or out of order")]
    ShardOrder(u32),
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn signed_message(&self) -> String {
        let v2 = self.vrf_key.is_some() || self.shards.iter().any(|h| h.map_root.is_some());
        let mut s = if v2 {
            format!(
                "custody checkpoint v2\nkey {}\nvrf {}\nnumber {}\nissued_at_ms {}\n",
                self.key,
                self.vrf_key.as_deref().unwrap_or("-"),
                self.number,
                self.issued_at_ms
            )
        } else {
            format!(
                "custody checkpoint v1\nkey {}\nnumber {}\nissued_at_ms {}\n",
                self.key, self.number, self.issued_at_ms
            )
        };
        for h in &self.shards {
            s.push_str(&format!(
                "shard {} {} {}",
                h.shard,
                h.size,
                hex::encode(h.root)
            ));
            if v2 {
                s.push(' ');
                s.push_str(&h.map_root.map_or_else(|| "-".to_string(), hex::encode));
            }
            s.push('\n');
        }
        s
    }

    /// Builds and signs a checkpoint without customer maps; shards are
    /// sorted by id.
    pub fn sign(key: &SigningKey, number: u64, issued_at_ms: i64, shards: Vec<ShardHead>) -> Self {
        Self::sign_with(key, None, number, issued_at_ms, shards)
    }

    /// Builds and signs a checkpoint stating the VRF key of its customer
    /// maps (hex) along with the heads and map roots.
    pub fn sign_with(
        key: &SigningKey,
        vrf_key: Option<String>,
        number: u64,
        issued_at_ms: i64,
        mut shards: Vec<ShardHead>,
    ) -> Self {
        shards.sort_by_key(|h| h.shard);
        let mut cp = Checkpoint {
            number,
            issued_at_ms,
            key: hex::encode(key.verifying_key().as_bytes()),
            vrf_key,
            shards,
            signature: String::new(),
        };
        let sig = key.sign(cp.signed_message().as_bytes());
        cp.signature = hex::encode(sig.to_bytes());
        cp
    }

    /// Checks the signature against the expected public key.
    pub fn verify(&self, expected: &VerifyingKey) -> Result<(), CheckpointError> {
        let expected_hex = hex::encode(expected.as_bytes());
        if self.key != expected_hex {
            return Err(CheckpointError::WrongKey {
                signed_by: self.key.clone(),
                expected: expected_hex,
            });
        }
        for pair in self.shards.windows(2) {
            if pair[0].shard >= pair[1].shard {
                return Err(CheckpointError::ShardOrder(pair[1].shard));
            }
        }
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::MalformedSignature)?;
        let sig = Signature::from_bytes(&bytes);
        expected
            .verify(self.signed_message().as_bytes(), &sig)
            .map_err(|_| CheckpointError::BadSignature)
    }

    pub fn shard(&self, shard: u32) -> Option<&ShardHead> {
        self.shards.iter().find(|h| h.shard == shard)
    }
}

/// Parses a hex public key (as printed by `custody key export`).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, CheckpointError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(CheckpointError::MalformedKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| CheckpointError::MalformedKey)
}

/// Serde helper: 32-byte hashes as lower-case hex strings.
pub mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex characters"))
    }
}

/// Serde helper: an optional 32-byte hash as lower-case hex.
pub mod opt_hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&hex::encode(h)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        hex::decode(&text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn heads() -> Vec<ShardHead> {
        vec![
            ShardHead {
                shard: 1,
                size: 5,
                root: [2; 32],
                map_root: None,
            },
            ShardHead {
                shard: 0,
                size: 9,
                root: [1; 32],
                map_root: None,
            },
        ]
    }

    #[test]
    fn signs_and_verifies() {
        let k = key(1);
        let cp = Checkpoint::sign(&k, 3, 1000, heads());
        assert_eq!(cp.shards[0].shard, 0);
        cp.verify(&k.verifying_key()).unwrap();
        let json = serde_json::to_string(&cp).unwrap();
        let back: Checkpoint = serde_json::from_str(&json).unwrap();
        back.verify(&k.verifying_key()).unwrap();
    }

    #[test]
    fn rejects_changes_and_other_keys() {
        let k = key(1);
        let cp = Checkpoint::sign(&k, 3, 1000, heads());
        let mut changed = cp.clone();
        changed.shards[0].size += 1;
        assert_eq!(
            changed.verify(&k.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let other = Checkpoint::sign(&key(2), 3, 1000, heads());
        // A v2 checkpoint binds its VRF key and map roots.
        let mut with_maps = heads();
        with_maps[0].map_root = Some([7; 32]);
        let v2 = Checkpoint::sign_with(&k, Some("ab".repeat(32)), 4, 1000, with_maps);
        assert!(v2.signed_message().starts_with("custody checkpoint v2\n"));
        v2.verify(&k.verifying_key()).unwrap();
        let json = serde_json::to_string(&v2).unwrap();
        serde_json::from_str::<Checkpoint>(&json)
            .unwrap()
            .verify(&k.verifying_key())
            .unwrap();
        let mut moved = v2.clone();
        moved.shards[1].map_root = Some([8; 32]);
        assert_eq!(
            moved.verify(&k.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        let mut other_vrf = v2.clone();
        other_vrf.vrf_key = Some("cd".repeat(32));
        assert_eq!(
            other_vrf.verify(&k.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        assert!(matches!(
            other.verify(&k.verifying_key()),
            Err(CheckpointError::WrongKey { .. })
        ));
        let mut forged = other.clone();
        forged.key = cp.key.clone();
        assert_eq!(
            forged.verify(&k.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
    }
}
