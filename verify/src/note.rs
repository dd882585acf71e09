//! The C2SP text formats transparency-log tooling reads, so that Go's
//! `golang.org/x/mod/sumdb/note`, witnesses and other logs' clients can
//! check what a Custody ledger signs:
//!
//! - [`Note`]: a `signed-note` (c2sp.org/signed-note): a text ending in a
//!   newline, a blank line, then one or more signature lines
//!   `— <key name> base64(key id || signature)` (U+2014 em dash). Custody
//!   signs with Ed25519 (signature type `0x01`); a note carries any number
//!   of signature lines, so witness cosignatures can be added later.
//! - [`VerifierKey`]: the verifier key string `<name>+<hex key id>+base64(0x01 || public key)`,
//!   with key id = the first 4 bytes (big-endian) of
//!   SHA-256(name || `\n` || 0x01 || public key).
//! - [`CheckpointNote`]: the `tlog-checkpoint` body: origin, tree size,
//!   base64 RFC 6962 root, optional extension lines.
//! - [`TlogProof`]: the `tlog-proof` text (`c2sp.org/tlog-proof@v1`,
//!   optional `extra`, `index`, the inclusion proof, a blank line, the
//!   signed checkpoint verbatim) and its check against a leaf hash.
//!
//! Each shard of a Custody ledger is one log: its origin is
//! `<ledger name>/shard/<n>` ([`shard_origin`]), the key name is the ledger
//! name, which defaults to `custody.invalid/<16 hex of SHA-256(public key)>`
//! ([`default_ledger_name`]). Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::{self, Hash, ProofError};

/// Signature type byte of Ed25519 note signatures (c2sp.org/signed-note).
pub const ALG_ED25519: u8 = 0x01;

/// Most signature lines a note may carry (the spec asks verifiers to take
/// at least 16; Go's reference takes 100).
pub const MAX_SIGNATURES: usize = 100;

/// First line of a `tlog-proof`.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The prefix of every signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key, checkpoint or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note contains the control character U+{0:04X} (only newline is allowed)")]
    ControlCharacter(u32),
    #[error("note text must end in a newline")]
    TextWithoutNewline,
    #[error("note has no blank line followed by signature lines")]
    NoSignatures,
    #[error("signature line {line} is malformed: {why}")]
    MalformedSignature { line: usize, why: &'static str },
    #[error("note has more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    #[error(
        "invalid key name {0:?}: it must be non-empty, without spaces, `+` or control characters"
    )]
    InvalidName(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error(
        "verifier key {name}: key id {stated:08x} does not match the key (expected {computed:08x})"
    )]
    VerifierKeyId {
        name: String,
        stated: u32,
        computed: u32,
    },
    #[error("verifier key has unknown signature type {0:#04x} (only Ed25519, 0x01)")]
    UnknownAlgorithm(u8),
    #[error("two different verifier keys are named {name}+{id:08x}")]
    AmbiguousKey { name: String, id: u32 },
    #[error("signature by known key {name}+{id:08x} does not verify")]
    BadSignature { name: String, id: u32 },
    #[error("note is signed by no known key ({unknown} signature lines from unknown keys)")]
    NoKnownSignature { unknown: usize },
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    WrongOrigin { expected: String, found: String },
    #[error("malformed tlog-proof: {0}")]
    MalformedProof(String),
    #[error("inclusion proof: {0}")]
    Inclusion(ProofError),
}

// ---------------------------------------------------------------- names and keys

/// Whether `name` may be a key name: non-empty, no Unicode spaces, no `+`
/// (the spec's rule), and (ours) no control characters, which a note
/// cannot hold anyway.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidName(name.to_string()))
    }
}

/// Key id: the first 4 bytes (big-endian) of
/// SHA-256(name || `\n` || signature type || public key).
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The ledger name used when none is configured:
/// `custody.invalid/` and the first 16 hex characters of SHA-256 of the
/// ledger's Ed25519 public key (`.invalid` cannot be a real domain).
pub fn default_ledger_name(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("custody.invalid/{}", &hex::encode(digest)[..16])
}

/// The origin of one shard's log: `<ledger name>/shard/<n>`.
pub fn shard_origin(ledger_name: &str, shard: u32) -> String {
    format!("{ledger_name}/shard/{shard}")
}

/// Checks a configured ledger name (`--log-name`): a valid key name.
pub fn check_ledger_name(name: &str) -> Result<(), NoteError> {
    check_name(name)
}

/// A note verifier key: name, key id and Ed25519 public key. Its text form
/// (`Display`, [`FromStr`]) is `<name>+<8 hex key id>+base64(0x01 || key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// The verifier key of an Ed25519 public key under `name`.
    pub fn ed25519(name: &str, key: &VerifyingKey) -> Result<Self, NoteError> {
        check_name(name)?;
        Ok(VerifierKey {
            name: name.to_string(),
            id: key_id(name, ALG_ED25519, key.as_bytes()),
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

    fn verifies(&self, text: &str, sig: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(33);
        material.push(ALG_ED25519);
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

impl FromStr for VerifierKey {
    type Err = NoteError;

    /// Parses `<name>+<hex id>+<base64>`; the id must be 8 lower- or
    /// upper-case hex digits and match the key.
    fn from_str(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) = parse_ed25519_vkey(text, ALG_ED25519).map_err(|e| match e {
            VkeyError::Malformed(why) => NoteError::MalformedVerifierKey(why),
            VkeyError::InvalidName(name) => NoteError::InvalidName(name),
            VkeyError::KeyId {
                name,
                stated,
                computed,
            } => NoteError::VerifierKeyId {
                name,
                stated,
                computed,
            },
            VkeyError::Algorithm(alg) => NoteError::UnknownAlgorithm(alg),
        })?;
        Ok(VerifierKey { name, id, key })
    }
}

/// Why a `<name>+<key id>+<key>` line did not parse; each key type maps
/// it to its own error.
pub(crate) enum VkeyError {
    Malformed(&'static str),
    InvalidName(String),
    KeyId {
        name: String,
        stated: u32,
        computed: u32,
    },
    Algorithm(u8),
}

/// The one parser of C2SP verifier keys with an Ed25519 key of signature
/// type `alg` (`0x01` for signed notes, `0x04` for cosignature/v1): name,
/// the stated key id (checked against the key) and the key.
pub(crate) fn parse_ed25519_vkey(
    text: &str,
    alg: u8,
) -> Result<(String, u32, VerifyingKey), VkeyError> {
    let text = text.trim_end_matches(['\n', '\r']);
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(VkeyError::Malformed("expected <name>+<key id>+<key>"));
    };
    if !is_valid_name(name) {
        return Err(VkeyError::InvalidName(name.to_string()));
    }
    let not_hex = VkeyError::Malformed("key id is not 8 hex digits");
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_hex);
    }
    let stated = u32::from_str_radix(id_hex, 16).map_err(|_| not_hex)?;
    let material = BASE64
        .decode(key_b64)
        .map_err(|_| VkeyError::Malformed("key is not base64"))?;
    let Some((&found, key)) = material.split_first() else {
        return Err(VkeyError::Malformed("key is empty"));
    };
    let computed = key_id(name, found, key);
    if computed != stated {
        return Err(VkeyError::KeyId {
            name: name.to_string(),
            stated,
            computed,
        });
    }
    if found != alg {
        return Err(VkeyError::Algorithm(found));
    }
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| VkeyError::Malformed("Ed25519 key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| VkeyError::Malformed("not an Ed25519 public key"))?;
    Ok((name.to_string(), stated, key))
}

// ---------------------------------------------------------------- notes

/// One signature line: key name, key id and the signature bytes (without
/// the id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: u32,
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `— <name> base64(id || signature)` and a newline.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }

    /// Parses one line (without its newline); `n` is its 1-based number
    /// among the signature lines, for the error.
    fn parse(line: &str, n: usize) -> Result<Self, NoteError> {
        let bad = |why| NoteError::MalformedSignature { line: n, why };
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(bad(
            "it does not start with an em dash (U+2014) and a space",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(bad("no space between key name and signature"))?;
        if !is_valid_name(name) {
            return Err(bad("invalid key name"));
        }
        let raw = BASE64
            .decode(b64)
            .map_err(|_| bad("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature is shorter than a key id and one byte"));
        }
        Ok(NoteSignature {
            name: name.to_string(),
            id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }
}

/// A signed note: its text (ending in a newline) and signature lines, in
/// order. `Display` gives the note as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// What [`Note::open`] found: the note, the known keys that signed it
/// (each once) and the lines of unknown keys, which the spec says to
/// ignore (kept here, for instance witness cosignatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub note: Note,
    /// `(name, key id)` of every known key whose signature verified.
    pub verified: Vec<(String, u32)>,
    /// Signature lines of keys not among the verifiers (distinct lines).
    pub unknown: Vec<NoteSignature>,
}

fn check_chars(text: &str) -> Result<(), NoteError> {
    match text.chars().find(|&c| c < ' ' && c != '\n') {
        Some(c) => Err(NoteError::ControlCharacter(c as u32)),
        None => Ok(()),
    }
}

impl Note {
    /// An unsigned note over `text`, which must end in a newline and hold
    /// no control character but newline.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        check_chars(&text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::TextWithoutNewline);
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds an Ed25519 signature by `key` under key name `name`, replacing
    /// a line of the same name and key id (Ed25519 is deterministic: the
    /// same text, name and key always give the same line).
    pub fn sign(&mut self, name: &str, key: &SigningKey) -> Result<(), NoteError> {
        check_name(name)?;
        let id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        let signature = key.sign(self.text.as_bytes()).to_bytes().to_vec();
        self.signatures.retain(|s| !(s.name == name && s.id == id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(NoteSignature {
            name: name.to_string(),
            id,
            signature,
        });
        Ok(())
    }

    /// Adds a signature line made elsewhere (a witness's cosignature),
    /// replacing a line of the same name and key id.
    pub fn push_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.id == sig.id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Parses a signed note without checking any signature: the text is
    /// everything up to the last blank line (kept with its final newline),
    /// each following line a well-formed signature line.
    pub fn parse(msg: &str) -> Result<Self, NoteError> {
        check_chars(msg)?;
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatures)?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::MalformedSignature {
                line: sigs.split('\n').count(),
                why: "the last signature line does not end in a newline",
            });
        };
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse(line, i + 1)?);
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Parses `msg` and checks it against the verifier keys one trusts, as
    /// the spec says: a line whose name and key id match a known key must
    /// verify (else the whole note is refused), lines of unknown keys are
    /// ignored (and returned), and at least one known key must have signed.
    /// Two different keys with one name and id among `known` are refused
    /// when a line names them.
    pub fn open(msg: &str, known: &[VerifierKey]) -> Result<Opened, NoteError> {
        let note = Note::parse(msg)?;
        let mut verified: Vec<(String, u32)> = Vec::new();
        let mut unknown: Vec<NoteSignature> = Vec::new();
        for sig in &note.signatures {
            let mut matching = known
                .iter()
                .filter(|k| k.name == sig.name && k.id == sig.id);
            let Some(key) = matching.next() else {
                if !unknown.contains(sig) {
                    unknown.push(sig.clone());
                }
                continue;
            };
            if matching.any(|other| other.key != key.key) {
                return Err(NoteError::AmbiguousKey {
                    name: sig.name.clone(),
                    id: sig.id,
                });
            }
            // Every line of a known key is checked, repeated ones too.
            if !key.verifies(&note.text, &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    id: sig.id,
                });
            }
            let who = (sig.name.clone(), sig.id);
            if !verified.contains(&who) {
                verified.push(who);
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature {
                unknown: unknown.len(),
            });
        }
        Ok(Opened {
            note,
            verified,
            unknown,
        })
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.line())?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- tlog-checkpoint

/// The body of a `tlog-checkpoint`: origin, tree size, root and optional
/// extension lines (Custody writes none: witnesses do not check them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointNote {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

impl CheckpointNote {
    /// `origin\nsize\nbase64(root)\n` and each extension line.
    pub fn to_body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Whether [`CheckpointNote::to_body`] gives a body that parses back to
    /// this checkpoint: a non-empty origin and non-empty extension lines,
    /// none holding a newline or another control character.
    pub fn validate(&self) -> Result<(), NoteError> {
        let bad = |m: &str| Err(NoteError::MalformedCheckpoint(m.to_string()));
        if self.origin.is_empty() {
            return bad("the origin is empty");
        }
        if self.origin.chars().any(char::is_control) {
            return bad("the origin holds a control character");
        }
        for line in &self.extensions {
            if line.is_empty() {
                return bad("an extension line is empty");
            }
            if line.chars().any(char::is_control) {
                return bad("an extension line holds a control character");
            }
        }
        Ok(())
    }

    /// Parses a note text as a checkpoint body: at least three lines, each
    /// ending in a newline and none empty; the size in decimal without
    /// leading zeroes; the root the canonical base64 of 32 bytes.
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let bad = |m: String| NoteError::MalformedCheckpoint(m);
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text does not end in a newline".into()))?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(bad(format!(
                "{} lines, expected origin, size and root",
                lines.len()
            )));
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(bad(format!("line {} is empty", i + 1)));
        }
        let size_text = lines[1];
        let canonical_number = size_text.bytes().all(|b| b.is_ascii_digit())
            && (size_text == "0" || !size_text.starts_with('0'));
        let size = size_text
            .parse::<u64>()
            .ok()
            .filter(|_| canonical_number)
            .ok_or_else(|| bad(format!("tree size {size_text:?} is not a decimal number")))?;
        let root = decode_hash(lines[2])
            .ok_or_else(|| bad(format!("root {:?} is not base64 of 32 bytes", lines[2])))?;
        let cp = CheckpointNote {
            origin: lines[0].to_string(),
            size,
            root,
            extensions: lines[3..].iter().map(|l| l.to_string()).collect(),
        };
        cp.validate()?;
        Ok(cp)
    }

    /// The signed note: this body signed by `key` under key name `name`.
    pub fn sign(&self, name: &str, key: &SigningKey) -> Result<Note, NoteError> {
        self.validate()?;
        let mut note = Note::new(self.to_body())?;
        note.sign(name, key)?;
        Ok(note)
    }

    /// Opens a signed checkpoint: the note must verify with one of `known`,
    /// its body must be a checkpoint, and its origin `origin`.
    pub fn open(msg: &str, origin: &str, known: &[VerifierKey]) -> Result<Self, NoteError> {
        let opened = Note::open(msg, known)?;
        let cp = CheckpointNote::parse_body(opened.note.text())?;
        if cp.origin != origin {
            return Err(NoteError::WrongOrigin {
                expected: origin.to_string(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }
}

/// Canonical standard base64 of exactly 32 bytes.
fn decode_hash(text: &str) -> Option<Hash> {
    BASE64.decode(text).ok()?.try_into().ok()
}

// ---------------------------------------------------------------- tlog-proof

/// A `tlog-proof`: an entry's index, its RFC 6962 inclusion proof and the
/// signed checkpoint it leads to, with optional unauthenticated `extra`
/// data. `Display` gives the text:
///
/// ```text
/// c2sp.org/tlog-proof@v1
/// [extra <base64>]
/// index <n>
/// <base64 hash>           one line per proof hash, leaf's sibling first
///
/// <the signed checkpoint note, verbatim>
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, exactly as the log sent it.
    pub checkpoint: String,
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{TLOG_PROOF_HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", BASE64.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for h in &self.hashes {
            writeln!(f, "{}", BASE64.encode(h))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

impl TlogProof {
    /// Parses the text form (the checkpoint is kept verbatim, not checked).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let bad = |m: String| NoteError::MalformedProof(m);
        let mut rest = text;
        let mut next_line = |what: &str| -> Result<&str, NoteError> {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| bad(format!("ends before {what}")))?;
            rest = after;
            Ok(line)
        };
        if next_line("the header")? != TLOG_PROOF_HEADER {
            return Err(bad(format!("the first line is not {TLOG_PROOF_HEADER}")));
        }
        let mut line = next_line("the index")?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(
                BASE64
                    .decode(b64)
                    .map_err(|_| bad("the extra data is not base64".into()))?,
            );
            line = next_line("the index")?;
        }
        let index_text = line
            .strip_prefix("index ")
            .ok_or_else(|| bad(format!("expected `index N`, found {line:?}")))?;
        let canonical = index_text.bytes().all(|b| b.is_ascii_digit())
            && (index_text == "0" || !index_text.starts_with('0'));
        let index = index_text
            .parse::<u64>()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| bad(format!("index {index_text:?} is not a decimal number")))?;
        let mut hashes = Vec::new();
        loop {
            let line = next_line("the blank line before the checkpoint")?;
            if line.is_empty() {
                break;
            }
            // A tree of 2^64 leaves needs at most 64 hashes.
            if hashes.len() == 64 {
                return Err(bad("more than 64 proof hashes".into()));
            }
            hashes
                .push(decode_hash(line).ok_or_else(|| {
                    bad(format!("proof hash {line:?} is not base64 of 32 bytes"))
                })?);
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint after the blank line".into()));
        }
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: rest.to_string(),
        })
    }

    /// Checks the proof for the RFC 6962 leaf hash `leaf_hash` (for a
    /// Custody entry, [`entry_leaf_hash`] of its entry hash): the
    /// checkpoint is signed by one of `known` with origin `origin`, and the
    /// inclusion proof leads from the leaf at `index` to its root. Returns
    /// the checkpoint. `extra` is not authenticated and not looked at.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        origin: &str,
        known: &[VerifierKey],
    ) -> Result<CheckpointNote, NoteError> {
        let cp = CheckpointNote::open(&self.checkpoint, origin, known)?;
        merkle::verify_inclusion(leaf_hash, self.index, cp.size, &self.hashes, &cp.root)
            .map_err(NoteError::Inclusion)?;
        Ok(cp)
    }
}

/// The RFC 6962 leaf hash of a Custody entry: SHA-256(0x00 || entry hash),
/// the entry hash being SHA-256 of the canonical entry bytes.
pub fn entry_leaf_hash(entry_hash: &Hash) -> Hash {
    merkle::leaf_hash(entry_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::HashReader;

    // The Go reference's test vectors (golang.org/x/mod/sumdb/note).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
    // c2sp.org/signed-note's example.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    /// The signing key inside Go's `PRIVATE+KEY+name+id+base64(0x01 || seed)`.
    fn peter_key() -> SigningKey {
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = BASE64.decode(b64).unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        SigningKey::from_bytes(&raw[1..].try_into().unwrap())
    }

    fn vkey(text: &str) -> VerifierKey {
        text.parse().unwrap()
    }

    #[test]
    fn reproduces_the_go_reference_vectors() {
        let key = peter_key();
        let v = VerifierKey::ed25519("PeterNeumann", &key.verifying_key()).unwrap();
        assert_eq!(v.to_string(), PETER_VKEY);
        assert_eq!(v.id(), 0xc74f20a3);
        let mut note = Note::new(TEXT).unwrap();
        note.sign("PeterNeumann", &key).unwrap();
        assert_eq!(note.to_string(), format!("{TEXT}\n{PETER_SIG}"));
        // Signing again replaces the line rather than adding one.
        note.sign("PeterNeumann", &key).unwrap();
        assert_eq!(note.signatures().len(), 1);
    }

    #[test]
    fn opens_the_go_reference_notes() {
        let (peter, enoch) = (vkey(PETER_VKEY), vkey(ENOCH_VKEY));
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let opened = Note::open(&both, std::slice::from_ref(&peter)).unwrap();
        assert_eq!(opened.note.text(), TEXT);
        assert_eq!(opened.verified, vec![("PeterNeumann".into(), 0xc74f20a3)]);
        assert_eq!(opened.unknown.len(), 1);
        assert_eq!(opened.unknown[0].name, "EnochRoot");
        assert_eq!(opened.note.to_string(), both, "round trip");
        let opened = Note::open(&both, &[peter.clone(), enoch.clone()]).unwrap();
        assert_eq!(opened.verified.len(), 2);
        assert!(opened.unknown.is_empty());
        assert_eq!(
            Note::open(&both, &[]),
            Err(NoteError::NoKnownSignature { unknown: 2 })
        );
        // Repeated lines: a known key's are all checked and counted once,
        // unknown identical lines are kept once.
        let repeated = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
        let opened = Note::open(&repeated, std::slice::from_ref(&peter)).unwrap();
        assert_eq!(opened.verified.len(), 1);
        assert_eq!(opened.unknown.len(), 1);
        // The spec's own example.
        let spec = Note::open(SPEC_NOTE, &[vkey(SPEC_VKEY)]).unwrap();
        assert_eq!(spec.note.text(), "This is an example message.\n");
    }

    #[test]
    fn refuses_tampered_text_signatures_and_keys() {
        let peter = vkey(PETER_VKEY);
        let good = format!("{TEXT}\n{PETER_SIG}");
        let changed_text = good.replacen("cryptography", "cryptographx", 1);
        assert!(matches!(
            Note::open(&changed_text, std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature { .. })
        ));
        // A flipped signature byte (the Go test's `ABCD` insertion).
        let sig = &PETER_SIG[..PETER_SIG.len() - 1];
        let flipped = format!("{TEXT}\n{}ABCD{}\n", &sig[..60], &sig[60..]);
        assert!(matches!(
            Note::open(&flipped, std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature { .. })
        ));
        // A bad signature from a known key fails the note even when another
        // line of the same key verifies.
        let mixed = format!("{TEXT}\n{PETER_SIG}{}ABCD{}\n", &sig[..60], &sig[60..]);
        assert!(Note::open(&mixed, std::slice::from_ref(&peter)).is_err());
        // Another key under the same name and id (forged id): refused.
        let other = SigningKey::from_bytes(&[9; 32]);
        let mut forged = Note::new(TEXT).unwrap();
        forged.sign("PeterNeumann", &other).unwrap();
        forged.signatures[0].id = peter.id();
        assert!(matches!(
            Note::open(&forged.to_string(), std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature { .. })
        ));
        // Same key, other name: an unknown key, so no known signature.
        let renamed = good.replace("PeterNeumann", "PeterNeuman");
        assert_eq!(
            Note::open(&renamed, std::slice::from_ref(&peter)),
            Err(NoteError::NoKnownSignature { unknown: 1 })
        );
        // Two different keys under one name and id.
        let mut twin = peter.clone();
        twin.key = other.verifying_key();
        assert!(matches!(
            Note::open(&good, &[peter.clone(), twin]),
            Err(NoteError::AmbiguousKey { .. })
        ));
        assert!(Note::open(&good, &[peter.clone(), peter.clone()]).is_ok());
    }

    #[test]
    fn refuses_malformed_notes() {
        let peter = vkey(PETER_VKEY);
        let bad = [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", PETER_SIG.trim_end()),
            format!("\u{1}{TEXT}\n{PETER_SIG}"),
            format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{TEXT}\n— PeterNeumann x08go\n"),
            format!("{TEXT}\n— PeterNeumann AAAA\n"),
            format!("{TEXT}\n— PeterNeumann\n"),
            format!("{TEXT}\r\n{PETER_SIG}"),
            format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1)),
        ];
        for msg in bad {
            assert!(
                Note::open(&msg, std::slice::from_ref(&peter)).is_err(),
                "accepted {msg:?}"
            );
        }
        assert_eq!(Note::new("no newline"), Err(NoteError::TextWithoutNewline));
        assert_eq!(
            Note::new("tab\there\n"),
            Err(NoteError::ControlCharacter(9))
        );
        let mut n = Note::new("x\n").unwrap();
        assert!(n.sign("bad name", &peter_key()).is_err());
        assert!(n.sign("a+b", &peter_key()).is_err());
        assert!(n.sign("", &peter_key()).is_err());
        // Text with blank lines: the separator is the last one.
        let mut n = Note::new("a\n\nb\n\n").unwrap();
        n.sign("k", &peter_key()).unwrap();
        let v = VerifierKey::ed25519("k", &peter_key().verifying_key()).unwrap();
        assert_eq!(
            Note::open(&n.to_string(), &[v]).unwrap().note.text(),
            "a\n\nb\n\n"
        );
    }

    #[test]
    fn verifier_keys_parse_and_refuse_manglings() {
        let v = vkey(PETER_VKEY);
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(format!("{v}"), PETER_VKEY);
        assert_eq!(
            vkey(&format!("{PETER_VKEY}\n")),
            v,
            "a trailing newline is fine"
        );
        // Every proper substring and every single-byte change is refused
        // (as in the Go tests).
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let s = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(s.parse::<VerifierKey>().is_err(), "accepted {s:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            let s = String::from_utf8(m).unwrap();
            assert!(s.parse::<VerifierKey>().is_err(), "accepted {s:?}");
        }
        let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
        assert_eq!(vkey(&upper), v, "the key id's hex digits in either case");
        // Wrong-length key and unknown algorithm, with adjusted key ids.
        assert!(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
                .parse::<VerifierKey>()
                .is_err()
        );
        assert_eq!(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
                .parse::<VerifierKey>(),
            Err(NoteError::UnknownAlgorithm(0x65))
        );
    }

    fn tree(n: u64) -> merkle::MemoryTree {
        (0..n)
            .map(|i| {
                let entry_hash: Hash = Sha256::digest(i.to_be_bytes()).into();
                entry_leaf_hash(&entry_hash)
            })
            .collect()
    }

    #[test]
    fn checkpoint_bodies_round_trip_and_refuse_malformed() {
        let cp = CheckpointNote {
            origin: "custody.invalid/0123456789abcdef/shard/0".into(),
            size: 20852163,
            root: BASE64
                .decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
                .unwrap()
                .try_into()
                .unwrap(),
            extensions: vec![],
        };
        let body = cp.to_body();
        assert_eq!(
            body,
            "custody.invalid/0123456789abcdef/shard/0\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
        assert_eq!(CheckpointNote::parse_body(&body).unwrap(), cp);
        let with_ext = CheckpointNote {
            extensions: vec!["ext one".into(), "two".into()],
            ..cp.clone()
        };
        assert_eq!(
            CheckpointNote::parse_body(&with_ext.to_body()).unwrap(),
            with_ext
        );
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            format!("o\n1\n{root}"),
            "o\n1\n".to_string(),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            "o\n1\nAAAA\n".to_string(),
            format!("o\n1\n{}\n", hex::encode([0u8; 32])),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\next\n\n"),
        ] {
            assert!(
                CheckpointNote::parse_body(&bad).is_err(),
                "accepted {bad:?}"
            );
        }
        assert_eq!(
            CheckpointNote::parse_body("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
                .unwrap()
                .size,
            0
        );
        let bad_ext = CheckpointNote {
            extensions: vec![String::new()],
            ..cp.clone()
        };
        assert!(bad_ext.sign("k", &peter_key()).is_err());
        let bad_origin = CheckpointNote {
            origin: "a\nb".into(),
            ..cp
        };
        assert!(bad_origin.sign("k", &peter_key()).is_err());
    }

    #[test]
    fn signed_checkpoints_open_only_with_key_and_origin() {
        let key = peter_key();
        let name = default_ledger_name(&key.verifying_key());
        assert!(name.starts_with("custody.invalid/") && name.len() == 16 + 16);
        let t = tree(7);
        let cp = CheckpointNote {
            origin: shard_origin(&name, 3),
            size: t.size(),
            root: t.root(),
            extensions: vec![],
        };
        let note = cp.sign(&name, &key).unwrap().to_string();
        assert_eq!(
            note,
            cp.sign(&name, &key).unwrap().to_string(),
            "deterministic"
        );
        let v = VerifierKey::ed25519(&name, &key.verifying_key()).unwrap();
        assert_eq!(
            CheckpointNote::open(&note, &cp.origin, std::slice::from_ref(&v)).unwrap(),
            cp
        );
        assert!(matches!(
            CheckpointNote::open(&note, &shard_origin(&name, 2), std::slice::from_ref(&v)),
            Err(NoteError::WrongOrigin { .. })
        ));
        let other =
            VerifierKey::ed25519(&name, &SigningKey::from_bytes(&[3; 32]).verifying_key()).unwrap();
        assert!(CheckpointNote::open(&note, &cp.origin, &[other]).is_err());
        // A witness's cosignature (an unknown key to this verifier) is
        // carried and ignored.
        let mut cosigned = Note::parse(&note).unwrap();
        cosigned
            .sign("witness.example/w1", &SigningKey::from_bytes(&[4; 32]))
            .unwrap();
        assert_eq!(cosigned.signatures().len(), 2);
        assert_eq!(
            CheckpointNote::open(&cosigned.to_string(), &cp.origin, &[v]).unwrap(),
            cp
        );
    }

    #[test]
    fn tlog_proofs_round_trip_and_verify() {
        let key = peter_key();
        let name = "example.org/ledger";
        let v = VerifierKey::ed25519(name, &key.verifying_key()).unwrap();
        let origin = shard_origin(name, 0);
        for size in [1u64, 2, 3, 7, 8, 13] {
            let t = tree(size);
            let note = CheckpointNote {
                origin: origin.clone(),
                size,
                root: t.root(),
                extensions: vec![],
            }
            .sign(name, &key)
            .unwrap()
            .to_string();
            for index in 0..size {
                let proof = TlogProof {
                    extra: None,
                    index,
                    hashes: merkle::inclusion_proof(&t, index, size).unwrap(),
                    checkpoint: note.clone(),
                };
                let text = proof.to_string();
                let parsed = TlogProof::parse(&text).unwrap();
                assert_eq!(parsed, proof);
                let leaf = t.node(0, index).unwrap();
                let cp = parsed
                    .verify(&leaf, &origin, std::slice::from_ref(&v))
                    .unwrap();
                assert_eq!(cp.size, size);
                // Another leaf, index, origin or key does not verify.
                let other_leaf = merkle::leaf_hash(b"not an entry");
                assert!(parsed
                    .verify(&other_leaf, &origin, std::slice::from_ref(&v))
                    .is_err());
                let mut moved = parsed.clone();
                moved.index = (index + 1) % size;
                if size > 1 {
                    assert!(moved
                        .verify(&leaf, &origin, std::slice::from_ref(&v))
                        .is_err());
                }
                assert!(parsed
                    .verify(&leaf, "elsewhere", std::slice::from_ref(&v))
                    .is_err());
            }
        }
        // The layout, with extra data.
        let t = tree(3);
        let note = CheckpointNote {
            origin: origin.clone(),
            size: 3,
            root: t.root(),
            extensions: vec![],
        }
        .sign(name, &key)
        .unwrap()
        .to_string();
        let proof = TlogProof {
            extra: Some(b"hello".to_vec()),
            index: 2,
            hashes: merkle::inclusion_proof(&t, 2, 3).unwrap(),
            checkpoint: note.clone(),
        };
        let text = proof.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
        assert_eq!(lines[1], "extra aGVsbG8=");
        assert_eq!(lines[2], "index 2");
        assert_eq!(lines[3], BASE64.encode(proof.hashes[0]));
        assert_eq!(lines[4], "");
        assert!(text.ends_with(&note));
        assert_eq!(TlogProof::parse(&text).unwrap(), proof);
        // Tampered proof hash.
        let mut tampered = proof.clone();
        tampered.hashes[0][0] ^= 1;
        let leaf = t.node(0, 2).unwrap();
        assert!(matches!(
            tampered.verify(&leaf, &origin, &[proof_key(&key, name)]),
            Err(NoteError::Inclusion(_))
        ));
        for bad in [
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("index 2", "index 02", 1),
            text.replacen("index 2", "idx 2", 1),
            text.replacen("extra aGVsbG8=", "extra !!", 1),
            text.replacen(&lines[3].to_string(), "AAAA", 1),
            format!("{TLOG_PROOF_HEADER}\nindex 0\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 0\n\n"),
        ] {
            assert!(TlogProof::parse(&bad).is_err(), "accepted {bad:?}");
        }
    }

    fn proof_key(key: &SigningKey, name: &str) -> VerifierKey {
        VerifierKey::ed25519(name, &key.verifying_key()).unwrap()
    }
}
