//! Charts drawn by the server as inline SVG: no script, no external file,
//! they print (A4 landscape) and scale to the page width. Every chart is a
//! `<figure>` whose SVG has a `<title>` and `<desc>` and whose
//! `<figcaption>` states every figure in words (the text alternative).
//! Each mark carries `data-label` and `data-value`, so a test can compare
//! what is drawn with the JSON report the figures come from.

use crate::render::escape_html;

/// One chart, ready to render.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Horizontal bars: (label, value, colour or `None` for the default).
    Bars {
        id: String,
        title: String,
        unit: String,
        bars: Vec<(String, u64, Option<&'static str>)>,
    },
    /// A matrix of counts, shaded by value.
    Heat {
        id: String,
        title: String,
        rows: Vec<String>,
        cols: Vec<String>,
        values: Vec<Vec<u64>>,
        /// Cells that breach a commitment (drawn with a red outline).
        flagged: Vec<Vec<bool>>,
    },
    /// Stacked columns over time buckets, one colour per series.
    Stacked {
        id: String,
        title: String,
        buckets: Vec<String>,
        series: Vec<(String, Vec<u64>)>,
        /// Buckets holding an access with a finding (marked with a dot).
        marked: Vec<bool>,
    },
}

/// Colours of series, distinguishable in colour-blind palettes (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#555555",
];

/// Colours of severities, shared by the charts and the findings queue.
pub fn severity_colour(severity: &str) -> &'static str {
    match severity {
        "critical" => "#7b0d1e",
        "high" => "#c0392b",
        "medium" => "#a04000",
        "low" => "#7f6a00",
        _ => "#555555",
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

impl Chart {
    pub fn id(&self) -> &str {
        match self {
            Chart::Bars { id, .. } | Chart::Heat { id, .. } | Chart::Stacked { id, .. } => id,
        }
    }

    /// The text alternative: every figure, in words.
    pub fn alt(&self) -> String {
        match self {
            Chart::Bars {
                title, unit, bars, ..
            } => {
                if bars.is_empty() {
                    return format!("{title}: none.");
                }
                let parts: Vec<String> = bars
                    .iter()
                    .map(|(l, v, _)| format!("{l}: {v} {unit}"))
                    .collect();
                format!("{title}: {}.", parts.join("; "))
            }
            Chart::Heat {
                title,
                rows,
                cols,
                values,
                ..
            } => {
                let mut parts = Vec::new();
                for (r, row) in rows.iter().zip(values) {
                    let cells: Vec<String> = cols
                        .iter()
                        .zip(row)
                        .filter(|(_, v)| **v > 0)
                        .map(|(c, v)| format!("{c} {v}"))
                        .collect();
                    if !cells.is_empty() {
                        parts.push(format!("{r}: {}", cells.join(", ")));
                    }
                }
                if parts.is_empty() {
                    format!("{title}: none.")
                } else {
                    format!("{title}: {}.", parts.join("; "))
                }
            }
            Chart::Stacked {
                title,
                buckets,
                series,
                ..
            } => {
                let mut parts = Vec::new();
                for (i, b) in buckets.iter().enumerate() {
                    let cells: Vec<String> = series
                        .iter()
                        .filter_map(|(name, vs)| {
                            vs.get(i).filter(|v| **v > 0).map(|v| format!("{name} {v}"))
                        })
                        .collect();
                    if !cells.is_empty() {
                        parts.push(format!("{b}: {}", cells.join(", ")));
                    }
                }
                if parts.is_empty() {
                    format!("{title}: none.")
                } else {
                    format!("{title}: {}.", parts.join("; "))
                }
            }
        }
    }

    /// The chart as a `<figure>` with inline SVG and its caption.
    pub fn svg(&self) -> String {
        let id = escape_html(self.id());
        let alt = escape_html(&self.alt());
        let (title, body, w, h) = match self {
            Chart::Bars {
                title, bars, unit, ..
            } => {
                let (body, w, h) = bars_svg(bars, unit);
                (title, body, w, h)
            }
            Chart::Heat {
                title,
                rows,
                cols,
                values,
                flagged,
                ..
            } => {
                let (body, w, h) = heat_svg(rows, cols, values, flagged);
                (title, body, w, h)
            }
            Chart::Stacked {
                title,
                buckets,
                series,
                marked,
                ..
            } => {
                let (body, w, h) = stacked_svg(buckets, series, marked);
                (title, body, w, h)
            }
        };
        let title = escape_html(title);
        format!(
            "<figure class=chart data-chart=\"{id}\"><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
             role=img aria-labelledby=\"{id}-t {id}-d\" xmlns=\"http://www.w3.org/2000/svg\">\
             <title id=\"{id}-t\">{title}</title><desc id=\"{id}-d\">{alt}</desc>{body}</svg>\
             <figcaption><strong>{title}.</strong> {alt}</figcaption></figure>"
        )
    }
}

const LABEL_W: u32 = 230;
const BAR_W: u32 = 330;

fn bars_svg(bars: &[(String, u64, Option<&'static str>)], unit: &str) -> (String, u32, u32) {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 22;
    let h = (bars.len() as u32).max(1) * row + 8;
    let mut out = String::new();
    if bars.is_empty() {
        out.push_str("<text x=\"4\" y=\"18\" font-size=\"13\">none</text>");
    }
    for (i, (label, value, colour)) in bars.iter().enumerate() {
        let y = i as u32 * row + 4;
        let len = ((*value as f64 / max as f64) * BAR_W as f64).round() as u32;
        let colour = colour.unwrap_or(PALETTE[0]);
        let l = escape_html(label);
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{}\" height=\"16\" fill=\"{colour}\" \
             data-label=\"{l}\" data-value=\"{value}\"><title>{l}: {value} {}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\">{value}</text>",
            LABEL_W - 6,
            y + 13,
            escape_html(&shorten(label, 32)),
            len.max(1),
            escape_html(unit),
            LABEL_W + len.max(1) + 4,
            y + 13,
        ));
    }
    (out, LABEL_W + BAR_W + 60, h)
}

fn heat_svg(
    rows: &[String],
    cols: &[String],
    values: &[Vec<u64>],
    flagged: &[Vec<bool>],
) -> (String, u32, u32) {
    let max = values.iter().flatten().copied().max().unwrap_or(0).max(1);
    let (cw, ch, top, left) = (96u32, 30u32, 40u32, 210u32);
    let mut out = String::new();
    for (j, c) in cols.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            left + j as u32 * cw + cw / 2,
            top - 10,
            escape_html(&shorten(c, 15))
        ));
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as u32 * ch;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\">{}</text>",
            left - 6,
            y + ch / 2 + 5,
            escape_html(&shorten(r, 30))
        ));
        for (j, c) in cols.iter().enumerate() {
            let v = values
                .get(i)
                .and_then(|row| row.get(j))
                .copied()
                .unwrap_or(0);
            let flag = flagged
                .get(i)
                .and_then(|row| row.get(j))
                .copied()
                .unwrap_or(false);
            // Five steps of blue, each with the ink (dark or white) that
            // keeps a contrast of at least 4.5:1 (WCAG AA).
            let t = v as f64 / max as f64;
            let (fill, ink) = match v {
                0 => ("#ffffff", "#111111"),
                _ if t <= 0.25 => ("#deebf7", "#111111"),
                _ if t <= 0.5 => ("#9ecae1", "#111111"),
                _ if t <= 0.7 => ("#4292c6", "#000000"),
                _ if t <= 0.85 => ("#1f5f99", "#ffffff"),
                _ => ("#08306b", "#ffffff"),
            };
            let stroke = if flag {
                "stroke=\"#c0392b\" stroke-width=\"3\""
            } else {
                "stroke=\"#999999\" stroke-width=\"1\""
            };
            let x = left + j as u32 * cw;
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cw}\" height=\"{ch}\" fill=\"{fill}\" {stroke} \
                 data-label=\"{} / {}\" data-value=\"{v}\"><title>{} / {}: {v}{}</title></rect>\
                 <text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" fill=\"{ink}\">{v}</text>",
                escape_html(r),
                escape_html(c),
                escape_html(r),
                escape_html(c),
                if flag { " (breach)" } else { "" },
                x + cw / 2,
                y + ch / 2 + 5
            ));
        }
    }
    let w = left + cols.len() as u32 * cw + 10;
    let h = top + rows.len() as u32 * ch + 10;
    (out, w, h)
}

fn stacked_svg(
    buckets: &[String],
    series: &[(String, Vec<u64>)],
    marked: &[bool],
) -> (String, u32, u32) {
    let totals: Vec<u64> = (0..buckets.len())
        .map(|i| {
            series
                .iter()
                .map(|(_, v)| v.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let (plot_h, left, top) = (160u32, 40u32, 10u32);
    let col = if buckets.len() > 24 { 14 } else { 28 };
    let gap = 4;
    let mut out = String::new();
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#999999\"/>",
        left - 4,
        top + 10,
        top + plot_h
    ));
    for (i, b) in buckets.iter().enumerate() {
        let x = left + 6 + i as u32 * (col + gap);
        let mut y = top + plot_h;
        for (k, (name, vs)) in series.iter().enumerate() {
            let v = vs.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let hgt = ((v as f64 / max as f64) * plot_h as f64).round().max(1.0) as u32;
            y = y.saturating_sub(hgt);
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{col}\" height=\"{hgt}\" fill=\"{}\" \
                 data-label=\"{} / {}\" data-value=\"{v}\"><title>{}, {}: {v}</title></rect>",
                PALETTE[k % PALETTE.len()],
                escape_html(b),
                escape_html(name),
                escape_html(b),
                escape_html(name),
            ));
        }
        if marked.get(i).copied().unwrap_or(false) {
            out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"#c0392b\"><title>{}: an access with a finding</title></circle>",
                x + col / 2,
                y.saturating_sub(8).max(5),
                escape_html(b)
            ));
        }
        // Every bucket's label when few, every fourth when many.
        if buckets.len() <= 12 || i % 4 == 0 {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                x + col / 2,
                top + plot_h + 14,
                escape_html(b)
            ));
        }
    }
    // The legend, under the axis.
    let legend_y = top + plot_h + 34;
    for (k, (name, _)) in series.iter().enumerate() {
        let y = legend_y + k as u32 * 18;
        out.push_str(&format!(
            "<rect x=\"{left}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
            y - 10,
            PALETTE[k % PALETTE.len()],
            left + 18,
            y,
            escape_html(name)
        ));
    }
    let w = (left + 6 + buckets.len() as u32 * (col + gap) + 10).max(320);
    let h = legend_y + series.len() as u32 * 18 + 6;
    (out, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_carry_their_figures_and_text() {
        let c = Chart::Bars {
            id: "by-rule".into(),
            title: "Findings by rule".into(),
            unit: "findings".into(),
            bars: vec![("USE-MATRIX".into(), 3, None), ("<b>".into(), 1, None)],
        };
        let svg = c.svg();
        assert!(svg.contains("data-value=\"3\""), "{svg}");
        assert!(svg.contains("&lt;b&gt;"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert_eq!(
            c.alt(),
            "Findings by rule: USE-MATRIX: 3 findings; <b>: 1 findings."
        );
        let h = Chart::Heat {
            id: "m".into(),
            title: "Use".into(),
            rows: vec!["support".into()],
            cols: vec!["contact".into(), "private".into()],
            values: vec![vec![2, 0]],
            flagged: vec![vec![false, true]],
        };
        assert!(h.svg().contains("(breach)"));
        assert_eq!(h.alt(), "Use: support: contact 2.");
        let s = Chart::Stacked {
            id: "t".into(),
            title: "Time".into(),
            buckets: vec!["2026-01".into(), "2026-02".into()],
            series: vec![("support".into(), vec![1, 0]), ("ads".into(), vec![0, 4])],
            marked: vec![false, true],
        };
        assert_eq!(s.alt(), "Time: 2026-01: support 1; 2026-02: ads 4.");
        assert!(s.svg().contains("<circle"));
    }
}
