//! `custody-verify REPORT.json --public-key KEY [...]`: checks a Custody
//! report offline. The same arguments as `custody verify-report`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    custody_verify::cli::main(custody_verify::cli::VerifyReportArgs::parse())
}
