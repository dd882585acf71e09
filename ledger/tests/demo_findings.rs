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
        .map(|k| k.rule)
        .collect();
    let missing: Vec<&str> = custody_policy::RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| !found.contains(*id))
        .collect();
    assert!(missing.is_empty(), "no finding of {missing:?} in the demo");
}
