//! NO-SALES-MARKETING-ACCESS: sales and marketing personnel never touch case
//! data (seed 000: they "are not allowed to access the CSS case management
//! tools"). A finding when the actor's role is sales or marketing and the
//! event touches customer data (collected, accessed, transferred, handed off,
//! deleted, disclosed, a report read) or belongs to a support case.

use custody_proto::v1::Role;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::role_name;
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "NO-SALES-MARKETING-ACCESS",
    severity: Severity::High,
    summary: "Sales and marketing staff never access case data: no event by an actor with role sales or marketing that touches customer data or belongs to a support case",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Some(actor) = cx.event.actor.as_ref() else {
        return;
    };
    if !matches!(
        Role::try_from(actor.role),
        Ok(Role::Sales | Role::Marketing)
    ) {
        return;
    }
    let touches_data = matches!(
        cx.kind,
        Kind::DataCollected(_)
            | Kind::DataAccessed(_)
            | Kind::DataTransferred(_)
            | Kind::SubcontractorHandoff(_)
            | Kind::DataDeleted(_)
            | Kind::LawEnforcementDisclosed(_)
            | Kind::ReportRead(_)
    );
    let case = &cx.event.case_id;
    if !touches_data && case.is_empty() {
        return;
    }
    let what = custody_proto::kind_name(cx.kind);
    let explanation = if case.is_empty() {
        format!(
            "{} staff member {} ({}) acted on customer {}'s data ({what}); sales and marketing personnel may not access customer support data",
            role_name(actor.role),
            actor.id,
            actor.entity_name,
            cx.event.customer_id
        )
    } else {
        format!(
            "{} staff member {} ({}) acted on support case {case} of customer {} ({what}); sales and marketing personnel may not access the case management tools",
            role_name(actor.role),
            actor.id,
            actor.entity_name,
            cx.event.customer_id
        )
    };
    out.push(breach(&RULE, explanation));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{DataCategory as C, Purpose as P, Role as R};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    #[test]
    fn support_engineers_may_work_cases() {
        let e = event(T0, accessed(P::ProvidingSupport, &[C::Customer], ""));
        assert!(effects(RULE.id, &[], &e).is_empty());
    }

    #[test]
    fn sales_and_marketing_may_not_touch_case_data() {
        let e = by(
            event(T0, accessed(P::ProvidingSupport, &[C::Customer], "")),
            R::Sales,
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert!(
            v[0].explanation.contains("ROLE_SALES"),
            "{}",
            v[0].explanation
        );
        assert!(v[0].explanation.contains("case-1"), "{}", v[0].explanation);
        let e = by(
            event(T0, accessed(P::Communications, &[C::Contact], "")),
            R::Marketing,
        );
        assert_eq!(effects(RULE.id, &[], &e), vec![Effect::Breach]);
    }

    #[test]
    fn edge_case_id_alone_or_data_alone_is_enough() {
        // No case, but data accessed: still a finding.
        let mut e = by(
            event(T0, accessed(P::Communications, &[C::Contact], "")),
            R::Marketing,
        );
        e.case_id.clear();
        assert_eq!(effects(RULE.id, &[], &e), vec![Effect::Breach]);
        // A profile update by sales outside any case touches no case data...
        let mut p = by(event(T0, profile(false)), R::Sales);
        p.case_id.clear();
        assert!(effects(RULE.id, &[], &p).is_empty());
        // ...but inside a case it does.
        let p = by(event(T0, profile(false)), R::Sales);
        assert_eq!(effects(RULE.id, &[], &p), vec![Effect::Breach]);
    }
}
