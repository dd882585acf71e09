//! The Custody ledger.
//!
//! Pure core (no I/O): [`merkle`], [`entry`] and [`checkpoint`] live in
//! `custody-verify` (what a customer needs to check a document) and are
//! re-exported here; [`partition`] (customer to shard). I/O edge: [`store`]
//! (RocksDB reads), [`fold`] (the single writer), [`verify`] (full
//! re-verification), [`rebuild`].

pub use custody_verify::{checkpoint, entry, merkle};

pub mod customers;
pub mod fold;
pub mod keys;
pub mod partition;
pub mod rebuild;
pub mod store;
mod tree_keeper;
pub mod verify;
pub mod verify_maps;

pub use checkpoint::{Checkpoint, ShardHead};
pub use entry::{Entry, SourcePosition};
pub use fold::{Conflict, FoldOptions, FoldSummary, Ledger, Outcome, Record, EMBEDDED_TOPIC};
pub use merkle::Hash;
pub use rebuild::{rebuild_and_compare, rebuild_and_compare_with, RebuildProgress, RebuildReport};
pub use store::{QuarantinedRecord, Store, StoreError};
pub use verify::{verify_store, Problem, VerifyReport};
