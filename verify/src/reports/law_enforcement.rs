//! Law-enforcement requests: assembling each request's life (received,
//! redirected, notified, disclosed, closed) from its events, and the
//! officers' transparency report over all customers.

use std::collections::BTreeMap;

use custody_policy::format_ms;
use custody_proto::v1::{LawEnforcementOutcome, LegalInstrument};
use custody_proto::{timestamp_ms, Kind};
use serde::Serialize;

use super::{category_names, enum_name, le_request_id, Finding, Item, Period, Position};

/// One request as its events tell it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LeRequestView {
    pub customer_id: String,
    pub request_id: String,
    /// Empty when no `law_enforcement_request_received` event names the id.
    pub agency: String,
    pub jurisdiction: String,
    pub instrument: String,
    pub legally_binding: bool,
    pub scope_requested: Vec<String>,
    pub received_at: Option<String>,
    pub nondisclosure_order: bool,
    /// Absent with an order: the order has no expiry.
    pub nondisclosure_expires_at: Option<String>,
    /// An order in force at report time: the customer's copy leaves the
    /// request out.
    pub withheld_from_customer: bool,
    pub redirected_at: Option<String>,
    pub notified_at: Option<String>,
    pub notice_method: String,
    pub disclosed_at: Option<String>,
    /// Every category released, over all disclosures.
    pub disclosed_scope: Vec<String>,
    /// `LAW_ENFORCEMENT_OUTCOME_*` once closed; absent while open.
    pub outcome: Option<String>,
    pub closed_at: Option<String>,
    pub findings: Vec<Finding>,
    pub positions: Vec<Position>,
    /// When the request entered the ledger (received, or its first event):
    /// what a period selects on.
    #[serde(skip)]
    pub anchor_ms: i64,
}

fn earliest(slot: &mut Option<i64>, at: i64) {
    if slot.is_none_or(|t| at < t) {
        *slot = Some(at);
    }
}

/// Every request of the items, keyed by (customer, request id), ordered by
/// when they entered the ledger. Step times are the earliest of each step,
/// as the LE rules read them.
pub fn assemble(items: &[Item], now_ms: i64) -> Vec<LeRequestView> {
    #[derive(Default)]
    struct Acc {
        view: LeRequestView,
        received: Option<i64>,
        first: Option<i64>,
        redirected: Option<i64>,
        notified: Option<i64>,
        disclosed: Option<i64>,
        closed: Option<i64>,
        scope: Vec<i32>,
    }
    let mut by_id: BTreeMap<(String, String), Acc> = BTreeMap::new();
    let mut ordered: Vec<&Item> = items.iter().collect();
    ordered.sort_by_key(|i| (i.shard, i.seq));
    for item in ordered {
        let Some(kind) = item.event.kind.as_ref() else {
            continue;
        };
        let Some(id) = le_request_id(kind) else {
            continue;
        };
        let at = item.at_ms();
        let acc = by_id
            .entry((item.event.customer_id.clone(), id.to_string()))
            .or_default();
        earliest(&mut acc.first, at);
        acc.view.positions.push(item.position());
        acc.view.findings.extend(Finding::all_of(item));
        match kind {
            Kind::LawEnforcementRequestReceived(r) => {
                earliest(&mut acc.received, at);
                let v = &mut acc.view;
                v.agency = r.agency.clone();
                v.jurisdiction = r.jurisdiction.clone();
                v.instrument = enum_name::<LegalInstrument>(r.instrument);
                v.legally_binding = r.legally_binding;
                v.scope_requested = category_names(&r.scope_requested);
                v.nondisclosure_order = r.nondisclosure_order;
                let expires = r.nondisclosure_expires_at.as_ref().map(timestamp_ms);
                v.nondisclosure_expires_at = expires.map(format_ms);
                v.withheld_from_customer =
                    r.nondisclosure_order && expires.is_none_or(|e| now_ms < e);
            }
            Kind::LawEnforcementRedirected(_) => earliest(&mut acc.redirected, at),
            Kind::LawEnforcementCustomerNotified(n) => {
                earliest(&mut acc.notified, at);
                if acc.view.notice_method.is_empty() {
                    acc.view.notice_method = n.method.clone();
                }
            }
            Kind::LawEnforcementDisclosed(d) => {
                earliest(&mut acc.disclosed, at);
                acc.scope.extend(&d.scope_released);
            }
            Kind::LawEnforcementClosed(c) => {
                earliest(&mut acc.closed, at);
                acc.view.outcome = Some(enum_name::<LawEnforcementOutcome>(c.outcome));
            }
            _ => {}
        }
    }
    let mut out: Vec<LeRequestView> = by_id
        .into_iter()
        .map(|((customer, id), mut acc)| {
            acc.scope.sort_unstable();
            acc.scope.dedup();
            let v = &mut acc.view;
            v.customer_id = customer;
            v.request_id = id;
            v.received_at = acc.received.map(format_ms);
            v.redirected_at = acc.redirected.map(format_ms);
            v.notified_at = acc.notified.map(format_ms);
            v.disclosed_at = acc.disclosed.map(format_ms);
            v.disclosed_scope = category_names(&acc.scope);
            v.closed_at = acc.closed.map(format_ms);
            v.anchor_ms = acc.received.or(acc.first).unwrap_or(0);
            acc.view
        })
        .collect();
    out.sort_by(|a, b| {
        (a.anchor_ms, &a.customer_id, &a.request_id).cmp(&(
            b.anchor_ms,
            &b.customer_id,
            &b.request_id,
        ))
    });
    out
}

/// A count under a key (a jurisdiction, an instrument, an outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Count {
    pub key: String,
    pub count: u64,
}

fn counts<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<Count> {
    let mut m: BTreeMap<&str, u64> = BTreeMap::new();
    for k in keys {
        *m.entry(k).or_default() += 1;
    }
    m.into_iter()
        .map(|(k, count)| Count {
            key: k.to_string(),
            count,
        })
        .collect()
}

/// The officers' transparency report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransparencyReport {
    pub period: Period,
    /// Requests that entered the ledger in the period.
    pub requests: u64,
    pub by_jurisdiction: Vec<Count>,
    pub by_instrument: Vec<Count>,
    /// Closed requests by outcome; `OPEN` for requests not closed yet.
    pub by_outcome: Vec<Count>,
    pub redirected: u64,
    pub notified: u64,
    pub disclosed: u64,
    /// notified / requests; absent when there were no requests.
    pub notified_share: Option<f64>,
    /// disclosed / requests; absent when there were no requests.
    pub disclosed_share: Option<f64>,
    pub request_list: Vec<LeRequestView>,
}

/// Builds the transparency report from the items of every customer.
pub fn build(items: &[Item], period: Period, now_ms: i64) -> TransparencyReport {
    let list: Vec<LeRequestView> = assemble(items, now_ms)
        .into_iter()
        .filter(|r| period.contains(r.anchor_ms))
        .collect();
    let n = list.len() as u64;
    let unknown = |s: &str| if s.is_empty() { "UNKNOWN" } else { s }.to_string();
    let jurisdictions: Vec<String> = list.iter().map(|r| unknown(&r.jurisdiction)).collect();
    let instruments: Vec<String> = list.iter().map(|r| unknown(&r.instrument)).collect();
    let outcomes: Vec<String> = list
        .iter()
        .map(|r| r.outcome.clone().unwrap_or_else(|| "OPEN".into()))
        .collect();
    let redirected = list.iter().filter(|r| r.redirected_at.is_some()).count() as u64;
    let notified = list.iter().filter(|r| r.notified_at.is_some()).count() as u64;
    let disclosed = list.iter().filter(|r| r.disclosed_at.is_some()).count() as u64;
    let share = |k: u64| (n > 0).then(|| k as f64 / n as f64);
    TransparencyReport {
        period,
        requests: n,
        by_jurisdiction: counts(jurisdictions.iter().map(String::as_str)),
        by_instrument: counts(instruments.iter().map(String::as_str)),
        by_outcome: counts(outcomes.iter().map(String::as_str)),
        redirected,
        notified,
        disclosed,
        notified_share: share(notified),
        disclosed_share: share(disclosed),
        request_list: list,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use custody_policy::Severity;
    use custody_proto::v1::{DataCategory as C, LawEnforcementOutcome as O, LegalInstrument as I};

    /// Four requests over two customers:
    /// - c1 r-1 (US subpoena, h1): redirected h2, notified h3, disclosed
    ///   contact h4, closed DISCLOSED h5;
    /// - c1 r-2 (DE court order, h10, gag until h100): disclosed h11 with an
    ///   LE-NOTICE finding, still open;
    /// - c2 r-1 (US informal, h20): closed REJECTED h21;
    /// - c2 r-9 (US search warrant, h200): outside the period [h0, h100).
    fn scenario() -> Vec<Item> {
        let mut gagged_disclosure = item(
            7,
            "c1",
            11,
            eng("DE", "DE"),
            le_disclosed("r-2", &[C::Customer, C::Contact]),
        );
        gagged_disclosure
            .verdicts
            .push(breach("LE-NOTICE", Severity::Medium, "no notice"));
        vec![
            item(
                1,
                "c1",
                1,
                eng("US", "US"),
                le_received("r-1", "US", I::Subpoena, true, false, None),
            ),
            item(2, "c1", 2, eng("US", "US"), le_redirected("r-1")),
            item(3, "c1", 3, eng("US", "US"), le_notified("r-1")),
            item(
                4,
                "c1",
                4,
                eng("US", "US"),
                le_disclosed("r-1", &[C::Contact]),
            ),
            item(5, "c1", 5, eng("US", "US"), le_closed("r-1", O::Disclosed)),
            item(
                6,
                "c1",
                10,
                eng("DE", "DE"),
                le_received(
                    "r-2",
                    "DE",
                    I::CourtOrder,
                    true,
                    true,
                    Some(T0 + 100 * HOUR),
                ),
            ),
            gagged_disclosure,
            item(
                8,
                "c2",
                20,
                eng("US", "US"),
                le_received("r-1", "US", I::InformalRequest, false, false, None),
            ),
            item(9, "c2", 21, eng("US", "US"), le_closed("r-1", O::Rejected)),
            item(
                10,
                "c2",
                200,
                eng("US", "US"),
                le_received("r-9", "US", I::SearchWarrant, true, false, None),
            ),
            item(
                11,
                "c2",
                30,
                eng("US", "US"),
                accessed(custody_proto::v1::Purpose::ProvidingSupport, &[C::Contact]),
            ),
        ]
    }

    #[test]
    fn assembles_each_request_per_customer() {
        let all = assemble(&scenario(), T0 + 50 * HOUR);
        let ids: Vec<(&str, &str)> = all
            .iter()
            .map(|r| (r.customer_id.as_str(), r.request_id.as_str()))
            .collect();
        assert_eq!(
            ids,
            vec![("c1", "r-1"), ("c1", "r-2"), ("c2", "r-1"), ("c2", "r-9")]
        );
        let r1 = &all[0];
        assert_eq!(r1.redirected_at.as_deref(), Some("2026-01-01T02:00:00Z"));
        assert_eq!(r1.notified_at.as_deref(), Some("2026-01-01T03:00:00Z"));
        assert_eq!(r1.notice_method, "email");
        assert_eq!(r1.disclosed_scope, vec!["DATA_CATEGORY_CONTACT"]);
        assert_eq!(
            r1.outcome.as_deref(),
            Some("LAW_ENFORCEMENT_OUTCOME_DISCLOSED")
        );
        assert_eq!(r1.positions.len(), 5);
        assert!(!r1.withheld_from_customer);
        let r2 = &all[1];
        assert!(r2.withheld_from_customer);
        assert_eq!(
            r2.nondisclosure_expires_at.as_deref(),
            Some("2026-01-05T04:00:00Z")
        );
        assert_eq!(
            r2.disclosed_scope,
            vec!["DATA_CATEGORY_CONTACT", "DATA_CATEGORY_CUSTOMER"]
        );
        assert_eq!(r2.findings.len(), 1);
        assert_eq!(r2.findings[0].position.seq, 7);
        assert_eq!(r2.outcome, None);
        // After the order's expiry the request is no longer withheld.
        assert!(!assemble(&scenario(), T0 + 100 * HOUR)[1].withheld_from_customer);
    }

    #[test]
    fn transparency_counts_requests_in_the_period() {
        let period = Period {
            from_ms: Some(T0),
            to_ms: Some(T0 + 100 * HOUR),
        };
        let r = build(&scenario(), period, T0 + 50 * HOUR);
        assert_eq!(r.requests, 3);
        let pairs = |c: &[Count]| {
            c.iter()
                .map(|c| (c.key.clone(), c.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(&r.by_jurisdiction),
            vec![("DE".to_string(), 1), ("US".to_string(), 2)]
        );
        assert_eq!(
            pairs(&r.by_instrument),
            vec![
                ("LEGAL_INSTRUMENT_COURT_ORDER".to_string(), 1),
                ("LEGAL_INSTRUMENT_INFORMAL_REQUEST".to_string(), 1),
                ("LEGAL_INSTRUMENT_SUBPOENA".to_string(), 1),
            ]
        );
        assert_eq!(
            pairs(&r.by_outcome),
            vec![
                ("LAW_ENFORCEMENT_OUTCOME_DISCLOSED".to_string(), 1),
                ("LAW_ENFORCEMENT_OUTCOME_REJECTED".to_string(), 1),
                ("OPEN".to_string(), 1),
            ]
        );
        assert_eq!((r.redirected, r.notified, r.disclosed), (1, 1, 2));
        assert_eq!(r.notified_share, Some(1.0 / 3.0));
        assert_eq!(r.disclosed_share, Some(2.0 / 3.0));
        let empty = build(&[], period, T0);
        assert_eq!((empty.requests, empty.notified_share), (0, None));
    }
}
