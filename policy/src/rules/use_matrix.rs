//! USE-MATRIX: the chart of seed 000, purpose × data category.
//!
//! | purpose                      | contact | customer | private (incl. credentials)   |
//! |------------------------------|---------|----------|-------------------------------|
//! | providing / maintaining      | yes     | yes      | only as necessary: a recorded justification (data accessed) |
//! | improving support            | yes     | yes      | no                            |
//! | communications               | yes     | no       | no                            |
//! | law-enforcement disclosure   | only under an open, legally binding demand whose scope covers it (nothing voluntary) |
//! | advertising                  | no      | no       | no                            |
//!
//! Applies to data accessed, to data transferred with a stated purpose and to
//! subcontractor handoffs. Only data accessed carries a justification, so the
//! "only as necessary" test applies to accesses alone.

use custody_proto::v1::Purpose;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, purpose_name, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "USE-MATRIX",
    severity: Severity::High,
    summary: "Data is used only as the use matrix allows for its purpose: support (providing or maintaining) any category, private data only with a recorded justification; improving support contact and customer data; communications contact data only; law enforcement only under a legally binding demand; advertising nothing",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let (what, purpose, categories, justification) = match cx.kind {
        Kind::DataAccessed(a) => (
            "data accessed",
            a.purpose,
            &a.categories,
            Some(&a.justification),
        ),
        Kind::DataTransferred(t) => ("data transferred", t.purpose, &t.categories, None),
        Kind::SubcontractorHandoff(h) => (
            "data handed off to a subcontractor",
            h.purpose,
            &h.categories,
            None,
        ),
        _ => return,
    };
    let Ok(p) = Purpose::try_from(purpose) else {
        return;
    };
    let pname = purpose_name(purpose);
    let cats = Category::set(categories);
    let denied = |allowed: fn(Category) -> bool| -> Vec<Category> {
        cats.iter().copied().filter(|c| !allowed(*c)).collect()
    };
    let problem = match p {
        // A transfer without a stated purpose declares no use to check.
        Purpose::Unspecified => None,
        Purpose::ProvidingSupport | Purpose::MaintainingSupport => {
            let private = denied(|c| !c.is_private());
            match justification {
                Some(j) if !private.is_empty() && j.trim().is_empty() => Some(format!(
                    "{what} for {pname} includes private data ({}) without a recorded justification; the use matrix allows private data for support only as necessary",
                    names(&private)
                )),
                _ => None,
            }
        }
        Purpose::ImprovingSupport => {
            let bad = denied(|c| !c.is_private());
            (!bad.is_empty()).then(|| {
                format!(
                    "{what} for {pname} includes {}; improving support may use contact and customer data only, never private data",
                    names(&bad)
                )
            })
        }
        Purpose::Communications => {
            let bad = denied(|c| c == Category::Contact);
            (!bad.is_empty()).then(|| {
                format!(
                    "{what} for {pname} includes {}; communications (advice, surveys, security bulletins) may use contact data only",
                    names(&bad)
                )
            })
        }
        Purpose::Advertising => Some(format!(
            "{what} for {pname} ({}); customer data is never used for advertising",
            names(&cats)
        )),
        Purpose::LawEnforcementDisclosure => {
            let binding: Vec<_> = cx
                .customer
                .map(|c| c.requests.values().filter(|r| r.is_binding()).collect())
                .unwrap_or_default();
            let uncovered: Vec<Category> = cats
                .iter()
                .copied()
                .filter(|c| !binding.iter().any(|r| r.covers(*c)))
                .collect();
            (!uncovered.is_empty()).then(|| {
                format!(
                    "{what} for {pname} includes {} not covered by any open legally binding demand for customer {}; the use matrix allows no voluntary disclosure to law enforcement",
                    names(&uncovered),
                    cx.event.customer_id
                )
            })
        }
    };
    if let Some(explanation) = problem {
        out.push(breach(&RULE, explanation));
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        DataCategory as C, EntityKind as E, LegalInstrument as I, LegalMechanism as L, Purpose as P,
    };

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn check_access(p: P, c: &[C], justification: &str) -> Vec<Effect> {
        effects(RULE.id, &[], &event(T0, accessed(p, c, justification)))
    }

    #[test]
    fn support_may_use_every_category() {
        assert!(check_access(P::ProvidingSupport, &[C::Contact, C::Customer], "").is_empty());
        assert!(check_access(P::MaintainingSupport, &[C::Customer], "").is_empty());
        assert!(check_access(
            P::ProvidingSupport,
            &[C::Private],
            "cert needed for the TLS repro"
        )
        .is_empty());
    }

    #[test]
    fn private_data_for_support_needs_a_justification() {
        let v = verdicts_of(
            RULE.id,
            &[],
            &event(
                T0,
                accessed(P::ProvidingSupport, &[C::Customer, C::Private], ""),
            ),
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Breach);
        assert_eq!(
            v[0].explanation,
            "data accessed for PURPOSE_PROVIDING_SUPPORT includes private data (DATA_CATEGORY_PRIVATE) without a recorded justification; the use matrix allows private data for support only as necessary"
        );
        // Edge: whitespace is no justification; credentials are private data.
        assert_eq!(
            check_access(P::ProvidingSupport, &[C::Private], "  \t"),
            vec![Effect::Breach]
        );
        assert_eq!(
            check_access(P::MaintainingSupport, &[C::Credentials], ""),
            vec![Effect::Breach]
        );
    }

    #[test]
    fn improving_support_never_uses_private_data() {
        assert!(check_access(P::ImprovingSupport, &[C::Contact, C::Customer], "").is_empty());
        assert_eq!(
            check_access(P::ImprovingSupport, &[C::Private], "justified"),
            vec![Effect::Breach]
        );
        assert_eq!(
            check_access(P::ImprovingSupport, &[C::Credentials], ""),
            vec![Effect::Breach]
        );
    }

    #[test]
    fn communications_use_contact_data_only() {
        assert!(check_access(P::Communications, &[C::Contact], "").is_empty());
        let v = verdicts_of(
            RULE.id,
            &[],
            &event(
                T0,
                accessed(P::Communications, &[C::Contact, C::Customer], ""),
            ),
        );
        assert_eq!(v.len(), 1);
        assert!(
            v[0].explanation.contains("DATA_CATEGORY_CUSTOMER"),
            "{}",
            v[0].explanation
        );
        assert!(
            !v[0].explanation.contains("DATA_CATEGORY_CONTACT"),
            "{}",
            v[0].explanation
        );
    }

    #[test]
    fn advertising_uses_nothing() {
        assert_eq!(
            check_access(P::Advertising, &[C::Contact], ""),
            vec![Effect::Breach]
        );
    }

    #[test]
    fn law_enforcement_use_needs_a_binding_demand_covering_it() {
        assert_eq!(
            check_access(P::LawEnforcementDisclosure, &[C::Contact], ""),
            vec![Effect::Breach]
        );
        let binding = [event(
            T0,
            received("le-1", I::Subpoena, true, &[C::Contact], None),
        )];
        let access = |c: &[C]| event(T0 + HOUR, accessed(P::LawEnforcementDisclosure, c, ""));
        assert!(effects(RULE.id, &binding, &access(&[C::Contact])).is_empty());
        // Edge: outside the demand's scope.
        assert_eq!(
            effects(RULE.id, &binding, &access(&[C::Customer])),
            vec![Effect::Breach]
        );
        // Edge: an informal request is never binding.
        let informal = [event(
            T0,
            received("le-1", I::InformalRequest, true, &[C::Contact], None),
        )];
        assert_eq!(
            effects(RULE.id, &informal, &access(&[C::Contact])),
            vec![Effect::Breach]
        );
        // Edge: once closed, the demand no longer covers anything.
        let closed_too = [binding[0].clone(), event(T0 + 1, closed("le-1"))];
        assert_eq!(
            effects(RULE.id, &closed_too, &access(&[C::Contact])),
            vec![Effect::Breach]
        );
    }

    #[test]
    fn applies_to_transfers_and_handoffs_with_a_purpose() {
        let t = |p: P| {
            event(
                T0,
                transfer(
                    "US",
                    "US",
                    &[C::Private],
                    L::Unspecified,
                    false,
                    E::Organisation,
                    p,
                ),
            )
        };
        assert!(effects(RULE.id, &[], &t(P::Unspecified)).is_empty());
        // No justification field on transfers: support purposes pass.
        assert!(effects(RULE.id, &[], &t(P::ProvidingSupport)).is_empty());
        assert_eq!(
            effects(RULE.id, &[], &t(P::ImprovingSupport)),
            vec![Effect::Breach]
        );
        let h = event(
            T0,
            handoff("sub-1", &[C::Customer], P::Communications, "PL"),
        );
        assert_eq!(effects(RULE.id, &[], &h), vec![Effect::Breach]);
    }

    #[test]
    fn other_kinds_are_not_uses() {
        let e = event(
            T0,
            collected(
                custody_proto::v1::CollectionMeans::PhoneOrChat,
                &[C::Private],
                "US",
                true,
                "",
            ),
        );
        assert!(effects(RULE.id, &[], &e).is_empty());
    }
}
