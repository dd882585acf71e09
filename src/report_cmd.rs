//! `custody report ...` and `custody token create`: the query service's
//! documents straight from a data directory, and its bearer tokens.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use custody_ledger::Ledger;
use custody_query::api::{parse_rfc3339, OutFormat};
use custody_query::auth::{self, Grant, Role};
use custody_query::proofs::ProofParams;
use custody_query::render::{self, Document};
use custody_query::source::produce;
use custody_verify::reports::access_history::{Cursor, DEFAULT_LIMIT, MAX_LIMIT};
use custody_verify::reports::findings::Filter;
use custody_verify::reports::{
    AccessHistoryParams, AccessHistoryReport, Audience, CustomerParams, Disclosure, Findings,
    LawEnforcement, LawEnforcementParams, Period, Report, Residency,
};

#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// Data directory (RocksDB in DIR/db, signing key in DIR/ledger.key).
    #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
    data: PathBuf,
    /// The customer (required for disclosure, residency and access-history).
    #[arg(long)]
    customer: Option<String>,
    /// Start of the period, RFC 3339, inclusive (default: all time).
    #[arg(long)]
    from: Option<String>,
    /// End of the period, RFC 3339, exclusive (default: all time).
    #[arg(long)]
    to: Option<String>,
    /// json | csv | html
    #[arg(long, default_value = "json")]
    format: String,
    /// Prepare the customer's copy (withholds requests under a non-disclosure
    /// order in force) instead of the officer's.
    #[arg(long)]
    customer_copy: bool,
    /// access-history: page size (1 to 1000).
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    limit: usize,
    /// access-history: the nextCursor of the previous page.
    #[arg(long)]
    cursor: Option<String>,
    /// findings: rule id.
    #[arg(long)]
    rule: Option<String>,
    /// findings: open | closed | recorded | provisional | withdrawn | pending | discharged.
    #[arg(long)]
    state: Option<String>,
    /// Add a `proofs` section (entries, inclusion proofs, checkpoint) for
    /// `custody verify-report` (JSON only).
    #[arg(long)]
    proofs: bool,
    /// With --proofs: an inclusion proof for every entry, also those the
    /// completeness section proves as leaves of the customer's tree.
    #[arg(long, requires = "proofs")]
    full_proofs: bool,
    /// Add a `consistency` section proving the report's checkpoint extends
    /// checkpoint N (JSON only).
    #[arg(long, value_name = "N")]
    since_checkpoint: Option<u64>,
}

#[derive(clap::Subcommand)]
pub enum ReportKind {
    /// Use matrix, subcontractor handoffs, law-enforcement requests, transfers, findings.
    Disclosure(ReportArgs),
    /// Storage countries over time, transfers, accessor countries, the EEA restriction.
    Residency(ReportArgs),
    /// Every access to the customer's data, newest first.
    AccessHistory(ReportArgs),
    /// Law-enforcement requests of all customers by jurisdiction, instrument, outcome.
    LawEnforcement(ReportArgs),
    /// Policy findings with their verdicts.
    Findings(ReportArgs),
}

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token; it is printed once and only its SHA-256 is stored.
    Create {
        #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
        data: PathBuf,
        /// officer | customer | emitter
        #[arg(long)]
        role: String,
        /// The customer a customer token may read.
        #[arg(long)]
        customer: Option<String>,
    },
    /// List stored tokens (JSON lines): reader id, role, customer, revoked.
    List {
        #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
        data: PathBuf,
    },
    /// Revoke a token, named by its reader id (`token-…`, from `list` or from
    /// recorded report reads) or by the token itself.
    Revoke {
        #[arg(long, env = "CUSTODY_DATA", default_value = "./data")]
        data: PathBuf,
        id: String,
    },
}

pub fn run_token(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            data,
            role,
            customer,
        } => {
            let role: Role = role.parse()?;
            // The first token may be made before anything was folded, so
            // this one may start a new ledger.
            let mut ledger = Ledger::open(&data)
                .with_context(|| format!("opening data directory {}", data.display()))?;
            let token = auth::create_token(&mut ledger, &Grant { role, customer })?;
            println!("{token}");
        }
        TokenCommand::List { data } => {
            for t in auth::list_tokens(&crate::open_reader(&data)?)? {
                println!("{}", serde_json::to_string(&t)?);
            }
        }
        TokenCommand::Revoke { data, id } => {
            let id = auth::revoke_token(&mut open(&data)?, &id)?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

fn period(a: &ReportArgs) -> Result<Period> {
    let t = |name: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                parse_rfc3339(s)
                    .map_err(|_| anyhow::anyhow!("--{name} `{s}` is not an RFC 3339 time"))
            })
            .transpose()
    };
    let p = Period {
        from_ms: t("from", &a.from)?,
        to_ms: t("to", &a.to)?,
    };
    if let (Some(f), Some(t)) = (p.from_ms, p.to_ms) {
        if f >= t {
            bail!("--to must be later than --from");
        }
    }
    Ok(p)
}

fn customer(a: &ReportArgs) -> Result<String> {
    a.customer
        .clone()
        .ok_or_else(|| anyhow::anyhow!("--customer is required for this report"))
}

/// The writer of an existing ledger: a report is recorded as a read (a
/// write), and a mistyped `--data` must not start a new ledger.
fn open(data: &Path) -> Result<Ledger> {
    Ledger::open_existing(data)
        .with_context(|| format!("opening data directory {}", data.display()))
}

/// Produces report `R` at a fresh checkpoint, prints it, then records the
/// read (after the document is out, so a failed print records nothing).
fn emit<R: Report>(
    ledger: &mut Ledger,
    params: R::Params,
    pp: ProofParams,
    format: OutFormat,
    now: i64,
) -> Result<()>
where
    R::Doc: Document,
{
    let cp = ledger.checkpoint(now)?;
    let doc = produce::<R>(ledger.store(), &cp, params, now, pp)?;
    match format {
        OutFormat::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        OutFormat::Csv => print!("{}", render::csv(&doc.report)),
        OutFormat::Html => println!("{}", render::html(&doc)),
    }
    record_cli_read(ledger, R::NAME, &R::subject(&doc.params), now)
}

/// Same documents as the HTTP endpoints, through the same pipeline. The
/// read is recorded too, as the operating-system user.
pub fn run_report(kind: ReportKind) -> Result<()> {
    let now = custody_query::now_ms();
    let (ReportKind::Disclosure(a)
    | ReportKind::Residency(a)
    | ReportKind::AccessHistory(a)
    | ReportKind::LawEnforcement(a)
    | ReportKind::Findings(a)) = &kind;
    let format = OutFormat::parse(&a.format)
        .ok_or_else(|| anyhow::anyhow!("--format must be json, csv or html"))?;
    let audience = if a.customer_copy {
        Audience::Customer
    } else {
        Audience::Officer
    };
    let period = period(a)?;
    let pp = ProofParams {
        proofs: a.proofs,
        full: a.full_proofs,
        since_checkpoint: a.since_checkpoint,
    };
    if pp != ProofParams::default() && format != OutFormat::Json {
        bail!("--proofs and --since-checkpoint need --format json");
    }
    let customer_params = |a: &ReportArgs| -> Result<CustomerParams> {
        Ok(CustomerParams {
            customer: customer(a)?,
            period,
            audience,
        })
    };
    match &kind {
        ReportKind::Disclosure(a) => {
            let p = customer_params(a)?;
            emit::<Disclosure>(&mut open(&a.data)?, p, pp, format, now)
        }
        ReportKind::Residency(a) => {
            let p = customer_params(a)?;
            emit::<Residency>(&mut open(&a.data)?, p, pp, format, now)
        }
        ReportKind::AccessHistory(a) => {
            if !(1..=MAX_LIMIT).contains(&a.limit) {
                bail!("--limit must be 1 to {MAX_LIMIT}");
            }
            let p = AccessHistoryParams {
                customer: customer(a)?,
                period,
                audience,
                limit: a.limit,
                cursor: a
                    .cursor
                    .as_deref()
                    .map(|s| s.parse::<Cursor>())
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--cursor: {e}"))?,
            };
            emit::<AccessHistoryReport>(&mut open(&a.data)?, p, pp, format, now)
        }
        ReportKind::LawEnforcement(a) => {
            let p = LawEnforcementParams { period };
            emit::<LawEnforcement>(&mut open(&a.data)?, p, pp, format, now)
        }
        ReportKind::Findings(a) => {
            let filter = Filter {
                rule: a.rule.clone(),
                customer: a.customer.clone(),
                state: a.state.clone(),
            };
            filter
                .validate()
                .map_err(|(name, message)| anyhow::anyhow!("--{name}: {message}"))?;
            emit::<Findings>(&mut open(&a.data)?, filter, pp, format, now)
        }
    }
}

/// Reading a report is itself recorded, from the CLI too: the reader is the
/// operating-system user (`cli:NAME`), acting as a compliance officer.
fn record_cli_read(ledger: &mut Ledger, report: &str, subject: &str, now: i64) -> Result<()> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let reader_name = format!("cli:{user}");
    let reader = custody_query::auth::Principal {
        grant: Grant {
            role: Role::Officer,
            customer: None,
        },
        token_hash: custody_query::auth::token_hash(&reader_name),
    };
    let mut event = custody_query::api::report_read_event(&reader, report, subject, now);
    if let Some(actor) = event.actor.as_mut() {
        actor.id = reader_name.clone();
    }
    if let Some(custody_proto::Kind::ReportRead(r)) = event.kind.as_mut() {
        r.reader = reader_name;
    }
    let records = ledger.embedded_records(vec![(
        event.customer_id.clone(),
        prost::Message::encode_to_vec(&event),
    )]);
    ledger
        .fold(&records)
        .context("recording the report read in the ledger")?;
    Ok(())
}
