//! The C2SP notes through the real binary: `custody key export --format
//! vkey` prints a verifier key that the `signed_note` crate (a port of Go's
//! `golang.org/x/mod/sumdb/note`) accepts, and with it verifies the note a
//! running `custody serve` answers at `GET /v1/logs/{shard}/checkpoint`,
//! also inside the `tlog-proof` of `GET /v1/logs/{shard}/proof`, under the
//! default ledger name and under `--log-name`. (The inclusion proofs are
//! checked independently in query/tests/c2sp_notes.rs.)

mod common;

use common::*;
use signed_note::{Note, StandardVerifier, VerifierList};

/// The note's text if `vkey` verifies it (via the Go port), else why not.
fn open(note: &str, vkey: &str) -> Result<String, String> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| format!("vkey {vkey:?}: {e}"))?;
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| format!("note: {e}"))?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| format!("signature: {e}"))?;
    Ok(String::from_utf8(parsed.text().to_vec()).expect("UTF-8"))
}

fn vkey(data: &str, name: Option<&str>) -> String {
    let mut args = vec!["key", "export", "--data", data, "--format", "vkey"];
    if let Some(n) = name {
        args.extend(["--log-name", n]);
    }
    let out = run_ok(&args);
    assert_eq!(out.lines().count(), 1, "{out}");
    out.trim_end().to_string()
}

#[test]
fn exported_vkeys_verify_the_served_notes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = path_str(&data);
    run_ok(&["demo", "--data", d, "--customers", "5", "--no-serve"]);
    let officer = run_ok(&["token", "create", "--data", d, "--role", "officer"]);
    let auth = format!("Bearer {}", officer.trim());

    // The default format is unchanged: the hex public key.
    let hex_key = run_ok(&["key", "export", "--data", d]);
    assert_eq!(hex_key.trim().len(), 64, "{hex_key}");
    let default_vkey = vkey(d, None);
    let name = default_vkey.split('+').next().unwrap().to_string();
    assert!(name.starts_with("custody.invalid/"), "{default_vkey}");
    assert_eq!(name.len(), "custody.invalid/".len() + 16);
    let named_vkey = vkey(d, Some("example.org/custody"));
    assert!(named_vkey.starts_with("example.org/custody+"));
    // Same key material, other key id.
    assert_eq!(
        default_vkey.rsplit('+').next(),
        named_vkey.rsplit('+').next()
    );
    assert_ne!(default_vkey, named_vkey);
    let bad = run(&[
        "key",
        "export",
        "--data",
        d,
        "--format",
        "vkey",
        "--log-name",
        "a+b",
    ]);
    assert_eq!(bad.status.code(), Some(2));

    for (extra, vkey, name) in [
        (vec![], &default_vkey, name.as_str()),
        (
            vec!["--log-name", "example.org/custody"],
            &named_vkey,
            "example.org/custody",
        ),
    ] {
        let server = Server::start_with(&data, &extra);
        server.settle();
        let (status, note) = server.request("GET", "/v1/logs/0/checkpoint", &[], b"");
        assert_eq!(status, 200, "{note}");
        let text = open(&note, vkey).unwrap_or_else(|e| panic!("{e}\n{note}"));
        let lines: Vec<&str> = text.lines().collect();
        // Origin, size, root, and the customer-map root as an extension line.
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[3].starts_with("custody-customer-map "), "{text}");
        assert_eq!(lines[0], format!("{name}/shard/0"));
        // The same size and root as the JSON checkpoint's shard 0.
        let (_, cp) = server.request("GET", "/v1/checkpoint", &[], b"");
        let cp: serde_json::Value = serde_json::from_str(&cp).unwrap();
        assert_eq!(lines[1], cp["shards"][0]["size"].to_string());
        // The other vkey does not verify it.
        let other = if *vkey == default_vkey {
            &named_vkey
        } else {
            &default_vkey
        };
        assert!(open(&note, other).is_err());

        let (status, proof) = server.request(
            "GET",
            "/v1/logs/0/proof?index=0",
            &[("Authorization", auth.as_str())],
            b"",
        );
        assert_eq!(status, 200, "{proof}");
        assert!(
            proof.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n"),
            "{proof}"
        );
        let (_, inner) = proof.split_once("\n\n").expect("a blank line");
        assert_eq!(inner, note);
        open(inner, vkey).unwrap();
        server.stop();
    }

    let refused = run(&["serve", "--data", d, "--log-name", "has space"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("invalid key name"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
