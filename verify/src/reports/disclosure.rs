//! Disclosure report of one customer for a period: the use matrix filled
//! with counts, subcontractor handoffs, law-enforcement requests, transfers
//! and findings.

use custody_policy::format_ms;
use custody_proto::v1::{DataCategory, Purpose};
use custody_proto::Kind;
use serde::Serialize;

use super::law_enforcement::{assemble, LeRequestView};
use super::{
    category_names, enum_name, gagged_requests, withheld, Audience, Finding, Item, Period,
    Position, TransferView, Who,
};

/// What to build. `now_ms` is the report time: it decides which
/// non-disclosure orders are still in force.
#[derive(Debug, Clone)]
pub struct Params {
    pub customer: String,
    pub period: Period,
    pub audience: Audience,
    pub now_ms: i64,
}

/// Rows of the use chart of seed 000 (plus maintaining support, seed 001),
/// in the chart's order.
const PURPOSES: [Purpose; 6] = [
    Purpose::ProvidingSupport,
    Purpose::MaintainingSupport,
    Purpose::ImprovingSupport,
    Purpose::Communications,
    Purpose::LawEnforcementDisclosure,
    Purpose::Advertising,
];

const CATEGORIES: [DataCategory; 4] = [
    DataCategory::Contact,
    DataCategory::Customer,
    DataCategory::Private,
    DataCategory::Credentials,
];

/// Purpose × category: how many `data_accessed` events used each category
/// for each purpose. An event naming two categories counts once in each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UseMatrix {
    /// Column names, in the order of every row's `counts`.
    pub categories: Vec<String>,
    pub rows: Vec<UseRow>,
    /// Data-accessed events counted.
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UseRow {
    pub purpose: String,
    pub counts: Vec<u64>,
    /// Events with this purpose (not the sum of `counts`).
    pub events: u64,
}

/// One subcontractor handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HandoffView {
    pub at_ms: i64,
    pub at: String,
    pub subcontractor_id: String,
    pub purpose: String,
    pub categories: Vec<String>,
    pub location_country: String,
    pub who: Who,
    pub position: Position,
}

/// Each subcontractor that received data, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubcontractorSummary {
    pub subcontractor_id: String,
    pub handoffs: u64,
    pub first_at: String,
    pub last_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DisclosureReport {
    pub customer: String,
    pub period: Period,
    pub audience: Audience,
    pub use_matrix: UseMatrix,
    pub subcontractors: Vec<SubcontractorSummary>,
    pub handoffs: Vec<HandoffView>,
    /// Requests that entered the ledger in the period, with all their later
    /// steps. The customer's copy leaves out requests under an order still
    /// in force (without saying so, which would disclose them).
    pub law_enforcement: Vec<LeRequestView>,
    pub transfers: Vec<TransferView>,
    pub findings: Vec<Finding>,
}

/// Builds the report from the customer's items of all time (requests that
/// started before the period are needed to know their orders).
pub fn build(items: &[Item], p: &Params) -> DisclosureReport {
    let mine: Vec<Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .cloned()
        .collect();
    let gagged = gagged_requests(&mine, p.now_ms);
    let customer_copy = p.audience == Audience::Customer;
    let mut in_period: Vec<&Item> = mine
        .iter()
        .filter(|i| p.period.contains(i.at_ms()))
        .filter(|i| !(customer_copy && withheld(i, &gagged)))
        .collect();
    in_period.sort_by_key(|i| i.order_key());

    let mut rows: Vec<UseRow> = PURPOSES
        .iter()
        .map(|pu| UseRow {
            purpose: pu.as_str_name().into(),
            counts: vec![0; CATEGORIES.len()],
            events: 0,
        })
        .collect();
    let mut events = 0;
    let mut handoffs = Vec::new();
    let mut transfers = Vec::new();
    let mut findings = Vec::new();
    for item in &in_period {
        findings.extend(Finding::all_of(item));
        match &item.event.kind {
            Some(Kind::DataAccessed(a)) => {
                events += 1;
                let name = enum_name::<Purpose>(a.purpose);
                // Purposes outside the chart (unspecified, or added by a
                // newer schema) get their own row rather than vanishing.
                let row = match rows.iter().position(|r| r.purpose == name) {
                    Some(r) => r,
                    None => {
                        rows.push(UseRow {
                            purpose: name,
                            counts: vec![0; CATEGORIES.len()],
                            events: 0,
                        });
                        rows.len() - 1
                    }
                };
                rows[row].events += 1;
                let mut cats = a.categories.clone();
                cats.sort_unstable();
                cats.dedup();
                for c in cats {
                    if let Some(col) = CATEGORIES.iter().position(|k| *k as i32 == c) {
                        rows[row].counts[col] += 1;
                    }
                }
            }
            Some(Kind::SubcontractorHandoff(h)) => handoffs.push(HandoffView {
                at_ms: item.at_ms(),
                at: format_ms(item.at_ms()),
                subcontractor_id: h.subcontractor_id.clone(),
                purpose: enum_name::<Purpose>(h.purpose),
                categories: category_names(&h.categories),
                location_country: h.location_country.clone(),
                who: Who::of(&item.event),
                position: item.position(),
            }),
            Some(Kind::DataTransferred(_)) => transfers.extend(TransferView::of(item)),
            _ => {}
        }
    }
    let subs = super::tally(
        handoffs
            .iter()
            .map(|h| (h.subcontractor_id.as_str(), h.at_ms)),
    );
    let subcontractors = subs
        .into_iter()
        .map(|(id, (n, first, last))| SubcontractorSummary {
            subcontractor_id: id.into(),
            handoffs: n,
            first_at: format_ms(first),
            last_at: format_ms(last),
        })
        .collect();
    let law_enforcement = assemble(&mine, p.now_ms)
        .into_iter()
        .filter(|r| p.period.contains(r.anchor_ms))
        .filter(|r| !(customer_copy && r.withheld_from_customer))
        .collect();
    DisclosureReport {
        customer: p.customer.clone(),
        period: p.period,
        audience: p.audience,
        use_matrix: UseMatrix {
            categories: CATEGORIES.iter().map(|c| c.as_str_name().into()).collect(),
            rows,
            events,
        },
        subcontractors,
        handoffs,
        law_enforcement,
        transfers,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use custody_policy::Severity;
    use custody_proto::v1::{
        DataCategory as C, LawEnforcementOutcome as O, LegalInstrument as I, LegalMechanism as M,
    };

    /// Customer c1, period [h0, h100):
    /// - accesses: providing {contact, customer} h1, providing {customer} h2,
    ///   improving {contact} h3, advertising {contact} h4 (USE-MATRIX
    ///   breach), providing {private} h150 (outside the period);
    /// - handoffs: sub-a h5, sub-a h6, sub-b h7;
    /// - transfer IE→US h8;
    /// - r-1 (no order) received h9, redirected h10, notified h11,
    ///   disclosed contact h12, closed h13;
    /// - r-2 received h20 under an order without expiry, disclosed h21;
    /// - c2's access at h1 is not c1's.
    fn scenario() -> Vec<Item> {
        let mut ad = item(
            4,
            "c1",
            4,
            eng("IE", "IE"),
            accessed(Purpose::Advertising, &[C::Contact]),
        );
        ad.verdicts.push(breach(
            "USE-MATRIX",
            Severity::High,
            "advertising uses nothing",
        ));
        vec![
            item(
                1,
                "c1",
                1,
                eng("IE", "IE"),
                accessed(Purpose::ProvidingSupport, &[C::Contact, C::Customer]),
            ),
            item(
                2,
                "c1",
                2,
                eng("IE", "IE"),
                accessed(Purpose::ProvidingSupport, &[C::Customer]),
            ),
            item(
                3,
                "c1",
                3,
                eng("IE", "IE"),
                accessed(Purpose::ImprovingSupport, &[C::Contact]),
            ),
            ad,
            item(5, "c1", 5, eng("IE", "IE"), handoff("sub-a", "IE")),
            item(6, "c1", 6, eng("IE", "IE"), handoff("sub-a", "IE")),
            item(7, "c1", 7, eng("IE", "IE"), handoff("sub-b", "FR")),
            item(
                8,
                "c1",
                8,
                eng("IE", "IE"),
                transferred("IE", "US", false, M::StandardContractualClauses),
            ),
            item(
                9,
                "c1",
                9,
                eng("US", "US"),
                le_received("r-1", "US", I::Subpoena, true, false, None),
            ),
            item(10, "c1", 10, eng("US", "US"), le_redirected("r-1")),
            item(11, "c1", 11, eng("US", "US"), le_notified("r-1")),
            item(
                12,
                "c1",
                12,
                eng("US", "US"),
                le_disclosed("r-1", &[C::Contact]),
            ),
            item(
                13,
                "c1",
                13,
                eng("US", "US"),
                le_closed("r-1", O::Disclosed),
            ),
            item(
                14,
                "c1",
                20,
                eng("US", "US"),
                le_received("r-2", "US", I::NationalSecurityLetter, true, true, None),
            ),
            item(
                15,
                "c1",
                21,
                eng("US", "US"),
                le_disclosed("r-2", &[C::Customer]),
            ),
            item(
                16,
                "c1",
                150,
                eng("IE", "IE"),
                accessed(Purpose::ProvidingSupport, &[C::Private]),
            ),
            item(
                17,
                "c2",
                1,
                eng("IE", "IE"),
                accessed(Purpose::ProvidingSupport, &[C::Contact]),
            ),
        ]
    }

    fn params(audience: Audience) -> Params {
        Params {
            customer: "c1".into(),
            period: Period {
                from_ms: Some(T0),
                to_ms: Some(T0 + 100 * HOUR),
            },
            audience,
            now_ms: T0 + 200 * HOUR,
        }
    }

    #[test]
    fn fills_the_use_matrix_with_counts() {
        let r = build(&scenario(), &params(Audience::Officer));
        let m = &r.use_matrix;
        assert_eq!(m.categories[0], "DATA_CATEGORY_CONTACT");
        assert_eq!(m.events, 4);
        let row = |p: &str| m.rows.iter().find(|r| r.purpose == p).expect("row");
        // Columns: contact, customer, private, credentials.
        assert_eq!(row("PURPOSE_PROVIDING_SUPPORT").counts, vec![1, 2, 0, 0]);
        assert_eq!(row("PURPOSE_PROVIDING_SUPPORT").events, 2);
        assert_eq!(row("PURPOSE_IMPROVING_SUPPORT").counts, vec![1, 0, 0, 0]);
        assert_eq!(row("PURPOSE_ADVERTISING").counts, vec![1, 0, 0, 0]);
        assert_eq!(row("PURPOSE_COMMUNICATIONS").counts, vec![0, 0, 0, 0]);
        assert_eq!(m.rows.len(), 6);
    }

    #[test]
    fn lists_handoffs_transfers_and_findings() {
        let r = build(&scenario(), &params(Audience::Officer));
        assert_eq!(r.handoffs.len(), 3);
        assert_eq!(r.subcontractors.len(), 2);
        assert_eq!(r.subcontractors[0].subcontractor_id, "sub-a");
        assert_eq!(r.subcontractors[0].handoffs, 2);
        assert_eq!(r.subcontractors[0].first_at, "2026-01-01T05:00:00Z");
        assert_eq!(r.subcontractors[0].last_at, "2026-01-01T06:00:00Z");
        assert_eq!(r.transfers.len(), 1);
        assert_eq!(
            r.transfers[0].mechanism,
            "LEGAL_MECHANISM_STANDARD_CONTRACTUAL_CLAUSES"
        );
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].verdict.rule, "USE-MATRIX");
        assert_eq!(r.findings[0].position.seq, 4);
    }

    #[test]
    fn requests_under_an_order_are_withheld_from_the_customer_only() {
        let officer = build(&scenario(), &params(Audience::Officer));
        let ids: Vec<&str> = officer
            .law_enforcement
            .iter()
            .map(|r| r.request_id.as_str())
            .collect();
        assert_eq!(ids, vec!["r-1", "r-2"]);
        assert!(officer.law_enforcement[1].withheld_from_customer);
        let r1 = &officer.law_enforcement[0];
        assert_eq!(r1.redirected_at.as_deref(), Some("2026-01-01T10:00:00Z"));
        assert_eq!(r1.notified_at.as_deref(), Some("2026-01-01T11:00:00Z"));
        assert_eq!(r1.disclosed_scope, vec!["DATA_CATEGORY_CONTACT"]);

        let customer = build(&scenario(), &params(Audience::Customer));
        let ids: Vec<&str> = customer
            .law_enforcement
            .iter()
            .map(|r| r.request_id.as_str())
            .collect();
        assert_eq!(ids, vec!["r-1"]);
    }
}
