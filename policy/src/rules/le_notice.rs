//! LE-NOTICE: the business customer is notified in advance of any production,
//! unless legally prohibited (seed 000).
//!
//! At a disclosure: passes when a notice for the request was recorded earlier
//! and dated no later than the disclosure, or when a non-disclosure order is
//! in force at the disclosure (present and not yet expired). Otherwise it
//! Opens a finding; a later notice for the same request Closes it (a late
//! notice is a closure, not a pass). A notice recorded earlier in the fold
//! but dated after the disclosure was simply not in advance: a breach.

use custody_proto::Kind;

use super::{verdict, Ctx};
use crate::vocab::format_ms;
use crate::{Effect, Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-NOTICE",
    severity: Severity::Medium,
    summary: "The customer is notified before a law-enforcement disclosure unless a non-disclosure order is in force at that time; a disclosure without notice opens a finding until the customer is notified",
    remedy: Some("a later customer-notified event for the same request id"),
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let customer = &cx.event.customer_id;
    match cx.kind {
        Kind::LawEnforcementDisclosed(d) => {
            let Some(r) = cx.request(&d.request_id) else {
                return;
            };
            let id = &d.request_id;
            let at = format_ms(cx.at);
            match r.notified_at_ms {
                Some(n) if n <= cx.at => {}
                _ if r.nondisclosure_in_force(cx.at) => {}
                Some(n) => out.push(verdict(
                    &RULE,
                    Effect::Breach,
                    format!(
                        "request {id}: customer {customer} was notified at {}, after the disclosure at {at}, not in advance",
                        format_ms(n)
                    ),
                )),
                None => {
                    let order = match (r.nondisclosure_order, r.nondisclosure_expires_at_ms) {
                        (true, Some(end)) => {
                            format!("the non-disclosure order expired at {}", format_ms(end))
                        }
                        _ => "no non-disclosure order forbids notice".to_string(),
                    };
                    out.push(verdict(
                        &RULE,
                        Effect::Opens,
                        format!(
                            "request {id}: data disclosed at {at} without notifying customer {customer} in advance ({order}); open until the customer is notified"
                        ),
                    ));
                }
            }
        }
        Kind::LawEnforcementCustomerNotified(n) => {
            let Some(c) = cx.customer else {
                return;
            };
            for f in c
                .open_findings
                .iter()
                .filter(|f| f.rule == RULE.id && f.subject == n.request_id)
            {
                out.push(verdict(
                    &RULE,
                    Effect::Closes {
                        opened_seq: f.opened_seq,
                    },
                    format!(
                        "request {}: customer {customer} notified at {}, after the disclosure at entry {}; late notice",
                        n.request_id,
                        format_ms(cx.at),
                        f.opened_seq
                    ),
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, LegalInstrument as I};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn demand(ndo: Option<Option<i64>>) -> custody_proto::Event {
        event(
            T0,
            received("le-1", I::CourtOrder, true, &[C::Contact], ndo),
        )
    }

    fn disclose(at: i64) -> custody_proto::Event {
        event(at, disclosed("le-1", &[C::Contact]))
    }

    #[test]
    fn notice_before_disclosure_passes() {
        let history = [demand(None), event(T0 + HOUR, notified("le-1"))];
        assert!(effects(RULE.id, &history, &disclose(T0 + DAY)).is_empty());
    }

    #[test]
    fn disclosure_without_notice_opens_and_a_late_notice_closes() {
        let history = [demand(None)];
        let v = verdicts_of(RULE.id, &history, &disclose(T0 + DAY));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Opens);
        assert_eq!(
            v[0].explanation,
            "request le-1: data disclosed at 2026-01-06T09:00:00Z without notifying customer cust-1 in advance (no non-disclosure order forbids notice); open until the customer is notified"
        );
        // Edge: the notice one second AFTER the disclosure closes, it does not pass.
        let with_disclosure = [demand(None), disclose(T0 + DAY)];
        let late = event(T0 + DAY + SECOND, notified("le-1"));
        let v = verdicts_of(RULE.id, &with_disclosure, &late);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Closes { opened_seq: 1 });
        assert!(
            v[0].explanation.contains("2026-01-06T09:00:01Z"),
            "{}",
            v[0].explanation
        );
        // A notice for another request closes nothing.
        assert!(effects(
            RULE.id,
            &with_disclosure,
            &event(T0 + DAY, notified("le-2"))
        )
        .is_empty());
        // Still closable after the request itself was closed.
        let closed_too = [
            demand(None),
            disclose(T0 + DAY),
            event(T0 + DAY + 1, closed("le-1")),
        ];
        assert_eq!(
            effects(RULE.id, &closed_too, &late),
            vec![Effect::Closes { opened_seq: 1 }]
        );
    }

    #[test]
    fn edge_non_disclosure_order_in_force_or_expired() {
        // In force at disclosure: no notice needed.
        assert!(effects(
            RULE.id,
            &[demand(Some(Some(T0 + 2 * DAY)))],
            &disclose(T0 + DAY)
        )
        .is_empty());
        // Indefinite order.
        assert!(effects(RULE.id, &[demand(Some(None))], &disclose(T0 + DAY)).is_empty());
        // Expired the instant of the disclosure: notice was required.
        let v = verdicts_of(
            RULE.id,
            &[demand(Some(Some(T0 + DAY)))],
            &disclose(T0 + DAY),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Opens);
        assert!(
            v[0].explanation.contains("expired at 2026-01-06T09:00:00Z"),
            "{}",
            v[0].explanation
        );
    }

    #[test]
    fn edge_notice_recorded_first_but_dated_after_the_disclosure() {
        let history = [demand(None), event(T0 + DAY + SECOND, notified("le-1"))];
        assert_eq!(
            effects(RULE.id, &history, &disclose(T0 + DAY)),
            vec![Effect::Breach]
        );
        // Same instant counts as in advance.
        let history = [demand(None), event(T0 + DAY, notified("le-1"))];
        assert!(effects(RULE.id, &history, &disclose(T0 + DAY)).is_empty());
    }
}
