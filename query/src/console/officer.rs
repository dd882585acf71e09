//! The officers' console: the findings queue, the law-enforcement
//! dashboard and the way into any customer's portal. Officer sessions only.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use custody_policy::Effect;

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
use crate::reports::{
    DocumentOf, Findings, LawEnforcement, LawEnforcementParams, Period, ReadView, Report,
};
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

/// How a closed finding was closed: when, and by which event.
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

/// The findings queue's data: the findings report, the rows passing the
/// queue's filters, and the closing events of the closed rows on the page.
pub struct Queue {
    pub doc: DocumentOf<Findings>,
    pub rows: Vec<usize>,
    pub closings: HashMap<(u32, u64, String), Closing>,
}

/// Produces the findings report and finds, for the closed findings of one
/// page, the entry whose verdict closed each (same shard, same rule).
pub fn produce_queue(
    store: &custody_ledger::Store,
    filter: Filter,
    qf: &QueueFilter,
    page: usize,
    now: i64,
) -> Result<Queue, ApiError> {
    let cp = latest_checkpoint(store)?;
    let doc = produce::<Findings>(store, &cp, filter, now, ProofParams::default())?;
    let rows: Vec<usize> = doc
        .report
        .findings
        .iter()
        .enumerate()
        .filter(|(_, r)| qf.matches(r))
        .map(|(i, _)| i)
        .collect();
    let mut wanted: BTreeMap<String, Vec<(u32, u64, String)>> = BTreeMap::new();
    for i in rows.iter().skip(page * QUEUE_ROWS).take(QUEUE_ROWS) {
        let r = &doc.report.findings[*i];
        if r.state == "closed" {
            wanted.entry(r.customer.clone()).or_default().push((
                r.finding.position.shard,
                r.finding.position.seq,
                r.finding.verdict.rule.clone(),
            ));
        }
    }
    let view = StoreView::at(store, &cp);
    let mut closings = HashMap::new();
    for (customer, keys) in wanted {
        let items = view
            .customer_items(&customer, i64::MIN, i64::MAX)
            .map_err(ApiError::internal)?;
        for item in &items {
            for v in &item.verdicts {
                if let Effect::Closes { opened_seq } = v.effect {
                    let key = (item.shard, opened_seq, v.rule.clone());
                    if keys.contains(&key) {
                        closings.insert(
                            key,
                            Closing {
                                at_ms: item.at_ms(),
                                event_kind: item.kind_name().to_string(),
                                event_id: item.event.event_id.clone(),
                                shard: item.shard,
                                seq: item.seq,
                            },
                        );
                    }
                }
            }
        }
    }
    Ok(Queue {
        doc,
        rows,
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

/// The queue page.
pub fn findings_page(q: &Params, queue: &Queue, page: usize, viewer: &Viewer, now: i64) -> String {
    let list: &FindingsList = &queue.doc.report;
    let rows: Vec<&FindingRow> = queue.rows.iter().map(|i| &list.findings[*i]).collect();
    let mut body = String::new();
    // Filters.
    let rules: Vec<(String, String)> = custody_policy::RULES
        .iter()
        .map(|r| (r.id.to_string(), r.id.to_string()))
        .collect();
    let states: Vec<(String, String)> = ["open", "closed", "recorded"]
        .iter()
        .map(|s| (s.to_string(), s.to_string()))
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
    // Summary by rule and severity.
    let open = rows.iter().filter(|r| r.state == "open").count();
    body.push_str(&format!(
        "<div class=cards><div class=card><b>{}</b>findings</div><div class=card><b>{open}</b>open</div>\
         <div class=card><b>{}</b>closed</div><div class=card><b>{}</b>recorded breaches</div></div>",
        rows.len(),
        rows.iter().filter(|r| r.state == "closed").count(),
        rows.iter().filter(|r| r.state == "recorded").count(),
    ));
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
        "<h2>Queue</h2><p>Findings {} to {} of {} (page {} of {pages}), oldest open first in each state as the index lists them.</p>",
        if rows.is_empty() { 0 } else { start + 1 },
        (start + QUEUE_ROWS).min(rows.len()),
        rows.len(),
        page + 1
    ));
    body.push_str(
        "<div class=scroll tabindex=0><table><caption>Findings</caption><thead><tr><th>state</th><th>severity</th>\
         <th>rule</th><th>customer</th><th>when</th><th>age or closed</th><th>what happened</th>\
         <th>commitment (seed sentence)</th><th>event</th></tr></thead><tbody>",
    );
    if rows.is_empty() {
        body.push_str("<tr><td colspan=9>none</td></tr>");
    }
    for r in rows.iter().skip(start).take(QUEUE_ROWS) {
        let f = &r.finding;
        let status = match r.state.as_str() {
            "open" => format!("open for {}", labels::duration(now - f.at_ms)),
            "closed" => match queue.closings.get(&(
                f.position.shard,
                f.position.seq,
                f.verdict.rule.clone(),
            )) {
                Some(c) => format!(
                    "closed {} by {} {} (entry {}/{})",
                    labels::time(c.at_ms),
                    word(&c.event_kind),
                    c.event_id,
                    c.shard,
                    c.seq
                ),
                None => "closed (closing entry past this checkpoint)".into(),
            },
            _ => "breach recorded".into(),
        };
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
            if r.state == "open" { " class=finding" } else { "" },
            escape_html(&r.state),
            escape_html(&r.state),
            badge(&f.verdict.severity),
            escape_html(&f.verdict.rule),
            url_encode(&r.customer),
            escape_html(&r.customer),
            escape_html(&labels::time(f.at_ms)),
            escape_html(&status),
            escape_html(&humanize(&f.verdict.explanation)),
            escape_html(&word(&f.event_kind)),
            escape_html(&f.event_id),
            super::portal::position_cell(&f.position),
        ));
    }
    body.push_str("</tbody></table></div>");
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
