//! Reading report inputs from the store, at a checkpoint: the
//! [`ReadView`] every report loads through, and [`produce`], the one
//! function that turns a [`Report`]'s parameters into its signed document
//! (with proofs when asked) for the HTTP handlers, `custody report` and the
//! benchmark alike.

use std::collections::{BTreeSet, HashMap};

use custody_ledger::{Checkpoint, Store, StoreError};
use custody_verify::reports::findings::{Filter, FindingKey};
use custody_verify::reports::{item_of, DocumentOf, Item, ReadError, ReadView, Report, Signed};

use crate::proofs::{self, ProofParams, ProofsError};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("entry shard {shard} seq {seq} is indexed but missing")]
    Missing { shard: u32, seq: u64 },
    #[error(transparent)]
    Decode(#[from] custody_verify::reports::DecodeError),
}

impl From<SourceError> for ReadError {
    fn from(e: SourceError) -> Self {
        ReadError::Source(Box::new(e))
    }
}

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Proofs(#[from] ProofsError),
}

/// The store as of a checkpoint: entries past the checkpoint's sizes are
/// not seen, so a report states exactly what its checkpoint covers (and its
/// proofs lead to that checkpoint) however far the fold has moved on.
pub struct StoreView<'a> {
    store: &'a Store,
    sizes: HashMap<u32, u64>,
}

impl<'a> StoreView<'a> {
    pub fn at(store: &'a Store, checkpoint: &Checkpoint) -> Self {
        StoreView {
            store,
            sizes: checkpoint
                .shards
                .iter()
                .map(|h| (h.shard, h.size))
                .collect(),
        }
    }

    fn inside(&self, shard: u32, seq: u64) -> bool {
        self.sizes.get(&shard).is_some_and(|size| seq < *size)
    }

    fn load(&self, shard: u32, seq: u64) -> Result<Item, SourceError> {
        let (entry, hash) = self
            .store
            .entry(shard, seq)?
            .ok_or(SourceError::Missing { shard, seq })?;
        Ok(item_of(entry, hash)?)
    }
}

impl ReadView for StoreView<'_> {
    fn has_customer(&self, customer: &str) -> Result<bool, ReadError> {
        Ok(self
            .store
            .has_customer(customer)
            .map_err(SourceError::from)?)
    }

    fn customer_items(
        &self,
        customer: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Item>, ReadError> {
        let positions = self
            .store
            .customer_positions(customer, from_ms, to_ms, false)
            .map_err(SourceError::from)?;
        Ok(positions
            .into_iter()
            .filter(|(_, shard, seq)| self.inside(*shard, *seq))
            .map(|(_, shard, seq)| self.load(shard, seq))
            .collect::<Result<_, _>>()?)
    }

    fn law_enforcement_items(&self) -> Result<Vec<Item>, ReadError> {
        let mut positions: Vec<(u32, u64)> = self
            .store
            .law_enforcement_positions()
            .map_err(SourceError::from)?
            .into_iter()
            .map(|(_, shard, seq)| (shard, seq))
            .filter(|(shard, seq)| self.inside(*shard, *seq))
            .collect();
        positions.sort_unstable();
        Ok(positions
            .into_iter()
            .map(|(shard, seq)| self.load(shard, seq))
            .collect::<Result<_, _>>()?)
    }

    fn finding_items(&self, filter: &Filter) -> Result<Vec<(FindingKey, Item)>, ReadError> {
        let keys = self
            .store
            .findings(
                filter.state_byte(),
                filter.rule.as_deref(),
                filter.customer.as_deref(),
            )
            .map_err(SourceError::from)?;
        Ok(keys
            .into_iter()
            .filter(|k| self.inside(k.shard, k.seq))
            .map(|k| {
                let item = self.load(k.shard, k.seq)?;
                Ok((k, item))
            })
            .collect::<Result<_, SourceError>>()?)
    }
}

/// Loads, builds and (when asked) proves report `R` at `checkpoint`.
pub fn produce<R: Report>(
    store: &Store,
    checkpoint: &Checkpoint,
    params: R::Params,
    now_ms: i64,
    pp: ProofParams,
) -> Result<DocumentOf<R>, ProduceError> {
    let view = StoreView::at(store, checkpoint);
    let inputs = R::load(&view, &params)?;
    let report = R::build(&inputs, &params, now_ms);
    let proofs = if pp.proofs {
        let mut relied = R::relied(&inputs, &params, now_ms, &report);
        let completeness = R::completeness(&inputs, &params, now_ms)
            .map(|window| {
                crate::completeness::collect(
                    store,
                    checkpoint,
                    &window,
                    pp.since_checkpoint,
                    &mut relied,
                )
            })
            .transpose()?;
        // Entries the completeness section carries as leaves of the
        // customer's tree are proven by it (compact proofs).
        let committed: BTreeSet<(u32, u64)> = match (&completeness, pp.full) {
            (Some(c), false) => c
                .shards
                .iter()
                .flat_map(|s| {
                    let sealed = s.sealed.iter().flat_map(|o| o.leaves.iter());
                    s.leaves.iter().chain(sealed).map(move |l| (s.shard, l.seq))
                })
                .collect(),
            _ => BTreeSet::new(),
        };
        let mut proofs = proofs::collect(store, checkpoint, R::NAME, &relied, &committed)?;
        proofs.completeness = completeness;
        Some(proofs)
    } else {
        None
    };
    let consistency = pp
        .since_checkpoint
        .map(|n| proofs::consistency(store, n, checkpoint))
        .transpose()?;
    let mut doc = Signed::new(R::NAME, params, checkpoint.clone(), now_ms, report);
    doc.proofs = proofs;
    doc.consistency = consistency;
    Ok(doc)
}
