//! There is no Docker engine here, so docker-compose.yml is checked against
//! the code instead: the Custody command line must be accepted by the real
//! CLI parser, and topic, ports, addresses and volume must agree.

mod common;

use serde_yaml_ng::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            other => serde_yaml_ng::to_string(other).unwrap().trim().to_string(),
        })
        .collect()
}

fn flag(args: &[String], name: &str) -> String {
    let i = args
        .iter()
        .position(|a| a == name)
        .unwrap_or_else(|| panic!("{name} missing from {args:?}"));
    args[i + 1].clone()
}

#[test]
fn compose_command_is_accepted_by_the_cli_and_agrees_with_kafka() {
    let c = compose();
    let services = &c["services"];
    let args = strings(&services["custody"]["command"]);
    let out = common::custody()
        .env("CUSTODY_PARSE_ONLY", "1")
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "custody rejects the compose command line {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong flag must fail the same check (the check is real).
    let out = common::custody()
        .env("CUSTODY_PARSE_ONLY", "1")
        .args(["serve", "--no-such-flag"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // Topic: created with the same name Custody consumes.
    let create = strings(&services["create-topic"]["command"]);
    assert_eq!(flag(&create, "--topic"), flag(&args, "--topic"));
    // Brokers: Custody reaches Kafka's internal listener.
    let kafka_addr = flag(&args, "--kafka");
    let listeners = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        .as_str()
        .unwrap();
    assert!(
        listeners.contains(&format!("INTERNAL://{kafka_addr}")),
        "{kafka_addr} not in {listeners}"
    );
    assert_eq!(flag(&create, "--bootstrap-server"), kafka_addr);
    // Ports: the listen port is the one published and exposed.
    let listen = flag(&args, "--listen");
    let port = listen.rsplit(':').next().unwrap();
    let published = strings(&services["custody"]["ports"]);
    assert!(
        published.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "{published:?}"
    );
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("EXPOSE {port}")));
    // Data: the ledger lives on the named volume.
    let data = flag(&args, "--data");
    let volumes = strings(&services["custody"]["volumes"]);
    assert!(
        volumes.iter().any(|v| v.ends_with(&format!(":{data}"))),
        "{volumes:?}"
    );
    assert!(c["volumes"]["custody-data"].is_null() || c["volumes"]["custody-data"].is_mapping());
}

fn repo_file(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Runs `custody ARGS` through the real parser only.
fn parses(args: &[String]) -> bool {
    common::custody()
        .env("CUSTODY_PARSE_ONLY", "1")
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn dockerignore_keeps_build_output_history_and_ledgers_out_of_the_context() {
    let ignore = repo_file(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["target", ".git", "data"] {
        assert!(
            patterns
                .iter()
                .any(|p| p.trim_start_matches("**/").trim_end_matches('/') == needed),
            ".dockerignore does not exclude {needed}: {patterns:?}"
        );
    }
    // Nothing the build needs is excluded.
    for kept in ["src", "Cargo.toml", "Cargo.lock", "proto", "RULES.md"] {
        assert!(
            !patterns.iter().any(|p| p.trim_end_matches('/') == kept),
            "{kept} is excluded"
        );
    }
}

#[test]
fn ports_are_published_on_loopback_only() {
    let c = compose();
    for (name, service) in c["services"].as_mapping().unwrap() {
        if service["ports"].is_null() {
            continue;
        }
        for port in strings(&service["ports"]) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name:?} publishes {port} on every interface"
            );
        }
    }
}

#[test]
fn the_health_probe_parses_and_answers_from_a_real_server() {
    let c = compose();
    let test = strings(&c["services"]["custody"]["healthcheck"]["test"]);
    assert_eq!(test[0], "CMD", "{test:?}");
    assert_eq!(test[1], "custody", "{test:?}");
    let probe = test[2..].to_vec();
    assert!(
        parses(&probe),
        "the CLI rejects the compose probe {probe:?}"
    );
    // The Dockerfile's HEALTHCHECK is the same probe.
    let dockerfile = repo_file("Dockerfile");
    let healthcheck = dockerfile
        .split("HEALTHCHECK")
        .nth(1)
        .expect("Dockerfile has a HEALTHCHECK");
    let cmd = healthcheck
        .split("CMD")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let exec: Vec<String> = serde_json::from_str(cmd.trim()).expect("exec form");
    assert_eq!(exec[1..], probe[..], "Dockerfile and compose probe differ");

    // The probe against a running server (its /healthz), and against nothing.
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(&dir.path().join("data"));
    let url = format!("http://{}", server.addr);
    let mut args = probe.clone();
    let i = args.iter().position(|a| a == "--http").unwrap();
    args[i + 1] = url.clone();
    let out = common::custody().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, _) = common::http(server.addr, "GET", "/healthz", &[], b"");
    assert_eq!(status, 200);
    drop(server);
    args[i + 1] = format!("http://127.0.0.1:{}", common::free_port());
    assert!(!common::custody()
        .args(&args)
        .output()
        .unwrap()
        .status
        .success());
}

#[test]
fn readme_docker_commands_parse_and_create_the_first_token_before_serving() {
    let readme = repo_file("README.md");
    let lines: Vec<&str> = readme
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim())
        .filter(|l| l.starts_with("docker compose run") || l.starts_with("docker compose exec"))
        .collect();
    assert!(!lines.is_empty(), "README has no docker compose commands");
    for line in &lines {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        // docker compose run [--opts] SERVICE ARGS (the entrypoint is custody);
        // docker compose exec [--opts] SERVICE custody ARGS.
        let service = words[3..]
            .iter()
            .position(|w| !w.starts_with("--"))
            .map(|i| i + 3)
            .unwrap();
        assert_eq!(words[service], "custody", "{line}");
        let mut args = words[service + 1..].to_vec();
        if words[2] == "exec" {
            assert_eq!(args.remove(0), "custody", "{line}");
        }
        assert!(parses(&args), "the CLI rejects `{line}`");
    }
    // The first officer token is made by a one-shot container, without the
    // dependencies (no server holds the writer then), on the service's volume.
    let first = lines
        .iter()
        .find(|l| l.contains("token create"))
        .expect("README creates a token with docker compose");
    assert!(
        first.starts_with("docker compose run --rm --no-deps custody"),
        "{first}"
    );
    let data = flag(
        &strings(&compose()["services"]["custody"]["command"]),
        "--data",
    );
    assert!(first.contains(&format!("--data {data}")), "{first}");
    assert!(first.contains("--role officer"), "{first}");
    let first_at = readme.find(first).unwrap();
    let up_at = readme
        .find("docker compose up")
        .expect("README starts compose");
    assert!(
        first_at < up_at,
        "README starts the service before the first token"
    );
}

/// The Dockerfile's dependency layer, replayed without Docker: its COPY
/// lines and stub sources, then `cargo metadata --locked` in place of the
/// build. A workspace member or target the stubs miss fails here, not in
/// somebody's image build.
#[test]
fn dockerfile_dependency_layer_is_a_complete_workspace() {
    let dockerfile = repo_file("Dockerfile");
    let build_stage = dockerfile
        .split("\nFROM ")
        .nth(1)
        .expect("a build stage")
        .split("\nCOPY . .")
        .next()
        .unwrap()
        .replace("\\\n", " ");
    assert!(
        dockerfile.contains("CARGO_PROFILE_RELEASE_STRIP=true")
            && dockerfile.contains("CARGO_PROFILE_RELEASE_DEBUG=false"),
        "the image's binary is not stripped"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut stub_build = None;
    for line in build_stage.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("COPY ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let (dest, sources) = words.split_last().unwrap();
            for source in sources {
                let target = if dest.ends_with('/') || sources.len() > 1 {
                    dir.path()
                        .join(dest)
                        .join(std::path::Path::new(source).file_name().unwrap())
                } else if *dest == "./" {
                    dir.path().join(source)
                } else {
                    dir.path().join(dest)
                };
                copy_tree(&root.join(source), &target);
            }
        } else if line.starts_with("RUN ") && line.contains("cargo build") {
            stub_build = Some(line.trim_start_matches("RUN ").to_string());
        }
    }
    // Every workspace member's manifest is in the layer.
    let manifest: toml_like::Members = toml_like::members(&repo_file("Cargo.toml"));
    for member in &manifest {
        assert!(
            dir.path().join(member).join("Cargo.toml").exists(),
            "the dependency layer misses {member}/Cargo.toml"
        );
    }
    // Only this host's packages are downloaded by the builds before this
    // test (cargo fetches per platform), so metadata is filtered to it: a
    // Windows-only crate in Cargo.lock must not need the network.
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host");
    let script = stub_build.expect("a stub build before COPY . .").replace(
        "cargo build --release --locked --bin custody",
        &format!(
            "cargo metadata --locked --offline --format-version 1 --filter-platform {host} >metadata.json"
        ),
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the stub workspace does not load: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // cargo metadata does not insist on target files; the build does. Every
    // library and binary of the workspace must have its (stub) source, as
    // it stood before the stubs were removed: replay without the removal.
    let metadata: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("metadata.json")).unwrap())
            .unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script.split("&& rm -rf").next().unwrap())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let members = metadata["workspace_members"].as_array().unwrap();
    let mut checked = 0;
    for package in metadata["packages"].as_array().unwrap() {
        if !members.contains(&package["id"]) {
            continue;
        }
        for target in package["targets"].as_array().unwrap() {
            let kinds = target["kind"].as_array().unwrap();
            if !kinds
                .iter()
                .any(|k| k == "lib" || k == "bin" || k == "custom-build")
            {
                continue;
            }
            let path = std::path::Path::new(target["src_path"].as_str().unwrap());
            assert!(
                path.exists(),
                "the dependency layer has no {} for {} {}",
                path.display(),
                package["name"],
                target["name"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} targets");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// `members = [...]` of the workspace manifest (no TOML parser among the
/// dev-dependencies; the list is one line).
mod toml_like {
    pub type Members = Vec<String>;
    pub fn members(manifest: &str) -> Members {
        let line = manifest
            .lines()
            .find(|l| l.trim_start().starts_with("members"))
            .expect("workspace members");
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }
}
