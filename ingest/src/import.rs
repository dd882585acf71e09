//! File import: JSON lines or length-delimited protobuf into the embedded
//! source. Valid events fold; an invalid line or record is quarantined with
//! the reason at position (topic `import:<file name>`, partition 0, offset =
//! line number for JSON, record index for protobuf), and the import goes on.
//! Importing the same file twice folds nothing twice: events dedup by id and
//! quarantined positions are skipped by offset.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use custody_ledger::{Record, SourcePosition};
use prost::Message;

use crate::folder::{Batch, FoldError, Folder, Redelivery};
use crate::intake::{parse_batch, Format};

/// Records folded per batch.
pub const IMPORT_BATCH: usize = 4096;

/// A file can be read again, and importing it again skips what is folded
/// (by offset and event id); so can standard input, by piping it again.
pub const REDELIVERY: Redelivery = Redelivery::FromStoredOffsets;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fold(#[from] FoldError),
    #[error("{path}: record {index}: {message}")]
    Framing {
        path: String,
        index: u64,
        message: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub read: u64,
    pub folded: u64,
    pub duplicates: u64,
    pub already_folded: u64,
    pub quarantined: u64,
}

/// Format by file extension: `.pb`, `.bin` and `.protobuf` are
/// length-delimited protobuf, anything else JSON lines.
pub fn format_for(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pb" | "bin" | "protobuf") => Format::ProtobufDelimited,
        _ => Format::Json,
    }
}

/// Imports a file (or standard input when `path` is `-`).
pub fn import_file(
    folder: &Folder,
    path: &Path,
    format: Format,
    mut progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    let name = path.display().to_string();
    let io = |source| ImportError::Io {
        path: name.clone(),
        source,
    };
    let reader: Box<dyn Read> = if name == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(io)?)
    };
    let topic = format!(
        "import:{}",
        path.file_name()
            .map_or("stdin".into(), |n| n.to_string_lossy().into_owned())
    );
    let mut summary = ImportSummary::default();
    let mut pending: Vec<Item> = Vec::with_capacity(IMPORT_BATCH);
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut index: u64 = 0;
    loop {
        let item = match format {
            Format::Json => {
                let mut line = String::new();
                if reader.read_line(&mut line).map_err(io)? == 0 {
                    break;
                }
                index += 1;
                if line.trim().is_empty() {
                    continue;
                }
                Item {
                    index,
                    bytes: line.into_bytes(),
                }
            }
            Format::Protobuf | Format::ProtobufDelimited => {
                let Some(bytes) = read_delimited(&mut reader, &name, index)? else {
                    break;
                };
                index += 1;
                Item { index, bytes }
            }
        };
        pending.push(item);
        if pending.len() >= IMPORT_BATCH {
            fold_items(folder, &topic, format, &mut pending, &mut summary)?;
            progress(&summary);
        }
    }
    fold_items(folder, &topic, format, &mut pending, &mut summary)?;
    progress(&summary);
    Ok(summary)
}

struct Item {
    index: u64,
    bytes: Vec<u8>,
}

fn fold_items(
    folder: &Folder,
    topic: &str,
    format: Format,
    items: &mut Vec<Item>,
    summary: &mut ImportSummary,
) -> Result<(), ImportError> {
    if items.is_empty() {
        return Ok(());
    }
    let single = match format {
        Format::Json => Format::Json,
        _ => Format::Protobuf,
    };
    let mut batch = Batch::default();
    for item in items.drain(..) {
        summary.read += 1;
        match parse_batch(single, &item.bytes) {
            // The decoded events go to the fold with their bytes, so they
            // are not decoded again there. (A JSON line holding an array
            // gives several events; all of them fold, where only the first
            // used to.)
            Ok(accepted) => batch.embedded.extend(accepted),
            Err(e) => {
                let mut r = Record::new(
                    SourcePosition {
                        topic: topic.to_string(),
                        partition: 0,
                        offset: item.index,
                        timestamp_ms: 0,
                    },
                    item.bytes,
                );
                r.rejected = Some(e.message);
                batch.positioned.push(r);
            }
        }
    }
    let s = folder.fold(REDELIVERY, batch)?.summary;
    summary.folded += s.folded;
    summary.duplicates += s.duplicates;
    summary.already_folded += s.already_folded;
    summary.quarantined += s.quarantined;
    Ok(())
}

fn read_delimited(
    reader: &mut impl BufRead,
    name: &str,
    index: u64,
) -> Result<Option<Vec<u8>>, ImportError> {
    let framing = |message: String| ImportError::Framing {
        path: name.to_string(),
        index,
        message,
    };
    let io = |source| ImportError::Io {
        path: name.to_string(),
        source,
    };
    let mut len: u64 = 0;
    for i in 0..10 {
        let mut b = [0u8; 1];
        if reader.read(&mut b).map_err(io)? == 0 {
            if i == 0 {
                return Ok(None);
            }
            return Err(framing("file ends inside a length prefix".into()));
        }
        len |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            if len > crate::intake::MAX_EVENT_BYTES as u64 {
                return Err(framing(format!("record length {len} exceeds the limit")));
            }
            let mut buf = vec![0u8; len as usize];
            reader
                .read_exact(&mut buf)
                .map_err(|e| framing(format!("file ends inside the record: {e}")))?;
            return Ok(Some(buf));
        }
    }
    Err(framing("length prefix longer than 10 bytes".into()))
}

/// Writes events as length-delimited protobuf (for `custody demo --write`).
pub fn write_delimited(
    events: &[custody_proto::Event],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for e in events {
        buf.clear();
        e.encode_length_delimited(&mut buf)
            .map_err(|err| std::io::Error::other(err.to_string()))?;
        out.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_ledger::Ledger;

    const GOOD: &str = r#"{"eventId":"i-1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z","actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#;

    #[test]
    fn bad_lines_are_quarantined_and_a_second_import_folds_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("events.jsonl");
        let lines = [
            GOOD.to_string(),
            "{not json".to_string(),
            String::new(),
            GOOD.replace("i-1", "i-2"),
        ];
        std::fs::write(&file, lines.join("\n")).expect("write");
        let folder = Folder::open(Ledger::open(&dir.path().join("data")).expect("open"));
        let first = import_file(&folder, &file, Format::Json, |_| {}).expect("import");
        assert_eq!(
            (first.read, first.folded, first.quarantined),
            (3, 2, 1),
            "{first:?}"
        );
        // The folder counted the batch: the events under the embedded topic,
        // the bad line under the file's.
        let text = folder.metrics().render();
        assert!(
            text.contains(
                "custody_quarantined_total{topic=\"import:events.jsonl\",partition=\"0\"} 1"
            ),
            "{text}"
        );
        let quarantined = folder
            .lock()
            .expect("lock")
            .store()
            .quarantine(10)
            .expect("q");
        assert_eq!(quarantined.len(), 1);
        assert_eq!(quarantined[0].offset, 2, "line numbers are the positions");

        let again = import_file(&folder, &file, Format::Json, |_| {}).expect("import");
        assert_eq!(
            (again.folded, again.duplicates, again.already_folded),
            (0, 2, 1),
            "{again:?}"
        );
    }
}
