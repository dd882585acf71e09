//! A ledger holding the demo workload, folded in-process (what `custody demo
//! --no-serve` does, without the binary).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use custody_ledger::{Ledger, StoreError};
use prost::Message;

use crate::demo::{generate, DemoParams};

/// Folds the default demo workload for `customers` customers into a new (or
/// existing) ledger in `data`, signs a checkpoint and returns the open ledger.
/// Events are folded as their protobuf encoding, in batches like the CLI's.
pub fn demo_ledger(data: &Path, customers: u32) -> Result<Ledger, StoreError> {
    let events = generate(DemoParams {
        customers,
        ..DemoParams::default()
    });
    let mut ledger = Ledger::open(data)?;
    for chunk in events.chunks(4096) {
        let records = ledger.embedded_records(
            chunk
                .iter()
                .map(|e| (e.customer_id.clone(), e.encode_to_vec()))
                .collect(),
        );
        ledger.fold(&records)?;
    }
    ledger.checkpoint(now_ms())?;
    Ok(ledger)
}

/// Wall-clock milliseconds: checkpoints carry a signing time (never an input
/// to an entry, so tests stay deterministic).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
