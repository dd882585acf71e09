//! The report endpoints' answers to each role, in-process: the real router
//! over a real ledger in a temp dir, driven without a socket
//! (`tower::ServiceExt::oneshot`). tests/reports_e2e.rs keeps the real
//! binary's reads, renderings and token-guarded intake.

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use custody_ledger::Ledger;
use custody_query::auth::{create_token, Grant, Role};
use custody_query::AppState;
use tower::ServiceExt;

/// The demo customer with a law-enforcement request, and another one.
const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00001";

struct App {
    _dir: tempfile::TempDir,
    router: Router,
    officer: String,
    customer: String,
    other: String,
    emitter: String,
}

fn token(ledger: &mut Ledger, role: Role, customer: Option<&str>) -> String {
    let grant = Grant {
        role,
        customer: customer.map(str::to_string),
    };
    create_token(ledger, &grant).expect("token created")
}

/// A demo ledger of 10 customers, one token per role, the service's router.
fn app() -> App {
    let dir = tempfile::tempdir().expect("tmp");
    let mut ledger =
        custody_testkit::ledger::demo_ledger(&dir.path().join("data"), 10).expect("demo ledger");
    let l = &mut ledger;
    let (officer, customer, other, emitter) = (
        token(l, Role::Officer, None),
        token(l, Role::Customer, Some(CUSTOMER)),
        token(l, Role::Customer, Some(OTHER)),
        token(l, Role::Emitter, None),
    );
    App {
        router: custody_query::router(AppState::new(ledger)),
        _dir: dir,
        officer,
        customer,
        other,
        emitter,
    }
}

impl App {
    /// GET `path` with an optional bearer token: (status, body).
    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req.body(Body::empty()).expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn status(&self, path: &str, token: Option<&str>) -> u16 {
        self.get(path, token).await.0
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn report_endpoints_enforce_roles() {
    let app = app();
    for p in ["access-history", "reports/disclosure", "reports/residency"] {
        let path = format!("/v1/customers/{CUSTOMER}/{p}");
        assert_eq!(app.status(&path, None).await, 401, "{path} without a token");
        assert_eq!(
            app.status(&path, Some("cst_forged")).await,
            401,
            "{path} forged token"
        );
        assert_eq!(
            app.status(&path, Some(&app.other)).await,
            403,
            "{path} other customer"
        );
        assert_eq!(
            app.status(&path, Some(&app.emitter)).await,
            403,
            "{path} emitter"
        );
        assert_eq!(
            app.status(&path, Some(&app.customer)).await,
            200,
            "{path} own customer"
        );
        assert_eq!(
            app.status(&path, Some(&app.officer)).await,
            200,
            "{path} officer"
        );
    }
    for path in ["/v1/reports/law-enforcement", "/v1/findings"] {
        assert_eq!(app.status(path, None).await, 401, "{path} without a token");
        assert_eq!(
            app.status(path, Some(&app.customer)).await,
            403,
            "{path} customer"
        );
        assert_eq!(
            app.status(path, Some(&app.emitter)).await,
            403,
            "{path} emitter"
        );
        assert_eq!(
            app.status(path, Some(&app.officer)).await,
            200,
            "{path} officer"
        );
    }
}

/// A customer token is 403 on another customer before any lookup, so it
/// cannot probe which customers exist; the officer gets the 404.
#[tokio::test]
async fn unknown_customers_are_not_revealed_to_customers() {
    let app = app();
    let unknown = "/v1/customers/nobody/reports/disclosure";
    assert_eq!(app.status(unknown, Some(&app.customer)).await, 403);
    assert_eq!(app.status(unknown, Some(&app.officer)).await, 404);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let app = app();
    for (query, field) in [
        ("access-history?limit=0", "limit"),
        ("access-history?limit=1001", "limit"),
        ("access-history?cursor=nope", "cursor"),
        ("reports/disclosure?from=yesterday", "from"),
        (
            "reports/residency?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to",
        ),
        ("reports/disclosure?format=xml", "format"),
    ] {
        let (code, body) = app
            .get(
                &format!("/v1/customers/{CUSTOMER}/{query}"),
                Some(&app.officer),
            )
            .await;
        assert_eq!(code, 400, "{query}: {body}");
        assert_eq!(json(&body)["field"], field, "{query}");
    }
    let (code, body) = app
        .get("/v1/findings?state=maybe", Some(&app.officer))
        .await;
    assert_eq!((code, json(&body)["field"].clone()), (400, "state".into()));
}

#[tokio::test]
async fn verification_material_stays_public() {
    let app = app();
    assert_eq!(app.status("/v1/checkpoint", None).await, 200);
    assert_eq!(app.status("/v1/public-key", None).await, 200);
    let (code, body) = app.get("/openapi.json", None).await;
    assert_eq!(code, 200);
    assert!(json(&body)["paths"]["/v1/reports/law-enforcement"].is_object());
}
