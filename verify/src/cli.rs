//! `custody-verify` (and its alias `custody verify-report`): checks a report
//! with proofs offline, from the JSON file alone (the logic is [`crate::check`]). Only with
//! `--server` does it go online, to fetch consistency proofs against a
//! checkpoint saved earlier; those proofs are verified like any other.

use std::path::{Path, PathBuf};

use crate::check::{consistency_needed, verify_with_previous};
use crate::checkpoint::parse_public_key;
use crate::proofs::ShardConsistency;
use crate::Checkpoint;
use anyhow::{bail, Context, Result};

#[derive(clap::Parser, Debug)]
#[command(
    name = "custody-verify",
    version,
    about = "Checks a Custody report with proofs offline: signature, entry hashes, inclusion, figures, consistency"
)]
pub struct VerifyReportArgs {
    /// The report (JSON with a `proofs` section: `?proofs=true` or `custody report --proofs`).
    file: PathBuf,
    /// The ledger's Ed25519 public key: hex, or a file holding it
    /// (`custody key export`, `GET /v1/public-key`).
    #[arg(long)]
    public_key: String,
    /// A checkpoint JSON saved earlier (`GET /v1/checkpoint`): the report's
    /// checkpoint must extend it.
    #[arg(long)]
    previous_checkpoint: Option<PathBuf>,
    /// A report of the same customer kept from an earlier checkpoint: its
    /// checkpoint is the saved one (unless --previous-checkpoint is given),
    /// and the entries withheld then and released since (an expired
    /// non-disclosure order) are checked against its commitment (request the
    /// new report with `?since_checkpoint=` its checkpoint number).
    #[arg(long)]
    previous_report: Option<PathBuf>,
    /// Fetch the consistency proofs for --previous-checkpoint from this
    /// Custody server (when the report has no `consistency` section from it).
    #[arg(long)]
    server: Option<String>,
    /// Bearer token for --server (any role).
    #[arg(long, env = "CUSTODY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A witness's cosigner key (`NAME+KEYID+BASE64`, C2SP cosignature/v1;
    /// `custody witness-key` prints it); repeatable. The report's
    /// checkpoint must be cosigned by --min-witnesses of them in every shard.
    #[arg(long = "witness-key")]
    witness_keys: Vec<String>,
    /// How many of the --witness-key witnesses must have cosigned every
    /// shard's checkpoint (default: all of them).
    #[arg(long)]
    min_witnesses: Option<usize>,
}

/// Runs the check and turns the outcome into an exit code (0 verified, 1
/// not verified or unreadable input), printing errors once.
pub fn main(a: VerifyReportArgs) -> std::process::ExitCode {
    match run(a) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custody-verify: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(a: VerifyReportArgs) -> Result<()> {
    let doc: serde_json::Value = serde_json::from_str(&read(&a.file)?)
        .with_context(|| format!("{} is not JSON", a.file.display()))?;
    // A key given as a path is read from the file.
    let key_text = if Path::new(&a.public_key).is_file() {
        read(Path::new(&a.public_key))?
    } else {
        a.public_key.clone()
    };
    let key = parse_public_key(&key_text).context("--public-key")?;
    let previous: Option<serde_json::Value> = a
        .previous_report
        .as_deref()
        .map(|p| {
            serde_json::from_str(&read(p)?).with_context(|| format!("{} is not JSON", p.display()))
        })
        .transpose()?;
    let mut saved: Option<Checkpoint> = a
        .previous_checkpoint
        .as_deref()
        .map(|p| {
            serde_json::from_str(&read(p)?)
                .with_context(|| format!("{} is not a checkpoint JSON", p.display()))
        })
        .transpose()?;
    if let (None, Some(prev)) = (&saved, &previous) {
        saved = Some(
            serde_json::from_value(prev["checkpoint"].clone())
                .context("the --previous-report has no readable `checkpoint`")?,
        );
    }
    let mut fetched = Vec::new();
    if let (Some(saved), Some(server)) = (&saved, &a.server) {
        let current: Checkpoint = serde_json::from_value(doc["checkpoint"].clone())
            .context("the report has no readable `checkpoint`")?;
        for (shard, from, to) in consistency_needed(saved, &current) {
            match fetch(server, a.token.as_deref(), shard, from, to) {
                Ok(p) => fetched.push(p),
                // Reported, then the verifier names the missing proof.
                Err(e) => eprintln!("warning: {e:#}"),
            }
        }
    }
    let witnesses = a
        .witness_keys
        .iter()
        .map(|k| k.parse::<crate::cosign::CosignerKey>())
        .collect::<Result<Vec<_>, _>>()
        .context("--witness-key")?;
    let min = a.min_witnesses.unwrap_or(witnesses.len());
    if min > witnesses.len() {
        bail!(
            "--min-witnesses {min} but only {} --witness-key given",
            witnesses.len()
        );
    }
    let mut outcome = verify_with_previous(&doc, &key, saved.as_ref(), &fetched, previous.as_ref());
    if !witnesses.is_empty() {
        outcome.checks.push(crate::witnessed::check_cosigned(
            &doc, &key, &witnesses, min,
        ));
    }
    print!("{}", outcome.render());
    if !outcome.ok() {
        bail!(
            "{} failed: {} problem(s)",
            a.file.display(),
            outcome.failures().len()
        );
    }
    Ok(())
}

fn fetch(
    server: &str,
    token: Option<&str>,
    shard: u32,
    from: u64,
    to: u64,
) -> Result<ShardConsistency> {
    let url = format!(
        "{}/v1/proofs/consistency?shard={shard}&from_size={from}&to_size={to}",
        server.trim_end_matches('/')
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(&url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.call().with_context(|| format!("GET {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading GET {url}"))?;
    if status != 200 {
        bail!("GET {url} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("GET {url}: not a consistency proof"))
}
