//! NO-VOLUNTARY-GOV-TRANSFER: data goes to a government only when the
//! organisation is legally required to release it (seed 000), which the
//! law-enforcement events record (`LE-NO-VOLUNTARY` judges those). A data
//! transfer to a recipient of kind government for any purpose other than a
//! law-enforcement disclosure is a voluntary disclosure.

use custody_proto::v1::{EntityKind, Purpose};
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, purpose_name, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "NO-VOLUNTARY-GOV-TRANSFER",
    severity: Severity::Critical,
    summary: "No customer data is transferred to a government recipient except as a law-enforcement disclosure",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataTransferred(t) = cx.kind else {
        return;
    };
    if t.recipient_kind != EntityKind::Government as i32
        || t.purpose == Purpose::LawEnforcementDisclosure as i32
    {
        return;
    }
    out.push(breach(
        &RULE,
        format!(
            "customer {}'s data ({}) transferred to government recipient {:?} in {} for {}: a voluntary disclosure, not a release the organisation was legally required to make",
            cx.event.customer_id,
            names(&Category::set(&t.categories)),
            t.recipient_name,
            t.to_country,
            purpose_name(t.purpose)
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        DataCategory as C, EntityKind as E, LegalMechanism as L, Purpose as P,
    };

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn to(recipient: E, purpose: P) -> Vec<Effect> {
        effects(
            RULE.id,
            &[],
            &event(
                T0,
                transfer(
                    "US",
                    "US",
                    &[C::Contact],
                    L::StandardContractualClauses,
                    false,
                    recipient,
                    purpose,
                ),
            ),
        )
    }

    #[test]
    fn a_transfer_to_a_government_outside_a_disclosure_is_a_breach() {
        assert_eq!(to(E::Government, P::ProvidingSupport), vec![Effect::Breach]);
        assert_eq!(to(E::Government, P::Unspecified), vec![Effect::Breach]);
        assert!(to(E::Government, P::LawEnforcementDisclosure).is_empty());
        assert!(to(E::ThirdParty, P::ProvidingSupport).is_empty());
        assert!(to(E::Affiliate, P::Communications).is_empty());
    }
}
