//! LE-REDIRECT-FIRST: a requester is first redirected to the customer
//! (seed 000). A disclosure needs a redirect for the same request dated no
//! later than the disclosure. A redirect after the fact cannot give the
//! customer the chance to respond, so this is a breach, not a finding a
//! later event could close. The breach is provisional: a redirect dated no
//! later than the disclosure that arrives within the allowed lateness
//! (the redirect was made in time, its record came late) withdraws it.

use custody_proto::Kind;

use super::{breach, withdraw, Ctx};
use crate::vocab::format_ms;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-REDIRECT-FIRST",
    severity: Severity::High,
    summary: "Before any disclosure the requester was redirected to the customer (redirect recorded for the request and dated no later than the disclosure)",
    remedy: None,
    late_evidence: Some("a redirect of the request dated no later than the disclosure"),
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    if let Kind::LawEnforcementRedirected(r) = cx.kind {
        let customer = &cx.event.customer_id;
        withdraw(
            cx,
            out,
            &RULE,
            &r.request_id,
            Some(customer),
            |p| cx.at <= p.at_ms,
            |seq, p| {
                format!(
                    "request {}: redirect dated {} received late, after the disclosure at {} (entry {seq}) was judged; the requester was redirected first, finding withdrawn",
                    r.request_id,
                    format_ms(cx.at),
                    format_ms(p.at_ms)
                )
            },
        );
        return;
    }
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
        // An unknown request is left to LE-NO-VOLUNTARY.
        assert!(effects(RULE.id, &[], &disclose(T0)).is_empty());
    }

    /// Issue 12: the redirect was made before the disclosure but its record
    /// arrived after it: the breach is withdrawn, not final.
    #[test]
    fn a_redirect_dated_earlier_arriving_late_withdraws_the_breach() {
        let history = [demand(), disclose(T0 + 2 * DAY)];
        let late = event(T0 + DAY, redirected("le-1"));
        let v = verdicts_of(RULE.id, &history, &late);
        assert_eq!(
            v.iter().map(|v| v.effect.clone()).collect::<Vec<_>>(),
            vec![Effect::Withdraws {
                opened_seq: 1,
                customer: CUSTOMER.into()
            }]
        );
        assert_eq!(
            v[0].explanation,
            "request le-1: redirect dated 2026-01-06T09:00:00Z received late, after the disclosure at 2026-01-07T09:00:00Z (entry 1) was judged; the requester was redirected first, finding withdrawn"
        );
        // Withdrawn once: a second copy of the evidence withdraws nothing more.
        let mut twice = history.to_vec();
        twice.push(late.clone());
        assert!(effects(RULE.id, &twice, &event(T0 + DAY, redirected("le-1"))).is_empty());
        // A redirect dated after the disclosure is no evidence for it.
        assert!(effects(RULE.id, &history, &event(T0 + 3 * DAY, redirected("le-1"))).is_empty());
        // Another request's redirect withdraws nothing.
        assert!(effects(RULE.id, &history, &event(T0 + DAY, redirected("le-2"))).is_empty());
    }

    #[test]
    fn past_the_allowed_lateness_the_breach_is_final() {
        let lateness = crate::DEFAULT_ALLOWED_LATENESS_MS;
        // Another event of the shard moves the watermark past the
        // disclosure's time plus the lateness.
        let mut history = vec![demand(), disclose(T0 + 2 * DAY)];
        history.push(event(T0 + 2 * DAY + lateness, redirected("le-other")));
        assert!(effects(RULE.id, &history, &event(T0 + DAY, redirected("le-1"))).is_empty());
        // One millisecond earlier it is still provisional.
        let mut history = vec![demand(), disclose(T0 + 2 * DAY)];
        history.push(event(T0 + 2 * DAY + lateness - 1, redirected("le-other")));
        assert_eq!(
            effects(RULE.id, &history, &event(T0 + DAY, redirected("le-1"))).len(),
            1
        );
    }
}
