//! The `custody-verify` binary on a report made here, through the same
//! pipeline the server uses (a one-shard ledger in memory: no RocksDB).

use std::path::{Path, PathBuf};
use std::process::Command;

use custody_proto::v1::{Actor, DataAccessed, DataCategory, Purpose, Role};
use custody_proto::{event_from_json, Kind};
use custody_verify::completeness::{reference_section, reference_shard_map, LedgerSecrets};
use custody_verify::merkle::{self, MemoryTree};
use custody_verify::proofs::{EntryProof, Proofs};
use custody_verify::reports::{
    item_of, Audience, CustomerParams, Disclosure, Period, Report, Signed,
};
use custody_verify::{Checkpoint, Entry, ShardHead, SourcePosition};
use ed25519_dalek::SigningKey;
use prost::Message;

const NOW: i64 = 1_800_000_000_000;

fn event(id: &str, customer: &str, purpose: Purpose) -> Vec<u8> {
    let mut e = event_from_json(&format!(
        r#"{{"eventId":"{id}","customerId":"{customer}","occurredAt":"2026-02-01T10:00:00Z"}}"#
    ))
    .expect("event JSON");
    e.actor = Some(Actor {
        id: "eng-1".into(),
        role: Role::SupportEngineer as i32,
        ..Actor::default()
    });
    e.kind = Some(Kind::DataAccessed(DataAccessed {
        purpose: purpose as i32,
        categories: vec![DataCategory::Customer as i32],
        ..DataAccessed::default()
    }));
    e.encode_to_vec()
}

/// c1's disclosure report with proofs over a 4-entry ledger (one of c2).
fn report(signer: &SigningKey) -> serde_json::Value {
    let events = [
        event("e0", "c1", Purpose::ProvidingSupport),
        event("e1", "c2", Purpose::ProvidingSupport),
        event("e2", "c1", Purpose::ImprovingSupport),
        event("e3", "c1", Purpose::Advertising),
    ];
    let mut tree = MemoryTree::new();
    let mut prev = [0u8; 32];
    let mut stored = Vec::new();
    let mut items = Vec::new();
    for (seq, bytes) in events.into_iter().enumerate() {
        let entry = Entry {
            shard: 0,
            seq: seq as u64,
            prev_hash: prev,
            source: SourcePosition {
                topic: "embedded".into(),
                partition: 0,
                offset: seq as u64,
                timestamp_ms: 0,
            },
            event: bytes,
            verdicts: vec![],
        };
        let (sealed, hash) = entry.seal().expect("seals");
        prev = hash;
        tree.push(merkle::leaf_hash(&hash));
        stored.push(sealed);
        items.push(item_of(entry, hash).expect("decodes"));
    }
    let secrets = LedgerSecrets::derive(&signer.to_bytes());
    let maps = vec![reference_shard_map(&secrets, 0, &items, 1, NOW)];
    let head = ShardHead {
        shard: 0,
        size: tree.size(),
        root: tree.root(),
        map_root: Some(maps[0].map.root()),
    };
    let vrf = hex::encode(secrets.vrf.public().as_bytes());
    let cp = Checkpoint::sign_with(signer, Some(vrf), 1, NOW, vec![head]);
    let params = CustomerParams {
        customer: "c1".into(),
        period: Period::default(),
        audience: Audience::Customer,
    };
    let mine: Vec<_> = items
        .into_iter()
        .filter(|i| i.event.customer_id == "c1")
        .collect();
    let built = Disclosure::build(&mine, &params, NOW);
    let mut relied = Disclosure::relied(&mine, &params, NOW, &built);
    let window = Disclosure::completeness(&mine, &params, NOW).expect("a customer report");
    let completeness = reference_section(&secrets, &maps, 1, &window, &mut relied);
    let entries = relied
        .iter()
        .map(|&(shard, seq)| EntryProof {
            shard,
            seq,
            entry: hex::encode(&stored[seq as usize]),
            inclusion: merkle::inclusion_proof(&tree, seq, tree.size())
                .expect("proof")
                .iter()
                .map(hex::encode)
                .collect(),
        })
        .collect();
    let mut doc = Signed::new(Disclosure::NAME, params, cp.clone(), NOW, built);
    doc.proofs = Some(Proofs {
        report: Disclosure::NAME.into(),
        checkpoint: cp,
        entries,
        completeness: Some(completeness),
    });
    serde_json::to_value(doc).expect("serialises")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("custody-verify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn write(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("json")).expect("write");
}

fn run(file: &Path, key: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_custody-verify"))
        .arg(file)
        .args(["--public-key", key])
        .output()
        .expect("custody-verify runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn custody_verify_checks_a_report_and_names_what_is_wrong() {
    let signer = SigningKey::from_bytes(&[7; 32]);
    let key = hex::encode(signer.verifying_key().as_bytes());
    let doc = report(&signer);
    assert_eq!(doc["params"]["customer"], "c1");
    assert_eq!(doc["reportKind"], "disclosure");

    let good = scratch("good.json");
    write(&good, &doc);
    let (ok, out) = run(&good, &key);
    assert!(ok, "{out}");
    assert!(out.contains("3 entries: hashes ok, inclusion ok"), "{out}");
    assert!(out.contains("report verified"), "{out}");

    // A figure changed.
    let mut bad = doc.clone();
    bad["useMatrix"]["rows"][0]["counts"][1] = serde_json::json!(41);
    let f = scratch("figure.json");
    write(&f, &bad);
    let (ok, out) = run(&f, &key);
    assert!(!ok, "{out}");
    assert!(
        out.contains("useMatrix.rows[0].counts[1]: the report says 41"),
        "{out}"
    );

    // Parameters changed: the customer's copy presented as another customer's.
    let mut bad = doc.clone();
    bad["params"]["customer"] = serde_json::json!("c2");
    let f = scratch("params.json");
    write(&f, &bad);
    let (ok, out) = run(&f, &key);
    assert!(!ok, "{out}");
    assert!(out.contains("not of `c2`"), "{out}");

    // Another key.
    let other = hex::encode(SigningKey::from_bytes(&[8; 32]).verifying_key().as_bytes());
    let (ok, out) = run(&good, &other);
    assert!(!ok, "{out}");
    assert!(out.contains("REPORT NOT VERIFIED"), "{out}");

    // Not a report at all: a clear error, exit 1.
    let f = scratch("garbage.json");
    std::fs::write(&f, b"not json").expect("write");
    let (ok, out) = run(&f, &key);
    assert!(!ok);
    assert!(out.contains("is not JSON"), "{out}");
}
