//! The command line as an operator meets it: pipes, logs.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;

#[test]
fn output_piped_into_head_ends_quietly() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let file = demo_file(dir.path(), 40);
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    // `custody report ... | head -2` on a document larger than a pipe's
    // buffer (about 100 kB): read two lines, then close the pipe.
    let mut child = custody()
        .args([
            "report",
            "law-enforcement",
            "--proofs",
            "--data",
            path_str(&data),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(2)
        .map(|l| l.expect("line"))
        .collect();
    assert_eq!(lines.len(), 2);
    // The reader is gone (dropped above); the command must end without a
    // panic or a backtrace.
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn logs_carry_no_colour_codes_when_not_at_a_terminal() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let file = demo_file(dir.path(), 5);
    let out = run(&["import", "--data", path_str(&data), path_str(&file)]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("INFO") || stderr.contains("imported"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI escape in logs: {stderr:?}"
    );
}

/// True when `text` holds a number with four or more decimals, as
/// indicatif's `{per_sec}` and `{:?}` of a `Duration` print them.
fn has_long_decimal(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|n| n.split_once('.'))
        .any(|(whole, frac)| !whole.is_empty() && frac.len() >= 4)
}

#[test]
fn summaries_give_rates_rounded_for_people_and_no_bars_off_a_terminal() {
    assert!(has_long_decimal("(1834567.1234/s)") && !has_long_decimal("1.83M entries/s"));
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let file = demo_file(dir.path(), 5);
    let import = run(&["import", "--data", path_str(&data), path_str(&file)]);
    assert!(import.status.success());
    let stderr = String::from_utf8_lossy(&import.stderr);
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("imported "))
        .unwrap_or_else(|| panic!("no import summary in {stderr}"));
    assert!(summary.contains(" events/s)"), "{summary}");
    assert!(!has_long_decimal(summary), "{summary}");
    // Tests run without a terminal: no bar, no carriage returns, no ETA.
    assert!(
        !stderr.contains('\r') && !stderr.contains("ETA"),
        "{stderr:?}"
    );

    let verify = run_ok(&["verify", "--data", path_str(&data)]);
    let line = verify
        .lines()
        .find(|l| l.contains("checked in"))
        .unwrap_or_else(|| panic!("no verify summary in {verify}"));
    assert!(line.contains(" entries/s)"), "{line}");
    assert!(!has_long_decimal(line), "{line}");

    let out = run(&["rebuild", "--data", path_str(&data)]);
    assert!(out.status.success());
    let rebuild = String::from_utf8_lossy(&out.stdout);
    let line = rebuild
        .lines()
        .find(|l| l.starts_with("replayed "))
        .unwrap_or_else(|| panic!("no rebuild summary in {rebuild}"));
    assert!(line.contains(" entries/s)"), "{line}");
    assert!(!has_long_decimal(line), "{line}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\r') && !stderr.contains("ETA"),
        "{stderr:?}"
    );
}

#[test]
fn quarantine_list_shows_text_and_line_numbers_of_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let file = dir.path().join("events.jsonl");
    let good = std::fs::read_to_string(demo_file(dir.path(), 1)).expect("demo");
    let good = good.lines().next().expect("an event");
    // Line 1 good, line 2 blank, line 3 text that is no JSON, line 4 binary.
    let mut bytes = format!("{good}\n\nnot json at all\n").into_bytes();
    bytes.extend_from_slice(b"\x00\x01\xfe\xff\n");
    std::fs::write(&file, bytes).expect("write");
    run_ok(&["import", "--data", path_str(&data), path_str(&file)]);
    let out = run_ok(&["quarantine", "list", "--data", path_str(&data)]);
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.len(), 2, "{out}");
    let (text, binary) = (&records[0], &records[1]);
    // The stored fields stay as they were (scripts read them).
    for r in &records {
        for field in [
            "topic",
            "partition",
            "offset",
            "reason",
            "payloadHex",
            "payloadLen",
        ] {
            assert!(!r[field].is_null(), "{field} missing from {r}");
        }
        assert_eq!(r["topic"], "import:events.jsonl");
        assert_eq!(r["file"], "events.jsonl");
    }
    // Lines are counted from 1, blank lines included.
    assert_eq!(text["line"], 3, "{text}");
    assert_eq!(text["offset"], 3, "{text}");
    assert_eq!(text["position"], "line 3 of events.jsonl");
    assert_eq!(text["payloadText"], "not json at all");
    assert_eq!(text["payloadHex"], hex_of(b"not json at all\n"));
    // A binary line: kept (the import does not stop), shown as hex only.
    assert_eq!(binary["line"], 4, "{binary}");
    assert!(binary["payloadText"].is_null(), "{binary}");
    assert_eq!(binary["payloadHex"], "0001feff0a");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every command path of the CLI (`["token", "create"]`, …), read from
/// `--help` as a user would.
fn command_paths(prefix: &[String]) -> Vec<Vec<String>> {
    let out = run(&prefix
        .iter()
        .map(String::as_str)
        .chain(["--help"])
        .collect::<Vec<_>>());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    if subcommands.is_empty() {
        return vec![prefix.to_vec()];
    }
    subcommands
        .into_iter()
        .flat_map(|c| {
            let mut p = prefix.to_vec();
            p.push(c);
            command_paths(&p)
        })
        .collect()
}

/// (flag, environment variable) pairs in one command's `--help`.
fn env_flags(path: &[String]) -> Vec<(String, Option<String>)> {
    let out = run(&path
        .iter()
        .map(String::as_str)
        .chain(["--help"])
        .collect::<Vec<_>>());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut flags = Vec::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let t = line.trim_start();
        if let Some(flag) = t
            .split_whitespace()
            .find(|w| w.starts_with("--"))
            .filter(|_| t.starts_with('-'))
        {
            if let Some(f) = current.take() {
                flags.push((f, None));
            }
            current = Some(flag.trim_end_matches(',').to_string());
        }
        if let Some(i) = line.find("[env: ") {
            let var: String = line[i + 6..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if let Some(f) = current.take() {
                flags.push((f, Some(var)));
            }
        }
    }
    flags.extend(current.map(|f| (f, None)));
    flags
}

#[test]
fn readme_lists_exactly_the_environment_variables_the_cli_reads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    // The table: | `VAR` | `--flag` | commands |
    let rows: Vec<(String, String, String)> = readme
        .lines()
        .filter(|l| l.starts_with("| `CUSTODY_"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_string(),
                cells[2].trim_matches('`').to_string(),
                cells[3].to_string(),
            )
        })
        .collect();
    assert!(rows.len() >= 8, "no environment table in README: {rows:?}");
    assert!(
        !readme.contains("Every flag has an environment variable"),
        "README claims every flag has one"
    );
    let paths = command_paths(&[]);
    assert!(paths.len() > 15, "{paths:?}");
    let mut seen: Vec<(String, String, String)> = Vec::new(); // (var, flag, command)
    for path in &paths {
        for (flag, var) in env_flags(path) {
            if flag == "--data" {
                assert_eq!(
                    var.as_deref(),
                    Some("CUSTODY_DATA"),
                    "`custody {}` takes --data without CUSTODY_DATA",
                    path.join(" ")
                );
            }
            if let Some(var) = var {
                seen.push((var, flag, path.join(" ")));
            }
        }
    }
    for (var, flag, command) in &seen {
        let row = rows
            .iter()
            .find(|(v, _, _)| v == var)
            .unwrap_or_else(|| panic!("README does not list {var} (`custody {command} {flag}`)"));
        assert_eq!(&row.1, flag, "README names another flag for {var}");
        if var != "CUSTODY_DATA" {
            assert!(
                row.2.contains(&format!("`{command}`")),
                "README's row for {var} misses `{command}`: {}",
                row.2
            );
        }
    }
    for (var, _, commands) in &rows {
        assert!(
            seen.iter().any(|(v, _, _)| v == var),
            "README lists {var}, which no flag reads"
        );
        // Every command the row names reads the variable.
        for command in commands.split('`').skip(1).step_by(2) {
            assert!(
                seen.iter().any(|(v, _, c)| v == var && c == command),
                "README says `custody {command}` reads {var}; it does not"
            );
        }
    }
}
