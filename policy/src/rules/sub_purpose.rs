//! SUB-PURPOSE: subcontractors handle customer data only when required to
//! provide or maintain support (seed 001). The purpose must be providing
//! or maintaining support for a handoff to a subcontractor, for data
//! accessed by a subcontractor's staff (actor of entity kind
//! subcontractor), and for data transferred to a subcontractor.

use custody_proto::v1::EntityKind;
use custody_proto::Kind;

use super::{breach, is_support_purpose, Ctx};
use crate::vocab::purpose_name;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "SUB-PURPOSE",
    severity: Severity::High,
    summary: "Subcontractors handle customer data (handoffs, accesses by their staff, transfers to them) only for providing or maintaining support",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let customer = &cx.event.customer_id;
    let explanation = match cx.kind {
        Kind::SubcontractorHandoff(h) if !is_support_purpose(h.purpose) => format!(
            "data of customer {customer} handed off to subcontractor {} for {}; subcontractors handle data only to provide or maintain support",
            h.subcontractor_id,
            purpose_name(h.purpose)
        ),
        Kind::DataAccessed(a) if !is_support_purpose(a.purpose) => {
            let Some(actor) = cx
                .event
                .actor
                .as_ref()
                .filter(|a| a.entity_kind == EntityKind::Subcontractor as i32)
            else {
                return;
            };
            format!(
                "data of customer {customer} accessed by {} of subcontractor {:?} for {}; subcontractors handle data only to provide or maintain support",
                actor.id,
                actor.entity_name,
                purpose_name(a.purpose)
            )
        }
        Kind::DataTransferred(t)
            if t.recipient_kind == EntityKind::Subcontractor as i32
                && !is_support_purpose(t.purpose) =>
        {
            format!(
                "data of customer {customer} transferred to subcontractor {:?} in {} for {}; subcontractors handle data only to provide or maintain support",
                t.recipient_name,
                t.to_country,
                purpose_name(t.purpose)
            )
        }
        _ => return,
    };
    out.push(breach(&RULE, explanation));
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

    /// Issue 12: the commitment holds for what subcontractors do, not only
    /// for handoffs: accesses by their staff and transfers to them.
    #[test]
    fn subcontractor_staff_accesses_and_transfers_to_subcontractors_are_judged_too() {
        use custody_proto::v1::{EntityKind as E, LegalMechanism as L};
        let access = |entity: E, p: P| {
            let mut e = event(T0, accessed(p, &[C::Customer], ""));
            if let Some(a) = e.actor.as_mut() {
                a.entity_kind = entity as i32;
                a.entity_name = "Acme Support s.r.o.".into();
            }
            effects(RULE.id, &[], &e)
        };
        assert_eq!(
            access(E::Subcontractor, P::ImprovingSupport),
            vec![Effect::Breach]
        );
        assert!(access(E::Subcontractor, P::MaintainingSupport).is_empty());
        assert!(access(E::Organisation, P::ImprovingSupport).is_empty());
        let transfer_to = |recipient: E, p: P| {
            effects(
                RULE.id,
                &[],
                &event(
                    T0,
                    transfer(
                        "US",
                        "PL",
                        &[C::Contact],
                        L::StandardContractualClauses,
                        true,
                        recipient,
                        p,
                    ),
                ),
            )
        };
        assert_eq!(
            transfer_to(E::Subcontractor, P::Communications),
            vec![Effect::Breach]
        );
        assert!(transfer_to(E::Subcontractor, P::ProvidingSupport).is_empty());
        assert!(transfer_to(E::Affiliate, P::Communications).is_empty());
    }
}
