//! Fuzz targets (property-based, bounded) for everything `custody-verify`
//! reads from outside: the entry decoder (`Entry::open`, `Entry::decode`,
//! `split_stored`), checkpoints (JSON, `parse_public_key`, `verify`), RFC
//! 6962 proofs at arbitrary sizes and indices, the C2SP note formats
//! (`note`: signed notes, verifier keys, tlog-proofs), and report documents
//! (`check::verify`), the last both as valid documents of every report kind
//! mutated structurally (huge, negative and mistyped values, dropped and
//! duplicated fields, long arrays) and as arbitrary JSON. No input may panic
//! or allocate more than a bound proportional to its size; a mutated
//! document must never verify unless it means the same as the original.
//!
//! The documents come from a two-shard ledger built here in memory (the
//! demo workload folded through the real policy), through the same report
//! pipeline the server uses: no RocksDB.
//!
//! Cases per target: `CUSTODY_FUZZ_CASES` (default 2,000);
//! `cargo xtask fuzz` runs 100,000.

#[path = "../../fuzz/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use custody_policy::{Effect, ShardState};
use custody_proto::timestamp_ms;
use custody_testkit::demo::{generate, DemoParams};
use custody_verify::check::{consistency_needed, verify};
use custody_verify::checkpoint::parse_public_key;
use custody_verify::completeness::{
    reference_section, reference_shard_map, LedgerSecrets, ShardCommitments,
};
use custody_verify::merkle::{self, Hash, MemoryTree};
use custody_verify::proofs::{Consistency, EntryProof, Proofs, ShardConsistency};
use custody_verify::reports::findings::{self, FindingKey};
use custody_verify::reports::{
    item_of, le_request_id, AccessHistoryParams, AccessHistoryReport, Audience, CustomerParams,
    Disclosure, Findings, Item, LawEnforcement, LawEnforcementParams, Period, ReadError, ReadView,
    Report, Residency, Signed,
};
use custody_verify::{Checkpoint, Entry, ShardHead, SourcePosition};
use ed25519_dalek::{SigningKey, VerifyingKey};
use proptest::prelude::*;
use prost::Message;
use serde_json::Value;
use support::{apply_byte_edits, byte_edits, bytes, json, run, Budget};

const SHARDS: u32 = 2;
const NEW_NUMBER: u64 = 2;

/// A two-shard ledger in memory with two signed checkpoints (the second
/// after every event, the first halfway).
struct Ledger {
    key: SigningKey,
    /// Each shard's customer map at the new checkpoint.
    maps: Vec<ShardCommitments>,
    stored: Vec<Vec<Vec<u8>>>,
    trees: Vec<MemoryTree>,
    items: BTreeMap<(u32, u64), Item>,
    findings: Vec<FindingKey>,
    old: Checkpoint,
    new: Checkpoint,
    now: i64,
}

impl ReadView for Ledger {
    fn has_customer(&self, customer: &str) -> Result<bool, ReadError> {
        Ok(self.items.values().any(|i| i.event.customer_id == customer))
    }
    fn customer_items(&self, customer: &str, from: i64, to: i64) -> Result<Vec<Item>, ReadError> {
        let mut out: Vec<Item> = self
            .items
            .values()
            .filter(|i| i.event.customer_id == customer && (from..to).contains(&i.at_ms()))
            .cloned()
            .collect();
        out.sort_by_key(|i| (i.at_ms(), i.shard, i.seq));
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
    fn finding_items(&self, f: &findings::Filter) -> Result<Vec<(FindingKey, Item)>, ReadError> {
        Ok(self
            .findings
            .iter()
            .filter(|k| f.matches(k))
            .map(|k| (k.clone(), self.items[&(k.shard, k.seq)].clone()))
            .collect())
    }
}

fn ledger() -> &'static Ledger {
    static LEDGER: OnceLock<Ledger> = OnceLock::new();
    LEDGER.get_or_init(|| {
        let events = generate(DemoParams {
            customers: 3,
            cases_per_customer: 2,
            seed: 15,
        });
        let key = SigningKey::from_bytes(&[15; 32]);
        let mut states = vec![ShardState::default(); SHARDS as usize];
        let mut stored = vec![Vec::new(); SHARDS as usize];
        let mut trees = vec![MemoryTree::new(), MemoryTree::new()];
        let mut prev = vec![[0u8; 32]; SHARDS as usize];
        let mut items = BTreeMap::new();
        let mut findings: Vec<FindingKey> = Vec::new();
        let mut old = None;
        let mut customers: Vec<String> = Vec::new();
        for (n, event) in events.iter().enumerate() {
            let shards: Vec<u32> = if event.customer_id.is_empty() {
                (0..SHARDS).collect()
            } else {
                let i = customers
                    .iter()
                    .position(|c| *c == event.customer_id)
                    .unwrap_or_else(|| {
                        customers.push(event.customer_id.clone());
                        customers.len() - 1
                    });
                vec![i as u32 % SHARDS]
            };
            for shard in shards {
                let s = shard as usize;
                let seq = trees[s].size();
                let verdicts = custody_policy::check(&states[s], event, seq);
                custody_policy::apply(&mut states[s], event, seq, &verdicts);
                for v in &verdicts {
                    // The findings index as `Ledger::fold` writes it.
                    let state = match v.effect {
                        Effect::Breach => b'r',
                        Effect::Opens | Effect::Obligation { .. } => b'o',
                        Effect::Closes { opened_seq } | Effect::Discharges { opened_seq } => {
                            let ended = if matches!(v.effect, Effect::Closes { .. }) {
                                b'c'
                            } else {
                                b'd'
                            };
                            for k in findings.iter_mut() {
                                if (k.shard, k.seq, k.rule.as_str()) == (shard, opened_seq, &v.rule)
                                {
                                    k.state = ended;
                                }
                            }
                            continue;
                        }
                        Effect::Withdraws { .. } => continue,
                    };
                    findings.push(FindingKey {
                        state,
                        rule: v.rule.clone(),
                        customer: event.customer_id.clone(),
                        shard,
                        seq,
                    });
                }
                let entry = Entry {
                    shard,
                    seq,
                    prev_hash: prev[s],
                    source: SourcePosition {
                        topic: "embedded".into(),
                        partition: shard,
                        offset: seq,
                        timestamp_ms: 0,
                    },
                    event: event.encode_to_vec(),
                    verdicts,
                };
                let (sealed, hash) = entry.seal().expect("seals");
                prev[s] = hash;
                trees[s].push(merkle::leaf_hash(&hash));
                stored[s].push(sealed);
                items.insert((shard, seq), item_of(entry, hash).expect("decodes"));
            }
            if n == events.len() / 2 {
                old = Some(checkpoint(&key, 1, &trees));
            }
        }
        findings.sort_by(|a, b| {
            (a.state, &a.rule, &a.customer, a.shard, a.seq).cmp(&(
                b.state,
                &b.rule,
                &b.customer,
                b.shard,
                b.seq,
            ))
        });
        let now = items
            .values()
            .map(|i| i.event.occurred_at.as_ref().map_or(0, timestamp_ms))
            .max()
            .unwrap_or(0)
            + 86_400_000;
        let issued = 1_800_000_000_000 + NEW_NUMBER as i64;
        let secrets = LedgerSecrets::derive(&key.to_bytes());
        let maps: Vec<ShardCommitments> = (0..SHARDS)
            .map(|shard| reference_shard_map(&secrets, shard, items.values(), NEW_NUMBER, issued))
            .collect();
        let mut heads: Vec<ShardHead> = checkpoint(&key, NEW_NUMBER, &trees).shards;
        for h in &mut heads {
            h.map_root = Some(maps[h.shard as usize].map.root());
        }
        let vrf = LedgerSecrets::derive(&key.to_bytes()).vrf.public();
        Ledger {
            new: Checkpoint::sign_with(
                &key,
                Some(hex::encode(vrf.as_bytes())),
                NEW_NUMBER,
                issued,
                heads,
            ),
            maps,
            old: old.expect("halfway checkpoint"),
            key,
            stored,
            trees,
            items,
            findings,
            now,
        }
    })
}

fn checkpoint(key: &SigningKey, number: u64, trees: &[MemoryTree]) -> Checkpoint {
    let heads = trees
        .iter()
        .enumerate()
        .map(|(s, t)| ShardHead {
            shard: s as u32,
            size: t.size(),
            root: t.root(),
            map_root: None,
        })
        .collect();
    Checkpoint::sign(key, number, 1_800_000_000_000 + number as i64, heads)
}

/// The document of report `R` with proofs and a consistency section from
/// the earlier checkpoint, as the server serves it.
fn document<R: Report>(l: &Ledger, params: R::Params) -> Value {
    let inputs = R::load(l, &params).expect("loads");
    let built = R::build(&inputs, &params, l.now);
    let mut relied = R::relied(&inputs, &params, l.now, &built);
    let completeness = R::completeness(&inputs, &params, l.now).map(|window| {
        let secrets = LedgerSecrets::derive(&l.key.to_bytes());
        reference_section(&secrets, &l.maps, NEW_NUMBER, &window, &mut relied)
    });
    let entries = relied
        .iter()
        .map(|&(shard, seq)| {
            let tree = &l.trees[shard as usize];
            EntryProof {
                shard,
                seq,
                entry: hex::encode(&l.stored[shard as usize][seq as usize]),
                inclusion: merkle::inclusion_proof(tree, seq, tree.size())
                    .expect("proof")
                    .iter()
                    .map(hex::encode)
                    .collect(),
            }
        })
        .collect();
    let mut doc = Signed::new(R::NAME, params, l.new.clone(), l.now, built);
    doc.proofs = Some(Proofs {
        report: R::NAME.into(),
        checkpoint: l.new.clone(),
        entries,
        completeness,
    });
    doc.consistency = Some(Consistency {
        from: l.old.clone(),
        shards: consistency(l),
    });
    serde_json::to_value(doc).expect("serialises")
}

fn consistency(l: &Ledger) -> Vec<ShardConsistency> {
    l.old
        .shards
        .iter()
        .map(|h| {
            let tree = &l.trees[h.shard as usize];
            ShardConsistency {
                shard: h.shard,
                from_size: h.size,
                to_size: tree.size(),
                from_root: h.root,
                to_root: tree.root(),
                proof: merkle::consistency_proof(tree, h.size, tree.size())
                    .expect("proof")
                    .iter()
                    .map(hex::encode)
                    .collect(),
            }
        })
        .collect()
}

/// One valid document of every report kind and audience.
fn documents() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let l = ledger();
        let customer = l
            .items
            .values()
            .map(|i| i.event.customer_id.clone())
            .find(|c| !c.is_empty())
            .expect("a customer");
        let mut docs = Vec::new();
        for audience in [Audience::Customer, Audience::Officer] {
            let p = CustomerParams {
                customer: customer.clone(),
                period: Period::default(),
                audience,
            };
            docs.push(document::<Disclosure>(l, p.clone()));
            docs.push(document::<Residency>(l, p.clone()));
            docs.push(document::<AccessHistoryReport>(
                l,
                AccessHistoryParams {
                    customer: customer.clone(),
                    period: Period::default(),
                    audience,
                    limit: 4,
                    cursor: None,
                },
            ));
        }
        docs.push(document::<LawEnforcement>(
            l,
            LawEnforcementParams::default(),
        ));
        docs.push(document::<Findings>(l, findings::Filter::default()));
        docs
    })
}

fn verifying_key() -> VerifyingKey {
    ledger().key.verifying_key()
}

/// The documents the targets start from verify, and say something.
#[test]
fn the_seed_documents_verify() {
    let l = ledger();
    assert!(l.findings.len() >= 2, "the demo ledger has findings");
    for doc in documents() {
        let v = verify(doc, &verifying_key(), Some(&l.old), &[]);
        assert!(v.ok(), "{}\n{}", doc["reportKind"], v.render());
        assert!(
            doc["proofs"]["entries"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{}",
            doc["reportKind"]
        );
    }
}

/// What a case hands the checker besides the document.
#[derive(Debug, Clone)]
enum Saved {
    None,
    /// The earlier checkpoint, as a customer saved it.
    Old,
    /// The earlier checkpoint mutated.
    Mutated(Value),
}

fn saved() -> impl Strategy<Value = Saved> {
    let old = serde_json::to_value(&ledger().old).expect("json");
    prop_oneof![
        Just(Saved::None),
        Just(Saved::Old),
        json::edits().prop_map(move |e| Saved::Mutated(json::apply(old.clone(), &e))),
    ]
}

/// Runs the checker under the allocation bound; the serialised size of the
/// document is the input size.
fn check_document(
    doc: &Value,
    saved: &Saved,
    fetched: &[ShardConsistency],
) -> Result<bool, TestCaseError> {
    // The checker's inputs: the document and the proofs fetched for it.
    let size = doc.to_string().len() + serde_json::to_string(fetched).map_or(0, |s| s.len());
    let saved_cp: Option<Checkpoint> = match saved {
        Saved::None => None,
        Saved::Old => Some(ledger().old.clone()),
        Saved::Mutated(v) => serde_json::from_value(v.clone()).ok(),
    };
    let budget = Budget::start(size, 64, 4 << 20);
    let outcome = verify(doc, &verifying_key(), saved_cp.as_ref(), fetched);
    let text = outcome.render();
    budget.check("check::verify")?;
    prop_assert!(!text.is_empty());
    // A failed check names what failed.
    prop_assert!(outcome.ok() || !outcome.failures().is_empty());
    Ok(outcome.ok())
}

#[test]
fn fuzz_report_documents() {
    let docs = documents();
    let strategy = (
        0..docs.len(),
        json::edits(),
        saved(),
        // Proofs "fetched from a server": the real ones, or mutated.
        prop::option::of(json::edits()),
    );
    run(
        "report_documents",
        strategy,
        |(which, edits, saved, fetched_edits)| {
            let original = &docs[which];
            let doc = json::apply(original.clone(), &edits);
            let real = serde_json::to_value(consistency(ledger())).expect("json");
            let fetched: Vec<ShardConsistency> = match &fetched_edits {
                None => Vec::new(),
                Some(e) => serde_json::from_value(json::apply(real, e)).unwrap_or_default(),
            };
            let ok = check_document(&doc, &saved, &fetched)?;
            // A document that verifies after mutation must mean what the
            // original meant: same kind, checkpoint and parameters (fields the
            // checker ignores may differ).
            if ok {
                support::accepted();
                prop_assert_eq!(&doc["reportKind"], &original["reportKind"]);
                let cp: Option<Checkpoint> = serde_json::from_value(doc["checkpoint"].clone()).ok();
                prop_assert_eq!(
                    cp.as_ref(),
                    Some(&ledger().new),
                    "checkpoint changed yet verified"
                );
                prop_assert!(
                    same_params(&original["reportKind"], &doc["params"], &original["params"]),
                    "params changed yet verified: {} vs {}",
                    doc["params"],
                    original["params"]
                );
            }
            Ok(())
        },
    );
}

/// Whether two `params` values read as the same parameters of the report.
fn same_params(kind: &Value, a: &Value, b: &Value) -> bool {
    fn same<P: serde::de::DeserializeOwned + PartialEq>(a: &Value, b: &Value) -> bool {
        let a: Option<P> = serde_json::from_value(a.clone()).ok();
        let b: Option<P> = serde_json::from_value(b.clone()).ok();
        a.is_some() && a == b
    }
    match kind.as_str() {
        Some("disclosure" | "residency") => same::<CustomerParams>(a, b),
        Some("access-history") => same::<AccessHistoryParams>(a, b),
        Some("law-enforcement") => same::<LawEnforcementParams>(a, b),
        Some("findings") => same::<findings::Filter>(a, b),
        _ => false,
    }
}

#[test]
fn fuzz_report_arbitrary_json() {
    let docs = documents();
    // Arbitrary JSON, and arbitrary JSON grafted into a valid document.
    let strategy = prop_oneof![
        json::arbitrary(),
        (
            0..docs.len(),
            json::arbitrary(),
            prop::sample::select(vec![
                "proofs",
                "checkpoint",
                "params",
                "consistency",
                "reportKind",
                "generatedAtMs",
                "findings",
                "useMatrix",
            ])
        )
            .prop_map(|(which, v, field)| {
                let mut doc = docs[which].clone();
                doc[field] = v;
                doc
            }),
    ];
    run(
        "report_arbitrary_json",
        (strategy, saved()),
        |(doc, saved)| {
            if check_document(&doc, &saved, &[])? {
                support::accepted();
            }
            Ok(())
        },
    );
}

/// Stored entry bytes: arbitrary, or a real entry mutated (lengths among
/// the bytes hit), with the trailing hash recomputed or not.
fn entry_bytes() -> impl Strategy<Value = Vec<u8>> {
    let l = ledger();
    let sealed: Vec<Vec<u8>> = l.stored.iter().flatten().take(64).cloned().collect();
    prop_oneof![
        1 => bytes(1024),
        3 => (prop::sample::select(sealed), byte_edits(), any::<bool>()).prop_map(|(b, e, rehash)| {
            let mut out = apply_byte_edits(b, &e);
            if rehash && out.len() >= 32 {
                // Keep the hash valid so that the decoder itself is reached.
                let body_len = out.len() - 32;
                let hash = custody_verify::entry::entry_hash(&out[..body_len]);
                out[body_len..].copy_from_slice(&hash);
            }
            out
        }),
    ]
}

#[test]
fn fuzz_entry_decode() {
    run("entry_decode", entry_bytes(), |stored| {
        let budget = Budget::start(stored.len(), 8, 4096);
        let opened = Entry::open(&stored);
        let split = custody_verify::entry::split_stored(&stored);
        let decoded = split.clone().map(|(body, _)| Entry::decode(body));
        if let Ok((body, _)) = split {
            let _ = custody_verify::entry::peek_position(body);
            let _ = custody_verify::entry::peek_prev_hash(body);
        }
        budget.check("Entry::open")?;
        // Whatever decodes re-encodes to the same bytes: one encoding per entry.
        if let (Ok((body, _)), Ok(Ok(entry))) = (split, decoded) {
            prop_assert_eq!(entry.canonical_bytes().ok(), Some(body.to_vec()));
        }
        if let Ok((entry, hash)) = opened {
            support::accepted();
            prop_assert_eq!(entry.seal().ok(), Some((stored.clone(), hash)));
        }
        Ok(())
    });
}

#[test]
fn fuzz_checkpoints() {
    let l = ledger();
    let real = serde_json::to_value(&l.new).expect("json");
    let key_hex = hex::encode(verifying_key().as_bytes());
    let strategy = (
        prop_oneof![
            3 => json::edits().prop_map(move |e| json::apply(real.clone(), &e).to_string()),
            1 => json::arbitrary().prop_map(|v| v.to_string()),
            1 => bytes(256).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        prop_oneof![
            Just(key_hex.clone()),
            (Just(key_hex), byte_edits()).prop_map(|(k, e)| {
                String::from_utf8_lossy(&apply_byte_edits(k.into_bytes(), &e)).into_owned()
            }),
            any::<String>(),
        ],
    );
    run("checkpoints", strategy, |(text, key_text)| {
        let budget = Budget::start(text.len() + key_text.len(), 32, 64 << 10);
        let parsed: Result<Checkpoint, _> = serde_json::from_str(&text);
        let key = parse_public_key(&key_text);
        if let (Ok(cp), Ok(key)) = (&parsed, &key) {
            let _ = cp.verify(key);
            let _ = cp.signed_message();
            let _ = consistency_needed(cp, &l.new);
            let _ = consistency_needed(&l.old, cp);
        }
        budget.check("checkpoint")?;
        // A checkpoint that verifies under the ledger's key says what the
        // ledger signed (the signature covers every field; its hex may be
        // written in either case).
        if let (Ok(mut cp), Ok(key)) = (parsed, key) {
            cp.signature = cp.signature.to_ascii_lowercase();
            if cp.verify(&key).is_ok() && key == verifying_key() {
                support::accepted();
                prop_assert!(
                    cp == l.new || cp == l.old,
                    "a forged checkpoint verified: {cp:?}"
                );
            }
        }
        Ok(())
    });
}

/// Sizes and indices that reach the edges: small, powers of two and their
/// neighbours, the top of the range.
fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..64,
        (0u32..64).prop_map(|b| 1u64 << b),
        (1u32..64, -2i64..=2).prop_map(|(b, d)| (1u64 << b).wrapping_add_signed(d)),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        any::<u64>(),
    ]
}

#[test]
fn fuzz_merkle_proofs() {
    let l = ledger();
    let tree = &l.trees[0];
    let n = tree.size();
    let strategy = (
        size(),
        size(),
        0..n,
        0..=n,
        prop_oneof![0usize..8, 60usize..70, Just(128), Just(1000)],
        any::<[u8; 32]>(),
        any::<bool>(),
        byte_edits(),
    );
    run(
        "merkle_proofs",
        strategy,
        |(a, b, index, old, len, noise, real, edits)| {
            let budget = Budget::start(len * 32, 4, 64 << 10);
            let junk: Vec<Hash> = vec![noise; len];
            let _ = merkle::verify_inclusion(&noise, a, b, &junk, &noise);
            let _ = merkle::verify_inclusion(&noise, a % b.max(1), b, &junk, &noise);
            let _ = merkle::verify_consistency(a.min(b), a.max(b), &noise, &noise, &junk);
            let _ = merkle::verify_consistency(a, b, &merkle::empty_root(), &noise, &junk);
            budget.check("verify")?;
            // A real proof with its bytes mutated verifies only if its hashes
            // are unchanged.
            if real {
                let leaf = merkle::leaf_hash(&l.items[&(0, index)].hash);
                let proof = merkle::inclusion_proof(tree, index, n).expect("proof");
                let flat: Vec<u8> = proof.iter().flatten().copied().collect();
                let bent = apply_byte_edits(flat.clone(), &edits);
                let hashes: Vec<Hash> = bent
                    .chunks_exact(32)
                    .map(|c| c.try_into().expect("32 bytes"))
                    .collect();
                let verified =
                    merkle::verify_inclusion(&leaf, index, n, &hashes, &tree.root()).is_ok();
                if verified {
                    support::accepted();
                }
                prop_assert_eq!(verified, hashes == proof);
            } else {
                let proof = merkle::consistency_proof(tree, old, n).expect("proof");
                let flat: Vec<u8> = proof.iter().flatten().copied().collect();
                let bent = apply_byte_edits(flat.clone(), &edits);
                let hashes: Vec<Hash> = bent
                    .chunks_exact(32)
                    .map(|c| c.try_into().expect("32 bytes"))
                    .collect();
                let old_root = if old == 0 {
                    merkle::empty_root()
                } else {
                    merkle::tree_root(tree, old).expect("root")
                };
                let verified =
                    merkle::verify_consistency(old, n, &old_root, &tree.root(), &hashes).is_ok();
                prop_assert_eq!(verified, hashes == proof);
            }
            Ok(())
        },
    );
}

/// Found by `fuzz_report_documents`: a document whose `proofs` section was
/// `null` was "verified" on its checkpoint alone, whatever its figures said.
#[test]
fn a_null_proofs_section_does_not_verify() {
    let mut doc = documents()[2].clone();
    doc["proofs"] = Value::Null;
    doc["params"]["customer"] = serde_json::json!("someone-else");
    let v = verify(&doc, &verifying_key(), None, &[]);
    assert!(!v.ok(), "{}", v.render());
    assert!(
        v.render().contains("carries no `proofs` section"),
        "{}",
        v.render()
    );
}

/// The C2SP text formats (`custody_verify::note`): signed notes, verifier
/// keys, checkpoint bodies and tlog-proofs, from a valid signed checkpoint
/// and proof mutated byte by byte, and from arbitrary text. Nothing panics
/// or allocates past the bound, and whatever still verifies under the
/// ledger's verifier key states the signed checkpoint and the real index.
#[test]
fn fuzz_c2sp_notes() {
    use custody_verify::merkle::HashReader;
    use custody_verify::note::{shard_origin, CheckpointNote, Note, TlogProof, VerifierKey};
    let key = SigningKey::from_bytes(&[42; 32]);
    let name = "example.org/custody";
    let vkey = VerifierKey::ed25519(name, &key.verifying_key()).expect("vkey");
    let tree: MemoryTree = (0..13u64)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    let origin = shard_origin(name, 0);
    let body = CheckpointNote {
        origin: origin.clone(),
        size: tree.size(),
        root: tree.root(),
        extensions: Vec::new(),
    };
    let note = body.sign(name, &key).expect("signed").to_string();
    let index = 5;
    let proof = TlogProof {
        extra: None,
        index,
        hashes: merkle::inclusion_proof(&tree, index, tree.size()).expect("proof"),
        checkpoint: note.clone(),
    }
    .to_string();
    let leaf = tree.node(0, index).expect("leaf");
    let mutated = |text: String| {
        (Just(text), byte_edits()).prop_map(|(t, e)| {
            String::from_utf8_lossy(&apply_byte_edits(t.into_bytes(), &e)).into_owned()
        })
    };
    let vkey_text = vkey.to_string();
    let strategy = (
        prop_oneof![
            1 => Just(note.clone()),
            1 => Just(proof.clone()),
            3 => mutated(note),
            3 => mutated(proof),
            1 => bytes(512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        prop_oneof![
            3 => Just(vkey_text.clone()),
            1 => mutated(vkey_text),
            1 => any::<String>(),
        ],
    );
    run("c2sp notes", strategy, |(text, vkey_text)| {
        let budget = Budget::start(text.len() + vkey_text.len(), 32, 64 << 10);
        let known: Vec<VerifierKey> = vkey_text.parse::<VerifierKey>().into_iter().collect();
        let genuine = known.first() == Some(&vkey);
        if let Ok(n) = Note::parse(&text) {
            let _ = CheckpointNote::parse_body(n.text());
            let _ = n.to_string();
        }
        let opened = CheckpointNote::open(&text, &origin, &known);
        let parsed = TlogProof::parse(&text);
        let verified = parsed.as_ref().map(|p| p.verify(&leaf, &origin, &known));
        budget.check("c2sp notes")?;
        if let (Ok(cp), true) = (&opened, genuine) {
            support::accepted();
            prop_assert_eq!(cp, &body, "a forged checkpoint note opened");
        }
        if let (Ok(p), Ok(Ok(cp)), true) = (&parsed, &verified, genuine) {
            support::accepted();
            prop_assert_eq!(cp, &body);
            prop_assert_eq!(p.index, index, "a proof verified at another index");
        }
        Ok(())
    });
}
