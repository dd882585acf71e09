//! LE-NOTICE: the business customer is notified in advance of any production,
//! unless legally prohibited (seed 000).
//!
//! At a disclosure: passes when a notice for the request dated no later
//! than the disclosure is recorded, or when a non-disclosure order is in
//! force at the disclosure (present and not yet expired). A notice recorded
//! but dated after the disclosure was simply not in advance: a breach.
//! With no notice recorded, the disclosure opens an *obligation* due at the
//! disclosure's time: a notice dated by then may still arrive (records come
//! late). It discharges the obligation if it arrives while the shard's
//! watermark is below the deadline plus the allowed lateness; after that the
//! obligation is an open finding, and a notice closes it (a late notice, or
//! one whose record came after the lateness, is a closure, not a pass).

use custody_proto::Kind;

use super::{verdict, Ctx};
use crate::vocab::format_ms;
use crate::{Effect, Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-NOTICE",
    severity: Severity::Medium,
    summary: "The customer is notified before a law-enforcement disclosure unless a non-disclosure order is in force at that time; a disclosure without notice opens an obligation due at the disclosure, a finding when no notice dated by then arrives within the allowed lateness, open until the customer is notified",
    remedy: Some("a later customer-notified event for the same request id"),
    late_evidence: None,
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
                        Effect::Obligation { due_ms: cx.at },
                        format!(
                            "request {id}: data disclosed at {at} with no notice to customer {customer} recorded ({order}); customer {customer} must have been notified by {at}: a finding unless a notice dated by then arrives within the allowed lateness"
                        ),
                    ));
                }
            }
        }
        Kind::LawEnforcementCustomerNotified(n) => {
            let Some(c) = cx.customer else {
                return;
            };
            let time = &cx.state.event_time;
            for f in c
                .open_findings
                .iter()
                .filter(|f| f.rule == RULE.id && f.subject == n.request_id)
            {
                let id = &n.request_id;
                let at = format_ms(cx.at);
                let (effect, explanation) = match f.due_ms {
                    Some(due) if cx.at <= due && time.open_at(due) => (
                        Effect::Discharges { opened_seq: f.opened_seq },
                        format!(
                            "request {id}: customer {customer} notified at {at}, before the disclosure at {} (entry {}); the notice was received late, in advance all the same",
                            format_ms(due),
                            f.opened_seq
                        ),
                    ),
                    Some(due) if cx.at <= due => (
                        Effect::Closes { opened_seq: f.opened_seq },
                        format!(
                            "request {id}: notice to customer {customer} dated {at}, before the disclosure at {} (entry {}), received after the allowed lateness; finding closed",
                            format_ms(due),
                            f.opened_seq
                        ),
                    ),
                    _ => (
                        Effect::Closes { opened_seq: f.opened_seq },
                        format!(
                            "request {id}: customer {customer} notified at {at}, after the disclosure at entry {}; late notice",
                            f.opened_seq
                        ),
                    ),
                };
                out.push(verdict(&RULE, effect, explanation));
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
    fn disclosure_without_notice_opens_an_obligation_and_a_late_notice_closes() {
        let history = [demand(None)];
        let v = verdicts_of(RULE.id, &history, &disclose(T0 + DAY));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Obligation { due_ms: T0 + DAY });
        assert_eq!(
            v[0].explanation,
            "request le-1: data disclosed at 2026-01-06T09:00:00Z with no notice to customer cust-1 recorded (no non-disclosure order forbids notice); customer cust-1 must have been notified by 2026-01-06T09:00:00Z: a finding unless a notice dated by then arrives within the allowed lateness"
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
        assert_eq!(v[0].effect, Effect::Obligation { due_ms: T0 + DAY });
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

    /// Issue 12: the notice was given before the disclosure but its record
    /// arrived after it: the obligation is discharged, and the text says so.
    #[test]
    fn a_notice_dated_before_the_disclosure_arriving_late_discharges() {
        let history = [demand(None), disclose(T0 + DAY)];
        let v = verdicts_of(RULE.id, &history, &event(T0 + HOUR, notified("le-1")));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Discharges { opened_seq: 1 });
        assert_eq!(
            v[0].explanation,
            "request le-1: customer cust-1 notified at 2026-01-05T10:00:00Z, before the disclosure at 2026-01-06T09:00:00Z (entry 1); the notice was received late, in advance all the same"
        );
        assert!(!v[0].explanation.contains("after the disclosure"));
        // Past the lateness the same notice closes the finding the missed
        // obligation became, and says why.
        let lateness = crate::DEFAULT_ALLOWED_LATENESS_MS;
        let mut later = history.to_vec();
        later.push(event(T0 + DAY + lateness, notified("le-other")));
        let v = verdicts_of(RULE.id, &later, &event(T0 + HOUR, notified("le-1")));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Closes { opened_seq: 1 });
        assert!(
            v[0].explanation
                .contains("received after the allowed lateness"),
            "{}",
            v[0].explanation
        );
    }
}
