//! The OpenAPI 3.1 description served at `GET /openapi.json`.
//!
//! Body schemas are generated, not written: report documents, checkpoints
//! and proofs from their Rust types (schemars derives in `custody-verify`,
//! behind its `schema` feature, so the offline checker does not carry
//! them), the event from the protobuf descriptor (`custody_proto::schema`),
//! and the service's own bodies (errors, tokens, status, intake answers)
//! from the types below. Schemas describe what is *serialised* (an absent
//! optional field is not required). `query/tests/openapi_contract.rs` drives
//! the router from this document and fails on any answer it does not
//! describe.

use std::sync::OnceLock;

use custody_ledger::ShardHead;
use custody_proto::schema::{json_schemas, SchemaError};
use custody_verify::proofs::ShardConsistency;
use custody_verify::reports::{
    AccessHistoryReport, Disclosure, DocumentOf, Findings, LawEnforcement, Residency,
};
use custody_verify::Checkpoint;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::auth::{Grant, TokenInfo};

/// Where schemas live in the document.
const REF: &str = "#/components/schemas/";

/// The body of every error answer (rendered by
/// `custody_ingest::http::HttpError`, which the query service's `ApiError`
/// converts into, so every endpoint answers in this one shape). Described
/// here rather than derived there: intake knows nothing of OpenAPI.
#[derive(Debug, Serialize, JsonSchema)]
// Closed (`additionalProperties: false`): the contract test then catches a
// field the renderer adds that this mirror lacks.
#[schemars(rename = "Error", deny_unknown_fields)]
pub struct ErrorBody {
    /// What was wrong, in one sentence.
    pub error: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// The parameter or event field at fault (`from`, `limit`, `customerId`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Index of the event at fault within a posted batch (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

/// `POST /v1/tokens`: the token, shown this once, and its reader id.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TokenCreated {
    /// The bearer token (`cst_` + 64 hex); only its SHA-256 is stored.
    pub token: String,
    /// Reader id (`token-` + 16 hex): how lists and report reads name it.
    pub id: String,
}

/// `POST /v1/tokens/{id}/revoke`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TokenRevoked {
    /// Reader id of the revoked token.
    pub revoked: String,
}

/// `GET /v1/status`: what this node has folded.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Entries over every shard.
    pub entries: u64,
    /// Records kept in quarantine (did not decode or validate).
    pub quarantined: u64,
    /// Events folded by this process (HTTP and Kafka).
    pub folded_since_start: u64,
    /// Events this process found already folded.
    pub duplicates: u64,
    pub shards: Vec<ShardHead>,
    pub offsets: Vec<SourceOffset>,
}

/// How far one source (topic, partition) has been read.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SourceOffset {
    pub topic: String,
    pub partition: u32,
    /// The next offset to fold.
    pub next: u64,
}

/// The answer of `POST /v1/events` (built by `custody_ingest::http`;
/// described here for the same reason as [`ErrorBody`]).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[serde(untagged)]
#[allow(dead_code)] // only its schema is used
pub enum IntakeAnswer {
    /// Embedded mode: folded into this node's ledger, durably.
    Folded {
        /// Events in the batch.
        accepted: u64,
        /// Entries written (a global event counts once per shard).
        folded: u64,
        duplicates: u64,
        /// One result per event, in order; null for batches over 1000 events.
        results: Option<Vec<EventResult>>,
    },
    /// Kafka mode: sent to the topic, which every node folds.
    Forwarded {
        accepted: u64,
        #[serde(rename = "sentToKafka")]
        sent_to_kafka: u64,
    },
}

/// What became of one posted event.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // only its schema is used
pub struct EventResult {
    pub event_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Global events (no customer) fold into every shard: one outcome each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<Outcome>>,
}

/// One shard's outcome of an event.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[allow(dead_code)] // only its schema is used
pub enum Outcome {
    Folded {
        shard: u32,
        seq: u64,
    },
    /// The event id is already in the shard with the same content.
    Duplicate {
        shard: u32,
        seq: u64,
    },
    /// Below the source's stored offset.
    AlreadyFolded,
    Quarantined {
        reason: String,
    },
}

/// The description, built once (it depends on nothing but the types).
pub fn openapi() -> Result<&'static Value, &'static SchemaError> {
    static DOC: OnceLock<Result<Value, SchemaError>> = OnceLock::new();
    DOC.get_or_init(build).as_ref()
}

fn json_body(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{REF}{name}")})
}

/// One response per status: `(code, description, content)`; `None` means
/// the error body.
fn responses(list: &[(u16, &str, Option<Value>)]) -> Value {
    let mut out = Map::new();
    for (code, description, content) in list {
        let content = content
            .clone()
            .unwrap_or_else(|| json_body(schema_ref("Error")));
        out.insert(
            code.to_string(),
            json!({"description": description, "content": content}),
        );
    }
    Value::Object(out)
}

/// A 400 may come from axum's own extractors (a path or query that is not
/// valid UTF-8 after decoding) as plain text, before any handler runs.
fn bad_request(description: &str) -> (u16, &str, Option<Value>) {
    (
        400,
        description,
        Some(json!({
            "application/json": {"schema": schema_ref("Error")},
            "text/plain": {"schema": {"type": "string"}}})),
    )
}

fn text(media: &str) -> Option<Value> {
    Some(json!({ media: {"schema": {"type": "string"}} }))
}

fn build() -> Result<Value, SchemaError> {
    let mut generator: SchemaGenerator = SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut schema_of =
        |f: fn(&mut SchemaGenerator) -> schemars::Schema| f(&mut generator).to_value();
    let access_history = schema_of(|g| g.subschema_for::<DocumentOf<AccessHistoryReport>>());
    let disclosure = schema_of(|g| g.subschema_for::<DocumentOf<Disclosure>>());
    let residency = schema_of(|g| g.subschema_for::<DocumentOf<Residency>>());
    let law_enforcement = schema_of(|g| g.subschema_for::<DocumentOf<LawEnforcement>>());
    let findings = schema_of(|g| g.subschema_for::<DocumentOf<Findings>>());
    let checkpoint = schema_of(|g| g.subschema_for::<Checkpoint>());
    let consistency = schema_of(|g| g.subschema_for::<ShardConsistency>());
    let error = schema_of(|g| g.subschema_for::<ErrorBody>());
    let grant = schema_of(|g| g.subschema_for::<Grant>());
    let token_list = schema_of(|g| g.subschema_for::<Vec<TokenInfo>>());
    let created = schema_of(|g| g.subschema_for::<TokenCreated>());
    let revoked = schema_of(|g| g.subschema_for::<TokenRevoked>());
    let status = schema_of(|g| g.subschema_for::<Status>());
    let intake_answer = schema_of(|g| g.subschema_for::<IntakeAnswer>());
    debug_assert_eq!(error, schema_ref("Error"));

    let mut schemas = generator.take_definitions(true);
    for (name, schema) in json_schemas(REF)? {
        schemas.insert(name, schema);
    }
    let event = schema_ref("custody.v1.Event");

    let unauthorized = (401, "no valid bearer token", None);
    let officers_only = (403, "the token is not an officer's", None);

    // Parameters.
    let customer_id = json!({"name": "id", "in": "path", "required": true,
        "description": "customer id", "schema": {"type": "string"}, "example": "cust-00005"});
    let time = |name: &str, description: &str| {
        json!({"name": name, "in": "query", "required": false, "description": description,
            "schema": {"type": "string", "format": "date-time"}, "example": "2026-01-01T00:00:00Z"})
    };
    let from = time(
        "from",
        "start of the period, RFC 3339, inclusive (default: all time)",
    );
    let to = time(
        "to",
        "end of the period, RFC 3339, exclusive (default: all time); later than `from`",
    );
    let format = json!({"name": "format", "in": "query", "required": false,
        "description": "json (default), csv (the main table) or html; overrides Accept",
        "schema": {"type": "string", "enum": ["json", "csv", "html"]}});
    let shard_param = json!({"name": "shard", "in": "path", "required": true,
        "description": "shard number", "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}});
    let proof_params = [
        json!({"name": "proofs", "in": "query", "required": false,
            "description": "true: add a `proofs` section (every entry the report relies on with its stored bytes; an inclusion proof at the report's checkpoint for each entry the completeness section does not already prove as a leaf of the customer's tree) for `custody verify-report`; full: an inclusion proof for every entry; JSON only",
            "schema": {"type": "string", "enum": ["true", "full", "false"]}}),
        json!({"name": "since_checkpoint", "in": "query", "required": false,
            "description": "number of an earlier checkpoint: add a `consistency` section proving the report's checkpoint extends it; JSON only",
            "schema": {"type": "integer", "minimum": 1}}),
    ];

    let report = |summary: &str,
                  mut params: Value,
                  roles: &str,
                  document: &Value,
                  per_customer: bool| {
        if let Some(list) = params.as_array_mut() {
            list.extend(proof_params.iter().cloned());
        }
        let not_found = if per_customer {
            "unknown customer (no entries; officers only: a customer token gets 403), or no checkpoint numbered `since_checkpoint`"
        } else {
            "no checkpoint numbered `since_checkpoint`"
        };
        json!({"get": {
            "summary": summary,
            "description": format!("Roles: {roles}. Every successful read is recorded in the ledger as a report_read event. The document carries the signed checkpoint it was computed at (also in the `x-custody-checkpoint` header)."),
            "security": [{"bearer": []}],
            "parameters": params,
            "responses": responses(&[
                (200, "the report", Some(json!({
                    "application/json": {"schema": document},
                    "text/csv": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}}}))),
                bad_request("a bad parameter, named in `field`"),
                unauthorized.clone(),
                (403, "the token's role or customer may not read this", None),
                (404, not_found, None),
                (503, "no checkpoint signed yet (retry in a second), or in Kafka mode the read could not be recorded", None),
            ]),
        }})
    };

    Ok(json!({
        "openapi": "3.1.0",
        "info": {"title": "Custody", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Verifiable chain-of-custody ledger for customer data. Every error answers with the `Error` body."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "tokens from `custody token create --role officer|customer|emitter` or `POST /v1/tokens`"}},
            "schemas": schemas,
        },
        "paths": {
            "/": {"get": {"summary": "A short HTML index", "responses": responses(&[(200, "HTML", text("text/html"))])}},
            "/v1/events": {"post": {
                "summary": "Post one event or a batch (JSON, protobuf, delimited protobuf); all or nothing",
                "description": "Needs an emitter or officer token once any token exists (open before the first one, so a fresh install works). JSON: one event object, an array of events, or JSON lines (`application/x-ndjson`). Every event is validated before any is folded: a 4xx means nothing was written. An event needs `eventId`, `occurredAt` and one kind; `customerId` except for `subcontractorRegistered`.",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"oneOf": [event, {"type": "array", "items": event}]}},
                    "application/x-ndjson": {"schema": {"type": "string", "description": "one event per line"}},
                    "application/x-protobuf": {"schema": {"type": "string", "format": "binary", "description": "one custody.v1.Event"}},
                    "application/x-protobuf-delimited": {"schema": {"type": "string", "format": "binary", "description": "varint length-delimited custody.v1.Event values"}}}},
                "responses": responses(&[
                    (200, "per-event outcomes (embedded mode) or the count sent to Kafka", Some(json_body(intake_answer))),
                    unauthorized.clone(),
                    (403, "customer tokens cannot post", None),
                    (409, "an event id already folded with other content; names the event (`index`) and both hashes", None),
                    (413, "body over 16 MiB", text("text/plain")),
                    (415, "unsupported content type", None),
                    (422, "an event does not decode or validate; names `index` and `field`", None),
                    (503, "Kafka mode: the events could not be sent", None),
                ])}},
            "/v1/checkpoint": {"get": {"summary": "The latest signed checkpoint of every shard's head",
                "responses": responses(&[(200, "the checkpoint", Some(json_body(checkpoint.clone()))),
                    (503, "no checkpoint signed yet; retry in a second", None)])}},
            "/v1/public-key": {"get": {"summary": "The ledger's Ed25519 public key (hex, one line)",
                "responses": responses(&[(200, "hex text", text("text/plain"))])}},
            "/v1/status": {"get": {"summary": "Entries, quarantined records, offsets",
                "responses": responses(&[(200, "status", Some(json_body(status)))])}},
            "/metrics": {"get": {"summary": "Prometheus metrics",
                "responses": responses(&[(200, "text exposition format", text("text/plain"))])}},
            "/healthz": {"get": {"summary": "Liveness",
                "responses": responses(&[(200, "ok", text("text/plain"))])}},
            "/openapi.json": {"get": {"summary": "This document",
                "responses": responses(&[(200, "OpenAPI 3.1 JSON", Some(json_body(json!({"type": "object"}))))])}},
            "/v1/proofs/consistency": {"get": {
                "summary": "RFC 6962 consistency proof of one shard's tree between two sizes, with both roots",
                "description": "Any valid token. Lets a customer check that a new checkpoint extends one they saved (`custody verify-report --previous-checkpoint --server`).",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "shard", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": u32::MAX}},
                    {"name": "from_size", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "to_size", "in": "query", "required": true, "description": "at least `from_size`, at most the shard's current size", "schema": {"type": "integer", "minimum": 0}}],
                "responses": responses(&[
                    (200, "the proof", Some(json_body(consistency))),
                    bad_request("a missing, bad or out-of-range size, named in `field`"),
                    unauthorized.clone(),
                    (404, "unknown shard", None)])}},
            "/v1/checkpoints/{number}": {"get": {
                "summary": "An earlier signed checkpoint, by number",
                "description": "Any valid token.",
                "security": [{"bearer": []}],
                "parameters": [{"name": "number", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
                "responses": responses(&[
                    (200, "the checkpoint", Some(json_body(checkpoint))),
                    bad_request("not a checkpoint number"),
                    unauthorized.clone(),
                    (404, "no such checkpoint", None)])}},
            "/v1/logs/{shard}/checkpoint": {"get": {
                "summary": "One shard's latest signed checkpoint as a C2SP tlog-checkpoint signed note",
                "description": "Public. The note text is `<origin>\\n<size>\\n<base64 root>\\n` (origin `<ledger name>/shard/<n>`), signed per c2sp.org/signed-note with the ledger's Ed25519 key under the key name `<ledger name>` (`custody key export --format vkey` prints the verifier key). Size and root are those of the latest signed checkpoint (`x-custody-checkpoint` header), so Go's sumdb/note and transparency witnesses can read it.",
                "parameters": [shard_param.clone()],
                "responses": responses(&[
                    (200, "the signed note", text("text/plain")),
                    bad_request("not a shard number"),
                    (404, "a shard the latest checkpoint does not list", None),
                    (503, "no checkpoint signed yet; retry in a second", None)])}},
            "/v1/logs/{shard}/proof": {"get": {
                "summary": "A C2SP tlog-proof of one entry against the shard's signed checkpoint note",
                "description": "Roles: officer (any entry), customer (entries of its own customer only). `c2sp.org/tlog-proof@v1`, `index N`, the RFC 6962 inclusion proof (base64, leaf's sibling first), a blank line, then the note of `GET /v1/logs/{shard}/checkpoint`. The leaf hash is SHA-256(0x00 || entry hash).",
                "security": [{"bearer": []}],
                "parameters": [shard_param,
                    {"name": "index", "in": "query", "required": true, "description": "the entry's sequence number in its shard", "schema": {"type": "integer", "minimum": 0}}],
                "responses": responses(&[
                    (200, "the proof", text("text/plain")),
                    bad_request("a missing or bad `shard` or `index`, named in `field`"),
                    unauthorized.clone(),
                    (403, "an emitter token, or another customer's entry", None),
                    (404, "a shard the latest checkpoint does not list, or an index outside it", None),
                    (503, "no checkpoint signed yet; retry in a second", None)])}},
            "/v1/tokens": {
                "post": {
                    "summary": "Create a bearer token while the server runs",
                    "description": "Officers only. `customer` for customer tokens only. The token is returned once; only its SHA-256 is stored.",
                    "security": [{"bearer": []}],
                    "requestBody": {"required": true, "content": json_body(grant)},
                    "responses": responses(&[
                        (201, "the token", Some(json_body(created))),
                        unauthorized.clone(),
                        officers_only.clone(),
                        (422, "the body is not a valid grant", None)])},
                "get": {
                    "summary": "Stored tokens: reader id, role, customer, revoked",
                    "description": "Officers only. Never the tokens themselves: only their hashes are stored.",
                    "security": [{"bearer": []}],
                    "responses": responses(&[
                        (200, "every stored token", Some(json_body(token_list))),
                        unauthorized.clone(),
                        officers_only.clone()])}},
            "/v1/tokens/{id}/revoke": {"post": {
                "summary": "Revoke a token by its reader id (token-…)",
                "description": "Officers only. The token stays stored (so intake stays locked) but no longer authenticates. The last officer token that is not revoked cannot be revoked.",
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "token-0123456789abcdef"}],
                "responses": responses(&[
                    (200, "revoked", Some(json_body(revoked))),
                    bad_request("the id is not valid UTF-8"),
                    unauthorized.clone(),
                    officers_only.clone(),
                    (404, "no such token", None),
                    (409, "the last officer token", None)])}},
            "/v1/customers/{id}/access-history": report(
                "Every access to the customer's data, newest first, paginated",
                json!([customer_id, from, to,
                    {"name": "limit", "in": "query", "required": false, "description": "page size, 1 to 1000 (default 100)", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    {"name": "cursor", "in": "query", "required": false, "description": "nextCursor of the previous page", "schema": {"type": "string"}},
                    format]),
                "officer (any customer), customer (own id only)", &access_history, true),
            "/v1/customers/{id}/reports/disclosure": report(
                "Use matrix, subcontractor handoffs, law-enforcement requests, transfers and findings",
                json!([customer_id, from, to, format]),
                "officer (any customer), customer (own id only; requests under a non-disclosure order in force are withheld)", &disclosure, true),
            "/v1/customers/{id}/reports/residency": report(
                "Storage countries over time, transfers, accessor countries, the EEA restriction",
                json!([customer_id, from, to, format]),
                "officer (any customer), customer (own id only)", &residency, true),
            "/v1/reports/law-enforcement": report(
                "Requests of all customers by jurisdiction, instrument and outcome; notified and disclosed shares",
                json!([from, to, format]),
                "officer", &law_enforcement, false),
            "/v1/findings": report(
                "Policy findings joined with their verdicts",
                json!([{"name": "rule", "in": "query", "required": false, "description": "rule id, e.g. USE-MATRIX", "schema": {"type": "string"}},
                       {"name": "customer", "in": "query", "required": false, "description": "customer id", "schema": {"type": "string"}, "example": "cust-00005"},
                       {"name": "state", "in": "query", "required": false, "schema": {"type": "string", "enum": ["open", "closed", "recorded", "provisional", "withdrawn", "pending", "discharged"]}},
                       format]),
                "officer", &findings, false),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in the document names a schema it holds.
    #[test]
    fn every_reference_resolves() {
        let doc = openapi().expect("description");
        let schemas = &doc["components"]["schemas"];
        let text = doc.to_string();
        let mut seen = 0;
        for piece in text.split(&format!("\"$ref\":\"{REF}")).skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(schemas.get(name).is_some(), "dangling $ref {name}");
            seen += 1;
        }
        assert!(seen > 20, "{seen} references");
    }

    #[test]
    fn bodies_are_described_by_their_types() {
        let doc = openapi().expect("description");
        let schemas = &doc["components"]["schemas"];
        let error = &schemas["Error"];
        assert_eq!(error["required"], json!(["error", "status"]));
        assert!(schemas["Checkpoint"]["properties"]["shards"].is_object());
        assert_eq!(
            schemas["ShardHead"]["properties"]["root"]["type"], "string",
            "hex, not bytes"
        );
        let disclosure = &doc["paths"]["/v1/customers/{id}/reports/disclosure"]["get"];
        let body = &disclosure["responses"]["200"]["content"]["application/json"]["schema"];
        let name = body["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix(REF))
            .expect("a reference");
        let props = &schemas[name]["properties"];
        for field in ["reportKind", "params", "checkpoint", "useMatrix", "proofs"] {
            assert!(props.get(field).is_some(), "{name} lacks {field}");
        }
        assert_eq!(disclosure["security"], json!([{"bearer": []}]));
        assert_eq!(
            doc["paths"]["/v1/events"]["post"]["security"],
            json!([{"bearer": []}])
        );
    }
}
