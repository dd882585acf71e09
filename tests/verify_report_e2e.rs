//! End-to-end: reports with proofs, verified offline by `custody
//! verify-report`, and the ways someone might try to fool a customer with
//! one: altered figures, dropped or foreign entries, another key, an entry
//! rewritten in RocksDB after a report was issued, and a data directory
//! rolled back to an earlier copy.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use custody_ledger::Entry;
use custody_testkit::tamper::Tamper;
use serde_json::Value;

const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00001";

/// A demo ledger of 10 customers in DIR/data.
fn demo(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let file = demo_file(dir, 10);
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    data
}

/// `n` data-accessed events spread over the demo's customers, ids `{tag}-i`.
fn extra_events(dir: &Path, tag: &str, n: usize) -> PathBuf {
    let file = dir.join(format!("extra-{tag}.jsonl"));
    let lines: String = (0..n)
        .map(|i| {
            format!(
                concat!(
                    r#"{{"eventId":"{tag}-{i}","customerId":"cust-{c:05}","occurredAt":"2026-03-01T10:{m:02}:00Z","#,
                    r#""service":"case-tool","caseId":"case-x","#,
                    r#""actor":{{"id":"eng-9","role":"ROLE_SUPPORT_ENGINEER","entityKind":"ENTITY_KIND_ORGANISATION","officeCountry":"IE","locationCountry":"IE"}},"#,
                    r#""dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}}}"#,
                    "\n"
                ),
                tag = tag,
                i = i,
                c = i % 10,
                m = i % 60
            )
        })
        .collect();
    std::fs::write(&file, lines).expect("write events");
    file
}

fn write_json(path: &Path, v: &Value) -> PathBuf {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("json")).expect("write");
    path.to_path_buf()
}

/// `custody verify-report FILE --public-key KEY EXTRA...`: (success, stdout).
fn verify_report(file: &Path, key: &str, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["verify-report", path_str(file), "--public-key", key];
    args.extend(extra);
    let out = run(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), stdout)
}

fn assert_verified(file: &Path, key: &str, extra: &[&str]) -> String {
    let (ok, out) = verify_report(file, key, extra);
    assert!(ok, "expected {} to verify:\n{out}", file.display());
    assert!(out.contains("report verified"), "{out}");
    out
}

fn assert_rejected(file: &Path, key: &str, extra: &[&str], needle: &str) -> String {
    let (ok, out) = verify_report(file, key, extra);
    assert!(!ok, "expected {} to be rejected:\n{out}", file.display());
    assert!(out.contains("REPORT NOT VERIFIED"), "{out}");
    assert!(out.contains(needle), "expected `{needle}` in:\n{out}");
    out
}

fn cli_report(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend(args);
    all.extend(["--data", path_str(data), "--proofs"]);
    serde_json::from_str(&run_ok(&all)).expect("report JSON")
}

fn get_json(server: &Server, path: &str, token: &str) -> Value {
    let auth = format!("Bearer {token}");
    let (status, body) = server.request("GET", path, &[("Authorization", &auth)], b"");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON body")
}

#[test]
fn reports_from_the_service_verify_and_every_alteration_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let officer = create_token(&data, "officer", None);
    let customer = create_token(&data, "customer", Some(CUSTOMER));
    let server = Server::start(&data);
    let (status, key) = server.request("GET", "/v1/public-key", &[], b"");
    assert_eq!(status, 200);
    let key = key.trim().to_string();

    // Every report endpoint, with proofs, verifies offline.
    let endpoints = [
        (
            format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=true"),
            &customer,
        ),
        (
            format!("/v1/customers/{CUSTOMER}/reports/residency?proofs=true"),
            &customer,
        ),
        (
            format!("/v1/customers/{CUSTOMER}/access-history?proofs=true&limit=5"),
            &customer,
        ),
        (
            format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=true"),
            &officer,
        ),
        (
            "/v1/reports/law-enforcement?proofs=true".to_string(),
            &officer,
        ),
        ("/v1/findings?proofs=true".to_string(), &officer),
    ];
    for (n, (path, tok)) in endpoints.iter().enumerate() {
        let doc = get_json(&server, path, tok);
        assert!(
            doc["proofs"]["entries"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{path}"
        );
        let file = write_json(&dir.path().join(format!("r{n}.json")), &doc);
        assert_verified(&file, &key, &[]);
    }
    // Proofs are JSON only.
    let auth = format!("Bearer {customer}");
    let (status, _) = server.request(
        "GET",
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=true&format=csv"),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 400);

    let doc = get_json(
        &server,
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=true"),
        &customer,
    );
    let good = write_json(&dir.path().join("good.json"), &doc);
    let out = assert_verified(&good, &key, &[]);
    assert!(out.contains("entries: hashes ok, inclusion ok ("), "{out}");
    // Compact proofs: the customer's entries are leaves of the tree the
    // completeness section proves, so they carry no inclusion path; the
    // rest (here: subcontractor registrations) do. `?proofs=full` gives
    // every entry its path, and verifies too.
    let entries = doc["proofs"]["entries"].as_array().unwrap();
    let pathless = entries
        .iter()
        .filter(|e| e.get("inclusion").is_none())
        .count();
    assert!(pathless > 0 && pathless <= entries.len(), "{pathless}");
    let full = get_json(
        &server,
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=full"),
        &customer,
    );
    let full_entries = full["proofs"]["entries"].as_array().unwrap();
    assert!(
        full_entries
            .iter()
            .all(|e| e["inclusion"].as_array().is_some_and(|a| !a.is_empty())
                || e["seq"].as_u64() == Some(0)),
        "every entry has its path with ?proofs=full"
    );
    let f = write_json(&dir.path().join("full.json"), &full);
    let out = assert_verified(&f, &key, &[]);
    assert!(
        !out.contains("as leaves of the customer's committed tree"),
        "{out}"
    );
    assert!(
        serde_json::to_vec(&full).unwrap().len() > serde_json::to_vec(&doc).unwrap().len(),
        "full proofs are larger"
    );
    // A path-less entry whose position the customer's tree does not hold
    // (another customer's entry) is refused.
    let mut bad = doc.clone();
    let at = entries
        .iter()
        .position(|e| e.get("inclusion").is_none())
        .unwrap();
    let other_doc = get_json(
        &server,
        &format!("/v1/customers/{OTHER}/reports/disclosure?proofs=true"),
        &officer,
    );
    let other_entry = other_doc["proofs"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e.get("inclusion").is_none())
        .unwrap()
        .clone();
    bad["proofs"]["entries"][at] = other_entry;
    let f = write_json(&dir.path().join("bad-pathless.json"), &bad);
    assert_rejected(&f, &key, &[], "carries no inclusion proof");

    // One figure changed.
    let mut bad = doc.clone();
    let was = bad["useMatrix"]["rows"][0]["counts"][1].as_u64().unwrap();
    bad["useMatrix"]["rows"][0]["counts"][1] = Value::from(was + 1);
    let f = write_json(&dir.path().join("bad-figure.json"), &bad);
    assert_rejected(
        &f,
        &key,
        &[],
        &format!(
            "useMatrix.rows[0].counts[1]: the report says {}, the proven entries give {was}",
            was + 1
        ),
    );

    // One entry dropped, its counts kept.
    let mut bad = doc.clone();
    bad["proofs"]["entries"].as_array_mut().unwrap().remove(0);
    let f = write_json(&dir.path().join("bad-dropped.json"), &bad);
    // Every entry of the customer is proven now (completeness), so the first
    // need not be one the figures count: the completeness check names it.
    assert_rejected(
        &f,
        &key,
        &[],
        "is committed in the ledger but missing from the report",
    );

    // An entry of another customer swapped in (valid bytes and proof).
    let foreign = get_json(
        &server,
        &format!("/v1/customers/{OTHER}/reports/disclosure?proofs=full"),
        &officer,
    );
    let mut bad = doc.clone();
    bad["proofs"]["entries"][0] = foreign["proofs"]["entries"][0].clone();
    bad["proofs"]["checkpoint"] = foreign["checkpoint"].clone();
    bad["checkpoint"] = foreign["checkpoint"].clone();
    let f = write_json(&dir.path().join("bad-foreign.json"), &bad);
    assert_rejected(&f, &key, &[], &format!("not of `{CUSTOMER}`"));

    // A report from another ledger (its own key), checked with ours.
    let other_dir = dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other_data = demo(&other_dir);
    let other = cli_report(&other_data, &["disclosure", "--customer", CUSTOMER]);
    let f = write_json(&dir.path().join("bad-key.json"), &other);
    assert_rejected(&f, &key, &[], "but the key you pinned is");
    // ... and with our key's name written over its own.
    let mut forged = other.clone();
    forged["checkpoint"]["key"] = Value::from(key.clone());
    forged["proofs"]["checkpoint"]["key"] = Value::from(key.clone());
    let f = write_json(&dir.path().join("bad-forged.json"), &forged);
    assert_rejected(&f, &key, &[], "signature does not verify");

    // Old checkpoints and consistency proofs: any valid token.
    let n = doc["checkpoint"]["number"].as_u64().unwrap();
    let (status, _) = server.request("GET", &format!("/v1/checkpoints/{n}"), &[], b"");
    assert_eq!(status, 401);
    let old = get_json(&server, &format!("/v1/checkpoints/{n}"), &customer);
    assert_eq!(old, doc["checkpoint"]);
    let (status, _) = server.request(
        "GET",
        "/v1/checkpoints/99999",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 404);
    let (status, _) = server.request(
        "GET",
        "/v1/proofs/consistency?shard=0&from_size=1&to_size=999999999",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 400);
    let p = get_json(
        &server,
        "/v1/proofs/consistency?shard=0&from_size=3&to_size=7",
        &customer,
    );
    assert!(p["proof"].as_array().is_some_and(|a| !a.is_empty()), "{p}");
    assert_eq!(
        (p["fromSize"].as_u64(), p["toSize"].as_u64()),
        (Some(3), Some(7))
    );

    // The customer saved the checkpoint; reads since then were folded, so
    // the next report's checkpoint is later. It extends the saved one,
    // proven by the report's own section or by the server.
    let saved = write_json(&dir.path().join("saved.json"), &doc["checkpoint"]);
    let later = get_json(
        &server,
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure?proofs=true&since_checkpoint={n}"),
        &customer,
    );
    assert!(later["checkpoint"]["number"].as_u64().unwrap() > n);
    let f = write_json(&dir.path().join("later.json"), &later);
    let out = assert_verified(&f, &key, &["--previous-checkpoint", path_str(&saved)]);
    assert!(
        out.contains(&format!("consistent with saved checkpoint {n}: ok")),
        "{out}"
    );
    let mut bare = later.clone();
    bare.as_object_mut().unwrap().remove("consistency");
    let f = write_json(&dir.path().join("later-bare.json"), &bare);
    assert_rejected(
        &f,
        &key,
        &["--previous-checkpoint", path_str(&saved)],
        "no consistency proof",
    );
    let url = format!("http://{}", server.addr);
    assert_verified(
        &f,
        &key,
        &[
            "--previous-checkpoint",
            path_str(&saved),
            "--server",
            &url,
            "--token",
            &customer,
        ],
    );
}

#[test]
fn an_entry_rewritten_after_a_report_breaks_consistency_with_the_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let key = run_ok(&["key", "export", "--data", path_str(&data)])
        .trim()
        .to_string();
    let first = cli_report(&data, &["disclosure", "--customer", CUSTOMER]);
    let f = write_json(&dir.path().join("first.json"), &first);
    assert_verified(&f, &key, &[]);
    let saved = write_json(&dir.path().join("saved.json"), &first["checkpoint"]);
    let n = first["checkpoint"]["number"].as_u64().unwrap();

    // Rewrite the last entry of a shard whose last leaf is not under a
    // stored tree node, re-sealed so its own hash looks right.
    let shards = first["checkpoint"]["shards"].as_array().unwrap();
    let (shard, size) = shards
        .iter()
        .map(|h| {
            (
                h["shard"].as_u64().unwrap() as u32,
                h["size"].as_u64().unwrap(),
            )
        })
        .find(|(_, size)| size % 16 != 0)
        .expect("a shard whose size is not a multiple of 16");
    {
        let t = Tamper::open(&data).expect("open RocksDB");
        let stored = t.entry(shard, size - 1).expect("entry");
        let (mut entry, _) = Entry::open(&stored).expect("entry opens");
        entry.source.timestamp_ms += 1;
        let (resealed, _) = entry.seal().expect("seals");
        t.put_entry(shard, size - 1, &resealed).unwrap();
    }
    run_ok(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&extra_events(dir.path(), "x", 40)),
    ]);

    let second = cli_report(
        &data,
        &[
            "disclosure",
            "--customer",
            CUSTOMER,
            "--since-checkpoint",
            &n.to_string(),
        ],
    );
    let f = write_json(&dir.path().join("second.json"), &second);
    // On its own the new report is consistent with itself...
    let (_, out) = verify_report(&f, &key, &[]);
    assert!(out.contains("signed by"), "{out}");
    // ...but not with what the customer saw before.
    let out = assert_rejected(
        &f,
        &key,
        &["--previous-checkpoint", path_str(&saved)],
        "does not extend",
    );
    assert!(out.contains(&format!("shard {shard}")), "{out}");
    // The operator's full check finds it too.
    assert!(!run(&["verify", "--data", path_str(&data)]).status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_rolled_back_data_directory_is_caught_by_the_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo(dir.path());
    let tok = create_token(&data, "customer", Some(CUSTOMER));
    let key = run_ok(&["key", "export", "--data", path_str(&data)])
        .trim()
        .to_string();
    let backup = dir.path().join("backup");
    copy_dir(&data, &backup);

    run_ok(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&extra_events(dir.path(), "a", 30)),
    ]);
    let seen = cli_report(&data, &["disclosure", "--customer", CUSTOMER]);
    let saved = write_json(&dir.path().join("saved.json"), &seen["checkpoint"]);
    let n = seen["checkpoint"]["number"].as_u64().unwrap();

    // Roll back, then fold a different history (twice, so the checkpoint
    // numbers move past the saved one).
    std::fs::remove_dir_all(&data).unwrap();
    copy_dir(&backup, &data);
    run_ok(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&extra_events(dir.path(), "b", 50)),
    ]);
    run_ok(&[
        "import",
        "--data",
        path_str(&data),
        path_str(&extra_events(dir.path(), "c", 50)),
    ]);

    let now = cli_report(&data, &["disclosure", "--customer", CUSTOMER]);
    assert!(now["checkpoint"]["number"].as_u64().unwrap() > n);
    let f = write_json(&dir.path().join("now.json"), &now);
    // The report on its own is fine: everything in it is in this ledger.
    assert_verified(&f, &key, &[]);
    let server = Server::start(&data);
    let url = format!("http://{}", server.addr);
    assert_rejected(
        &f,
        &key,
        &[
            "--previous-checkpoint",
            path_str(&saved),
            "--server",
            &url,
            "--token",
            &tok,
        ],
        "does not extend",
    );
    drop(server);

    // Asking the rolled-back ledger for a section since checkpoint N gets
    // its own, different checkpoint N: a fork, named as such.
    let since = cli_report(
        &data,
        &[
            "disclosure",
            "--customer",
            CUSTOMER,
            "--since-checkpoint",
            &n.to_string(),
        ],
    );
    let f = write_json(&dir.path().join("since.json"), &since);
    assert_rejected(
        &f,
        &key,
        &["--previous-checkpoint", path_str(&saved)],
        "rolled back or forked",
    );
}
