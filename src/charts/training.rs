//! Charts of a training run: the choice of k, segment sizes and lapse rates, the profile
//! heatmap, ROC, calibration, cumulative gains, the odds ratios and (for a binned lapse
//! model) the scorecard.

use super::{
    centre, exact, segment_colour, short, slot_label, slots, z_colour, ChartFiles, Say, BLUE, GREY,
    GRID, ORANGE,
};
use crate::bundle::Bundle;
use crate::chart;
use crate::error::Result;
use crate::vocab::Vocabulary;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Draws every training chart into `dir`.
///
/// # Errors
/// I/O errors and drawing failures.
pub fn draw_all(b: &Bundle, dir: &Path, w: &Vocabulary) -> Result<Vec<ChartFiles>> {
    let t = &Say::new(b, w);
    let mut out = Vec::new();
    if !b.segments.choice.is_empty() {
        out.push(k_choice(t, b, dir)?);
    }
    out.push(segment_sizes(t, b, dir)?);
    out.push(profile_heatmap(t, b, dir)?);
    out.push(roc(t, b, dir)?);
    out.push(calibration(t, b, dir)?);
    out.push(gains(t, b, dir)?);
    out.push(odds_ratios(t, b, dir)?);
    if !b.lapse.form.is_linear() {
        out.push(scorecard_in(t, b, dir)?);
    }
    Ok(out)
}

/// Inertia, silhouette, Calinski-Harabasz and Davies-Bouldin against k, chosen k marked.
fn k_choice(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let choice = &b.segments.choice;
    let chosen = b.segments.k() as f64;
    let kmin = choice.first().map_or(2, |c| c.k) as f64;
    let kmax = choice.last().map_or(10, |c| c.k) as f64;
    type Pick = fn(&crate::segment::KScore) -> f64;
    let panels: [(&str, Pick); 4] = [
        (t.word("chart.k_choice.inertia"), |c| c.inertia),
        (t.word("chart.k_choice.silhouette"), |c| c.silhouette),
        (t.word("chart.k_choice.calinski_harabasz"), |c| {
            c.calinski_harabasz
        }),
        (t.word("chart.k_choice.davies_bouldin"), |c| {
            c.davies_bouldin
        }),
    ];
    Ok(chart!(
        dir,
        "k_choice",
        t.word("chart.k_choice.name"),
        (1100, 760),
        |root| {
            let areas = root
                .titled(
                    &t.fill("chart.k_choice.title", &[("k", &b.segments.k())]),
                    t.pen.text(24),
                )?
                .split_evenly((2, 2));
            for (area, (title, pick)) in areas.iter().zip(panels) {
                let ys: Vec<f64> = choice.iter().map(pick).collect();
                let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let pad = ((hi - lo) * 0.1).max(1e-6);
                let mut c = ChartBuilder::on(area)
                    .caption(title, t.pen.text(17))
                    .margin(12)
                    .x_label_area_size(35)
                    .y_label_area_size(60)
                    .build_cartesian_2d(kmin - 0.5..kmax + 0.5, lo - pad..hi + pad)?;
                c.configure_mesh()
                    .light_line_style(GRID)
                    .x_desc("k")
                    .x_labels(choice.len())
                    .x_label_formatter(&|v| format!("{v:.0}"))
                    .label_style(t.pen.text(13))
                    .draw()?;
                c.draw_series(std::iter::once(Rectangle::new(
                    [(chosen - 0.4, lo - pad), (chosen + 0.4, hi + pad)],
                    ORANGE.mix(0.2).filled(),
                )))?;
                c.draw_series(LineSeries::new(
                    choice.iter().map(|s| s.k as f64).zip(ys.iter().copied()),
                    BLUE.stroke_width(2),
                ))?;
                c.draw_series(choice.iter().zip(&ys).map(|(s, &y)| {
                    let colour = if s.admissible { BLUE } else { GREY };
                    Circle::new((s.k as f64, y), 4, colour.filled())
                }))?;
            }
        }
    ))
}

/// Horizontal bars of segment shares, labelled with name, share and lapse rate.
fn segment_sizes(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let segs = &b.segments.segments;
    let n = segs.len();
    let max_share = segs.iter().map(|s| s.share).fold(0.0, f64::max).max(0.01);
    let names: Vec<String> = segs
        .iter()
        .map(|s| format!("{}  {}", s.id, short(t.name(s.id, &s.name), 38)))
        .collect();
    Ok(chart!(
        dir,
        "segment_sizes",
        t.word("chart.segment_sizes.name"),
        (1100, 120 + 60 * n as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.segment_sizes.title"), t.pen.text(22))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(330)
                .build_cartesian_2d(0.0..max_share * 1.45, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .light_line_style(WHITE)
                .x_desc(t.word("chart.segment_sizes.x"))
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_labels(n)
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(t.pen.text(15))
                .draw()?;
            for (i, s) in segs.iter().enumerate() {
                let colour = segment_colour(s.id);
                c.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, exact(i)), (s.share, exact(i + 1))],
                    colour.filled(),
                )))?;
                let rate = s.lapse_rate.map_or_else(
                    || t.word("chart.segment_sizes.no_rate").to_string(),
                    |r| {
                        t.fill(
                            "chart.segment_sizes.rate",
                            &[("rate", &format!("{:.1}", r * 100.0))],
                        )
                    },
                );
                c.draw_series(std::iter::once(Text::new(
                    format!("{:.1}%  ·  {rate}", s.share * 100.0),
                    (s.share + max_share * 0.02, centre(i)),
                    t.pen.text(15).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
            }
        }
    ))
}

/// Segments (columns) × numeric features (rows), cells coloured by z-score.
fn profile_heatmap(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let segs = &b.segments.segments;
    let features: Vec<String> = b.features.numeric.iter().map(|f| f.name.clone()).collect();
    let (ns, nf) = (segs.len(), features.len());
    let seg_labels: Vec<String> = segs
        .iter()
        .map(|s| format!("{} {}", s.id, short(t.name(s.id, &s.name), 16)))
        .collect();
    let top_down: Vec<String> = features.iter().rev().map(|f| t.w.column(f)).collect();
    Ok(chart!(
        dir,
        "profile_heatmap",
        t.word("chart.profile_heatmap.name"),
        (260 + 150 * ns as u32, 140 + 34 * nf as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    t.word("chart.profile_heatmap.training_title"),
                    t.pen.text(22),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(200)
                .build_cartesian_2d(slots(ns), slots(nf))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_mesh()
                .x_labels(ns)
                .x_label_formatter(&|v| slot_label(&seg_labels, v))
                .y_labels(nf)
                .y_label_formatter(&|v| slot_label(&top_down, v))
                .label_style(t.pen.text(13))
                .draw()?;
            for (si, s) in segs.iter().enumerate() {
                for (row, f) in features.iter().enumerate() {
                    let fi = nf - 1 - row;
                    let entry = s.profile.iter().find(|p| &p.feature == f);
                    let z = entry.map_or(0.0, |p| p.z);
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(exact(si), exact(fi)), (exact(si + 1), exact(fi + 1))],
                        z_colour(z).filled(),
                    )))?;
                    c.draw_series(std::iter::once(Text::new(
                        format!("{z:+.1}"),
                        (centre(si), centre(fi)),
                        t.pen.text(12).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}

fn roc(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let m = &b.metrics;
    Ok(chart!(
        dir,
        "roc",
        t.word("chart.roc.name"),
        (760, 700),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.roc.title"), t.pen.text(22))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc(t.word("chart.roc.x"))
                .y_desc(t.word("chart.roc.y"))
                .label_style(t.pen.text(14))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                GREY.stroke_width(1),
            ))?;
            c.draw_series(LineSeries::new(
                m.test.roc_curve.iter().copied(),
                BLUE.stroke_width(3),
            ))?
            .label(t.fill(
                "chart.roc.test",
                &[("auc", &format!("{:.3}", m.test.roc_auc))],
            ))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(3)));
            if let Some(o) = &m.out_of_time {
                c.draw_series(LineSeries::new(
                    o.metrics.roc_curve.iter().copied(),
                    ORANGE.stroke_width(3),
                ))?
                .label(t.fill(
                    "chart.roc.out_of_time",
                    &[
                        ("cutoff", &o.score_cutoff),
                        ("auc", &format!("{:.3}", o.metrics.roc_auc)),
                    ],
                ))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], ORANGE.stroke_width(3)));
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(t.pen.text(15))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()?;
        }
    ))
}

fn calibration(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let bins = &b.metrics.test.calibration;
    let top = bins
        .iter()
        .map(|c| c.mean_predicted.max(c.observed_rate))
        .fold(0.05, f64::max)
        * 1.1;
    let top = top.min(1.0);
    Ok(chart!(
        dir,
        "calibration",
        t.word("chart.calibration.name"),
        (760, 700),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    t.fill(
                        "chart.calibration.title",
                        &[("ece", &format!("{:.3}", b.metrics.test.ece))],
                    ),
                    t.pen.text(22),
                )
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..top, 0.0..top)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc(t.word("chart.calibration.x"))
                .y_desc(t.word("chart.calibration.y"))
                .label_style(t.pen.text(14))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, 0.0), (top, top)],
                GREY.stroke_width(1),
            ))?;
            c.draw_series(LineSeries::new(
                bins.iter().map(|b| (b.mean_predicted, b.observed_rate)),
                BLUE.stroke_width(2),
            ))?;
            c.draw_series(
                bins.iter()
                    .map(|b| Circle::new((b.mean_predicted, b.observed_rate), 5, BLUE.filled())),
            )?;
        }
    ))
}

fn gains(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let g = &b.metrics.test.gains;
    let lift10 = b.metrics.test.lift_at(0.1).unwrap_or(f64::NAN);
    Ok(chart!(
        dir,
        "gains",
        t.word("chart.gains.name"),
        (760, 700),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    t.fill("chart.gains.title", &[("lift", &format!("{lift10:.2}"))]),
                    t.pen.text(22),
                )
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(55)
                .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc(t.word("chart.gains.x"))
                .y_desc(t.word("chart.gains.y"))
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .label_style(t.pen.text(14))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                GREY.stroke_width(1),
            ))?;
            c.draw_series(LineSeries::new(
                std::iter::once((0.0, 0.0)).chain(g.iter().map(|x| (x.share, x.captured))),
                BLUE.stroke_width(3),
            ))?;
            c.draw_series(g.iter().filter(|x| x.share <= 0.21).map(|x| {
                EmptyElement::at((x.share, x.captured))
                    + Circle::new((0, 0), 4, ORANGE.filled())
                    + Text::new(
                        t.fill(
                            "chart.gains.point",
                            &[
                                ("share", &format!("{:.0}", x.share * 100.0)),
                                ("lift", &format!("{:.1}", x.lift)),
                            ],
                        ),
                        (8, 4),
                        t.pen.text(14),
                    )
            }))?;
        }
    ))
}

/// Forest plot of the 20 largest odds ratios with 95% intervals, log scale.
fn odds_ratios(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let mut ors: Vec<&crate::lapse::OddsRatio> = b.lapse.odds_ratios.iter().collect();
    ors.sort_by(|a, b| b.coefficient.abs().total_cmp(&a.coefficient.abs()));
    ors.truncate(20);
    ors.reverse();
    let n = ors.len();
    // The pairs' cell columns follow every other column of the model.
    let first_cell = b.lapse.form.offset(b.features.n_columns());
    let cells: std::collections::HashSet<&str> = b
        .lapse
        .columns
        .iter()
        .skip(first_cell)
        .map(String::as_str)
        .collect();
    let is_cell = |o: &crate::lapse::OddsRatio| cells.contains(o.feature.as_str());
    // Pair cells name two features: room for both, and for a whole name beside them.
    let (label_width, width, single) = if ors.iter().any(|o| is_cell(o)) {
        (470, 1140, 44)
    } else {
        (230, 900, 30)
    };
    let names: Vec<String> = ors
        .iter()
        .map(|o| odds_label(t, &o.feature, (is_cell(o), single)))
        .collect();
    let lo = ors.iter().map(|o| o.low.ln()).fold(-0.1, f64::min);
    let hi = ors.iter().map(|o| o.high.ln()).fold(0.1, f64::max);
    let pad = (hi - lo) * 0.05;
    Ok(chart!(
        dir,
        "odds_ratios",
        t.word("chart.odds_ratios.name"),
        (width, 140 + 30 * n as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.odds_ratios.title"), t.pen.text(20))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(label_width)
                .build_cartesian_2d(lo - pad..hi + pad, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .x_desc(t.word("chart.odds_ratios.x"))
                .x_label_formatter(&|v| format!("{:.2}", v.exp()))
                .y_labels(n)
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(t.pen.text(13))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, exact(0)), (0.0, exact(n))],
                GREY.stroke_width(1),
            ))?;
            for (i, o) in ors.iter().enumerate() {
                let colour = if o.coefficient > 0.0 {
                    RGBColor(202, 0, 32)
                } else {
                    RGBColor(5, 113, 176)
                };
                c.draw_series(LineSeries::new(
                    [(o.low.ln(), centre(i)), (o.high.ln(), centre(i))],
                    colour.stroke_width(2),
                ))?;
                c.draw_series(std::iter::once(Circle::new(
                    (o.coefficient, centre(i)),
                    5,
                    colour.filled(),
                )))?;
            }
        }
    ))
}

/// A model column in words for the odds-ratio chart; a pair's cell words each side, so
/// that shortening keeps both ("total intl calls: 2 & international plan=yes").
fn odds_label(t: &Say, column: &str, (pair_cell, single): (bool, usize)) -> String {
    match column.split_once(" & ").filter(|_| pair_cell) {
        Some((first, second)) => format!(
            "{} & {}",
            short_keeping_value(&t.w.column(first), 32),
            short_keeping_value(&t.w.column(second), 32)
        ),
        None => short_keeping_value(&t.w.column(column), single),
    }
}

/// `short`, but a column's bin or level after its feature's name (`name: bin`,
/// `name=level`) is kept whole while the name gives way: the value is what tells two
/// columns of one feature apart.
fn short_keeping_value(label: &str, max: usize) -> String {
    let split = label
        .split_once(": ")
        .map(|(n, v)| (n, ": ", v))
        .or_else(|| label.split_once('=').map(|(n, v)| (n, "=", v)));
    match split {
        Some((name, sep, value)) if label.chars().count() > max => {
            let room = max.saturating_sub(value.chars().count() + sep.len());
            if room >= 6 {
                format!("{}{sep}{value}", short(name, room))
            } else {
                short(label, max)
            }
        }
        _ => short(label, max),
    }
}

/// Most features the scorecard chart shows (those whose points range most).
const SCORECARD_FEATURES: usize = 12;

/// Scorecard of a binned lapse model: one panel per numeric feature (the 12 whose points
/// range most), one bar per bin, on a shared scale so that panels compare.
pub fn scorecard(b: &Bundle, dir: &Path, w: &Vocabulary) -> Result<ChartFiles> {
    scorecard_in(&Say::new(b, w), b, dir)
}

fn scorecard_in(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let mut panels: Vec<(String, Vec<String>, Vec<f64>)> = b
        .lapse
        .form
        .binned
        .iter()
        .filter_map(|bins| {
            let f = b.features.numeric.get(bins.column)?;
            let points = b.lapse.bin_points(bins.column)?;
            let words = (0..bins.width())
                .map(|i| crate::lapse::bin_words_in(t.w, f, bins, i))
                .collect();
            Some((t.w.feature(&f.name), words, points))
        })
        .collect();
    let range = |p: &[f64]| p.iter().copied().fold(0.0, f64::max);
    panels.sort_by(|a, b| range(&b.2).total_cmp(&range(&a.2)).then(a.0.cmp(&b.0)));
    panels.truncate(SCORECARD_FEATURES);
    let pairs = pair_panels(t, b);
    let top = panels
        .iter()
        .map(|p| range(&p.2))
        .chain(pairs.iter().map(PairPanel::largest_points))
        .fold(1.0, f64::max);
    let cols = 3;
    let rows = (panels.len() + pairs.len()).div_ceil(cols).max(1);
    Ok(chart!(
        dir,
        "scorecard",
        t.word("chart.scorecard.name"),
        (1350, 90 + 260 * rows as u32),
        |root| {
            let areas = root
                .titled(
                    &t.fill(
                        "chart.scorecard.title",
                        &[("points", &crate::lapse::POINTS_TO_DOUBLE)],
                    ),
                    t.pen.text(22),
                )?
                .split_evenly((rows, cols));
            for (area, (name, words, points)) in areas.iter().zip(&panels) {
                let n = points.len();
                let mut c = ChartBuilder::on(area)
                    .caption(name.as_str(), t.pen.text(17))
                    .margin(10)
                    .x_label_area_size(28)
                    .y_label_area_size(120)
                    .build_cartesian_2d(0.0..top * 1.3, slots(n))?;
                c.configure_mesh()
                    .light_line_style(GRID)
                    .disable_y_mesh()
                    .x_labels(4)
                    .x_label_formatter(&|v| format!("{v:.0}"))
                    .y_labels(n)
                    .y_label_formatter(&|v| slot_label(words, v))
                    .label_style(t.pen.text(12))
                    .draw()?;
                for (i, &p) in points.iter().enumerate() {
                    let colour = RGBColor(202, 0, 32).mix(0.25 + 0.75 * p / top);
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(0.0, exact(i)), (p, exact(i + 1))],
                        colour.filled(),
                    )))?;
                    c.draw_series(std::iter::once(Text::new(
                        format!("{p:.0}"),
                        (p + top * 0.02, centre(i)),
                        t.pen.text(12).pos(Pos::new(HPos::Left, VPos::Center)),
                    )))?;
                }
            }
            for (area, pair) in areas.iter().skip(panels.len()).zip(&pairs) {
                pair_table(t, area, pair, top)?;
            }
        }
    ))
}

/// A pairwise term of the lapse model as a table: the first feature's cells down, the
/// second's across, each cell's points.
struct PairPanel {
    title: String,
    down: Vec<String>,
    across: Vec<String>,
    /// Points per cell, row by row of `down`.
    points: Vec<f64>,
    /// Cells no training client fell in: their points rest on no one and are not shown.
    empty: Vec<bool>,
}

impl PairPanel {
    /// The most points of a cell holding clients: empty cells are drawn grey and do not
    /// set the colour scale.
    fn largest_points(&self) -> f64 {
        self.points
            .iter()
            .zip(&self.empty)
            .filter(|(_, &empty)| !empty)
            .map(|(&v, _)| v)
            .fold(0.0, f64::max)
    }
}

/// The rows and columns of a `rows` x `cols` table of cell `shares` (row by row) that
/// hold training clients: a row or column of none (a categorical's `other` when every
/// client had a known level) is left out of the chart.
fn held_rows_and_columns(shares: &[f64], (rows, cols): (usize, usize)) -> (Vec<usize>, Vec<usize>) {
    let share = |a: usize, b: usize| shares.get(a * cols + b).copied().unwrap_or(0.0);
    let held_rows = (0..rows)
        .filter(|&a| (0..cols).any(|b| share(a, b) > 0.0))
        .collect();
    let held_columns = (0..cols)
        .filter(|&b| (0..rows).any(|a| share(a, b) > 0.0))
        .collect();
    (held_rows, held_columns)
}

/// Every pair of the lapse model as a table of points.
fn pair_panels(t: &Say, b: &Bundle) -> Vec<PairPanel> {
    let base = b.features.n_columns();
    b.lapse
        .form
        .pairs
        .iter()
        .enumerate()
        .filter_map(|(p, pair)| {
            let points = b.lapse.pair_points(p, base)?;
            let (first, down) = side_parts(t, b, &pair.first)?;
            let (second, across) = side_parts(t, b, &pair.second)?;
            let title = t.fill(
                "chart.scorecard.pair",
                &[("first", &first), ("second", &second)],
            );
            let cols = across.len();
            let (rows, columns) = held_rows_and_columns(&pair.shares, (down.len(), cols));
            if rows.is_empty() || columns.is_empty() {
                return None;
            }
            let cells = || {
                rows.iter()
                    .flat_map(|&a| columns.iter().map(move |&b| a * cols + b))
            };
            Some(PairPanel {
                title,
                down: rows.iter().map(|&a| short(&down[a], 18)).collect(),
                across: columns.iter().map(|&b| short(&across[b], 14)).collect(),
                points: cells()
                    .map(|k| points.get(k).copied().unwrap_or(0.0))
                    .collect(),
                empty: cells()
                    .map(|k| pair.shares.get(k).is_none_or(|&s| s <= 0.0))
                    .collect(),
            })
        })
        .collect()
}

/// A side of a pair: its feature's label and each cell's words (a bin, a level).
fn side_parts(t: &Say, b: &Bundle, side: &crate::lapse::PairSide) -> Option<(String, Vec<String>)> {
    match side {
        crate::lapse::PairSide::Bins(bins) => {
            let f = b.features.numeric.get(bins.column)?;
            let cells = (0..bins.width())
                .map(|i| crate::lapse::bin_words_in(t.w, f, bins, i))
                .collect();
            Some((t.w.feature(&f.name), cells))
        }
        crate::lapse::PairSide::Levels { feature, count, .. } => {
            let c = b.features.categorical.get(*feature)?;
            let cells = (0..*count)
                .map(|i| {
                    c.levels
                        .get(i)
                        .map_or_else(|| t.word("reason.other").to_string(), String::clone)
                })
                .collect();
            Some((t.w.feature(&c.name), cells))
        }
    }
}

fn pair_table<DB: DrawingBackend>(
    t: &Say,
    area: &DrawingArea<DB, plotters::coord::Shift>,
    pair: &PairPanel,
    top: f64,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let (rows, cols) = (pair.down.len(), pair.across.len());
    let mut c = ChartBuilder::on(area)
        .caption(pair.title.as_str(), t.pen.text(15))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(120)
        .build_cartesian_2d(slots(cols), slots(rows))?;
    c.configure_mesh()
        .disable_mesh()
        .x_labels(cols)
        .x_label_formatter(&|v| slot_label(&pair.across, v))
        .y_labels(rows)
        .y_label_formatter(&|v| slot_label(&pair.down, v))
        .label_style(t.pen.text(11))
        .draw()?;
    for (k, &p) in pair.points.iter().enumerate() {
        let (a, b) = (k / cols.max(1), k % cols.max(1));
        let empty = pair.empty.get(k).copied().unwrap_or(false);
        let fill = if empty {
            RGBColor(235, 235, 235).filled()
        } else {
            RGBColor(202, 0, 32).mix(0.08 + 0.8 * p / top).filled()
        };
        c.draw_series(std::iter::once(Rectangle::new(
            [(exact(b), exact(a)), (exact(b + 1), exact(a + 1))],
            fill,
        )))?;
        if empty {
            continue;
        }
        c.draw_series(std::iter::once(Text::new(
            format!("{p:.0}"),
            (centre(b), centre(a)),
            t.pen.text(13).pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{held_rows_and_columns, short_keeping_value};

    #[test]
    fn a_shortened_column_keeps_its_bin_or_level() {
        assert_eq!(
            short_keeping_value("number_customer_service_calls: 4", 20),
            "number_customer_…: 4"
        );
        assert_eq!(
            short_keeping_value("international_plan=yes", 16),
            "internation…=yes"
        );
        assert_eq!(short_keeping_value("tenure: 2", 30), "tenure: 2");
        // A value too long to keep whole: shortened like any label.
        assert_eq!(
            short_keeping_value("x: a very long bin description", 12),
            "x: a very l…"
        );
    }

    #[test]
    fn a_pair_table_leaves_out_rows_and_columns_no_client_fell_in() {
        // 3 x 3: the last row and the last column (a categorical's "other") are empty,
        // and so is one inner cell, which stays (its row and column hold clients).
        let shares = [0.2, 0.0, 0.0, 0.3, 0.5, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(
            held_rows_and_columns(&shares, (3, 3)),
            (vec![0, 1], vec![0, 1])
        );
        // Nothing held: an empty table, not a panic.
        assert_eq!(held_rows_and_columns(&[0.0; 4], (2, 2)), (vec![], vec![]));
    }
}
