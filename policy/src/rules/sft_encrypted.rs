//! SFT-ENCRYPTED: data a customer uploads through the secure file transfer
//! tool arrives over an encrypted channel, whatever its categories (seed
//! 000 calls the SFT tool encrypted). Remote access has the same
//! requirement in `REMOTE-ACCESS`; private data over any means in
//! `PRIVATE-ENCRYPTED`.

use custody_proto::v1::CollectionMeans;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::vocab::{names, Category};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "SFT-ENCRYPTED",
    severity: Severity::High,
    summary: "Data received through the secure file transfer tool arrives over an encrypted channel, whatever its categories",
    remedy: None,
    late_evidence: None,
};

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let Kind::DataCollected(c) = cx.kind else {
        return;
    };
    if c.means != CollectionMeans::SecureFileTransfer as i32 || c.encrypted_channel {
        return;
    }
    out.push(breach(
        &RULE,
        format!(
            "customer {}'s data ({}) received through the secure file transfer tool over an unencrypted channel",
            cx.event.customer_id,
            names(&Category::set(&c.categories)),
        ),
    ));
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn upload(means: M, encrypted: bool) -> Vec<Effect> {
        effects(
            RULE.id,
            &[],
            &event(T0, collected(means, &[C::Customer], "US", encrypted, "")),
        )
    }

    #[test]
    fn an_unencrypted_upload_through_sft_is_a_breach_for_any_category() {
        assert_eq!(upload(M::SecureFileTransfer, false), vec![Effect::Breach]);
        assert!(upload(M::SecureFileTransfer, true).is_empty());
        // Other means are other rules' business.
        assert!(upload(M::EmailOrWeb, false).is_empty());
        assert!(upload(M::RemoteAccess, false).is_empty());
    }
}
