//! NO-AD-TRANSFER: no transfer of customer data to a third party for
//! advertising (seed 000: "We do not transfer data about our customers to
//! third parties for the purposes of advertising.").

use custody_proto::v1::{EntityKind, Purpose};
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "NO-AD-TRANSFER",
    severity: Severity::Critical,
    summary: "No customer data is transferred to a third party for advertising",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataTransferred(t) = cx.kind else {
        return;
    };
    if t.recipient_kind == EntityKind::ThirdParty as i32 && t.purpose == Purpose::Advertising as i32
    {
        out.push(breach(
            &RULE,
            format!(
                "customer {}'s data ({}) transferred to third party {:?} in {} for PURPOSE_ADVERTISING",
                cx.event.customer_id,
                names(&Category::set(&t.categories)),
                t.recipient_name,
                t.to_country
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        DataCategory as C, EntityKind as E, LegalMechanism as L, Purpose as P,
    };

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn t(recipient: E, purpose: P) -> Vec<Effect> {
        let e = event(
            T0,
            transfer(
                "US",
                "US",
                &[C::Contact],
                L::Unspecified,
                true,
                recipient,
                purpose,
            ),
        );
        effects(RULE.id, &[], &e)
    }

    #[test]
    fn support_transfers_pass() {
        assert!(t(E::Organisation, P::ProvidingSupport).is_empty());
        assert!(t(E::ThirdParty, P::ProvidingSupport).is_empty());
    }

    #[test]
    fn third_party_advertising_is_a_breach() {
        assert_eq!(t(E::ThirdParty, P::Advertising), vec![Effect::Breach]);
        let e = event(
            T0,
            transfer(
                "US",
                "US",
                &[C::Contact],
                L::Unspecified,
                true,
                E::ThirdParty,
                P::Advertising,
            ),
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert!(
            v[0].explanation.contains("\"Recipient Ltd.\""),
            "{}",
            v[0].explanation
        );
    }

    #[test]
    fn edge_advertising_inside_the_organisation_is_left_to_the_use_matrix() {
        assert!(t(E::Affiliate, P::Advertising).is_empty());
    }
}
