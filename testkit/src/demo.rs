//! A deterministic, realistic workload: customers (some with the EEA storage
//! option), support cases through every collection means, engineers and
//! subcontractor staff in several countries, escalations across locations,
//! subcontractor handoffs, law-enforcement requests with every outcome (some
//! under non-disclosure orders), and a sprinkling of breaches of every
//! commitment. The same parameters always give the same events.

use custody_proto::v1::{self, event::Kind, Actor};
use custody_proto::{timestamp_from_ms, Event};

/// Size of the generated workload.
#[derive(Debug, Clone, Copy)]
pub struct DemoParams {
    pub customers: u32,
    /// Support cases per customer (on average).
    pub cases_per_customer: u32,
    pub seed: u64,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams {
            customers: 40,
            cases_per_customer: 6,
            seed: 2026,
        }
    }
}

/// splitmix64: tiny, fast and reproducible everywhere (also used by the
/// query benchmark's generator).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// 2026-01-05T09:00:00Z
const START_MS: i64 = 1_767_603_600_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

use v1::{
    CollectionMeans as M, DataCategory as C, EntityKind as E, LegalInstrument as I,
    LegalMechanism as L, Purpose as P, Role as R, TransferReason as T,
};

struct Person {
    id: &'static str,
    role: R,
    entity: E,
    entity_name: &'static str,
    office: &'static str,
    location: &'static str,
}

const ENGINEERS: &[Person] = &[
    Person {
        id: "eng-ana.us",
        role: R::SupportEngineer,
        entity: E::Organisation,
        entity_name: "Support Org Inc.",
        office: "US",
        location: "US",
    },
    Person {
        id: "eng-bram.ie",
        role: R::SupportEngineer,
        entity: E::Organisation,
        entity_name: "Support Org Ireland Ltd.",
        office: "IE",
        location: "IE",
    },
    Person {
        id: "eng-chen.in",
        role: R::SupportEngineer,
        entity: E::Affiliate,
        entity_name: "Support Org India Pvt.",
        office: "IN",
        location: "IN",
    },
    Person {
        id: "eng-dana.de",
        role: R::SupportEngineer,
        entity: E::Affiliate,
        entity_name: "Support Org GmbH",
        office: "DE",
        location: "DE",
    },
    Person {
        id: "eng-eli.us",
        role: R::SupportEngineer,
        entity: E::Organisation,
        entity_name: "Support Org Inc.",
        office: "US",
        location: "CA",
    },
];
const ESCALATION: &[Person] = &[
    Person {
        id: "esc-fay.us",
        role: R::EscalationEngineer,
        entity: E::Organisation,
        entity_name: "Support Org Inc.",
        office: "US",
        location: "US",
    },
    Person {
        id: "esc-gus.ie",
        role: R::EscalationEngineer,
        entity: E::Organisation,
        entity_name: "Support Org Ireland Ltd.",
        office: "IE",
        location: "IE",
    },
];
const SUB_STAFF: &[(Person, &str)] = &[
    (
        Person {
            id: "sub-hal.in",
            role: R::SubcontractorStaff,
            entity: E::Subcontractor,
            entity_name: "Acme Support Services",
            office: "IN",
            location: "IN",
        },
        "sub-acme",
    ),
    (
        Person {
            id: "sub-ivy.ph",
            role: R::SubcontractorStaff,
            entity: E::Subcontractor,
            entity_name: "Globex Contact Centers",
            office: "PH",
            location: "PH",
        },
        "sub-globex",
    ),
    (
        Person {
            id: "sub-jan.pl",
            role: R::SubcontractorStaff,
            entity: E::Subcontractor,
            entity_name: "Initech Polska",
            office: "PL",
            location: "PL",
        },
        "sub-initech",
    ),
];
const BOT: Person = Person {
    id: "troubleshooter",
    role: R::AutomatedSystem,
    entity: E::Organisation,
    entity_name: "Support Org Inc.",
    office: "US",
    location: "US",
};
const SALES: Person = Person {
    id: "sales-kim.us",
    role: R::Sales,
    entity: E::Organisation,
    entity_name: "Support Org Inc.",
    office: "US",
    location: "US",
};
const LEGAL: Person = Person {
    id: "legal-lou.us",
    role: R::Legal,
    entity: E::Organisation,
    entity_name: "Support Org Inc.",
    office: "US",
    location: "US",
};

const EEA_HOMES: &[&str] = &["DE", "FR", "IE", "NL", "SE", "ES", "IT", "PL"];
const OTHER_HOMES: &[&str] = &["US", "CA", "JP", "BR", "AU", "GB", "CH"];

fn actor(p: &Person) -> Option<Actor> {
    Some(Actor {
        id: p.id.into(),
        role: p.role as i32,
        entity_kind: p.entity as i32,
        entity_name: p.entity_name.into(),
        office_country: p.office.into(),
        location_country: p.location.into(),
    })
}

fn cats(c: &[C]) -> Vec<i32> {
    c.iter().map(|c| *c as i32).collect()
}

struct Builder {
    events: Vec<Event>,
    /// When each event reaches Custody: its `occurred_at`, or later for
    /// the few the demo delivers late (`arrives_late`). The demo is
    /// emitted in arrival order, as services would send it.
    arrivals: Vec<i64>,
    next_id: u64,
}

impl Builder {
    fn push(
        &mut self,
        customer: &str,
        at: i64,
        service: &str,
        case: &str,
        who: Option<&Person>,
        kind: Kind,
    ) {
        self.next_id += 1;
        self.arrivals.push(at);
        self.events.push(Event {
            event_id: format!("demo-{:07}", self.next_id),
            customer_id: customer.into(),
            occurred_at: Some(timestamp_from_ms(at)),
            service: service.into(),
            case_id: case.into(),
            actor: who.and_then(actor),
            kind: Some(kind),
        });
    }

    /// The event pushed last reaches Custody `delay` ms after it occurred.
    fn arrives_late(&mut self, delay: i64) {
        if let Some(a) = self.arrivals.last_mut() {
            *a += delay;
        }
    }

    /// The events in arrival order (stable: same time, push order).
    fn into_events(self) -> Vec<Event> {
        let mut order: Vec<(i64, Event)> = self.arrivals.into_iter().zip(self.events).collect();
        order.sort_by_key(|(arrival, _)| *arrival);
        order.into_iter().map(|(_, e)| e).collect()
    }
}

fn collected(
    means: M,
    c: &[C],
    storage: &str,
    encrypted: bool,
    permission: &str,
    credentials: bool,
) -> Kind {
    Kind::DataCollected(v1::DataCollected {
        means: means as i32,
        categories: cats(c),
        storage_country: storage.into(),
        encrypted_channel: encrypted,
        permission_reference: permission.into(),
        credentials_present: credentials,
        description: String::new(),
        resource: String::new(),
    })
}

fn accessed(purpose: P, c: &[C], resource: &str, justification: &str, means: M) -> Kind {
    Kind::DataAccessed(v1::DataAccessed {
        purpose: purpose as i32,
        categories: cats(c),
        resource: resource.into(),
        justification: justification.into(),
        means: means as i32,
    })
}

// One argument per field of DataTransferred: the demo reads like a table.
#[allow(clippy::too_many_arguments)]
fn transfer(
    from: &str,
    to: &str,
    c: &[C],
    mechanism: L,
    reason: T,
    stored: bool,
    recipient: E,
    name: &str,
    purpose: P,
) -> Kind {
    Kind::DataTransferred(v1::DataTransferred {
        from_country: from.into(),
        to_country: to.into(),
        categories: cats(c),
        legal_mechanism: mechanism as i32,
        reason: reason as i32,
        stored_at_destination: stored,
        recipient_kind: recipient as i32,
        recipient_name: name.into(),
        purpose: purpose as i32,
    })
}

/// Generates the workload, in occurred-at order per customer.
pub fn generate(params: DemoParams) -> Vec<Event> {
    let mut rng = Rng(params.seed);
    let mut b = Builder {
        events: Vec::new(),
        arrivals: Vec::new(),
        next_id: 0,
    };

    // Subcontractor registry (global events: no customer).
    let subs = [
        (
            "sub-acme",
            "Acme Support Services",
            "IN",
            START_MS - 365 * DAY,
            START_MS + 700 * DAY,
        ),
        // Globex's attestation lapses two months in: later handoffs breach.
        (
            "sub-globex",
            "Globex Contact Centers",
            "PH",
            START_MS - 300 * DAY,
            START_MS + 60 * DAY,
        ),
        (
            "sub-initech",
            "Initech Polska",
            "PL",
            START_MS - 100 * DAY,
            START_MS + 500 * DAY,
        ),
    ];
    for (id, name, country, from, to) in subs {
        b.push(
            "",
            START_MS - DAY,
            "vendor-registry",
            "",
            None,
            Kind::SubcontractorRegistered(v1::SubcontractorRegistered {
                subcontractor_id: id.into(),
                name: name.into(),
                country: country.into(),
                attestation_reference: format!("ATT-{id}-2026"),
                attestation_valid_from: Some(timestamp_from_ms(from)),
                attestation_valid_to: Some(timestamp_from_ms(to)),
            }),
        );
    }

    let mut le_counter = 0u32;
    for n in 0..params.customers {
        let customer = format!("cust-{n:05}");
        let eea = n % 3 == 0;
        let home = if eea {
            *rng.pick(EEA_HOMES)
        } else {
            *rng.pick(OTHER_HOMES)
        };
        let storage = if eea { "IE" } else { "US" };
        let mut t = START_MS + (rng.below(20) as i64) * HOUR;
        b.push(
            &customer,
            t,
            "crm",
            "",
            None,
            Kind::CustomerProfileSet(v1::CustomerProfileSet {
                support_plan: if eea {
                    "premier-eea".into()
                } else if n % 2 == 0 {
                    "premier".into()
                } else {
                    "professional".into()
                },
                eea_storage_only: eea,
                home_country: home.into(),
                display_name: format!("Customer {n:05}"),
            }),
        );

        let cases = 1 + rng.below(u64::from(params.cases_per_customer.max(1)) * 2 - 1) as u32;
        for c in 0..cases {
            let case = format!("case-{n:05}-{c:02}");
            t += DAY * (1 + rng.below(12) as i64);
            let eng = rng.pick(ENGINEERS);
            // Contact by phone or chat: contact data, stored in the customer's region.
            b.push(
                &customer,
                t,
                "phone-chat",
                &case,
                Some(eng),
                collected(
                    M::PhoneOrChat,
                    &[C::Contact, C::Customer],
                    storage,
                    true,
                    "",
                    false,
                ),
            );
            t += HOUR;
            b.push(
                &customer,
                t,
                "case-tool",
                &case,
                Some(eng),
                accessed(
                    P::ProvidingSupport,
                    &[C::Contact, C::Customer],
                    "case-notes",
                    "",
                    M::Unspecified,
                ),
            );
            match rng.below(4) {
                0 => {
                    t += HOUR;
                    let permission = format!("perm-{case}");
                    b.push(
                        &customer,
                        t,
                        "remote-assist",
                        &case,
                        Some(eng),
                        collected(
                            M::RemoteAccess,
                            &[C::Customer],
                            storage,
                            true,
                            &permission,
                            false,
                        ),
                    );
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "remote-assist",
                        &case,
                        Some(eng),
                        collected(
                            M::Recording,
                            &[C::Customer],
                            storage,
                            true,
                            &permission,
                            false,
                        ),
                    );
                }
                1 => {
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "file-transfer",
                        &case,
                        Some(eng),
                        collected(
                            M::SecureFileTransfer,
                            &[C::Customer],
                            storage,
                            true,
                            "",
                            false,
                        ),
                    );
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "file-transfer",
                        &case,
                        Some(eng),
                        accessed(
                            P::ProvidingSupport,
                            &[C::Customer],
                            "trace.etl",
                            "",
                            M::SecureFileTransfer,
                        ),
                    );
                }
                2 => {
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "troubleshooter",
                        &case,
                        Some(&BOT),
                        collected(
                            M::AutomatedTroubleshooter,
                            &[C::Customer],
                            storage,
                            true,
                            "",
                            false,
                        ),
                    );
                }
                _ => {
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "file-transfer",
                        &case,
                        Some(eng),
                        collected(
                            M::SecureFileTransfer,
                            &[C::Customer, C::Private],
                            storage,
                            true,
                            "",
                            false,
                        ),
                    );
                    t += HOUR;
                    b.push(
                        &customer,
                        t,
                        "case-tool",
                        &case,
                        Some(eng),
                        accessed(
                            P::ProvidingSupport,
                            &[C::Private],
                            "certificate.pfx",
                            "certificate chain needed to reproduce the TLS failure",
                            M::Unspecified,
                        ),
                    );
                }
            }
            // A few more accesses while working the case.
            for _ in 0..rng.below(4) {
                t += HOUR * (1 + rng.below(6) as i64);
                let who = rng.pick(ENGINEERS);
                b.push(
                    &customer,
                    t,
                    "case-tool",
                    &case,
                    Some(who),
                    accessed(
                        P::ProvidingSupport,
                        &[C::Customer],
                        "case-notes",
                        "",
                        M::Unspecified,
                    ),
                );
            }
            // Escalation across locations.
            if rng.chance(35) {
                t += HOUR * 3;
                let esc = rng.pick(ESCALATION);
                let (from, to) = (storage, esc.location);
                if from != to {
                    let mechanism = if eea && !custody_policy::is_eea(to) {
                        L::StandardContractualClauses
                    } else {
                        L::Unspecified
                    };
                    b.push(
                        &customer,
                        t,
                        "escalation",
                        &case,
                        Some(eng),
                        transfer(
                            from,
                            to,
                            &[C::Customer],
                            mechanism,
                            T::Escalation,
                            false,
                            E::Organisation,
                            esc.entity_name,
                            P::ProvidingSupport,
                        ),
                    );
                }
                t += HOUR;
                b.push(
                    &customer,
                    t,
                    "case-tool",
                    &case,
                    Some(esc),
                    accessed(
                        P::ProvidingSupport,
                        &[C::Customer],
                        "case-notes",
                        "",
                        M::Unspecified,
                    ),
                );
            }
            // Subcontractor handoff, mostly to a subcontractor in force.
            if rng.chance(20) {
                t += HOUR * 2;
                let (staff, sub) = if eea { &SUB_STAFF[2] } else { &SUB_STAFF[0] };
                b.push(
                    &customer,
                    t,
                    "handoff",
                    &case,
                    Some(eng),
                    Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
                        subcontractor_id: (*sub).into(),
                        categories: cats(&[C::Contact, C::Customer]),
                        purpose: P::ProvidingSupport as i32,
                        location_country: staff.location.into(),
                    }),
                );
                t += HOUR;
                b.push(
                    &customer,
                    t,
                    "case-tool",
                    &case,
                    Some(staff),
                    accessed(
                        P::ProvidingSupport,
                        &[C::Customer],
                        "case-notes",
                        "",
                        M::Unspecified,
                    ),
                );
            }
            // After the case: a survey (communications, contact data only) and
            // improving-support analytics.
            t += DAY;
            b.push(
                &customer,
                t,
                "survey",
                &case,
                Some(&BOT),
                accessed(
                    P::Communications,
                    &[C::Contact],
                    "survey-invite",
                    "",
                    M::Unspecified,
                ),
            );
            if rng.chance(40) {
                b.push(
                    &customer,
                    t + HOUR,
                    "analytics",
                    &case,
                    Some(&BOT),
                    accessed(
                        P::ImprovingSupport,
                        &[C::Contact, C::Customer],
                        "case-metrics",
                        "",
                        M::Unspecified,
                    ),
                );
            }
            b.push(
                &customer,
                t + 2 * HOUR,
                "retention",
                &case,
                Some(&BOT),
                Kind::DataDeleted(v1::DataDeleted {
                    categories: cats(&[C::Customer]),
                    reason: v1::DeletionReason::CaseClosed as i32,
                    resource: format!("{case}/attachments"),
                }),
            );
        }

        // Law enforcement: about one customer in four gets a request.
        if n % 4 == 1 {
            le_counter += 1;
            t += DAY * 3;
            law_enforcement(&mut b, &mut rng, &customer, t, le_counter);
            t += DAY * 20;
        }

        breaches(&mut b, &customer, n, eea, storage, t + DAY);
    }
    b.into_events()
}

fn law_enforcement(b: &mut Builder, rng: &mut Rng, customer: &str, t: i64, counter: u32) {
    let request = format!("le-{counter:04}");
    let jurisdictions = [
        ("US", "FBI", I::SearchWarrant),
        ("DE", "BKA", I::CourtOrder),
        ("GB", "Metropolitan Police", I::InformalRequest),
        ("FR", "DGSI", I::Subpoena),
        ("US", "DEA", I::Subpoena),
    ];
    let (jur, agency, instrument) = *rng.pick(&jurisdictions);
    let binding = instrument != I::InformalRequest;
    let outcome_kind = counter % 6;
    let nondisclosure = outcome_kind == 3 || outcome_kind == 4;
    // One order already expired, one still in force at the end of the demo.
    let nd_expiry = if outcome_kind == 3 {
        t + 10 * DAY
    } else {
        t + 3000 * DAY
    };
    let le = |k| k;
    b.push(
        customer,
        t,
        "legal-intake",
        "",
        Some(&LEGAL),
        le(Kind::LawEnforcementRequestReceived(
            v1::LawEnforcementRequestReceived {
                request_id: request.clone(),
                agency: agency.into(),
                jurisdiction: jur.into(),
                instrument: instrument as i32,
                legally_binding: binding,
                scope_requested: cats(&[C::Contact, C::Customer]),
                nondisclosure_order: nondisclosure,
                nondisclosure_expires_at: nondisclosure.then(|| timestamp_from_ms(nd_expiry)),
            },
        )),
    );
    let redirected = Kind::LawEnforcementRedirected(v1::LawEnforcementRedirected {
        request_id: request.clone(),
        note: "requester referred to the customer".into(),
    });
    let closed = |o: v1::LawEnforcementOutcome| {
        Kind::LawEnforcementClosed(v1::LawEnforcementClosed {
            request_id: request.clone(),
            outcome: o as i32,
        })
    };
    use v1::LawEnforcementOutcome as O;
    b.push(
        customer,
        t + DAY,
        "legal-intake",
        "",
        Some(&LEGAL),
        redirected,
    );
    // Every twelfth request's redirect and notice are recorded late: made
    // in time, they reach Custody a day after the disclosure, within the
    // allowed lateness, so the disclosure's findings are withdrawn and
    // discharged (RULES.md, "Event time").
    let late = counter % 12 == 2;
    if late {
        b.arrives_late(10 * DAY);
    }
    match outcome_kind {
        0 => b.push(
            customer,
            t + 5 * DAY,
            "legal-intake",
            "",
            Some(&LEGAL),
            closed(O::RedirectedToCustomer),
        ),
        1 if !binding => b.push(
            customer,
            t + 5 * DAY,
            "legal-intake",
            "",
            Some(&LEGAL),
            closed(O::Rejected),
        ),
        1 | 2 => {
            if !binding {
                b.push(
                    customer,
                    t + 5 * DAY,
                    "legal-intake",
                    "",
                    Some(&LEGAL),
                    closed(O::Rejected),
                );
                return;
            }
            b.push(
                customer,
                t + 3 * DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                Kind::LawEnforcementCustomerNotified(v1::LawEnforcementCustomerNotified {
                    request_id: request.clone(),
                    method: "email to the customer's legal contact".into(),
                }),
            );
            if late {
                b.arrives_late(8 * DAY);
            }
            b.push(
                customer,
                t + 10 * DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
                    request_id: request.clone(),
                    scope_released: cats(&[C::Contact]),
                }),
            );
            b.push(
                customer,
                t + 11 * DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                closed(O::Disclosed),
            );
        }
        3 | 4 => {
            if !binding {
                b.push(
                    customer,
                    t + 5 * DAY,
                    "legal-intake",
                    "",
                    Some(&LEGAL),
                    closed(O::Rejected),
                );
                return;
            }
            // Under a non-disclosure order: no advance notice, disclosure allowed.
            b.push(
                customer,
                t + 6 * DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
                    request_id: request.clone(),
                    scope_released: cats(&[C::Customer]),
                }),
            );
            b.push(
                customer,
                t + 7 * DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                closed(O::Disclosed),
            );
            if outcome_kind == 3 {
                b.push(
                    customer,
                    t + 12 * DAY,
                    "legal-intake",
                    "",
                    Some(&LEGAL),
                    Kind::LawEnforcementCustomerNotified(v1::LawEnforcementCustomerNotified {
                        request_id: request.clone(),
                        method: "notice after the order expired".into(),
                    }),
                );
            }
        }
        _ => b.push(
            customer,
            t + 4 * DAY,
            "legal-intake",
            "",
            Some(&LEGAL),
            closed(if counter.is_multiple_of(2) {
                O::Withdrawn
            } else {
                O::NoData
            }),
        ),
    }
}

/// Injects one breach of one commitment for some customers, cycling through
/// every commitment so each rule fires at least once in the default demo.
fn breaches(b: &mut Builder, customer: &str, n: u32, eea: bool, storage: &str, t: i64) {
    let case = format!("case-{n:05}-x");
    let eng = &ENGINEERS[(n as usize) % ENGINEERS.len()];
    let kind = n % 40;
    match kind {
        // Private data used for support without a recorded justification.
        2 => b.push(
            customer,
            t,
            "case-tool",
            &case,
            Some(eng),
            accessed(
                P::ProvidingSupport,
                &[C::Private],
                "billing-export.csv",
                "",
                M::Unspecified,
            ),
        ),
        // Private data used to improve support.
        5 => b.push(
            customer,
            t,
            "analytics",
            &case,
            Some(&BOT),
            accessed(
                P::ImprovingSupport,
                &[C::Private],
                "health-fields",
                "",
                M::Unspecified,
            ),
        ),
        // Customer data used for a newsletter.
        7 => b.push(
            customer,
            t,
            "newsletter",
            &case,
            Some(&BOT),
            accessed(
                P::Communications,
                &[C::Customer],
                "case-notes",
                "",
                M::Unspecified,
            ),
        ),
        // Advertising.
        8 => b.push(
            customer,
            t,
            "ads",
            &case,
            Some(&BOT),
            accessed(
                P::Advertising,
                &[C::Contact],
                "contact-list",
                "",
                M::Unspecified,
            ),
        ),
        // Sales staff reading a case.
        10 => b.push(
            customer,
            t,
            "case-tool",
            &case,
            Some(&SALES),
            accessed(
                P::ProvidingSupport,
                &[C::Customer],
                "case-notes",
                "",
                M::Unspecified,
            ),
        ),
        // Credentials sent by the customer and never deleted (stays open).
        11 => b.push(
            customer,
            t,
            "file-transfer",
            &case,
            Some(eng),
            collected(
                M::SecureFileTransfer,
                &[C::Customer, C::Credentials],
                storage,
                true,
                "",
                true,
            ),
        ),
        // Credentials sent, deleted three weeks later: past the 7-day
        // deadline, so a finding, closed by the late deletion.
        12 => {
            b.push(
                customer,
                t,
                "phone-chat",
                &case,
                Some(eng),
                collected(M::PhoneOrChat, &[C::Credentials], storage, true, "", true),
            );
            b.push(
                customer,
                t + 21 * DAY,
                "case-tool",
                &case,
                Some(eng),
                Kind::DataDeleted(v1::DataDeleted {
                    categories: cats(&[C::Credentials]),
                    reason: v1::DeletionReason::CredentialsReceived as i32,
                    resource: "chat transcript".into(),
                }),
            );
        }
        // Credentials sent, then deleted within hours: the obligation is
        // discharged, no finding.
        13 => {
            b.push(
                customer,
                t,
                "phone-chat",
                &case,
                Some(eng),
                collected(M::PhoneOrChat, &[C::Credentials], storage, true, "", true),
            );
            b.push(
                customer,
                t + 2 * HOUR,
                "case-tool",
                &case,
                Some(eng),
                Kind::DataDeleted(v1::DataDeleted {
                    categories: cats(&[C::Credentials]),
                    reason: v1::DeletionReason::CredentialsReceived as i32,
                    resource: "chat transcript".into(),
                }),
            );
        }
        // Remote access without a recorded permission.
        14 => b.push(
            customer,
            t,
            "remote-assist",
            &case,
            Some(eng),
            collected(M::RemoteAccess, &[C::Customer], storage, true, "", false),
        ),
        // Private data over an unencrypted channel.
        16 => b.push(
            customer,
            t,
            "email",
            &case,
            Some(eng),
            collected(M::EmailOrWeb, &[C::Private], storage, false, "", false),
        ),
        // Customer data to a third party for advertising.
        17 => b.push(
            customer,
            t,
            "partner-feed",
            &case,
            Some(&SALES),
            transfer(
                storage,
                "US",
                &[C::Contact],
                L::Unspecified,
                T::Other,
                true,
                E::ThirdParty,
                "AdNetwork LLC",
                P::Advertising,
            ),
        ),
        // Handoff to a subcontractor whose attestation has lapsed.
        19 => b.push(
            customer,
            t,
            "handoff",
            &case,
            Some(eng),
            Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
                subcontractor_id: "sub-globex".into(),
                categories: cats(&[C::Customer]),
                purpose: P::ProvidingSupport as i32,
                location_country: "PH".into(),
            }),
        ),
        // Credentials used to troubleshoot on the customer's behalf.
        23 => b.push(
            customer,
            t,
            "case-tool",
            &case,
            Some(eng),
            accessed(
                P::ProvidingSupport,
                &[C::Credentials],
                "admin password",
                "customer asked us to log in for them",
                M::Unspecified,
            ),
        ),
        // Customer data to a third party for analytics (secondary use).
        26 => b.push(
            customer,
            t,
            "partner-feed",
            &case,
            Some(eng),
            transfer(
                storage,
                "US",
                &[C::Customer],
                L::StandardContractualClauses,
                T::Other,
                true,
                E::ThirdParty,
                "Insight Analytics Inc.",
                P::ImprovingSupport,
            ),
        ),
        // Handoff for a purpose other than support.
        20 => b.push(
            customer,
            t,
            "handoff",
            &case,
            Some(eng),
            Kind::SubcontractorHandoff(v1::SubcontractorHandoff {
                subcontractor_id: "sub-acme".into(),
                categories: cats(&[C::Contact]),
                purpose: P::ImprovingSupport as i32,
                location_country: "IN".into(),
            }),
        ),
        // Data handed to a tax office for a newsletter: a voluntary
        // disclosure to a government.
        29 => b.push(
            customer,
            t,
            "partner-feed",
            &case,
            Some(eng),
            transfer(
                storage,
                "US",
                &[C::Contact],
                L::StandardContractualClauses,
                T::Other,
                false,
                E::Government,
                "City Tax Office",
                P::Communications,
            ),
        ),
        // Swiss data to the US without a legal mechanism.
        31 => b.push(
            customer,
            t,
            "escalation",
            &case,
            Some(&ESCALATION[0]),
            transfer(
                "CH",
                "US",
                &[C::Customer],
                L::Unspecified,
                T::Escalation,
                false,
                E::Organisation,
                "Support Org Inc.",
                P::ProvidingSupport,
            ),
        ),
        // A trace uploaded through the SFT tool without encryption.
        33 => b.push(
            customer,
            t,
            "file-transfer",
            &case,
            Some(eng),
            collected(
                M::SecureFileTransfer,
                &[C::Customer],
                storage,
                false,
                "",
                false,
            ),
        ),
        // Data first stored in India for a customer without the EEA option.
        35 if !eea => b.push(
            customer,
            t,
            "email",
            &case,
            Some(eng),
            collected(M::EmailOrWeb, &[C::Contact], "IN", true, "", false),
        ),
        // Subcontractor staff drafting knowledge-base articles from a case.
        37 => b.push(
            customer,
            t,
            "case-tool",
            &case,
            Some(&SUB_STAFF[0].0),
            accessed(
                P::ImprovingSupport,
                &[C::Contact],
                "kb-draft",
                "",
                M::Unspecified,
            ),
        ),
        // Contact data to a subcontractor's call centre for a survey.
        39 => b.push(
            customer,
            t,
            "survey",
            &case,
            Some(eng),
            transfer(
                storage,
                "PH",
                &[C::Contact],
                L::StandardContractualClauses,
                T::Other,
                false,
                E::Subcontractor,
                "Globex Contact Centers",
                P::Communications,
            ),
        ),
        _ => {}
    }
    if eea {
        match kind {
            // EEA customer's data stored in the US.
            0 => b.push(
                customer,
                t,
                "file-transfer",
                &case,
                Some(eng),
                collected(M::SecureFileTransfer, &[C::Customer], "US", true, "", false),
            ),
            // Transfer out of the EEA without a legal mechanism.
            3 => b.push(
                customer,
                t,
                "escalation",
                &case,
                Some(&ESCALATION[0]),
                transfer(
                    "IE",
                    "US",
                    &[C::Customer],
                    L::Unspecified,
                    T::Escalation,
                    false,
                    E::Organisation,
                    "Support Org Inc.",
                    P::ProvidingSupport,
                ),
            ),
            _ => {}
        }
    }
    // Law-enforcement breaches on a few dedicated requests.
    let request = format!("le-x-{n:05}");
    let received = |binding: bool, instrument: I| {
        Kind::LawEnforcementRequestReceived(v1::LawEnforcementRequestReceived {
            request_id: request.clone(),
            agency: "State Police".into(),
            jurisdiction: "US".into(),
            instrument: instrument as i32,
            legally_binding: binding,
            scope_requested: cats(&[C::Contact]),
            nondisclosure_order: false,
            nondisclosure_expires_at: None,
        })
    };
    let disclosed = |scope: &[C]| {
        Kind::LawEnforcementDisclosed(v1::LawEnforcementDisclosed {
            request_id: request.clone(),
            scope_released: cats(scope),
        })
    };
    let redirected = Kind::LawEnforcementRedirected(v1::LawEnforcementRedirected {
        request_id: request.clone(),
        note: String::new(),
    });
    let notified = Kind::LawEnforcementCustomerNotified(v1::LawEnforcementCustomerNotified {
        request_id: request.clone(),
        method: "email".into(),
    });
    match kind {
        // Voluntary disclosure on an informal request.
        22 => {
            b.push(
                customer,
                t,
                "legal-intake",
                "",
                Some(&LEGAL),
                received(false, I::InformalRequest),
            );
            b.push(
                customer,
                t + HOUR,
                "legal-intake",
                "",
                Some(&LEGAL),
                redirected,
            );
            b.push(
                customer,
                t + 2 * HOUR,
                "legal-intake",
                "",
                Some(&LEGAL),
                notified,
            );
            b.push(
                customer,
                t + DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                disclosed(&[C::Contact]),
            );
        }
        // Disclosure with no redirect first, and more than was asked for.
        25 => {
            b.push(
                customer,
                t,
                "legal-intake",
                "",
                Some(&LEGAL),
                received(true, I::Subpoena),
            );
            b.push(
                customer,
                t + 2 * HOUR,
                "legal-intake",
                "",
                Some(&LEGAL),
                notified,
            );
            b.push(
                customer,
                t + DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                disclosed(&[C::Contact, C::Customer]),
            );
        }
        // Disclosure before notice; notice one second later.
        29 => {
            b.push(
                customer,
                t,
                "legal-intake",
                "",
                Some(&LEGAL),
                received(true, I::CourtOrder),
            );
            b.push(
                customer,
                t + HOUR,
                "legal-intake",
                "",
                Some(&LEGAL),
                redirected,
            );
            b.push(
                customer,
                t + DAY,
                "legal-intake",
                "",
                Some(&LEGAL),
                disclosed(&[C::Contact]),
            );
            b.push(
                customer,
                t + DAY + 1000,
                "legal-intake",
                "",
                Some(&LEGAL),
                notified,
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_valid() {
        let a = generate(DemoParams::default());
        let b = generate(DemoParams::default());
        assert_eq!(a, b);
        assert!(a.len() > 500, "{} events", a.len());
        for e in &a {
            custody_proto::validate(e).unwrap_or_else(|err| panic!("{}: {err}", e.event_id));
        }
    }
}
