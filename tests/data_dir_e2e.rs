//! Opening a data directory from the CLI: commands that only read work while
//! a server holds the directory (they open a RocksDB secondary instance);
//! commands that need the writer say so in one line and exit non-zero; a
//! directory that holds no ledger is refused and not created.

mod common;

use std::process::Output;

use common::*;

const EVENT: &str = r#"{"eventId":"beside-1","customerId":"cust-00001","occurredAt":"2026-02-01T10:00:00Z","actor":{"id":"eng-1","role":"ROLE_SUPPORT_ENGINEER"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn readers_work_beside_a_server_and_writers_are_told_it_holds_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = path_str(&data);
    run_ok(&["demo", "--data", d, "--customers", "3", "--no-serve"]);
    let officer = run_ok(&["token", "create", "--data", d, "--role", "officer"]);
    let officer = officer.trim().to_string();
    let before = verified_entries(&data);

    let server = Server::start(&data);
    // An event folded by the server (logged, not yet flushed) is seen by
    // the read-only commands.
    let auth = format!("Bearer {officer}");
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        EVENT.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(verified_entries(&data), before + 1);

    let findings = run_ok(&["findings", "--data", d]);
    assert!(!findings.trim().is_empty(), "the demo has findings");
    run_ok(&["quarantine", "list", "--data", d]);
    let tokens = run_ok(&["token", "list", "--data", d]);
    assert!(tokens.contains("\"officer\""), "{tokens}");
    let key = run_ok(&["key", "export", "--data", d]);
    let (status, served_key) = server.request("GET", "/v1/public-key", &[], b"");
    assert_eq!(status, 200);
    assert!(served_key.contains(key.trim()), "{key} vs {served_key}");

    let held = format!("a server holds {d}; stop it or use the HTTP API");
    for args in [
        vec!["token", "create", "--data", d, "--role", "officer"],
        vec!["token", "revoke", "--data", d, "token-0000000000000000"],
        vec!["report", "findings", "--data", d],
        vec!["checkpoint", "--data", d],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "custody {args:?} succeeded");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "custody {args:?}: {lines:?}");
        assert!(lines[0].contains("a server holds"), "{lines:?}");
        assert_eq!(lines[0], held, "custody {args:?}");
    }
    server.stop();

    // Once the server is gone the writer's commands work again.
    run_ok(&["report", "findings", "--data", d]);
}

#[test]
fn a_directory_that_holds_no_ledger_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo");
    let t = path_str(&typo);
    for args in [
        vec!["key", "export", "--data", t],
        vec!["report", "findings", "--data", t],
        vec![
            "report",
            "disclosure",
            "--data",
            t,
            "--customer",
            "cust-00001",
        ],
        vec!["verify", "--data", t],
        vec!["findings", "--data", t],
        vec!["quarantine", "list", "--data", t],
        vec!["token", "list", "--data", t],
        vec!["token", "revoke", "--data", t, "token-0000000000000000"],
        vec!["checkpoint", "--data", t],
        vec!["rebuild", "--data", t],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "custody {args:?} succeeded");
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "custody {args:?}: {lines:?}");
        assert!(
            lines[0].contains(&format!("{t} is not a Custody data directory")),
            "custody {args:?}: {lines:?}"
        );
        assert!(!typo.exists(), "custody {args:?} created {t}");
    }
    // An empty directory is no ledger either, and stays empty.
    std::fs::create_dir(&typo).unwrap();
    let out = run(&["verify", "--data", t]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(&typo).unwrap().count(), 0);
}
