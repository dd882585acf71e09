//! `GET /v1/logs/{shard}/checkpoint` and `GET /v1/logs/{shard}/proof`
//! checked by implementations that are not Custody's own: the signed notes
//! by `signed_note` (crates.io, Cloudflare's port of Go's
//! `golang.org/x/mod/sumdb/note`, the reference the Go ecosystem and
//! transparency witnesses use), and the checkpoint body, the `tlog-proof`
//! text, the entry's leaf hash and the RFC 6962 inclusion proof by a second
//! reading of the C2SP specifications written here, which never calls
//! `custody_verify::note` or `custody_verify::merkle`. The real router over
//! a real ledger in a temp dir, driven without a socket.
//! (tests/c2sp_e2e.rs does the same with the vkey `custody key export
//! --format vkey` prints and a running `custody serve`.)

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use custody_ledger::{Ledger, Store};
use custody_query::auth::{create_token, Grant, Role};
use custody_query::AppState;
use prost::Message;
use sha2::{Digest, Sha256};
use signed_note::{Note, StandardVerifier, VerifierList};
use tower::ServiceExt;

const CUSTOMER: &str = "cust-00005";
const OTHER: &str = "cust-00001";

type Hash = [u8; 32];

struct App {
    _dir: tempfile::TempDir,
    router: Router,
    store: Store,
    officer: String,
    customer: String,
    other: String,
    emitter: String,
}

fn token(ledger: &mut Ledger, role: Role, customer: Option<&str>) -> String {
    let grant = Grant {
        role,
        customer: customer.map(str::to_string),
    };
    create_token(ledger, &grant).expect("token created")
}

fn app_named(log_name: Option<&str>) -> App {
    let dir = tempfile::tempdir().expect("tmp");
    let mut ledger =
        custody_testkit::ledger::demo_ledger(&dir.path().join("data"), 10).expect("demo ledger");
    let l = &mut ledger;
    let (officer, customer, other, emitter) = (
        token(l, Role::Officer, None),
        token(l, Role::Customer, Some(CUSTOMER)),
        token(l, Role::Customer, Some(OTHER)),
        token(l, Role::Emitter, None),
    );
    let store = ledger.store().clone();
    let mut state = AppState::new(ledger);
    if let Some(name) = log_name {
        state.log_name = name.to_string();
    }
    App {
        router: custody_query::router(state),
        _dir: dir,
        store,
        officer,
        customer,
        other,
        emitter,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    checkpoint_header: Option<String>,
    body: String,
}

impl App {
    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let header_of = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header_of("content-type").unwrap_or_default();
        let checkpoint_header = header_of("x-custody-checkpoint");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            content_type,
            checkpoint_header,
            body: String::from_utf8(body.to_vec()).expect("UTF-8 answer"),
        }
    }

    /// The ledger's public key, as a customer would pin it (hex, from
    /// `GET /v1/public-key`).
    async fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        let hex_key = self.get("/v1/public-key", None).await.body;
        let bytes: [u8; 32] = hex::decode(hex_key.trim())
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).expect("key")
    }

    /// (shard, seq) of the first entry whose event satisfies `pick`.
    fn find(&self, pick: impl Fn(&custody_proto::Event) -> bool) -> (u32, u64) {
        let cp = self.store.latest_checkpoint().unwrap().unwrap();
        for head in &cp.shards {
            for seq in 0..head.size {
                let (entry, _) = self.store.entry(head.shard, seq).unwrap().unwrap();
                let event = custody_proto::Event::decode(entry.event.as_slice()).unwrap();
                if pick(&event) {
                    return (head.shard, seq);
                }
            }
        }
        panic!("no such entry in the demo ledger");
    }

    /// The RFC 6962 leaf hash of a stored entry, recomputed from its bytes:
    /// SHA-256(0x00 || SHA-256(canonical bytes)); the stored value is the
    /// canonical bytes followed by their hash.
    fn leaf_hash(&self, shard: u32, seq: u64) -> Hash {
        let stored = self.store.entry_bytes(shard, seq).unwrap().unwrap();
        let (canonical, stored_hash) = stored.split_at(stored.len() - 32);
        let entry_hash: Hash = Sha256::digest(canonical).into();
        assert_eq!(entry_hash.as_slice(), stored_hash);
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(entry_hash);
        h.finalize().into()
    }
}

// ------------------------------------------------ the independent verifier

/// The ledger name Custody uses by default, from the specification of the
/// task: `custody.invalid/` + 16 hex of SHA-256(public key).
fn default_name(key: &ed25519_dalek::VerifyingKey) -> String {
    format!(
        "custody.invalid/{}",
        &hex::encode(Sha256::digest(key.as_bytes()))[..16]
    )
}

/// A checkpoint body as c2sp.org/tlog-checkpoint describes it.
#[derive(Debug, PartialEq)]
struct Body3 {
    origin: String,
    size: u64,
    root: Hash,
    /// The one extension line Custody writes: the shard's customer-map root.
    map_root: Hash,
}

/// Opens a signed checkpoint with `signed_note` and the vkey, then reads
/// the three lines of its text.
fn open_checkpoint(note: &str, vkey: &str) -> Result<Body3, String> {
    let verifier = StandardVerifier::new(vkey).map_err(|e| format!("vkey: {e}"))?;
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|e| format!("note: {e}"))?;
    let (verified, _unknown) = parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| format!("signature: {e}"))?;
    if verified.is_empty() {
        return Err("no verified signature".into());
    }
    let text = std::str::from_utf8(parsed.text()).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = text
        .strip_suffix('\n')
        .ok_or("text without final newline")?
        .split('\n')
        .collect();
    if lines.len() != 4 {
        return Err(format!(
            "{} lines (Custody writes one extension line, the customer-map root)",
            lines.len()
        ));
    }
    let map_root: Hash = lines[3]
        .strip_prefix("custody-customer-map ")
        .and_then(|b| BASE64.decode(b).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or("the extension line is not `custody-customer-map <base64 of 32 bytes>`")?;
    let size: u64 = lines[1].parse().map_err(|_| "size is not a number")?;
    if size.to_string() != lines[1] {
        return Err("size is not canonical decimal".into());
    }
    let root: Hash = BASE64
        .decode(lines[2])
        .map_err(|_| "root is not base64")?
        .try_into()
        .map_err(|_| "root is not 32 bytes")?;
    Ok(Body3 {
        origin: lines[0].to_string(),
        size,
        root,
        map_root,
    })
}

/// A tlog-proof as c2sp.org/tlog-proof describes it.
struct ProofText {
    index: u64,
    hashes: Vec<Hash>,
    checkpoint: String,
}

fn parse_proof(text: &str) -> Result<ProofText, String> {
    let mut lines = text.split_inclusive('\n');
    let mut next = || lines.next().ok_or("truncated proof");
    if next()? != "c2sp.org/tlog-proof@v1\n" {
        return Err("bad header".into());
    }
    let mut line = next()?;
    if line.starts_with("extra ") {
        line = next()?;
    }
    let index: u64 = line
        .strip_prefix("index ")
        .and_then(|s| s.strip_suffix('\n'))
        .ok_or("no index line")?
        .parse()
        .map_err(|_| "bad index")?;
    let mut hashes = Vec::new();
    loop {
        let line = next()?;
        if line == "\n" {
            break;
        }
        let h: Hash = BASE64
            .decode(line.trim_end_matches('\n'))
            .map_err(|_| "hash is not base64")?
            .try_into()
            .map_err(|_| "hash is not 32 bytes")?;
        hashes.push(h);
    }
    let checkpoint: String = lines.collect();
    Ok(ProofText {
        index,
        hashes,
        checkpoint,
    })
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root that an RFC 6962 audit path (leaf's sibling first) gives for
/// leaf `index` of a tree of `size` leaves, by the recursive definition of
/// PATH(m, D[n]) in RFC 6962 §2.1.1: the last hash is the sibling of the
/// subtree holding the leaf at the top split (k = largest power of two
/// below n). None when the path has the wrong length.
fn root_from_path(index: u64, size: u64, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if size == 1 {
        return path.is_empty().then_some(leaf);
    }
    let k = 1u64 << (63 - (size - 1).leading_zeros());
    let (sibling, below) = path.split_last()?;
    if index < k {
        Some(node(&root_from_path(index, k, leaf, below)?, sibling))
    } else {
        Some(node(
            sibling,
            &root_from_path(index - k, size - k, leaf, below)?,
        ))
    }
}

/// The whole check a relying party makes: the note verifies with the vkey,
/// names the expected origin, and the entry's leaf is at `index` under its
/// root.
fn check_proof(text: &str, vkey: &str, origin: &str, leaf: Hash) -> Result<Body3, String> {
    let proof = parse_proof(text)?;
    let cp = open_checkpoint(&proof.checkpoint, vkey)?;
    if cp.origin != origin {
        return Err(format!("origin {}", cp.origin));
    }
    if proof.index >= cp.size {
        return Err("index outside the tree".into());
    }
    match root_from_path(proof.index, cp.size, leaf, &proof.hashes) {
        Some(root) if root == cp.root => Ok(cp),
        _ => Err("the inclusion proof does not lead to the signed root".into()),
    }
}

// ------------------------------------------------ tests

#[tokio::test]
async fn shard_checkpoints_are_signed_notes_the_go_port_verifies() {
    let app = app_named(None);
    let key = app.public_key().await;
    let name = default_name(&key);
    let vkey = signed_note::new_ed25519_verifier_key(&name, &key);
    // Custody's own verifier key string is the Go port's, byte for byte.
    assert_eq!(
        custody_verify::note::VerifierKey::ed25519(&name, &key)
            .unwrap()
            .to_string(),
        vkey
    );
    let json: serde_json::Value =
        serde_json::from_str(&app.get("/v1/checkpoint", None).await.body).unwrap();
    let shards = json["shards"].as_array().unwrap();
    assert!(shards.len() > 1, "{json}");
    for head in shards {
        let shard = head["shard"].as_u64().unwrap();
        // Public, like GET /v1/checkpoint.
        let a = app.get(&format!("/v1/logs/{shard}/checkpoint"), None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.content_type, "text/plain; charset=utf-8");
        assert_eq!(a.checkpoint_header, Some(json["number"].to_string()));
        let cp = open_checkpoint(&a.body, &vkey).unwrap_or_else(|e| panic!("{e}:\n{}", a.body));
        assert_eq!(cp.origin, format!("{name}/shard/{shard}"));
        assert_eq!(cp.size, head["size"].as_u64().unwrap());
        assert_eq!(hex::encode(cp.root), head["root"].as_str().unwrap());
        assert_eq!(hex::encode(cp.map_root), head["map_root"].as_str().unwrap());
        // One signature line, by the ledger name; same bytes every time.
        let sig_lines: Vec<&str> = a.body.lines().filter(|l| l.starts_with('—')).collect();
        assert_eq!(sig_lines.len(), 1);
        assert!(sig_lines[0].starts_with(&format!("— {name} ")));
        let again = app.get(&format!("/v1/logs/{shard}/checkpoint"), None).await;
        assert_eq!(again.body, a.body);
        // Tampering is caught by the independent verifier.
        let bumped = a.body.replacen(
            &format!("\n{}\n", cp.size),
            &format!("\n{}\n", cp.size + 1),
            1,
        );
        assert!(open_checkpoint(&bumped, &vkey).is_err());
    }
    // Another key under the same name is refused.
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let wrong = signed_note::new_ed25519_verifier_key(&name, &other);
    let note = app.get("/v1/logs/0/checkpoint", None).await.body;
    assert!(open_checkpoint(&note, &wrong).is_err());
}

#[tokio::test]
async fn log_name_sets_key_name_and_origins() {
    let app = app_named(Some("example.org/custody"));
    let key = app.public_key().await;
    let vkey = signed_note::new_ed25519_verifier_key("example.org/custody", &key);
    let note = app.get("/v1/logs/1/checkpoint", None).await.body;
    let cp = open_checkpoint(&note, &vkey).unwrap();
    assert_eq!(cp.origin, "example.org/custody/shard/1");
    // The default name no longer verifies it.
    let default = signed_note::new_ed25519_verifier_key(&default_name(&key), &key);
    assert!(open_checkpoint(&note, &default).is_err());
}

#[tokio::test]
async fn tlog_proofs_verify_independently_and_follow_the_roles() {
    let app = app_named(None);
    let key = app.public_key().await;
    let name = default_name(&key);
    let vkey = signed_note::new_ed25519_verifier_key(&name, &key);
    let own = app.find(|e| e.customer_id == CUSTOMER);
    let others = app.find(|e| e.customer_id == OTHER);
    let path = |(shard, seq): (u32, u64)| format!("/v1/logs/{shard}/proof?index={seq}");

    let a = app.get(&path(own), Some(&app.customer)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "text/plain; charset=utf-8");
    let origin = format!("{name}/shard/{}", own.0);
    let leaf = app.leaf_hash(own.0, own.1);
    let cp =
        check_proof(&a.body, &vkey, &origin, leaf).unwrap_or_else(|e| panic!("{e}\n{}", a.body));
    // The note inside is exactly the shard's checkpoint note.
    let note = app
        .get(&format!("/v1/logs/{}/checkpoint", own.0), None)
        .await
        .body;
    assert!(a.body.ends_with(&note));
    assert_eq!(parse_proof(&a.body).unwrap().index, own.1);
    // Custody's own checker agrees.
    let proof = custody_verify::note::TlogProof::parse(&a.body).unwrap();
    let custody_key: custody_verify::note::VerifierKey = vkey.parse().unwrap();
    assert_eq!(
        proof.verify(&leaf, &origin, &[custody_key]).unwrap().size,
        cp.size
    );
    // Another entry's leaf, a changed proof hash, another origin: refused.
    let other_leaf = app.leaf_hash(others.0, others.1);
    assert!(check_proof(&a.body, &vkey, &origin, other_leaf).is_err());
    assert!(check_proof(&a.body, &vkey, &format!("{name}/shard/99"), leaf).is_err());
    let first_hash = a.body.lines().nth(2).unwrap();
    let mut flipped = BASE64.decode(first_hash).unwrap();
    flipped[0] ^= 1;
    let tampered = a.body.replacen(first_hash, &BASE64.encode(flipped), 1);
    assert!(check_proof(&tampered, &vkey, &origin, leaf).is_err());

    // Roles: as the reports' proofs.
    assert_eq!(app.get(&path(own), None).await.status, 401);
    assert_eq!(app.get(&path(own), Some("cst_forged")).await.status, 401);
    assert_eq!(app.get(&path(own), Some(&app.emitter)).await.status, 403);
    assert_eq!(app.get(&path(own), Some(&app.other)).await.status, 403);
    assert_eq!(
        app.get(&path(others), Some(&app.customer)).await.status,
        403
    );
    let global = app.find(|e| e.customer_id.is_empty());
    assert_eq!(
        app.get(&path(global), Some(&app.customer)).await.status,
        403
    );
    for entry in [own, others, global] {
        let a = app.get(&path(entry), Some(&app.officer)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let origin = format!("{name}/shard/{}", entry.0);
        check_proof(&a.body, &vkey, &origin, app.leaf_hash(entry.0, entry.1)).unwrap();
    }
}

#[tokio::test]
async fn unknown_shards_bad_indexes_and_no_checkpoint_are_named() {
    let app = app_named(None);
    let a = app.get("/v1/logs/99/checkpoint", None).await;
    assert_eq!(a.status, 404);
    assert!(a.body.contains("no shard 99"), "{}", a.body);
    assert!(a.body.contains("lists shards 0 to"), "{}", a.body);
    let officer = Some(app.officer.as_str());
    assert_eq!(
        app.get("/v1/logs/99/proof?index=0", officer).await.status,
        404
    );
    assert_eq!(app.get("/v1/logs/zero/checkpoint", None).await.status, 400);
    let a = app.get("/v1/logs/0/proof", officer).await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("index"), "{}", a.body);
    assert_eq!(
        app.get("/v1/logs/0/proof?index=-1", officer).await.status,
        400
    );
    let a = app.get("/v1/logs/0/proof?index=1000000", officer).await;
    assert_eq!(a.status, 404);
    assert!(
        a.body.contains("not inside the latest checkpoint"),
        "{}",
        a.body
    );

    // A ledger that has signed no checkpoint yet: 503.
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("data")).unwrap();
    let router = custody_query::router(AppState::new(ledger));
    let resp = router
        .oneshot(
            Request::get("/v1/logs/0/checkpoint")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 503);
}
