//! PRIVATE-ENCRYPTED: private data (passwords, certificates, financial or
//! health data, and credentials) arrives only over an encrypted channel
//! (seed 000: it "is generally not sent to CSS or is sent with increased
//! security").

use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "PRIVATE-ENCRYPTED",
    severity: Severity::High,
    summary: "Private data and credentials are collected only over an encrypted channel",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataCollected(c) = cx.kind else {
        return;
    };
    if c.encrypted_channel {
        return;
    }
    let mut private: Vec<Category> = Category::set(&c.categories)
        .into_iter()
        .filter(|c| c.is_private())
        .collect();
    if c.credentials_present && !private.contains(&Category::Credentials) {
        private.push(Category::Credentials);
    }
    if private.is_empty() {
        return;
    }
    let means = custody_proto::v1::CollectionMeans::try_from(c.means)
        .map_or("an unknown means", |m| m.as_str_name());
    out.push(breach(
        &RULE,
        format!(
            "private data ({}) of customer {} received via {means} over an unencrypted channel",
            names(&private),
            cx.event.customer_id
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C};
    use custody_proto::Kind;

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    #[test]
    fn encrypted_private_data_passes() {
        let e = event(
            T0,
            collected(M::SecureFileTransfer, &[C::Private], "US", true, ""),
        );
        assert!(effects(RULE.id, &[], &e).is_empty());
    }

    #[test]
    fn unencrypted_private_data_is_a_breach() {
        let e = event(
            T0,
            collected(M::EmailOrWeb, &[C::Customer, C::Private], "US", false, ""),
        );
        let v = verdicts_of(RULE.id, &[], &e);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].explanation,
            "private data (DATA_CATEGORY_PRIVATE) of customer cust-1 received via COLLECTION_MEANS_EMAIL_OR_WEB over an unencrypted channel"
        );
    }

    #[test]
    fn edge_unencrypted_ordinary_data_passes_but_flagged_credentials_do_not() {
        let e = event(
            T0,
            collected(M::PhoneOrChat, &[C::Contact, C::Customer], "US", false, ""),
        );
        assert!(effects(RULE.id, &[], &e).is_empty());
        let mut flagged = e.clone();
        if let Some(Kind::DataCollected(c)) = flagged.kind.as_mut() {
            c.credentials_present = true;
        }
        assert_eq!(effects(RULE.id, &[], &flagged), vec![Effect::Breach]);
    }
}
