//! End-to-end: the report endpoints of `custody serve` with bearer tokens:
//! who may read what, every read recorded in the ledger, and the CSV and
//! HTML renderings with the same figures as the JSON and the CLI.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::*;

/// The demo customer with a law-enforcement request, and another one.
const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00001";

struct Setup {
    _dir: tempfile::TempDir,
    data: PathBuf,
    officer: String,
    customer: String,
    other: String,
    emitter: String,
}

/// Demo ledger of 10 customers plus one token per role.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = demo_file(dir.path(), 10);
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    Setup {
        officer: create_token(&data, "officer", None),
        customer: create_token(&data, "customer", Some(CUSTOMER)),
        other: create_token(&data, "customer", Some(OTHER)),
        emitter: create_token(&data, "emitter", None),
        data,
        _dir: dir,
    }
}

/// GET with the response head (for the content type).
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn entries(server: &Server) -> u64 {
    let (status, body) = server.request("GET", "/v1/status", &[], b"");
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("status JSON");
    v["entries"].as_u64().expect("entries")
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Roles, bad parameters and public endpoints are tested in-process in
/// query/tests/report_roles.rs; through the real server, a report needs a
/// token and posting events needs an emitter or officer token.
#[test]
fn the_server_enforces_roles_on_reports_and_intake() {
    let s = setup();
    let server = Server::start(&s.data);
    let path = format!("/v1/customers/{CUSTOMER}/reports/disclosure");
    assert_eq!(get(server.addr, &path, &[]).0, 401);
    let auth = bearer(&s.other);
    assert_eq!(get(server.addr, &path, &[("Authorization", &auth)]).0, 403);
    let auth = bearer(&s.customer);
    assert_eq!(get(server.addr, &path, &[("Authorization", &auth)]).0, 200);
    let officer = bearer(&s.officer);
    // A customer filter that no event could carry is a 400, and nothing is
    // written (no read recorded, nothing quarantined).
    let quarantined = |server: &Server| -> u64 {
        let (_, body) = server.request("GET", "/v1/status", &[], b"");
        json(&body)["quarantined"].as_u64().expect("quarantined")
    };
    let before = quarantined(&server);
    for bad in ["", "%0A", "a%09b"] {
        let (code, _, body) = get(
            server.addr,
            &format!("/v1/findings?customer={bad}"),
            &[("Authorization", &officer)],
        );
        assert_eq!(code, 400, "customer={bad}: {body}");
        assert_eq!(json(&body)["field"], "customer", "{body}");
    }
    assert_eq!(quarantined(&server), before);

    // Once tokens exist, posting events needs an emitter or officer token.
    let event = format!(
        r#"{{"eventId":"r-e2e-1","customerId":"{CUSTOMER}","occurredAt":"2026-06-01T10:00:00Z","service":"case-tool","actor":{{"id":"eng-9","role":"ROLE_SUPPORT_ENGINEER","entityKind":"ENTITY_KIND_ORGANISATION","officeCountry":"IE","locationCountry":"IE"}},"dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}}}"#
    );
    let ct = ("Content-Type", "application/json");
    let post = |tok: Option<&str>| {
        let auth = tok.map(bearer);
        let mut headers = vec![ct];
        if let Some(a) = auth.as_deref() {
            headers.push(("Authorization", a));
        }
        server
            .request("POST", "/v1/events", &headers, event.as_bytes())
            .0
    };
    assert_eq!(post(None), 401);
    assert_eq!(post(Some(&s.customer)), 403);
    assert_eq!(post(Some(&s.emitter)), 200);
    // `custody emit --http` sends the token (flag or CUSTODY_TOKEN); without
    // one it says what to pass.
    let file = s.data.parent().unwrap().join("emit.jsonl");
    std::fs::write(&file, event.replace("r-e2e-1", "r-e2e-2") + "\n").unwrap();
    let url = format!("http://{}", server.addr);
    let out = run(&["emit", "--http", &url, path_str(&file)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--token"), "{stderr}");
    let out = run_ok(&[
        "emit",
        "--http",
        &url,
        "--token",
        &s.emitter,
        path_str(&file),
    ]);
    assert!(out.is_empty() || !out.contains("error"), "{out}");
    let out = custody()
        .args(["emit", "--http", &url, path_str(&file)])
        .env("CUSTODY_TOKEN", &s.emitter)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The help lists no consumer-only flag.
    let help = run_ok(&["emit", "--help"]);
    assert!(
        !help.contains("--group") && !help.contains("--partitions"),
        "{help}"
    );
    assert!(help.contains("--token"), "{help}");
    // Verification material stays public.
    assert_eq!(server.request("GET", "/v1/checkpoint", &[], b"").0, 200);
    assert_eq!(server.request("GET", "/v1/public-key", &[], b"").0, 200);
    let (code, _, body) = get(server.addr, "/openapi.json", &[]);
    assert_eq!(code, 200);
    assert!(json(&body)["paths"]["/v1/reports/law-enforcement"].is_object());
}

#[test]
fn every_read_is_recorded_and_formats_carry_the_same_figures() {
    let s = setup();
    // The CLI's use matrix, computed from the data directory before serving.
    let cli_csv = run_ok(&[
        "report",
        "disclosure",
        "--data",
        path_str(&s.data),
        "--customer",
        CUSTOMER,
        "--format",
        "csv",
    ]);
    let server = Server::start(&s.data);
    let officer = bearer(&s.officer);
    let customer = bearer(&s.customer);
    let disclosure = format!("/v1/customers/{CUSTOMER}/reports/disclosure");

    let before = entries(&server);
    let (code, head, body) = get(server.addr, &disclosure, &[("Authorization", &officer)]);
    assert_eq!(code, 200, "{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let doc = json(&body);
    assert_eq!(entries(&server), before + 1, "one report read recorded");
    assert!(doc["checkpoint"]["signature"].is_string());
    assert!(doc["generatedAtMs"].is_i64());
    assert_eq!(doc["audience"], "officer");

    // CSV: the use matrix, the same figures as the JSON and the CLI.
    let (code, head, csv) = get(
        server.addr,
        &format!("{disclosure}?format=csv"),
        &[("Authorization", &officer)],
    );
    assert_eq!(code, 200);
    assert!(head.contains("content-type: text/csv"), "{head}");
    assert_eq!(csv, cli_csv);
    let providing = doc["useMatrix"]["rows"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r["purpose"] == "PURPOSE_PROVIDING_SUPPORT")
        })
        .expect("providing-support row");
    let counts: Vec<String> = providing["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c.to_string())
        .collect();
    // Human labels in CSV: enum values as words.
    let row = format!(
        "providing support,{},{}",
        counts.join(","),
        providing["events"]
    );
    assert!(csv.lines().any(|l| l == row), "{row} not in\n{csv}");
    assert!(
        csv.starts_with("purpose,contact data,customer data"),
        "{csv}"
    );
    assert_eq!(custody_query::labels::has_raw_enum(&csv), None, "{csv}");

    // HTML by Accept, for the customer: the matrix, the requests, the checkpoint.
    let (code, head, html) = get(
        server.addr,
        &disclosure,
        &[("Authorization", &customer), ("Accept", "text/html")],
    );
    assert_eq!(code, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(html.contains(&format!("Disclosure report for {CUSTOMER}")));
    assert!(html.contains(">providing support</td>"));
    assert!(
        !html.contains("PURPOSE_PROVIDING_SUPPORT"),
        "raw enum name in HTML"
    );
    // The use matrix as an inline SVG heat map with its text alternative.
    assert!(html.contains("<figure class=chart data-chart=\"use-matrix\">"));
    assert!(html.contains("<desc id=\"use-matrix-d\">"));
    assert!(html.contains("Law-enforcement requests"));
    assert!(html.contains("Checkpoint heads"));
    assert_eq!(
        entries(&server),
        before + 3,
        "CSV and HTML reads recorded too"
    );

    // Every finding cites the commitment its rule enforces: the seed
    // sentence and file, in JSON, CSV and HTML alike.
    let (code, _, body) = get(server.addr, "/v1/findings", &[("Authorization", &officer)]);
    assert_eq!(code, 200, "{body}");
    let list = json(&body);
    let first = &list["findings"][0];
    let cited = &first["commitment"][0];
    let (seed, quote) = (
        cited["seed"].as_str().expect("seed file"),
        cited["quote"].as_str().expect("seed sentence"),
    );
    assert!(seed.ends_with(".txt") && quote.len() > 20, "{first}");
    let seed_text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/seeds")
            .join(seed),
    )
    .expect("the seeds beside the repository");
    let squash = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        squash(&seed_text).contains(&squash(quote)),
        "{quote} not in {seed}"
    );
    assert!(
        list["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["commitment"].as_array().is_some_and(|c| !c.is_empty())),
        "every finding cites its commitment"
    );
    let (code, _, csv) = get(
        server.addr,
        "/v1/findings?format=csv",
        &[("Authorization", &officer)],
    );
    assert_eq!(code, 200);
    assert!(
        csv.lines()
            .next()
            .is_some_and(|h| h.contains("commitment (seed sentence, seed file)")),
        "{csv}"
    );
    assert!(csv.contains(seed), "{csv}");
    let (code, _, html) = get(
        server.addr,
        "/v1/findings",
        &[("Authorization", &officer), ("Accept", "text/html")],
    );
    assert_eq!(code, 200);
    assert!(html.contains(seed), "the HTML findings name the seed file");

    // The customer sees the reads of its data in its access history,
    // including the officer's, and pages through it with the cursor (once
    // a scheduled checkpoint covers them: reports read at checkpoints).
    server.settle();
    let history = format!("/v1/customers/{CUSTOMER}/access-history");
    let (code, _, body) = get(
        server.addr,
        &format!("{history}?limit=3"),
        &[("Authorization", &customer)],
    );
    assert_eq!(code, 200, "{body}");
    let page = json(&body);
    let accesses = page["accesses"].as_array().expect("accesses");
    assert_eq!(accesses.len(), 3);
    assert!(
        accesses.iter().all(|a| a["kind"] == "report_read"),
        "{page}"
    );
    let roles: Vec<&str> = accesses
        .iter()
        .filter_map(|a| a["who"]["role"].as_str())
        .collect();
    assert!(roles.contains(&"ROLE_COMPLIANCE_OFFICER") && roles.contains(&"ROLE_CUSTOMER"));
    let cursor = page["nextCursor"].as_str().expect("a next page");
    let (code, _, body) = get(
        server.addr,
        &format!("{history}?limit=3&cursor={cursor}"),
        &[("Authorization", &customer)],
    );
    assert_eq!(code, 200, "{body}");
    let next = json(&body);
    let first_ids: Vec<&serde_json::Value> = accesses.iter().map(|a| &a["eventId"]).collect();
    for a in next["accesses"].as_array().expect("accesses") {
        assert!(!first_ids.contains(&&a["eventId"]), "pages overlap");
    }
    // Three disclosure reads, three findings reads, two history pages.
    assert_eq!(entries(&server), before + 8);

    // Officers' CSV of the law-enforcement report lists the demo's request.
    let (code, head, csv) = get(
        server.addr,
        "/v1/reports/law-enforcement",
        &[("Authorization", &officer), ("Accept", "text/csv")],
    );
    assert_eq!(code, 200);
    assert!(head.contains("content-type: text/csv"), "{head}");
    assert!(csv.starts_with("customer,request,received"), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with(&format!("{CUSTOMER},"))),
        "{csv}"
    );
    assert_eq!(entries(&server), before + 9);
}
