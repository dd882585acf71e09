//! Reports over decoded ledger entries. Everything in this module is pure:
//! builders take [`Item`]s (read through a [`ReadView`]) plus explicit
//! parameters, including the report time, and return serde-serializable
//! documents. [`pipeline`] ties each report's parameters, loading, building
//! and relied-on entries together as one [`Report`].

pub mod access_history;
pub mod disclosure;
pub mod findings;
pub mod law_enforcement;
pub mod pipeline;
pub mod residency;

pub use pipeline::{
    AccessHistoryParams, AccessHistoryReport, CustomerParams, Disclosure, Findings, LawEnforcement,
    LawEnforcementParams, ReadError, ReadView, Report, Residency, Window, AGGREGATE_SUBJECT,
};

use std::collections::BTreeSet;

use crate::entry::{Entry, SourcePosition};
use crate::merkle::Hash;
use crate::Checkpoint;
use custody_policy::{format_ms, Effect, Verdict};
use custody_proto::v1::{
    CollectionMeans, DataCategory, EntityKind, LawEnforcementOutcome, LegalInstrument,
    LegalMechanism, Purpose, Role, TransferReason,
};
use custody_proto::{timestamp_ms, Event, Kind};
use prost::Message;
use serde::{Deserialize, Serialize};

/// One decoded ledger entry: what every builder reads.
#[derive(Debug, Clone)]
pub struct Item {
    pub shard: u32,
    pub seq: u64,
    pub hash: Hash,
    pub source: SourcePosition,
    pub event: Event,
    pub verdicts: Vec<Verdict>,
}

impl Item {
    /// When the event happened (ms since the epoch); 0 when absent, which
    /// validation rules out for folded events.
    pub fn at_ms(&self) -> i64 {
        self.event.occurred_at.as_ref().map_or(0, timestamp_ms)
    }

    pub fn position(&self) -> Position {
        Position {
            shard: self.shard,
            seq: self.seq,
            entry_hash: hex::encode(self.hash),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        self.event
            .kind
            .as_ref()
            .map_or("none", custody_proto::kind_name)
    }

    /// Ordering key of the by-customer index: (time, shard, seq).
    pub fn order_key(&self) -> (i64, u32, u64) {
        (self.at_ms(), self.shard, self.seq)
    }
}

/// Where an entry sits in the ledger: enough to fetch it and prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub shard: u32,
    pub seq: u64,
    /// Hex SHA-256 of the entry's canonical bytes.
    pub entry_hash: String,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} {}", self.shard, self.seq, self.entry_hash)
    }
}

/// The half-open period `[from, to)` a report covers; `None` = unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Period {
    pub fn contains(&self, ms: i64) -> bool {
        self.from_ms.is_none_or(|f| ms >= f) && self.to_ms.is_none_or(|t| ms < t)
    }

    /// Human form for HTML pages: "all time", "from X", "X to Y".
    pub fn describe(&self) -> String {
        match (self.from_ms, self.to_ms) {
            (None, None) => "all time".into(),
            (Some(f), None) => format!("from {}", format_ms(f)),
            (None, Some(t)) => format!("before {}", format_ms(t)),
            (Some(f), Some(t)) => format!("{} to {} (exclusive)", format_ms(f), format_ms(t)),
        }
    }
}

/// Who a document is prepared for: the customer's copy withholds requests
/// under a non-disclosure order in force at report time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    Officer,
    Customer,
}

/// A document together with the signed checkpoint it was computed at and
/// the parameters it was asked with (so a checker rebuilds it from them).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Signed<T, P> {
    /// Which report this is ([`Report::NAME`]).
    pub report_kind: String,
    /// The parameters the report was built with ([`Report::Params`]).
    pub params: P,
    /// The checkpoint the report was computed at: every entry the report
    /// cites is inside these heads, and every entry inside them was read.
    pub checkpoint: Checkpoint,
    pub generated_at_ms: i64,
    pub generated_at: String,
    #[serde(flatten)]
    pub report: T,
    /// With `?proofs=true`: every entry the report relies on, with its
    /// inclusion proof at `checkpoint` (see `custody-verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proofs: Option<crate::proofs::Proofs>,
    /// With `?since_checkpoint=N`: proofs that `checkpoint` extends checkpoint N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<crate::proofs::Consistency>,
}

/// The document of report `R`.
pub type DocumentOf<R> = Signed<<R as Report>::Doc, <R as Report>::Params>;

impl<T, P> Signed<T, P> {
    pub fn new(
        report_kind: &str,
        params: P,
        checkpoint: Checkpoint,
        generated_at_ms: i64,
        report: T,
    ) -> Self {
        Signed {
            report_kind: report_kind.into(),
            params,
            checkpoint,
            generated_at_ms,
            generated_at: format_ms(generated_at_ms),
            report,
            proofs: None,
            consistency: None,
        }
    }
}

/// Why an entry's event could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("entry shard {shard} seq {seq}: event does not decode: {reason}")]
pub struct DecodeError {
    pub shard: u32,
    pub seq: u64,
    pub reason: String,
}

/// Decodes the event of an entry (its bytes were validated when folded).
pub fn item_of(entry: Entry, hash: Hash) -> Result<Item, DecodeError> {
    let event = Event::decode(entry.event.as_slice()).map_err(|e| DecodeError {
        shard: entry.shard,
        seq: entry.seq,
        reason: e.to_string(),
    })?;
    Ok(Item {
        shard: entry.shard,
        seq: entry.seq,
        hash,
        source: entry.source,
        event,
        verdicts: entry.verdicts,
    })
}

/// The actor of an event, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Who {
    pub actor_id: String,
    pub role: String,
    pub entity_kind: String,
    pub entity_name: String,
    pub office_country: String,
    pub location_country: String,
}

impl Who {
    pub fn of(event: &Event) -> Who {
        match &event.actor {
            None => Who {
                actor_id: String::new(),
                role: String::new(),
                entity_kind: String::new(),
                entity_name: String::new(),
                office_country: String::new(),
                location_country: String::new(),
            },
            Some(a) => Who {
                actor_id: a.id.clone(),
                role: enum_name::<Role>(a.role),
                entity_kind: enum_name::<EntityKind>(a.entity_kind),
                entity_name: a.entity_name.clone(),
                office_country: a.office_country.clone(),
                location_country: a.location_country.clone(),
            },
        }
    }

    /// One line for tables: "eng-1 (ROLE_SUPPORT_ENGINEER, ORGANISATION Contoso, office IE, in IE)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {} {}, office {}, in {})",
            self.actor_id,
            self.role,
            self.entity_kind,
            self.entity_name,
            or_dash(&self.office_country),
            or_dash(&self.location_country)
        )
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// A policy verdict as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VerdictView {
    pub rule: String,
    pub severity: String,
    /// `breach`, `opens`, `closes`, `withdraws` (a provisional breach, by
    /// evidence dated earlier that arrived in time), `obligation` (due by
    /// `due`) or `discharges` (an obligation met).
    pub effect: String,
    /// For `closes`, `withdraws` and `discharges`: the sequence number of
    /// the entry whose finding or obligation this verdict ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_seq: Option<u64>,
    /// For `withdraws`: the customer whose finding is withdrawn (the
    /// evidence may be a global event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdraws_for: Option<String>,
    /// For `obligation`: the deadline in event time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    pub explanation: String,
}

impl VerdictView {
    pub fn of(v: &Verdict) -> VerdictView {
        VerdictView {
            rule: v.rule.clone(),
            severity: v.severity.as_str().into(),
            effect: v.effect.as_str().into(),
            closes_seq: v.effect.ends(),
            withdraws_for: match &v.effect {
                Effect::Withdraws { customer, .. } => Some(customer.clone()),
                _ => None,
            },
            due: match v.effect {
                Effect::Obligation { due_ms } => Some(custody_policy::format_ms(due_ms)),
                _ => None,
            },
            explanation: v.explanation.clone(),
        }
    }
}

/// A finding recorded in an entry: the verdict plus where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(flatten)]
    pub verdict: VerdictView,
    pub event_id: String,
    pub event_kind: String,
    pub at_ms: i64,
    pub at: String,
    pub position: Position,
    /// The written commitment the rule enforces: each seed sentence
    /// (verbatim, as RULES.md quotes it) and the seed file it is in.
    pub commitment: Vec<CitationView>,
}

/// One seed sentence a rule enforces (`custody_policy::citations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CitationView {
    /// File name under `shared/seeds/`.
    pub seed: String,
    pub quote: String,
}

impl CitationView {
    /// Every sentence of `rule`, for reports.
    pub fn of_rule(rule: &str) -> Vec<CitationView> {
        custody_policy::citations(rule)
            .iter()
            .map(|c| CitationView {
                seed: c.seed.to_string(),
                quote: c.quote.to_string(),
            })
            .collect()
    }

    /// `"sentence" (seed file)`, for CSV and HTML cells.
    pub fn text(all: &[CitationView]) -> String {
        all.iter()
            .map(|c| format!("\"{}\" ({})", c.quote, c.seed))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

impl Finding {
    /// Every verdict of an item, as findings.
    pub fn all_of(item: &Item) -> Vec<Finding> {
        item.verdicts
            .iter()
            .map(|v| Finding {
                commitment: CitationView::of_rule(&v.rule),
                verdict: VerdictView::of(v),
                event_id: item.event.event_id.clone(),
                event_kind: item.kind_name().into(),
                at_ms: item.at_ms(),
                at: format_ms(item.at_ms()),
                position: item.position(),
            })
            .collect()
    }
}

/// A data transfer as reports show it (disclosure and residency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub at_ms: i64,
    pub at: String,
    pub from_country: String,
    pub to_country: String,
    pub categories: Vec<String>,
    pub mechanism: String,
    pub reason: String,
    pub stored_at_destination: bool,
    pub recipient_kind: String,
    pub recipient_name: String,
    pub purpose: String,
    pub who: Who,
    pub position: Position,
}

impl TransferView {
    /// The transfer of an item, when it is one.
    pub fn of(item: &Item) -> Option<TransferView> {
        let Some(Kind::DataTransferred(t)) = &item.event.kind else {
            return None;
        };
        Some(TransferView {
            at_ms: item.at_ms(),
            at: format_ms(item.at_ms()),
            from_country: t.from_country.clone(),
            to_country: t.to_country.clone(),
            categories: category_names(&t.categories),
            mechanism: enum_name::<LegalMechanism>(t.legal_mechanism),
            reason: enum_name::<TransferReason>(t.reason),
            stored_at_destination: t.stored_at_destination,
            recipient_kind: enum_name::<EntityKind>(t.recipient_kind),
            recipient_name: t.recipient_name.clone(),
            purpose: enum_name::<Purpose>(t.purpose),
            who: Who::of(&item.event),
            position: item.position(),
        })
    }
}

/// Proto enums that have a stable name.
pub trait NamedEnum: TryFrom<i32> {
    fn name(&self) -> &'static str;
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl NamedEnum for $t {
            fn name(&self) -> &'static str {
                self.as_str_name()
            }
        }
    )*};
}
named!(
    Role,
    EntityKind,
    DataCategory,
    CollectionMeans,
    Purpose,
    LegalMechanism,
    TransferReason,
    LegalInstrument,
    LawEnforcementOutcome
);

/// The proto name of an enum value (`PURPOSE_PROVIDING_SUPPORT`); values a
/// newer schema added show as `UNKNOWN(n)` instead of being dropped.
pub fn enum_name<E: NamedEnum>(v: i32) -> String {
    match E::try_from(v) {
        Ok(e) => e.name().to_string(),
        Err(_) => format!("UNKNOWN({v})"),
    }
}

pub fn category_names(values: &[i32]) -> Vec<String> {
    values
        .iter()
        .map(|v| enum_name::<DataCategory>(*v))
        .collect()
}

/// The request id of a law-enforcement event.
pub fn le_request_id(kind: &Kind) -> Option<&str> {
    match kind {
        Kind::LawEnforcementRequestReceived(r) => Some(&r.request_id),
        Kind::LawEnforcementRedirected(r) => Some(&r.request_id),
        Kind::LawEnforcementCustomerNotified(r) => Some(&r.request_id),
        Kind::LawEnforcementDisclosed(r) => Some(&r.request_id),
        Kind::LawEnforcementClosed(r) => Some(&r.request_id),
        _ => None,
    }
}

/// Request ids (of one customer's items) under a non-disclosure order still
/// in force at `now_ms`: in force until (not at) its expiry, indefinitely
/// without one (the same reading as the `LE-NOTICE` rule).
pub fn gagged_requests(items: &[Item], now_ms: i64) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| match &i.event.kind {
            Some(Kind::LawEnforcementRequestReceived(r))
                if r.nondisclosure_order
                    && r.nondisclosure_expires_at
                        .as_ref()
                        .is_none_or(|t| now_ms < timestamp_ms(t)) =>
            {
                Some(r.request_id.clone())
            }
            _ => None,
        })
        .collect()
}

/// Whether an item must be left out of the customer's copy: any event of a
/// gagged request. The customer's copy gives no count or hint of what was
/// left out, since that would itself disclose the request.
pub fn withheld(item: &Item, gagged: &BTreeSet<String>) -> bool {
    item.event
        .kind
        .as_ref()
        .and_then(le_request_id)
        .is_some_and(|id| gagged.contains(id))
}

/// Count, first and last time per key (subcontractors, storage countries).
pub(crate) fn tally<'a>(
    items: impl IntoIterator<Item = (&'a str, i64)>,
) -> std::collections::BTreeMap<&'a str, (u64, i64, i64)> {
    let mut out = std::collections::BTreeMap::new();
    for (key, at) in items {
        let e = out.entry(key).or_insert((0u64, at, at));
        e.0 += 1;
        e.1 = e.1.min(at);
        e.2 = e.2.max(at);
    }
    out
}

#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixture {
    //! A small hand-written scenario shared by the builders' tests (here
    //! and, with the `fixtures` feature, in the crates that serve reports).
    use super::*;
    use custody_policy::Severity;
    use custody_proto::timestamp_from_ms;
    use custody_proto::v1::{self, Actor};

    /// 2026-01-01T00:00:00Z
    pub const T0: i64 = 1_767_225_600_000;
    pub const HOUR: i64 = 3_600_000;

    pub fn actor(id: &str, role: Role, office: &str, location: &str) -> Actor {
        Actor {
            id: id.into(),
            role: role as i32,
            entity_kind: EntityKind::Organisation as i32,
            entity_name: "CSS".into(),
            office_country: office.into(),
            location_country: location.into(),
        }
    }

    pub fn eng(office: &str, location: &str) -> Option<Actor> {
        Some(actor("eng-1", Role::SupportEngineer, office, location))
    }

    /// An item of customer `c` at `T0 + hours`, at (shard 0, seq).
    pub fn item(seq: u64, c: &str, hours: i64, actor: Option<Actor>, kind: Kind) -> Item {
        Item {
            shard: 0,
            seq,
            hash: [seq as u8; 32],
            source: SourcePosition {
                topic: "embedded".into(),
                partition: 0,
                offset: seq,
                timestamp_ms: 0,
            },
            event: Event {
                event_id: format!("e-{seq}"),
                customer_id: c.into(),
                occurred_at: Some(timestamp_from_ms(T0 + hours * HOUR)),
                service: "case-tool".into(),
                case_id: "case-1".into(),
                actor,
                kind: Some(kind),
            },
            verdicts: vec![],
        }
    }

    pub fn breach(rule: &str, severity: Severity, why: &str) -> Verdict {
        Verdict {
            rule: rule.into(),
            severity,
            effect: Effect::Breach,
            explanation: why.into(),
        }
    }

    pub fn accessed(purpose: Purpose, cats: &[DataCategory]) -> Kind {
        Kind::DataAccessed(v1::DataAccessed {
            purpose: purpose as i32,
            categories: cats.iter().map(|c| *c as i32).collect(),
            resource: "ticket".into(),
            justification: String::new(),
            means: 0,
        })
    }

    pub fn collected(storage: &str, cats: &[DataCategory]) -> Kind {
        Kind::DataCollected(v1::DataCollected {
            means: CollectionMeans::PhoneOrChat as i32,
            categories: cats.iter().map(|c| *c as i32).collect(),
            storage_country: storage.into(),
            encrypted_channel: true,
            ..Default::default()
        })
    }

    pub fn transferred(from: &str, to: &str, stored: bool, mechanism: LegalMechanism) -> Kind {
        Kind::DataTransferred(v1::DataTransferred {
            from_country: from.into(),
            to_country: to.into(),
            categories: vec![DataCategory::Customer as i32],
            legal_mechanism: mechanism as i32,
            reason: TransferReason::Escalation as i32,
            stored_at_destination: stored,
            recipient_kind: EntityKind::Organisation as i32,
            recipient_name: "CSS".into(),
            purpose: Purpose::ProvidingSupport as i32,
        })
    }

    pub fn handoff(sub: &str, country: &str) -> Kind {
        Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
            subcontractor_id: sub.into(),
            categories: vec![DataCategory::Customer as i32],
            purpose: Purpose::ProvidingSupport as i32,
            location_country: country.into(),
        })
    }

    pub fn profile(eea: bool) -> Kind {
        Kind::CustomerProfileSet(v1::CustomerProfileSet {
            support_plan: "premier".into(),
            eea_storage_only: eea,
            home_country: "DE".into(),
            display_name: "Acme".into(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn le_received(
        id: &str,
        jurisdiction: &str,
        instrument: LegalInstrument,
        binding: bool,
        gag: bool,
        gag_expires_ms: Option<i64>,
    ) -> Kind {
        Kind::LawEnforcementRequestReceived(v1::LawEnforcementRequestReceived {
            request_id: id.into(),
            agency: "Agency".into(),
            jurisdiction: jurisdiction.into(),
            instrument: instrument as i32,
            legally_binding: binding,
            scope_requested: vec![DataCategory::Contact as i32, DataCategory::Customer as i32],
            nondisclosure_order: gag,
            nondisclosure_expires_at: gag_expires_ms.map(timestamp_from_ms),
        })
    }

    pub fn le_redirected(id: &str) -> Kind {
        Kind::LawEnforcementRedirected(v1::LawEnforcementRedirected {
            request_id: id.into(),
            note: String::new(),
        })
    }

    pub fn le_notified(id: &str) -> Kind {
        Kind::LawEnforcementCustomerNotified(v1::LawEnforcementCustomerNotified {
            request_id: id.into(),
            method: "email".into(),
        })
    }

    pub fn le_disclosed(id: &str, cats: &[DataCategory]) -> Kind {
        Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
            request_id: id.into(),
            scope_released: cats.iter().map(|c| *c as i32).collect(),
        })
    }

    pub fn le_closed(id: &str, outcome: LawEnforcementOutcome) -> Kind {
        Kind::LawEnforcementClosed(v1::LawEnforcementClosed {
            request_id: id.into(),
            outcome: outcome as i32,
        })
    }

    pub fn report_read() -> Kind {
        Kind::ReportRead(v1::ReportRead {
            report: "disclosure".into(),
            reader: "tok".into(),
            reader_role: "ROLE_CUSTOMER".into(),
        })
    }
}
