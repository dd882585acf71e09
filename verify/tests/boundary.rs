//! The trust boundary: `custody-verify` is what a customer builds to check
//! a report, so it must never pull in the ledger's storage, Kafka or the
//! HTTP server (a 30-minute build of RocksDB and librdkafka).

use std::collections::BTreeSet;
use std::process::Command;

const FORBIDDEN: [&str; 9] = [
    "rocksdb",
    "librocksdb-sys",
    "rdkafka",
    "rdkafka-sys",
    "axum",
    "tokio",
    "custody-ledger",
    "custody-ingest",
    "custody-query",
];

#[test]
fn custody_verify_depends_on_no_storage_kafka_or_server_crate() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let name_of = |id: &str| -> String {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let nodes = meta["resolve"]["nodes"].as_array().expect("resolve graph");
    let root = packages
        .iter()
        .find(|p| p["name"] == "custody-verify")
        .and_then(|p| p["id"].as_str())
        .expect("custody-verify in the workspace")
        .to_string();
    // Walk normal (not dev, not build) dependencies from custody-verify.
    let mut seen = BTreeSet::new();
    let mut todo = vec![root];
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(node) = nodes.iter().find(|n| n["id"] == id.as_str()) else {
            continue;
        };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if normal {
                if let Some(d) = dep["pkg"].as_str() {
                    todo.push(d.to_string());
                }
            }
        }
    }
    let names: BTreeSet<String> = seen.iter().map(|id| name_of(id)).collect();
    // The walk found the real graph (not an empty one).
    assert!(
        names.contains("sha2") && names.contains("ed25519-dalek"),
        "{names:?}"
    );
    let bad: Vec<&str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|f| names.contains(*f))
        .collect();
    assert!(
        bad.is_empty(),
        "custody-verify depends on {bad:?}; it must know nothing of RocksDB, Kafka or HTTP serving"
    );
}
