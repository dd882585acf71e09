//! The console's sessions in-process: the real router over a demo ledger,
//! driven without a socket. Sign-in by form (with its double-submit
//! cookie), the session cookie's attributes, a customer session confined to
//! its customer, sign-out and revocation ending sessions, a cookie never
//! authorising the JSON API, and every page free of raw enum names.
//! tests/console_e2e.rs drives the same pages in Chromium.

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use custody_ledger::Ledger;
use custody_query::auth::{create_token, revoke_token, Grant, Role};
use custody_query::labels::has_raw_enum;
use custody_query::AppState;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00001";

struct App {
    _dir: tempfile::TempDir,
    router: Router,
    ledger: Arc<Mutex<Ledger>>,
    officer: String,
    customer: String,
    emitter: String,
}

fn token(ledger: &mut Ledger, role: Role, customer: Option<&str>) -> String {
    let grant = Grant {
        role,
        customer: customer.map(str::to_string),
    };
    create_token(ledger, &grant).expect("token created")
}

fn app() -> App {
    let dir = tempfile::tempdir().expect("tmp");
    let mut ledger =
        custody_testkit::ledger::demo_ledger(&dir.path().join("data"), 10).expect("demo ledger");
    let l = &mut ledger;
    let (officer, _second_officer, customer, emitter) = (
        token(l, Role::Officer, None),
        token(l, Role::Officer, None),
        token(l, Role::Customer, Some(CUSTOMER)),
        token(l, Role::Emitter, None),
    );
    let state = AppState::new(ledger);
    App {
        ledger: state.ledger.clone(),
        router: custody_query::router(state),
        _dir: dir,
        officer,
        customer,
        emitter,
    }
}

/// The text of a page: tags (and so attribute values such as a select's
/// option values, which are the API's machine names) left out.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

struct Answer {
    status: u16,
    set_cookies: Vec<String>,
    location: Option<String>,
    body: String,
}

impl App {
    async fn send(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let set_cookies = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            set_cookies,
            location,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Answer {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    async fn post_form(&self, path: &str, cookie: Option<&str>, form: &str) -> Answer {
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(form.to_string())).expect("request"))
            .await
    }

    /// Signs in through the form as a browser would; returns the
    /// `Cookie` header of the session.
    async fn sign_in(&self, token: &str) -> String {
        let page = self.get("/", None).await;
        assert_eq!(page.status, 200);
        let nonce_cookie = page
            .set_cookies
            .iter()
            .find(|c| c.starts_with("custody_signin="))
            .expect("sign-in cookie");
        let nonce = nonce_cookie
            .trim_start_matches("custody_signin=")
            .split(';')
            .next()
            .expect("value")
            .to_string();
        assert!(page.body.contains(&format!("value=\"{nonce}\"")));
        let answer = self
            .post_form(
                "/sign-in",
                Some(&format!("custody_signin={nonce}")),
                &format!("token={token}&nonce={nonce}"),
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        let session = answer
            .set_cookies
            .iter()
            .find(|c| c.starts_with("custody_session="))
            .expect("session cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(session.contains(attr), "{session} lacks {attr}");
        }
        assert!(!session.contains("Secure"), "Secure without TLS: {session}");
        session.split(';').next().expect("pair").to_string()
    }

    /// The CSRF token of a signed-in page's sign-out form.
    async fn csrf(&self, path: &str, cookie: &str) -> String {
        let page = self.get(path, Some(cookie)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let start = page.body.find("name=csrf value=\"").expect("sign-out form")
            + "name=csrf value=\"".len();
        page.body[start..start + 64].to_string()
    }
}

#[tokio::test]
async fn sign_in_sessions_and_their_end() {
    let app = app();
    // Without a session: the sign-in page at `/`, 401 pages elsewhere.
    let index = app.get("/", None).await;
    assert!(index.body.contains("action=\"/sign-in\""), "{}", index.body);
    assert_eq!(app.get("/console/findings", None).await.status, 401);
    assert_eq!(
        app.get(&format!("/portal/{CUSTOMER}"), None).await.status,
        401
    );
    // A token is never read from the URL.
    let url = format!("/portal/{CUSTOMER}?token={}", app.customer);
    assert_eq!(app.get(&url, None).await.status, 401);

    // The customer's session opens its own portal only.
    let c = app.sign_in(&app.customer).await;
    let portal = app.get(&format!("/portal/{CUSTOMER}"), Some(&c)).await;
    assert_eq!(portal.status, 200, "{}", portal.body);
    assert!(portal.body.contains("data-chart=\"use-matrix\""));
    assert!(portal.body.contains("data-chart=\"timeline\""));
    assert_eq!(has_raw_enum(&visible(&portal.body)), None);
    assert_eq!(
        app.get(&format!("/portal/{OTHER}"), Some(&c)).await.status,
        403
    );
    assert_eq!(app.get("/console/findings", Some(&c)).await.status, 403);
    let dl = app
        .get(
            &format!("/portal/{OTHER}/download/disclosure.json"),
            Some(&c),
        )
        .await;
    assert_eq!(dl.status, 403);
    // The cookie does not authorise the JSON API.
    let api = app
        .get(
            &format!("/v1/customers/{CUSTOMER}/reports/disclosure"),
            Some(&c),
        )
        .await;
    assert_eq!(api.status, 401);
    // `/` sends a signed-in person on to their start page.
    let home = app.get("/", Some(&c)).await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location.as_deref(), Some("/portal/cust-00005"));

    // Sign-out needs the session's CSRF token, then ends the session.
    let csrf = app.csrf(&format!("/portal/{CUSTOMER}"), &c).await;
    let forged = app.post_form("/sign-out", Some(&c), "csrf=0000").await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        app.get(&format!("/portal/{CUSTOMER}"), Some(&c))
            .await
            .status,
        200
    );
    let out = app
        .post_form("/sign-out", Some(&c), &format!("csrf={csrf}"))
        .await;
    assert_eq!(out.status, 303);
    assert!(out
        .set_cookies
        .iter()
        .any(|s| s.starts_with("custody_session=;") && s.contains("Max-Age=0")));
    assert_eq!(
        app.get(&format!("/portal/{CUSTOMER}"), Some(&c))
            .await
            .status,
        401
    );

    // Officers: the queue, the dashboard, any customer; revoking the token
    // ends the session.
    let o = app.sign_in(&app.officer).await;
    for path in [
        "/console/findings",
        "/console/findings?state=open&severity=high",
        "/console/law-enforcement",
        "/console/customer",
    ] {
        let page = app.get(path, Some(&o)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(has_raw_enum(&visible(&page.body)), None, "{path}");
    }
    let other = app.get(&format!("/portal/{OTHER}"), Some(&o)).await;
    assert_eq!(other.status, 200);
    assert!(other.body.contains("Officer's view"));
    assert_eq!(
        app.get("/console/findings?severity=urgent", Some(&o))
            .await
            .status,
        400
    );
    let officer = app.officer.clone();
    {
        let mut l = app.ledger.lock().expect("ledger");
        revoke_token(&mut l, &officer).expect("revoke");
    }
    assert_eq!(app.get("/console/findings", Some(&o)).await.status, 401);
}

#[tokio::test]
async fn forged_sign_ins_start_no_session() {
    let app = app();
    // No double-submit cookie (a cross-site form: SameSite=Strict withholds it).
    let a = app
        .post_form(
            "/sign-in",
            None,
            &format!("token={}&nonce=abc", app.officer),
        )
        .await;
    assert_eq!(a.status, 403);
    assert!(!a
        .set_cookies
        .iter()
        .any(|c| c.starts_with("custody_session=")));
    // A wrong token, and an emitter token, are refused on the page.
    let bad = app
        .post_form(
            "/sign-in",
            Some("custody_signin=abc"),
            "token=cst_x&nonce=abc",
        )
        .await;
    assert_eq!(bad.status, 401);
    let emitter = app
        .post_form(
            "/sign-in",
            Some("custody_signin=abc"),
            &format!("token={}&nonce=abc", app.emitter),
        )
        .await;
    assert_eq!(emitter.status, 403);
    assert!(!emitter
        .set_cookies
        .iter()
        .any(|c| c.starts_with("custody_session=")));
}
