//! Tampering with the indexes the fold derives from the entries
//! (`by_customer`, `by_event`, `by_request`, `findings`), done through
//! RocksDB itself with the ledger closed: `verify_store` recomputes them
//! from the entries and names the index and the position of each mismatch.
//! (tests/ledger_e2e.rs runs the real `custody verify` on one such case.)

use std::path::{Path, PathBuf};

use custody_ledger::keys::{self, CF_BY_CUSTOMER, CF_BY_EVENT, CF_BY_REQUEST, CF_FINDINGS};
use custody_ledger::{verify_store, Store, VerifyReport};
use custody_policy::format_ms;
use custody_testkit::ledger::demo_ledger;
use custody_testkit::tamper::Tamper;

/// The demo workload (40 customers) folded and checkpointed in DIR/data,
/// the ledger closed again so RocksDB can be opened directly.
fn demo(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    drop(demo_ledger(&data, 40).expect("demo ledger"));
    data
}

fn verify(data: &Path) -> VerifyReport {
    let store = Store::open(data).expect("open store");
    verify_store(&store, None, |_| {}).expect("verification runs")
}

/// Every problem, as `custody verify` prints it.
fn problems(data: &Path) -> Vec<String> {
    verify(data)
        .problems
        .iter()
        .map(|p| p.to_string())
        .collect()
}

/// Verification names exactly `count` problems, one of which contains every
/// one of `expect`.
fn names(data: &Path, count: usize, expect: &[&str]) -> Vec<String> {
    let problems = problems(data);
    assert!(
        problems
            .iter()
            .any(|p| expect.iter().all(|e| p.contains(e))),
        "expected a problem with {expect:?} in {problems:#?}"
    );
    assert_eq!(problems.len(), count, "{problems:#?}");
    problems
}

/// (customer, occurred-at ms, shard, seq) of a by_customer key.
fn by_customer_parts(k: &[u8]) -> (String, i64, u32, u64) {
    let n = usize::from(u16::from_be_bytes([k[0], k[1]]));
    let customer = String::from_utf8(k[2..2 + n].to_vec()).expect("utf-8");
    let (at, shard, seq) = keys::parse_by_customer(k).expect("by_customer key");
    (customer, at, shard, seq)
}

/// The key/value in the middle of a column family.
fn middle(t: &Tamper, cf: &str) -> (Vec<u8>, Vec<u8>) {
    let mut kv = t.key_values(cf).expect("scan");
    assert!(!kv.is_empty(), "{cf} is empty");
    let at = kv.len() / 2;
    kv.swap_remove(at)
}

#[test]
fn an_untouched_demo_ledger_has_every_index_and_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    {
        let t = Tamper::open(&data).expect("open RocksDB");
        for cf in [CF_BY_CUSTOMER, CF_BY_EVENT, CF_BY_REQUEST] {
            assert!(!t.key_values(cf).expect("scan").is_empty(), "{cf}");
        }
        // The cases below need a finding in each state.
        let states: Vec<u8> = t
            .key_values(CF_FINDINGS)
            .expect("scan")
            .iter()
            .map(|(k, _)| k[0])
            .collect();
        for state in [b'r', b'o', b'c'] {
            assert!(states.contains(&state), "no finding in state {state}");
        }
    }
    let report = verify(&data);
    assert!(report.ok(), "{:#?}", report.problems);
}

#[test]
fn a_deleted_by_customer_key_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (customer, at, shard, seq) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_CUSTOMER);
        t.delete_key(CF_BY_CUSTOMER, &k).expect("delete");
        by_customer_parts(&k)
    };
    names(
        &data,
        1,
        &[
            &format!("shard {shard} seq {seq}: by_customer index lacks the key for customer `{customer}` at {}", format_ms(at)),
        ],
    );
}

#[test]
fn a_deleted_findings_key_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let f = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = t
            .key_values(CF_FINDINGS)
            .expect("scan")
            .into_iter()
            .find(|(k, _)| k[0] == b'r')
            .expect("a recorded breach");
        t.delete_key(CF_FINDINGS, &k).expect("delete");
        keys::parse_finding(&k).expect("findings key")
    };
    names(
        &data,
        1,
        &[&format!(
            "shard {} seq {}: findings index lacks the recorded breach of {} for customer `{}`",
            f.shard, f.seq, f.rule, f.customer
        )],
    );
}

#[test]
fn a_deleted_closed_finding_is_named_by_the_opening_and_the_closing_entry() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (f, closed_by) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, v) = t
            .key_values(CF_FINDINGS)
            .expect("scan")
            .into_iter()
            .find(|(k, _)| k[0] == b'c')
            .expect("a closed finding");
        t.delete_key(CF_FINDINGS, &k).expect("delete");
        let by = u64::from_be_bytes(v.as_slice().try_into().expect("closing seq"));
        (keys::parse_finding(&k).expect("findings key"), by)
    };
    let finding = format!("the finding of {} for customer `{}`", f.rule, f.customer);
    names(
        &data,
        2,
        &[&format!(
            "shard {} seq {closed_by}: findings index lacks {finding} opened at seq {} and closed here",
            f.shard, f.seq
        )],
    );
    names(
        &data,
        2,
        &[&format!(
            "shard {} seq {}: findings index lacks {finding} opened here (neither open, closed nor discharged)",
            f.shard, f.seq
        )],
    );
}

#[test]
fn a_deleted_by_request_key_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (request, shard, seq) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_REQUEST);
        t.delete_key(CF_BY_REQUEST, &k).expect("delete");
        keys::parse_by_request(&k).expect("by_request key")
    };
    names(
        &data,
        1,
        &[&format!(
            "shard {shard} seq {seq}: by_request index lacks the key for law-enforcement request `{request}`"
        )],
    );
}

#[test]
fn a_deleted_by_event_key_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (id, shard, seq) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, v) = middle(&t, CF_BY_EVENT);
        t.delete_key(CF_BY_EVENT, &k).expect("delete");
        let shard = u32::from_be_bytes(k[..4].try_into().expect("shard"));
        let seq = u64::from_be_bytes(v.as_slice().try_into().expect("seq"));
        (String::from_utf8(k[4..].to_vec()).expect("id"), shard, seq)
    };
    names(
        &data,
        1,
        &[&format!(
            "shard {shard} seq {seq}: by_event index lacks event id `{id}`"
        )],
    );
}

#[test]
fn an_entry_attributed_to_another_customer_is_named_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (customer, at, shard, seq) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_CUSTOMER);
        t.attribute_to_customer(&k, "cust-99999")
            .expect("attribute");
        by_customer_parts(&k)
    };
    let at = format_ms(at);
    // The entry's own key is missing...
    names(
        &data,
        2,
        &[&format!(
            "shard {shard} seq {seq}: by_customer index lacks the key for customer `{customer}` at {at}"
        )],
    );
    // ...and the foreign one names whose entry it is.
    names(
        &data,
        2,
        &[&format!(
            "shard {shard} seq {seq}: by_customer index has a key for customer `cust-99999` at {at}, but that entry belongs to `{customer}`"
        )],
    );
}

#[test]
fn an_open_finding_flipped_to_closed_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (f, by) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = t
            .key_values(CF_FINDINGS)
            .expect("scan")
            .into_iter()
            .find(|(k, _)| k[0] == b'o')
            .expect("an open finding");
        let f = keys::parse_finding(&k).expect("findings key");
        // Closed, says the index, by the next entry of the shard.
        let by = f.seq + 1;
        t.close_finding(&k, by).expect("close");
        (f, by)
    };
    names(
        &data,
        1,
        &[&format!(
            "shard {} seq {}: findings index shows the finding of {} for customer `{}` opened here as closed by seq {by}, but that entry does not close it",
            f.shard, f.seq, f.rule, f.customer
        )],
    );
}

#[test]
fn a_fabricated_breach_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    // A breach recorded against an entry that has no verdict at all.
    let (customer, shard, seq) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_CUSTOMER);
        let (customer, _, shard, seq) = by_customer_parts(&k);
        let key = keys::finding(b'r', "USE-MATRIX", &customer, shard, seq);
        t.put_key(CF_FINDINGS, &key, &[]).expect("put");
        (customer, shard, seq)
    };
    names(
        &data,
        1,
        &[&format!(
            "shard {shard} seq {seq}: findings index records a breach of USE-MATRIX for customer `{customer}` here, but that entry has no such verdict"
        )],
    );
}

#[test]
fn by_customer_values_may_be_empty_or_the_entry_hash_but_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    // The fold writes each entry's hash as the value (ledgers from before
    // the customer trees have empty values). A store holding hashes
    // verifies, as does one holding both.
    let (customer, shard, seq, hash) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let all = t.key_values(CF_BY_CUSTOMER).expect("scan");
        for (k, _) in &all {
            let (_, _, shard, seq) = by_customer_parts(k);
            let stored = t.entry(shard, seq).expect("entry");
            t.put_key(CF_BY_CUSTOMER, k, &stored[stored.len() - 32..])
                .expect("put");
        }
        let (k, v) = &all[all.len() / 2];
        let (customer, _, shard, seq) = by_customer_parts(k);
        let hash = t.key_values(CF_BY_CUSTOMER).expect("scan")[all.len() / 2]
            .1
            .clone();
        assert_eq!(v.len(), 32, "the fold writes the entry hash");
        (customer, shard, seq, hash)
    };
    let report = verify(&data);
    assert!(report.ok(), "entry hashes: {:#?}", report.problems);
    {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_CUSTOMER);
        t.put_key(CF_BY_CUSTOMER, &k, &[]).expect("put");
    }
    let report = verify(&data);
    assert!(report.ok(), "hashes and one empty: {:#?}", report.problems);
    // Any other value is named.
    let mut wrong = hash.clone();
    wrong[0] ^= 1;
    {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (k, _) = middle(&t, CF_BY_CUSTOMER);
        t.put_key(CF_BY_CUSTOMER, &k, &wrong).expect("put");
    }
    names(
        &data,
        1,
        &[
            &format!("shard {shard} seq {seq}: by_customer key for customer `{customer}`"),
            &format!(
                "holds the value {}, not the entry hash {}",
                hex(&wrong),
                hex(&hash)
            ),
        ],
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn mismatches_past_twenty_are_counted_not_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    {
        let t = Tamper::open(&data).expect("open RocksDB");
        for (k, _) in t.key_values(CF_BY_EVENT).expect("scan").iter().take(25) {
            t.delete_key(CF_BY_EVENT, k).expect("delete");
        }
    }
    let problems = problems(&data);
    assert_eq!(problems.len(), 21, "{problems:#?}");
    assert!(
        problems[..20]
            .iter()
            .all(|p| p.contains("by_event index lacks event id")),
        "{problems:#?}"
    );
    assert!(
        problems[20].contains("by_event: 5 more mismatches from here on"),
        "{problems:#?}"
    );
}

#[test]
fn a_broken_chain_is_named_once_not_again_as_index_mismatches() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (shard, size) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (shard, size) = t.largest_shard().expect("entries");
        t.flip_entry_byte(shard, size / 2, 100).expect("flip");
        (shard, size)
    };
    let problems = problems(&data);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("shard {shard} seq {}", size / 2))),
        "{problems:#?}"
    );
    assert!(
        !problems.iter().any(|p| p.contains("index")),
        "entries past the break are not index-checked: {problems:#?}"
    );
}

#[test]
fn a_truncated_shard_is_named_once_not_again_as_index_mismatches() {
    // The index keys of the lost entries name nothing that is there, but
    // the truncation is the problem, named once.
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (shard, size) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (shard, size) = t.largest_shard().expect("entries");
        for seq in size - 3..size {
            t.delete_entry(shard, seq).expect("delete");
        }
        (shard, size)
    };
    let problems = problems(&data);
    assert!(
        problems.iter().any(|p| p.starts_with(&format!(
            "shard {shard} seq {}: shard is truncated",
            size - 3
        ))),
        "{problems:#?}"
    );
    assert!(
        !problems.iter().any(|p| p.contains("index")),
        "{problems:#?}"
    );
}

/// An earlier checkpoint re-signed (with the ledger's own key) over a
/// customer-map root the entries do not give: `verify` recomputes every
/// checkpoint's maps, not only the latest's, and names the checkpoint.
#[test]
fn an_earlier_checkpoint_signing_a_wrong_map_root_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    {
        let mut ledger = demo_ledger(&data, 12).expect("demo ledger");
        let more: Vec<(String, Vec<u8>)> =
            custody_testkit::demo::generate(custody_testkit::demo::DemoParams {
                customers: 3,
                seed: 7,
                ..Default::default()
            })
            .into_iter()
            .map(|mut e| {
                e.event_id = format!("more-{}", e.event_id);
                (e.customer_id.clone(), prost::Message::encode_to_vec(&e))
            })
            .collect();
        let records = ledger.embedded_records(more);
        ledger.fold(&records).expect("fold");
        let cp = ledger
            .checkpoint(custody_testkit::ledger::now_ms())
            .expect("checkpoint");
        assert_eq!(cp.number, 2);
    }
    assert!(problems(&data).is_empty(), "{:#?}", problems(&data));
    let store = Store::open(&data).expect("open");
    let first = store.checkpoint(1).expect("read").expect("checkpoint 1");
    let mut heads = first.shards.clone();
    let shard = heads[0].shard;
    heads[0].map_root = Some([7u8; 32]);
    let forged = custody_ledger::Checkpoint::sign_with(
        store.signing_key(),
        first.vrf_key.clone(),
        1,
        first.issued_at_ms,
        heads,
    );
    drop(store);
    let t = Tamper::open(&data).expect("tamper");
    t.put_key(
        keys::CF_CHECKPOINTS,
        &1u64.to_be_bytes(),
        &serde_json::to_vec(&forged).expect("json"),
    )
    .expect("write");
    drop(t);
    let found = names(
        &data,
        1,
        &[
            "checkpoint 1 signs customer-map root 0707",
            "the entries give",
        ],
    );
    assert!(found[0].starts_with(&format!("shard {shard}")), "{found:?}");
}
