//! US-DEFAULT-STORAGE: data a customer provides is stored in data centres in
//! the United States (seed 001), unless the customer chose the EEA storage
//! option (`EEA-RESIDENCY` judges those). Data collected for any other
//! customer, with or without a profile, must be first stored in the US;
//! moving it elsewhere afterwards is a transfer, which other rules judge.

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "US-DEFAULT-STORAGE",
    severity: Severity::Medium,
    summary: "Data collected for a customer without the EEA storage option is first stored in the United States",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataCollected(c) = cx.kind else {
        return;
    };
    if cx.eea_customer() || c.storage_country == "US" {
        return;
    }
    out.push(breach(
        &RULE,
        format!(
            "customer {}'s data ({}) first stored in {}; without the EEA storage option it is stored in the United States",
            cx.event.customer_id,
            names(&Category::set(&c.categories)),
            c.storage_country
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn stored(history: &[custody_proto::Event], country: &str) -> Vec<Effect> {
        effects(
            RULE.id,
            history,
            &event(
                T0,
                collected(M::EmailOrWeb, &[C::Contact], country, true, ""),
            ),
        )
    }

    #[test]
    fn outside_the_us_without_the_eea_option_is_a_breach() {
        assert!(stored(&[], "US").is_empty());
        assert_eq!(stored(&[], "IE"), vec![Effect::Breach]);
        let standard = [event(T0 - DAY, profile(false))];
        assert_eq!(stored(&standard, "IN"), vec![Effect::Breach]);
        // With the EEA option, EEA-RESIDENCY judges where it is stored.
        let eea = [event(T0 - DAY, profile(true))];
        assert!(stored(&eea, "IE").is_empty());
        assert!(stored(&eea, "US").is_empty());
    }
}
