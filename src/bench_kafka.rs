//! `custody bench --kafka BROKERS`: events/s from the broker into the ledger
//! (the real consumer: fetch, decode, policy, chain, Merkle, indexes, one
//! RocksDB batch with the offsets), next to a consume-only client reading the
//! same topic in the same run. Rounds alternate; medians are reported.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use custody_ingest::kafka::{run_consumer, ConsumerConfig, Emitter};
use custody_ingest::Folder;
use custody_ledger::Ledger;
use custody_testkit::demo::{self, DemoParams};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 4;

pub fn run(brokers: &str, customers: u32, rounds: usize, scratch: &Path) -> Result<()> {
    let topic = format!("custody.bench.{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new()?;
    let events = demo::generate(DemoParams {
        customers,
        ..DemoParams::default()
    });
    let records = runtime.block_on(async {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .create()?;
        let results = admin
            .create_topics(
                &[NewTopic::new(
                    &topic,
                    PARTITIONS,
                    TopicReplication::Fixed(1),
                )],
                &AdminOptions::new(),
            )
            .await?;
        for r in results {
            if let Err((t, e)) = r {
                bail!("creating topic {t}: {e}");
            }
        }
        // Metadata may lag the creation by a moment.
        let mut emitter = None;
        for _ in 0..50 {
            match Emitter::new(brokers, &topic) {
                Ok(e) => {
                    emitter = Some(e);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let emitter = emitter.context("topic did not appear in metadata")?;
        let started = Instant::now();
        let mut sent = 0;
        for chunk in events.chunks(20_000) {
            sent += emitter.send(chunk).await?;
        }
        eprintln!(
            "produced {sent} records to {topic} in {:.1?}",
            started.elapsed()
        );
        Ok::<u64, anyhow::Error>(sent)
    })?;
    drop(events);

    let mut consume = Vec::new();
    let mut fold = Vec::new();
    for round in 0..rounds.max(1) {
        consume.push(consume_only(brokers, &topic, records)?);
        let dir = scratch.join(format!("kafka-fold-{round}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        fold.push(fold_from_kafka(brokers, &topic, records, &dir)?);
        std::fs::remove_dir_all(&dir)?;
        eprintln!("kafka round {} done", round + 1);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (c, f) = (median(&mut consume), median(&mut fold));
    let n = records as f64;
    println!("| measurement | median seconds | rate | ratio to baseline |");
    println!("|---|---|---|---|");
    println!("| consume-only client, {records} records, {PARTITIONS} partitions (baseline) | {c:.3} | {:.0} records/s | 1.00 |", n / c);
    println!(
        "| custody fold from Kafka, same topic | {f:.3} | {:.0} events/s | {:.2} |",
        n / f,
        c / f
    );
    Ok(())
}

/// Reads every record of the topic once, touching each value.
fn consume_only(brokers: &str, topic: &str, records: u64) -> Result<f64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "custody-bench-consume")
        .set("enable.auto.commit", "false")
        .set("queued.max.messages.kbytes", "65536")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let started = Instant::now();
    let mut seen = 0u64;
    let mut bytes = 0usize;
    while seen < records {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Ok(m)) => {
                bytes += m.payload().map_or(0, <[u8]>::len);
                seen += 1;
            }
            Some(Err(e)) => bail!("consume-only client: {e}"),
            None => bail!("consume-only client stalled at {seen}/{records}"),
        }
    }
    std::hint::black_box(bytes);
    Ok(started.elapsed().as_secs_f64())
}

/// The real consumer into a fresh ledger, timed until every record is in.
fn fold_from_kafka(brokers: &str, topic: &str, records: u64, dir: &Path) -> Result<f64> {
    let folder = Folder::open(Ledger::open(dir)?);
    let ledger = folder.ledger().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let config = ConsumerConfig::new(brokers, topic, "custody-bench-fold");
    let started = Instant::now();
    let handle = {
        let stop = stop.clone();
        std::thread::spawn(move || run_consumer(folder, config, stop))
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let folded: u64 = ledger
            .lock()
            .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?
            .heads()
            .iter()
            .map(|h| h.size)
            .sum();
        if folded >= records {
            break;
        }
        if handle.is_finished() || Instant::now() > deadline {
            stop.store(true, Ordering::SeqCst);
            bail!("fold from Kafka stopped at {folded}/{records}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    match handle.join() {
        Ok(r) => r?,
        Err(_) => bail!("consumer thread panicked"),
    }
    Ok(elapsed)
}
