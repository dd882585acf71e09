//! LE-SCOPE: only the data the demand requires is released (seed 000: "we
//! will limit the data we disclose to only the data required to comply with
//! the legal request"). Every released category must be in the demand's
//! requested scope (a demand for private data covers credentials).

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "LE-SCOPE",
    severity: Severity::Critical,
    summary:
        "A law-enforcement disclosure releases only categories within the demand's requested scope",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::LawEnforcementDisclosed(d) = cx.kind else {
        return;
    };
    let Some(r) = cx.request(&d.request_id) else {
        return;
    };
    let extra: Vec<Category> = Category::set(&d.scope_released)
        .into_iter()
        .filter(|c| !r.covers(*c))
        .collect();
    if extra.is_empty() {
        return;
    }
    out.push(breach(
        &RULE,
        format!(
            "request {} of customer {}: released {} beyond the demand's requested scope ({})",
            d.request_id,
            cx.event.customer_id,
            names(&extra),
            if r.scope.is_empty() {
                "nothing".to_string()
            } else {
                names(&r.scope)
            }
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, LegalInstrument as I};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn history(scope: &[C]) -> Vec<custody_proto::Event> {
        vec![event(
            T0,
            received("le-1", I::CourtOrder, true, scope, None),
        )]
    }

    fn disclose(scope: &[C]) -> custody_proto::Event {
        event(T0 + DAY, disclosed("le-1", scope))
    }

    #[test]
    fn released_within_scope_passes() {
        assert!(effects(
            RULE.id,
            &history(&[C::Contact, C::Customer]),
            &disclose(&[C::Contact])
        )
        .is_empty());
        assert!(effects(RULE.id, &history(&[C::Contact]), &disclose(&[C::Contact])).is_empty());
    }

    #[test]
    fn more_than_requested_is_a_breach() {
        let v = verdicts_of(
            RULE.id,
            &history(&[C::Contact]),
            &disclose(&[C::Contact, C::Customer]),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert_eq!(
            v[0].explanation,
            "request le-1 of customer cust-1: released DATA_CATEGORY_CUSTOMER beyond the demand's requested scope (DATA_CATEGORY_CONTACT)"
        );
    }

    #[test]
    fn edge_private_covers_credentials_but_not_the_reverse() {
        assert!(effects(
            RULE.id,
            &history(&[C::Private]),
            &disclose(&[C::Credentials])
        )
        .is_empty());
        assert_eq!(
            effects(
                RULE.id,
                &history(&[C::Credentials]),
                &disclose(&[C::Private])
            ),
            vec![Effect::Breach]
        );
        // Unknown request: LE-NO-VOLUNTARY's finding, not this rule's.
        assert!(effects(RULE.id, &[], &disclose(&[C::Private])).is_empty());
    }
}
