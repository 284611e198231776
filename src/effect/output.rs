//! `effect.csv` and the report's effect section, from the readout and this month's
//! holdout sizes (aggregates only).

use super::readout::{EffectReadout, EffectRow, Level, Outcome};
use super::words;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Clients an action was recommended to this month and how many were held out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldoutSize {
    pub action: String,
    pub clients: usize,
    pub held_out: usize,
    pub share: f64,
}

/// The sizes from (action -> [clients, held out]).
pub fn holdout_sizes(counts: &BTreeMap<String, [usize; 2]>) -> Vec<HoldoutSize> {
    counts
        .iter()
        .map(|(action, &[clients, held_out])| HoldoutSize {
            action: action.clone(),
            clients,
            held_out,
            share: held_out as f64 / clients.max(1) as f64,
        })
        .collect()
}

pub const CSV_COLUMNS: [&str; 20] = [
    "action",
    "action_code",
    "segment",
    "tier",
    "level",
    "outcome",
    "treated",
    "holdout",
    "treated_rate",
    "holdout_rate",
    "uplift",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "verdict",
    "small",
    "incremental_premium",
    "cost",
    "roi",
];

fn number(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        String::new()
    }
}

fn code<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|j| j.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `effect.csv`: one row per action x segment x tier x outcome (`all` in totals).
pub fn to_csv(r: &EffectReadout) -> String {
    use crate::fsio::csv_cell_for_people as cell;
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for row in &r.rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            quoted(&cell(&row.action)),
            row.action_code,
            row.segment,
            quoted(&cell(&row.tier)),
            code(&row.level),
            row.outcome.code(),
            row.treated,
            row.holdout,
            number(row.treated_rate),
            number(row.holdout_rate),
            number(row.uplift),
            number(row.ci_low),
            number(row.ci_high),
            number(row.p_value),
            number(row.q_value),
            code(&row.verdict),
            row.small,
            row.incremental_premium.map(number).unwrap_or_default(),
            number(row.cost),
            row.roi.map(number).unwrap_or_default(),
        );
    }
    out
}

/// A CSV field, quoted when it holds a comma or a quote.
fn quoted(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn pct(v: f64) -> String {
    if v.is_finite() {
        let x = v * 100.0;
        format!("{:.1}%", if x.abs() < 0.05 { 0.0 } else { x })
    } else {
        words::NA.into()
    }
}

fn points(v: f64) -> String {
    if v.is_finite() {
        let x = v * 100.0;
        format!("{:+.1}", if x.abs() < 0.05 { 0.0 } else { x })
    } else {
        words::NA.into()
    }
}

/// What the report's effect section is drawn from (aggregates only).
pub struct Section<'a> {
    pub holdouts: &'a [HoldoutSize],
    pub readout: Option<&'a EffectReadout>,
    /// The readout over every randomised readout so far, when there were several.
    pub history: Option<&'a EffectReadout>,
    /// Rows with an arm of fewer clients (but some) stay in `effect.csv` only: a rate of
    /// one or two clients tells what happened to them.
    pub min_report_count: usize,
}

impl Section<'_> {
    fn private(&self, n: usize) -> bool {
        n > 0 && n < self.min_report_count
    }

    fn shown(&self, x: &EffectRow) -> bool {
        !self.private(x.treated) && !self.private(x.holdout)
    }

    fn count(&self, n: usize) -> String {
        if self.private(n) {
            format!("&lt;{}", self.min_report_count)
        } else {
            n.to_string()
        }
    }
}

/// The report's effect section: with a previous run, the readout (action totals and
/// segment rows; cells are in `effect.csv`) and its history; this month's holdout sizes.
pub fn html_section(h: &mut String, s: &Section, esc: fn(&str) -> String) {
    let _ = write!(h, "<h2 id=\"effect\">{}</h2>", esc(words::SECTION_TITLE));
    if let Some(r) = s.readout {
        readout_tables(h, s, r, esc);
    }
    if let Some(r) = s.history {
        let dates: Vec<String> = r.months.iter().map(ToString::to_string).collect();
        let _ = write!(
            h,
            "<h3>{}</h3><p>{}</p>",
            esc(words::HISTORY_TITLE),
            esc(&words::history_intro(&dates.join(", ")))
        );
        header(h, &words::COLUMNS, esc);
        let totals = r
            .rows
            .iter()
            .filter(|x| x.level == Level::Action && x.outcome != Outcome::Surrender && s.shown(x));
        for x in totals {
            row(h, x, esc);
        }
        h.push_str("</table>");
    }
    if s.holdouts.iter().any(|x| x.held_out > 0) {
        let _ = write!(
            h,
            "<h3>{}</h3><p>{}</p>",
            esc(words::HOLDOUT_TITLE),
            esc(words::HOLDOUT_INTRO)
        );
        header(h, &words::HOLDOUT_COLUMNS, esc);
        for x in s.holdouts.iter().filter(|x| x.held_out > 0) {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&x.action),
                s.count(x.clients),
                s.count(x.held_out),
                pct(x.share)
            );
        }
        h.push_str("</table>");
    }
}

fn header(h: &mut String, columns: &[&str], esc: fn(&str) -> String) {
    h.push_str("<table><tr>");
    for c in columns {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
}

fn readout_tables(h: &mut String, s: &Section, r: &EffectReadout, esc: fn(&str) -> String) {
    let _ = write!(h, "<p>{}</p>", esc(words::SECTION_INTRO));
    for n in &r.notes {
        let _ = write!(h, "<p class=\"banner\">{}</p>", esc(n));
    }
    header(h, &words::COLUMNS, esc);
    // Action totals on every outcome but surrender, segments on lapse; the rest is in
    // effect.csv.
    let listed = |x: &&EffectRow| match x.level {
        Level::Action => x.outcome != Outcome::Surrender,
        // Segments of an action without a holdout add nothing the total does not say.
        Level::Segment => x.outcome == Outcome::Lapse && x.holdout > 0,
        Level::Cell => false,
    };
    let (shown, private): (Vec<&EffectRow>, Vec<&EffectRow>) =
        r.rows.iter().filter(listed).partition(|x| s.shown(x));
    for x in shown {
        row(h, x, esc);
    }
    h.push_str("</table>");
    if !private.is_empty() {
        let _ = write!(
            h,
            "<p>{}</p>",
            esc(&words::rows_in_csv_only(private.len(), s.min_report_count))
        );
    }
    if !r.targeting.is_empty() {
        let _ = write!(
            h,
            "<h3>{}</h3><p>{}</p>",
            esc(words::TARGETING_TITLE),
            esc(words::TARGETING_INTRO)
        );
        header(h, &words::TARGETING_COLUMNS, esc);
        for t in &r.targeting {
            let q = t
                .qini_coefficient
                .map_or(words::NA.into(), |q| format!("{q:.4}"));
            let shown = t
                .deciles
                .iter()
                .filter(|d| !s.private(d.treated) && !s.private(d.holdout));
            for d in shown {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&t.action),
                    d.decile,
                    d.treated,
                    d.holdout,
                    points(d.uplift),
                    q
                );
            }
        }
        h.push_str("</table>");
    }
}

fn row(h: &mut String, x: &EffectRow, esc: fn(&str) -> String) {
    let small = if x.small {
        format!(" ({})", words::SMALL)
    } else {
        String::new()
    };
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({} to {})</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
        esc(&x.action),
        esc(&x.segment),
        esc(&x.tier),
        esc(words::outcome(x.outcome)),
        x.treated,
        x.holdout,
        esc(&small),
        pct(x.treated_rate),
        pct(x.holdout_rate),
        points(x.uplift),
        points(x.ci_low),
        points(x.ci_high),
        if x.q_value.is_finite() { format!("{:.3}", x.q_value) } else { words::NA.into() },
        esc(words::verdict(x.verdict)),
        x.roi.map_or(words::NA.into(), |v| format!("{:.0}%", v * 100.0)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_csv_cells() {
        let mut m = BTreeMap::new();
        m.insert("call".to_string(), [200, 19]);
        let s = holdout_sizes(&m);
        assert_eq!((s[0].held_out, s[0].share), (19, 0.095));
        assert_eq!(quoted("a, b"), "\"a, b\"");
        assert_eq!(number(f64::NAN), "");
        assert_eq!(points(-0.0312), "-3.1");
    }
}
