//! `custody`: the one entry point. Every command is a thin shell over the
//! library crates; errors surface here through `anyhow`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use custody_ingest::import::{format_for, import_reader, ImportSummary};
use custody_ingest::kafka::ConsumerConfig;
use custody_ingest::Folder;
use custody_ingest::Format;
use custody_ledger::{verify_store, Ledger, Store, StoreError};
use custody_testkit::demo::{self, DemoParams};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod bench;
mod bench_kafka;
mod bench_pg;
mod bench_posts;
mod bench_query;
mod cosigner;
mod emit;
mod progress;
mod report_cmd;
mod witness_cmd;

#[derive(Parser)]
#[command(
    name = "custody",
    version,
    about = "Verifiable chain-of-custody ledger for customer data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DataArg {
    /// Data directory (RocksDB in DIR/db, signing key in DIR/ledger.key).
    #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
    data: PathBuf,
}

/// How far an event from outside may be dated after its arrival.
#[derive(clap::Args, Clone, Copy)]
struct SkewArg {
    /// Refuse (HTTP 422) or quarantine (Kafka, files) an event whose
    /// occurredAt is later than its arrival (the Kafka record's timestamp;
    /// the time of the request or of the import) by more than this many
    /// seconds. 0 turns the check off.
    #[arg(
        long = "max-clock-skew",
        env = "CUSTODY_MAX_CLOCK_SKEW",
        default_value_t = 300
    )]
    max_clock_skew: u64,
}

impl SkewArg {
    fn ms(self) -> Option<i64> {
        (self.max_clock_skew > 0)
            .then(|| i64::try_from(self.max_clock_skew.saturating_mul(1000)).unwrap_or(i64::MAX))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API over the ledger; with --kafka, also fold a Kafka topic.
    Serve {
        #[command(flatten)]
        data: DataArg,
        /// Address to listen on.
        #[arg(long, env = "CUSTODY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Sign a checkpoint this often (milliseconds) when the heads moved;
        /// reports read at the latest checkpoint, so this bounds how stale
        /// a report can be. One is also signed at start and on shutdown.
        #[arg(long, env = "CUSTODY_CHECKPOINT_INTERVAL_MS", default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
        checkpoint_interval_ms: u64,
        /// Ledger name: key name of the shards' C2SP checkpoint notes and
        /// prefix of their origins (`NAME/shard/N`) at GET /v1/logs/N/checkpoint.
        /// Without it: custody.invalid/ and 16 hex digits of SHA-256(public key).
        #[arg(long, env = "CUSTODY_LOG_NAME", value_parser = parse_log_name)]
        log_name: Option<String>,
        #[command(flatten)]
        skew: SkewArg,
        #[command(flatten)]
        kafka: KafkaArgs,
        #[command(flatten)]
        witnesses: WitnessFlags,
    },
    /// Re-fold a primary's entries and cosign its checkpoints (C2SP tlog-witness) when the fold agrees.
    Witness(witness_cmd::WitnessArgs),
    /// Print a witness's cosigner key (created on first use) for `serve --witness` and `custody-verify --witness-key`.
    WitnessKey(witness_cmd::WitnessKeyArgs),
    /// Send events (JSON lines, `-` for standard input) to Kafka or to a Custody HTTP endpoint.
    Emit {
        /// Kafka bootstrap servers to send to, e.g. 127.0.0.1:9092 (values are
        /// protobuf, keyed by customer id).
        #[arg(long, env = "CUSTODY_KAFKA", conflicts_with = "http")]
        kafka: Option<String>,
        /// Topic to send to (with --kafka).
        #[arg(long, env = "CUSTODY_TOPIC", default_value = "custody.events")]
        topic: String,
        /// Base URL of a Custody server, e.g. http://127.0.0.1:8080: events go
        /// to its POST /v1/events (folded there, or forwarded to its Kafka topic).
        #[arg(long, env = "CUSTODY_HTTP")]
        http: Option<String>,
        /// Bearer token for --http (an emitter or officer token); needed once
        /// the ledger has any token.
        #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Events per request or per delivery wait.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        file: PathBuf,
    },
    /// Fold a file of events: JSON lines, or length-delimited protobuf (.pb/.bin). `-` reads standard input.
    Import {
        #[command(flatten)]
        data: DataArg,
        /// json | protobuf (default: by file extension).
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        skew: SkewArg,
        file: PathBuf,
    },
    /// Re-verify every entry, link, Merkle node, head and checkpoint signature.
    Verify {
        #[command(flatten)]
        data: DataArg,
        /// Hex Ed25519 public key the checkpoints must be signed with (default: the data directory's own key).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Generate a realistic, deterministic workload, fold it and serve it.
    Demo {
        #[command(flatten)]
        data: DataArg,
        #[arg(long, env = "CUSTODY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Number of customers.
        #[arg(long, default_value_t = 40)]
        customers: u32,
        /// Average support cases per customer.
        #[arg(long, default_value_t = 6)]
        cases: u32,
        /// Fold and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// Write the workload as JSON lines to this file instead of folding it.
        #[arg(long)]
        write: Option<PathBuf>,
        /// Send the workload through Kafka and fold it from there.
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// Signing-key commands.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Sign the current heads (if changed) and print the latest checkpoint as JSON.
    Checkpoint {
        #[command(flatten)]
        data: DataArg,
    },
    /// Records that could not be decoded or validated.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Replay the entries into a scratch store and compare every derived column family.
    Rebuild {
        #[command(flatten)]
        data: DataArg,
    },
    /// List policy findings (JSON lines): state, rule, customer, shard, seq.
    Findings {
        #[command(flatten)]
        data: DataArg,
        /// open | closed | recorded | provisional | withdrawn | pending | discharged
        /// (default: all but discharged obligations, which are no findings)
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        customer: Option<String>,
    },
    /// Disclosure, residency, access-history, law-enforcement and findings reports from a data directory.
    Report {
        #[command(subcommand)]
        kind: report_cmd::ReportKind,
    },
    /// Verify a report with proofs offline: signature, entry hashes, inclusion, figures, consistency.
    VerifyReport(custody_verify::cli::VerifyReportArgs),
    /// Bearer tokens of the query service.
    Token {
        #[command(subcommand)]
        command: report_cmd::TokenCommand,
    },
    /// Measure fold and verify throughput against raw baselines in the same process.
    Bench(bench::BenchArgs),
    /// Check that a running server answers GET /healthz (container health checks).
    Health {
        /// Base URL of the server (the image has no curl: this is its probe).
        #[arg(long, env = "CUSTODY_HTTP", default_value = "http://127.0.0.1:8080")]
        http: String,
    },
}

/// The witnesses a primary gathers cosignatures from.
#[derive(clap::Args, Clone)]
struct WitnessFlags {
    /// A witness to send every checkpoint to (C2SP add-checkpoint): its
    /// base URL and cosigner key, `URL=NAME+KEYID+BASE64` (`custody
    /// witness-key`); repeatable. Its cosignatures are added to the shards'
    /// notes and to reports.
    #[arg(long = "witness", value_parser = cosigner::parse_witness)]
    witness: Vec<cosigner::WitnessSpec>,
    /// How many witness cosignatures a report's checkpoint should carry:
    /// reports wait up to 3 s for them (default: every --witness).
    #[arg(long)]
    min_witnesses: Option<usize>,
}

#[derive(clap::Args, Clone)]
struct KafkaArgs {
    /// Kafka bootstrap servers, e.g. 127.0.0.1:9092. Without it, the embedded path is used.
    #[arg(long, env = "CUSTODY_KAFKA")]
    kafka: Option<String>,
    /// Topic of serialized events keyed by customer id.
    #[arg(long, env = "CUSTODY_TOPIC", default_value = "custody.events")]
    topic: String,
    /// Consumer group id under which folded offsets are reported to the broker (for lag
    /// tools). Partitions are not balanced by the group: each node folds the partitions
    /// given by --partitions (default: all), positioned from its own stored offsets.
    #[arg(long, env = "CUSTODY_GROUP", default_value = "custody")]
    group: String,
    /// Partitions (shards) this node folds, e.g. 0,1 (default: every partition of the topic).
    #[arg(long, env = "CUSTODY_PARTITIONS", value_delimiter = ',')]
    partitions: Option<Vec<u32>>,
}

impl WitnessFlags {
    fn none() -> Self {
        WitnessFlags {
            witness: Vec::new(),
            min_witnesses: None,
        }
    }
}

impl KafkaArgs {
    fn consumer(&self, max_skew_ms: Option<i64>) -> Option<ConsumerConfig> {
        self.kafka.as_deref().map(|b| {
            let mut c = ConsumerConfig::new(b, &self.topic, &self.group);
            c.partitions = self.partitions.clone();
            c.max_skew_ms = max_skew_ms;
            c
        })
    }
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print the ledger's Ed25519 public key (hex), or its C2SP note verifier key.
    Export {
        #[command(flatten)]
        data: DataArg,
        /// hex: the public key; vkey: the verifier key of the shards'
        /// checkpoint notes (`NAME+KEYID+BASE64`, Go's sumdb/note format);
        /// map-secrets: the customer maps' secrets, for a re-folding
        /// witness (`custody witness --map-secrets`; keep it secret).
        #[arg(long, value_enum, default_value_t = KeyFormat::Hex)]
        format: KeyFormat,
        /// Ledger name for --format vkey (as given to `custody serve --log-name`).
        #[arg(long, env = "CUSTODY_LOG_NAME", value_parser = parse_log_name)]
        log_name: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum KeyFormat {
    Hex,
    Vkey,
    MapSecrets,
}

/// `--log-name`: a valid note key name.
fn parse_log_name(name: &str) -> Result<String, String> {
    custody_verify::note::check_ledger_name(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// List quarantined records with their source position and reason (JSON lines).
    List {
        #[command(flatten)]
        data: DataArg,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
}

fn main() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CUSTODY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    // A command whose output is piped into `head` ends quietly when the
    // reader goes away, as Unix tools do. Long-running services keep Rust's
    // default (SIGPIPE ignored; a closed socket is an error to handle).
    if !matches!(
        cli.command,
        Command::Serve { .. } | Command::Demo { .. } | Command::Bench(_)
    ) {
        // SAFETY: called before any thread is started; restores the default
        // disposition of one signal.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Lets tests (tests/compose.rs) check a command line against the real
    // parser without running it.
    if std::env::var_os("CUSTODY_PARSE_ONLY").is_some() {
        println!("command line accepted");
        return;
    }
    if let Err(e) = run(cli) {
        eprintln!("{}", error_line(&e));
        std::process::exit(1);
    }
}

/// The one line printed for a failed command. A data directory held by a
/// server is answered with exactly the store's sentence; a directory that
/// is no ledger with the store's error alone (it names the path). Otherwise
/// the chain of causes, each once: a `thiserror` message that embeds its
/// source (`"RocksDB: {0}"`) would otherwise print the source twice.
fn error_line(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        match cause.downcast_ref::<StoreError>() {
            Some(locked @ StoreError::Locked { .. }) => return locked.to_string(),
            Some(missing @ StoreError::NotALedger { .. }) => return format!("error: {missing}"),
            _ => {}
        }
    }
    let mut line = String::from("error: ");
    let mut said = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if said.contains(&text) {
            continue;
        }
        if !said.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
        said.push_str(&text);
    }
    line
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            data,
            listen,
            checkpoint_interval_ms,
            log_name,
            skew,
            kafka,
            witnesses,
        } => {
            let ledger = open_ledger(&data.data)?;
            let interval = std::time::Duration::from_millis(checkpoint_interval_ms);
            if witnesses.min_witnesses.unwrap_or(0) > witnesses.witness.len() {
                bail!(
                    "--min-witnesses {} but only {} --witness given",
                    witnesses.min_witnesses.unwrap_or(0),
                    witnesses.witness.len()
                );
            }
            serve(
                ledger,
                listen,
                interval,
                kafka.consumer(skew.ms()),
                log_name,
                skew.ms(),
                witnesses,
            )
        }
        Command::Witness(args) => witness_cmd::run(args),
        Command::WitnessKey(args) => witness_cmd::print_key(args),
        Command::Emit {
            kafka,
            topic,
            http,
            token,
            batch,
            file,
        } => emit::run(
            kafka.as_deref(),
            &topic,
            http.as_deref(),
            token.as_deref(),
            batch,
            &file,
        ),
        Command::Import {
            data,
            format,
            skew,
            file,
        } => {
            let format = match format.as_deref() {
                None => format_for(&file),
                Some("json") | Some("jsonl") => Format::Json,
                Some("protobuf") | Some("pb") => Format::ProtobufDelimited,
                Some(other) => bail!("unknown --format `{other}` (json or protobuf)"),
            };
            let folder = Folder::open(open_ledger(&data.data)?);
            let started = Instant::now();
            let s = import_with_progress(&folder, &file, format, skew.ms())?;
            let elapsed = started.elapsed();
            let cp = folder.lock()?.checkpoint(custody_query::now_ms())?;
            println!("{}", serde_json::to_string(&s)?);
            eprintln!(
                "imported {}: {} read, {} folded, {} duplicates, {} quarantined in {} ({}); checkpoint {}",
                file.display(),
                s.read,
                s.folded,
                s.duplicates,
                s.quarantined,
                progress::human_duration(elapsed),
                progress::human_rate(s.read, elapsed, "events"),
                cp.number
            );
            Ok(())
        }
        Command::Verify { data, public_key } => verify(&data.data, public_key.as_deref()),
        Command::Demo {
            data,
            listen,
            customers,
            cases,
            no_serve,
            write,
            kafka,
        } => {
            let params = DemoParams {
                customers,
                cases_per_customer: cases,
                ..DemoParams::default()
            };
            let events = demo::generate(params);
            if let Some(path) = write {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?,
                );
                for e in &events {
                    use std::io::Write;
                    writeln!(out, "{}", custody_proto::event_to_json(e))?;
                }
                eprintln!("wrote {} events to {}", events.len(), path.display());
                return Ok(());
            }
            if let Some(brokers) = &kafka.kafka {
                let runtime = tokio::runtime::Runtime::new()?;
                let sent = runtime.block_on(async {
                    let emitter = custody_ingest::kafka::Emitter::new(brokers, &kafka.topic)?;
                    emitter.send(&events).await
                })?;
                eprintln!(
                    "demo: sent {sent} records ({} events) to {} on {brokers}",
                    events.len(),
                    kafka.topic
                );
                if no_serve {
                    return Ok(());
                }
                print_urls(&data.data, listen);
                return serve(
                    open_ledger(&data.data)?,
                    listen,
                    custody_query::checkpoints::DEFAULT_INTERVAL,
                    kafka.consumer(Some(custody_ingest::DEFAULT_MAX_SKEW_MS)),
                    None,
                    Some(custody_ingest::DEFAULT_MAX_SKEW_MS),
                    WitnessFlags::none(),
                );
            }
            let mut ledger = open_ledger(&data.data)?;
            let started = Instant::now();
            let mut folded = 0;
            let mut duplicates = 0;
            for chunk in events.chunks(4096) {
                let records = ledger.embedded_records(
                    chunk
                        .iter()
                        .map(|e| (e.customer_id.clone(), prost::Message::encode_to_vec(e)))
                        .collect(),
                );
                let s = ledger.fold(&records)?;
                folded += s.folded;
                duplicates += s.duplicates;
            }
            let cp = ledger.checkpoint(custody_query::now_ms())?;
            let open = ledger.store().findings(Some(b'o'), None, None)?.len();
            let recorded = ledger.store().findings(Some(b'r'), None, None)?.len();
            let closed = ledger.store().findings(Some(b'c'), None, None)?.len();
            eprintln!(
                "demo: {} events generated, {folded} folded ({duplicates} already there) in {:.2?}; \
                 findings: {recorded} breaches, {open} open, {closed} closed; checkpoint {}",
                events.len(),
                started.elapsed(),
                cp.number
            );
            if no_serve {
                return Ok(());
            }
            print_urls(&data.data, listen);
            demo_tokens(&mut ledger, listen)?;
            serve(
                ledger,
                listen,
                custody_query::checkpoints::DEFAULT_INTERVAL,
                None,
                None,
                Some(custody_ingest::DEFAULT_MAX_SKEW_MS),
                WitnessFlags::none(),
            )
        }
        Command::Key {
            command:
                KeyCommand::Export {
                    data,
                    format,
                    log_name,
                },
        } => {
            let store = open_reader(&data.data)?;
            let key = store.public_key();
            match format {
                KeyFormat::Hex => println!("{}", hex::encode(key.as_bytes())),
                KeyFormat::Vkey => {
                    use custody_verify::note;
                    let name = log_name.unwrap_or_else(|| note::default_ledger_name(&key));
                    println!("{}", note::VerifierKey::ed25519(&name, &key)?);
                }
                KeyFormat::MapSecrets => print!(
                    "{}",
                    custody_verify::completeness::map_secrets_line(&store.signing_key().to_bytes())
                ),
            }
            Ok(())
        }
        Command::Checkpoint { data } => {
            let mut ledger = Ledger::open_existing(&data.data)
                .with_context(|| format!("opening data directory {}", data.data.display()))?;
            let cp = ledger.checkpoint(custody_query::now_ms())?;
            println!("{}", serde_json::to_string_pretty(&cp)?);
            Ok(())
        }
        Command::Quarantine {
            command: QuarantineCommand::List { data, limit },
        } => {
            let store = open_reader(&data.data)?;
            for q in store.quarantine(limit)? {
                println!("{}", quarantine_line(&q)?);
            }
            Ok(())
        }
        Command::Bench(args) => bench::run(args),
        Command::Health { http } => health(&http),
        Command::Report { kind } => report_cmd::run_report(kind),
        Command::Token { command } => report_cmd::run_token(command),
        Command::VerifyReport(args) => custody_verify::cli::run(args),
        Command::Rebuild { data } => {
            // Only reads the ledger; the replay goes to a scratch store.
            let store = open_reader(&data.data)?;
            let scratch = data.data.join("rebuild-scratch");
            let total: u64 = store.heads()?.values().map(|h| h.size).sum();
            let bar = progress::bar(
                Some(total),
                "{msg:>10} {wide_bar} {human_pos}/{human_len} entries ({rate}, ETA {eta})",
            );
            bar.set_message("replaying");
            let started = Instant::now();
            let report = custody_ledger::rebuild_and_compare_with(&store, &scratch, |p| match p {
                custody_ledger::RebuildProgress::Replayed { entries, .. } => {
                    bar.set_position(entries)
                }
                custody_ledger::RebuildProgress::Comparing { cf } => {
                    bar.set_message(format!("comparing {cf}"))
                }
            })?;
            bar.finish_and_clear();
            let elapsed = started.elapsed();
            println!(
                "replayed {} entries and {} quarantined records and compared them in {} ({})",
                report.entries_replayed,
                report.quarantined_replayed,
                progress::human_duration(elapsed),
                progress::human_rate(report.entries_replayed, elapsed, "entries"),
            );
            for c in &report.comparisons {
                match &c.first_difference {
                    None => println!("{:<12} {:>9} keys identical", c.cf, c.keys),
                    Some(k) => println!(
                        "{:<12} {:>9} keys, {} differ (first at key {k})",
                        c.cf, c.keys, c.differing
                    ),
                }
            }
            if report.identical() {
                println!("OK: state, verdicts, indexes and Merkle nodes are reproduced from the entries alone");
                Ok(())
            } else {
                bail!("rebuilt store differs from the stored one")
            }
        }
        Command::Findings {
            data,
            state,
            rule,
            customer,
        } => {
            let filter = custody_verify::reports::findings::Filter {
                rule,
                customer,
                state,
            };
            if let Err((param, why)) = filter.validate() {
                bail!("--{param}: {why}");
            }
            let store = open_reader(&data.data)?;
            let view = custody_query::source::StoreView::latest(&store)?;
            let rows = custody_verify::reports::ReadView::finding_items(&view, &filter)
                .map_err(|e| anyhow::anyhow!("reading the findings: {e}"))?;
            for (f, _) in rows {
                println!(
                    "{}",
                    serde_json::json!({"state": f.state_name(), "rule": f.rule, "customer": f.customer, "shard": f.shard, "seq": f.seq})
                );
            }
            Ok(())
        }
    }
}

fn print_urls(data: &Path, listen: SocketAddr) {
    println!("Custody demo ledger in {}", data.display());
    println!("  http://{listen}/                 index");
    println!("  http://{listen}/v1/checkpoint    signed checkpoint");
    println!("  http://{listen}/v1/public-key    ledger public key");
    println!("  http://{listen}/metrics          Prometheus metrics");
    println!(
        "  {} verify --data {}        re-verify everything",
        self_command(),
        data.display()
    );
}

/// How to call this binary again in the commands printed for the user:
/// `custody` when that is what PATH finds, else this binary's path (after
/// `cargo xtask demo` it is in the target directory, on no PATH).
fn self_command() -> String {
    let exe = std::env::current_exe().and_then(std::fs::canonicalize);
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::canonicalize(dir.join("custody"))
                .is_ok_and(|found| exe.as_ref().is_ok_and(|exe| *exe == found))
        })
    });
    match exe {
        Ok(exe) if !on_path => exe.display().to_string(),
        _ => "custody".into(),
    }
}

/// On a demo ledger without tokens, creates an officer, a customer and an
/// emitter token and prints how to use them (reports always need a token).
fn demo_tokens(ledger: &mut Ledger, listen: SocketAddr) -> Result<()> {
    use custody_query::auth::{any_tokens, create_token, Grant, Role};
    if any_tokens(ledger.store())? {
        println!("  tokens exist already; create more with `custody token create`");
        return Ok(());
    }
    let customer = "cust-00001";
    let officer = create_token(
        ledger,
        &Grant {
            role: Role::Officer,
            customer: None,
        },
    )?;
    let own = create_token(
        ledger,
        &Grant {
            role: Role::Customer,
            customer: Some(customer.into()),
        },
    )?;
    let emitter = create_token(
        ledger,
        &Grant {
            role: Role::Emitter,
            customer: None,
        },
    )?;
    println!("Demo tokens (shown once; only their hashes are stored):");
    println!("  officer:             {officer}");
    println!("  customer {customer}: {own}");
    println!("  emitter:             {emitter}");
    println!("Sign in: open http://{listen}/ in a browser and paste the officer token (findings queue, law-enforcement dashboard) or the customer token (the customer's portal).");
    println!("Try:");
    println!("  curl -H 'Authorization: Bearer {own}' 'http://{listen}/v1/customers/{customer}/reports/disclosure?format=html'");
    println!(
        "  curl -H 'Authorization: Bearer {officer}' 'http://{listen}/v1/reports/law-enforcement'"
    );
    println!(
        "  curl -H 'Authorization: Bearer {officer}' 'http://{listen}/v1/findings?state=open'"
    );
    Ok(())
}

/// The writer, creating the directory and key if needed: for the commands
/// that may start a ledger (`serve`, `import`, `demo`).
fn open_ledger(dir: &Path) -> Result<Ledger> {
    Ledger::open(dir).with_context(|| format!("opening data directory {}", dir.display()))
}

/// A read-only view of an existing ledger, which works while a server holds
/// the directory (see [`Store::open_read_only`]).
pub(crate) fn open_reader(dir: &Path) -> Result<Store> {
    Store::open_read_only(dir).with_context(|| format!("opening data directory {}", dir.display()))
}

fn serve(
    ledger: Ledger,
    listen: SocketAddr,
    checkpoint_interval: std::time::Duration,
    kafka: Option<ConsumerConfig>,
    log_name: Option<String>,
    max_skew_ms: Option<i64>,
    witnesses: WitnessFlags,
) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let mut state = custody_query::AppState::new(ledger);
        if let Some(name) = log_name {
            state.log_name = name;
        }
        state.max_skew_ms = max_skew_ms;
        let min = witnesses.min_witnesses.unwrap_or(witnesses.witness.len());
        state.cosignatures = Arc::new(custody_query::witness::Cosignatures::new(
            witnesses.witness.iter().map(|w| w.key.clone()).collect(),
            min,
        ));
        let cosigners_stop = Arc::new(AtomicBool::new(false));
        let mut cosigners = Vec::new();
        for spec in witnesses.witness {
            cosigners.push(cosigner::start(
                spec,
                state.reader.clone(),
                state.log_name.clone(),
                state.cosignatures.clone(),
                cosigners_stop.clone(),
            )?);
        }
        let checkpointer = custody_query::checkpoints::Checkpointer::start(
            state.ledger.clone(),
            checkpoint_interval,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let mut consumer = None;
        // The server stops when the consumer stops (an error it cannot retry).
        let consumer_done = Arc::new(tokio::sync::Notify::new());
        if let Some(config) = kafka {
            let emitter = custody_ingest::kafka::Emitter::new(&config.brokers, &config.topic)
                .with_context(|| format!("connecting to Kafka at {}", config.brokers))?;
            state.emitter = Some(Arc::new(emitter));
            let (folder, stop) = (state.folder(), stop.clone());
            let done = consumer_done.clone();
            consumer = Some(std::thread::spawn(move || {
                let result = custody_ingest::kafka::run_consumer(folder, config, stop);
                if let Err(e) = &result {
                    tracing::error!(error = %e, "Kafka consumer stopped");
                }
                done.notify_one();
                result
            }));
        }
        let app = custody_query::router(state.clone());
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        tracing::info!(%listen, "serving");
        let watch = consumer_done.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = shutdown_signal() => {},
                    _ = watch.notified() => {},
                }
            })
            .await?;
        stop.store(true, Ordering::SeqCst);
        if let Some(handle) = consumer {
            match tokio::task::spawn_blocking(move || handle.join()).await? {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(anyhow::Error::new(e).context("Kafka consumer failed")),
                Err(_) => bail!("Kafka consumer thread panicked"),
            }
        }
        // Leave a checkpoint of what was folded before exiting.
        tokio::task::spawn_blocking(move || checkpointer.stop()).await?;
        cosigners_stop.store(true, Ordering::SeqCst);
        for c in cosigners {
            let _ = tokio::task::spawn_blocking(move || c.join()).await;
        }
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// Imports with a progress display: for a file, a bar by bytes read with
/// percentage, rate and ETA; for standard input (size unknown), a spinner
/// with the rate.
fn import_with_progress(
    folder: &Folder,
    file: &Path,
    format: Format,
    max_skew_ms: Option<i64>,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let message = |s: &ImportSummary| {
        format!(
            "{} events read ({}), {} folded, {} quarantined",
            s.read,
            progress::human_rate(s.read, started.elapsed(), "events"),
            s.folded,
            s.quarantined
        )
    };
    let (bar, reader): (_, Box<dyn std::io::Read>) = if file.as_os_str() == "-" {
        let bar = progress::bar(None, "{spinner} [{elapsed_precise}] {msg}");
        (bar, Box::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        let len = f.metadata().map(|m| m.len()).ok();
        let bar = progress::bar(
            len,
            "{wide_bar} {percent:>3}% {binary_bytes}/{binary_total_bytes} \
             ({binary_bytes_per_sec}, ETA {eta})\n{msg}",
        );
        // Position = bytes read from the file (the reader is buffered, so
        // at most a buffer ahead of the fold).
        let reader = bar.wrap_read(f);
        (bar, Box::new(reader))
    };
    let s = import_reader(folder, reader, file, format, max_skew_ms, |s| {
        bar.set_message(message(s));
    })?;
    bar.finish_and_clear();
    Ok(s)
}

/// One `quarantine list` line: the stored record's fields as before, plus
/// the payload as text when it is text (`payloadText`) and, for a file
/// import, where in the file the record was (`file`, `line` for JSON lines
/// or `record` for protobuf, and `position`, e.g. "line 12 of events.jsonl").
fn quarantine_line(q: &custody_ledger::QuarantinedRecord) -> Result<String> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Line<'a> {
        #[serde(flatten)]
        stored: &'a custody_ledger::QuarantinedRecord,
        #[serde(skip_serializing_if = "Option::is_none")]
        payload_text: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        record: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<String>,
    }
    let payload = hex::decode(&q.payload_hex).unwrap_or_default();
    let pos = custody_ingest::import::file_position(&q.topic, q.offset, &payload);
    let number = |unit| pos.as_ref().filter(|p| p.unit == unit).map(|p| p.number);
    Ok(serde_json::to_string(&Line {
        stored: q,
        payload_text: printable_text(&payload),
        line: number("line"),
        record: number("record"),
        position: pos.as_ref().map(ToString::to_string),
        file: pos.map(|p| p.file),
    })?)
}

/// The payload as text when it is UTF-8 without control characters other
/// than whitespace (binary payloads stay hex only), the line ending removed.
fn printable_text(payload: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(payload).ok()?;
    let text = text.trim_end_matches(['\n', '\r']);
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .then_some(text)
}

/// `custody health`: GET URL/healthz.
fn health(url: &str) -> Result<()> {
    let endpoint = format!("{}/healthz", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .into();
    let status = agent
        .get(&endpoint)
        .call()
        .with_context(|| format!("GET {endpoint}"))?
        .status()
        .as_u16();
    if status != 200 {
        bail!("GET {endpoint} answered {status}");
    }
    println!("ok");
    Ok(())
}

fn verify(dir: &Path, public_key: Option<&str>) -> Result<()> {
    let store = open_reader(dir)?;
    let key = public_key
        .map(custody_ledger::checkpoint::parse_public_key)
        .transpose()?;
    let total: u64 = store.heads()?.values().map(|h| h.size).sum();
    let bar = progress::bar(
        Some(total),
        "verifying {wide_bar} {human_pos}/{human_len} entries ({rate}, ETA {eta})",
    );
    let started = Instant::now();
    let report = verify_store(&store, key.as_ref(), |n| bar.set_position(n))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    for (shard, size, root) in &report.shards {
        println!("shard {shard}: {size} entries, root {}", hex::encode(root));
    }
    println!(
        "{} entries in {} shards and {} checkpoints checked in {} ({})",
        report.entries,
        report.shards.len(),
        report.checkpoints,
        progress::human_duration(elapsed),
        progress::human_rate(report.entries, elapsed, "entries"),
    );
    if report.ok() {
        println!(
            "OK: every entry hash, link, Merkle node, head and checkpoint signature verifies, \
             and the by_customer, by_event, by_request and findings indexes are what the entries give"
        );
        Ok(())
    } else {
        for p in &report.problems {
            println!("TAMPERED: {p}");
        }
        bail!("verification failed: {} problem(s)", report.problems.len())
    }
}
