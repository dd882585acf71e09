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
