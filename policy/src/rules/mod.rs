//! One module per commitment. Each exposes `RULE` (its metadata) and
//! `check(cx, out)`, which pushes that rule's verdicts for one event.
//! A rule emits at most one finding (breach or opens) per event, plus any
//! closures, so a finding is identified by (rule, customer, shard, seq).

use custody_proto::{Event, Kind};

use crate::state::{CustomerState, LeRequest, ShardState};
use crate::{Effect, Rule, Verdict};

pub(crate) mod ad_transfer;
pub(crate) mod credentials_deleted;
pub(crate) mod credentials_not_used;
pub(crate) mod eea_residency;
pub(crate) mod eea_transfer;
pub(crate) mod le_no_voluntary;
pub(crate) mod le_notice;
pub(crate) mod le_redirect;
pub(crate) mod le_scope;
pub(crate) mod private_encrypted;
pub(crate) mod remote_access;
pub(crate) mod sales_marketing;
pub(crate) mod secondary_use;
pub(crate) mod sub_attestation;
pub(crate) mod sub_purpose;
pub(crate) mod use_matrix;

/// What every rule sees: the state before the event, and the event.
pub(crate) struct Ctx<'a> {
    pub state: &'a ShardState,
    /// The event's customer, when the state knows them.
    pub customer: Option<&'a CustomerState>,
    pub event: &'a Event,
    pub kind: &'a Kind,
    /// `occurred_at` in milliseconds since the Unix epoch (0 if absent).
    pub at: i64,
    /// The sequence number the event's entry will get.
    #[allow(dead_code)]
    pub seq: u64,
}

impl Ctx<'_> {
    /// The open request with this id for the event's customer.
    pub fn request(&self, id: &str) -> Option<&LeRequest> {
        self.customer?.requests.get(id)
    }

    pub fn eea_customer(&self) -> bool {
        self.customer.is_some_and(CustomerState::eea_storage_only)
    }
}

pub(crate) type CheckFn = fn(&Ctx<'_>, &mut Vec<Verdict>);

/// The checks, in [`crate::RULES`] order (a unit test keeps them in step).
pub(crate) const CHECKS: &[(&str, CheckFn)] = &[
    (use_matrix::RULE.id, use_matrix::check),
    (sales_marketing::RULE.id, sales_marketing::check),
    (ad_transfer::RULE.id, ad_transfer::check),
    (secondary_use::RULE.id, secondary_use::check),
    (credentials_not_used::RULE.id, credentials_not_used::check),
    (credentials_deleted::RULE.id, credentials_deleted::check),
    (remote_access::RULE.id, remote_access::check),
    (private_encrypted::RULE.id, private_encrypted::check),
    (le_no_voluntary::RULE.id, le_no_voluntary::check),
    (le_redirect::RULE.id, le_redirect::check),
    (le_scope::RULE.id, le_scope::check),
    (le_notice::RULE.id, le_notice::check),
    (eea_residency::RULE.id, eea_residency::check),
    (eea_transfer::RULE.id, eea_transfer::check),
    (sub_attestation::RULE.id, sub_attestation::check),
    (sub_purpose::RULE.id, sub_purpose::check),
];

pub(crate) fn verdict(rule: &Rule, effect: Effect, explanation: String) -> Verdict {
    Verdict {
        rule: rule.id.to_string(),
        severity: rule.severity,
        effect,
        explanation,
    }
}

pub(crate) fn breach(rule: &Rule, explanation: String) -> Verdict {
    verdict(rule, Effect::Breach, explanation)
}

/// Whether a purpose is one for which subcontractors and third parties may
/// handle data: providing or maintaining support (seed 001).
pub(crate) fn is_support_purpose(purpose: i32) -> bool {
    use custody_proto::v1::Purpose;
    matches!(
        Purpose::try_from(purpose),
        Ok(Purpose::ProvidingSupport | Purpose::MaintainingSupport)
    )
}

/// Event builders shared by the rules' unit tests.
#[cfg(test)]
pub(crate) mod testkit {
    use custody_proto::v1::{
        self, Actor, CollectionMeans as M, DataCategory as C, EntityKind as E,
        LegalInstrument as I, LegalMechanism as L, Purpose as P, Role as R,
    };
    use custody_proto::{timestamp_from_ms, Event, Kind};

    use crate::{apply, check, Effect, ShardState, Verdict};

    /// 2026-01-05T09:00:00Z
    pub const T0: i64 = 1_767_603_600_000;
    pub const SECOND: i64 = 1000;
    pub const HOUR: i64 = 3_600_000;
    pub const DAY: i64 = 24 * HOUR;
    pub const CUSTOMER: &str = "cust-1";

    pub fn cats(c: &[C]) -> Vec<i32> {
        c.iter().map(|c| *c as i32).collect()
    }

    pub fn actor(role: R) -> Actor {
        Actor {
            id: format!("{}-1", role.as_str_name().to_lowercase()),
            role: role as i32,
            entity_kind: E::Organisation as i32,
            entity_name: "Support Org Inc.".into(),
            office_country: "US".into(),
            location_country: "US".into(),
        }
    }

    pub fn event(at: i64, kind: Kind) -> Event {
        Event {
            event_id: format!("e-{at}"),
            customer_id: CUSTOMER.into(),
            occurred_at: Some(timestamp_from_ms(at)),
            service: "test".into(),
            case_id: "case-1".into(),
            actor: Some(actor(R::SupportEngineer)),
            kind: Some(kind),
        }
    }

    pub fn by(mut e: Event, role: R) -> Event {
        e.actor = Some(actor(role));
        e
    }

    pub fn profile(eea: bool) -> Kind {
        Kind::CustomerProfileSet(v1::CustomerProfileSet {
            support_plan: "premier".into(),
            eea_storage_only: eea,
            home_country: if eea { "DE".into() } else { "US".into() },
            display_name: "Customer 1".into(),
        })
    }

    pub fn collected(means: M, c: &[C], storage: &str, encrypted: bool, permission: &str) -> Kind {
        Kind::DataCollected(v1::DataCollected {
            means: means as i32,
            categories: cats(c),
            storage_country: storage.into(),
            encrypted_channel: encrypted,
            permission_reference: permission.into(),
            credentials_present: false,
            description: String::new(),
            resource: "upload".into(),
        })
    }

    pub fn accessed(purpose: P, c: &[C], justification: &str) -> Kind {
        accessed_via(purpose, c, justification, M::Unspecified)
    }

    pub fn accessed_via(purpose: P, c: &[C], justification: &str, means: M) -> Kind {
        Kind::DataAccessed(v1::DataAccessed {
            purpose: purpose as i32,
            categories: cats(c),
            resource: "case-notes".into(),
            justification: justification.into(),
            means: means as i32,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        from: &str,
        to: &str,
        c: &[C],
        mechanism: L,
        stored: bool,
        recipient: E,
        purpose: P,
    ) -> Kind {
        Kind::DataTransferred(v1::DataTransferred {
            from_country: from.into(),
            to_country: to.into(),
            categories: cats(c),
            legal_mechanism: mechanism as i32,
            reason: v1::TransferReason::Escalation as i32,
            stored_at_destination: stored,
            recipient_kind: recipient as i32,
            recipient_name: "Recipient Ltd.".into(),
            purpose: purpose as i32,
        })
    }

    pub fn registered(id: &str, from: i64, to: i64) -> Event {
        let mut e = event(
            T0 - DAY,
            Kind::SubcontractorRegistered(v1::SubcontractorRegistered {
                subcontractor_id: id.into(),
                name: format!("{id} Ltd."),
                country: "PL".into(),
                attestation_reference: format!("ATT-{id}"),
                attestation_valid_from: Some(timestamp_from_ms(from)),
                attestation_valid_to: Some(timestamp_from_ms(to)),
            }),
        );
        e.customer_id.clear();
        e.case_id.clear();
        e.actor = None;
        e
    }

    pub fn handoff(sub: &str, c: &[C], purpose: P, location: &str) -> Kind {
        Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
            subcontractor_id: sub.into(),
            categories: cats(c),
            purpose: purpose as i32,
            location_country: location.into(),
        })
    }

    pub fn deleted(c: &[C], reason: v1::DeletionReason) -> Kind {
        Kind::DataDeleted(v1::DataDeleted {
            categories: cats(c),
            reason: reason as i32,
            resource: "upload".into(),
        })
    }

    pub fn received(
        id: &str,
        instrument: I,
        binding: bool,
        scope: &[C],
        ndo_until: Option<Option<i64>>,
    ) -> Kind {
        Kind::LawEnforcementRequestReceived(v1::LawEnforcementRequestReceived {
            request_id: id.into(),
            agency: "Agency".into(),
            jurisdiction: "US".into(),
            instrument: instrument as i32,
            legally_binding: binding,
            scope_requested: cats(scope),
            nondisclosure_order: ndo_until.is_some(),
            nondisclosure_expires_at: ndo_until.flatten().map(timestamp_from_ms),
        })
    }

    pub fn redirected(id: &str) -> Kind {
        Kind::LawEnforcementRedirected(v1::LawEnforcementRedirected {
            request_id: id.into(),
            note: String::new(),
        })
    }

    pub fn notified(id: &str) -> Kind {
        Kind::LawEnforcementCustomerNotified(v1::LawEnforcementCustomerNotified {
            request_id: id.into(),
            method: "email".into(),
        })
    }

    pub fn disclosed(id: &str, scope: &[C]) -> Kind {
        Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
            request_id: id.into(),
            scope_released: cats(scope),
        })
    }

    pub fn closed(id: &str) -> Kind {
        Kind::LawEnforcementClosed(v1::LawEnforcementClosed {
            request_id: id.into(),
            outcome: v1::LawEnforcementOutcome::Disclosed as i32,
        })
    }

    /// Folds events from a fresh state; returns the state and, per event,
    /// its verdicts.
    pub fn fold(events: &[Event]) -> (ShardState, Vec<Vec<Verdict>>) {
        let mut state = ShardState::default();
        let mut all = Vec::new();
        for (seq, e) in events.iter().enumerate() {
            let v = check(&state, e, seq as u64);
            apply(&mut state, e, seq as u64, &v);
            all.push(v);
        }
        (state, all)
    }

    /// Folds `history`, then checks `last` (with seq = history length) and
    /// returns only the verdicts of `rule`.
    pub fn verdicts_of(rule: &str, history: &[Event], last: &Event) -> Vec<Verdict> {
        let (state, _) = fold(history);
        check(&state, last, history.len() as u64)
            .into_iter()
            .filter(|v| v.rule == rule)
            .collect()
    }

    /// The effects of `rule` on `last`, for short assertions.
    pub fn effects(rule: &str, history: &[Event], last: &Event) -> Vec<Effect> {
        verdicts_of(rule, history, last)
            .into_iter()
            .map(|v| v.effect)
            .collect()
    }
}
