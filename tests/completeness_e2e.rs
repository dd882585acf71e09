//! End-to-end: completeness. A customer's report with proofs shows every
//! entry the ledger holds about them (the signed customer maps say how many
//! and which), so leaving one out is caught offline by `custody
//! verify-report`; entries sealed by a non-disclosure order stay committed
//! but hidden from the customer and opened to officers; a report older than
//! the checkpoint a customer holds is refused.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use custody_testkit::tamper::Tamper;
use serde_json::Value;

const CUSTOMER: &str = "cust-00005";

/// A demo ledger of 10 customers in DIR/data.
fn demo(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let file = demo_file(dir, 10);
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    data
}

fn key(data: &Path) -> String {
    run_ok(&["key", "export", "--data", path_str(data)])
        .trim()
        .to_string()
}

fn report(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend(args);
    all.extend(["--data", path_str(data), "--proofs"]);
    serde_json::from_str(&run_ok(&all)).expect("report JSON")
}

fn write_json(path: &Path, v: &Value) -> PathBuf {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("json")).expect("write");
    path.to_path_buf()
}

fn verify_report(file: &Path, key: &str, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["verify-report", path_str(file), "--public-key", key];
    args.extend(extra);
    let out = run(&args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn assert_rejected(file: &Path, key: &str, extra: &[&str], needle: &str) -> String {
    let (ok, out) = verify_report(file, key, extra);
    assert!(!ok, "expected {} to be rejected:\n{out}", file.display());
    assert!(out.contains(needle), "expected `{needle}` in:\n{out}");
    out
}

/// Entries the completeness section commits to, per shard.
fn committed(doc: &Value) -> u64 {
    doc["proofs"]["completeness"]["shards"]
        .as_array()
        .expect("completeness shards")
        .iter()
        .map(|s| s["leaves"].as_array().map_or(0, |l| l.len() as u64))
        .sum()
}

#[test]
fn every_customer_report_proves_it_holds_all_the_customers_entries() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = key(&data);
    for (n, args) in [
        vec!["disclosure", "--customer", CUSTOMER, "--customer-copy"],
        vec!["residency", "--customer", CUSTOMER, "--customer-copy"],
        vec![
            "access-history",
            "--customer",
            CUSTOMER,
            "--limit",
            "5",
            "--customer-copy",
        ],
        vec!["disclosure", "--customer", CUSTOMER],
    ]
    .into_iter()
    .enumerate()
    {
        let doc = report(&data, &args);
        assert!(committed(&doc) > 5, "{args:?}: {}", committed(&doc));
        let f = write_json(&dir.path().join(format!("r{n}.json")), &doc);
        let (ok, out) = verify_report(&f, &key, &[]);
        assert!(ok, "{args:?}:\n{out}");
        assert!(
            out.contains(&format!(
                "completeness of customer `{CUSTOMER}`'s entries: ok"
            )),
            "{out}"
        );
        assert!(
            out.contains("bound to `cust-00005` by the ledger's VRF"),
            "{out}"
        );
        assert!(out.contains("not checked"), "{out}");
    }

    // A committed entry left out of a disclosure report is named by its
    // position (the figures no longer add up either).
    let mut doc = report(&data, &["disclosure", "--customer", CUSTOMER]);
    let entries = doc["proofs"]["entries"].as_array_mut().unwrap();
    let gone = entries.remove(entries.len() / 2);
    let (shard, seq) = (
        gone["shard"].as_u64().unwrap(),
        gone["seq"].as_u64().unwrap(),
    );
    let f = write_json(&dir.path().join("dropped.json"), &doc);
    assert_rejected(
        &f,
        &key,
        &[],
        &format!("entry {shard}/{seq} of customer `{CUSTOMER}`"),
    );

    // A leaf left out of the customer's tree: the count no longer matches
    // the signed map.
    let mut doc = report(&data, &["disclosure", "--customer", CUSTOMER]);
    for s in doc["proofs"]["completeness"]["shards"]
        .as_array_mut()
        .unwrap()
    {
        if let Some(leaves) = s["leaves"].as_array_mut().filter(|l| !l.is_empty()) {
            leaves.pop();
        }
    }
    let f = write_json(&dir.path().join("leaf.json"), &doc);
    assert_rejected(&f, &key, &[], "left out");

    // Another customer's proof does not pass for this one.
    let other = report(&data, &["disclosure", "--customer", "cust-00001"]);
    let mut doc = report(&data, &["disclosure", "--customer", CUSTOMER]);
    doc["proofs"]["completeness"]["vrfProof"] = other["proofs"]["completeness"]["vrfProof"].clone();
    let f = write_json(&dir.path().join("vrf.json"), &doc);
    assert_rejected(&f, &key, &[], "VRF proof does not bind");
}

#[test]
fn an_index_key_deleted_in_rocksdb_is_caught_by_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = key(&data);
    let before = report(&data, &["disclosure", "--customer", CUSTOMER]);
    let total = committed(&before);
    {
        // One key of the customer's by_customer index, as a RocksDB client
        // would delete it with the server stopped.
        let t = Tamper::open(&data).unwrap();
        let db = t.db();
        let cf = db.cf_handle("by_customer").unwrap();
        let mut prefix = (CUSTOMER.len() as u16).to_be_bytes().to_vec();
        prefix.extend_from_slice(CUSTOMER.as_bytes());
        let victim = db
            .prefix_iterator_cf(cf, &prefix)
            .map(|kv| kv.unwrap().0)
            .find(|k| k.starts_with(&prefix))
            .expect("a key of the customer");
        db.delete_cf(cf, &victim).unwrap();
    }
    let after = report(&data, &["disclosure", "--customer", CUSTOMER]);
    // The server's own index lost the entry; the signed map did not. (The
    // first report's read was recorded in between: one entry more.)
    assert_eq!(committed(&after), total);
    let f = write_json(&dir.path().join("after.json"), &after);
    let out = assert_rejected(&f, &key, &[], "left out");
    assert!(
        out.contains(&format!(
            "the report gives {total} of the customer's entries, the signed map commits to {}",
            total + 1
        )),
        "{out}"
    );
}

#[test]
fn sealed_entries_are_hidden_from_the_customer_and_opened_to_officers() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = key(&data);
    // A request under a non-disclosure order in force until 2099, and an
    // access after it.
    let file = dir.path().join("sealed.jsonl");
    std::fs::write(
        &file,
        format!(
            concat!(
                r#"{{"eventId":"le-x","customerId":"{c}","occurredAt":"2026-04-01T10:00:00Z","#,
                r#""actor":{{"id":"legal-1","role":"ROLE_LEGAL"}},"#,
                r#""lawEnforcementRequestReceived":{{"requestId":"req-sealed","agency":"Agency","jurisdiction":"US","#,
                r#""instrument":"LEGAL_INSTRUMENT_SUBPOENA","legallyBinding":true,"scopeRequested":["DATA_CATEGORY_CONTACT"],"#,
                r#""nondisclosureOrder":true,"nondisclosureExpiresAt":"2099-01-01T00:00:00Z"}}}}"#,
                "\n"
            ),
            c = CUSTOMER
        ),
    )
    .unwrap();
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    let customer = CUSTOMER.to_string();
    let officer = report(&data, &["disclosure", "--customer", &customer]);
    let sealed: usize = officer["proofs"]["completeness"]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["sealed"]["leaves"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(sealed, 1, "{}", officer["proofs"]["completeness"]);
    let f = write_json(&dir.path().join("officer.json"), &officer);
    let (ok, out) = verify_report(&f, &key, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "of which {sealed} sealed by non-disclosure orders"
        )),
        "{out}"
    );

    let mine = report(
        &data,
        &["disclosure", "--customer", &customer, "--customer-copy"],
    );
    let text = serde_json::to_string(&mine).unwrap();
    assert!(
        !text.contains("\"sealed\":{"),
        "the customer's copy opens nothing"
    );
    assert!(!text.contains("sealed by"), "{text}");
    let f = write_json(&dir.path().join("customer.json"), &mine);
    let (ok, out) = verify_report(&f, &key, &[]);
    assert!(ok, "{out}");
    assert!(
        !out.contains("sealed"),
        "the checker says nothing of it: {out}"
    );
    // The customer's copy commits the same visible entries (plus the
    // officer's read, recorded against the customer in between).
    assert_eq!(committed(&mine), committed(&officer) + 1);
}

#[test]
fn a_report_older_than_the_checkpoint_the_customer_holds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = key(&data);
    let old = report(&data, &["disclosure", "--customer", CUSTOMER]);
    let old_file = write_json(&dir.path().join("old.json"), &old);
    // Reports record their reads, so each one moves the ledger on.
    report(&data, &["disclosure", "--customer", CUSTOMER]);
    let newer = report(&data, &["disclosure", "--customer", CUSTOMER]);
    let held = write_json(&dir.path().join("held.json"), &newer["checkpoint"]);
    let (o, h) = (
        old["checkpoint"]["number"].as_u64().unwrap(),
        newer["checkpoint"]["number"].as_u64().unwrap(),
    );
    assert!(o < h);
    assert_rejected(
        &old_file,
        &key,
        &["--previous-checkpoint", path_str(&held)],
        &format!("report is at checkpoint {o}; you hold checkpoint {h}"),
    );
}

#[test]
fn custody_verify_recomputes_the_customer_trees_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    // An honest ledger verifies, maps included.
    run_ok(&["checkpoint", "--data", path_str(&data)]);
    run_ok(&["verify", "--data", path_str(&data)]);
    {
        // A stored customer tree rewritten: one entry fewer (count and
        // peaks of a shorter tree), as an operator hiding an entry from the
        // maps would have to.
        let t = Tamper::open(&data).unwrap();
        let db = t.db();
        let cf = db.cf_handle("customers").unwrap();
        let mut key = Vec::new();
        let (k, v) = db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .map(|kv| kv.unwrap())
            .find(|(k, _)| k.ends_with(CUSTOMER.as_bytes()))
            .expect("the customer's tree");
        key.extend_from_slice(&k);
        let mut forged = v.to_vec();
        forged[8..40].copy_from_slice(&[7; 32]);
        db.put_cf(cf, &key, &forged).unwrap();
    }
    let out = run(&["verify", "--data", path_str(&data)]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("the stored tree of customer `{CUSTOMER}`")),
        "{text}"
    );
}

/// RFC 3339 (UTC, seconds) of a time in ms since the epoch.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn entries_released_when_an_order_expires_were_committed_all_along() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = key(&data);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expires = now_ms + 4_000;
    let file = dir.path().join("order.jsonl");
    std::fs::write(
        &file,
        format!(
            concat!(
                r#"{{"eventId":"le-short","customerId":"{c}","occurredAt":"2026-04-01T10:00:00Z","#,
                r#""actor":{{"id":"legal-1","role":"ROLE_LEGAL"}},"#,
                r#""lawEnforcementRequestReceived":{{"requestId":"req-short","agency":"Agency","jurisdiction":"US","#,
                r#""instrument":"LEGAL_INSTRUMENT_SUBPOENA","legallyBinding":true,"scopeRequested":["DATA_CATEGORY_CONTACT"],"#,
                r#""nondisclosureOrder":true,"nondisclosureExpiresAt":"{t}"}}}}"#,
                "\n"
            ),
            c = CUSTOMER,
            t = rfc3339(expires)
        ),
    )
    .unwrap();
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);

    // Under the order: the customer's copy neither shows nor counts it.
    let old = report(
        &data,
        &["disclosure", "--customer", CUSTOMER, "--customer-copy"],
    );
    assert!(!serde_json::to_string(&old).unwrap().contains("req-short"));
    let old_file = write_json(&dir.path().join("old.json"), &old);
    let j = old["checkpoint"]["number"].as_u64().unwrap();

    // After it expires, a report since checkpoint j opens j's commitment.
    let wait = expires + 1_500 - now_ms;
    std::thread::sleep(std::time::Duration::from_millis(wait.max(0) as u64));
    let new = report(
        &data,
        &[
            "disclosure",
            "--customer",
            CUSTOMER,
            "--customer-copy",
            "--since-checkpoint",
            &j.to_string(),
        ],
    );
    assert!(serde_json::to_string(&new).unwrap().contains("req-short"));
    let openings = new["proofs"]["completeness"]["openings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(openings.len(), 1, "{}", new["proofs"]["completeness"]);
    let new_file = write_json(&dir.path().join("new.json"), &new);
    let (ok, out) = verify_report(&new_file, &key, &["--previous-report", path_str(&old_file)]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "1 entries withheld from you at checkpoint {j} (a non-disclosure order, expired since) are in this report"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("consistent with saved checkpoint {j}: ok")),
        "{out}"
    );

    // A forged opening does not match the commitment the customer kept.
    let mut forged = new.clone();
    forged["proofs"]["completeness"]["openings"][0]["nonce"] = Value::String("00".repeat(32));
    let f = write_json(&dir.path().join("forged.json"), &forged);
    assert_rejected(
        &f,
        &key,
        &["--previous-report", path_str(&old_file)],
        "does not match the commitment your earlier report holds",
    );

    // Nothing withheld from a customer without an order: nothing to open.
    let other_old = report(
        &data,
        &["disclosure", "--customer", "cust-00001", "--customer-copy"],
    );
    let n = other_old["checkpoint"]["number"].as_u64().unwrap();
    let other_old_file = write_json(&dir.path().join("other-old.json"), &other_old);
    let other_new = report(
        &data,
        &[
            "disclosure",
            "--customer",
            "cust-00001",
            "--customer-copy",
            "--since-checkpoint",
            &n.to_string(),
        ],
    );
    let f = write_json(&dir.path().join("other-new.json"), &other_new);
    let (ok, out) = verify_report(&f, &key, &["--previous-report", path_str(&other_old_file)]);
    assert!(ok, "{out}");
    assert!(out.contains("nothing to open"), "{out}");
}
