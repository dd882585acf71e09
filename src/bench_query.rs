//! `custody bench --query`: report latency on a large ledger (design.md §8:
//! one customer's access history among 10M events under 5 ms p99, a
//! disclosure report under 50 ms), measured in-process through the same
//! reading code and builders the HTTP handlers use, then requests/s of the
//! access-history endpoint under `wrk` load from a second process.
//!
//! The ledger is generated and folded in chunks (never the whole workload
//! in memory) and kept in `DIR/ledger`; a later run with the same
//! `--events`/`--customers` reuses it, so latency can be re-measured (or
//! profiled) without folding 10M events again.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use custody_ledger::Ledger;
use custody_proto::v1::{
    Actor, CollectionMeans, CustomerProfileSet, DataAccessed, DataCategory, EntityKind, Purpose,
    Role,
};
use custody_proto::{timestamp_from_ms, Event, Kind};
use custody_query::auth::{self, Grant};
use custody_query::proofs::ProofParams;
use custody_query::source::produce;
use custody_testkit::demo::Rng;
use custody_verify::reports::access_history::DEFAULT_LIMIT;
use custody_verify::reports::{
    AccessHistoryParams, AccessHistoryReport, Audience, CustomerParams, Disclosure, Period,
};

/// Parameters of the query benchmark (flags of `custody bench --query`).
pub struct QueryBench {
    pub events: u64,
    pub customers: u32,
    pub requests: usize,
    pub batch: usize,
    pub dir: PathBuf,
    pub wrk_seconds: u32,
    pub wrk_connections: u32,
    pub no_http: bool,
}

/// 2026-01-05T09:00:00Z, the demo's start: one event per second from here.
const START_MS: i64 = 1_767_603_600_000;

fn customer_id(n: u64) -> String {
    format!("cust-{n:06}")
}

/// Support staff of the workload: (id, role, employer, office = location).
const STAFF: &[(&str, Role, &str, &str)] = &[
    (
        "eng-ana.us",
        Role::SupportEngineer,
        "Support Org Inc.",
        "US",
    ),
    (
        "eng-bram.ie",
        Role::SupportEngineer,
        "Support Org Ireland Ltd.",
        "IE",
    ),
    (
        "eng-dana.de",
        Role::SupportEngineer,
        "Support Org GmbH",
        "DE",
    ),
    (
        "esc-fay.us",
        Role::EscalationEngineer,
        "Support Org Inc.",
        "US",
    ),
    (
        "esc-gus.ie",
        Role::EscalationEngineer,
        "Support Org Ireland Ltd.",
        "IE",
    ),
];

/// Purposes with the categories the use chart allows for them.
const USES: &[(Purpose, &[DataCategory])] = &[
    (
        Purpose::ProvidingSupport,
        &[DataCategory::Contact, DataCategory::Customer],
    ),
    (Purpose::ProvidingSupport, &[DataCategory::Customer]),
    (
        Purpose::ImprovingSupport,
        &[DataCategory::Contact, DataCategory::Customer],
    ),
    (Purpose::Communications, &[DataCategory::Contact]),
];

/// Event `i` of the workload: the first `customers` events set each
/// customer's profile; the rest are data accesses of uniformly random
/// customers, one second apart.
pub(crate) fn event(i: u64, customers: u64, rng: &mut Rng) -> Event {
    let at = START_MS + i as i64 * 1000;
    if i < customers {
        let eea = i.is_multiple_of(3);
        return Event {
            event_id: format!("q-{i:09}"),
            customer_id: customer_id(i),
            occurred_at: Some(timestamp_from_ms(at)),
            service: "crm".into(),
            case_id: String::new(),
            actor: None,
            kind: Some(Kind::CustomerProfileSet(CustomerProfileSet {
                support_plan: if eea { "premier-eea" } else { "premier" }.into(),
                eea_storage_only: eea,
                home_country: if eea { "DE" } else { "US" }.into(),
                display_name: format!("Customer {i}"),
            })),
        };
    }
    let c = rng.below(customers);
    let (id, role, employer, country) = STAFF[rng.below(STAFF.len() as u64) as usize];
    let (purpose, categories) = USES[rng.below(USES.len() as u64) as usize];
    Event {
        event_id: format!("q-{i:09}"),
        customer_id: customer_id(c),
        occurred_at: Some(timestamp_from_ms(at)),
        service: "case-tool".into(),
        case_id: format!("case-{c}-{}", rng.below(4)),
        actor: Some(Actor {
            id: id.into(),
            role: role as i32,
            entity_kind: EntityKind::Organisation as i32,
            entity_name: employer.into(),
            office_country: country.into(),
            location_country: country.into(),
        }),
        kind: Some(Kind::DataAccessed(DataAccessed {
            purpose: purpose as i32,
            categories: categories.iter().map(|c| *c as i32).collect(),
            resource: format!("ticket-{}", rng.below(1_000_000)),
            justification: "working the customer's case".into(),
            means: CollectionMeans::Unspecified as i32,
        })),
    }
}

/// What the kept ledger was built from: a different workload is rebuilt.
fn marker(events: u64, customers: u32) -> String {
    // v2: ledgers with customer trees and maps (completeness).
    format!("query-bench v2 events={events} customers={customers}\n")
}

/// Generates and folds the workload chunk by chunk (memory stays at one
/// batch of events), or reuses the ledger a previous run left.
fn build_ledger(q: &QueryBench, dir: &Path) -> Result<()> {
    let marker_path = dir.join("query-bench.txt");
    let want = marker(q.events, q.customers);
    if std::fs::read_to_string(&marker_path).ok().as_deref() == Some(want.as_str()) {
        eprintln!("reusing the ledger in {} ({})", dir.display(), want.trim());
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let mut ledger = Ledger::open(dir)?;
    let customers = u64::from(q.customers.max(1));
    let total = q.events.max(customers);
    let mut rng = Rng(2026);
    let started = Instant::now();
    let mut folded = 0u64;
    let mut next = 0u64;
    let batch = q.batch.max(1) as u64;
    while next < total {
        let end = (next + batch).min(total);
        let payloads = (next..end)
            .map(|i| {
                let e = event(i, customers, &mut rng);
                (e.customer_id.clone(), prost::Message::encode_to_vec(&e))
            })
            .collect();
        let records = ledger.embedded_records(payloads);
        let s = ledger.fold_replayable(&records)?;
        anyhow::ensure!(
            s.quarantined == 0,
            "the generated workload was quarantined: {:?}",
            s.outcomes.first()
        );
        folded += s.folded;
        next = end;
        if next % 1_000_000 < batch || next == total {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "folded {next}/{total} events in {secs:.0} s ({:.0} events/s)",
                next as f64 / secs
            );
        }
    }
    ledger.checkpoint(custody_query::now_ms())?;
    let findings = ledger.store().findings(None, None, None)?.len();
    eprintln!(
        "ledger: {folded} entries of {customers} customers, {findings} findings, in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    drop(ledger);
    std::fs::write(&marker_path, want)?;
    Ok(())
}

/// p50, p99 and max of a sample, in ms.
pub(crate) fn percentiles(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let at = |q: f64| {
        let i = ((d.len() as f64 * q).ceil() as usize).saturating_sub(1);
        d.get(i).map_or(0.0, |x| x.as_secs_f64() * 1e3)
    };
    (at(0.50), at(0.99), at(1.0))
}

/// One access-history request as `GET /v1/customers/{id}/access-history`
/// serves it to an officer (default page, all time), through the same
/// pipeline: the checkpoint, [`produce`] and the JSON body. Recording the
/// read (a fold) is left out: it is the same for every report and is part
/// of the HTTP figure.
fn access_history_once(ledger: &mut Ledger, customer: &str, now: i64) -> Result<usize> {
    let params = AccessHistoryParams {
        customer: customer.to_string(),
        period: Period::default(),
        audience: Audience::Officer,
        limit: DEFAULT_LIMIT,
        cursor: None,
    };
    let cp = ledger.checkpoint(now)?;
    let doc =
        produce::<AccessHistoryReport>(ledger.store(), &cp, params, now, ProofParams::default())?;
    Ok(serde_json::to_vec(&doc)?.len())
}

/// One disclosure report as the handler builds it for an officer, with
/// `?proofs=true` when `proofs` (entry bytes and inclusion proofs of every
/// entry the figures rely on, at the report's checkpoint).
fn disclosure(
    ledger: &mut Ledger,
    customer: &str,
    now: i64,
    proofs: bool,
    full: bool,
) -> Result<usize> {
    let params = CustomerParams {
        customer: customer.to_string(),
        period: Period::default(),
        audience: Audience::Officer,
    };
    let cp = ledger.checkpoint(now)?;
    let pp = ProofParams {
        proofs,
        full,
        since_checkpoint: None,
    };
    let doc = produce::<Disclosure>(ledger.store(), &cp, params, now, pp)?;
    Ok(serde_json::to_vec(&doc)?.len())
}

fn disclosure_once(ledger: &mut Ledger, customer: &str, now: i64) -> Result<usize> {
    disclosure(ledger, customer, now, false, false)
}

fn disclosure_with_proofs(ledger: &mut Ledger, customer: &str, now: i64) -> Result<usize> {
    disclosure(ledger, customer, now, true, false)
}

fn disclosure_with_full_proofs(ledger: &mut Ledger, customer: &str, now: i64) -> Result<usize> {
    disclosure(ledger, customer, now, true, true)
}

/// Proof sizes and times of one customer's disclosure report with proofs
/// (the customer's copy, as a customer fetches it), checked by the offline
/// checker: a Markdown table.
fn completeness_figures(ledger: &mut Ledger, customer: &str) -> Result<String> {
    let now = custody_query::now_ms();
    let cp = ledger.checkpoint(now)?;
    let params = CustomerParams {
        customer: customer.to_string(),
        period: Period::default(),
        audience: Audience::Customer,
    };
    let pp = ProofParams {
        proofs: true,
        full: false,
        since_checkpoint: None,
    };
    let started = Instant::now();
    let doc = produce::<Disclosure>(ledger.store(), &cp, params, now, pp)?;
    let produced = started.elapsed();
    let json = serde_json::to_value(&doc)?;
    let bytes = serde_json::to_vec(&json)?.len();
    let proofs = json.get("proofs").cloned().unwrap_or_default();
    let section = serde_json::to_vec(&proofs["completeness"])?.len();
    let entries = proofs["entries"].as_array().map_or(0, Vec::len);
    let leaves: usize = proofs["completeness"]["shards"].as_array().map_or(0, |s| {
        s.iter()
            .map(|x| x["leaves"].as_array().map_or(0, Vec::len))
            .sum()
    });
    let key = ledger.store().public_key();
    let started = Instant::now();
    let outcome = custody_verify::check::verify(&json, &key, None, &[]);
    let checked = started.elapsed();
    anyhow::ensure!(
        outcome.ok(),
        "the benchmark's report does not verify:\n{}",
        outcome.render()
    );
    Ok(format!(
        "| completeness: disclosure with proofs of `{customer}` (customer's copy) | value |\n|---|---|\n\
         | entries proven / leaves committed | {entries} / {leaves} |\n\
         | document size | {:.2} MiB |\n\
         | of which the completeness section (map proofs, leaves) | {:.2} MiB |\n\
         | produce (load, build, prove) | {:.1} ms |\n\
         | verify offline (custody-verify's check, in process) | {:.1} ms |\n",
        bytes as f64 / (1 << 20) as f64,
        section as f64 / (1 << 20) as f64,
        produced.as_secs_f64() * 1000.0,
        checked.as_secs_f64() * 1000.0
    ))
}

/// One customer portal page (`GET /portal/{customer}`, the customer's
/// copy) as its handler builds it: the disclosure, residency and access
/// history reports through `produce`, then the HTML with its charts. The
/// recorded reads (three writes) are left out, as in the other rows.
fn portal_page_once(ledger: &mut Ledger, customer: &str, now: i64) -> Result<usize> {
    use custody_query::console::{portal, Viewer};
    let docs = portal::produce_portal(
        ledger.store(),
        customer,
        Period::default(),
        Audience::Customer,
        now,
    )
    .map_err(|e| anyhow::anyhow!("portal of {customer}: {}", e.message))?;
    let viewer = Viewer {
        principal: custody_query::auth::Principal {
            grant: Grant {
                role: auth::Role::Customer,
                customer: Some(customer.to_string()),
            },
            token_hash: [0; 32],
        },
        csrf: String::new(),
    };
    let html = portal::page(
        customer,
        &docs,
        &portal::AccessFilter::default(),
        0,
        &viewer,
        &Default::default(),
    );
    Ok(html.len())
}

type Request = fn(&mut Ledger, &str, i64) -> Result<usize>;

/// Times `requests` calls of `f`, each for a random customer.
fn measure(
    ledger: &mut Ledger,
    customers: u32,
    requests: usize,
    seed: u64,
    f: Request,
) -> Result<(Vec<Duration>, usize)> {
    let mut rng = Rng(seed);
    let now = custody_query::now_ms();
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for _ in 0..requests {
        let c = customer_id(rng.below(u64::from(customers.max(1))));
        let started = Instant::now();
        bytes += f(ledger, &c, now)?;
        times.push(started.elapsed());
    }
    Ok((times, bytes))
}

/// Access-history latencies of `requests` random customers, after a
/// warm-up pass over others (as [`run`] measures them).
pub(crate) fn measure_access_history(
    ledger: &mut Ledger,
    customers: u32,
    requests: usize,
) -> Result<(Vec<Duration>, usize)> {
    measure(ledger, customers, 100, 99, access_history_once)?;
    measure(ledger, customers, requests, 1, access_history_once)
}

pub(crate) fn wait_listening(addr: &str, child: &mut std::process::Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        if let Some(status) = child.try_wait()? {
            bail!("custody serve exited with {status} before listening");
        }
        if Instant::now() > deadline {
            bail!("custody serve did not listen on {addr} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// `custody serve` on the benchmark ledger, `wrk` against the
/// access-history endpoint of random customers with an officer token.
pub(crate) fn http_load(q: &QueryBench, dir: &Path) -> Result<()> {
    let wrk_ok = Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !wrk_ok {
        bail!("`wrk` is not installed: run `cargo xtask bench` (installs Debian's wrk) or pass --no-http");
    }
    let token = {
        let mut ledger = Ledger::open(dir)?;
        auth::create_token(
            &mut ledger,
            &Grant {
                role: auth::Role::Officer,
                customer: None,
            },
        )?
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().context("locating the custody binary")?;
    let mut server = Command::new(exe)
        .args(["serve", "--data"])
        .arg(dir)
        .args(["--listen", &addr])
        .env("CUSTODY_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting custody serve")?;
    let result = (|| -> Result<String> {
        wait_listening(&addr, &mut server)?;
        // Random customers per request: one hot customer would measure the
        // block cache, not the index.
        let script = dir.join("access-history.lua");
        let mut f = std::fs::File::create(&script)?;
        writeln!(
            f,
            "math.randomseed(7)\nrequest = function()\n  \
             local path = string.format(\"/v1/customers/cust-%06d/access-history\", math.random(0, {}))\n  \
             return wrk.format(\"GET\", path)\nend\n\
             response = function(status, headers, body)\n  \
             if status ~= 200 then io.stderr:write(\"status \" .. status .. \"\\n\") end\nend",
            q.customers.max(1) - 1
        )?;
        drop(f);
        let out = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{}", q.wrk_connections.max(1)),
                &format!("-d{}s", q.wrk_seconds.max(1)),
                "--latency",
                "-H",
                &format!("Authorization: Bearer {token}"),
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
        Ok(stdout)
    })();
    // SIGTERM by pid (the server leaves a checkpoint and exits 0), then reap.
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
    let stdout = result?;
    let field = |prefix: &str| {
        stdout
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "| HTTP access history, wrk -t2 -c{} -d{}s, random customers, officer token | {} requests/s | p50 {} | p99 {} |",
        q.wrk_connections,
        q.wrk_seconds,
        field("Requests/sec:"),
        field("50%"),
        field("99%"),
    );
    eprintln!("{stdout}");
    Ok(())
}

pub fn run(q: QueryBench) -> Result<()> {
    std::fs::create_dir_all(&q.dir)?;
    let dir = q.dir.join("ledger");
    build_ledger(&q, &dir)?;
    let mut ledger = Ledger::open(&dir)?;
    let entries: u64 = ledger.store().heads()?.values().map(|h| h.size).sum();
    let requests = q.requests.max(1);
    eprintln!(
        "measuring {requests} requests per report over {entries} entries, {} customers",
        q.customers
    );
    // A warm-up pass over other customers, so the first timed requests do
    // not pay for opening SST files.
    measure(&mut ledger, q.customers, 100, 99, access_history_once)?;
    let (ah, ah_bytes) = measure(&mut ledger, q.customers, requests, 1, access_history_once)?;
    let (dis, dis_bytes) = measure(&mut ledger, q.customers, requests, 2, disclosure_once)?;
    let (dip, dip_bytes) = measure(
        &mut ledger,
        q.customers,
        requests,
        3,
        disclosure_with_proofs,
    )?;
    let (dif, dif_bytes) = measure(
        &mut ledger,
        q.customers,
        requests,
        4,
        disclosure_with_full_proofs,
    )?;
    let (portal, portal_bytes) = measure(&mut ledger, q.customers, requests, 5, portal_page_once)?;
    let completeness = completeness_figures(&mut ledger, &customer_id(0))?;
    drop(ledger);

    println!("{completeness}");
    println!("| measurement | p50 ms | p99 ms | max ms | target |");
    println!("|---|---|---|---|---|");
    for (name, times, bytes, target) in [
        (
            "access history (default page of 100, officer)",
            ah,
            ah_bytes,
            "p99 < 5 ms",
        ),
        (
            "disclosure report (all time, officer)",
            dis,
            dis_bytes,
            "p99 < 50 ms",
        ),
        (
            "disclosure report with proofs (?proofs=true: entries of the customer proven by the completeness section)",
            dip,
            dip_bytes,
            "p99 < 50 ms, at most 2 MB for 10,000 entries",
        ),
        (
            "disclosure report with full proofs (?proofs=full: an inclusion proof per entry)",
            dif,
            dif_bytes,
            "",
        ),
        (
            "customer portal page (/portal/{customer}: disclosure, residency and 1,000 latest accesses produced, HTML and charts rendered; customer's copy)",
            portal,
            portal_bytes,
            "< 200 ms for a 10,000-entry customer",
        ),
    ] {
        let (p50, p99, max) = percentiles(times);
        println!(
            "| {name}, {requests} random customers, {:.1} KiB each | {p50:.3} | {p99:.3} | {max:.3} | {target} |",
            bytes as f64 / requests as f64 / 1024.0
        );
    }
    if q.no_http {
        return Ok(());
    }
    http_load(&q, &dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_are_valid_and_deterministic() {
        let mut a = Rng(1);
        let mut b = Rng(1);
        for i in 0..200 {
            let e = event(i, 10, &mut a);
            custody_proto::validate(&e).expect("valid event");
            assert_eq!(e, event(i, 10, &mut b));
        }
    }

    #[test]
    fn percentiles_pick_ranks() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let (p50, p99, max) = percentiles(d);
        assert_eq!((p50, p99, max), (50.0, 99.0, 100.0));
    }
}
