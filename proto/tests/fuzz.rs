//! Fuzz targets (property-based, bounded) for the event decoders every
//! source goes through: the proto3 JSON mapping (`event_from_json`) and the
//! protobuf decoding of `Event`, each followed by `validate`. Inputs are
//! arbitrary, or valid events (the demo workload) mutated structurally
//! (JSON) or byte by byte (protobuf). No input may panic or allocate more
//! than a bound proportional to its size; whatever decodes must round-trip.
//!
//! Cases per target: `CUSTODY_FUZZ_CASES` (default 2,000);
//! `cargo xtask fuzz` runs 100,000.

#[path = "../../fuzz/support.rs"]
mod support;

use custody_proto::{event_from_json, event_to_json, validate, Event};
use custody_testkit::demo::{generate, DemoParams};
use proptest::prelude::*;
use prost::Message;
use support::{apply_byte_edits, byte_edits, bytes, json, run, Budget};

/// Valid events of every kind, from the demo workload.
fn seeds() -> Vec<Event> {
    generate(DemoParams {
        customers: 4,
        cases_per_customer: 3,
        seed: 15,
    })
}

/// A JSON text: arbitrary bytes read as text, arbitrary JSON, or a valid
/// event's JSON mutated structurally or as text.
fn json_texts() -> impl Strategy<Value = String> {
    let seeds: Vec<serde_json::Value> = seeds()
        .iter()
        .map(|e| serde_json::from_str(&event_to_json(e)).expect("demo events serialise"))
        .collect();
    let texts: Vec<String> = seeds.iter().map(|v| v.to_string()).collect();
    prop_oneof![
        1 => bytes(512).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => json::arbitrary().prop_map(|v| v.to_string()),
        4 => (prop::sample::select(seeds), json::edits())
            .prop_map(|(doc, edits)| json::apply(doc, &edits).to_string()),
        2 => (prop::sample::select(texts), byte_edits()).prop_map(|(t, edits)| {
            String::from_utf8_lossy(&apply_byte_edits(t.into_bytes(), &edits)).into_owned()
        }),
    ]
}

#[test]
fn fuzz_event_json() {
    run("event_json", json_texts(), |text| {
        let budget = Budget::start(text.len(), 64, 256 << 10);
        let parsed = event_from_json(&text);
        if let Ok(event) = &parsed {
            let _ = validate(event);
        }
        budget.check("event_from_json")?;
        if let Ok(event) = parsed {
            support::accepted();
            // What was accepted must be written back and read again unchanged.
            let again = event_from_json(&event_to_json(&event));
            prop_assert!(again.is_ok(), "{text} -> {:?}", again.err());
            prop_assert_eq!(again.ok(), Some(event));
        }
        Ok(())
    });
}

/// Protobuf bytes: arbitrary, or a valid event's encoding mutated.
fn protobuf_bytes() -> impl Strategy<Value = Vec<u8>> {
    let encoded: Vec<Vec<u8>> = seeds().iter().map(Message::encode_to_vec).collect();
    prop_oneof![
        1 => bytes(512),
        3 => (prop::sample::select(encoded), byte_edits())
            .prop_map(|(b, edits)| apply_byte_edits(b, &edits)),
    ]
}

#[test]
fn fuzz_event_protobuf() {
    run("event_protobuf", protobuf_bytes(), |input| {
        let budget = Budget::start(input.len(), 32, 64 << 10);
        let decoded = Event::decode(input.as_slice());
        if let Ok(event) = &decoded {
            let _ = validate(event);
            let _ = event_to_json(event);
        }
        budget.check("Event::decode")?;
        if let Ok(event) = decoded {
            support::accepted();
            let again = Event::decode(event.encode_to_vec().as_slice());
            prop_assert_eq!(again.ok(), Some(event));
        }
        Ok(())
    });
}

/// The allocation bound is live: a decoder that trusted a length prefix
/// would be caught.
#[test]
fn the_budget_catches_an_allocation_of_a_claimed_length() {
    let budget = Budget::start(16, 64, 4096);
    let v: Vec<u8> = Vec::with_capacity(1 << 20);
    drop(v);
    assert!(budget.check("with_capacity").is_err());
    let budget = Budget::start(16, 64, 4096);
    let v: Vec<u8> = Vec::with_capacity(1024);
    drop(v);
    assert!(budget.check("small").is_ok());
}
