//! Progress for the long commands (`import`, `verify`, `rebuild`) and the
//! rates in their summaries. Bars go to standard error and only when it is
//! a terminal: in a pipe or a log file they would be noise, so there only
//! the final summary line is printed.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// A bar of `len` units (a spinner when the length is unknown), drawn on
/// standard error when it is a terminal, hidden otherwise.
pub fn bar(len: Option<u64>, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::new_spinner(),
    };
    // The template is a constant of this crate: a bad one is a bug, and a
    // plain bar beats failing the command over it.
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        // indicatif's own `{per_sec}` prints four decimals ("1234.5678/s").
        // `{rate}`: the bar's position per second, in entries.
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&human_rate(s.pos(), s.elapsed(), "entries"));
        })
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// `count` `unit` per second over `elapsed`, rounded for a person:
/// "850 entries/s", "12.3k entries/s", "1.83M entries/s"; "-" for the
/// figure over a zero duration.
pub fn human_rate(count: u64, elapsed: Duration, unit: &str) -> String {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return format!("- {unit}/s");
    }
    format!("{} {unit}/s", human_count(count as f64 / secs))
}

/// A count with at most three significant digits and a k/M/G suffix.
pub fn human_count(n: f64) -> String {
    let (value, suffix) = if n >= 1e9 {
        (n / 1e9, "G")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e3 {
        (n / 1e3, "k")
    } else {
        return format!("{}", n.round() as u64);
    };
    if value >= 100.0 {
        format!("{value:.0}{suffix}")
    } else if value >= 10.0 {
        format!("{value:.1}{suffix}")
    } else {
        format!("{value:.2}{suffix}")
    }
}

/// A duration as a person reads it: "850ms", "12.3s", "4m05s".
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{}ms", d.as_millis())
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_rounded_for_people() {
        let s = Duration::from_secs(1);
        assert_eq!(human_rate(0, s, "entries"), "0 entries/s");
        assert_eq!(human_rate(850, s, "entries"), "850 entries/s");
        assert_eq!(human_rate(1_234, s, "entries"), "1.23k entries/s");
        assert_eq!(human_rate(12_345, s, "entries"), "12.3k entries/s");
        assert_eq!(human_rate(123_456, s, "entries"), "123k entries/s");
        assert_eq!(human_rate(1_834_567, s, "entries"), "1.83M entries/s");
        assert_eq!(
            human_rate(1_000, Duration::from_millis(500), "entries"),
            "2.00k entries/s"
        );
        assert_eq!(human_rate(10, Duration::ZERO, "events"), "- events/s");
        assert_eq!(human_count(2.5e9), "2.50G");
    }

    #[test]
    fn durations_are_rounded_for_people() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m05s");
    }
}
