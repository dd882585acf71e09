//! Key layout of the RocksDB column families. Every key is built here so the
//! layout is written down once (see ARCHITECTURE.md, "Storage layout").

pub const CF_ENTRIES: &str = "entries";
pub const CF_TREE: &str = "tree";
pub const CF_BY_CUSTOMER: &str = "by_customer";
pub const CF_BY_EVENT: &str = "by_event";
pub const CF_FINDINGS: &str = "findings";
pub const CF_BY_REQUEST: &str = "by_request";
pub const CF_STATE: &str = "state";
pub const CF_META: &str = "meta";
pub const CF_CHECKPOINTS: &str = "checkpoints";
pub const CF_QUARANTINE: &str = "quarantine";
/// Access tokens of the query service, stored only as SHA-256 hashes.
pub const CF_TOKENS: &str = "tokens";
/// Every customer's tree per shard (`crate::customers`).
pub const CF_CUSTOMERS: &str = "customers";
/// Each customer's map key (its VRF output), derived once: a cache of a
/// function of the ledger key, kept across rebuilds.
pub const CF_MAP_KEYS: &str = "map_keys";

/// Every column family, in creation order.
pub const ALL_CFS: &[&str] = &[
    CF_ENTRIES,
    CF_TREE,
    CF_BY_CUSTOMER,
    CF_BY_EVENT,
    CF_FINDINGS,
    CF_STATE,
    CF_META,
    CF_CHECKPOINTS,
    CF_QUARANTINE,
    CF_TOKENS,
    CF_BY_REQUEST,
    CF_CUSTOMERS,
    CF_MAP_KEYS,
];

/// Column families derived from the entries (dropped and refilled by rebuild).
pub const DERIVED_CFS: &[&str] = &[
    CF_TREE,
    CF_BY_CUSTOMER,
    CF_BY_EVENT,
    CF_FINDINGS,
    CF_STATE,
    CF_BY_REQUEST,
    CF_CUSTOMERS,
];

/// Merkle nodes are stored only at levels that are multiples of this (and
/// never level 0, whose hashes are in the entries). Lower levels are
/// recomputed from at most 2^(STRIDE-1) children when a proof needs them;
/// this cuts tree writes from ~2 to ~1/15 per entry.
pub const TREE_STRIDE: u8 = 4;

pub fn stored_level(level: u8) -> bool {
    level > 0 && level.is_multiple_of(TREE_STRIDE)
}

/// entries: shard | seq
pub fn entry(shard: u32, seq: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&shard.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub fn parse_entry(key: &[u8]) -> Option<(u32, u64)> {
    if key.len() != 12 {
        return None;
    }
    Some((
        u32::from_be_bytes(key[..4].try_into().ok()?),
        u64::from_be_bytes(key[4..].try_into().ok()?),
    ))
}

/// tree: shard | end leaf (exclusive) | level. Ordering by end leaf makes a
/// scan return nodes in the order appends create them, so verification can
/// compare them as a stream.
pub fn tree(shard: u32, level: u8, index: u64) -> [u8; 13] {
    let end = (index + 1) << level;
    let mut k = [0u8; 13];
    k[..4].copy_from_slice(&shard.to_be_bytes());
    k[4..12].copy_from_slice(&end.to_be_bytes());
    k[12] = level;
    k
}

pub fn parse_tree(key: &[u8]) -> Option<(u32, u8, u64)> {
    if key.len() != 13 {
        return None;
    }
    let shard = u32::from_be_bytes(key[..4].try_into().ok()?);
    let end = u64::from_be_bytes(key[4..12].try_into().ok()?);
    let level = key[12];
    Some((shard, level, (end >> level).checked_sub(1)?))
}

/// Order-preserving encoding of a signed time.
pub fn time_key(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1 << 63)).to_be_bytes()
}

pub fn time_from_key(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

/// by_customer: len | customer | time | shard | seq
pub fn by_customer(customer: &str, time_ms: i64, shard: u32, seq: u64) -> Vec<u8> {
    let mut k = customer_prefix(customer);
    k.extend_from_slice(&time_key(time_ms));
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn customer_prefix(customer: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + customer.len() + 20);
    k.extend_from_slice(&(customer.len() as u16).to_be_bytes());
    k.extend_from_slice(customer.as_bytes());
    k
}

/// Parses the (time, shard, seq) suffix of a by_customer key.
pub fn parse_by_customer(key: &[u8]) -> Option<(i64, u32, u64)> {
    let n = key.len();
    if n < 20 {
        return None;
    }
    let t = time_from_key(key[n - 20..n - 12].try_into().ok()?);
    let shard = u32::from_be_bytes(key[n - 12..n - 8].try_into().ok()?);
    let seq = u64::from_be_bytes(key[n - 8..].try_into().ok()?);
    Some((t, shard, seq))
}

/// by_event: shard | event id. Duplicates are per shard because global
/// events (subcontractor registrations) are broadcast to every shard.
pub fn by_event(shard: u32, event_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + event_id.len());
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(event_id.as_bytes());
    k
}

/// by_request: len | law-enforcement request id | shard | seq, for every
/// law-enforcement event (received, redirected, notified, disclosed, closed).
pub fn by_request(request: &str, shard: u32, seq: u64) -> Vec<u8> {
    let mut k = customer_prefix(request);
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Parses a by_request key into (request id, shard, seq).
pub fn parse_by_request(key: &[u8]) -> Option<(String, u32, u64)> {
    let n = u16::from_be_bytes(key.get(..2)?.try_into().ok()?) as usize;
    let id = std::str::from_utf8(key.get(2..2 + n)?).ok()?.to_string();
    let shard = u32::from_be_bytes(key.get(2 + n..6 + n)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(6 + n..14 + n)?.try_into().ok()?);
    Some((id, shard, seq))
}

/// customers: shard | customer id
pub fn customer_tree(shard: u32, customer: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + customer.len());
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(customer.as_bytes());
    k
}

pub fn parse_customer_tree(key: &[u8]) -> Option<(u32, String)> {
    let shard = u32::from_be_bytes(key.get(..4)?.try_into().ok()?);
    Some((shard, String::from_utf8(key.get(4..)?.to_vec()).ok()?))
}

/// state: shard | tag | name ('c' customer, 's' subcontractor, 't' the
/// shard's event time, with an empty name)
pub fn state(shard: u32, tag: u8, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + name.len());
    k.extend_from_slice(&shard.to_be_bytes());
    k.push(tag);
    k.extend_from_slice(name.as_bytes());
    k
}

/// findings: state (b'o' open finding or obligation, b'c' closed, b'r'
/// recorded, b'd' discharged obligation, b'w' the recorded breach withdrawn;
/// `c`, `d` and `w` hold the seq of the entry that ended it) | rule len | rule | customer len | customer | shard | seq
pub fn finding(state: u8, rule: &str, customer: &str, shard: u32, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(32 + rule.len() + customer.len());
    k.push(state);
    k.extend_from_slice(&(rule.len() as u16).to_be_bytes());
    k.extend_from_slice(rule.as_bytes());
    k.extend_from_slice(&(customer.len() as u16).to_be_bytes());
    k.extend_from_slice(customer.as_bytes());
    k.extend_from_slice(&shard.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub use custody_verify::reports::findings::FindingKey;

/// Parses a findings key.
pub fn parse_finding(key: &[u8]) -> Option<FindingKey> {
    let state = *key.first()?;
    let rl = u16::from_be_bytes(key.get(1..3)?.try_into().ok()?) as usize;
    let rule = std::str::from_utf8(key.get(3..3 + rl)?).ok()?.to_string();
    let p = 3 + rl;
    let cl = u16::from_be_bytes(key.get(p..p + 2)?.try_into().ok()?) as usize;
    let customer = std::str::from_utf8(key.get(p + 2..p + 2 + cl)?)
        .ok()?
        .to_string();
    let q = p + 2 + cl;
    let shard = u32::from_be_bytes(key.get(q..q + 4)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(q + 4..q + 12)?.try_into().ok()?);
    Some(FindingKey {
        state,
        rule,
        customer,
        shard,
        seq,
    })
}

/// meta: "head" | shard  ->  size u64 | last hash
pub fn head(shard: u32) -> Vec<u8> {
    let mut k = b"head/".to_vec();
    k.extend_from_slice(&shard.to_be_bytes());
    k
}

/// meta: "offset" | partition | topic  ->  next offset u64
pub fn offset(topic: &str, partition: u32) -> Vec<u8> {
    let mut k = b"offset/".to_vec();
    k.extend_from_slice(&partition.to_be_bytes());
    k.extend_from_slice(topic.as_bytes());
    k
}

pub const META_EMBEDDED_SHARDS: &[u8] = b"embedded_shards";
/// The allowed lateness (i64 ms, big-endian), fixed when a ledger is created.
pub const META_ALLOWED_LATENESS: &[u8] = b"allowed_lateness_ms";

/// meta: "customers_at" | shard  ->  the shard size the stored customer
/// trees cover (entries past it are replayed into them on open)
pub fn customers_at(shard: u32) -> Vec<u8> {
    let mut k = b"customers_at/".to_vec();
    k.extend_from_slice(&shard.to_be_bytes());
    k
}

/// quarantine: topic len | topic | partition | offset
pub fn quarantine(topic: &str, partition: u32, offset: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(14 + topic.len());
    k.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    k.extend_from_slice(topic.as_bytes());
    k.extend_from_slice(&partition.to_be_bytes());
    k.extend_from_slice(&offset.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_keys_sort_in_append_order() {
        let a = tree(0, 4, 0); // covers leaves 0..16, end 16
        let b = tree(0, 4, 1); // end 32
        let c = tree(0, 8, 0); // end 256
        let d = tree(0, 4, 15); // end 256, lower level first
        assert!(a < b && d < c && b < d);
        assert_eq!(parse_tree(&c), Some((0, 8, 0)));
        assert_eq!(parse_tree(&d), Some((0, 4, 15)));
    }

    #[test]
    fn time_keys_keep_order_across_zero() {
        assert!(time_key(-5) < time_key(0) && time_key(0) < time_key(7));
        assert_eq!(time_from_key(time_key(-123)), -123);
    }

    #[test]
    fn finding_key_round_trip() {
        let k = finding(b'o', "LE-NOTICE", "cust-1", 2, 99);
        let f = parse_finding(&k).unwrap();
        assert_eq!(
            (
                f.state,
                f.rule.as_str(),
                f.customer.as_str(),
                f.shard,
                f.seq
            ),
            (b'o', "LE-NOTICE", "cust-1", 2, 99)
        );
    }
}
