//! Kafka source (consumer) and sink (emitter), through rdkafka.
//!
//! The consumer follows Quickwit's rule: the checkpoint is committed with the
//! data it covers. Auto-commit is off; the next offset of every partition is
//! written in the same RocksDB batch as the entries folded from it, and every
//! (re)assignment positions the consumer from those stored offsets, so a
//! crash at any point neither loses nor doubles an event. Kafka partition p
//! folds into shard p.
//!
//! Partitions are assigned explicitly (all of the topic's, or a fixed list),
//! not by group rebalancing: a shard's chain lives in one node's RocksDB, so
//! moving its partition to another node would fork the ledger. Nodes scale
//! out by owning fixed partition sets; replicas fold the same partitions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use custody_ledger::{Record, SourcePosition};
use custody_proto::Event;
use prost::Message as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::folder::{Batch, FoldError, Folder, Redelivery};

/// A partition is re-read from the next offset stored with each batch.
pub const REDELIVERY: Redelivery = Redelivery::FromStoredOffsets;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("Kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Fold(#[from] FoldError),
    #[error("delivery of event {event_id} failed: {reason}")]
    Delivery { event_id: String, reason: String },
    #[error("{0}")]
    Other(String),
}

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub brokers: String,
    pub topic: String,
    pub group_id: String,
    /// Most records folded in one batch (and held in memory at once).
    pub batch_max: usize,
    /// Longest wait to fill a batch before folding what is in hand.
    pub batch_wait: Duration,
    /// Partitions this node folds; `None` = every partition of the topic
    /// (partitions added later are picked up).
    pub partitions: Option<Vec<u32>>,
    /// How far an event's `occurredAt` may be ahead of its record's
    /// timestamp (`None`: no limit); see `crate::intake::check_external`.
    pub max_skew_ms: Option<i64>,
}

impl ConsumerConfig {
    pub fn new(brokers: &str, topic: &str, group_id: &str) -> Self {
        ConsumerConfig {
            brokers: brokers.into(),
            topic: topic.into(),
            group_id: group_id.into(),
            batch_max: 5000,
            batch_wait: Duration::from_millis(50),
            partitions: None,
            max_skew_ms: Some(crate::intake::DEFAULT_MAX_SKEW_MS),
        }
    }
}

/// Runs the consumer on the calling thread until `stop` is set; the batch in
/// hand is folded before returning. Records go to `folder`, which also keeps
/// the counters; the consumer only adds the lag.
pub fn run_consumer(
    folder: Folder,
    config: ConsumerConfig,
    stop: Arc<AtomicBool>,
) -> Result<(), KafkaError> {
    let mut client = ClientConfig::new();
    // librdkafka's own debug contexts (e.g. "fetch,broker"), for operators.
    if let Ok(debug) = std::env::var("CUSTODY_KAFKA_DEBUG") {
        client.set("debug", debug);
    }
    let consumer: BaseConsumer = client
        .set("bootstrap.servers", &config.brokers)
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("partition.assignment.strategy", "range")
        // Bounded prefetch: back-pressure instead of unbounded buffering.
        .set("queued.max.messages.kbytes", "65536")
        .set("fetch.message.max.bytes", "10485760")
        .set("receive.message.max.bytes", "110000000")
        .create()?;
    let mut assigned = assign(&consumer, &folder, &config, &[])?;
    tracing::info!(brokers = %config.brokers, topic = %config.topic, partitions = ?assigned, "consuming");

    let mut last_lag = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let mut records: Vec<Record> = Vec::with_capacity(config.batch_max);
        let deadline = Instant::now() + config.batch_wait;
        while records.len() < config.batch_max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() && !records.is_empty() {
                break;
            }
            match consumer.poll(left.max(Duration::from_millis(1))) {
                Some(Ok(m)) => {
                    let timestamp_ms = match m.timestamp() {
                        Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => t,
                        Timestamp::NotAvailable => 0,
                    };
                    records.push(external_record(
                        SourcePosition {
                            topic: m.topic().to_string(),
                            partition: m.partition() as u32,
                            offset: m.offset() as u64,
                            timestamp_ms,
                        },
                        m.payload().unwrap_or_default().to_vec(),
                        config.max_skew_ms,
                    ));
                }
                Some(Err(e)) => {
                    // Broker down, partition moved...: librdkafka retries; we wait.
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
                None => {
                    if Instant::now() >= deadline {
                        break;
                    }
                }
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        if !records.is_empty() {
            let folded = folder.fold(
                REDELIVERY,
                Batch {
                    positioned: records,
                    ..Batch::default()
                },
            )?;
            report_progress(&consumer, &folded.records);
        }
        if last_lag.elapsed() > Duration::from_secs(5) {
            update_lag(&consumer, &folder, &config.topic);
            if config.partitions.is_none() {
                // Pick up partitions added to the topic since the last look.
                match assign(&consumer, &folder, &config, &assigned) {
                    Ok(now) => assigned = now,
                    Err(e) => tracing::warn!(error = %e, "cannot refresh the topic's partitions"),
                }
            }
            last_lag = Instant::now();
        }
    }
    tracing::info!("consumer stopped after folding the batch in hand");
    Ok(())
}

/// A record from the topic, decoded and validated here (so the fold does
/// not decode it again) and checked as any event from outside: a
/// `reportRead` or an event dated too far after its record's timestamp is
/// quarantined with the reason. The record's timestamp is part of its
/// source position, so a replica folding the same records decides the same.
/// A record without a timestamp is checked against this machine's clock.
fn external_record(source: SourcePosition, payload: Vec<u8>, max_skew_ms: Option<i64>) -> Record {
    let arrival = if source.timestamp_ms > 0 {
        crate::intake::Arrival {
            at_ms: source.timestamp_ms,
            max_skew_ms,
        }
    } else {
        crate::intake::Arrival::now(max_skew_ms)
    };
    match custody_ledger::fold::decode_valid(&payload) {
        Ok(event) => match crate::intake::check_external(&event, &arrival) {
            Ok(()) => Record::new(source, payload).with_event(event),
            Err((_, reason)) => {
                let mut r = Record::new(source, payload);
                r.rejected = Some(format!("invalid event: {reason}"));
                r
            }
        },
        // The fold gives the same reason when it decodes it.
        Err(_) => Record::new(source, payload),
    }
}

/// Tells the broker how far this node has folded (asynchronously, for
/// standard lag tooling). Informational only: positions come from RocksDB.
fn report_progress(consumer: &BaseConsumer, records: &[Record]) {
    let mut next: std::collections::BTreeMap<(&str, u32), u64> = Default::default();
    for r in records {
        let e = next
            .entry((r.source.topic.as_str(), r.source.partition))
            .or_default();
        *e = (*e).max(r.source.offset + 1);
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, p), n) in next {
        if tpl
            .add_partition_offset(topic, p as i32, Offset::Offset(n as i64))
            .is_err()
        {
            return;
        }
    }
    if let Err(e) = consumer.commit(&tpl, rdkafka::consumer::CommitMode::Async) {
        tracing::debug!(error = %e, "offset commit to the broker failed (informational only)");
    }
}

/// Assigns the configured partitions (or all of the topic's), each
/// positioned at the next offset stored in the ledger. Does nothing when the
/// set equals `current`. Called between batches, so nothing is in hand.
fn assign(
    consumer: &BaseConsumer,
    folder: &Folder,
    config: &ConsumerConfig,
    current: &[u32],
) -> Result<Vec<u32>, KafkaError> {
    let wanted: Vec<u32> = match &config.partitions {
        Some(list) => list.clone(),
        None => {
            let metadata = consumer.fetch_metadata(Some(&config.topic), Duration::from_secs(10))?;
            let topic = metadata
                .topics()
                .iter()
                .find(|t| t.name() == config.topic)
                .filter(|t| !t.partitions().is_empty())
                .ok_or_else(|| {
                    KafkaError::Other(format!(
                        "topic `{}` does not exist (create it first)",
                        config.topic
                    ))
                })?;
            let mut ids: Vec<u32> = topic.partitions().iter().map(|p| p.id() as u32).collect();
            ids.sort_unstable();
            ids
        }
    };
    if wanted == current {
        return Ok(wanted);
    }
    let mut tpl = TopicPartitionList::new();
    for p in &wanted {
        let next = folder.next_offset(&config.topic, *p)?;
        tpl.add_partition_offset(&config.topic, *p as i32, Offset::Offset(next as i64))?;
    }
    consumer.assign(&tpl)?;
    tracing::info!(topic = %config.topic, partitions = ?wanted, "assigned, positioned from stored offsets");
    Ok(wanted)
}

fn update_lag(consumer: &BaseConsumer, folder: &Folder, topic: &str) {
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    for e in assignment.elements() {
        let p = e.partition();
        if let Ok((_, high)) = consumer.fetch_watermarks(topic, p, Duration::from_secs(1)) {
            let next = folder.next_offset(topic, p as u32).unwrap_or(0);
            folder
                .metrics()
                .set_lag(topic, p as u32, high - next as i64);
        }
    }
}

/// Sends events to Kafka: protobuf values keyed by customer id, partitioned
/// with murmur2 like the Java client (and like the embedded path), so a
/// customer's events stay in one partition. Events with no customer (the
/// subcontractor registry) go to every partition.
pub struct Emitter {
    producer: FutureProducer,
    topic: String,
    partitions: i32,
}

impl Emitter {
    pub fn new(brokers: &str, topic: &str) -> Result<Self, KafkaError> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("partitioner", "murmur2_random")
            .set("acks", "all")
            .set("message.max.bytes", "10485760")
            .set("queue.buffering.max.ms", "5")
            .set("message.timeout.ms", "120000")
            .create()?;
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len() as i32)
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                KafkaError::Other(format!("topic `{topic}` does not exist (create it first)"))
            })?;
        Ok(Emitter {
            producer,
            topic: topic.into(),
            partitions,
        })
    }

    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Sends raw values with keys (for tests and garbage injection): the
    /// value is sent as is to `partition` (or by key when None).
    pub async fn send_raw(
        &self,
        key: &str,
        value: &[u8],
        partition: Option<i32>,
    ) -> Result<(i32, i64), KafkaError> {
        let mut rec = FutureRecord::to(&self.topic).key(key).payload(value);
        if let Some(p) = partition {
            rec = rec.partition(p);
        }
        self.producer
            .send(rec, Duration::from_secs(60))
            .await
            .map(|d| (d.partition, d.offset))
            .map_err(|(e, _)| KafkaError::Delivery {
                event_id: key.into(),
                reason: e.to_string(),
            })
    }

    /// Sends events and waits for every delivery report; the first failed
    /// delivery is returned as an error naming the event.
    pub async fn send(&self, events: &[Event]) -> Result<u64, KafkaError> {
        let encoded: Vec<Vec<u8>> = events.iter().map(|e| e.encode_to_vec()).collect();
        let pairs: Vec<(&Event, &[u8])> = events
            .iter()
            .zip(&encoded)
            .map(|(e, b)| (e, b.as_slice()))
            .collect();
        self.send_encoded(&pairs).await
    }

    /// Sends each event's given bytes as they are (for HTTP intake: exactly
    /// the protobuf received, so fields of a newer schema survive), keyed and
    /// routed by the decoded event; waits for every delivery report.
    pub async fn send_encoded(&self, events: &[(&Event, &[u8])]) -> Result<u64, KafkaError> {
        let mut pending = Vec::with_capacity(events.len());
        for &(e, buf) in events {
            let targets: Vec<Option<i32>> = if e.customer_id.is_empty() {
                (0..self.partitions).map(Some).collect()
            } else {
                vec![None]
            };
            for partition in targets {
                loop {
                    let mut rec = FutureRecord::to(&self.topic)
                        .key(&e.customer_id)
                        .payload(buf);
                    if let Some(p) = partition {
                        rec = rec.partition(p);
                    }
                    match self.producer.send_result(rec) {
                        Ok(f) => {
                            pending.push((e.event_id.clone(), f));
                            break;
                        }
                        Err((err, _)) => {
                            if matches!(
                                err,
                                rdkafka::error::KafkaError::MessageProduction(
                                    rdkafka::types::RDKafkaErrorCode::QueueFull
                                )
                            ) {
                                // Back-pressure: let librdkafka drain its queue.
                                self.producer.poll(Duration::from_millis(10));
                                tokio::time::sleep(Duration::from_millis(5)).await;
                                continue;
                            }
                            return Err(KafkaError::Delivery {
                                event_id: e.event_id.clone(),
                                reason: err.to_string(),
                            });
                        }
                    }
                }
            }
        }
        let mut sent = 0;
        for (event_id, f) in pending {
            match f.await {
                Ok(Ok(_)) => sent += 1,
                Ok(Err((err, _))) => {
                    return Err(KafkaError::Delivery {
                        event_id,
                        reason: err.to_string(),
                    })
                }
                Err(_) => {
                    return Err(KafkaError::Delivery {
                        event_id,
                        reason: "delivery report lost (producer closed)".into(),
                    })
                }
            }
        }
        Ok(sent)
    }

    pub fn flush(&self) -> Result<(), KafkaError> {
        self.producer.flush(Duration::from_secs(60))?;
        Ok(())
    }
}
