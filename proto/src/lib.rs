//! The Custody event schema: prost types generated from `proto/custody/v1`,
//! their proto3 JSON mapping, and the validation every source applies before
//! an event may enter the fold.

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/custody.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/custody.v1.serde.rs"));
}

mod json;
pub mod schema;
mod validate;

pub use json::{event_from_json, event_to_json, JsonError};
pub use pbjson_types::Timestamp;
pub use v1::event::Kind;
pub use v1::Event;
pub use validate::{validate, validate_id, ValidationError};

/// Milliseconds since the Unix epoch of a protobuf timestamp (saturating).
pub fn timestamp_ms(ts: &Timestamp) -> i64 {
    ts.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(ts.nanos) / 1_000_000)
}

/// A protobuf timestamp from milliseconds since the Unix epoch.
pub fn timestamp_from_ms(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Short stable name of an event's kind, used in indexes, reports and errors.
pub fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::CustomerProfileSet(_) => "customer_profile_set",
        Kind::SubcontractorRegistered(_) => "subcontractor_registered",
        Kind::DataCollected(_) => "data_collected",
        Kind::DataAccessed(_) => "data_accessed",
        Kind::DataTransferred(_) => "data_transferred",
        Kind::SubcontractorHandoff(_) => "subcontractor_handoff",
        Kind::DataDeleted(_) => "data_deleted",
        Kind::LawEnforcementRequestReceived(_) => "law_enforcement_request_received",
        Kind::LawEnforcementRedirected(_) => "law_enforcement_redirected",
        Kind::LawEnforcementCustomerNotified(_) => "law_enforcement_customer_notified",
        Kind::LawEnforcementDisclosed(_) => "law_enforcement_disclosed",
        Kind::LawEnforcementClosed(_) => "law_enforcement_closed",
        Kind::ReportRead(_) => "report_read",
    }
}
