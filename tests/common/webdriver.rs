//! A thin W3C WebDriver client over `ureq` (already a dependency of the
//! binary), driving Debian's `chromedriver` (package `chromium-driver`) and
//! headless `chromium`. WebDriver is JSON over HTTP; the dozen commands the
//! console tests need fit here, which compiles in seconds where a client
//! crate (`fantoccini`, `thirtyfour`) would add an async stack and tens of
//! crates to the build.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A `chromedriver` process, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<&Value>) -> (u16, Value) {
    let result = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, b) => {
            let text = b.cloned().unwrap_or_else(|| json!({})).to_string();
            agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(text.as_bytes())
        }
    };
    let mut resp = result.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: reading the answer: {e}"));
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("WebDriver {method} {url}: not JSON ({e}): {text}"));
    (status, v)
}

impl Driver {
    /// Starts `chromedriver` on a free port; fails loudly when the Debian
    /// packages are missing.
    pub fn start() -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: install Debian's `{package}` package \
                 (`cargo xtask test` installs chromium and chromium-driver)"
            );
        }
        let port = super::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut r) = agent.get(&format!("{base}/status")).call() {
                let text = r.body_mut().read_to_string().unwrap_or_default();
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                if v["value"]["ready"].as_bool() == Some(true) {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, base, agent }
    }

    /// A new headless Chromium session with a fresh profile.
    pub fn session(&self) -> Browser<'_> {
        let caps = json!({
            "capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--window-size=1400,900"
                    ]
                }
            }}
        });
        let (status, v) = call(
            &self.agent,
            "POST",
            &format!("{}/session", self.base),
            Some(&caps),
        );
        assert_eq!(status, 200, "new WebDriver session: {v}");
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no sessionId in {v}"))
            .to_string();
        Browser { driver: self, id }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session; closed on drop.
pub struct Browser<'a> {
    driver: &'a Driver,
    id: String,
}

impl Browser<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.base, self.id);
        let (status, v) = call(&self.driver.agent, method, &url, body.as_ref());
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`).
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` asynchronously: it calls `arguments[arguments.length - 1]`
    /// with its result.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The first element matching a CSS selector (fails when there is none).
    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element `{css}`: {v}"))
            .to_string()
    }

    /// How many elements match a CSS selector.
    pub fn count(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    pub fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Clicks what submits a form or follows a link, and returns once the
    /// next document has loaded: chromedriver may answer the click before
    /// the navigation it starts, so reading the page right after it could
    /// still read the old one.
    pub fn click_and_load(&self, css: &str) {
        self.execute("window.__custodyOldPage = true;", vec![]);
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Mid-navigation a script may fail: that is "not yet".
            let url = format!("{}/session/{}/execute/sync", self.driver.base, self.id);
            let body = json!({
                "script": "return window.__custodyOldPage === undefined && document.readyState === 'complete';",
                "args": []
            });
            let (status, v) = call(&self.driver.agent, "POST", &url, Some(&body));
            if status == 200 && v["value"].as_bool() == Some(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page within 30 s of clicking {css}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The page's visible text (`document.body.innerText`).
    pub fn text(&self) -> String {
        self.execute("return document.body.innerText;", vec![])
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A cookie of the current page (WebDriver sees HttpOnly cookies).
    pub fn cookie(&self, name: &str) -> Option<String> {
        let all = self.cmd("GET", "/cookie", None);
        all.as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str())
            .map(str::to_string)
    }

    /// Every attribute of the named cookie as WebDriver reports it.
    pub fn cookie_details(&self, name: &str) -> Option<Value> {
        let all = self.cmd("GET", "/cookie", None);
        all.as_array()?.iter().find(|c| c["name"] == name).cloned()
    }

    /// Sets the viewport to `w`×`h` CSS pixels (scale 1), as a phone when
    /// narrower than 600, through Chromium's DevTools command.
    pub fn viewport(&self, w: u32, h: u32) {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600}
            })),
        );
    }

    /// A PNG of the viewport, written to `path`; returns its (width, height).
    pub fn screenshot(&self, path: &Path) -> (u32, u32) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let bytes = base64_decode(b64.as_str().unwrap_or_default());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{path:?} is not a PNG");
        std::fs::write(path, &bytes).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
        let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        (dim(16), dim(20))
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.id);
        let _ = self.driver.agent.delete(&url).call();
    }
}

/// Standard base64 (screenshots), without a crate for it.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
