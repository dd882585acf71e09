//! `custody bench --postgres`: Custody next to PostgreSQL on the same events,
//! in the same run (issue 14, item 5).
//!
//! The workload is `custody bench --query`'s (customer profiles, then data
//! accesses of random customers), written once as JSON lines. Custody's
//! side is the real `custody import` of that file into a new ledger,
//! timed end to end, then the access-history query in process and over
//! HTTP (`wrk`, reads recorded). PostgreSQL's side is the distribution's
//! server started in a temporary directory on a loopback port: the same
//! events, their hash chain computed before the clock starts, loaded with
//! `COPY` in transactions of 4,096 rows into a table with three indexes
//! (position, event id, customer and position: what Custody's entries,
//! `by_event` and `by_customer` index give), then the same query (the
//! customer's newest 100) with `pgbench`, one client for latency and the
//! `wrk` connection count for throughput.
//!
//! PostgreSQL keeps its defaults (WAL fsynced at every commit); Custody's
//! import is a replayable source (no WAL, flushed at the end: a crash
//! re-imports from the last committed position). Both are durable when
//! they report done.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use custody_ledger::Ledger;
use custody_proto::{event_to_json, kind_name, Kind};
use custody_testkit::demo::Rng;
use sha2::{Digest, Sha256};

use crate::bench_query::{self, QueryBench};

/// Rows per `COPY` (each its own transaction), as in the figures of issue 14.
const COPY_BATCH: usize = 4096;

/// The newest 100 of one customer's entries: Custody's default page.
const QUERY: &str =
    "SELECT seq, event_id, occurred_at_ms, kind, actor_id, purpose, entry_hash, event \
     FROM entries WHERE customer_id = 'cust-' || lpad(:c::text, 6, '0') \
     ORDER BY seq DESC LIMIT 100;";

/// Where the distribution installs PostgreSQL's server binaries
/// (`/usr/lib/postgresql/<major>/bin`), the newest major first.
fn pg_bindir() -> Result<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (no /usr/lib/postgresql): run `cargo xtask bench --postgres`, which installs Debian's postgresql")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop()
        .map(|(_, d)| d)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

/// A PostgreSQL server of our own in a temporary directory, stopped (and
/// the directory removed) on drop. initdb refuses to run as root, so as
/// root the server runs as the distribution's `postgres` user.
struct Postgres {
    bindir: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    fn start() -> Result<Self> {
        let bindir = pg_bindir()?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        // Under /tmp, not the bench directory: the `postgres` user must be
        // able to reach it (a home directory is often 0700).
        let dir = std::env::temp_dir().join(format!("custody-bench-pg-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let pg = Postgres {
            bindir,
            dir,
            port,
            as_postgres,
        };
        if as_postgres {
            let out = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&pg.dir)
                .output()
                .context("chown of the PostgreSQL directory")?;
            ensure!(
                out.status.success(),
                "chown postgres {}: {}",
                pg.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let data = pg.dir.join("data");
        pg.server_cmd("initdb", |c| {
            c.arg("-D").arg(&data).args([
                "-U",
                "custody",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]);
        })?;
        // Custody's store has a 256 MiB block cache; give PostgreSQL the
        // same memory for its buffers.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_wal_size=4GB",
            pg.port,
            pg.dir.display()
        );
        let log = pg.dir.join("server.log");
        pg.server_cmd("pg_ctl", |c| {
            c.arg("-D")
                .arg(&data)
                .args(["-o", &options, "-l"])
                .arg(&log)
                .args(["-w", "start"]);
        })?;
        Ok(pg)
    }

    /// Runs one of the server binaries (as `postgres` when we are root).
    fn server_cmd(&self, bin: &str, args: impl FnOnce(&mut Command)) -> Result<()> {
        let path = self.bindir.join(bin);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        args(&mut c);
        let out = c.output().with_context(|| format!("starting {bin}"))?;
        if !out.status.success() {
            bail!(
                "{bin} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn client(&self, bin: &str) -> Command {
        let mut c = Command::new(self.bindir.join(bin));
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "custody",
        ]);
        c
    }

    /// `psql` with `script` on its standard input; fails on the first error.
    fn psql(&self, script: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        let mut child = self
            .client("psql")
            .args(["-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting psql")?;
        let mut stdin = std::io::BufWriter::with_capacity(
            1 << 20,
            child.stdin.take().context("psql's standard input")?,
        );
        let written = script(&mut stdin).and_then(|()| stdin.flush());
        drop(stdin);
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "psql failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        written.context("writing to psql")?;
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.server_cmd("pg_ctl", |c| {
            c.arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"]);
        });
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One COPY row (text format) per event, with its hash chain: `entry_hash
/// = SHA-256(prev_hash || event bytes)`, as a ledger's chain links entries.
fn copy_rows(q: &QueryBench) -> Vec<Vec<u8>> {
    let customers = u64::from(q.customers.max(1));
    let total = q.events.max(customers);
    let mut rng = Rng(2026);
    let mut prev = [0u8; 32];
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    for i in 0..total {
        let e = bench_query::event(i, customers, &mut rng);
        let bytes = prost::Message::encode_to_vec(&e);
        let hash: [u8; 32] = Sha256::new()
            .chain_update(prev)
            .chain_update(&bytes)
            .finalize()
            .into();
        let (actor, purpose) = match (&e.actor, &e.kind) {
            (Some(a), Some(Kind::DataAccessed(d))) => (a.id.clone(), d.purpose.to_string()),
            _ => ("\\N".into(), "\\N".into()),
        };
        let ms = e
            .occurred_at
            .as_ref()
            .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000);
        let kind = e.kind.as_ref().map_or("unknown", kind_name);
        // bytea in COPY's text format: `\x` and hex, the backslash doubled.
        let _ = writeln!(
            batch,
            "{i}\t{}\t{}\t{ms}\t{kind}\t{actor}\t{purpose}\t\\\\x{}\t\\\\x{}\t\\\\x{}",
            e.customer_id,
            e.event_id,
            hex::encode(prev),
            hex::encode(hash),
            hex::encode(&bytes)
        );
        prev = hash;
        if (i + 1) % COPY_BATCH as u64 == 0 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

/// Loads the rows with one `COPY` per batch, timed from the first byte to
/// the last commit.
fn load_postgres(pg: &Postgres, batches: &[Vec<u8>]) -> Result<Duration> {
    pg.psql(|w| {
        w.write_all(
            b"CREATE TABLE entries (\n\
              seq bigint PRIMARY KEY,\n\
              customer_id text NOT NULL,\n\
              event_id text NOT NULL,\n\
              occurred_at_ms bigint NOT NULL,\n\
              kind text NOT NULL,\n\
              actor_id text,\n\
              purpose text,\n\
              prev_hash bytea NOT NULL,\n\
              entry_hash bytea NOT NULL,\n\
              event bytea NOT NULL);\n\
              CREATE UNIQUE INDEX entries_event_id ON entries (event_id);\n\
              CREATE INDEX entries_customer ON entries (customer_id, seq);\n",
        )
    })?;
    let started = Instant::now();
    pg.psql(|w| {
        for b in batches {
            w.write_all(b"COPY entries FROM STDIN;\n")?;
            w.write_all(b)?;
            w.write_all(b"\\.\n")?;
        }
        w.write_all(b"ANALYZE entries;\n")
    })?;
    Ok(started.elapsed())
}

/// The JSON lines `custody import` reads: the same events.
fn write_json_lines(q: &QueryBench, path: &Path) -> Result<u64> {
    let customers = u64::from(q.customers.max(1));
    let total = q.events.max(customers);
    let mut rng = Rng(2026);
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in 0..total {
        let e = bench_query::event(i, customers, &mut rng);
        f.write_all(event_to_json(&e).as_bytes())?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(total)
}

/// The real `custody import` of the file into a new ledger, end to end:
/// its wall time and peak resident memory (MiB).
fn custody_import(file: &Path, ledger: &Path) -> Result<(Duration, f64)> {
    use std::io::Read;
    let exe = std::env::current_exe().context("locating the custody binary")?;
    let log = ledger.with_extension("import.log");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["import", "--data"])
        .arg(ledger)
        .arg(file)
        .env("CUSTODY_LOG", "warn")
        .stdout(Stdio::piped())
        // A file, so a full stderr pipe never blocks the import.
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("running custody import")?;
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .context("import's stdout")?
        .read_to_end(&mut stdout)?;
    // wait4, not Child::wait: it also reports the child's peak RSS.
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: pid is our own child, not yet reaped; both pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    ensure!(
        reaped == pid,
        "wait4 on custody import: {}",
        std::io::Error::last_os_error()
    );
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!(
            "custody import failed (wait status {status}): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let summary: serde_json::Value = serde_json::from_slice(&stdout).with_context(|| {
        format!(
            "custody import printed {:?}",
            String::from_utf8_lossy(&stdout)
        )
    })?;
    let quarantined = summary["quarantined"].as_u64().unwrap_or(0);
    ensure!(
        quarantined == 0,
        "custody import quarantined {quarantined} events"
    );
    Ok((elapsed, usage.ru_maxrss as f64 / 1024.0))
}

/// p50 and p99 (ms) of pgbench's per-transaction log (`--log`): the third
/// field of each line is the latency in microseconds.
fn pgbench_latencies(dir: &Path, prefix: &str) -> Result<(f64, f64, usize)> {
    let mut us: Vec<u64> = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if !e.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        for line in std::fs::read_to_string(e.path())?.lines() {
            if let Some(v) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                us.push(v);
            }
        }
    }
    ensure!(!us.is_empty(), "pgbench wrote no transaction log");
    us.sort_unstable();
    let at = |q: f64| {
        let i = ((us.len() as f64 * q).ceil() as usize).saturating_sub(1);
        us[i] as f64 / 1000.0
    };
    Ok((at(0.5), at(0.99), us.len()))
}

/// `pgbench` running [`QUERY`] for random customers: (tps, p50 ms, p99 ms).
fn pgbench(pg: &Postgres, q: &QueryBench, clients: u32, run: &[&str]) -> Result<(f64, f64, f64)> {
    let work = pg.dir.join(format!("pgbench-{clients}"));
    std::fs::create_dir_all(&work)?;
    let script = work.join("access-history.sql");
    std::fs::write(
        &script,
        format!("\\set c random(0, {})\n{QUERY}\n", q.customers.max(1) - 1),
    )?;
    let out = pg
        .client("pgbench")
        .args(["-n", "-M", "prepared", "--log", "--log-prefix=tx"])
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
        ])
        .args(run)
        .arg("-f")
        .arg(&script)
        .arg("postgres")
        .current_dir(&work)
        .output()
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no `tps = ` line in pgbench's output")?;
    let (p50, p99, _) = pgbench_latencies(&work, "tx")?;
    Ok((tps, p50, p99))
}

pub fn run(q: QueryBench) -> Result<()> {
    std::fs::create_dir_all(&q.dir)?;
    let file = q.dir.join("events.jsonl");
    let ledger_dir = q.dir.join("ledger");
    if ledger_dir.exists() {
        std::fs::remove_dir_all(&ledger_dir)?;
    }
    let events = write_json_lines(&q, &file)?;
    let json_mib = std::fs::metadata(&file)?.len() as f64 / (1 << 20) as f64;
    eprintln!(
        "workload: {events} events, {json_mib:.0} MiB of JSON lines, {} customers",
        q.customers
    );

    eprintln!("custody import ...");
    let (import, import_rss) = custody_import(&file, &ledger_dir)?;

    eprintln!("PostgreSQL: starting a server, computing the hash chain ...");
    let pg = Postgres::start()?;
    let batches = copy_rows(&q);
    eprintln!("PostgreSQL: COPY in {} transactions ...", batches.len());
    let copy = load_postgres(&pg, &batches)?;
    drop(batches);

    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    println!("| measurement | events/s | time | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| PostgreSQL COPY, {COPY_BATCH} rows per transaction, hash chain precomputed, 3 indexes (baseline) | {:.0} | {:.2} s | 1.00 |",
        rate(copy),
        copy.as_secs_f64()
    );
    println!(
        "| `custody import` of JSON lines, end to end (target: 5x the baseline) | {:.0} | {:.2} s | {:.2} |",
        rate(import),
        import.as_secs_f64(),
        copy.as_secs_f64() / import.as_secs_f64()
    );
    println!("\n`custody import` peak resident memory: {import_rss:.0} MiB for {events} events");

    // The same query: the customer's newest 100 entries.
    let requests = q.requests.max(1);
    let mut ledger = Ledger::open(&ledger_dir)?;
    let (custody_times, _) =
        bench_query::measure_access_history(&mut ledger, q.customers, requests)?;
    drop(ledger);
    let (c50, c99, _) = bench_query::percentiles(custody_times);
    let (_, g50, g99) = pgbench(&pg, &q, 1, &["-t", &requests.to_string()])?;
    let (tps, t50, t99) = pgbench(
        &pg,
        &q,
        q.wrk_connections.max(1),
        &["-T", &q.wrk_seconds.max(1).to_string()],
    )?;
    println!();
    println!("| access history, newest 100 of a random customer | requests/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    println!(
        "| PostgreSQL, pgbench, 1 client, {requests} queries (baseline) | | {g50:.3} | {g99:.3} |"
    );
    println!(
        "| Custody in process (no HTTP, read not recorded), {requests} requests | | {c50:.3} | {c99:.3} |"
    );
    println!(
        "| PostgreSQL, pgbench -c{} -j2 -T{} | {tps:.0} | {t50:.3} | {t99:.3} |",
        q.wrk_connections, q.wrk_seconds
    );
    drop(pg);
    if !q.no_http {
        bench_query::http_load(&q, &ledger_dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(events: u64, customers: u32) -> QueryBench {
        QueryBench {
            events,
            customers,
            requests: 1,
            batch: 1,
            dir: PathBuf::new(),
            wrk_seconds: 1,
            wrk_connections: 1,
            no_http: true,
        }
    }

    #[test]
    fn copy_rows_chain_every_event_in_batches() {
        let batches = copy_rows(&q(COPY_BATCH as u64 + 5, 3));
        assert_eq!(batches.len(), 2);
        let text: String = batches
            .iter()
            .map(|b| String::from_utf8(b.clone()).unwrap())
            .collect();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), COPY_BATCH + 5);
        assert!(rows.iter().all(|r| r.len() == 10), "ten columns per row");
        for (i, pair) in rows.windows(2).enumerate() {
            assert_eq!(pair[0][0], i.to_string());
            // Each row's prev_hash is the row before's entry_hash.
            assert_eq!(pair[1][7], pair[0][8]);
        }
        // Profiles have no actor: NULL in COPY's text format.
        assert_eq!(rows[0][5], "\\N");
        assert_eq!(rows[0][7], format!("\\\\x{}", hex::encode([0u8; 32])));
    }

    #[test]
    fn pgbench_log_latencies_are_read_in_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String = (1..=100)
            .map(|i| format!("0 {i} {} 0 1733000000 0\n", i * 1000))
            .collect();
        std::fs::write(dir.path().join("tx.123.0"), lines).unwrap();
        std::fs::write(dir.path().join("other"), "0 1 999999999 0 0 0\n").unwrap();
        let (p50, p99, n) = pgbench_latencies(dir.path(), "tx").unwrap();
        assert_eq!((p50, p99, n), (50.0, 99.0, 100));
    }
}
