//! The RocksDB store: opening a data directory, the signing key, and read
//! access to entries, Merkle nodes, indexes, checkpoints and the quarantine.
//! Writing happens only in [`crate::fold`] (the [`crate::Ledger`]): the
//! RocksDB handle never leaves this crate.
//!
//! Three ways to open a data directory:
//! - [`Store::open`]: the writer's, creating the directory and key if needed
//!   (`serve`, `import`, `demo`).
//! - [`Store::open_existing`]: the writer's, refusing a directory that holds
//!   no ledger (commands that write into an existing ledger).
//! - [`Store::open_read_only`]: a RocksDB secondary instance, which takes no
//!   lock and so works while a server holds the directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use custody_verify::completeness::{CustomerLeaf, LedgerSecrets};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rocksdb::{
    BlockBasedOptions, ColumnFamilyDescriptor, Direction, IteratorMode, Options, ReadOptions, DB,
};

use crate::checkpoint::Checkpoint;
use crate::customers::PublishedMaps;
use crate::entry::{split_stored, Entry, EntryError};
use crate::keys::{self, *};
use crate::merkle::{self, Hash, HashReader, ProofError};

/// Errors of the store. Messages say what was being done and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("RocksDB: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signing key {path} is malformed: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("stored data is corrupt at {what}: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("entry shard {shard} seq {seq}: {source}")]
    Entry {
        shard: u32,
        seq: u64,
        source: EntryError,
    },
    #[error("Merkle proof: {0}")]
    Proof(#[from] ProofError),
    /// Another process (a running server, usually) holds the RocksDB lock.
    #[error("a server holds {}; stop it or use the HTTP API", path.display())]
    Locked { path: PathBuf },
    /// The directory holds no ledger; nothing was created.
    #[error("{} is not a Custody data directory ({missing} is missing)", path.display())]
    NotALedger { path: PathBuf, missing: String },
    /// An all-or-nothing fold met an event id already folded with other
    /// content; nothing was written.
    #[error("{0}")]
    Conflict(Box<crate::fold::Conflict>),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A quarantined record: kept with its source position and the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantinedRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub reason: String,
    /// The record's value, hex-encoded.
    pub payload_hex: String,
    pub payload_len: usize,
}

/// A stored key and its value.
pub type KeyValue = (Box<[u8]>, Box<[u8]>);

/// Head of one shard as stored in `meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHead {
    pub size: u64,
    pub last_hash: Hash,
}

/// An open data directory: RocksDB plus the ledger's signing key. Clones
/// share the database: the writer ([`crate::Ledger`]) holds one, readers
/// hold others and read without its lock.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<DB>,
    key: SigningKey,
    /// Derived from `key`: the VRF key of the customer maps and the seal
    /// secret (`custody_verify::completeness::LedgerSecrets`).
    secrets: Arc<LedgerSecrets>,
    /// The customer maps of the latest checkpoint the writer signed, shared
    /// by every clone (the writer publishes, report producers read).
    maps: Arc<RwLock<Option<Arc<PublishedMaps>>>>,
    dir: PathBuf,
    /// The secondary instance's own directory (its info log and the state
    /// of its catching up), removed on drop. Declared after `db` so that
    /// RocksDB is closed before it goes.
    secondary: Option<Arc<SecondaryDir>>,
}

/// A scratch directory of a secondary instance, removed when dropped.
struct SecondaryDir(PathBuf);

impl Drop for SecondaryDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::debug!(path = %self.0.display(), error = %e, "removing the secondary instance's directory");
        }
    }
}

const KEY_FILE: &str = "ledger.key";
const DB_DIR: &str = "db";

/// Block cache shared by every column family. Reports read entries and
/// index blocks at random; RocksDB's 8 MiB default per table factory is far
/// below a ledger of millions of entries.
pub const BLOCK_CACHE_BYTES: usize = 256 << 20;

fn cf_options(name: &str, cache: &rocksdb::Cache) -> Options {
    let mut o = Options::default();
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    // Duplicate checks look up event ids that are almost never there: a
    // bloom filter answers those without touching disk.
    if name == CF_BY_EVENT || name == CF_ENTRIES {
        table.set_bloom_filter(10.0, false);
        // The memtable too: most duplicate checks hit recent, unflushed keys.
        o.set_memtable_whole_key_filtering(true);
        o.set_memtable_prefix_bloom_ratio(0.1);
    }
    table.set_block_size(16 * 1024);
    o.set_block_based_table_factory(&table);
    o.set_compression_type(rocksdb::DBCompressionType::Lz4);
    o.set_write_buffer_size(64 << 20);
    o
}

/// Options of the ledger's RocksDB (and of the benchmark's raw baseline,
/// which must be measured on the same settings).
fn db_options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // One batch spans several column families; flushing them together
    // keeps a crash from leaving one CF ahead of another.
    opts.set_atomic_flush(true);
    opts.set_max_background_jobs(2);
    opts.set_keep_log_file_num(4);
    opts
}

fn cf_descriptors() -> Vec<ColumnFamilyDescriptor> {
    // Four shards of 64 MiB: a large table's whole-file bloom filter (5.5 MB
    // at 10M events) must fit in one shard. With the default 64 shards of
    // 4 MiB it was never kept, every duplicate check read it from disk again
    // and the fold slowed 30-fold past 4M events. (Partitioned filters also
    // fit, but cost a second lookup on every check: 0.27 instead of 0.35 of
    // baseline 2 in `custody bench`.)
    let mut lru = rocksdb::LruCacheOptions::default();
    lru.set_capacity(BLOCK_CACHE_BYTES);
    lru.set_num_shard_bits(2);
    let cache = rocksdb::Cache::new_lru_cache_opts(&lru);
    ALL_CFS
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache)))
        .collect()
}

/// RocksDB's answer when another process holds `db/LOCK`.
fn locked_or(dir: &Path, e: rocksdb::Error) -> StoreError {
    // RocksDB has no error kind for this; its message is stable
    // ("IO error: While lock file: DIR/LOCK: Resource temporarily unavailable").
    if e.kind() == rocksdb::ErrorKind::IOError && e.as_ref().contains("While lock file") {
        StoreError::Locked {
            path: dir.to_path_buf(),
        }
    } else {
        StoreError::Rocks(e)
    }
}

/// Refuses a directory that holds no ledger: one without `db/CURRENT`
/// (RocksDB's pointer to its manifest) or without the signing key.
pub fn check_ledger_dir(dir: &Path) -> Result<()> {
    for missing in [Path::new(DB_DIR).join("CURRENT"), PathBuf::from(KEY_FILE)] {
        if !dir.join(&missing).is_file() {
            return Err(StoreError::NotALedger {
                path: dir.to_path_buf(),
                missing: missing.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Opens a plain RocksDB at `path` with the ledger's options and column
/// families, for the benchmark's raw-write baseline. It is not a ledger
/// (no key, no fold): a scratch database to compare the fold against.
pub fn open_baseline_db(path: &Path) -> Result<DB> {
    Ok(DB::open_cf_descriptors(
        &db_options(),
        path,
        cf_descriptors(),
    )?)
}

impl Store {
    /// Opens (creating if needed) the data directory `dir`: `dir/db` holds
    /// RocksDB, `dir/ledger.key` the Ed25519 signing key created on first start.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let key = load_or_create_key(&dir.join(KEY_FILE))?;
        let db = DB::open_cf_descriptors(&db_options(), dir.join(DB_DIR), cf_descriptors())
            .map_err(|e| locked_or(dir, e))?;
        Ok(Store {
            db: Arc::new(db),
            secrets: Arc::new(load_secrets(dir, &key)?),
            maps: Arc::default(),
            key,
            dir: dir.to_path_buf(),
            secondary: None,
        })
    }

    /// Opens an existing ledger as its writer; a directory without one is
    /// refused (nothing is created), so a mistyped `--data` cannot start a
    /// new ledger with a new key.
    pub fn open_existing(dir: &Path) -> Result<Self> {
        check_ledger_dir(dir)?;
        Self::open(dir)
    }

    /// Opens an existing ledger for reading only, as a RocksDB secondary
    /// instance: it takes no lock, so it works while a server holds the
    /// directory, and it sees what was durable when it opened (logged
    /// batches from the WAL, flushed ones from the tables; unlogged batches
    /// not yet flushed are not there, exactly as after a crash).
    ///
    /// Secondary rather than read-only mode: it is the mode RocksDB supports
    /// beside a live primary (which compacts and deletes table files), and
    /// [`Store::catch_up`] can move it forward without reopening.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        check_ledger_dir(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = read_key(&key_path)?.ok_or_else(|| StoreError::NotALedger {
            path: dir.to_path_buf(),
            missing: KEY_FILE.into(),
        })?;
        let secondary = SecondaryDir(secondary_dir());
        std::fs::create_dir_all(&secondary.0).map_err(|source| StoreError::Io {
            path: secondary.0.clone(),
            source,
        })?;
        let mut opts = db_options();
        opts.create_if_missing(false);
        opts.create_missing_column_families(false);
        // Keeps every table file open: the primary may delete files that
        // compaction replaced while this instance still reads them.
        opts.set_max_open_files(-1);
        let db = DB::open_cf_descriptors_as_secondary(
            &opts,
            &dir.join(DB_DIR),
            &secondary.0,
            cf_descriptors(),
        )?;
        Ok(Store {
            db: Arc::new(db),
            secrets: Arc::new(load_secrets(dir, &key)?),
            maps: Arc::default(),
            key,
            dir: dir.to_path_buf(),
            secondary: Some(Arc::new(secondary)),
        })
    }

    /// Moves a read-only store forward to what the writer has made durable
    /// since; a no-op for the writer's own store.
    pub fn catch_up(&self) -> Result<()> {
        if self.secondary.is_some() {
            self.db.try_catch_up_with_primary()?;
        }
        Ok(())
    }

    /// Whether this store was opened with [`Store::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.secondary.is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ledger's derived secrets (VRF key, seal secret).
    pub fn secrets(&self) -> &LedgerSecrets {
        &self.secrets
    }

    pub(crate) fn secrets_arc(&self) -> Arc<LedgerSecrets> {
        self.secrets.clone()
    }

    /// The customer maps of the latest checkpoint the writer of this process
    /// signed, if it signed one (read-only instances never have any).
    pub fn published_maps(&self) -> Option<Arc<PublishedMaps>> {
        self.maps.read().ok().and_then(|m| m.clone())
    }

    pub(crate) fn publish_maps(&self, maps: PublishedMaps) {
        if let Ok(mut slot) = self.maps.write() {
            *slot = Some(Arc::new(maps));
        }
    }

    /// The seqs of `customer`'s entries in `shard` that were sealed at an
    /// earlier checkpoint of that shard size signed at `at_ms`, from the
    /// stored customer tree (stored with every checkpoint).
    pub fn sealed_at(&self, customer: &str, shard: u32, at_ms: i64, size: u64) -> Result<Vec<u64>> {
        let Some(v) = self.get(CF_CUSTOMERS, &keys::customer_tree(shard, customer))? else {
            return Ok(Vec::new());
        };
        let tree =
            crate::customers::CustomerTree::decode(&v).map_err(|reason| StoreError::Corrupt {
                what: format!("customer tree of `{customer}` in shard {shard}"),
                reason,
            })?;
        Ok(tree.sealed_seqs_below(at_ms, size))
    }

    /// The leaves of `customer`'s tree in `shard` below `size`, in seq
    /// order, from the by-customer index (whose values are entry hashes).
    pub fn customer_leaves(
        &self,
        customer: &str,
        shard: u32,
        size: u64,
    ) -> Result<Vec<CustomerLeaf>> {
        let prefix = keys::customer_prefix(customer);
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(prefix.clone());
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xff; 21]);
        ro.set_iterate_upper_bound(upper);
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf_opt(self.cf(CF_BY_CUSTOMER)?, ro, IteratorMode::Start)
        {
            let (k, v) = item?;
            let Some((occurred_at_ms, s, seq)) = keys::parse_by_customer(&k) else {
                continue;
            };
            if s != shard || seq >= size || k.len() != prefix.len() + 20 {
                continue;
            }
            let entry_hash = match <[u8; 32]>::try_from(v.as_ref()) {
                Ok(h) => h,
                // Written before the index held hashes: read the entry.
                Err(_) => match self.entry(shard, seq)? {
                    Some((_, h)) => h,
                    None => continue,
                },
            };
            out.push(CustomerLeaf {
                seq,
                occurred_at_ms,
                entry_hash,
            });
        }
        out.sort_unstable_by_key(|l| l.seq);
        Ok(out)
    }

    /// Fsyncs the WAL: every logged write made before the call survives
    /// power loss once it returns. Called without the writer's lock (group
    /// commit of HTTP intake) and before a checkpoint is signed.
    pub fn sync_wal(&self) -> Result<()> {
        self.db.flush_wal(true)?;
        Ok(())
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub(crate) fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db.cf_handle(name).ok_or_else(|| StoreError::Corrupt {
            what: "column families".into(),
            reason: format!("missing column family `{name}`"),
        })
    }

    pub fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(cf)?, key)?)
    }

    /// Every key and value of a column family, in key order. Read access
    /// for data that has no typed reader here (bearer tokens) and for the
    /// benchmark's baseline.
    pub fn scan(&self, cf: &str) -> Result<impl Iterator<Item = Result<KeyValue>> + '_> {
        Ok(self
            .db
            .iterator_cf(self.cf(cf)?, IteratorMode::Start)
            .map(|item| item.map_err(StoreError::from)))
    }

    /// The ledger's allowed lateness (ms): as recorded in its meta, else
    /// the policy's default (a ledger from before event time).
    pub fn allowed_lateness_ms(&self) -> Result<i64> {
        match self.get(CF_META, META_ALLOWED_LATENESS)? {
            None => Ok(custody_policy::DEFAULT_ALLOWED_LATENESS_MS),
            Some(v) => v
                .as_slice()
                .try_into()
                .map(i64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    what: "meta allowed_lateness_ms".into(),
                    reason: "not an i64".into(),
                }),
        }
    }

    /// A shard's event time as last written (watermark, provisional
    /// breaches), with the ledger's lateness.
    pub fn event_time(&self, shard: u32) -> Result<custody_policy::EventTime> {
        let mut time: custody_policy::EventTime =
            match self.get(CF_STATE, &keys::state(shard, b't', ""))? {
                None => custody_policy::EventTime::default(),
                Some(v) => serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    what: format!("event time of shard {shard}"),
                    reason: e.to_string(),
                })?,
            };
        time.lateness_ms = self.allowed_lateness_ms()?;
        Ok(time)
    }

    /// Stored heads of every shard.
    pub fn heads(&self) -> Result<BTreeMap<u32, StoredHead>> {
        let mut out = BTreeMap::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_META)?, b"head/") {
            let (k, v) = item?;
            if !k.starts_with(b"head/") {
                break;
            }
            let shard = k
                .get(5..9)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes);
            let head = decode_head(&v);
            match (shard, head) {
                (Some(s), Some(h)) => {
                    out.insert(s, h);
                }
                _ => {
                    return Err(StoreError::Corrupt {
                        what: "meta head".into(),
                        reason: format!("undecodable key {}", hex::encode(&k)),
                    })
                }
            }
        }
        Ok(out)
    }

    /// Next offset to read for every (topic, partition) folded so far.
    pub fn offsets(&self) -> Result<BTreeMap<(String, u32), u64>> {
        let mut out = BTreeMap::new();
        for item in self.db.prefix_iterator_cf(self.cf(CF_META)?, b"offset/") {
            let (k, v) = item?;
            if !k.starts_with(b"offset/") {
                break;
            }
            let partition = k
                .get(7..11)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes);
            let topic = k.get(11..).map(|t| String::from_utf8_lossy(t).into_owned());
            let next = v.as_ref().try_into().ok().map(u64::from_be_bytes);
            if let (Some(p), Some(t), Some(n)) = (partition, topic, next) {
                out.insert((t, p), n);
            }
        }
        Ok(out)
    }

    /// The entry at (shard, seq) with its hash, checked against its hash.
    pub fn entry(&self, shard: u32, seq: u64) -> Result<Option<(Entry, Hash)>> {
        match self.get(CF_ENTRIES, &keys::entry(shard, seq))? {
            None => Ok(None),
            Some(v) => Entry::open(&v)
                .map(Some)
                .map_err(|source| StoreError::Entry { shard, seq, source }),
        }
    }

    /// The stored bytes of an entry (canonical bytes + hash).
    pub fn entry_bytes(&self, shard: u32, seq: u64) -> Result<Option<Vec<u8>>> {
        self.get(CF_ENTRIES, &keys::entry(shard, seq))
    }

    /// Sequence number of an event id in a shard, if folded.
    pub fn seq_of_event(&self, shard: u32, event_id: &str) -> Result<Option<u64>> {
        Ok(self
            .get(CF_BY_EVENT, &keys::by_event(shard, event_id))?
            .and_then(|v| v.as_slice().try_into().ok().map(u64::from_be_bytes)))
    }

    /// Entries of one customer with occurred-at in `[from_ms, to_ms)`, as
    /// (time, shard, seq), newest first when `newest_first`.
    pub fn customer_positions(
        &self,
        customer: &str,
        from_ms: i64,
        to_ms: i64,
        newest_first: bool,
    ) -> Result<Vec<(i64, u32, u64)>> {
        let prefix = keys::customer_prefix(customer);
        let mut lo = prefix.clone();
        lo.extend_from_slice(&keys::time_key(from_ms));
        let mut hi = prefix.clone();
        hi.extend_from_slice(&keys::time_key(to_ms));
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lo.clone());
        ro.set_iterate_upper_bound(hi.clone());
        let mode = if newest_first {
            IteratorMode::End
        } else {
            IteratorMode::Start
        };
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(self.cf(CF_BY_CUSTOMER)?, ro, mode) {
            let (k, _) = item?;
            if let Some(pos) = keys::parse_by_customer(&k) {
                out.push(pos);
            }
        }
        Ok(out)
    }

    /// Whether the by-customer index holds any entry of `customer`.
    pub fn has_customer(&self, customer: &str) -> Result<bool> {
        let prefix = keys::customer_prefix(customer);
        let mut iter = self.db.iterator_cf(
            self.cf(CF_BY_CUSTOMER)?,
            IteratorMode::From(&prefix, Direction::Forward),
        );
        match iter.next() {
            None => Ok(false),
            Some(item) => {
                let (k, _) = item?;
                // The prefix is length-prefixed, so a longer id sharing the
                // same bytes cannot match.
                Ok(k.starts_with(&prefix))
            }
        }
    }

    /// Every entry of every shard, in (shard, seq) order, each checked
    /// against its hash. For reports that span all customers.
    pub fn all_entries(&self) -> Result<impl Iterator<Item = Result<(Entry, Hash)>> + '_> {
        let cf = self.cf(CF_ENTRIES)?;
        Ok(self.db.iterator_cf(cf, IteratorMode::Start).map(|item| {
            let (k, v) = item?;
            let (shard, seq) = keys::parse_entry(&k).ok_or_else(|| StoreError::Corrupt {
                what: "entries".into(),
                reason: format!("undecodable key {}", hex::encode(&k)),
            })?;
            Entry::open(&v).map_err(|source| StoreError::Entry { shard, seq, source })
        }))
    }

    /// Every law-enforcement event as (request id, shard, seq), by request.
    pub fn law_enforcement_positions(&self) -> Result<Vec<(String, u32, u64)>> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_BY_REQUEST)?, IteratorMode::Start)
        {
            let (k, _) = item?;
            out.push(
                keys::parse_by_request(&k).ok_or_else(|| StoreError::Corrupt {
                    what: "by_request index".into(),
                    reason: format!("undecodable key {}", hex::encode(&k)),
                })?,
            );
        }
        Ok(out)
    }

    /// Findings index scan: (state, rule, customer, shard, seq) filtered by
    /// state byte (None = all) and rule/customer when given.
    pub fn findings(
        &self,
        state: Option<u8>,
        rule: Option<&str>,
        customer: Option<&str>,
    ) -> Result<Vec<keys::FindingKey>> {
        let cf = self.cf(CF_FINDINGS)?;
        let mut prefix = Vec::new();
        if let Some(s) = state {
            prefix.push(s);
            if let Some(r) = rule {
                prefix.extend_from_slice(&(r.len() as u16).to_be_bytes());
                prefix.extend_from_slice(r.as_bytes());
            }
        }
        let mut out = Vec::new();
        let iter = self
            .db
            .iterator_cf(cf, IteratorMode::From(&prefix, Direction::Forward));
        for item in iter {
            let (k, _) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            if let Some(f) = keys::parse_finding(&k) {
                if rule.is_some_and(|r| r != f.rule) || customer.is_some_and(|c| c != f.customer) {
                    continue;
                }
                out.push(f);
            }
        }
        Ok(out)
    }

    /// The seq of the entry that ended a finding, as the findings index
    /// holds it: for state `c` the closing entry, `d` the discharging one,
    /// `w` the withdrawing one (same shard); None when there is no such key.
    pub fn finding_end(
        &self,
        state: u8,
        rule: &str,
        customer: &str,
        shard: u32,
        seq: u64,
    ) -> Result<Option<u64>> {
        match self.get(
            CF_FINDINGS,
            &keys::finding(state, rule, customer, shard, seq),
        )? {
            None => Ok(None),
            Some(v) => v
                .as_slice()
                .try_into()
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|_| StoreError::Corrupt {
                    what: format!("findings value of {rule} {customer} {shard}/{seq}"),
                    reason: "not a u64 seq".into(),
                }),
        }
    }

    /// Every stored checkpoint, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_CHECKPOINTS)?, IteratorMode::Start)
        {
            let (k, v) = item?;
            let cp: Checkpoint = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                what: format!("checkpoint {}", hex::encode(&k)),
                reason: e.to_string(),
            })?;
            out.push(cp);
        }
        Ok(out)
    }

    /// The stored checkpoints, newest first, read as the iterator is
    /// advanced (stop early to read only the latest few).
    pub fn checkpoints_newest_first(
        &self,
    ) -> Result<impl Iterator<Item = Result<Checkpoint>> + '_> {
        let cf = self.cf(CF_CHECKPOINTS)?;
        Ok(self.db.iterator_cf(cf, IteratorMode::End).map(|item| {
            let (k, v) = item?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                what: format!("checkpoint {}", hex::encode(&k)),
                reason: e.to_string(),
            })
        }))
    }

    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let cf = self.cf(CF_CHECKPOINTS)?;
        match self.db.iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item?;
                Ok(Some(serde_json::from_slice(&v).map_err(|e| {
                    StoreError::Corrupt {
                        what: "latest checkpoint".into(),
                        reason: e.to_string(),
                    }
                })?))
            }
        }
    }

    pub fn checkpoint(&self, number: u64) -> Result<Option<Checkpoint>> {
        match self.get(CF_CHECKPOINTS, &number.to_be_bytes())? {
            None => Ok(None),
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(|e| {
                StoreError::Corrupt {
                    what: format!("checkpoint {number}"),
                    reason: e.to_string(),
                }
            })?)),
        }
    }

    /// Quarantined records, in key order, at most `limit`.
    pub fn quarantine(&self, limit: usize) -> Result<Vec<QuarantinedRecord>> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_QUARANTINE)?, IteratorMode::Start)
            .take(limit)
        {
            let (_, v) = item?;
            out.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                what: "quarantine record".into(),
                reason: e.to_string(),
            })?);
        }
        Ok(out)
    }

    pub fn quarantine_count(&self) -> Result<u64> {
        Ok(self
            .db
            .iterator_cf(self.cf(CF_QUARANTINE)?, IteratorMode::Start)
            .count() as u64)
    }

    /// Merkle node reader for one shard.
    pub fn tree(&self, shard: u32) -> ShardTree<'_> {
        ShardTree { store: self, shard }
    }

    /// Inclusion proof of (shard, seq) in the shard's tree of `size` entries.
    pub fn inclusion_proof(&self, shard: u32, seq: u64, size: u64) -> Result<Vec<Hash>> {
        Ok(merkle::inclusion_proof(&self.tree(shard), seq, size)?)
    }

    /// Consistency proof between two sizes of a shard's tree.
    pub fn consistency_proof(&self, shard: u32, old: u64, new: u64) -> Result<Vec<Hash>> {
        Ok(merkle::consistency_proof(&self.tree(shard), old, new)?)
    }
}

/// Stored nodes of one shard's tree, with the unstored levels recomputed.
pub struct ShardTree<'a> {
    store: &'a Store,
    shard: u32,
}

impl HashReader for ShardTree<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let storage = |e: StoreError| ProofError::Storage(e.to_string());
        if level == 0 {
            let v = self
                .store
                .entry_bytes(self.shard, index)
                .map_err(storage)?
                .ok_or_else(|| {
                    ProofError::Storage(format!("shard {} has no entry {index}", self.shard))
                })?;
            let (_, hash) = split_stored(&v).map_err(|e| ProofError::Storage(e.to_string()))?;
            return Ok(merkle::leaf_hash(&hash));
        }
        if keys::stored_level(level) {
            let v = self
                .store
                .get(CF_TREE, &keys::tree(self.shard, level, index))
                .map_err(storage)?
                .ok_or_else(|| {
                    ProofError::Storage(format!(
                        "shard {} has no tree node level {level} index {index}",
                        self.shard
                    ))
                })?;
            return v
                .as_slice()
                .try_into()
                .map_err(|_| ProofError::Storage("tree node is not 32 bytes".into()));
        }
        let left = self.node(level - 1, index * 2)?;
        let right = self.node(level - 1, index * 2 + 1)?;
        Ok(merkle::node_hash(&left, &right))
    }
}

pub(crate) fn encode_head(h: &StoredHead) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&h.size.to_be_bytes());
    v[8..].copy_from_slice(&h.last_hash);
    v
}

pub(crate) fn decode_head(v: &[u8]) -> Option<StoredHead> {
    if v.len() != 40 {
        return None;
    }
    Some(StoredHead {
        size: u64::from_be_bytes(v[..8].try_into().ok()?),
        last_hash: v[8..].try_into().ok()?,
    })
}

/// A directory of its own for each secondary instance (RocksDB keeps its
/// info log there), outside the data directory, which may be read-only.
fn secondary_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "custody-secondary-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// File of a replica's map secrets (`custody key export --format
/// map-secrets` of the ledger it re-derives): when present, the customer
/// maps are keyed and sealed with these instead of the secrets derived from
/// `ledger.key`, so the replica's maps are the primary's.
pub const MAP_SECRETS_FILE: &str = "map-secrets";

fn load_secrets(dir: &Path, key: &SigningKey) -> Result<LedgerSecrets> {
    let path = dir.join(MAP_SECRETS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => LedgerSecrets::from_line(&text).map_err(|reason| StoreError::Key {
            path,
            reason: format!("map secrets: {reason}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(LedgerSecrets::derive(&key.to_bytes()))
        }
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

/// The signing key at `path`, `None` when there is no such file.
fn read_key(path: &Path) -> Result<Option<SigningKey>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StoreError::Key {
                    path: path.to_path_buf(),
                    reason: "expected 64 hex characters (an Ed25519 seed)".into(),
                })?;
            Ok(Some(SigningKey::from_bytes(&seed)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn load_or_create_key(path: &Path) -> Result<SigningKey> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    match read_key(path)? {
        Some(key) => Ok(key),
        None => {
            let key = SigningKey::generate(&mut rand_core::OsRng);
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{}\n", hex::encode(key.to_bytes()))).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            std::fs::rename(&tmp, path).map_err(io)?;
            tracing::info!(path = %path.display(), "created ledger signing key");
            Ok(key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::SourcePosition;
    use crate::fold::{Ledger, Record};
    use prost::Message;

    fn record(offset: u64, id: &str) -> Record {
        let event = custody_proto::event_from_json(&format!(
            r#"{{"eventId":"{id}","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z",
               "actor":{{"id":"a","role":"ROLE_SUPPORT_ENGINEER"}},
               "dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}}}"#
        ))
        .expect("json");
        Record::new(
            SourcePosition {
                topic: "t".into(),
                partition: 0,
                offset,
                timestamp_ms: 0,
            },
            event.encode_to_vec(),
        )
    }

    #[test]
    fn a_read_only_store_works_beside_the_writer_and_catches_up() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut ledger = Ledger::open(dir.path()).expect("open");
        ledger.fold(&[record(0, "e1")]).expect("fold");
        let reader = Store::open_read_only(dir.path()).expect("read-only beside the writer");
        assert!(reader.is_read_only());
        assert_eq!(reader.heads().expect("heads")[&0].size, 1);
        assert_eq!(reader.public_key(), ledger.store().public_key());

        ledger.fold(&[record(1, "e2")]).expect("fold");
        assert_eq!(reader.heads().expect("heads")[&0].size, 1, "a fixed view");
        reader.catch_up().expect("catch up");
        assert_eq!(reader.heads().expect("heads")[&0].size, 2);
        let secondary = reader.secondary.as_ref().map(|s| s.0.clone());
        drop(reader);
        assert!(secondary.is_some_and(|p| !p.exists()), "scratch removed");
    }

    #[test]
    fn only_a_ledger_is_opened_without_create() {
        let dir = tempfile::tempdir().expect("tmp");
        let typo = dir.path().join("typo");
        for open in [Store::open_read_only, Store::open_existing] {
            match open(&typo) {
                Err(StoreError::NotALedger { path, missing }) => {
                    assert_eq!(path, typo);
                    assert_eq!(missing, "db/CURRENT");
                }
                Err(e) => panic!("unexpected error {e}"),
                Ok(_) => panic!("opened a directory that holds no ledger"),
            }
            assert!(!typo.exists(), "created {}", typo.display());
        }
        assert!(matches!(
            Ledger::open_existing(&typo),
            Err(StoreError::NotALedger { .. })
        ));
        // A RocksDB without the signing key is no ledger either.
        drop(Store::open(&typo).expect("create"));
        std::fs::remove_file(typo.join(KEY_FILE)).expect("remove key");
        match Store::open_read_only(&typo) {
            Err(StoreError::NotALedger { missing, .. }) => assert_eq!(missing, KEY_FILE),
            other => panic!("expected NotALedger, got {:?}", other.err()),
        }
        let message = StoreError::NotALedger {
            path: typo.clone(),
            missing: "db/CURRENT".into(),
        }
        .to_string();
        assert_eq!(
            message,
            format!(
                "{} is not a Custody data directory (db/CURRENT is missing)",
                typo.display()
            )
        );
    }
}
