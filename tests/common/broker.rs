//! A real Kafka-protocol broker for the tests: Tansu on 127.0.0.1, a free
//! port, SQLite storage in a temp dir (so it survives restarts). `cargo xtask
//! test` installs it; a test that cannot start it fails loudly, never skips.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

/// The tansu binary: $TANSU_BIN, else `tansu` on PATH, else ~/.cargo/bin/tansu.
pub fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(out) = Command::new("which").arg("tansu").output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let p = PathBuf::from(home).join(".cargo/bin/tansu");
    assert!(
        p.exists(),
        "Tansu broker not found (TANSU_BIN, PATH, ~/.cargo/bin). Install it with \
         `cargo install tansu --locked --features dynostore,libsql` or run `cargo xtask test`."
    );
    p
}

impl Broker {
    pub fn start() -> Broker {
        let dir = tempfile::tempdir().expect("broker temp dir");
        let port = super::free_port();
        let mut b = Broker {
            child: None,
            port,
            dir,
        };
        b.spawn();
        b
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))
            .expect("broker log");
        let child = Command::new(tansu_bin())
            .args([
                "broker",
                "--kafka-listener-url",
                &url,
                "--kafka-advertised-listener-url",
                &url,
                // Tansu reads the path after sqlite:// as relative: run it
                // in the temp dir so the database lands there.
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .current_dir(self.dir.path())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the Tansu broker: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("Tansu exited at start with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "Tansu did not listen on {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops and starts the broker on the same port and storage.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts a stopped broker again on the same port and storage.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu_bin())
            .args([
                "topic",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
            ])
            .output()
            .expect("tansu topic create runs");
        assert!(
            out.status.success(),
            "creating topic {name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}
