//! End-to-end: `custody serve` takes events over HTTP (JSON and protobuf),
//! refuses bad ones with a precise 4xx, and loses nothing it accepted.

mod common;

use common::*;
use prost::Message;

const EVENT: &str = r#"{"eventId":"h-1","customerId":"cust-http","occurredAt":"2026-02-01T10:00:00Z","service":"case-tool","caseId":"case-1","actor":{"id":"eng-1","role":"ROLE_SUPPORT_ENGINEER","entityKind":"ENTITY_KIND_ORGANISATION","officeCountry":"US","locationCountry":"US"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn http_intake_accepts_json_and_protobuf_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let ct_json = [("Content-Type", "application/json")];

    let (status, body) = server.request("POST", "/v1/events", &ct_json, EVENT.as_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["results"][0]["status"], "folded");

    // The same event again is a duplicate, not a second entry.
    let (status, body) = server.request("POST", "/v1/events", &ct_json, EVENT.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(json(&body)["results"][0]["status"], "duplicate");

    // The same id with other content is a conflict: 409 naming the event and
    // both hashes, nothing folded.
    let changed = EVENT.replace("DATA_CATEGORY_CUSTOMER", "DATA_CATEGORY_CONTACT");
    let batch = format!("[{},{changed}]", EVENT.replace("h-1", "h-9"));
    let (status, body) = server.request("POST", "/v1/events", &ct_json, batch.as_bytes());
    assert_eq!(status, 409, "{body}");
    let err = json(&body);
    assert_eq!(err["index"], 1, "{body}");
    let message = err["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("`h-1`")
            && message.matches("SHA-256").count() == 1
            && message.contains("received"),
        "{body}"
    );
    // Posting h-9 alone now folds it: the refused batch wrote nothing.
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        &ct_json,
        EVENT.replace("h-1", "h-9").as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(json(&body)["results"][0]["status"], "folded", "{body}");

    // A batch with one bad event is refused whole, naming the event and field.
    let bad = EVENT.replace("h-1", "h-3").replace("\"US\"}", "\"USA\"}");
    let batch = format!("[{},{bad}]", EVENT.replace("h-1", "h-2"));
    let (status, body) = server.request("POST", "/v1/events", &ct_json, batch.as_bytes());
    assert_eq!(status, 422, "{body}");
    let err = json(&body);
    assert_eq!(err["index"], 1);
    assert_eq!(err["field"], "actor.locationCountry");

    // Unknown fields and malformed JSON are 422 with the parser's message.
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        &ct_json,
        br#"{"eventId":"x","custmerId":"c"}"#,
    );
    assert_eq!(status, 422);
    assert!(body.contains("custmerId"), "{body}");

    // Times outside years 1-9999, an event dated well after its arrival
    // (default skew 300 s), and a forged report read: 422 naming the field.
    for (body, field, words) in [
        (
            EVENT.replace("h-1", "h-7").replace("2026-02-01T10:00:00Z", "0000-06-01T00:00:00Z"),
            "occurredAt",
            "years 1 to 9999",
        ),
        (
            EVENT.replace("h-1", "h-7").replace("2026-02-01T10:00:00Z", "2999-01-01T00:00:00Z"),
            "occurredAt",
            "allowed clock skew of 300 s",
        ),
        (
            EVENT.replace("h-1", "h-7").replace(
                r#""dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}"#,
                r#""reportRead":{"report":"access-history"}"#,
            ),
            "reportRead",
            "recorded by Custody itself",
        ),
    ] {
        let (status, answer) = server.request("POST", "/v1/events", &ct_json, body.as_bytes());
        assert_eq!(status, 422, "{body}: {answer}");
        let err = json(&answer);
        assert_eq!(err["field"], field, "{answer}");
        assert!(err["error"].as_str().unwrap_or_default().contains(words), "{answer}");
    }

    // Unsupported media type.
    let (status, _) = server.request(
        "POST",
        "/v1/events",
        &[("Content-Type", "text/plain")],
        b"hello",
    );
    assert_eq!(status, 415);

    // Protobuf, one event and a delimited batch.
    let event = custody_proto::event_from_json(&EVENT.replace("h-1", "h-4")).unwrap();
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        &[("Content-Type", "application/x-protobuf")],
        &event.encode_to_vec(),
    );
    assert_eq!(status, 200, "{body}");
    let mut delimited = Vec::new();
    for id in ["h-5", "h-6"] {
        let mut e = event.clone();
        e.event_id = id.into();
        e.encode_length_delimited(&mut delimited).unwrap();
    }
    let (status, body) = server.request(
        "POST",
        "/v1/events",
        &[("Content-Type", "application/x-protobuf-delimited")],
        &delimited,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["folded"], 2);
    let (status, _) = server.request(
        "POST",
        "/v1/events",
        &[("Content-Type", "application/x-protobuf")],
        &[0xff, 0x01],
    );
    assert_eq!(status, 422);

    // The public key can be exported while the server holds the database.
    let (status, served_key) = server.request("GET", "/v1/public-key", &[], b"");
    assert_eq!(status, 200);
    let exported = run_ok(&["key", "export", "--data", path_str(&data)]);
    assert_eq!(exported.trim(), served_key.trim());

    let (status, body) = server.request("GET", "/v1/checkpoint", &[], b"");
    assert_eq!(status, 200);
    let cp = json(&body);
    let total: u64 = cp["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 5, "h-1, h-9, h-4, h-5, h-6 folded once each: {cp}");
    server.stop();

    // Everything accepted is still there after a restart, and verifies.
    let out = run_ok(&["verify", "--data", path_str(&data)]);
    assert!(out.contains("5 entries"), "{out}");
}

#[test]
fn reads_sign_nothing_checkpoints_come_from_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An hour between scheduled checkpoints: only the one signed at start
    // exists while the test runs.
    let server = Server::start_with(&data, &["--checkpoint-interval-ms", "3600000"]);
    let ct_json = [("Content-Type", "application/json")];
    for i in 0..30 {
        let event = EVENT.replace("h-1", &format!("cp-{i}"));
        let (status, _) = http(
            server.addr,
            "POST",
            "/v1/events",
            &ct_json,
            event.as_bytes(),
        );
        assert_eq!(status, 200);
        // Anonymous reads of the checkpoint between the posts.
        let (status, body) = http(server.addr, "GET", "/v1/checkpoint", &[], b"");
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            json(&body)["number"],
            1,
            "a GET signed a checkpoint: {body}"
        );
    }
    // Stopping signs the heads once more: everything posted is covered.
    server.stop();
    let out = run_ok(&["checkpoint", "--data", path_str(&data)]);
    let cp = json(&out);
    assert_eq!(cp["number"], 2, "{cp}");
    let total: u64 = cp["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 30);
}
