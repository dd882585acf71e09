//! The Custody ledger.
//!
//! Pure core (no I/O): [`merkle`] (RFC 6962 trees and proofs), [`entry`]
//! (canonical entry bytes and hashes), [`checkpoint`] (signed heads),
//! [`partition`] (customer to shard). I/O edge: [`store`] (RocksDB reads),
//! [`fold`] (the single writer), [`verify`] (full re-verification).

pub mod checkpoint;
pub mod entry;
pub mod fold;
pub mod keys;
pub mod merkle;
pub mod partition;
pub mod rebuild;
pub mod store;
pub mod verify;

pub use checkpoint::{Checkpoint, ShardHead};
pub use entry::{Entry, SourcePosition};
pub use fold::{FoldOptions, FoldSummary, Ledger, Outcome, Record, EMBEDDED_TOPIC};
pub use merkle::Hash;
pub use rebuild::{rebuild_and_compare, RebuildReport};
pub use store::{QuarantinedRecord, Store, StoreError};
pub use verify::{verify_store, Problem, VerifyReport};
