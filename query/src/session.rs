//! Browser sessions of the web console and the customer portal.
//!
//! A person pastes a bearer token into the sign-in form once; the server
//! answers with a session cookie (`HttpOnly; SameSite=Strict; Path=/`, plus
//! `Secure` when the request came over TLS through a proxy that says so in
//! `X-Forwarded-Proto`). The token never travels in a URL and never reaches
//! a script.
//!
//! The store is in memory, per process: sessions end when the server
//! restarts (people sign in again). It keeps only the SHA-256 of each
//! session id, the token's hash (never the token), a per-session CSRF
//! token, and two expiries: an absolute one ([`MAX_AGE_MS`]) and an idle
//! one ([`IDLE_MS`]). Every request through a session looks the token up
//! again by its hash, so revoking the token ends its sessions too.
//!
//! Cookies are read only by the console routes (`/`, `/sign-in`,
//! `/sign-out`, `/portal/…`, `/console/…`); the JSON API under `/v1/`
//! accepts bearer tokens only, so a cookie never authorises an API call.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const COOKIE: &str = "custody_session";
/// Name of the sign-in form's double-submit cookie (login CSRF).
pub const SIGNIN_COOKIE: &str = "custody_signin";
/// A session lasts at most 8 hours from sign-in…
pub const MAX_AGE_MS: i64 = 8 * 3_600_000;
/// …and ends after 30 minutes without a request.
pub const IDLE_MS: i64 = 30 * 60_000;

/// What a live session holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the bearer token signed in with (looked up on each use).
    pub token_hash: [u8; 32],
    /// The hidden field every form of this session must carry.
    pub csrf: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

impl Session {
    fn expired(&self, now_ms: i64, max_age_ms: i64, idle_ms: i64) -> bool {
        now_ms >= self.created_ms + max_age_ms || now_ms >= self.last_seen_ms + idle_ms
    }
}

/// The in-memory session store.
#[derive(Debug)]
pub struct Sessions {
    by_id_hash: Mutex<HashMap<[u8; 32], Session>>,
    max_age_ms: i64,
    idle_ms: i64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::with_limits(MAX_AGE_MS, IDLE_MS)
    }
}

/// 32 random bytes as hex.
pub fn random_hex() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn id_hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    pub fn with_limits(max_age_ms: i64, idle_ms: i64) -> Self {
        Sessions {
            by_id_hash: Mutex::new(HashMap::new()),
            max_age_ms,
            idle_ms,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic while holding the lock leaves a consistent map (every
        // operation is one insert or remove), so poisoning is ignored.
        self.by_id_hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session; returns its id (the cookie value, shown once).
    pub fn create(&self, token_hash: [u8; 32], now_ms: i64) -> String {
        let id = random_hex();
        let mut map = self.map();
        // Expired sessions are dropped when a new one starts.
        let (max, idle) = (self.max_age_ms, self.idle_ms);
        map.retain(|_, s| !s.expired(now_ms, max, idle));
        map.insert(
            id_hash(&id),
            Session {
                token_hash,
                csrf: random_hex(),
                created_ms: now_ms,
                last_seen_ms: now_ms,
            },
        );
        id
    }

    /// The live session of a cookie value (and marks it seen); an expired
    /// one is removed.
    pub fn get(&self, id: &str, now_ms: i64) -> Option<Session> {
        let key = id_hash(id);
        let mut map = self.map();
        let s = map.get_mut(&key)?;
        if s.expired(now_ms, self.max_age_ms, self.idle_ms) {
            map.remove(&key);
            return None;
        }
        s.last_seen_ms = now_ms;
        Some(s.clone())
    }

    /// Ends a session (sign-out).
    pub fn end(&self, id: &str) {
        self.map().remove(&id_hash(id));
    }

    /// Sessions held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over TLS (a proxy says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure over TLS.
/// `max_age_s` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn sessions_expire_end_and_store_no_id() {
        let s = Sessions::with_limits(1000, 100);
        let id = s.create([1; 32], 0);
        assert_eq!(id.len(), 64);
        // Only the id's hash is a key.
        assert!(!s.map().keys().any(|k| hex::encode(k) == id));
        let got = s.get(&id, 50).expect("live");
        assert_eq!(got.token_hash, [1; 32]);
        assert_eq!(got.csrf.len(), 64);
        // Idle expiry slides with use, the absolute one does not.
        assert!(s.get(&id, 140).is_some());
        assert!(s.get(&id, 230).is_some());
        assert!(s.get(&id, 400).is_none(), "idle for 170 ms");
        let id2 = s.create([2; 32], 0);
        for t in (90..1000).step_by(90) {
            assert!(s.get(&id2, t).is_some(), "{t}");
        }
        assert!(s.get(&id2, 1000).is_none(), "past the absolute expiry");
        let id3 = s.create([3; 32], 0);
        s.end(&id3);
        assert!(s.get(&id3, 1).is_none());
        assert!(s.get("nonsense", 1).is_none());
    }

    #[test]
    fn cookies_parse_and_are_strict() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; custody_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(COOKIE, "abc", 60, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie(COOKIE, "abc", 60, true).ends_with("; Secure"));
        assert!(!over_tls(&h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(over_tls(&h));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
