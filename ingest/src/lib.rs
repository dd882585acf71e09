//! Sources that feed the fold and the sink services emit through: batch
//! intake (HTTP bodies), file import, the Kafka consumer and emitter, and
//! the counters `/metrics` shows. (The demo workload lives in
//! `custody-testkit`.)

pub mod import;
pub mod intake;
pub mod kafka;
pub mod metrics;

pub use intake::{parse_batch, Accepted, Format, IntakeError};
