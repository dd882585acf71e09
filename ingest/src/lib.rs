//! Sources that feed the fold and the sink services emit through: batch
//! intake (HTTP bodies), file import, the Kafka consumer and emitter, the
//! demo workload generator, and the counters `/metrics` shows.

pub mod demo;
pub mod import;
pub mod intake;
pub mod kafka;
pub mod metrics;

pub use intake::{parse_batch, Accepted, Format, IntakeError};
