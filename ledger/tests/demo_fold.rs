//! The demo workload through the real fold and RocksDB.

/// The ledger writes a customer's state only when
/// `custody_policy::changes_state` says so: after folding the whole demo,
/// the state read back from RocksDB must equal the state in memory.
#[test]
fn persisted_policy_state_equals_the_live_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = custody_testkit::generate(custody_testkit::DemoParams::default());
    let mut ledger = custody_ledger::Ledger::open(dir.path()).expect("open");
    let payloads = events
        .iter()
        .map(|e| (e.customer_id.clone(), prost::Message::encode_to_vec(e)))
        .collect();
    let records = ledger.embedded_records(payloads);
    for chunk in records.chunks(100) {
        ledger.fold(chunk).expect("fold");
    }
    let live: Vec<_> = (0..ledger.embedded_shards())
        .map(|s| ledger.policy_state(s).cloned())
        .collect();
    drop(ledger);
    let reopened = custody_ledger::Ledger::open(dir.path()).expect("reopen");
    for (s, state) in live.iter().enumerate() {
        assert_eq!(reopened.policy_state(s as u32), state.as_ref(), "shard {s}");
    }
    assert!(live.iter().flatten().any(|s| !s.customers.is_empty()));
}
