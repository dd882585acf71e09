//! Keeps RULES.md (workspace root) and [`crate::RULES`] from drifting apart,
//! and checks that RULES.md quotes the seeds exactly.

use crate::citations::RULES_MD;
use crate::RULES;

struct Row<'a> {
    id: &'a str,
    quotes: Vec<(&'a str, &'a str)>,
    severity: &'a str,
    effect: &'a str,
    closed_by: &'a str,
}

/// The rows of the rules table: from its header (`| id |`) to the first
/// line that is not a table row.
fn rows() -> Vec<Row<'static>> {
    RULES_MD
        .lines()
        .skip_while(|l| !l.starts_with("| id |"))
        .skip(2) // header and separator
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // ["", id, checks, seed, severity, effect, closed by, ""]
            assert_eq!(
                cells.len(),
                8,
                "rules table row with {} cells: {line}",
                cells.len()
            );
            let quotes = cells[3]
                .split("<br>")
                .map(|q| {
                    let (file, rest) = q
                        .trim()
                        .trim_start_matches('`')
                        .split_once("`: \"")
                        .unwrap_or_else(|| panic!("quotation without `file`: \"...\": {q}"));
                    let quote = rest
                        .strip_suffix('"')
                        .unwrap_or_else(|| panic!("quotation not closed: {q}"));
                    (file, quote)
                })
                .collect();
            Row {
                id: cells[1].trim_matches('`'),
                quotes,
                severity: cells[4],
                effect: cells[5],
                closed_by: cells[6],
            }
        })
        .collect()
}

#[test]
fn every_rule_id_appears_in_rules_md() {
    for r in RULES {
        assert!(
            RULES_MD.contains(r.id),
            "RULES.md does not mention {}",
            r.id
        );
    }
}

#[test]
fn rules_md_has_one_row_per_rule_with_its_severity_and_effect_in_order() {
    let rows = rows();
    let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
    let expected: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(
        ids, expected,
        "RULES.md rows must list RULES in order, once each"
    );
    for (row, rule) in rows.iter().zip(RULES) {
        assert_eq!(
            row.severity,
            rule.severity.as_str(),
            "severity of {}",
            rule.id
        );
        match (rule.remedy, rule.late_evidence) {
            (None, None) => {
                assert_eq!(row.effect, "breach", "effect of {}", rule.id);
                assert_eq!(row.closed_by, "—", "closed by of {}", rule.id);
            }
            (None, Some(_)) => {
                assert_eq!(row.effect, "breach (provisional)", "effect of {}", rule.id);
                assert!(
                    row.closed_by.starts_with("— (withdrawn"),
                    "closed by of {}",
                    rule.id
                );
            }
            (Some(_), _) => {
                assert_eq!(
                    row.effect, "obligation / discharges / closes",
                    "effect of {}",
                    rule.id
                );
                assert!(row.closed_by.len() > 10, "closed by of {}", rule.id);
            }
        }
        assert!(!row.quotes.is_empty(), "{} quotes no seed", rule.id);
    }
}

#[test]
fn rules_md_quotes_the_seeds_verbatim() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seeds");
    if !dir.is_dir() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    for row in rows() {
        for (file, quote) in &row.quotes {
            let text = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("{}: seed {file}: {e}", row.id));
            assert!(
                text.contains(quote),
                "{}: not a verbatim quotation of {file}: {quote}",
                row.id
            );
        }
    }
}
