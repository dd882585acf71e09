//! Rebuild: proof that everything but the entries is derived from them.
//!
//! The entries (and the quarantined records, which hold the source positions
//! that produced no entry) are replayed through the ordinary fold into a
//! scratch store, in the order each source partition delivered them. Every
//! column family of the scratch store — entries (so verdicts too), Merkle
//! nodes, indexes, findings, policy state, heads and offsets — must equal the
//! stored one byte for byte.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use rocksdb::IteratorMode;

use crate::entry::Entry;
use crate::fold::{Ledger, Record};
use crate::keys::{self, *};
use crate::store::{QuarantinedRecord, Result, Store, StoreError};

/// Column families compared after the replay.
pub const COMPARED: &[&str] = &[
    CF_ENTRIES,
    CF_TREE,
    CF_BY_CUSTOMER,
    CF_BY_EVENT,
    CF_FINDINGS,
    CF_STATE,
    CF_BY_REQUEST,
    CF_META,
    CF_QUARANTINE,
];

/// How a column family of the rebuilt store compares with the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfComparison {
    pub cf: &'static str,
    pub keys: u64,
    pub differing: u64,
    /// The first differing key, hex, when any.
    pub first_difference: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RebuildReport {
    pub entries_replayed: u64,
    pub quarantined_replayed: u64,
    pub comparisons: Vec<CfComparison>,
}

impl RebuildReport {
    pub fn identical(&self) -> bool {
        self.comparisons.iter().all(|c| c.differing == 0)
    }
}

const BATCH: usize = 4096;

/// What a rebuild is doing, for a progress display: it takes seconds to
/// minutes on a large ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildProgress {
    /// Records replayed so far (after each batch).
    Replayed { entries: u64, quarantined: u64 },
    /// Comparing this column family of the rebuilt store with the stored one.
    Comparing { cf: &'static str },
}

/// Replays `store` into a fresh store at `scratch` and compares them.
pub fn rebuild_and_compare(store: &Store, scratch: &Path) -> Result<RebuildReport> {
    rebuild_and_compare_with(store, scratch, |_| {})
}

/// [`rebuild_and_compare`], telling `progress` after each replayed batch and
/// before each column family is compared.
pub fn rebuild_and_compare_with(
    store: &Store,
    scratch: &Path,
    mut progress: impl FnMut(RebuildProgress),
) -> Result<RebuildReport> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).map_err(|source| StoreError::Io {
            path: scratch.to_path_buf(),
            source,
        })?;
    }
    let mut report = RebuildReport::default();
    {
        // The replay judges with the ledger's own allowed lateness.
        let mut target = Ledger::open_with(
            scratch,
            crate::fold::FoldOptions {
                allowed_lateness_ms: Some(store.allowed_lateness_ms()?),
                ..Default::default()
            },
        )?;
        let mut quarantined: BTreeMap<(String, u32), VecDeque<QuarantinedRecord>> = BTreeMap::new();
        for q in store.quarantine(usize::MAX)? {
            quarantined
                .entry((q.topic.clone(), q.partition))
                .or_default()
                .push_back(q);
        }
        let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
        let cf = store.cf(CF_ENTRIES)?;
        for item in store.db.iterator_cf(cf, IteratorMode::Start) {
            let (k, v) = item?;
            let (shard, seq) = keys::parse_entry(&k).ok_or_else(|| StoreError::Corrupt {
                what: format!("entry key {}", hex::encode(&k)),
                reason: "not shard+seq".into(),
            })?;
            let (entry, _) =
                Entry::open(&v).map_err(|source| StoreError::Entry { shard, seq, source })?;
            // Quarantined records that came before this entry in its source partition.
            if let Some(queue) =
                quarantined.get_mut(&(entry.source.topic.clone(), entry.source.partition))
            {
                while queue
                    .front()
                    .is_some_and(|q| q.offset < entry.source.offset)
                {
                    if let Some(q) = queue.pop_front() {
                        batch.push(quarantine_record(q)?);
                        report.quarantined_replayed += 1;
                    }
                }
            }
            batch.push(Record::new(entry.source, entry.event));
            report.entries_replayed += 1;
            if batch.len() >= BATCH {
                target.fold_replayable(&batch)?;
                batch.clear();
                progress(RebuildProgress::Replayed {
                    entries: report.entries_replayed,
                    quarantined: report.quarantined_replayed,
                });
            }
        }
        for (_, queue) in quarantined {
            for q in queue {
                batch.push(quarantine_record(q)?);
                report.quarantined_replayed += 1;
            }
        }
        target.fold_replayable(&batch)?;
        progress(RebuildProgress::Replayed {
            entries: report.entries_replayed,
            quarantined: report.quarantined_replayed,
        });
    }
    let rebuilt = Store::open(scratch)?;
    for cf in COMPARED {
        progress(RebuildProgress::Comparing { cf });
        report.comparisons.push(compare(store, &rebuilt, cf)?);
    }
    drop(rebuilt);
    let _ = std::fs::remove_dir_all(scratch);
    Ok(report)
}

fn quarantine_record(q: QuarantinedRecord) -> Result<Record> {
    let payload = hex::decode(&q.payload_hex).map_err(|e| StoreError::Corrupt {
        what: format!("quarantine {}/{}/{}", q.topic, q.partition, q.offset),
        reason: e.to_string(),
    })?;
    let mut r = Record::new(
        crate::entry::SourcePosition {
            topic: q.topic,
            partition: q.partition,
            offset: q.offset,
            timestamp_ms: 0,
        },
        payload,
    );
    r.rejected = Some(q.reason);
    Ok(r)
}

/// Meta keys that are not derived from the entries: the embedded shard
/// count (configuration) and the source offsets (how far each source was
/// read, which includes duplicates that left no entry).
fn ignored_meta(key: &[u8]) -> bool {
    // `customers_at/`: how far the stored customer trees reach, which
    // depends on when checkpoints were signed, not on the entries.
    key == META_EMBEDDED_SHARDS || key.starts_with(b"offset/") || key.starts_with(b"customers_at/")
}

fn compare(a: &Store, b: &Store, cf: &'static str) -> Result<CfComparison> {
    let mut left = a.db.iterator_cf(a.cf(cf)?, IteratorMode::Start);
    let mut right = b.db.iterator_cf(b.cf(cf)?, IteratorMode::Start);
    let mut out = CfComparison {
        cf,
        keys: 0,
        differing: 0,
        first_difference: None,
    };
    let mut l = left.next().transpose()?;
    let mut r = right.next().transpose()?;
    loop {
        while cf == CF_META && l.as_ref().is_some_and(|(k, _)| ignored_meta(k)) {
            l = left.next().transpose()?;
        }
        while cf == CF_META && r.as_ref().is_some_and(|(k, _)| ignored_meta(k)) {
            r = right.next().transpose()?;
        }
        let (advance_l, advance_r, differs, key) = match (&l, &r) {
            (None, None) => break,
            (Some((k, _)), None) => (true, false, true, k.clone()),
            (None, Some((k, _))) => (false, true, true, k.clone()),
            (Some((kl, vl)), Some((kr, vr))) => match kl.cmp(kr) {
                std::cmp::Ordering::Equal => (true, true, vl != vr, kl.clone()),
                std::cmp::Ordering::Less => (true, false, true, kl.clone()),
                std::cmp::Ordering::Greater => (false, true, true, kr.clone()),
            },
        };
        out.keys += 1;
        if differs {
            out.differing += 1;
            if out.first_difference.is_none() {
                out.first_difference = Some(hex::encode(&key));
            }
        }
        if advance_l {
            l = left.next().transpose()?;
        }
        if advance_r {
            r = right.next().transpose()?;
        }
    }
    Ok(out)
}
