//! `custody bench`: throughput of the fold and of verification, each next to
//! a raw baseline measured in the same process on the same bytes, so the
//! ratios hold on a shared, noisy machine. Rounds alternate the variants and
//! the median round is reported.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use custody_ledger::{keys, verify_store, FoldOptions, Ledger, Record, Store};
use custody_testkit::demo::{self, DemoParams};
use sha2::{Digest, Sha256};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Customers in the generated workload: about 45 events each for the
    /// fold benchmark (default 20000); with --query, spread over --events
    /// (default 100000).
    #[arg(long)]
    customers: Option<u32>,
    /// Rounds per variant; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Events per fold batch.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Order of the fold workload: `arrival` (the demo's: services' events
    /// interleaved in time, as they reach Custody) or `customer` (each
    /// customer's events together, the order of the figures before
    /// 2026-12-04).
    #[arg(long, default_value = "arrival", value_parser = ["arrival", "customer"])]
    order: String,
    /// Scratch directory (emptied between rounds).
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Measure the Kafka path instead: produce the workload to a new topic on
    /// these brokers, then time the fold from Kafka next to a consume-only client.
    #[arg(long)]
    kafka: Option<String>,
    /// Measure report latency instead (access history, disclosure) on a
    /// ledger of --events events over --customers customers, then
    /// HTTP requests/s with wrk. The ledger is kept in DIR/ledger for reuse.
    #[arg(long)]
    query: bool,
    /// --query: events in the ledger.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// --query: timed requests per report.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// --query: wrk duration in seconds and connections.
    #[arg(long, default_value_t = 10)]
    wrk_seconds: u32,
    #[arg(long, default_value_t = 16)]
    wrk_connections: u32,
    /// --query: only the in-process latencies, no server and no wrk.
    #[arg(long)]
    no_http: bool,
    /// Measure durable single-event HTTP POSTs instead: `custody serve` on
    /// a new ledger in DIR/posts, wrk with --wrk-connections clients for
    /// --wrk-seconds, next to the disk's raw fsync rate.
    #[arg(long)]
    posts: bool,
    /// Compare with PostgreSQL instead: the --query workload of --events
    /// events over --customers customers (default 100000) imported with
    /// `custody import` and loaded into the distribution's PostgreSQL
    /// (started in a temporary directory) with COPY, then the same
    /// access-history query on both. `cargo xtask bench --postgres`
    /// installs PostgreSQL and wrk.
    #[arg(long)]
    postgres: bool,
}

struct Sample {
    name: &'static str,
    seconds: Vec<f64>,
}

impl Sample {
    fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(|a, b| a.total_cmp(b));
        s[s.len() / 2]
    }
}

fn fresh(dir: &Path, name: &str) -> Result<PathBuf> {
    let p = dir.join(name);
    if p.exists() {
        std::fs::remove_dir_all(&p).with_context(|| format!("clearing {}", p.display()))?;
    }
    Ok(p)
}

/// Folds every record; `replayable` uses the no-WAL path of Kafka and file
/// import, timed up to the flush that makes it durable. A checkpoint is
/// signed after every second of folding and at the end, as `custody serve`
/// does by default: with commitments, that is where the customer maps are
/// built, so their cost is in the figure.
fn fold_all(
    dir: &Path,
    records: &[Record],
    batch: usize,
    options: FoldOptions,
    replayable: bool,
) -> Result<Duration> {
    let mut ledger = Ledger::open_with(dir, options)?;
    let started = Instant::now();
    let mut last_checkpoint = Instant::now();
    for chunk in records.chunks(batch) {
        if replayable {
            ledger.fold_replayable(chunk)?;
        } else {
            ledger.fold(chunk)?;
        }
        if last_checkpoint.elapsed() >= Duration::from_secs(1) {
            ledger.checkpoint(0)?;
            last_checkpoint = Instant::now();
        }
    }
    ledger.checkpoint(0)?;
    Ok(started.elapsed())
}

const POLICY_ON: FoldOptions = FoldOptions {
    policy: true,
    commitments: true,
    allowed_lateness_ms: None,
};

/// The baseline: the same event bytes, one put each, same batch size, same
/// RocksDB options and column family, no hashing, no indexes, no policy.
fn raw_puts(dir: &Path, records: &[Record], batch: usize) -> Result<Duration> {
    let db = custody_ledger::store::open_baseline_db(&dir.join("db"))?;
    let cf = db
        .cf_handle(keys::CF_ENTRIES)
        .context("entries column family")?;
    let started = Instant::now();
    let mut seq = 0u64;
    for chunk in records.chunks(batch) {
        let mut wb = rocksdb::WriteBatch::default();
        for r in chunk {
            wb.put_cf(cf, keys::entry(r.source.partition, seq), &r.payload);
            seq += 1;
        }
        db.write(wb)?;
    }
    Ok(started.elapsed())
}

type KeyValues = Vec<(&'static str, Box<[u8]>, Box<[u8]>)>;

fn all_key_values(store: &Store) -> Result<KeyValues> {
    let mut out = Vec::new();
    for cf_name in [
        keys::CF_ENTRIES,
        keys::CF_TREE,
        keys::CF_BY_CUSTOMER,
        keys::CF_BY_EVENT,
        keys::CF_FINDINGS,
        keys::CF_STATE,
        keys::CF_META,
        keys::CF_CUSTOMERS,
    ] {
        for kv in store.scan(cf_name)? {
            let (k, v) = kv?;
            out.push((cf_name, k, v));
        }
    }
    Ok(out)
}

fn raw_key_values(dir: &Path, kvs: &KeyValues, per_batch: usize) -> Result<Duration> {
    let db = custody_ledger::store::open_baseline_db(&dir.join("db"))?;
    let started = Instant::now();
    for chunk in kvs.chunks(per_batch.max(1)) {
        let mut wb = rocksdb::WriteBatch::default();
        for (cf, k, v) in chunk {
            let cf = db
                .cf_handle(cf)
                .with_context(|| format!("{cf} column family"))?;
            wb.put_cf(cf, k, v);
        }
        db.write(wb)?;
    }
    Ok(started.elapsed())
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(args: BenchArgs) -> Result<()> {
    let rounds = args.rounds.max(1);
    std::fs::create_dir_all(&args.dir)?;
    if args.posts {
        return crate::bench_posts::run(
            &args.dir.join("posts"),
            args.wrk_seconds,
            args.wrk_connections,
        );
    }
    if args.query || args.postgres {
        let run = if args.postgres {
            crate::bench_pg::run
        } else {
            crate::bench_query::run
        };
        return run(crate::bench_query::QueryBench {
            events: args.events,
            customers: args.customers.unwrap_or(100_000),
            requests: args.requests,
            batch: args.batch,
            dir: args
                .dir
                .join(if args.postgres { "postgres" } else { "query" }),
            wrk_seconds: args.wrk_seconds,
            wrk_connections: args.wrk_connections,
            no_http: args.no_http,
        });
    }
    let customers = args.customers.unwrap_or(20_000);
    if let Some(brokers) = &args.kafka {
        return crate::bench_kafka::run(brokers, customers, rounds, &args.dir);
    }
    let mut events = demo::generate(DemoParams {
        customers,
        ..DemoParams::default()
    });
    if args.order == "customer" {
        // Stable: each customer's events keep their order.
        events.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    }
    let n = events.len();
    // Routing and encoding happen before timing: both variants get the same records.
    let records = {
        let dir = fresh(&args.dir, "route")?;
        let ledger = Ledger::open(&dir)?;
        let payloads = events
            .iter()
            .map(|e| (e.customer_id.clone(), prost::Message::encode_to_vec(e)))
            .collect();
        ledger.embedded_records(payloads)
    };
    drop(events);
    let bytes: usize = records.iter().map(|r| r.payload.len()).sum();
    eprintln!(
        "workload: {} records ({} events, {:.1} MiB of event bytes), batch {}, {} rounds",
        records.len(),
        n,
        bytes as f64 / (1 << 20) as f64,
        args.batch,
        rounds
    );

    let mut raw = Sample {
        name: "raw RocksDB puts, one per event of its bytes (baseline)",
        seconds: vec![],
    };
    let mut raw_all = Sample {
        name: "raw RocksDB puts of every key/value the fold writes (baseline 2)",
        seconds: vec![],
    };
    let mut kv_count = 0usize;
    let mut fold_off = Sample {
        name: "fold, policy off",
        seconds: vec![],
    };
    let mut fold_on = Sample {
        name: "fold, policy on",
        seconds: vec![],
    };
    let mut fold_plain = Sample {
        name: "fold, policy on, without customer commitments",
        seconds: vec![],
    };
    let mut fold_replay = Sample {
        name: "fold, policy on, replayable source (Kafka, import: no WAL, flushed at the end)",
        seconds: vec![],
    };
    let mut sha = Sample {
        name: "raw SHA-256 of stored entries (baseline)",
        seconds: vec![],
    };
    let mut verify = Sample {
        name: "custody verify",
        seconds: vec![],
    };
    let mut entries_verified = 0u64;
    for round in 0..rounds {
        let d = fresh(&args.dir, "raw")?;
        raw.seconds
            .push(raw_puts(&d, &records, args.batch)?.as_secs_f64());
        std::fs::remove_dir_all(&d)?;
        let d = fresh(&args.dir, "fold-off")?;
        fold_off.seconds.push(
            fold_all(
                &d,
                &records,
                args.batch,
                FoldOptions {
                    policy: false,
                    ..POLICY_ON
                },
                false,
            )?
            .as_secs_f64(),
        );
        std::fs::remove_dir_all(&d)?;
        let d = fresh(&args.dir, "fold-replay")?;
        fold_replay
            .seconds
            .push(fold_all(&d, &records, args.batch, POLICY_ON, true)?.as_secs_f64());
        std::fs::remove_dir_all(&d)?;
        let d = fresh(&args.dir, "fold-plain")?;
        fold_plain.seconds.push(
            fold_all(
                &d,
                &records,
                args.batch,
                FoldOptions {
                    commitments: false,
                    ..POLICY_ON
                },
                false,
            )?
            .as_secs_f64(),
        );
        std::fs::remove_dir_all(&d)?;
        let d = fresh(&args.dir, "fold-on")?;
        fold_on
            .seconds
            .push(fold_all(&d, &records, args.batch, POLICY_ON, false)?.as_secs_f64());

        // Verification of the ledger just folded, next to hashing its bytes.
        let store = Store::open(&d)?;
        // Baseline 2: the same key/values the fold wrote (entries, Merkle
        // nodes, indexes, findings, state, heads), raw, in batches holding
        // as many key/values per event as the fold's batches did.
        let kvs = all_key_values(&store)?;
        kv_count = kvs.len();
        let per_batch = (kvs.len() * args.batch).div_ceil(records.len().max(1));
        let d2 = fresh(&args.dir, "raw-all")?;
        raw_all
            .seconds
            .push(raw_key_values(&d2, &kvs, per_batch)?.as_secs_f64());
        drop(kvs);
        std::fs::remove_dir_all(&d2)?;
        let stored: Vec<Vec<u8>> = store
            .scan(keys::CF_ENTRIES)?
            .map(|kv| kv.map(|(_, v)| v.to_vec()))
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        let mut acc = 0u8;
        for v in &stored {
            acc ^= Sha256::digest(v)[0];
        }
        sha.seconds.push(started.elapsed().as_secs_f64());
        std::hint::black_box(acc);
        drop(stored);
        let started = Instant::now();
        let report = verify_store(&store, None, |_| {})?;
        verify.seconds.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(
            report.ok(),
            "benchmark ledger failed verification: {:?}",
            report.problems
        );
        entries_verified = report.entries;
        drop(store);
        std::fs::remove_dir_all(&d)?;
        eprintln!("round {} done", round + 1);
    }

    let recs = records.len() as f64;
    let rate = |s: &Sample, n: f64| n / s.median();
    println!("| measurement | median seconds | rate | ratio to baseline |");
    println!("|---|---|---|---|");
    println!(
        "| {} | {:.3} | {:.0} records/s | 1.00 |",
        raw.name,
        raw.median(),
        rate(&raw, recs)
    );
    for s in [&fold_off, &fold_on, &fold_plain, &fold_replay] {
        println!(
            "| {} | {:.3} | {:.0} events/s | {:.2} |",
            s.name,
            s.median(),
            rate(s, recs),
            raw.median() / s.median()
        );
    }
    println!(
        "| {} ({kv_count} key/values) | {:.3} | {:.0} events/s | 1.00 |",
        raw_all.name,
        raw_all.median(),
        rate(&raw_all, recs)
    );
    println!(
        "| fold, policy on, against baseline 2 | | | {:.2} |",
        raw_all.median() / fold_on.median()
    );
    println!(
        "| policy cost: fold on / fold off rate | | | {:.2} |",
        fold_off.median() / fold_on.median()
    );
    println!(
        "| commitments cost: fold with / without customer commitments rate | | | {:.2} |",
        fold_plain.median() / fold_on.median()
    );
    let en = entries_verified as f64;
    println!(
        "| {} | {:.3} | {:.0} entries/s | 1.00 |",
        sha.name,
        sha.median(),
        rate(&sha, en)
    );
    println!(
        "| {} | {:.3} | {:.0} entries/s | {:.2} |",
        verify.name,
        verify.median(),
        rate(&verify, en),
        sha.median() / verify.median()
    );
    if let Some(mib) = peak_rss_mib() {
        println!(
            "\npeak RSS of the bench process: {mib:.0} MiB (includes the pre-encoded workload)"
        );
    }
    Ok(())
}
