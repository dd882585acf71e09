//! CSV and HTML renderings of the report documents. Each document lists its
//! tables; CSV is the first (main) table, HTML is every table on one
//! printable page. All text is escaped: event fields come from emitters.

use crate::charts::Chart;
use crate::labels::{self, country, humanize, time_opt, time_text, word, words};

use custody_verify::reports::access_history::AccessHistory;
use custody_verify::reports::disclosure::DisclosureReport;
use custody_verify::reports::findings::FindingsList;
use custody_verify::reports::law_enforcement::{Count, LeRequestView, TransparencyReport};
use custody_verify::reports::residency::ResidencyReport;
use custody_verify::reports::{CitationView, Finding, Signed, TransferView};

/// One table of a document.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows to highlight (those carrying findings), by index.
    pub highlight: Vec<bool>,
}

impl Table {
    fn new(caption: &str, header: &[&str]) -> Table {
        Table {
            caption: caption.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    fn push(&mut self, row: Vec<String>, highlight: bool) {
        self.rows.push(row);
        self.highlight.push(highlight);
    }
}

/// A report that renders as tables.
pub trait Document {
    fn title(&self) -> String;
    /// Key figures shown above the tables: (label, value).
    fn summary(&self) -> Vec<(String, String)>;
    /// The main table first: it is the CSV rendering.
    fn tables(&self) -> Vec<Table>;
    /// Charts shown above the tables (inline SVG, each with its text
    /// alternative); none by default.
    fn charts(&self) -> Vec<Chart> {
        Vec::new()
    }
}

/// HTML text escaping (element content and quoted attributes).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One CSV field (RFC 4180). A leading `=`, `+`, `-` or `@` is prefixed
/// with `'` so a spreadsheet does not evaluate emitter-supplied text as a
/// formula.
pub fn csv_field(s: &str) -> String {
    // OWASP's list: spreadsheets treat a leading tab or carriage return as
    // whitespace before a formula too.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The main table as CSV with a header row.
pub fn csv<T: Document>(doc: &T) -> String {
    let mut out = String::new();
    if let Some(t) = doc.tables().into_iter().next() {
        let line = |cells: &[String]| {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
        };
        out.push_str(&line(&t.header));
        out.push_str("\r\n");
        for r in &t.rows {
            out.push_str(&line(r));
            out.push_str("\r\n");
        }
    }
    out
}

pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #999;padding:0.25em 0.5em;text-align:left;vertical-align:top}\
th{background:#eee}tr.finding td{background:#fde2e1}caption{text-align:left;font-weight:bold;padding:0.3em 0}\
dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}dt{font-weight:bold}\
.mono{font-family:monospace;font-size:0.8em;word-break:break-all}\
table{max-width:100%;font-size:0.85em}td.wrap,th.wrap{overflow-wrap:anywhere}\
tr.finding td:first-child{box-shadow:inset 4px 0 #c0392b}\
figure.chart{margin:0.5em 0 1.5em;break-inside:avoid}figure.chart svg{max-width:100%;height:auto;display:block}\
figcaption{font-size:0.85em;max-width:60em}.scroll{overflow-x:auto;max-width:100%}\
@page{size:A4 landscape;margin:1cm}\
@media print{body{margin:0;font-size:9pt}tr{break-inside:avoid}.scroll{overflow:visible}\
tr.finding td{background:#fde2e1 !important;-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/// Cells holding a word longer than this (entry hashes, enum names such as
/// `PURPOSE_PROVIDING_SUPPORT`) may break anywhere; shorter words never
/// break. Wide tables (the access history has 14 columns) then shrink to the
/// page by wrapping those long words, not by splitting `breach` into
/// `bre ach`, and nothing is cut off at the right edge.
const WRAP_AT: usize = 20;

/// The opening tag of a cell: long unbroken words get the `wrap` class.
fn cell_open(tag: &str, text: &str) -> String {
    if text.split_whitespace().any(|w| w.chars().count() > WRAP_AT) {
        format!("<{tag} class=wrap>")
    } else {
        format!("<{tag}>")
    }
}

/// The whole document as one printable HTML page, with the checkpoint it
/// was computed at.
pub fn html<T: Document, P>(doc: &Signed<T, P>) -> String {
    let d = &doc.report;
    let title = escape_html(&d.title());
    let mut out = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><dl>"
    );
    let mut summary = d.summary();
    summary.push(("Generated at".into(), labels::time(doc.generated_at_ms)));
    summary.push((
        "Checkpoint".into(),
        format!(
            "number {} signed at {} by key {}",
            doc.checkpoint.number,
            labels::time(doc.checkpoint.issued_at_ms),
            doc.checkpoint.key
        ),
    ));
    for (k, v) in summary {
        out.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>",
            escape_html(&k),
            escape_html(&v)
        ));
    }
    out.push_str("</dl>");
    for c in d.charts() {
        out.push_str(&c.svg());
    }
    for t in d.tables() {
        out.push_str(&table_html(&t));
    }
    out.push_str(&verification_html(&doc.checkpoint));
    out.push_str("</body></html>");
    out
}

/// One table, in a wrapper that scrolls sideways on a narrow screen
/// instead of widening the page (and prints in full).
pub fn table_html(t: &Table) -> String {
    let mut out = String::new();
    {
        out.push_str(&format!(
            "<div class=scroll tabindex=0><table><caption>{}</caption><thead><tr>",
            escape_html(&t.caption)
        ));
        for h in &t.header {
            out.push_str(&format!("{}{}</th>", cell_open("th", h), escape_html(h)));
        }
        out.push_str("</tr></thead><tbody>");
        if t.rows.is_empty() {
            out.push_str(&format!(
                "<tr><td colspan={}>none</td></tr>",
                t.header.len().max(1)
            ));
        }
        for (row, hl) in t.rows.iter().zip(&t.highlight) {
            out.push_str(if *hl { "<tr class=finding>" } else { "<tr>" });
            for c in row {
                out.push_str(&format!("{}{}</td>", cell_open("td", c), escape_html(c)));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out
}

/// How anyone checks a report without the operator's data directory: the
/// standalone `custody-verify` over the JSON with proofs and the public key.
pub fn verification_html(checkpoint: &custody_verify::Checkpoint) -> String {
    let mut out = String::from("<h2>Verifying this report</h2><p>Every row names its ledger position (shard/seq and entry hash). \
        The checkpoint below is signed with the ledger's Ed25519 key (published at <code>/v1/public-key</code>). \
        To check this report without trusting us and without access to our systems, download it as JSON with proofs \
        (add <code>?proofs=true</code> to its address), save the public key as <code>custody.pub</code> and run \
        <code>custody-verify REPORT.json --public-key custody.pub</code>: \
        <code>custody-verify</code> is the standalone checker (VERIFYING.md), it needs neither our data nor our servers.</p>\
        <div class=scroll tabindex=0><table><caption>Checkpoint heads</caption>\
        <thead><tr><th>shard</th><th>size</th><th>Merkle root</th></tr></thead><tbody>");
    for h in &checkpoint.shards {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=mono>{}</td></tr>",
            h.shard,
            h.size,
            hex::encode(h.root)
        ));
    }
    out.push_str(&format!(
        "</tbody></table></div><p>Signature: <span class=mono>{}</span></p>",
        escape_html(&checkpoint.signature)
    ));
    out
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

pub(crate) fn findings_table(caption: &str, findings: &[Finding]) -> Table {
    let mut t = Table::new(
        caption,
        &[
            "when",
            "rule",
            "severity",
            "effect",
            "explanation",
            "commitment (seed sentence, seed file)",
            "event",
            "position",
        ],
    );
    for f in findings {
        t.push(
            vec![
                labels::time(f.at_ms),
                f.verdict.rule.clone(),
                f.verdict.severity.clone(),
                f.verdict.effect.clone(),
                humanize(&f.verdict.explanation),
                CitationView::text(&f.commitment),
                format!("{} {}", word(&f.event_kind), f.event_id),
                f.position.to_string(),
            ],
            true,
        );
    }
    t
}

pub(crate) fn transfers_table(transfers: &[TransferView]) -> Table {
    let mut t = Table::new(
        "Transfers",
        &[
            "when",
            "who",
            "from",
            "to",
            "stored at destination",
            "mechanism",
            "reason",
            "purpose",
            "recipient",
            "categories",
            "position",
        ],
    );
    for x in transfers {
        t.push(
            vec![
                labels::time(x.at_ms),
                who_text(&x.who),
                country(&x.from_country),
                country(&x.to_country),
                yes_no(x.stored_at_destination),
                word(&x.mechanism),
                word(&x.reason),
                word(&x.purpose),
                format!("{} {}", word(&x.recipient_kind), x.recipient_name),
                words(&x.categories),
                x.position.to_string(),
            ],
            false,
        );
    }
    t
}

pub(crate) fn requests_table(requests: &[LeRequestView], with_customer: bool) -> Table {
    let mut header = vec![
        "request",
        "received",
        "agency",
        "jurisdiction",
        "instrument",
        "binding",
        "scope requested",
        "non-disclosure order",
        "redirected",
        "notified",
        "disclosed",
        "disclosed scope",
        "outcome",
        "findings",
    ];
    if with_customer {
        header.insert(0, "customer");
    }
    let mut t = Table::new("Law-enforcement requests", &header);
    for r in requests {
        let mut row = vec![
            r.request_id.clone(),
            time_opt(&r.received_at),
            r.agency.clone(),
            country(&r.jurisdiction),
            word(&r.instrument),
            yes_no(r.legally_binding),
            words(&r.scope_requested),
            if r.nondisclosure_order {
                match &r.nondisclosure_expires_at {
                    Some(e) => format!("until {}", time_text(e)),
                    None => "no expiry".into(),
                }
            } else {
                "no".into()
            } + if r.withheld_from_customer {
                " (withheld from customer)"
            } else {
                ""
            },
            time_opt(&r.redirected_at),
            time_opt(&r.notified_at),
            time_opt(&r.disclosed_at),
            words(&r.disclosed_scope),
            r.outcome.as_deref().map_or_else(|| "open".into(), word),
            r.findings
                .iter()
                .map(|f| f.verdict.rule.clone())
                .collect::<Vec<_>>()
                .join(" "),
        ];
        if with_customer {
            row.insert(0, r.customer_id.clone());
        }
        t.push(row, !r.findings.is_empty());
    }
    t
}

fn counts_table(caption: &str, key: &str, counts: &[Count], label: fn(&str) -> String) -> Table {
    let mut t = Table::new(caption, &[key, "requests"]);
    for c in counts {
        t.push(vec![label(&c.key), c.count.to_string()], false);
    }
    t
}

/// An outcome key of the transparency report (`open` or an enum name).
pub fn outcome_label(key: &str) -> String {
    word(key)
}

/// "eng-1, support engineer, organisation CSS, office Ireland (IE), in Ireland (IE)".
pub fn who_text(w: &custody_verify::reports::Who) -> String {
    if w.actor_id.is_empty() {
        return "-".into();
    }
    format!(
        "{}, {}, {} {}, office {}, in {}",
        w.actor_id,
        word(&w.role),
        word(&w.entity_kind),
        w.entity_name,
        country(&w.office_country),
        country(&w.location_country)
    )
}

impl Document for AccessHistory {
    fn title(&self) -> String {
        format!("Access history of {}", self.customer)
    }

    fn summary(&self) -> Vec<(String, String)> {
        vec![
            ("Customer".into(), self.customer.clone()),
            ("Period".into(), self.period.describe()),
            (
                "Accesses on this page".into(),
                self.accesses.len().to_string(),
            ),
            ("Next page cursor".into(), opt(&self.next_cursor)),
        ]
    }

    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Accesses, newest first",
            &[
                "when",
                "kind",
                "actor",
                "role",
                "employer",
                "office",
                "location",
                "purpose",
                "categories",
                "case",
                "means",
                "detail",
                "findings",
                "position",
            ],
        );
        for a in &self.accesses {
            t.push(
                vec![
                    labels::time(a.at_ms),
                    word(&a.kind),
                    a.who.actor_id.clone(),
                    word(&a.who.role),
                    format!("{} {}", word(&a.who.entity_kind), a.who.entity_name),
                    country(&a.who.office_country),
                    country(&a.who.location_country),
                    a.purpose.as_deref().map_or_else(String::new, word),
                    words(&a.categories),
                    a.case_id.clone(),
                    a.means.as_deref().map_or_else(String::new, word),
                    humanize(&a.detail),
                    a.verdicts
                        .iter()
                        .map(|v| {
                            format!("{} ({}): {}", v.rule, v.severity, humanize(&v.explanation))
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                    a.position.to_string(),
                ],
                !a.verdicts.is_empty(),
            );
        }
        vec![t]
    }
}

impl Document for DisclosureReport {
    fn charts(&self) -> Vec<Chart> {
        vec![use_matrix_chart(&self.use_matrix, &self.findings)]
    }

    fn title(&self) -> String {
        format!("Disclosure report for {}", self.customer)
    }

    fn summary(&self) -> Vec<(String, String)> {
        vec![
            ("Customer".into(), self.customer.clone()),
            ("Period".into(), self.period.describe()),
            (
                "Copy for".into(),
                format!("{:?}", self.audience).to_lowercase(),
            ),
            ("Data accesses".into(), self.use_matrix.events.to_string()),
            (
                "What the use matrix counts".into(),
                "data-accessed events only; transfers, subcontractor handoffs and law-enforcement disclosures are listed in their own tables".into(),
            ),
            (
                "Subcontractors that received data".into(),
                self.subcontractors.len().to_string(),
            ),
            (
                "Law-enforcement requests".into(),
                self.law_enforcement.len().to_string(),
            ),
            ("Transfers".into(), self.transfers.len().to_string()),
            ("Findings".into(), self.findings.len().to_string()),
        ]
    }

    fn tables(&self) -> Vec<Table> {
        let m = &self.use_matrix;
        let mut header = vec!["purpose".to_string()];
        header.extend(m.categories.iter().map(|c| word(c)));
        header.push("events".into());
        let mut matrix = Table {
            caption: "Use of data: data-accessed events by purpose and category".into(),
            header,
            ..Table::default()
        };
        for r in &m.rows {
            let mut row = vec![word(&r.purpose)];
            row.extend(r.counts.iter().map(u64::to_string));
            row.push(r.events.to_string());
            matrix.push(row, false);
        }
        let mut subs = Table::new(
            "Subcontractors that received data",
            &["subcontractor", "handoffs", "first", "last"],
        );
        for s in &self.subcontractors {
            subs.push(
                vec![
                    s.subcontractor_id.clone(),
                    s.handoffs.to_string(),
                    time_text(&s.first_at),
                    time_text(&s.last_at),
                ],
                false,
            );
        }
        let mut handoffs = Table::new(
            "Subcontractor handoffs",
            &[
                "when",
                "subcontractor",
                "purpose",
                "categories",
                "location",
                "position",
            ],
        );
        for h in &self.handoffs {
            handoffs.push(
                vec![
                    labels::time(h.at_ms),
                    h.subcontractor_id.clone(),
                    word(&h.purpose),
                    words(&h.categories),
                    country(&h.location_country),
                    h.position.to_string(),
                ],
                false,
            );
        }
        vec![
            matrix,
            subs,
            handoffs,
            requests_table(&self.law_enforcement, false),
            transfers_table(&self.transfers),
            findings_table("Findings", &self.findings),
        ]
    }
}

impl Document for ResidencyReport {
    fn charts(&self) -> Vec<Chart> {
        residency_charts(self)
    }

    fn title(&self) -> String {
        format!("Residency report for {}", self.customer)
    }

    fn summary(&self) -> Vec<(String, String)> {
        vec![
            ("Customer".into(), self.customer.clone()),
            ("Period".into(), self.period.describe()),
            ("EEA storage option".into(), yes_no(self.eea_storage_only)),
            (
                "EEA restriction".into(),
                match self.eea_restriction_held {
                    None => "not requested".into(),
                    Some(true) => "held".into(),
                    Some(false) => format!("BROKEN ({} findings)", self.eea_breaches.len()),
                },
            ),
            (
                "Storage countries".into(),
                self.storage_countries
                    .iter()
                    .map(|c| country(&c.country))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("Accesses".into(), self.accesses.to_string()),
        ]
    }

    fn tables(&self) -> Vec<Table> {
        let mut storage = Table::new(
            "Storage over time",
            &["when", "country", "EEA", "how", "position"],
        );
        for s in &self.storage {
            storage.push(
                vec![
                    labels::time(s.at_ms),
                    country(&s.country),
                    yes_no(s.eea),
                    humanize(&s.how),
                    s.position.to_string(),
                ],
                self.eea_storage_only && !s.eea,
            );
        }
        let mut stored = Table::new(
            "Storage countries",
            &["country", "EEA", "records", "first", "last"],
        );
        for c in &self.storage_countries {
            stored.push(
                vec![
                    country(&c.country),
                    yes_no(c.eea),
                    c.records.to_string(),
                    time_text(&c.first_at),
                    time_text(&c.last_at),
                ],
                self.eea_storage_only && !c.eea,
            );
        }
        let mut people = Table::new(
            "Countries of the people who accessed the data",
            &[
                "country",
                "EEA",
                "accesses from an office there",
                "accesses made from there",
            ],
        );
        for c in &self.accessor_countries {
            people.push(
                vec![
                    country(&c.country),
                    yes_no(c.eea),
                    c.as_office.to_string(),
                    c.as_location.to_string(),
                ],
                false,
            );
        }
        vec![
            storage,
            stored,
            transfers_table(&self.transfers),
            people,
            findings_table("EEA residency findings", &self.eea_breaches),
        ]
    }
}

impl Document for TransparencyReport {
    fn charts(&self) -> Vec<Chart> {
        law_enforcement_charts(self)
    }

    fn title(&self) -> String {
        "Law-enforcement transparency report".into()
    }

    fn summary(&self) -> Vec<(String, String)> {
        let share = |s: Option<f64>| s.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
        vec![
            ("Period".into(), self.period.describe()),
            ("Requests".into(), self.requests.to_string()),
            (
                "Redirected to the customer".into(),
                self.redirected.to_string(),
            ),
            (
                "Customer notified".into(),
                format!("{} ({})", self.notified, share(self.notified_share)),
            ),
            (
                "Data disclosed".into(),
                format!("{} ({})", self.disclosed, share(self.disclosed_share)),
            ),
        ]
    }

    fn tables(&self) -> Vec<Table> {
        vec![
            requests_table(&self.request_list, true),
            counts_table(
                "By jurisdiction",
                "jurisdiction",
                &self.by_jurisdiction,
                country,
            ),
            counts_table("By instrument", "instrument", &self.by_instrument, word),
            counts_table("By outcome", "outcome", &self.by_outcome, outcome_label),
        ]
    }
}

impl Document for FindingsList {
    fn charts(&self) -> Vec<Chart> {
        findings_charts(&self.findings)
    }

    fn title(&self) -> String {
        "Findings".into()
    }

    fn summary(&self) -> Vec<(String, String)> {
        let f = &self.filter;
        vec![
            (
                "Rule".into(),
                f.rule.clone().unwrap_or_else(|| "any".into()),
            ),
            (
                "Customer".into(),
                f.customer.clone().unwrap_or_else(|| "any".into()),
            ),
            (
                "State".into(),
                f.state.clone().unwrap_or_else(|| "any".into()),
            ),
            ("Findings".into(), self.count.to_string()),
            (
                "Obligations pending".into(),
                self.obligations.len().to_string(),
            ),
        ]
    }

    fn tables(&self) -> Vec<Table> {
        vec![
            findings_rows("Findings", &self.findings),
            findings_rows(
                "Obligations pending (not findings until their deadline plus the allowed lateness passes)",
                &self.obligations,
            ),
        ]
    }
}

fn findings_rows(caption: &str, rows: &[custody_verify::reports::findings::FindingRow]) -> Table {
    {
        let mut t = Table::new(
            caption,
            &[
                "state",
                "customer",
                "when",
                "rule",
                "severity",
                "effect",
                "explanation",
                "commitment (seed sentence, seed file)",
                "event",
                "position",
            ],
        );
        for r in rows {
            let f = &r.finding;
            t.push(
                vec![
                    r.state.clone(),
                    r.customer.clone(),
                    labels::time(f.at_ms),
                    f.verdict.rule.clone(),
                    f.verdict.severity.clone(),
                    f.verdict.effect.clone(),
                    humanize(&f.verdict.explanation),
                    CitationView::text(&f.commitment),
                    format!("{} {}", word(&f.event_kind), f.event_id),
                    f.position.to_string(),
                ],
                !matches!(r.state.as_str(), "closed" | "withdrawn" | "discharged"),
            );
        }
        t
    }
}

/// The use matrix as a heat map: rows are purposes, columns categories,
/// cells the count of data-accessed events (the only kind it counts: the
/// title says so); a cell a finding of the report's `USE-MATRIX` rule
/// falls in is outlined.
pub fn use_matrix_chart(
    m: &custody_verify::reports::disclosure::UseMatrix,
    findings: &[Finding],
) -> Chart {
    let breached_purposes: Vec<&str> = findings
        .iter()
        .filter(|f| f.verdict.rule == "USE-MATRIX" && f.event_kind == "data_accessed")
        .map(|f| f.verdict.explanation.as_str())
        .collect();
    let flagged = m
        .rows
        .iter()
        .map(|r| {
            m.categories
                .iter()
                .zip(&r.counts)
                .map(|(c, n)| {
                    *n > 0
                        && breached_purposes
                            .iter()
                            .any(|e| e.contains(r.purpose.as_str()) && e.contains(c.as_str()))
                })
                .collect()
        })
        .collect();
    Chart::Heat {
        id: "use-matrix".into(),
        title: "Use of data: data-accessed events by purpose (rows) and data category (columns); transfers, handoffs and disclosures are listed in their own tables".into(),
        rows: m.rows.iter().map(|r| word(&r.purpose)).collect(),
        cols: m.categories.iter().map(|c| word(c)).collect(),
        values: m.rows.iter().map(|r| r.counts.clone()).collect(),
        flagged,
    }
}

fn count_bars(id: &str, title: &str, counts: &[Count], label: fn(&str) -> String) -> Chart {
    Chart::Bars {
        id: id.into(),
        title: title.into(),
        unit: "requests".into(),
        bars: counts
            .iter()
            .map(|c| (label(&c.key), c.count, None))
            .collect(),
    }
}

/// The law-enforcement report's three breakdowns as bar charts.
pub fn law_enforcement_charts(r: &TransparencyReport) -> Vec<Chart> {
    vec![
        count_bars(
            "le-jurisdiction",
            "Requests by jurisdiction",
            &r.by_jurisdiction,
            country,
        ),
        count_bars(
            "le-instrument",
            "Requests by legal instrument",
            &r.by_instrument,
            word,
        ),
        count_bars(
            "le-outcome",
            "Requests by outcome",
            &r.by_outcome,
            outcome_label,
        ),
    ]
}

/// Storage records and accessor countries as bars.
pub fn residency_charts(r: &ResidencyReport) -> Vec<Chart> {
    vec![
        Chart::Bars {
            id: "storage-countries".into(),
            title: "Where the data is stored: storage records by country".into(),
            unit: "records".into(),
            bars: r
                .storage_countries
                .iter()
                .map(|c| {
                    let colour = (r.eea_storage_only && !c.eea).then_some("#c0392b");
                    (country(&c.country), c.records, colour)
                })
                .collect(),
        },
        Chart::Bars {
            id: "accessor-countries".into(),
            title: "Where the people who accessed it were: accesses by country of location".into(),
            unit: "accesses".into(),
            bars: r
                .accessor_countries
                .iter()
                .map(|c| (country(&c.country), c.as_location, None))
                .collect(),
        },
    ]
}

/// Severities, most serious first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// Findings by rule and by severity.
pub fn findings_charts(rows: &[custody_verify::reports::findings::FindingRow]) -> Vec<Chart> {
    let mut by_rule: std::collections::BTreeMap<&str, u64> = Default::default();
    let mut by_sev: std::collections::BTreeMap<&str, u64> = Default::default();
    for r in rows {
        *by_rule.entry(r.finding.verdict.rule.as_str()).or_default() += 1;
        *by_sev
            .entry(r.finding.verdict.severity.as_str())
            .or_default() += 1;
    }
    let mut sev: Vec<(String, u64, Option<&'static str>)> = SEVERITIES
        .iter()
        .filter_map(|s| {
            by_sev
                .get(s)
                .map(|n| (s.to_string(), *n, Some(crate::charts::severity_colour(s))))
        })
        .collect();
    for (s, n) in &by_sev {
        if !SEVERITIES.contains(s) {
            sev.push((s.to_string(), *n, None));
        }
    }
    vec![
        Chart::Bars {
            id: "findings-severity".into(),
            title: "Findings by severity".into(),
            unit: "findings".into(),
            bars: sev,
        },
        Chart::Bars {
            id: "findings-rule".into(),
            title: "Findings by rule".into(),
            unit: "findings".into(),
            bars: by_rule
                .into_iter()
                .map(|(r, n)| (r.to_string(), n, None))
                .collect(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_csv() {
        assert_eq!(
            escape_html("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        // A leading tab or carriage return is neutralised like `=`.
        assert_eq!(csv_field("\t=1+2"), "'\t=1+2");
        assert_eq!(csv_field("\r=1+2"), "\"'\r=1+2\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
