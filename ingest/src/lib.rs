//! Sources that feed the fold and the sink services emit through: batch
//! intake (parsing HTTP bodies and file lines), the HTTP intake route, file
//! import, the Kafka consumer and emitter, and the counters `/metrics`
//! shows. (The demo workload lives in `custody-testkit`.)
//!
//! Every source hands its records to the one [`folder::Folder`], which owns
//! the ledger writer, the WAL choice (from the source's
//! [`folder::Redelivery`]), the counters and the outcomes.

pub mod folder;
pub mod http;
pub mod import;
pub mod intake;
pub mod kafka;
pub mod metrics;

pub use folder::{Batch, FoldError, Folded, Folder, Redelivery};
pub use intake::{
    check_external, parse_batch, parse_external, Accepted, Arrival, Format, IntakeError,
    DEFAULT_MAX_SKEW_MS,
};
