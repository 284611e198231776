//! The effect readout's forest plot: the uplift on lapse with its interval per action x
//! segment (and each action's total), sorted by ROI. Words from `effect::words`.

use super::{centre, slot_label, slots, ChartFiles, Pen, GRID};
use crate::chart;
use crate::effect::words;
use crate::effect::{EffectReadout, EffectRow, Level, Outcome, Verdict};
use crate::error::Result;
use plotters::prelude::*;
use std::path::Path;

/// Most rows drawn (the largest cells); `effect.csv` has them all.
const MAX_ROWS: usize = 30;

/// The rows drawn: lapse rows of segments and action totals with both arms of at least
/// `min_count` clients (a rate of fewer tells about the clients), by ROI (highest first;
/// rows without one last).
fn forest_rows(r: &EffectReadout, min_count: usize) -> Vec<(&EffectRow, Option<f64>)> {
    let roi = |x: &EffectRow| {
        r.rows
            .iter()
            .find(|p| {
                p.outcome == Outcome::PremiumKept
                    && p.action == x.action
                    && p.segment == x.segment
                    && p.tier == x.tier
            })
            .and_then(|p| p.roi)
    };
    let mut rows: Vec<(&EffectRow, Option<f64>)> = r
        .rows
        .iter()
        .filter(|x| x.outcome == Outcome::Lapse && x.level != Level::Cell)
        .filter(|x| x.treated.min(x.holdout) >= min_count.max(1) && x.ci_low.is_finite())
        .map(|x| (x, roi(x)))
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0.treated + r.0.holdout));
    rows.truncate(MAX_ROWS);
    rows.sort_by(|a, b| {
        let key = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
        key(b.1).total_cmp(&key(a.1))
    });
    rows
}

/// Draws the forest plot, the highest ROI at the top; rows with an arm of fewer than
/// `min_count` clients are left out.
///
/// # Errors
/// A drawing or write failure.
pub fn forest(r: &EffectReadout, min_count: usize, dir: &Path, pen: Pen) -> Result<ChartFiles> {
    let mut rows = forest_rows(r, min_count);
    // Slot 0 is at the bottom of the chart.
    rows.reverse();
    let names: Vec<String> = rows
        .iter()
        .map(|(x, roi)| words::forest_label(&super::short(&x.action, 28), &x.segment, *roi))
        .collect();
    let reach = rows
        .iter()
        .flat_map(|(x, _)| [x.ci_low.abs(), x.ci_high.abs()])
        .fold(0.01, f64::max)
        * 1.1;
    let n = rows.len();
    Ok(chart!(
        dir,
        words::CHART_NAME,
        words::CHART_TITLE,
        (1200, 140 + 34 * n.max(1) as u32),
        |root| {
            let mut c = ChartBuilder::on(&root)
                .caption(words::CHART_CAPTION, pen.text(20))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(430)
                .build_cartesian_2d(-reach..reach, slots(n))?;
            c.configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .x_desc(words::CHART_AXIS)
                .x_label_formatter(&|v| format!("{:+.1}", v * 100.0))
                .y_labels(n.max(1))
                .y_label_formatter(&|v| slot_label(&names, v))
                .label_style(pen.text(14))
                .draw()?;
            c.draw_series(LineSeries::new(
                [(0.0, centre(0)), (0.0, centre(n.saturating_sub(1)))],
                BLACK.stroke_width(1),
            ))?;
            for (i, (x, _)) in rows.iter().enumerate() {
                let colour = match x.verdict {
                    Verdict::Helps => RGBColor(5, 113, 176),
                    Verdict::Harms => RGBColor(202, 0, 32),
                    _ if x.small => RGBColor(185, 185, 185),
                    _ => RGBColor(90, 90, 90),
                };
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x.ci_low, centre(i)), (x.ci_high, centre(i))],
                    colour.stroke_width(3),
                )))?;
                c.draw_series(std::iter::once(Circle::new(
                    (x.uplift, centre(i)),
                    5,
                    colour.filled(),
                )))?;
            }
        }
    ))
}
