//! Proto3 JSON mapping of events (field names in lowerCamelCase or as in the
//! .proto file, enums by name, timestamps as RFC 3339 strings).

use crate::Event;

/// A JSON document that is not a valid event; names the field (its JSON
/// path, e.g. `occurredAt` or `dataAccessed.categories[1]`) when it can.
#[derive(Debug, thiserror::Error)]
#[error("invalid event JSON{}: {message}", .field.as_ref().map(|f| format!(" at `{f}`")).unwrap_or_default())]
pub struct JsonError {
    pub field: Option<String>,
    pub message: String,
}

/// Parses one event from its proto3 JSON form. Unknown fields are rejected so
/// that a misspelt field is reported instead of silently dropped.
pub fn event_from_json(text: &str) -> Result<Event, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let event: Event = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = (!path.is_empty() && path != ".").then_some(path);
        let message = field
            .as_deref()
            .and_then(|f| timestamp_problem(text, f))
            .unwrap_or_else(|| inner.to_string());
        JsonError { field, message }
    })?;
    de.end().map_err(|e| JsonError {
        field: None,
        message: e.to_string(),
    })?;
    Ok(event)
}

/// When the value at `path` is a string that is not an RFC 3339 timestamp
/// but the field wanted one, says so plainly (the parser's own message,
/// "premature end of input", names neither).
fn timestamp_problem(text: &str, path: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut at = &doc;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        at = at.get(key)?;
        if let Some(i) = index {
            at = at.get(i)?;
        }
    }
    let s = at.as_str()?;
    // Only a string the timestamp parser itself refuses is a timestamp
    // problem; an unknown enum name is reported by the enum's own message.
    let looks_like_time = s.chars().next().is_some_and(|c| c.is_ascii_digit());
    let refused = serde_json::from_value::<pbjson_types::Timestamp>(at.clone()).is_err();
    (looks_like_time && refused).then(|| {
        format!("`{s}` is not an RFC 3339 timestamp; expected e.g. 2026-05-01T10:00:00Z (date, `T`, time, and `Z` or an offset like +02:00)")
    })
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
    fn names_a_malformed_timestamp_and_the_expected_form() {
        let err = event_from_json(
            r#"{"eventId":"e1","customerId":"c1","occurredAt":"2026-05-01 10:00"}"#,
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("occurredAt"));
        assert!(err.to_string().contains("RFC 3339"), "{err}");
        assert!(err.to_string().contains("2026-05-01 10:00"), "{err}");
        let err = event_from_json(
            r#"{"eventId":"e1","subcontractorRegistered":{"attestationValidTo":"2027-13-45"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.field.as_deref(),
            Some("subcontractorRegistered.attestationValidTo"),
            "{err}"
        );
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
