//! Access history of one customer: every access-like event, newest first,
//! paginated by an opaque cursor.

use std::collections::BTreeSet;

use custody_policy::format_ms;
use custody_proto::v1::{CollectionMeans, Purpose};
use custody_proto::Kind;
use serde::Serialize;

use super::{
    category_names, enum_name, withheld, Audience, Item, Period, Position, VerdictView, Who,
};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Where a page ends: the (time, shard, seq) of its last access. The next
/// page starts strictly after it in newest-first order, so entries folded
/// meanwhile never shift a page boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at_ms: i64,
    pub shard: u32,
    pub seq: u64,
}

impl Cursor {
    pub fn key(&self) -> (i64, u32, u64) {
        (self.at_ms, self.shard, self.seq)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.at_ms, self.shard, self.seq)
    }
}

/// A cursor travels as its text form (`at.shard.seq`), in queries and in
/// the parameters a document states.
impl Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cursor {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a cursor returned by this endpoint");
        let mut parts = s.split('.');
        let (Some(a), Some(b), Some(c), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(Cursor {
            at_ms: a.parse().map_err(|_| bad())?,
            shard: b.parse().map_err(|_| bad())?,
            seq: c.parse().map_err(|_| bad())?,
        })
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Params {
    pub customer: String,
    pub period: Period,
    pub limit: usize,
    pub cursor: Option<Cursor>,
    pub audience: Audience,
    /// Requests under a non-disclosure order in force at report time
    /// ([`super::gagged_requests`]); their disclosures are left out of the
    /// customer's copy.
    pub gagged: BTreeSet<String>,
}

/// One page of the access history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessHistory {
    pub customer: String,
    pub period: Period,
    pub audience: Audience,
    pub limit: usize,
    pub accesses: Vec<Access>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One access-like event.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Access {
    pub kind: String,
    pub event_id: String,
    pub at_ms: i64,
    pub at: String,
    pub who: Who,
    pub service: String,
    pub purpose: Option<String>,
    pub categories: Vec<String>,
    pub case_id: String,
    pub means: Option<String>,
    /// Kind-specific details: resource, countries, subcontractor, request id.
    pub detail: String,
    pub verdicts: Vec<VerdictView>,
    pub position: Position,
    /// Officer's copy only: true when the customer's copy leaves this out
    /// (a disclosure under a non-disclosure order still in force).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub withheld_from_customer: bool,
}

/// Purpose, categories, means and detail of an access-like event.
type Facts = (Option<String>, Vec<String>, Option<String>, String);

/// The facts of an access-like kind; `None` for kinds that are not accesses.
fn access_facts(kind: &Kind) -> Option<Facts> {
    let means = |m: i32| (m != 0).then(|| enum_name::<CollectionMeans>(m));
    Some(match kind {
        Kind::DataAccessed(a) => (
            Some(enum_name::<Purpose>(a.purpose)),
            category_names(&a.categories),
            means(a.means),
            format!("resource {}", a.resource),
        ),
        Kind::DataCollected(c) => (
            None,
            category_names(&c.categories),
            means(c.means),
            format!("stored in {}", c.storage_country),
        ),
        Kind::DataTransferred(t) => (
            Some(enum_name::<Purpose>(t.purpose)),
            category_names(&t.categories),
            None,
            format!(
                "{} to {} ({}){}",
                t.from_country,
                t.to_country,
                t.recipient_name,
                if t.stored_at_destination {
                    ", stored there"
                } else {
                    ""
                }
            ),
        ),
        Kind::SubcontractorHandoff(h) => (
            Some(enum_name::<Purpose>(h.purpose)),
            category_names(&h.categories),
            None,
            format!(
                "to subcontractor {} in {}",
                h.subcontractor_id, h.location_country
            ),
        ),
        Kind::LawEnforcementDisclosed(d) => (
            Some(Purpose::LawEnforcementDisclosure.as_str_name().to_string()),
            category_names(&d.scope_released),
            None,
            format!("law-enforcement request {}", d.request_id),
        ),
        Kind::ReportRead(r) => (
            None,
            vec![],
            None,
            format!(
                "report {} read by {} ({})",
                r.report, r.reader, r.reader_role
            ),
        ),
        _ => return None,
    })
}

/// Every access the page could show, newest first, before the page limit:
/// shared by [`build`] and the proofs (which prove the page plus the first
/// access after it, the evidence for `nextCursor`).
pub fn candidates<'a>(items: &'a [Item], p: &Params) -> Vec<&'a Item> {
    let mut candidates: Vec<&Item> = items
        .iter()
        .filter(|i| i.event.customer_id == p.customer && p.period.contains(i.at_ms()))
        .filter(|i| p.cursor.is_none_or(|c| i.order_key() < c.key()))
        .filter(|i| {
            i.event
                .kind
                .as_ref()
                .is_some_and(|k| access_facts(k).is_some())
        })
        .filter(|i| p.audience == Audience::Officer || !withheld(i, &p.gagged))
        .collect();
    candidates.sort_by_key(|i| std::cmp::Reverse(i.order_key()));
    candidates
}

/// Builds one page from the customer's items (any order; items of other
/// customers or outside the period are ignored).
pub fn build(items: &[Item], p: &Params) -> AccessHistory {
    let mut candidates = candidates(items, p);
    let limit = p.limit.clamp(1, MAX_LIMIT);
    let more = candidates.len() > limit;
    candidates.truncate(limit);
    let next_cursor = if more {
        candidates.last().map(|i| {
            Cursor {
                at_ms: i.at_ms(),
                shard: i.shard,
                seq: i.seq,
            }
            .to_string()
        })
    } else {
        None
    };
    let accesses = candidates
        .into_iter()
        .filter_map(|i| {
            let (purpose, categories, means, detail) = access_facts(i.event.kind.as_ref()?)?;
            Some(Access {
                kind: i.kind_name().into(),
                event_id: i.event.event_id.clone(),
                at_ms: i.at_ms(),
                at: format_ms(i.at_ms()),
                who: Who::of(&i.event),
                service: i.event.service.clone(),
                purpose,
                categories,
                case_id: i.event.case_id.clone(),
                means,
                detail,
                verdicts: i.verdicts.iter().map(VerdictView::of).collect(),
                position: i.position(),
                withheld_from_customer: withheld(i, &p.gagged),
            })
        })
        .collect();
    AccessHistory {
        customer: p.customer.clone(),
        period: p.period,
        audience: p.audience,
        limit,
        accesses,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::super::gagged_requests;
    use super::*;
    use custody_policy::Severity;
    use custody_proto::v1::{DataCategory as C, LegalInstrument, LegalMechanism};

    /// c1: profile (h0, not an access), collected (h1), accessed (h2, with a
    /// USE-MATRIX breach), transfer (h3), handoff (h4), gagged request (h5)
    /// and its disclosure (h6), a report read (h7); c2: one access (h2).
    fn scenario() -> Vec<Item> {
        let mut private = item(
            2,
            "c1",
            2,
            eng("IE", "IN"),
            accessed(Purpose::ImprovingSupport, &[C::Private]),
        );
        private.verdicts.push(breach(
            "USE-MATRIX",
            Severity::High,
            "private data for improving",
        ));
        vec![
            item(0, "c1", 0, None, profile(true)),
            item(1, "c1", 1, eng("IE", "IE"), collected("IE", &[C::Customer])),
            private,
            item(
                3,
                "c1",
                3,
                eng("IE", "IE"),
                transferred(
                    "IE",
                    "US",
                    false,
                    LegalMechanism::StandardContractualClauses,
                ),
            ),
            item(4, "c1", 4, eng("IE", "IE"), handoff("sub-1", "IE")),
            item(
                5,
                "c1",
                5,
                eng("US", "US"),
                le_received("r-1", "US", LegalInstrument::Subpoena, true, true, None),
            ),
            item(
                6,
                "c1",
                6,
                eng("US", "US"),
                le_disclosed("r-1", &[C::Contact]),
            ),
            item(7, "c1", 7, eng("US", "US"), report_read()),
            item(
                8,
                "c2",
                2,
                eng("IE", "IE"),
                accessed(Purpose::ProvidingSupport, &[C::Contact]),
            ),
        ]
    }

    fn params(audience: Audience, items: &[Item]) -> Params {
        Params {
            customer: "c1".into(),
            period: Period::default(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            audience,
            gagged: gagged_requests(items, T0 + 100 * HOUR),
        }
    }

    #[test]
    fn officer_sees_every_access_newest_first() {
        let items = scenario();
        let h = build(&items, &params(Audience::Officer, &items));
        let seqs: Vec<u64> = h.accesses.iter().map(|a| a.position.seq).collect();
        // Six access-like events of c1: 7, 6, 4, 3, 2, 1 (profile and the
        // request itself are not accesses; c2's access is not c1's).
        assert_eq!(seqs, vec![7, 6, 4, 3, 2, 1]);
        assert!(h.next_cursor.is_none());
        let disclosed = &h.accesses[1];
        assert!(disclosed.withheld_from_customer);
        assert_eq!(
            disclosed.purpose.as_deref(),
            Some("PURPOSE_LAW_ENFORCEMENT_DISCLOSURE")
        );
        let acc = &h.accesses[4];
        assert_eq!(acc.who.location_country, "IN");
        assert_eq!(acc.who.role, "ROLE_SUPPORT_ENGINEER");
        assert_eq!(acc.categories, vec!["DATA_CATEGORY_PRIVATE"]);
        assert_eq!(acc.verdicts.len(), 1);
        assert_eq!(acc.verdicts[0].rule, "USE-MATRIX");
        assert_eq!(acc.position.entry_hash, "02".repeat(32));
        assert_eq!(acc.at, "2026-01-01T02:00:00Z");
    }

    #[test]
    fn customer_copy_leaves_out_gagged_disclosures() {
        let items = scenario();
        let h = build(&items, &params(Audience::Customer, &items));
        let seqs: Vec<u64> = h.accesses.iter().map(|a| a.position.seq).collect();
        assert_eq!(seqs, vec![7, 4, 3, 2, 1]);
        // Once the order has expired, the customer sees the disclosure.
        let mut items = scenario();
        items[5] = item(
            5,
            "c1",
            5,
            eng("US", "US"),
            le_received(
                "r-1",
                "US",
                LegalInstrument::Subpoena,
                true,
                true,
                Some(T0 + 50 * HOUR),
            ),
        );
        let h = build(&items, &params(Audience::Customer, &items));
        assert_eq!(h.accesses.len(), 6);
    }

    #[test]
    fn pages_follow_the_cursor_and_the_period() {
        let items = scenario();
        let mut p = params(Audience::Officer, &items);
        p.limit = 4;
        let first = build(&items, &p);
        assert_eq!(first.accesses.len(), 4);
        let cursor = first.next_cursor.clone().expect("a second page");
        assert_eq!(cursor, format!("{}.0.3", T0 + 3 * HOUR));
        p.cursor = Some(cursor.parse().expect("cursor parses"));
        let second = build(&items, &p);
        let seqs: Vec<u64> = second.accesses.iter().map(|a| a.position.seq).collect();
        assert_eq!(seqs, vec![2, 1]);
        assert!(second.next_cursor.is_none());

        // [h2, h4): the access at h2 and the transfer at h3.
        p.cursor = None;
        p.period = Period {
            from_ms: Some(T0 + 2 * HOUR),
            to_ms: Some(T0 + 4 * HOUR),
        };
        let seqs: Vec<u64> = build(&items, &p)
            .accesses
            .iter()
            .map(|a| a.position.seq)
            .collect();
        assert_eq!(seqs, vec![3, 2]);
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            at_ms: -5,
            shard: 3,
            seq: 9,
        };
        assert_eq!(c.to_string().parse::<Cursor>(), Ok(c));
        assert!("1.2".parse::<Cursor>().is_err());
        assert!("a.b.c".parse::<Cursor>().is_err());
    }
}
