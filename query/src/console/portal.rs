//! The customer portal: who touched my data, where, and why, on one page,
//! built from the disclosure, residency and access-history reports of the
//! JSON API (the same [`produce`] calls, the same figures), each read
//! recorded as a `report_read`. Officers open any customer's portal from
//! the console (the officer's copy: requests under a non-disclosure order
//! are shown to them); a customer session opens only its own.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{
    date_value, html_page, layout, options, param, period_of, query_string, url_encode, viewer,
    PageError, Params, Viewer,
};
use crate::api::{latest_checkpoint, record_read, with_reader};
use crate::charts::{severity_colour, Chart};
use crate::labels::{self, country, humanize, time_opt, word, words};
use crate::proofs::ProofParams;
use crate::render::{self, escape_html, table_html, Document};
use crate::reports::access_history::{Access, AccessHistory, MAX_LIMIT};
use crate::reports::disclosure::DisclosureReport;
use crate::reports::law_enforcement::LeRequestView;
use crate::reports::residency::ResidencyReport;
use crate::reports::{
    AccessHistoryParams, AccessHistoryReport, Audience, CustomerParams, Disclosure, DocumentOf,
    Finding, Report, Residency,
};
use crate::source::produce;
use crate::{now_ms, ApiError, AppState};

/// Rows of the access table per page.
pub const PAGE_ROWS: usize = 100;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/portal/{customer}", get(get_portal))
        .route("/portal/{customer}/download/{file}", get(get_download))
}

/// Officers see any customer (the officer's copy); a customer only itself.
pub fn may_view(v: &Viewer, customer: &str) -> Result<Audience, PageError> {
    use crate::auth::Role;
    match (v.principal.grant.role, &v.principal.grant.customer) {
        (Role::Officer, _) => Ok(Audience::Officer),
        (Role::Customer, Some(own)) if own == customer => Ok(Audience::Customer),
        _ => Err(PageError::new(super::message_page(
            StatusCode::FORBIDDEN,
            "Not yours to see",
            "This session can open only its own customer's pages.",
            Some(v),
        ))),
    }
}

/// The three documents a portal page shows.
pub struct PortalDocs {
    pub disclosure: DocumentOf<Disclosure>,
    pub residency: DocumentOf<Residency>,
    pub history: DocumentOf<AccessHistoryReport>,
}

/// Produces the portal's three reports at the latest checkpoint (one read
/// handle, no writer lock), exactly as the JSON endpoints do.
pub fn produce_portal(
    store: &custody_ledger::Store,
    customer: &str,
    period: crate::reports::Period,
    audience: Audience,
    now: i64,
) -> Result<PortalDocs, ApiError> {
    let cp = latest_checkpoint(store)?;
    let cparams = CustomerParams {
        customer: customer.to_string(),
        period,
        audience,
    };
    let disclosure =
        produce::<Disclosure>(store, &cp, cparams.clone(), now, ProofParams::default())?;
    let residency = produce::<Residency>(store, &cp, cparams, now, ProofParams::default())?;
    let history = produce::<AccessHistoryReport>(
        store,
        &cp,
        AccessHistoryParams {
            customer: customer.to_string(),
            period,
            audience,
            limit: MAX_LIMIT,
            cursor: None,
        },
        now,
        ProofParams::default(),
    )?;
    Ok(PortalDocs {
        disclosure,
        residency,
        history,
    })
}

/// The filters of the access timeline and table.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    pub kind: Option<String>,
    pub purpose: Option<String>,
    pub person: Option<String>,
    /// Report reads are hidden unless asked for.
    pub show_reads: bool,
}

impl AccessFilter {
    pub fn of(q: &Params) -> AccessFilter {
        AccessFilter {
            kind: param(q, "kind").map(str::to_string),
            purpose: param(q, "purpose").map(str::to_string),
            person: param(q, "person").map(str::to_string),
            show_reads: param(q, "reads").is_some(),
        }
    }

    pub fn matches(&self, a: &Access) -> bool {
        (self.show_reads || a.kind != "report_read" || self.kind.as_deref() == Some("report_read"))
            && self.kind.as_ref().is_none_or(|k| *k == a.kind)
            && self
                .purpose
                .as_ref()
                .is_none_or(|p| a.purpose.as_deref() == Some(p.as_str()))
            && self.person.as_ref().is_none_or(|p| *p == a.who.actor_id)
    }
}

/// The series an access counts in on the timeline: its purpose, or its
/// kind when it has none (collection, report read).
pub fn series_of(a: &Access) -> String {
    match &a.purpose {
        Some(p) => word(p),
        None => word(&a.kind),
    }
}

/// Accesses over time, stacked by purpose: by day when the accesses span
/// at most 62 days, by month otherwise; every bucket between the first and
/// the last is drawn (empty ones too).
pub fn timeline(rows: &[&Access]) -> Chart {
    const DAY: i64 = 86_400_000;
    let (Some(min), Some(max)) = (
        rows.iter().map(|a| a.at_ms).min(),
        rows.iter().map(|a| a.at_ms).max(),
    ) else {
        return Chart::Stacked {
            id: "timeline".into(),
            title: "Accesses over time, by purpose".into(),
            buckets: vec![],
            series: vec![],
            marked: vec![],
        };
    };
    let by_day = max - min <= 62 * DAY;
    let month = |ms: i64| -> i64 {
        let s = custody_policy::format_ms(ms);
        let y: i64 = s.get(0..4).and_then(|x| x.parse().ok()).unwrap_or(1970);
        let m: i64 = s.get(5..7).and_then(|x| x.parse().ok()).unwrap_or(1);
        y * 12 + (m - 1)
    };
    let key = |ms: i64| {
        if by_day {
            ms.div_euclid(DAY)
        } else {
            month(ms)
        }
    };
    let (k0, k1) = (key(min), key(max));
    let buckets: Vec<String> = (k0..=k1)
        .map(|k| {
            if by_day {
                custody_policy::format_ms(k * DAY)
                    .chars()
                    .take(10)
                    .collect()
            } else {
                format!("{:04}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1)
            }
        })
        .collect();
    let n = buckets.len();
    let mut series: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut marked = vec![false; n];
    for a in rows {
        let i = (key(a.at_ms) - k0) as usize;
        series.entry(series_of(a)).or_insert_with(|| vec![0; n])[i] += 1;
        if !a.verdicts.is_empty() {
            marked[i] = true;
        }
    }
    Chart::Stacked {
        id: "timeline".into(),
        title: format!(
            "Accesses over time by purpose, per {} (a red dot marks a {} with an access that broke a commitment)",
            if by_day { "day" } else { "month" },
            if by_day { "day" } else { "month" }
        ),
        buckets,
        series: series.into_iter().collect(),
        marked,
    }
}

fn severity_badge(s: &str) -> String {
    format!(
        "<span class=sev style=\"background:{}\">{}</span>",
        severity_colour(s),
        escape_html(s)
    )
}

/// A position with its hash behind a disclosure widget.
pub fn position_cell(p: &crate::reports::Position) -> String {
    format!(
        "<details><summary>entry {}/{}</summary><span class=mono>{}</span></details>",
        p.shard,
        p.seq,
        escape_html(&p.entry_hash)
    )
}

/// One law-enforcement request in plain language.
pub fn request_sentence(r: &LeRequestView) -> String {
    let mut s = format!(
        "On {}, {} ({}) asked for {} with a {} ({}).",
        time_opt(&r.received_at),
        r.agency,
        country(&r.jurisdiction),
        if r.scope_requested.is_empty() {
            "no stated data".to_string()
        } else {
            words(&r.scope_requested)
        },
        word(&r.instrument),
        if r.legally_binding {
            "legally binding"
        } else {
            "not legally binding"
        }
    );
    if r.nondisclosure_order {
        s.push_str(" It came with an order not to tell you");
        match &r.nondisclosure_expires_at {
            Some(e) => s.push_str(&format!(", in force until {}.", labels::time_text(e))),
            None => s.push_str(" with no expiry."),
        }
    }
    match &r.redirected_at {
        Some(t) => s.push_str(&format!(
            " We asked them to request it from you directly on {}.",
            labels::time_text(t)
        )),
        None => s.push_str(" We did not redirect them to you."),
    }
    match &r.notified_at {
        Some(t) => s.push_str(&format!(" We told you on {}.", labels::time_text(t))),
        None => s.push_str(" We did not notify you."),
    }
    match &r.disclosed_at {
        Some(t) => s.push_str(&format!(
            " We released {} on {}.",
            words(&r.disclosed_scope),
            labels::time_text(t)
        )),
        None => s.push_str(" We released nothing."),
    }
    match &r.outcome {
        Some(o) => s.push_str(&format!(
            " Closed{}: {}.",
            r.closed_at
                .as_deref()
                .map(|t| format!(" on {}", labels::time_text(t)))
                .unwrap_or_default(),
            word(o)
        )),
        None => s.push_str(" The request is still open."),
    }
    s
}

/// What a verdict did, in words: a breach, a finding opened or closed,
/// an obligation and its deadline, or one that ended an earlier verdict.
pub fn effect_text(v: &crate::reports::VerdictView) -> String {
    match v.effect.as_str() {
        "breach" => "a breach".into(),
        "opens" => "a finding, open until remedied".into(),
        "closes" => "remedied: closes an earlier finding".into(),
        "withdraws" => {
            "withdraws an earlier provisional breach: evidence dated earlier arrived in time".into()
        }
        "obligation" => match &v.due {
            Some(d) => format!("an obligation, due {}", labels::time_text(d)),
            None => "an obligation".into(),
        },
        "discharges" => "meets an earlier obligation".into(),
        other => word(other),
    }
}

fn findings_list(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "<p>No commitment was broken in this period.</p>".into();
    }
    let mut out = String::from("<ol class=plain>");
    for f in findings {
        let quote = f
            .commitment
            .first()
            .map(|c| {
                format!(
                    "<br><q>{}</q> ({})",
                    escape_html(&c.quote),
                    escape_html(&c.seed)
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "<li>{} <strong>{}</strong> on {} ({}): {}{quote}</li>",
            severity_badge(&f.verdict.severity),
            escape_html(&f.verdict.rule),
            escape_html(&labels::time(f.at_ms)),
            escape_html(&effect_text(&f.verdict)),
            escape_html(&humanize(&f.verdict.explanation)),
        ));
    }
    out.push_str("</ol>");
    out
}

fn access_table(rows: &[&Access], skip: usize) -> String {
    let mut out = String::from(
        "<div class=scroll tabindex=0><table><caption>Accesses, newest first</caption><thead><tr>\
         <th>when</th><th>who</th><th>employer</th><th>where they were</th><th>why</th>\
         <th>what</th><th>how</th><th>finding</th><th>ledger entry</th></tr></thead><tbody>",
    );
    if rows.is_empty() {
        out.push_str("<tr><td colspan=9>none</td></tr>");
    }
    for a in rows.iter().skip(skip).take(PAGE_ROWS) {
        let finding = a
            .verdicts
            .iter()
            .map(|v| {
                format!(
                    "{} {}: {}",
                    severity_badge(&v.severity),
                    escape_html(&v.rule),
                    escape_html(&humanize(&v.explanation))
                )
            })
            .collect::<Vec<_>>()
            .join("<br>");
        out.push_str(&format!(
            "<tr{}><td>{}</td><td>{}<br><small>{}</small></td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{finding}</td><td>{}</td></tr>",
            if a.verdicts.is_empty() { "" } else { " class=finding" },
            escape_html(&labels::time(a.at_ms)),
            escape_html(&a.who.actor_id),
            escape_html(&word(&a.who.role)),
            escape_html(&word(&a.who.entity_kind)),
            escape_html(&a.who.entity_name),
            escape_html(&country(&a.who.location_country)),
            escape_html(&a.purpose.as_deref().map_or_else(|| word(&a.kind), word)),
            escape_html(&words(&a.categories)),
            escape_html(&humanize(&a.detail)),
            position_cell(&a.position),
        ));
    }
    out.push_str("</tbody></table></div>");
    out
}

fn filter_form(
    customer: &str,
    h: &AccessHistory,
    f: &AccessFilter,
    period: crate::reports::Period,
) -> String {
    let mut kinds = BTreeSet::new();
    let mut purposes = BTreeSet::new();
    let mut people = BTreeSet::new();
    for a in &h.accesses {
        kinds.insert(a.kind.clone());
        if let Some(p) = &a.purpose {
            purposes.insert(p.clone());
        }
        if !a.who.actor_id.is_empty() && a.kind != "report_read" {
            people.insert(a.who.actor_id.clone());
        }
    }
    let labelled = |set: BTreeSet<String>| -> Vec<(String, String)> {
        set.into_iter().map(|v| (v.clone(), word(&v))).collect()
    };
    format!(
        "<form class=filters method=get action=\"/portal/{}\" aria-label=\"Filter accesses\">\
         <label>Kind<select name=kind>{}</select></label>\
         <label>Purpose<select name=purpose>{}</select></label>\
         <label>Person<select name=person>{}</select></label>\
         <label>From (UTC)<input type=date name=from value=\"{}\"></label>\
         <label>To (UTC, exclusive)<input type=date name=to value=\"{}\"></label>\
         <label class=check><input type=checkbox name=reads value=1{}> show report reads</label>\
         <button type=submit>Apply</button> <a href=\"/portal/{}\">Clear</a></form>",
        url_encode(customer),
        options(&labelled(kinds), f.kind.as_deref(), "any kind"),
        options(&labelled(purposes), f.purpose.as_deref(), "any purpose"),
        options(
            &people
                .into_iter()
                .map(|p| (p.clone(), p))
                .collect::<Vec<_>>(),
            f.person.as_deref(),
            "anyone"
        ),
        date_value(period.from_ms),
        date_value(period.to_ms),
        if f.show_reads { " checked" } else { "" },
        url_encode(customer),
    )
}

/// Transfers grouped as flows between countries: (from, to) → count.
pub fn flows(d: &DisclosureReport) -> Chart {
    let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
    for t in &d.transfers {
        *by.entry((t.from_country.clone(), t.to_country.clone()))
            .or_default() += 1;
    }
    Chart::Bars {
        id: "transfer-flows".into(),
        title: "Transfers between countries (from → to)".into(),
        unit: "transfers".into(),
        bars: by
            .into_iter()
            .map(|((f, t), n)| (format!("{} → {}", country(&f), country(&t)), n, None))
            .collect(),
    }
}

/// The whole portal page.
pub fn page(
    customer: &str,
    docs: &PortalDocs,
    f: &AccessFilter,
    skip: usize,
    viewer: &Viewer,
    q: &Params,
) -> String {
    let d = &docs.disclosure.report;
    let r: &ResidencyReport = &docs.residency.report;
    let h = &docs.history.report;
    let rows: Vec<&Access> = h.accesses.iter().filter(|a| f.matches(a)).collect();
    let hidden_reads = h
        .accesses
        .iter()
        .filter(|a| a.kind == "report_read" && !f.matches(a))
        .count();
    let people: BTreeSet<&str> = rows
        .iter()
        .filter(|a| a.kind != "report_read")
        .map(|a| a.who.actor_id.as_str())
        .collect();
    let cp = &docs.disclosure.checkpoint;
    let mut body = String::new();
    if viewer.principal.grant.role == crate::auth::Role::Officer {
        body.push_str(&format!(
            "<p class=note>Officer's view of customer {}: requests under a non-disclosure order are shown here and withheld from the customer's own copy.</p>",
            escape_html(customer)
        ));
    }
    body.push_str(&format!(
        "<p>Everything below is computed from the ledger at checkpoint {} (signed {}), for {}.</p>",
        cp.number,
        escape_html(&labels::time(cp.issued_at_ms)),
        escape_html(&docs.disclosure.report.period.describe())
    ));
    body.push_str(&format!(
        "<div class=cards><div class=card><b>{}</b>accesses shown</div><div class=card><b>{}</b>people</div>\
         <div class=card><b>{}</b>storage countries</div><div class=card><b>{}</b>transfers</div>\
         <div class=card><b>{}</b>law-enforcement requests</div><div class=card><b>{}</b>findings</div></div>",
        rows.len(),
        people.len(),
        r.storage_countries.len(),
        d.transfers.len(),
        d.law_enforcement.len(),
        d.findings.len()
    ));
    body.push_str(
        "<nav aria-label=\"Sections\"><ul><li><a href=\"#who\">Who touched my data</a></li>\
         <li><a href=\"#where\">Where it is</a></li><li><a href=\"#use\">How it was used</a></li>\
         <li><a href=\"#le\">Law enforcement</a></li><li><a href=\"#findings\">Findings</a></li>\
         <li><a href=\"#verify\">Download and verify</a></li></ul></nav>",
    );

    // Who, when, why.
    body.push_str("<h2 id=who>Who touched my data, and why</h2>");
    body.push_str(&filter_form(customer, h, f, docs.history.params.period));
    if !f.show_reads && f.kind.as_deref() != Some("report_read") {
        body.push_str(&format!(
            "<p>Report reads (you or an officer reading reports like this one) are hidden: {hidden_reads} in this period; tick “show report reads” to list them.</p>"
        ));
    }
    if h.next_cursor.is_some() {
        body.push_str(&format!(
            "<p class=note>This page covers the {MAX_LIMIT} most recent accesses of the period; choose an earlier “To” date to see older ones.</p>"
        ));
    }
    body.push_str(&timeline(&rows).svg());
    let end = (skip + PAGE_ROWS).min(rows.len());
    body.push_str(&format!(
        "<p>Accesses {} to {end} of {}.</p>",
        if rows.is_empty() { 0 } else { skip + 1 },
        rows.len()
    ));
    body.push_str(&access_table(&rows, skip));
    let pager = |to: usize, text: &str| {
        let mut pairs: Vec<(&str, String)> = ["kind", "purpose", "person", "from", "to", "reads"]
            .iter()
            .map(|k| (*k, param(q, k).unwrap_or("").to_string()))
            .collect();
        pairs.push(("skip", to.to_string()));
        format!(
            "<a href=\"/portal/{}{}\">{text}</a> ",
            url_encode(customer),
            query_string(&pairs)
        )
    };
    let mut pages = String::new();
    if skip > 0 {
        pages.push_str(&pager(skip.saturating_sub(PAGE_ROWS), "← newer"));
    }
    if end < rows.len() {
        pages.push_str(&pager(end, "older →"));
    }
    if !pages.is_empty() {
        body.push_str(&format!("<p>{pages}</p>"));
    }

    // Where.
    body.push_str("<h2 id=where>Where my data is and was</h2>");
    body.push_str(&format!(
        "<p>Storage restricted to the EEA: <strong>{}</strong>. {}</p>",
        if r.eea_storage_only { "yes" } else { "no" },
        match r.eea_restriction_held {
            None => "You did not ask for EEA-only storage.".to_string(),
            Some(true) => "The restriction held throughout.".to_string(),
            Some(false) => format!(
                "The restriction was broken {} times (see findings).",
                r.eea_breaches.len()
            ),
        }
    ));
    for c in render::residency_charts(r) {
        body.push_str(&c.svg());
    }
    let tables = r.tables();
    if let Some(t) = tables.first() {
        body.push_str(&table_html(t));
    }
    body.push_str(&flows(d).svg());
    body.push_str(&table_html(&render::transfers_table(&d.transfers)));

    // Use.
    body.push_str("<h2 id=use>How my data was used</h2>");
    body.push_str(
        "<p>The heat map counts <strong>data-accessed events only</strong> (a person or system opening your data for a purpose); \
         transfers, subcontractor handoffs and law-enforcement disclosures are counted in their own sections. \
         An outlined cell holds an access that broke the use matrix.</p>",
    );
    body.push_str(&render::use_matrix_chart(&d.use_matrix, &d.findings).svg());
    let dt = d.tables();
    for t in dt.iter().skip(1).take(2) {
        body.push_str(&table_html(t));
    }

    // Law enforcement.
    body.push_str("<h2 id=le>Law-enforcement requests</h2>");
    if d.law_enforcement.is_empty() {
        body.push_str(
            "<p>No law-enforcement request about your data is on record for this period.</p>",
        );
    } else {
        body.push_str("<ol class=plain>");
        for req in &d.law_enforcement {
            let flagged = if req.findings.is_empty() {
                String::new()
            } else {
                format!(
                    " <strong>Checked against our commitments:</strong> {}.",
                    escape_html(
                        &req.findings
                            .iter()
                            .map(|f| format!("{} ({})", f.verdict.rule, effect_text(&f.verdict)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                )
            };
            body.push_str(&format!(
                "<li>Request {}: {}{flagged}</li>",
                escape_html(&req.request_id),
                escape_html(&request_sentence(req))
            ));
        }
        body.push_str("</ol>");
    }

    // Findings.
    body.push_str("<h2 id=findings>Commitments: breaches, obligations and their ends</h2>");
    body.push_str(&findings_list(&d.findings));

    // Verify.
    let base = format!("/portal/{}/download", url_encode(customer));
    let period_q = query_string(&[
        ("from", param(q, "from").unwrap_or("").to_string()),
        ("to", param(q, "to").unwrap_or("").to_string()),
    ]);
    body.push_str(&format!(
        "<h2 id=verify>Download and verify</h2><p>Each download is the JSON report with an inclusion proof for every entry it relies on \
         and the proof that nothing of yours was left out.</p><ul>\
         <li><a href=\"{base}/disclosure.json{period_q}\" download>Disclosure report with proofs</a></li>\
         <li><a href=\"{base}/residency.json{period_q}\" download>Residency report with proofs</a></li>\
         <li><a href=\"{base}/access-history.json{period_q}\" download>Access history (latest {MAX_LIMIT}) with proofs</a></li>\
         <li><a href=\"/v1/public-key\" download=\"custody.pub\">The ledger's public key</a> (save as <code>custody.pub</code>)</li></ul>\
         <p>Then check a report on your own computer, without our data or servers:</p>\
         <code class=cmd>custody-verify disclosure.json --public-key custody.pub</code>"
    ));
    body.push_str(&render::verification_html(cp));
    layout(&format!("Data of customer {customer}"), Some(viewer), &body)
}

async fn get_portal(
    State(state): State<AppState>,
    Path(customer): Path<String>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let v = viewer(&state, &headers).await?;
    let audience = may_view(&v, &customer)?;
    let period = period_of(&q)?;
    let skip = param(&q, "skip")
        .map(|s| s.parse::<usize>())
        .transpose()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "`skip` must be a number"))?
        .unwrap_or(0);
    let now = now_ms();
    let c = customer.clone();
    let docs = with_reader(&state, move |store| {
        produce_portal(store, &c, period, audience, now)
    })
    .await?;
    record_portal_reads(&state, &v, &docs, now).await?;
    let filter = AccessFilter::of(&q);
    Ok(html_page(
        StatusCode::OK,
        page(&customer, &docs, &filter, skip, &v, &q),
    ))
}

async fn record_portal_reads(
    state: &AppState,
    v: &Viewer,
    docs: &PortalDocs,
    now: i64,
) -> Result<(), ApiError> {
    record_read(
        state,
        &v.principal,
        Disclosure::NAME,
        &Disclosure::subject(&docs.disclosure.params),
        now,
    )
    .await?;
    record_read(
        state,
        &v.principal,
        Residency::NAME,
        &Residency::subject(&docs.residency.params),
        now,
    )
    .await?;
    record_read(
        state,
        &v.principal,
        AccessHistoryReport::NAME,
        &AccessHistoryReport::subject(&docs.history.params),
        now,
    )
    .await
}

/// `GET /portal/{customer}/download/{report}.json`: the JSON report with
/// proofs, as an attachment.
async fn get_download(
    State(state): State<AppState>,
    Path((customer, file)): Path<(String, String)>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let v = viewer(&state, &headers).await?;
    let audience = may_view(&v, &customer)?;
    let period = period_of(&q)?;
    let now = now_ms();
    let pp = ProofParams {
        proofs: true,
        ..ProofParams::default()
    };
    let c = customer.clone();
    let kind = file.clone();
    let (name, subject, json) = with_reader(&state, move |store| {
        let cp = latest_checkpoint(store)?;
        let cparams = CustomerParams {
            customer: c.clone(),
            period,
            audience,
        };
        let to_json = |v: serde_json::Result<serde_json::Value>| v.map_err(ApiError::internal);
        Ok(match kind.as_str() {
            "disclosure.json" => {
                let d = produce::<Disclosure>(store, &cp, cparams, now, pp)?;
                (
                    Disclosure::NAME,
                    Disclosure::subject(&d.params),
                    to_json(serde_json::to_value(&d))?,
                )
            }
            "residency.json" => {
                let d = produce::<Residency>(store, &cp, cparams, now, pp)?;
                (
                    Residency::NAME,
                    Residency::subject(&d.params),
                    to_json(serde_json::to_value(&d))?,
                )
            }
            "access-history.json" => {
                let params = AccessHistoryParams {
                    customer: c,
                    period,
                    audience,
                    limit: MAX_LIMIT,
                    cursor: None,
                };
                let d = produce::<AccessHistoryReport>(store, &cp, params, now, pp)?;
                (
                    AccessHistoryReport::NAME,
                    AccessHistoryReport::subject(&d.params),
                    to_json(serde_json::to_value(&d))?,
                )
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                    "no download `{other}` (disclosure.json, residency.json, access-history.json)"
                ),
                ))
            }
        })
    })
    .await?;
    record_read(&state, &v.principal, name, &subject, now).await?;
    let body = serde_json::to_vec_pretty(&json).map_err(ApiError::internal)?;
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
