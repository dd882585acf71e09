//! An attacker with write access to the disk: RocksDB opened directly, past
//! the ledger, to alter what the fold wrote. Verification and rebuild must
//! then name what changed.
//!
//! RocksDB admits one open instance per directory, so drop the `Ledger` (or
//! stop the server) first, and drop the [`Tamper`] before verifying.

use std::collections::BTreeMap;
use std::path::Path;

use custody_ledger::keys::{self, ALL_CFS, CF_ENTRIES};
use rocksdb::{IteratorMode, DB};

#[derive(Debug, thiserror::Error)]
pub enum TamperError {
    #[error("RocksDB: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("no column family `{0}`")]
    NoColumnFamily(String),
    #[error("nothing to tamper with: {0}")]
    Missing(String),
}

pub type Result<T> = std::result::Result<T, TamperError>;

/// RocksDB of a data directory (`DIR/db`), every column family of the ledger.
pub struct Tamper {
    db: DB,
}

impl Tamper {
    pub fn open(data: &Path) -> Result<Self> {
        let db = DB::open_cf(&rocksdb::Options::default(), data.join("db"), ALL_CFS)?;
        Ok(Tamper { db })
    }

    /// The underlying database, for alterations the helpers do not cover.
    pub fn db(&self) -> &DB {
        &self.db
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| TamperError::NoColumnFamily(name.into()))
    }

    /// (shard, entry count) of the shard with the most entries, counted from
    /// the `entries` column family itself (not from the stored heads).
    pub fn largest_shard(&self) -> Result<(u32, u64)> {
        let mut sizes = BTreeMap::new();
        for kv in self
            .db
            .iterator_cf(self.cf(CF_ENTRIES)?, IteratorMode::Start)
        {
            let (k, _) = kv?;
            if let Some((shard, _)) = keys::parse_entry(&k) {
                *sizes.entry(shard).or_insert(0u64) += 1;
            }
        }
        sizes
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .ok_or_else(|| TamperError::Missing("the ledger has no entries".into()))
    }

    /// The stored value of entry (shard, seq): canonical bytes + hash.
    pub fn entry(&self, shard: u32, seq: u64) -> Result<Vec<u8>> {
        self.db
            .get_cf(self.cf(CF_ENTRIES)?, keys::entry(shard, seq))?
            .ok_or_else(|| TamperError::Missing(format!("entry shard {shard} seq {seq}")))
    }

    pub fn put_entry(&self, shard: u32, seq: u64, value: &[u8]) -> Result<()> {
        Ok(self
            .db
            .put_cf(self.cf(CF_ENTRIES)?, keys::entry(shard, seq), value)?)
    }

    /// Flips the lowest bit of byte `at` of the stored entry.
    pub fn flip_entry_byte(&self, shard: u32, seq: u64, at: usize) -> Result<()> {
        let mut v = self.entry(shard, seq)?;
        let len = v.len();
        let byte = v
            .get_mut(at)
            .ok_or_else(|| TamperError::Missing(format!("byte {at} of a {len}-byte entry")))?;
        *byte ^= 0x01;
        self.put_entry(shard, seq, &v)
    }

    pub fn delete_entry(&self, shard: u32, seq: u64) -> Result<()> {
        Ok(self
            .db
            .delete_cf(self.cf(CF_ENTRIES)?, keys::entry(shard, seq))?)
    }

    /// Stores entry `a` under `b`'s key and `b` under `a`'s.
    pub fn swap_entries(&self, shard: u32, a: u64, b: u64) -> Result<()> {
        let (va, vb) = (self.entry(shard, a)?, self.entry(shard, b)?);
        self.put_entry(shard, a, &vb)?;
        self.put_entry(shard, b, &va)
    }

    /// Replaces the value of the first key of column family `cf`; returns
    /// that key.
    pub fn overwrite_first(&self, cf: &str, value: &[u8]) -> Result<Vec<u8>> {
        let handle = self.cf(cf)?;
        let (k, _) = self
            .db
            .iterator_cf(handle, IteratorMode::Start)
            .next()
            .ok_or_else(|| TamperError::Missing(format!("column family `{cf}` is empty")))??;
        self.db.put_cf(handle, &k, value)?;
        Ok(k.into_vec())
    }
}
