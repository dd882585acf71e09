//! One customer's story, written as the proto3 JSON services emit, folded
//! through `check` + `apply`: which rules fire on which event.

use custody_policy::{apply, check, Effect, ShardState};
use custody_proto::{event_from_json, validate, Event};

fn ms(rfc3339: &str) -> i64 {
    let e = event_from_json(&format!(
        r#"{{"eventId":"t","customerId":"c","occurredAt":"{rfc3339}","reportRead":{{}}}}"#
    ))
    .unwrap_or_else(|err| panic!("{rfc3339}: {err}"));
    custody_proto::timestamp_ms(e.occurred_at.as_ref().expect("time"))
}

fn ev(n: usize, at: &str, case: &str, role: &str, kind: &str) -> Event {
    let customer = if kind.starts_with("\"subcontractorRegistered\"") {
        ""
    } else {
        "cust-1"
    };
    let actor = if role.is_empty() {
        String::new()
    } else {
        format!(r#","actor":{{"id":"{role}-1","role":"ROLE_{role}","locationCountry":"IE"}}"#)
    };
    let json = format!(
        r#"{{"eventId":"e{n}","customerId":"{customer}","occurredAt":"{at}","caseId":"{case}"{actor},{kind}}}"#
    );
    let e = event_from_json(&json).unwrap_or_else(|err| panic!("{json}: {err}"));
    validate(&e).unwrap_or_else(|err| panic!("{json}: {err}"));
    e
}

/// (time, case, actor role, kind as JSON, expected (rule, effect) list)
type Step = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, Effect)>,
);

#[test]
fn a_customer_story() {
    let story: Vec<Step> = vec![
        (
            "2026-01-01T00:00:00Z",
            "",
            "",
            r#""subcontractorRegistered":{"subcontractorId":"sub-pl","name":"Initech Polska","country":"PL","attestationValidFrom":"2025-01-01T00:00:00Z","attestationValidTo":"2026-02-01T00:00:00Z"}"#,
            vec![],
        ),
        (
            "2026-01-05T09:00:00Z",
            "",
            "",
            r#""customerProfileSet":{"supportPlan":"premier-eea","eeaStorageOnly":true,"homeCountry":"DE"}"#,
            vec![],
        ),
        // Case 1: a clean support case.
        (
            "2026-01-06T09:00:00Z",
            "c1",
            "SUPPORT_ENGINEER",
            r#""dataCollected":{"means":"COLLECTION_MEANS_PHONE_OR_CHAT","categories":["DATA_CATEGORY_CONTACT","DATA_CATEGORY_CUSTOMER"],"storageCountry":"IE","encryptedChannel":true}"#,
            vec![],
        ),
        (
            "2026-01-06T10:00:00Z",
            "c1",
            "SUPPORT_ENGINEER",
            r#""dataCollected":{"means":"COLLECTION_MEANS_REMOTE_ACCESS","categories":["DATA_CATEGORY_CUSTOMER"],"storageCountry":"IE","encryptedChannel":true,"permissionReference":"perm-c1"}"#,
            vec![],
        ),
        (
            "2026-01-06T10:05:00Z",
            "c1",
            "SUPPORT_ENGINEER",
            r#""dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"],"means":"COLLECTION_MEANS_REMOTE_ACCESS"}"#,
            vec![],
        ),
        (
            "2026-01-06T11:00:00Z",
            "c1",
            "SUPPORT_ENGINEER",
            r#""dataTransferred":{"fromCountry":"IE","toCountry":"US","categories":["DATA_CATEGORY_CUSTOMER"],"legalMechanism":"LEGAL_MECHANISM_STANDARD_CONTRACTUAL_CLAUSES","reason":"TRANSFER_REASON_ESCALATION","recipientKind":"ENTITY_KIND_ORGANISATION","purpose":"PURPOSE_PROVIDING_SUPPORT"}"#,
            vec![],
        ),
        (
            "2026-01-06T12:00:00Z",
            "c1",
            "SUPPORT_ENGINEER",
            r#""subcontractorHandoff":{"subcontractorId":"sub-pl","categories":["DATA_CATEGORY_CUSTOMER"],"purpose":"PURPOSE_PROVIDING_SUPPORT","locationCountry":"PL"}"#,
            vec![],
        ),
        (
            "2026-01-07T09:00:00Z",
            "c1",
            "AUTOMATED_SYSTEM",
            r#""dataAccessed":{"purpose":"PURPOSE_COMMUNICATIONS","categories":["DATA_CATEGORY_CONTACT"]}"#,
            vec![],
        ),
        // Case 2: credentials arrive, private data without justification, sales peeks.
        (
            "2026-01-10T09:00:00Z",
            "c2",
            "SUPPORT_ENGINEER",
            r#""dataCollected":{"means":"COLLECTION_MEANS_EMAIL_OR_WEB","categories":["DATA_CATEGORY_CREDENTIALS"],"storageCountry":"IE","encryptedChannel":false,"credentialsPresent":true}"#,
            vec![
                (
                    "CREDENTIALS-DELETED",
                    Effect::Obligation {
                        due_ms: ms("2026-01-17T09:00:00Z"),
                    },
                ),
                ("PRIVATE-ENCRYPTED", Effect::Breach),
            ],
        ),
        (
            "2026-01-10T10:00:00Z",
            "c2",
            "SUPPORT_ENGINEER",
            r#""dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_PRIVATE"]}"#,
            vec![("USE-MATRIX", Effect::Breach)],
        ),
        (
            "2026-01-10T11:00:00Z",
            "c2",
            "SALES",
            r#""dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}"#,
            vec![("NO-SALES-MARKETING-ACCESS", Effect::Breach)],
        ),
        (
            "2026-01-10T12:00:00Z",
            "c2",
            "SUPPORT_ENGINEER",
            r#""dataDeleted":{"categories":["DATA_CATEGORY_CREDENTIALS"],"reason":"DELETION_REASON_CREDENTIALS_RECEIVED"}"#,
            vec![("CREDENTIALS-DELETED", Effect::Discharges { opened_seq: 8 })],
        ),
        // Residency and transfers.
        (
            "2026-01-11T09:00:00Z",
            "c2",
            "SUPPORT_ENGINEER",
            r#""dataTransferred":{"fromCountry":"IE","toCountry":"CH","categories":["DATA_CATEGORY_CUSTOMER"],"storedAtDestination":true,"recipientKind":"ENTITY_KIND_AFFILIATE","purpose":"PURPOSE_PROVIDING_SUPPORT"}"#,
            vec![
                ("EEA-RESIDENCY", Effect::Breach),
                ("EEA-TRANSFER-MECHANISM", Effect::Breach),
            ],
        ),
        (
            "2026-03-01T09:00:00Z",
            "c2",
            "SUPPORT_ENGINEER",
            r#""subcontractorHandoff":{"subcontractorId":"sub-pl","categories":["DATA_CATEGORY_CUSTOMER"],"purpose":"PURPOSE_IMPROVING_SUPPORT","locationCountry":"PL"}"#,
            vec![
                ("SUB-ATTESTATION", Effect::Breach),
                ("SUB-PURPOSE", Effect::Breach),
            ],
        ),
        (
            "2026-03-01T10:00:00Z",
            "c2",
            "MARKETING",
            r#""dataTransferred":{"fromCountry":"IE","toCountry":"IE","categories":["DATA_CATEGORY_CONTACT"],"recipientKind":"ENTITY_KIND_THIRD_PARTY","recipientName":"AdNetwork","purpose":"PURPOSE_ADVERTISING"}"#,
            vec![
                ("USE-MATRIX", Effect::Breach),
                ("NO-SALES-MARKETING-ACCESS", Effect::Breach),
                ("NO-AD-TRANSFER", Effect::Breach),
            ],
        ),
        // Law enforcement: a proper request under a non-disclosure order...
        (
            "2026-04-01T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRequestReceived":{"requestId":"le-1","agency":"BKA","jurisdiction":"DE","instrument":"LEGAL_INSTRUMENT_COURT_ORDER","legallyBinding":true,"scopeRequested":["DATA_CATEGORY_CONTACT"],"nondisclosureOrder":true,"nondisclosureExpiresAt":"2026-05-01T00:00:00Z"}"#,
            vec![],
        ),
        (
            "2026-04-02T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRedirected":{"requestId":"le-1"}"#,
            vec![],
        ),
        (
            "2026-04-03T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementDisclosed":{"requestId":"le-1","scopeReleased":["DATA_CATEGORY_CONTACT"]}"#,
            vec![],
        ),
        (
            "2026-04-04T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementClosed":{"requestId":"le-1","outcome":"LAW_ENFORCEMENT_OUTCOME_DISCLOSED"}"#,
            vec![],
        ),
        // ...one without redirect or notice, releasing too much, notified one second late...
        (
            "2026-05-01T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRequestReceived":{"requestId":"le-2","agency":"FBI","jurisdiction":"US","instrument":"LEGAL_INSTRUMENT_SUBPOENA","legallyBinding":true,"scopeRequested":["DATA_CATEGORY_CONTACT"]}"#,
            vec![],
        ),
        (
            "2026-05-02T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementDisclosed":{"requestId":"le-2","scopeReleased":["DATA_CATEGORY_CONTACT","DATA_CATEGORY_CUSTOMER"]}"#,
            vec![
                ("LE-REDIRECT-FIRST", Effect::Breach),
                ("LE-SCOPE", Effect::Breach),
                (
                    "LE-NOTICE",
                    Effect::Obligation {
                        due_ms: ms("2026-05-02T09:00:00Z"),
                    },
                ),
            ],
        ),
        (
            "2026-05-02T09:00:01Z",
            "",
            "LEGAL",
            r#""lawEnforcementCustomerNotified":{"requestId":"le-2","method":"email"}"#,
            vec![("LE-NOTICE", Effect::Closes { opened_seq: 20 })],
        ),
        // ...and a voluntary disclosure on an informal request.
        (
            "2026-06-01T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRequestReceived":{"requestId":"le-3","agency":"Police","jurisdiction":"GB","instrument":"LEGAL_INSTRUMENT_INFORMAL_REQUEST","scopeRequested":["DATA_CATEGORY_CONTACT"]}"#,
            vec![],
        ),
        (
            "2026-06-01T10:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRedirected":{"requestId":"le-3"}"#,
            vec![],
        ),
        (
            "2026-06-01T11:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementCustomerNotified":{"requestId":"le-3"}"#,
            vec![],
        ),
        (
            "2026-06-02T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementDisclosed":{"requestId":"le-3","scopeReleased":["DATA_CATEGORY_CONTACT"]}"#,
            vec![("LE-NO-VOLUNTARY", Effect::Breach)],
        ),
        (
            "2026-06-03T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementDisclosed":{"requestId":"le-9","scopeReleased":["DATA_CATEGORY_CONTACT"]}"#,
            vec![("LE-NO-VOLUNTARY", Effect::Breach)],
        ),
    ];

    let mut state = ShardState::default();
    for (n, (at, case, role, kind, expected)) in story.iter().enumerate() {
        let e = ev(n, at, case, role, kind);
        let verdicts = check(&state, &e, n as u64);
        apply(&mut state, &e, n as u64, &verdicts);
        let got: Vec<(&str, Effect)> = verdicts
            .iter()
            .map(|v| (v.rule.as_str(), v.effect.clone()))
            .collect();
        assert_eq!(&got, expected, "event {n} ({kind}): {verdicts:#?}");
    }
    let c = &state.customers["cust-1"];
    assert!(c.open_findings.is_empty(), "{:?}", c.open_findings);
    assert!(c.credentials_awaiting_deletion().is_empty());
    assert_eq!(c.requests.keys().collect::<Vec<_>>(), ["le-2", "le-3"]);
    assert!(c.remote_access_permissions.contains_key("c1"));
}

/// Issue 12's arrival-order cases, in the order they arrived: evidence
/// dated earlier, received after the event it excuses, leaves no final
/// finding; compliant credential handling leaves none at all.
#[test]
fn late_evidence_withdraws_and_obligations_are_met_in_event_time() {
    let story: Vec<Step> = vec![
        (
            "2026-03-20T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRequestReceived":{"requestId":"le-1","agency":"Police","jurisdiction":"US","instrument":"LEGAL_INSTRUMENT_SEARCH_WARRANT","legallyBinding":true,"scopeRequested":["DATA_CATEGORY_CONTACT"]}"#,
            vec![],
        ),
        // The disclosure of 04-03 arrives before the redirect of 04-01 and
        // the notice of 04-02.
        (
            "2026-04-03T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementDisclosed":{"requestId":"le-1","scopeReleased":["DATA_CATEGORY_CONTACT"]}"#,
            vec![
                ("LE-REDIRECT-FIRST", Effect::Breach),
                (
                    "LE-NOTICE",
                    Effect::Obligation {
                        due_ms: ms("2026-04-03T09:00:00Z"),
                    },
                ),
            ],
        ),
        (
            "2026-04-01T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementRedirected":{"requestId":"le-1"}"#,
            vec![(
                "LE-REDIRECT-FIRST",
                Effect::Withdraws {
                    opened_seq: 1,
                    customer: "cust-1".into(),
                },
            )],
        ),
        (
            "2026-04-02T09:00:00Z",
            "",
            "LEGAL",
            r#""lawEnforcementCustomerNotified":{"requestId":"le-1","method":"email"}"#,
            vec![("LE-NOTICE", Effect::Discharges { opened_seq: 1 })],
        ),
        // A handoff of 04-05 arrives before the subcontractor's registration
        // (attestation valid from 2025-12-01).
        (
            "2026-04-05T09:00:00Z",
            "c9",
            "SUPPORT_ENGINEER",
            r#""subcontractorHandoff":{"subcontractorId":"sub-pl","categories":["DATA_CATEGORY_CUSTOMER"],"purpose":"PURPOSE_PROVIDING_SUPPORT","locationCountry":"PL"}"#,
            vec![("SUB-ATTESTATION", Effect::Breach)],
        ),
        (
            "2025-12-01T00:00:00Z",
            "",
            "",
            r#""subcontractorRegistered":{"subcontractorId":"sub-pl","name":"Initech Polska","country":"PL","attestationReference":"ATT-1","attestationValidFrom":"2025-12-01T00:00:00Z","attestationValidTo":"2026-12-01T00:00:00Z"}"#,
            vec![(
                "SUB-ATTESTATION",
                Effect::Withdraws {
                    opened_seq: 4,
                    customer: "cust-1".into(),
                },
            )],
        ),
        // Credentials received and deleted within the deadline: an
        // obligation met, no finding.
        (
            "2026-04-06T09:00:00Z",
            "c9",
            "SUPPORT_ENGINEER",
            r#""dataCollected":{"means":"COLLECTION_MEANS_PHONE_OR_CHAT","categories":["DATA_CATEGORY_CREDENTIALS"],"storageCountry":"US","encryptedChannel":true,"credentialsPresent":true}"#,
            vec![(
                "CREDENTIALS-DELETED",
                Effect::Obligation {
                    due_ms: ms("2026-04-13T09:00:00Z"),
                },
            )],
        ),
        (
            "2026-04-06T10:00:00Z",
            "c9",
            "SUPPORT_ENGINEER",
            r#""dataDeleted":{"categories":["DATA_CATEGORY_CREDENTIALS"],"reason":"DELETION_REASON_CREDENTIALS_RECEIVED"}"#,
            vec![("CREDENTIALS-DELETED", Effect::Discharges { opened_seq: 6 })],
        ),
    ];
    let mut state = ShardState::default();
    for (n, (at, case, role, kind, expected)) in story.iter().enumerate() {
        let e = ev(n, at, case, role, kind);
        let verdicts = check(&state, &e, n as u64);
        apply(&mut state, &e, n as u64, &verdicts);
        let got: Vec<(&str, Effect)> = verdicts
            .iter()
            .map(|v| (v.rule.as_str(), v.effect.clone()))
            .collect();
        assert_eq!(&got, expected, "event {n} ({kind}): {verdicts:#?}");
    }
    // Nothing provisional, nothing open: no finding stands.
    assert!(state.event_time.provisional.is_empty());
    assert!(state.customers["cust-1"].open_findings.is_empty());
    assert_eq!(
        state.event_time.watermark_ms,
        Some(ms("2026-04-06T10:00:00Z"))
    );
}
