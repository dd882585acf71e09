//! Shared by the fuzz targets (`proto/tests/fuzz.rs`, `ingest/tests/fuzz.rs`,
//! `verify/tests/fuzz.rs`), each of which includes this file with
//! `#[path = "../../fuzz/support.rs"] mod support;`.
//!
//! - [`cases`]: how many cases each target runs, from `CUSTODY_FUZZ_CASES`
//!   (default 2,000 so that `cargo test` stays quick; `cargo xtask fuzz`
//!   sets 100,000);
//! - [`run`]: runs one target as a proptest with that many cases, prints
//!   `fuzz <name>: <cases> cases in <seconds> s`, and fails on the first
//!   panic or property violation with the shrunk input;
//! - a counting global allocator: every case runs under [`Budget`], which
//!   fails the case when any single allocation, or the bytes live at once on
//!   the case's thread, exceed a bound proportional to the input (a length
//!   prefix claiming 4 GB must be refused, not allocated).
//! - [`json`]: structural mutations of JSON documents and arbitrary JSON.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per target: `CUSTODY_FUZZ_CASES`, default 2,000.
pub fn cases() -> u32 {
    std::env::var("CUSTODY_FUZZ_CASES")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(2_000)
}

static ACCEPTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts a case whose input the decoder accepted (printed with the run, to
/// show how deep the mutations reach).
pub fn accepted() {
    ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Runs one fuzz target for [`cases`] cases; panics (failing the test) with
/// the minimal failing input when a case panics or returns an error.
pub fn run<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Shrinking a failure of a 100,000-case run must not take forever.
        max_shrink_iters: 4_096,
        ..Config::default()
    });
    let start = Instant::now();
    let before = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed);
    let outcome = runner.run(&strategy, test);
    let accepted = ACCEPTED.load(std::sync::atomic::Ordering::Relaxed) - before;
    let secs = start.elapsed().as_secs_f64();
    if let Err(e) = outcome {
        println!("fuzz {name}: FAILED after {secs:.1} s");
        panic!("fuzz {name} failed after {secs:.1} s: {e}");
    }
    println!(
        "fuzz {name}: {cases} cases in {secs:.1} s ({:.0} cases/s, {accepted} accepted)",
        f64::from(cases) / secs.max(1e-9)
    );
}

/// Counts allocations per thread (the decoders run on the case's thread).
pub struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn grew(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

fn shrank(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrank(layout.size());
        grew(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one case may allocate: `per_input_byte` times the input's size plus
/// `fixed` bytes, for the largest single allocation and for the bytes live
/// at once (both counted from the start of the case, on its thread).
pub struct Budget {
    limit: usize,
    live_at_start: usize,
}

impl Budget {
    pub fn start(input_len: usize, per_input_byte: usize, fixed: usize) -> Self {
        let live_at_start = LIVE.with(Cell::get);
        PEAK.with(|p| p.set(live_at_start));
        LARGEST.with(|l| l.set(0));
        Budget {
            limit: input_len
                .saturating_mul(per_input_byte)
                .saturating_add(fixed),
            live_at_start,
        }
    }

    /// Fails the case when the bound was exceeded.
    pub fn check(self, what: &str) -> Result<(), TestCaseError> {
        let largest = LARGEST.with(Cell::get);
        let peak = PEAK.with(Cell::get).saturating_sub(self.live_at_start);
        if largest > self.limit || peak > self.limit {
            return Err(TestCaseError::fail(format!(
                "{what}: allocated {largest} bytes at once and {peak} bytes live, bound {}",
                self.limit
            )));
        }
        Ok(())
    }
}

/// Arbitrary bytes, biased towards short inputs.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => proptest::collection::vec(any::<u8>(), 0..max),
    ]
}

/// Byte-level mutations of a valid encoding: flips, overwrites with extreme
/// bytes, insertions, deletions and truncation at chosen positions.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, Vec<u8>),
    Remove(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    /// Four 0xff bytes (a huge big-endian length, a long varint run).
    Saturate(prop::sample::Index),
}

pub fn byte_edits() -> impl Strategy<Value = Vec<ByteEdit>> {
    let edit = prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (
            any::<prop::sample::Index>(),
            prop_oneof![Just(0u8), Just(0x7f), Just(0x80), Just(0xff), any::<u8>()]
        )
            .prop_map(|(i, b)| ByteEdit::Set(i, b)),
        (
            any::<prop::sample::Index>(),
            proptest::collection::vec(any::<u8>(), 1..12)
        )
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..16).prop_map(|(i, n)| ByteEdit::Remove(i, n)),
        any::<prop::sample::Index>().prop_map(ByteEdit::Truncate),
        any::<prop::sample::Index>().prop_map(ByteEdit::Saturate),
    ];
    proptest::collection::vec(edit, 1..5)
}

pub fn apply_byte_edits(mut bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            ByteEdit::Flip(i, bit) => {
                let i = i.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
            ByteEdit::Set(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            ByteEdit::Insert(i, b) => {
                let i = i.index(bytes.len() + 1);
                bytes.splice(i..i, b.iter().copied());
            }
            ByteEdit::Remove(i, n) => {
                let i = i.index(bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            ByteEdit::Truncate(i) => {
                let i = i.index(bytes.len());
                bytes.truncate(i);
            }
            ByteEdit::Saturate(i) => {
                let i = i.index(bytes.len());
                let end = (i + 4).min(bytes.len());
                bytes[i..end].fill(0xff);
            }
        }
    }
    bytes
}

pub mod json {
    //! Structural mutations of JSON documents, and arbitrary JSON.

    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    /// Values that break assumptions: extreme and negative numbers, floats,
    /// empty, long and odd strings, hex-looking strings, other types.
    pub fn nasty() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(i64::MAX)),
            Just(json!(u32::MAX)),
            Just(json!(u64::from(u32::MAX) + 1)),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!(1)),
            Just(json!(1e308)),
            Just(json!(-0.5)),
            Just(json!(null)),
            Just(json!(true)),
            Just(json!("")),
            Just(json!([])),
            Just(json!({})),
            Just(json!("0".repeat(64))),
            Just(json!("f".repeat(63))),
            Just(json!("zz".repeat(32))),
            Just(json!("x".repeat(70_000))),
            Just(json!("é\u{0}\u{202e}\u{1F600}")),
            Just(json!("2026-05-01T10:00:00Z")),
            Just(json!("9999-12-31T23:59:59.999999999Z")),
            Just(json!("0001-01-01T00:00:00Z")),
            Just(json!("1.2.3")),
            Just(json!("18446744073709551615.0.0")),
            Just(json!("open")),
            Just(json!("PURPOSE_ADVERTISING")),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[ -~]{0,40}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
            arbitrary(),
        ]
    }

    /// Arbitrary JSON, a few levels deep.
    pub fn arbitrary() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-zA-Z0-9_.:-]{0,20}".prop_map(Value::String),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        "[a-zA-Z]{1,12}",
                        prop::sample::select(KEYS).prop_map(String::from)
                    ],
                    inner,
                    0..8
                )
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// Field names the decoders look for, so that arbitrary objects reach
    /// past the first "missing field".
    const KEYS: &[&str] = &[
        "eventId",
        "customerId",
        "occurredAt",
        "actor",
        "dataAccessed",
        "purpose",
        "categories",
        "reportKind",
        "params",
        "checkpoint",
        "generatedAtMs",
        "proofs",
        "consistency",
        "number",
        "issued_at_ms",
        "key",
        "shards",
        "signature",
        "shard",
        "seq",
        "size",
        "root",
        "entry",
        "inclusion",
        "entries",
        "report",
        "from",
        "fromSize",
        "toSize",
        "fromRoot",
        "toRoot",
        "proof",
        "customer",
        "audience",
        "period",
        "limit",
        "cursor",
        "findings",
        "state",
        "position",
        "entryHash",
        "rule",
    ];

    /// One structural change at a node chosen by index among all nodes.
    #[derive(Debug, Clone)]
    pub enum Edit {
        Replace(Value),
        Remove,
        /// Copies the node under a new key or as the next element.
        Duplicate,
        /// Repeats an array's elements (or wraps a node in an array) `n` times.
        Repeat(usize),
        /// Number to string, string to number, array to object and back.
        SwapType,
        /// Changes one character of a string (a hex digit, say).
        Tweak(prop::sample::Index, char),
    }

    pub fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, Edit)>> {
        let edit = prop_oneof![
            4 => nasty().prop_map(Edit::Replace),
            2 => Just(Edit::Remove),
            1 => Just(Edit::Duplicate),
            1 => prop_oneof![1usize..4, 200usize..2_000].prop_map(Edit::Repeat),
            2 => Just(Edit::SwapType),
            2 => (any::<prop::sample::Index>(), prop_oneof![Just('0'), Just('g'), Just('F'), Just('é'), any::<char>()])
                .prop_map(|(i, c)| Edit::Tweak(i, c)),
        ];
        proptest::collection::vec((any::<prop::sample::Index>(), edit), 1..5)
    }

    /// Applies the edits in order, each at the node its index picks (in
    /// pre-order, the root included).
    pub fn apply(mut doc: Value, edits: &[(prop::sample::Index, Edit)]) -> Value {
        for (at, edit) in edits {
            let n = count(&doc);
            // Repeats of repeats could grow without end; a few hundred
            // thousand nodes are plenty.
            if n > 200_000 {
                break;
            }
            let target = at.index(n);
            let mut seen = 0;
            edit_at(&mut doc, target, &mut seen, edit);
        }
        doc
    }

    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(m) => m.values().map(count).sum(),
            _ => 0,
        }
    }

    /// Returns true when the node itself must be removed by its parent.
    fn edit_at(v: &mut Value, target: usize, seen: &mut usize, edit: &Edit) -> bool {
        if *seen == target {
            *seen += 1;
            return apply_here(v, edit);
        }
        *seen += 1;
        match v {
            Value::Array(a) => {
                let mut i = 0;
                while i < a.len() {
                    if *seen > target {
                        break;
                    }
                    let before = *seen;
                    let remove = edit_at(&mut a[i], target, seen, edit);
                    if remove {
                        a.remove(i);
                        return false;
                    }
                    if matches!(edit, Edit::Duplicate) && before == target {
                        let copy = a[i].clone();
                        a.insert(i + 1, copy);
                        return false;
                    }
                    i += 1;
                }
                false
            }
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    if *seen > target {
                        break;
                    }
                    let before = *seen;
                    let child = m.get_mut(&k).expect("key listed");
                    let remove = edit_at(child, target, seen, edit);
                    if remove {
                        m.remove(&k);
                        return false;
                    }
                    if matches!(edit, Edit::Duplicate) && before == target {
                        let copy = m[&k].clone();
                        m.insert(format!("{k}2"), copy);
                        return false;
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn apply_here(v: &mut Value, edit: &Edit) -> bool {
        match edit {
            Edit::Replace(new) => *v = new.clone(),
            Edit::Remove => return true,
            Edit::Duplicate => {}
            Edit::Repeat(n) => match v {
                Value::Array(a) if !a.is_empty() => {
                    let copy = a.clone();
                    let want = (*n).max(a.len() + 1);
                    let mut i = 0;
                    while a.len() < want {
                        a.push(copy[i % copy.len()].clone());
                        i += 1;
                    }
                }
                other => *other = Value::Array(vec![other.clone(); *n]),
            },
            Edit::SwapType => {
                *v = match v.take() {
                    Value::Number(n) => Value::String(n.to_string()),
                    Value::String(s) => s
                        .parse::<serde_json::Number>()
                        .map(Value::Number)
                        .unwrap_or(Value::Array(vec![Value::String(s)])),
                    Value::Array(a) => Value::Object(
                        a.into_iter()
                            .enumerate()
                            .map(|(i, x)| (i.to_string(), x))
                            .collect(),
                    ),
                    Value::Object(m) => Value::Array(m.into_iter().map(|(_, x)| x).collect()),
                    Value::Bool(b) => Value::String(b.to_string()),
                    Value::Null => json!(0),
                }
            }
            Edit::Tweak(i, c) => {
                if let Value::String(s) = v {
                    let mut chars: Vec<char> = s.chars().collect();
                    if chars.is_empty() {
                        chars.push(*c);
                    } else {
                        let i = i.index(chars.len());
                        chars[i] = *c;
                    }
                    *s = chars.into_iter().collect();
                } else if let Value::Number(n) = v {
                    if let Some(x) = n.as_u64() {
                        *v = json!(x.wrapping_add(1));
                    } else if let Some(x) = n.as_i64() {
                        *v = json!(x.wrapping_sub(1));
                    }
                }
            }
        }
        false
    }
}
