//! State transitions: what an event (and its verdicts) leaves behind for the
//! rules that judge later events.
//!
//! | event                              | state it changes |
//! |------------------------------------|------------------|
//! | subcontractor registered           | `subcontractors[id]` replaced (renewal replaces the attestation) |
//! | customer profile set               | `profile` replaced |
//! | data collected (remote access with a permission, in a case) | `remote_access_permissions[case]` |
//! | data deleted (reason case closed, in a case) | `remote_access_permissions[case]` removed |
//! | law-enforcement request received   | `requests[id]` inserted (a repeat updates the demand, keeps the steps) |
//! | redirected / customer notified / disclosed | the open request's earliest step time (unknown ids: nothing) |
//! | law-enforcement request closed     | `requests[id]` removed |
//! | any event with an `Opens` or `Obligation` verdict | `open_findings` += (rule, seq, request id for LE events, deadline) |
//! | any event with a `Closes` or `Discharges` verdict | `open_findings` −= (rule, opened_seq) |
//! | any event | `event_time`: a `Breach` of a rule with late evidence becomes provisional, a `Withdraws` ends one, the watermark moves to `occurred_at` if later and lets go of what became final |
//!
//! Data accessed, data transferred, handoffs and report reads change no
//! customer or subcontractor state except through verdicts that are not
//! breaches (today none of them has any), which lets the ledger skip
//! writing that state for them; `event_time` is shard-wide and the ledger
//! writes it once per batch. A customer whose state becomes empty is
//! removed from the map.

use custody_proto::v1::{CollectionMeans, DeletionReason};
use custody_proto::{timestamp_ms, Event, Kind};

use crate::state::{CustomerState, LeRequest, OpenFinding, Profile, ShardState};
use crate::vocab::{instrument_name, Category};
use crate::{Effect, Verdict};

/// Applies the event (and its verdicts) to the state. Deterministic: the
/// state after a sequence of `check` + `apply` depends only on the events,
/// their order and their sequence numbers. Never panics.
pub fn apply(state: &mut ShardState, event: &Event, seq: u64, verdicts: &[Verdict]) {
    let Some(kind) = event.kind.as_ref() else {
        return;
    };
    let at = event.occurred_at.as_ref().map(timestamp_ms).unwrap_or(0);

    apply_event_time(state, event, kind, at, seq, verdicts);
    if let Kind::SubcontractorRegistered(s) = kind {
        state
            .subcontractors
            .entry(s.subcontractor_id.clone())
            .or_default()
            .register(
                &s.name,
                &s.country,
                crate::state::Attestation {
                    reference: s.attestation_reference.clone(),
                    valid_from_ms: s.attestation_valid_from.as_ref().map(timestamp_ms),
                    valid_to_ms: s.attestation_valid_to.as_ref().map(timestamp_ms),
                },
            );
    }
    if event.customer_id.is_empty() {
        return;
    }

    let case = &event.case_id;
    let creates = match kind {
        Kind::CustomerProfileSet(_) | Kind::LawEnforcementRequestReceived(_) => true,
        Kind::DataCollected(c) => {
            c.means == CollectionMeans::RemoteAccess as i32
                && !c.permission_reference.trim().is_empty()
                && !case.is_empty()
        }
        _ => false,
    } || verdicts
        .iter()
        .any(|v| matches!(v.effect, Effect::Opens | Effect::Obligation { .. }));
    let customer = if creates {
        state
            .customers
            .entry(event.customer_id.clone())
            .or_default()
    } else {
        match state.customers.get_mut(&event.customer_id) {
            Some(c) => c,
            None => return,
        }
    };

    let mut subject = "";
    match kind {
        Kind::CustomerProfileSet(p) => {
            customer.profile = Some(Profile {
                eea_storage_only: p.eea_storage_only,
                support_plan: p.support_plan.clone(),
                home_country: p.home_country.clone(),
            });
        }
        Kind::DataCollected(c) => {
            if c.means == CollectionMeans::RemoteAccess as i32
                && !c.permission_reference.trim().is_empty()
                && !case.is_empty()
            {
                customer
                    .remote_access_permissions
                    .insert(case.clone(), c.permission_reference.clone());
            }
        }
        Kind::DataDeleted(d) => {
            if d.reason == DeletionReason::CaseClosed as i32 && !case.is_empty() {
                customer.remote_access_permissions.remove(case);
            }
        }
        Kind::LawEnforcementRequestReceived(r) => {
            let scope = Category::set(&r.scope_requested);
            let expires = r.nondisclosure_expires_at.as_ref().map(timestamp_ms);
            let instrument = instrument_name(r.instrument).to_string();
            let request = customer
                .requests
                .entry(r.request_id.clone())
                .or_insert_with(|| LeRequest {
                    received_seq: seq,
                    received_at_ms: at,
                    ..LeRequest::default()
                });
            request.instrument = instrument;
            request.legally_binding = r.legally_binding;
            request.scope = scope;
            request.nondisclosure_order = r.nondisclosure_order;
            request.nondisclosure_expires_at_ms =
                if r.nondisclosure_order { expires } else { None };
        }
        Kind::LawEnforcementRedirected(r) => {
            if let Some(req) = customer.requests.get_mut(&r.request_id) {
                req.redirected_at_ms = earliest(req.redirected_at_ms, at);
            }
        }
        Kind::LawEnforcementCustomerNotified(n) => {
            if let Some(req) = customer.requests.get_mut(&n.request_id) {
                req.notified_at_ms = earliest(req.notified_at_ms, at);
            }
        }
        Kind::LawEnforcementDisclosed(d) => {
            subject = &d.request_id;
            if let Some(req) = customer.requests.get_mut(&d.request_id) {
                req.disclosed_at_ms = earliest(req.disclosed_at_ms, at);
                req.disclosures = req.disclosures.saturating_add(1);
            }
        }
        Kind::LawEnforcementClosed(c) => {
            // Open findings about the request stay in `open_findings`.
            customer.requests.remove(&c.request_id);
        }
        Kind::SubcontractorRegistered(_)
        | Kind::DataAccessed(_)
        | Kind::DataTransferred(_)
        | Kind::SubcontractorHandoff(_)
        | Kind::ReportRead(_) => {}
    }

    apply_findings(customer, seq, subject, verdicts);

    if customer.is_empty() {
        state.customers.remove(&event.customer_id);
    }
}

/// Provisional breaches and the watermark (see [`crate::EventTime`]).
fn apply_event_time(
    state: &mut ShardState,
    event: &Event,
    kind: &Kind,
    at: i64,
    seq: u64,
    verdicts: &[Verdict],
) {
    let time = &mut state.event_time;
    for v in verdicts {
        match &v.effect {
            Effect::Withdraws { opened_seq, .. } => {
                time.provisional.remove(opened_seq);
            }
            Effect::Breach if crate::rule(&v.rule).is_some_and(|r| r.late_evidence.is_some()) => {
                let subject = match kind {
                    Kind::SubcontractorHandoff(h) => h.subcontractor_id.clone(),
                    Kind::LawEnforcementDisclosed(d) => d.request_id.clone(),
                    _ => String::new(),
                };
                time.provisional.insert(
                    seq,
                    crate::Provisional {
                        rule: v.rule.clone(),
                        customer: event.customer_id.clone(),
                        subject,
                        at_ms: at,
                    },
                );
            }
            _ => {}
        }
    }
    if event.occurred_at.is_some() {
        time.advance(at);
    }
}

/// Whether [`apply`] can change the customer or subcontractor state for
/// this event and these verdicts (`event_time` changes with almost every
/// event; the ledger writes it per batch).
/// The ledger persists a customer's state only then, so the predicate must
/// cover every branch of `apply` that writes (policy/tests/properties.rs
/// checks it against `apply` over arbitrary events; ledger/tests/demo_fold.rs
/// folds the demo and compares the persisted state with the live one).
pub fn changes_state(event: &Event, verdicts: &[Verdict]) -> bool {
    if verdicts.iter().any(|v| v.effect != Effect::Breach) {
        return true;
    }
    let case = !event.case_id.is_empty();
    match &event.kind {
        Some(
            Kind::SubcontractorRegistered(_)
            | Kind::CustomerProfileSet(_)
            | Kind::LawEnforcementRequestReceived(_)
            | Kind::LawEnforcementRedirected(_)
            | Kind::LawEnforcementCustomerNotified(_)
            | Kind::LawEnforcementDisclosed(_)
            | Kind::LawEnforcementClosed(_),
        ) => true,
        Some(Kind::DataCollected(c)) => {
            case && c.means == CollectionMeans::RemoteAccess as i32
                && !c.permission_reference.trim().is_empty()
        }
        Some(Kind::DataDeleted(d)) => case && d.reason == DeletionReason::CaseClosed as i32,
        _ => false,
    }
}

fn earliest(current: Option<i64>, at: i64) -> Option<i64> {
    Some(current.map_or(at, |c| c.min(at)))
}

fn apply_findings(customer: &mut CustomerState, seq: u64, subject: &str, verdicts: &[Verdict]) {
    for v in verdicts {
        match &v.effect {
            Effect::Breach => {}
            Effect::Withdraws { .. } => {}
            Effect::Opens | Effect::Obligation { .. } => {
                let open = &mut customer.open_findings;
                if !open.iter().any(|f| f.rule == v.rule && f.opened_seq == seq) {
                    open.push(OpenFinding {
                        rule: v.rule.clone(),
                        opened_seq: seq,
                        subject: subject.to_string(),
                        due_ms: match v.effect {
                            Effect::Obligation { due_ms } => Some(due_ms),
                            _ => None,
                        },
                    });
                }
            }
            Effect::Closes { opened_seq } | Effect::Discharges { opened_seq } => customer
                .open_findings
                .retain(|f| !(f.rule == v.rule && f.opened_seq == *opened_seq)),
        }
    }
}

#[cfg(test)]
mod tests {
    use custody_proto::v1::{
        CollectionMeans as M, DataCategory as C, DeletionReason as D, LegalInstrument as I,
        Purpose as P,
    };

    use crate::rules::testkit::*;
    use crate::{apply, check, Category, Effect, ShardState};

    #[test]
    fn registrations_fill_the_registry_without_creating_customers() {
        let (s, v) = fold(&[registered("sub-1", T0, T0 + DAY)]);
        assert!(v[0].is_empty());
        assert!(s.customers.is_empty());
        let sub = &s.subcontractors["sub-1"];
        assert_eq!(
            (sub.valid_from_ms, sub.valid_to_ms),
            (Some(T0), Some(T0 + DAY))
        );
        assert_eq!(sub.country, "PL");
    }

    #[test]
    fn accesses_and_report_reads_never_change_state() {
        let (before, _) = fold(&[event(T0, profile(true))]);
        let mut after = before.clone();
        let e = event(T0 + 1, accessed(P::ProvidingSupport, &[C::Customer], ""));
        let v = check(&after, &e, 1);
        assert!(v.is_empty());
        apply(&mut after, &e, 1, &v);
        assert_eq!(
            (&before.customers, &before.subcontractors),
            (&after.customers, &after.subcontractors)
        );
        // Only the watermark moved.
        assert_eq!(after.event_time.watermark_ms, Some(T0 + 1));
        // Not even for an unknown customer: nothing is created.
        let mut empty = ShardState::default();
        apply(&mut empty, &e, 0, &[]);
        assert!(empty.customers.is_empty() && empty.subcontractors.is_empty());
    }

    /// The watermark is the highest `occurred_at` folded; a provisional
    /// breach is let go once it passes the breach's time plus the lateness.
    #[test]
    fn the_watermark_follows_the_highest_event_time_and_ends_provisional_breaches() {
        use custody_proto::v1::LegalInstrument as I;
        let lateness = crate::DEFAULT_ALLOWED_LATENESS_MS;
        let events = [
            event(
                T0,
                received("le-1", I::SearchWarrant, true, &[C::Contact], None),
            ),
            event(T0 + DAY, disclosed("le-1", &[C::Contact])),
            // Earlier-dated: the watermark does not move back.
            event(T0 + HOUR, accessed(P::ProvidingSupport, &[C::Customer], "")),
        ];
        let (s, v) = fold(&events);
        assert!(v[1].iter().any(|v| v.rule == "LE-REDIRECT-FIRST"));
        assert_eq!(s.event_time.watermark_ms, Some(T0 + DAY));
        assert_eq!(s.event_time.provisional.len(), 1);
        assert_eq!(s.event_time.provisional[&1].subject, "le-1");
        let mut all = events.to_vec();
        all.push(event(
            T0 + DAY + lateness - 1,
            accessed(P::ProvidingSupport, &[C::Customer], ""),
        ));
        assert_eq!(fold(&all).0.event_time.provisional.len(), 1);
        all.push(event(
            T0 + DAY + lateness,
            accessed(P::ProvidingSupport, &[C::Customer], ""),
        ));
        assert!(fold(&all).0.event_time.provisional.is_empty());
    }

    #[test]
    fn law_enforcement_request_lifecycle() {
        let events = [
            event(
                T0,
                received(
                    "le-1",
                    I::CourtOrder,
                    true,
                    &[C::Customer, C::Contact],
                    Some(Some(T0 + DAY)),
                ),
            ),
            event(T0 + 2 * HOUR, redirected("le-1")),
            event(T0 + HOUR, redirected("le-1")),
            event(T0 + 3 * HOUR, disclosed("le-1", &[C::Contact])),
            event(T0 + 4 * HOUR, disclosed("le-1", &[C::Customer])),
        ];
        let (s, verdicts) = fold(&events);
        assert!(verdicts.iter().all(Vec::is_empty), "{verdicts:?}");
        let r = &s.customers[CUSTOMER].requests["le-1"];
        assert_eq!(r.received_seq, 0);
        assert_eq!(r.instrument, "LEGAL_INSTRUMENT_COURT_ORDER");
        assert_eq!(r.scope, vec![Category::Contact, Category::Customer]);
        assert_eq!(r.nondisclosure_expires_at_ms, Some(T0 + DAY));
        assert_eq!(r.redirected_at_ms, Some(T0 + HOUR));
        assert_eq!(r.disclosed_at_ms, Some(T0 + 3 * HOUR));
        assert_eq!(r.disclosures, 2);
        let mut all = events.to_vec();
        all.push(event(T0 + DAY, closed("le-1")));
        let (s, _) = fold(&all);
        // Closing removes the request, and with it the customer's only state.
        assert!(s.customers.is_empty(), "{s:?}");
    }

    #[test]
    fn opened_findings_are_remembered_until_closed() {
        let events = [
            event(
                T0,
                received("le-1", I::CourtOrder, true, &[C::Contact], None),
            ),
            event(T0 + HOUR, redirected("le-1")),
            event(T0 + DAY, disclosed("le-1", &[C::Contact])),
            event(T0 + DAY + HOUR, closed("le-1")),
        ];
        let (s, v) = fold(&events);
        assert_eq!(v[2].len(), 1);
        assert_eq!(v[2][0].effect, Effect::Obligation { due_ms: T0 + DAY });
        let open = &s.customers[CUSTOMER].open_findings;
        assert_eq!(open.len(), 1);
        assert_eq!(
            (
                open[0].rule.as_str(),
                open[0].opened_seq,
                open[0].subject.as_str()
            ),
            ("LE-NOTICE", 2, "le-1")
        );
        let mut all = events.to_vec();
        all.push(event(T0 + 2 * DAY, notified("le-1")));
        let (s, v) = fold(&all);
        assert_eq!(v[4][0].effect, Effect::Closes { opened_seq: 2 });
        assert!(s.customers.is_empty(), "{s:?}");
    }

    #[test]
    fn remote_access_permissions_live_until_the_case_closes() {
        let events = [
            event(
                T0,
                collected(M::RemoteAccess, &[C::Customer], "US", true, "perm-1"),
            ),
            event(
                T0 + 1,
                collected(M::RemoteAccess, &[C::Customer], "US", true, ""),
            ),
        ];
        let (s, _) = fold(&events);
        assert_eq!(
            s.customers[CUSTOMER].remote_access_permissions["case-1"],
            "perm-1"
        );
        let mut all = events.to_vec();
        all.push(event(T0 + 2, deleted(&[C::Customer], D::RetentionExpired)));
        let (s, _) = fold(&all);
        assert!(s.customers[CUSTOMER]
            .remote_access_permissions
            .contains_key("case-1"));
        all.push(event(T0 + 3, deleted(&[C::Customer], D::CaseClosed)));
        let (s, _) = fold(&all);
        assert!(s.customers.is_empty());
    }

    #[test]
    fn a_repeated_request_updates_the_demand_and_keeps_the_steps() {
        let events = [
            event(
                T0,
                received("le-1", I::InformalRequest, false, &[C::Contact], None),
            ),
            event(T0 + HOUR, redirected("le-1")),
            event(
                T0 + DAY,
                received(
                    "le-1",
                    I::SearchWarrant,
                    true,
                    &[C::Contact, C::Customer],
                    None,
                ),
            ),
        ];
        let (s, _) = fold(&events);
        let r = &s.customers[CUSTOMER].requests["le-1"];
        assert!(r.is_binding());
        assert_eq!((r.received_seq, r.received_at_ms), (0, T0));
        assert_eq!(r.redirected_at_ms, Some(T0 + HOUR));
    }
}
