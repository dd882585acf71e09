//! `custody bench --posts`: durable single-event HTTP POSTs from many
//! concurrent clients (`wrk`), each answered 200 only once its batch is
//! fsynced (group commit), next to the raw fsync rate of the same disk
//! measured in the same run.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The baseline: appends of one 300-byte record to a file in `dir`, each
/// followed by `fdatasync`, as a WAL write of one event would be without
/// group commit.
fn raw_fsyncs(dir: &Path, seconds: f64) -> Result<f64> {
    let path = dir.join("fsync-baseline");
    let mut f = std::fs::File::create(&path)?;
    let record = [0x5au8; 300];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        f.write_all(&record)?;
        f.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

pub fn run(dir: &Path, seconds: u32, connections: u32) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let wrk_ok = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !wrk_ok {
        bail!("`wrk` is not installed: run `cargo xtask bench` (installs Debian's wrk)");
    }
    let baseline = raw_fsyncs(dir, 3.0)?;
    let data = dir.join("ledger");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().context("locating the custody binary")?;
    // A new ledger has no token, so intake is open: the bench measures the
    // fold and the fsync, not token checks.
    let mut server = Command::new(exe)
        .args(["serve", "--data"])
        .arg(&data)
        .args(["--listen", &addr])
        .env("CUSTODY_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting custody serve")?;
    let result = (|| -> Result<(String, String)> {
        crate::bench_query::wait_listening(&addr, &mut server)?;
        let script = dir.join("posts.lua");
        std::fs::write(
            &script,
            r#"local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"eventId":"post-%d-%d","customerId":"cust-%06d","occurredAt":"2026-01-01T00:00:00Z","service":"bench","caseId":"case-1","actor":{"id":"eng-1","role":"ROLE_SUPPORT_ENGINEER","entityKind":"ENTITY_KIND_ORGANISATION","officeCountry":"US","locationCountry":"US"},"dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}', tid, n, n % 10000)
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
end
"#,
        )?;
        let out = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{}", connections.max(1)),
                &format!("-d{}s", seconds.max(1)),
                "--latency",
                "-s",
            ])
            .arg(&script)
            .arg(format!("http://{addr}/"))
            .output()
            .context("running wrk")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!("wrk failed ({}): {stdout}{stderr}", out.status);
        }
        let errors = stderr.lines().filter(|l| l.starts_with("status ")).count();
        if errors > 0 {
            bail!(
                "{errors} responses were not 200, e.g. {:?}",
                stderr.lines().next()
            );
        }
        let metrics = ureq::get(&format!("http://{addr}/metrics"))
            .call()
            .context("GET /metrics")?
            .body_mut()
            .read_to_string()
            .context("reading /metrics")?;
        Ok((stdout, metrics))
    })();
    let _ = Command::new("kill")
        .args(["-15", &server.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if server.try_wait()?.is_none() {
        let _ = server.kill();
        let _ = server.wait();
    }
    let (stdout, metrics) = result?;
    let field = |prefix: &str| {
        stdout
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let counter = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let syncs = counter("custody_wal_syncs_total");
    let batches = counter("custody_wal_synced_batches_total");
    println!("| measurement | rate | p50 | p99 |");
    println!("|---|---|---|---|");
    println!("| raw 300-byte append + fdatasync, one at a time (baseline) | {baseline:.0}/s | | |");
    println!(
        "| single-event POST /v1/events, wrk -t2 -c{connections} -d{seconds}s, 200 after fsync | {} requests/s | {} | {} |",
        field("Requests/sec:"),
        field("50%"),
        field("99%"),
    );
    let requests: f64 = stdout
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let per = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!(
        "| group commit: {requests:.0} requests in {batches:.0} writes made durable by {syncs:.0} WAL fsyncs | {:.1} requests per write, {:.1} per fsync | | |",
        per(requests, batches),
        per(requests, syncs)
    );
    eprintln!("{stdout}");
    Ok(())
}
