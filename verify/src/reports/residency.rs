//! Residency report of one customer: where the data was stored over time,
//! every transfer, the countries of the people who accessed it, and whether
//! the EEA storage restriction held.

use std::collections::BTreeMap;

use custody_policy::{format_ms, is_eea};
use custody_proto::Kind;
use serde::Serialize;

use super::{gagged_requests, withheld, Audience, Finding, Item, Period, Position, TransferView};

/// The rule whose findings mean the EEA restriction was broken.
pub const EEA_RULE: &str = "EEA-RESIDENCY";

#[derive(Debug, Clone)]
pub struct Params {
    pub customer: String,
    pub period: Period,
    /// The customer's copy leaves out the events of law-enforcement requests
    /// under a non-disclosure order in force at `now_ms` (a disclosure counted
    /// among the accessor countries would itself disclose the request).
    pub audience: Audience,
    pub now_ms: i64,
}

/// Data came to be stored in a country: collected there, or transferred
/// there and stored at the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StorageRecord {
    pub at_ms: i64,
    pub at: String,
    pub country: String,
    pub eea: bool,
    /// `data_collected` or `data_transferred`.
    pub how: String,
    pub position: Position,
}

/// Per country: how often accessors had their office there, and how often
/// they physically were there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessorCountry {
    pub country: String,
    pub eea: bool,
    pub as_office: u64,
    pub as_location: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StorageCountry {
    pub country: String,
    pub eea: bool,
    pub records: u64,
    pub first_at: String,
    pub last_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResidencyReport {
    pub customer: String,
    pub period: Period,
    pub audience: Audience,
    /// The EEA storage option of the latest profile set before the end of
    /// the period.
    pub eea_storage_only: bool,
    pub home_country: String,
    /// Absent when the customer does not have the EEA option; otherwise
    /// true when no `EEA-RESIDENCY` finding was recorded in the period.
    pub eea_restriction_held: Option<bool>,
    /// The `EEA-RESIDENCY` findings of the period, with their positions.
    pub eea_breaches: Vec<Finding>,
    pub storage: Vec<StorageRecord>,
    pub storage_countries: Vec<StorageCountry>,
    pub transfers: Vec<TransferView>,
    /// Countries of the actors of data accessed, collected, transferred,
    /// handed off or disclosed (report reads are not counted: they show
    /// the report, not the data).
    pub accessor_countries: Vec<AccessorCountry>,
    /// Accesses counted in `accessor_countries`.
    pub accesses: u64,
}

/// Builds the report from the customer's items of all time (the profile in
/// force may have been set before the period).
pub fn build(items: &[Item], p: &Params) -> ResidencyReport {
    let all_mine: Vec<Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer)
        .cloned()
        .collect();
    let gagged = gagged_requests(&all_mine, p.now_ms);
    let mut mine: Vec<&Item> = all_mine
        .iter()
        .filter(|i| !(p.audience == Audience::Customer && withheld(i, &gagged)))
        .collect();
    mine.sort_by_key(|i| i.order_key());
    let before_end = |i: &&&Item| p.period.to_ms.is_none_or(|t| i.at_ms() < t);
    let profile = mine
        .iter()
        .filter(before_end)
        .rev()
        .find_map(|i| match &i.event.kind {
            Some(Kind::CustomerProfileSet(c)) => Some(c),
            _ => None,
        });
    let eea_storage_only = profile.is_some_and(|c| c.eea_storage_only);
    let mut storage = Vec::new();
    let mut transfers = Vec::new();
    let mut eea_breaches = Vec::new();
    let mut countries: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut accesses = 0;
    for item in mine.iter().filter(|i| p.period.contains(i.at_ms())) {
        eea_breaches.extend(
            Finding::all_of(item)
                .into_iter()
                .filter(|f| f.verdict.rule == EEA_RULE),
        );
        let stored = |country: &str, how: &str| StorageRecord {
            at_ms: item.at_ms(),
            at: format_ms(item.at_ms()),
            country: country.into(),
            eea: is_eea(country),
            how: how.into(),
            position: item.position(),
        };
        let is_access = match &item.event.kind {
            Some(Kind::DataCollected(c)) => {
                if !c.storage_country.is_empty() {
                    storage.push(stored(&c.storage_country, "data_collected"));
                }
                true
            }
            Some(Kind::DataTransferred(t)) => {
                if t.stored_at_destination {
                    storage.push(stored(&t.to_country, "data_transferred"));
                }
                transfers.extend(TransferView::of(item));
                true
            }
            Some(
                Kind::DataAccessed(_)
                | Kind::SubcontractorHandoff(_)
                | Kind::LawEnforcementDisclosed(_),
            ) => true,
            _ => false,
        };
        if let (true, Some(a)) = (is_access, &item.event.actor) {
            accesses += 1;
            if !a.office_country.is_empty() {
                countries.entry(a.office_country.clone()).or_default().0 += 1;
            }
            if !a.location_country.is_empty() {
                countries.entry(a.location_country.clone()).or_default().1 += 1;
            }
        }
    }
    let by_country = super::tally(storage.iter().map(|s| (s.country.as_str(), s.at_ms)));
    let storage_countries = by_country
        .into_iter()
        .map(|(c, (n, first, last))| StorageCountry {
            country: c.into(),
            eea: is_eea(c),
            records: n,
            first_at: format_ms(first),
            last_at: format_ms(last),
        })
        .collect();
    ResidencyReport {
        customer: p.customer.clone(),
        period: p.period,
        audience: p.audience,
        eea_storage_only,
        home_country: profile.map(|c| c.home_country.clone()).unwrap_or_default(),
        eea_restriction_held: eea_storage_only.then_some(eea_breaches.is_empty()),
        eea_breaches,
        storage,
        storage_countries,
        transfers,
        accessor_countries: countries
            .into_iter()
            .map(|(country, (as_office, as_location))| AccessorCountry {
                eea: is_eea(&country),
                country,
                as_office,
                as_location,
            })
            .collect(),
        accesses,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use custody_policy::Severity;
    use custody_proto::v1::{DataCategory as C, LegalMechanism as M, Purpose};

    /// c1 with the EEA option (profile at h0):
    /// - collected in IE h1 by an engineer of office IE located in IE;
    /// - accessed h2 by office IE located in IN;
    /// - transfer IE→US h3, processing only (not stored);
    /// - transfer IE→DE h4, stored, by office DE located in DE;
    /// - transfer DE→US h5, stored: an EEA-RESIDENCY breach;
    /// - a report read h6 (not counted), c2's collection in US h1 (not c1's).
    fn scenario() -> Vec<Item> {
        let mut breach_item = item(
            5,
            "c1",
            5,
            eng("DE", "DE"),
            transferred("DE", "US", true, M::StandardContractualClauses),
        );
        breach_item
            .verdicts
            .push(breach(EEA_RULE, Severity::Critical, "stored in US"));
        vec![
            item(0, "c1", 0, None, profile(true)),
            item(1, "c1", 1, eng("IE", "IE"), collected("IE", &[C::Customer])),
            item(
                2,
                "c1",
                2,
                eng("IE", "IN"),
                accessed(Purpose::ProvidingSupport, &[C::Customer]),
            ),
            item(
                3,
                "c1",
                3,
                eng("IE", "IE"),
                transferred("IE", "US", false, M::StandardContractualClauses),
            ),
            item(
                4,
                "c1",
                4,
                eng("DE", "DE"),
                transferred("IE", "DE", true, M::Unspecified),
            ),
            breach_item,
            item(6, "c1", 6, eng("US", "US"), report_read()),
            item(7, "c2", 1, eng("US", "US"), collected("US", &[C::Customer])),
        ]
    }

    fn params(to_hours: Option<i64>) -> Params {
        Params {
            customer: "c1".into(),
            period: Period {
                from_ms: None,
                to_ms: to_hours.map(|h| T0 + h * HOUR),
            },
            audience: Audience::Officer,
            now_ms: T0 + 1000 * HOUR,
        }
    }

    #[test]
    fn the_customer_copy_leaves_out_gagged_disclosures() {
        use custody_proto::v1::LegalInstrument as I;
        let mut items = scenario();
        items.push(item(
            8,
            "c1",
            8,
            eng("US", "US"),
            le_received("r-1", "US", I::NationalSecurityLetter, true, true, None),
        ));
        items.push(item(
            9,
            "c1",
            9,
            eng("US", "BR"),
            le_disclosed("r-1", &[C::Customer]),
        ));
        let officer = build(&items, &params(None));
        assert_eq!(officer.accesses, 6);
        assert!(officer.accessor_countries.iter().any(|c| c.country == "BR"));
        let mut p = params(None);
        p.audience = Audience::Customer;
        let customer = build(&items, &p);
        assert_eq!(customer.accesses, 5);
        assert!(!customer
            .accessor_countries
            .iter()
            .any(|c| c.country == "BR"));
    }

    #[test]
    fn storage_over_time_and_the_breach() {
        let r = build(&scenario(), &params(None));
        assert!(r.eea_storage_only);
        assert_eq!(r.home_country, "DE");
        let storage: Vec<(&str, &str, bool)> = r
            .storage
            .iter()
            .map(|s| (s.country.as_str(), s.how.as_str(), s.eea))
            .collect();
        assert_eq!(
            storage,
            vec![
                ("IE", "data_collected", true),
                ("DE", "data_transferred", true),
                ("US", "data_transferred", false),
            ]
        );
        assert_eq!(r.storage_countries.len(), 3);
        assert_eq!(r.transfers.len(), 3);
        assert_eq!(r.transfers[1].mechanism, "LEGAL_MECHANISM_UNSPECIFIED");
        assert_eq!(r.eea_restriction_held, Some(false));
        assert_eq!(r.eea_breaches.len(), 1);
        assert_eq!(r.eea_breaches[0].position.seq, 5);
    }

    #[test]
    fn counts_accessor_countries() {
        let r = build(&scenario(), &params(None));
        // Five accesses (h1..h5); offices IE, IE, IE, DE, DE; locations IE, IN, IE, DE, DE.
        assert_eq!(r.accesses, 5);
        let got: Vec<(&str, u64, u64)> = r
            .accessor_countries
            .iter()
            .map(|c| (c.country.as_str(), c.as_office, c.as_location))
            .collect();
        assert_eq!(got, vec![("DE", 2, 2), ("IE", 3, 2), ("IN", 0, 1)]);
    }

    #[test]
    fn restriction_held_before_the_breach() {
        // [all, h5): the breach at h5 is outside.
        let r = build(&scenario(), &params(Some(5)));
        assert_eq!(r.eea_restriction_held, Some(true));
        assert_eq!(r.storage.len(), 2);
        // Without the EEA option the question does not arise.
        let mut items = scenario();
        items[0] = item(0, "c1", 0, None, profile(false));
        assert_eq!(build(&items, &params(Some(5))).eea_restriction_held, None);
    }
}
