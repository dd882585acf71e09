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
use crate::intake::{parse_external, Arrival, Format};

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
    max_skew_ms: Option<i64>,
    progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|source| ImportError::Io {
            path: path.display().to_string(),
            source,
        })?)
    };
    import_reader(folder, reader, path, format, max_skew_ms, progress)
}

/// The source topic of an import: `import:<file name>` (`import:-` for
/// standard input).
/// Positions of a file's records are kept under it, so importing the same
/// file again skips them.
pub fn import_topic(path: &Path) -> String {
    format!(
        "import:{}",
        path.file_name()
            .map_or("stdin".into(), |n| n.to_string_lossy().into_owned())
    )
}

/// Imports from `reader`, naming positions after `path` (`-` for standard
/// input). The caller may wrap the reader, e.g. to count bytes for a
/// progress bar. An event dated later than `max_skew_ms` after the
/// import's start is quarantined (`None`: no limit, for historical data).
pub fn import_reader(
    folder: &Folder,
    reader: impl Read,
    path: &Path,
    format: Format,
    max_skew_ms: Option<i64>,
    mut progress: impl FnMut(&ImportSummary),
) -> Result<ImportSummary, ImportError> {
    let name = path.display().to_string();
    let io = |source| ImportError::Io {
        path: name.clone(),
        source,
    };
    let topic = import_topic(path);
    let arrival = Arrival::now(max_skew_ms);
    let mut summary = ImportSummary::default();
    let mut pending: Vec<Item> = Vec::with_capacity(IMPORT_BATCH);
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut index: u64 = 0;
    loop {
        let item = match format {
            Format::Json => {
                // Bytes, not a String: a line that is not UTF-8 is one bad
                // record to quarantine, not the end of the import.
                let mut line = Vec::new();
                if reader.read_until(b'\n', &mut line).map_err(io)? == 0 {
                    break;
                }
                index += 1;
                if line.trim_ascii().is_empty() {
                    continue;
                }
                Item { index, bytes: line }
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
            fold_items(folder, &topic, format, &arrival, &mut pending, &mut summary)?;
            progress(&summary);
        }
    }
    fold_items(folder, &topic, format, &arrival, &mut pending, &mut summary)?;
    progress(&summary);
    Ok(summary)
}

/// Where a record of a file import came from, counted as a person counts.
/// The stored offset already is that count: the 1-based line number for
/// JSON lines (blank lines included), the 1-based record number for
/// length-delimited protobuf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePosition {
    /// The file name as recorded in the topic, `standard input` for `-`.
    pub file: String,
    /// `line` or `record`.
    pub unit: &'static str,
    pub number: u64,
}

impl std::fmt::Display for FilePosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.unit, self.number, self.file)
    }
}

/// The file position of a record at (`topic`, `offset`), when the topic is
/// a file import's. The format is not stored with the record: it is told
/// by the file name's extension, as `custody import` picks it by default,
/// and for standard input by whether the payload is text.
pub fn file_position(topic: &str, offset: u64, payload: &[u8]) -> Option<FilePosition> {
    let file = topic.strip_prefix("import:")?;
    // `custody import -` records its topic as `import:-`.
    let stdin = matches!(file, "-" | "stdin");
    let json = if stdin {
        std::str::from_utf8(payload).is_ok()
    } else {
        format_for(Path::new(file)) == Format::Json
    };
    Some(FilePosition {
        file: if stdin { "standard input" } else { file }.to_string(),
        unit: if json { "line" } else { "record" },
        number: offset,
    })
}

struct Item {
    index: u64,
    bytes: Vec<u8>,
}

fn fold_items(
    folder: &Folder,
    topic: &str,
    format: Format,
    arrival: &Arrival,
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
        // The line ending is not part of the event: without it a parse
        // error says "line 1" of the record, not "line 2".
        let body = match single {
            Format::Json => item.bytes.trim_ascii_end(),
            _ => &item.bytes[..],
        };
        match parse_external(single, body, arrival) {
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
        let first = import_file(&folder, &file, Format::Json, None, |_| {}).expect("import");
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

        let again = import_file(&folder, &file, Format::Json, None, |_| {}).expect("import");
        assert_eq!(
            (again.folded, again.duplicates, again.already_folded),
            (0, 2, 1),
            "{again:?}"
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_quarantined_and_the_import_goes_on() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("events.jsonl");
        let mut bytes = b"{\"eventId\":\n".to_vec();
        bytes.extend_from_slice(b"\x01\xff\xfe binary\n");
        bytes.extend_from_slice(GOOD.as_bytes());
        bytes.push(b'\n');
        std::fs::write(&file, bytes).expect("write");
        let folder = Folder::open(Ledger::open(&dir.path().join("data")).expect("open"));
        let s = import_file(&folder, &file, Format::Json, None, |_| {}).expect("import");
        assert_eq!((s.read, s.folded, s.quarantined), (3, 1, 2), "{s:?}");
        let q = folder
            .lock()
            .expect("lock")
            .store()
            .quarantine(10)
            .expect("q");
        assert_eq!(
            q.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [1, 2],
            "line numbers, counted from 1"
        );
        // The record's own line, not the line ending, is what the reason counts.
        assert!(q[0].reason.contains("line 1"), "{}", q[0].reason);
        assert!(q[1].reason.contains("UTF-8"), "{}", q[1].reason);
        let pos = file_position(&q[0].topic, q[0].offset, b"").expect("a file's");
        assert_eq!(pos.to_string(), "line 1 of events.jsonl");
    }

    #[test]
    fn file_positions_follow_the_format() {
        let p = |t: &str, payload: &[u8]| file_position(t, 7, payload).map(|p| p.to_string());
        assert_eq!(
            p("import:a.jsonl", b"x").as_deref(),
            Some("line 7 of a.jsonl")
        );
        assert_eq!(p("import:a.pb", b"x").as_deref(), Some("record 7 of a.pb"));
        assert_eq!(
            p("import:-", b"{").as_deref(),
            Some("line 7 of standard input")
        );
        assert_eq!(
            p("import:-", b"\xff").as_deref(),
            Some("record 7 of standard input")
        );
        assert_eq!(p("custody.events", b"x"), None);
        assert_eq!(p("embedded", b"x"), None);
    }
}
