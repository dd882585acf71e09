//! Human labels, in one place, for every page and every CSV: protobuf enum
//! values as words (`PURPOSE_PROVIDING_SUPPORT` → "providing support"),
//! event kinds as words (`report_read` → "report read"), ISO 3166-1 alpha-2
//! codes as "Ireland (IE)", and times as "2026-01-31 09:30 UTC". JSON keeps
//! the stable machine names; only HTML and CSV go through here.

use custody_policy::format_ms;

/// Words for a protobuf enum value name, `None` for names this table does
/// not know (shown as they are: a newer schema's value is still visible).
pub fn enum_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "ROLE_UNSPECIFIED" => "unspecified role",
        "ROLE_UNKNOWN" => "unknown role",
        "LEGAL_INSTRUMENT_UNKNOWN" => "unknown instrument",
        "LEGAL_MECHANISM_UNKNOWN" => "unknown mechanism",
        "ROLE_SUPPORT_ENGINEER" => "support engineer",
        "ROLE_ESCALATION_ENGINEER" => "escalation engineer",
        "ROLE_SUBCONTRACTOR_STAFF" => "subcontractor staff",
        "ROLE_SALES" => "sales",
        "ROLE_MARKETING" => "marketing",
        "ROLE_AUTOMATED_SYSTEM" => "automated system",
        "ROLE_CUSTOMER" => "customer",
        "ROLE_COMPLIANCE_OFFICER" => "compliance officer",
        "ROLE_LEGAL" => "legal",
        "ENTITY_KIND_UNSPECIFIED" => "unspecified entity",
        "ENTITY_KIND_ORGANISATION" => "organisation",
        "ENTITY_KIND_AFFILIATE" => "affiliate",
        "ENTITY_KIND_SUBCONTRACTOR" => "subcontractor",
        "ENTITY_KIND_THIRD_PARTY" => "third party",
        "ENTITY_KIND_CUSTOMER" => "customer",
        "ENTITY_KIND_GOVERNMENT" => "government",
        "DATA_CATEGORY_UNSPECIFIED" => "unspecified data",
        "DATA_CATEGORY_CONTACT" => "contact data",
        "DATA_CATEGORY_CUSTOMER" => "customer data",
        "DATA_CATEGORY_PRIVATE" => "private data",
        "DATA_CATEGORY_CREDENTIALS" => "credentials",
        "COLLECTION_MEANS_UNSPECIFIED" => "unspecified means",
        "COLLECTION_MEANS_PHONE_OR_CHAT" => "phone or chat",
        "COLLECTION_MEANS_REMOTE_ACCESS" => "remote access",
        "COLLECTION_MEANS_SECURE_FILE_TRANSFER" => "secure file transfer",
        "COLLECTION_MEANS_AUTOMATED_TROUBLESHOOTER" => "automated troubleshooter",
        "COLLECTION_MEANS_RECORDING" => "recording",
        "COLLECTION_MEANS_EMAIL_OR_WEB" => "email or web",
        "PURPOSE_UNSPECIFIED" => "unspecified purpose",
        "PURPOSE_UNKNOWN" => "unknown purpose",
        "PURPOSE_PROVIDING_SUPPORT" => "providing support",
        "PURPOSE_IMPROVING_SUPPORT" => "improving support",
        "PURPOSE_COMMUNICATIONS" => "communications",
        "PURPOSE_LAW_ENFORCEMENT_DISCLOSURE" => "disclosure to law enforcement",
        "PURPOSE_ADVERTISING" => "advertising",
        "PURPOSE_MAINTAINING_SUPPORT" => "maintaining support",
        "LEGAL_MECHANISM_UNSPECIFIED" => "no mechanism stated",
        "LEGAL_MECHANISM_ADEQUACY_DECISION" => "adequacy decision",
        "LEGAL_MECHANISM_STANDARD_CONTRACTUAL_CLAUSES" => "standard contractual clauses",
        "LEGAL_MECHANISM_BINDING_CORPORATE_RULES" => "binding corporate rules",
        "LEGAL_MECHANISM_SAFE_HARBOR" => "Safe Harbor (invalidated)",
        "LEGAL_MECHANISM_DATA_PRIVACY_FRAMEWORK" => "Data Privacy Framework",
        "LEGAL_MECHANISM_CUSTOMER_CONSENT" => "customer consent",
        "TRANSFER_REASON_UNSPECIFIED" => "no reason stated",
        "TRANSFER_REASON_ESCALATION" => "escalation",
        "TRANSFER_REASON_FOLLOW_THE_SUN" => "follow-the-sun support",
        "TRANSFER_REASON_LANGUAGE_SKILLS" => "language skills",
        "TRANSFER_REASON_STORAGE_MIGRATION" => "storage migration",
        "TRANSFER_REASON_OTHER" => "other reason",
        "DELETION_REASON_UNSPECIFIED" => "no reason stated",
        "DELETION_REASON_CREDENTIALS_RECEIVED" => "credentials received",
        "DELETION_REASON_RETENTION_EXPIRED" => "retention expired",
        "DELETION_REASON_CUSTOMER_REQUEST" => "customer request",
        "DELETION_REASON_CASE_CLOSED" => "case closed",
        "LEGAL_INSTRUMENT_UNSPECIFIED" => "unspecified instrument",
        "LEGAL_INSTRUMENT_INFORMAL_REQUEST" => "informal request",
        "LEGAL_INSTRUMENT_SUBPOENA" => "subpoena",
        "LEGAL_INSTRUMENT_COURT_ORDER" => "court order",
        "LEGAL_INSTRUMENT_SEARCH_WARRANT" => "search warrant",
        "LEGAL_INSTRUMENT_NATIONAL_SECURITY_LETTER" => "national security letter",
        "LEGAL_INSTRUMENT_MLAT_REQUEST" => "mutual legal assistance (MLAT) request",
        "LEGAL_INSTRUMENT_EMERGENCY_REQUEST" => "emergency request",
        "LAW_ENFORCEMENT_OUTCOME_UNSPECIFIED" => "unspecified outcome",
        "LAW_ENFORCEMENT_OUTCOME_REJECTED" => "rejected",
        "LAW_ENFORCEMENT_OUTCOME_WITHDRAWN" => "withdrawn",
        "LAW_ENFORCEMENT_OUTCOME_REDIRECTED_TO_CUSTOMER" => "redirected to the customer",
        "LAW_ENFORCEMENT_OUTCOME_DISCLOSED" => "data disclosed",
        "LAW_ENFORCEMENT_OUTCOME_NO_DATA" => "no data held",
        _ => return None,
    })
}

/// Words for an event kind (`custody_proto::kind_name`).
pub fn kind_label(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "customer_profile_set" => "customer profile set",
        "subcontractor_registered" => "subcontractor registered",
        "data_collected" => "data collected",
        "data_accessed" => "data accessed",
        "data_transferred" => "data transferred",
        "subcontractor_handoff" => "subcontractor handoff",
        "data_deleted" => "data deleted",
        "law_enforcement_request_received" => "law-enforcement request received",
        "law_enforcement_redirected" => "law-enforcement request redirected",
        "law_enforcement_customer_notified" => "customer notified of a law-enforcement request",
        "law_enforcement_disclosed" => "data disclosed to law enforcement",
        "law_enforcement_closed" => "law-enforcement request closed",
        "report_read" => "report read",
        _ => return None,
    })
}

/// A label for any value a report shows: an enum name or event kind as
/// words, anything else unchanged.
pub fn word(s: &str) -> String {
    enum_label(s)
        .or_else(|| kind_label(s))
        .map_or_else(|| s.to_string(), str::to_string)
}

/// Labels of a list of values, comma-separated.
pub fn words(values: &[String]) -> String {
    values
        .iter()
        .map(|v| word(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Free text (a finding's explanation) with every enum name in it, such as
/// `PURPOSE_ADVERTISING`, replaced by its words.
pub fn humanize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if !token.is_empty() {
            match enum_label(token) {
                Some(l) => out.push_str(l),
                None => out.push_str(token),
            }
            token.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// English short names of ISO 3166-1 alpha-2 codes: the EEA, the countries
/// the seeds and the demo name, and the usual support locations.
const COUNTRIES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BG", "Bulgaria"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HR", "Croatia"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KR", "South Korea"),
    ("LI", "Liechtenstein"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("MA", "Morocco"),
    ("MT", "Malta"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New Zealand"),
    ("PH", "Philippines"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russia"),
    ("SA", "Saudi Arabia"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SI", "Slovenia"),
    ("SK", "Slovakia"),
    ("TH", "Thailand"),
    ("TR", "Türkiye"),
    ("TW", "Taiwan"),
    ("UA", "Ukraine"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("VN", "Viet Nam"),
    ("ZA", "South Africa"),
];

/// The English name of a country code (any letter case).
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, n)| *n)
}

/// "Ireland (IE)"; an unknown code stays as it is; empty as "-".
pub fn country(code: &str) -> String {
    if code.is_empty() {
        return "-".into();
    }
    match country_name(code) {
        Some(n) => format!("{n} ({})", code.to_ascii_uppercase()),
        None => code.to_string(),
    }
}

/// "2026-01-31 09:30:05 UTC": readable, zone stated, sortable.
pub fn time(ms: i64) -> String {
    let iso = format_ms(ms);
    // `format_ms` is `YYYY-MM-DDTHH:MM:SS(.mmm)Z`.
    let body = iso.trim_end_matches('Z');
    let body = body.split('.').next().unwrap_or(body);
    format!("{} UTC", body.replacen('T', " ", 1))
}

/// [`time`] of an RFC 3339 text as reports carry it; other text unchanged.
pub fn time_text(s: &str) -> String {
    match crate::api::parse_rfc3339(s) {
        Ok(ms) => time(ms),
        Err(_) => s.to_string(),
    }
}

/// [`time_text`] of an optional time; "-" when absent.
pub fn time_opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "-".into(), time_text)
}

/// A duration as "3 d 4 h", "5 h 10 min", "42 min" (ages of open findings).
pub fn duration(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    let (d, h, min) = (m / 1440, m / 60 % 24, m % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {min} min")
    } else {
        format!("{min} min")
    }
}

/// Whether visible text still holds a raw enum name (`WORD_WORD`, capitals
/// only): the check the browser tests make on every page.
pub fn has_raw_enum(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|t| {
            t.contains('_')
                && t.len() > 3
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                && t.chars().any(|c| c.is_ascii_uppercase())
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_proto::v1::{
        CollectionMeans, DataCategory, DeletionReason, EntityKind, LawEnforcementOutcome,
        LegalInstrument, LegalMechanism, Purpose, Role, TransferReason,
    };

    /// Every value of every enum a report shows has words.
    #[test]
    fn every_enum_value_has_words() {
        let mut names = Vec::new();
        for v in 0..20 {
            macro_rules! add {
                ($($t:ty),*) => {$(
                    if let Ok(e) = <$t>::try_from(v) {
                        names.push(e.as_str_name());
                    }
                )*};
            }
            add!(
                Role,
                EntityKind,
                DataCategory,
                CollectionMeans,
                Purpose,
                LegalMechanism,
                TransferReason,
                DeletionReason,
                LegalInstrument,
                LawEnforcementOutcome
            );
        }
        assert!(names.len() > 60, "{}", names.len());
        for n in names {
            let l = enum_label(n).unwrap_or_else(|| panic!("no words for {n}"));
            assert_eq!(has_raw_enum(l), None, "{n}");
        }
        assert_eq!(word("report_read"), "report read");
        assert_eq!(word("cust-00005"), "cust-00005");
    }

    #[test]
    fn countries_times_and_text() {
        assert_eq!(country("IE"), "Ireland (IE)");
        assert_eq!(country("us"), "United States (US)");
        assert_eq!(country("XX"), "XX");
        assert_eq!(country(""), "-");
        for c in custody_policy::EEA_COUNTRIES {
            assert!(country_name(c).is_some(), "{c}");
        }
        assert_eq!(time(1_767_225_600_000), "2026-01-01 00:00:00 UTC");
        assert_eq!(time_text("2026-01-01T00:00:00Z"), "2026-01-01 00:00:00 UTC");
        assert_eq!(time_text("open"), "open");
        assert_eq!(
            humanize("purpose PURPOSE_ADVERTISING may not use DATA_CATEGORY_CONTACT."),
            "purpose advertising may not use contact data."
        );
        assert_eq!(humanize("USE-MATRIX UNKNOWN(7)"), "USE-MATRIX UNKNOWN(7)");
        assert_eq!(has_raw_enum("a LAW_ENF b"), Some("LAW_ENF".into()));
        assert_eq!(
            has_raw_enum("EEA-RESIDENCY USE-MATRIX (IE) 2026-01-01"),
            None
        );
        assert_eq!(duration(90 * 60_000), "1 h 30 min");
        assert_eq!(duration(3 * 86_400_000 + 3_600_000), "3 d 1 h");
    }
}
