//! Reading report inputs from the store, at a checkpoint: the
//! [`ReadView`] every report loads through, and [`produce`], the one
//! function that turns a [`Report`]'s parameters into its signed document
//! (with proofs when asked) for the HTTP handlers, `custody report` and the
//! benchmark alike.

use std::collections::{BTreeSet, HashMap};

use custody_ledger::{Checkpoint, Store, StoreError};
use custody_verify::reports::findings::{stored_state, Filter, FindingKey};
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

    /// The store as far as it is folded (every head), for readers that do
    /// not answer at a checkpoint (`custody findings`).
    pub fn latest(store: &'a Store) -> Result<Self, StoreError> {
        Ok(StoreView {
            store,
            sizes: store
                .heads()?
                .into_iter()
                .map(|(shard, head)| (shard, head.size))
                .collect(),
        })
    }

    fn inside(&self, shard: u32, seq: u64) -> bool {
        self.sizes.get(&shard).is_some_and(|size| seq < *size)
    }

    /// The entry at a position, if the view covers it (None past it).
    pub fn item(&self, shard: u32, seq: u64) -> Result<Option<Item>, SourceError> {
        if !self.inside(shard, seq) {
            return Ok(None);
        }
        self.load(shard, seq).map(Some)
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
        let rule = filter.rule.as_deref();
        let customer = filter.customer.as_deref();
        // Shown states are derived from stored ones (provisional and
        // withdrawn from recorded, pending from open): scan the stored one.
        let asked = filter.state_byte();
        let keys = self
            .store
            .findings(asked.map(stored_state), rule, customer)
            .map_err(SourceError::from)?;
        // Withdrawal markers of the breaches, by (rule, customer, shard, seq).
        let withdrawn: BTreeSet<(String, String, u32, u64)> = self
            .store
            .findings(Some(b'w'), rule, customer)
            .map_err(SourceError::from)?
            .into_iter()
            .map(|k| (k.rule, k.customer, k.shard, k.seq))
            .collect();
        let mut times = HashMap::new();
        let mut out = Vec::new();
        for mut k in keys {
            if k.state == b'w' || !self.inside(k.shard, k.seq) {
                continue;
            }
            let item = self.load(k.shard, k.seq)?;
            let time = match times.entry(k.shard) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.store.event_time(k.shard).map_err(SourceError::from)?)
                }
            };
            k.state = shown_state(&k, &item, &withdrawn, time);
            if filter.matches(&k) {
                out.push((k, item));
            }
        }
        Ok(out)
    }
}

/// The state a report shows for a stored findings key: a recorded breach
/// is `x` withdrawn (a marker names it), else `p` provisional while its
/// rule takes late evidence and the shard's watermark has not passed it
/// plus the lateness; an open key of an obligation is `b` pending until the
/// watermark passes its deadline plus the lateness, then an open finding.
/// (The watermark is the shard's latest, which may run past the report's
/// checkpoint by up to one checkpoint interval.)
fn shown_state(
    k: &FindingKey,
    item: &Item,
    withdrawn: &BTreeSet<(String, String, u32, u64)>,
    time: &custody_policy::EventTime,
) -> u8 {
    match k.state {
        b'r' => {
            if withdrawn.contains(&(k.rule.clone(), k.customer.clone(), k.shard, k.seq)) {
                b'x'
            } else if custody_policy::rule(&k.rule).is_some_and(|r| r.late_evidence.is_some())
                && time.open_at(item.at_ms())
            {
                b'p'
            } else {
                b'r'
            }
        }
        b'o' => {
            let due = item.verdicts.iter().find_map(|v| match v.effect {
                custody_policy::Effect::Obligation { due_ms } if v.rule == k.rule => Some(due_ms),
                _ => None,
            });
            match due {
                Some(due) if time.open_at(due) => b'b',
                _ => b'o',
            }
        }
        other => other,
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
