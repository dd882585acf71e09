//! The seeds' vocabulary in the small forms the rules need: data categories,
//! the EEA, enum names for explanations and a UTC time format.

use custody_proto::v1::{DataCategory, LegalInstrument, LegalMechanism, Purpose, Role};

/// A data category (seed 000, "Definitions of the types of customer data").
/// Serialised with its protobuf name so stored state reads like the events.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Category {
    #[serde(rename = "DATA_CATEGORY_CONTACT")]
    Contact,
    #[serde(rename = "DATA_CATEGORY_CUSTOMER")]
    Customer,
    #[serde(rename = "DATA_CATEGORY_PRIVATE")]
    Private,
    /// Account credentials: a kind of private data.
    #[serde(rename = "DATA_CATEGORY_CREDENTIALS")]
    Credentials,
}

impl Category {
    /// The category of a protobuf enum value; `None` for UNSPECIFIED or an
    /// unknown value (validation rejects both before the fold).
    pub fn from_i32(v: i32) -> Option<Self> {
        match DataCategory::try_from(v).ok()? {
            DataCategory::Unspecified => None,
            DataCategory::Contact => Some(Category::Contact),
            DataCategory::Customer => Some(Category::Customer),
            DataCategory::Private => Some(Category::Private),
            DataCategory::Credentials => Some(Category::Credentials),
        }
    }

    /// The known categories of a repeated field, sorted and de-duplicated.
    pub fn set(values: &[i32]) -> Vec<Category> {
        let mut out: Vec<Category> = values.iter().filter_map(|v| Self::from_i32(*v)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Private data in the seed's sense: private data proper and credentials.
    pub fn is_private(self) -> bool {
        matches!(self, Category::Private | Category::Credentials)
    }

    /// The protobuf name, e.g. `DATA_CATEGORY_PRIVATE`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Contact => "DATA_CATEGORY_CONTACT",
            Category::Customer => "DATA_CATEGORY_CUSTOMER",
            Category::Private => "DATA_CATEGORY_PRIVATE",
            Category::Credentials => "DATA_CATEGORY_CREDENTIALS",
        }
    }
}

/// Comma-separated protobuf names of categories.
pub(crate) fn names(categories: &[Category]) -> String {
    categories
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The European Economic Area as ISO 3166-1 alpha-2 codes: the 27 EU member
/// states plus Iceland, Liechtenstein and Norway. Switzerland (CH) and the
/// United Kingdom (GB) are not in the EEA; Greece is `GR` (ISO), not the
/// EU's own abbreviation `EL`.
pub const EEA_COUNTRIES: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", // EU 27
    "IS", "LI", "NO", // EEA EFTA states
];

/// Whether an ISO 3166-1 alpha-2 country code (any letter case) is in the EEA.
pub fn is_eea(country: &str) -> bool {
    country.len() == 2
        && EEA_COUNTRIES
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
}

/// Protobuf name of a purpose value, or a readable stand-in for unknown values.
pub(crate) fn purpose_name(v: i32) -> &'static str {
    Purpose::try_from(v).map_or("PURPOSE_UNKNOWN", |p| p.as_str_name())
}

pub(crate) fn role_name(v: i32) -> &'static str {
    Role::try_from(v).map_or("ROLE_UNKNOWN", |r| r.as_str_name())
}

pub(crate) fn mechanism_name(v: i32) -> &'static str {
    LegalMechanism::try_from(v).map_or("LEGAL_MECHANISM_UNKNOWN", |m| m.as_str_name())
}

pub(crate) fn instrument_name(v: i32) -> &'static str {
    LegalInstrument::try_from(v).map_or("LEGAL_INSTRUMENT_UNKNOWN", |i| i.as_str_name())
}

/// Milliseconds since the Unix epoch as an RFC 3339 UTC time
/// (`2026-01-05T09:00:00Z`, with `.mmm` when the milliseconds are not zero).
/// Pure arithmetic (proleptic Gregorian calendar); total over all `i64`.
pub fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if milli == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eea_is_the_eu_27_plus_iceland_liechtenstein_norway() {
        assert_eq!(EEA_COUNTRIES.len(), 30);
        let mut sorted = EEA_COUNTRIES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 30, "duplicate code");
        for c in ["DE", "FR", "IE", "PL", "GR", "HR", "IS", "LI", "NO", "ie"] {
            assert!(is_eea(c), "{c}");
        }
        for c in ["CH", "GB", "UK", "US", "EL", "EU", "", "D", "DEU", "IN"] {
            assert!(!is_eea(c), "{c}");
        }
    }

    #[test]
    fn categories_parse_sort_and_dedup() {
        assert_eq!(
            Category::set(&[4, 1, 4, 0, 99, -1]),
            vec![Category::Contact, Category::Credentials]
        );
        assert!(Category::Credentials.is_private());
        assert!(!Category::Customer.is_private());
        let json = serde_json::to_string(&Category::Private).expect("json");
        assert_eq!(json, "\"DATA_CATEGORY_PRIVATE\"");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ms(1_767_603_600_000), "2026-01-05T09:00:00Z");
        assert_eq!(format_ms(1_767_603_601_250), "2026-01-05T09:00:01.250Z");
        assert_eq!(format_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_ms(-1), "1969-12-31T23:59:59.999Z");
        // Total: never panics at the extremes.
        let _ = format_ms(i64::MIN);
        let _ = format_ms(i64::MAX);
    }
}
