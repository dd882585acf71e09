//! Properties of the whole rule set over arbitrary event sequences, including
//! events validation would reject (the rules must never panic on anything).

use std::collections::{BTreeMap, BTreeSet};

use custody_policy::{
    apply, changes_state, check, rule, CustomerState, Effect, ShardState, Verdict, RULES,
};
use custody_proto::v1::{self, Actor};
use custody_proto::{Event, Kind, Timestamp};
use proptest::prelude::*;

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(items).prop_map(str::to_string)
}

fn country() -> impl Strategy<Value = String> {
    pick(&[
        "IE", "DE", "NO", "US", "IN", "CH", "GB", "JP", "", "ie", "XYZ",
    ])
}

fn cats() -> impl Strategy<Value = Vec<i32>> {
    proptest::collection::vec(-1i32..6, 0..4)
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![8 => 0i32..8, 1 => any::<i32>()]
}

fn ts() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        9 => (1_700_000_000i64..1_700_100_000, 0i32..1_000_000_000)
            .prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
        1 => (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }),
    ]
}

fn opt_ts() -> impl Strategy<Value = Option<Timestamp>> {
    prop_oneof![1 => Just(None), 4 => ts().prop_map(Some)]
}

fn request_id() -> impl Strategy<Value = String> {
    pick(&["r1", "r2", ""])
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (any::<bool>(), country()).prop_map(|(eea, home)| Kind::CustomerProfileSet(
            v1::CustomerProfileSet {
                support_plan: "premier".into(),
                eea_storage_only: eea,
                home_country: home,
                display_name: String::new(),
            }
        )),
        (pick(&["s1", "s2"]), country(), opt_ts(), opt_ts()).prop_map(|(id, c, from, to)| {
            Kind::SubcontractorRegistered(v1::SubcontractorRegistered {
                subcontractor_id: id,
                name: "Sub".into(),
                country: c,
                attestation_reference: "ATT".into(),
                attestation_valid_from: from,
                attestation_valid_to: to,
            })
        }),
        (
            enum_value(),
            cats(),
            country(),
            any::<bool>(),
            pick(&["", "perm", " "]),
            any::<bool>()
        )
            .prop_map(
                |(means, categories, storage, enc, perm, cred)| Kind::DataCollected(
                    v1::DataCollected {
                        means,
                        categories,
                        storage_country: storage,
                        encrypted_channel: enc,
                        permission_reference: perm,
                        credentials_present: cred,
                        description: String::new(),
                        resource: "res".into(),
                    }
                )
            ),
        (enum_value(), cats(), pick(&["", "why"]), enum_value()).prop_map(
            |(purpose, categories, j, means)| {
                Kind::DataAccessed(v1::DataAccessed {
                    purpose,
                    categories,
                    resource: "res".into(),
                    justification: j,
                    means,
                })
            }
        ),
        (
            country(),
            country(),
            cats(),
            enum_value(),
            any::<bool>(),
            enum_value(),
            enum_value()
        )
            .prop_map(|(from, to, categories, mech, stored, recipient, purpose)| {
                Kind::DataTransferred(v1::DataTransferred {
                    from_country: from,
                    to_country: to,
                    categories,
                    legal_mechanism: mech,
                    reason: 1,
                    stored_at_destination: stored,
                    recipient_kind: recipient,
                    recipient_name: "R".into(),
                    purpose,
                })
            }),
        (pick(&["s1", "s2", "s3"]), cats(), enum_value(), country()).prop_map(
            |(id, categories, purpose, loc)| {
                Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
                    subcontractor_id: id,
                    categories,
                    purpose,
                    location_country: loc,
                })
            }
        ),
        (cats(), enum_value()).prop_map(|(categories, reason)| Kind::DataDeleted(
            v1::DataDeleted {
                categories,
                reason,
                resource: String::new(),
            }
        )),
        (
            request_id(),
            enum_value(),
            any::<bool>(),
            cats(),
            any::<bool>(),
            opt_ts()
        )
            .prop_map(|(id, instrument, binding, scope, ndo, exp)| {
                Kind::LawEnforcementRequestReceived(v1::LawEnforcementRequestReceived {
                    request_id: id,
                    agency: "A".into(),
                    jurisdiction: "US".into(),
                    instrument,
                    legally_binding: binding,
                    scope_requested: scope,
                    nondisclosure_order: ndo,
                    nondisclosure_expires_at: exp,
                })
            }),
        request_id().prop_map(
            |id| Kind::LawEnforcementRedirected(v1::LawEnforcementRedirected {
                request_id: id,
                note: String::new(),
            })
        ),
        request_id().prop_map(|id| Kind::LawEnforcementCustomerNotified(
            v1::LawEnforcementCustomerNotified {
                request_id: id,
                method: String::new()
            }
        )),
        (request_id(), cats()).prop_map(|(id, scope)| Kind::LawEnforcementDisclosed(
            v1::LawEnforcementDisclosed {
                request_id: id,
                scope_released: scope,
            }
        )),
        (request_id(), enum_value()).prop_map(|(id, outcome)| Kind::LawEnforcementClosed(
            v1::LawEnforcementClosed {
                request_id: id,
                outcome,
            }
        )),
        Just(Kind::ReportRead(v1::ReportRead {
            report: "disclosure".into(),
            reader: "officer".into(),
            reader_role: "officer".into(),
        })),
    ]
}

fn actor() -> impl Strategy<Value = Option<Actor>> {
    prop_oneof![
        1 => Just(None),
        6 => (enum_value(), enum_value(), country()).prop_map(|(role, entity, loc)| Some(Actor {
            id: "a1".into(),
            role,
            entity_kind: entity,
            entity_name: "Org".into(),
            office_country: loc.clone(),
            location_country: loc,
        })),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (
        pick(&["c1", "c2", ""]),
        opt_ts(),
        pick(&["", "k1", "k2"]),
        actor(),
        prop_oneof![1 => Just(None), 12 => kind().prop_map(Some)],
    )
        .prop_map(|(customer_id, occurred_at, case_id, actor, kind)| Event {
            event_id: "e".into(),
            customer_id,
            occurred_at,
            service: "svc".into(),
            case_id,
            actor,
            kind,
        })
}

/// What the ledger persists after an event: nothing unless the real
/// [`changes_state`] says the event can change the state (the fold's
/// optimisation); then, mirroring `write_state` in ledger/src/fold.rs, the
/// event's customer and the subcontractor a registration names.
#[derive(Default, PartialEq, Debug)]
struct Persisted {
    customers: BTreeMap<String, String>,
    subcontractors: BTreeMap<String, String>,
    /// The shard's event time, written once per batch by the ledger (here:
    /// after every event, a batch of one).
    event_time: String,
    /// Sequence numbers of events whose state write the ledger would skip
    /// although `apply` changed the state (must stay empty).
    unsound_skips: Vec<u64>,
}

impl Persisted {
    fn write(&mut self, state: &ShardState, event: &Event, verdicts: &[Verdict]) {
        self.event_time = serde_json::to_string(&state.event_time).expect("json");
        if !changes_state(event, verdicts) {
            return;
        }
        match state.customers.get(&event.customer_id) {
            Some(c) => {
                self.customers.insert(
                    event.customer_id.clone(),
                    serde_json::to_string(c).expect("json"),
                );
            }
            None if !event.customer_id.is_empty() => {
                self.customers.remove(&event.customer_id);
            }
            None => {}
        }
        if let Some(Kind::SubcontractorRegistered(s)) = &event.kind {
            if let Some(sub) = state.subcontractors.get(&s.subcontractor_id) {
                self.subcontractors.insert(
                    s.subcontractor_id.clone(),
                    serde_json::to_string(sub).expect("json"),
                );
            }
        }
    }

    fn load(&self) -> ShardState {
        ShardState {
            customers: self
                .customers
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        serde_json::from_str::<CustomerState>(v).expect("parse"),
                    )
                })
                .collect(),
            subcontractors: self
                .subcontractors
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::from_str(v).expect("parse")))
                .collect(),
            event_time: if self.event_time.is_empty() {
                Default::default()
            } else {
                serde_json::from_str(&self.event_time).expect("parse")
            },
        }
    }
}

fn fold(events: &[Event]) -> (ShardState, Vec<Vec<Verdict>>, Persisted) {
    let mut state = ShardState::default();
    let mut persisted = Persisted::default();
    let mut all = Vec::new();
    for (seq, e) in events.iter().enumerate() {
        let v = check(&state, e, seq as u64);
        let before = state.clone();
        apply(&mut state, e, seq as u64, &v);
        if !changes_state(e, &v)
            && (state.customers != before.customers
                || state.subcontractors != before.subcontractors)
        {
            persisted.unsound_skips.push(seq as u64);
        }
        persisted.write(&state, e, &v);
        all.push(v);
    }
    (state, all, persisted)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn deterministic_and_rebuildable_from_the_entries(events in proptest::collection::vec(event(), 0..40)) {
        let (state, verdicts, persisted) = fold(&events);
        let (again, verdicts_again, _) = fold(&events);
        prop_assert_eq!(&state, &again);
        prop_assert_eq!(&verdicts, &verdicts_again);
        // The ledger never skips a write that `apply` needed...
        prop_assert!(persisted.unsound_skips.is_empty(), "state changed without changes_state at {:?}", persisted.unsound_skips);
        // ...so what it stored after each event is exactly the live state.
        prop_assert_eq!(persisted.load(), state.clone());
        // The whole state survives JSON.
        let json = serde_json::to_string(&state).expect("json");
        prop_assert_eq!(serde_json::from_str::<ShardState>(&json).expect("parse"), state.clone());
        prop_assert!(state.customers.values().all(|c| !c.is_empty()));
        prop_assert!(!state.customers.contains_key(""));
    }

    #[test]
    fn verdicts_are_well_formed(events in proptest::collection::vec(event(), 0..40)) {
        let (_, verdicts, _) = fold(&events);
        let mut open: BTreeSet<(String, String, u64)> = BTreeSet::new();
        let mut breaches: BTreeSet<(String, String, u64)> = BTreeSet::new();
        for (seq, (e, vs)) in events.iter().zip(&verdicts).enumerate() {
            let seq = seq as u64;
            let mut last_index = 0;
            let mut findings = BTreeSet::new();
            for v in vs {
                let r = rule(&v.rule);
                prop_assert!(r.is_some(), "unknown rule {}", v.rule);
                let r = r.expect("rule");
                prop_assert_eq!(v.severity, r.severity);
                prop_assert!(!v.explanation.is_empty());
                let index = RULES.iter().position(|x| x.id == r.id).expect("index");
                prop_assert!(index >= last_index, "verdicts out of RULES order");
                last_index = index;
                match v.effect.clone() {
                    Effect::Breach => {
                        prop_assert!(findings.insert(v.rule.clone()), "two findings of {} on one event", v.rule);
                        breaches.insert((e.customer_id.clone(), v.rule.clone(), seq));
                    }
                    Effect::Withdraws { opened_seq, customer } => {
                        prop_assert!(r.late_evidence.is_some(), "{} withdraws but names no late evidence", r.id);
                        prop_assert!(opened_seq < seq);
                        prop_assert!(
                            breaches.remove(&(customer, v.rule.clone(), opened_seq)),
                            "{} withdraws {} which is no breach not yet withdrawn", v.rule, opened_seq
                        );
                    }
                    Effect::Obligation { due_ms } => {
                        prop_assert!(r.remedy.is_some(), "{} opens an obligation but names no remedy", r.id);
                        prop_assert!(findings.insert(v.rule.clone()), "two findings of {} on one event", v.rule);
                        prop_assert!(due_ms >= e.occurred_at.as_ref().map(custody_proto::timestamp_ms).unwrap_or(0));
                        open.insert((e.customer_id.clone(), v.rule.clone(), seq));
                    }
                    Effect::Discharges { opened_seq } => {
                        prop_assert!(opened_seq < seq);
                        prop_assert!(
                            open.remove(&(e.customer_id.clone(), v.rule.clone(), opened_seq)),
                            "{} discharges {} which is not open", v.rule, opened_seq
                        );
                    }
                    Effect::Opens => {
                        prop_assert!(r.remedy.is_some(), "{} opens but names no remedy", r.id);
                        prop_assert!(findings.insert(v.rule.clone()), "two findings of {} on one event", v.rule);
                        open.insert((e.customer_id.clone(), v.rule.clone(), seq));
                    }
                    Effect::Closes { opened_seq } => {
                        prop_assert!(opened_seq < seq);
                        prop_assert!(
                            open.remove(&(e.customer_id.clone(), v.rule.clone(), opened_seq)),
                            "{} closes {} which is not open", v.rule, opened_seq
                        );
                    }
                }
            }
        }
    }

    /// The fold skips the state write when `changes_state` is false, so that
    /// must never happen while `apply` changes a customer's or a
    /// subcontractor's state.
    #[test]
    fn changes_state_is_true_whenever_apply_changes_the_state(
        history in proptest::collection::vec(event(), 0..30),
        last in event(),
    ) {
        let (state, _, _) = fold(&history);
        let seq = history.len() as u64;
        let v = check(&state, &last, seq);
        let mut after = state.clone();
        apply(&mut after, &last, seq, &v);
        if !changes_state(&last, &v) {
            prop_assert_eq!(&after.customers, &state.customers, "customer state changed");
            prop_assert_eq!(&after.subcontractors, &state.subcontractors, "subcontractor state changed");
        }
        // The optimisation applies where it matters: accesses and report
        // reads without verdicts (most of the traffic) skip the write.
        if v.is_empty() && matches!(last.kind, Some(Kind::DataAccessed(_)) | Some(Kind::ReportRead(_))) {
            prop_assert!(!changes_state(&last, &v));
            prop_assert_eq!(after.customers, state.customers);
            prop_assert_eq!(after.subcontractors, state.subcontractors);
        }
    }
}
