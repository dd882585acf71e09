//! SWISS-TRANSFER-MECHANISM: seed 001 names the U.S.-Swiss framework for
//! data from Switzerland, which is not in the EEA (so `EEA-TRANSFER-
//! MECHANISM` does not see it). A transfer from Switzerland to a country
//! outside Switzerland and the EEA must name a mechanism that can cover it:
//!
//! - Safe Harbor: the Federal Data Protection and Information Commissioner
//!   declared the U.S.-Swiss Safe Harbor framework no longer sufficient on
//!   22 October 2015: not a mechanism from that day on.
//! - The Swiss-U.S. Data Privacy Framework: to the United States only, from
//!   the Federal Council's recognition in force on 15 September 2024.
//! - An adequacy decision: only to a country on the Federal Council's list
//!   ([`SWISS_ADEQUATE`], besides the EEA).
//!
//! Standard contractual clauses, binding corporate rules and the customer's
//! consent are accepted for any destination.

use custody_proto::v1::LegalMechanism;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{format_ms, is_eea, mechanism_name};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "SWISS-TRANSFER-MECHANISM",
    severity: Severity::High,
    summary: "A transfer from Switzerland to a country outside Switzerland and the EEA names a legal mechanism that can cover it (not Safe Harbor from 2015-10-22; the Data Privacy Framework only to the US from 2024-09-15; an adequacy decision only to a country the Federal Council lists)",
    remedy: None,
    late_evidence: None,
};

/// 2015-10-22T00:00:00Z: the FDPIC's statement on the U.S.-Swiss Safe Harbor.
const SAFE_HARBOR_INVALID_FROM_MS: i64 = 1_445_472_000_000;
/// 2024-09-15T00:00:00Z: the Swiss-U.S. Data Privacy Framework in force.
const DPF_VALID_FROM_MS: i64 = 1_726_358_400_000;

/// Countries outside the EEA that the Federal Council lists as adequate
/// (Annex 1 of the Data Protection Ordinance: Andorra, Argentina, Canada,
/// Faroe Islands, Gibraltar, Guernsey, Israel, Isle of Man, Jersey, Monaco,
/// New Zealand, United Kingdom, Uruguay); the United States only through
/// the Data Privacy Framework.
pub(crate) const SWISS_ADEQUATE: [&str; 13] = [
    "AD", "AR", "CA", "FO", "GB", "GG", "GI", "IL", "IM", "JE", "MC", "NZ", "UY",
];

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataTransferred(t) = cx.kind else {
        return;
    };
    if t.from_country != "CH" || t.to_country == "CH" || is_eea(&t.to_country) {
        return;
    }
    let route = format!(
        "transfer of customer {}'s data from Switzerland to {}",
        cx.event.customer_id, t.to_country
    );
    let mechanism = mechanism_name(t.legal_mechanism);
    let problem = match LegalMechanism::try_from(t.legal_mechanism) {
        Ok(LegalMechanism::Unspecified) | Err(_) => Some(format!("{route} names no legal mechanism")),
        Ok(LegalMechanism::SafeHarbor) if cx.at >= SAFE_HARBOR_INVALID_FROM_MS => Some(format!(
            "{route} at {} relies on {mechanism}, which the Swiss Commissioner declared insufficient on 2015-10-22",
            format_ms(cx.at)
        )),
        Ok(LegalMechanism::DataPrivacyFramework) if t.to_country != "US" => Some(format!(
            "{route} relies on {mechanism}, which covers transfers to the United States only"
        )),
        Ok(LegalMechanism::DataPrivacyFramework) if cx.at < DPF_VALID_FROM_MS => Some(format!(
            "{route} at {} relies on {mechanism}, which applies to Swiss data only from 2024-09-15",
            format_ms(cx.at)
        )),
        Ok(LegalMechanism::AdequacyDecision)
            if !SWISS_ADEQUATE.contains(&t.to_country.as_str()) =>
        {
            Some(format!(
                "{route} relies on {mechanism}, but {} is not on the Federal Council's list of adequate countries",
                t.to_country
            ))
        }
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

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn from_ch(at: i64, to: &str, mechanism: L) -> Vec<Effect> {
        effects(
            RULE.id,
            &[],
            &event(
                at,
                transfer(
                    "CH",
                    to,
                    &[C::Customer],
                    mechanism,
                    true,
                    E::Affiliate,
                    P::ProvidingSupport,
                ),
            ),
        )
    }

    #[test]
    fn transfers_from_switzerland_need_a_mechanism_that_covers_them() {
        // T0 is 2026-01-05: after the Swiss DPF took effect.
        assert_eq!(from_ch(T0, "US", L::Unspecified), vec![Effect::Breach]);
        assert_eq!(from_ch(T0, "US", L::SafeHarbor), vec![Effect::Breach]);
        assert!(from_ch(T0, "US", L::DataPrivacyFramework).is_empty());
        assert_eq!(
            from_ch(T0, "IN", L::DataPrivacyFramework),
            vec![Effect::Breach]
        );
        assert_eq!(from_ch(T0, "IN", L::AdequacyDecision), vec![Effect::Breach]);
        assert!(from_ch(T0, "GB", L::AdequacyDecision).is_empty());
        assert!(from_ch(T0, "IN", L::StandardContractualClauses).is_empty());
        // Within Switzerland and to the EEA: not this rule's business.
        assert!(from_ch(T0, "CH", L::Unspecified).is_empty());
        assert!(from_ch(T0, "DE", L::Unspecified).is_empty());
        // Edges of the dates.
        let dpf = 1_726_358_400_000;
        assert_eq!(
            from_ch(dpf - 1, "US", L::DataPrivacyFramework),
            vec![Effect::Breach]
        );
        assert!(from_ch(dpf, "US", L::DataPrivacyFramework).is_empty());
        let sh = 1_445_472_000_000;
        assert!(from_ch(sh - 1, "US", L::SafeHarbor).is_empty());
        assert_eq!(from_ch(sh, "US", L::SafeHarbor), vec![Effect::Breach]);
    }
}
