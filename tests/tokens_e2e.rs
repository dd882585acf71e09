//! Token administration over HTTP while the server holds the database:
//! officers create, list and revoke tokens; nobody else may.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn officers_create_list_and_revoke_tokens_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(&[
        "demo",
        "--data",
        path_str(&data),
        "--customers",
        "5",
        "--no-serve",
    ]);
    let officer = run_ok(&[
        "token",
        "create",
        "--data",
        path_str(&data),
        "--role",
        "officer",
    ]);
    let officer = officer.trim();
    let server = Server::start(&data);
    let auth = format!("Bearer {officer}");
    let as_officer = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];

    let (status, body) = server.request(
        "POST",
        "/v1/tokens",
        &as_officer,
        br#"{"role":"customer","customer":"cust-00001"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let customer_auth = format!("Bearer {token}");
    let as_customer = [("Authorization", customer_auth.as_str())];
    let report = "/v1/customers/cust-00001/reports/disclosure";
    assert_eq!(server.request("GET", report, &as_customer, b"").0, 200);

    // Only officers administer tokens; bad bodies are named.
    assert_eq!(
        server
            .request("POST", "/v1/tokens", &as_customer, br#"{"role":"officer"}"#)
            .0,
        403
    );
    assert_eq!(
        server
            .request("POST", "/v1/tokens", &[], br#"{"role":"officer"}"#)
            .0,
        401
    );
    let (status, body) =
        server.request("POST", "/v1/tokens", &as_officer, br#"{"role":"customer"}"#);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("--customer") || body.contains("customer"),
        "{body}"
    );
    assert_eq!(
        server
            .request("POST", "/v1/tokens", &as_officer, br#"{"role":"root"}"#)
            .0,
        422
    );

    let (status, body) = server.request("GET", "/v1/tokens", &as_officer, b"");
    assert_eq!(status, 200);
    let list: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(
        list.iter().any(|t| t["id"] == id.as_str()
            && t["customer"] == "cust-00001"
            && t["revoked"] == false),
        "{body}"
    );

    let (status, body) =
        server.request("POST", &format!("/v1/tokens/{id}/revoke"), &as_officer, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.request("GET", report, &as_customer, b"").0, 401);
    assert_eq!(
        server
            .request(
                "POST",
                "/v1/tokens/token-0000000000000000/revoke",
                &as_officer,
                b""
            )
            .0,
        404
    );
    server.stop();
}

#[test]
fn the_last_officer_token_cannot_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = demo_file(dir.path(), 2);
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    let first = run_ok(&[
        "token",
        "create",
        "--data",
        path_str(&data),
        "--role",
        "officer",
    ]);
    let first = first.trim().to_string();
    let first_id = {
        let list = run_ok(&["token", "list", "--data", path_str(&data)]);
        let t: Value = serde_json::from_str(list.lines().next().unwrap()).unwrap();
        t["id"].as_str().unwrap().to_string()
    };
    let server = Server::start(&data);
    let auth = format!("Bearer {first}");
    let as_first = [("Authorization", auth.as_str())];
    let revoke = format!("/v1/tokens/{first_id}/revoke");
    // Alone, it may not lock everyone out.
    let (status, body) = server.request("POST", &revoke, &as_first, b"");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("last officer token"), "{body}");
    assert_eq!(server.request("GET", "/v1/tokens", &as_first, b"").0, 200);
    // With a second officer it can go.
    let (status, body) = server.request("POST", "/v1/tokens", &as_first, br#"{"role":"officer"}"#);
    assert_eq!(status, 201, "{body}");
    let second: Value = serde_json::from_str(&body).unwrap();
    let auth2 = format!("Bearer {}", second["token"].as_str().unwrap());
    let as_second = [("Authorization", auth2.as_str())];
    assert_eq!(server.request("POST", &revoke, &as_second, b"").0, 200);
    assert_eq!(server.request("GET", "/v1/tokens", &as_first, b"").0, 401);
    // And now the second is the last one.
    let second_id = second["id"].as_str().unwrap();
    let (status, _) = server.request(
        "POST",
        &format!("/v1/tokens/{second_id}/revoke"),
        &as_second,
        b"",
    );
    assert_eq!(status, 409);
    server.stop();
}
