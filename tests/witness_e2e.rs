//! Re-folding witnesses end to end, with the real binaries: a primary
//! (`custody serve --witness URL=VKEY`) and witnesses (`custody witness`)
//! that mirror its entries over HTTP with a `witness` token, re-fold them,
//! and cosign (C2SP cosignature/v1) only what their own fold re-derives.
//!
//! - a primary folding a 4-partition topic of the real broker (Tansu) and
//!   two witnesses agree on every head and customer-map root after 201,188
//!   events (`CUSTODY_WITNESS_CUSTOMERS`, default 3,700 demo customers,
//!   sets the size), and every shard's note carries both cosignatures; a
//!   report with proofs verifies with `custody-verify --witness-key` and is
//!   refused without them;
//! - a ledger rewritten with the primary's own key gets no cosignature, and
//!   both witnesses name the first rewritten entry;
//! - a rolled-back primary is refused (409 with the witness's size);
//! - a witness killed with SIGKILL catches up and cosigns again.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::broker::Broker;
use common::*;
use serde_json::Value;

/// A `custody witness` process, killed on drop.
struct Witness {
    child: Option<Child>,
    addr: SocketAddr,
    data: PathBuf,
    name: String,
    vkey: String,
}

impl Witness {
    /// Makes the witness's key (before the primary starts, which is given
    /// its verifier key).
    fn prepare(data: &Path, name: &str) -> Witness {
        let vkey = run_ok(&["witness-key", "--data", path_str(data), "--name", name])
            .trim()
            .to_string();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        Witness {
            child: None,
            addr,
            data: data.to_path_buf(),
            name: name.to_string(),
            vkey,
        }
    }

    fn flag(&self) -> String {
        format!("http://{}={}", self.addr, self.vkey)
    }

    fn start(&mut self, primary: &Server, p: &Primary) {
        self.kill9();
        let child = custody()
            .args([
                "witness",
                "--data",
                path_str(&self.data),
                "--primary",
                &format!("http://{}", primary.addr),
                "--token",
                &p.witness_token,
                "--log-key",
                &p.log_key,
                "--map-secrets",
                path_str(&p.secrets),
                "--listen",
                &self.addr.to_string(),
                "--name",
                &self.name,
                "--poll-ms",
                "50",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn custody witness");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(self.addr).is_err() {
            assert!(Instant::now() < deadline, "witness did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn status(&self) -> Value {
        let (code, body) = http(self.addr, "GET", "/v1/witness/status", &[], b"");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn metrics(&self) -> String {
        http(self.addr, "GET", "/metrics", &[], b"").1
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// What witnesses need of a primary's data directory.
struct Primary {
    data: PathBuf,
    /// Where it serves, across restarts: the URL its witnesses mirror.
    addr: SocketAddr,
    witness_token: String,
    emitter_token: String,
    officer_token: String,
    log_key: String,
    secrets: PathBuf,
}

impl Primary {
    fn create(dir: &Path) -> Primary {
        let data = dir.join("primary");
        let token = |role: &str| {
            run_ok(&["token", "create", "--data", path_str(&data), "--role", role])
                .lines()
                .find(|l| l.starts_with("cst_"))
                .unwrap_or_else(|| panic!("no token printed for {role}"))
                .trim()
                .to_string()
        };
        let witness_token = token("witness");
        let emitter_token = token("emitter");
        let officer_token = token("officer");
        let log_key = run_ok(&[
            "key",
            "export",
            "--data",
            path_str(&data),
            "--format",
            "vkey",
        ])
        .trim()
        .to_string();
        let secrets = dir.join("map-secrets.txt");
        let line = run_ok(&[
            "key",
            "export",
            "--data",
            path_str(&data),
            "--format",
            "map-secrets",
        ]);
        std::fs::write(&secrets, line).unwrap();
        Primary {
            data,
            addr: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
            witness_token,
            emitter_token,
            officer_token,
            log_key,
            secrets,
        }
    }

    fn serve(&self, witnesses: &[&Witness], extra: &[&str]) -> Server {
        let flags: Vec<String> = witnesses.iter().map(|w| w.flag()).collect();
        let mut args: Vec<&str> = Vec::new();
        for f in &flags {
            args.extend(["--witness", f.as_str()]);
        }
        args.extend(extra);
        Server::start_at(&self.data, self.addr, &args)
    }
}

fn checkpoint(server: &Server) -> Value {
    let (code, body) = http(server.addr, "GET", "/v1/checkpoint", &[], b"");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn shards(cp: &Value) -> Vec<u64> {
    cp["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["shard"].as_u64().unwrap())
        .collect()
}

/// The shard's note and the names of its signature lines.
fn note(server: &Server, shard: u64) -> (String, Vec<String>) {
    let (code, body) = http(
        server.addr,
        "GET",
        &format!("/v1/logs/{shard}/checkpoint"),
        &[],
        b"",
    );
    assert_eq!(code, 200, "{body}");
    let names = body
        .lines()
        .filter_map(|l| l.strip_prefix("\u{2014} "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    (body, names)
}

/// Waits until every shard's note at the latest checkpoint carries a
/// cosignature of each of `names`.
fn wait_cosigned(server: &Server, names: &[&str], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let cp = checkpoint(server);
        let missing: Vec<String> = shards(&cp)
            .into_iter()
            .flat_map(|s| {
                let (_, signed) = note(server, s);
                names
                    .iter()
                    .filter(|n| !signed.iter().any(|x| x == *n))
                    .map(|n| format!("shard {s}: {n}"))
                    .collect::<Vec<_>>()
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not cosigned within {timeout:?} at checkpoint {}: {missing:?}",
            cp["number"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_refused(w: &Witness, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let s = w.status();
        if !s["refusals"].as_array().unwrap().is_empty() {
            return s;
        }
        assert!(Instant::now() < deadline, "{} refused nothing: {s}", w.name);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `cosignature/v1` verifier written from c2sp.org/tlog-cosignature for
/// `signed_note` (Cloudflare's port of Go's sumdb/note), calling nothing of
/// Custody's: key id SHA-256(name || "\n" || 0x04 || key)[:4], signature
/// = 8-byte big-endian timestamp || Ed25519 over "cosignature/v1\ntime T\n"
/// and the note text.
struct SpecCosigner {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl SpecCosigner {
    fn from_vkey(vkey: &str) -> SpecCosigner {
        use base64::Engine as _;
        use sha2::Digest;
        let mut parts = vkey.splitn(3, '+');
        let name = parts.next().unwrap().to_string();
        let _id = parts.next().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(parts.next().unwrap())
            .unwrap();
        assert_eq!(raw[0], 0x04, "a cosignature/v1 key");
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().unwrap()).unwrap();
        let mut h = sha2::Sha256::new();
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update([0x04]);
        h.update(key.as_bytes());
        let d = h.finalize();
        SpecCosigner {
            id: u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
            name,
            key,
        }
    }
}

impl signed_note::Verifier for SpecCosigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let ts = u64::from_be_bytes(sig[..8].try_into().unwrap());
        let mut signed = format!("cosignature/v1\ntime {ts}\n").into_bytes();
        signed.extend_from_slice(msg);
        let s = ed25519_dalek::Signature::from_bytes(&sig[8..].try_into().unwrap());
        self.key.verify_strict(&signed, &s).is_ok()
    }
}

fn demo_lines(dir: &Path, customers: u32) -> Vec<String> {
    let file = demo_file(dir, customers);
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) -> PathBuf {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    path.to_path_buf()
}

#[test]
fn primary_and_two_witnesses_agree_over_a_four_partition_topic() {
    const TOPIC: &str = "witnessed.events";
    let broker = Broker::start();
    broker.create_topic(TOPIC, 4);
    let dir = tempfile::tempdir().unwrap();
    let p = Primary::create(dir.path());
    let mut w1 = Witness::prepare(&dir.path().join("w1"), "w1.example/witness");
    let mut w2 = Witness::prepare(&dir.path().join("w2"), "w2.example/witness");
    let customers: u32 = std::env::var("CUSTODY_WITNESS_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        // 3,700 demo customers: 201,188 events (issue 11 asks for 200,000);
        // about a minute in a debug build on two cores.
        .unwrap_or(3_700);
    let file = demo_file(dir.path(), customers);
    let events = std::fs::read_to_string(&file).unwrap().lines().count();
    run_ok(&[
        "emit",
        "--kafka",
        &broker.addr(),
        "--topic",
        TOPIC,
        path_str(&file),
    ]);
    let primary = p.serve(
        &[&w1, &w2],
        &[
            "--kafka",
            &broker.addr(),
            "--topic",
            TOPIC,
            "--checkpoint-interval-ms",
            "500",
        ],
    );
    w1.start(&primary, &p);
    w2.start(&primary, &p);
    // Everything folded (global events go to every partition).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (_, s) = http(primary.addr, "GET", "/v1/status", &[], b"");
        let s: Value = serde_json::from_str(&s).unwrap();
        if s["entries"].as_u64().unwrap() >= events as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "primary did not fold: {s}");
        std::thread::sleep(Duration::from_millis(500));
    }
    primary.settle();
    wait_cosigned(
        &primary,
        &["w1.example/witness", "w2.example/witness"],
        Duration::from_secs(300),
    );
    let cp = checkpoint(&primary);
    assert_eq!(shards(&cp), vec![0, 1, 2, 3]);
    for w in [&w1, &w2] {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = w.status();
            assert!(s["refusals"].as_array().unwrap().is_empty(), "{s}");
            if s["adoptedCheckpoint"] == cp["number"] {
                for h in cp["shards"].as_array().unwrap() {
                    let shard = h["shard"].to_string();
                    assert_eq!(s["shards"][&shard]["entries"], h["size"], "{s}");
                    assert_eq!(s["shards"][&shard]["cosignedSize"], h["size"], "{s}");
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not adopt {}: {s}",
                w.name,
                cp["number"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(w.metrics().contains("custody_witness_refusals_total 0"));
    }
    // The witness's store holds the primary's checkpoint, heads and map
    // roots, re-derived: `custody verify` of a witness directory against
    // the primary's key passes once it stops.
    let total: u64 = cp["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["size"].as_u64().unwrap())
        .sum();
    assert!(
        total >= events as u64,
        "{total} entries for {events} events"
    );
    // Every note verifies with an implementation that is not Custody's:
    // the ledger's signature and both cosignatures.
    for s in shards(&cp) {
        let (body, _) = note(&primary, s);
        let parsed = signed_note::Note::from_bytes(body.as_bytes()).unwrap();
        let (verified, unknown) = parsed
            .verify(&signed_note::VerifierList::new(vec![
                Box::new(signed_note::StandardVerifier::new(&p.log_key).unwrap()),
                Box::new(SpecCosigner::from_vkey(&w1.vkey)),
                Box::new(SpecCosigner::from_vkey(&w2.vkey)),
            ]))
            .unwrap_or_else(|e| panic!("shard {s}: {e}\n{body}"));
        assert_eq!(verified.len(), 3, "{body}");
        assert!(unknown.is_empty());
    }

    // A customer's report carries the cosigned notes: custody-verify
    // requires them.
    let customer = "cust-00005";
    let (code, report) = http(
        primary.addr,
        "GET",
        &format!("/v1/customers/{customer}/reports/disclosure?proofs=true"),
        &[("Authorization", &format!("Bearer {}", p.officer_token))],
        b"",
    );
    assert_eq!(code, 200, "{report}");
    let doc: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        doc["cosigned"].as_array().unwrap().len(),
        4,
        "{}",
        doc["cosigned"]
    );
    let report_file = dir.path().join("report.json");
    std::fs::write(&report_file, &report).unwrap();
    let public = run_ok(&["key", "export", "--data", path_str(&p.data)]);
    let verify = |file: &Path, keys: &[&str], min: Option<&str>| {
        let mut args = vec![
            "verify-report".to_string(),
            path_str(file).to_string(),
            "--public-key".into(),
            public.trim().to_string(),
        ];
        for k in keys {
            args.extend(["--witness-key".to_string(), k.to_string()]);
        }
        if let Some(m) = min {
            args.extend(["--min-witnesses".to_string(), m.to_string()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    };
    let ok = verify(&report_file, &[&w1.vkey, &w2.vkey], None);
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        ok.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("cosigned by at least 2"), "{out}");
    // A third witness that never cosigned, required: refused.
    let stranger = Witness::prepare(&dir.path().join("w3"), "w3.example/witness");
    let refused = verify(
        &report_file,
        &[&w1.vkey, &w2.vkey, &stranger.vkey],
        Some("3"),
    );
    let out = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(!refused.status.success(), "{out}");
    assert!(
        out.contains("cosigned by 2 of the 3 witnesses required"),
        "{out}"
    );
    // The same report without its cosignatures: refused.
    let mut stripped = doc.clone();
    stripped.as_object_mut().unwrap().remove("cosigned");
    let stripped_file = dir.path().join("stripped.json");
    std::fs::write(&stripped_file, serde_json::to_vec(&stripped).unwrap()).unwrap();
    let refused = verify(&stripped_file, &[&w1.vkey], None);
    let out = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(!refused.status.success(), "{out}");
    assert!(out.contains("no cosigned note"), "{out}");
    primary.stop();
}

/// The first position at which two ledgers' entries differ.
fn first_difference(a: &Path, b: &Path) -> (u32, u64) {
    let a = custody_ledger::Store::open_read_only(a).unwrap();
    let b = custody_ledger::Store::open_read_only(b).unwrap();
    for (shard, head) in a.heads().unwrap() {
        for seq in 0..head.size {
            if a.entry_bytes(shard, seq).unwrap() != b.entry_bytes(shard, seq).unwrap() {
                return (shard, seq);
            }
        }
    }
    panic!("the ledgers do not differ");
}

#[test]
fn a_ledger_rewritten_with_the_primarys_own_key_gets_no_cosignature_and_the_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = Primary::create(dir.path());
    let mut w1 = Witness::prepare(&dir.path().join("w1"), "w1.example/witness");
    let mut w2 = Witness::prepare(&dir.path().join("w2"), "w2.example/witness");
    let lines = demo_lines(dir.path(), 30);
    let file = write_lines(&dir.path().join("events.jsonl"), &lines);
    run_ok(&["import", "--data", path_str(&p.data), path_str(&file)]);
    let primary = p.serve(&[&w1, &w2], &[]);
    w1.start(&primary, &p);
    w2.start(&primary, &p);
    wait_cosigned(
        &primary,
        &["w1.example/witness", "w2.example/witness"],
        Duration::from_secs(120),
    );
    primary.stop();

    // The operator re-folds an altered copy of the events (one access made
    // to look like another case) into a new directory with the primary's
    // own key and tokens: a ledger `custody verify` accepts.
    let at = lines
        .iter()
        .position(|l| l.contains("\"dataAccessed\"") && l.contains("\"caseId\":\""))
        .expect("an access with a case");
    let mut altered = lines.clone();
    altered[at] = altered[at].replacen("\"caseId\":\"", "\"caseId\":\"rewritten-", 1);
    let forged = dir.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::copy(p.data.join("ledger.key"), forged.join("ledger.key")).unwrap();
    let altered_file = write_lines(&dir.path().join("altered.jsonl"), &altered);
    run_ok(&[
        "import",
        "--data",
        path_str(&forged),
        path_str(&altered_file),
    ]);
    {
        let from = custody_testkit::tamper::Tamper::open(&p.data).unwrap();
        let tokens = from.key_values("tokens").unwrap();
        drop(from);
        let to = custody_testkit::tamper::Tamper::open(&forged).unwrap();
        for (k, v) in tokens {
            to.put_key("tokens", &k, &v).unwrap();
        }
    }
    assert!(
        verified_entries(&forged) > 0,
        "custody verify accepts the rewrite"
    );
    let (shard, seq) = first_difference(&p.data, &forged);
    std::fs::remove_dir_all(&p.data).unwrap();
    std::fs::rename(&forged, &p.data).unwrap();

    let primary = p.serve(&[&w1, &w2], &[]);
    for w in [&w1, &w2] {
        let s = wait_refused(w, Duration::from_secs(60));
        let r = &s["refusals"][0];
        assert_eq!(r["shard"].as_u64(), Some(u64::from(shard)), "{s}");
        assert_eq!(r["seq"].as_u64(), Some(seq), "{s}");
        assert!(r["reason"].as_str().unwrap().contains("event bytes"), "{s}");
        let evidence = r["evidence"].as_str().expect("evidence kept");
        assert!(Path::new(evidence).exists(), "{evidence}");
        assert!(
            w.metrics().contains("custody_witness_refusals_total 1"),
            "{}",
            w.metrics()
        );
    }
    // The primary's notes carry no cosignature (give its cosigners time).
    std::thread::sleep(Duration::from_secs(2));
    let cp = checkpoint(&primary);
    for s in shards(&cp) {
        let (body, names) = note(&primary, s);
        assert_eq!(names.len(), 1, "shard {s} was cosigned: {body}");
    }
    // Asked directly, a witness refuses the forged note of that shard.
    let (body, _) = note(&primary, u64::from(shard));
    let size: u64 = body.lines().nth(1).unwrap().parse().unwrap();
    let cosigned = w1.status()["shards"][shard.to_string()]["cosignedSize"]
        .as_u64()
        .unwrap();
    assert_eq!(cosigned, size, "same size, other root");
    let req = format!("old {cosigned}\n\n{body}");
    let (code, answer) = http(w1.addr, "POST", "/add-checkpoint", &[], req.as_bytes());
    assert_eq!(code, 422, "{answer}");
}

#[test]
fn a_rolled_back_primary_is_refused_with_409() {
    let dir = tempfile::tempdir().unwrap();
    let p = Primary::create(dir.path());
    let mut w1 = Witness::prepare(&dir.path().join("w1"), "w1.example/witness");
    let lines = demo_lines(dir.path(), 30);
    let half = lines.len() / 2;
    let first = write_lines(&dir.path().join("a.jsonl"), &lines[..half]);
    let second = write_lines(&dir.path().join("b.jsonl"), &lines[half..]);
    run_ok(&["import", "--data", path_str(&p.data), path_str(&first)]);
    let primary = p.serve(&[&w1], &[]);
    w1.start(&primary, &p);
    wait_cosigned(&primary, &["w1.example/witness"], Duration::from_secs(120));
    primary.stop();
    let backup = dir.path().join("backup");
    copy_dir(&p.data, &backup);
    run_ok(&["import", "--data", path_str(&p.data), path_str(&second)]);
    let primary = p.serve(&[&w1], &[]);
    wait_cosigned(&primary, &["w1.example/witness"], Duration::from_secs(120));
    let before = w1.status();
    primary.stop();

    // Restored from the older copy.
    std::fs::remove_dir_all(&p.data).unwrap();
    std::fs::rename(&backup, &p.data).unwrap();
    let primary = p.serve(&[&w1], &[]);
    let cp = checkpoint(&primary);
    for s in shards(&cp) {
        let (body, names) = note(&primary, s);
        let size: u64 = body.lines().nth(1).unwrap().parse().unwrap();
        let latest = before["shards"][s.to_string()]["cosignedSize"]
            .as_u64()
            .unwrap();
        for old in [0, size] {
            let req = format!("old {old}\n\n{body}");
            let (code, answer) = http(w1.addr, "POST", "/add-checkpoint", &[], req.as_bytes());
            if latest == old {
                continue;
            }
            assert_eq!(code, 409, "shard {s} old {old}: {answer}");
            assert_eq!(answer, format!("{latest}\n"));
        }
        if latest > size {
            assert_eq!(
                names.len(),
                1,
                "the rolled-back note of shard {s} was cosigned"
            );
        }
    }
    let s = wait_refused(&w1, Duration::from_secs(60));
    assert!(
        s["refusals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("rollback"),
        "{s}"
    );
    assert!(w1.metrics().contains("custody_witness_conflicts_total"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_witness_killed_with_sigkill_catches_up_and_cosigns_again() {
    let dir = tempfile::tempdir().unwrap();
    let p = Primary::create(dir.path());
    let mut w1 = Witness::prepare(&dir.path().join("w1"), "w1.example/witness");
    let lines = demo_lines(dir.path(), 40);
    let half = lines.len() / 2;
    let first = write_lines(&dir.path().join("a.jsonl"), &lines[..half]);
    let second = write_lines(&dir.path().join("b.jsonl"), &lines[half..]);
    let primary = p.serve(&[&w1], &[]);
    let url = format!("http://{}", primary.addr);
    run_ok(&[
        "emit",
        "--http",
        &url,
        "--token",
        &p.emitter_token,
        path_str(&first),
    ]);
    w1.start(&primary, &p);
    wait_cosigned(&primary, &["w1.example/witness"], Duration::from_secs(120));
    w1.kill9();
    run_ok(&[
        "emit",
        "--http",
        &url,
        "--token",
        &p.emitter_token,
        path_str(&second),
    ]);
    primary.settle();
    let cp = checkpoint(&primary);
    let (_, names) = note(&primary, shards(&cp)[0]);
    assert_eq!(names.len(), 1, "cosigned while the witness was down");
    w1.start(&primary, &p);
    wait_cosigned(&primary, &["w1.example/witness"], Duration::from_secs(120));
    let s = w1.status();
    assert!(s["refusals"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(
        s["adoptedCheckpoint"],
        checkpoint(&primary)["number"],
        "{s}"
    );
}
