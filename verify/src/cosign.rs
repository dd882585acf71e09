//! Witness cosignatures and the witness protocol's request, in the C2SP
//! formats (pure, no I/O):
//!
//! - [`CosignerKey`]: an Ed25519 cosigner (c2sp.org/tlog-cosignature,
//!   `cosignature/v1`): key id = the first 4 bytes of
//!   SHA-256(name || `\n` || 0x04 || public key); verifier key
//!   `<name>+<hex key id>+base64(0x04 || public key)`.
//! - [`cosign`] / [`CosignerKey::verify`]: the signature line
//!   `— <name> base64(key id || timestamp u64 BE || Ed25519 signature)`
//!   over `cosignature/v1\ntime <timestamp>\n` followed by the whole note
//!   body (extension lines included).
//! - [`cosigned_by`]: which of the cosigners one trusts cosigned a note.
//! - [`AddCheckpoint`]: the body of c2sp.org/tlog-witness `add-checkpoint`
//!   (`old N`, the consistency proof, a blank line, the signed checkpoint).

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::merkle::Hash;
use crate::note::{
    is_valid_name, key_id, parse_ed25519_vkey, Note, NoteError, NoteSignature, VkeyError,
};

/// Signature type byte of Ed25519 `cosignature/v1` keys (key ids, vkeys).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Header line of the signed message.
pub const COSIGNATURE_HEADER: &str = "cosignature/v1";

/// Media type of a 409 answer of `add-checkpoint`.
pub const SIZE_MEDIA_TYPE: &str = "text/x.tlog.size";

/// Most consistency proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// One shard's signed checkpoint note with the cosignatures collected for
/// it, as a report carries it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CosignedNote {
    pub shard: u32,
    /// The note: checkpoint body, blank line, the ledger's signature line
    /// and one line per witness cosignature.
    pub note: String,
}

/// Why a cosigner key, a cosignature or a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    #[error("malformed cosigner key: {0}")]
    MalformedKey(&'static str),
    #[error(
        "cosigner key {name}: key id {stated:08x} does not match the key (expected {computed:08x})"
    )]
    KeyId {
        name: String,
        stated: u32,
        computed: u32,
    },
    #[error("cosigner key has signature type {0:#04x}, not cosignature/v1 (0x04)")]
    WrongType(u8),
    #[error("invalid cosigner name {0:?}")]
    InvalidName(String),
    #[error("cosignature by {name}+{id:08x} is not a timestamp and a 64-byte signature")]
    Malformed { name: String, id: u32 },
    #[error("cosignature by {name}+{id:08x} does not verify")]
    BadSignature { name: String, id: u32 },
    #[error("cosignature timestamp {0} exceeds 2^63 - 1")]
    Timestamp(u64),
    #[error("note: {0}")]
    Note(#[from] NoteError),
    #[error("malformed add-checkpoint request: {0}")]
    Request(String),
}

/// An Ed25519 `cosignature/v1` cosigner: name, key id, public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

/// The message a cosigner signs at `timestamp` for a note body (the note
/// text, ending in a newline, without signature lines).
pub fn signed_message(body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}\ntime {timestamp}\n{body}")
}

impl CosignerKey {
    pub fn ed25519(name: &str, key: &VerifyingKey) -> Result<Self, CosignError> {
        if !is_valid_name(name) {
            return Err(CosignError::InvalidName(name.to_string()));
        }
        Ok(CosignerKey {
            name: name.to_string(),
            id: key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()),
            key: *key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether a signature line names this cosigner (name and key id).
    pub fn names(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name && sig.id == self.id
    }

    /// Checks this cosigner's signature line over `body`; returns its
    /// timestamp (POSIX seconds).
    pub fn verify(&self, body: &str, sig: &NoteSignature) -> Result<u64, CosignError> {
        let who = || (self.name.clone(), self.id);
        if !self.names(sig) {
            let (name, id) = who();
            return Err(CosignError::BadSignature { name, id });
        }
        let Ok(raw) = <[u8; 72]>::try_from(sig.signature.as_slice()) else {
            let (name, id) = who();
            return Err(CosignError::Malformed { name, id });
        };
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&raw[..8]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp > i64::MAX as u64 {
            return Err(CosignError::Timestamp(timestamp));
        }
        let mut s = [0u8; 64];
        s.copy_from_slice(&raw[8..]);
        self.key
            .verify_strict(
                signed_message(body, timestamp).as_bytes(),
                &Signature::from_bytes(&s),
            )
            .map_err(|_| {
                let (name, id) = who();
                CosignError::BadSignature { name, id }
            })?;
        Ok(timestamp)
    }
}

impl fmt::Display for CosignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(ALG_COSIGNATURE_V1);
        material.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(material)
        )
    }
}

impl FromStr for CosignerKey {
    type Err = CosignError;

    /// `<name>+<8 hex key id>+base64(0x04 || 32-byte key)`.
    fn from_str(text: &str) -> Result<Self, CosignError> {
        let (name, id, key) =
            parse_ed25519_vkey(text, ALG_COSIGNATURE_V1).map_err(|e| match e {
                VkeyError::Malformed(why) => CosignError::MalformedKey(why),
                VkeyError::InvalidName(name) => CosignError::InvalidName(name),
                VkeyError::KeyId {
                    name,
                    stated,
                    computed,
                } => CosignError::KeyId {
                    name,
                    stated,
                    computed,
                },
                VkeyError::Algorithm(alg) => CosignError::WrongType(alg),
            })?;
        Ok(CosignerKey { name, id, key })
    }
}

/// The cosignature line by `key` under `name` over `body` at `timestamp`.
pub fn cosign(
    body: &str,
    name: &str,
    key: &SigningKey,
    timestamp: u64,
) -> Result<NoteSignature, CosignError> {
    if !is_valid_name(name) {
        return Err(CosignError::InvalidName(name.to_string()));
    }
    if timestamp > i64::MAX as u64 {
        return Err(CosignError::Timestamp(timestamp));
    }
    let sig = key.sign(signed_message(body, timestamp).as_bytes());
    let mut raw = Vec::with_capacity(72);
    raw.extend_from_slice(&timestamp.to_be_bytes());
    raw.extend_from_slice(&sig.to_bytes());
    Ok(NoteSignature {
        name: name.to_string(),
        id: key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes()),
        signature: raw,
    })
}

/// The cosigners among `trusted` whose line on `note` verifies, each once,
/// with the timestamp of its (first) line. As the signed-note rule says, a
/// line that names a trusted cosigner and does not verify refuses the whole
/// note; lines of other keys are ignored.
pub fn cosigned_by(
    note: &Note,
    trusted: &[CosignerKey],
) -> Result<Vec<(String, u64)>, CosignError> {
    let mut found: Vec<(String, u64)> = Vec::new();
    for sig in note.signatures() {
        for key in trusted.iter().filter(|k| k.names(sig)) {
            let ts = key.verify(note.text(), sig)?;
            if !found.iter().any(|(n, _)| n == key.name()) {
                found.push((key.name().to_string(), ts));
            }
        }
    }
    Ok(found)
}

/// Parses the body of a successful `add-checkpoint` answer: one or more
/// signature lines, each ending in a newline.
pub fn parse_signature_lines(text: &str) -> Result<Vec<NoteSignature>, CosignError> {
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| CosignError::Request("the answer does not end in a newline".into()))?;
    if body.is_empty() {
        return Err(CosignError::Request(
            "the answer holds no signature line".into(),
        ));
    }
    // A note of one dummy line with these signatures parses them by the
    // signed-note rules.
    let note = Note::parse(&format!("x\n\n{text}"))?;
    Ok(note.signatures().to_vec())
}

/// The body of `POST <prefix>/add-checkpoint` (c2sp.org/tlog-witness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the latest checkpoint the witness cosigned, as the client
    /// believes it (0 when it knows none).
    pub old: u64,
    /// RFC 6962 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        for h in &self.proof {
            writeln!(f, "{}", BASE64.encode(h))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl AddCheckpoint {
    /// Parses a request body (the checkpoint is kept verbatim, not checked).
    pub fn parse(text: &str) -> Result<Self, CosignError> {
        let bad = |m: String| CosignError::Request(m);
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| bad("no old size line".into()))?;
        let old_text = first
            .strip_prefix("old ")
            .ok_or_else(|| bad(format!("expected `old N`, found {first:?}")))?;
        let canonical = !old_text.is_empty()
            && old_text.bytes().all(|b| b.is_ascii_digit())
            && (old_text == "0" || !old_text.starts_with('0'));
        let old = old_text
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| bad(format!("old size {old_text:?} is not a decimal number")))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| bad("ends before the blank line".into()))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(format!("more than {MAX_PROOF_LINES} proof lines")));
            }
            let h: Hash = BASE64
                .decode(line)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| bad(format!("proof line {line:?} is not base64 of 32 bytes")))?;
            proof.push(h);
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint after the blank line".into()));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: rest.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A vector produced by a third-party implementation
    // (github.com/transparency-dev/formats, NewSignerForCosignatureV1, with
    // golang.org/x/mod/sumdb/note for the log's line), from fixed seeds.
    const VEC_LOG_VKEY: &str =
        "example.com/vector-log+4516a1da+ARGkVJ4QEa2MOOLGBO6i7NVSJ1FQ97tIX+w+Ku0RZ6Em";
    const VEC_WIT_SKEY: &str =
        "PRIVATE+KEY+witness.example.com/vector+416f103d+BJEX3xv88eoQIKT4E+GkxZcXaJCYlQfi/GJ3NDFmZIW8";
    const VEC_WIT_VKEY: &str =
        "witness.example.com/vector+416f103d+BK/QmJFVP3SKJOqAMhFxBQPtylo3sjwWibyFDAlZKK8B";
    const VEC_TEXT: &str =
        "example.com/vector-log\n1234\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n";
    const VEC_LOG_LINE: &str = "— example.com/vector-log RRah2qlLrSlk6J8DA1HmNewppUM15Quhs5cAIb1KjBsV3otVirJTW8AFVsQtJkTW1Zny7GuoAxZpI6bUPcpM68QOIgE=\n";
    const VEC_WIT_LINE: &str = "— witness.example.com/vector QW8QPQAAAABqwLUbDdj7sDNRIVjmjYgqFI6y4UJhPg/UAA8J8wAdqSd3q4PedRhkgXA4xFN/Jg5uWn7ZkBA+H/UHQs5d9hITdXmQAA==\n";
    const VEC_TIME: u64 = 1791014171;

    fn vector_signer() -> SigningKey {
        let b64 = VEC_WIT_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = BASE64.decode(b64).unwrap();
        assert_eq!(raw[0], ALG_COSIGNATURE_V1);
        SigningKey::from_bytes(&raw[1..].try_into().unwrap())
    }

    #[test]
    fn reproduces_and_verifies_the_third_party_vector() {
        let signer = vector_signer();
        let key =
            CosignerKey::ed25519("witness.example.com/vector", &signer.verifying_key()).unwrap();
        assert_eq!(key.to_string(), VEC_WIT_VKEY);
        assert_eq!(key.id(), 0x416f103d);
        assert_eq!(VEC_WIT_VKEY.parse::<CosignerKey>().unwrap(), key);
        let line = cosign(VEC_TEXT, key.name(), &signer, VEC_TIME)
            .unwrap()
            .line();
        assert_eq!(line, VEC_WIT_LINE, "byte for byte as the Go implementation");
        // The whole note: the log's line verifies with the log's key, the
        // witness's with the cosigner key.
        let msg = format!("{VEC_TEXT}\n{VEC_LOG_LINE}{VEC_WIT_LINE}");
        let log: crate::note::VerifierKey = VEC_LOG_VKEY.parse().unwrap();
        let opened = Note::open(&msg, &[log]).unwrap();
        assert_eq!(opened.unknown.len(), 1);
        assert_eq!(
            cosigned_by(&opened.note, std::slice::from_ref(&key)).unwrap(),
            vec![("witness.example.com/vector".to_string(), VEC_TIME)]
        );
    }

    #[test]
    fn refuses_tampering_and_wrong_key_types() {
        let key: CosignerKey = VEC_WIT_VKEY.parse().unwrap();
        let msg = format!("{VEC_TEXT}\n{VEC_LOG_LINE}{VEC_WIT_LINE}");
        let tampered = Note::parse(&msg.replacen("1234", "1235", 1)).unwrap();
        assert!(matches!(
            cosigned_by(&tampered, std::slice::from_ref(&key)),
            Err(CosignError::BadSignature { .. })
        ));
        // The timestamp is signed.
        let mut sig = cosign(VEC_TEXT, key.name(), &vector_signer(), VEC_TIME).unwrap();
        sig.signature[7] ^= 1;
        assert!(key.verify(VEC_TEXT, &sig).is_err());
        // A log key (0x01) is no cosigner key, and a cosigner key no log key.
        assert_eq!(
            VEC_LOG_VKEY.parse::<CosignerKey>(),
            Err(CosignError::WrongType(0x01))
        );
        assert!(VEC_WIT_VKEY.parse::<crate::note::VerifierKey>().is_err());
        for bad in [
            "",
            "a+b+c",
            "witness+416f103d+BK/QmJFVP3SKJOqAMhFxBQPtylo3sjwWibyFDAlZKK8B",
            &VEC_WIT_VKEY.replace("+BK/", "+BB/"),
        ] {
            assert!(bad.parse::<CosignerKey>().is_err(), "accepted {bad:?}");
        }
        // Other cosigners' lines are ignored; a note with none gives none.
        let other =
            CosignerKey::ed25519("w2", &SigningKey::from_bytes(&[7; 32]).verifying_key()).unwrap();
        let note = Note::parse(&msg).unwrap();
        assert!(cosigned_by(&note, &[other]).unwrap().is_empty());
        assert!(cosign(VEC_TEXT, "bad name", &vector_signer(), 1).is_err());
        assert!(cosign(VEC_TEXT, "w", &vector_signer(), u64::MAX).is_err());
    }

    #[test]
    fn add_checkpoint_bodies_round_trip_and_refuse_malformed() {
        let req = AddCheckpoint {
            old: 20852014,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: format!("{VEC_TEXT}\n{VEC_LOG_LINE}"),
        };
        let text = req.to_string();
        assert!(text.starts_with("old 20852014\nAQEB"));
        assert_eq!(AddCheckpoint::parse(&text).unwrap(), req);
        let empty = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: req.checkpoint.clone(),
        };
        assert_eq!(empty.to_string(), format!("old 0\n\n{}", req.checkpoint));
        assert_eq!(AddCheckpoint::parse(&empty.to_string()).unwrap(), empty);
        for bad in [
            "old 01\n\nx\n".to_string(),
            "old -1\n\nx\n".to_string(),
            "old \n\nx\n".to_string(),
            "new 1\n\nx\n".to_string(),
            "old 1\nAAAA\n\nx\n".to_string(),
            "old 1\n\n".to_string(),
            "old 1\n".to_string(),
            format!(
                "old 1\n{}\nx\n",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n".repeat(64)
            ),
        ] {
            assert!(AddCheckpoint::parse(&bad).is_err(), "accepted {bad:?}");
        }
        let lines = parse_signature_lines(VEC_WIT_LINE).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(parse_signature_lines("").is_err());
        assert!(parse_signature_lines("— w AAAA").is_err());
    }
}
