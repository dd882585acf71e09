//! `custody-verify`: everything a customer or auditor needs to check a
//! Custody document, and nothing else. It knows nothing of RocksDB, Kafka or
//! HTTP serving (a test reads `cargo metadata` and fails if it ever does), so
//! it builds in a minute instead of half an hour.
//!
//! - [`entry`]: the canonical entry bytes and their hash;
//! - [`merkle`]: RFC 6962 trees, inclusion and consistency proofs;
//! - [`checkpoint`]: signed statements of every shard's head;
//! - [`note`]: the C2SP formats (signed notes, verifier keys,
//!   `tlog-checkpoint`, `tlog-proof`) for each shard's log;
//! - [`reports`]: the pure report builders and the [`reports::Report`]
//!   pipeline (parameters, load from a [`reports::ReadView`], build, the
//!   entries a report relies on) that the server, the CLI, the benchmark and
//!   the checker all go through;
//! - [`proofs`]: the proof sections a report carries;
//! - [`check`]: the offline checker of a report with proofs;
//! - [`cli`]: the `custody-verify` command (also `custody verify-report`).

pub mod check;
pub mod checkpoint;
pub mod cli;
pub mod completeness;
pub mod cosign;
pub mod entry;
pub mod map;
pub mod merkle;
pub mod note;
pub mod proofs;
pub mod reports;
pub mod vrf;
pub mod witnessed;

pub use checkpoint::{Checkpoint, ShardHead};
pub use entry::{Entry, SourcePosition};
pub use merkle::Hash;
