//! One module per commitment. Each exposes `RULE` (its metadata) and
//! `check(cx, out)`, which pushes that rule's verdicts for one event.
//! A rule emits at most one finding (breach or opens) per event, plus any
//! closures, so a finding is identified by (rule, customer, shard, seq).

use custody_proto::{Event, Kind};

use crate::state::{CustomerState, LeRequest, Provisional, ShardState};
use crate::{Effect, Rule, Verdict};

pub(crate) mod ad_transfer;
pub(crate) mod credentials_deleted;
pub(crate) mod credentials_not_used;
pub(crate) mod eea_residency;
pub(crate) mod eea_transfer;
pub(crate) mod gov_transfer;
pub(crate) mod le_no_voluntary;
pub(crate) mod le_notice;
pub(crate) mod le_redirect;
pub(crate) mod le_scope;
pub(crate) mod private_encrypted;
pub(crate) mod remote_access;
pub(crate) mod sales_marketing;
pub(crate) mod secondary_use;
pub(crate) mod sft_encrypted;
pub(crate) mod sub_attestation;
pub(crate) mod sub_purpose;
pub(crate) mod swiss_transfer;
pub(crate) mod us_storage;
pub(crate) mod use_matrix;

/// What every rule sees: the state before the event, and the event.
pub(crate) struct Ctx<'a> {
    pub state: &'a ShardState,
    /// The event's customer, when the state knows them.
    pub customer: Option<&'a CustomerState>,
    pub event: &'a Event,
    pub kind: &'a Kind,
    /// `occurred_at` in milliseconds since the Unix epoch (0 if absent).
    pub at: i64,
    /// The sequence number the event's entry will get.
    #[allow(dead_code)]
    pub seq: u64,
}

impl Ctx<'_> {
    /// The open request with this id for the event's customer.
    pub fn request(&self, id: &str) -> Option<&LeRequest> {
        self.customer?.requests.get(id)
    }

    pub fn eea_customer(&self) -> bool {
        self.customer.is_some_and(CustomerState::eea_storage_only)
    }
}

pub(crate) type CheckFn = fn(&Ctx<'_>, &mut Vec<Verdict>);

/// The checks, in [`crate::RULES`] order (a unit test keeps them in step).
pub(crate) const CHECKS: &[(&str, CheckFn)] = &[
    (use_matrix::RULE.id, use_matrix::check),
    (sales_marketing::RULE.id, sales_marketing::check),
    (ad_transfer::RULE.id, ad_transfer::check),
    (secondary_use::RULE.id, secondary_use::check),
    (credentials_not_used::RULE.id, credentials_not_used::check),
    (credentials_deleted::RULE.id, credentials_deleted::check),
    (remote_access::RULE.id, remote_access::check),
    (private_encrypted::RULE.id, private_encrypted::check),
    (le_no_voluntary::RULE.id, le_no_voluntary::check),
    (le_redirect::RULE.id, le_redirect::check),
    (le_scope::RULE.id, le_scope::check),
    (le_notice::RULE.id, le_notice::check),
    (eea_residency::RULE.id, eea_residency::check),
    (eea_transfer::RULE.id, eea_transfer::check),
    (sub_attestation::RULE.id, sub_attestation::check),
    (sub_purpose::RULE.id, sub_purpose::check),
    (gov_transfer::RULE.id, gov_transfer::check),
    (swiss_transfer::RULE.id, swiss_transfer::check),
    (sft_encrypted::RULE.id, sft_encrypted::check),
    (us_storage::RULE.id, us_storage::check),
];

pub(crate) fn verdict(rule: &Rule, effect: Effect, explanation: String) -> Verdict {
    Verdict {
        rule: rule.id.to_string(),
        severity: rule.severity,
        effect,
        explanation,
    }
}

pub(crate) fn breach(rule: &Rule, explanation: String) -> Verdict {
    verdict(rule, Effect::Breach, explanation)
}

/// Withdraws each provisional breach of `rule` about `subject` that the
/// event is evidence against (`remedies` says whether it is, from the
/// breach's time), while the watermark still lets it be withdrawn.
pub(crate) fn withdraw(
    cx: &Ctx<'_>,
    out: &mut Vec<Verdict>,
    rule: &Rule,
    subject: &str,
    customer: Option<&str>,
    remedies: impl Fn(&Provisional) -> bool,
    explain: impl Fn(u64, &Provisional) -> String,
) {
    let time = &cx.state.event_time;
    for (seq, p) in &time.provisional {
        if p.rule == rule.id
            && p.subject == subject
            && customer.is_none_or(|c| c == p.customer)
            && time.open_at(p.at_ms)
            && remedies(p)
        {
            out.push(verdict(
                rule,
                Effect::Withdraws {
                    opened_seq: *seq,
                    customer: p.customer.clone(),
                },
                explain(*seq, p),
            ));
        }
    }
}

/// Whether a purpose is one for which subcontractors and third parties may
/// handle data: providing or maintaining support (seed 001).
pub(crate) fn is_support_purpose(purpose: i32) -> bool {
    use custody_proto::v1::Purpose;
    matches!(
        Purpose::try_from(purpose),
        Ok(Purpose::ProvidingSupport | Purpose::MaintainingSupport)
    )
}

/// The rules' unit-test kit: the event builders come from
/// `custody-testkit`; the fold helpers stay here because they return this
/// crate's types (a unit test sees `crate::ShardState`, while custody-testkit
/// would link a second copy of custody-policy whose types do not match).
#[cfg(test)]
pub(crate) mod testkit {
    use custody_proto::Event;
    pub use custody_testkit::events::*;

    use crate::{apply, check, Effect, ShardState, Verdict};

    /// Folds events from a fresh state; returns the state and, per event,
    /// its verdicts.
    pub fn fold(events: &[Event]) -> (ShardState, Vec<Vec<Verdict>>) {
        let mut state = ShardState::default();
        let mut all = Vec::new();
        for (seq, e) in events.iter().enumerate() {
            let v = check(&state, e, seq as u64);
            apply(&mut state, e, seq as u64, &v);
            all.push(v);
        }
        (state, all)
    }

    /// Folds `history`, then checks `last` (with seq = history length) and
    /// returns only the verdicts of `rule`.
    pub fn verdicts_of(rule: &str, history: &[Event], last: &Event) -> Vec<Verdict> {
        let (state, _) = fold(history);
        check(&state, last, history.len() as u64)
            .into_iter()
            .filter(|v| v.rule == rule)
            .collect()
    }

    /// The effects of `rule` on `last`, for short assertions.
    pub fn effects(rule: &str, history: &[Event], last: &Event) -> Vec<Effect> {
        verdicts_of(rule, history, last)
            .into_iter()
            .map(|v| v.effect)
            .collect()
    }
}
