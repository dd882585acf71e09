//! CREDENTIALS-DELETED: credentials that arrive anyway are deleted (seed 000).
//! Data collected with the credentials category, or flagged
//! `credentials_present`, Opens a finding; a later deletion for the same
//! customer with the credentials category (or the reason
//! DELETION_REASON_CREDENTIALS_RECEIVED) Closes every open one.

use custody_proto::v1::{CollectionMeans, DataCategory, DeletionReason};
use custody_proto::Kind;

use super::{verdict, Ctx};
use crate::{Effect, Rule, Severity, Verdict};

pub(crate) const RULE: Rule = Rule {
    id: "CREDENTIALS-DELETED",
    severity: Severity::Medium,
    summary: "Credentials received (category credentials, or credentials present) open a finding until a deletion of the customer's credentials closes it",
    remedy: Some("a later data-deleted event for the same customer with the credentials category (or reason credentials received)"),
};

fn is_credentials(v: &i32) -> bool {
    *v == DataCategory::Credentials as i32
}

pub(crate) fn check(cx: &Ctx<'_>, out: &mut Vec<Verdict>) {
    match cx.kind {
        Kind::DataCollected(c)
            if c.credentials_present || c.categories.iter().any(is_credentials) =>
        {
            let means =
                CollectionMeans::try_from(c.means).map_or("an unknown means", |m| m.as_str_name());
            let resource = if c.resource.is_empty() {
                String::new()
            } else {
                format!(" in {:?}", c.resource)
            };
            out.push(verdict(
                &RULE,
                Effect::Opens,
                format!(
                    "account credentials received from customer {} via {means}{resource}, stored in {}; awaiting deletion",
                    cx.event.customer_id, c.storage_country
                ),
            ));
        }
        Kind::DataDeleted(d)
            if d.categories.iter().any(is_credentials)
                || d.reason == DeletionReason::CredentialsReceived as i32 =>
        {
            let Some(customer) = cx.customer else {
                return;
            };
            for f in customer.open_findings.iter().filter(|f| f.rule == RULE.id) {
                out.push(verdict(
                    &RULE,
                    Effect::Closes {
                        opened_seq: f.opened_seq,
                    },
                    format!(
                        "credentials received at entry {} deleted for customer {}{}",
                        f.opened_seq,
                        cx.event.customer_id,
                        if d.resource.is_empty() {
                            String::new()
                        } else {
                            format!(" ({:?})", d.resource)
                        }
                    ),
                ));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{CollectionMeans as M, DataCategory as C, DeletionReason as D};
    use custody_proto::Kind;

    use super::RULE;
    use crate::rules::testkit::*;
    use crate::Effect;

    fn with_credentials(at: i64) -> custody_proto::Event {
        event(
            at,
            collected(M::PhoneOrChat, &[C::Credentials], "US", true, ""),
        )
    }

    #[test]
    fn ordinary_collection_opens_nothing() {
        let e = event(T0, collected(M::PhoneOrChat, &[C::Contact], "US", true, ""));
        assert!(effects(RULE.id, &[], &e).is_empty());
    }

    #[test]
    fn credentials_open_and_a_deletion_closes_every_open_one() {
        assert_eq!(
            effects(RULE.id, &[], &with_credentials(T0)),
            vec![Effect::Opens]
        );
        // Flagged without the category: still credentials.
        let mut flagged = event(
            T0,
            collected(M::SecureFileTransfer, &[C::Customer], "US", true, ""),
        );
        if let Some(Kind::DataCollected(c)) = flagged.kind.as_mut() {
            c.credentials_present = true;
        }
        assert_eq!(effects(RULE.id, &[], &flagged), vec![Effect::Opens]);

        let history = [with_credentials(T0), flagged, with_credentials(T0 + 2)];
        let delete = event(
            T0 + HOUR,
            deleted(&[C::Credentials], D::CredentialsReceived),
        );
        assert_eq!(
            effects(RULE.id, &history, &delete),
            vec![
                Effect::Closes { opened_seq: 0 },
                Effect::Closes { opened_seq: 1 },
                Effect::Closes { opened_seq: 2 }
            ]
        );
        // After the deletion nothing is left to close.
        let mut all = history.to_vec();
        all.push(delete.clone());
        assert!(effects(RULE.id, &all, &delete).is_empty());
        let (state, _) = fold(&all);
        assert!(state
            .customers
            .get(CUSTOMER)
            .is_none_or(|c| c.credentials_awaiting_deletion().is_empty()));
    }

    #[test]
    fn edge_deleting_other_data_closes_nothing() {
        let history = [with_credentials(T0)];
        let other = event(T0 + HOUR, deleted(&[C::Customer], D::CaseClosed));
        assert!(effects(RULE.id, &history, &other).is_empty());
        // The reason alone names credentials: that closes.
        let by_reason = event(T0 + HOUR, deleted(&[C::Private], D::CredentialsReceived));
        assert_eq!(
            effects(RULE.id, &history, &by_reason),
            vec![Effect::Closes { opened_seq: 0 }]
        );
        // Another customer's deletion closes nothing of this one.
        let mut elsewhere = event(
            T0 + HOUR,
            deleted(&[C::Credentials], D::CredentialsReceived),
        );
        elsewhere.customer_id = "cust-2".into();
        assert!(effects(RULE.id, &history, &elsewhere).is_empty());
    }
}
