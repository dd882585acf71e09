//! `custody emit`: JSON lines in, protobuf out, to Kafka (key = customer id)
//! or to a Custody server's `POST /v1/events`. Every event is validated
//! before anything is sent; a failed delivery is an error naming the event.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};
use custody_ingest::{parse_external, Arrival, Format};
use custody_proto::Event;

pub fn run(
    kafka: Option<&str>,
    topic: &str,
    http: Option<&str>,
    token: Option<&str>,
    batch: usize,
    file: &Path,
) -> Result<()> {
    let reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    let mut events: Vec<Event> = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        // Checked as the receiving end will check it (a forged report read
        // is refused here rather than quarantined there); the clock skew
        // is judged by the receiver, against its arrival time.
        let mut accepted = parse_external(Format::Json, line.as_bytes(), &Arrival::now(None))
            .map_err(|e| anyhow::anyhow!("{} line {}: {}", file.display(), i + 1, e.message))?;
        events.push(accepted.remove(0).event);
    }
    let batch = batch.max(1);
    match (kafka, http) {
        (Some(brokers), None) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let sent = runtime.block_on(async {
                let emitter = custody_ingest::kafka::Emitter::new(brokers, topic)?;
                let mut sent = 0;
                for chunk in events.chunks(batch.max(10_000)) {
                    sent += emitter.send(chunk).await?;
                }
                emitter.flush()?;
                Ok::<_, custody_ingest::kafka::KafkaError>(sent)
            })?;
            eprintln!(
                "emitted {} events ({sent} records) to {topic} on {brokers}",
                events.len()
            );
        }
        (None, Some(url)) => {
            let endpoint = format!("{}/v1/events", url.trim_end_matches('/'));
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut folded = 0u64;
            for chunk in events.chunks(batch) {
                let body: String = chunk
                    .iter()
                    .map(|e| custody_proto::event_to_json(e) + "\n")
                    .collect();
                let mut req = agent
                    .post(&endpoint)
                    .header("Content-Type", "application/x-ndjson");
                if let Some(t) = token {
                    req = req.header("Authorization", &format!("Bearer {t}"));
                }
                let mut resp = req
                    .send(body.as_bytes())
                    .with_context(|| format!("POST {endpoint}"))?;
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                if status == 401 && token.is_none() {
                    bail!(
                        "POST {endpoint} answered 401: the ledger has tokens; pass an emitter \
                         token with --token or CUSTODY_TOKEN ({text})"
                    );
                }
                if status != 200 {
                    bail!("POST {endpoint} answered {status}: {text}");
                }
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                folded += v["folded"].as_u64().unwrap_or(0);
            }
            eprintln!(
                "emitted {} events to {endpoint}: {folded} folded",
                events.len()
            );
        }
        _ => bail!("say where to emit: --kafka BROKERS [--topic TOPIC] or --http URL"),
    }
    Ok(())
}
