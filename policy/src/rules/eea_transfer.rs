//! EEA-TRANSFER-MECHANISM: a transfer out of the EEA relies on a named legal
//! mechanism (seed 001). For every customer, a transfer whose origin is in
//! the EEA and whose destination is not must name a mechanism, and the one
//! named must be able to cover it:
//!
//! - Safe Harbor, which seed 001 relies on, was invalidated by the Court of
//!   Justice of the EU on 6 October 2015 (C-362/14, *Schrems*): not a
//!   mechanism for transfers from that day on.
//! - The EU-US Data Privacy Framework covers transfers to the United States
//!   only, from its adequacy decision of 10 July 2023.
//! - An adequacy decision covers only a country that has one (the
//!   Commission's list, [`ADEQUATE`]).
//!
//! Standard contractual clauses, binding corporate rules and the customer's
//! consent are accepted for any destination.

use custody_proto::v1::LegalMechanism;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{format_ms, is_eea, mechanism_name};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "EEA-TRANSFER-MECHANISM",
    severity: Severity::High,
    summary: "A transfer from an EEA country to a non-EEA country names a legal mechanism that can cover it (not Safe Harbor after 2015-10-06; the Data Privacy Framework only to the US from 2023-07-10; an adequacy decision only to a country that has one)",
    remedy: None,
    late_evidence: None,
};

/// 2015-10-06T00:00:00Z: CJEU judgment in C-362/14 invalidating Safe Harbor.
const SAFE_HARBOR_INVALID_FROM_MS: i64 = 1_444_089_600_000;
/// 2023-07-10T00:00:00Z: adequacy decision for the EU-US Data Privacy Framework.
const DPF_VALID_FROM_MS: i64 = 1_688_947_200_000;

/// Countries with a European Commission adequacy decision (Andorra,
/// Argentina, Canada, Faroe Islands, Guernsey, Israel, Isle of Man, Japan,
/// Jersey, New Zealand, Republic of Korea, Switzerland, United Kingdom,
/// Uruguay; the United States through the Data Privacy Framework).
pub(crate) const ADEQUATE: [&str; 15] = [
    "AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY",
];

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataTransferred(t) = cx.kind else {
        return;
    };
    if !is_eea(&t.from_country) || is_eea(&t.to_country) {
        return;
    }
    let route = format!(
        "transfer of customer {}'s data from {} to {} (outside the EEA)",
        cx.event.customer_id, t.from_country, t.to_country
    );
    let mechanism = mechanism_name(t.legal_mechanism);
    let problem = match LegalMechanism::try_from(t.legal_mechanism) {
        Ok(LegalMechanism::Unspecified) | Err(_) => Some(format!("{route} names no legal mechanism")),
        Ok(LegalMechanism::SafeHarbor) if cx.at >= SAFE_HARBOR_INVALID_FROM_MS => Some(format!(
            "{route} at {} relies on {mechanism}, invalidated by the Court of Justice of the EU on 2015-10-06 (C-362/14)",
            format_ms(cx.at)
        )),
        Ok(LegalMechanism::DataPrivacyFramework) if t.to_country != "US" => Some(format!(
            "{route} relies on {mechanism}, which covers transfers to the United States only"
        )),
        Ok(LegalMechanism::DataPrivacyFramework) if cx.at < DPF_VALID_FROM_MS => Some(format!(
            "{route} at {} relies on {mechanism}, which applies only from 2023-07-10",
            format_ms(cx.at)
        )),
        Ok(LegalMechanism::AdequacyDecision) if !ADEQUATE.contains(&t.to_country.as_str()) => Some(format!(
            "{route} relies on {mechanism}, but {} has no EU adequacy decision",
            t.to_country
        )),
        Ok(_) => None,
    };
    if let Some(explanation) = problem {
        out.push(breach(&RULE, explanation));
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        DataCategory as C, EntityKind as E, LegalMechanism as L, Purpose as P,
    };

    use super::*;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn t(at: i64, from: &str, to: &str, m: L) -> Vec<Effect> {
        let e = event(
            at,
            transfer(
                from,
                to,
                &[C::Customer],
                m,
                false,
                E::Organisation,
                P::ProvidingSupport,
            ),
        );
        effects(RULE.id, &[], &e)
    }

    #[test]
    fn constants_are_the_dates_they_claim() {
        assert_eq!(
            format_ms(SAFE_HARBOR_INVALID_FROM_MS),
            "2015-10-06T00:00:00Z"
        );
        assert_eq!(format_ms(DPF_VALID_FROM_MS), "2023-07-10T00:00:00Z");
        assert!(ADEQUATE.iter().all(|c| !is_eea(c)));
    }

    #[test]
    fn named_mechanism_or_a_route_that_stays_in_the_eea_passes() {
        assert!(t(T0, "IE", "US", L::StandardContractualClauses).is_empty());
        assert!(t(T0, "DE", "IN", L::BindingCorporateRules).is_empty());
        assert!(t(T0, "IE", "US", L::DataPrivacyFramework).is_empty());
        assert!(t(T0, "FR", "JP", L::AdequacyDecision).is_empty());
        assert!(t(T0, "IE", "DE", L::Unspecified).is_empty());
        assert!(t(T0, "US", "IN", L::Unspecified).is_empty());
    }

    #[test]
    fn no_mechanism_out_of_the_eea_is_a_breach() {
        let e = event(
            T0,
            transfer(
                "IE",
                "US",
                &[C::Customer],
                L::Unspecified,
                false,
                E::Organisation,
                P::ProvidingSupport,
            ),
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].explanation,
            "transfer of customer cust-1's data from IE to US (outside the EEA) names no legal mechanism"
        );
        // Switzerland and the UK are outside the EEA too.
        assert_eq!(t(T0, "IE", "CH", L::Unspecified), vec![Effect::Breach]);
        assert_eq!(t(T0, "NO", "GB", L::Unspecified), vec![Effect::Breach]);
    }

    #[test]
    fn edge_mechanisms_that_cannot_cover_the_transfer() {
        // Safe Harbor: fine the day before the judgment, not from that day.
        assert!(t(SAFE_HARBOR_INVALID_FROM_MS - 1, "IE", "US", L::SafeHarbor).is_empty());
        assert_eq!(
            t(SAFE_HARBOR_INVALID_FROM_MS, "IE", "US", L::SafeHarbor),
            vec![Effect::Breach]
        );
        assert_eq!(
            t(T0, "IE", "IN", L::DataPrivacyFramework),
            vec![Effect::Breach]
        );
        assert_eq!(
            t(DPF_VALID_FROM_MS - 1, "IE", "US", L::DataPrivacyFramework),
            vec![Effect::Breach]
        );
        assert_eq!(t(T0, "IE", "IN", L::AdequacyDecision), vec![Effect::Breach]);
    }
}
