//! Validation applied by every source before an event enters the fold. An
//! event that fails is rejected (HTTP 422) or quarantined (Kafka, import),
//! never folded, so the policy rules can rely on what is checked here.

use crate::v1::{
    CollectionMeans, DataCategory, DeletionReason, EntityKind, LawEnforcementOutcome,
    LegalInstrument, LegalMechanism, Purpose, Role, TransferReason,
};
use crate::{Event, Kind};

/// Longest accepted identifier (event, customer, case, request ids).
pub const MAX_ID_LEN: usize = 256;

/// What is wrong with an event, naming the field in its proto3 JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct ValidationError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks an identifier (customer, event, actor, request id) as events
/// require it: present, at most 256 bytes, no control characters. For
/// parameters that name one, such as a report's customer.
pub fn validate_id(field: &str, value: &str) -> Result<(), ValidationError> {
    id(field, value)
}

fn id(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(err(field, "required"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(err(field, format!("longer than {MAX_ID_LEN} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(err(field, "contains control characters"));
    }
    Ok(())
}

/// ISO 3166-1 alpha-2: two upper-case ASCII letters.
fn country(field: &str, value: &str, required: bool) -> Result<(), ValidationError> {
    if value.is_empty() {
        return if required {
            Err(err(field, "required (ISO 3166-1 alpha-2 country code)"))
        } else {
            Ok(())
        };
    }
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(err(
            field,
            format!("`{value}` is not an ISO 3166-1 alpha-2 country code"),
        ))
    }
}

/// An enum value this version knows; `allow_unspecified` for optional enums.
fn known<E: TryFrom<i32>>(
    field: &str,
    value: i32,
    allow_unspecified: bool,
) -> Result<(), ValidationError> {
    if E::try_from(value).is_err() {
        return Err(err(field, format!("unknown enum value {value}")));
    }
    if value == 0 && !allow_unspecified {
        return Err(err(field, "required (UNSPECIFIED is not allowed)"));
    }
    Ok(())
}

fn categories(field: &str, values: &[i32], required: bool) -> Result<(), ValidationError> {
    if required && values.is_empty() {
        return Err(err(field, "at least one data category is required"));
    }
    for (i, v) in values.iter().enumerate() {
        known::<DataCategory>(&format!("{field}[{i}]"), *v, false)?;
    }
    Ok(())
}

/// First and last second of the proto3 `Timestamp` range (years 1 to 9999,
/// RFC 3339): outside it a time cannot be written in a report, and the
/// arithmetic on milliseconds the rules do could overflow.
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

fn timestamp(field: &str, ts: &crate::Timestamp) -> Result<(), ValidationError> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(err(field, "nanos out of range"));
    }
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&ts.seconds) {
        return Err(err(
            field,
            format!(
                "{} seconds since 1970 is outside years 1 to 9999",
                ts.seconds
            ),
        ));
    }
    Ok(())
}

/// Checks everything the fold and the policy rules rely on.
pub fn validate(event: &Event) -> Result<(), ValidationError> {
    id("eventId", &event.event_id)?;
    let kind = event
        .kind
        .as_ref()
        .ok_or_else(|| err("kind", "one event kind (e.g. `dataAccessed`) is required"))?;
    let global = matches!(kind, Kind::SubcontractorRegistered(_));
    if global {
        // A registration is folded into every shard (each replica keeps the
        // registry it judges handoffs by); a customer id would route it to
        // one shard only.
        if !event.customer_id.is_empty() {
            return Err(err(
                "customerId",
                "must be empty for subcontractorRegistered: it is a global event, folded into every shard",
            ));
        }
    } else {
        id("customerId", &event.customer_id)?;
    }
    let ts = event
        .occurred_at
        .as_ref()
        .ok_or_else(|| err("occurredAt", "required"))?;
    timestamp("occurredAt", ts)?;
    if event.case_id.len() > MAX_ID_LEN {
        return Err(err("caseId", "too long"));
    }
    let needs_actor = !matches!(
        kind,
        Kind::CustomerProfileSet(_) | Kind::SubcontractorRegistered(_)
    );
    match &event.actor {
        Some(actor) => {
            id("actor.id", &actor.id)?;
            known::<Role>("actor.role", actor.role, false)?;
            known::<EntityKind>("actor.entityKind", actor.entity_kind, true)?;
            country("actor.officeCountry", &actor.office_country, false)?;
            country("actor.locationCountry", &actor.location_country, false)?;
        }
        None if needs_actor => return Err(err("actor", "required for this kind")),
        None => {}
    }
    match kind {
        Kind::CustomerProfileSet(p) => {
            country("customerProfileSet.homeCountry", &p.home_country, false)
        }
        Kind::SubcontractorRegistered(s) => {
            id(
                "subcontractorRegistered.subcontractorId",
                &s.subcontractor_id,
            )?;
            country("subcontractorRegistered.country", &s.country, false)?;
            let from = s
                .attestation_valid_from
                .as_ref()
                .ok_or_else(|| err("subcontractorRegistered.attestationValidFrom", "required"))?;
            timestamp("subcontractorRegistered.attestationValidFrom", from)?;
            let to = s
                .attestation_valid_to
                .as_ref()
                .ok_or_else(|| err("subcontractorRegistered.attestationValidTo", "required"))?;
            timestamp("subcontractorRegistered.attestationValidTo", to)?;
            if (to.seconds, to.nanos) < (from.seconds, from.nanos) {
                return Err(err(
                    "subcontractorRegistered.attestationValidTo",
                    "earlier than attestationValidFrom",
                ));
            }
            Ok(())
        }
        Kind::DataCollected(c) => {
            known::<CollectionMeans>("dataCollected.means", c.means, false)?;
            categories("dataCollected.categories", &c.categories, true)?;
            country("dataCollected.storageCountry", &c.storage_country, true)
        }
        Kind::DataAccessed(a) => {
            known::<Purpose>("dataAccessed.purpose", a.purpose, false)?;
            categories("dataAccessed.categories", &a.categories, true)?;
            known::<CollectionMeans>("dataAccessed.means", a.means, true)
        }
        Kind::DataTransferred(t) => {
            country("dataTransferred.fromCountry", &t.from_country, true)?;
            country("dataTransferred.toCountry", &t.to_country, true)?;
            categories("dataTransferred.categories", &t.categories, true)?;
            known::<LegalMechanism>("dataTransferred.legalMechanism", t.legal_mechanism, true)?;
            known::<TransferReason>("dataTransferred.reason", t.reason, true)?;
            known::<EntityKind>("dataTransferred.recipientKind", t.recipient_kind, true)?;
            known::<Purpose>("dataTransferred.purpose", t.purpose, true)
        }
        Kind::SubcontractorHandoff(h) => {
            id("subcontractorHandoff.subcontractorId", &h.subcontractor_id)?;
            categories("subcontractorHandoff.categories", &h.categories, true)?;
            known::<Purpose>("subcontractorHandoff.purpose", h.purpose, false)?;
            country(
                "subcontractorHandoff.locationCountry",
                &h.location_country,
                true,
            )
        }
        Kind::DataDeleted(d) => {
            categories("dataDeleted.categories", &d.categories, true)?;
            known::<DeletionReason>("dataDeleted.reason", d.reason, true)
        }
        Kind::LawEnforcementRequestReceived(r) => {
            id("lawEnforcementRequestReceived.requestId", &r.request_id)?;
            if let Some(t) = &r.nondisclosure_expires_at {
                timestamp("lawEnforcementRequestReceived.nondisclosureExpiresAt", t)?;
            }
            country(
                "lawEnforcementRequestReceived.jurisdiction",
                &r.jurisdiction,
                true,
            )?;
            known::<LegalInstrument>(
                "lawEnforcementRequestReceived.instrument",
                r.instrument,
                false,
            )?;
            categories(
                "lawEnforcementRequestReceived.scopeRequested",
                &r.scope_requested,
                true,
            )
        }
        Kind::LawEnforcementRedirected(r) => {
            id("lawEnforcementRedirected.requestId", &r.request_id)
        }
        Kind::LawEnforcementCustomerNotified(r) => {
            id("lawEnforcementCustomerNotified.requestId", &r.request_id)
        }
        Kind::LawEnforcementDisclosed(r) => {
            id("lawEnforcementDisclosed.requestId", &r.request_id)?;
            categories(
                "lawEnforcementDisclosed.scopeReleased",
                &r.scope_released,
                true,
            )
        }
        Kind::LawEnforcementClosed(r) => {
            id("lawEnforcementClosed.requestId", &r.request_id)?;
            known::<LawEnforcementOutcome>("lawEnforcementClosed.outcome", r.outcome, false)
        }
        Kind::ReportRead(r) => id("reportRead.report", &r.report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_from_json;

    fn access(extra: &str) -> Event {
        event_from_json(&format!(
            r#"{{"eventId":"e1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z",
               "actor":{{"id":"a","role":"ROLE_SUPPORT_ENGINEER","locationCountry":"US"}},
               "dataAccessed":{{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]{extra}}}}}"#
        ))
        .expect("json")
    }

    #[test]
    fn accepts_a_complete_access() {
        assert_eq!(validate(&access("")), Ok(()));
    }

    #[test]
    fn a_registration_carries_no_customer() {
        let mut e = event_from_json(
            r#"{"eventId":"r1","occurredAt":"2026-01-01T00:00:00Z",
               "actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},
               "subcontractorRegistered":{"subcontractorId":"sub-a","name":"Sub A","country":"IE",
                 "attestationValidFrom":"2025-01-01T00:00:00Z","attestationValidTo":"2027-01-01T00:00:00Z"}}"#,
        )
        .expect("json");
        assert_eq!(validate(&e), Ok(()));
        e.customer_id = "c1".into();
        let err = validate(&e).unwrap_err();
        assert_eq!(err.field, "customerId");
        assert!(err.reason.contains("global event"), "{err:?}");
    }

    #[test]
    fn identifiers_for_parameters() {
        assert!(validate_id("customer", "cust-1").is_ok());
        assert_eq!(validate_id("customer", "").unwrap_err().reason, "required");
        assert!(validate_id("customer", "a\nb").is_err());
        assert!(validate_id("customer", &"x".repeat(300)).is_err());
    }

    #[test]
    fn names_missing_fields() {
        let mut e = access("");
        e.customer_id.clear();
        assert_eq!(validate(&e).unwrap_err().field, "customerId");
        let mut e = access("");
        e.kind = None;
        assert_eq!(validate(&e).unwrap_err().field, "kind");
        let mut e = access("");
        e.occurred_at = None;
        assert_eq!(validate(&e).unwrap_err().field, "occurredAt");
    }

    #[test]
    fn times_outside_years_1_to_9999_are_refused_naming_the_field() {
        let mut e = access("");
        for (seconds, ok) in [
            (MIN_TIMESTAMP_SECONDS, true),
            (MAX_TIMESTAMP_SECONDS, true),
            (MIN_TIMESTAMP_SECONDS - 1, false),
            (MAX_TIMESTAMP_SECONDS + 1, false),
            (1 << 62, false),
            (i64::MIN, false),
        ] {
            e.occurred_at = Some(crate::Timestamp { seconds, nanos: 0 });
            match validate(&e) {
                Ok(()) => assert!(ok, "{seconds} accepted"),
                Err(v) => {
                    assert!(!ok, "{seconds} refused: {v}");
                    assert_eq!(v.field, "occurredAt");
                    assert!(v.to_string().contains("years 1 to 9999"), "{v}");
                }
            }
        }
        let le = crate::event_from_json(
            r#"{"eventId":"e1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z",
               "actor":{"id":"legal-1","role":"ROLE_LEGAL"},
               "lawEnforcementRequestReceived":{"requestId":"r1","jurisdiction":"US","instrument":"LEGAL_INSTRUMENT_SUBPOENA",
                 "scopeRequested":["DATA_CATEGORY_CONTACT"],"nondisclosureOrder":true,
                 "nondisclosureExpiresAt":"2026-06-01T00:00:00Z"}}"#,
        )
        .unwrap();
        validate(&le).unwrap();
        let mut far = le.clone();
        if let Some(Kind::LawEnforcementRequestReceived(r)) = &mut far.kind {
            r.nondisclosure_expires_at = Some(crate::Timestamp {
                seconds: 1 << 62,
                nanos: 0,
            });
        }
        assert_eq!(
            validate(&far).unwrap_err().field,
            "lawEnforcementRequestReceived.nondisclosureExpiresAt"
        );
    }

    #[test]
    fn rejects_unknown_enum_values() {
        let mut e = access("");
        if let Some(Kind::DataAccessed(a)) = e.kind.as_mut() {
            a.categories.push(99);
        }
        let error = validate(&e).unwrap_err();
        assert_eq!(error.field, "dataAccessed.categories[1]");
        assert!(error.reason.contains("99"));
    }

    #[test]
    fn rejects_bad_country_codes() {
        let mut e = access("");
        if let Some(actor) = e.actor.as_mut() {
            actor.location_country = "usa".into();
        }
        assert_eq!(validate(&e).unwrap_err().field, "actor.locationCountry");
    }
}
