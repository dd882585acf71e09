//! One pipeline for every report. A [`Report`] names its parameters (which
//! serialise into the document and deserialise back, so the checker reads
//! them instead of parsing fields by hand), loads its inputs from a
//! [`ReadView`], builds the document (pure) and says which entries the
//! document relies on (the ones its proofs carry). The HTTP handlers, the
//! `custody report` command, the benchmark and the offline checker all go
//! through these five implementations; they differ only in the view: the
//! ledger's RocksDB at a checkpoint, or the proven entries of a document.

use std::collections::BTreeSet;

use custody_proto::Kind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::access_history::{self, AccessHistory, Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use super::disclosure::{self, DisclosureReport};
use super::findings::{self, FindingKey, FindingsList};
use super::law_enforcement::{self, TransparencyReport};
use super::residency::{self, ResidencyReport, EEA_RULE};
use super::{gagged_requests, le_request_id, withheld, Audience, Item, Period};
use crate::proofs;

/// Subject recorded for reads of reports that span customers.
pub const AGGREGATE_SUBJECT: &str = "*";

/// Why a view could not give a report its inputs.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("customer `{0}` has no entries in this ledger")]
    UnknownCustomer(String),
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync>),
}

/// Where reports read their inputs. Every list is complete up to the view's
/// checkpoint and nothing after it.
pub trait ReadView {
    /// Whether the customer has any entry at all (a report about an unknown
    /// customer is a 404, not an empty document).
    fn has_customer(&self, customer: &str) -> Result<bool, ReadError>;
    /// The customer's items with occurred-at in `[from_ms, to_ms)`, in the
    /// by-customer index's order: (time, shard, seq).
    fn customer_items(
        &self,
        customer: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Item>, ReadError>;
    /// Every law-enforcement item of every customer, in (shard, seq) order.
    fn law_enforcement_items(&self) -> Result<Vec<Item>, ReadError>;
    /// Findings-index keys matching the filter with the entries they point
    /// at, in index order.
    fn finding_items(
        &self,
        filter: &findings::Filter,
    ) -> Result<Vec<(FindingKey, Item)>, ReadError>;
}

/// The entries a document must hold completely: every entry of `customer`
/// with occurred-at in `[from_ms, to_ms)` that the customer tree commits to
/// must be among the document's proven entries (`crate::completeness`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub customer: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The officer's copy: entries sealed by a non-disclosure order are
    /// opened and must be proven too; the customer's copy leaves them
    /// committed but hidden.
    pub officer: bool,
}

/// One kind of report.
pub trait Report {
    /// The report's name: in documents (`report`), proofs and read records.
    const NAME: &'static str;
    /// What the reader asked for; stored in the document as `params`.
    type Params: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;
    /// What [`Report::load`] reads.
    type Inputs: Send + 'static;
    /// The document's figures.
    type Doc: Serialize + Send + 'static;

    /// The customer a read of this report is recorded against, or
    /// [`AGGREGATE_SUBJECT`].
    fn subject(p: &Self::Params) -> String;
    fn load<V: ReadView + ?Sized>(view: &V, p: &Self::Params) -> Result<Self::Inputs, ReadError>;
    /// Pure: the same inputs, parameters and time give the same document.
    fn build(inputs: &Self::Inputs, p: &Self::Params, now_ms: i64) -> Self::Doc;
    /// The entries the document is computed from: the builder run on these
    /// alone gives the same document. Never an entry withheld from the
    /// reader.
    fn relied(
        inputs: &Self::Inputs,
        p: &Self::Params,
        now_ms: i64,
        doc: &Self::Doc,
    ) -> BTreeSet<(u32, u64)>;
    /// Why a proven entry does not belong in this report, if it does not
    /// (an event of another customer, say): the checker names it.
    fn foreign(p: &Self::Params, item: &Item) -> Option<String>;
    /// For a report about one customer: the window within which every one
    /// of the customer's entries must be proven, so that leaving one out is
    /// detectable. Computed from the inputs as the builder reads them, so the
    /// checker derives it from the proven entries alone. `None`: the report
    /// spans customers and makes no such claim.
    fn completeness(_inputs: &Self::Inputs, _p: &Self::Params, _now_ms: i64) -> Option<Window> {
        None
    }
}

fn all_time(p: &CustomerParams) -> Option<Window> {
    Some(Window {
        customer: p.customer.clone(),
        from_ms: i64::MIN,
        to_ms: i64::MAX,
        officer: p.audience == Audience::Officer,
    })
}

fn pos(i: &Item) -> (u32, u64) {
    (i.shard, i.seq)
}

fn customer_foreign(customer: &str, item: &Item) -> Option<String> {
    (item.event.customer_id != customer).then(|| {
        format!(
            "entry {}/{} is an event of customer `{}`, not of `{customer}`",
            item.shard, item.seq, item.event.customer_id
        )
    })
}

/// Every item of a customer, or [`ReadError::UnknownCustomer`].
fn all_of<V: ReadView + ?Sized>(view: &V, customer: &str) -> Result<Vec<Item>, ReadError> {
    if !view.has_customer(customer)? {
        return Err(ReadError::UnknownCustomer(customer.into()));
    }
    view.customer_items(customer, i64::MIN, i64::MAX)
}

/// The customer's items the reader may see: the customer's copy leaves out
/// every event of a request under a non-disclosure order in force at
/// `now_ms`.
fn visible<'a>(items: &'a [Item], p: &CustomerParams, now_ms: i64) -> Vec<&'a Item> {
    let mine: Vec<Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .cloned()
        .collect();
    let gagged = gagged_requests(&mine, now_ms);
    items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .filter(|i| !(p.audience == Audience::Customer && withheld(i, &gagged)))
        .collect()
}

/// Parameters of the per-customer reports (disclosure, residency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CustomerParams {
    pub customer: String,
    #[serde(default)]
    pub period: Period,
    pub audience: Audience,
}

/// The disclosure report.
pub struct Disclosure;

impl Report for Disclosure {
    const NAME: &'static str = proofs::DISCLOSURE;
    type Params = CustomerParams;
    type Inputs = Vec<Item>;
    type Doc = DisclosureReport;

    fn subject(p: &CustomerParams) -> String {
        p.customer.clone()
    }
    fn load<V: ReadView + ?Sized>(view: &V, p: &CustomerParams) -> Result<Vec<Item>, ReadError> {
        // All time: request steps and profiles before the period matter.
        all_of(view, &p.customer)
    }
    fn build(items: &Vec<Item>, p: &CustomerParams, now_ms: i64) -> DisclosureReport {
        disclosure::build(
            items,
            &disclosure::Params {
                customer: p.customer.clone(),
                period: p.period,
                audience: p.audience,
                now_ms,
            },
        )
    }
    /// The period's data accesses, handoffs, transfers and entries with
    /// verdicts, plus every event of each law-enforcement request with an
    /// event in the period (a request's row needs all its steps). For the
    /// customer's copy, nothing of a request under an order in force.
    fn relied(
        items: &Vec<Item>,
        p: &CustomerParams,
        now_ms: i64,
        _doc: &DisclosureReport,
    ) -> BTreeSet<(u32, u64)> {
        let visible = visible(items, p, now_ms);
        let mut out = BTreeSet::new();
        let mut requests = BTreeSet::new();
        for i in visible.iter().filter(|i| p.period.contains(i.at_ms())) {
            let kind = i.event.kind.as_ref();
            if let Some(id) = kind.and_then(le_request_id) {
                requests.insert(id.to_string());
            }
            let counted = matches!(
                kind,
                Some(
                    Kind::DataAccessed(_)
                        | Kind::SubcontractorHandoff(_)
                        | Kind::DataTransferred(_)
                )
            );
            if counted || !i.verdicts.is_empty() {
                out.insert(pos(i));
            }
        }
        for i in &visible {
            if i.event
                .kind
                .as_ref()
                .and_then(le_request_id)
                .is_some_and(|id| requests.contains(id))
            {
                out.insert(pos(i));
            }
        }
        out
    }
    fn foreign(p: &CustomerParams, item: &Item) -> Option<String> {
        customer_foreign(&p.customer, item)
    }
    /// The builder reads every entry of the customer, of all time.
    fn completeness(_: &Vec<Item>, p: &CustomerParams, _: i64) -> Option<Window> {
        all_time(p)
    }
}

/// The residency report.
pub struct Residency;

impl Report for Residency {
    const NAME: &'static str = proofs::RESIDENCY;
    type Params = CustomerParams;
    type Inputs = Vec<Item>;
    type Doc = ResidencyReport;

    fn subject(p: &CustomerParams) -> String {
        p.customer.clone()
    }
    fn load<V: ReadView + ?Sized>(view: &V, p: &CustomerParams) -> Result<Vec<Item>, ReadError> {
        all_of(view, &p.customer)
    }
    fn build(items: &Vec<Item>, p: &CustomerParams, now_ms: i64) -> ResidencyReport {
        residency::build(
            items,
            &residency::Params {
                customer: p.customer.clone(),
                period: p.period,
                audience: p.audience,
                now_ms,
            },
        )
    }
    /// The period's storage, transfer and access-like events and EEA
    /// findings, plus the customer profile in force at the period's end.
    fn relied(
        items: &Vec<Item>,
        p: &CustomerParams,
        now_ms: i64,
        _doc: &ResidencyReport,
    ) -> BTreeSet<(u32, u64)> {
        let mut visible = visible(items, p, now_ms);
        visible.sort_by_key(|i| i.order_key());
        let mut out = BTreeSet::new();
        let profile = visible
            .iter()
            .filter(|i| p.period.to_ms.is_none_or(|t| i.at_ms() < t))
            .rev()
            .find(|i| matches!(i.event.kind, Some(Kind::CustomerProfileSet(_))));
        if let Some(i) = profile {
            out.insert(pos(i));
        }
        for i in visible.iter().filter(|i| p.period.contains(i.at_ms())) {
            let used = matches!(
                i.event.kind,
                Some(
                    Kind::DataCollected(_)
                        | Kind::DataTransferred(_)
                        | Kind::DataAccessed(_)
                        | Kind::SubcontractorHandoff(_)
                        | Kind::LawEnforcementDisclosed(_)
                )
            );
            if used || i.verdicts.iter().any(|v| v.rule == EEA_RULE) {
                out.insert(pos(i));
            }
        }
        out
    }
    fn foreign(p: &CustomerParams, item: &Item) -> Option<String> {
        customer_foreign(&p.customer, item)
    }
    /// The builder reads every entry of the customer, of all time.
    fn completeness(_: &Vec<Item>, p: &CustomerParams, _: i64) -> Option<Window> {
        all_time(p)
    }
}

/// Parameters of an access-history page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessHistoryParams {
    pub customer: String,
    #[serde(default)]
    pub period: Period,
    pub audience: Audience,
    /// Page size, 1 to [`MAX_LIMIT`].
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// The `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub cursor: Option<Cursor>,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

/// What an access-history page reads: the customer's items up to the
/// cursor, and (only when a disclosure is among them) the customer's items
/// of all time, which decide whether a disclosure's request is under an
/// order in force.
pub struct AccessHistoryInputs {
    pub items: Vec<Item>,
    pub support: Vec<Item>,
}

/// The access history, one page at a time.
pub struct AccessHistoryReport;

impl AccessHistoryReport {
    fn builder_params(
        p: &AccessHistoryParams,
        support: &[Item],
        now_ms: i64,
    ) -> access_history::Params {
        access_history::Params {
            customer: p.customer.clone(),
            period: p.period,
            limit: p.limit.clamp(1, MAX_LIMIT),
            cursor: p.cursor,
            audience: p.audience,
            gagged: gagged_requests(support, now_ms),
        }
    }
}

impl Report for AccessHistoryReport {
    const NAME: &'static str = proofs::ACCESS_HISTORY;
    type Params = AccessHistoryParams;
    type Inputs = AccessHistoryInputs;
    type Doc = AccessHistory;

    fn subject(p: &AccessHistoryParams) -> String {
        p.customer.clone()
    }
    fn load<V: ReadView + ?Sized>(
        view: &V,
        p: &AccessHistoryParams,
    ) -> Result<AccessHistoryInputs, ReadError> {
        if !view.has_customer(&p.customer)? {
            return Err(ReadError::UnknownCustomer(p.customer.clone()));
        }
        let from = p.period.from_ms.unwrap_or(i64::MIN);
        let mut to = p.period.to_ms.unwrap_or(i64::MAX);
        // Everything after the cursor was on earlier pages.
        if let Some(cur) = p.cursor {
            to = to.min(cur.at_ms.saturating_add(1));
        }
        let items = view.customer_items(&p.customer, from, to)?;
        // Only a disclosure in range needs the requests' orders, which may
        // predate the range: the customer's copy withholds it, the
        // officer's flags it, and proofs carry the request it belongs to.
        let support = if items
            .iter()
            .any(|i| matches!(i.event.kind, Some(Kind::LawEnforcementDisclosed(_))))
        {
            view.customer_items(&p.customer, i64::MIN, i64::MAX)?
        } else {
            Vec::new()
        };
        Ok(AccessHistoryInputs { items, support })
    }
    fn build(inputs: &AccessHistoryInputs, p: &AccessHistoryParams, now_ms: i64) -> AccessHistory {
        let params = Self::builder_params(p, &inputs.support, now_ms);
        access_history::build(&inputs.items, &params)
    }
    /// The page's accesses plus the first access after it (the evidence
    /// that there is a next page), and the request-received event of each
    /// law-enforcement disclosure among them.
    fn relied(
        inputs: &AccessHistoryInputs,
        p: &AccessHistoryParams,
        now_ms: i64,
        _doc: &AccessHistory,
    ) -> BTreeSet<(u32, u64)> {
        let params = Self::builder_params(p, &inputs.support, now_ms);
        let page: Vec<&Item> = access_history::candidates(&inputs.items, &params)
            .into_iter()
            .take(params.limit + 1)
            .collect();
        let requests: BTreeSet<&str> = page
            .iter()
            .filter_map(|i| match &i.event.kind {
                Some(Kind::LawEnforcementDisclosed(d)) => Some(d.request_id.as_str()),
                _ => None,
            })
            .collect();
        let mut out: BTreeSet<(u32, u64)> = page.iter().map(|i| pos(i)).collect();
        for i in inputs.support.iter().chain(&inputs.items) {
            if i.event.customer_id != p.customer {
                continue;
            }
            if let Some(Kind::LawEnforcementRequestReceived(r)) = &i.event.kind {
                if requests.contains(r.request_id.as_str()) {
                    out.insert(pos(i));
                }
            }
        }
        out
    }
    fn foreign(p: &AccessHistoryParams, item: &Item) -> Option<String> {
        customer_foreign(&p.customer, item)
    }
    /// From the access after the page (or the period's start when the page
    /// is the last) to the cursor (or the period's end): an access left out
    /// anywhere in between would have been on this page.
    fn completeness(
        inputs: &AccessHistoryInputs,
        p: &AccessHistoryParams,
        now_ms: i64,
    ) -> Option<Window> {
        let params = Self::builder_params(p, &inputs.support, now_ms);
        let candidates = access_history::candidates(&inputs.items, &params);
        let from_ms = match candidates.get(params.limit) {
            Some(next) => next.at_ms(),
            None => p.period.from_ms.unwrap_or(i64::MIN),
        };
        let mut to_ms = p.period.to_ms.unwrap_or(i64::MAX);
        if let Some(cur) = p.cursor {
            to_ms = to_ms.min(cur.at_ms.saturating_add(1));
        }
        Some(Window {
            customer: p.customer.clone(),
            from_ms,
            to_ms,
            officer: p.audience == Audience::Officer,
        })
    }
}

/// Parameters of the law-enforcement transparency report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LawEnforcementParams {
    #[serde(default)]
    pub period: Period,
}

/// The law-enforcement transparency report (officers).
pub struct LawEnforcement;

impl Report for LawEnforcement {
    const NAME: &'static str = proofs::LAW_ENFORCEMENT;
    type Params = LawEnforcementParams;
    type Inputs = Vec<Item>;
    type Doc = TransparencyReport;

    fn subject(_: &LawEnforcementParams) -> String {
        AGGREGATE_SUBJECT.into()
    }
    fn load<V: ReadView + ?Sized>(
        view: &V,
        _: &LawEnforcementParams,
    ) -> Result<Vec<Item>, ReadError> {
        view.law_enforcement_items()
    }
    fn build(items: &Vec<Item>, p: &LawEnforcementParams, now_ms: i64) -> TransparencyReport {
        law_enforcement::build(items, p.period, now_ms)
    }
    /// Every event of every request listed.
    fn relied(
        _: &Vec<Item>,
        _: &LawEnforcementParams,
        _: i64,
        doc: &TransparencyReport,
    ) -> BTreeSet<(u32, u64)> {
        doc.request_list
            .iter()
            .flat_map(|r| r.positions.iter().map(|p| (p.shard, p.seq)))
            .collect()
    }
    fn foreign(_: &LawEnforcementParams, item: &Item) -> Option<String> {
        item.event
            .kind
            .as_ref()
            .and_then(le_request_id)
            .is_none()
            .then(|| {
                format!(
                    "entry {}/{} is not a law-enforcement event",
                    item.shard, item.seq
                )
            })
    }
}

/// The officers' findings list.
pub struct Findings;

impl Report for Findings {
    const NAME: &'static str = proofs::FINDINGS;
    type Params = findings::Filter;
    type Inputs = Vec<(FindingKey, Item)>;
    type Doc = FindingsList;

    fn subject(p: &findings::Filter) -> String {
        p.customer
            .clone()
            .unwrap_or_else(|| AGGREGATE_SUBJECT.into())
    }
    fn load<V: ReadView + ?Sized>(
        view: &V,
        p: &findings::Filter,
    ) -> Result<Vec<(FindingKey, Item)>, ReadError> {
        view.finding_items(p)
    }
    fn build(keyed: &Vec<(FindingKey, Item)>, p: &findings::Filter, _: i64) -> FindingsList {
        findings::build(p.clone(), keyed)
    }
    /// The entry of every row.
    fn relied(
        _: &Vec<(FindingKey, Item)>,
        _: &findings::Filter,
        _: i64,
        doc: &FindingsList,
    ) -> BTreeSet<(u32, u64)> {
        doc.findings
            .iter()
            .map(|r| (r.finding.position.shard, r.finding.position.seq))
            .collect()
    }
    fn foreign(p: &findings::Filter, item: &Item) -> Option<String> {
        p.customer
            .as_deref()
            .and_then(|c| customer_foreign(c, item))
    }
}
