//! The `completeness` section of a report about one customer: the
//! customer's map proof in every shard of the checkpoint and the leaves of
//! the customer's trees, from the maps the writer published when it signed
//! the checkpoint (`custody_ledger::customers`). The section's format and
//! its checker are `custody_verify::completeness`.

use std::collections::BTreeSet;

use custody_ledger::{Checkpoint, Store};
use custody_verify::completeness::{
    map_key, seal_nonce, Completeness, CustomerLeaf, CustomerShard, EarlierOpening, SealedOpening,
};
use custody_verify::reports::Window;

use crate::proofs::ProofsError;

/// Builds the section for `window` at `checkpoint` and adds to `relied`
/// every entry the window requires (the customer's leaves dated inside it;
/// for an officer's copy, the sealed ones too).
///
/// `since`: a checkpoint the customer holds (`?since_checkpoint=`). For the
/// customer's copy, each shard whose entries sealed then are all visible
/// now gets the opening of that checkpoint's sealed commitment.
pub fn collect(
    store: &Store,
    checkpoint: &Checkpoint,
    window: &Window,
    since: Option<u64>,
    relied: &mut BTreeSet<(u32, u64)>,
) -> Result<Completeness, ProofsError> {
    let maps = store
        .published_maps()
        .filter(|m| m.checkpoint.number == checkpoint.number)
        .ok_or(ProofsError::NoMaps(checkpoint.number))?;
    let customer = window.customer.as_str();
    let proof = store.secrets().vrf.prove(customer.as_bytes());
    let key = map_key(
        &proof
            .to_hash()
            .map_err(|e| ProofsError::Vrf(e.to_string()))?,
    );
    let inside = |l: &CustomerLeaf| (window.from_ms..window.to_ms).contains(&l.occurred_at_ms);
    let earlier = match since {
        Some(n) if !window.officer && n < checkpoint.number => store.checkpoint(n)?,
        _ => None,
    };
    let mut openings = Vec::new();
    let mut shards = Vec::with_capacity(checkpoint.shards.len());
    for head in &checkpoint.shards {
        let shard_map = maps
            .shards
            .get(&head.shard)
            .ok_or(ProofsError::NoMaps(checkpoint.number))?;
        let map_proof = shard_map.map.prove(&key);
        let Some((value, sealed_seqs)) = shard_map.values.get(&key) else {
            shards.push(CustomerShard {
                shard: head.shard,
                map_proof,
                value: None,
                leaves: Vec::new(),
                sealed: None,
            });
            continue;
        };
        let (hidden, shown): (Vec<CustomerLeaf>, Vec<CustomerLeaf>) = store
            .customer_leaves(customer, head.shard, head.size)?
            .into_iter()
            .partition(|l| sealed_seqs.binary_search(&l.seq).is_ok());
        if let Some(then) = earlier
            .as_ref()
            .and_then(|cp| cp.shard(head.shard).map(|h| (cp, h)))
        {
            let (cp, h) = then;
            let sealed_then = store.sealed_at(customer, head.shard, cp.issued_at_ms, h.size)?;
            let all_visible = sealed_then
                .iter()
                .all(|s| sealed_seqs.binary_search(s).is_err());
            if !sealed_then.is_empty() && all_visible {
                openings.push(EarlierOpening {
                    checkpoint: cp.number,
                    shard: head.shard,
                    nonce: seal_nonce(&store.secrets().seal, head.shard, &key, cp.number),
                    leaves: shown
                        .iter()
                        .filter(|l| sealed_then.binary_search(&l.seq).is_ok())
                        .copied()
                        .collect(),
                });
            }
        }
        relied.extend(
            shown
                .iter()
                .filter(|l| inside(l))
                .map(|l| (head.shard, l.seq)),
        );
        let sealed = window.officer.then(|| {
            relied.extend(
                hidden
                    .iter()
                    .filter(|l| inside(l))
                    .map(|l| (head.shard, l.seq)),
            );
            SealedOpening {
                nonce: seal_nonce(&store.secrets().seal, head.shard, &key, checkpoint.number),
                leaves: hidden,
            }
        });
        shards.push(CustomerShard {
            shard: head.shard,
            map_proof,
            value: Some(*value),
            leaves: shown,
            sealed,
        });
    }
    Ok(Completeness {
        customer: customer.to_string(),
        vrf_proof: hex::encode(proof.to_bytes()),
        shards,
        openings,
    })
}
