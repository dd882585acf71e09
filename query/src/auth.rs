//! Bearer tokens and roles. A token is shown once when created; the store
//! keeps only its SHA-256 (column family `tokens`), so a copy of the data
//! directory does not hand out working tokens. Creating and revoking write
//! through the ledger's writer ([`Ledger::put_token`]); lookups read any
//! [`Store`], the writer's or a read-only one.

use custody_ledger::keys::CF_TOKENS;
use custody_ledger::{Ledger, Store, StoreError};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every report of every customer; may also post events.
    Officer,
    /// Reads the reports of one customer.
    Customer,
    /// Posts events only.
    Emitter,
    /// A re-folding witness: reads the entries and checkpoints of every
    /// shard (`GET /v1/logs/{shard}/entries`, `GET /v1/checkpoints/{n}`)
    /// and nothing else.
    Witness,
}

impl std::str::FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, AuthError> {
        match s {
            "officer" => Ok(Role::Officer),
            "customer" => Ok(Role::Customer),
            "emitter" => Ok(Role::Emitter),
            "witness" => Ok(Role::Witness),
            other => Err(AuthError::Invalid(format!(
                "unknown role `{other}` (officer, customer, emitter or witness)"
            ))),
        }
    }
}

/// The stored value of a token, and the body of `POST /v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Grant {
    pub role: Role,
    /// The one customer a customer token may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

/// A request's authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub grant: Grant,
    /// SHA-256 of the token: identifies the reader without revealing it.
    pub token_hash: [u8; 32],
}

impl Principal {
    /// Stable, non-secret reader id recorded in report reads.
    pub fn reader_id(&self) -> String {
        format!("token-{}", &hex::encode(self.token_hash)[..16])
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    /// Revoking it would leave no officer able to administer tokens or read
    /// officer reports over HTTP.
    #[error(
        "`{0}` is the last officer token that is not revoked; create another officer token first, then revoke this one"
    )]
    LastOfficer(String),
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a token, stores its hash and returns the token (shown once).
pub fn create_token(ledger: &mut Ledger, grant: &Grant) -> Result<String, AuthError> {
    match (grant.role, &grant.customer) {
        (Role::Customer, None) => {
            return Err(AuthError::Invalid(
                "a customer token needs --customer ID".into(),
            ))
        }
        (Role::Customer, Some(c)) if c.is_empty() => {
            return Err(AuthError::Invalid("--customer must not be empty".into()))
        }
        (Role::Officer | Role::Emitter | Role::Witness, Some(_)) => {
            return Err(AuthError::Invalid(
                "--customer applies to customer tokens only".into(),
            ))
        }
        _ => {}
    }
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!("cst_{}", hex::encode(secret));
    let stored = StoredGrant {
        grant: grant.clone(),
        revoked: false,
    };
    let value = serde_json::to_vec(&stored).map_err(|e| AuthError::Invalid(e.to_string()))?;
    ledger.put_token(&token_hash(&token), &value)?;
    Ok(token)
}

/// Whether any token was ever created: until then, intake stays open (a
/// fresh single-machine install works without setup).
pub fn any_tokens(store: &Store) -> Result<bool, AuthError> {
    match store.scan(CF_TOKENS)?.next() {
        None => Ok(false),
        Some(item) => {
            item?;
            Ok(true)
        }
    }
}

/// What the `tokens` column family holds: the grant, and whether it was
/// revoked. A revoked token stays stored (so intake does not reopen when
/// the last token is revoked) but no longer authenticates.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredGrant {
    #[serde(flatten)]
    grant: Grant,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    revoked: bool,
}

fn decode_grant(v: &[u8]) -> Result<StoredGrant, AuthError> {
    serde_json::from_slice(v).map_err(|e| {
        AuthError::Store(StoreError::Corrupt {
            what: "token grant".into(),
            reason: e.to_string(),
        })
    })
}

/// The grant of a presented token, if it is one of ours and not revoked.
pub fn lookup(store: &Store, token: &str) -> Result<Option<Principal>, AuthError> {
    lookup_hash(store, token_hash(token))
}

/// [`lookup`] by the token's SHA-256 (what a console session keeps).
pub fn lookup_hash(store: &Store, hash: [u8; 32]) -> Result<Option<Principal>, AuthError> {
    match store.get(CF_TOKENS, &hash)? {
        None => Ok(None),
        Some(v) => {
            let stored = decode_grant(&v)?;
            if stored.revoked {
                return Ok(None);
            }
            Ok(Some(Principal {
                grant: stored.grant,
                token_hash: hash,
            }))
        }
    }
}

/// One stored token, named by its reader id (`token-` + 16 hex of its hash:
/// the id recorded in `report_read` events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TokenInfo {
    pub id: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub revoked: bool,
}

fn reader_id_of(hash: &[u8]) -> String {
    let hex = hex::encode(hash);
    format!("token-{}", &hex[..16.min(hex.len())])
}

/// Every stored token (never the token itself: only hashes are stored).
pub fn list_tokens(store: &Store) -> Result<Vec<TokenInfo>, AuthError> {
    let mut out = Vec::new();
    for item in store.scan(CF_TOKENS)? {
        let (k, v) = item?;
        let stored = decode_grant(&v)?;
        out.push(TokenInfo {
            id: reader_id_of(&k),
            role: stored.grant.role,
            customer: stored.grant.customer,
            revoked: stored.revoked,
        });
    }
    Ok(out)
}

/// Revokes the token named by its reader id (`token-…`, as listed and as
/// recorded in report reads) or by the token itself. Returns its id.
pub fn revoke_token(ledger: &mut Ledger, id_or_token: &str) -> Result<String, AuthError> {
    let wanted = if id_or_token.starts_with("token-") {
        id_or_token.to_string()
    } else {
        reader_id_of(&token_hash(id_or_token))
    };
    let mut found = None;
    for item in ledger.store().scan(CF_TOKENS)? {
        let (k, v) = item?;
        if reader_id_of(&k) == wanted {
            found = Some((k, decode_grant(&v)?));
            break;
        }
    }
    if let Some((k, mut stored)) = found {
        if stored.grant.role == Role::Officer && !stored.revoked {
            let officers = list_tokens(ledger.store())?
                .into_iter()
                .filter(|t| t.role == Role::Officer && !t.revoked)
                .count();
            if officers <= 1 {
                return Err(AuthError::LastOfficer(wanted));
            }
        }
        let hash: [u8; 32] = k.as_ref().try_into().map_err(|_| {
            AuthError::Store(StoreError::Corrupt {
                what: "token key".into(),
                reason: format!("{} bytes, expected a 32-byte SHA-256", k.len()),
            })
        })?;
        stored.revoked = true;
        let value = serde_json::to_vec(&stored).map_err(|e| AuthError::Invalid(e.to_string()))?;
        ledger.put_token(&hash, &value)?;
        return Ok(wanted);
    }
    Err(AuthError::Invalid(format!(
        "no token `{wanted}` (see `custody token list`)"
    )))
}

/// The token of an `Authorization: Bearer ...` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_hashes_and_looked_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ledger = Ledger::open(dir.path()).expect("ledger");
        assert!(!any_tokens(ledger.store()).expect("scan"));
        let grant = Grant {
            role: Role::Customer,
            customer: Some("c1".into()),
        };
        let token = create_token(&mut ledger, &grant).expect("created");
        let store = ledger.store();
        assert!(any_tokens(store).expect("scan"));
        assert_eq!(store.get(CF_TOKENS, token.as_bytes()).expect("get"), None);
        let p = lookup(store, &token).expect("lookup").expect("known");
        assert_eq!(p.grant, grant);
        assert_eq!(lookup(store, "cst_nope").expect("lookup"), None);
        let officer_with_customer = Grant {
            role: Role::Officer,
            customer: Some("c1".into()),
        };
        assert!(create_token(&mut ledger, &officer_with_customer).is_err());
        // A read-only store (what the CLI opens beside a server) sees it.
        let reader = Store::open_read_only(dir.path()).expect("read-only");
        assert!(lookup(&reader, &token).expect("lookup").is_some());
    }

    #[test]
    fn revoked_tokens_stop_working_and_intake_stays_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ledger = Ledger::open(dir.path()).expect("ledger");
        let grant = Grant {
            role: Role::Officer,
            customer: None,
        };
        let a = create_token(&mut ledger, &grant).expect("created");
        let b = create_token(
            &mut ledger,
            &Grant {
                role: Role::Emitter,
                customer: None,
            },
        )
        .expect("created");
        let c = create_token(&mut ledger, &grant).expect("created");
        let listed = list_tokens(ledger.store()).expect("list");
        assert_eq!(listed.len(), 3);
        let id_a = lookup(ledger.store(), &a)
            .expect("lookup")
            .expect("known")
            .reader_id();
        assert!(listed.iter().any(|t| t.id == id_a && !t.revoked));
        // By reader id, and by the token itself.
        assert_eq!(revoke_token(&mut ledger, &id_a).expect("revoke"), id_a);
        revoke_token(&mut ledger, &b).expect("revoke by token");
        // The last officer token stays: nobody could administer tokens.
        assert!(matches!(
            revoke_token(&mut ledger, &c),
            Err(AuthError::LastOfficer(_))
        ));
        let store = ledger.store();
        assert_eq!(lookup(store, &a).expect("lookup"), None);
        assert_eq!(lookup(store, &b).expect("lookup"), None);
        assert!(lookup(store, &c).expect("lookup").is_some());
        assert_eq!(
            list_tokens(store)
                .expect("list")
                .iter()
                .filter(|t| t.revoked)
                .count(),
            2
        );
        // Revoking every token must not reopen unauthenticated intake.
        assert!(any_tokens(store).expect("scan"));
        assert!(revoke_token(&mut ledger, "token-0000000000000000").is_err());
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }
}
