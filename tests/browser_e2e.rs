//! End-to-end in a real browser: the HTML reports of `custody serve`
//! rendered by headless Chromium (Debian's `chromium`, installed by
//! `cargo xtask test`). For each report the test takes a screenshot (kept in
//! `target/test-artifacts/`) and checks that the DOM Chromium built holds the
//! figures of the JSON form of the same report: customer, use-matrix counts,
//! rows, and findings highlighted with their rule ids.
//!
//! How the bearer token reaches the page: it does not. The test fetches the
//! HTML with its own HTTP client (token in the `Authorization` header, the
//! only place the server accepts one), writes it to a file and opens that
//! `file://` URL in Chromium. A `?token=` fallback would put tokens into
//! URLs, where access logs, browser history and `Referer` headers keep them;
//! the pages are self-contained (inline CSS, no scripts, no external
//! resources), so the file renders exactly as the served page would.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_query::labels;
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A demo customer with a use-matrix breach, a subcontractor handoff and a
/// law-enforcement request (default demo workload of 40 customers).
const CUSTOMER: &str = "cust-00005";

struct Setup {
    _dir: tempfile::TempDir,
    _data: PathBuf,
    server: Server,
    officer: String,
    customer: String,
    /// End of every report's period: before the test's own reads, so the
    /// JSON and HTML fetches see the same entries (each read is folded into
    /// the ledger as a `report_read` access).
    to: String,
}

fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `cargo xtask test`, which installs Debian's `chromium` package \
         (or `apt-get install chromium`)"
    );
}

/// The demo workload folded, an officer and a customer token, a server.
fn setup() -> Setup {
    require_chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    run_ok(&["demo", "--data", path_str(&data), "--no-serve"]);
    let officer = create_token(&data, "officer", None);
    let customer = create_token(&data, "customer", Some(CUSTOMER));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let server = Server::start(&data);
    Setup {
        _dir: dir,
        _data: data,
        server,
        officer,
        customer,
        to: custody_policy::format_ms(now_ms),
    }
}

/// `target/test-artifacts/` (next to `target/tmp`, wherever the target dir is).
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

/// GETs a report with the bearer token; insists on 200.
fn fetch(s: &Setup, token: &str, path: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, body) = s
        .server
        .request("GET", path, &[("Authorization", &auth)], b"");
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn fetch_json(s: &Setup, token: &str, path: &str) -> Value {
    let body = fetch(s, token, &format!("{path}&format=json"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"))
}

/// Runs Chromium headless on `url` with a fresh profile; returns stdout.
/// A run that does not finish in 90 s is killed and fails the test.
fn chromium(extra: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", path_str(profile.path())))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}; run `cargo xtask test`"));
    // Drain both pipes on threads: a large DOM would fill the pipe and
    // block Chromium before it exits.
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {extra:?} {url} did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    assert!(
        status.success(),
        "chromium {extra:?} {url} exited with {status}:\n{stderr}"
    );
    stdout
}

/// Writes the served HTML to the artifacts, screenshots it (checked to be
/// a 1280×2000 PNG with something drawn on it) and returns the DOM
/// Chromium built from it.
fn render(name: &str, html: &str) -> String {
    let dir = artifacts_dir();
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).expect("write page");
    let url = format!("file://{}", path_str(&page));
    let png = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    chromium(
        &[
            &format!("--screenshot={}", path_str(&png)),
            "--window-size=1280,2000",
        ],
        &url,
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {png:?}: {e}"));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png:?} is not a PNG");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    assert_eq!((dim(16), dim(20)), (1280, 2000), "{png:?} size");
    // A blank 1280×2000 page compresses to a few KiB; tables and text do not.
    assert!(
        bytes.len() > 20_000,
        "{png:?} is {} bytes: the page looks blank",
        bytes.len()
    );
    let dom = chromium(&["--dump-dom"], &url);
    assert!(dom.contains("</html>"), "no DOM dumped for {name}: {dom}");
    if let Some(raw) = labels::has_raw_enum(&text(&dom)) {
        panic!("{name}: raw enum name `{raw}` in the page's text");
    }
    std::fs::write(dir.join(format!("{name}.dom.html")), &dom).expect("write DOM");
    dom
}

/// One body row of a table in the dumped DOM.
#[derive(Debug)]
struct Row {
    finding: bool,
    cells: Vec<String>,
}

#[derive(Debug)]
struct Table {
    caption: String,
    rows: Vec<Row>,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Text content of an HTML fragment (tags dropped).
fn text(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(out.trim())
}

/// The part of `s` between `open` and the next `close`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

/// Every table of the serialized DOM. Chromium serializes what it parsed
/// (quoted attributes, implied elements), so this reads the browser's view
/// of the page, not the server's bytes.
fn tables(dom: &str) -> Vec<Table> {
    dom.split("<table")
        .skip(1)
        .map(|t| {
            let t = t.split("</table>").next().unwrap_or("");
            let caption = between(t, "<caption>", "</caption>")
                .map(text)
                .unwrap_or_default();
            let body = between(t, "<tbody>", "</tbody>").unwrap_or("");
            let rows = body
                .split("<tr")
                .skip(1)
                .map(|r| {
                    let (attrs, rest) = r.split_once('>').unwrap_or(("", ""));
                    let cells = rest
                        .split("<td")
                        .skip(1)
                        .map(|c| {
                            let inner = c.split_once('>').map_or("", |x| x.1);
                            text(inner.split("</td>").next().unwrap_or(""))
                        })
                        .collect();
                    Row {
                        finding: attrs.contains("class=\"finding\""),
                        cells,
                    }
                })
                .collect();
            Table { caption, rows }
        })
        .collect()
}

fn table<'a>(tables: &'a [Table], caption: &str) -> &'a Table {
    tables
        .iter()
        .find(|t| t.caption == caption)
        .unwrap_or_else(|| {
            let all: Vec<&str> = tables.iter().map(|t| t.caption.as_str()).collect();
            panic!("no table `{caption}` in the rendered page; tables: {all:?}")
        })
}

/// The value of a summary line (`<dt>label</dt><dd>value</dd>`).
fn summary(dom: &str, label: &str) -> String {
    between(dom, &format!("<dt>{label}</dt><dd>"), "</dd>")
        .map(text)
        .unwrap_or_else(|| panic!("no summary line `{label}` in the rendered page"))
}

fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}

/// Rows named by their first cell, in page order: `data rows` empty when the
/// page shows the single "none" row.
fn data_rows(t: &Table) -> &[Row] {
    match t.rows.as_slice() {
        [only] if only.cells == ["none"] => &[],
        rows => rows,
    }
}

/// Every report's page ends with the heads of the checkpoint it cites.
fn check_checkpoint_heads(tables: &[Table], json: &Value) {
    let heads = table(tables, "Checkpoint heads");
    let shards = arr(&json["checkpoint"]["shards"]);
    assert!(!shards.is_empty(), "checkpoint without shards: {json}");
    assert_eq!(data_rows(heads).len(), shards.len(), "checkpoint heads");
}

#[test]
fn access_history_renders_in_chromium() {
    let s = setup();
    let path = format!(
        "/v1/customers/{CUSTOMER}/access-history?to={}&limit=1000",
        s.to
    );
    let json = fetch_json(&s, &s.customer, &path);
    let dom = render(
        "access-history",
        &fetch(&s, &s.customer, &format!("{path}&format=html")),
    );
    assert!(dom.contains(&format!("<h1>Access history of {CUSTOMER}</h1>")));
    assert_eq!(summary(&dom, "Customer"), CUSTOMER);
    let accesses = arr(&json["accesses"]);
    assert!(
        accesses.len() > 10,
        "demo customer has few accesses: {json}"
    );
    assert_eq!(
        summary(&dom, "Accesses on this page"),
        accesses.len().to_string()
    );
    let tables = tables(&dom);
    let rows = data_rows(table(&tables, "Accesses, newest first"));
    assert_eq!(rows.len(), accesses.len(), "one row per access");
    let mut highlighted_rules = Vec::new();
    for (row, a) in rows.iter().zip(accesses) {
        // Human labels: readable times with the zone, kinds as words.
        let at = a["atMs"].as_i64().expect("atMs");
        assert_eq!(row.cells[0], labels::time(at), "{row:?}");
        assert_eq!(row.cells[1], labels::word(str_of(&a["kind"])), "{row:?}");
        assert_eq!(row.cells[2], str_of(&a["who"]["actorId"]), "{row:?}");
        let hash = str_of(&a["position"]["entryHash"]);
        assert!(row.cells[13].ends_with(hash), "{row:?} position {hash}");
        let verdicts = arr(&a["verdicts"]);
        assert_eq!(row.finding, !verdicts.is_empty(), "highlight of {row:?}");
        for v in verdicts {
            let rule = str_of(&v["rule"]);
            assert!(row.cells[12].contains(rule), "{row:?} lacks {rule}");
            highlighted_rules.push(rule.to_string());
        }
    }
    assert!(
        highlighted_rules.iter().any(|r| r == "USE-MATRIX"),
        "the demo's use-matrix breach of {CUSTOMER} is not highlighted: {highlighted_rules:?}"
    );
    check_checkpoint_heads(&tables, &json);
}

#[test]
fn disclosure_renders_in_chromium() {
    let s = setup();
    let path = format!("/v1/customers/{CUSTOMER}/reports/disclosure?to={}", s.to);
    let json = fetch_json(&s, &s.customer, &path);
    let dom = render(
        "disclosure",
        &fetch(&s, &s.customer, &format!("{path}&format=html")),
    );
    assert!(dom.contains(&format!("<h1>Disclosure report for {CUSTOMER}</h1>")));
    assert_eq!(summary(&dom, "Customer"), CUSTOMER);
    assert_eq!(summary(&dom, "Copy for"), "customer");
    let matrix = &json["useMatrix"];
    let events = matrix["events"].as_u64().expect("useMatrix.events");
    assert!(events > 0, "no data accesses in the use matrix: {matrix}");
    assert_eq!(summary(&dom, "Data accesses"), events.to_string());

    let tables = tables(&dom);
    let shown = data_rows(table(
        &tables,
        "Use of data: data-accessed events by purpose and category",
    ));
    let rows = arr(&matrix["rows"]);
    assert_eq!(shown.len(), rows.len(), "use-matrix rows");
    for (row, r) in shown.iter().zip(rows) {
        let mut expected = vec![labels::word(str_of(&r["purpose"]))];
        expected.extend(arr(&r["counts"]).iter().map(Value::to_string));
        expected.push(r["events"].to_string());
        assert_eq!(row.cells, expected, "use-matrix row");
    }

    let requests = arr(&json["lawEnforcement"]);
    assert!(!requests.is_empty(), "{CUSTOMER} has no request: {json}");
    let shown = data_rows(table(&tables, "Law-enforcement requests"));
    assert_eq!(shown.len(), requests.len());
    for (row, r) in shown.iter().zip(requests) {
        assert_eq!(row.cells[0], str_of(&r["requestId"]));
        assert_eq!(row.cells[2], str_of(&r["agency"]));
    }

    let findings = arr(&json["findings"]);
    assert!(!findings.is_empty(), "{CUSTOMER} has no finding: {json}");
    let shown = data_rows(table(&tables, "Findings"));
    assert_eq!(shown.len(), findings.len());
    for (row, f) in shown.iter().zip(findings) {
        assert!(row.finding, "finding not highlighted: {row:?}");
        assert_eq!(row.cells[1], str_of(&f["rule"]));
        // The commitment the rule enforces: its first seed sentence.
        assert!(
            row.cells[5].contains(str_of(&f["commitment"][0]["quote"])),
            "{row:?}"
        );
        assert_eq!(
            row.cells[6],
            format!(
                "{} {}",
                labels::word(str_of(&f["eventKind"])),
                str_of(&f["eventId"])
            )
        );
    }
    assert!(shown.iter().any(|r| r.cells[1] == "USE-MATRIX"));
    check_checkpoint_heads(&tables, &json);
}

#[test]
fn residency_renders_in_chromium() {
    let s = setup();
    let path = format!("/v1/customers/{CUSTOMER}/reports/residency?to={}", s.to);
    let json = fetch_json(&s, &s.customer, &path);
    let dom = render(
        "residency",
        &fetch(&s, &s.customer, &format!("{path}&format=html")),
    );
    assert!(dom.contains(&format!("<h1>Residency report for {CUSTOMER}</h1>")));
    assert_eq!(summary(&dom, "Customer"), CUSTOMER);
    let restriction = match json["eeaRestrictionHeld"].as_bool() {
        None => "not requested".to_string(),
        Some(true) => "held".to_string(),
        Some(false) => format!("BROKEN ({} findings)", arr(&json["eeaBreaches"]).len()),
    };
    assert_eq!(summary(&dom, "EEA restriction"), restriction);
    assert_eq!(
        summary(&dom, "Accesses"),
        json["accesses"].as_u64().expect("accesses").to_string()
    );

    let tables = tables(&dom);
    let storage = arr(&json["storage"]);
    assert!(!storage.is_empty(), "no storage records: {json}");
    let shown = data_rows(table(&tables, "Storage over time"));
    assert_eq!(shown.len(), storage.len());
    for (row, st) in shown.iter().zip(storage) {
        assert_eq!(
            row.cells[0],
            labels::time(st["atMs"].as_i64().expect("atMs"))
        );
        assert_eq!(row.cells[1], labels::country(str_of(&st["country"])));
    }
    let countries = arr(&json["storageCountries"]);
    let shown = data_rows(table(&tables, "Storage countries"));
    assert_eq!(shown.len(), countries.len());
    for (row, c) in shown.iter().zip(countries) {
        assert_eq!(row.cells[0], labels::country(str_of(&c["country"])));
        assert_eq!(row.cells[2], c["records"].to_string());
    }
    let accessors = arr(&json["accessorCountries"]);
    assert!(!accessors.is_empty(), "no accessor countries: {json}");
    let shown = data_rows(table(
        &tables,
        "Countries of the people who accessed the data",
    ));
    assert_eq!(shown.len(), accessors.len());
    for (row, c) in shown.iter().zip(accessors) {
        assert_eq!(row.cells[0], labels::country(str_of(&c["country"])));
        assert_eq!(row.cells[2], c["asOffice"].to_string());
        assert_eq!(row.cells[3], c["asLocation"].to_string());
    }
    check_checkpoint_heads(&tables, &json);
}

#[test]
fn law_enforcement_report_renders_in_chromium() {
    let s = setup();
    let path = format!("/v1/reports/law-enforcement?to={}", s.to);
    let json = fetch_json(&s, &s.officer, &path);
    let dom = render(
        "law-enforcement",
        &fetch(&s, &s.officer, &format!("{path}&format=html")),
    );
    assert!(dom.contains("<h1>Law-enforcement transparency report</h1>"));
    let requests = arr(&json["requestList"]);
    assert!(requests.len() > 3, "few demo requests: {json}");
    assert_eq!(
        summary(&dom, "Requests"),
        json["requests"].as_u64().expect("requests").to_string()
    );
    assert_eq!(
        requests.len() as u64,
        json["requests"].as_u64().unwrap_or(0)
    );

    let tables = tables(&dom);
    let shown = data_rows(table(&tables, "Law-enforcement requests"));
    assert_eq!(shown.len(), requests.len());
    let mut highlighted = 0;
    for (row, r) in shown.iter().zip(requests) {
        assert_eq!(row.cells[0], str_of(&r["customerId"]));
        assert_eq!(row.cells[1], str_of(&r["requestId"]));
        let findings = arr(&r["findings"]);
        assert_eq!(row.finding, !findings.is_empty(), "highlight of {row:?}");
        let last = row.cells.last().expect("findings cell");
        for f in findings {
            let rule = str_of(&f["rule"]);
            assert!(last.contains(rule), "{row:?} lacks {rule}");
        }
        highlighted += usize::from(row.finding);
    }
    assert!(
        highlighted > 0,
        "the demo's law-enforcement breaches are not highlighted"
    );
    type Label = fn(&str) -> String;
    let breakdowns: [(&str, &str, Label); 3] = [
        ("By jurisdiction", "byJurisdiction", labels::country),
        ("By instrument", "byInstrument", labels::word),
        ("By outcome", "byOutcome", labels::word),
    ];
    for (caption, key, label) in breakdowns {
        let counts = arr(&json[key]);
        let shown = data_rows(table(&tables, caption));
        assert_eq!(shown.len(), counts.len(), "{caption}");
        for (row, c) in shown.iter().zip(counts) {
            assert_eq!(
                row.cells,
                [label(str_of(&c["key"])), c["count"].to_string()]
            );
        }
    }
    // Each breakdown is also drawn as an inline SVG chart.
    for id in ["le-jurisdiction", "le-instrument", "le-outcome"] {
        assert!(
            dom.contains(&format!("data-chart=\"{id}\"")),
            "no chart {id}"
        );
    }
    check_checkpoint_heads(&tables, &json);
}
