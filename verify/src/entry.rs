//! Ledger entries and their canonical encoding.
//!
//! The stored value of an entry is its canonical bytes followed by the
//! SHA-256 of those bytes (the entry hash). The canonical form is written by
//! hand, not by protobuf, so that an outside auditor can recompute a hash from
//! this specification alone (see ARCHITECTURE.md, "Entry format"):
//!
//! ```text
//! "custody-entry-v1"              16 bytes, domain separation
//! shard                           u32 big-endian
//! seq                             u64 big-endian
//! prev_hash                       32 bytes (zeros for seq 0)
//! topic                           u16 length + UTF-8
//! partition                       u32
//! offset                          u64
//! broker_timestamp_ms             i64 (0 when the source has none)
//! event                           u32 length + the exact bytes received
//! verdict count                   u16
//!   rule                          u16 length + UTF-8
//!   severity                      u8
//!   effect                        u8 (0 breach, 1 opens, 2 closes) [+ u64 opened_seq]
//!   explanation                   u32 length + UTF-8
//! ```

use custody_policy::{Effect, Severity, Verdict};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

const MAGIC: &[u8; 16] = b"custody-entry-v1";

/// Where a record came from: Kafka topic/partition/offset, or the embedded
/// source (`topic = "embedded"`, partition = shard, offset = arrival order).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SourcePosition {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub timestamp_ms: i64,
}

/// One link of a shard's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub shard: u32,
    pub seq: u64,
    pub prev_hash: Hash,
    pub source: SourcePosition,
    pub event: Vec<u8>,
    pub verdicts: Vec<Verdict>,
}

/// Why stored bytes are not a well-formed entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry is truncated at byte {0}")]
    Truncated(usize),
    #[error("entry does not start with the custody-entry-v1 marker")]
    BadMagic,
    #[error("entry field `{0}` is not valid UTF-8")]
    Utf8(&'static str),
    #[error("entry has unknown {what} code {code}")]
    UnknownCode { what: &'static str, code: u8 },
    #[error("entry has {0} trailing bytes")]
    Trailing(usize),
    #[error("entry hash does not match its contents")]
    HashMismatch,
    #[error("entry field `{0}` is too long to encode")]
    TooLong(&'static str),
}

impl Entry {
    /// The canonical bytes (without the trailing hash).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = Vec::with_capacity(160 + self.event.len());
        self.parts().encode_into(&mut out)?;
        Ok(out)
    }

    fn parts(&self) -> EntryParts<'_> {
        EntryParts {
            shard: self.shard,
            seq: self.seq,
            prev_hash: &self.prev_hash,
            source: &self.source,
            event: &self.event,
            verdicts: &self.verdicts,
        }
    }

    /// Canonical bytes followed by their hash: what the store keeps.
    pub fn seal(&self) -> Result<(Vec<u8>, Hash), EntryError> {
        self.parts().seal()
    }

    /// Parses stored bytes, checking that the trailing hash matches.
    pub fn open(stored: &[u8]) -> Result<(Entry, Hash), EntryError> {
        let (body, hash) = split_stored(stored)?;
        if entry_hash(body) != hash {
            return Err(EntryError::HashMismatch);
        }
        Ok((Entry::decode(body)?, hash))
    }

    /// Parses canonical bytes (no hash check).
    pub fn decode(body: &[u8]) -> Result<Entry, EntryError> {
        let mut r = Reader { buf: body, pos: 0 };
        if r.take(16)? != MAGIC {
            return Err(EntryError::BadMagic);
        }
        let shard = r.u32()?;
        let seq = r.u64()?;
        let prev_hash = r.hash()?;
        let topic = r.str16("source.topic")?;
        let partition = r.u32()?;
        let offset = r.u64()?;
        let timestamp_ms = r.u64()? as i64;
        let len = r.u32()? as usize;
        let event = r.take(len)?.to_vec();
        let count = r.u16()?;
        // Reserve no more than the rest of the body can hold: a verdict
        // takes at least 8 bytes (rule length, severity, effect,
        // explanation length), so a forged count cannot make us allocate.
        let room = (body.len() - r.pos) / 8;
        let mut verdicts = Vec::with_capacity(usize::from(count).min(room).min(64));
        for _ in 0..count {
            let rule = r.str16("verdict.rule")?;
            let code = r.u8()?;
            let severity = Severity::from_u8(code).ok_or(EntryError::UnknownCode {
                what: "severity",
                code,
            })?;
            let effect = match r.u8()? {
                0 => Effect::Breach,
                1 => Effect::Opens,
                2 => Effect::Closes {
                    opened_seq: r.u64()?,
                },
                3 => Effect::Withdraws {
                    opened_seq: r.u64()?,
                    customer: r.str16("verdict.customer")?,
                },
                4 => Effect::Obligation {
                    due_ms: r.u64()? as i64,
                },
                5 => Effect::Discharges {
                    opened_seq: r.u64()?,
                },
                code => {
                    return Err(EntryError::UnknownCode {
                        what: "effect",
                        code,
                    })
                }
            };
            let len = r.u32()? as usize;
            let explanation = String::from_utf8(r.take(len)?.to_vec())
                .map_err(|_| EntryError::Utf8("verdict.explanation"))?;
            verdicts.push(Verdict {
                rule,
                severity,
                effect,
                explanation,
            });
        }
        if r.pos != body.len() {
            return Err(EntryError::Trailing(body.len() - r.pos));
        }
        Ok(Entry {
            shard,
            seq,
            prev_hash,
            source: SourcePosition {
                topic,
                partition,
                offset,
                timestamp_ms,
            },
            event,
            verdicts,
        })
    }
}

/// The fields of an entry by reference: the fold seals entries from these
/// without copying the event bytes into an owned [`Entry`].
#[derive(Debug, Clone, Copy)]
pub struct EntryParts<'a> {
    pub shard: u32,
    pub seq: u64,
    pub prev_hash: &'a Hash,
    pub source: &'a SourcePosition,
    pub event: &'a [u8],
    pub verdicts: &'a [Verdict],
}

impl EntryParts<'_> {
    /// Canonical bytes followed by their hash, and the hash.
    pub fn seal(&self) -> Result<(Vec<u8>, Hash), EntryError> {
        let mut bytes = Vec::with_capacity(160 + self.event.len());
        self.encode_into(&mut bytes)?;
        let hash = entry_hash(&bytes);
        bytes.extend_from_slice(&hash);
        Ok((bytes, hash))
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EntryError> {
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.shard.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.prev_hash);
        put_u16_str(out, &self.source.topic, "source.topic")?;
        out.extend_from_slice(&self.source.partition.to_be_bytes());
        out.extend_from_slice(&self.source.offset.to_be_bytes());
        out.extend_from_slice(&self.source.timestamp_ms.to_be_bytes());
        put_u32_bytes(out, self.event, "event")?;
        let count =
            u16::try_from(self.verdicts.len()).map_err(|_| EntryError::TooLong("verdicts"))?;
        out.extend_from_slice(&count.to_be_bytes());
        for v in self.verdicts {
            put_u16_str(out, &v.rule, "verdict.rule")?;
            out.push(v.severity.as_u8());
            match &v.effect {
                Effect::Breach => out.push(0),
                Effect::Opens => out.push(1),
                Effect::Closes { opened_seq } => {
                    out.push(2);
                    out.extend_from_slice(&opened_seq.to_be_bytes());
                }
                Effect::Withdraws {
                    opened_seq,
                    customer,
                } => {
                    out.push(3);
                    out.extend_from_slice(&opened_seq.to_be_bytes());
                    put_u16_str(out, customer, "verdict.customer")?;
                }
                Effect::Obligation { due_ms } => {
                    out.push(4);
                    out.extend_from_slice(&due_ms.to_be_bytes());
                }
                Effect::Discharges { opened_seq } => {
                    out.push(5);
                    out.extend_from_slice(&opened_seq.to_be_bytes());
                }
            }
            put_u32_bytes(out, v.explanation.as_bytes(), "verdict.explanation")?;
        }
        Ok(())
    }
}

/// SHA-256 of canonical entry bytes.
pub fn entry_hash(canonical: &[u8]) -> Hash {
    Sha256::digest(canonical).into()
}

/// Splits a stored value into canonical bytes and the recorded hash.
pub fn split_stored(stored: &[u8]) -> Result<(&[u8], Hash), EntryError> {
    if stored.len() < 32 {
        return Err(EntryError::Truncated(stored.len()));
    }
    let (body, tail) = stored.split_at(stored.len() - 32);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(tail);
    Ok((body, hash))
}

/// Reads shard and seq from canonical bytes without parsing the rest.
pub fn peek_position(body: &[u8]) -> Option<(u32, u64)> {
    let shard = u32::from_be_bytes(body.get(16..20)?.try_into().ok()?);
    let seq = u64::from_be_bytes(body.get(20..28)?.try_into().ok()?);
    Some((shard, seq))
}

/// Reads the previous hash from canonical bytes without parsing the rest.
pub fn peek_prev_hash(body: &[u8]) -> Option<Hash> {
    body.get(28..60)?.try_into().ok()
}

fn put_u16_str(out: &mut Vec<u8>, s: &str, field: &'static str) -> Result<(), EntryError> {
    let len = u16::try_from(s.len()).map_err(|_| EntryError::TooLong(field))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_u32_bytes(out: &mut Vec<u8>, b: &[u8], field: &'static str) -> Result<(), EntryError> {
    let len = u32::try_from(b.len()).map_err(|_| EntryError::TooLong(field))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or(EntryError::Truncated(self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, EntryError> {
        let mut b = [0u8; 2];
        b.copy_from_slice(self.take(2)?);
        Ok(u16::from_be_bytes(b))
    }
    fn u32(&mut self) -> Result<u32, EntryError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }
    fn u64(&mut self) -> Result<u64, EntryError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }
    fn hash(&mut self) -> Result<Hash, EntryError> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32)?);
        Ok(h)
    }
    fn str16(&mut self, field: &'static str) -> Result<String, EntryError> {
        let len = self.u16()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| EntryError::Utf8(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Entry {
        Entry {
            shard: 3,
            seq: 42,
            prev_hash: [7; 32],
            source: SourcePosition {
                topic: "custody.events".into(),
                partition: 3,
                offset: 1000,
                timestamp_ms: 1_700_000_000_000,
            },
            event: vec![1, 2, 3, 4],
            verdicts: vec![
                Verdict {
                    rule: "USE-MATRIX".into(),
                    severity: Severity::High,
                    effect: Effect::Breach,
                    explanation: "private data for improving support".into(),
                },
                Verdict {
                    rule: "CREDENTIALS-DELETED".into(),
                    severity: Severity::Medium,
                    effect: Effect::Closes { opened_seq: 7 },
                    explanation: "deleted".into(),
                },
                Verdict {
                    rule: "SUB-ATTESTATION".into(),
                    severity: Severity::High,
                    effect: Effect::Withdraws {
                        opened_seq: 5,
                        customer: "cust-9".into(),
                    },
                    explanation: "registered in time".into(),
                },
                Verdict {
                    rule: "CREDENTIALS-DELETED".into(),
                    severity: Severity::Medium,
                    effect: Effect::Obligation {
                        due_ms: 1_700_000_600_000,
                    },
                    explanation: "to be deleted".into(),
                },
                Verdict {
                    rule: "CREDENTIALS-DELETED".into(),
                    severity: Severity::Medium,
                    effect: Effect::Discharges { opened_seq: 8 },
                    explanation: "deleted in time".into(),
                },
            ],
        }
    }

    #[test]
    fn seal_open_round_trip() {
        let e = sample();
        let (stored, hash) = e.seal().unwrap();
        let (back, h2) = Entry::open(&stored).unwrap();
        assert_eq!(back, e);
        assert_eq!(hash, h2);
        let (body, _) = split_stored(&stored).unwrap();
        assert_eq!(peek_position(body), Some((3, 42)));
        assert_eq!(peek_prev_hash(body), Some([7; 32]));
    }

    #[test]
    fn a_verdict_cannot_be_removed_without_changing_the_hash() {
        let e = sample();
        let mut stripped = e.clone();
        stripped.verdicts.clear();
        assert_ne!(e.seal().unwrap().1, stripped.seal().unwrap().1);
    }

    proptest! {
        #[test]
        fn every_flipped_bit_is_detected(byte in 0usize..200, bit in 0u8..8) {
            let (mut stored, _) = sample().seal().unwrap();
            let i = byte % stored.len();
            stored[i] ^= 1 << bit;
            prop_assert!(Entry::open(&stored).is_err());
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Entry::open(&bytes);
            let _ = Entry::decode(&bytes);
        }
    }
}
