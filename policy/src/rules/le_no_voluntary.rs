//! LE-NO-VOLUNTARY: data is released to law enforcement only when legally
//! required (seed 000). A disclosure needs a legally binding demand recorded
//! earlier for the same request id, still open, and received no later than
//! the disclosure. A disclosure for an unknown (or already closed) request id
//! is a disclosure without a demand: a breach.

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::format_ms;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-NO-VOLUNTARY",
    severity: Severity::Critical,
    summary: "A law-enforcement disclosure answers an open, legally binding demand received earlier under the same request id (informal requests are never binding)",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::LawEnforcementDisclosed(d) = cx.kind else {
        return;
    };
    let customer = &cx.event.customer_id;
    let id = &d.request_id;
    let problem = match cx.request(id) {
        None => Some(format!(
            "data of customer {customer} disclosed to law enforcement under request {id}, for which no open demand is recorded (never received, or already closed); a disclosure without a demand is voluntary"
        )),
        Some(r) if !r.is_binding() => Some(format!(
            "data of customer {customer} disclosed to law enforcement under request {id}, a {} {}; data is released only when legally required",
            r.instrument,
            if r.legally_binding {
                "(an informal request is never legally binding)"
            } else {
                "recorded as not legally binding"
            }
        )),
        Some(r) if r.received_at_ms > cx.at => Some(format!(
            "data of customer {customer} disclosed to law enforcement under request {id} at {}, before the demand was received at {}",
            format_ms(cx.at),
            format_ms(r.received_at_ms)
        )),
        Some(_) => None,
    };
    if let Some(explanation) = problem {
        out.push(breach(&RULE, explanation));
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, LegalInstrument as I};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn disclose(at: i64) -> custody_proto::Event {
        event(at, disclosed("le-1", &[C::Contact]))
    }

    #[test]
    fn binding_demand_received_earlier_passes() {
        let history = [event(
            T0,
            received("le-1", I::CourtOrder, true, &[C::Contact], None),
        )];
        assert!(effects(RULE.id, &history, &disclose(T0 + DAY)).is_empty());
        // Edge: received and disclosed at the same instant.
        assert!(effects(RULE.id, &history, &disclose(T0)).is_empty());
    }

    #[test]
    fn non_binding_or_unknown_requests_are_voluntary() {
        let informal = [event(
            T0,
            received("le-1", I::InformalRequest, false, &[C::Contact], None),
        )];
        let v = verdicts_of(RULE.id, &informal, &disclose(T0 + DAY));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert!(
            v[0].explanation
                .contains("LEGAL_INSTRUMENT_INFORMAL_REQUEST"),
            "{}",
            v[0].explanation
        );
        // An informal request flagged binding is still informal.
        let flagged = [event(
            T0,
            received("le-1", I::InformalRequest, true, &[C::Contact], None),
        )];
        assert_eq!(
            effects(RULE.id, &flagged, &disclose(T0 + DAY)),
            vec![Effect::Breach]
        );
        // A subpoena recorded as not binding.
        let not_binding = [event(
            T0,
            received("le-1", I::Subpoena, false, &[C::Contact], None),
        )];
        assert_eq!(
            effects(RULE.id, &not_binding, &disclose(T0 + DAY)),
            vec![Effect::Breach]
        );
        // Unknown request id.
        let v = verdicts_of(RULE.id, &[], &disclose(T0));
        assert!(
            v[0].explanation.contains("no open demand"),
            "{}",
            v[0].explanation
        );
    }

    #[test]
    fn edge_closed_requests_and_disclosures_dated_before_the_demand() {
        let binding = event(
            T0,
            received("le-1", I::CourtOrder, true, &[C::Contact], None),
        );
        let closed_first = [binding.clone(), event(T0 + HOUR, closed("le-1"))];
        assert_eq!(
            effects(RULE.id, &closed_first, &disclose(T0 + DAY)),
            vec![Effect::Breach]
        );
        let v = verdicts_of(RULE.id, &[binding], &disclose(T0 - SECOND));
        assert_eq!(v.len(), 1);
        assert!(
            v[0].explanation
                .contains("before the demand was received at 2026-01-05T09:00:00Z"),
            "{}",
            v[0].explanation
        );
    }
}
