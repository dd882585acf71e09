//! The witness check of a report (`custody-verify --witness-key VKEY
//! --min-witnesses K`): every shard of the report's checkpoint must come
//! with its C2SP checkpoint note (the report's `cosigned` section), signed
//! by the pinned ledger key, stating that shard's size, root and
//! customer-map root, and cosigned (`cosignature/v1`) by at least K of the
//! given witnesses. Pure.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::check::Check;
use crate::checkpoint::ShardHead;
use crate::cosign::{cosigned_by, CosignedNote, CosignerKey};
use crate::note::{CheckpointNote, Note, VerifierKey};
use crate::Checkpoint;

/// Prefix of the customer-map extension line of a shard's note.
pub const MAP_EXTENSION: &str = "custody-customer-map ";

/// Checks one shard's note against its head; returns the witnesses whose
/// cosignature verifies.
fn check_note(
    head: &ShardHead,
    note: &str,
    key: &VerifyingKey,
    witnesses: &[CosignerKey],
) -> Result<Vec<String>, String> {
    let parsed = Note::parse(note).map_err(|e| e.to_string())?;
    let body = CheckpointNote::parse_body(parsed.text()).map_err(|e| e.to_string())?;
    let suffix = format!("/shard/{}", head.shard);
    let name = body
        .origin
        .strip_suffix(&suffix)
        .ok_or_else(|| format!("origin {:?} is not of shard {}", body.origin, head.shard))?;
    let vkey = VerifierKey::ed25519(name, key).map_err(|e| e.to_string())?;
    CheckpointNote::open(note, &body.origin, &[vkey])
        .map_err(|e| format!("the ledger's signature: {e}"))?;
    if body.size != head.size || body.root != head.root {
        return Err(format!(
            "the note states {} entries and root {}, the checkpoint {} and {}",
            body.size,
            hex::encode(body.root),
            head.size,
            hex::encode(head.root)
        ));
    }
    let map = body
        .extensions
        .iter()
        .find_map(|l| l.strip_prefix(MAP_EXTENSION))
        .map(|b| {
            BASE64
                .decode(b)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
        });
    match (head.map_root, map) {
        (Some(root), Some(Some(m))) if root == m => {}
        (None, None) => {}
        _ => {
            return Err("the note's customer-map root is not the checkpoint's".into());
        }
    }
    let by = cosigned_by(&parsed, witnesses).map_err(|e| e.to_string())?;
    Ok(by.into_iter().map(|(n, _)| n).collect())
}

/// The check: `min` cosignatures of `witnesses` on every shard's note.
pub fn check_cosigned(
    doc: &Value,
    key: &VerifyingKey,
    witnesses: &[CosignerKey],
    min: usize,
) -> Check {
    let names: Vec<&str> = witnesses.iter().map(CosignerKey::name).collect();
    let mut c = Check::new(
        format!("witnesses ({})", names.join(", ")),
        format!("every shard's checkpoint is cosigned by at least {min} of them"),
    );
    let checkpoint: Checkpoint = match serde_json::from_value(doc["checkpoint"].clone()) {
        Ok(cp) => cp,
        Err(e) => {
            c.fail(format!("the report has no readable `checkpoint`: {e}"));
            return c;
        }
    };
    let notes: Vec<CosignedNote> = match doc.get("cosigned") {
        None => Vec::new(),
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(n) => n,
            Err(e) => {
                c.fail(format!("the `cosigned` section does not parse: {e}"));
                return c;
            }
        },
    };
    for head in &checkpoint.shards {
        let Some(n) = notes.iter().find(|n| n.shard == head.shard) else {
            c.fail(format!(
                "shard {}: the report carries no cosigned note of checkpoint {}",
                head.shard, checkpoint.number
            ));
            continue;
        };
        match check_note(head, &n.note, key, witnesses) {
            Err(e) => c.fail(format!("shard {}: {e}", head.shard)),
            Ok(by) if by.len() < min => c.fail(format!(
                "shard {}: checkpoint {} is cosigned by {} of the {min} witnesses required{}",
                head.shard,
                checkpoint.number,
                by.len(),
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", by.join(", "))
                }
            )),
            Ok(_) => {}
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosign::cosign;
    use ed25519_dalek::SigningKey;

    fn setup(cosigners: &[u8]) -> (Value, VerifyingKey, Vec<CosignerKey>) {
        let ledger = SigningKey::from_bytes(&[1; 32]);
        let head = ShardHead {
            shard: 0,
            size: 3,
            root: [5; 32],
            map_root: Some([6; 32]),
        };
        let cp = Checkpoint::sign_with(&ledger, Some("ab".into()), 4, 1000, vec![head.clone()]);
        let body = CheckpointNote {
            origin: "l.example/shard/0".into(),
            size: 3,
            root: [5; 32],
            extensions: vec![format!("{MAP_EXTENSION}{}", BASE64.encode([6u8; 32]))],
        };
        let mut note = body.sign("l.example", &ledger).unwrap();
        let mut keys = Vec::new();
        for seed in [10u8, 11, 12] {
            let k = SigningKey::from_bytes(&[seed; 32]);
            let name = format!("w{seed}.example");
            keys.push(CosignerKey::ed25519(&name, &k.verifying_key()).unwrap());
            if cosigners.contains(&seed) {
                note.push_signature(cosign(note.text(), &name, &k, 1_700_000_000).unwrap())
                    .unwrap();
            }
        }
        let doc = serde_json::json!({
            "checkpoint": cp,
            "cosigned": [{"shard": 0, "note": note.to_string()}],
        });
        (doc, ledger.verifying_key(), keys)
    }

    #[test]
    fn counts_the_cosignatures_of_the_given_witnesses() {
        let (doc, key, keys) = setup(&[10, 12]);
        assert!(check_cosigned(&doc, &key, &keys, 2).ok());
        let c = check_cosigned(&doc, &key, &keys, 3);
        assert!(c.failures[0].contains("cosigned by 2 of the 3"), "{c:?}");
        let (doc, key, keys) = setup(&[]);
        assert!(!check_cosigned(&doc, &key, &keys, 1).ok());
        assert!(check_cosigned(&doc, &key, &keys, 0).ok());
    }

    #[test]
    fn refuses_a_missing_or_altered_note() {
        let (doc, key, keys) = setup(&[10, 11]);
        let mut none = doc.clone();
        none["cosigned"] = serde_json::json!([]);
        assert!(check_cosigned(&none, &key, &keys, 1).failures[0].contains("no cosigned note"));
        // A cosignature over another size.
        let mut other = doc.clone();
        let text = other["cosigned"][0]["note"]
            .as_str()
            .unwrap()
            .replacen("\n3\n", "\n4\n", 1);
        other["cosigned"][0]["note"] = text.into();
        assert!(!check_cosigned(&other, &key, &keys, 1).ok());
        // Another ledger key.
        let stranger = SigningKey::from_bytes(&[2; 32]).verifying_key();
        assert!(!check_cosigned(&doc, &stranger, &keys, 1).ok());
    }
}
