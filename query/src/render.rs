//! CSV and HTML renderings of the report documents. Each document lists its
//! tables; CSV is the first (main) table, HTML is every table on one
//! printable page. All text is escaped: event fields come from emitters.

use custody_policy::format_ms;

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

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #999;padding:0.25em 0.5em;text-align:left;vertical-align:top}\
th{background:#eee}tr.finding td{background:#fde2e1}caption{text-align:left;font-weight:bold;padding:0.3em 0}\
dl{display:grid;grid-template-columns:max-content auto;gap:0.2em 1em}dt{font-weight:bold}\
.mono{font-family:monospace;font-size:0.8em;word-break:break-all}\
table{max-width:100%;font-size:0.85em}td.wrap,th.wrap{overflow-wrap:anywhere}\
tr.finding td:first-child{box-shadow:inset 4px 0 #c0392b}\
@page{size:A4 landscape;margin:1cm}\
@media print{body{margin:0;font-size:9pt}tr{break-inside:avoid}\
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
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1><dl>"
    );
    let mut summary = d.summary();
    summary.push(("Generated at".into(), doc.generated_at.clone()));
    summary.push((
        "Checkpoint".into(),
        format!(
            "number {} signed at {} by key {}",
            doc.checkpoint.number,
            format_ms(doc.checkpoint.issued_at_ms),
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
    for t in d.tables() {
        out.push_str(&format!(
            "<table><caption>{}</caption><thead><tr>",
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
        out.push_str("</tbody></table>");
    }
    out.push_str("<h2>Verifying this report</h2><p>Every row names its ledger position (shard/seq and entry hash). \
        The checkpoint below is signed with the ledger's Ed25519 key (<code>/v1/public-key</code>). \
        To check this report without trusting us, download it as JSON with proofs (<code>?proofs=true</code>) \
        and run <code>custody-verify REPORT.json --public-key KEY</code> (VERIFYING.md).</p><table><caption>Checkpoint heads</caption>\
        <thead><tr><th>shard</th><th>size</th><th>Merkle root</th></tr></thead><tbody>");
    for h in &doc.checkpoint.shards {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=mono>{}</td></tr>",
            h.shard,
            h.size,
            hex::encode(h.root)
        ));
    }
    out.push_str(&format!(
        "</tbody></table><p>Signature: <span class=mono>{}</span></p></body></html>",
        escape_html(&doc.checkpoint.signature)
    ));
    out
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn findings_table(caption: &str, findings: &[Finding]) -> Table {
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
                f.at.clone(),
                f.verdict.rule.clone(),
                f.verdict.severity.clone(),
                f.verdict.effect.clone(),
                f.verdict.explanation.clone(),
                CitationView::text(&f.commitment),
                format!("{} {}", f.event_kind, f.event_id),
                f.position.to_string(),
            ],
            true,
        );
    }
    t
}

fn transfers_table(transfers: &[TransferView]) -> Table {
    let mut t = Table::new(
        "Transfers",
        &[
            "when",
            "from",
            "to",
            "stored at destination",
            "mechanism",
            "reason",
            "recipient",
            "categories",
            "position",
        ],
    );
    for x in transfers {
        t.push(
            vec![
                x.at.clone(),
                x.from_country.clone(),
                x.to_country.clone(),
                yes_no(x.stored_at_destination),
                x.mechanism.clone(),
                x.reason.clone(),
                format!("{} {}", x.recipient_kind, x.recipient_name),
                x.categories.join(" "),
                x.position.to_string(),
            ],
            false,
        );
    }
    t
}

fn requests_table(requests: &[LeRequestView], with_customer: bool) -> Table {
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
            opt(&r.received_at),
            r.agency.clone(),
            r.jurisdiction.clone(),
            r.instrument.clone(),
            yes_no(r.legally_binding),
            r.scope_requested.join(" "),
            if r.nondisclosure_order {
                match &r.nondisclosure_expires_at {
                    Some(e) => format!("until {e}"),
                    None => "no expiry".into(),
                }
            } else {
                "no".into()
            } + if r.withheld_from_customer {
                " (withheld from customer)"
            } else {
                ""
            },
            opt(&r.redirected_at),
            opt(&r.notified_at),
            opt(&r.disclosed_at),
            r.disclosed_scope.join(" "),
            r.outcome.clone().unwrap_or_else(|| "open".into()),
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

fn counts_table(caption: &str, key: &str, counts: &[Count]) -> Table {
    let mut t = Table::new(caption, &[key, "requests"]);
    for c in counts {
        t.push(vec![c.key.clone(), c.count.to_string()], false);
    }
    t
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
                    a.at.clone(),
                    a.kind.clone(),
                    a.who.actor_id.clone(),
                    a.who.role.clone(),
                    format!("{} {}", a.who.entity_kind, a.who.entity_name),
                    a.who.office_country.clone(),
                    a.who.location_country.clone(),
                    opt(&a.purpose),
                    a.categories.join(" "),
                    a.case_id.clone(),
                    opt(&a.means),
                    a.detail.clone(),
                    a.verdicts
                        .iter()
                        .map(|v| format!("{} ({}): {}", v.rule, v.severity, v.explanation))
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
        header.extend(m.categories.iter().cloned());
        header.push("events".into());
        let mut matrix = Table {
            caption: "Use of data: data-accessed events by purpose and category".into(),
            header,
            ..Table::default()
        };
        for r in &m.rows {
            let mut row = vec![r.purpose.clone()];
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
                    s.first_at.clone(),
                    s.last_at.clone(),
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
                    h.at.clone(),
                    h.subcontractor_id.clone(),
                    h.purpose.clone(),
                    h.categories.join(" "),
                    h.location_country.clone(),
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
                    .map(|c| c.country.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
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
                    s.at.clone(),
                    s.country.clone(),
                    yes_no(s.eea),
                    s.how.clone(),
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
                    c.country.clone(),
                    yes_no(c.eea),
                    c.records.to_string(),
                    c.first_at.clone(),
                    c.last_at.clone(),
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
                    c.country.clone(),
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
            counts_table("By jurisdiction", "jurisdiction", &self.by_jurisdiction),
            counts_table("By instrument", "instrument", &self.by_instrument),
            counts_table("By outcome", "outcome", &self.by_outcome),
        ]
    }
}

impl Document for FindingsList {
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
                    f.at.clone(),
                    f.verdict.rule.clone(),
                    f.verdict.severity.clone(),
                    f.verdict.effect.clone(),
                    f.verdict.explanation.clone(),
                    CitationView::text(&f.commitment),
                    format!("{} {}", f.event_kind, f.event_id),
                    f.position.to_string(),
                ],
                !matches!(r.state.as_str(), "closed" | "withdrawn" | "discharged"),
            );
        }
        t
    }
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
