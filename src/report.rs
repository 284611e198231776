//! The run report: one self-contained `report.html` (inline SVG, inline CSS, no script,
//! no network) that opens from disk. Aggregates only: no client id or personal data.

use crate::bundle::Bundle;
use crate::charts::ChartFiles;
use crate::error::{Error, Result};
use crate::ingest::QualityReport;
use crate::labeling::drift::DriftReport;
use crate::labeling::RunSummary;
use std::fmt::Write as _;
use std::path::Path;

const STYLE: &str = "body{font-family:DejaVu Sans,Verdana,sans-serif;margin:2em auto;max-width:1200px;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right}.ok{color:#2b7a2b}.watch{color:#b36b00;font-weight:bold}\
.retrain{color:#c00;font-weight:bold}figure{margin:1.5em 0}figcaption{font-weight:bold;margin-bottom:.5em}\
figure svg{max-width:100%;height:auto}.banner{padding:.8em;border-radius:4px;background:#f6f6f6}";

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A share as a percentage with one decimal; a value that rounds to zero prints as
/// "0.0%", never "-0.0%".
fn pct(v: f64) -> String {
    let x = v * 100.0;
    format!("{:.1}%", if x.abs() < 0.05 { 0.0 } else { x })
}

/// Writes the report atomically.
///
/// # Errors
/// `Error::Read` if a chart's SVG cannot be read, `Error::Write` on output failure.
pub fn write(
    b: &Bundle,
    s: &RunSummary,
    drift: &DriftReport,
    quality: &QualityReport,
    charts: &[ChartFiles],
    path: &Path,
) -> Result<()> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>clientele report {as_of}</title><style>{STYLE}</style></head><body>\
<h1>Client segments and lapse risk, as of {as_of}</h1>",
        as_of = s.as_of
    );
    // Model card.
    let _ = write!(
        h,
        "<h2 id=\"model\">Model card</h2><table>\
<tr><th>model version</th><td>{}</td></tr><tr><th>trained</th><td>{}</td></tr>\
<tr><th>training cut-off, horizon</th><td>{}, {} months</td></tr>\
<tr><th>held-out ROC AUC</th><td>{:.3}</td></tr><tr><th>lift at 10%</th><td>{:.2}</td></tr>\
<tr><th>training lapse rate</th><td>{}</td></tr><tr><th>segments</th><td>{} ({})</td></tr>\
<tr><th>this run</th><td>{} clients; {} in force and scored; {} not in force (labelled, not scored); {} with imputed values</td></tr></table>",
        esc(&b.version),
        esc(&b.created_at),
        b.cutoff,
        b.horizon_months,
        s.test_roc_auc,
        s.test_lift_at_10,
        pct(b.lapse.training_lapse_rate),
        b.segments.k(),
        esc(&b.segments.k_reason),
        s.clients,
        s.scored,
        s.not_scored,
        s.imputed_clients
    );
    // Drift.
    let status = drift.status.word();
    let _ = write!(
        h,
        "<h2 id=\"drift\">Drift</h2><p class=\"banner\">Overall: <span class=\"{status}\">{status}</span> \
(population stability index: &lt; {} ok, {}-{} watch, &ge; {} retrain)</p>\
<table><tr><th>what</th><th>name</th><th>PSI</th><th>status</th><th>detail</th></tr>",
        drift.watch_threshold, drift.watch_threshold, drift.retrain_threshold, drift.retrain_threshold
    );
    let mut items: Vec<_> = drift.items.iter().collect();
    items.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    for i in items {
        let w = i.status.word();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.3}</td><td class=\"{w}\">{w}</td><td>{}</td></tr>",
            esc(&i.kind),
            esc(&i.name),
            i.psi,
            esc(&i.detail)
        );
    }
    h.push_str("</table>");
    if !drift.unused_columns.is_empty() {
        h.push_str("<p>Columns in this batch that the data contract does not use (ignored; a renamed column would show here):</p><ul>");
        for (s, c) in &drift.unused_columns {
            let _ = write!(h, "<li>{}: {}</li>", esc(s), esc(c));
        }
        h.push_str("</ul>");
    }
    if !drift.unseen_levels.is_empty() {
        h.push_str("<p>Levels not seen in training (now at least 1% of clients):</p><ul>");
        for (f, l, share) in &drift.unseen_levels {
            let _ = write!(h, "<li>{} = {}: {}</li>", esc(f), esc(l), pct(*share));
        }
        h.push_str("</ul>");
    }
    // Segments.
    let _ = write!(
        h,
        "<h2 id=\"segments\">Segments</h2><table><tr><th>id</th><th>name</th><th>clients</th><th>share</th>\
<th>lapse rate in training</th><th>mean lapse risk now</th><th>high risk</th><th>typical traits</th><th>recommended focus</th></tr>"
    );
    for g in &s.segments {
        if g.suppressed {
            let _ = write!(
                h,
                "<tr><td>{}</td><td colspan=\"8\">suppressed: fewer than {} clients</td></tr>",
                g.id, s.min_report_count
            );
            continue;
        }
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            g.id,
            esc(&g.name),
            g.clients,
            pct(g.share),
            g.training_lapse_rate.map_or_else(|| "n/a".into(), pct),
            pct(g.mean_probability),
            pct(g.high_risk_share),
            esc(&g.traits),
            esc(&g.top_action)
        );
    }
    h.push_str("</table>");
    // Actions and stages.
    h.push_str("<h2 id=\"actions\">Recommended actions and lifecycle stages</h2><table><tr><th>action</th><th>clients</th></tr>");
    for (a, n) in &s.actions {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(a),
            small(*n, s.min_report_count)
        );
    }
    h.push_str("</table><table><tr><th>lifecycle stage</th><th>clients</th></tr>");
    for (a, n) in &s.stages {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(a),
            small(*n, s.min_report_count)
        );
    }
    h.push_str("</table>");
    // Charts.
    h.push_str("<h2 id=\"charts\">Charts</h2>");
    for c in charts {
        let svg = std::fs::read_to_string(&c.svg).map_err(|e| Error::Read {
            path: c.svg.clone(),
            source: e,
        })?;
        let svg = svg.trim_start_matches(|ch| ch != '<');
        let svg = if svg.starts_with("<?xml") {
            svg.split_once("?>").map_or(svg, |(_, rest)| rest)
        } else {
            svg
        };
        let _ = write!(
            h,
            "<figure id=\"chart-{}\"><figcaption>{}</figcaption>{}</figure>",
            esc(&c.name),
            esc(&c.title),
            svg.trim()
        );
    }
    // Data quality.
    let _ = write!(
        h,
        "<h2 id=\"quality\">Data quality</h2><p>Extract date {}; {} clients. Quarantined rows are listed in quarantine.csv beside this report.</p>\
<table><tr><th>source</th><th>rows read</th><th>duplicates dropped</th><th>quarantined</th><th>kept</th><th>main reasons</th></tr>",
        esc(&quality.extract_date),
        quality.clients
    );
    for q in &quality.sources {
        let reasons: Vec<String> = q
            .quarantine_reasons
            .iter()
            .map(|(r, n)| format!("{} ({n})", esc(r)))
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            q.source.name(),
            q.rows_read,
            q.duplicates_dropped,
            q.quarantined,
            q.rows_kept,
            reasons.join("; ")
        );
    }
    h.push_str("</table><p>Generated by clientele; aggregates only, no client-level data.</p></body></html>\n");
    crate::fsio::write_atomic(path, h.as_bytes())
}

fn small(n: usize, min: usize) -> String {
    if n > 0 && n < min {
        format!("&lt;{min}")
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages_never_print_a_negative_zero() {
        assert_eq!(super::pct(-0.000_001), "0.0%");
        assert_eq!(super::pct(0.1234), "12.3%");
        assert_eq!(super::pct(-0.02), "-2.0%");
    }
}
