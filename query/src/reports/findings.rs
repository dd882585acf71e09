//! The officers' findings list: the findings index joined with the
//! verdicts of the entries it points at.

use custody_ledger::keys::FindingKey;
use serde::Serialize;

use super::{Finding, Item};

/// Filters as given (echoed in the document).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    pub rule: Option<String>,
    pub customer: Option<String>,
    /// `open`, `closed` or `recorded`.
    pub state: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    /// `open`, `closed` (a late remedy) or `recorded` (a breach).
    pub state: String,
    pub customer: String,
    /// The verdict in the entry that opened or recorded the finding.
    #[serde(flatten)]
    pub finding: Finding,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsList {
    pub filter: Filter,
    pub count: usize,
    pub findings: Vec<FindingRow>,
}

/// Joins index keys with their entries. A key whose entry holds no verdict
/// of its rule is left out (the index is derived; `custody rebuild` is the
/// place to look into such a mismatch).
pub fn build(filter: Filter, keyed: Vec<(FindingKey, Item)>) -> FindingsList {
    let findings: Vec<FindingRow> = keyed
        .into_iter()
        .filter_map(|(key, item)| {
            let finding = Finding::all_of(&item)
                .into_iter()
                .find(|f| f.verdict.rule == key.rule && f.verdict.effect != "closes")?;
            Some(FindingRow {
                state: key.state_name().into(),
                customer: key.customer,
                finding,
            })
        })
        .collect();
    FindingsList {
        filter,
        count: findings.len(),
        findings,
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
            vec![(key("USE-MATRIX", 3), a), (key("USE-MATRIX", 4), plain)],
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
