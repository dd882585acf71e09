//! The web console and customer portal in a real browser: headless
//! Chromium driven over W3C WebDriver by Debian's `chromedriver`
//! (`tests/common/webdriver.rs`). A person signs in by pasting a token,
//! navigates, filters and signs out; every page is screenshot at 1400×900
//! and 390×844 (kept in `target/test-artifacts/console/`) and checked for
//! horizontal overflow, raw enum names in its visible text and serious or
//! critical accessibility violations (axe-core, vendored in
//! `tests/vendor/axe-core/`, injected by the driver); every chart's figures
//! are compared with the JSON report they come from; a signed-out session
//! is dead and a customer session cannot open another customer's page.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::webdriver::{Browser, Driver};
use common::*;
use custody_query::labels;
use serde_json::{json, Value};

/// A demo customer with a use-matrix breach, transfers, a handoff and a
/// law-enforcement request (default demo workload of 40 customers).
const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00006";

struct Setup {
    _dir: tempfile::TempDir,
    server: Server,
    officer: String,
    customer: String,
    /// End of the portal's period: before the test's own reads (each read
    /// is folded as a `report_read`), so page and JSON see the same entries.
    to: String,
}

/// The customer of [`late_events`].
const LATE: &str = "cust-late";

/// A law-enforcement request of [`LATE`] received and disclosed today, as
/// JSON lines for `custody import`.
fn late_events(now_ms: i64) -> String {
    use custody_proto::v1::{self, DataCategory, LegalInstrument};
    use custody_proto::{timestamp_from_ms, Event, Kind};
    let event = |id: &str, at: i64, kind: Kind| Event {
        event_id: id.into(),
        customer_id: LATE.into(),
        occurred_at: Some(timestamp_from_ms(at)),
        service: "legal".into(),
        case_id: "case-late".into(),
        actor: Some(v1::Actor {
            id: "legal-lou.us".into(),
            role: v1::Role::Legal as i32,
            entity_kind: v1::EntityKind::Organisation as i32,
            entity_name: "Support Org Inc.".into(),
            office_country: "US".into(),
            location_country: "US".into(),
        }),
        kind: Some(kind),
    };
    let contact = vec![DataCategory::Contact as i32];
    [
        event(
            "late-1",
            now_ms - 3 * 3_600_000,
            Kind::LawEnforcementRequestReceived(v1::LawEnforcementRequestReceived {
                request_id: "le-late".into(),
                agency: "Agency".into(),
                jurisdiction: "US".into(),
                instrument: LegalInstrument::Subpoena as i32,
                legally_binding: true,
                scope_requested: contact.clone(),
                nondisclosure_order: false,
                nondisclosure_expires_at: None,
            }),
        ),
        event(
            "late-2",
            now_ms - 2 * 3_600_000,
            Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
                request_id: "le-late".into(),
                scope_released: contact,
            }),
        ),
    ]
    .iter()
    .map(|e| custody_proto::event_to_json(e) + "\n")
    .collect()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    run_ok(&["demo", "--data", path_str(&data), "--no-serve"]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    // A disclosure of today, without redirect or notice: its breach is
    // provisional and its notice obligation pending (event time: the
    // shard's watermark is today, within the allowed lateness of both).
    let late = dir.path().join("late.jsonl");
    std::fs::write(&late, late_events(now_ms)).expect("write late.jsonl");
    run_ok(&["import", "--data", path_str(&data), path_str(&late)]);
    let officer = create_token(&data, "officer", None);
    let customer = create_token(&data, "customer", Some(CUSTOMER));
    let server = Server::start(&data);
    server.settle();
    Setup {
        _dir: dir,
        server,
        officer,
        customer,
        to: custody_policy::format_ms(now_ms),
    }
}

impl Setup {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    fn json(&self, token: &str, path: &str) -> Value {
        let auth = format!("Bearer {token}");
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, body) = self.server.request(
            "GET",
            &format!("{path}{sep}format=json"),
            &[("Authorization", &auth)],
            b"",
        );
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"))
    }
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts")
        .join("console");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts/console");
    dir
}

const AXE: &str = include_str!("vendor/axe-core/axe.min.js");

/// The checks every page passes, at both sizes: a screenshot of the size
/// asked for, no horizontal overflow, no raw enum name in the visible text,
/// no serious or critical axe-core violation.
fn check_page(b: &Browser, name: &str) {
    for (w, h) in [(1400u32, 900u32), (390, 844)] {
        b.viewport(w, h);
        let size = b.execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        );
        let (scroll, inner) = (size[0].as_u64().unwrap_or(0), size[1].as_u64().unwrap_or(0));
        assert_eq!(inner, u64::from(w), "{name}: viewport");
        assert!(
            scroll <= inner,
            "{name} at {w}×{h}: the page is {scroll} px wide (horizontal overflow)"
        );
        let png = artifacts().join(format!("{name}-{w}x{h}.png"));
        assert_eq!(b.screenshot(&png), (w, h), "{png:?} size");
    }
    b.viewport(1400, 900);
    let text = b.text();
    assert!(text.len() > 100, "{name}: the page looks empty: {text}");
    if let Some(raw) = labels::has_raw_enum(&text) {
        panic!("{name}: raw enum name `{raw}` in the visible text");
    }
    // axe-core: injected, run on the whole document.
    b.execute(AXE, vec![]);
    let violations = b.execute_async(
        "const done = arguments[arguments.length - 1];\
         axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations\
           .filter(v => v.impact === 'serious' || v.impact === 'critical')\
           .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +\
             v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))\
           .catch(e => done(['axe failed: ' + e]));",
        vec![],
    );
    let list = violations.as_array().cloned().unwrap_or_default();
    assert!(
        list.is_empty(),
        "{name}: serious or critical accessibility violations: {list:#?}"
    );
}

/// Every drawn mark of the chart `id`: (label, value).
fn chart(b: &Browser, id: &str) -> Vec<(String, u64)> {
    let v = b.execute(
        "return [...document.querySelectorAll('figure[data-chart=\"' + arguments[0] + '\"] [data-value]')]\
           .map(e => [e.getAttribute('data-label'), Number(e.getAttribute('data-value'))]);",
        vec![json!(id)],
    );
    assert!(
        b.count(&format!("figure[data-chart=\"{id}\"] svg[role=img] desc")) == 1,
        "chart {id} is missing or has no text alternative"
    );
    v.as_array()
        .unwrap_or_else(|| panic!("chart {id}: {v}"))
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or_default().to_string(),
                p[1].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn as_map(pairs: Vec<(String, u64)>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        *m.entry(k).or_default() += v;
    }
    m
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn sign_in(b: &Browser, st: &Setup, token: &str) {
    b.goto(&st.url("/"));
    assert!(b.title().starts_with("Sign in"), "{}", b.title());
    b.type_into("#token", token);
    b.click_and_load("form[action=\"/sign-in\"] button[type=submit]");
}

/// The session cookie as a `Cookie` header, for requests outside the browser.
fn cookie_header(b: &Browser) -> String {
    let v = b
        .cookie("custody_session")
        .expect("a session cookie after sign-in");
    format!("custody_session={v}")
}

/// Timeline figures summed per series (purpose words, or kind words when
/// an access has none), from the JSON access history, report reads left
/// out as the page leaves them out by default.
fn timeline_of(history: &Value, purpose: Option<&str>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for a in arr(&history["accesses"]) {
        if s(&a["kind"]) == "report_read" {
            continue;
        }
        if purpose.is_some_and(|p| a["purpose"].as_str() != Some(p)) {
            continue;
        }
        let series = match a["purpose"].as_str() {
            Some(p) => labels::word(p),
            None => labels::word(s(&a["kind"])),
        };
        *m.entry(series).or_default() += 1;
    }
    m
}

fn per_series(marks: Vec<(String, u64)>) -> BTreeMap<String, u64> {
    as_map(
        marks
            .into_iter()
            .map(|(l, v)| {
                (
                    l.split_once(" / ").map_or(l.clone(), |x| x.1.to_string()),
                    v,
                )
            })
            .collect(),
    )
}

#[test]
fn customer_portal_in_a_real_browser() {
    let st = setup();
    let driver = Driver::start();
    let b = driver.session();

    // The start page is the sign-in form, and says how programs sign in.
    b.goto(&st.url("/"));
    check_page(&b, "sign-in");
    assert!(b.text().contains("Authorization: Bearer"));
    // A wrong token is refused on the page, not with JSON.
    b.type_into("#token", "cst_not_a_token");
    b.click_and_load("form[action=\"/sign-in\"] button[type=submit]");
    assert!(b.text().contains("not valid"), "{}", b.text());

    sign_in(&b, &st, &st.customer);
    assert!(
        b.url().ends_with(&format!("/portal/{CUSTOMER}")),
        "after sign-in: {}",
        b.url()
    );
    let cookie = b.cookie_details("custody_session").expect("session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert!(
        !b.url().contains("cst_"),
        "token in the address: {}",
        b.url()
    );

    // The portal at a fixed end, so its figures equal the JSON reports'.
    let q = format!("?to={}", st.to);
    b.goto(&st.url(&format!("/portal/{CUSTOMER}{q}")));
    check_page(&b, "portal-customer");
    let text = b.text();
    assert!(
        text.contains("report reads") && text.contains("are hidden"),
        "{text}"
    );
    assert!(text.contains("custody-verify disclosure.json --public-key custody.pub"));

    let disclosure = st.json(
        &st.customer,
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure{q}"),
    );
    let residency = st.json(
        &st.customer,
        &format!("/v1/customers/{CUSTOMER}/reports/residency{q}"),
    );
    let history = st.json(
        &st.customer,
        &format!("/v1/customers/{CUSTOMER}/access-history{q}&limit=1000"),
    );

    // Use matrix heat map: every cell equals the JSON's count.
    let m = &disclosure["useMatrix"];
    let mut expected = BTreeMap::new();
    for r in arr(&m["rows"]) {
        for (c, n) in arr(&m["categories"]).iter().zip(arr(&r["counts"])) {
            expected.insert(
                format!(
                    "{} / {}",
                    labels::word(s(&r["purpose"])),
                    labels::word(s(c))
                ),
                n.as_u64().unwrap_or(0),
            );
        }
    }
    assert!(!expected.is_empty(), "{m}");
    assert_eq!(as_map(chart(&b, "use-matrix")), expected, "use matrix");
    assert!(text.contains("data-accessed events only"), "{text}");

    // Timeline by purpose, report reads hidden.
    let want = timeline_of(&history, None);
    assert!(want.values().sum::<u64>() > 5, "{history}");
    assert_eq!(per_series(chart(&b, "timeline")), want, "timeline");

    // Storage countries and transfer flows.
    let mut storage = BTreeMap::new();
    for c in arr(&residency["storageCountries"]) {
        storage.insert(
            labels::country(s(&c["country"])),
            c["records"].as_u64().unwrap_or(0),
        );
    }
    assert_eq!(as_map(chart(&b, "storage-countries")), storage, "storage");
    let mut accessors = BTreeMap::new();
    for c in arr(&residency["accessorCountries"]) {
        accessors.insert(
            labels::country(s(&c["country"])),
            c["asLocation"].as_u64().unwrap_or(0),
        );
    }
    assert_eq!(
        as_map(chart(&b, "accessor-countries")),
        accessors,
        "accessors"
    );
    let mut flows = BTreeMap::new();
    for t in arr(&disclosure["transfers"]) {
        *flows
            .entry(format!(
                "{} → {}",
                labels::country(s(&t["fromCountry"])),
                labels::country(s(&t["toCountry"]))
            ))
            .or_insert(0u64) += 1;
    }
    assert_eq!(as_map(chart(&b, "transfer-flows")), flows, "transfer flows");

    // Law-enforcement requests in plain language, and the findings.
    for r in arr(&disclosure["lawEnforcement"]) {
        assert!(
            text.contains(&format!("Request {}", s(&r["requestId"]))),
            "{text}"
        );
    }
    for f in arr(&disclosure["findings"]) {
        assert!(
            text.contains(s(&f["rule"])),
            "finding {} not shown",
            s(&f["rule"])
        );
    }
    // Hashes sit behind a disclosure widget: not in the visible text.
    let first_hash = s(&arr(&history["accesses"])[0]["position"]["entryHash"]).to_string();
    assert!(!text.contains(&first_hash), "entry hashes are visible");
    assert!(b.count("details > summary") > 0);

    // Filter by purpose with the form.
    b.click("select[name=purpose] option[value=PURPOSE_PROVIDING_SUPPORT]");
    b.click_and_load("form.filters button[type=submit]");
    assert!(
        b.url().contains("purpose=PURPOSE_PROVIDING_SUPPORT"),
        "{}",
        b.url()
    );
    check_page(&b, "portal-filtered");
    // The form keeps the day of `to`: compare with the JSON of that period.
    let day = b
        .url()
        .split("to=")
        .nth(1)
        .map(|v| v.split('&').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let filtered_q = if day.is_empty() {
        String::new()
    } else {
        format!("?to={day}T00:00:00Z")
    };
    let filtered = st.json(
        &st.customer,
        &format!(
            "/v1/customers/{CUSTOMER}/access-history{filtered_q}{}limit=1000",
            if filtered_q.is_empty() { "?" } else { "&" }
        ),
    );
    let timeline = per_series(chart(&b, "timeline"));
    assert_eq!(
        timeline,
        timeline_of(&filtered, Some("PURPOSE_PROVIDING_SUPPORT")),
        "filtered timeline"
    );
    assert_eq!(timeline.len(), 1, "{timeline:?}");

    // Show report reads: the reads of this very test are listed.
    b.goto(&st.url(&format!("/portal/{CUSTOMER}?reads=1&kind=report_read")));
    assert!(b.text().contains("report read"), "{}", b.text());

    // The download with proofs is JSON the standalone checker reads.
    let session = cookie_header(&b);
    let (status, body) = http(
        st.server.addr,
        "GET",
        &format!("/portal/{CUSTOMER}/download/disclosure.json{q}"),
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).expect("download is JSON");
    assert_eq!(doc["reportKind"], "disclosure");
    assert!(doc["proofs"].is_object(), "download without proofs");

    // Another customer's page is refused, in the browser and outside it.
    b.goto(&st.url(&format!("/portal/{OTHER}")));
    assert!(b.text().contains("Not yours to see"), "{}", b.text());
    check_page(&b, "portal-other-customer-refused");
    let (status, _) = http(
        st.server.addr,
        "GET",
        &format!("/portal/{OTHER}"),
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 403);
    let (status, _) = http(
        st.server.addr,
        "GET",
        "/console/findings",
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 403, "a customer session opened the officers' queue");
    // A session cookie never authorises the JSON API.
    let (status, _) = http(
        st.server.addr,
        "GET",
        &format!("/v1/customers/{CUSTOMER}/reports/disclosure"),
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 401, "the API accepted a cookie");

    // Sign out: back at the sign-in page, and the session is dead.
    b.goto(&st.url(&format!("/portal/{CUSTOMER}")));
    b.click_and_load("form[action=\"/sign-out\"] button[type=submit]");
    assert!(b.title().starts_with("Sign in"), "{}", b.title());
    b.goto(&st.url(&format!("/portal/{CUSTOMER}")));
    assert!(b.text().contains("Please sign in"), "{}", b.text());
    check_page(&b, "signed-out");
    let (status, _) = http(
        st.server.addr,
        "GET",
        &format!("/portal/{CUSTOMER}"),
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 401, "the signed-out session still opens pages");
    // Sign-out without the session's CSRF token is refused.
    let (status, _) = http(
        st.server.addr,
        "POST",
        "/sign-out",
        &[
            ("Cookie", &session),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"csrf=wrong",
    );
    assert_eq!(status, 303, "a dead session's sign-out just goes home");
}

#[test]
fn officer_console_in_a_real_browser() {
    let st = setup();
    let driver = Driver::start();
    let b = driver.session();
    sign_in(&b, &st, &st.officer);
    assert!(b.url().ends_with("/console/findings"), "{}", b.url());
    check_page(&b, "findings-queue");

    // Findings by severity and by rule equal the JSON findings report.
    let all = st.json(&st.officer, "/v1/findings");
    let findings = arr(&all["findings"]);
    assert!(findings.len() > 10, "few demo findings: {all}");
    let mut by_rule = BTreeMap::new();
    let mut by_sev = BTreeMap::new();
    for f in findings {
        *by_rule.entry(s(&f["rule"]).to_string()).or_insert(0u64) += 1;
        *by_sev.entry(s(&f["severity"]).to_string()).or_insert(0u64) += 1;
    }
    assert_eq!(as_map(chart(&b, "findings-rule")), by_rule, "by rule");
    assert_eq!(
        as_map(chart(&b, "findings-severity")),
        by_sev,
        "by severity"
    );
    let text = b.text();
    assert!(text.contains("Summary by rule and severity"));
    // Every rule's first seed sentence is on the page for its findings.
    let first = &findings[0];
    assert!(text.contains(s(&first["commitment"][0]["quote"])), "{text}");
    if findings.iter().any(|f| f["state"] == "open") {
        assert!(text.contains("open for "), "no age of open findings");
    }

    // Filter: open findings only.
    b.click("select[name=state] option[value=open]");
    b.click_and_load("form.filters button[type=submit]");
    assert!(b.url().contains("state=open"), "{}", b.url());
    let open = st.json(&st.officer, "/v1/findings?state=open");
    let shown: u64 = chart(&b, "findings-rule").iter().map(|x| x.1).sum();
    assert_eq!(shown, open["count"].as_u64().unwrap_or(0), "open findings");
    check_page(&b, "findings-open");

    // Closed findings say when and by which event they closed.
    let closed = st.json(&st.officer, "/v1/findings?state=closed");
    if closed["count"].as_u64().unwrap_or(0) > 0 {
        b.goto(&st.url("/console/findings?state=closed"));
        let t = b.text();
        assert!(t.contains("closed 20") && t.contains(" by "), "{t}");
        check_page(&b, "findings-closed");
    }

    // Event time: today's disclosure is a provisional breach and a
    // pending obligation; the demo's late redirect withdrew a breach.
    b.goto(&st.url("/console/findings"));
    let t = b.text();
    let pending = st.json(&st.officer, "/v1/findings");
    let obligations = arr(&pending["obligations"]);
    assert!(
        obligations
            .iter()
            .any(|o| o["rule"] == "LE-NOTICE" && o["state"] == "pending"),
        "no pending LE-NOTICE obligation: {pending}"
    );
    assert!(t.contains("Obligations pending"), "{t}");
    assert!(t.contains("pending: due "), "no deadline shown: {t}");
    for (state, rule, words) in [
        ("provisional", "LE-REDIRECT-FIRST", "provisional for "),
        ("withdrawn", "LE-REDIRECT-FIRST", "withdrawn 20"),
        ("pending", "LE-NOTICE", "pending: due "),
    ] {
        let doc = st.json(&st.officer, &format!("/v1/findings?state={state}"));
        let n = doc["count"].as_u64().unwrap_or(0) as usize + arr(&doc["obligations"]).len();
        assert!(n > 0, "no {state} finding to show: {doc}");
        b.goto(&st.url(&format!("/console/findings?state={state}")));
        let t = b.text();
        assert!(t.contains(words), "{state}: `{words}` not on the page: {t}");
        assert!(t.contains(rule), "{state}: {rule} not on the page");
        assert!(t.contains(LATE) || state == "withdrawn", "{state}: {t}");
        check_page(&b, &format!("findings-{state}"));
    }

    // Pagination.
    b.goto(&st.url("/console/findings"));
    if findings.len() > 50 {
        b.click_and_load("a[href*=\"page=2\"]");
        assert!(b.url().contains("page=2"), "{}", b.url());
        assert!(b.text().contains("page 2 of"), "{}", b.text());
    }

    // The law-enforcement dashboard, through the navigation.
    b.click_and_load("nav a[href=\"/console/law-enforcement\"]");
    assert!(b.url().ends_with("/console/law-enforcement"), "{}", b.url());
    check_page(&b, "law-enforcement");
    let le = st.json(&st.officer, "/v1/reports/law-enforcement");
    type Label = fn(&str) -> String;
    let breakdowns: [(&str, &str, Label); 3] = [
        ("le-jurisdiction", "byJurisdiction", labels::country),
        ("le-instrument", "byInstrument", labels::word),
        ("le-outcome", "byOutcome", labels::word),
    ];
    for (id, key, label) in breakdowns {
        let mut want = BTreeMap::new();
        for c in arr(&le[key]) {
            want.insert(label(s(&c["key"])), c["count"].as_u64().unwrap_or(0));
        }
        assert!(!want.is_empty(), "{key}: {le}");
        assert_eq!(as_map(chart(&b, id)), want, "{id}");
    }

    // Drill down to a customer's portal, from the customer form.
    b.click_and_load("nav a[href=\"/console/customer\"]");
    check_page(&b, "open-customer");
    b.type_into("input[name=id]", CUSTOMER);
    b.click_and_load("form.filters button[type=submit]");
    assert!(
        b.url().ends_with(&format!("/portal/{CUSTOMER}")),
        "{}",
        b.url()
    );
    assert!(b.text().contains("Officer's view"), "{}", b.text());
    check_page(&b, "portal-officer");

    // Sign out ends the session.
    let session = cookie_header(&b);
    b.click_and_load("form[action=\"/sign-out\"] button[type=submit]");
    let (status, _) = http(
        st.server.addr,
        "GET",
        "/console/findings",
        &[("Cookie", &session)],
        b"",
    );
    assert_eq!(status, 401, "the signed-out officer session still works");
}

/// Sign-in is CSRF-safe: a form post without the sign-in cookie (as a
/// cross-site form would make it; SameSite=Strict withholds the cookie) or
/// from another origin starts no session; and a token never works in a URL.
#[test]
fn sign_in_refuses_forged_forms_and_tokens_in_urls() {
    let st = setup();
    let body = format!("token={}&nonce=abc", st.officer);
    let (status, page) = http(
        st.server.addr,
        "POST",
        "/sign-in",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(status, 403, "{page}");
    let (status, _) = http(
        st.server.addr,
        "POST",
        "/sign-in",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", "custody_signin=abc"),
            ("Origin", "https://evil.example"),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 403);
    // The same post from our own page works: 303 with a session cookie.
    let (status, _) = http(
        st.server.addr,
        "POST",
        "/sign-in",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", "custody_signin=abc"),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 303);
    let (status, _) = http(
        st.server.addr,
        "GET",
        &format!("/console/findings?token={}", st.officer),
        &[],
        b"",
    );
    assert_eq!(status, 401, "a token in the URL signed in");
}
