//! The fold state of one shard: everything the rules need to know about its
//! past. Small on purpose: the ledger persists one customer's state (as JSON)
//! after each event that changes it, and a replay of the entries from a fresh
//! [`ShardState`] must rebuild it exactly.

use std::collections::BTreeMap;

use crate::vocab::Category;

/// Everything the rules need to know about the past of one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardState {
    /// By customer id. A customer whose state is empty has no entry.
    #[serde(default)]
    pub customers: BTreeMap<String, CustomerState>,
    /// The subcontractor registry, by subcontractor id (registrations are
    /// broadcast to every shard, so every shard holds the same registry).
    #[serde(default)]
    pub subcontractors: BTreeMap<String, SubcontractorState>,
    /// The shard's watermark and the breaches still provisional.
    #[serde(default)]
    pub event_time: EventTime,
}

/// The allowed lateness of a new ledger: three days (RULES.md, "Event time").
pub const DEFAULT_ALLOWED_LATENESS_MS: i64 = 3 * 24 * 60 * 60 * 1000;

/// Event time in one shard, derived from the events alone (so replicas
/// agree): the watermark is the highest `occurred_at` folded. A breach of a
/// rule with late evidence dated `t` stays provisional while the watermark
/// is below `t + lateness_ms`; an obligation due at `d` is pending while it
/// is below `d + lateness_ms`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventTime {
    /// The highest `occurred_at` folded in the shard; `None` before any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_ms: Option<i64>,
    /// The ledger's allowed lateness. Recorded in the ledger (its meta),
    /// not in this state: the ledger sets it when it loads the state.
    #[serde(skip, default = "default_lateness")]
    pub lateness_ms: i64,
    /// Provisional breaches by the sequence number of their entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub provisional: BTreeMap<u64, Provisional>,
}

fn default_lateness() -> i64 {
    DEFAULT_ALLOWED_LATENESS_MS
}

impl Default for EventTime {
    fn default() -> Self {
        EventTime {
            watermark_ms: None,
            lateness_ms: DEFAULT_ALLOWED_LATENESS_MS,
            provisional: BTreeMap::new(),
        }
    }
}

impl EventTime {
    /// Whether something dated `at_ms` can still be changed by evidence
    /// dated no later than it: the watermark is below `at_ms + lateness`.
    pub fn open_at(&self, at_ms: i64) -> bool {
        self.watermark_ms
            .is_none_or(|w| w < at_ms.saturating_add(self.lateness_ms))
    }

    /// Moves the watermark to `at_ms` if later, and lets go of the
    /// provisional breaches that became final.
    pub fn advance(&mut self, at_ms: i64) {
        if self.watermark_ms.is_some_and(|w| w >= at_ms) {
            return;
        }
        self.watermark_ms = Some(at_ms);
        let lateness = self.lateness_ms;
        self.provisional
            .retain(|_, p| at_ms < p.at_ms.saturating_add(lateness));
    }
}

/// A breach that evidence dated no later than it may still withdraw.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provisional {
    pub rule: String,
    pub customer: String,
    /// What the evidence must name: the request id (`LE-REDIRECT-FIRST`),
    /// the subcontractor id (`SUB-ATTESTATION`).
    pub subject: String,
    /// `occurred_at` of the breach's event.
    pub at_ms: i64,
}

/// What the rules remember about one customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerState {
    /// The latest profile set for the customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// Law-enforcement requests received and not yet closed, by request id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, LeRequest>,
    /// Findings opened and not yet closed, in the order they were opened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_findings: Vec<OpenFinding>,
    /// Remote-access permissions recorded by data collection over remote
    /// access: case id → the customer's permission reference. Dropped when
    /// the case's data is deleted because the case closed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_access_permissions: BTreeMap<String, String>,
}

impl CustomerState {
    /// Whether the customer chose the EEA storage option.
    pub fn eea_storage_only(&self) -> bool {
        self.profile.as_ref().is_some_and(|p| p.eea_storage_only)
    }

    /// Sequence numbers of the entries whose credentials still await deletion.
    pub fn credentials_awaiting_deletion(&self) -> Vec<u64> {
        self.open_findings
            .iter()
            .filter(|f| f.rule == crate::rules::credentials_deleted::RULE.id)
            .map(|f| f.opened_seq)
            .collect()
    }

    /// Whether nothing is remembered (such a customer is dropped from the map).
    pub fn is_empty(&self) -> bool {
        *self == CustomerState::default()
    }
}

/// The customer's profile (seed 001: the EEA storage option).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub eea_storage_only: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub support_plan: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home_country: String,
}

/// One open law-enforcement request and the steps taken on it so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeRequest {
    /// Sequence number of the entry that recorded the demand.
    pub received_seq: u64,
    pub received_at_ms: i64,
    /// Protobuf name of the legal instrument, e.g. `LEGAL_INSTRUMENT_SUBPOENA`.
    pub instrument: String,
    /// The demand as recorded (`legally_binding` of the event).
    pub legally_binding: bool,
    /// Categories the demand requires.
    #[serde(default)]
    pub scope: Vec<Category>,
    #[serde(default)]
    pub nondisclosure_order: bool,
    /// When the non-disclosure order ends; `None` with an order means indefinite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nondisclosure_expires_at_ms: Option<i64>,
    /// Earliest time the requester was redirected to the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirected_at_ms: Option<i64>,
    /// Earliest time the customer was notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at_ms: Option<i64>,
    /// Earliest disclosure and how many there were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosed_at_ms: Option<i64>,
    #[serde(default)]
    pub disclosures: u32,
}

impl LeRequest {
    /// A demand the organisation is legally required to answer: recorded as
    /// legally binding and not an informal request (an informal request is
    /// never binding, whatever the flag says).
    pub fn is_binding(&self) -> bool {
        self.legally_binding && self.instrument != "LEGAL_INSTRUMENT_INFORMAL_REQUEST"
    }

    /// Whether a non-disclosure order forbids notifying the customer at `at_ms`
    /// (an order is in force until, not at, its expiry).
    pub fn nondisclosure_in_force(&self, at_ms: i64) -> bool {
        self.nondisclosure_order
            && self
                .nondisclosure_expires_at_ms
                .is_none_or(|end| at_ms < end)
    }

    /// Whether the demand's scope covers a category (a demand for private
    /// data covers credentials, which are private data).
    pub fn covers(&self, c: Category) -> bool {
        self.scope.contains(&c)
            || (c == Category::Credentials && self.scope.contains(&Category::Private))
    }
}

/// A finding opened and awaiting its remedy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenFinding {
    pub rule: String,
    /// Sequence number of the entry that opened it.
    pub opened_seq: u64,
    /// What a closing event must name: the request id for `LE-NOTICE`;
    /// empty for customer-wide findings (`CREDENTIALS-DELETED`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// For an obligation: its deadline in event time. `None` for a finding
    /// (an obligation past its deadline stays an obligation here: whether it
    /// is a finding yet is a matter of the watermark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<i64>,
}

/// A registered subcontractor and its equivalence attestation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubcontractorState {
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub attestation_reference: String,
    /// The latest registration's attestation validity, inclusive at both
    /// ends; `None` when the registration did not say.
    pub valid_from_ms: Option<i64>,
    pub valid_to_ms: Option<i64>,
    /// Every attestation registered, by reference: a renewal adds a
    /// window instead of replacing the one in force, so a handoff is judged
    /// by the window of its own time; registering a reference again
    /// replaces that reference's window (a correction, or a revocation by
    /// an earlier end). Empty in state written before windows were kept:
    /// then the latest registration's window alone counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<Attestation>,
}

/// One registered attestation window of a subcontractor.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attestation {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference: String,
    pub valid_from_ms: Option<i64>,
    pub valid_to_ms: Option<i64>,
}

impl Attestation {
    pub(crate) fn in_force(&self, at_ms: i64) -> bool {
        matches!((self.valid_from_ms, self.valid_to_ms), (Some(from), Some(to)) if from <= at_ms && at_ms <= to)
    }
}

impl SubcontractorState {
    /// Whether an attestation is in force at `at_ms` (`from <= at <= to`
    /// for one of the registered windows).
    pub fn attestation_in_force(&self, at_ms: i64) -> bool {
        if self.attestations.is_empty() {
            let latest = Attestation {
                reference: String::new(),
                valid_from_ms: self.valid_from_ms,
                valid_to_ms: self.valid_to_ms,
            };
            return latest.in_force(at_ms);
        }
        self.attestations.iter().any(|a| a.in_force(at_ms))
    }

    /// Records a registration: its details become the latest, and its
    /// window is added (or replaces the window of the same reference).
    pub fn register(&mut self, name: &str, country: &str, window: Attestation) {
        self.name = name.to_string();
        self.country = country.to_string();
        self.attestation_reference = window.reference.clone();
        self.valid_from_ms = window.valid_from_ms;
        self.valid_to_ms = window.valid_to_ms;
        match self
            .attestations
            .iter_mut()
            .find(|a| a.reference == window.reference)
        {
            Some(same) => *same = window,
            None => self.attestations.push(window),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nondisclosure_order_is_in_force_until_its_expiry() {
        let mut r = LeRequest {
            nondisclosure_order: true,
            nondisclosure_expires_at_ms: Some(1000),
            ..LeRequest::default()
        };
        assert!(r.nondisclosure_in_force(999));
        assert!(!r.nondisclosure_in_force(1000));
        r.nondisclosure_expires_at_ms = None;
        assert!(r.nondisclosure_in_force(i64::MAX));
        r.nondisclosure_order = false;
        assert!(!r.nondisclosure_in_force(0));
    }

    #[test]
    fn attestation_bounds_are_inclusive() {
        let s = SubcontractorState {
            valid_from_ms: Some(10),
            valid_to_ms: Some(20),
            ..SubcontractorState::default()
        };
        assert!(!s.attestation_in_force(9));
        assert!(s.attestation_in_force(10));
        assert!(s.attestation_in_force(20));
        assert!(!s.attestation_in_force(21));
        assert!(!SubcontractorState::default().attestation_in_force(0));
    }

    #[test]
    fn informal_requests_are_never_binding() {
        let r = LeRequest {
            legally_binding: true,
            instrument: "LEGAL_INSTRUMENT_INFORMAL_REQUEST".into(),
            ..LeRequest::default()
        };
        assert!(!r.is_binding());
        let r = LeRequest {
            legally_binding: true,
            instrument: "LEGAL_INSTRUMENT_SUBPOENA".into(),
            ..LeRequest::default()
        };
        assert!(r.is_binding());
    }

    #[test]
    fn a_private_data_demand_covers_credentials() {
        let r = LeRequest {
            scope: vec![Category::Private],
            ..LeRequest::default()
        };
        assert!(r.covers(Category::Credentials));
        assert!(!r.covers(Category::Customer));
    }

    #[test]
    fn empty_customer_state_serialises_small_and_round_trips() {
        let c = CustomerState::default();
        assert_eq!(serde_json::to_string(&c).expect("json"), "{}");
        assert!(c.is_empty());
        let full = CustomerState {
            profile: Some(Profile {
                eea_storage_only: true,
                ..Profile::default()
            }),
            open_findings: vec![OpenFinding {
                rule: "CREDENTIALS-DELETED".into(),
                opened_seq: 4,
                subject: String::new(),
                due_ms: None,
            }],
            ..CustomerState::default()
        };
        let json = serde_json::to_string(&full).expect("json");
        assert_eq!(
            serde_json::from_str::<CustomerState>(&json).expect("parse"),
            full
        );
        assert_eq!(full.credentials_awaiting_deletion(), vec![4]);
        assert!(full.eea_storage_only());
    }
}
