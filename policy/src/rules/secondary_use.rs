//! NO-SECONDARY-USE: customer data reaches a third party only to provide or
//! maintain support (seed 000: "We prohibit secondary use of Customer Data,
//! such as use for advertising purposes."). A transfer to a recipient of kind
//! THIRD_PARTY whose purpose is anything else — including no stated purpose —
//! is a finding. Advertising is left to NO-AD-TRANSFER so one act is not
//! counted twice under the two third-party rules.

use custody_proto::v1::{EntityKind, Purpose};
use custody_proto::Kind;

use super::{breach, is_support_purpose, Ctx};
use crate::vocab::{names, purpose_name, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "NO-SECONDARY-USE",
    severity: Severity::High,
    summary: "Customer data reaches a third party only for providing or maintaining support (advertising is NO-AD-TRANSFER)",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataTransferred(t) = cx.kind else {
        return;
    };
    if t.recipient_kind != EntityKind::ThirdParty as i32
        || t.purpose == Purpose::Advertising as i32
        || is_support_purpose(t.purpose)
    {
        return;
    }
    let why = if t.purpose == Purpose::Unspecified as i32 {
        "with no stated purpose".to_string()
    } else {
        format!("for {}", purpose_name(t.purpose))
    };
    out.push(breach(
        &RULE,
        format!(
            "customer {}'s data ({}) transferred to third party {:?} in {} {why}; third parties may receive customer data only to provide or maintain support",
            cx.event.customer_id,
            names(&Category::set(&t.categories)),
            t.recipient_name,
            t.to_country
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

    fn t(recipient: E, purpose: P) -> Vec<Effect> {
        let e = event(
            T0,
            transfer(
                "US",
                "US",
                &[C::Customer],
                L::Unspecified,
                true,
                recipient,
                purpose,
            ),
        );
        effects(RULE.id, &[], &e)
    }

    #[test]
    fn support_purposes_pass() {
        assert!(t(E::ThirdParty, P::ProvidingSupport).is_empty());
        assert!(t(E::ThirdParty, P::MaintainingSupport).is_empty());
        assert!(t(E::Affiliate, P::ImprovingSupport).is_empty());
    }

    #[test]
    fn other_purposes_to_third_parties_are_breaches() {
        assert_eq!(t(E::ThirdParty, P::ImprovingSupport), vec![Effect::Breach]);
        assert_eq!(t(E::ThirdParty, P::Communications), vec![Effect::Breach]);
    }

    #[test]
    fn edge_no_purpose_is_a_breach_and_advertising_is_not_counted_twice() {
        let e = event(
            T0,
            transfer(
                "US",
                "US",
                &[C::Customer],
                L::Unspecified,
                true,
                E::ThirdParty,
                P::Unspecified,
            ),
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert_eq!(v.len(), 1);
        assert!(
            v[0].explanation.contains("no stated purpose"),
            "{}",
            v[0].explanation
        );
        assert!(t(E::ThirdParty, P::Advertising).is_empty());
    }
}
