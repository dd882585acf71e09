//! Test support for the Custody workspace, kept out of the production crates:
//!
//! - [`demo`]: the deterministic demo workload (also behind `custody demo`
//!   and the benchmarks, which is why the binary depends on this crate);
//! - [`events`]: event builders for rule tests;
//! - `ledger` and `tamper` (feature `store`): a demo ledger in a directory,
//!   and RocksDB opened directly to alter what the ledger wrote.
//!
//! Production library crates may use it only as a dev-dependency.

pub mod demo;
pub mod events;
#[cfg(feature = "store")]
pub mod ledger;
#[cfg(feature = "store")]
pub mod tamper;

pub use demo::{generate, DemoParams, Rng};
