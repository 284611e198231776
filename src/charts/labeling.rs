//! Cluster-profile charts of a labeling run, for managers: segment sizes and risk,
//! profiles, segment centres, a 2-D projection, risk distributions, value tier x risk band,
//! and the month-to-month migration. Segments below the report minimum are left out.

use super::{
    centre, compact, exact, segment_colour, short, slot_label, slots, z_colour, ChartFiles, Say,
    GREY, GRID,
};
use crate::bundle::Bundle;
use crate::chart;
use crate::error::Result;
use crate::labeling::{RunSummary, SegmentSummary};
use crate::vocab::{RiskBand, ValueTier, Vocabulary};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Draws every labeling chart into `dir`.
///
/// # Errors
/// I/O errors and drawing failures.
pub fn draw_all(
    b: &Bundle,
    s: &RunSummary,
    sample: &[(u32, Vec<f64>)],
    dir: &Path,
    w: &Vocabulary,
) -> Result<Vec<ChartFiles>> {
    let t = &Say::new(b, w);
    let shown: Vec<&SegmentSummary> = s.segments.iter().filter(|g| !g.suppressed).collect();
    let mut out = vec![
        segment_risk(t, &shown, dir)?,
        profile_heatmap(t, &shown, dir)?,
        centres(t, b, dir)?,
        projection(t, &shown, sample, dir)?,
        risk_distribution(t, &shown, b.lapse.bands.high, dir)?,
        tier_band(t, s, dir)?,
    ];
    if let Some(m) = &s.migration {
        out.push(migration(t, m, s.min_report_count, dir)?);
    }
    if let Some(m) = s.stage_migration.as_ref().filter(|m| !m.is_empty()) {
        out.push(crate::progress::timed("stage migration chart", || {
            stage_migration(t, m, s.min_report_count, dir)
        })?);
    }
    if let Some(p) = &s.products {
        out.push(products(t, p, &shown, dir)?);
    }
    if let Some(o) = s.outcomes.as_ref().filter(|o| o.known > 0) {
        out.push(outcomes(t, o, dir)?);
    }
    if let Some(e) = s
        .effect
        .as_ref()
        .filter(|e| e.identified && !e.rows.is_empty())
    {
        out.push(super::effect::forest(e, s.min_report_count, dir, t.pen)?);
    }
    if !b.lapse.form.is_linear() {
        // What the reasons of a scorecard model mean: the points of every bin.
        out.push(super::training::scorecard(b, dir, w)?);
    }
    Ok(out)
}

fn seg_label(t: &Say, g: &SegmentSummary, max: usize) -> String {
    format!("{} {}", g.id, short(t.name(g.id, &g.name), max))
}

/// Share of clients per segment with the mean lapse probability.
fn segment_risk(t: &Say, shown: &[&SegmentSummary], dir: &Path) -> Result<ChartFiles> {
    let n = shown.len();
    let max_share = shown.iter().map(|g| g.share).fold(0.01, f64::max);
    let names: Vec<String> = shown.iter().map(|g| seg_label(t, g, 38)).collect();
    Ok(chart!(
        dir,
        "segment_risk",
        t.word("chart.segment_risk.name"),
        (1100, 120 + 60 * n.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.segment_risk.title"), t.pen.text(22))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(330)
                .build_cartesian_2d(0.0..max_share * 1.6, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .light_line_style(WHITE)
                .x_desc(t.word("chart.segment_risk.x"))
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(t.pen.text(15))
                .draw()?;
            for (i, g) in shown.iter().enumerate() {
                c.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, exact(i)), (g.share, exact(i + 1))],
                    segment_colour(g.id).filled(),
                )))?;
                c.draw_series(std::iter::once(Text::new(
                    t.fill(
                        "chart.segment_risk.bar",
                        &[
                            ("share", &format!("{:.1}", g.share * 100.0)),
                            ("risk", &format!("{:.1}", g.mean_probability * 100.0)),
                        ],
                    ),
                    (g.share + max_share * 0.02, centre(i)),
                    t.pen.text(15).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
            }
        }
    ))
}

/// Segments x numeric features: colour = mean z against the training book, label = z and
/// the mean in original units.
fn profile_heatmap(t: &Say, shown: &[&SegmentSummary], dir: &Path) -> Result<ChartFiles> {
    let features: Vec<String> = shown
        .first()
        .map(|g| g.profile.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let (ns, nf) = (shown.len(), features.len());
    let top_down: Vec<String> = features.iter().rev().map(|f| t.w.column(f)).collect();
    let seg_labels: Vec<String> = shown.iter().map(|g| seg_label(t, g, 16)).collect();
    Ok(chart!(
        dir,
        "profile_heatmap",
        t.word("chart.profile_heatmap.name"),
        (260 + 170 * ns.max(1) as u32, 140 + 34 * nf.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.profile_heatmap.title"), t.pen.text(20))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(200)
                .build_cartesian_2d(slots(ns), slots(nf))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_mesh()
                .x_labels(ns.max(1))
                .x_label_formatter(&|v| slot_label(&seg_labels, v))
                .y_labels(nf.max(1))
                .y_label_formatter(&|v| slot_label(&top_down, v))
                .label_style(t.pen.text(13))
                .draw()?;
            for (si, g) in shown.iter().enumerate() {
                for (row, (_, z, mean)) in g.profile.iter().enumerate() {
                    let fi = nf - 1 - row;
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(exact(si), exact(fi)), (exact(si + 1), exact(fi + 1))],
                        z_colour(*z).filled(),
                    )))?;
                    c.draw_series(std::iter::once(Text::new(
                        format!("{z:+.1} ({})", compact(*mean)),
                        (centre(si), centre(fi)),
                        t.pen.text(12).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}

/// Parallel coordinates of the segment centres over the segment features.
fn centres(t: &Say, b: &Bundle, dir: &Path) -> Result<ChartFiles> {
    let feats = &b.segments.features;
    let d = feats.len();
    let lo = b
        .segments
        .segments
        .iter()
        .flat_map(|s| s.centre.iter().copied())
        .fold(-1.0, f64::min);
    let hi = b
        .segments
        .segments
        .iter()
        .flat_map(|s| s.centre.iter().copied())
        .fold(1.0, f64::max);
    let names: Vec<String> = feats.iter().map(|f| t.w.column(f)).collect();
    Ok(chart!(
        dir,
        "segment_centres",
        t.word("chart.segment_centres.name"),
        (1000, 620),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.segment_centres.title"), t.pen.text(22))
                .margin(20)
                .x_label_area_size(45)
                .y_label_area_size(50)
                .build_cartesian_2d(-0.3..(d as f64 - 0.7), (lo - 0.3)..(hi + 0.3))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_labels(d)
                .x_label_formatter(&|v| {
                    let i = v.round();
                    if (v - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_desc(t.word("chart.z_score"))
                .label_style(t.pen.text(14))
                .draw()?;
            for s in &b.segments.segments {
                let colour = segment_colour(s.id);
                c.draw_series(LineSeries::new(
                    s.centre.iter().enumerate().map(|(j, &z)| (j as f64, z)),
                    colour.stroke_width(3),
                ))?
                .label(format!("{} {}", s.id, short(t.name(s.id, &s.name), 34)))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3))
                });
                c.draw_series(
                    s.centre
                        .iter()
                        .enumerate()
                        .map(|(j, &z)| Circle::new((j as f64, z), 4, colour.filled())),
                )?;
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(t.pen.text(13))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()?;
        }
    ))
}

/// First two principal components of the sampled clients' segment features.
pub fn principal_axes(points: &[Vec<f64>]) -> Option<(Vec<f64>, [Vec<f64>; 2])> {
    let d = points.first()?.len();
    let n = points.len() as f64;
    if d < 2 || points.len() < 3 {
        return None;
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| points.iter().map(|p| p[j]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![vec![0.0; d]; d];
    for p in points {
        for a in 0..d {
            for b in 0..d {
                cov[a][b] += (p[a] - mean[a]) * (p[b] - mean[b]) / n;
            }
        }
    }
    let power = |cov: &Vec<Vec<f64>>| -> Vec<f64> {
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + j as f64 * 0.01).collect();
        for _ in 0..200 {
            let w: Vec<f64> = (0..d)
                .map(|a| (0..d).map(|b| cov[a][b] * v[b]).sum())
                .collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
            v = w.iter().map(|x| x / norm).collect();
        }
        v
    };
    let v1 = power(&cov);
    let l1: f64 = (0..d)
        .map(|a| v1[a] * (0..d).map(|b| cov[a][b] * v1[b]).sum::<f64>())
        .sum();
    let deflated: Vec<Vec<f64>> = (0..d)
        .map(|a| (0..d).map(|b| cov[a][b] - l1 * v1[a] * v1[b]).collect())
        .collect();
    let v2 = power(&deflated);
    Some((mean, [v1, v2]))
}

fn projection(
    t: &Say,
    shown: &[&SegmentSummary],
    sample: &[(u32, Vec<f64>)],
    dir: &Path,
) -> Result<ChartFiles> {
    let visible: Vec<u32> = shown.iter().map(|g| g.id).collect();
    let pts: Vec<&(u32, Vec<f64>)> = sample.iter().filter(|(s, _)| visible.contains(s)).collect();
    let coords: Vec<(u32, f64, f64)> =
        match principal_axes(&pts.iter().map(|p| p.1.clone()).collect::<Vec<_>>()) {
            Some((mean, [a, b])) => pts
                .iter()
                .map(|(s, p)| {
                    let c: Vec<f64> = p.iter().zip(&mean).map(|(x, m)| x - m).collect();
                    let dot = |v: &Vec<f64>| c.iter().zip(v).map(|(x, y)| x * y).sum::<f64>();
                    (*s, dot(&a), dot(&b))
                })
                .collect(),
            None => Vec::new(),
        };
    let ext = coords
        .iter()
        .fold(1.0f64, |m, (_, x, y)| m.max(x.abs()).max(y.abs()))
        * 1.05;
    Ok(chart!(
        dir,
        "projection",
        t.word("chart.projection.name"),
        (900, 820),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    t.fill("chart.projection.title", &[("n", &coords.len())]),
                    t.pen.text(20),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-ext..ext, -ext..ext)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc(t.word("chart.projection.x"))
                .y_desc(t.word("chart.projection.y"))
                .label_style(t.pen.text(13))
                .draw()?;
            for g in shown {
                let colour = segment_colour(g.id);
                c.draw_series(
                    coords
                        .iter()
                        .filter(|(s, _, _)| *s == g.id)
                        .map(|(_, x, y)| Circle::new((*x, *y), 2, colour.mix(0.6).filled())),
                )?
                .label(seg_label(t, g, 34))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(t.pen.text(13))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()?;
        }
    ))
}

/// Box per segment: 10-90% whiskers, 25-75% box, median line, and the high-risk threshold.
fn risk_distribution(
    t: &Say,
    shown: &[&SegmentSummary],
    high: f64,
    dir: &Path,
) -> Result<ChartFiles> {
    let n = shown.len();
    let top = shown
        .iter()
        .map(|g| g.probability_quantiles[4])
        .fold(high, f64::max)
        .min(1.0)
        * 1.15;
    let names: Vec<String> = shown.iter().map(|g| seg_label(t, g, 38)).collect();
    Ok(chart!(
        dir,
        "risk_distribution",
        t.word("chart.risk_distribution.name"),
        (1100, 120 + 60 * n.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(t.word("chart.risk_distribution.title"), t.pen.text(22))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(330)
                .build_cartesian_2d(0.0..top, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .x_desc(t.word("chart.risk_distribution.x"))
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(t.pen.text(15))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(high, exact(0)), (high, exact(n))],
                RGBColor(202, 0, 32).stroke_width(2),
            ))?
            .label(t.fill(
                "chart.risk_distribution.threshold",
                &[("threshold", &format!("{:.1}", high * 100.0))],
            ))
            .legend(|(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], RGBColor(202, 0, 32).stroke_width(2))
            });
            for (i, g) in shown.iter().enumerate() {
                let q = g.probability_quantiles;
                let colour = segment_colour(g.id);
                c.draw_series(LineSeries::new(
                    [(q[0], centre(i)), (q[4], centre(i))],
                    colour.stroke_width(2),
                ))?;
                c.draw_series(std::iter::once(Rectangle::new(
                    [(q[1], exact(i)), (q[3], exact(i + 1))],
                    colour.mix(0.7).filled(),
                )))?;
                c.draw_series(LineSeries::new(
                    [(q[2], exact(i)), (q[2], exact(i + 1))],
                    BLACK.stroke_width(3),
                ))?;
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .label_font(t.pen.text(14))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()?;
        }
    ))
}

/// The axes of a count matrix: row and column labels with their titles.
struct MatrixAxes<'a> {
    rows: &'a [String],
    cols: &'a [String],
    x_desc: &'a str,
    y_desc: &'a str,
}

/// A count matrix drawn as a heatmap, cells below `min` shown as "<min".
/// A matrix cell's colour: white at 0, the matrix blue at 1.
fn cell_fill(shade: f64) -> RGBColor {
    let mix = |to: f64| (255.0 - shade * (255.0 - to)) as u8;
    RGBColor(mix(78.0), mix(121.0), mix(167.0))
}

fn count_matrix(
    t: &Say,
    dir: &Path,
    (caption, name): (&str, &str),
    title: &str,
    axes: &MatrixAxes,
    count: &dyn Fn(usize, usize) -> usize,
    min: usize,
) -> Result<ChartFiles> {
    let (nr, nc) = (axes.rows.len(), axes.cols.len());
    let max = (0..nr)
        .flat_map(|r| (0..nc).map(move |c| (r, c)))
        .map(|(r, c)| count(r, c))
        .max()
        .unwrap_or(1)
        .max(1);
    let shade = |r: usize, c: usize| (count(r, c) as f64 / max as f64).sqrt();
    shaded_matrix(t, dir, (caption, name), title, axes, (count, &shade), min)
}

/// A matrix cell's count, and its shade from 0 to 1, by (row, column).
type CellCount<'a> = dyn Fn(usize, usize) -> usize + 'a;
type CellShade<'a> = dyn Fn(usize, usize) -> f64 + 'a;

/// A count matrix drawn as a heatmap shaded by `shade` (0 to 1) of each cell, cells
/// below `min` shown as "<min".
fn shaded_matrix(
    t: &Say,
    dir: &Path,
    (caption, name): (&str, &str),
    title: &str,
    axes: &MatrixAxes,
    (count, shade): (&CellCount, &CellShade),
    min: usize,
) -> Result<ChartFiles> {
    let (rows, cols, x_desc, y_desc) = (axes.rows, axes.cols, axes.x_desc, axes.y_desc);
    let (nr, nc) = (rows.len(), cols.len());
    let top_down: Vec<String> = rows.iter().rev().cloned().collect();
    Ok(chart!(
        dir,
        name,
        caption,
        (300 + 160 * nc.max(1) as u32, 160 + 60 * nr.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(title, t.pen.text(22))
                .margin(15)
                .x_label_area_size(50)
                .y_label_area_size(220)
                .build_cartesian_2d(slots(nc), slots(nr))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_mesh()
                .x_labels(nc.max(1))
                .x_label_formatter(&|v| slot_label(cols, v))
                .y_labels(nr.max(1))
                .y_label_formatter(&|v| slot_label(&top_down, v))
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style(t.pen.text(14))
                .draw()?;
            for r in 0..nr {
                for col in 0..nc {
                    let k = count(r, col);
                    let y = nr - 1 - r;
                    let fill = cell_fill(shade(r, col).clamp(0.0, 1.0));
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(exact(col), exact(y)), (exact(col + 1), exact(y + 1))],
                        fill.filled(),
                    )))?;
                    let label = if k == 0 {
                        "0".to_string()
                    } else if k < min {
                        format!("<{min}")
                    } else {
                        k.to_string()
                    };
                    c.draw_series(std::iter::once(Text::new(
                        label,
                        (centre(col), centre(y)),
                        t.pen.text(15).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}

fn tier_band(t: &Say, s: &RunSummary, dir: &Path) -> Result<ChartFiles> {
    // The summary counts by the English words; the axes show the run's.
    let tiers: Vec<ValueTier> = ValueTier::ALL
        .iter()
        .copied()
        .filter(|v| s.tier_band.iter().any(|(x, _, _)| x == v.as_str()))
        .collect();
    let bands = [RiskBand::Low, RiskBand::Medium, RiskBand::High];
    let lookup = |r: usize, c: usize| {
        s.tier_band
            .iter()
            .find(|(x, y, _)| {
                tiers.get(r).is_some_and(|v| v.as_str() == x)
                    && bands.get(c).is_some_and(|v| v.as_str() == y)
            })
            .map_or(0, |x| x.2)
    };
    let rows: Vec<String> = tiers
        .iter()
        .map(|v| t.w.of("tier", v.code()).to_string())
        .collect();
    let cols: Vec<String> = bands
        .iter()
        .map(|v| t.w.of("band", v.code()).to_string())
        .collect();
    let axes = MatrixAxes {
        rows: &rows,
        cols: &cols,
        x_desc: t.word("chart.tier_band.x"),
        y_desc: t.word("chart.tier_band.y"),
    };
    let title = t.word("chart.tier_band.title");
    let names = (t.word("chart.tier_band.name"), "tier_band");
    count_matrix(t, dir, names, title, &axes, &lookup, s.min_report_count)
}

fn migration(t: &Say, m: &[(u32, u32, usize)], min: usize, dir: &Path) -> Result<ChartFiles> {
    let mut from: Vec<u32> = m.iter().map(|x| x.0).collect();
    let mut to: Vec<u32> = m.iter().map(|x| x.1).collect();
    from.sort_unstable();
    from.dedup();
    to.sort_unstable();
    to.dedup();
    let label = |s: &u32| t.fill("chart.migration.segment", &[("id", s)]);
    let rows: Vec<String> = from.iter().map(label).collect();
    let cols: Vec<String> = to.iter().map(label).collect();
    let lookup = |r: usize, c: usize| {
        m.iter()
            .find(|x| Some(&x.0) == from.get(r) && Some(&x.1) == to.get(c))
            .map_or(0, |x| x.2)
    };
    let axes = MatrixAxes {
        rows: &rows,
        cols: &cols,
        x_desc: t.word("chart.migration.x"),
        y_desc: t.word("chart.migration.y"),
    };
    let title = t.word("chart.migration.title");
    let names = (t.word("chart.migration.name"), "migration");
    count_matrix(t, dir, names, title, &axes, &lookup, min)
}

/// The lifecycle stage moves since the previous run, exit states as columns after the
/// stages: counts in the cells, each cell shaded by its share of the row.
fn stage_migration(
    t: &Say,
    m: &[(String, String, usize)],
    min: usize,
    dir: &Path,
) -> Result<ChartFiles> {
    use crate::lifecycle::ExitState;
    use crate::vocab::LifecycleStage;
    let order = |code: &str| {
        LifecycleStage::ALL
            .iter()
            .position(|s| s.code() == code)
            .or_else(|| {
                ExitState::ALL
                    .iter()
                    .position(|e| e.code() == code)
                    .map(|i| LifecycleStage::ALL.len() + i)
            })
            .unwrap_or(usize::MAX)
    };
    let codes = |pick: fn(&(String, String, usize)) -> &str| {
        let mut v: Vec<&str> = m.iter().map(pick).collect();
        v.sort_unstable_by_key(|c| (order(c), *c));
        v.dedup();
        v
    };
    let (from, to) = (codes(|x| &x.0), codes(|x| &x.1));
    let word = |code: &str| {
        LifecycleStage::ALL
            .iter()
            .find(|s| s.code() == code)
            .map(|s| t.w.of("stage", s.code()))
            .or_else(|| ExitState::from_code(code).map(|e| t.w.of("exit", e.word_key())))
            .unwrap_or(code)
            .to_string()
    };
    let rows: Vec<String> = from.iter().map(|c| word(c)).collect();
    let cols: Vec<String> = to.iter().map(|c| word(c)).collect();
    let lookup = |r: usize, c: usize| {
        m.iter()
            .find(|x| Some(&x.0.as_str()) == from.get(r) && Some(&x.1.as_str()) == to.get(c))
            .map_or(0, |x| x.2)
    };
    let row_total = |r: usize| (0..to.len()).map(|c| lookup(r, c)).sum::<usize>().max(1);
    let share = |r: usize, c: usize| lookup(r, c) as f64 / row_total(r) as f64;
    let axes = MatrixAxes {
        rows: &rows,
        cols: &cols,
        x_desc: t.word("chart.stage_migration.x"),
        y_desc: t.word("chart.stage_migration.y"),
    };
    let title = t.word("chart.stage_migration.title");
    let names = (t.word("chart.stage_migration.name"), "stage_migration");
    shaded_matrix(t, dir, names, title, &axes, (&lookup, &share), min)
}

/// The top of both axes of the outcomes chart: the largest rate shown, with room above.
fn outcomes_scale(
    bands: &[&crate::labeling::outcomes::BandOutcome],
    bins: &[(usize, f64, f64)],
) -> f64 {
    bands
        .iter()
        .flat_map(|b| [b.lapse_rate, b.predicted_rate])
        .chain(bins.iter().flat_map(|b| [b.1, b.2]))
        .filter(|v| v.is_finite())
        .fold(0.001, f64::max)
        * 1.15
}

/// A risk band's word in the run's language (a band the vocabulary lacks as written).
fn band_name(t: &Say, band: &str) -> String {
    RiskBand::from_word(band).map_or_else(
        || band.to_string(),
        |v| t.w.of("band", v.code()).to_string(),
    )
}

/// How last month's predictions turned out: realised against predicted lapse rate per
/// risk band (left) and per bin of the training score distribution (right).
fn outcomes(t: &Say, o: &crate::labeling::outcomes::Outcomes, dir: &Path) -> Result<ChartFiles> {
    let bands: Vec<&crate::labeling::outcomes::BandOutcome> =
        o.bands.iter().filter(|b| b.clients > 0).collect();
    let bins: Vec<(usize, f64, f64)> = o
        .calibration
        .iter()
        .enumerate()
        .filter(|(_, c)| c.clients > 0)
        .map(|(i, c)| (i, c.predicted_rate, c.lapse_rate))
        .collect();
    let top = outcomes_scale(&bands, &bins);
    let names: Vec<String> = bands.iter().map(|b| band_name(t, &b.band)).collect();
    let title = t.fill("chart.outcomes.title", &[("months", &o.window_months)]);
    Ok(chart!(
        dir,
        "outcomes",
        t.word("chart.outcomes.name"),
        (1200, 520),
        |root| {
            let areas = root.titled(&title, t.pen.text(20))?.split_evenly((1, 2));
            let (left, right) = (&areas[0], &areas[1]);
            let mut c = ChartBuilder::on(left)
                .caption(t.word("chart.outcomes.by_band"), t.pen.text(16))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(slots(names.len()), 0.0..top)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_x_mesh()
                .x_labels(names.len())
                .x_label_formatter(&|v| slot_label(&names, v))
                .y_label_formatter(&|v| format!("{:.1}%", v * 100.0))
                .label_style(t.pen.text(14))
                .draw()?;
            for (i, b) in bands.iter().enumerate() {
                c.draw_series(std::iter::once(Rectangle::new(
                    [(exact(i), 0.0), (exact(i + 1), b.lapse_rate.max(0.0))],
                    RGBColor(202, 0, 32).mix(0.7).filled(),
                )))?;
                c.draw_series(std::iter::once(Circle::new(
                    (centre(i), b.predicted_rate),
                    6,
                    GREY.filled(),
                )))?;
            }
            let mut c = ChartBuilder::on(right)
                .caption(t.word("chart.outcomes.by_bin"), t.pen.text(16))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..top, 0.0..top)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc(t.word("chart.outcomes.x"))
                .y_desc(t.word("chart.outcomes.y"))
                .x_label_formatter(&|v| format!("{:.1}%", v * 100.0))
                .y_label_formatter(&|v| format!("{:.1}%", v * 100.0))
                .label_style(t.pen.text(14))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, 0.0), (top, top)],
                GREY.stroke_width(1),
            ))?;
            c.draw_series(
                bins.iter()
                    .filter(|b| b.1.is_finite() && b.2.is_finite())
                    .map(|&(_, p, r)| Circle::new((p, r), 6, RGBColor(202, 0, 32).filled())),
            )?;
        }
    ))
}

/// Segments (rows, suppressed ones left out) x products: the share of clients in force
/// holding the product (cell shade and first figure) and the mean propensity of those
/// who do not (second figure).
fn products(
    t: &Say,
    p: &crate::labeling::ProductsSummary,
    shown: &[&SegmentSummary],
    dir: &Path,
) -> Result<ChartFiles> {
    let cols: Vec<String> = p
        .products
        .iter()
        .map(|n| short(&t.w.product(n), 18))
        .collect();
    let rows: Vec<(String, Vec<f64>, Vec<f64>)> = shown
        .iter()
        .filter_map(|g| {
            let pen = p.penetration.iter().find(|(id, _)| *id == g.id)?.1.clone();
            let prop = p.propensity.iter().find(|(id, _)| *id == g.id)?.1.clone();
            Some((seg_label(t, g, 30), pen, prop))
        })
        .collect();
    let (nr, nc) = (rows.len(), cols.len());
    let names: Vec<String> = rows.iter().rev().map(|r| r.0.clone()).collect();
    let title = t.word("chart.products.title");
    Ok(chart!(
        dir,
        "products",
        t.word("chart.products.name"),
        (320 + 150 * nc.max(1) as u32, 160 + 60 * nr.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(title, t.pen.text(20))
                .margin(15)
                .x_label_area_size(50)
                .y_label_area_size(280)
                .build_cartesian_2d(slots(nc), slots(nr))?;
            c.configure_mesh()
                .disable_mesh()
                .x_labels(nc.max(1))
                .x_label_formatter(&|v| slot_label(&cols, v))
                .y_labels(nr.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(t.pen.text(13))
                .draw()?;
            for (r, (_, pen, prop)) in rows.iter().enumerate() {
                let y = nr - 1 - r;
                for col in 0..nc {
                    let held = pen.get(col).copied().unwrap_or(f64::NAN);
                    let fill = cell_fill(if held.is_finite() { held.sqrt() } else { 0.0 });
                    c.draw_series(std::iter::once(Rectangle::new(
                        [(exact(col), exact(y)), (exact(col + 1), exact(y + 1))],
                        fill.filled(),
                    )))?;
                    let figure = |v: f64| {
                        if v.is_finite() {
                            format!("{:.0}%", v * 100.0)
                        } else {
                            "-".to_string()
                        }
                    };
                    let propensity = prop.get(col).copied().unwrap_or(f64::NAN);
                    c.draw_series(std::iter::once(Text::new(
                        format!("{} / {}", figure(held), figure(propensity)),
                        (centre(col), centre(y)),
                        t.pen.text(13).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}
