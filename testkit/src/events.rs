//! Event builders for rule tests: one customer (`CUSTOMER`), one case, a
//! support engineer in the US, times relative to `T0`. Each builder sets only
//! what a rule looks at, so a test reads as the story it checks.
//!
//! Only `custody-proto` types appear here, so custody-policy's own unit tests
//! can use these builders without a second copy of the policy types.

use custody_proto::v1::{
    self, Actor, CollectionMeans as M, DataCategory as C, EntityKind as E, LegalInstrument as I,
    LegalMechanism as L, Purpose as P, Role as R,
};
use custody_proto::{timestamp_from_ms, Event, Kind};

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
