//! SUB-PURPOSE: subcontractors handle customer data only when required to
//! provide or maintain support (seed 001). A handoff's purpose must be
//! providing or maintaining support.

use custody_proto::Kind;

use super::{breach, is_support_purpose, Ctx};
use crate::vocab::purpose_name;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "SUB-PURPOSE",
    severity: Severity::High,
    summary: "A subcontractor handoff is only for providing or maintaining support",
    remedy: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::SubcontractorHandoff(h) = cx.kind else {
        return;
    };
    if is_support_purpose(h.purpose) {
        return;
    }
    out.push(breach(
        &RULE,
        format!(
            "data of customer {} handed off to subcontractor {} for {}; subcontractors handle data only to provide or maintain support",
            cx.event.customer_id,
            h.subcontractor_id,
            purpose_name(h.purpose)
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, Purpose as P};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn hand(p: P) -> Vec<Effect> {
        effects(
            RULE.id,
            &[],
            &event(T0, handoff("sub-1", &[C::Contact], p, "PL")),
        )
    }

    #[test]
    fn providing_or_maintaining_support_passes() {
        assert!(hand(P::ProvidingSupport).is_empty());
        assert!(hand(P::MaintainingSupport).is_empty());
    }

    #[test]
    fn other_purposes_are_breaches() {
        let v = verdicts_of(
            RULE.id,
            &[],
            &event(
                T0,
                handoff("sub-1", &[C::Contact], P::ImprovingSupport, "PL"),
            ),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].explanation,
            "data of customer cust-1 handed off to subcontractor sub-1 for PURPOSE_IMPROVING_SUPPORT; subcontractors handle data only to provide or maintain support"
        );
        assert_eq!(hand(P::Advertising), vec![Effect::Breach]);
    }

    #[test]
    fn edge_communications_is_not_support_even_with_contact_data_only() {
        assert_eq!(hand(P::Communications), vec![Effect::Breach]);
    }
}
