//! SUB-ATTESTATION: subcontractors are held to standards equivalent to the
//! organisation's own (seed 001). A handoff goes only to a registered
//! subcontractor whose equivalence attestation is in force at the event's
//! time (`valid_from <= occurred_at <= valid_to`). The breach is
//! provisional: a registration dated no later than the handoff whose window
//! covers it, arriving within the allowed lateness (the subcontractor was
//! registered in time, the record came late), withdraws it.

use custody_proto::Kind;

use super::{breach, withdraw, Ctx};
use crate::vocab::format_ms;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "SUB-ATTESTATION",
    severity: Severity::High,
    summary: "A subcontractor handoff goes only to a registered subcontractor whose equivalence attestation is in force at the time of the handoff",
    remedy: None,
    late_evidence: Some("a registration of the subcontractor with an attestation in force at the handoff"),
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    if let Kind::SubcontractorRegistered(r) = cx.kind {
        let window = crate::state::Attestation {
            reference: r.attestation_reference.clone(),
            valid_from_ms: r
                .attestation_valid_from
                .as_ref()
                .map(custody_proto::timestamp_ms),
            valid_to_ms: r
                .attestation_valid_to
                .as_ref()
                .map(custody_proto::timestamp_ms),
        };
        withdraw(
            cx,
            out,
            &RULE,
            &r.subcontractor_id,
            None,
            |p| cx.at <= p.at_ms && window.in_force(p.at_ms),
            |seq, p| {
                format!(
                    "registration of subcontractor {} dated {} received late, after the handoff of customer {}'s data at {} (entry {seq}) was judged; its attestation{} was in force then, finding withdrawn",
                    r.subcontractor_id,
                    format_ms(cx.at),
                    p.customer,
                    format_ms(p.at_ms),
                    if window.reference.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", window.reference)
                    }
                )
            },
        );
        return;
    }
    let Kind::SubcontractorHandoff(h) = cx.kind else {
        return;
    };
    let id = &h.subcontractor_id;
    let customer = &cx.event.customer_id;
    let at = format_ms(cx.at);
    let explanation = match cx.state.subcontractors.get(id) {
        None => format!(
            "data of customer {customer} handed off at {at} to {id}, which is not a registered subcontractor"
        ),
        Some(s) if s.attestation_in_force(cx.at) => return,
        Some(s) => {
            let window = |reference: &str, from: Option<i64>, to: Option<i64>| {
                let span = match (from, to) {
                    (Some(from), Some(to)) => format!("valid {} to {}", format_ms(from), format_ms(to)),
                    _ => "with no validity period".to_string(),
                };
                if reference.is_empty() {
                    span
                } else {
                    format!("{reference} {span}")
                }
            };
            let windows: Vec<String> = if s.attestations.is_empty() {
                vec![window(&s.attestation_reference, s.valid_from_ms, s.valid_to_ms)]
            } else {
                s.attestations
                    .iter()
                    .map(|a| window(&a.reference, a.valid_from_ms, a.valid_to_ms))
                    .collect()
            };
            format!(
                "data of customer {customer} handed off at {at} to subcontractor {id} ({}), for which no attestation is in force then (registered: {})",
                s.name,
                windows.join("; ")
            )
        }
    };
    out.push(breach(&RULE, explanation));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, Purpose as P};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn hand(at: i64) -> custody_proto::Event {
        event(
            at,
            handoff("sub-1", &[C::Customer], P::ProvidingSupport, "PL"),
        )
    }

    #[test]
    fn attested_subcontractor_passes() {
        let reg = [registered("sub-1", T0 - DAY, T0 + DAY)];
        assert!(effects(RULE.id, &reg, &hand(T0)).is_empty());
        // Edges: both ends are inclusive.
        assert!(effects(RULE.id, &reg, &hand(T0 - DAY)).is_empty());
        assert!(effects(RULE.id, &reg, &hand(T0 + DAY)).is_empty());
    }

    #[test]
    fn unregistered_subcontractor_is_a_breach() {
        let v = verdicts_of(RULE.id, &[], &hand(T0));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert!(
            v[0].explanation.contains("not a registered subcontractor"),
            "{}",
            v[0].explanation
        );
    }

    #[test]
    fn edge_attestation_expired_the_day_before() {
        let reg = [registered("sub-1", T0 - 300 * DAY, T0 - DAY)];
        let v = verdicts_of(RULE.id, &reg, &hand(T0));
        assert_eq!(v.len(), 1);
        assert!(
            v[0].explanation.contains("to 2026-01-04T09:00:00Z"),
            "{}",
            v[0].explanation
        );
        // Not yet valid either.
        let future = [registered("sub-1", T0 + 1, T0 + DAY)];
        assert_eq!(effects(RULE.id, &future, &hand(T0)), vec![Effect::Breach]);
        // A renewed registration replaces the lapsed one.
        let renewed = [
            registered("sub-1", T0 - 300 * DAY, T0 - DAY),
            registered("sub-1", T0 - DAY, T0 + 365 * DAY),
        ];
        assert!(effects(RULE.id, &renewed, &hand(T0)).is_empty());
    }

    fn with_reference(mut e: custody_proto::Event, reference: &str) -> custody_proto::Event {
        if let Some(custody_proto::Kind::SubcontractorRegistered(s)) = &mut e.kind {
            s.attestation_reference = reference.into();
        }
        e
    }

    /// Issue 12: an attestation renewed early (registered while the old one
    /// still runs, valid from a later day) adds a window; a handoff between
    /// the registration and the new window's start is judged by the old one.
    #[test]
    fn an_early_renewal_adds_a_window_instead_of_replacing_the_one_in_force() {
        let old = with_reference(
            registered("sub-1", T0 - 300 * DAY, T0 + 4 * DAY),
            "ATT-2025",
        );
        let renewal = with_reference(
            registered("sub-1", T0 + 5 * DAY, T0 + 370 * DAY),
            "ATT-2026",
        );
        let reg = [old, renewal];
        assert!(effects(RULE.id, &reg, &hand(T0)).is_empty(), "old window");
        assert!(effects(RULE.id, &reg, &hand(T0 + 4 * DAY)).is_empty());
        assert!(
            effects(RULE.id, &reg, &hand(T0 + 6 * DAY)).is_empty(),
            "new window"
        );
        // Between the two windows: in neither.
        let gap = [
            with_reference(registered("sub-1", T0 - 300 * DAY, T0 - DAY), "ATT-2025"),
            with_reference(registered("sub-1", T0 + DAY, T0 + 370 * DAY), "ATT-2026"),
        ];
        let v = verdicts_of(RULE.id, &gap, &hand(T0));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(
            v[0].explanation.contains("ATT-2025") && v[0].explanation.contains("ATT-2026"),
            "{}",
            v[0].explanation
        );
    }

    /// Registering a reference again replaces its window: a revocation is a
    /// registration of the same attestation ending earlier.
    #[test]
    fn the_same_reference_registered_again_ends_its_window() {
        let reg = [
            with_reference(registered("sub-1", T0 - 300 * DAY, T0 + 300 * DAY), "ATT-1"),
            with_reference(registered("sub-1", T0 - 300 * DAY, T0 - DAY), "ATT-1"),
        ];
        assert_eq!(effects(RULE.id, &reg, &hand(T0)), vec![Effect::Breach]);
    }

    /// Issue 12: the handoff arrived before the registration that was in
    /// force at its time: the breach is withdrawn by the registration.
    #[test]
    fn a_registration_arriving_after_the_handoff_withdraws_the_breach() {
        let handoff = hand(T0);
        let v = verdicts_of(RULE.id, &[], &handoff);
        assert_eq!(v[0].effect, Effect::Breach);
        // Dated T0 - DAY, valid from long before: evidence for the handoff.
        let reg = registered("sub-1", T0 - 60 * DAY, T0 + 300 * DAY);
        let v = verdicts_of(RULE.id, std::slice::from_ref(&handoff), &reg);
        assert_eq!(
            v.iter().map(|v| v.effect.clone()).collect::<Vec<_>>(),
            vec![Effect::Withdraws {
                opened_seq: 0,
                customer: CUSTOMER.into()
            }]
        );
        assert!(
            v[0].explanation.contains("ATT-sub-1 was in force then"),
            "{}",
            v[0].explanation
        );
        // A window that does not cover the handoff is no evidence.
        let other = registered("sub-1", T0 + 1, T0 + 300 * DAY);
        assert!(effects(RULE.id, std::slice::from_ref(&handoff), &other).is_empty());
        // Nor is a registration of another subcontractor.
        let elsewhere = registered("sub-2", T0 - 60 * DAY, T0 + 300 * DAY);
        assert!(effects(RULE.id, std::slice::from_ref(&handoff), &elsewhere).is_empty());
        // Nor a registration dated after the handoff (not registered then).
        let mut backdated = reg.clone();
        backdated.occurred_at = Some(custody_proto::timestamp_from_ms(T0 + 1));
        assert!(effects(RULE.id, &[handoff], &backdated).is_empty());
    }
}
