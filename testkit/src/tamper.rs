//! An attacker with write access to the disk: RocksDB opened directly, past
//! the ledger, to alter what the fold wrote. Verification and rebuild must
//! then name what changed.
//!
//! RocksDB admits one open instance per directory, so drop the `Ledger` (or
//! stop the server) first, and drop the [`Tamper`] before verifying.

use std::collections::BTreeMap;
use std::path::Path;

use custody_ledger::keys::{self, ALL_CFS, CF_BY_CUSTOMER, CF_ENTRIES, CF_FINDINGS};
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

    /// Every key and value of column family `cf`, in key order (a demo
    /// ledger's indexes are small).
    pub fn key_values(&self, cf: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        for kv in self.db.iterator_cf(self.cf(cf)?, IteratorMode::Start) {
            let (k, v) = kv?;
            out.push((k.into_vec(), v.into_vec()));
        }
        Ok(out)
    }

    pub fn put_key(&self, cf: &str, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.db.put_cf(self.cf(cf)?, key, value)?)
    }

    /// Deletes one key of column family `cf`; it must be there.
    pub fn delete_key(&self, cf: &str, key: &[u8]) -> Result<()> {
        let handle = self.cf(cf)?;
        if self.db.get_cf(handle, key)?.is_none() {
            return Err(TamperError::Missing(format!(
                "key {key:02x?} of column family `{cf}`"
            )));
        }
        Ok(self.db.delete_cf(handle, key)?)
    }

    /// Files a `by_customer` key under another customer (same time, shard,
    /// seq and value), as if the entry were that customer's: the old key is
    /// deleted. Returns the new key.
    pub fn attribute_to_customer(&self, key: &[u8], customer: &str) -> Result<Vec<u8>> {
        let (at_ms, shard, seq) = keys::parse_by_customer(key)
            .ok_or_else(|| TamperError::Missing(format!("by_customer key {key:02x?}")))?;
        let value = self
            .db
            .get_cf(self.cf(CF_BY_CUSTOMER)?, key)?
            .ok_or_else(|| TamperError::Missing(format!("by_customer key {key:02x?}")))?;
        let moved = keys::by_customer(customer, at_ms, shard, seq);
        self.delete_key(CF_BY_CUSTOMER, key)?;
        self.put_key(CF_BY_CUSTOMER, &moved, &value)?;
        Ok(moved)
    }

    /// Turns an open finding (a `findings` key in state `o`) into one closed
    /// by the entry at `closed_by` (state `c`, value that seq). Returns the
    /// new key.
    pub fn close_finding(&self, open_key: &[u8], closed_by: u64) -> Result<Vec<u8>> {
        let f = keys::parse_finding(open_key)
            .filter(|f| f.state == b'o')
            .ok_or_else(|| TamperError::Missing(format!("open finding key {open_key:02x?}")))?;
        let closed = keys::finding(b'c', &f.rule, &f.customer, f.shard, f.seq);
        self.delete_key(CF_FINDINGS, open_key)?;
        self.put_key(CF_FINDINGS, &closed, &closed_by.to_be_bytes())?;
        Ok(closed)
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
