//! The officers' findings list: the findings index joined with the
//! verdicts of the entries it points at.

use serde::Serialize;

use super::{Finding, Item};

/// A decoded findings-index key, with the state a report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FindingKey {
    /// As stored: `o` open (a finding, or an obligation), `c` closed, `r`
    /// recorded breach, `d` discharged obligation, `w` (a marker: the
    /// breach at this seq was withdrawn). As shown, also derived at the
    /// report's read from the shard's watermark: `p` provisional (a
    /// recorded breach that evidence may still withdraw), `x` withdrawn,
    /// `b` pending (an obligation not yet due, allowing for lateness).
    pub state: u8,
    pub rule: String,
    pub customer: String,
    pub shard: u32,
    /// Sequence number of the entry that opened (or recorded) the finding.
    pub seq: u64,
}

impl FindingKey {
    pub fn state_name(&self) -> &'static str {
        STATES
            .iter()
            .find(|(b, _)| *b == self.state)
            .map_or("recorded", |(_, name)| name)
    }
}

/// Each state a findings document shows, by its byte.
const STATES: &[(u8, &str)] = &[
    (b'o', "open"),
    (b'c', "closed"),
    (b'r', "recorded"),
    (b'p', "provisional"),
    (b'x', "withdrawn"),
    (b'b', "pending"),
    (b'd', "discharged"),
];

/// Filters as given (echoed in the document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Filter {
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    /// `open`, `closed`, `recorded`, `provisional`, `withdrawn`, `pending`
    /// (obligations not yet due) or `discharged` (obligations met).
    #[serde(default)]
    pub state: Option<String>,
}

/// A state's name as its byte (see [`FindingKey::state`]).
pub fn state_byte(s: &str) -> Option<u8> {
    STATES.iter().find(|(_, name)| *name == s).map(|(b, _)| *b)
}

/// The stored state a shown state is derived from: provisional and
/// withdrawn findings are stored as recorded, pending obligations as open.
pub fn stored_state(shown: u8) -> u8 {
    match shown {
        b'p' | b'x' => b'r',
        b'b' => b'o',
        other => other,
    }
}

impl Filter {
    /// Checks the filter's values; the error names the parameter.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(s) = &self.state {
            if state_byte(s).is_none() {
                return Err((
                    "state",
                    "expected open, closed, recorded, provisional, withdrawn, pending or discharged"
                        .into(),
                ));
            }
        }
        if let Some(r) = &self.rule {
            if custody_policy::rule(r).is_none() {
                return Err(("rule", format!("`{r}` is not a rule id (see RULES.md)")));
            }
        }
        if let Some(c) = &self.customer {
            custody_proto::validate_id("customer", c).map_err(|e| ("customer", e.reason))?;
        }
        Ok(())
    }

    /// The index state byte the filter asks for, if any.
    pub fn state_byte(&self) -> Option<u8> {
        self.state.as_deref().and_then(state_byte)
    }

    /// Whether a key, with its shown state, passes the filter. Without a
    /// state asked for, discharged obligations (no finding) are left out.
    pub fn matches(&self, key: &FindingKey) -> bool {
        self.state_byte()
            .map_or(key.state != b'd', |s| s == key.state)
            && self.rule.as_ref().is_none_or(|r| *r == key.rule)
            && self.customer.as_ref().is_none_or(|c| *c == key.customer)
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    /// `open`, `closed` (a late remedy), `recorded` (a breach),
    /// `provisional` (a breach that evidence dated earlier may still
    /// withdraw), `withdrawn`, or for obligations `pending` or `discharged`.
    pub state: String,
    pub customer: String,
    /// The verdict in the entry that opened or recorded the finding.
    #[serde(flatten)]
    pub finding: Finding,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindingsList {
    pub filter: Filter,
    pub count: usize,
    pub findings: Vec<FindingRow>,
    /// Obligations not yet due (allowing for lateness): not findings, shown
    /// apart. An obligation missed is an `open` finding in `findings`.
    pub obligations: Vec<FindingRow>,
}

/// Joins index keys with their entries. A key whose entry holds no verdict
/// of its rule is left out (the index is derived; `custody rebuild` is the
/// place to look into such a mismatch).
pub fn build(filter: Filter, keyed: &[(FindingKey, Item)]) -> FindingsList {
    let (obligations, findings): (Vec<FindingRow>, Vec<FindingRow>) = keyed
        .iter()
        .filter_map(|(key, item)| {
            let finding = Finding::all_of(item).into_iter().find(|f| {
                f.verdict.rule == key.rule
                    && matches!(f.verdict.effect.as_str(), "breach" | "opens" | "obligation")
            })?;
            Some(FindingRow {
                state: key.state_name().into(),
                customer: key.customer.clone(),
                finding,
            })
        })
        .partition(|row| row.state == "pending");
    FindingsList {
        filter,
        count: findings.len(),
        findings,
        obligations,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use custody_policy::Severity;
    use custody_proto::v1::{DataCategory as C, Purpose};

    #[test]
    fn joins_keys_with_their_verdicts() {
        let mut a = item(
            3,
            "c1",
            1,
            eng("IE", "IE"),
            accessed(Purpose::Advertising, &[C::Contact]),
        );
        a.verdicts
            .push(breach("USE-MATRIX", Severity::High, "advertising"));
        let plain = item(
            4,
            "c1",
            2,
            eng("IE", "IE"),
            accessed(Purpose::ProvidingSupport, &[C::Contact]),
        );
        let key = |rule: &str, seq| FindingKey {
            state: b'r',
            rule: rule.into(),
            customer: "c1".into(),
            shard: 0,
            seq,
        };
        let list = build(
            Filter::default(),
            &[(key("USE-MATRIX", 3), a), (key("USE-MATRIX", 4), plain)],
        );
        // The second key points at an entry without that verdict.
        assert_eq!(list.count, 1);
        let row = &list.findings[0];
        assert_eq!(
            (row.state.as_str(), row.customer.as_str()),
            ("recorded", "c1")
        );
        assert_eq!(row.finding.verdict.severity, "high");
        assert_eq!(row.finding.position.seq, 3);
    }
}
