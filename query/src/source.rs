//! Reading report inputs from the store: entries decoded into
//! [`crate::reports::Item`]s. The only I/O the reports need; shared by the
//! HTTP handlers and the `custody report` command.

use custody_ledger::keys::FindingKey;
use custody_ledger::{Entry, Hash, Store, StoreError};
use custody_proto::{Event, Kind};
use prost::Message;

use crate::reports::Item;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("entry shard {shard} seq {seq} is indexed but missing")]
    Missing { shard: u32, seq: u64 },
    #[error("entry shard {shard} seq {seq}: event does not decode: {reason}")]
    Decode {
        shard: u32,
        seq: u64,
        reason: String,
    },
}

/// Decodes the event of an entry (its bytes were validated when folded).
pub fn item_of(entry: Entry, hash: Hash) -> Result<Item, SourceError> {
    let event = Event::decode(entry.event.as_slice()).map_err(|e| SourceError::Decode {
        shard: entry.shard,
        seq: entry.seq,
        reason: e.to_string(),
    })?;
    Ok(Item {
        shard: entry.shard,
        seq: entry.seq,
        hash,
        source: entry.source,
        event,
        verdicts: entry.verdicts,
    })
}

fn load(store: &Store, shard: u32, seq: u64) -> Result<Item, SourceError> {
    let (entry, hash) = store
        .entry(shard, seq)?
        .ok_or(SourceError::Missing { shard, seq })?;
    item_of(entry, hash)
}

/// A customer's items with occurred-at in `[from_ms, to_ms)`, oldest first.
pub fn customer_items(
    store: &Store,
    customer: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Item>, SourceError> {
    store
        .customer_positions(customer, from_ms, to_ms, false)?
        .into_iter()
        .map(|(_, shard, seq)| load(store, shard, seq))
        .collect()
}

/// Every law-enforcement item of every customer, in ledger order (shard,
/// seq), read through the by-request index.
pub fn law_enforcement_items(store: &Store) -> Result<Vec<Item>, SourceError> {
    let mut positions: Vec<(u32, u64)> = store
        .law_enforcement_positions()?
        .into_iter()
        .map(|(_, shard, seq)| (shard, seq))
        .collect();
    positions.sort_unstable();
    positions
        .into_iter()
        .map(|(shard, seq)| load(store, shard, seq))
        .collect()
}

/// Findings index keys with the entries they point at.
pub fn finding_items(
    store: &Store,
    state: Option<u8>,
    rule: Option<&str>,
    customer: Option<&str>,
) -> Result<Vec<(FindingKey, Item)>, SourceError> {
    store
        .findings(state, rule, customer)?
        .into_iter()
        .map(|k| {
            let item = load(store, k.shard, k.seq)?;
            Ok((k, item))
        })
        .collect()
}

/// Whether an event is a law-enforcement disclosure (the only access the
/// customer's copy may have to withhold).
pub fn is_disclosure(item: &Item) -> bool {
    matches!(item.event.kind, Some(Kind::LawEnforcementDisclosed(_)))
}
