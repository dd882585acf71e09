//! The customer trees and map keys of every shard, kept by a worker thread
//! that is fed the entries of each batch once the batch is written.
//!
//! Why a thread: appending an entry to its customer's tree (a hash-map
//! lookup, a leaf and an amortised node hash, mostly cache misses) cost the
//! fold about 400 ns per event, a sixth of its rate, on the thread that
//! bounds it. Here the fold only appends the customer id and the entry hash
//! to a buffer and hands the buffer over after the write; the trees are
//! brought up to date on another core, and the next checkpoint (which waits
//! for them, as the channel is in order) builds the maps from them.
//!
//! Why after the write: the trees then only ever hold written entries, so a
//! failed batch has nothing to take back here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;

use custody_verify::completeness::LedgerSecrets;

use crate::customers::{build_shard_map, CustomerTree, SealOp, ShardMap};
use crate::merkle::Hash;
use crate::store::{Result, Store, StoreError};

/// Every shard's customer trees.
pub(crate) type Trees = BTreeMap<u32, HashMap<String, CustomerTree>>;

/// The customer entries of one written batch, in fold order.
#[derive(Default)]
pub(crate) struct TreeBatch {
    /// Every op's customer id, back to back: one allocation per batch
    /// instead of one per event.
    names: String,
    ops: Vec<TreeOp>,
}

struct TreeOp {
    shard: u32,
    seq: u64,
    occurred_ms: i64,
    hash: Hash,
    customer: Range<usize>,
    seal: Option<SealOp>,
}

impl TreeBatch {
    pub fn push(
        &mut self,
        shard: u32,
        seq: u64,
        occurred_ms: i64,
        hash: &Hash,
        customer: &str,
        seal: Option<SealOp>,
    ) {
        let start = self.names.len();
        self.names.push_str(customer);
        self.ops.push(TreeOp {
            shard,
            seq,
            occurred_ms,
            hash: *hash,
            customer: start..self.names.len(),
            seal,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What a checkpoint needs from the trees: the maps at its number and
/// time, and what to store in the same write.
pub(crate) struct Built {
    pub maps: BTreeMap<u32, ShardMap>,
    pub stored: ToStore,
}

/// Derived data not stored yet: map keys derived since the last call, and
/// the trees changed since (encoded). Marked stored when handed out; a
/// failed write hands them back with [`TreeKeeper::not_stored`].
#[derive(Default)]
pub(crate) struct ToStore {
    pub map_keys: Vec<(String, Hash)>,
    pub trees: Vec<(u32, String, Vec<u8>)>,
}

enum Msg {
    Record(TreeBatch),
    Build {
        number: u64,
        issued_at_ms: i64,
        sizes: BTreeMap<u32, u64>,
        reply: Sender<Result<Built>>,
    },
    TakeUnstored(Sender<Result<ToStore>>),
    NotStored(ToStore),
    #[cfg(test)]
    Snapshot(Sender<Trees>),
}

/// The fold's handle on the worker.
pub(crate) struct TreeKeeper {
    inbox: Option<SyncSender<Msg>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TreeKeeper {
    /// Waits for the worker to finish, so that its clone of the store is
    /// closed when the ledger is (a reopen in the same process would find
    /// the database locked otherwise).
    fn drop(&mut self) {
        self.inbox = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Batches in flight before the fold waits for the worker: enough to ride
/// out a checkpoint, bounded so a slow worker slows the fold instead of
/// holding every batch in memory.
const QUEUE: usize = 64;

impl TreeKeeper {
    /// Starts the worker with the trees read on open and the map keys
    /// derived so far.
    pub fn start(store: Store, trees: Trees, map_keys: HashMap<String, Hash>) -> Result<Self> {
        let (inbox, messages) = mpsc::sync_channel(QUEUE);
        let secrets = store.secrets_arc();
        let worker = Worker {
            deriver: KeyDeriver::start(secrets.clone()),
            store,
            secrets,
            trees,
            map_keys,
            unstored_keys: Vec::new(),
        };
        let worker = std::thread::Builder::new()
            .name("custody-customer-trees".into())
            .spawn(move || worker.run(messages))
            .map_err(|e| StoreError::Invalid(format!("starting the customer tree worker: {e}")))?;
        Ok(TreeKeeper {
            inbox: Some(inbox),
            worker: Some(worker),
        })
    }

    fn send(&mut self, msg: Msg) -> Result<()> {
        let sent = self.inbox.as_ref().is_some_and(|i| i.send(msg).is_ok());
        if !sent {
            self.inbox = None;
            return Err(stopped());
        }
        Ok(())
    }

    /// Hands over the customer entries of a batch just written.
    pub fn record(&mut self, batch: TreeBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.send(Msg::Record(batch))
    }

    /// The maps of every shard at checkpoint `number`, with the trees at
    /// `sizes` (every batch handed over so far).
    pub fn build(
        &mut self,
        number: u64,
        issued_at_ms: i64,
        sizes: BTreeMap<u32, u64>,
    ) -> Result<Built> {
        let (reply, answer) = mpsc::channel();
        self.send(Msg::Build {
            number,
            issued_at_ms,
            sizes,
            reply,
        })?;
        answer.recv().map_err(|_| stopped())?
    }

    /// What is derived and not stored yet (for a close).
    pub fn take_unstored(&mut self) -> Result<ToStore> {
        let (reply, answer) = mpsc::channel();
        self.send(Msg::TakeUnstored(reply))?;
        answer.recv().map_err(|_| stopped())?
    }

    /// A write of what [`Self::build`] or [`Self::take_unstored`] gave
    /// failed: it is handed out again next time.
    pub fn not_stored(&mut self, back: ToStore) {
        // A stopped worker loses nothing: the next open re-derives both.
        let _ = self.send(Msg::NotStored(back));
    }

    /// Every tree, once the batches handed over are in.
    #[cfg(test)]
    pub fn snapshot(&mut self) -> Trees {
        let (reply, answer) = mpsc::channel();
        self.send(Msg::Snapshot(reply)).expect("worker running");
        answer.recv().expect("worker running")
    }
}

fn stopped() -> StoreError {
    StoreError::Invalid(
        "the customer tree worker stopped; reopen the ledger (the trees are re-derived from the entries)"
            .into(),
    )
}

struct Worker {
    store: Store,
    secrets: Arc<LedgerSecrets>,
    trees: Trees,
    map_keys: HashMap<String, Hash>,
    unstored_keys: Vec<(String, Hash)>,
    deriver: KeyDeriver,
}

impl Worker {
    fn run(mut self, messages: Receiver<Msg>) {
        for msg in messages {
            match msg {
                Msg::Record(batch) => self.record(batch),
                Msg::Build {
                    number,
                    issued_at_ms,
                    sizes,
                    reply,
                } => {
                    let _ = reply.send(self.build(number, issued_at_ms, &sizes));
                }
                Msg::TakeUnstored(reply) => {
                    let _ = reply.send(self.take_unstored());
                }
                Msg::NotStored(back) => {
                    for (shard, customer, _) in back.trees {
                        if let Some(t) = self
                            .trees
                            .get_mut(&shard)
                            .and_then(|s| s.get_mut(&customer))
                        {
                            t.dirty = true;
                        }
                    }
                    self.unstored_keys.extend(back.map_keys);
                }
                #[cfg(test)]
                Msg::Snapshot(reply) => {
                    let _ = reply.send(self.trees.clone());
                }
            }
        }
    }

    fn record(&mut self, batch: TreeBatch) {
        for op in batch.ops {
            let customer = &batch.names[op.customer];
            let trees = self.trees.entry(op.shard).or_default();
            // One lookup for a known customer; a new one costs an insert
            // and a request for its map key.
            if let Some(tree) = trees.get_mut(customer) {
                tree.record(op.seq, op.occurred_ms, &op.hash, op.seal.as_ref());
            } else {
                let mut tree = CustomerTree::default();
                tree.record(op.seq, op.occurred_ms, &op.hash, op.seal.as_ref());
                trees.insert(customer.to_string(), tree);
                if !self.map_keys.contains_key(customer) {
                    self.deriver.send(customer);
                }
            }
        }
    }

    fn build(
        &mut self,
        number: u64,
        issued_at_ms: i64,
        sizes: &BTreeMap<u32, u64>,
    ) -> Result<Built> {
        self.derive_map_keys()?;
        let mut maps = BTreeMap::new();
        let no_customers = HashMap::new();
        for (shard, size) in sizes {
            let customers = self.trees.get(shard).unwrap_or(&no_customers);
            let store = &self.store;
            let map = build_shard_map(
                *shard,
                customers,
                number,
                issued_at_ms,
                &self.secrets,
                &self.map_keys,
                |customer| store.customer_leaves(customer, *shard, *size),
            )?;
            maps.insert(*shard, map);
        }
        Ok(Built {
            maps,
            stored: self.take_unstored()?,
        })
    }

    fn take_unstored(&mut self) -> Result<ToStore> {
        let mut trees = Vec::new();
        for (shard, customers) in &mut self.trees {
            for (customer, tree) in customers.iter_mut() {
                if tree.dirty {
                    trees.push((*shard, customer.clone(), tree.encode()?));
                    tree.dirty = false;
                }
            }
        }
        Ok(ToStore {
            map_keys: std::mem::take(&mut self.unstored_keys),
            trees,
        })
    }

    /// Derives the map key of every customer that has none yet (a VRF
    /// evaluation each, spread over the cores).
    fn derive_map_keys(&mut self) -> Result<()> {
        let derived = self.deriver.collect();
        self.map_keys.extend(derived.iter().cloned());
        self.unstored_keys.extend(derived);
        let mut missing: Vec<String> = self
            .trees
            .values()
            .flat_map(|c| c.keys())
            .filter(|c| !self.map_keys.contains_key(*c))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let secrets = &self.secrets;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = missing.len().div_ceil(threads).max(1);
        let inline: Vec<(String, Hash)> = std::thread::scope(|scope| {
            let handles: Vec<_> = missing
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|c| (c.clone(), secrets.key_of(c)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if inline.len() != missing.len() {
            return Err(StoreError::Invalid("deriving map keys failed".into()));
        }
        self.map_keys.extend(inline.iter().cloned());
        self.unstored_keys.extend(inline);
        Ok(())
    }
}

/// A worker thread that evaluates the VRF for customer ids sent to it, so
/// that a checkpoint rarely waits for one.
struct KeyDeriver {
    requests: Option<Sender<String>>,
    results: Receiver<(String, Hash)>,
    /// Ids sent whose keys have not come back yet.
    pending: HashSet<String>,
}

impl KeyDeriver {
    fn start(secrets: Arc<LedgerSecrets>) -> Self {
        let (requests, inbox) = mpsc::channel::<String>();
        let (outbox, results) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("custody-map-keys".into())
            .spawn(move || {
                for customer in inbox {
                    let key = secrets.key_of(&customer);
                    if outbox.send((customer, key)).is_err() {
                        break;
                    }
                }
            });
        // Without the thread, keys are derived when a checkpoint needs them.
        KeyDeriver {
            requests: spawned.ok().map(|_| requests),
            results,
            pending: HashSet::new(),
        }
    }

    fn send(&mut self, customer: &str) {
        if self.pending.contains(customer) {
            return;
        }
        if let Some(tx) = &self.requests {
            if tx.send(customer.to_string()).is_ok() {
                self.pending.insert(customer.to_string());
            }
        }
    }

    /// Every key sent for, waiting for those still under way.
    fn collect(&mut self) -> Vec<(String, Hash)> {
        let mut out = Vec::with_capacity(self.pending.len());
        while !self.pending.is_empty() {
            match self.results.recv() {
                Ok((customer, key)) => {
                    self.pending.remove(&customer);
                    out.push((customer, key));
                }
                // The worker is gone: the rest are derived inline.
                Err(_) => {
                    self.pending.clear();
                    self.requests = None;
                }
            }
        }
        out
    }
}
