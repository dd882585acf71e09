//! The one folder every source hands its records to.
//!
//! Sources (HTTP intake, file import, the Kafka consumer) only produce
//! records; the [`Folder`] owns what is common to all of them: the single
//! ledger writer, the choice between a logged and an unlogged write (from how
//! the source can deliver again, [`Redelivery`]), the counters `/metrics`
//! shows, and the outcome of every record. No source calls `Ledger::fold*`
//! or touches the metrics itself, so a new source cannot forget either.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use custody_ledger::{FoldSummary, Ledger, Outcome, Record, Store, StoreError};

use crate::intake::Accepted;
use crate::metrics::{Metrics, PartitionDelta};

/// Whether a source can deliver a batch again after a crash. This, and
/// nothing else, decides whether the batch is written with the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    /// The source re-reads from the next offsets stored with the batch
    /// (Kafka, a file): written without the WAL, so a crash loses the
    /// unflushed batches together with their offsets and the source sends
    /// them again (`Ledger::fold_replayable`).
    FromStoredOffsets,
    /// The source cannot send again (an HTTP client that was answered 200):
    /// written with the WAL (`Ledger::fold`) and fsynced before the fold
    /// returns, so a 200 survives power loss. Concurrent callers share one
    /// fsync (group commit, [`GroupCommit`]).
    Impossible,
}

#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("ledger: {0}")]
    Ledger(#[from] StoreError),
    /// A fold panicked while holding the writer; memory may be ahead of
    /// storage, so nothing more is folded until the process restarts.
    #[error("the ledger writer is poisoned by an earlier panic; restart the process")]
    Poisoned,
    /// The embedded records did not line up with the events they came from
    /// (a bug): nothing was folded.
    #[error("routing embedded events to shards: {0}")]
    Routing(String),
    /// All-or-nothing sources only: an event reuses an id with other
    /// content; nothing was folded. (Event index in the batch, conflict.)
    #[error("event {0}: {1}")]
    Conflict(usize, Box<custody_ledger::Conflict>),
}

/// What a source hands to the folder in one call; folded as one atomic batch.
#[derive(Debug, Default)]
pub struct Batch {
    /// Decoded, validated events of the embedded source (HTTP bodies, file
    /// lines). The folder routes each to its customer's shard (a global event
    /// to every shard) and numbers them under the writer's lock, which is what
    /// makes their offsets unique.
    pub embedded: Vec<Accepted>,
    /// Records that carry their own source position (Kafka records, the
    /// rejected lines of a file), folded after the embedded events.
    pub positioned: Vec<Record>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.embedded.is_empty() && self.positioned.is_empty()
    }
}

/// The result of one batch: the summary of `Ledger::fold*`, the records as
/// folded (their positions), and which records each embedded event became.
#[derive(Debug)]
pub struct Folded {
    pub summary: FoldSummary,
    /// The records in fold order, one outcome each in `summary.outcomes`.
    pub records: Vec<Record>,
    /// Records per embedded event, in order: 1, or the shard count for a
    /// global event. The positioned records follow them.
    fanout: Vec<usize>,
}

impl Folded {
    /// The outcomes of each embedded event, in the order given: one, or one
    /// per shard for a global event (no customer).
    pub fn per_event(&self) -> impl Iterator<Item = &[Outcome]> {
        let mut start = 0;
        self.fanout.iter().map(move |n| {
            let end = (start + n).min(self.summary.outcomes.len());
            let slice = &self.summary.outcomes[start.min(end)..end];
            start = end;
            slice
        })
    }
}

/// A handle on the single ledger writer and the shared counters. Clones
/// share both, so the HTTP service and the Kafka consumer fold through the
/// same writer.
#[derive(Clone)]
pub struct Folder {
    ledger: Arc<Mutex<Ledger>>,
    metrics: Arc<Metrics>,
    commit: Arc<GroupCommit>,
    /// Durable batches waiting for the writer: whoever gets the writer
    /// folds all of them as one write (see [`Folder::fold`]).
    waiting: Arc<Mutex<Vec<Waiting>>>,
}

/// A durable batch handed to whichever caller gets the writer first, and
/// where that caller leaves its result with the ticket of the write.
struct Waiting {
    batch: Batch,
    slot: Slot,
}

/// A waiting batch's result: what it folded and its group-commit ticket.
type Slot = Arc<Mutex<Option<Result<(Folded, u64), FoldError>>>>;

/// Group commit of logged batches: each durable fold takes a ticket (under
/// the writer's lock, once its batch is in the WAL), then waits until an
/// fsync made after it covers it. Whoever finds no fsync under way makes
/// one for every ticket given so far, outside the writer's lock, so folds
/// go on meanwhile and the callers waiting share it.
pub struct GroupCommit {
    /// A handle on the database, to fsync its WAL without the writer.
    store: Store,
    /// Tickets given: logged batches written.
    written: AtomicU64,
    /// (tickets known durable, an fsync under way).
    state: Mutex<(u64, bool)>,
    synced: Condvar,
}

impl GroupCommit {
    fn new(store: Store) -> Self {
        GroupCommit {
            store,
            written: AtomicU64::new(0),
            state: Mutex::new((0, false)),
            synced: Condvar::new(),
        }
    }

    /// Called under the writer's lock right after a logged batch is written.
    fn ticket(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once the batch of `ticket` is fsynced.
    fn wait_durable(&self, ticket: u64, metrics: &Metrics) -> Result<(), FoldError> {
        let mut state = self.state.lock().map_err(|_| FoldError::Poisoned)?;
        loop {
            if state.0 >= ticket {
                return Ok(());
            }
            if state.1 {
                state = self.synced.wait(state).map_err(|_| FoldError::Poisoned)?;
                continue;
            }
            state.1 = true;
            let from = state.0;
            // Every ticket given before the fsync starts is in the WAL.
            let target = self.written.load(Ordering::SeqCst);
            drop(state);
            let result = self.store.sync_wal();
            state = self.state.lock().map_err(|_| FoldError::Poisoned)?;
            state.1 = false;
            if result.is_ok() {
                state.0 = state.0.max(target);
                metrics.record_wal_sync(target.saturating_sub(from));
            }
            self.synced.notify_all();
            result?;
        }
    }
}

impl Folder {
    pub fn new(ledger: Arc<Mutex<Ledger>>, metrics: Arc<Metrics>) -> Self {
        let store = match ledger.lock() {
            Ok(l) => l.store().clone(),
            Err(poisoned) => poisoned.into_inner().store().clone(),
        };
        Folder {
            ledger,
            metrics,
            commit: Arc::new(GroupCommit::new(store)),
            waiting: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A folder over a ledger of its own, with fresh counters (for the CLI).
    pub fn open(ledger: Ledger) -> Self {
        Folder::new(Arc::new(Mutex::new(ledger)), Arc::new(Metrics::default()))
    }

    pub fn ledger(&self) -> &Arc<Mutex<Ledger>> {
        &self.ledger
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Locks the writer (for reads between batches, and for a checkpoint).
    pub fn lock(&self) -> Result<MutexGuard<'_, Ledger>, FoldError> {
        self.ledger.lock().map_err(|_| FoldError::Poisoned)
    }

    /// Next offset to read for a source partition.
    pub fn next_offset(&self, topic: &str, partition: u32) -> Result<u64, FoldError> {
        Ok(self.lock()?.next_offset(topic, partition))
    }

    /// Folds one batch as one atomic write, logged or not as `redelivery`
    /// says, and counts it. Blocks on the writer: call it off async threads.
    ///
    /// Durable batches of embedded events (HTTP intake, report reads) that
    /// wait for the writer at the same time are folded together, as one
    /// write and one fsync: the caller that gets the writer folds every
    /// batch waiting, and the others find their result when they get it.
    /// Each batch stays all or nothing: if the combined write fails (an
    /// event id reused with other content in one of them), each batch is
    /// folded again on its own and only the offending one fails.
    pub fn fold(&self, redelivery: Redelivery, batch: Batch) -> Result<Folded, FoldError> {
        if redelivery == Redelivery::Impossible && batch.positioned.is_empty() {
            return self.fold_combined(batch);
        }
        self.fold_alone(redelivery, batch)
    }

    fn fold_combined(&self, batch: Batch) -> Result<Folded, FoldError> {
        let started = Instant::now();
        let slot = Arc::new(Mutex::new(None));
        self.waiting
            .lock()
            .map_err(|_| FoldError::Poisoned)?
            .push(Waiting {
                batch,
                slot: slot.clone(),
            });
        {
            let mut ledger = self.lock()?;
            let mine = slot.lock().map_err(|_| FoldError::Poisoned)?.is_some();
            if !mine {
                let group =
                    std::mem::take(&mut *self.waiting.lock().map_err(|_| FoldError::Poisoned)?);
                self.fold_group(&mut ledger, group);
            }
        }
        let (folded, ticket) = slot
            .lock()
            .map_err(|_| FoldError::Poisoned)?
            .take()
            .unwrap_or_else(|| Err(FoldError::Routing("a waiting batch was not folded".into())))?;
        self.commit.wait_durable(ticket, &self.metrics)?;
        self.metrics.record_batch(started.elapsed().as_secs_f64());
        self.count(&folded);
        Ok(folded)
    }

    /// Folds the waiting batches, as one write if it succeeds, else one by
    /// one, and leaves each result in its slot.
    fn fold_group(&self, ledger: &mut Ledger, group: Vec<Waiting>) {
        let put = |w: &Waiting, r: Result<(Folded, u64), FoldError>| {
            if let Ok(mut slot) = w.slot.lock() {
                *slot = Some(r);
            }
        };
        if group.len() > 1 {
            let sizes: Vec<usize> = group.iter().map(|w| w.batch.embedded.len()).collect();
            let events: Vec<Accepted> = group
                .iter()
                .flat_map(|w| w.batch.embedded.iter().cloned())
                .collect();
            if let Ok((records, fanout)) = route_embedded(ledger, events) {
                if let Ok(summary) = ledger.fold(&records) {
                    let ticket = self.commit.ticket();
                    let mut parts = split(records, fanout, summary.outcomes, &sizes).into_iter();
                    for w in &group {
                        match parts.next() {
                            Some(folded) => put(w, Ok((folded, ticket))),
                            None => put(
                                w,
                                Err(FoldError::Routing("split of a combined batch".into())),
                            ),
                        }
                    }
                    return;
                }
            }
        }
        for w in group {
            let Waiting { batch, slot } = w;
            let result = fold_one(ledger, Redelivery::Impossible, batch)
                .map(|folded| (folded, self.commit.ticket()));
            if let Ok(mut s) = slot.lock() {
                *s = Some(result);
            };
        }
    }

    fn fold_alone(&self, redelivery: Redelivery, batch: Batch) -> Result<Folded, FoldError> {
        let started = Instant::now();
        let mut ticket = None;
        let folded = {
            let mut ledger = self.lock()?;
            let folded = fold_one(&mut ledger, redelivery, batch)?;
            if redelivery == Redelivery::Impossible {
                ticket = Some(self.commit.ticket());
            }
            folded
        };
        if let Some(ticket) = ticket {
            self.commit.wait_durable(ticket, &self.metrics)?;
        }
        self.metrics.record_batch(started.elapsed().as_secs_f64());
        self.count(&folded);
        Ok(folded)
    }

    fn count(&self, folded: &Folded) {
        let mut deltas: std::collections::BTreeMap<(&str, u32), PartitionDelta> =
            Default::default();
        for (r, o) in folded.records.iter().zip(&folded.summary.outcomes) {
            let d = deltas
                .entry((r.source.topic.as_str(), r.source.partition))
                .or_default();
            match o {
                Outcome::Folded { .. } => d.folded += 1,
                Outcome::Duplicate { .. } => d.duplicates += 1,
                Outcome::Quarantined { .. } => d.quarantined += 1,
                Outcome::AlreadyFolded => {}
            }
        }
        for ((topic, partition), d) in deltas {
            self.metrics.record_partition(topic, partition, d);
        }
    }
}

/// One batch as one write.
fn fold_one(
    ledger: &mut Ledger,
    redelivery: Redelivery,
    batch: Batch,
) -> Result<Folded, FoldError> {
    let (mut records, fanout) = route_embedded(ledger, batch.embedded)?;
    records.extend(batch.positioned);
    let summary = match redelivery {
        Redelivery::FromStoredOffsets => ledger.fold_replayable(&records)?,
        // Refuses a conflicting id whole (nothing written); named by the
        // event it came from.
        Redelivery::Impossible => ledger.fold(&records).map_err(|e| match e {
            StoreError::Conflict(c) => FoldError::Conflict(event_index(&fanout, c.index), c),
            other => FoldError::Ledger(other),
        })?,
    };
    Ok(Folded {
        summary,
        records,
        fanout,
    })
}

/// The results of a combined write, one per batch of `sizes` events.
fn split(
    records: Vec<Record>,
    fanout: Vec<usize>,
    outcomes: Vec<Outcome>,
    sizes: &[usize],
) -> Vec<Folded> {
    let mut records = records.into_iter();
    let mut outcomes = outcomes.into_iter();
    let mut fanout = fanout.into_iter();
    let mut out = Vec::with_capacity(sizes.len());
    for &events in sizes {
        let fan: Vec<usize> = fanout.by_ref().take(events).collect();
        let n: usize = fan.iter().sum();
        let mut summary = FoldSummary::default();
        for o in outcomes.by_ref().take(n) {
            match o {
                Outcome::Folded { .. } => summary.folded += 1,
                Outcome::Duplicate { .. } => summary.duplicates += 1,
                Outcome::AlreadyFolded => summary.already_folded += 1,
                Outcome::Quarantined { .. } => summary.quarantined += 1,
            }
            summary.outcomes.push(o);
        }
        out.push(Folded {
            summary,
            records: records.by_ref().take(n).collect(),
            fanout: fan,
        });
    }
    out
}

/// The embedded event a record index belongs to (records past the embedded
/// ones are numbered on from the last event).
fn event_index(fanout: &[usize], record: usize) -> usize {
    let mut end = 0;
    for (event, n) in fanout.iter().enumerate() {
        end += n;
        if record < end {
            return event;
        }
    }
    fanout.len() + (record - end)
}

/// Records of the embedded source for `events`, each carrying its decoded
/// event so the fold does not decode it again, and the record count of each.
fn route_embedded(
    ledger: &Ledger,
    events: Vec<Accepted>,
) -> Result<(Vec<Record>, Vec<usize>), FoldError> {
    if events.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let shards = ledger.embedded_shards() as usize;
    let (routes, events): (Vec<_>, Vec<_>) = events
        .into_iter()
        .map(|a| ((a.event.customer_id.clone(), a.bytes), a.event))
        .unzip();
    // `embedded_records` puts a global event (no customer) on every shard and
    // any other on one, in input order; the same rule splits the result back.
    let mut routed = ledger.embedded_records(routes).into_iter();
    let mut records = Vec::with_capacity(routed.len());
    let mut fanout = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        let n = if event.customer_id.is_empty() {
            shards
        } else {
            1
        };
        let short = || FoldError::Routing(format!("event {i} has fewer than {n} records"));
        for _ in 1..n {
            let r = routed.next().ok_or_else(short)?;
            records.push(r.with_event(event.clone()));
        }
        let r = routed.next().ok_or_else(short)?;
        records.push(r.with_event(event));
        fanout.push(n);
    }
    if routed.next().is_some() {
        return Err(FoldError::Routing(
            "more records than the events give".into(),
        ));
    }
    Ok((records, fanout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{parse_batch, Format};
    use custody_ledger::{SourcePosition, EMBEDDED_TOPIC};

    fn event(id: &str, customer: &str) -> String {
        format!(
            r#"{{"eventId":"{id}","customerId":"{customer}","occurredAt":"2026-01-01T00:00:00Z","actor":{{"id":"a","role":"ROLE_SUPPORT_ENGINEER"}},"dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}}}"#
        )
    }

    /// A global event: no customer, so it goes to every shard.
    const REGISTRY: &str = r#"{"eventId":"g1","occurredAt":"2026-01-01T00:00:00Z","subcontractorRegistered":{"subcontractorId":"s1","name":"S","country":"DE","attestationReference":"ATT-1","attestationValidFrom":"2025-01-01T00:00:00Z","attestationValidTo":"2027-01-01T00:00:00Z"}}"#;

    /// Durable folds from many threads at once: every one returns only
    /// after an fsync that covers it, and every event is folded once.
    #[test]
    fn concurrent_durable_folds_share_fsyncs() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(Ledger::open(dir.path()).expect("open"));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let folder = folder.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let batch = Batch {
                            embedded: accepted(&[event(&format!("t{t}-{i}"), &format!("c{t}"))]),
                            ..Batch::default()
                        };
                        let folded = folder.fold(Redelivery::Impossible, batch).expect("fold");
                        assert_eq!(folded.summary.folded, 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let text = folder.metrics().render();
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        // Writes (batches waiting together fold as one) and fsyncs (one
        // per group of writes waiting): at most one each per fold.
        let writes = value("custody_wal_synced_batches_total");
        let syncs = value("custody_wal_syncs_total");
        assert!((1..=200).contains(&writes), "{text}");
        assert!((1..=writes).contains(&syncs), "{text}");
        let total: u64 = folder
            .lock()
            .expect("lock")
            .heads()
            .iter()
            .map(|h| h.size)
            .sum();
        assert_eq!(total, 200);
    }

    /// Batches folded together stay all or nothing each: a batch reusing
    /// an event id with other content fails alone, the others fold, and
    /// each gets its own outcomes.
    #[test]
    fn a_combined_write_with_a_conflict_fails_only_that_batch() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(Ledger::open(dir.path()).expect("open"));
        folder
            .fold(
                Redelivery::Impossible,
                Batch {
                    embedded: accepted(&[event("e1", "c1")]),
                    ..Batch::default()
                },
            )
            .expect("fold");
        let waiting = |lines: &[String]| Waiting {
            batch: Batch {
                embedded: accepted(lines),
                ..Batch::default()
            },
            slot: Arc::new(Mutex::new(None)),
        };
        let conflicting =
            event("e1", "c1").replace("DATA_CATEGORY_CUSTOMER", "DATA_CATEGORY_CONTACT");
        let group = vec![
            waiting(&[event("a1", "c1"), event("a2", "c2")]),
            waiting(&[event("b1", "c3"), conflicting]),
            waiting(&[event("e1", "c1"), event("c1", "c4"), REGISTRY.to_string()]),
        ];
        let slots: Vec<_> = group.iter().map(|w| w.slot.clone()).collect();
        {
            let mut ledger = folder.lock().expect("lock");
            folder.fold_group(&mut ledger, group);
        }
        let mut results: Vec<_> = slots
            .iter()
            .map(|s| s.lock().expect("slot").take().expect("filled"))
            .collect();
        let third = results.pop().expect("3").expect("third folds");
        let second = results.pop().expect("2");
        let first = results.pop().expect("1").expect("first folds");
        assert_eq!(first.0.summary.folded, 2);
        assert!(
            matches!(second, Err(FoldError::Conflict(1, _))),
            "{second:?}"
        );
        // e1 again (a duplicate), c1, and the registration on every shard.
        assert_eq!(third.0.summary.duplicates, 1);
        let shards = folder.lock().expect("lock").embedded_shards() as u64;
        assert_eq!(third.0.summary.folded, 1 + shards);
        assert_eq!(third.0.per_event().count(), 3);
        let total: u64 = folder
            .lock()
            .expect("lock")
            .heads()
            .iter()
            .map(|h| h.size)
            .sum();
        assert_eq!(total, 1 + 2 + 1 + shards, "b1 was not folded");
    }

    fn accepted(lines: &[String]) -> Vec<Accepted> {
        parse_batch(Format::Json, lines.join("\n").as_bytes()).expect("valid batch")
    }

    #[test]
    fn global_events_fan_out_and_every_outcome_is_counted() {
        let dir = tempfile::tempdir().expect("tmp");
        let folder = Folder::open(Ledger::open(dir.path()).expect("open"));
        let shards = folder.lock().expect("lock").embedded_shards() as usize;
        let lines = vec![
            event("e1", "c1"),
            REGISTRY.to_string(),
            event("e1", "c1"),
            event("e2", "c2"),
        ];
        let mut batch = Batch {
            embedded: accepted(&lines),
            ..Batch::default()
        };
        let mut rejected = Record::new(
            SourcePosition {
                topic: "import:x".into(),
                partition: 0,
                offset: 9,
                timestamp_ms: 0,
            },
            b"not json".to_vec(),
        );
        rejected.rejected = Some("bad line".into());
        batch.positioned.push(rejected);
        let folded = folder.fold(Redelivery::Impossible, batch).expect("fold");

        let per_event: Vec<&[Outcome]> = folded.per_event().collect();
        assert_eq!(per_event.len(), 4);
        assert_eq!(
            per_event[1].len(),
            shards,
            "a global event is on every shard"
        );
        assert!(matches!(per_event[0], [Outcome::Folded { .. }]));
        assert!(matches!(per_event[2], [Outcome::Duplicate { .. }]));
        assert_eq!(folded.summary.outcomes.len(), 3 + shards + 1);
        assert!(matches!(
            folded.summary.outcomes.last(),
            Some(Outcome::Quarantined { reason }) if reason == "bad line"
        ));
        assert_eq!(folded.summary.folded, 2 + shards as u64);
        let (f, d, q) = folder.metrics().totals();
        assert_eq!((f, d, q), (2 + shards as u64, 1, 1));
        assert!(folder
            .metrics()
            .render()
            .contains("custody_fold_batch_seconds_count 1"));
        assert!(folder.next_offset(EMBEDDED_TOPIC, 0).expect("offset") > 0);
    }

    #[test]
    fn decoded_events_fold_to_the_same_entries_as_raw_records() {
        // The fold trusts an event the source decoded; the chain it writes
        // must be the one it would have written decoding the bytes itself.
        let lines: Vec<String> = (0..40)
            .map(|i| event(&format!("e{i}"), &format!("c{}", i % 5)))
            .chain([REGISTRY.to_string()])
            .collect();
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let decoded = Folder::open(Ledger::open(a.path()).expect("open"));
        decoded
            .fold(
                Redelivery::FromStoredOffsets,
                Batch {
                    embedded: accepted(&lines),
                    ..Batch::default()
                },
            )
            .expect("fold");
        let mut raw = Ledger::open(b.path()).expect("open");
        let records = raw.embedded_records(
            accepted(&lines)
                .into_iter()
                .map(|a| (a.event.customer_id, a.bytes))
                .collect(),
        );
        raw.fold(&records).expect("fold");
        let ledger = decoded.lock().expect("lock");
        assert_eq!(ledger.heads(), raw.heads());
        let report = custody_ledger::verify_store(ledger.store(), None, |_| {}).expect("verify");
        assert!(report.ok(), "{:?}", report.problems);
    }
}
