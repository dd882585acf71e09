//! End-to-end: the real binary folds the demo workload, verifies it, and
//! names tampering done through RocksDB itself. Each kind of tampering is
//! tested in-process in ledger/tests/tamper.rs; here the CLI's exit status
//! and wording are.

mod common;

use common::*;
use custody_ledger::keys;
use custody_testkit::tamper::Tamper;

/// Imports the demo workload into a fresh data directory.
fn demo_ledger(dir: &std::path::Path) -> std::path::PathBuf {
    let file = demo_file(dir, 40);
    let data = dir.join("data");
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    data
}

fn verify_fails_with(data: &std::path::Path, expect: &[&str]) -> String {
    let out = run(&["verify", "--data", path_str(data)]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !out.status.success(),
        "verify passed on a tampered ledger:\n{stdout}"
    );
    for e in expect {
        assert!(
            stdout.contains(e),
            "expected `{e}` in verify output:\n{stdout}"
        );
    }
    stdout
}

#[test]
fn demo_ledger_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_ledger(dir.path());
    let out = run_ok(&["verify", "--data", path_str(&data)]);
    assert!(out.contains("OK:"), "{out}");
    // The public key can be exported and pinned.
    let key = run_ok(&["key", "export", "--data", path_str(&data)]);
    let out = run_ok(&[
        "verify",
        "--data",
        path_str(&data),
        "--public-key",
        key.trim(),
    ]);
    assert!(out.contains("OK:"), "{out}");
}

#[test]
fn verify_and_rebuild_name_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_ledger(dir.path());
    let out = run_ok(&["rebuild", "--data", path_str(&data)]);
    assert!(out.contains("OK:"), "{out}");
    // Alter one policy-state value: rebuild names the column family (verify,
    // which checks the entries, still passes).
    Tamper::open(&data)
        .unwrap()
        .overwrite_first(keys::CF_STATE, b"{}")
        .unwrap();
    let out = run(&["rebuild", "--data", path_str(&data)]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("state") && l.contains("1 differ")),
        "{stdout}"
    );
    run_ok(&["verify", "--data", path_str(&data)]);
    // Flip one byte of an entry: verify names it by position.
    let (shard, size) = {
        let t = Tamper::open(&data).unwrap();
        let (shard, size) = t.largest_shard().unwrap();
        t.flip_entry_byte(shard, size / 2, 100).unwrap();
        (shard, size)
    };
    let stdout = verify_fails_with(
        &data,
        &[
            &format!("shard {shard} seq {}", size / 2),
            "altered in storage",
        ],
    );
    assert!(stdout.contains("TAMPERED:"), "{stdout}");
    // A key that did not sign the checkpoints is named too (another
    // ledger's: `key export` creates no key).
    let other = dir.path().join("other");
    run_ok(&[
        "demo",
        "--data",
        path_str(&other),
        "--customers",
        "1",
        "--no-serve",
    ]);
    let other_key = run_ok(&["key", "export", "--data", path_str(&other)]);
    verify_fails_with_key(&data, other_key.trim(), "was signed by key");
}

#[test]
fn verify_names_a_deleted_index_key() {
    // Found by a tester: one by_customer key deleted with the server
    // stopped hid an access from the customer's history, and verify passed.
    let dir = tempfile::tempdir().unwrap();
    let data = demo_ledger(dir.path());
    let (customer, shard, seq) = {
        let t = Tamper::open(&data).unwrap();
        let all = t.key_values(keys::CF_BY_CUSTOMER).unwrap();
        let (k, _) = &all[all.len() / 2];
        t.delete_key(keys::CF_BY_CUSTOMER, k).unwrap();
        let n = usize::from(u16::from_be_bytes([k[0], k[1]]));
        let customer = String::from_utf8(k[2..2 + n].to_vec()).unwrap();
        let (_, shard, seq) = keys::parse_by_customer(k).unwrap();
        (customer, shard, seq)
    };
    let stdout = verify_fails_with(
        &data,
        &[&format!(
            "TAMPERED: shard {shard} seq {seq}: by_customer index lacks the key for customer `{customer}` at "
        )],
    );
    assert_eq!(stdout.matches("TAMPERED:").count(), 1, "{stdout}");
}

fn verify_fails_with_key(data: &std::path::Path, key: &str, expect: &str) {
    let out = run(&["verify", "--data", path_str(data), "--public-key", key]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(expect), "{stdout}");
}

#[test]
fn folding_the_same_records_twice_gives_identical_heads() {
    let dir = tempfile::tempdir().unwrap();
    let file = demo_file(dir.path(), 25);
    let heads = |name: &str| {
        let data = dir.path().join(name);
        run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
        let cp: serde_json::Value =
            serde_json::from_str(&run_ok(&["checkpoint", "--data", path_str(&data)])).unwrap();
        // Sizes and roots; the customer-map roots depend on each ledger's
        // own secrets (VRF key, seal secret) as well.
        cp["shards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["shard"].clone(), h["size"].clone(), h["root"].clone()))
            .collect::<Vec<_>>()
    };
    let a = heads("a");
    let b = heads("b");
    assert!(!a.is_empty());
    assert_eq!(a, b, "two stores folding the same records disagree");
}

#[test]
fn reimport_folds_nothing_twice_and_bad_lines_are_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let file = demo_file(dir.path(), 5);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("{\"eventId\":\"bad-1\",\"customerId\":\"c\"}\n");
    text.push_str("this is not json\n");
    let lines = text.lines().count() as u64;
    std::fs::write(&file, &text).unwrap();
    let data = dir.path().join("data");
    let first: serde_json::Value = serde_json::from_str(
        run_ok(&["import", "--data", path_str(&data), path_str(&file)]).trim(),
    )
    .unwrap();
    assert_eq!(first["quarantined"], 2);
    assert_eq!(first["read"], lines);
    let second: serde_json::Value = serde_json::from_str(
        run_ok(&["import", "--data", path_str(&data), path_str(&file)]).trim(),
    )
    .unwrap();
    assert_eq!(second["folded"], 0, "{second}");
    assert_eq!(second["quarantined"], 0, "{second}");
    let q = run_ok(&["quarantine", "list", "--data", path_str(&data)]);
    let rows: Vec<serde_json::Value> = q
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["offset"], lines - 1);
    assert!(
        rows[0]["reason"].as_str().unwrap().contains("occurredAt")
            || rows[0]["reason"].as_str().unwrap().contains("kind"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[1]["offset"], lines);
    // Text that is no JSON at all is refused as invalid event JSON.
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid event JSON"),
        "{}",
        rows[1]
    );
    assert_eq!(rows[1]["line"], lines, "{}", rows[1]);
    assert_eq!(rows[1]["payloadText"], "this is not json", "{}", rows[1]);
    run_ok(&["verify", "--data", path_str(&data)]);
}

#[test]
fn demo_produces_a_finding_of_every_rule_and_a_clean_majority() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_ledger(dir.path());
    let out = run_ok(&["findings", "--data", path_str(&data)]);
    let findings: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for rule in custody_policy::RULES {
        assert!(
            findings.iter().any(|f| f["rule"] == rule.id),
            "the demo has no finding of {}",
            rule.id
        );
    }
    for state in ["open", "closed", "recorded"] {
        assert!(
            findings.iter().any(|f| f["state"] == state),
            "no {state} finding"
        );
    }
    let entries = verified_entries(&data) as usize;
    assert!(
        findings.len() * 10 < entries,
        "{} findings in {entries} entries",
        findings.len()
    );
}

#[test]
fn reports_read_through_the_cli_are_recorded_too() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_ledger(dir.path());
    let before = verified_entries(&data);
    run_ok(&[
        "report",
        "disclosure",
        "--data",
        path_str(&data),
        "--customer",
        "cust-00005",
    ]);
    assert_eq!(verified_entries(&data), before + 1);
    let history = run_ok(&[
        "report",
        "access-history",
        "--data",
        path_str(&data),
        "--customer",
        "cust-00005",
    ]);
    assert!(
        history.contains("cli:"),
        "the CLI read is in the access history: {history}"
    );
    assert_eq!(verified_entries(&data), before + 2);
}
