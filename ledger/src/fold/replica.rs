//! What a replica (a re-folding witness) writes besides its fold: the
//! primary's checkpoints it re-derived, and the latest checkpoint it
//! cosigned per shard. Written here because only the [`Ledger`] writes.

use rocksdb::WriteBatch;

use super::{no_keeper, Ledger};
use crate::checkpoint::Checkpoint;
use crate::customers::PublishedMaps;
use crate::keys::CF_META;
use crate::merkle::Hash;
use crate::store::{Result, Store, StoreError};

/// Why a replica did not adopt a checkpoint: the first shard whose head or
/// customer-map root its own fold does not give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub shard: u32,
    pub what: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {}: {}", self.shard, self.what)
    }
}

/// meta key of the latest cosigned checkpoint of a shard.
fn cosigned_key(shard: u32) -> Vec<u8> {
    let mut k = b"cosigned/".to_vec();
    k.extend_from_slice(&shard.to_be_bytes());
    k
}

/// The latest checkpoint a witness cosigned for a shard: size and root.
pub fn cosigned(store: &Store, shard: u32) -> Result<Option<(u64, Hash)>> {
    let Some(v) = store.get(CF_META, &cosigned_key(shard))? else {
        return Ok(None);
    };
    if v.len() != 40 {
        return Err(StoreError::Corrupt {
            what: format!("meta cosigned/{shard}"),
            reason: "not a size and a root".into(),
        });
    }
    let mut size = [0u8; 8];
    size.copy_from_slice(&v[..8]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&v[8..]);
    Ok(Some((u64::from_be_bytes(size), root)))
}

impl Ledger {
    /// Adopts a checkpoint signed by another ledger (the primary this node
    /// re-folds) when this node's own fold gives exactly its heads and, at
    /// its number and signing time, its customer-map roots: the checkpoint
    /// is then stored (as signed by the primary) with the customer trees,
    /// and its maps published for reports. Otherwise nothing is stored and
    /// the first disagreeing shard is returned. The caller checks the
    /// signature. Needs the primary's map secrets
    /// ([`crate::store::MAP_SECRETS_FILE`]) for the map roots to agree.
    pub fn adopt_checkpoint(
        &mut self,
        cp: &Checkpoint,
    ) -> Result<std::result::Result<(), Disagreement>> {
        self.flush_unlogged()?;
        let heads = self.heads();
        for h in &cp.shards {
            let own = heads.iter().find(|x| x.shard == h.shard);
            let what = match own {
                None if h.size == 0 => continue,
                None => format!(
                    "the checkpoint states {} entries, this node holds none",
                    h.size
                ),
                Some(o) if o.size != h.size => format!(
                    "the checkpoint states {} entries, this node's fold holds {}",
                    h.size, o.size
                ),
                Some(o) if o.root != h.root => format!(
                    "at {} entries the checkpoint states root {}, this node's fold gives {}",
                    h.size,
                    hex::encode(h.root),
                    hex::encode(o.root)
                ),
                Some(_) => continue,
            };
            return Ok(Err(Disagreement {
                shard: h.shard,
                what,
            }));
        }
        if let Some(o) = heads.iter().find(|o| cp.shard(o.shard).is_none()) {
            return Ok(Err(Disagreement {
                shard: o.shard,
                what: format!(
                    "this node's fold holds {} entries of a shard the checkpoint does not list",
                    o.size
                ),
            }));
        }
        let own_vrf = hex::encode(self.store.secrets().vrf.public().as_bytes());
        if let Some(vrf) = &cp.vrf_key {
            if *vrf != own_vrf {
                return Ok(Err(Disagreement {
                    shard: cp.shards.first().map_or(0, |h| h.shard),
                    what: format!(
                        "the checkpoint's VRF key is {vrf}, this node's map secrets give {own_vrf} \
                         (is `map-secrets` the primary's?)"
                    ),
                }));
            }
        }
        let sizes = self.sizes();
        let keeper = self.keeper.as_mut().ok_or_else(no_keeper)?;
        let built = keeper.build(cp.number, cp.issued_at_ms, sizes)?;
        for h in &cp.shards {
            let own = built.maps.get(&h.shard).map(|m| m.map.root());
            if h.map_root.is_some() && own != h.map_root {
                keeper.not_stored(built.stored);
                return Ok(Err(Disagreement {
                    shard: h.shard,
                    what: format!(
                        "at checkpoint {} the customer-map root is {}, this node's fold gives {}",
                        cp.number,
                        h.map_root.map_or("-".into(), hex::encode),
                        own.map_or("-".into(), hex::encode)
                    ),
                }));
            }
        }
        self.store_derived(Some(cp), built.stored)?;
        self.store.publish_maps(PublishedMaps {
            checkpoint: cp.clone(),
            shards: built.maps,
        });
        Ok(Ok(()))
    }

    /// Records, durably (WAL fsynced), the latest checkpoint this witness
    /// cosigned for a shard.
    pub fn put_cosigned(&mut self, shard: u32, size: u64, root: &Hash) -> Result<()> {
        self.flush_unlogged()?;
        let mut value = Vec::with_capacity(40);
        value.extend_from_slice(&size.to_be_bytes());
        value.extend_from_slice(root);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.store.cf(CF_META)?, cosigned_key(shard), value);
        self.store.db.write(batch)?;
        self.store.sync_wal()
    }
}
