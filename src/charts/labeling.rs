//! Cluster-profile charts of a labeling run, for managers: segment sizes and risk,
//! profiles, segment centres, a 2-D projection, risk distributions, value tier x risk band,
//! and the month-to-month migration. Segments below the report minimum are left out.

use super::{
    centre, compact, exact, segment_colour, short, slot_label, slots, text, z_colour, ChartFiles,
    GREY, GRID,
};
use crate::bundle::Bundle;
use crate::chart;
use crate::error::Result;
use crate::labeling::{RunSummary, SegmentSummary};
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
) -> Result<Vec<ChartFiles>> {
    let shown: Vec<&SegmentSummary> = s.segments.iter().filter(|g| !g.suppressed).collect();
    let mut out = vec![
        segment_risk(&shown, dir)?,
        profile_heatmap(&shown, dir)?,
        centres(b, dir)?,
        projection(&shown, sample, dir)?,
        risk_distribution(&shown, b.lapse.bands.high, dir)?,
        tier_band(s, dir)?,
    ];
    if let Some(m) = &s.migration {
        out.push(migration(m, s.min_report_count, dir)?);
    }
    if let Some(p) = &s.products {
        out.push(products(p, &shown, dir)?);
    }
    if let Some(o) = s.outcomes.as_ref().filter(|o| o.known > 0) {
        out.push(outcomes(o, dir)?);
    }
    if let Some(e) = s
        .effect
        .as_ref()
        .filter(|e| e.identified && !e.rows.is_empty())
    {
        out.push(super::effect::forest(e, s.min_report_count, dir)?);
    }
    if !b.lapse.form.is_linear() {
        // What the reasons of a scorecard model mean: the points of every bin.
        out.push(super::training::scorecard(b, dir)?);
    }
    Ok(out)
}

fn seg_label(g: &SegmentSummary, max: usize) -> String {
    format!("{} {}", g.id, short(&g.name, max))
}

/// Share of clients per segment with the mean lapse probability.
fn segment_risk(shown: &[&SegmentSummary], dir: &Path) -> Result<ChartFiles> {
    let n = shown.len();
    let max_share = shown.iter().map(|g| g.share).fold(0.01, f64::max);
    let names: Vec<String> = shown.iter().map(|g| seg_label(g, 38)).collect();
    Ok(chart!(
        dir,
        "segment_risk",
        "Segment sizes and lapse risk",
        (1100, 120 + 60 * n.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    "Segments this month: share of clients and mean lapse probability",
                    text(22),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(330)
                .build_cartesian_2d(0.0..max_share * 1.6, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .light_line_style(WHITE)
                .x_desc("share of clients in force")
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(text(15))
                .draw()?;
            for (i, g) in shown.iter().enumerate() {
                c.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, exact(i)), (g.share, exact(i + 1))],
                    segment_colour(g.id).filled(),
                )))?;
                c.draw_series(std::iter::once(Text::new(
                    format!(
                        "{:.1}%  ·  mean lapse risk {:.1}%",
                        g.share * 100.0,
                        g.mean_probability * 100.0
                    ),
                    (g.share + max_share * 0.02, centre(i)),
                    text(15).pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
            }
        }
    ))
}

/// Segments x numeric features: colour = mean z against the training book, label = z and
/// the mean in original units.
fn profile_heatmap(shown: &[&SegmentSummary], dir: &Path) -> Result<ChartFiles> {
    let features: Vec<String> = shown
        .first()
        .map(|g| g.profile.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let (ns, nf) = (shown.len(), features.len());
    let top_down: Vec<String> = features.iter().rev().cloned().collect();
    let seg_labels: Vec<String> = shown.iter().map(|g| seg_label(g, 16)).collect();
    Ok(chart!(
        dir,
        "profile_heatmap",
        "Segment profiles",
        (260 + 170 * ns.max(1) as u32, 140 + 34 * nf.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    "Segment profiles: z-score against the training book (mean in original units)",
                    text(20),
                )
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
                .label_style(text(13))
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
                        text(12).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}

/// Parallel coordinates of the segment centres over the segment features.
fn centres(b: &Bundle, dir: &Path) -> Result<ChartFiles> {
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
    let names = feats.clone();
    Ok(chart!(
        dir,
        "segment_centres",
        "Segment centres",
        (1000, 620),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption("Segment centres (parallel coordinates, z-scores)", text(22))
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
                .y_desc("z-score")
                .label_style(text(14))
                .draw()?;
            for s in &b.segments.segments {
                let colour = segment_colour(s.id);
                c.draw_series(LineSeries::new(
                    s.centre.iter().enumerate().map(|(j, &z)| (j as f64, z)),
                    colour.stroke_width(3),
                ))?
                .label(format!("{} {}", s.id, short(&s.name, 34)))
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
                .label_font(text(13))
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
        "2-D projection",
        (900, 820),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    format!(
                        "Sample of {} clients on the first two principal components",
                        coords.len()
                    ),
                    text(20),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-ext..ext, -ext..ext)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc("PC 1")
                .y_desc("PC 2")
                .label_style(text(13))
                .draw()?;
            for g in shown {
                let colour = segment_colour(g.id);
                c.draw_series(
                    coords
                        .iter()
                        .filter(|(s, _, _)| *s == g.id)
                        .map(|(_, x, y)| Circle::new((*x, *y), 2, colour.mix(0.6).filled())),
                )?
                .label(seg_label(g, 34))
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
            }
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(text(13))
                .background_style(WHITE.mix(0.9))
                .border_style(GREY)
                .draw()?;
        }
    ))
}

/// Box per segment: 10-90% whiskers, 25-75% box, median line, and the high-risk threshold.
fn risk_distribution(shown: &[&SegmentSummary], high: f64, dir: &Path) -> Result<ChartFiles> {
    let n = shown.len();
    let top = shown
        .iter()
        .map(|g| g.probability_quantiles[4])
        .fold(high, f64::max)
        .min(1.0)
        * 1.15;
    let names: Vec<String> = shown.iter().map(|g| seg_label(g, 38)).collect();
    Ok(chart!(
        dir,
        "risk_distribution",
        "Lapse probability by segment",
        (1100, 120 + 60 * n.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(
                    "Lapse probability by segment (10-25-50-75-90th percentiles)",
                    text(22),
                )
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(330)
                .build_cartesian_2d(0.0..top, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .x_desc("lapse probability")
                .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(text(15))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(high, exact(0)), (high, exact(n))],
                RGBColor(202, 0, 32).stroke_width(2),
            ))?
            .label(format!("high-risk threshold {:.1}%", high * 100.0))
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
                .label_font(text(14))
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
    dir: &Path,
    name: &str,
    title: &str,
    axes: &MatrixAxes,
    count: &dyn Fn(usize, usize) -> usize,
    min: usize,
) -> Result<ChartFiles> {
    let (rows, cols, x_desc, y_desc) = (axes.rows, axes.cols, axes.x_desc, axes.y_desc);
    let (nr, nc) = (rows.len(), cols.len());
    let max = (0..nr)
        .flat_map(|r| (0..nc).map(move |c| (r, c)))
        .map(|(r, c)| count(r, c))
        .max()
        .unwrap_or(1)
        .max(1);
    let top_down: Vec<String> = rows.iter().rev().cloned().collect();
    Ok(chart!(
        dir,
        name,
        title,
        (300 + 160 * nc.max(1) as u32, 160 + 60 * nr.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(title, text(22))
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
                .label_style(text(14))
                .draw()?;
            for r in 0..nr {
                for col in 0..nc {
                    let k = count(r, col);
                    let y = nr - 1 - r;
                    let fill = cell_fill((k as f64 / max as f64).sqrt());
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
                        text(15).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}

fn tier_band(s: &RunSummary, dir: &Path) -> Result<ChartFiles> {
    let tiers: Vec<String> = ["high", "potential", "general", "low", "n/a"]
        .iter()
        .filter(|t| s.tier_band.iter().any(|(x, _, _)| x == *t))
        .map(|t| (*t).to_string())
        .collect();
    let bands: Vec<String> = ["low", "medium", "high"]
        .iter()
        .map(|b| (*b).to_string())
        .collect();
    let lookup = |r: usize, c: usize| {
        s.tier_band
            .iter()
            .find(|(t, b, _)| Some(t) == tiers.get(r) && Some(b) == bands.get(c))
            .map_or(0, |x| x.2)
    };
    let axes = MatrixAxes {
        rows: &tiers,
        cols: &bands,
        x_desc: "risk band",
        y_desc: "value tier",
    };
    let title = "Value tier x risk band (clients in force)";
    count_matrix(dir, "tier_band", title, &axes, &lookup, s.min_report_count)
}

fn migration(m: &[(u32, u32, usize)], min: usize, dir: &Path) -> Result<ChartFiles> {
    let mut from: Vec<u32> = m.iter().map(|x| x.0).collect();
    let mut to: Vec<u32> = m.iter().map(|x| x.1).collect();
    from.sort_unstable();
    from.dedup();
    to.sort_unstable();
    to.dedup();
    let rows: Vec<String> = from.iter().map(|s| format!("segment {s}")).collect();
    let cols: Vec<String> = to.iter().map(|s| format!("segment {s}")).collect();
    let lookup = |r: usize, c: usize| {
        m.iter()
            .find(|x| Some(&x.0) == from.get(r) && Some(&x.1) == to.get(c))
            .map_or(0, |x| x.2)
    };
    let axes = MatrixAxes {
        rows: &rows,
        cols: &cols,
        x_desc: "this month",
        y_desc: "last month",
    };
    let title = "Segment migration: last month (rows) to this month (columns)";
    count_matrix(dir, "migration", title, &axes, &lookup, min)
}

/// How last month's predictions turned out: realised against predicted lapse rate per
/// risk band (left) and per bin of the training score distribution (right).
fn outcomes(o: &crate::labeling::outcomes::Outcomes, dir: &Path) -> Result<ChartFiles> {
    let bands: Vec<&crate::labeling::outcomes::BandOutcome> =
        o.bands.iter().filter(|b| b.clients > 0).collect();
    let bins: Vec<(usize, f64, f64)> = o
        .calibration
        .iter()
        .enumerate()
        .filter(|(_, c)| c.clients > 0)
        .map(|(i, c)| (i, c.predicted_rate, c.lapse_rate))
        .collect();
    let top = bands
        .iter()
        .flat_map(|b| [b.lapse_rate, b.predicted_rate])
        .chain(bins.iter().flat_map(|b| [b.1, b.2]))
        .filter(|v| v.is_finite())
        .fold(0.001, f64::max)
        * 1.15;
    let names: Vec<String> = bands.iter().map(|b| b.band.clone()).collect();
    let title = format!(
        "Last month's predictions over {} month(s): realised (bars, dots) against predicted (grey)",
        o.window_months
    );
    Ok(chart!(
        dir,
        "outcomes",
        "Realised outcomes",
        (1200, 520),
        |root| {
            let areas = root.titled(&title, text(20))?.split_evenly((1, 2));
            let (left, right) = (&areas[0], &areas[1]);
            let mut c = ChartBuilder::on(left)
                .caption("lapse rate by last month's risk band", text(16))
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
                .label_style(text(14))
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
                .caption("by bin of the training score distribution", text(16))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..top, 0.0..top)?;
            c.configure_mesh()
                .light_line_style(GRID)
                .x_desc("predicted")
                .y_desc("realised")
                .x_label_formatter(&|v| format!("{:.1}%", v * 100.0))
                .y_label_formatter(&|v| format!("{:.1}%", v * 100.0))
                .label_style(text(14))
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
    p: &crate::labeling::ProductsSummary,
    shown: &[&SegmentSummary],
    dir: &Path,
) -> Result<ChartFiles> {
    let cols: Vec<String> = p
        .products
        .iter()
        .map(|n| short(&n.replace('_', " "), 18))
        .collect();
    let rows: Vec<(String, Vec<f64>, Vec<f64>)> = shown
        .iter()
        .filter_map(|g| {
            let pen = p.penetration.iter().find(|(id, _)| *id == g.id)?.1.clone();
            let prop = p.propensity.iter().find(|(id, _)| *id == g.id)?.1.clone();
            Some((seg_label(g, 30), pen, prop))
        })
        .collect();
    let (nr, nc) = (rows.len(), cols.len());
    let names: Vec<String> = rows.iter().rev().map(|r| r.0.clone()).collect();
    let title = "Products by segment: held (share, shade) / propensity of the others to acquire";
    Ok(chart!(
        dir,
        "products",
        "Products by segment",
        (320 + 150 * nc.max(1) as u32, 160 + 60 * nr.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(title, text(20))
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
                .label_style(text(13))
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
                        text(13).pos(Pos::new(HPos::Center, VPos::Center)),
                    )))?;
                }
            }
        }
    ))
}
