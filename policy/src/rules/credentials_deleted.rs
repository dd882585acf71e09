//! CREDENTIALS-DELETED: credentials that arrive anyway are deleted (seed 000).
//! Data collected with the credentials category, or flagged
//! `credentials_present`, opens an obligation: the credentials are to be
//! deleted within [`DELETION_DEADLINE_MS`] of their receipt, in event time.
//! A later deletion for the same customer with the credentials category (or
//! the reason DELETION_REASON_CREDENTIALS_RECEIVED) dated by the deadline
//! discharges every open one while the shard's watermark is below the
//! deadline plus the allowed lateness; an obligation still undischarged then
//! is an open finding, and a deletion closes it (a late remedy).

use custody_proto::v1::{CollectionMeans, DataCategory, DeletionReason};
use custody_proto::Kind;

use super::{verdict, Ctx};
use crate::vocab::format_ms;
use crate::{Effect, Rule, Severity, Verdict};

/// How long received credentials may be kept: seven days (RULES.md).
pub const DELETION_DEADLINE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

pub(crate) const RULE: Rule = Rule {
    id: "CREDENTIALS-DELETED",
    severity: Severity::Medium,
    summary: "Credentials received (category credentials, or credentials present) open an obligation to delete them within 7 days; undeleted by then (in event time, allowing for lateness), it is a finding until a deletion of the customer's credentials closes it",
    remedy: Some("a later data-deleted event for the same customer with the credentials category (or reason credentials received)"),
    late_evidence: None,
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
            let due = cx.at.saturating_add(DELETION_DEADLINE_MS);
            out.push(verdict(
                &RULE,
                Effect::Obligation { due_ms: due },
                format!(
                    "account credentials received from customer {} via {means}{resource}, stored in {}; to be deleted by {}",
                    cx.event.customer_id,
                    c.storage_country,
                    format_ms(due)
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
            let time = &cx.state.event_time;
            let what = if d.resource.is_empty() {
                String::new()
            } else {
                format!(" ({:?})", d.resource)
            };
            for f in customer.open_findings.iter().filter(|f| f.rule == RULE.id) {
                let (seq, id, at) = (f.opened_seq, &cx.event.customer_id, format_ms(cx.at));
                let (effect, explanation) = match f.due_ms {
                    Some(due) if cx.at <= due && time.open_at(due) => (
                        Effect::Discharges { opened_seq: seq },
                        format!(
                            "credentials received at entry {seq} deleted for customer {id}{what} at {at}, by the deadline {}",
                            format_ms(due)
                        ),
                    ),
                    Some(due) if cx.at <= due => (
                        Effect::Closes { opened_seq: seq },
                        format!(
                            "credentials received at entry {seq} deleted for customer {id}{what} at {at}, by the deadline {}, but the record arrived after the allowed lateness; finding closed",
                            format_ms(due)
                        ),
                    ),
                    Some(due) => (
                        Effect::Closes { opened_seq: seq },
                        format!(
                            "credentials received at entry {seq} deleted for customer {id}{what} at {at}, after the deadline {}",
                            format_ms(due)
                        ),
                    ),
                    None => (
                        Effect::Closes { opened_seq: seq },
                        format!("credentials received at entry {seq} deleted for customer {id}{what}"),
                    ),
                };
                out.push(verdict(&RULE, effect, explanation));
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
    fn credentials_open_an_obligation_and_a_deletion_discharges_every_open_one() {
        let due = T0 + super::DELETION_DEADLINE_MS;
        assert_eq!(
            effects(RULE.id, &[], &with_credentials(T0)),
            vec![Effect::Obligation { due_ms: due }]
        );
        // Flagged without the category: still credentials.
        let mut flagged = event(
            T0,
            collected(M::SecureFileTransfer, &[C::Customer], "US", true, ""),
        );
        if let Some(Kind::DataCollected(c)) = flagged.kind.as_mut() {
            c.credentials_present = true;
        }
        assert_eq!(
            effects(RULE.id, &[], &flagged),
            vec![Effect::Obligation { due_ms: due }]
        );

        let history = [with_credentials(T0), flagged, with_credentials(T0 + 2)];
        let delete = event(
            T0 + HOUR,
            deleted(&[C::Credentials], D::CredentialsReceived),
        );
        assert_eq!(
            effects(RULE.id, &history, &delete),
            vec![
                Effect::Discharges { opened_seq: 0 },
                Effect::Discharges { opened_seq: 1 },
                Effect::Discharges { opened_seq: 2 }
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
            vec![Effect::Discharges { opened_seq: 0 }]
        );
        // Another customer's deletion closes nothing of this one.
        let mut elsewhere = event(
            T0 + HOUR,
            deleted(&[C::Credentials], D::CredentialsReceived),
        );
        elsewhere.customer_id = "cust-2".into();
        assert!(effects(RULE.id, &history, &elsewhere).is_empty());
    }

    /// Issue 12: compliant handling leaves no finding; a deletion after the
    /// deadline closes the finding the obligation became.
    #[test]
    fn a_deletion_after_the_deadline_closes_a_finding() {
        let due = T0 + super::DELETION_DEADLINE_MS;
        let history = [with_credentials(T0)];
        let late = event(due + 1, deleted(&[C::Credentials], D::CredentialsReceived));
        let v = verdicts_of(RULE.id, &history, &late);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].effect, Effect::Closes { opened_seq: 0 });
        assert!(
            v[0].explanation
                .ends_with("after the deadline 2026-01-12T09:00:00Z"),
            "{}",
            v[0].explanation
        );
        // Dated by the deadline but recorded after the lateness: closed, and said.
        let mut past = history.to_vec();
        past.push(event(
            due + crate::DEFAULT_ALLOWED_LATENESS_MS,
            collected(M::PhoneOrChat, &[C::Contact], "US", true, ""),
        ));
        let v = verdicts_of(
            RULE.id,
            &past,
            &event(due, deleted(&[C::Credentials], D::CredentialsReceived)),
        );
        assert_eq!(v[0].effect, Effect::Closes { opened_seq: 0 });
        assert!(v[0].explanation.contains("after the allowed lateness"));
    }
}
