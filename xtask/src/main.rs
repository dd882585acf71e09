//! `cargo xtask`: the set-up commands README.md promises. Each installs what
//! it needs on a fresh Debian machine (apt packages, the test broker), then
//! runs cargo. No dependencies, so it builds in seconds before anything else.
//!
//!   cargo xtask demo [ARGS]   build (release), print where the binary is, run `custody demo ARGS`
//!   cargo xtask test          fmt check, clippy, every test
//!   cargo xtask bench [ARGS]  build (release) and run `custody bench ARGS`
//!   cargo xtask fuzz [--cases N]  every fuzz target, N cases each (default 100,000)
//!   cargo xtask deps          only install the system packages

use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// Debian packages the build needs: bindgen (for the `rocksdb` crate) needs
/// libclang; the bundled librdkafka build needs make.
const BUILD_PACKAGES: &[&str] = &["libclang-dev", "make"];

/// Only the tests need a browser: tests/browser_e2e.rs renders the HTML
/// reports in headless Chromium; tests/console_e2e.rs drives the console in
/// it through WebDriver (`chromedriver`, Debian's `chromium-driver`).
const TEST_PACKAGES: &[&str] = &["chromium", "chromium-driver"];

/// Only the benchmark needs an HTTP load generator (`custody bench --query`).
const BENCH_PACKAGES: &[&str] = &["wrk"];

/// `custody bench --postgres` compares with the distribution's PostgreSQL
/// (server, psql and pgbench).
const POSTGRES_PACKAGES: &[&str] = &["postgresql"];

fn main() {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match task.as_str() {
        "demo" => demo(&rest),
        "test" => test(&rest),
        "bench" => bench(&rest),
        "fuzz" => fuzz(&rest),
        "deps" => install_packages(BUILD_PACKAGES),
        _ => {
            eprintln!(
                "usage: cargo xtask demo [ARGS] | test | bench [ARGS] | fuzz [--cases N] | deps"
            );
            exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {task}: {e}");
        exit(1);
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs missing Debian packages (as root directly, otherwise via sudo).
fn install_packages(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "missing system packages {missing:?} and no apt-get here: install them by hand"
        ));
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    install.args(&missing);
    run(&mut install)
}

/// Builds the release binary, says where it is (README's commands call it
/// `custody`, which is on no PATH after a build), then runs the demo.
fn demo(args: &[String]) -> Result<(), String> {
    install_packages(BUILD_PACKAGES)?;
    run(cargo().args(["build", "--release", "--bin", "custody"]))?;
    let bin = target_dir()?.join("release").join("custody");
    eprintln!(
        "xtask: the custody binary is {bin}\n\
         xtask: README's commands call it `custody`; in another shell either\n\
         \x20   alias custody='{bin}'\n\
         \x20   cargo install --locked --path .     # copies it to ~/.cargo/bin, usually on PATH",
        bin = bin.display()
    );
    run(Command::new(&bin).arg("demo").args(args))
}

/// Cargo's target directory as cargo itself resolves it
/// (`CARGO_TARGET_DIR`, `build.target-dir`, or `target/` of the workspace).
fn target_dir() -> Result<PathBuf, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    json_string_field(&String::from_utf8_lossy(&out.stdout), "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target_directory".into())
}

/// The value of a top-level string field in cargo's JSON (this crate has no
/// dependencies, so no JSON parser): enough for paths.
fn json_string_field(json: &str, name: &str) -> Option<String> {
    let start = json.find(&format!("\"{name}\":\""))? + name.len() + 4;
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Fold and verify benchmarks, then the Kafka path against a Tansu broker
/// this task starts on a free loopback port. With a mode flag (`--query`,
/// `--posts`, `--postgres`) only that benchmark runs.
fn bench(args: &[String]) -> Result<(), String> {
    let mode = |flag: &str| args.iter().any(|a| a == flag);
    let postgres = mode("--postgres");
    let mut packages = [BUILD_PACKAGES, BENCH_PACKAGES].concat();
    if postgres {
        packages.extend_from_slice(POSTGRES_PACKAGES);
    }
    install_packages(&packages)?;
    run(cargo()
        .args(["run", "--release", "--bin", "custody", "--", "bench"])
        .args(args))?;
    if postgres || mode("--query") || mode("--posts") {
        return Ok(());
    }
    ensure_tansu()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let dir = Path::new("target/bench-tansu");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let url = format!("tcp://127.0.0.1:{port}");
    let mut broker = Command::new(tansu_bin())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start tansu: {e}"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            let _ = broker.kill();
            return Err("tansu did not start listening".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let result = run(cargo()
        .args([
            "run",
            "--release",
            "--bin",
            "custody",
            "--",
            "bench",
            "--kafka",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .args(args));
    let _ = broker.kill();
    let _ = broker.wait();
    result
}

fn tansu_bin() -> String {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let installed = Path::new(&home).join(".cargo/bin/tansu");
    if installed.exists() {
        installed.display().to_string()
    } else {
        "tansu".into()
    }
}

/// The Kafka-protocol broker the end-to-end tests start. Without the
/// `dynostore,libsql` features its default storage engine discards data.
fn ensure_tansu() -> Result<(), String> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let installed = Path::new(&home).join(".cargo/bin/tansu");
    let on_path = Command::new("tansu")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if on_path || installed.exists() {
        return Ok(());
    }
    eprintln!("xtask: installing the Tansu broker (about 8 minutes on 2 cores)");
    run(cargo()
        .args([
            "install",
            "tansu",
            "--locked",
            "--features",
            "dynostore,libsql",
        ])
        .env_remove("CARGO_TARGET_DIR"))
}

fn test(args: &[String]) -> Result<(), String> {
    install_packages(&[BUILD_PACKAGES, TEST_PACKAGES].concat())?;
    ensure_tansu()?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["test", "--workspace"]).args(args))
}

/// The crates with a `tests/fuzz.rs` (property-based fuzz targets; see
/// `fuzz/support.rs`). `cargo test` runs them for 2,000 cases each (the
/// short pass CI gets through `cargo xtask test`).
const FUZZ_CRATES: &[&str] = &["custody-proto", "custody-ingest", "custody-verify"];

/// Runs every fuzz target for `--cases N` (default 100,000) cases, one
/// target at a time, and prints each target's count and duration.
///
/// Built optimised (opt-level 3 for the workspace crates, as in release)
/// but with overflow checks and debug assertions kept: an arithmetic
/// overflow on hostile input is a failure to find, not a wrap to hide. The
/// dependencies are the test build's (already optimised), so RocksDB is not
/// rebuilt.
fn fuzz(args: &[String]) -> Result<(), String> {
    let cases = match args {
        [] => 100_000u64,
        [flag, n] if flag == "--cases" => n
            .replace('_', "")
            .parse()
            .map_err(|_| format!("--cases: `{n}` is not a number"))?,
        _ => return Err("usage: cargo xtask fuzz [--cases N]".into()),
    };
    install_packages(BUILD_PACKAGES)?;
    let mut cmd = cargo();
    cmd.arg("test");
    for c in FUZZ_CRATES {
        cmd.args(["-p", c]);
    }
    cmd.args(["--test", "fuzz", "--", "--nocapture", "--test-threads", "1"])
        .env("CUSTODY_FUZZ_CASES", cases.to_string())
        .env("CARGO_PROFILE_DEV_OPT_LEVEL", "3")
        .stdout(std::process::Stdio::piped());
    eprintln!("xtask: running {cmd:?}");
    let start = std::time::Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    // Echo the tests' output and keep each target's line for the summary.
    let mut summary = Vec::new();
    if let Some(out) = child.stdout.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            // `test fuzz_x ... fuzz x: N cases in T s (R cases/s)`
            if let Some(at) = line.find("fuzz ") {
                if line.contains(" cases in ") {
                    summary.push(line[at + 5..].to_string());
                }
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    println!(
        "\nfuzz summary ({} targets, {cases} cases each, {:.0} s in all with the build):",
        summary.len(),
        start.elapsed().as_secs_f64()
    );
    for line in &summary {
        println!("  {line}");
    }
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing failed ({status}): see the failing target above"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_directory_is_read_from_cargo_metadata() {
        let json = r#"{"packages":[],"target_directory":"/a \"b\"\\c/target","version":1}"#;
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some(r#"/a "b"\c/target"#)
        );
        assert_eq!(json_string_field(json, "workspace_root"), None);
    }

    #[test]
    fn target_directory_follows_cargo_target_dir() {
        // This test runs under cargo, which resolves the target directory
        // the same way for the build `cargo xtask demo` starts.
        let dir = target_dir().expect("cargo metadata");
        if let Some(env) = std::env::var_os("CARGO_TARGET_DIR") {
            assert!(dir.ends_with(&env), "{} for {env:?}", dir.display());
        } else {
            assert!(dir.ends_with("target"), "{}", dir.display());
        }
    }
}
