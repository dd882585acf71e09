//! CREDENTIALS-NOT-USED: account credentials are not accepted to troubleshoot
//! on the customer's behalf (seed 000). Receiving them cannot always be
//! prevented — customers send them anyway, and that is CREDENTIALS-DELETED's
//! open finding — but *using* them is acceptance: a finding when credentials
//! are accessed, transferred or handed off, whatever the purpose.

use custody_proto::v1::DataCategory;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::purpose_name;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "CREDENTIALS-NOT-USED",
    severity: Severity::High,
    summary: "Account credentials are never used: no data access, transfer or subcontractor handoff includes the credentials category",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let credentials = DataCategory::Credentials as i32;
    let (what, purpose, categories) = match cx.kind {
        Kind::DataAccessed(a) => ("accessed", a.purpose, &a.categories),
        Kind::DataTransferred(t) => ("transferred", t.purpose, &t.categories),
        Kind::SubcontractorHandoff(h) => {
            ("handed off to a subcontractor", h.purpose, &h.categories)
        }
        _ => return,
    };
    if !categories.contains(&credentials) {
        return;
    }
    let actor = cx
        .event
        .actor
        .as_ref()
        .map_or("an unknown actor", |a| a.id.as_str());
    out.push(breach(
        &RULE,
        format!(
            "account credentials of customer {} {what} by {actor} for {}; credentials are not accepted to troubleshoot on the customer's behalf",
            cx.event.customer_id,
            purpose_name(purpose)
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C, Purpose as P};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    #[test]
    fn other_private_data_may_be_used() {
        let e = event(T0, accessed(P::ProvidingSupport, &[C::Private], "needed"));
        assert!(effects(RULE.id, &[], &e).is_empty());
    }

    #[test]
    fn using_credentials_is_a_breach_even_with_a_justification() {
        let e = event(
            T0,
            accessed(P::ProvidingSupport, &[C::Credentials], "customer insisted"),
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert!(
            v[0].explanation.contains("PURPOSE_PROVIDING_SUPPORT"),
            "{}",
            v[0].explanation
        );
        let h = event(
            T0,
            handoff(
                "sub-1",
                &[C::Customer, C::Credentials],
                P::ProvidingSupport,
                "PL",
            ),
        );
        assert_eq!(effects(RULE.id, &[], &h), vec![Effect::Breach]);
    }

    #[test]
    fn edge_receiving_credentials_is_not_using_them() {
        let e = event(
            T0,
            collected(M::SecureFileTransfer, &[C::Credentials], "US", true, ""),
        );
        assert!(effects(RULE.id, &[], &e).is_empty());
    }
}
