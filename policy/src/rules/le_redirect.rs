//! LE-REDIRECT-FIRST: a requester is first redirected to the customer
//! (seed 000). A disclosure needs a redirect recorded earlier for the same
//! request and dated no later than the disclosure. A redirect after the
//! fact cannot give the customer the chance to respond, so this is a breach,
//! not a finding a later event could close.

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::format_ms;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-REDIRECT-FIRST",
    severity: Severity::High,
    summary: "Before any disclosure the requester was redirected to the customer (redirect recorded for the request and dated no later than the disclosure)",
    remedy: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::LawEnforcementDisclosed(d) = cx.kind else {
        return;
    };
    // An unknown request is LE-NO-VOLUNTARY's finding; there are no steps to judge.
    let Some(r) = cx.request(&d.request_id) else {
        return;
    };
    let explanation = match r.redirected_at_ms {
        Some(t) if t <= cx.at => return,
        Some(t) => format!(
            "request {} of customer {}: data disclosed at {}, but the requester was redirected to the customer only at {}",
            d.request_id,
            cx.event.customer_id,
            format_ms(cx.at),
            format_ms(t)
        ),
        None => format!(
            "request {} of customer {}: data disclosed at {} without first redirecting the requester to the customer",
            d.request_id,
            cx.event.customer_id,
            format_ms(cx.at)
        ),
    };
    out.push(breach(&RULE, explanation));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, LegalInstrument as I};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn demand() -> custody_proto::Event {
        event(
            T0,
            received("le-1", I::SearchWarrant, true, &[C::Contact], None),
        )
    }

    fn disclose(at: i64) -> custody_proto::Event {
        event(at, disclosed("le-1", &[C::Contact]))
    }

    #[test]
    fn redirect_before_disclosure_passes() {
        let history = [demand(), event(T0 + HOUR, redirected("le-1"))];
        assert!(effects(RULE.id, &history, &disclose(T0 + DAY)).is_empty());
        // Edge: same instant counts as first (the fold order says it came first).
        assert!(effects(RULE.id, &history, &disclose(T0 + HOUR)).is_empty());
    }

    #[test]
    fn no_redirect_is_a_breach() {
        let v = verdicts_of(RULE.id, &[demand()], &disclose(T0 + DAY));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert_eq!(
            v[0].explanation,
            "request le-1 of customer cust-1: data disclosed at 2026-01-06T09:00:00Z without first redirecting the requester to the customer"
        );
    }

    #[test]
    fn edge_redirect_dated_one_second_after_the_disclosure() {
        let history = [demand(), event(T0 + DAY + SECOND, redirected("le-1"))];
        let v = verdicts_of(RULE.id, &history, &disclose(T0 + DAY));
        assert_eq!(v.len(), 1);
        assert!(
            v[0].explanation.contains("only at 2026-01-06T09:00:01Z"),
            "{}",
            v[0].explanation
        );
        // A redirect recorded after the disclosure does not undo it, and an
        // unknown request is left to LE-NO-VOLUNTARY.
        assert!(effects(RULE.id, &[], &disclose(T0)).is_empty());
    }
}
