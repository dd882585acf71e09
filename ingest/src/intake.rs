//! Parsing of event batches from the embedded sources (HTTP bodies and
//! files): proto3 JSON (one object, an array, or JSON lines) and protobuf
//! (one message, or a varint length-delimited stream). Every event is
//! validated; the first bad one is reported with its position and field.

use custody_proto::{event_from_json, validate, Event};
use prost::Message;

/// The wire form of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object, a JSON array of objects, or one object per line.
    Json,
    /// One protobuf `Event`.
    Protobuf,
    /// Varint length-delimited protobuf `Event`s.
    ProtobufDelimited,
}

/// An event accepted for folding: its customer (the routing key) and the
/// bytes the ledger will store.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub event: Event,
    /// Exactly the bytes received for protobuf input (so unknown fields
    /// survive); the protobuf encoding of the parsed event for JSON input.
    pub bytes: Vec<u8>,
}

/// Why a batch was refused. `index` is the 0-based position in the batch
/// (for JSON lines, the line number minus one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index}: {message}")]
pub struct IntakeError {
    pub index: usize,
    pub field: Option<String>,
    pub message: String,
}

/// Largest accepted batch body and single event.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// When an event from outside arrived, and how far its `occurredAt` may be
/// ahead of that (clocks differ; an event dated well after it arrived is
/// a wrong clock or a forgery, and would stay "in the future" for the
/// rules that judge by event time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub at_ms: i64,
    /// `None`: no limit (for replays of historical data only).
    pub max_skew_ms: Option<i64>,
}

/// Default of `--max-clock-skew`: five minutes.
pub const DEFAULT_MAX_SKEW_MS: i64 = 5 * 60 * 1000;

impl Arrival {
    /// Now, by this machine's clock.
    pub fn now(max_skew_ms: Option<i64>) -> Self {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Arrival { at_ms, max_skew_ms }
    }
}

/// What only events from outside must satisfy, on top of
/// [`custody_proto::validate`] (which the fold also applies to its own
/// records and to replays): `reportRead` events are recorded by Custody
/// itself when a report is read, so an emitter posting one would forge
/// a read; and `occurredAt` may not be later than the arrival by more than
/// the allowed skew.
pub fn check_external(event: &Event, arrival: &Arrival) -> Result<(), (Option<String>, String)> {
    if let Some(custody_proto::Kind::ReportRead(_)) = &event.kind {
        return Err((
            Some("reportRead".into()),
            "field `reportRead`: reportRead events are recorded by Custody itself when a report is read; emitters cannot send them".into(),
        ));
    }
    if let (Some(skew), Some(ts)) = (arrival.max_skew_ms, &event.occurred_at) {
        let at = custody_proto::timestamp_ms(ts);
        if at > arrival.at_ms.saturating_add(skew) {
            return Err((
                Some("occurredAt".into()),
                format!(
                    "field `occurredAt`: {} is later than the event's arrival ({}) by more than the allowed clock skew of {} s",
                    custody_policy::format_ms(at),
                    custody_policy::format_ms(arrival.at_ms),
                    skew / 1000
                ),
            ));
        }
    }
    Ok(())
}

/// [`parse_batch`] for events from outside (HTTP, files): each event also
/// passes [`check_external`]; all or nothing.
pub fn parse_external(
    format: Format,
    body: &[u8],
    arrival: &Arrival,
) -> Result<Vec<Accepted>, IntakeError> {
    let accepted = parse_batch(format, body)?;
    for (index, a) in accepted.iter().enumerate() {
        check_external(&a.event, arrival).map_err(|(field, message)| IntakeError {
            index,
            field,
            message,
        })?;
    }
    Ok(accepted)
}

/// Parses and validates a whole batch; all or nothing.
pub fn parse_batch(format: Format, body: &[u8]) -> Result<Vec<Accepted>, IntakeError> {
    let mut out = Vec::new();
    for (index, item) in split(format, body)?.into_iter().enumerate() {
        out.push(
            accept(format, item).map_err(|(field, message)| IntakeError {
                index,
                field,
                message,
            })?,
        );
    }
    if out.is_empty() {
        return Err(IntakeError {
            index: 0,
            field: None,
            message: "the batch holds no events".into(),
        });
    }
    Ok(out)
}

/// One raw item of a batch, before decoding.
enum Item<'a> {
    Json(std::borrow::Cow<'a, str>),
    Proto(&'a [u8]),
}

fn split(format: Format, body: &[u8]) -> Result<Vec<Item<'_>>, IntakeError> {
    let whole = |message: String| IntakeError {
        index: 0,
        field: None,
        message,
    };
    match format {
        Format::Protobuf => Ok(vec![Item::Proto(body)]),
        Format::ProtobufDelimited => {
            let mut items = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                let index = items.len();
                let len = prost::encoding::decode_varint(&mut rest).map_err(|e| IntakeError {
                    index,
                    field: None,
                    message: format!("bad length prefix: {e}"),
                })? as usize;
                if len > rest.len() {
                    return Err(IntakeError {
                        index,
                        field: None,
                        message: format!(
                            "length prefix says {len} bytes but only {} remain",
                            rest.len()
                        ),
                    });
                }
                let (item, tail) = rest.split_at(len);
                items.push(Item::Proto(item));
                rest = tail;
            }
            Ok(items)
        }
        Format::Json => {
            let text =
                std::str::from_utf8(body).map_err(|e| whole(format!("body is not UTF-8: {e}")))?;
            let trimmed = text.trim_start();
            if trimmed.starts_with('[') {
                let values: Vec<serde_json::Value> = serde_json::from_str(trimmed)
                    .map_err(|e| whole(format!("body is not a JSON array: {e}")))?;
                Ok(values
                    .into_iter()
                    .map(|v| Item::Json(std::borrow::Cow::Owned(v.to_string())))
                    .collect())
            } else {
                // One object (however it is laid out, pretty-printed too), or
                // a sequence of objects (JSON lines): read value after value.
                // IgnoredAny only finds each value's end, cheaply; the event
                // parser then reads exactly that slice.
                let mut items = Vec::new();
                let mut values =
                    serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
                let mut start = 0;
                loop {
                    match values.next() {
                        None => break,
                        Some(Ok(_)) => {
                            let end = values.byte_offset();
                            items.push(Item::Json(std::borrow::Cow::Borrowed(&text[start..end])));
                            start = end;
                        }
                        Some(Err(e)) => {
                            return Err(IntakeError {
                                index: items.len(),
                                field: None,
                                message: format!("invalid event JSON: {e}"),
                            })
                        }
                    }
                }
                Ok(items)
            }
        }
    }
}

fn accept(format: Format, item: Item<'_>) -> Result<Accepted, (Option<String>, String)> {
    let _ = format;
    let (event, bytes) = match item {
        Item::Proto(bytes) => {
            if bytes.len() > MAX_EVENT_BYTES {
                return Err((
                    None,
                    format!("event is {} bytes, limit {MAX_EVENT_BYTES}", bytes.len()),
                ));
            }
            let event =
                Event::decode(bytes).map_err(|e| (None, format!("protobuf decode failed: {e}")))?;
            (event, bytes.to_vec())
        }
        Item::Json(text) => {
            let event = event_from_json(&text).map_err(|e| (e.field.clone(), e.to_string()))?;
            let bytes = event.encode_to_vec();
            // The fold refuses larger records; refusing here keeps the
            // batch all or nothing.
            if bytes.len() > MAX_EVENT_BYTES {
                return Err((
                    None,
                    format!(
                        "event is {} bytes as protobuf, limit {MAX_EVENT_BYTES}",
                        bytes.len()
                    ),
                ));
            }
            (event, bytes)
        }
    };
    validate(&event).map_err(|e| (Some(e.field.clone()), e.to_string()))?;
    Ok(Accepted { event, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"eventId":"e1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z","actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;

    #[test]
    fn report_reads_and_events_from_the_future_are_refused_from_outside() {
        let at = |skew: Option<i64>| Arrival {
            // 2026-01-01T00:00:00Z
            at_ms: 1_767_225_600_000,
            max_skew_ms: skew,
        };
        assert_eq!(
            parse_external(Format::Json, GOOD.as_bytes(), &at(Some(0)))
                .unwrap()
                .len(),
            1
        );
        let late = GOOD.replace("2026-01-01T00:00:00Z", "2026-01-01T00:05:01Z");
        let err = parse_external(Format::Json, late.as_bytes(), &at(Some(300_000))).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("occurredAt"));
        assert!(
            err.message.contains("clock skew of 300 s"),
            "{}",
            err.message
        );
        assert!(parse_external(Format::Json, late.as_bytes(), &at(Some(301_000))).is_ok());
        assert!(parse_external(Format::Json, late.as_bytes(), &at(None)).is_ok());
        let read = r#"{"eventId":"e2","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z","actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},"reportRead":{"report":"access-history"}}"#;
        // Valid as an event (the service records its own), refused from outside.
        assert_eq!(parse_batch(Format::Json, read.as_bytes()).unwrap().len(), 1);
        let two = format!("{GOOD}\n{read}");
        let err = parse_external(Format::Json, two.as_bytes(), &at(None)).unwrap_err();
        assert_eq!((err.index, err.field.as_deref()), (1, Some("reportRead")));
    }

    #[test]
    fn json_object_array_and_lines() {
        assert_eq!(parse_batch(Format::Json, GOOD.as_bytes()).unwrap().len(), 1);
        let arr = format!("[{GOOD},{GOOD}]");
        assert_eq!(parse_batch(Format::Json, arr.as_bytes()).unwrap().len(), 2);
        let lines = format!("{GOOD}\n\n{GOOD}\n{GOOD}\n");
        assert_eq!(
            parse_batch(Format::Json, lines.as_bytes()).unwrap().len(),
            3
        );
    }

    #[test]
    fn a_pretty_printed_object_is_one_event() {
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(GOOD).unwrap())
                .unwrap();
        assert!(pretty.lines().count() > 5);
        assert_eq!(
            parse_batch(Format::Json, pretty.as_bytes()).unwrap().len(),
            1
        );
        // Two pretty objects one after the other are two events.
        let two = format!("{pretty}\n{pretty}");
        assert_eq!(parse_batch(Format::Json, two.as_bytes()).unwrap().len(), 2);
        // A broken second line is named by its position.
        let broken = format!("{GOOD}\n{{\"eventId\": ");
        assert_eq!(
            parse_batch(Format::Json, broken.as_bytes())
                .unwrap_err()
                .index,
            1
        );
    }

    #[test]
    fn an_oversized_json_event_refuses_the_batch() {
        let big = GOOD.replace("\"caseId\":\"\"", "").replace(
            "\"customerId\":\"c1\",",
            &format!(
                "\"customerId\":\"c1\",\"caseId\":\"{}\",",
                "x".repeat(MAX_EVENT_BYTES)
            ),
        );
        let lines = format!("{GOOD}\n{big}\n");
        let err = parse_batch(Format::Json, lines.as_bytes()).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.message.contains("limit"), "{err}");
    }

    #[test]
    fn a_bad_timestamp_names_its_field() {
        let bad = GOOD.replace("2026-01-01T00:00:00Z", "2026-05-01 10:00");
        let err = parse_batch(Format::Json, bad.as_bytes()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("occurredAt"));
        assert!(err.message.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn reports_position_and_field() {
        let bad = GOOD.replace("\"customerId\":\"c1\",", "");
        let lines = format!("{GOOD}\n{bad}\n");
        let err = parse_batch(Format::Json, lines.as_bytes()).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(err.field.as_deref(), Some("customerId"));
    }

    #[test]
    fn protobuf_keeps_exact_bytes_and_unknown_fields() {
        let event = parse_batch(Format::Json, GOOD.as_bytes())
            .unwrap()
            .remove(0)
            .event;
        let mut bytes = event.encode_to_vec();
        // Field 99, varint 1: a field from a future schema.
        bytes.extend_from_slice(&[0x98, 0x06, 0x01]);
        let got = parse_batch(Format::Protobuf, &bytes).unwrap().remove(0);
        assert_eq!(got.bytes, bytes);
        let mut delimited = Vec::new();
        event.encode_length_delimited(&mut delimited).unwrap();
        event.encode_length_delimited(&mut delimited).unwrap();
        assert_eq!(
            parse_batch(Format::ProtobufDelimited, &delimited)
                .unwrap()
                .len(),
            2
        );
        let err =
            parse_batch(Format::ProtobufDelimited, &delimited[..delimited.len() - 3]).unwrap_err();
        assert_eq!(err.index, 1);
    }

    #[test]
    fn empty_batches_and_garbage_are_refused() {
        assert!(parse_batch(Format::Json, b"   ").is_err());
        assert!(parse_batch(Format::Protobuf, &[0xff, 0xff, 0xff]).is_err());
        assert!(parse_batch(Format::ProtobufDelimited, b"").is_err());
    }
}
