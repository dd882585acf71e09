//! Bearer tokens and roles. A token is shown once when created; the store
//! keeps only its SHA-256 (column family `tokens`), so a copy of the data
//! directory does not hand out working tokens.

use custody_ledger::keys::CF_TOKENS;
use custody_ledger::{Store, StoreError};
use rand_core::{OsRng, RngCore};
use rocksdb::IteratorMode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every report of every customer; may also post events.
    Officer,
    /// Reads the reports of one customer.
    Customer,
    /// Posts events only.
    Emitter,
}

impl std::str::FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Self, AuthError> {
        match s {
            "officer" => Ok(Role::Officer),
            "customer" => Ok(Role::Customer),
            "emitter" => Ok(Role::Emitter),
            other => Err(AuthError::Invalid(format!(
                "unknown role `{other}` (officer, customer or emitter)"
            ))),
        }
    }
}

/// The stored value of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[error("RocksDB: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("{0}")]
    Invalid(String),
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Creates a token, stores its hash and returns the token (shown once).
pub fn create_token(store: &Store, grant: &Grant) -> Result<String, AuthError> {
    match (grant.role, &grant.customer) {
        (Role::Customer, None) => {
            return Err(AuthError::Invalid(
                "a customer token needs --customer ID".into(),
            ))
        }
        (Role::Customer, Some(c)) if c.is_empty() => {
            return Err(AuthError::Invalid("--customer must not be empty".into()))
        }
        (Role::Officer | Role::Emitter, Some(_)) => {
            return Err(AuthError::Invalid(
                "--customer applies to customer tokens only".into(),
            ))
        }
        _ => {}
    }
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!("cst_{}", hex::encode(secret));
    let value = serde_json::to_vec(grant).map_err(|e| AuthError::Invalid(e.to_string()))?;
    store
        .raw_db()
        .put_cf(store.cf(CF_TOKENS)?, token_hash(&token), value)?;
    Ok(token)
}

/// Whether any token was ever created: until then, intake stays open (a
/// fresh single-machine install works without setup).
pub fn any_tokens(store: &Store) -> Result<bool, AuthError> {
    let cf = store.cf(CF_TOKENS)?;
    match store.raw_db().iterator_cf(cf, IteratorMode::Start).next() {
        None => Ok(false),
        Some(item) => {
            item?;
            Ok(true)
        }
    }
}

/// The grant of a presented token, if it is one of ours.
pub fn lookup(store: &Store, token: &str) -> Result<Option<Principal>, AuthError> {
    let hash = token_hash(token);
    match store.get(CF_TOKENS, &hash)? {
        None => Ok(None),
        Some(v) => {
            let grant: Grant = serde_json::from_slice(&v).map_err(|e| {
                AuthError::Store(StoreError::Corrupt {
                    what: "token grant".into(),
                    reason: e.to_string(),
                })
            })?;
            Ok(Some(Principal {
                grant,
                token_hash: hash,
            }))
        }
    }
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
        let store = Store::open(dir.path()).expect("store");
        assert!(!any_tokens(&store).expect("scan"));
        let grant = Grant {
            role: Role::Customer,
            customer: Some("c1".into()),
        };
        let token = create_token(&store, &grant).expect("created");
        assert!(any_tokens(&store).expect("scan"));
        assert_eq!(store.get(CF_TOKENS, token.as_bytes()).expect("get"), None);
        let p = lookup(&store, &token).expect("lookup").expect("known");
        assert_eq!(p.grant, grant);
        assert_eq!(lookup(&store, "cst_nope").expect("lookup"), None);
        let officer_with_customer = Grant {
            role: Role::Officer,
            customer: Some("c1".into()),
        };
        assert!(create_token(&store, &officer_with_customer).is_err());
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
