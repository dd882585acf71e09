//! Checkpoints are signed on a schedule by the writer, never because
//! somebody read: a thread wakes every interval and signs when the heads
//! moved since the last checkpoint ([`custody_ledger::Ledger::checkpoint`]
//! signs nothing when they did not). Reports read at the latest checkpoint,
//! so the interval is how stale a report can be (default one second).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use custody_ledger::Ledger;

/// Default interval between checkpoints when the heads moved.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// The scheduled signer; stopping it signs a last checkpoint.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    ledger: Arc<Mutex<Ledger>>,
}

impl Checkpointer {
    /// Signs a checkpoint now (so reads have one from the start) and then
    /// every `interval` while the heads move.
    pub fn start(ledger: Arc<Mutex<Ledger>>, interval: Duration) -> Self {
        sign(&ledger);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (ledger, stop) = (ledger.clone(), stop.clone());
            std::thread::Builder::new()
                .name("checkpointer".into())
                .spawn(move || {
                    // Short sleeps so a stop is noticed quickly whatever the
                    // interval.
                    let tick = interval.min(Duration::from_millis(50));
                    let mut waited = Duration::ZERO;
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(tick);
                        waited += tick;
                        if waited >= interval {
                            waited = Duration::ZERO;
                            sign(&ledger);
                        }
                    }
                })
                .ok()
        };
        if handle.is_none() {
            tracing::error!(
                "could not start the checkpoint thread; checkpoints are signed only on shutdown"
            );
        }
        Checkpointer {
            stop,
            handle,
            ledger,
        }
    }

    /// Stops the schedule and signs what was folded last.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        sign(&self.ledger);
    }
}

fn sign(ledger: &Mutex<Ledger>) {
    let now = crate::now_ms();
    match ledger.lock() {
        Ok(mut l) => {
            if let Err(e) = l.checkpoint(now) {
                tracing::error!(error = %e, "signing a checkpoint failed");
            }
        }
        Err(_) => tracing::error!("ledger lock poisoned; no checkpoint signed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_at_start_when_heads_move_and_on_stop_and_never_otherwise() {
        let dir = tempfile::tempdir().expect("tmp");
        let ledger = Arc::new(Mutex::new(Ledger::open(dir.path()).expect("open")));
        let reader = ledger.lock().expect("lock").store().clone();
        let cp = Checkpointer::start(ledger.clone(), Duration::from_millis(20));
        let first = reader
            .latest_checkpoint()
            .expect("read")
            .expect("signed at start");
        // Nothing moved: no new checkpoint however long we wait.
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(
            reader.latest_checkpoint().expect("read").map(|c| c.number),
            Some(first.number)
        );
        // Heads move: the schedule signs them.
        {
            let mut l = ledger.lock().expect("lock");
            let event = custody_proto::event_from_json(
                r#"{"eventId":"e1","customerId":"c1","occurredAt":"2026-01-01T00:00:00Z",
                    "actor":{"id":"a","role":"ROLE_SUPPORT_ENGINEER"},
                    "dataAccessed":{"purpose":"PURPOSE_PROVIDING_SUPPORT","categories":["DATA_CATEGORY_CUSTOMER"]}}"#,
            )
            .expect("event");
            let records =
                l.embedded_records(vec![("c1".into(), prost::Message::encode_to_vec(&event))]);
            l.fold(&records).expect("fold");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let latest = reader.latest_checkpoint().expect("read").expect("some");
            if latest.number > first.number {
                assert_eq!(latest.shards.iter().map(|h| h.size).sum::<u64>(), 1);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no checkpoint signed");
            std::thread::sleep(Duration::from_millis(10));
        }
        cp.stop();
    }
}
