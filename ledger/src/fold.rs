//! The fold: records in, entries out. One call to [`Ledger::fold`] writes one
//! atomic RocksDB batch holding the entries, their Merkle nodes, the indexes,
//! the policy state, the findings and the next source offsets they cover, so
//! a crash at any point leaves either all of it or none of it.
//!
//! Determinism: nothing here reads the clock or randomness. The same records
//! in the same order give the same entries and hashes on any machine.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use custody_policy::{
    CustomerState, Effect, EventTime, ShardState, SubcontractorState, Verdict,
    DEFAULT_ALLOWED_LATENESS_MS,
};
use custody_proto::{timestamp_ms, Event};
use prost::Message;
use rocksdb::WriteBatch;

use crate::checkpoint::{Checkpoint, ShardHead};
use crate::customers::{CustomerTree, PublishedMaps, SealOp};
use crate::entry::{EntryParts, SourcePosition};
use crate::keys::{self, *};
use crate::merkle::{leaf_hash, Frontier, Hash};
use crate::partition::partition_for;
use crate::store::{encode_head, QuarantinedRecord, Result, Store, StoreError, StoredHead};
use crate::tree_keeper::{ToStore, TreeBatch, TreeKeeper, Trees};

/// Topic name recorded for events that arrive over HTTP or file import.
pub const EMBEDDED_TOPIC: &str = "embedded";
/// Largest event accepted; larger records are quarantined.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Shard count of a new embedded ledger.
pub const DEFAULT_EMBEDDED_SHARDS: u32 = 4;

/// One record offered to the fold. Its shard is its source partition.
#[derive(Debug, Clone)]
pub struct Record {
    pub source: SourcePosition,
    pub payload: Vec<u8>,
    /// Set by a source that already knows the record is invalid (with the
    /// reason): it is quarantined at its position instead of decoded.
    pub rejected: Option<String>,
    /// The event `payload` decodes to, when the source has already decoded
    /// and validated it (HTTP and file intake), so the fold does not decode
    /// it a second time. `None`: the fold decodes `payload` (Kafka, rebuild).
    /// Private so that only [`Record::with_event`], which states the
    /// contract, can set it.
    decoded: Option<Event>,
}

impl Record {
    pub fn new(source: SourcePosition, payload: Vec<u8>) -> Self {
        Record {
            source,
            payload,
            rejected: None,
            decoded: None,
        }
    }

    /// Attaches the event the source decoded `payload` into and validated.
    /// The caller vouches for both: the entry stores `payload`, while the
    /// indexes and the policy rules read `event`.
    pub fn with_event(mut self, event: Event) -> Self {
        self.decoded = Some(event);
        self
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Folded {
        shard: u32,
        seq: u64,
    },
    /// The event id was already in this shard; nothing was written.
    Duplicate {
        shard: u32,
        seq: u64,
    },
    /// The source offset is below the stored next offset: a redelivery.
    AlreadyFolded,
    Quarantined {
        reason: String,
    },
}

impl Outcome {
    /// The reason of a quarantined record (empty for other outcomes).
    pub fn quarantine_reason(self) -> String {
        match self {
            Outcome::Quarantined { reason } => reason,
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FoldSummary {
    pub outcomes: Vec<Outcome>,
    pub folded: u64,
    pub duplicates: u64,
    pub already_folded: u64,
    pub quarantined: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct FoldOptions {
    /// Run the policy rules. Off only for the benchmark that measures their cost.
    pub policy: bool,
    /// Keep the per-customer trees and sign customer maps with checkpoints
    /// (`crate::customers`). Off only for the benchmark that measures their
    /// cost: a ledger folded without them cannot prove completeness.
    pub commitments: bool,
    /// The allowed lateness of a new ledger (ms; `None`: the policy's
    /// default). Recorded in its meta when the ledger is created and read
    /// from there ever after, so every fold of its entries judges alike; a
    /// ledger that records another value refuses to open with this one.
    pub allowed_lateness_ms: Option<i64>,
}

impl Default for FoldOptions {
    fn default() -> Self {
        FoldOptions {
            policy: true,
            commitments: true,
            allowed_lateness_ms: None,
        }
    }
}

struct ShardCursor {
    size: u64,
    last_hash: Hash,
    frontier: Frontier,
    state: ShardState,
}

/// The single writer of a data directory.
pub struct Ledger {
    store: Store,
    shards: BTreeMap<u32, ShardCursor>,
    offsets: HashMap<(String, u32), u64>,
    embedded_shards: u32,
    /// The ledger's allowed lateness (meta `allowed_lateness_ms`).
    lateness_ms: i64,
    options: FoldOptions,
    /// Batches written without the WAL (replayable sources) that RocksDB has
    /// not flushed yet; see [`Ledger::fold_replayable`].
    unflushed_without_wal: bool,
    /// The customer trees and map keys, kept on another thread
    /// (`crate::tree_keeper`); `None` without commitments.
    keeper: Option<TreeKeeper>,
    /// Makes a batch fail on purpose, to test that a failed batch leaves
    /// memory as it was.
    #[cfg(test)]
    fault: Option<Fault>,
}

/// A shard cursor's position: size, last hash, Merkle frontier.
type SavedCursor = (u64, Hash, Frontier);

/// Where a test makes the next batch fail.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Once the n-th entry of the batch (0-based) is folded in memory, before
    /// the batch is written.
    AfterFolded(u64),
    /// In place of the RocksDB write.
    Write,
}

/// What a batch changed in memory, kept until the batch is written so that
/// a failure anywhere (a read, sealing an entry, the write itself) puts it
/// back: memory must never run ahead of RocksDB, or the next batch would
/// chain onto entries that were never stored. Each item is saved the first
/// time the batch touches it, so the cost is per touched shard and per
/// state-changing event, not a copy of the shard states per batch.
#[derive(Default)]
struct Undo {
    /// Cursor of each shard before the batch; `None` when the batch created it.
    shards: Vec<(u32, Option<SavedCursor>)>,
    /// Each touched shard's event time before the batch.
    event_times: Vec<(u32, EventTime)>,
    /// Policy state entries before the batch; `None` when there was none.
    customers: Vec<(u32, String, Option<CustomerState>)>,
    subcontractors: Vec<(u32, String, Option<SubcontractorState>)>,
    saved_customers: HashSet<(u32, String)>,
    saved_subcontractors: HashSet<(u32, String)>,
}

impl Undo {
    fn save_shard(&mut self, shard: u32, cursor: Option<&ShardCursor>) {
        self.shards.push((
            shard,
            cursor.map(|c| (c.size, c.last_hash, c.frontier.clone())),
        ));
        if let Some(c) = cursor {
            self.event_times.push((shard, c.state.event_time.clone()));
        }
    }

    /// Saves what `custody_policy::apply` may change for this event: the
    /// event's customer and, for a registration, the subcontractor.
    fn save_state(&mut self, shard: u32, state: &ShardState, event: &Event) {
        if !event.customer_id.is_empty()
            && self
                .saved_customers
                .insert((shard, event.customer_id.clone()))
        {
            self.customers.push((
                shard,
                event.customer_id.clone(),
                state.customers.get(&event.customer_id).cloned(),
            ));
        }
        if let Some(custody_proto::Kind::SubcontractorRegistered(s)) = &event.kind {
            if self
                .saved_subcontractors
                .insert((shard, s.subcontractor_id.clone()))
            {
                self.subcontractors.push((
                    shard,
                    s.subcontractor_id.clone(),
                    state.subcontractors.get(&s.subcontractor_id).cloned(),
                ));
            }
        }
    }
}

impl Ledger {
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, FoldOptions::default())
    }

    /// Opens the writer of an existing ledger; a directory that holds none
    /// is refused instead of starting a new ledger with a new key (for
    /// commands that add to a ledger: reports, checkpoints, revocations).
    pub fn open_existing(dir: &Path) -> Result<Self> {
        crate::store::check_ledger_dir(dir)?;
        Self::open(dir)
    }

    pub fn open_with(dir: &Path, options: FoldOptions) -> Result<Self> {
        let store = Store::open(dir)?;
        let mut shards = BTreeMap::new();
        for (shard, head) in store.heads()? {
            let frontier = Frontier::load(head.size, &store.tree(shard))?;
            shards.insert(
                shard,
                ShardCursor {
                    size: head.size,
                    last_hash: head.last_hash,
                    frontier,
                    state: ShardState::default(),
                },
            );
        }
        load_states(&store, &mut shards)?;
        let lateness_ms = match (
            store.get(CF_META, META_ALLOWED_LATENESS)?,
            options.allowed_lateness_ms,
        ) {
            (Some(v), asked) => {
                let recorded = v
                    .as_slice()
                    .try_into()
                    .map(i64::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        what: "meta allowed_lateness_ms".into(),
                        reason: "not an i64".into(),
                    })?;
                if asked.is_some_and(|a| a != recorded) {
                    return Err(StoreError::Invalid(format!(
                        "this ledger records an allowed lateness of {recorded} ms, not {} ms: it is fixed when a ledger is created",
                        asked.unwrap_or_default()
                    )));
                }
                recorded
            }
            (None, asked) => {
                let lateness = asked.unwrap_or(DEFAULT_ALLOWED_LATENESS_MS);
                // Logged, like the shard count below; ledgers made before
                // event time get the default.
                store.db.put_cf(
                    store.cf(CF_META)?,
                    META_ALLOWED_LATENESS,
                    lateness.to_be_bytes(),
                )?;
                lateness
            }
        };
        for c in shards.values_mut() {
            c.state.event_time.lateness_ms = lateness_ms;
        }
        let keeper = if options.commitments {
            let trees = load_customer_trees(&store, &shards)?;
            Some(TreeKeeper::start(
                store.clone(),
                trees,
                load_map_keys(&store)?,
            )?)
        } else {
            None
        };
        let offsets = store.offsets()?.into_iter().collect();
        let embedded_shards = match store.get(CF_META, META_EMBEDDED_SHARDS)? {
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what: "meta embedded_shards".into(),
                    reason: "not a u32".into(),
                })?,
            None => {
                // A logged write by the writer; nothing can be unflushed yet
                // (no batch was folded by this ledger), so the flush rule holds.
                store.db.put_cf(
                    store.cf(CF_META)?,
                    META_EMBEDDED_SHARDS,
                    DEFAULT_EMBEDDED_SHARDS.to_be_bytes(),
                )?;
                DEFAULT_EMBEDDED_SHARDS
            }
        };
        Ok(Ledger {
            store,
            shards,
            offsets,
            embedded_shards,
            lateness_ms,
            options,
            unflushed_without_wal: false,
            keeper,
            #[cfg(test)]
            fault: None,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy state of a shard as the fold holds it in memory.
    pub fn policy_state(&self, shard: u32) -> Option<&ShardState> {
        self.shards.get(&shard).map(|c| &c.state)
    }

    pub fn embedded_shards(&self) -> u32 {
        self.embedded_shards
    }

    /// Current head of every shard (size and Merkle root).
    pub fn heads(&self) -> Vec<ShardHead> {
        self.shards
            .iter()
            .map(|(shard, c)| ShardHead {
                shard: *shard,
                size: c.size,
                root: c.frontier.root(),
                map_root: None,
            })
            .collect()
    }

    /// Next offset to consume for a source partition (0 when never seen).
    pub fn next_offset(&self, topic: &str, partition: u32) -> u64 {
        self.offsets
            .get(&(topic.to_string(), partition))
            .copied()
            .unwrap_or(0)
    }

    /// Turns events received over HTTP or from a file into records of the
    /// embedded source: each goes to its customer's shard (Kafka's default
    /// partitioner), global events (no customer) to every shard.
    pub fn embedded_records(&self, events: Vec<(String, Vec<u8>)>) -> Vec<Record> {
        let mut next: HashMap<u32, u64> = HashMap::new();
        let mut out = Vec::with_capacity(events.len());
        let mut push = |shard: u32, payload: Vec<u8>, out: &mut Vec<Record>| {
            let offset = next
                .entry(shard)
                .or_insert_with(|| self.next_offset(EMBEDDED_TOPIC, shard));
            out.push(Record::new(
                SourcePosition {
                    topic: EMBEDDED_TOPIC.into(),
                    partition: shard,
                    offset: *offset,
                    timestamp_ms: 0,
                },
                payload,
            ));
            *offset += 1;
        };
        for (customer, payload) in events {
            if customer.is_empty() {
                for shard in 0..self.embedded_shards {
                    push(shard, payload.clone(), &mut out);
                }
            } else {
                push(
                    partition_for(&customer, self.embedded_shards),
                    payload,
                    &mut out,
                );
            }
        }
        out
    }

    /// Folds records in order into one atomic batch, durable when this
    /// returns (WAL on): for sources that cannot send again (HTTP). Such a
    /// source answers all or nothing, so an event id reused with other
    /// content refuses the whole batch ([`StoreError::Conflict`], nothing
    /// written, memory rolled back) instead of being quarantined.
    pub fn fold(&mut self, records: &[Record]) -> Result<FoldSummary> {
        self.flush_unlogged()?;
        self.fold_batch(records, true)
    }

    /// Folds records from a source that can deliver them again from the
    /// stored offsets (Kafka, a file): the batch skips the WAL, so a crash
    /// loses the batches not yet flushed together with their offsets, and the
    /// source re-delivers them. `atomic_flush` keeps every column family at
    /// the same batch, so nothing is half there. Before any logged write
    /// (a durable fold, a checkpoint) and on drop, the memtables are flushed
    /// so a logged write never lands on top of lost unlogged ones.
    pub fn fold_replayable(&mut self, records: &[Record]) -> Result<FoldSummary> {
        let summary = self.fold_batch(records, false)?;
        self.unflushed_without_wal = true;
        Ok(summary)
    }

    /// Flushes batches written without the WAL, if any.
    pub fn flush_unlogged(&mut self) -> Result<()> {
        if self.unflushed_without_wal {
            let cfs: Vec<&rocksdb::ColumnFamily> = ALL_CFS
                .iter()
                .map(|name| self.store.cf(name))
                .collect::<Result<_>>()?;
            self.store
                .db
                .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())?;
            self.unflushed_without_wal = false;
        }
        Ok(())
    }

    /// Folds one batch; on any error, memory is put back as it was before
    /// the batch (cursors, frontiers, policy state), so the ledger stays
    /// usable and the next batch chains onto what is stored.
    fn fold_batch(&mut self, records: &[Record], wal: bool) -> Result<FoldSummary> {
        let mut undo = Undo::default();
        let result = self.fold_batch_or_leave_undo(records, wal, &mut undo);
        if result.is_err() {
            // The customer trees are fed only written batches: nothing of
            // theirs to put back.
            self.roll_back(undo);
        }
        result
    }

    /// Puts back what a failed batch changed in memory.
    fn roll_back(&mut self, undo: Undo) {
        for (shard, id, saved) in undo.customers {
            if let Some(c) = self.shards.get_mut(&shard) {
                match saved {
                    Some(state) => c.state.customers.insert(id, state),
                    None => c.state.customers.remove(&id),
                };
            }
        }
        for (shard, id, saved) in undo.subcontractors {
            if let Some(c) = self.shards.get_mut(&shard) {
                match saved {
                    Some(state) => c.state.subcontractors.insert(id, state),
                    None => c.state.subcontractors.remove(&id),
                };
            }
        }
        for (shard, saved) in undo.shards {
            match saved {
                None => {
                    self.shards.remove(&shard);
                }
                Some((size, last_hash, frontier)) => {
                    if let Some(c) = self.shards.get_mut(&shard) {
                        c.size = size;
                        c.last_hash = last_hash;
                        c.frontier = frontier;
                    }
                }
            }
        }
        for (shard, saved) in undo.event_times {
            if let Some(c) = self.shards.get_mut(&shard) {
                c.state.event_time = saved;
            }
        }
    }

    /// The fold of one batch. Everything it changes in memory before the
    /// write has succeeded is first saved in `undo`.
    fn fold_batch_or_leave_undo(
        &mut self,
        records: &[Record],
        wal: bool,
        undo: &mut Undo,
    ) -> Result<FoldSummary> {
        let mut batch = WriteBatch::default();
        let mut summary = FoldSummary::default();
        let mut touched_shards: HashSet<u32> = HashSet::new();
        // (topic, partition, next offset) of the sources in this batch: few,
        // so a linear scan beats hashing an owned key per record.
        let mut touched_offsets: Vec<(String, u32, u64)> = Vec::new();
        // Event ids folded by this batch: their seq and the record they came
        // from (to tell a resend from a conflicting reuse of the id).
        let mut batch_ids: HashMap<(u32, String), (u64, usize)> = HashMap::new();
        let cf_entries = self.store.cf(CF_ENTRIES)?;
        let cf_tree = self.store.cf(CF_TREE)?;
        let cf_customer = self.store.cf(CF_BY_CUSTOMER)?;
        let cf_event = self.store.cf(CF_BY_EVENT)?;
        let cf_findings = self.store.cf(CF_FINDINGS)?;
        let cf_request = self.store.cf(CF_BY_REQUEST)?;
        let cf_state = self.store.cf(CF_STATE)?;
        let cf_meta = self.store.cf(CF_META)?;
        let cf_quarantine = self.store.cf(CF_QUARANTINE)?;
        let commitments = self.options.commitments;
        let mut tree_batch = TreeBatch::default();

        for (index, rec) in records.iter().enumerate() {
            let src = &rec.source;
            let slot = match touched_offsets
                .iter()
                .position(|(t, p, _)| *p == src.partition && *t == src.topic)
            {
                Some(i) => i,
                None => {
                    let key = (src.topic.clone(), src.partition);
                    let next = self.offsets.get(&key).copied().unwrap_or(0);
                    touched_offsets.push((key.0, key.1, next));
                    touched_offsets.len() - 1
                }
            };
            if src.offset < touched_offsets[slot].2 {
                summary.already_folded += 1;
                summary.outcomes.push(Outcome::AlreadyFolded);
                continue;
            }
            touched_offsets[slot].2 = src.offset + 1;
            let shard = src.partition;

            let decoded = match (&rec.rejected, &rec.decoded) {
                (Some(reason), _) => Err(reason.clone()),
                // Decoded and validated by the source; only the stored size,
                // a limit of the ledger rather than of the source, is checked.
                (None, Some(event)) => check_size(&rec.payload).map(|()| Cow::Borrowed(event)),
                (None, None) => decode_valid(&rec.payload).map(Cow::Owned),
            };
            let event = match decoded {
                Ok(e) => e,
                Err(reason) => {
                    quarantine(&mut batch, cf_quarantine, rec, &reason)?;
                    summary.quarantined += 1;
                    summary.outcomes.push(Outcome::Quarantined { reason });
                    continue;
                }
            };

            let id_key = (shard, event.event_id.clone());
            let earlier = match batch_ids.get(&id_key) {
                Some(&(seq, i)) => Some((seq, Some(i))),
                None => self
                    .store
                    .seq_of_event(shard, &event.event_id)?
                    .map(|seq| (seq, None)),
            };
            if let Some((seq, in_batch)) = earlier {
                let earlier_bytes = match in_batch {
                    Some(i) => records.get(i).map(|r| Cow::Borrowed(r.payload.as_slice())),
                    None => self
                        .store
                        .entry(shard, seq)?
                        .map(|(e, _)| Cow::Owned(e.event)),
                };
                match earlier_bytes {
                    // An identical resend: folded once, quietly.
                    Some(b) if *b == rec.payload[..] => {
                        summary.duplicates += 1;
                        summary.outcomes.push(Outcome::Duplicate { shard, seq });
                    }
                    // The id reused for other content: refused whole by a
                    // source that answers all or nothing (see `fold`)...
                    earlier if wal => {
                        let earlier = earlier.as_deref().unwrap_or_default();
                        return Err(StoreError::Conflict(Box::new(Conflict {
                            index,
                            event_id: event.event_id.clone(),
                            shard,
                            seq: in_batch.is_none().then_some(seq),
                            folded_sha256: sha256_hex(earlier),
                            received_sha256: sha256_hex(&rec.payload),
                        })));
                    }
                    // ...otherwise kept in quarantine, never folded.
                    earlier => {
                        let reason = conflict_reason(
                            &event.event_id,
                            shard,
                            seq,
                            earlier.as_deref().unwrap_or_default(),
                            &rec.payload,
                        );
                        quarantine(&mut batch, cf_quarantine, rec, &reason)?;
                        summary.quarantined += 1;
                        summary.outcomes.push(Outcome::Quarantined { reason });
                    }
                }
                continue;
            }

            if touched_shards.insert(shard) {
                undo.save_shard(shard, self.shards.get(&shard));
            }
            let lateness_ms = self.lateness_ms;
            let cursor = self.shards.entry(shard).or_insert_with(|| ShardCursor {
                size: 0,
                last_hash: [0; 32],
                frontier: Frontier::new(),
                state: ShardState {
                    event_time: EventTime {
                        lateness_ms,
                        ..EventTime::default()
                    },
                    ..ShardState::default()
                },
            });
            let seq = cursor.size;
            let (verdicts, changes_state) = if self.options.policy {
                let v = custody_policy::check(&cursor.state, &event, seq);
                // `apply` changes state only when `changes_state` says so
                // (the contract that also decides what is persisted), so
                // the other events need nothing saved.
                let changes = custody_policy::changes_state(&event, &v);
                if changes {
                    undo.save_state(shard, &cursor.state, &event);
                }
                custody_policy::apply(&mut cursor.state, &event, seq, &v);
                (v, changes)
            } else {
                (Vec::new(), false)
            };

            let (stored, hash) = EntryParts {
                shard,
                seq,
                prev_hash: &cursor.last_hash,
                source: src,
                event: &rec.payload,
                verdicts: &verdicts,
            }
            .seal()
            .map_err(|source| StoreError::Entry { shard, seq, source })?;
            batch.put_cf(cf_entries, keys::entry(shard, seq), stored);
            cursor
                .frontier
                .append(leaf_hash(&hash), |level, index, node| {
                    if keys::stored_level(level) {
                        batch.put_cf(cf_tree, keys::tree(shard, level, index), node);
                    }
                });
            cursor.size += 1;
            cursor.last_hash = hash;

            let occurred = event.occurred_at.as_ref().map(timestamp_ms).unwrap_or(0);
            batch.put_cf(
                cf_event,
                keys::by_event(shard, &event.event_id),
                seq.to_be_bytes(),
            );
            if !event.customer_id.is_empty() {
                // The value is the entry hash: a customer's tree leaves are
                // read from this index alone (`Store::customer_leaves`).
                batch.put_cf(
                    cf_customer,
                    keys::by_customer(&event.customer_id, occurred, shard, seq),
                    hash,
                );
                if commitments {
                    tree_batch.push(
                        shard,
                        seq,
                        occurred,
                        &hash,
                        &event.customer_id,
                        SealOp::of(&event),
                    );
                }
            }
            if let Some(request) = event.kind.as_ref().and_then(request_id) {
                batch.put_cf(cf_request, keys::by_request(request, shard, seq), []);
            }
            for v in &verdicts {
                index_finding(&mut batch, cf_findings, v, &event.customer_id, shard, seq);
            }
            // Only events that can change policy state pay for writing it.
            if changes_state {
                write_state(&mut batch, cf_state, shard, &cursor.state, &event)?;
            }
            #[cfg(test)]
            if self.fault == Some(Fault::AfterFolded(summary.folded)) {
                return Err(StoreError::Invalid("injected failure mid-batch".into()));
            }
            batch_ids.insert(id_key, (seq, index));
            summary.folded += 1;
            summary.outcomes.push(Outcome::Folded { shard, seq });
        }

        for shard in &touched_shards {
            if let Some(c) = self.shards.get(shard) {
                let head = StoredHead {
                    size: c.size,
                    last_hash: c.last_hash,
                };
                batch.put_cf(cf_meta, keys::head(*shard), encode_head(&head));
                // The watermark moves with almost every event: written
                // once per batch, not per event.
                if self.options.policy {
                    let time = serde_json::to_vec(&c.state.event_time)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?;
                    batch.put_cf(cf_state, keys::state(*shard, b't', ""), time);
                }
            }
        }
        for (topic, partition, next) in &touched_offsets {
            batch.put_cf(cf_meta, keys::offset(topic, *partition), next.to_be_bytes());
        }
        let mut options = rocksdb::WriteOptions::default();
        options.disable_wal(!wal);
        #[cfg(test)]
        if self.fault == Some(Fault::Write) {
            return Err(StoreError::Invalid("injected write failure".into()));
        }
        self.store.db.write_opt(batch, &options)?;
        // Written: from here on nothing may fail, or memory and storage
        // would disagree the other way round.
        self.offsets
            .extend(touched_offsets.into_iter().map(|(t, p, n)| ((t, p), n)));
        if let Some(keeper) = &mut self.keeper {
            if let Err(e) = keeper.record(tree_batch) {
                // The batch stands; the trees are re-derived from the
                // entries on the next open, and checkpoints fail until then.
                tracing::error!(error = %e, "handing a batch to the customer trees failed");
            }
        }
        Ok(summary)
    }

    /// Signs the current heads unless the latest checkpoint already states
    /// them; returns the checkpoint that states the current heads.
    pub fn checkpoint(&mut self, now_ms: i64) -> Result<Checkpoint> {
        // A signed statement about entries that a crash or a power loss
        // could still take back would be a lie: make them durable first.
        self.flush_unlogged()?;
        self.store.sync_wal()?;
        let mut heads = self.heads();
        let latest = self.store.latest_checkpoint()?;
        if let Some(cp) = &latest {
            let same = cp.shards.len() == heads.len()
                && cp
                    .shards
                    .iter()
                    .zip(&heads)
                    .all(|(a, b)| (a.shard, a.size, a.root) == (b.shard, b.size, b.root));
            if same {
                // A restarted writer publishes the maps of the checkpoint it
                // finds (they are a function of the same state).
                if self.keeper.is_some()
                    && cp.vrf_key.is_some()
                    && self.store.published_maps().map(|m| m.checkpoint.number) != Some(cp.number)
                {
                    let sizes = self.sizes();
                    let keeper = self.keeper.as_mut().ok_or_else(no_keeper)?;
                    let built = keeper.build(cp.number, cp.issued_at_ms, sizes)?;
                    self.store_derived(None, built.stored)?;
                    self.store.publish_maps(PublishedMaps {
                        checkpoint: cp.clone(),
                        shards: built.maps,
                    });
                }
                return Ok(cp.clone());
            }
        }
        let number = latest.map_or(1, |cp| cp.number + 1);
        let sizes = self.sizes();
        let cp = if let Some(keeper) = &mut self.keeper {
            let built = keeper.build(number, now_ms, sizes)?;
            for h in &mut heads {
                h.map_root = built.maps.get(&h.shard).map(|m| m.map.root());
            }
            let vrf = hex::encode(self.store.secrets().vrf.public().as_bytes());
            let cp =
                Checkpoint::sign_with(self.store.signing_key(), Some(vrf), number, now_ms, heads);
            self.store_derived(Some(&cp), built.stored)?;
            self.store.publish_maps(PublishedMaps {
                checkpoint: cp.clone(),
                shards: built.maps,
            });
            cp
        } else {
            let cp = Checkpoint::sign(self.store.signing_key(), number, now_ms, heads);
            self.store_derived(Some(&cp), ToStore::default())?;
            cp
        };
        Ok(cp)
    }

    fn sizes(&self) -> BTreeMap<u32, u64> {
        self.shards.iter().map(|(s, c)| (*s, c.size)).collect()
    }

    /// Stores a checkpoint (if any) in one write with the derived data not
    /// stored yet: the customer trees changed since the last write, with
    /// each shard's size they cover (`customers_at`), and new map keys. The
    /// trees are stored with each checkpoint and on close, not in every
    /// batch (a put per touched customer per batch cost a fifth of the
    /// fold's rate); on open, the entries past `customers_at` are replayed
    /// into them. On a failed write the keeper is given them back.
    fn store_derived(&mut self, cp: Option<&Checkpoint>, derived: ToStore) -> Result<()> {
        let mut batch = WriteBatch::default();
        if let Some(cp) = cp {
            let value = serde_json::to_vec(cp).map_err(|e| StoreError::Invalid(e.to_string()))?;
            batch.put_cf(
                self.store.cf(CF_CHECKPOINTS)?,
                cp.number.to_be_bytes(),
                value,
            );
        }
        if self.keeper.is_some() {
            let trees = self.store.cf(CF_CUSTOMERS)?;
            for (shard, customer, value) in &derived.trees {
                batch.put_cf(trees, keys::customer_tree(*shard, customer), value);
            }
            let map_keys = self.store.cf(CF_MAP_KEYS)?;
            for (customer, key) in &derived.map_keys {
                batch.put_cf(map_keys, customer.as_bytes(), key);
            }
            let meta = self.store.cf(CF_META)?;
            for (shard, cursor) in &self.shards {
                batch.put_cf(meta, keys::customers_at(*shard), cursor.size.to_be_bytes());
            }
        }
        if let Err(e) = self.store.db.write(batch) {
            if let Some(keeper) = &mut self.keeper {
                keeper.not_stored(derived);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Stores a bearer token's grant under the token's SHA-256 (`tokens`
    /// column family). Tokens are not entries and are not rebuilt, but they
    /// are written here, by the one writer, so the flush rule holds for them
    /// too: the write is logged, so unlogged batches are flushed first.
    pub fn put_token(&mut self, token_hash: &[u8; 32], grant: &[u8]) -> Result<()> {
        self.flush_unlogged()?;
        self.store
            .db
            .put_cf(self.store.cf(CF_TOKENS)?, token_hash, grant)?;
        // A token handed out must still work after a power loss.
        self.store.sync_wal()?;
        Ok(())
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Err(e) = self.flush_unlogged() {
            tracing::error!(error = %e, "flushing unlogged batches on close failed; they will be re-read from their source");
            return;
        }
        let Some(keeper) = &mut self.keeper else {
            return;
        };
        let stored = keeper
            .take_unstored()
            .and_then(|derived| self.store_derived(None, derived));
        if let Err(e) = stored {
            tracing::warn!(error = %e, "storing the customer trees on close failed; the next open re-derives them from the entries");
        }
    }
}

fn no_keeper() -> StoreError {
    StoreError::Invalid("customer commitments are off".into())
}

/// Keeps a record that cannot be folded, with its position and the reason.
fn quarantine(
    batch: &mut WriteBatch,
    cf: &rocksdb::ColumnFamily,
    rec: &Record,
    reason: &str,
) -> Result<()> {
    let src = &rec.source;
    let q = QuarantinedRecord {
        topic: src.topic.clone(),
        partition: src.partition,
        offset: src.offset,
        reason: reason.to_string(),
        payload_hex: hex::encode(&rec.payload),
        payload_len: rec.payload.len(),
    };
    let value = serde_json::to_vec(&q).map_err(|e| StoreError::Invalid(e.to_string()))?;
    batch.put_cf(
        cf,
        keys::quarantine(&src.topic, src.partition, src.offset),
        value,
    );
    tracing::warn!(topic = %src.topic, partition = src.partition, offset = src.offset, %reason, "record quarantined");
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Why a record reusing an event id with other content is not folded.
fn conflict_reason(id: &str, shard: u32, seq: u64, earlier: &[u8], received: &[u8]) -> String {
    format!(
        "conflict: event id `{id}` is already folded at shard {shard} seq {seq} with other content \
         (folded event SHA-256 {}, this record's {}); an identical resend is a duplicate, new content needs a new event id",
        sha256_hex(earlier),
        sha256_hex(received)
    )
}

/// An event whose id is already folded (or earlier in the same batch) with
/// other content: why [`Ledger::fold`] refused a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Index of the record in the batch.
    pub index: usize,
    pub event_id: String,
    pub shard: u32,
    /// Where the id was folded (or will be, earlier in the same batch).
    pub seq: Option<u64>,
    pub folded_sha256: String,
    pub received_sha256: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = match self.seq {
            Some(seq) => format!("is already folded at shard {} seq {seq}", self.shard),
            None => "appears earlier in this batch".to_string(),
        };
        write!(
            f,
            "event id `{}` {at} with other content (folded event SHA-256 {}, received {}); \
             resend identical content or use a new event id",
            self.event_id, self.folded_sha256, self.received_sha256
        )
    }
}

/// Decodes and validates a record value; the error is the quarantine reason.
pub fn decode_valid(payload: &[u8]) -> std::result::Result<Event, String> {
    check_size(payload)?;
    let event = Event::decode(payload).map_err(|e| format!("protobuf decode failed: {e}"))?;
    custody_proto::validate(&event).map_err(|e| format!("invalid event: {e}"))?;
    Ok(event)
}

/// The size limits of a stored record value; the error is the quarantine reason.
fn check_size(payload: &[u8]) -> std::result::Result<(), String> {
    if payload.is_empty() {
        return Err("empty record value".into());
    }
    if payload.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "record value is {} bytes, limit {MAX_RECORD_BYTES}",
            payload.len()
        ));
    }
    Ok(())
}

/// The law-enforcement request an event belongs to, if any.
pub fn request_id(kind: &custody_proto::Kind) -> Option<&str> {
    use custody_proto::Kind::*;
    match kind {
        LawEnforcementRequestReceived(r) => Some(&r.request_id),
        LawEnforcementRedirected(r) => Some(&r.request_id),
        LawEnforcementCustomerNotified(r) => Some(&r.request_id),
        LawEnforcementDisclosed(r) => Some(&r.request_id),
        LawEnforcementClosed(r) => Some(&r.request_id),
        _ => None,
    }
}

fn index_finding(
    batch: &mut WriteBatch,
    cf: &rocksdb::ColumnFamily,
    v: &Verdict,
    customer: &str,
    shard: u32,
    seq: u64,
) {
    match &v.effect {
        Effect::Breach => batch.put_cf(cf, keys::finding(b'r', &v.rule, customer, shard, seq), []),
        // An obligation is filed as open; whether it is a finding yet is the
        // watermark's to say, at the read.
        Effect::Opens | Effect::Obligation { .. } => {
            batch.put_cf(cf, keys::finding(b'o', &v.rule, customer, shard, seq), [])
        }
        Effect::Closes { opened_seq } | Effect::Discharges { opened_seq } => {
            let ended = if matches!(v.effect, Effect::Closes { .. }) {
                b'c'
            } else {
                b'd'
            };
            batch.delete_cf(
                cf,
                keys::finding(b'o', &v.rule, customer, shard, *opened_seq),
            );
            batch.put_cf(
                cf,
                keys::finding(ended, &v.rule, customer, shard, *opened_seq),
                seq.to_be_bytes(),
            );
        }
        // The breach stays recorded; this marks it withdrawn, by this entry.
        Effect::Withdraws {
            opened_seq,
            customer,
        } => batch.put_cf(
            cf,
            keys::finding(b'w', &v.rule, customer, shard, *opened_seq),
            seq.to_be_bytes(),
        ),
    }
}

fn write_state(
    batch: &mut WriteBatch,
    cf: &rocksdb::ColumnFamily,
    shard: u32,
    state: &ShardState,
    event: &Event,
) -> Result<()> {
    let json =
        |v: Result<Vec<u8>, serde_json::Error>| v.map_err(|e| StoreError::Invalid(e.to_string()));
    if let Some(c) = state.customers.get(&event.customer_id) {
        batch.put_cf(
            cf,
            keys::state(shard, b'c', &event.customer_id),
            json(serde_json::to_vec(c))?,
        );
    } else if !event.customer_id.is_empty() {
        batch.delete_cf(cf, keys::state(shard, b'c', &event.customer_id));
    }
    if let Some(custody_proto::Kind::SubcontractorRegistered(s)) = &event.kind {
        if let Some(sub) = state.subcontractors.get(&s.subcontractor_id) {
            batch.put_cf(
                cf,
                keys::state(shard, b's', &s.subcontractor_id),
                json(serde_json::to_vec(sub))?,
            );
        }
    }
    Ok(())
}

/// The customer trees as stored, brought up to the shards' heads.
fn load_customer_trees(store: &Store, shards: &BTreeMap<u32, ShardCursor>) -> Result<Trees> {
    let mut trees = Trees::new();
    let cf = store.cf(CF_CUSTOMERS)?;
    for item in store.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("customers key {}", hex::encode(&k)),
            reason,
        };
        let (shard, customer) =
            keys::parse_customer_tree(&k).ok_or_else(|| corrupt("undecodable key".into()))?;
        let tree = CustomerTree::decode(&v).map_err(corrupt)?;
        if !shards.contains_key(&shard) {
            return Err(corrupt(format!(
                "tree for shard {shard}, which has no head"
            )));
        }
        trees.entry(shard).or_default().insert(customer, tree);
    }
    // Entries folded after the trees were last stored (a crash, or a close
    // whose write failed) are replayed into them; a shard without the
    // marker is derived from its first entry.
    for (shard, cursor) in shards {
        let customers = trees.entry(*shard).or_default();
        let from = match store.get(CF_META, &keys::customers_at(*shard))? {
            Some(v) => <[u8; 8]>::try_from(v.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what: format!("meta customers_at shard {shard}"),
                    reason: "not a u64".into(),
                })?,
            None => {
                customers.clear();
                0
            }
        };
        for seq in from..cursor.size {
            let (entry, hash) = store
                .entry(*shard, seq)?
                .ok_or_else(|| StoreError::Corrupt {
                    what: format!("entry shard {shard} seq {seq}"),
                    reason: "missing below the head".into(),
                })?;
            let Ok(event) = Event::decode(entry.event.as_slice()) else {
                continue;
            };
            if event.customer_id.is_empty() {
                continue;
            }
            let occurred = event.occurred_at.as_ref().map(timestamp_ms).unwrap_or(0);
            customers
                .entry(event.customer_id.clone())
                .or_default()
                .record(seq, occurred, &hash, SealOp::of(&event).as_ref());
        }
    }
    Ok(trees)
}

fn load_map_keys(store: &Store) -> Result<HashMap<String, Hash>> {
    let cf = store.cf(CF_MAP_KEYS)?;
    let mut out = HashMap::new();
    for item in store.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let corrupt = |reason: &str| StoreError::Corrupt {
            what: format!("map_keys key {}", hex::encode(&k)),
            reason: reason.into(),
        };
        let customer = String::from_utf8(k.to_vec()).map_err(|_| corrupt("not UTF-8"))?;
        let key: Hash = v.as_ref().try_into().map_err(|_| corrupt("not 32 bytes"))?;
        out.insert(customer, key);
    }
    Ok(out)
}

fn load_states(store: &Store, shards: &mut BTreeMap<u32, ShardCursor>) -> Result<()> {
    let cf = store.cf(CF_STATE)?;
    for item in store.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("state key {}", hex::encode(&k)),
            reason,
        };
        if k.len() < 5 {
            return Err(corrupt("key too short".into()));
        }
        let shard = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
        let name = String::from_utf8(k[5..].to_vec()).map_err(|e| corrupt(e.to_string()))?;
        let Some(cursor) = shards.get_mut(&shard) else {
            return Err(corrupt(format!(
                "state for shard {shard}, which has no head"
            )));
        };
        match k[4] {
            b'c' => {
                let c = serde_json::from_slice(&v).map_err(|e| corrupt(e.to_string()))?;
                cursor.state.customers.insert(name, c);
            }
            b's' => {
                let s = serde_json::from_slice(&v).map_err(|e| corrupt(e.to_string()))?;
                cursor.state.subcontractors.insert(name, s);
            }
            b't' => {
                cursor.state.event_time =
                    serde_json::from_slice(&v).map_err(|e| corrupt(e.to_string()))?;
            }
            t => return Err(corrupt(format!("unknown state tag {t}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_proto::event_from_json;

    fn event(id: &str, customer: &str) -> Vec<u8> {
        event_from_json(&format!(
            r#"{{"eventId":"{id}","customerId":"{customer}","occurredAt":"2026-01-01T00:00:00Z",
               "actor":{{"id":"a","role":"ROLE_SUPPORT_ENGINEER"}},
               "dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}}}"#
        ))
        .expect("json")
        .encode_to_vec()
    }

    fn rec(partition: u32, offset: u64, payload: Vec<u8>) -> Record {
        Record::new(
            SourcePosition {
                topic: "t".into(),
                partition,
                offset,
                timestamp_ms: 7,
            },
            payload,
        )
    }

    #[test]
    fn duplicates_redeliveries_and_garbage() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = Ledger::open(dir.path()).expect("open");
        let s = l
            .fold(&[
                rec(0, 0, event("e1", "c1")),
                rec(0, 1, event("e1", "c1")),
                rec(0, 2, vec![0xff, 0xff]),
                rec(1, 0, event("e2", "c2")),
            ])
            .expect("fold");
        assert_eq!(
            s.outcomes,
            vec![
                Outcome::Folded { shard: 0, seq: 0 },
                Outcome::Duplicate { shard: 0, seq: 0 },
                Outcome::Quarantined {
                    reason: s.outcomes[2].clone().quarantine_reason()
                },
                Outcome::Folded { shard: 1, seq: 0 },
            ]
        );
        assert!(s.outcomes[2]
            .clone()
            .quarantine_reason()
            .contains("protobuf decode failed"));
        assert_eq!(l.next_offset("t", 0), 3);
        // A redelivery of offsets already folded changes nothing.
        let heads = l.heads();
        let again = l.fold(&[rec(0, 1, event("e9", "c1"))]).expect("fold");
        assert_eq!(again.outcomes, vec![Outcome::AlreadyFolded]);
        assert_eq!(l.heads(), heads);
        // State survives a reopen.
        drop(l);
        let l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(l.heads(), heads);
        assert_eq!(l.next_offset("t", 0), 3);
        assert_eq!(l.store().quarantine(10).expect("q").len(), 1);
    }

    #[test]
    fn an_event_id_reused_with_other_content_is_a_conflict_not_a_duplicate() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = Ledger::open(dir.path()).expect("open");
        let first = event("e1", "c1");
        let other = event("e1", "c2");
        let s = l
            .fold_replayable(&[
                rec(0, 0, first.clone()),
                // In the same batch: an identical resend, then other content.
                rec(0, 1, first.clone()),
                rec(0, 2, other.clone()),
            ])
            .expect("fold");
        assert_eq!(s.outcomes[0], Outcome::Folded { shard: 0, seq: 0 });
        assert_eq!(s.outcomes[1], Outcome::Duplicate { shard: 0, seq: 0 });
        let reason = s.outcomes[2].clone().quarantine_reason();
        assert!(reason.starts_with("conflict: event id `e1`"), "{reason}");
        assert!(reason.contains("shard 0 seq 0"), "{reason}");
        // Against what is stored: the same.
        let s = l
            .fold_replayable(&[rec(0, 3, first.clone()), rec(0, 4, other.clone())])
            .expect("fold");
        assert_eq!(s.outcomes[0], Outcome::Duplicate { shard: 0, seq: 0 });
        assert!(s.outcomes[1]
            .clone()
            .quarantine_reason()
            .starts_with("conflict:"));
        assert_eq!(l.heads()[0].size, 1);
        assert_eq!(l.store().quarantine(10).expect("q").len(), 2);
        // The all-or-nothing fold (WAL) names the same and writes nothing.
        let heads = l.heads();
        let records = vec![
            rec(0, 5, first.clone()).with_event(Event::decode(first.as_slice()).expect("e")),
            rec(0, 6, other.clone()).with_event(Event::decode(other.as_slice()).expect("e")),
        ];
        let Err(StoreError::Conflict(conflict)) = l.fold(&records) else {
            panic!("the conflict must refuse the batch");
        };
        assert_eq!((conflict.index, conflict.seq), (1, Some(0)));
        assert!(conflict.to_string().contains("other content"));
        assert_eq!(l.heads(), heads);
        assert_eq!(l.next_offset("t", 0), 5);
    }

    #[test]
    fn replayable_batches_are_flushed_before_logged_writes_and_on_close() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut l = Ledger::open(dir.path()).expect("open");
        l.fold_replayable(&[rec(0, 0, event("r1", "c1"))])
            .expect("fold");
        assert!(l.unflushed_without_wal);
        // A durable fold flushes the unlogged batch first.
        l.fold(&[rec(0, 1, event("r2", "c1"))]).expect("fold");
        assert!(!l.unflushed_without_wal);
        l.fold_replayable(&[rec(0, 2, event("r3", "c1"))])
            .expect("fold");
        // So does signing a checkpoint: it may only state durable entries.
        let cp = l.checkpoint(0).expect("checkpoint");
        assert!(!l.unflushed_without_wal);
        assert_eq!(cp.shards[0].size, 3);
        l.fold_replayable(&[rec(0, 3, event("r4", "c1"))])
            .expect("fold");
        let heads = l.heads();
        drop(l);
        let l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(l.heads(), heads);
        assert_eq!(l.next_offset("t", 0), 4);
    }

    fn json_event(json: &str) -> Vec<u8> {
        event_from_json(json).expect("json").encode_to_vec()
    }

    fn profile(id: &str, customer: &str, eea: bool) -> Vec<u8> {
        json_event(&format!(
            r#"{{"eventId":"{id}","customerId":"{customer}","occurredAt":"2026-01-01T00:00:00Z",
               "customerProfileSet":{{"eeaStorageOnly":{eea},"homeCountry":"DE"}}}}"#
        ))
    }

    fn le_request(id: &str, customer: &str, request: &str) -> Vec<u8> {
        json_event(&format!(
            r#"{{"eventId":"{id}","customerId":"{customer}","occurredAt":"2026-01-02T00:00:00Z",
               "actor":{{"id":"legal-1","role":"ROLE_LEGAL"}},
               "lawEnforcementRequestReceived":{{"requestId":"{request}","jurisdiction":"US",
                 "instrument":"LEGAL_INSTRUMENT_SUBPOENA","legallyBinding":true,
                 "scopeRequested":["DATA_CATEGORY_CONTACT"]}}}}"#
        ))
    }

    fn registration(id: &str, sub: &str, country: &str) -> Vec<u8> {
        json_event(&format!(
            r#"{{"eventId":"{id}","occurredAt":"2026-01-01T00:00:00Z",
               "subcontractorRegistered":{{"subcontractorId":"{sub}","name":"Sub","country":"{country}",
                 "attestationValidFrom":"2026-01-01T00:00:00Z","attestationValidTo":"2027-01-01T00:00:00Z"}}}}"#
        ))
    }

    /// Every customer tree (shard, customer, size, root, requests), sorted.
    fn tree_summary(l: &mut Ledger) -> Vec<(u32, String, u64, Hash, String)> {
        let trees = l.keeper.as_mut().expect("commitments on").snapshot();
        let mut out: Vec<_> = trees
            .into_iter()
            .flat_map(|(s, c)| {
                c.into_iter().map(move |(n, t)| {
                    (
                        s,
                        n,
                        t.frontier.size(),
                        t.frontier.root(),
                        format!("{:?}", t.requests),
                    )
                })
            })
            .collect();
        out.sort();
        out
    }

    /// The policy state of every shard, as the fold holds it.
    fn states(l: &Ledger) -> Vec<(u32, ShardState)> {
        l.shards
            .iter()
            .map(|(shard, c)| (*shard, c.state.clone()))
            .collect()
    }

    #[test]
    fn a_failed_batch_changes_nothing_and_the_next_one_chains_on() {
        // Shards 0 and 1 exist before the failure; shard 2 would be created
        // by the failing batch.
        let first = vec![
            rec(0, 0, profile("p1", "c1", false)),
            rec(0, 1, event("a1", "c1")),
            rec(0, 2, registration("s1", "sub-1", "PL")),
            rec(1, 0, le_request("l1", "c2", "le-1")),
        ];
        // Touches every kind of in-memory state: an existing customer's
        // profile, a new customer, a new request, a registration that
        // replaces one and one that is new, a new shard; the failure comes
        // after four entries are folded in memory.
        let failing = vec![
            rec(0, 3, profile("p2", "c1", true)),
            rec(0, 4, le_request("l2", "c3", "le-2")),
            rec(0, 5, registration("s2", "sub-1", "US")),
            rec(2, 0, registration("s3", "sub-2", "FR")),
            rec(1, 1, le_request("l3", "c2", "le-3")),
            rec(1, 2, event("a2", "c2")),
        ];
        // What the source delivers again after the failure: different
        // events at the same offsets (as after a re-read from the stored
        // offsets of a topic that has moved on), so any leftover of the
        // failed batch would show in the heads.
        let next = vec![
            rec(0, 3, event("a3", "c1")),
            rec(1, 1, le_request("l4", "c2", "le-4")),
            rec(2, 0, event("a4", "c9")),
        ];

        let reference_dir = tempfile::tempdir().expect("tmp");
        let mut reference = Ledger::open(reference_dir.path()).expect("open");
        reference.fold(&first).expect("fold");
        reference.fold(&next).expect("fold");

        for (fault, replayable) in [
            (Fault::AfterFolded(3), false),
            (Fault::AfterFolded(0), true),
            (Fault::Write, false),
            (Fault::Write, true),
        ] {
            let dir = tempfile::tempdir().expect("tmp");
            let mut l = Ledger::open(dir.path()).expect("open");
            l.fold(&first).expect("fold");
            let (heads, state, trees) = (l.heads(), states(&l), tree_summary(&mut l));

            l.fault = Some(fault);
            let failed = if replayable {
                l.fold_replayable(&failing)
            } else {
                l.fold(&failing)
            };
            assert!(failed.is_err(), "{fault:?}: the batch must fail");
            l.fault = None;
            assert_eq!(l.heads(), heads, "{fault:?}: heads moved");
            assert_eq!(states(&l), state, "{fault:?}: policy state moved");
            assert_eq!(
                tree_summary(&mut l),
                trees,
                "{fault:?}: customer trees moved"
            );
            assert_eq!(l.next_offset("t", 0), 3, "{fault:?}");
            assert_eq!(l.next_offset("t", 2), 0, "{fault:?}");

            l.fold(&next).expect("the ledger stays usable");
            assert_eq!(l.heads(), reference.heads(), "{fault:?}");
            assert_eq!(
                tree_summary(&mut l),
                tree_summary(&mut reference),
                "{fault:?}"
            );
            assert_eq!(states(&l), states(&reference), "{fault:?}");
            let report = crate::verify_store(l.store(), None, |_| {}).expect("verify");
            assert!(report.ok(), "{fault:?}: {:?}", report.problems);

            drop(l);
            let l = Ledger::open(dir.path()).expect("reopen");
            assert_eq!(l.heads(), reference.heads(), "{fault:?}: after reopen");
            assert_eq!(
                states(&l),
                states(&reference),
                "{fault:?}: persisted policy state"
            );
            assert_eq!(l.next_offset("t", 0), 4, "{fault:?}");
        }
    }

    #[test]
    fn same_records_give_same_heads_in_any_batching() {
        let records: Vec<Record> = (0..300)
            .map(|i| {
                rec(
                    i % 3,
                    u64::from(i / 3),
                    event(&format!("e{i}"), &format!("c{}", i % 7)),
                )
            })
            .collect();
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let mut la = Ledger::open(a.path()).expect("open");
        let mut lb = Ledger::open(b.path()).expect("open");
        la.fold(&records).expect("fold");
        for chunk in records.chunks(17) {
            lb.fold(chunk).expect("fold");
        }
        assert_eq!(la.heads(), lb.heads());
        let report = crate::verify_store(lb.store(), None, |_| {}).expect("verify");
        assert!(report.ok(), "{:?}", report.problems);
    }

    #[test]
    fn customer_trees_are_stored_with_checkpoints_and_replayed_on_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let records: Vec<Record> = (0..60)
            .map(|i| {
                rec(
                    i % 2,
                    u64::from(i / 2),
                    event(&format!("e{i}"), &format!("c{}", i % 5)),
                )
            })
            .collect();
        let trees = |l: &mut Ledger| -> Vec<(u32, String, u64, Hash)> {
            let trees = l.keeper.as_mut().expect("commitments on").snapshot();
            let mut out: Vec<_> = trees
                .into_iter()
                .flat_map(|(s, c)| {
                    c.into_iter()
                        .map(move |(n, t)| (s, n, t.frontier.size(), t.frontier.root()))
                })
                .collect();
            out.sort();
            out
        };
        let mut l = Ledger::open(dir.path()).expect("open");
        l.fold(&records[..30]).expect("fold");
        l.checkpoint(1).expect("checkpoint");
        l.fold(&records[30..]).expect("fold");
        let expected = trees(&mut l);
        assert_eq!(expected.iter().map(|t| t.2).sum::<u64>(), 60);
        // Stored on close; read back as they were.
        drop(l);
        let mut l = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(trees(&mut l), expected);
        drop(l);
        // As after a crash past the last stored trees: the trees and the
        // marker say 10 entries of shard 0; then shard 1 without a marker
        // and a stale tree. The entries are replayed into them.
        let partial: Vec<Record> = records
            .iter()
            .filter(|r| r.source.partition == 0)
            .take(10)
            .cloned()
            .collect();
        let scratch = tempfile::tempdir().expect("tmp");
        let stored_at_10: Vec<(String, Vec<u8>)> = {
            let mut p = Ledger::open(scratch.path()).expect("open");
            p.fold(&partial).expect("fold");
            p.keeper.as_mut().expect("commitments on").snapshot()[&0]
                .iter()
                .map(|(n, t)| (n.clone(), t.encode().expect("encode")))
                .collect()
        };
        {
            let store = Store::open(dir.path()).expect("store");
            let meta = store.cf(CF_META).expect("cf");
            let cf = store.cf(CF_CUSTOMERS).expect("cf");
            store
                .db
                .put_cf(meta, keys::customers_at(0), 10u64.to_be_bytes())
                .expect("write");
            for (name, value) in &stored_at_10 {
                store
                    .db
                    .put_cf(cf, keys::customer_tree(0, name), value)
                    .expect("write");
            }
            store
                .db
                .delete_cf(meta, keys::customers_at(1))
                .expect("write");
            let stale = CustomerTree::default().encode().expect("encode");
            store
                .db
                .put_cf(cf, keys::customer_tree(1, "c1"), &stale)
                .expect("write");
        }
        let mut reopened = Ledger::open(dir.path()).expect("reopen");
        assert_eq!(trees(&mut reopened), expected);
        let report = crate::verify_store(reopened.store(), None, |_| {}).expect("verify");
        assert!(report.ok(), "{:?}", report.problems);
    }
}
