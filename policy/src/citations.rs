//! The seed sentences each rule enforces, as RULES.md quotes them: a
//! finding carries them so that an officer can show, from the report
//! alone, which written promise was broken.
//!
//! Why from RULES.md: the quotations live in one place, the rules table,
//! which a unit test (`rules_md`) keeps exact against the seed files; the
//! crate embeds it at build time and reads the table once.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One seed sentence: the seed file it is in and the sentence, verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Citation {
    /// File name under `shared/seeds/`, e.g. `000_4319023b1c1773f1.txt`.
    pub seed: &'static str,
    pub quote: &'static str,
}

pub(crate) const RULES_MD: &str = include_str!("../../RULES.md");

/// The rules table's rows, as cells, from its header (`| id |`) to the
/// first line that is not a table row.
fn table_rows() -> impl Iterator<Item = Vec<&'static str>> {
    RULES_MD
        .lines()
        .skip_while(|l| !l.starts_with("| id |"))
        .skip(2) // header and separator
        .take_while(|l| l.starts_with('|'))
        .map(|line| line.split('|').map(str::trim).collect())
}

/// A seed cell's quotations: `` `FILE`: "SENTENCE" `` joined by `<br>`.
/// `None` for a malformed one (the unit tests name it).
fn parse_quotes(cell: &'static str) -> Option<Vec<Citation>> {
    cell.split("<br>")
        .map(|q| {
            let (file, rest) = q.trim().trim_start_matches('`').split_once("`: \"")?;
            let quote = rest.strip_suffix('"')?;
            Some(Citation { seed: file, quote })
        })
        .collect()
}

/// The seed sentences rule `id` enforces; empty for an unknown id.
pub fn citations(id: &str) -> &'static [Citation] {
    static TABLE: OnceLock<HashMap<&'static str, Vec<Citation>>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            table_rows()
                .filter_map(|cells| {
                    // ["", id, checks, seed, severity, effect, closed by, ""]
                    let id = cells.get(1)?.trim_matches('`');
                    let quotes = parse_quotes(cells.get(3)?)?;
                    Some((id, quotes))
                })
                .collect()
        })
        .get(id)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_cites_at_least_one_seed_sentence() {
        for r in crate::RULES {
            let c = citations(r.id);
            assert!(!c.is_empty(), "{} cites nothing", r.id);
            for q in c {
                assert!(
                    q.seed.ends_with(".txt") && q.quote.len() > 20,
                    "{}: {q:?}",
                    r.id
                );
            }
        }
        assert!(citations("NO-SUCH-RULE").is_empty());
        assert_eq!(
            citations("NO-AD-TRANSFER"),
            &[Citation {
                seed: "000_4319023b1c1773f1.txt",
                quote: "We do not transfer data about our customers to third parties for the purposes of advertising."
            }]
        );
    }
}
