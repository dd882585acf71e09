//! Counters the sources keep and `/metrics` renders in the Prometheus text
//! format. Per (topic, partition): folded, duplicates, quarantined, lag;
//! plus a fold batch latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the fold batch latency buckets.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default, Clone)]
struct PartitionCounters {
    folded: u64,
    duplicates: u64,
    quarantined: u64,
    lag: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    partitions: BTreeMap<(String, u32), PartitionCounters>,
    batch_buckets: Vec<u64>,
    batch_count: u64,
    batch_sum: f64,
    /// WAL fsyncs made for durable acknowledgements, and the logged
    /// batches they covered (group commit: many batches, one fsync).
    wal_syncs: u64,
    wal_synced_batches: u64,
}

/// Shared by the sources (writers) and the HTTP service (reader).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Counts from one fold batch for one source partition.
#[derive(Debug, Default, Clone, Copy)]
pub struct PartitionDelta {
    pub folded: u64,
    pub duplicates: u64,
    pub quarantined: u64,
}

impl Metrics {
    pub fn record_partition(&self, topic: &str, partition: u32, d: PartitionDelta) {
        if let Ok(mut m) = self.inner.lock() {
            let c = m
                .partitions
                .entry((topic.to_string(), partition))
                .or_default();
            c.folded += d.folded;
            c.duplicates += d.duplicates;
            c.quarantined += d.quarantined;
        }
    }

    pub fn set_lag(&self, topic: &str, partition: u32, lag: i64) {
        if let Ok(mut m) = self.inner.lock() {
            m.partitions
                .entry((topic.to_string(), partition))
                .or_default()
                .lag = Some(lag);
        }
    }

    /// One WAL fsync that made `batches` logged batches durable.
    pub fn record_wal_sync(&self, batches: u64) {
        if let Ok(mut m) = self.inner.lock() {
            m.wal_syncs += 1;
            m.wal_synced_batches += batches;
        }
    }

    pub fn record_batch(&self, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            if m.batch_buckets.is_empty() {
                m.batch_buckets = vec![0; BUCKETS.len()];
            }
            for (i, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    m.batch_buckets[i] += 1;
                }
            }
            m.batch_count += 1;
            m.batch_sum += seconds;
        }
    }

    /// Sums over every partition: (folded, duplicates, quarantined).
    pub fn totals(&self) -> (u64, u64, u64) {
        self.inner.lock().map_or((0, 0, 0), |m| {
            m.partitions.values().fold((0, 0, 0), |(f, d, q), c| {
                (f + c.folded, d + c.duplicates, q + c.quarantined)
            })
        })
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let series = |out: &mut String,
                      name: &str,
                      help: &str,
                      kind: &str,
                      get: &dyn Fn(&PartitionCounters) -> Option<i64>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((topic, p), c) in &m.partitions {
                if let Some(v) = get(c) {
                    let _ = writeln!(
                        out,
                        "{name}{{topic=\"{}\",partition=\"{p}\"}} {v}",
                        escape(topic)
                    );
                }
            }
        };
        series(
            &mut out,
            "custody_folded_total",
            "Events folded into the ledger.",
            "counter",
            &|c| Some(c.folded as i64),
        );
        series(
            &mut out,
            "custody_duplicates_total",
            "Deliveries of an event id already in the ledger.",
            "counter",
            &|c| Some(c.duplicates as i64),
        );
        series(
            &mut out,
            "custody_quarantined_total",
            "Records kept in quarantine (undecodable or invalid).",
            "counter",
            &|c| Some(c.quarantined as i64),
        );
        series(
            &mut out,
            "custody_consumer_lag",
            "High watermark minus the next offset to fold.",
            "gauge",
            &|c| c.lag,
        );
        let name = "custody_fold_batch_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to fold and write one batch.\n# TYPE {name} histogram"
        );
        for (i, le) in BUCKETS.iter().enumerate() {
            let v = m.batch_buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {v}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", m.batch_count);
        let _ = writeln!(out, "{name}_sum {}", m.batch_sum);
        let _ = writeln!(out, "{name}_count {}", m.batch_count);
        for (name, help, v) in [
            (
                "custody_wal_syncs_total",
                "WAL fsyncs made before acknowledging logged batches (HTTP intake).",
                m.wal_syncs,
            ),
            (
                "custody_wal_synced_batches_total",
                "Logged writes made durable by those fsyncs (group commit: several per fsync; requests waiting together share one write).",
                m.wal_synced_batches,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.record_partition(
            "events",
            2,
            PartitionDelta {
                folded: 5,
                duplicates: 1,
                quarantined: 2,
            },
        );
        m.set_lag("events", 2, 7);
        m.record_batch(0.003);
        let text = m.render();
        assert!(
            text.contains("custody_folded_total{topic=\"events\",partition=\"2\"} 5"),
            "{text}"
        );
        assert!(text.contains("custody_quarantined_total{topic=\"events\",partition=\"2\"} 2"));
        assert!(text.contains("custody_consumer_lag{topic=\"events\",partition=\"2\"} 7"));
        assert!(text.contains("custody_fold_batch_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("custody_fold_batch_seconds_count 1"));
    }
}
