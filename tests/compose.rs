//! There is no Docker engine here, so docker-compose.yml is checked against
//! the code instead: the Custody command line must be accepted by the real
//! CLI parser, and topic, ports, addresses and volume must agree.

mod common;

use serde_yaml_ng::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
        })
        .collect()
}

fn flag(args: &[String], name: &str) -> String {
    let i = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} missing from {args:?}"));
    args[i + 1].clone()
}

#[test]
fn compose_command_is_accepted_by_the_cli_and_agrees_with_kafka() {
    let c = compose();
    let services = &c["services"];
    let args = strings(&services["custody"]["command"]);
    let out = common::custody()
        .env("CUSTODY_PARSE_ONLY", "1")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "custody rejects the compose command line {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong flag must fail the same check (the check is real).
    let out = common::custody()
        .env("CUSTODY_PARSE_ONLY", "1")
        .args(["serve", "--no-such-flag"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // Topic: created with the same name Custody consumes.
    let create = strings(&services["create-topic"]["command"]);
    assert_eq!(flag(&create, "--topic"), flag(&args, "--topic"));
    // Brokers: Custody reaches Kafka's internal listener.
    let kafka_addr = flag(&args, "--kafka");
    let listeners = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        .as_str()
        .unwrap();
    assert!(
        listeners.contains(&format!("INTERNAL://{kafka_addr}")),
        "{kafka_addr} not in {listeners}"
    );
    assert_eq!(flag(&create, "--bootstrap-server"), kafka_addr);
    // Ports: the listen port is the one published and exposed.
    let listen = flag(&args, "--listen");
    let port = listen.rsplit(':').next().unwrap();
    let published = strings(&services["custody"]["ports"]);
    assert!(
        published.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "{published:?}"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("EXPOSE {port}")));
    // Data: the ledger lives on the named volume.
    let data = flag(&args, "--data");
    let volumes = strings(&services["custody"]["volumes"]);
    assert!(
        volumes.iter().any(|v| v.ends_with(&format!(":{data}"))),
        "{volumes:?}"
    );
    assert!(c["volumes"]["custody-data"].is_null() || c["volumes"]["custody-data"].is_mapping());
}
