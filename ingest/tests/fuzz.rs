//! Fuzz targets (property-based, bounded) for the intake decoders: HTTP
//! bodies and import files (`intake::parse_batch`: JSON object, array or
//! lines; one protobuf event; varint-delimited protobuf), and the Kafka
//! record values the fold decodes (`custody_ledger::fold::decode_valid`).
//! Inputs are arbitrary, or valid batches of demo events mutated
//! structurally or byte by byte (length prefixes included). No input may
//! panic or allocate more than a bound proportional to its size; whatever is
//! accepted is valid, within the size limit and, for protobuf, the exact
//! bytes received.
//!
//! Cases per target: `CUSTODY_FUZZ_CASES` (default 2,000);
//! `cargo xtask fuzz` runs 100,000.

#[path = "../../fuzz/support.rs"]
mod support;

use custody_ingest::intake::{parse_batch, Format, MAX_EVENT_BYTES};
use custody_ledger::fold::decode_valid;
use custody_proto::{event_to_json, validate, Event};
use custody_testkit::demo::{generate, DemoParams};
use proptest::prelude::*;
use prost::Message;
use support::{apply_byte_edits, byte_edits, bytes, json, run, Budget};

fn seeds() -> Vec<Event> {
    generate(DemoParams {
        customers: 4,
        cases_per_customer: 3,
        seed: 15,
    })
}

fn seed_values() -> Vec<serde_json::Value> {
    seeds()
        .iter()
        .map(|e| serde_json::from_str(&event_to_json(e)).expect("demo events serialise"))
        .collect()
}

/// 1 to 5 demo events in one of the JSON layouts a body may have.
fn json_batches() -> impl Strategy<Value = Vec<u8>> {
    let values = seed_values();
    (
        proptest::collection::vec(prop::sample::select(values), 1..5),
        0u8..4,
        json::edits(),
        byte_edits(),
        0u8..3,
    )
        .prop_map(|(events, layout, edits, bytes, how)| {
            let docs: Vec<serde_json::Value> = match how {
                // Structural mutation of one event or of the whole array.
                0 => {
                    let whole = json::apply(serde_json::Value::Array(events), &edits);
                    match whole {
                        serde_json::Value::Array(a) => a,
                        other => vec![other],
                    }
                }
                _ => events,
            };
            let text = match layout {
                0 => docs.first().map(|d| d.to_string()).unwrap_or_default(),
                1 => serde_json::Value::Array(docs).to_string(),
                2 => docs
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => docs
                    .iter()
                    .map(|d| serde_json::to_string_pretty(d).expect("json"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            if how == 2 {
                apply_byte_edits(text.into_bytes(), &bytes)
            } else {
                text.into_bytes()
            }
        })
}

fn check_accepted(format: Format, input: &[u8]) -> Result<(), TestCaseError> {
    let budget = Budget::start(input.len(), 64, 1 << 20);
    let outcome = parse_batch(format, input);
    budget.check("parse_batch")?;
    if let Ok(accepted) = outcome {
        support::accepted();
        prop_assert!(!accepted.is_empty());
        for a in accepted {
            prop_assert!(a.bytes.len() <= MAX_EVENT_BYTES);
            prop_assert!(validate(&a.event).is_ok());
            prop_assert_eq!(Event::decode(a.bytes.as_slice()).ok(), Some(a.event));
        }
    }
    Ok(())
}

#[test]
fn fuzz_intake_json() {
    let strategy = prop_oneof![
        1 => bytes(512),
        1 => json::arbitrary().prop_map(|v| v.to_string().into_bytes()),
        6 => json_batches(),
    ];
    run("intake_json", strategy, |input| {
        check_accepted(Format::Json, &input)
    });
}

/// One event or a varint-delimited stream of 1 to 5, mutated byte by byte
/// (length prefixes among the bytes hit).
fn protobuf_batches() -> impl Strategy<Value = (bool, Vec<u8>)> {
    let encoded: Vec<Vec<u8>> = seeds().iter().map(Message::encode_to_vec).collect();
    let one = (prop::sample::select(encoded.clone()), byte_edits())
        .prop_map(|(b, e)| (false, apply_byte_edits(b, &e)));
    let stream = (
        proptest::collection::vec(prop::sample::select(encoded), 1..5),
        byte_edits(),
        // A prefix claiming up to 2^64 - 1 bytes in front of the stream.
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(events, e, claim)| {
            let mut out = Vec::new();
            if let Some(len) = claim {
                prost::encoding::encode_varint(len, &mut out);
            }
            for ev in events {
                prost::encoding::encode_varint(ev.len() as u64, &mut out);
                out.extend_from_slice(&ev);
            }
            (true, apply_byte_edits(out, &e))
        });
    prop_oneof![
        1 => bytes(512).prop_map(|b| (false, b)),
        1 => bytes(512).prop_map(|b| (true, b)),
        3 => one,
        3 => stream,
    ]
}

#[test]
fn fuzz_intake_protobuf() {
    run(
        "intake_protobuf",
        protobuf_batches(),
        |(delimited, input)| {
            let format = if delimited {
                Format::ProtobufDelimited
            } else {
                Format::Protobuf
            };
            check_accepted(format, &input)?;
            if delimited {
                // The stream as one message, too.
                check_accepted(Format::Protobuf, &input)?;
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_kafka_record_value() {
    run("kafka_record_value", protobuf_batches(), |(_, input)| {
        let budget = Budget::start(input.len(), 32, 64 << 10);
        let decoded = decode_valid(&input);
        budget.check("decode_valid")?;
        if let Ok(event) = decoded {
            support::accepted();
            prop_assert!(validate(&event).is_ok());
            prop_assert_eq!(Event::decode(input.as_slice()).ok(), Some(event));
        }
        Ok(())
    });
}
