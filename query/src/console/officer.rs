//! The officers' console: the findings queue, the law-enforcement
//! dashboard and the way into any customer's portal. Officer sessions only.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{
    date_value, html_page, layout, message_page, options, param, period_of, query_string,
    url_encode, viewer, PageError, Params, Viewer,
};
use crate::api::{latest_checkpoint, record_read, with_reader};
use crate::charts::severity_colour;
use crate::labels::{self, humanize, word};
use crate::proofs::ProofParams;
use crate::render::{self, escape_html, table_html, Document, SEVERITIES};
use crate::reports::findings::{Filter, FindingRow, FindingsList};
use crate::reports::{DocumentOf, Findings, LawEnforcement, LawEnforcementParams, Period, Report};
use crate::source::{produce, StoreView};
use crate::{now_ms, ApiError, AppState};

/// Findings per page of the queue.
pub const QUEUE_ROWS: usize = 50;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { super::redirect("/console/findings", &[]) }),
        )
        .route("/console/findings", get(get_findings))
        .route("/console/law-enforcement", get(get_law_enforcement))
        .route("/console/customer", get(get_customer))
}

async fn officer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, PageError> {
    let v = viewer(state, headers).await?;
    if v.principal.grant.role != crate::auth::Role::Officer {
        return Err(PageError::new(message_page(
            StatusCode::FORBIDDEN,
            "For compliance officers",
            "This page is for compliance officers; your session opens your own data only.",
            Some(&v),
        )));
    }
    Ok(v)
}

/// How a finding ended (closed, withdrawn, or an obligation discharged):
/// when, and by which event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub at_ms: i64,
    pub event_kind: String,
    pub event_id: String,
    pub shard: u32,
    pub seq: u64,
}

/// The queue's filters beyond the findings report's own (rule, customer,
/// state): severity and the period the finding's event falls in.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub severity: Option<String>,
    pub period: Period,
}

impl QueueFilter {
    pub fn matches(&self, r: &FindingRow) -> bool {
        self.severity
            .as_ref()
            .is_none_or(|s| *s == r.finding.verdict.severity)
            && self.period.contains(r.finding.at_ms)
    }
}

/// Every state the queue filters by, in the order the form lists them,
/// with what each means.
pub const STATES: [(&str, &str); 7] = [
    (
        "open",
        "open: a breach not yet remedied, or an obligation missed",
    ),
    (
        "provisional",
        "provisional: a breach that evidence dated earlier may still withdraw",
    ),
    ("recorded", "recorded: a breach, final"),
    (
        "withdrawn",
        "withdrawn: earlier-dated evidence arrived in time",
    ),
    ("closed", "closed: remedied late"),
    ("pending", "pending: an obligation not yet due"),
    ("discharged", "discharged: an obligation met"),
];

/// The findings queue's data: the findings report, the findings and the
/// pending obligations passing the queue's filters (indexes into the
/// report's lists), and how each ended finding on the page ended.
pub struct Queue {
    pub doc: DocumentOf<Findings>,
    pub rows: Vec<usize>,
    pub obligations: Vec<usize>,
    pub closings: HashMap<(u32, u64, String), Closing>,
}

/// The stored findings-index state whose value names the entry that ended
/// a finding shown in `state`.
fn ending_state(state: &str) -> Option<u8> {
    match state {
        "closed" => Some(b'c'),
        "withdrawn" => Some(b'w'),
        "discharged" => Some(b'd'),
        _ => None,
    }
}

/// Produces the findings report and, for the ended findings of one page
/// (closed, withdrawn, discharged), the entry the findings index names as
/// having ended each (same shard, read at the report's checkpoint).
pub fn produce_queue(
    store: &custody_ledger::Store,
    filter: Filter,
    qf: &QueueFilter,
    page: usize,
    now: i64,
) -> Result<Queue, ApiError> {
    let cp = latest_checkpoint(store)?;
    let doc = produce::<Findings>(store, &cp, filter, now, ProofParams::default())?;
    let passing = |list: &[FindingRow]| -> Vec<usize> {
        list.iter()
            .enumerate()
            .filter(|(_, r)| qf.matches(r))
            .map(|(i, _)| i)
            .collect()
    };
    let rows = passing(&doc.report.findings);
    let obligations = passing(&doc.report.obligations);
    let view = StoreView::at(store, &cp);
    let mut closings = HashMap::new();
    for i in rows.iter().skip(page * QUEUE_ROWS).take(QUEUE_ROWS) {
        let r = &doc.report.findings[*i];
        let Some(state) = ending_state(&r.state) else {
            continue;
        };
        let (shard, seq, rule) = (
            r.finding.position.shard,
            r.finding.position.seq,
            &r.finding.verdict.rule,
        );
        let Some(end) = store
            .finding_end(state, rule, &r.customer, shard, seq)
            .map_err(ApiError::internal)?
        else {
            continue;
        };
        if let Some(item) = view.item(shard, end)? {
            closings.insert(
                (shard, seq, rule.clone()),
                Closing {
                    at_ms: item.at_ms(),
                    event_kind: item.kind_name().to_string(),
                    event_id: item.event.event_id.clone(),
                    shard,
                    seq: end,
                },
            );
        }
    }
    Ok(Queue {
        doc,
        rows,
        obligations,
        closings,
    })
}

fn badge(severity: &str) -> String {
    format!(
        "<span class=sev style=\"background:{}\">{}</span>",
        severity_colour(severity),
        escape_html(severity)
    )
}

/// What the queue says of a finding's state: its age while open or
/// provisional, when and by which event it ended, its deadline if pending.
pub fn status_text(r: &FindingRow, closing: Option<&Closing>, now: i64) -> String {
    let f = &r.finding;
    let ended = |verb: &str| match closing {
        Some(c) => format!(
            "{verb} {} by {} {} (entry {}/{})",
            labels::time(c.at_ms),
            word(&c.event_kind),
            c.event_id,
            c.shard,
            c.seq
        ),
        None => format!("{verb} (by an entry past this checkpoint)"),
    };
    let due = f
        .verdict
        .due
        .as_deref()
        .map(labels::time_text)
        .unwrap_or_default();
    match r.state.as_str() {
        "open" if !due.is_empty() => format!(
            "open for {}: obligation due {due} missed",
            labels::duration(now - f.at_ms)
        ),
        "open" => format!("open for {}", labels::duration(now - f.at_ms)),
        "provisional" => format!(
            "provisional for {}: withdrawn if evidence dated earlier arrives within the allowed lateness",
            labels::duration(now - f.at_ms)
        ),
        "withdrawn" => ended("withdrawn"),
        "closed" => ended("closed"),
        "discharged" => ended("obligation met"),
        "pending" => format!("pending: due {due}"),
        _ => "breach recorded".into(),
    }
}

/// Whether a state needs an officer's attention (highlighted rows).
fn live(state: &str) -> bool {
    matches!(state, "open" | "provisional" | "recorded" | "pending")
}

fn queue_table(
    caption: &str,
    rows: &[&FindingRow],
    closings: &HashMap<(u32, u64, String), Closing>,
    now: i64,
) -> String {
    let mut body = format!(
        "<div class=scroll tabindex=0><table><caption>{}</caption><thead><tr><th>state</th><th>severity</th>\
         <th>rule</th><th>customer</th><th>when</th><th>age, deadline or end</th><th>what happened</th>\
         <th>commitment (seed sentence)</th><th>event</th></tr></thead><tbody>",
        escape_html(caption)
    );
    if rows.is_empty() {
        body.push_str("<tr><td colspan=9>none</td></tr>");
    }
    for r in rows {
        let f = &r.finding;
        let closing = closings.get(&(f.position.shard, f.position.seq, f.verdict.rule.clone()));
        let quote = f
            .commitment
            .first()
            .map(|c| {
                format!(
                    "<q>{}</q> ({})",
                    escape_html(&c.quote),
                    escape_html(&c.seed)
                )
            })
            .unwrap_or_default();
        body.push_str(&format!(
            "<tr{}><td class=state-{}>{}</td><td>{}</td><td>{}</td><td><a href=\"/portal/{}\">{}</a></td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{quote}</td><td>{} {}<br>{}</td></tr>",
            if live(&r.state) { " class=finding" } else { "" },
            escape_html(&r.state),
            escape_html(&r.state),
            badge(&f.verdict.severity),
            escape_html(&f.verdict.rule),
            url_encode(&r.customer),
            escape_html(&r.customer),
            escape_html(&labels::time(f.at_ms)),
            escape_html(&status_text(r, closing, now)),
            escape_html(&humanize(&f.verdict.explanation)),
            escape_html(&word(&f.event_kind)),
            escape_html(&f.event_id),
            super::portal::position_cell(&f.position),
        ));
    }
    body.push_str("</tbody></table></div>");
    body
}

/// The queue page.
pub fn findings_page(q: &Params, queue: &Queue, page: usize, viewer: &Viewer, now: i64) -> String {
    let list: &FindingsList = &queue.doc.report;
    let rows: Vec<&FindingRow> = queue.rows.iter().map(|i| &list.findings[*i]).collect();
    let obligations: Vec<&FindingRow> = queue
        .obligations
        .iter()
        .map(|i| &list.obligations[*i])
        .collect();
    let mut body = String::new();
    // Filters.
    let rules: Vec<(String, String)> = custody_policy::RULES
        .iter()
        .map(|r| (r.id.to_string(), r.id.to_string()))
        .collect();
    let states: Vec<(String, String)> = STATES
        .iter()
        .map(|(s, _)| (s.to_string(), s.to_string()))
        .collect();
    let sevs: Vec<(String, String)> = SEVERITIES[..4]
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
        .collect();
    let period = period_of(q).unwrap_or_default();
    body.push_str(&format!(
        "<form class=filters method=get action=\"/console/findings\" aria-label=\"Filter findings\">\
         <label>Rule<select name=rule>{}</select></label>\
         <label>Customer<input name=customer value=\"{}\" size=14></label>\
         <label>State<select name=state>{}</select></label>\
         <label>Severity<select name=severity>{}</select></label>\
         <label>From (UTC)<input type=date name=from value=\"{}\"></label>\
         <label>To (UTC, exclusive)<input type=date name=to value=\"{}\"></label>\
         <button type=submit>Apply</button> <a href=\"/console/findings\">Clear</a></form>",
        options(&rules, param(q, "rule"), "any rule"),
        escape_html(param(q, "customer").unwrap_or("")),
        options(&states, param(q, "state"), "any state"),
        options(&sevs, param(q, "severity"), "any severity"),
        date_value(period.from_ms),
        date_value(period.to_ms),
    ));
    // Summary by state, then by rule and severity.
    let count = |state: &str| rows.iter().filter(|r| r.state == state).count();
    body.push_str(&format!(
        "<div class=cards><div class=card><b>{}</b>findings</div>",
        rows.len()
    ));
    for (state, label) in [
        ("open", "open"),
        ("provisional", "provisional"),
        ("recorded", "recorded breaches"),
        ("withdrawn", "withdrawn"),
        ("closed", "closed"),
        ("discharged", "obligations met"),
    ] {
        let n = count(state);
        if n > 0 || matches!(state, "open" | "provisional" | "recorded") {
            body.push_str(&format!("<div class=card><b>{n}</b>{label}</div>"));
        }
    }
    body.push_str(&format!(
        "<div class=card><b>{}</b>obligations pending</div></div>",
        obligations.len()
    ));
    body.push_str("<details><summary>What the states mean</summary><ul>");
    for (_, meaning) in STATES {
        body.push_str(&format!("<li>{}</li>", escape_html(meaning)));
    }
    body.push_str("</ul></details>");
    let owned: Vec<FindingRow> = rows.iter().map(|r| (*r).clone()).collect();
    for c in render::findings_charts(&owned) {
        body.push_str(&c.svg());
    }
    let mut matrix: BTreeMap<&str, [u64; 5]> = BTreeMap::new();
    for r in &rows {
        let i = SEVERITIES
            .iter()
            .position(|s| *s == r.finding.verdict.severity)
            .unwrap_or(4);
        matrix.entry(r.finding.verdict.rule.as_str()).or_default()[i] += 1;
    }
    body.push_str(
        "<div class=scroll tabindex=0><table><caption>Summary by rule and severity</caption><thead><tr><th>rule</th>",
    );
    for s in &SEVERITIES[..4] {
        body.push_str(&format!("<th>{}</th>", badge(s)));
    }
    body.push_str("<th>total</th></tr></thead><tbody>");
    if matrix.is_empty() {
        body.push_str("<tr><td colspan=6>none</td></tr>");
    }
    for (rule, counts) in &matrix {
        body.push_str(&format!(
            "<tr><td><a href=\"/console/findings{}\">{}</a></td>",
            query_string(&[("rule", rule.to_string())]),
            escape_html(rule)
        ));
        for n in &counts[..4] {
            body.push_str(&format!("<td>{n}</td>"));
        }
        body.push_str(&format!("<td>{}</td></tr>", counts.iter().sum::<u64>()));
    }
    body.push_str("</tbody></table></div>");
    // The queue.
    let pages = rows.len().div_ceil(QUEUE_ROWS).max(1);
    let start = page * QUEUE_ROWS;
    body.push_str(&format!(
        "<h2>Queue</h2><p>Findings {} to {} of {} (page {} of {pages}), in the order of the findings index (state, rule, customer, position).</p>",
        if rows.is_empty() { 0 } else { start + 1 },
        (start + QUEUE_ROWS).min(rows.len()),
        rows.len(),
        page + 1
    ));
    let on_page: Vec<&FindingRow> = rows.iter().skip(start).take(QUEUE_ROWS).copied().collect();
    body.push_str(&queue_table("Findings", &on_page, &queue.closings, now));
    let link = |p: usize, text: &str| {
        let mut pairs: Vec<(&str, String)> =
            ["rule", "customer", "state", "severity", "from", "to"]
                .iter()
                .map(|k| (*k, param(q, k).unwrap_or("").to_string()))
                .collect();
        pairs.push(("page", (p + 1).to_string()));
        format!(
            "<a href=\"/console/findings{}\">{text}</a> ",
            query_string(&pairs)
        )
    };
    let mut nav = String::new();
    if page > 0 {
        nav.push_str(&link(page - 1, "← previous"));
    }
    if page + 1 < pages {
        nav.push_str(&link(page + 1, "next →"));
    }
    if !nav.is_empty() {
        body.push_str(&format!("<p>{nav}</p>"));
    }
    // Pending obligations: not findings (yet).
    body.push_str(&format!(
        "<h2 id=obligations>Obligations pending</h2><p>{} obligations are not yet due: each becomes an open finding if its deadline, plus the allowed lateness, passes without the event that meets it.{}</p>",
        obligations.len(),
        if obligations.len() > QUEUE_ROWS {
            format!(" The first {QUEUE_ROWS} are listed.")
        } else {
            String::new()
        }
    ));
    let shown: Vec<&FindingRow> = obligations.iter().take(QUEUE_ROWS).copied().collect();
    body.push_str(&queue_table(
        "Obligations pending",
        &shown,
        &queue.closings,
        now,
    ));
    body.push_str(&render::verification_html(&queue.doc.checkpoint));
    layout("Findings queue", Some(viewer), &body)
}

async fn get_findings(
    State(state): State<AppState>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let v = officer(&state, &headers).await?;
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, m);
    let filter = Filter {
        rule: param(&q, "rule").map(str::to_string),
        customer: param(&q, "customer").map(str::to_string),
        state: param(&q, "state").map(str::to_string),
    };
    filter
        .validate()
        .map_err(|(name, m)| bad(format!("{name}: {m}")))?;
    let severity = param(&q, "severity").map(str::to_string);
    if let Some(s) = &severity {
        if !SEVERITIES.contains(&s.as_str()) {
            return Err(bad(format!(
                "severity: `{s}` is not critical, high, medium or low"
            ))
            .into());
        }
    }
    let qf = QueueFilter {
        severity,
        period: period_of(&q)?,
    };
    let page = param(&q, "page")
        .map(|s| s.parse::<usize>())
        .transpose()
        .map_err(|_| bad("page: expected a page number".into()))?
        .unwrap_or(1)
        .max(1)
        - 1;
    let now = now_ms();
    let qf2 = qf.clone();
    let queue = with_reader(&state, move |store| {
        produce_queue(store, filter, &qf2, page, now)
    })
    .await?;
    record_read(
        &state,
        &v.principal,
        Findings::NAME,
        &Findings::subject(&queue.doc.params),
        now,
    )
    .await?;
    Ok(html_page(
        StatusCode::OK,
        findings_page(&q, &queue, page, &v, now),
    ))
}

async fn get_law_enforcement(
    State(state): State<AppState>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let v = officer(&state, &headers).await?;
    let period = period_of(&q)?;
    let now = now_ms();
    let doc = with_reader(&state, move |store| {
        let cp = latest_checkpoint(store)?;
        Ok(produce::<LawEnforcement>(
            store,
            &cp,
            LawEnforcementParams { period },
            now,
            ProofParams::default(),
        )?)
    })
    .await?;
    record_read(
        &state,
        &v.principal,
        LawEnforcement::NAME,
        &LawEnforcement::subject(&doc.params),
        now,
    )
    .await?;
    let r = &doc.report;
    let mut body = format!(
        "<form class=filters method=get action=\"/console/law-enforcement\" aria-label=\"Period\">\
         <label>From (UTC)<input type=date name=from value=\"{}\"></label>\
         <label>To (UTC, exclusive)<input type=date name=to value=\"{}\"></label>\
         <button type=submit>Apply</button></form>",
        date_value(period.from_ms),
        date_value(period.to_ms)
    );
    body.push_str("<div class=cards>");
    for (label, value) in r.summary() {
        if label == "Period" {
            continue;
        }
        body.push_str(&format!(
            "<div class=card><b>{}</b>{}</div>",
            escape_html(&value),
            escape_html(&label)
        ));
    }
    body.push_str("</div>");
    for c in render::law_enforcement_charts(r) {
        body.push_str(&c.svg());
    }
    let customers: std::collections::BTreeSet<&str> = r
        .request_list
        .iter()
        .map(|x| x.customer_id.as_str())
        .collect();
    if !customers.is_empty() {
        body.push_str("<p>Customers with requests: ");
        let links: Vec<String> = customers
            .iter()
            .map(|c| {
                format!(
                    "<a href=\"/portal/{}#le\">{}</a>",
                    url_encode(c),
                    escape_html(c)
                )
            })
            .collect();
        body.push_str(&links.join(", "));
        body.push_str("</p>");
    }
    for t in r.tables() {
        body.push_str(&table_html(&t));
    }
    body.push_str(&render::verification_html(&doc.checkpoint));
    Ok(html_page(
        StatusCode::OK,
        layout("Law-enforcement requests", Some(&v), &body),
    ))
}

/// `GET /console/customer[?id=X]`: a form, or on to that customer's portal.
async fn get_customer(
    State(state): State<AppState>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let v = officer(&state, &headers).await?;
    if let Some(id) = param(&q, "id") {
        return Ok(super::redirect(&format!("/portal/{}", url_encode(id)), &[]).into_response());
    }
    let body = "<form class=filters method=get action=\"/console/customer\">\
        <label>Customer id<input name=id required size=20></label>\
        <button type=submit>Open the customer's view</button></form>\
        <p>Opens what the customer sees of their data (the officer's copy), with the same figures as the JSON reports.</p>";
    Ok(html_page(
        StatusCode::OK,
        layout("Open a customer", Some(&v), body),
    ))
}
