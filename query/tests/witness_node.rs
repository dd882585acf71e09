//! The re-folding witness in process: a primary's demo ledger, a witness
//! ledger that re-folds the primary's entries (same source positions, same
//! event bytes) with the primary's map secrets and adopts its checkpoint,
//! and the witness's router driven without a socket through the C2SP
//! `add-checkpoint` answers (200, 409, 422, 403, 404, 400). Real RocksDB in
//! temp dirs.

use axum::body::Body;
use axum::http::{header, Request};
use custody_ledger::{Checkpoint, Ledger, Record};
use custody_query::witness::shard_note;
use custody_query::witness_node::{router, WitnessNode};
use custody_verify::cosign::{AddCheckpoint, CosignerKey};
use custody_verify::note::{default_ledger_name, CheckpointNote, Note, VerifierKey};
use ed25519_dalek::SigningKey;
use std::sync::Arc;
use tower::ServiceExt;

struct Setup {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    primary: Ledger,
    witness: Ledger,
    name: String,
    cp: Checkpoint,
}

/// A primary with the demo workload and a witness that re-folded it.
fn setup() -> Setup {
    let (pd, wd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = custody_testkit::ledger::demo_ledger(pd.path(), 12).unwrap();
    let secrets =
        custody_verify::completeness::map_secrets_line(&primary.store().signing_key().to_bytes());
    std::fs::write(
        wd.path().join(custody_ledger::store::MAP_SECRETS_FILE),
        secrets,
    )
    .unwrap();
    let mut witness = Ledger::open(wd.path()).unwrap();
    let records: Vec<Record> = primary
        .store()
        .all_entries()
        .unwrap()
        .map(|e| {
            let (entry, _) = e.unwrap();
            Record::new(entry.source, entry.event)
        })
        .collect();
    witness.fold_replayable(&records).unwrap();
    let cp = primary.store().latest_checkpoint().unwrap().unwrap();
    let name = default_ledger_name(&primary.store().public_key());
    Setup {
        _dirs: (pd, wd),
        primary,
        witness,
        name,
        cp,
    }
}

#[test]
fn the_re_fold_gives_the_primarys_entries_heads_and_map_roots() {
    let mut s = setup();
    for (shard, head) in s.primary.store().heads().unwrap() {
        for seq in 0..head.size {
            assert_eq!(
                s.primary.store().entry_bytes(shard, seq).unwrap(),
                s.witness.store().entry_bytes(shard, seq).unwrap(),
                "shard {shard} seq {seq}"
            );
        }
    }
    // A checkpoint with another map root, or another root, is not adopted.
    let mut other_map = s.cp.clone();
    other_map.shards[1].map_root = Some([7; 32]);
    let d = s.witness.adopt_checkpoint(&other_map).unwrap().unwrap_err();
    assert_eq!(d.shard, other_map.shards[1].shard);
    assert!(d.what.contains("customer-map root"), "{d}");
    let mut other_root = s.cp.clone();
    other_root.shards[0].root = [8; 32];
    assert!(s.witness.adopt_checkpoint(&other_root).unwrap().is_err());
    // The primary's own checkpoint is: same heads, same map roots.
    s.witness.adopt_checkpoint(&s.cp).unwrap().unwrap();
    assert_eq!(
        s.witness.store().latest_checkpoint().unwrap(),
        Some(s.cp.clone())
    );
    // Without the primary's map secrets a re-fold agrees on heads only.
    let bare = tempfile::tempdir().unwrap();
    let mut alone = Ledger::open(bare.path()).unwrap();
    let records: Vec<Record> = s
        .primary
        .store()
        .all_entries()
        .unwrap()
        .map(|e| {
            let (entry, _) = e.unwrap();
            Record::new(entry.source, entry.event)
        })
        .collect();
    alone.fold_replayable(&records).unwrap();
    let d = alone.adopt_checkpoint(&s.cp).unwrap().unwrap_err();
    assert!(d.what.contains("VRF key"), "{d}");
}

/// Stands in for the mirror: a step every 10 ms, ending as if the
/// primary published nothing newer than what the test adopted.
fn fake_mirror(node: Arc<WitnessNode>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let step = node.begin_step();
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            node.step_done(step);
        }
    })
}

async fn post(app: &axum::Router, body: String) -> (u16, String, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::post("/add-checkpoint")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_checkpoint_answers_as_tlog_witness_says() {
    let mut s = setup();
    s.witness.adopt_checkpoint(&s.cp).unwrap().unwrap();
    let log_key = VerifierKey::ed25519(&s.name, &s.primary.store().public_key()).unwrap();
    let wkey = SigningKey::from_bytes(&[21; 32]);
    let node = Arc::new(WitnessNode::new(
        s.witness,
        log_key,
        "w.example/witness".into(),
        wkey.clone(),
    ));
    let cosigner = CosignerKey::ed25519("w.example/witness", &wkey.verifying_key()).unwrap();
    let app = router(node.clone());
    let _mirror = fake_mirror(node.clone());
    let shard = s.cp.shards[0].shard;
    let size = s.cp.shards[0].size;
    let note = shard_note(s.primary.store(), &s.name, &s.cp, shard).unwrap();
    let req = |old: u64, proof: Vec<[u8; 32]>, checkpoint: &str| {
        AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_string(),
        }
        .to_string()
    };

    // First time: old 0, no proof: cosigned, and the line verifies.
    let (status, _, body) = post(&app, req(0, vec![], &note)).await;
    assert_eq!(status, 200, "{body}");
    let mut cosigned = Note::parse(&note).unwrap();
    for l in custody_verify::cosign::parse_signature_lines(&body).unwrap() {
        cosigned.push_signature(l).unwrap();
    }
    assert_eq!(
        custody_verify::cosign::cosigned_by(&cosigned, &[cosigner])
            .unwrap()
            .len(),
        1
    );
    // Again with old 0: 409 with the size it cosigned.
    let (status, ct, body) = post(&app, req(0, vec![], &note)).await;
    assert_eq!(
        (status, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", &*format!("{size}\n"))
    );
    // With the right old size and the same head: cosigned again.
    let (status, _, body) = post(&app, req(size, vec![], &note)).await;
    assert_eq!(status, 200, "{body}");
    // The same size with another root, signed by the primary's key: a fork.
    let forged = CheckpointNote::parse_body(Note::parse(&note).unwrap().text()).unwrap();
    let forged = CheckpointNote {
        root: [9; 32],
        ..forged
    }
    .sign(&s.name, s.primary.store().signing_key())
    .unwrap()
    .to_string();
    let (status, _, body) = post(&app, req(size, vec![], &forged)).await;
    assert_eq!(status, 422, "{body}");
    // A consistency proof that does not verify.
    let (status, _, body) = post(&app, req(size, vec![[1; 32]], &note)).await;
    assert_eq!(status, 422, "{body}");
    // Not signed by the primary's key: 403; an unknown origin: 404; old
    // larger than the size: 400; garbage: 400.
    let stranger = CheckpointNote::parse_body(Note::parse(&note).unwrap().text())
        .unwrap()
        .sign(&s.name, &SigningKey::from_bytes(&[5; 32]))
        .unwrap()
        .to_string();
    assert_eq!(post(&app, req(size, vec![], &stranger)).await.0, 403);
    let elsewhere = CheckpointNote {
        origin: "elsewhere.example/shard/0".into(),
        ..CheckpointNote::parse_body(Note::parse(&note).unwrap().text()).unwrap()
    }
    .sign(&s.name, s.primary.store().signing_key())
    .unwrap()
    .to_string();
    assert_eq!(post(&app, req(size, vec![], &elsewhere)).await.0, 404);
    assert_eq!(post(&app, req(size + 1, vec![], &note)).await.0, 400);
    assert_eq!(post(&app, "old x\n\n".into()).await.0, 400);
    // The cosigned size is kept in the witness's RocksDB.
    assert_eq!(
        custody_ledger::fold::cosigned(&node.store, shard)
            .unwrap()
            .map(|(s, _)| s),
        Some(size)
    );
    // A shard the witness has not re-derived that far: 503 (after the wait).
    let ahead = CheckpointNote {
        size: size + 1000,
        ..CheckpointNote::parse_body(Note::parse(&note).unwrap().text()).unwrap()
    }
    .sign(&s.name, s.primary.store().signing_key())
    .unwrap()
    .to_string();
    let proof = vec![[3; 32]];
    let (status, _, _) = post(&app, req(size, proof, &ahead)).await;
    assert_eq!(
        status, 422,
        "an unprovable growth is refused before any wait"
    );
}

/// Two checkpoints of the primary at the same sizes state different
/// customer-map roots (every sealed commitment takes a fresh nonce at every
/// checkpoint): the later note is cosigned once the witness adopted that
/// checkpoint (503 before, never 422), the earlier one still is, and a map
/// root in no checkpoint the witness adopted is refused once its mirror has
/// looked at the primary's latest checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_checkpoint_at_the_same_sizes_is_cosigned_once_adopted() {
    use custody_proto::v1::{DataCategory as C, Purpose as P};
    use custody_testkit::events::{accessed, event, T0};
    use prost::Message as _;
    let mut s = setup();
    s.witness.adopt_checkpoint(&s.cp).unwrap().unwrap();
    // One more event, in one shard; the primary signs a checkpoint, the
    // witness re-folds the entry.
    let e = event(T0, accessed(P::ProvidingSupport, &[C::Contact], "ticket"));
    let records = s
        .primary
        .embedded_records(vec![(e.customer_id.clone(), e.encode_to_vec())]);
    s.primary.fold_replayable(&records).unwrap();
    let later = s.primary.checkpoint(s.cp.issued_at_ms + 1_000).unwrap();
    assert!(later.number > s.cp.number);
    s.witness.fold_replayable(&records).unwrap();
    // A shard whose size did not change: its map root did all the same.
    let h = later
        .shards
        .iter()
        .find(|h| s.cp.shard(h.shard).unwrap().size == h.size)
        .expect("a shard that did not grow")
        .clone();
    assert_ne!(s.cp.shard(h.shard).unwrap().map_root, h.map_root);
    let log_key = VerifierKey::ed25519(&s.name, &s.primary.store().public_key()).unwrap();
    let node = Arc::new(WitnessNode::new(
        s.witness,
        log_key,
        "w.example/witness".into(),
        SigningKey::from_bytes(&[22; 32]),
    ));
    let app = router(node.clone());
    let req = |old: u64, checkpoint: &str| {
        AddCheckpoint {
            old,
            proof: vec![],
            checkpoint: checkpoint.to_string(),
        }
        .to_string()
    };
    let first = shard_note(s.primary.store(), &s.name, &s.cp, h.shard).unwrap();
    let second = shard_note(s.primary.store(), &s.name, &later, h.shard).unwrap();
    assert_ne!(first, second);
    let mirror = fake_mirror(node.clone());
    let (status, _, body) = post(&app, req(0, &first)).await;
    assert_eq!(status, 200, "{body}");
    // A map root in no checkpoint the witness adopted, signed by the
    // primary's key, once the mirror has looked: refused.
    let parsed = CheckpointNote::parse_body(Note::parse(&second).unwrap().text()).unwrap();
    let forged = CheckpointNote {
        extensions: vec![format!(
            "custody-customer-map {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32])
        )],
        ..parsed
    }
    .sign(&s.name, s.primary.store().signing_key())
    .unwrap()
    .to_string();
    let (status, _, body) = post(&app, req(h.size, &forged)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("customer-map root"), "{body}");
    // The later checkpoint's note before the mirror has looked at the
    // primary again (and adopted it): 503 after the wait, never 422.
    mirror.abort();
    let (status, _, body) = post(&app, req(h.size, &second)).await;
    assert_eq!(status, 503, "{body}");
    node.ledger
        .lock()
        .unwrap()
        .adopt_checkpoint(&later)
        .unwrap()
        .unwrap();
    let _mirror = fake_mirror(node.clone());
    let (status, _, body) = post(&app, req(h.size, &second)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = post(&app, req(h.size, &first)).await;
    assert_eq!(status, 200, "the earlier checkpoint's note: {body}");
}
