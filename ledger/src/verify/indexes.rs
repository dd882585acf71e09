//! The indexes the fold writes beside the entries, recomputed from the
//! entries alone and compared with the stored ones in both directions.
//!
//! What each entry leaves (as `Ledger::fold` writes it, `ledger/src/fold.rs`):
//!
//! | index | key (value) | for |
//! |---|---|---|
//! | `by_customer` | customer, occurred-at, shard, seq (empty, or the entry hash) | an entry with a customer id |
//! | `by_event` | shard, event id (seq) | every entry |
//! | `by_request` | request id, shard, seq (empty) | a law-enforcement event |
//! | `findings` | `r`, rule, customer, shard, seq (empty) | a `Breach` verdict |
//! | | `o`, rule, customer, shard, seq (empty) | an `Opens` verdict not closed since |
//! | | `c`, rule, customer, shard, opened seq (closing seq) | a `Closes { opened_seq }` verdict (which also deletes the `o` key) |
//! | | `o`, rule, customer, shard, seq (empty) | an `Obligation` verdict not discharged or closed since |
//! | | `d`, rule, customer, shard, opened seq (discharging seq) | a `Discharges { opened_seq }` verdict (which also deletes the `o` key) |
//! | | `w`, rule, customer named by the verdict, shard, opened seq (withdrawing seq) | a `Withdraws { opened_seq, customer }` verdict (the `r` key stays) |
//!
//! Two steps, each in bounded memory (nothing grows with the ledger but
//! counters):
//!
//! 1. **Digests** (every run). Each stored index is scanned once, before
//!    the entries, and every key with its value hashed and added into a
//!    per-index sum. As the entries stream by (only those whose hash,
//!    position and link verified), each key they give, with the value they
//!    give it, is summed the same way; a `Closes` subtracts the open key it
//!    deletes. The hash is SHA-256 keyed with 64 random bytes drawn for this
//!    run, so nobody who altered the store can have chosen keys whose sums
//!    cancel: equal sums and counts mean equal sets, but for a chance of
//!    about 2^-128. A `by_customer` value may be empty (today) or the entry
//!    hash (once the fold writes it): whichever form the stored index holds
//!    is expected; a store holding both is checked key by key (step 2),
//!    where either form passes.
//! 2. **Naming** (only for an index whose digest differs). The verified
//!    entries are streamed again and the keys they give looked up in
//!    batches (`multi_get`, sorted): a missing key or a wrong value is named
//!    by the entry that gives it. An `Opens` whose open key is gone must be
//!    closed: its closed key's value names the closing entry, which is read
//!    to check that it closes this finding. Each key found as the entries
//!    give it is counted; when the index holds more keys than that, it is
//!    scanned, each key checked against the entry it names (a point lookup),
//!    until every unmatched key is accounted for: one named already (a wrong
//!    value) or one that no entry gives (named here). Keys of positions past
//!    where a shard stopped verifying (but within its head or a checkpoint)
//!    are not judged: the chain check names that shard broken or truncated.
//!    The first [`LISTED`] mismatches of an index are named, then a count.
//!
//! Not covered: the policy `state` column family. Its values come from
//! replaying the policy rules over the entries, which is what `custody
//! rebuild` does (it compares every derived column family byte for byte).

use std::collections::BTreeMap;

use custody_policy::{format_ms, Effect, Verdict};
use custody_proto::{timestamp_ms, Event};
use prost::Message;
use rand_core::RngCore;
use rocksdb::{Direction, IteratorMode};
use sha2::{Digest, Sha256};

use super::Problem;
use crate::entry::{split_stored, Entry};
use crate::fold::request_id;
use crate::keys::{self, CF_BY_CUSTOMER, CF_BY_EVENT, CF_BY_REQUEST, CF_ENTRIES, CF_FINDINGS};
use crate::merkle::Hash;
use crate::store::{Result, Store, StoreError};

/// Expected keys looked up per `multi_get` round when naming mismatches.
const BATCH: usize = 4096;
/// Mismatches named per index; the rest are counted.
const LISTED: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Index {
    ByCustomer,
    ByEvent,
    ByRequest,
    Findings,
}

impl Index {
    const ALL: [Index; 4] = [
        Index::ByCustomer,
        Index::ByEvent,
        Index::ByRequest,
        Index::Findings,
    ];

    fn cf(self) -> &'static str {
        match self {
            Index::ByCustomer => CF_BY_CUSTOMER,
            Index::ByEvent => CF_BY_EVENT,
            Index::ByRequest => CF_BY_REQUEST,
            Index::Findings => CF_FINDINGS,
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// What an entry says about one key it gives (the names in it are read
/// back from the key when a mismatch is worded).
#[derive(Debug, Clone)]
enum Kind {
    /// by_customer; the value is empty or `hash`.
    Customer { at_ms: i64, hash: Hash },
    /// by_event; the value is the entry's seq.
    Event,
    /// by_request; no value.
    Request,
    /// findings `r`; no value.
    Breach,
    /// findings `o` (unless closed since); no value.
    Open,
    /// findings `c` (closed) or `d` (discharged: `ended`) of the finding or
    /// obligation opened at `opened_seq`; the value is the entry's seq.
    /// `open_key` is the `o` key the fold deleted.
    Close {
        opened_seq: u64,
        open_key: Vec<u8>,
        ended: u8,
    },
    /// findings `w` of the breach recorded at `opened_seq`; the value is the
    /// entry's seq.
    Withdraw { opened_seq: u64 },
}

impl Kind {
    fn index(&self) -> Index {
        match self {
            Kind::Customer { .. } => Index::ByCustomer,
            Kind::Event => Index::ByEvent,
            Kind::Request => Index::ByRequest,
            Kind::Breach | Kind::Open | Kind::Close { .. } | Kind::Withdraw { .. } => {
                Index::Findings
            }
        }
    }
}

/// Calls `give` with every key the entry at (shard, seq) leaves in the
/// indexes, exactly as `fold_batch_or_leave_undo` and `index_finding` write
/// them; `body` is its canonical bytes, already checked against `hash`.
/// An error says why the entry gives no keys (it cannot be decoded).
fn keys_of(
    shard: u32,
    seq: u64,
    body: &[u8],
    hash: &Hash,
    mut give: impl FnMut(Kind, Vec<u8>),
) -> std::result::Result<(), String> {
    let (event_bytes, verdict_count) =
        peek_event(body).ok_or_else(|| "the entry is truncated".to_string())?;
    let event =
        Event::decode(event_bytes).map_err(|e| format!("its event does not decode ({e})"))?;
    let at_ms = event.occurred_at.as_ref().map(timestamp_ms).unwrap_or(0);
    give(Kind::Event, keys::by_event(shard, &event.event_id));
    if !event.customer_id.is_empty() {
        give(
            Kind::Customer { at_ms, hash: *hash },
            keys::by_customer(&event.customer_id, at_ms, shard, seq),
        );
    }
    if let Some(request) = event.kind.as_ref().and_then(request_id) {
        give(Kind::Request, keys::by_request(request, shard, seq));
    }
    if verdict_count > 0 {
        let verdicts = Entry::decode(body).map_err(|e| e.to_string())?.verdicts;
        let customer = event.customer_id.as_str();
        // Two verdicts giving the same key write it twice: it is given once.
        let mut given: Vec<Vec<u8>> = Vec::new();
        for v in &verdicts {
            let (kind, key) = match &v.effect {
                Effect::Breach => (
                    Kind::Breach,
                    keys::finding(b'r', &v.rule, customer, shard, seq),
                ),
                Effect::Opens | Effect::Obligation { .. } => (
                    Kind::Open,
                    keys::finding(b'o', &v.rule, customer, shard, seq),
                ),
                Effect::Closes { opened_seq } | Effect::Discharges { opened_seq } => {
                    let ended = ended_state(&v.effect);
                    (
                        Kind::Close {
                            opened_seq: *opened_seq,
                            open_key: keys::finding(b'o', &v.rule, customer, shard, *opened_seq),
                            ended,
                        },
                        keys::finding(ended, &v.rule, customer, shard, *opened_seq),
                    )
                }
                Effect::Withdraws {
                    opened_seq,
                    customer: whose,
                } => (
                    Kind::Withdraw {
                        opened_seq: *opened_seq,
                    },
                    keys::finding(b'w', &v.rule, whose, shard, *opened_seq),
                ),
            };
            if !given.contains(&key) {
                given.push(key.clone());
                give(kind, key);
            }
        }
    }
    Ok(())
}

/// The index check of one `verify_store` run: made before the entries
/// stream by (it sums the stored indexes), fed every verified entry in order
/// ([`IndexCheck::entry`]), then [`IndexCheck::finish`]ed.
pub(super) struct IndexCheck<'s> {
    store: &'s Store,
    hasher: KeyedHash,
    stored: [SetDigest; 4],
    expected: [SetDigest; 4],
    /// What the stored by_customer values are.
    customer_values: Values,
    /// Entries whose event does not decode, so give no keys at all.
    undecodable: Mismatches,
}

/// The stored by_customer values: all empty (as the fold writes them
/// today), all non-empty (entry hashes, as it will), or both (no digest can
/// tell which key should hold which; the keys are then looked up one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Empty,
    Hashes,
    Mixed,
}

impl<'s> IndexCheck<'s> {
    /// Sums each stored index.
    pub(super) fn new(store: &'s Store) -> Result<Self> {
        let hasher = KeyedHash::random()?;
        let mut stored: [SetDigest; 4] = Default::default();
        let (mut empty, mut hashes) = (0u64, 0u64);
        for index in Index::ALL {
            let digest = &mut stored[index.slot()];
            let mut iter = store.db.raw_iterator_cf(store.cf(index.cf())?);
            iter.seek_to_first();
            while let (Some(k), Some(v)) = (iter.key(), iter.value()) {
                digest.add(hasher.item(index, k, v));
                if index == Index::ByCustomer && v.is_empty() {
                    empty += 1;
                } else if index == Index::ByCustomer {
                    hashes += 1;
                }
                iter.next();
            }
            iter.status()?;
        }
        let customer_values = match (empty, hashes) {
            (_, 0) => Values::Empty,
            (0, _) => Values::Hashes,
            _ => Values::Mixed,
        };
        Ok(IndexCheck {
            store,
            hasher,
            stored,
            expected: Default::default(),
            customer_values,
            undecodable: Mismatches::default(),
        })
    }

    /// Adds the keys of the verified entry at (shard, seq) to the digests.
    pub(super) fn entry(&mut self, shard: u32, seq: u64, body: &[u8], hash: &Hash) {
        let (hasher, expected) = (&self.hasher, &mut self.expected);
        let hashes = self.customer_values == Values::Hashes;
        let seq_bytes = seq.to_be_bytes();
        let given = keys_of(shard, seq, body, hash, |kind, key| {
            let index = kind.index();
            let digest = &mut expected[index.slot()];
            match kind {
                Kind::Customer { hash, .. } if hashes => {
                    digest.add(hasher.item(index, &key, &hash))
                }
                Kind::Customer { .. } | Kind::Request | Kind::Breach | Kind::Open => {
                    digest.add(hasher.item(index, &key, &[]))
                }
                Kind::Event => digest.add(hasher.item(index, &key, &seq_bytes)),
                Kind::Close { open_key, .. } => {
                    digest.add(hasher.item(index, &key, &seq_bytes));
                    digest.remove(hasher.item(index, &open_key, &[]));
                }
                Kind::Withdraw { .. } => digest.add(hasher.item(index, &key, &seq_bytes)),
            }
        });
        if let Err(why) = given {
            self.undecodable.push(Problem {
                shard,
                seq: Some(seq),
                what: format!("the entry's index keys cannot be recomputed: {why}"),
            });
        }
    }

    /// Compares each stored index with the digest of the entries; names the
    /// mismatches of those that differ and appends them to `problems`.
    /// `shards`: (shard, entries verified, entries claimed by its head or a
    /// checkpoint). Keys of the positions in between are not judged: the
    /// chain check has named the shard as broken or truncated.
    pub(super) fn finish(
        self,
        shards: &[(u32, u64, u64)],
        problems: &mut Vec<Problem>,
    ) -> Result<()> {
        let mut differ = [false; 4];
        for index in Index::ALL {
            differ[index.slot()] = self.stored[index.slot()] != self.expected[index.slot()]
                || (index == Index::ByCustomer && self.customer_values == Values::Mixed);
        }
        self.undecodable.into_problems("entries", problems);
        if differ.contains(&true) {
            let reader = Reader {
                store: self.store,
                shards: shards.iter().map(|&(s, v, c)| (s, (v, c))).collect(),
            };
            let mut naming = Naming::new(reader, differ);
            for &(shard, verified, _) in shards {
                naming.shard(shard, verified)?;
            }
            let counts = self.stored.map(|d| u64::try_from(d.count).unwrap_or(0));
            naming.finish(counts, problems)?;
        }
        Ok(())
    }
}

/// An order-independent digest of a set of items: the sum of their keyed
/// hashes (mod 2^128) and their number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct SetDigest {
    sum: u128,
    count: i64,
}

impl SetDigest {
    fn add(&mut self, h: u128) {
        self.sum = self.sum.wrapping_add(h);
        self.count += 1;
    }

    fn remove(&mut self, h: u128) {
        self.sum = self.sum.wrapping_sub(h);
        self.count -= 1;
    }
}

/// SHA-256 with a secret 64-byte prefix drawn for one run (one compressed
/// block; each item then costs one or two more), truncated to 128 bits.
struct KeyedHash(Sha256);

impl KeyedHash {
    fn random() -> Result<Self> {
        let mut secret = [0u8; 64];
        rand_core::OsRng.try_fill_bytes(&mut secret).map_err(|e| {
            StoreError::Invalid(format!("no randomness for the index digests: {e}"))
        })?;
        Ok(KeyedHash(Sha256::new_with_prefix(secret)))
    }

    fn item(&self, index: Index, key: &[u8], value: &[u8]) -> u128 {
        let mut h = self.0.clone();
        h.update([index as u8]);
        h.update((key.len() as u32).to_be_bytes());
        h.update(key);
        h.update(value);
        let out = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&out[..16]);
        u128::from_be_bytes(first)
    }
}

/// The first [`LISTED`] problems of one index, and how many more.
#[derive(Default)]
struct Mismatches {
    listed: Vec<Problem>,
    more: u64,
    first_unlisted: Option<(u32, Option<u64>)>,
}

impl Mismatches {
    fn push(&mut self, p: Problem) {
        if self.listed.len() < LISTED {
            self.listed.push(p);
        } else {
            self.more += 1;
            self.first_unlisted.get_or_insert((p.shard, p.seq));
        }
    }

    fn into_problems(self, name: &str, out: &mut Vec<Problem>) {
        out.extend(self.listed);
        if let Some((shard, seq)) = self.first_unlisted {
            out.push(Problem {
                shard,
                seq,
                what: format!(
                    "{name}: {} more mismatches from here on (the first {LISTED} are listed)",
                    self.more
                ),
            });
        }
    }
}

/// An expected key, from the entry at (shard, seq).
struct Lookup {
    shard: u32,
    seq: u64,
    key: Vec<u8>,
    kind: Kind,
}

/// Step 2: names the mismatches of the indexes whose digests differ.
struct Naming<'s> {
    reader: Reader<'s>,
    check: [bool; 4],
    pending: Vec<Lookup>,
    /// Stored keys found as the entries give them, per index.
    matched: [u64; 4],
    mismatches: [Mismatches; 4],
}

impl<'s> Naming<'s> {
    fn new(reader: Reader<'s>, check: [bool; 4]) -> Self {
        Naming {
            reader,
            check,
            pending: Vec::with_capacity(BATCH + 16),
            matched: [0; 4],
            mismatches: Default::default(),
        }
    }

    /// Looks up the keys of the first `count` entries of a shard (verified
    /// by the chain check: their hashes are trusted here).
    fn shard(&mut self, shard: u32, count: u64) -> Result<()> {
        let prefix = shard.to_be_bytes();
        let store = self.reader.store;
        let entries = store.db.iterator_cf(
            store.cf(CF_ENTRIES)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in entries {
            let (k, v) = item?;
            let Some((s, seq)) = keys::parse_entry(&k) else {
                break;
            };
            if s != shard || seq >= count {
                break;
            }
            let Ok((body, hash)) = split_stored(&v) else {
                break;
            };
            let (check, pending) = (&self.check, &mut self.pending);
            // Undecodable entries were named by the digest step.
            let _ = keys_of(shard, seq, body, &hash, |kind, key| {
                if check[kind.index().slot()] {
                    pending.push(Lookup {
                        shard,
                        seq,
                        key,
                        kind,
                    });
                }
            });
            if self.pending.len() >= BATCH {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Looks up the pending keys and judges each.
    fn flush(&mut self) -> Result<()> {
        let store = self.reader.store;
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by(|a, b| {
            (a.kind.index(), &a.key, a.shard, a.seq).cmp(&(b.kind.index(), &b.key, b.shard, b.seq))
        });
        let mut found: Vec<(Index, Problem)> = Vec::new();
        for group in pending.chunk_by(|a, b| a.kind.index() == b.kind.index()) {
            let index = group[0].kind.index();
            let values = store.db.batched_multi_get_cf(
                store.cf(index.cf())?,
                group.iter().map(|l| &l.key),
                true,
            );
            for (lookup, value) in group.iter().zip(values) {
                let value = value?;
                let mut problem = |what: String| {
                    found.push((
                        index,
                        Problem {
                            shard: lookup.shard,
                            seq: Some(lookup.seq),
                            what,
                        },
                    ))
                };
                if judge(&self.reader, lookup, value.as_deref(), &mut problem)? {
                    self.matched[index.slot()] += 1;
                }
            }
        }
        // Named in ledger order, not key order.
        found.sort_by_key(|(index, p)| (*index, p.shard, p.seq));
        for (index, p) in found {
            self.mismatches[index.slot()].push(p);
        }
        pending.clear();
        self.pending = pending;
        Ok(())
    }

    /// Looks up what is still pending, then finds the stored keys that no
    /// entry gives; appends every mismatch to `problems`.
    fn finish(mut self, stored: [u64; 4], problems: &mut Vec<Problem>) -> Result<()> {
        self.flush()?;
        for index in Index::ALL {
            let unmatched = stored[index.slot()].saturating_sub(self.matched[index.slot()]);
            if self.check[index.slot()] && unmatched > 0 {
                self.scan_for_extras(index, unmatched)?;
            }
        }
        for (index, m) in Index::ALL.into_iter().zip(self.mismatches) {
            m.into_problems(index.cf(), problems);
        }
        Ok(())
    }

    /// Scans a stored index for the `unmatched` keys that were not found
    /// from the entries; names those that belong to no entry.
    fn scan_for_extras(&mut self, index: Index, unmatched: u64) -> Result<()> {
        let store = self.reader.store;
        let mut iter = store.db.raw_iterator_cf(store.cf(index.cf())?);
        iter.seek_to_first();
        let mut accounted = 0;
        while accounted < unmatched {
            let (Some(k), Some(v)) = (iter.key(), iter.value()) else {
                break;
            };
            match classify(&self.reader, index, k, v)? {
                Class::Matched => {}
                Class::Named => accounted += 1,
                Class::Extra(p) => {
                    accounted += 1;
                    self.mismatches[index.slot()].push(p);
                }
            }
            iter.next();
        }
        iter.status()?;
        Ok(())
    }
}

/// Judges the stored value (None: no such key) of one expected key; tells
/// `problem` what is wrong. True when the key is there with the value the
/// entries give (a match, counted); each stored key matches at most one
/// expected key.
fn judge(
    reader: &Reader<'_>,
    l: &Lookup,
    value: Option<&[u8]>,
    problem: &mut impl FnMut(String),
) -> Result<bool> {
    let (shard, seq) = (l.shard, l.seq);
    match &l.kind {
        Kind::Customer { at_ms, hash } => {
            let customer = parse_by_customer(&l.key).map(|c| c.0).unwrap_or_default();
            match value {
                None => problem(format!(
                    "by_customer index lacks the key for customer `{customer}` at {}",
                    format_ms(*at_ms)
                )),
                // Empty today; the entry hash once the fold writes it (both pass).
                Some(v) if v.is_empty() || v == hash.as_slice() => return Ok(true),
                Some(v) => problem(format!(
                    "by_customer key for customer `{customer}` at {} holds {}, not the entry hash {}",
                    format_ms(*at_ms),
                    describe(v),
                    hex::encode(hash)
                )),
            }
        }
        Kind::Event => {
            let id = parse_by_event(&l.key).map(|e| e.1).unwrap_or_default();
            match value {
                None => problem(format!("by_event index lacks event id `{id}`")),
                Some(v) if v == seq.to_be_bytes() => return Ok(true),
                Some(v) => problem(format!(
                    "by_event index maps event id `{id}` to {}, but that event is at shard {shard} seq {seq}",
                    seq_value(v).map_or_else(|| describe(v), |s| format!("seq {s}"))
                )),
            }
        }
        Kind::Request => {
            let id = keys::parse_by_request(&l.key)
                .map(|r| r.0)
                .unwrap_or_default();
            match value {
                None => problem(format!(
                    "by_request index lacks the key for law-enforcement request `{id}`"
                )),
                Some([]) => return Ok(true),
                Some(v) => problem(format!(
                    "by_request key for law-enforcement request `{id}` holds {}, where the fold writes none",
                    describe(v)
                )),
            }
        }
        Kind::Breach | Kind::Open | Kind::Close { .. } | Kind::Withdraw { .. } => {
            let Some(f) = keys::parse_finding(&l.key) else {
                return Ok(false);
            };
            let (rule, customer) = (&f.rule, &f.customer);
            let finding = format!("the finding of {rule} for customer `{customer}`");
            match &l.kind {
                Kind::Breach => match value {
                    None => problem(format!(
                        "findings index lacks the recorded breach of {rule} for customer `{customer}`"
                    )),
                    Some([]) => return Ok(true),
                    Some(v) => problem(format!(
                        "findings key of the breach of {rule} for customer `{customer}` holds {}, where the fold writes none",
                        describe(v)
                    )),
                },
                Kind::Open => match value {
                    Some([]) => return Ok(true),
                    Some(v) => problem(format!(
                        "findings key of {finding}, open, holds {}, where the fold writes none",
                        describe(v)
                    )),
                    // Not open: it must have been closed or discharged, by
                    // the entry its key names (which counts that key as
                    // its match).
                    None => {
                        let closed = keys::finding(b'c', rule, customer, shard, seq);
                        let discharged = keys::finding(b'd', rule, customer, shard, seq);
                        let ended = match reader.store.get(CF_FINDINGS, &closed)? {
                            Some(v) => Some((b'c', v)),
                            None => reader
                                .store
                                .get(CF_FINDINGS, &discharged)?
                                .map(|v| (b'd', v)),
                        };
                        match ended {
                            None => problem(format!(
                                "findings index lacks {finding} opened here (neither open, closed nor discharged)"
                            )),
                            Some((ended, v)) => {
                                let how = ended_word(ended);
                                let verb = if ended == b'c' { "close" } else { "discharge" };
                                match seq_value(&v) {
                                    None => problem(format!(
                                        "findings index shows {finding} opened here as {how}, by {}",
                                        describe(&v)
                                    )),
                                    Some(by)
                                        if reader.closes(shard, by, rule, customer, seq, ended)?
                                            != Some(false) => {}
                                    Some(by) => problem(format!(
                                        "findings index shows {finding} opened here as {how} by seq {by}, but that entry does not {verb} it"
                                    )),
                                }
                            }
                        }
                    }
                },
                Kind::Withdraw { opened_seq } => match value.map(|v| (v, seq_value(v))) {
                    None => problem(format!(
                        "findings index lacks the withdrawal of {finding} recorded at seq {opened_seq}, withdrawn here"
                    )),
                    Some((_, Some(by))) if by == seq => return Ok(true),
                    Some((v, by)) => problem(format!(
                        "findings index records {finding} recorded at seq {opened_seq} as withdrawn by {}, but this entry withdraws it",
                        by.map_or_else(|| describe(v), |s| format!("seq {s}"))
                    )),
                },
                Kind::Close {
                    opened_seq,
                    open_key,
                    ended,
                } => {
                    let mut matched = false;
                    let how = ended_word(*ended);
                    match value.map(|v| (v, seq_value(v))) {
                        None => problem(format!(
                            "findings index lacks {finding} opened at seq {opened_seq} and {how} here"
                        )),
                        Some((_, Some(by))) if by == seq => matched = true,
                        // A later entry closed it again: the last one is stored.
                        Some((_, Some(by)))
                            if by > seq
                                && reader.closes(shard, by, rule, customer, *opened_seq, *ended)?
                                    != Some(false) => {}
                        Some((v, by)) => problem(format!(
                            "findings index records {finding} opened at seq {opened_seq} as {how} by {}, but this entry ends it",
                            by.map_or_else(|| describe(v), |s| format!("seq {s}"))
                        )),
                    }
                    // The fold deleted the open key (an earlier entry's).
                    if *opened_seq < seq && reader.store.get(CF_FINDINGS, open_key)?.is_some() {
                        problem(format!(
                            "findings index still lists {finding} opened at seq {opened_seq} as open, but this entry {how} it"
                        ));
                    }
                    return Ok(matched);
                }
                _ => {}
            }
        }
    }
    Ok(false)
}

/// What a stored key found by the scan for extras is.
enum Class {
    /// The key and value an entry gives (counted in the pass over entries).
    Matched,
    /// Not matched, but named by the pass over entries (a key an entry
    /// gives, with a wrong value), or about an entry that is itself
    /// unreadable (named by the chain check).
    Named,
    /// A key no entry gives.
    Extra(Problem),
}

/// Checks one stored key (and value) of `index` against the entry it names.
fn classify(reader: &Reader<'_>, index: Index, k: &[u8], v: &[u8]) -> Result<Class> {
    let undecodable = || {
        Class::Extra(Problem {
            shard: 0,
            seq: None,
            what: format!(
                "{} index has a key that does not decode: {} (its shard is unknown)",
                index.cf(),
                hex::encode(k)
            ),
        })
    };
    let extra = |shard: u32, seq: u64, what: String| {
        Ok(Class::Extra(Problem {
            shard,
            seq: Some(seq),
            what,
        }))
    };
    let no_entry = "but there is no such entry";
    match index {
        Index::ByCustomer => {
            let Some((customer, at_ms, shard, seq)) = parse_by_customer(k) else {
                return Ok(undecodable());
            };
            let has = format!(
                "by_customer index has a key for customer `{customer}` at {}",
                format_ms(at_ms)
            );
            let f = match reader.load(shard, seq)? {
                Loaded::Absent => return extra(shard, seq, format!("{has}, {no_entry}")),
                Loaded::Unverified => return Ok(Class::Named),
                Loaded::Facts(f) => f,
            };
            let e = &f.event;
            let occurred = e.occurred_at.as_ref().map(timestamp_ms).unwrap_or(0);
            if e.customer_id != customer {
                let whose = if e.customer_id.is_empty() {
                    "has no customer id".to_string()
                } else {
                    format!("belongs to `{}`", e.customer_id)
                };
                extra(shard, seq, format!("{has}, but that entry {whose}"))
            } else if occurred != at_ms {
                extra(
                    shard,
                    seq,
                    format!("{has}, but that entry occurred at {}", format_ms(occurred)),
                )
            } else if v.is_empty() || v == f.hash.as_slice() {
                Ok(Class::Matched)
            } else {
                Ok(Class::Named)
            }
        }
        Index::ByEvent => {
            let Some((shard, id)) = parse_by_event(k) else {
                return Ok(undecodable());
            };
            let Some(seq) = seq_value(v) else {
                return Ok(Class::Extra(Problem {
                    shard,
                    seq: None,
                    what: format!(
                        "by_event index maps event id `{id}` to {}, not a sequence number",
                        describe(v)
                    ),
                }));
            };
            let has = format!("by_event index maps event id `{id}` to this entry");
            match reader.load(shard, seq)? {
                Loaded::Absent => extra(shard, seq, format!("{has}, {no_entry}")),
                Loaded::Unverified => Ok(Class::Named),
                Loaded::Facts(f) if f.event.event_id == id => Ok(Class::Matched),
                Loaded::Facts(f) => extra(
                    shard,
                    seq,
                    format!("{has}, whose event id is `{}`", f.event.event_id),
                ),
            }
        }
        Index::ByRequest => {
            let Some((request, shard, seq)) = keys::parse_by_request(k) else {
                return Ok(undecodable());
            };
            if k.len() != 2 + request.len() + 12 {
                return Ok(undecodable());
            }
            let has = format!(
                "by_request index has a key for law-enforcement request `{request}` at this entry"
            );
            let f = match reader.load(shard, seq)? {
                Loaded::Absent => return extra(shard, seq, format!("{has}, {no_entry}")),
                Loaded::Unverified => return Ok(Class::Named),
                Loaded::Facts(f) => f,
            };
            match f.event.kind.as_ref().and_then(request_id) {
                Some(r) if r == request => Ok(if v.is_empty() {
                    Class::Matched
                } else {
                    Class::Named
                }),
                Some(r) => extra(
                    shard,
                    seq,
                    format!("{has}, but that entry is of request `{r}`"),
                ),
                None => extra(
                    shard,
                    seq,
                    format!("{has}, but that entry is not a law-enforcement event"),
                ),
            }
        }
        Index::Findings => {
            let Some(f) = keys::parse_finding(k) else {
                return Ok(undecodable());
            };
            let (rule, customer, shard, seq) = (&f.rule, &f.customer, f.shard, f.seq);
            if keys::finding(f.state, rule, customer, shard, seq) != k {
                return Ok(undecodable());
            }
            // What the entry at `seq` must hold for this key.
            let opening: fn(&Effect) -> bool = match f.state {
                b'r' | b'w' => |e| *e == Effect::Breach,
                b'o' | b'c' => |e| matches!(e, Effect::Opens | Effect::Obligation { .. }),
                b'd' => |e| matches!(e, Effect::Obligation { .. }),
                other => {
                    return extra(
                        shard,
                        seq,
                        format!(
                            "findings index has a key of unknown state {other:#04x} for {rule}, customer `{customer}`"
                        ),
                    )
                }
            };
            if matches!(f.state, b'c' | b'd' | b'w') {
                if let Some(by) = seq_value(v) {
                    let ends = if f.state == b'w' {
                        reader.withdraws(shard, by, rule, customer, seq)?
                    } else {
                        reader.closes(shard, by, rule, customer, seq, f.state)?
                    };
                    match ends {
                        Some(true) => return Ok(Class::Matched),
                        None => return Ok(Class::Named),
                        Some(false) => {}
                    }
                }
            }
            let has = match f.state {
                b'r' => format!("findings index records a breach of {rule} for customer `{customer}` here"),
                b'o' => format!("findings index lists an open finding of {rule} for customer `{customer}` opened here"),
                b'w' => format!("findings index lists a withdrawn breach of {rule} for customer `{customer}` recorded here"),
                b'd' => format!("findings index lists a discharged obligation of {rule} for customer `{customer}` opened here"),
                _ => format!("findings index lists a closed finding of {rule} for customer `{customer}` opened here"),
            };
            match reader.load(shard, seq)? {
                Loaded::Absent => extra(shard, seq, format!("{has}, {no_entry}")),
                Loaded::Unverified => Ok(Class::Named),
                Loaded::Facts(e) if gives_any(&e, rule, customer, opening) => {
                    if f.state == b'w' {
                        // A withdrawal key that no entry makes.
                        return extra(shard, seq, format!("{has}, but no entry withdraws it"));
                    }
                    if f.state != b'c' && f.state != b'd' {
                        // A wrong value was named by the pass over entries.
                        return Ok(if v.is_empty() {
                            Class::Matched
                        } else {
                            Class::Named
                        });
                    }
                    // A closed key that no entry closes, of a finding opened
                    // here: named by the pass over entries when the open key
                    // is gone, here when it is not.
                    let open = keys::finding(b'o', rule, customer, shard, seq);
                    if reader.store.get(CF_FINDINGS, &open)?.is_some() {
                        extra(
                            shard,
                            seq,
                            format!("{has} (and as open), but no entry closes it"),
                        )
                    } else {
                        Ok(Class::Named)
                    }
                }
                Loaded::Facts(_) => extra(
                    shard,
                    seq,
                    format!("{has}, but that entry has no such verdict"),
                ),
            }
        }
    }
}

/// An entry read back for a check, with its event decoded.
struct Facts {
    hash: Hash,
    event: Event,
    verdicts: Vec<Verdict>,
}

enum Loaded {
    Absent,
    /// Past the verified part of its shard (the chain check names where
    /// that ends), or unreadable (which ends it): no index is judged by it.
    Unverified,
    Facts(Box<Facts>),
}

/// Reads entries for the checks, knowing how far each shard verified.
struct Reader<'s> {
    store: &'s Store,
    /// Per shard: entries verified, and entries claimed (by the head or a
    /// checkpoint, or present); positions in between are [`Loaded::Unverified`].
    shards: BTreeMap<u32, (u64, u64)>,
}

impl Reader<'_> {
    fn load(&self, shard: u32, seq: u64) -> Result<Loaded> {
        if let Some(&(verified, claimed)) = self.shards.get(&shard) {
            if (verified..claimed).contains(&seq) {
                return Ok(Loaded::Unverified);
            }
        }
        let store = self.store;
        let Some(v) = store
            .db
            .get_pinned_cf(store.cf(CF_ENTRIES)?, keys::entry(shard, seq))?
        else {
            return Ok(Loaded::Absent);
        };
        let Ok((entry, hash)) = Entry::open(&v) else {
            return Ok(Loaded::Unverified);
        };
        let Ok(event) = Event::decode(entry.event.as_slice()) else {
            return Ok(Loaded::Unverified);
        };
        Ok(Loaded::Facts(Box::new(Facts {
            hash,
            event,
            verdicts: entry.verdicts,
        })))
    }

    /// Whether the entry at (shard, by) closes (`ended` `c`) or discharges
    /// (`d`) the finding of `rule` for `customer` opened at `opened_seq`;
    /// None when that entry is unverified.
    fn closes(
        &self,
        shard: u32,
        by: u64,
        rule: &str,
        customer: &str,
        opened_seq: u64,
        ended: u8,
    ) -> Result<Option<bool>> {
        let effect = if ended == b'd' {
            Effect::Discharges { opened_seq }
        } else {
            Effect::Closes { opened_seq }
        };
        Ok(match self.load(shard, by)? {
            Loaded::Facts(f) => Some(gives(&f, rule, customer, &effect)),
            Loaded::Absent => Some(false),
            Loaded::Unverified => None,
        })
    }

    /// Whether the entry at (shard, by) withdraws the breach of `rule` for
    /// `customer` recorded at `opened_seq` (the entry may be of another
    /// customer, or global: the verdict names whose).
    fn withdraws(
        &self,
        shard: u32,
        by: u64,
        rule: &str,
        customer: &str,
        opened_seq: u64,
    ) -> Result<Option<bool>> {
        let effect = Effect::Withdraws {
            opened_seq,
            customer: customer.to_string(),
        };
        Ok(match self.load(shard, by)? {
            Loaded::Facts(f) => Some(
                f.verdicts
                    .iter()
                    .any(|v| v.rule == rule && v.effect == effect),
            ),
            Loaded::Absent => Some(false),
            Loaded::Unverified => None,
        })
    }
}

/// The findings-index state an ending verdict writes: `c` closed, `d`
/// discharged.
fn ended_state(effect: &Effect) -> u8 {
    match effect {
        Effect::Discharges { .. } => b'd',
        _ => b'c',
    }
}

fn ended_word(ended: u8) -> &'static str {
    if ended == b'd' {
        "discharged"
    } else {
        "closed"
    }
}

/// Whether the entry has a verdict of `rule` under `customer` whose effect
/// passes `effect`.
fn gives_any(f: &Facts, rule: &str, customer: &str, effect: fn(&Effect) -> bool) -> bool {
    f.event.customer_id == customer
        && f.verdicts
            .iter()
            .any(|v| v.rule == rule && effect(&v.effect))
}

/// Whether the entry has a verdict of `rule` with `effect`, under `customer`
/// (the fold files an entry's findings under its own customer id).
fn gives(f: &Facts, rule: &str, customer: &str, effect: &Effect) -> bool {
    f.event.customer_id == customer
        && f.verdicts
            .iter()
            .any(|v| v.rule == rule && v.effect == *effect)
}

/// The event bytes and the verdict count of canonical entry bytes, without
/// copying (layout: ARCHITECTURE.md, "Entry format").
fn peek_event(body: &[u8]) -> Option<(&[u8], u16)> {
    let u16_at = |at: usize| Some(u16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?));
    // marker 16, shard 4, seq 8, previous hash 32, then the topic
    let topic_len = usize::from(u16_at(60)?);
    // topic, partition 4, offset 8, broker timestamp 8, then the event
    let at = 62 + topic_len + 4 + 8 + 8;
    let len = u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize;
    let event = body.get(at + 4..at + 4 + len)?;
    Some((event, u16_at(at + 4 + len)?))
}

/// A by_customer key as (customer, occurred-at, shard, seq). Private:
/// `keys::parse_by_customer` reads only the suffix, not the customer.
fn parse_by_customer(k: &[u8]) -> Option<(String, i64, u32, u64)> {
    let n = usize::from(u16::from_be_bytes(k.get(..2)?.try_into().ok()?));
    let customer = std::str::from_utf8(k.get(2..2 + n)?).ok()?.to_string();
    if k.len() != 2 + n + 20 {
        return None;
    }
    let (at_ms, shard, seq) = keys::parse_by_customer(k)?;
    Some((customer, at_ms, shard, seq))
}

/// A by_event key as (shard, event id). Private: keys.rs has no parser.
fn parse_by_event(k: &[u8]) -> Option<(u32, String)> {
    let shard = u32::from_be_bytes(k.get(..4)?.try_into().ok()?);
    let id = std::str::from_utf8(k.get(4..)?).ok()?.to_string();
    Some((shard, id))
}

/// A stored sequence number (u64 big-endian).
fn seq_value(v: &[u8]) -> Option<u64> {
    v.try_into().ok().map(u64::from_be_bytes)
}

fn describe(v: &[u8]) -> String {
    if v.is_empty() {
        "an empty value".into()
    } else {
        format!("the value {}", hex::encode(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryParts, SourcePosition};

    #[test]
    fn peek_event_finds_the_event_and_the_verdict_count() {
        let source = SourcePosition {
            topic: "topic-x".into(),
            partition: 3,
            offset: 9,
            timestamp_ms: -1,
        };
        let verdicts = vec![Verdict {
            rule: "R".into(),
            severity: custody_policy::Severity::High,
            effect: Effect::Closes { opened_seq: 2 },
            explanation: "x".into(),
        }];
        let (stored, _) = EntryParts {
            shard: 3,
            seq: 7,
            prev_hash: &[1; 32],
            source: &source,
            event: b"event bytes",
            verdicts: &verdicts,
        }
        .seal()
        .expect("seal");
        let body = &stored[..stored.len() - 32];
        assert_eq!(peek_event(body), Some((&b"event bytes"[..], 1)));
        assert_eq!(peek_event(&body[..body.len() - 40]), None);
    }

    #[test]
    fn private_key_parsers_read_what_keys_writes() {
        let k = keys::by_customer("c-17", -5, 2, 41);
        assert_eq!(parse_by_customer(&k), Some(("c-17".into(), -5, 2, 41)));
        assert_eq!(parse_by_customer(&k[..k.len() - 1]), None);
        assert_eq!(
            parse_by_event(&keys::by_event(3, "e-1")),
            Some((3, "e-1".into()))
        );
    }

    #[test]
    fn set_digests_ignore_order_and_cancel_removals() {
        let h = KeyedHash::random().expect("randomness");
        let item = |k: &[u8]| h.item(Index::Findings, k, &[]);
        let (mut a, mut b) = (SetDigest::default(), SetDigest::default());
        for k in [&b"x"[..], b"y", b"z"] {
            a.add(item(k));
        }
        for k in [&b"z"[..], b"w", b"x", b"y"] {
            b.add(item(k));
        }
        b.remove(item(b"w"));
        assert_eq!(a, b);
        // The index, the key/value split and the value all count.
        assert_ne!(
            h.item(Index::ByEvent, b"k", b""),
            h.item(Index::Findings, b"k", b"")
        );
        assert_ne!(
            h.item(Index::ByEvent, b"ab", b"c"),
            h.item(Index::ByEvent, b"a", b"bc")
        );
        assert_ne!(
            h.item(Index::ByEvent, b"k", b"1"),
            h.item(Index::ByEvent, b"k", b"2")
        );
    }
}
