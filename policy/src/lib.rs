//! Custody policy: each privacy commitment of the seeds (`shared/seeds/`) as a
//! small, pure rule over one event and the fold state of its shard.
//!
//! The crate does no I/O, reads no clock and draws no randomness: the same
//! events in the same order give the same verdicts and the same state on any
//! machine. The ledger calls, for every event of a shard in order:
//!
//! ```text
//! let verdicts = custody_policy::check(&state, &event, seq);
//! custody_policy::apply(&mut state, &event, seq, &verdicts);
//! ```
//!
//! A verdict is a finding, never a block: the ledger records what happened,
//! good or bad. Most findings are [`Effect::Breach`] (complete in themselves).
//! Rules judge in event time (`occurred_at`), and each shard keeps a
//! watermark (the highest `occurred_at` folded, [`EventTime`]):
//! - a breach of a rule with [`Rule::late_evidence`] is *provisional* until
//!   the watermark passes its time plus the allowed lateness; evidence dated
//!   no later than it that arrives before then withdraws it
//!   ([`Effect::Withdraws`]);
//! - `CREDENTIALS-DELETED` and `LE-NOTICE` open an *obligation* with a
//!   deadline in event time ([`Effect::Obligation`]); the remedy dated by the
//!   deadline discharges it ([`Effect::Discharges`]); once the watermark
//!   passes the deadline plus the lateness without it, it is an open
//!   finding, which a later remedy closes ([`Effect::Closes`]).
//!
//! RULES.md (at the workspace root) has one row per rule with the seed
//! sentence it enforces; a unit test keeps the two in step.

mod apply;
mod citations;
mod rules;
#[cfg(test)]
mod rules_md;
mod state;
mod vocab;

pub use apply::{apply, changes_state};
pub use citations::{citations, Citation};
pub use state::{
    CustomerState, EventTime, LeRequest, OpenFinding, Profile, Provisional, ShardState,
    SubcontractorState, DEFAULT_ALLOWED_LATENESS_MS,
};
pub use vocab::{format_ms, is_eea, Category, EEA_COUNTRIES};

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Severity {
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

impl Severity {
    /// The stable one-byte code used in entries (1..=4).
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The severity of a one-byte code; `None` for anything but 1..=4.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Severity::Low),
            2 => Some(Severity::Medium),
            3 => Some(Severity::High),
            4 => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Lower-case name, as used in reports and RULES.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a verdict does to the finding it names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    /// A breach complete in itself; nothing can remedy it ("recorded" findings).
    Breach,
    /// Opens a finding that a later event can close (e.g. credentials received, awaiting deletion).
    Opens,
    /// Closes the finding opened by the entry at sequence `opened_seq` in this shard.
    Closes { opened_seq: u64 },
    /// Withdraws the provisional finding recorded by the entry at
    /// `opened_seq` in this shard, a finding of `customer`: evidence dated
    /// no later than that entry's event arrived within the allowed
    /// lateness. (The customer is named because the evidence may be a
    /// global event, such as a subcontractor registration.)
    Withdraws { opened_seq: u64, customer: String },
    /// Opens an obligation due by `due_ms` in event time: not a finding
    /// while it can still be met; an open finding once the shard's
    /// watermark passes `due_ms` plus the allowed lateness undischarged.
    Obligation { due_ms: i64 },
    /// Discharges the obligation opened by the entry at `opened_seq`: its
    /// remedy is dated by the deadline.
    Discharges { opened_seq: u64 },
}

impl Effect {
    /// The word reports use for the effect.
    pub fn as_str(&self) -> &'static str {
        match self {
            Effect::Breach => "breach",
            Effect::Opens => "opens",
            Effect::Closes { .. } => "closes",
            Effect::Withdraws { .. } => "withdraws",
            Effect::Obligation { .. } => "obligation",
            Effect::Discharges { .. } => "discharges",
        }
    }

    /// The entry whose finding or obligation this verdict ends, if any.
    pub fn ends(&self) -> Option<u64> {
        match self {
            Effect::Closes { opened_seq }
            | Effect::Withdraws { opened_seq, .. }
            | Effect::Discharges { opened_seq } => Some(*opened_seq),
            _ => None,
        }
    }
}

/// One finding (or closure of a finding) about one event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The id of the [`Rule`] that produced it (e.g. `USE-MATRIX`).
    pub rule: String,
    pub severity: Severity,
    pub effect: Effect,
    /// A human-readable sentence naming the concrete values involved.
    pub explanation: String,
}

/// A commitment turned into a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Stable id: appears in entries, indexes, reports and RULES.md.
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the rule checks.
    pub summary: &'static str,
    /// What closes a finding this rule opens; `None` when every finding of
    /// the rule is a [`Effect::Breach`].
    pub remedy: Option<&'static str>,
    /// Evidence dated no later than the event that, arriving within the
    /// allowed lateness, withdraws a breach of this rule; `Some` makes
    /// every breach of the rule provisional until the watermark passes it.
    pub late_evidence: Option<&'static str>,
}

/// Every rule, in a fixed order (used by RULES.md tests, reports and the
/// demo). [`check`] returns verdicts in this order.
pub const RULES: &[Rule] = &[
    rules::use_matrix::RULE,
    rules::sales_marketing::RULE,
    rules::ad_transfer::RULE,
    rules::secondary_use::RULE,
    rules::credentials_not_used::RULE,
    rules::credentials_deleted::RULE,
    rules::remote_access::RULE,
    rules::private_encrypted::RULE,
    rules::le_no_voluntary::RULE,
    rules::le_redirect::RULE,
    rules::le_scope::RULE,
    rules::le_notice::RULE,
    rules::eea_residency::RULE,
    rules::eea_transfer::RULE,
    rules::sub_attestation::RULE,
    rules::sub_purpose::RULE,
    rules::gov_transfer::RULE,
    rules::swiss_transfer::RULE,
    rules::sft_encrypted::RULE,
    rules::us_storage::RULE,
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Pure check of one event against the state *before* it. `seq` is the
/// sequence number the event's entry will get in its shard (so an
/// [`Effect::Opens`] can be closed later by `Closes { opened_seq: seq }`).
/// Returns only findings and closures, in [`RULES`] order; an empty `Vec`
/// means every rule passed. Never panics, whatever the event holds.
pub fn check(state: &ShardState, event: &custody_proto::Event, seq: u64) -> Vec<Verdict> {
    let Some(kind) = event.kind.as_ref() else {
        return Vec::new();
    };
    let cx = rules::Ctx {
        state,
        customer: if event.customer_id.is_empty() {
            None
        } else {
            state.customers.get(&event.customer_id)
        },
        event,
        kind,
        at: event
            .occurred_at
            .as_ref()
            .map(custody_proto::timestamp_ms)
            .unwrap_or(0),
        seq,
    };
    let mut out = Vec::new();
    for (_, check) in rules::CHECKS {
        check(&cx, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_codes_round_trip() {
        for s in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(Severity::from_u8(s.as_u8()), Some(s));
        }
        assert_eq!(Severity::from_u8(0), None);
        assert_eq!(Severity::from_u8(5), None);
        assert_eq!(Severity::Critical.as_str(), "critical");
        assert!(Severity::Low < Severity::Critical);
    }

    #[test]
    fn rule_ids_are_unique_and_checks_follow_rules_order() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "duplicate rule id");
        let checks: Vec<&str> = rules::CHECKS.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, checks);
        for r in RULES {
            assert_eq!(rule(r.id), Some(r));
            assert!(r.id.bytes().all(|b| b.is_ascii_uppercase() || b == b'-'));
        }
        assert_eq!(rule("NO-SUCH-RULE"), None);
    }

    #[test]
    fn an_event_without_a_kind_has_no_verdicts() {
        let e = custody_proto::Event::default();
        assert!(check(&ShardState::default(), &e, 0).is_empty());
        let mut s = ShardState::default();
        apply(&mut s, &e, 0, &[]);
        assert_eq!(s, ShardState::default());
    }

    #[test]
    fn effect_and_verdict_serde_round_trip() {
        let v = Verdict {
            rule: "LE-NOTICE".into(),
            severity: Severity::Medium,
            effect: Effect::Closes { opened_seq: 7 },
            explanation: "x".into(),
        };
        let json = serde_json::to_string(&v).expect("serialise");
        assert_eq!(serde_json::from_str::<Verdict>(&json).expect("parse"), v);
    }
}
