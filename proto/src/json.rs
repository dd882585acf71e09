//! Proto3 JSON mapping of events (field names in lowerCamelCase or as in the
//! .proto file, enums by name, timestamps as RFC 3339 strings).

use crate::Event;

/// A JSON document that is not a valid event; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("invalid event JSON: {0}")]
pub struct JsonError(#[from] serde_json::Error);

/// Parses one event from its proto3 JSON form. Unknown fields are rejected so
/// that a misspelt field is reported instead of silently dropped.
pub fn event_from_json(text: &str) -> Result<Event, JsonError> {
    Ok(serde_json::from_str(text)?)
}

/// Renders an event in its proto3 JSON form.
pub fn event_to_json(event: &Event) -> String {
    // Serialising generated types into a String cannot fail: no maps with
    // non-string keys, no I/O.
    serde_json::to_string(event).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let text = r#"{"eventId":"e1","customerId":"c1","occurredAt":"2026-01-02T03:04:05Z",
            "service":"remote-assist","caseId":"case-9",
            "actor":{"id":"a1","role":"ROLE_SUPPORT_ENGINEER","entityKind":"ENTITY_KIND_ORGANISATION",
                     "officeCountry":"IE","locationCountry":"IE"},
            "dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;
        let event = event_from_json(text).expect("valid json");
        assert_eq!(event.event_id, "e1");
        assert_eq!(
            event.occurred_at.as_ref().map(|t| t.seconds),
            Some(1_767_323_045)
        );
        let again = event_from_json(&event_to_json(&event)).expect("round trip");
        assert_eq!(event, again);
    }

    #[test]
    fn names_the_unknown_field() {
        let err = event_from_json(r#"{"eventId":"e1","custmerId":"c1"}"#).unwrap_err();
        assert!(err.to_string().contains("custmerId"), "{err}");
    }

    #[test]
    fn names_the_bad_enum() {
        let err =
            event_from_json(r#"{"eventId":"e1","dataAccessed":{"purpose":"PURPOSE_SPYING"}}"#)
                .unwrap_err();
        assert!(err.to_string().contains("PURPOSE_SPYING"), "{err}");
    }
}
