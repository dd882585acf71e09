//! The demo workload (`custody demo`) shows every rule at work: each rule
//! of `custody_policy::RULES` has at least one finding in the default
//! 40-customer demo, so an officer trying the product sees each kind.

use std::collections::BTreeSet;

use custody_testkit::ledger::demo_ledger;

#[test]
fn the_default_demo_has_a_finding_of_every_rule() {
    let dir = tempfile::tempdir().expect("tmp");
    let ledger = demo_ledger(&dir.path().join("data"), 40).expect("demo ledger");
    let found: BTreeSet<String> = ledger
        .store()
        .findings(None, None, None)
        .expect("findings")
        .into_iter()
        // Discharged obligations and withdrawal markers are no findings.
        .filter(|k| k.state != b'd' && k.state != b'w')
        .map(|k| k.rule)
        .collect();
    let missing: Vec<&str> = custody_policy::RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(missing.is_empty(), "no finding of {missing:?} in the demo");
}

/// The demo delivers a few records late (a redirect and a notice made in
/// time, recorded a day after the disclosure): in event time their
/// disclosures' findings are withdrawn and discharged, not final; received
/// credentials deleted in time leave no finding; and a rebuild and a second
/// fold of the same records derive the same entries, indexes and state.
#[test]
fn the_demo_judges_in_event_time_and_refolds_alike() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let ledger = demo_ledger(&data, 40).expect("demo ledger");
    let store = ledger.store();
    let count = |state: u8, rule: &str| {
        store
            .findings(Some(state), Some(rule), None)
            .expect("findings")
            .len()
    };
    assert!(
        count(b'w', "LE-REDIRECT-FIRST") > 0,
        "no withdrawn redirect breach"
    );
    assert!(
        count(b'd', "LE-NOTICE") > 0,
        "no discharged notice obligation"
    );
    assert!(
        count(b'd', "CREDENTIALS-DELETED") > 0,
        "no discharged credentials"
    );
    // Credentials kept past their deadline, deleted later: a closed finding.
    assert!(count(b'c', "CREDENTIALS-DELETED") > 0, "no late deletion");
    // Every withdrawn breach is a recorded one, and no final breach of the
    // late requests remains.
    for w in store.findings(Some(b'w'), None, None).expect("withdrawn") {
        let recorded = store
            .findings(Some(b'r'), Some(&w.rule), Some(&w.customer))
            .expect("recorded");
        assert!(
            recorded
                .iter()
                .any(|r| (r.shard, r.seq) == (w.shard, w.seq)),
            "withdrawn {w:?} without its breach"
        );
    }
    let report =
        custody_ledger::rebuild_and_compare(store, &dir.path().join("scratch")).expect("rebuild");
    assert!(report.identical(), "{report:?}");

    // A second fold of the same records, from scratch, in other batches.
    let events = custody_testkit::generate(custody_testkit::DemoParams {
        customers: 40,
        ..custody_testkit::DemoParams::default()
    });
    let mut second = custody_ledger::Ledger::open(&dir.path().join("again")).expect("open");
    for chunk in events.chunks(333) {
        let records = second.embedded_records(
            chunk
                .iter()
                .map(|e| (e.customer_id.clone(), prost::Message::encode_to_vec(e)))
                .collect(),
        );
        second.fold(&records).expect("fold");
    }
    assert_eq!(
        store.heads().expect("heads"),
        second.store().heads().expect("heads")
    );
    for shard in 0..ledger.embedded_shards() {
        assert_eq!(
            store.event_time(shard).expect("time"),
            second.store().event_time(shard).expect("time"),
            "shard {shard}"
        );
    }
}
