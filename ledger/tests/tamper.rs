//! Tampering done through RocksDB itself, past the ledger, on a real ledger
//! in a temp dir: `verify_store` names each kind by position and
//! `rebuild_and_compare` names the column family. (tests/ledger_e2e.rs keeps
//! one run of the real `custody verify` and `custody rebuild` on the same.)

use std::path::{Path, PathBuf};

use custody_ledger::keys::CF_STATE;
use custody_ledger::{rebuild_and_compare, verify_store, Store, VerifyReport};
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

/// Verification fails and some problem's text contains every one of `expect`.
fn fails_with(data: &Path, expect: &[&str]) {
    let report = verify(data);
    assert!(!report.ok(), "verify passed on a tampered ledger");
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        problems
            .iter()
            .any(|p| expect.iter().all(|e| p.contains(e))),
        "expected a problem with {expect:?} in {problems:#?}"
    );
}

#[test]
fn the_demo_ledger_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let report = verify(&data);
    assert!(report.ok(), "{:#?}", report.problems);
    assert!(
        report.entries > 500 && report.checkpoints >= 1,
        "{report:?}"
    );
}

#[test]
fn checkpoints_signed_by_another_key_are_rejected() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let other = Store::open(&dir.path().join("other"))
        .expect("other store")
        .public_key();
    let store = Store::open(&data).expect("open store");
    let report = verify_store(&store, Some(&other), |_| {}).expect("verification runs");
    assert!(!report.ok());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.what.contains("was signed by key")),
        "{:#?}",
        report.problems
    );
    // The data directory's own key still verifies.
    let own = store.public_key();
    let report = verify_store(&store, Some(&own), |_| {}).expect("verification runs");
    assert!(report.ok(), "{:#?}", report.problems);
}

#[test]
fn a_flipped_byte_is_named_by_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let (shard, size) = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (shard, size) = t.largest_shard().expect("entries");
        t.flip_entry_byte(shard, size / 2, 100).expect("flip");
        (shard, size)
    };
    fails_with(
        &data,
        &[
            &format!("shard {shard} seq {}", size / 2),
            "altered in storage",
        ],
    );
}

#[test]
fn a_missing_entry_is_named_by_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let shard = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (shard, _) = t.largest_shard().expect("entries");
        t.delete_entry(shard, 10).expect("delete");
        shard
    };
    fails_with(&data, &[&format!("shard {shard} seq 10"), "missing"]);
}

#[test]
fn a_truncated_shard_is_detected() {
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
    fails_with(
        &data,
        &[&format!("shard {shard} seq {}", size - 3), "truncated"],
    );
}

#[test]
fn reordered_entries_are_detected() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let shard = {
        let t = Tamper::open(&data).expect("open RocksDB");
        let (shard, _) = t.largest_shard().expect("entries");
        t.swap_entries(shard, 5, 6).expect("swap");
        shard
    };
    fails_with(&data, &[&format!("shard {shard} seq 5"), "reordered"]);
}

#[test]
fn rebuild_reproduces_everything_and_names_an_altered_column_family() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = demo(dir.path());
    let scratch = dir.path().join("scratch");
    {
        let store = Store::open(&data).expect("open store");
        let report = rebuild_and_compare(&store, &scratch).expect("rebuild");
        assert!(report.identical(), "{:#?}", report.comparisons);
        assert!(report.entries_replayed > 500);
    }
    Tamper::open(&data)
        .expect("open RocksDB")
        .overwrite_first(CF_STATE, b"{}")
        .expect("overwrite a state value");
    let store = Store::open(&data).expect("open store");
    let report = rebuild_and_compare(&store, &scratch).expect("rebuild");
    assert!(!report.identical());
    let differing: Vec<(&str, u64)> = report
        .comparisons
        .iter()
        .filter(|c| c.first_difference.is_some())
        .map(|c| (c.cf, c.differing))
        .collect();
    assert_eq!(differing, vec![(CF_STATE, 1)], "{:#?}", report.comparisons);
    // Altered derived state is not tampering with the entries: verify passes.
    drop(store);
    assert!(verify(&data).ok());
}
