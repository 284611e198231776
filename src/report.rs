//! The run report: one self-contained `report.html` (inline SVG, inline CSS, no script,
//! no network) that opens from disk. Aggregates only: no client id or personal data.

use crate::bundle::Bundle;
use crate::charts::ChartFiles;
use crate::config::LabelRules;
use crate::error::Result;
use crate::ingest::QualityReport;
use crate::labeling::drift::DriftReport;
use crate::labeling::RunSummary;
use crate::lifecycle::ExitState;
use crate::vocab::{LifecycleStage, RiskBand, ValueTier, Vocabulary};
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

/// A word of the vocabulary for HTML (`≥` as the entity, as the report always wrote it).
fn esc_word(s: &str) -> String {
    esc(s).replace('≥', "&ge;")
}

/// The report's words: the vocabulary, the run's action table (to find an action's code
/// from the words the summary counts it by) and the segments' names in the run's words.
struct Say<'a> {
    w: &'a Vocabulary,
    rules: &'a LabelRules,
    names: std::collections::BTreeMap<u32, crate::segment::SegmentWords>,
}

impl Say<'_> {
    /// The word for `key`, escaped.
    fn word(&self, key: &str) -> String {
        esc_word(self.w.word(key))
    }

    /// The template `key`, escaped, with each `{name}` replaced by its (HTML) value.
    fn fill(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut out = self.word(key);
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &value.to_string());
        }
        out
    }

    /// An action counted by its words, in the run's words (escaped).
    fn action(&self, words: &str) -> String {
        let code = self
            .rules
            .actions
            .code_of(words)
            .map(str::to_string)
            .or_else(|| self.w.action_code_of(words));
        esc(code.map_or(words, |c| self.w.action(&c, words)))
    }

    /// A stage or tier counted by its English word or code, in the run's words.
    fn stage_or_tier(&self, word: &str) -> String {
        let shown = LifecycleStage::from_word(word)
            .map(|v| self.w.of("stage", v.code()))
            .or_else(|| ValueTier::from_word(word).map(|v| self.w.of("tier", v.code())))
            .or_else(|| ExitState::from_code(word).map(|e| self.w.of("exit", e.word_key())))
            .unwrap_or(word);
        esc(shown)
    }

    fn band(&self, word: &str) -> String {
        esc(RiskBand::from_word(word).map_or(word, |v| self.w.of("band", v.code())))
    }

    /// A product line: as named in the data in the report's English, else in the words.
    fn product(&self, name: &str) -> String {
        if self.w.is_english() {
            esc(name)
        } else {
            esc(&self.w.product(name))
        }
    }

    fn segment(&self, id: u32) -> Option<&crate::segment::SegmentWords> {
        self.names.get(&id)
    }
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
#[allow(clippy::too_many_arguments)] // the run's parts, each read once
pub fn write(
    b: &Bundle,
    rules: &LabelRules,
    s: &RunSummary,
    drift: &DriftReport,
    quality: &QualityReport,
    charts: &[ChartFiles],
    path: &Path,
) -> Result<()> {
    let w = &rules.words;
    let t = &Say {
        w,
        rules,
        names: b
            .segments
            .display_names(&b.features.numeric, w)
            .into_iter()
            .map(|n| (n.id, n))
            .collect(),
    };
    let mut h = String::new();
    let as_of = s.as_of;
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}{font}</style></head><body>\
<h1>{heading}</h1>",
        lang = esc(w.lang()),
        title = t.fill("report.title", &[("as_of", &as_of)]),
        font = if w.is_english() {
            String::new()
        } else {
            font_style(w)
        },
        heading = t.fill("report.heading", &[("as_of", &as_of)]),
    );
    // What a manager decides on first; how the model and the data stand further down.
    at_a_glance(t, &mut h, s, drift);
    segments_section(t, &mut h, s);
    actions_section(t, &mut h, s);
    premium_section(t, &mut h, s);
    persistency_section(t, &mut h, s, charts);
    migration_section(t, &mut h, s, charts);
    if let Some(o) = &s.outcomes {
        outcomes_section(t, &mut h, o);
    }
    if s.effect.is_some() || s.holdouts.iter().any(|x| x.held_out > 0) {
        let section = crate::effect::output::Section {
            holdouts: &s.holdouts,
            readout: s.effect.as_ref(),
            history: s.effect_history.as_ref(),
            min_report_count: s.min_report_count,
        };
        crate::effect::output::html_section(&mut h, &section, esc);
    }
    if let Some(p) = &s.products {
        products_section(t, &mut h, b, p);
    }
    charts_section(t, &mut h, charts);
    model_card(t, &mut h, b, s);
    drift_section(t, &mut h, drift);
    quality_section(t, &mut h, quality);
    let _ = writeln!(
        h,
        "</table><p>{}</p></body></html>",
        t.word("report.footer")
    );
    crate::fsio::write_atomic(path, h.as_bytes())
}

/// The vocabulary's chart font embedded in the report (a data URL), first in the body's
/// font list: the report opens with its words readable on a machine without that font.
fn font_style(w: &Vocabulary) -> String {
    format!(
        "@font-face{{font-family:\"clientele words\";src:url(data:font/otf;base64,{})}}\
         body{{font-family:\"clientele words\",DejaVu Sans,Verdana,sans-serif}}",
        base64(w.font().bytes())
    )
}

/// Standard base64 (RFC 4648, with padding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One screen first: the book, who is at risk, persistency, this month's actions, and
/// where last month's outcomes and the model's health are.
fn at_a_glance(t: &Say, h: &mut String, s: &RunSummary, drift: &DriftReport) {
    let stage = |word: &str| {
        s.stages
            .iter()
            .find(|(w, _)| w == word)
            .map_or(0, |(_, n)| *n)
    };
    let high_band: usize = s
        .tier_band
        .iter()
        .filter(|(_, band, _)| band == "high")
        .map(|(_, _, n)| n)
        .sum();
    let row = |label: String, value: String| {
        format!("<tr><td>{label}</td><td class=\"n\">{value}</td></tr>")
    };
    let _ = write!(
        h,
        "<h2 id=\"glance\">{}</h2><table>{}{}{}{}",
        t.word("report.glance.heading"),
        row(t.word("report.glance.clients"), grouped(s.clients as f64)),
        row(t.word("report.glance.scored"), grouped(s.scored as f64)),
        row(
            t.word("report.glance.at_risk"),
            small(stage(LifecycleStage::AtRisk.as_str()), s.min_report_count)
        ),
        row(
            t.word("report.glance.high_band"),
            small(high_band, s.min_report_count)
        ),
    );
    if let Some(total) = s.premium_at_risk.iter().find(|p| p.by == "all") {
        let in_force = grouped(total.premium_in_force);
        h.push_str(&row(
            t.fill("report.glance.premium_at_risk", &[("in_force", &in_force)]),
            grouped(total.premium_at_risk),
        ));
    }
    for l in s.persistency.iter().filter(|l| l.channel == "all") {
        if let Some(rate) = l.by_count {
            h.push_str(&row(
                t.fill("report.glance.persistency", &[("month", &l.month)]),
                format!("{:.1}%", 100.0 * rate),
            ));
        }
    }
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td></tr></table>",
        t.word("report.glance.drift"),
        t.word(&format!("drift.{}", drift.status.word()))
    );
    let top: Vec<String> = by_count(&s.actions)
        .iter()
        .take(5)
        .map(|(a, n)| {
            let n = small(*n, s.min_report_count);
            t.fill("report.count", &[("what", &t.action(a)), ("n", &n)])
        })
        .collect();
    let _ = write!(
        h,
        "<p>{}",
        t.fill(
            "report.glance.top_actions",
            &[("actions", &top.join(&t.word("report.list_separator")))]
        )
    );
    if s.outcomes.is_some() {
        let link = format!(
            "<a href=\"#outcomes\">{}</a>",
            t.word("report.glance.below")
        );
        h.push_str(&t.fill("report.glance.outcomes", &[("below", &link)]));
    }
    let _ = write!(h, "{}</p>", t.word("report.glance.follows"));
}

/// Premium at risk by segment and by value tier: where retention money matters.
fn premium_section(t: &Say, h: &mut String, s: &RunSummary) {
    if s.premium_at_risk.is_empty() {
        return;
    }
    let valued = s.premium_at_risk.iter().any(|p| p.lifetime_value.is_some());
    let _ = write!(
        h,
        "<h2 id=\"premium\">{}</h2><p>{}</p><table><tr>{}{}</tr>",
        t.word("report.premium.heading"),
        t.word("report.premium.intro"),
        header(t, "report.premium.columns"),
        if valued {
            format!("<th>{}</th>", t.word("report.premium.value_column"))
        } else {
            String::new()
        }
    );
    for p in &s.premium_at_risk {
        let share = 100.0 * p.premium_at_risk / p.premium_in_force.max(f64::MIN_POSITIVE);
        let group = match p.by.as_str() {
            "all" => t.word("report.all"),
            "segment" => match p.group.split_once(' ').and_then(|(id, _)| id.parse().ok()) {
                Some(id) => t
                    .segment(id)
                    .map_or_else(|| esc(&p.group), |n| format!("{id} {}", esc(&n.name))),
                None => esc(&p.group),
            },
            _ => t.stage_or_tier(&p.group),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{share:.1}%</td>{}</tr>",
            t.word(&format!("report.premium.by_{}", p.by)),
            group,
            grouped(p.premium_in_force),
            grouped(p.premium_at_risk),
            p.lifetime_value
                .map(|v| format!("<td class=\"n\">{}</td>", grouped(v)))
                .unwrap_or_default()
        );
    }
    h.push_str("</table>");
}

/// A table's header cells from a `|`-separated list of words.
fn header(t: &Say, key: &str) -> String {
    t.w.word(key)
        .split('|')
        .map(|c| format!("<th>{}</th>", esc_word(c)))
        .collect()
}

/// How clients moved between lifecycle stages and value tiers since the previous run:
/// counts, and each row's shares.
fn migration_section(t: &Say, h: &mut String, s: &RunSummary, charts: &[ChartFiles]) {
    let tables = [
        ("report.migration.stage", &s.stage_migration),
        ("report.migration.tier", &s.tier_migration),
    ];
    if tables.iter().all(|(_, m)| m.is_none()) {
        return;
    }
    let _ = write!(
        h,
        "<h2 id=\"migration\">{}</h2><p>{}</p>",
        t.word("report.migration.heading"),
        t.word("report.migration.intro")
    );
    if s.stage_migration.is_some() {
        let _ = write!(h, "<p>{}</p>", t.word("report.migration.exits"));
    }
    for (what, flows) in tables {
        let Some(flows) = flows else { continue };
        let mut from: Vec<&str> = flows.iter().map(|(a, _, _)| a.as_str()).collect();
        let mut to: Vec<&str> = flows.iter().map(|(_, c, _)| c.as_str()).collect();
        // Stages and tiers in reading order, then the exit states.
        from.sort_unstable_by_key(|c| reading_order(c));
        from.dedup();
        to.sort_unstable_by_key(|c| reading_order(c));
        to.dedup();
        let corner = t.fill("report.migration.corner", &[("what", &t.word(what))]);
        let _ = write!(h, "<table><tr><th>{corner}</th>");
        for c in &to {
            let _ = write!(h, "<th>{}</th>", t.stage_or_tier(c));
        }
        h.push_str("</tr>");
        for a in &from {
            let total: usize = flows.iter().filter(|f| f.0 == *a).map(|f| f.2).sum();
            let _ = write!(h, "<tr><td>{}</td>", t.stage_or_tier(a));
            for c in &to {
                let n = flows
                    .iter()
                    .find(|f| f.0 == *a && f.1 == *c)
                    .map_or(0, |f| f.2);
                let share = 100.0 * n as f64 / total.max(1) as f64;
                let _ = write!(
                    h,
                    "<td class=\"n\">{} ({share:.0}%)</td>",
                    small(n, s.min_report_count)
                );
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
    }
    chart_link(t, h, charts, "stage_migration", "report.migration.chart");
}

/// 13th- and 25th-month persistency, by count and by premium, in total and per channel.
fn persistency_section(t: &Say, h: &mut String, s: &RunSummary, charts: &[ChartFiles]) {
    if s.persistency.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h2 id=\"persistency\">{}</h2><p>{}</p><table><tr>{}</tr>",
        t.word("report.persistency.heading"),
        t.word("report.persistency.intro"),
        header(t, "report.persistency.columns")
    );
    let pct = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", 100.0 * v));
    for l in &s.persistency {
        let channel = if l.channel == crate::lifecycle::persistency::ALL {
            t.word("report.all")
        } else {
            esc(&l.channel)
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            l.month,
            channel,
            grouped(l.policies),
            pct(l.by_count),
            pct(l.by_premium)
        );
    }
    h.push_str("</table>");
    if let Some(r) = &s.repeat {
        let _ = write!(
            h,
            "<p>{}</p><table><tr>{}</tr>",
            t.fill("report.persistency.repeat_intro", &[("months", &r.months)]),
            header(t, "report.persistency.repeat_columns")
        );
        for (key, c) in [
            ("report.persistency.win_back", r.win_back),
            ("report.persistency.second_purchase", r.second_purchase),
        ] {
            let what = t.word(key);
            let _ = write!(
                h,
                "<tr><td>{what}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                c.eligible,
                c.bought,
                pct(c.rate())
            );
        }
        h.push_str("</table>");
    }
    chart_link(t, h, charts, "persistency", "report.persistency.chart");
}

/// A line pointing to chart `name` in the charts section, when the run drew it.
fn chart_link(t: &Say, h: &mut String, charts: &[ChartFiles], name: &str, key: &str) {
    if charts.iter().any(|c| c.name == name) {
        let _ = write!(
            h,
            "<p class=\"chart-link\"><a href=\"#chart-{name}\">{}</a></p>",
            t.word(key)
        );
    }
}

/// What the model predicts, in words.
fn outcome_words(t: &Say, b: &Bundle) -> String {
    match b.config.mode {
        crate::config::Mode::Relational => {
            let o = b.config.lapse.outcome;
            let reasons: Vec<&str> = o
                .end_reasons()
                .iter()
                .map(|r| t.w.of("end_reason", r))
                .collect();
            let reasons = reasons.join(t.w.word("report.list_separator"));
            t.fill(
                "report.model.outcome",
                &[
                    ("outcome", &esc(t.w.of("outcome", o.code()))),
                    ("reasons", &esc(&reasons)),
                ],
            )
        }
        crate::config::Mode::Transactions => t.word("report.model.outcome_transactions"),
        crate::config::Mode::Flat => t.word("report.model.outcome_flat"),
    }
}

fn model_card(t: &Say, h: &mut String, b: &Bundle, s: &RunSummary) {
    let row =
        |key: &str, value: String| format!("<tr><th>{}</th><td>{value}</td></tr>", t.word(key));
    let rows = [
        row("report.model.version", esc(&b.version)),
        row("report.model.trained", esc(&b.created_at)),
        row(
            "report.model.cutoff",
            t.fill(
                "report.model.cutoff_value",
                &[("cutoff", &b.cutoff), ("months", &b.horizon_months)],
            ),
        ),
        row("report.model.outcome_predicted", outcome_words(t, b)),
        row(
            "report.model.lapse_model",
            t.fill(
                "report.model.lapse_model_value",
                &[("form", &lapse_form(t, &b.lapse.form))],
            ),
        ),
        row("report.model.auc", format!("{:.3}", s.test_roc_auc)),
        row("report.model.lift", format!("{:.2}", s.test_lift_at_10)),
        row("report.model.lapse_rate", pct(b.lapse.training_lapse_rate)),
        row(
            "report.model.segments",
            format!("{} ({})", b.segments.k(), esc(&b.segments.k_reason)),
        ),
        row(
            "report.model.this_run",
            t.fill(
                "report.model.this_run_value",
                &[
                    ("clients", &s.clients),
                    ("scored", &s.scored),
                    ("not_scored", &s.not_scored),
                    ("imputed", &s.imputed_clients),
                ],
            ),
        ),
    ];
    let _ = write!(
        h,
        "<h2 id=\"model\">{}</h2><table>{}</table>",
        t.word("report.model.heading"),
        rows.join("")
    );
}

/// The lapse model's form for the model card.
fn lapse_form(t: &Say, form: &crate::lapse::Form) -> String {
    if form.is_linear() {
        t.word("report.model.linear")
    } else {
        let key = if form.smooth {
            "report.model.scorecard_smoothed"
        } else {
            "report.model.scorecard"
        };
        t.fill(
            key,
            &[("features", &form.binned.len()), ("bins", &form.bins)],
        )
    }
}

/// The next-best product models and how many clients each product is offered to.
fn products_section(t: &Say, h: &mut String, b: &Bundle, p: &crate::labeling::ProductsSummary) {
    let _ = write!(
        h,
        "<h2 id=\"products\">{}</h2><p>{}</p><table><tr>{}</tr>",
        t.word("report.products.heading"),
        t.word("report.products.intro"),
        header(t, "report.products.columns")
    );
    for m in &b.metrics.products {
        let offered = p
            .next_product_clients
            .iter()
            .find(|(name, _)| *name == m.product)
            .map_or(0, |(_, n)| *n);
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.3}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{offered}</td></tr>",
            t.product(&m.product),
            m.roc_auc,
            m.lift_at_10.map_or_else(|| t.word("report.na"), |l| format!("{l:.2}")),
            pct(m.threshold)
        );
    }
    h.push_str("</table>");
    for skipped in &b.metrics.products_skipped {
        let _ = write!(
            h,
            "<p>{}</p>",
            t.fill(
                "report.products.skipped",
                &[
                    ("product", &t.product(&skipped.product)),
                    ("reason", &esc(&skipped.reason))
                ]
            )
        );
    }
}

/// How last month's predictions and actions turned out (with a previous run).
fn outcomes_section(t: &Say, h: &mut String, o: &crate::labeling::outcomes::Outcomes) {
    let since = o
        .previous_as_of
        .map_or_else(|| t.word("report.outcomes.previous_run"), |d| d.to_string());
    let window = if o.window_months == 1 {
        t.word("report.outcomes.one_month").to_string()
    } else {
        t.fill("report.outcomes.months", &[("months", &o.window_months)])
    };
    let _ = write!(
        h,
        "<h2 id=\"outcomes\">{}</h2><p>{}",
        t.word("report.outcomes.heading"),
        t.fill(
            "report.outcomes.intro",
            &[
                ("since", &since),
                ("window", &window),
                ("known", &o.known),
                ("lapsed", &o.lapsed),
                ("rate", &pct(o.lapsed as f64 / o.known.max(1) as f64)),
                ("excluded", &o.excluded),
            ]
        )
    );
    if let (Some(auc), Some(lift)) = (o.roc_auc, o.lift_at_10) {
        h.push_str(&t.fill(
            "report.outcomes.realised_auc",
            &[
                ("auc", &format!("{auc:.3}")),
                ("lift", &format!("{lift:.2}")),
            ],
        ));
    }
    h.push_str("</p>");
    for n in &o.notes {
        let _ = write!(h, "<p class=\"banner\">{}</p>", esc(n));
    }
    if o.known == 0 {
        return;
    }
    let _ = write!(
        h,
        "<table><tr>{}</tr>",
        header(t, "report.outcomes.band_columns")
    );
    for b in o.bands.iter().filter(|b| b.clients > 0) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            t.band(&b.band),
            b.clients,
            b.lapsed,
            pct(b.lapse_rate),
            pct(b.predicted_rate)
        );
    }
    h.push_str("</table>");
    outcome_actions(t, h, o);
}

/// The outcomes' action table: retention by last month's action beside comparable
/// clients' (observational, not an effect).
fn outcome_actions(t: &Say, h: &mut String, o: &crate::labeling::outcomes::Outcomes) {
    let _ = write!(
        h,
        "<p>{} <b>{}</b>{}</p><table><tr>{}</tr>",
        t.fill(
            "report.outcomes.actions_intro",
            &[("default", &t.action(&o.default_action))]
        ),
        t.word("report.outcomes.observational"),
        t.word("report.outcomes.observational_why"),
        header(t, "report.outcomes.action_columns")
    );
    for a in &o.actions {
        let (comparable, difference) = a.comparable_retention.map_or_else(
            || (t.word("report.na"), t.word("report.na")),
            |r| {
                let pts = format!("{:+.1}", (a.retention - r) * 100.0);
                (
                    pct(r),
                    t.fill("report.outcomes.points", &[("points", &pts)]),
                )
            },
        );
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{comparable}</td><td class=\"n\">{difference}</td></tr>",
            t.action(&a.action),
            a.clients,
            a.lapsed,
            pct(a.retention)
        );
    }
    h.push_str("</table>");
}

fn drift_section(t: &Say, h: &mut String, drift: &DriftReport) {
    let status = drift.status.word();
    let (watch, retrain) = (drift.watch_threshold, drift.retrain_threshold);
    let _ = write!(
        h,
        "<h2 id=\"drift\">{}</h2><p class=\"banner\">{}</p><table><tr>{}</tr>",
        t.word("report.drift.heading"),
        t.fill(
            "report.drift.overall",
            &[
                (
                    "status",
                    &format!(
                        "<span class=\"{status}\">{}</span>",
                        t.word(&format!("drift.{status}"))
                    )
                ),
                ("watch", &watch),
                ("retrain", &retrain)
            ]
        ),
        header(t, "report.drift.columns")
    );
    let mut items: Vec<_> = drift.items.iter().collect();
    items.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    for i in items {
        let w = i.status.word();
        let kind =
            t.w.lookup(&format!("drift.kind.{}", i.kind))
                .map_or_else(|| esc(&i.kind), esc_word);
        let _ = write!(
            h,
            "<tr><td>{kind}</td><td>{}</td><td class=\"n\">{:.3}</td><td class=\"{w}\">{}</td><td>{}</td></tr>",
            esc(&i.name),
            i.psi,
            t.word(&format!("drift.{w}")),
            esc(&i.detail)
        );
    }
    h.push_str("</table>");
    if !drift.unused_columns.is_empty() {
        let _ = write!(h, "<p>{}</p><ul>", t.word("report.drift.unused"));
        for (s, c) in &drift.unused_columns {
            let _ = write!(h, "<li>{}: {}</li>", esc(s), esc(c));
        }
        h.push_str("</ul>");
    }
    if !drift.unseen_levels.is_empty() {
        let _ = write!(h, "<p>{}</p><ul>", t.word("report.drift.unseen"));
        for (f, l, share) in &drift.unseen_levels {
            let _ = write!(h, "<li>{} = {}: {}</li>", esc(f), esc(l), pct(*share));
        }
        h.push_str("</ul>");
    }
}

fn segments_section(t: &Say, h: &mut String, s: &RunSummary) {
    let _ = write!(
        h,
        "<h2 id=\"segments\">{}</h2><table><tr>{}</tr>",
        t.word("report.segments.heading"),
        header(t, "report.segments.columns")
    );
    for g in &s.segments {
        if g.suppressed {
            let _ = write!(
                h,
                "<tr><td>{}</td><td colspan=\"8\">{}</td></tr>",
                g.id,
                t.fill(
                    "report.segments.suppressed",
                    &[("min", &s.min_report_count)]
                )
            );
            continue;
        }
        let (name, traits) = t
            .segment(g.id)
            .map_or((g.name.as_str(), g.traits.as_str()), |n| {
                (n.name.as_str(), n.traits.as_str())
            });
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            g.id,
            esc(name),
            g.clients,
            pct(g.share),
            g.training_lapse_rate.map_or_else(|| t.word("report.na"), pct),
            pct(g.mean_probability),
            pct(g.high_risk_share),
            esc(traits),
            t.action(&g.top_action)
        );
    }
    h.push_str("</table>");
}

fn actions_section(t: &Say, h: &mut String, s: &RunSummary) {
    let _ = write!(
        h,
        "<h2 id=\"actions\">{}</h2><table><tr>{}</tr>",
        t.word("report.actions.heading"),
        header(t, "report.actions.action_columns")
    );
    for (a, n) in by_count(&s.actions) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            t.action(a),
            small(*n, s.min_report_count)
        );
    }
    let _ = write!(
        h,
        "</table><table><tr>{}</tr>",
        header(t, "report.actions.stage_columns")
    );
    let mut stages: Vec<&(String, usize)> = s.stages.iter().collect();
    stages.sort_by_key(|(code, _)| reading_order(code));
    for (a, n) in stages {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            t.stage_or_tier(a),
            small(*n, s.min_report_count)
        );
    }
    h.push_str("</table>");
}

fn charts_section(t: &Say, h: &mut String, charts: &[ChartFiles]) {
    let _ = write!(
        h,
        "<h2 id=\"charts\">{}</h2>",
        t.word("report.charts.heading")
    );
    for c in charts {
        let svg = c.svg_text.trim_start_matches(|ch| ch != '<');
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
}

fn quality_section(t: &Say, h: &mut String, quality: &QualityReport) {
    let _ = write!(
        h,
        "<h2 id=\"quality\">{}</h2><p>{}</p><table><tr>{}</tr>",
        t.word("report.quality.heading"),
        t.fill(
            "report.quality.intro",
            &[
                ("date", &esc(&quality.extract_date)),
                ("clients", &quality.clients)
            ]
        ),
        header(t, "report.quality.columns")
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
}

/// Counts from the largest down, ties by name.
fn by_count(counts: &[(String, usize)]) -> Vec<&(String, usize)> {
    let mut sorted: Vec<&(String, usize)> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

fn small(n: usize, min: usize) -> String {
    if n > 0 && n < min {
        format!("&lt;{min}")
    } else {
        grouped(n as f64)
    }
}

/// A whole number with its thousands grouped ("41,468,570"): what a reader of figures
/// expects, in English and in Chinese business reports alike.
fn grouped(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v.round() < 0.0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Where a stage or tier (its word or code) stands in reading order: tiers from high to
/// low, stages along the client's journey (prospect to former client), exit states last.
fn reading_order(word: &str) -> (usize, &str) {
    const JOURNEY: [LifecycleStage; 10] = [
        LifecycleStage::Prospect,
        LifecycleStage::New,
        LifecycleStage::Established,
        LifecycleStage::Loyal,
        LifecycleStage::WonBack,
        LifecycleStage::AtRisk,
        LifecycleStage::Lapsed,
        LifecycleStage::Surrendered,
        LifecycleStage::Matured,
        LifecycleStage::Deceased,
    ];
    let rank = LifecycleStage::from_word(word)
        .and_then(|stage| JOURNEY.iter().position(|s| *s == stage))
        .or_else(|| {
            ValueTier::from_word(word).and_then(|t| ValueTier::ALL.iter().position(|x| *x == t))
        })
        .or_else(|| {
            ExitState::ALL
                .iter()
                .position(|e| e.code() == word)
                .map(|i| 100 + i)
        })
        .unwrap_or(usize::MAX);
    (rank, word)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn figures_group_their_thousands() {
        assert_eq!(super::grouped(41_468_570.4), "41,468,570");
        assert_eq!(super::grouped(999.6), "1,000");
        assert_eq!(super::grouped(12.0), "12");
        assert_eq!(super::grouped(-1234.0), "-1,234");
        assert_eq!(super::grouped(-0.2), "0");
        assert_eq!(super::grouped(f64::NAN), "-");
        assert_eq!(super::small(3, 10), "&lt;10");
        assert_eq!(super::small(12_345, 10), "12,345");
    }

    #[test]
    fn stages_read_along_the_journey_and_exits_come_last() {
        let mut codes = vec![
            "lapsed",
            "exit_died",
            "at risk",
            "prospect",
            "deceased",
            "new",
        ];
        codes.sort_by_key(|c| super::reading_order(c));
        assert_eq!(
            codes,
            [
                "prospect",
                "new",
                "at risk",
                "lapsed",
                "deceased",
                "exit_died"
            ]
        );
    }

    #[test]
    fn percentages_never_print_a_negative_zero() {
        assert_eq!(super::pct(-0.000_001), "0.0%");
        assert_eq!(super::pct(0.1234), "12.3%");
        assert_eq!(super::pct(-0.02), "-2.0%");
    }
}
