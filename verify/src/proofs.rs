//! The proof sections a report carries (`?proofs=true`,
//! `custody report --proofs`): every entry the report relies on with its
//! inclusion proof at the report's checkpoint, and consistency proofs
//! between checkpoints. Which entries a report relies on is
//! [`crate::reports::Report::relied`]; reading them from storage is the
//! server's business.

use serde::{Deserialize, Serialize};

use crate::checkpoint::hex_hash;
use crate::merkle::Hash;
use crate::Checkpoint;

/// Report names as they appear in `proofs.report`.
pub const ACCESS_HISTORY: &str = "access-history";
pub const DISCLOSURE: &str = "disclosure";
pub const RESIDENCY: &str = "residency";
pub const LAW_ENFORCEMENT: &str = "law-enforcement";
pub const FINDINGS: &str = "findings";

/// The `proofs` section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Proofs {
    /// Which builder made the document (one of the constants above).
    pub report: String,
    /// The signed checkpoint the inclusion proofs lead to (the same as the
    /// document's), so the section stands on its own.
    pub checkpoint: Checkpoint,
    /// Every entry the report relies on, in (shard, seq) order.
    pub entries: Vec<EntryProof>,
    /// For a report about one customer: the proof that `entries` hold every
    /// entry of the customer the report's window covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness: Option<crate::completeness::Completeness>,
}

/// One entry: its stored bytes and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct EntryProof {
    pub shard: u32,
    pub seq: u64,
    /// Hex of the stored value: canonical entry bytes followed by their
    /// SHA-256 (ARCHITECTURE.md, "Entry format").
    pub entry: String,
    /// RFC 6962 inclusion proof of leaf `seq` in the shard's tree at the
    /// checkpoint's size, hex hashes from the leaf up. Empty (and left out)
    /// for an entry the `completeness` section commits as a leaf of the
    /// customer's tree: the section's leaves rebuild that tree, whose root
    /// the signed customer map holds, so the entry is proven without a
    /// path of its own (a compact proof; `?proofs=full` adds the paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inclusion: Vec<String>,
}

/// Consistency of one shard's tree between two sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShardConsistency {
    pub shard: u32,
    pub from_size: u64,
    pub to_size: u64,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub from_root: Hash,
    #[serde(with = "hex_hash")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub to_root: Hash,
    /// RFC 6962 consistency proof, hex hashes.
    pub proof: Vec<String>,
}

/// The `consistency` section: the report's checkpoint extends `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Consistency {
    /// The earlier signed checkpoint (the one the request named).
    pub from: Checkpoint,
    /// One proof per shard of `from`.
    pub shards: Vec<ShardConsistency>,
}
