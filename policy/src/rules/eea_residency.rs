//! EEA-RESIDENCY: a customer who chose the EEA storage option has data stored
//! only in the EEA (seed 001). For such a customer, a finding when data is
//! collected into storage outside the EEA, transferred to and stored outside
//! the EEA, or handed off to a subcontractor located outside the EEA.
//! Processing elsewhere without storage is allowed (and needs a transfer
//! mechanism: EEA-TRANSFER-MECHANISM).

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{is_eea, names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "EEA-RESIDENCY",
    severity: Severity::Critical,
    summary: "For customers with the EEA storage option, data is stored only in the EEA: collection storage country, transfers stored at the destination and subcontractor handoff locations are all EEA countries",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    if !cx.eea_customer() {
        return;
    }
    let customer = &cx.event.customer_id;
    let problem = match cx.kind {
        Kind::DataCollected(c) if !is_eea(&c.storage_country) => format!(
            "data of customer {customer} ({}) collected into storage in {}, outside the EEA",
            names(&Category::set(&c.categories)),
            c.storage_country
        ),
        Kind::DataTransferred(t) if t.stored_at_destination && !is_eea(&t.to_country) => format!(
            "data of customer {customer} ({}) transferred from {} to {} and stored there, outside the EEA",
            names(&Category::set(&t.categories)),
            t.from_country,
            t.to_country
        ),
        Kind::SubcontractorHandoff(h) if !is_eea(&h.location_country) => format!(
            "data of customer {customer} ({}) handed off to subcontractor {} located in {}, outside the EEA",
            names(&Category::set(&h.categories)),
            h.subcontractor_id,
            h.location_country
        ),
        _ => return,
    };
    out.push(breach(
        &RULE,
        format!("{problem}, although the customer chose EEA-only storage"),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        CollectionMeans as M, DataCategory as C, EntityKind as E, LegalMechanism as L, Purpose as P,
    };

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn eea() -> Vec<custody_proto::Event> {
        vec![event(T0 - DAY, profile(true))]
    }

    fn store_in(country: &str) -> custody_proto::Event {
        event(
            T0,
            collected(M::SecureFileTransfer, &[C::Customer], country, true, ""),
        )
    }

    #[test]
    fn eea_storage_passes() {
        assert!(effects(RULE.id, &eea(), &store_in("IE")).is_empty());
        assert!(effects(RULE.id, &eea(), &store_in("NO")).is_empty());
        // Customers without the option may be stored anywhere.
        assert!(effects(RULE.id, &[event(T0 - DAY, profile(false))], &store_in("US")).is_empty());
        assert!(effects(RULE.id, &[], &store_in("US")).is_empty());
    }

    #[test]
    fn storage_outside_the_eea_is_a_breach() {
        let v = verdicts_of(RULE.id, &eea(), &store_in("US"));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert_eq!(
            v[0].explanation,
            "data of customer cust-1 (DATA_CATEGORY_CUSTOMER) collected into storage in US, outside the EEA, although the customer chose EEA-only storage"
        );
        let stored = event(
            T0,
            transfer(
                "IE",
                "US",
                &[C::Customer],
                L::StandardContractualClauses,
                true,
                E::Organisation,
                P::ProvidingSupport,
            ),
        );
        assert_eq!(effects(RULE.id, &eea(), &stored), vec![Effect::Breach]);
        let h = event(
            T0,
            handoff("sub-1", &[C::Customer], P::ProvidingSupport, "IN"),
        );
        assert_eq!(effects(RULE.id, &eea(), &h), vec![Effect::Breach]);
    }

    #[test]
    fn edge_switzerland_and_the_uk_are_not_eea_and_processing_is_not_storage() {
        assert_eq!(
            effects(RULE.id, &eea(), &store_in("CH")),
            vec![Effect::Breach]
        );
        assert_eq!(
            effects(RULE.id, &eea(), &store_in("GB")),
            vec![Effect::Breach]
        );
        let processed = event(
            T0,
            transfer(
                "IE",
                "US",
                &[C::Customer],
                L::StandardContractualClauses,
                false,
                E::Organisation,
                P::ProvidingSupport,
            ),
        );
        assert!(effects(RULE.id, &eea(), &processed).is_empty());
        // Leaving the option stops the check.
        let left = [
            event(T0 - DAY, profile(true)),
            event(T0 - 1, profile(false)),
        ];
        assert!(effects(RULE.id, &left, &store_in("US")).is_empty());
    }
}
