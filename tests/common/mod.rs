//! Helpers for the end-to-end tests: run the real `custody` binary, talk
//! HTTP to it over a plain TCP socket. (Tampering with RocksDB directly is
//! `custody_testkit::tamper`.)
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod broker;
pub mod webdriver;

pub fn custody() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_custody"));
    c.env("CUSTODY_LOG", "warn");
    c
}

/// Runs `custody ARGS`; returns the output whatever the exit status.
pub fn run(args: &[&str]) -> Output {
    custody().args(args).output().expect("custody binary runs")
}

/// Runs `custody ARGS` and insists it succeeds.
pub fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "custody {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `custody token create --data DATA --role ROLE [--customer C]`: the new
/// bearer token.
pub fn create_token(data: &Path, role: &str, customer: Option<&str>) -> String {
    let mut args = vec!["token", "create", "--data", path_str(data), "--role", role];
    if let Some(c) = customer {
        args.extend(["--customer", c]);
    }
    let out = run_ok(&args);
    let t = out.trim().to_string();
    assert!(t.starts_with("cst_"), "not a token: {out}");
    t
}

/// Writes the default demo workload as JSON lines and returns its path.
pub fn demo_file(dir: &Path, customers: u32) -> PathBuf {
    let file = dir.join(format!("demo-{customers}.jsonl"));
    run_ok(&[
        "demo",
        "--data",
        path_str(&dir.join("unused")),
        "--customers",
        &customers.to_string(),
        "--write",
        path_str(&file),
    ]);
    file
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A `custody serve` process, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        Self::start_at(data, addr, extra)
    }

    /// Starts on a given address (a restarted node keeps its URL, e.g. the
    /// primary its witnesses mirror).
    pub fn start_at(data: &Path, addr: SocketAddr, extra: &[&str]) -> Server {
        // Reports read at the latest scheduled checkpoint: sign often so
        // tests wait little (see `settle`), unless the test says otherwise.
        let interval: &[&str] = if extra.contains(&"--checkpoint-interval-ms") {
            &[]
        } else {
            &["--checkpoint-interval-ms", "50"]
        };
        let child = custody()
            .args([
                "serve",
                "--data",
                path_str(data),
                "--listen",
                &addr.to_string(),
            ])
            .args(interval)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn custody serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "custody serve did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, addr }
    }

    /// A request. Reports read at the latest scheduled checkpoint, so before
    /// a report is read this waits until a checkpoint covers everything
    /// folded so far (as a person would see it a moment later).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let report = ["/v1/customers/", "/v1/reports/", "/v1/findings"]
            .iter()
            .any(|p| path.starts_with(p))
            || path == "/v1/checkpoint";
        if method == "GET" && report {
            self.settle();
        }
        http(self.addr, method, path, headers, body)
    }

    /// Waits (at most 10 s) until the latest checkpoint covers every entry
    /// the server has folded.
    pub fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (s1, status) = http(self.addr, "GET", "/v1/status", &[], b"");
            let (s2, cp) = http(self.addr, "GET", "/v1/checkpoint", &[], b"");
            if s1 == 200 && s2 == 200 {
                let status: serde_json::Value = serde_json::from_str(&status).expect("status");
                let cp: serde_json::Value = serde_json::from_str(&cp).expect("checkpoint");
                let signed: u64 = cp["shards"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|h| h["size"].as_u64()).sum())
                    .unwrap_or(0);
                if Some(signed) == status["entries"].as_u64() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no checkpoint covered the folded entries within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops with SIGTERM and insists on a clean exit (status 0) within 20 s:
    /// the batch in hand is finished, a checkpoint is left.
    pub fn stop(mut self) {
        unsafe_kill(self.child.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(
                    status.success(),
                    "custody serve exited with {status} on SIGTERM"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("custody serve did not exit within 20 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status();
}

/// Minimal HTTP/1.1 client: one request per connection.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Entries counted by a passing `custody verify`.
pub fn verified_entries(data: &Path) -> u64 {
    let out = run_ok(&["verify", "--data", path_str(data)]);
    assert!(out.contains("OK:"), "{out}");
    out.lines()
        .find(|l| l.contains("entries in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no entry count in {out}"))
}
