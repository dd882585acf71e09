//! The web console (officers) and portal (customers): server-rendered HTML
//! pages that work without JavaScript, signed in through a session cookie
//! ([`crate::session`]) instead of a bearer header.
//!
//! Routes: `GET /` (sign-in form, or on to the signed-in person's start
//! page), `POST /sign-in`, `POST /sign-out`, `GET /portal/{customer}` and
//! its downloads ([`portal`]), `GET /console/findings`,
//! `GET /console/law-enforcement`, `GET /console/customer` ([`officer`]).
//! Every page builds its figures through [`crate::source::produce`], the
//! pipeline of the JSON reports, and records each report it read as a
//! `report_read` event, like the API.

pub mod officer;
pub mod portal;

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::auth::{self, Principal, Role};
use crate::render::escape_html;
use crate::session::{self, cookie, over_tls, same_secret, set_cookie, COOKIE, SIGNIN_COOKIE};
use crate::{now_ms, ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(get_index))
        .route("/sign-in", post(post_sign_in))
        .route("/sign-out", post(post_sign_out))
        .merge(portal::routes())
        .merge(officer::routes())
}

/// A signed-in person on a console page.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
}

impl Viewer {
    /// Where this person starts: officers at the findings queue, customers
    /// at their portal.
    pub fn home(&self) -> String {
        home_of(&self.principal)
    }
}

fn home_of(p: &Principal) -> String {
    match (p.grant.role, &p.grant.customer) {
        (Role::Customer, Some(c)) => format!("/portal/{}", url_encode(c)),
        _ => "/console/findings".into(),
    }
}

/// Percent-encoding of a path segment or query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Every console answer: HTML, never cached, never framed, no script.
pub fn html_page(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser
    // sends `Origin: null` with our own form posts, which the CSRF check
    // refuses; other sites still get no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    resp
}

pub(crate) fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

pub(crate) const CONSOLE_STYLE: &str = "header.top{display:flex;flex-wrap:wrap;gap:0.5em 1.5em;align-items:center;\
border-bottom:2px solid #0b3d91;padding-bottom:0.5em;margin-bottom:1em}\
header.top a{color:#0b3d91}header.top .who{margin-left:auto;font-size:0.9em}\
nav ul{display:flex;flex-wrap:wrap;gap:0.3em 1.2em;list-style:none;margin:0;padding:0}\
form.inline{display:inline}button{font:inherit;padding:0.25em 0.8em;cursor:pointer}\
input,select{max-width:100%;font:inherit}form.filters label{max-width:100%}\
form.filters{display:flex;flex-wrap:wrap;gap:0.5em 1em;align-items:flex-end;background:#f4f6fa;padding:0.6em;border:1px solid #ccd}\
form.filters label{display:flex;flex-direction:column;font-size:0.85em}\
form.filters label.check{flex-direction:row;align-items:center;gap:0.3em}\
.cards{display:flex;flex-wrap:wrap;gap:0.8em;margin:0.8em 0}\
.card{border:1px solid #ccd;border-radius:4px;padding:0.4em 0.8em;min-width:9em}\
.card b{display:block;font-size:1.5em}\
.sev{display:inline-block;padding:0 0.4em;border-radius:3px;color:#fff;font-weight:bold;font-size:0.85em}\
.state-open{font-weight:bold;color:#7b0d1e}\
.note{background:#fff8e1;border-left:4px solid #e69f00;padding:0.4em 0.8em}\
ol.plain li{margin-bottom:0.6em}\
details summary{cursor:pointer;color:#0b3d91}\
code.cmd{display:block;background:#f4f4f4;padding:0.4em;overflow-wrap:anywhere}\
a{color:#0b3d91}\
@media (max-width:600px){body{margin:0.6em}h1{font-size:1.4em}}\
@media print{header.top nav,header.top form,form.filters{display:none}}";

/// A whole console page: header with navigation and sign-out, then `body`.
pub fn layout(title: &str, viewer: Option<&Viewer>, body: &str) -> String {
    let mut head = String::new();
    if let Some(v) = viewer {
        let (nav, who) = match (v.principal.grant.role, &v.principal.grant.customer) {
            (Role::Customer, Some(c)) => (
                format!("<li><a href=\"/portal/{}\">My data</a></li>", url_encode(c)),
                format!("customer {}", escape_html(c)),
            ),
            _ => (
                "<li><a href=\"/console/findings\">Findings</a></li>\
                 <li><a href=\"/console/law-enforcement\">Law enforcement</a></li>\
                 <li><a href=\"/console/customer\">Customers</a></li>"
                    .to_string(),
                "compliance officer".to_string(),
            ),
        };
        head = format!(
            "<header class=top><strong>Custody</strong><nav aria-label=\"Main\"><ul>{nav}</ul></nav>\
             <span class=who>Signed in as {who} ({})</span>\
             <form class=inline method=post action=\"/sign-out\">\
             <input type=hidden name=csrf value=\"{}\"><button type=submit>Sign out</button></form></header>",
            escape_html(&v.principal.reader_id()),
            escape_html(&v.csrf)
        );
    }
    let title = escape_html(title);
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Custody</title><style>{}{CONSOLE_STYLE}</style></head><body>{head}\
         <main><h1>{title}</h1>{body}</main></body></html>",
        crate::render::STYLE
    )
}

/// A page that says why it cannot be shown, with a way back in.
pub fn message_page(
    status: StatusCode,
    title: &str,
    text: &str,
    viewer: Option<&Viewer>,
) -> Response {
    let body = format!(
        "<p>{}</p><p><a href=\"/\">{}</a></p>",
        escape_html(text),
        if viewer.is_some() {
            "Back to the start page"
        } else {
            "Sign in"
        }
    );
    html_page(status, layout(title, viewer, &body))
}

/// Why a console request was refused, as a page (boxed: a `Response` is
/// large for an error variant).
pub struct PageError(pub Box<Response>);

impl PageError {
    pub fn new(resp: Response) -> Self {
        PageError(Box::new(resp))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Check the filters",
            StatusCode::FORBIDDEN => "Not yours to see",
            StatusCode::SERVICE_UNAVAILABLE => "Not ready yet",
            _ => "Something went wrong",
        };
        PageError::new(message_page(e.status, title, &e.message, None))
    }
}

fn signed_out() -> PageError {
    PageError::new(message_page(
        StatusCode::UNAUTHORIZED,
        "Please sign in",
        "You are not signed in, or your session has ended (signed out, expired after 30 minutes idle or 8 hours, the server restarted, or the token was revoked).",
        None,
    ))
}

/// The signed-in person of a request: its session cookie, a live session,
/// and a token that still authenticates.
pub async fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, PageError> {
    let id = cookie(headers, COOKIE).ok_or_else(signed_out)?;
    let s = state.sessions.get(&id, now_ms()).ok_or_else(signed_out)?;
    let hash = s.token_hash;
    let principal = crate::api::with_reader(state, move |store| {
        auth::lookup_hash(store, hash).map_err(ApiError::internal)
    })
    .await?;
    match principal {
        Some(p) => Ok(Viewer {
            principal: p,
            csrf: s.csrf,
        }),
        None => {
            state.sessions.end(&id);
            Err(signed_out())
        }
    }
}

/// A form post must come from one of our pages: `Origin`, when the browser
/// sends it, names this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn sign_in_page(status: StatusCode, nonce: &str, error: Option<&str>, secure: bool) -> Response {
    let error = error
        .map(|e| format!("<p class=note role=alert>{}</p>", escape_html(e)))
        .unwrap_or_default();
    let body = format!(
        "{error}<p>Custody keeps a verifiable record of who touched customer data, where and why. \
         Customers see their own data's history; compliance officers see findings and law-enforcement requests.</p>\
         <form method=post action=\"/sign-in\" class=filters>\
         <input type=hidden name=nonce value=\"{}\">\
         <label for=token>Access token (starts with <code>cst_</code>)\
         <input id=token name=token type=password autocomplete=off required size=40></label>\
         <button type=submit>Sign in</button></form>\
         <p>Your token is sent once, in this form, and never appears in an address. \
         The session lasts 8 hours at most and ends after 30 minutes without use, or when you sign out.</p>\
         <h2>For programs</h2><p>The JSON API takes the token as <code>Authorization: Bearer TOKEN</code>.</p>{}",
        escape_html(nonce),
        crate::API_LINKS
    );
    let mut resp = html_page(status, layout("Sign in to Custody", None, &body));
    if let Ok(v) = HeaderValue::from_str(&set_cookie(SIGNIN_COOKIE, nonce, 3600, secure)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

async fn get_index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if cookie(&headers, COOKIE).is_some() {
        if let Ok(v) = viewer(&state, &headers).await {
            return redirect(&v.home(), &[]);
        }
    }
    sign_in_page(
        StatusCode::OK,
        &session::random_hex(),
        None,
        over_tls(&headers),
    )
}

#[derive(Deserialize)]
struct SignIn {
    #[serde(default)]
    token: String,
    #[serde(default)]
    nonce: String,
}

async fn post_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let secure = over_tls(&headers);
    let fresh = session::random_hex();
    let nonce_ok = cookie(&headers, SIGNIN_COOKIE)
        .is_some_and(|c| !form.nonce.is_empty() && same_secret(&c, &form.nonce));
    if !nonce_ok || !same_origin(&headers) {
        return sign_in_page(
            StatusCode::FORBIDDEN,
            &fresh,
            Some("This form expired or did not come from this site; please try again."),
            secure,
        );
    }
    let token = form.token.trim().to_string();
    let found = if token.is_empty() {
        Ok(None)
    } else {
        crate::api::with_reader(&state, move |store| {
            auth::lookup(store, &token).map_err(ApiError::internal)
        })
        .await
    };
    let principal = match found {
        Ok(Some(p)) => p,
        Ok(None) => {
            return sign_in_page(
                StatusCode::UNAUTHORIZED,
                &fresh,
                Some("That token is not valid (mistyped, revoked, or for another server)."),
                secure,
            )
        }
        Err(e) => return PageError::from(e).into_response(),
    };
    let refusal = match principal.grant.role {
        Role::Emitter => {
            Some("An emitter token posts events only; sign in with an officer or customer token.")
        }
        Role::Witness => Some(
            "A witness token reads entries and checkpoints only; sign in with an officer or customer token.",
        ),
        Role::Officer | Role::Customer => None,
    };
    if let Some(message) = refusal {
        return sign_in_page(StatusCode::FORBIDDEN, &fresh, Some(message), secure);
    }
    let id = state.sessions.create(principal.token_hash, now_ms());
    tracing::info!(reader = %principal.reader_id(), "console sign-in");
    redirect(
        &home_of(&principal),
        &[
            set_cookie(COOKIE, &id, session::MAX_AGE_MS / 1000, secure),
            set_cookie(SIGNIN_COOKIE, "", 0, secure),
        ],
    )
}

#[derive(Deserialize)]
struct SignOut {
    #[serde(default)]
    csrf: String,
}

async fn post_sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Response {
    let secure = over_tls(&headers);
    let Some(id) = cookie(&headers, COOKIE) else {
        return redirect("/", &[]);
    };
    match state.sessions.get(&id, now_ms()) {
        Some(s) if same_secret(&s.csrf, &form.csrf) && same_origin(&headers) => {
            state.sessions.end(&id);
            redirect("/", &[set_cookie(COOKIE, "", 0, secure)])
        }
        Some(_) => message_page(
            StatusCode::FORBIDDEN,
            "Sign-out refused",
            "The sign-out form did not come from this session's page.",
            None,
        ),
        None => redirect("/", &[set_cookie(COOKIE, "", 0, secure)]),
    }
}

/// Query parameters of a console page.
pub type Params = HashMap<String, String>;

/// A non-empty query value.
pub fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `from`/`to` of a filter form: a date (`2026-01-31`, midnight UTC) or an
/// RFC 3339 time.
pub fn period_of(q: &Params) -> Result<crate::reports::Period, ApiError> {
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        let Some(s) = param(q, name) else {
            return Ok(None);
        };
        let full = if s.len() == 10 {
            format!("{s}T00:00:00Z")
        } else {
            s.to_string()
        };
        crate::api::parse_rfc3339(&full).map(Some).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("`{s}` is not a date (2026-01-31) or an RFC 3339 time"),
            )
        })
    };
    let period = crate::reports::Period {
        from_ms: time("from")?,
        to_ms: time("to")?,
    };
    if let (Some(f), Some(t)) = (period.from_ms, period.to_ms) {
        if f >= t {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "the end of the period must be after its start",
            ));
        }
    }
    Ok(period)
}

/// `<option>`s of a select, the current value selected.
pub fn options(values: &[(String, String)], current: Option<&str>, any: &str) -> String {
    let mut out = format!("<option value=\"\">{}</option>", escape_html(any));
    for (v, label) in values {
        let sel = if current == Some(v.as_str()) {
            " selected"
        } else {
            ""
        };
        out.push_str(&format!(
            "<option value=\"{}\"{sel}>{}</option>",
            escape_html(v),
            escape_html(label)
        ));
    }
    out
}

/// The value of a date input for a period bound.
pub fn date_value(ms: Option<i64>) -> String {
    ms.map(|m| custody_policy::format_ms(m).chars().take(10).collect())
        .unwrap_or_default()
}

/// A query string of `pairs` (empty values left out), starting with `?`.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&amp;"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_checks_origins() {
        assert_eq!(url_encode("cust 1/é"), "cust%201%2F%C3%A9");
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        assert_eq!(
            query_string(&[("a", "x y".into()), ("b", String::new())]),
            "?a=x%20y"
        );
        let mut q = Params::new();
        q.insert("from".into(), "2026-01-01".into());
        assert_eq!(
            period_of(&q).expect("date").from_ms,
            Some(1_767_225_600_000)
        );
        q.insert("to".into(), "2025-01-01".into());
        assert!(period_of(&q).is_err());
    }
}
