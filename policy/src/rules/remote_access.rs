//! REMOTE-ACCESS: remote access happens only with the customer's permission
//! and over an encrypted channel (seed 000, "Means of Collection").
//!
//! - Data collected by remote access must carry a permission reference and
//!   `encrypted_channel`. Its permission is remembered for the event's case.
//! - Data accessed by remote access carries neither field, so it needs a
//!   permission recorded earlier in the same case by such a collection.

use custody_proto::v1::CollectionMeans;
use custody_proto::Kind;

use super::{breach, Ctx};
use crate::{Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "REMOTE-ACCESS",
    severity: Severity::High,
    summary: "Remote access has a recorded customer permission and an encrypted channel (an access over remote access needs a permission recorded earlier in the same case)",
    remedy: None,
    late_evidence: None,
};

const RA: i32 = CollectionMeans::RemoteAccess as i32;

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    let customer = &cx.event.customer_id;
    let case = &cx.event.case_id;
    match cx.kind {
        Kind::DataCollected(c) if c.means == RA => {
            let mut missing = Vec::new();
            if c.permission_reference.trim().is_empty() {
                missing.push("without a recorded customer permission");
            }
            if !c.encrypted_channel {
                missing.push("over an unencrypted channel");
            }
            if !missing.is_empty() {
                out.push(breach(
                    &RULE,
                    format!(
                        "remote access to customer {customer}'s systems{} {}",
                        in_case(case),
                        missing.join(" and ")
                    ),
                ));
            }
        }
        Kind::DataAccessed(a) if a.means == RA => {
            let permitted = !case.is_empty()
                && cx
                    .customer
                    .is_some_and(|c| c.remote_access_permissions.contains_key(case));
            if !permitted {
                out.push(breach(
                    &RULE,
                    if case.is_empty() {
                        format!("data of customer {customer} accessed over remote access outside any support case, so no customer permission can be shown")
                    } else {
                        format!("data of customer {customer} accessed over remote access in case {case}, for which no customer permission is recorded")
                    },
                ));
            }
        }
        _ => {}
    }
}

fn in_case(case: &str) -> String {
    if case.is_empty() {
        String::new()
    } else {
        format!(" in case {case}")
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C, Purpose as P};

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn ra(permission: &str, encrypted: bool) -> custody_proto::Event {
        event(
            T0,
            collected(M::RemoteAccess, &[C::Customer], "US", encrypted, permission),
        )
    }

    #[test]
    fn permitted_encrypted_remote_access_passes() {
        assert!(effects(RULE.id, &[], &ra("perm-42", true)).is_empty());
    }

    #[test]
    fn missing_permission_or_encryption_is_a_breach() {
        let v = verdicts_of(RULE.id, &[], &ra("", false));
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].explanation,
            "remote access to customer cust-1's systems in case case-1 without a recorded customer permission and over an unencrypted channel"
        );
        assert_eq!(
            effects(RULE.id, &[], &ra("perm-42", false)),
            vec![Effect::Breach]
        );
        // Edge: a blank reference is no permission.
        assert_eq!(
            effects(RULE.id, &[], &ra("   ", true)),
            vec![Effect::Breach]
        );
    }

    #[test]
    fn access_over_remote_access_needs_a_permission_in_the_same_case() {
        let access = event(
            T0 + HOUR,
            accessed_via(P::ProvidingSupport, &[C::Customer], "", M::RemoteAccess),
        );
        assert_eq!(effects(RULE.id, &[], &access), vec![Effect::Breach]);
        assert!(effects(RULE.id, &[ra("perm-42", true)], &access).is_empty());
        // Edge: a permission for another case does not count.
        let mut other_case = ra("perm-42", true);
        other_case.case_id = "case-2".into();
        assert_eq!(
            effects(RULE.id, &[other_case], &access),
            vec![Effect::Breach]
        );
        // Edge: the permission ends when the case's data is deleted at closure.
        let closed = event(
            T0 + 1,
            deleted(
                &[C::Customer],
                custody_proto::v1::DeletionReason::CaseClosed,
            ),
        );
        assert_eq!(
            effects(RULE.id, &[ra("perm-42", true), closed], &access),
            vec![Effect::Breach]
        );
        // Other means need no permission.
        let plain = event(
            T0,
            accessed_via(
                P::ProvidingSupport,
                &[C::Customer],
                "",
                M::SecureFileTransfer,
            ),
        );
        assert!(effects(RULE.id, &[], &plain).is_empty());
    }
}
