//! Offline verification of a report with proofs (`custody verify-report`).
//! Pure: takes the report's JSON, the public key the customer trusts, an
//! optional checkpoint they saved earlier and any consistency proofs fetched
//! for it; reads nothing and writes nothing.
//!
//! What it establishes, in order:
//! 1. the checkpoint is signed by the key;
//! 2. every proven entry's bytes hash to the hash they carry, and that hash
//!    is a leaf of its shard's tree at the checkpoint (inclusion proof);
//! 3. every ledger position the report cites is among the proven entries,
//!    with the same hash;
//! 4. the report's figures are what the report's own builder computes from
//!    the proven entries alone (rebuilt and compared field by field);
//! 5. for a report about one customer: completeness. The customer's map
//!    proof in every shard leads to the map roots the checkpoint signs, the
//!    VRF proof binds the map position to the customer's id, the leaves
//!    given hash to the customer tree roots the map holds, and every leaf
//!    dated inside the report's window is a proven entry
//!    ([`crate::completeness`]);
//! 6. with a saved checkpoint: the report is not older than it, and the
//!    ledger only grew between the two checkpoints, shard by shard (RFC
//!    6962 consistency proofs).
//!
//! What it cannot establish alone: that the signed maps agree with the log
//! (that the operator committed every entry to the right customer). A
//! re-folding witness or `custody verify` recomputes the maps from the
//! entries; point 6 makes any later rewrite visible.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::completeness::verify_completeness;
use crate::entry::{entry_hash, split_stored};
use crate::merkle::{self, Hash};
use crate::proofs::{self, Consistency, Proofs, ShardConsistency};
use crate::reports::findings::{self, FindingKey};
use crate::reports::{
    item_of, le_request_id, AccessHistoryReport, Disclosure, Findings, Item, LawEnforcement,
    ReadError, ReadView, Report, Residency, Window, AGGREGATE_SUBJECT,
};
use crate::{Checkpoint, Entry};

/// Fields of a report document that are not the report's figures.
const ENVELOPE: [&str; 7] = [
    "reportKind",
    "params",
    "checkpoint",
    "generatedAtMs",
    "generatedAt",
    "proofs",
    "consistency",
];

/// At most this many differences are listed per check.
const MAX_LISTED: usize = 20;

/// One verified statement and what, if anything, was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. "checkpoint 12 signed by ab12…".
    pub subject: String,
    /// Summary when everything held, e.g. "hashes ok, inclusion ok".
    pub ok_text: String,
    /// Every failure found, each naming where.
    pub failures: Vec<String>,
}

impl Check {
    fn new(subject: impl Into<String>, ok_text: impl Into<String>) -> Self {
        Check {
            subject: subject.into(),
            ok_text: ok_text.into(),
            failures: Vec::new(),
        }
    }

    fn fail(&mut self, what: impl Into<String>) {
        self.failures.push(what.into());
    }

    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcome of verifying one report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub checks: Vec<Check>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(Check::ok)
    }

    /// Every failure, as "subject: failure" lines.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .flat_map(|c| {
                c.failures
                    .iter()
                    .map(move |f| format!("{}: {f}", c.subject))
            })
            .collect()
    }

    /// One line per check; failures indented under theirs.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            if c.ok() {
                out.push_str(&format!("{}: {}\n", c.subject, c.ok_text));
            } else {
                out.push_str(&format!("{}: FAILED\n", c.subject));
                for f in &c.failures {
                    out.push_str(&format!("  - {f}\n"));
                }
            }
        }
        out.push_str(if self.ok() {
            "report verified\n"
        } else {
            "REPORT NOT VERIFIED\n"
        });
        out
    }
}

/// Which consistency proofs a saved checkpoint needs against the report's:
/// (shard, older size, newer size), ordered by checkpoint number. Empty when
/// a shard shrank or vanished: [`verify`] names that without a proof.
pub fn consistency_needed(saved: &Checkpoint, current: &Checkpoint) -> Vec<(u32, u64, u64)> {
    let (old, new) = ordered(saved, current);
    old.shards
        .iter()
        .filter_map(|h| {
            let n = new.shard(h.shard)?;
            (n.size >= h.size).then_some((h.shard, h.size, n.size))
        })
        .collect()
}

fn ordered<'a>(a: &'a Checkpoint, b: &'a Checkpoint) -> (&'a Checkpoint, &'a Checkpoint) {
    if a.number <= b.number {
        (a, b)
    } else {
        (b, a)
    }
}

fn short(key: &str) -> String {
    key.chars().take(16).collect::<String>() + "…"
}

fn parse_hashes(hexes: &[String]) -> Result<Vec<Hash>, String> {
    hexes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format!("proof hash {i} is not 64 hex characters"))
        })
        .collect()
}

/// Verifies a report document. `saved` is a checkpoint the customer kept
/// from earlier; `fetched` holds consistency proofs obtained for it (from
/// `GET /v1/proofs/consistency`) when the report's own `consistency` section
/// does not start at `saved`.
pub fn verify(
    doc: &Value,
    key: &VerifyingKey,
    saved: Option<&Checkpoint>,
    fetched: &[ShardConsistency],
) -> Verification {
    verify_with_previous(doc, key, saved, fetched, None)
}

/// [`verify`], plus a report of the same customer the reader kept from an
/// earlier checkpoint: the openings of its sealed commitments the new report
/// carries (`?since_checkpoint=` that checkpoint) are checked against it,
/// showing that entries released since (an order expired) were committed
/// all along.
pub fn verify_with_previous(
    doc: &Value,
    key: &VerifyingKey,
    saved: Option<&Checkpoint>,
    fetched: &[ShardConsistency],
    previous: Option<&Value>,
) -> Verification {
    let mut v = Verification::default();
    let key_hex = hex::encode(key.as_bytes());

    let checkpoint: Checkpoint = match serde_json::from_value(doc["checkpoint"].clone()) {
        Ok(cp) => cp,
        Err(e) => {
            let mut c = Check::new("checkpoint", "");
            c.fail(format!("the report has no readable `checkpoint`: {e}"));
            v.checks.push(c);
            return v;
        }
    };
    // The subject names the key the checkpoint claims; a failure names
    // both it and the pinned one.
    let mut c = Check::new(
        format!(
            "checkpoint {} signed by {}",
            checkpoint.number,
            short(&checkpoint.key)
        ),
        format!("ok (the pinned key {})", short(&key_hex)),
    );
    if let Err(e) = checkpoint.verify(key) {
        c.fail(match e {
            crate::checkpoint::CheckpointError::WrongKey {
                signed_by,
                expected,
            } => format!(
                "signed by key {signed_by}, but the key you pinned is {expected}: \
                 this report comes from another ledger, or the ledger's key changed"
            ),
            other => format!("{other} (pinned key {key_hex})"),
        });
    }
    v.checks.push(c);

    let proofs: Option<Proofs> = match doc.get("proofs") {
        None | Some(Value::Null) => None,
        Some(p) => match serde_json::from_value(p.clone()) {
            Ok(p) => Some(p),
            Err(e) => {
                let mut c = Check::new("proofs", "");
                c.fail(format!("the `proofs` section does not parse: {e}"));
                v.checks.push(c);
                None
            }
        },
    };
    match &proofs {
        // `"proofs": null` proves nothing either: without this, a document
        // with a null section passed on its checkpoint alone (found by
        // fuzzing, verify/tests/fuzz.rs).
        None if doc.get("proofs").is_none_or(Value::is_null) => {
            let mut c = Check::new("proofs", "");
            c.fail("the report carries no `proofs` section (request it with ?proofs=true or `custody report --proofs`)");
            v.checks.push(c);
        }
        None => {}
        Some(p) => {
            // Leaves of the customer's tree the completeness section proves
            // against the signed map: the entries among them need no
            // inclusion proof of their own (compact proofs). Whether the
            // section is about the report's customer, and covers all of
            // their entries, is `check_completeness`'s to say.
            let committed = p.completeness.as_ref().and_then(|section| {
                verify_completeness(section, &checkpoint, &section.customer)
                    .ok()
                    .map(|coverage| {
                        coverage
                            .iter()
                            .flat_map(|sc| {
                                sc.leaves.iter().map(|l| ((sc.shard, l.seq), l.entry_hash))
                            })
                            .collect::<BTreeMap<(u32, u64), Hash>>()
                    })
            });
            let items = check_entries(&mut v, p, &checkpoint, committed.as_ref());
            check_citations(&mut v, doc, &items);
            let window = check_figures(&mut v, doc, p, &items);
            if let Some(window) = window {
                check_completeness(&mut v, p, &items, &checkpoint, &window, key, previous);
            }
        }
    }

    match saved {
        Some(saved) => check_consistency(&mut v, doc, key, saved, &checkpoint, fetched),
        None => v.checks.push(Check::new(
            "freshness and consistency with a checkpoint you saved earlier",
            "not checked (pass --previous-checkpoint FILE to check that this report is not older and that the ledger only grew since)",
        )),
    }
    v
}

/// Every entry of the customer the signed maps commit to, within the
/// report's window, must be among the proven entries; and every proven entry
/// of the customer must be committed.
fn check_completeness(
    v: &mut Verification,
    p: &Proofs,
    items: &BTreeMap<(u32, u64), Item>,
    checkpoint: &Checkpoint,
    w: &Window,
    key: &VerifyingKey,
    previous: Option<&Value>,
) {
    let customer = w.customer.as_str();
    let mut c = Check::new(
        format!("completeness of customer `{customer}`'s entries"),
        "",
    );
    let Some(section) = &p.completeness else {
        c.fail(
            "the report carries no completeness proof: it shows real entries, but not that none was left out",
        );
        v.checks.push(c);
        return;
    };
    let coverage = match verify_completeness(section, checkpoint, customer) {
        Ok(cov) => cov,
        Err(failures) => {
            for f in failures {
                c.fail(f);
            }
            v.checks.push(c);
            return;
        }
    };
    let inside = |ms: i64| (w.from_ms..w.to_ms).contains(&ms);
    let mut committed = std::collections::BTreeSet::new();
    let (mut total, mut in_window, mut sealed) = (0u64, 0u64, 0u64);
    let mut missing = 0usize;
    for sc in &coverage {
        sealed += sc.sealed_opened;
        for l in &sc.leaves {
            total += 1;
            committed.insert((sc.shard, l.seq));
            let at = format!("entry {}/{}", sc.shard, l.seq);
            if inside(l.occurred_at_ms) {
                in_window += 1;
            }
            match items.get(&(sc.shard, l.seq)) {
                Some(i) if i.hash != l.entry_hash => c.fail(format!(
                    "{at}: the report's entry is not the one the customer's tree commits to"
                )),
                Some(i) if i.at_ms() != l.occurred_at_ms => c.fail(format!(
                    "{at}: the customer's tree dates it {}, the entry says {}",
                    custody_policy::format_ms(l.occurred_at_ms),
                    custody_policy::format_ms(i.at_ms())
                )),
                Some(i) if i.event.customer_id != customer => c.fail(format!(
                    "{at}: the map commits it to customer `{customer}`, but it is an event of `{}`",
                    i.event.customer_id
                )),
                Some(_) => {}
                None if inside(l.occurred_at_ms) => {
                    missing += 1;
                    if missing <= MAX_LISTED {
                        c.fail(format!(
                            "{at} of customer `{customer}` (dated {}) is committed in the ledger but missing from the report",
                            custody_policy::format_ms(l.occurred_at_ms)
                        ));
                    }
                }
                None => {}
            }
        }
    }
    if missing > MAX_LISTED {
        c.fail(format!(
            "… and {} more missing entries",
            missing - MAX_LISTED
        ));
    }
    for ((shard, seq), i) in items {
        if i.event.customer_id != customer || committed.contains(&(*shard, *seq)) {
            continue;
        }
        // In the customer's copy, a law-enforcement event may have been
        // sealed at the checkpoint and its order expired since: shown, but
        // outside the visible tree.
        let may_be_unsealed = !w.officer && i.event.kind.as_ref().and_then(le_request_id).is_some();
        if !may_be_unsealed {
            c.fail(format!(
                "entry {shard}/{seq} is in the log, but customer `{customer}`'s map does not commit to it (the maps disagree with the log)"
            ));
        }
    }
    let present: Vec<String> = coverage
        .iter()
        .filter(|sc| !sc.leaves.is_empty())
        .map(|sc| format!("shard {}: {}", sc.shard, sc.leaves.len()))
        .collect();
    let absent: Vec<String> = coverage
        .iter()
        .filter(|sc| sc.leaves.is_empty())
        .map(|sc| sc.shard.to_string())
        .collect();
    let mut where_ = present.join(", ");
    if !absent.is_empty() {
        if !where_.is_empty() {
            where_.push_str("; ");
        }
        where_.push_str(&format!(
            "none in shard(s) {}, proven absent",
            absent.join(", ")
        ));
    }
    let sealed_text = if w.officer && sealed > 0 {
        format!(", of which {sealed} sealed by non-disclosure orders and opened here")
    } else {
        String::new()
    };
    let window_text = if w.from_ms == i64::MIN && w.to_ms == i64::MAX {
        "every one of them is in the report".to_string()
    } else {
        format!(
            "the {in_window} dated from {} to {} (the report's window) are all in the report",
            if w.from_ms == i64::MIN {
                "the beginning".to_string()
            } else {
                custody_policy::format_ms(w.from_ms)
            },
            if w.to_ms == i64::MAX {
                "the checkpoint".to_string()
            } else {
                custody_policy::format_ms(w.to_ms)
            }
        )
    };
    c.ok_text = format!(
        "ok: the ledger at checkpoint {} holds {total} entries of `{customer}`{sealed_text} ({where_}), and {window_text}; the map positions are bound to `{customer}` by the ledger's VRF",
        checkpoint.number
    );
    v.checks.push(c);
    if let Some(prev) = previous {
        check_earlier_openings(v, section, &coverage, customer, key, prev);
    }
}

/// The openings of an earlier checkpoint's sealed commitments, against the
/// report of that checkpoint the reader kept.
fn check_earlier_openings(
    v: &mut Verification,
    section: &crate::completeness::Completeness,
    coverage: &[crate::completeness::ShardCoverage],
    customer: &str,
    key: &VerifyingKey,
    prev: &Value,
) {
    let mut c = Check::new("your earlier report", "");
    let prev_cp: Checkpoint = match serde_json::from_value(prev["checkpoint"].clone()) {
        Ok(cp) => cp,
        Err(e) => {
            c.fail(format!("it has no readable `checkpoint`: {e}"));
            v.checks.push(c);
            return;
        }
    };
    c.subject = format!(
        "entries sealed at checkpoint {} (your earlier report)",
        prev_cp.number
    );
    if let Err(e) = prev_cp.verify(key) {
        c.fail(format!("its checkpoint does not verify: {e}"));
        v.checks.push(c);
        return;
    }
    let prev_section: crate::completeness::Completeness =
        match serde_json::from_value(prev["proofs"]["completeness"].clone()) {
            Ok(s) => s,
            Err(e) => {
                c.fail(format!("it has no readable completeness section: {e}"));
                v.checks.push(c);
                return;
            }
        };
    if let Err(failures) = verify_completeness(&prev_section, &prev_cp, customer) {
        for f in failures {
            c.fail(format!("earlier report: {f}"));
        }
        v.checks.push(c);
        return;
    }
    let mut opened = 0;
    for o in &section.openings {
        if o.checkpoint != prev_cp.number {
            continue;
        }
        let earlier = prev_section
            .shards
            .iter()
            .find(|s| s.shard == o.shard)
            .and_then(|s| s.value);
        let now = coverage
            .iter()
            .find(|s| s.shard == o.shard)
            .map(|s| s.leaves.as_slice())
            .unwrap_or_default();
        match earlier {
            None => c.fail(format!(
                "shard {}: an opening, but your earlier report holds no value there",
                o.shard
            )),
            Some(value) => match crate::completeness::verify_earlier_opening(o, &value, now) {
                Ok(n) => opened += n,
                Err(e) => c.fail(e),
            },
        }
    }
    c.ok_text = if opened > 0 {
        format!(
            "ok: {opened} entries withheld from you at checkpoint {} (a non-disclosure order, expired since) are in this report, and your earlier report's commitment holds exactly them: they were committed all along",
            prev_cp.number
        )
    } else {
        format!(
            "nothing to open: no entries withheld at checkpoint {} have been released since",
            prev_cp.number
        )
    };
    v.checks.push(c);
}

/// Hashes and inclusion of every proven entry; returns the decoded items by
/// position (only those that passed both).
fn check_entries(
    v: &mut Verification,
    p: &Proofs,
    checkpoint: &Checkpoint,
    committed: Option<&BTreeMap<(u32, u64), Hash>>,
) -> BTreeMap<(u32, u64), Item> {
    let mut c = Check::new(format!("{} entries", p.entries.len()), "");
    let (mut by_path, mut by_tree) = (0usize, 0usize);
    if p.checkpoint != *checkpoint {
        c.fail(format!(
            "the proofs section's checkpoint ({}) is not the report's ({})",
            p.checkpoint.number, checkpoint.number
        ));
    }
    let mut items = BTreeMap::new();
    for e in &p.entries {
        let at = format!("entry {}/{}", e.shard, e.seq);
        let Some(stored) = hex::decode(&e.entry).ok() else {
            c.fail(format!("{at}: bytes are not hex"));
            continue;
        };
        let (body, hash) = match split_stored(&stored) {
            Ok(x) => x,
            Err(err) => {
                c.fail(format!("{at}: {err}"));
                continue;
            }
        };
        if entry_hash(body) != hash {
            c.fail(format!(
                "{at}: hash does not match its bytes (the entry was altered)"
            ));
            continue;
        }
        let entry = match Entry::decode(body) {
            Ok(en) => en,
            Err(err) => {
                c.fail(format!("{at}: {err}"));
                continue;
            }
        };
        if (entry.shard, entry.seq) != (e.shard, e.seq) {
            c.fail(format!(
                "{at}: the bytes are those of entry {}/{}",
                entry.shard, entry.seq
            ));
            continue;
        }
        let Some(head) = checkpoint.shard(e.shard) else {
            c.fail(format!(
                "{at}: checkpoint {} has no shard {}",
                checkpoint.number, e.shard
            ));
            continue;
        };
        let leaf = merkle::leaf_hash(&hash);
        let alone = || merkle::verify_inclusion(&leaf, e.seq, head.size, &[], &head.root).is_ok();
        if e.inclusion.is_empty() && alone() {
            // The only leaf of its shard's tree: the path is empty.
            by_path += 1;
        } else if e.inclusion.is_empty() {
            // Proven as a leaf of the customer's tree, or not at all.
            match committed.and_then(|m| m.get(&(e.shard, e.seq))) {
                Some(h) if *h == hash => by_tree += 1,
                Some(_) => {
                    c.fail(format!(
                        "{at}: carries no inclusion proof, and the customer's tree commits another entry at this position"
                    ));
                    continue;
                }
                None => {
                    c.fail(format!(
                        "{at}: carries no inclusion proof and is not a leaf of the customer's tree that the completeness section proves"
                    ));
                    continue;
                }
            }
        } else {
            let proof = match parse_hashes(&e.inclusion) {
                Ok(h) => h,
                Err(err) => {
                    c.fail(format!("{at}: {err}"));
                    continue;
                }
            };
            if let Err(err) = merkle::verify_inclusion(&leaf, e.seq, head.size, &proof, &head.root)
            {
                c.fail(format!(
                    "{at}: not included in shard {} of checkpoint {} (size {}): {err}",
                    e.shard, checkpoint.number, head.size
                ));
                continue;
            }
            by_path += 1;
        }
        match item_of(entry, hash) {
            Ok(item) => {
                if items.insert((e.shard, e.seq), item).is_some() {
                    c.fail(format!("{at}: proven twice"));
                }
            }
            Err(err) => c.fail(format!("{at}: {err}")),
        }
    }
    c.ok_text = if by_tree == 0 {
        "hashes ok, inclusion ok".to_string()
    } else {
        format!(
            "hashes ok, inclusion ok ({by_tree} as leaves of the customer's committed tree, {by_path} by inclusion proof in their shard's tree)"
        )
    };
    v.checks.push(c);
    items
}

/// Every `{shard, seq, entryHash}` the report cites must be a proven entry.
fn check_citations(v: &mut Verification, doc: &Value, items: &BTreeMap<(u32, u64), Item>) {
    let mut cited = Vec::new();
    if let Value::Object(m) = doc {
        for (k, val) in m {
            if !ENVELOPE.contains(&k.as_str()) {
                positions_in(val, &mut cited);
            }
        }
    }
    let mut c = Check::new(
        format!("{} cited ledger positions", cited.len()),
        "all proven",
    );
    for (shard, seq, hash) in cited {
        match items.get(&(shard, seq)) {
            None => c.fail(format!(
                "the report cites entry {shard}/{seq} but proves no such entry"
            )),
            Some(i) if hex::encode(i.hash) != hash => c.fail(format!(
                "the report cites entry {shard}/{seq} with hash {hash}, the proven entry's is {}",
                hex::encode(i.hash)
            )),
            Some(_) => {}
        }
    }
    v.checks.push(c);
}

fn positions_in(v: &Value, out: &mut Vec<(u32, u64, String)>) {
    match v {
        Value::Object(m) => {
            if let (Some(shard), Some(seq), Some(hash)) = (
                m.get("shard").and_then(Value::as_u64),
                m.get("seq").and_then(Value::as_u64),
                m.get("entryHash").and_then(Value::as_str),
            ) {
                out.push((shard as u32, seq, hash.to_string()));
            }
            for val in m.values() {
                positions_in(val, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| positions_in(x, out)),
        _ => {}
    }
}

/// The proven entries of a document as a [`ReadView`]: the report's own
/// loader reads them exactly as the server read the ledger, restricted to
/// what was proven. (What the ledger holds beyond them is not proven here:
/// a Merkle log proves presence, not absence.)
struct ProvenView<'a> {
    items: &'a BTreeMap<(u32, u64), Item>,
    /// For the findings list: the index keys the document states (their
    /// open/closed state is the document's word; only the entries are proven).
    claimed_findings: Vec<FindingKey>,
}

impl ReadView for ProvenView<'_> {
    fn has_customer(&self, _customer: &str) -> Result<bool, ReadError> {
        // An empty page proves nothing about the customer; not a failure.
        Ok(true)
    }

    fn customer_items(
        &self,
        customer: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Item>, ReadError> {
        let mut out: Vec<Item> = self
            .items
            .values()
            .filter(|i| i.event.customer_id == customer)
            .filter(|i| (from_ms..to_ms).contains(&i.at_ms()))
            .cloned()
            .collect();
        out.sort_by_key(Item::order_key);
        Ok(out)
    }

    fn law_enforcement_items(&self) -> Result<Vec<Item>, ReadError> {
        Ok(self
            .items
            .values()
            .filter(|i| i.event.kind.as_ref().and_then(le_request_id).is_some())
            .cloned()
            .collect())
    }

    fn finding_items(
        &self,
        filter: &findings::Filter,
    ) -> Result<Vec<(FindingKey, Item)>, ReadError> {
        Ok(self
            .claimed_findings
            .iter()
            .filter(|k| filter.matches(k))
            .filter_map(|k| Some((k.clone(), self.items.get(&(k.shard, k.seq))?.clone())))
            .collect())
    }
}

/// The findings-index keys a findings document states, row by row.
fn claimed_findings(doc: &Value) -> Result<Vec<FindingKey>, String> {
    let rows = doc
        .get("findings")
        .and_then(Value::as_array)
        .ok_or("the report has no `findings` list")?;
    // Pending obligations are listed apart (documents before obligations
    // have no such list).
    let pending = doc
        .get("obligations")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows = rows
        .iter()
        .enumerate()
        .map(|(n, r)| ("findings", n, r))
        .chain(
            pending
                .iter()
                .enumerate()
                .map(|(n, r)| ("obligations", n, r)),
        );
    let mut keys = Vec::new();
    for (list, n, row) in rows {
        let bad = |what: &str| format!("{list}[{n}]: {what}");
        let state = row
            .get("state")
            .and_then(Value::as_str)
            .and_then(findings::state_byte)
            .ok_or_else(|| bad("no valid `state`"))?;
        let position = row.get("position").ok_or_else(|| bad("no `position`"))?;
        let (Some(shard), Some(seq)) = (
            position.get("shard").and_then(Value::as_u64),
            position.get("seq").and_then(Value::as_u64),
        ) else {
            return Err(bad("no valid `position`"));
        };
        let text = |name: &str| {
            row.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        keys.push(FindingKey {
            state,
            rule: text("rule"),
            customer: text("customer"),
            shard: u32::try_from(shard).map_err(|_| bad("shard out of range"))?,
            seq,
        });
    }
    Ok(keys)
}

/// Rebuilds the report from the proven items with the parameters the
/// document states, through the report's own pipeline; returns a
/// description, the rebuilt figures and every proven entry that does not
/// belong in the report.
/// What rebuilding a report from its proven entries gives: a description,
/// the figures, the proven entries that do not belong, and the window its
/// completeness is checked over.
type Rebuilt = (String, Value, Vec<String>, Option<Window>);

fn rebuild(doc: &Value, p: &Proofs, items: &BTreeMap<(u32, u64), Item>) -> Result<Rebuilt, String> {
    let kind = doc
        .get("reportKind")
        .and_then(Value::as_str)
        .ok_or("the report has no `reportKind`")?;
    if kind != p.report {
        return Err(format!(
            "the report says it is `{kind}` but its proofs are for `{}`",
            p.report
        ));
    }
    let mut view = ProvenView {
        items,
        claimed_findings: Vec::new(),
    };
    match kind {
        proofs::DISCLOSURE => rebuild_as::<Disclosure>(doc, &view),
        proofs::RESIDENCY => rebuild_as::<Residency>(doc, &view),
        proofs::ACCESS_HISTORY => rebuild_as::<AccessHistoryReport>(doc, &view),
        proofs::LAW_ENFORCEMENT => rebuild_as::<LawEnforcement>(doc, &view),
        proofs::FINDINGS => {
            view.claimed_findings = claimed_findings(doc)?;
            let (what, rebuilt, mut foreign, window) = rebuild_as::<Findings>(doc, &view)?;
            for k in &view.claimed_findings {
                if let Some(i) = items.get(&(k.shard, k.seq)) {
                    if i.event.customer_id != k.customer {
                        foreign.push(format!(
                            "a finding names customer `{}`, entry {}/{} is `{}`'s",
                            k.customer, k.shard, k.seq, i.event.customer_id
                        ));
                    }
                }
            }
            Ok((what, rebuilt, foreign, window))
        }
        other => Err(format!("unknown report kind `{other}`")),
    }
}

fn rebuild_as<R: Report>(doc: &Value, view: &ProvenView<'_>) -> Result<Rebuilt, String> {
    let now = doc
        .get("generatedAtMs")
        .and_then(Value::as_i64)
        .ok_or("the report has no `generatedAtMs`")?;
    let params: R::Params = serde_json::from_value(
        doc.get("params")
            .cloned()
            .ok_or("the report has no `params`")?,
    )
    .map_err(|e| format!("the report's `params` do not parse: {e}"))?;
    let foreign: Vec<String> = view
        .items
        .values()
        .filter_map(|i| R::foreign(&params, i))
        .collect();
    let inputs = R::load(view, &params).map_err(|e| e.to_string())?;
    let rebuilt =
        serde_json::to_value(R::build(&inputs, &params, now)).map_err(|e| e.to_string())?;
    let window = R::completeness(&inputs, &params, now);
    let subject = R::subject(&params);
    let what = if subject == AGGREGATE_SUBJECT {
        R::NAME.to_string()
    } else {
        format!("{} of {subject}", R::NAME)
    };
    Ok((what, rebuilt, foreign, window))
}

/// Compares the figures with the rebuilt ones; returns the report's
/// completeness window, if it has one.
fn check_figures(
    v: &mut Verification,
    doc: &Value,
    p: &Proofs,
    items: &BTreeMap<(u32, u64), Item>,
) -> Option<Window> {
    match rebuild(doc, p, items) {
        Err(e) => {
            let mut c = Check::new("figures", "");
            c.fail(e);
            v.checks.push(c);
            None
        }
        Ok((what, rebuilt, ownership, window)) => {
            let mut c = Check::new(
                format!("figures ({what}), recomputed from the proven entries"),
                "ok",
            );
            for o in ownership {
                c.fail(o);
            }
            let mut actual = doc.clone();
            if let Value::Object(m) = &mut actual {
                for k in ENVELOPE {
                    m.remove(k);
                }
            }
            let mut diffs = Vec::new();
            diff("", &actual, &rebuilt, &mut diffs);
            let extra = diffs.len().saturating_sub(MAX_LISTED);
            for d in diffs.into_iter().take(MAX_LISTED) {
                c.fail(d);
            }
            if extra > 0 {
                c.fail(format!("… and {extra} more differences"));
            }
            v.checks.push(c);
            window
        }
    }
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        s.chars().take(117).collect::<String>() + "..."
    } else {
        s
    }
}

/// Differences between the report (`actual`) and the rebuilt figures, by
/// JSON path.
fn diff(path: &str, actual: &Value, expected: &Value, out: &mut Vec<String>) {
    let at = |p: &str| if p.is_empty() { "(root)" } else { p }.to_string();
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match a.get(k) {
                    Some(av) => diff(&p, av, ev, out),
                    None => out.push(format!(
                        "{p}: missing from the report; the proven entries give {}",
                        show(ev)
                    )),
                }
            }
            for (k, av) in a {
                if !e.contains_key(k) {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.push(format!(
                        "{p}: the report says {}, which the proven entries do not give",
                        show(av)
                    ));
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                out.push(format!(
                    "{}: the report lists {} rows, the proven entries give {}",
                    at(path),
                    a.len(),
                    e.len()
                ));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                diff(&format!("{path}[{i}]"), av, ev, out);
            }
        }
        (a, e) if a == e => {}
        (a, e) => out.push(format!(
            "{}: the report says {}, the proven entries give {}",
            at(path),
            show(a),
            show(e)
        )),
    }
}

fn check_consistency(
    v: &mut Verification,
    doc: &Value,
    key: &VerifyingKey,
    saved: &Checkpoint,
    current: &Checkpoint,
    fetched: &[ShardConsistency],
) {
    let mut c = Check::new(
        format!("consistent with saved checkpoint {}", saved.number),
        "ok",
    );
    if let Err(e) = saved.verify(key) {
        c.fail(format!("the saved checkpoint does not verify: {e}"));
        v.checks.push(c);
        return;
    }
    if current.number < saved.number {
        c.fail(format!(
            "report is at checkpoint {}; you hold checkpoint {}: this report is older than what you have seen \
             (the ledger was rolled back, or this is a stale copy)",
            current.number, saved.number
        ));
        v.checks.push(c);
        return;
    }
    let (old, new) = ordered(saved, current);
    if old.number == new.number {
        if old != new {
            c.fail(format!(
                "two different checkpoints are both signed as number {}: the ledger was rolled back or forked",
                old.number
            ));
        }
        v.checks.push(c);
        return;
    }
    // Proofs may come from the report's section (when it starts at the
    // saved checkpoint) or from the server; both are checked the same way.
    let mut available: Vec<ShardConsistency> = fetched.to_vec();
    if let Some(section) = doc.get("consistency").filter(|s| !s.is_null()) {
        match serde_json::from_value::<Consistency>(section.clone()) {
            Err(e) => c.fail(format!("the `consistency` section does not parse: {e}")),
            Ok(s) if s.from.number == saved.number && s.from != *saved => c.fail(format!(
                "the report's consistency section starts at a different checkpoint {} than the saved one: \
                 the ledger was rolled back or forked",
                saved.number
            )),
            Ok(s) if s.from == *saved => available.extend(s.shards),
            Ok(_) => {}
        }
    }
    for h in &old.shards {
        let Some(n) = new.shard(h.shard) else {
            c.fail(format!(
                "shard {} of checkpoint {} is missing from checkpoint {}",
                h.shard, old.number, new.number
            ));
            continue;
        };
        if n.size < h.size {
            c.fail(format!(
                "shard {} has {} entries at checkpoint {} but only {} at the later checkpoint {}: entries were removed (rollback)",
                h.shard, h.size, old.number, n.size, new.number
            ));
            continue;
        }
        let found = available
            .iter()
            .find(|p| p.shard == h.shard && p.from_size == h.size && p.to_size == n.size);
        // An unchanged (or empty) tree needs no proof: the roots say it all.
        let trivial = (h.size == n.size || h.size == 0).then(Vec::new);
        let Some(hexes) = found.map(|p| p.proof.clone()).or(trivial) else {
            c.fail(format!(
                "no consistency proof for shard {} from size {} to {} (request the report with ?since_checkpoint={} or pass --server)",
                h.shard, h.size, n.size, old.number.min(saved.number)
            ));
            continue;
        };
        let hashes = match parse_hashes(&hexes) {
            Ok(x) => x,
            Err(e) => {
                c.fail(format!("shard {}: {e}", h.shard));
                continue;
            }
        };
        if let Err(e) = merkle::verify_consistency(h.size, n.size, &h.root, &n.root, &hashes) {
            c.fail(format!(
                "shard {}: checkpoint {} (size {}) does not extend checkpoint {} (size {}): {e}; \
                 entries of the earlier tree were changed or the ledger was rolled back",
                h.shard, new.number, n.size, old.number, h.size
            ));
        }
    }
    v.checks.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::completeness::{
        customer_root, seal_nonce, sealed_commitment, Completeness, CustomerLeaf, CustomerShard,
        LedgerSecrets, MapValue,
    };
    use crate::map::MapSnapshot;
    use crate::merkle::MemoryTree;
    use crate::proofs::EntryProof;
    use crate::reports::fixture::*;
    use crate::reports::{Audience, CustomerParams, Period, Signed};
    use crate::{ShardHead, SourcePosition};
    use custody_proto::v1::{DataCategory as C, Purpose};
    use ed25519_dalek::SigningKey;
    use prost::Message;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// A one-shard ledger in memory: c1's accesses and a handoff, c2's access.
    struct Ledger {
        stored: Vec<Vec<u8>>,
        items: Vec<Item>,
        tree: MemoryTree,
    }

    fn ledger() -> Ledger {
        let kinds = vec![
            (
                "c1",
                accessed(Purpose::ProvidingSupport, &[C::Contact, C::Customer]),
            ),
            ("c2", accessed(Purpose::ProvidingSupport, &[C::Contact])),
            ("c1", accessed(Purpose::ImprovingSupport, &[C::Customer])),
            ("c1", handoff("sub-a", "IE")),
            ("c1", accessed(Purpose::ProvidingSupport, &[C::Private])),
        ];
        let mut prev = [0u8; 32];
        let mut out = Ledger {
            stored: vec![],
            items: vec![],
            tree: MemoryTree::new(),
        };
        for (seq, (customer, kind)) in kinds.into_iter().enumerate() {
            let seq = seq as u64;
            let fixture = item(seq, customer, seq as i64 + 1, eng("IE", "IE"), kind);
            let entry = Entry {
                shard: 0,
                seq,
                prev_hash: prev,
                source: SourcePosition {
                    topic: "embedded".into(),
                    partition: 0,
                    offset: seq,
                    timestamp_ms: 0,
                },
                event: fixture.event.encode_to_vec(),
                verdicts: vec![],
            };
            let (bytes, hash) = entry.seal().expect("seals");
            prev = hash;
            out.tree.push(merkle::leaf_hash(&hash));
            out.items.push(item_of(entry, hash).expect("decodes"));
            out.stored.push(bytes);
        }
        out
    }

    fn leaves_of(l: &Ledger, customer: &str) -> Vec<CustomerLeaf> {
        l.items
            .iter()
            .filter(|i| i.event.customer_id == customer)
            .map(|i| CustomerLeaf {
                seq: i.seq,
                occurred_at_ms: i.at_ms(),
                entry_hash: i.hash,
            })
            .collect()
    }

    /// The shard's customer map, as the ledger builds it at checkpoint 7
    /// (nothing sealed): the map and each customer's key and value.
    fn customer_map(
        l: &Ledger,
        signer: &SigningKey,
    ) -> (MapSnapshot, Vec<(String, Hash, MapValue)>) {
        let secrets = LedgerSecrets::derive(&signer.to_bytes());
        let values: Vec<(String, Hash, MapValue)> = ["c1", "c2"]
            .iter()
            .map(|c| {
                let key = secrets.key_of(c);
                let leaves = leaves_of(l, c);
                let nonce = seal_nonce(&secrets.seal, 0, &key, 7);
                let value = MapValue {
                    count: leaves.len() as u64,
                    root: customer_root(&leaves),
                    sealed: sealed_commitment(&nonce, 0, &merkle::empty_root()),
                };
                (c.to_string(), key, value)
            })
            .collect();
        let map = MapSnapshot::build(values.iter().map(|(_, k, v)| (*k, v.hash())).collect())
            .expect("map");
        (map, values)
    }

    fn checkpoint(l: &Ledger, signer: &SigningKey) -> Checkpoint {
        let head = ShardHead {
            shard: 0,
            size: l.tree.size(),
            root: l.tree.root(),
            map_root: Some(customer_map(l, signer).0.root()),
        };
        let vrf = LedgerSecrets::derive(&signer.to_bytes()).vrf.public();
        Checkpoint::sign_with(
            signer,
            Some(hex::encode(vrf.as_bytes())),
            7,
            1000,
            vec![head],
        )
    }

    /// c1's completeness section.
    fn completeness(l: &Ledger, signer: &SigningKey) -> Completeness {
        let secrets = LedgerSecrets::derive(&signer.to_bytes());
        let (map, values) = customer_map(l, signer);
        let (_, key, value) = values[0].clone();
        Completeness {
            customer: "c1".into(),
            vrf_proof: hex::encode(secrets.vrf.prove(b"c1").to_bytes()),
            shards: vec![CustomerShard {
                shard: 0,
                map_proof: map.prove(&key),
                value: Some(value),
                leaves: leaves_of(l, "c1"),
                sealed: None,
            }],
            openings: Vec::new(),
        }
    }

    /// c1's disclosure report with proofs, as JSON.
    fn report(l: &Ledger, signer: &SigningKey) -> Value {
        let cp = checkpoint(l, signer);
        let params = CustomerParams {
            customer: "c1".into(),
            period: Period::default(),
            audience: Audience::Customer,
        };
        let now = T0 + 100 * HOUR;
        let built = Disclosure::build(&l.items, &params, now);
        let mut relied = Disclosure::relied(&l.items, &params, now, &built);
        // Completeness: every entry of c1 (all time, for a disclosure).
        relied.extend(leaves_of(l, "c1").iter().map(|leaf| (0, leaf.seq)));
        let entries = relied
            .iter()
            .map(|&(shard, seq)| EntryProof {
                shard,
                seq,
                entry: hex::encode(&l.stored[seq as usize]),
                inclusion: merkle::inclusion_proof(&l.tree, seq, l.tree.size())
                    .expect("proof")
                    .iter()
                    .map(hex::encode)
                    .collect(),
            })
            .collect();
        let mut doc = Signed::new(Disclosure::NAME, params, cp.clone(), now, built);
        doc.proofs = Some(Proofs {
            report: proofs::DISCLOSURE.into(),
            checkpoint: cp,
            entries,
            completeness: Some(completeness(l, signer)),
        });
        serde_json::to_value(doc).expect("serializes")
    }

    fn check(doc: &Value) -> Verification {
        verify(doc, &key(1).verifying_key(), None, &[])
    }

    #[test]
    fn an_untampered_report_verifies() {
        let l = ledger();
        let v = check(&report(&l, &key(1)));
        assert!(v.ok(), "{}", v.render());
        assert!(v.render().contains("4 entries: hashes ok, inclusion ok"));
    }

    #[test]
    fn every_flipped_bit_of_every_inclusion_proof_is_rejected() {
        let l = ledger();
        let doc = report(&l, &key(1));
        let n = doc["proofs"]["entries"].as_array().map_or(0, Vec::len);
        let mut flips = 0;
        for e in 0..n {
            let hashes = doc["proofs"]["entries"][e]["inclusion"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(!hashes.is_empty());
            for (h, text) in hashes.iter().enumerate() {
                let bytes = hex::decode(text.as_str().unwrap_or_default()).expect("hex");
                for bit in 0..bytes.len() * 8 {
                    let mut flipped = bytes.clone();
                    flipped[bit / 8] ^= 1 << (bit % 8);
                    let mut bad = doc.clone();
                    bad["proofs"]["entries"][e]["inclusion"][h] = Value::from(hex::encode(flipped));
                    let v = check(&bad);
                    assert!(!v.ok(), "entry {e} hash {h} bit {bit} accepted");
                    assert!(v.failures().iter().any(|f| f.contains("not included")));
                    flips += 1;
                }
            }
        }
        assert!(flips >= 4 * 2 * 256);
    }

    #[test]
    fn every_flipped_bit_of_an_entry_is_rejected() {
        let l = ledger();
        let doc = report(&l, &key(1));
        let bytes = hex::decode(
            doc["proofs"]["entries"][0]["entry"]
                .as_str()
                .unwrap_or_default(),
        )
        .expect("hex");
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let mut bad = doc.clone();
            bad["proofs"]["entries"][0]["entry"] = Value::from(hex::encode(flipped));
            assert!(!check(&bad).ok(), "bit {bit} accepted");
        }
    }

    #[test]
    fn changed_figures_dropped_and_foreign_entries_are_named() {
        let l = ledger();
        let doc = report(&l, &key(1));

        let mut bad = doc.clone();
        bad["useMatrix"]["rows"][0]["counts"][0] = Value::from(5);
        let f = check(&bad).failures();
        assert!(
            f.iter().any(|x| x.contains(
                "useMatrix.rows[0].counts[0]: the report says 5, the proven entries give 1"
            )),
            "{f:?}"
        );

        // Dropping an access while keeping the counts it contributed.
        let mut bad = doc.clone();
        if let Some(a) = bad["proofs"]["entries"].as_array_mut() {
            a.remove(1);
        }
        let f = check(&bad).failures();
        assert!(f.iter().any(|x| x.contains("useMatrix.events")), "{f:?}");

        // c2's entry (seq 1) swapped in for c1's (seq 2): proven, but not c1's.
        let mut bad = doc.clone();
        bad["proofs"]["entries"][1] = serde_json::json!({
            "shard": 0, "seq": 1, "entry": hex::encode(&l.stored[1]),
            "inclusion": merkle::inclusion_proof(&l.tree, 1, l.tree.size()).expect("proof")
                .iter().map(hex::encode).collect::<Vec<_>>(),
        });
        let f = check(&bad).failures();
        assert!(
            f.iter().any(|x| x.contains("customer `c2`, not of `c1`")),
            "{f:?}"
        );
    }

    #[test]
    fn another_key_is_rejected() {
        let l = ledger();
        let f = check(&report(&l, &key(2))).failures();
        let signer = hex::encode(key(2).verifying_key().as_bytes());
        let pinned = hex::encode(key(1).verifying_key().as_bytes());
        assert!(
            f.iter().any(|x| x.contains(&format!(
                "signed by key {signer}, but the key you pinned is {pinned}"
            ))),
            "{f:?}"
        );
        assert!(
            check(&report(&l, &key(2)))
                .render()
                .contains(&format!("signed by {}", short(&signer))),
            "the subject names the actual signer"
        );
        // Claiming the right key without its signature.
        let mut forged = report(&l, &key(2));
        forged["checkpoint"]["key"] = Value::from(hex::encode(key(1).verifying_key().as_bytes()));
        let f = check(&forged).failures();
        assert!(
            f.iter().any(|x| x.contains("signature does not verify")),
            "{f:?}"
        );
    }

    #[test]
    fn consistency_with_a_saved_checkpoint() {
        let mut l = ledger();
        let k = key(1);
        let mut saved = checkpoint(&l, &k);
        saved.number = 3;
        saved = Checkpoint::sign(&k, 3, 500, saved.shards);
        let old_size = l.tree.size();
        l.tree.push(merkle::leaf_hash(&[9; 32]));
        let doc = report(&l, &k);
        let proof = |tree: &MemoryTree| ShardConsistency {
            shard: 0,
            from_size: old_size,
            to_size: tree.size(),
            from_root: saved.shards[0].root,
            to_root: tree.root(),
            proof: merkle::consistency_proof(tree, old_size, tree.size())
                .expect("proof")
                .iter()
                .map(hex::encode)
                .collect(),
        };
        let good = proof(&l.tree);
        let v = verify(
            &doc,
            &k.verifying_key(),
            Some(&saved),
            std::slice::from_ref(&good),
        );
        assert!(v.ok(), "{}", v.render());
        assert_eq!(
            consistency_needed(&saved, &checkpoint(&l, &k)),
            vec![(0, old_size, old_size + 1)]
        );

        // No proof at all.
        let v = verify(&doc, &k.verifying_key(), Some(&saved), &[]);
        assert!(v
            .failures()
            .iter()
            .any(|x| x.contains("no consistency proof")));

        // A saved checkpoint from a different history of the same size.
        let mut other = saved.clone();
        other.shards[0].root = [3; 32];
        let other = Checkpoint::sign(&k, 3, 500, other.shards);
        let v = verify(&doc, &k.verifying_key(), Some(&other), &[good]);
        assert!(
            v.failures().iter().any(|x| x.contains("does not extend")),
            "{}",
            v.render()
        );

        // A saved checkpoint larger than the report's: entries were removed.
        let bigger = Checkpoint::sign(
            &k,
            3,
            500,
            vec![ShardHead {
                shard: 0,
                size: 100,
                root: [4; 32],
                map_root: None,
            }],
        );
        let v = verify(&doc, &k.verifying_key(), Some(&bigger), &[]);
        assert!(
            v.failures()
                .iter()
                .any(|x| x.contains("entries were removed")),
            "{}",
            v.render()
        );

        // Same number, different heads: a fork or a rollback.
        let fork = Checkpoint::sign(
            &k,
            7,
            1,
            vec![ShardHead {
                shard: 0,
                size: 1,
                root: [5; 32],
                map_root: None,
            }],
        );
        let v = verify(&doc, &k.verifying_key(), Some(&fork), &[]);
        assert!(
            v.failures()
                .iter()
                .any(|x| x.contains("rolled back or forked")),
            "{}",
            v.render()
        );
    }

    #[test]
    fn a_committed_entry_left_out_is_named_and_a_newer_saved_checkpoint_refuses_an_older_report() {
        let l = ledger();
        let k = key(1);
        let doc = report(&l, &k);
        let out = check(&doc).render();
        assert!(out.contains("completeness of customer `c1`'s entries: ok: the ledger at checkpoint 7 holds 4 entries of `c1` (shard 0: 4)"), "{out}");
        assert!(
            out.contains(
                "freshness and consistency with a checkpoint you saved earlier: not checked"
            ),
            "{out}"
        );

        // Entry 0/4 (c1's last access) dropped from the proven entries.
        let mut dropped = doc.clone();
        dropped["proofs"]["entries"]
            .as_array_mut()
            .expect("entries")
            .retain(|e| e["seq"] != 4);
        let v = check(&dropped);
        assert!(
            v.failures().iter().any(|f| f.contains(
                "entry 0/4 of customer `c1` (dated 2026-01-01T05:00:00Z) is committed in the ledger but missing from the report"
            )),
            "{}",
            v.render()
        );

        // No completeness section at all.
        let mut none = doc.clone();
        none["proofs"]
            .as_object_mut()
            .expect("proofs")
            .remove("completeness");
        assert!(check(&none)
            .failures()
            .iter()
            .any(|f| f.contains("carries no completeness proof")));

        // A checkpoint of the same ledger numbered later than the report's.
        let mut later = checkpoint(&l, &k);
        later = Checkpoint::sign_with(&k, later.vrf_key.clone(), 9, 2000, later.shards);
        let v = verify(&doc, &k.verifying_key(), Some(&later), &[]);
        assert!(
            v.failures()
                .iter()
                .any(|f| f.contains("report is at checkpoint 7; you hold checkpoint 9")),
            "{}",
            v.render()
        );
    }
}
