//! Lifecycle charts: persistency per issue cohort (count and premium bases side by side),
//! the stage migration since the previous run as a heatmap of row shares, and the
//! cumulative incidence of each exit by segment. Words from the run's vocabulary.

use super::{exact, slot_label, slots, ChartFiles, Say, BLUE, GREY, GRID, ORANGE};
use crate::chart;
use crate::error::Result;
use crate::lifecycle::persistency::{PersistencyRow, ALL};
use crate::lifecycle::Basis;
use plotters::prelude::*;
use std::path::Path;

/// The policy months the persistency chart shows (one panel each).
pub const CHART_MONTHS: [u32; 2] = [13, 25];

/// A cohort and its persistency rates by count and by premium (`None`: no denominator).
pub type CohortRates = (String, [Option<f64>; 2]);

/// The most recent issue cohorts drawn per panel (`persistency.csv` has every cohort).
pub const CHART_COHORTS: usize = 20;

/// Per cohort of the chart's months: (cohort, [count rate, premium rate]) in cohort
/// order, over every grouping (`all`), the `CHART_COHORTS` most recent; cohorts without
/// a denominator are left out.
pub fn cohort_rates(rows: &[PersistencyRow], month: u32) -> Vec<CohortRates> {
    let mut out: Vec<CohortRates> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.month == month && r.cohort != ALL && r.groups.iter().all(|g| g == ALL))
    {
        let slot = usize::from(r.basis == Basis::Premium);
        match out.iter_mut().find(|(c, _)| *c == r.cohort) {
            Some((_, rates)) => rates[slot] = r.rate(),
            None => {
                let mut rates = [None, None];
                rates[slot] = r.rate();
                out.push((r.cohort.clone(), rates));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.split_off(out.len().saturating_sub(CHART_COHORTS))
}

/// Draws `persistency` (one panel per month of `CHART_MONTHS`; bars per issue cohort,
/// by count and by premium); `None` when no cohort is old enough for month 13.
///
/// # Errors
/// A drawing or write failure.
pub fn persistency(t: &Say, rows: &[PersistencyRow], dir: &Path) -> Result<Option<ChartFiles>> {
    let panels: Vec<(u32, Vec<CohortRates>)> = CHART_MONTHS
        .iter()
        .map(|&m| (m, cohort_rates(rows, m)))
        .collect();
    let widest = panels.iter().map(|p| p.1.len()).max().unwrap_or(0);
    if widest == 0 {
        return Ok(None);
    }
    let width = (600 + 2 * 26 * widest as u32).clamp(900, 2400);
    let title = t.word("chart.persistency.title");
    Ok(Some(chart!(
        dir,
        "persistency",
        t.word("chart.persistency.name"),
        (width, 760),
        |root| {
            let root = root.titled(title, t.pen.text(22))?;
            let areas = root.split_evenly((panels.len(), 1));
            for ((month, cohorts), area) in panels.iter().zip(areas.iter()) {
                persistency_panel(t, area, *month, cohorts)?;
            }
        }
    )))
}

type Area<DB> = DrawingArea<DB, plotters::coord::Shift>;

/// Category slots per cohort: its count bar, its premium bar and a gap.
const SLOTS_PER_COHORT: usize = 3;

fn persistency_panel<DB: DrawingBackend>(
    t: &Say,
    area: &Area<DB>,
    month: u32,
    cohorts: &[CohortRates],
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let n = cohorts.len() * SLOTS_PER_COHORT;
    // Every cohort named up to 24 cohorts; beyond, every other one (or fewer).
    let step = cohorts.len().div_ceil(24).max(1);
    let names: Vec<String> = (0..n)
        .map(|s| match (s % SLOTS_PER_COHORT, s / SLOTS_PER_COHORT) {
            (0, i) if i % step == 0 => cohorts[i].0.clone(),
            _ => String::new(),
        })
        .collect();
    let caption = t.fill("chart.persistency.panel", &[("month", &month)]);
    let mut c = ChartBuilder::on(area)
        .caption(caption, t.pen.text(17))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(slots(n), 0.0..120.0)?;
    c.configure_mesh()
        .light_line_style(GRID)
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&|v| slot_label(&names, v))
        .y_label_formatter(&|v| {
            if *v <= 100.0 {
                format!("{v:.0}")
            } else {
                String::new()
            }
        })
        .y_desc(t.word("chart.persistency.y"))
        .x_desc(t.word("chart.persistency.x"))
        .label_style(t.pen.text(12))
        .draw()?;
    for (basis, colour, key) in [
        (0, BLUE, "chart.persistency.count"),
        (1, ORANGE, "chart.persistency.premium"),
    ] {
        c.draw_series(cohorts.iter().enumerate().filter_map(|(i, (_, rates))| {
            let rate = rates[basis]?;
            let slot = i * SLOTS_PER_COHORT + basis;
            Some(Rectangle::new(
                [(exact(slot), 0.0), (exact(slot + 1), 100.0 * rate)],
                colour.filled(),
            ))
        }))?
        .label(t.word(key))
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .label_font(t.pen.text(13))
        .draw()?;
    Ok(())
}

/// Line colours of the drawn causes (lapse, surrender, death).
const CAUSE_COLOURS: [RGBColor; 3] = [BLUE, ORANGE, RGBColor(225, 87, 89)];

/// Draws `incidence`: one panel per group (all clients, then each segment), a line per
/// drawn cause over policy years since the client's first policy.
///
/// # Errors
/// A drawing or write failure.
pub fn incidence(
    t: &Say,
    groups: &[(Option<u32>, crate::lifecycle::Incidence)],
    dir: &Path,
) -> Result<Option<ChartFiles>> {
    use crate::lifecycle::training::DRAWN_CAUSES;
    if groups.is_empty() {
        return Ok(None);
    }
    let top = groups
        .iter()
        .flat_map(|(_, inc)| DRAWN_CAUSES.iter().filter_map(|c| inc.by_cause.get(*c)))
        .flatten()
        .fold(0.0_f64, |a, &v| a.max(v));
    let top = ((top * 100.0 / 5.0).ceil() * 5.0).max(5.0);
    let columns = groups.len().min(3);
    let rows = groups.len().div_ceil(columns);
    let title = t.word("chart.incidence.title");
    let panel_title = |g: &Option<u32>| match g {
        None => t.word("chart.incidence.all").to_string(),
        Some(id) => {
            let fallback = t.fill("chart.migration.segment", &[("id", id)]);
            t.name(*id, &fallback).to_string()
        }
    };
    Ok(Some(chart!(
        dir,
        "incidence",
        t.word("chart.incidence.name"),
        (420 * columns as u32 + 40, 120 + 330 * rows as u32),
        |root| {
            let root = root.titled(title, t.pen.text(20))?;
            let areas = root.split_evenly((rows, columns));
            for ((group, inc), area) in groups.iter().zip(areas.iter()) {
                incidence_panel(t, area, (&panel_title(group), inc), top)?;
            }
        }
    )))
}

fn incidence_panel<DB: DrawingBackend>(
    t: &Say,
    area: &Area<DB>,
    (caption, inc): (&str, &crate::lifecycle::Incidence),
    top: f64,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    use crate::lifecycle::training::DRAWN_CAUSES;
    let years = inc.months.iter().max().copied().unwrap_or(12) / 12;
    let caption = format!("{caption} (n = {})", inc.policies);
    let mut c = ChartBuilder::on(area)
        .caption(caption, t.pen.text(15))
        .margin(10)
        .x_label_area_size(38)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..f64::from(years.max(1)), 0.0..top)?;
    c.configure_mesh()
        .light_line_style(GRID)
        .x_desc(t.word("chart.incidence.x"))
        .y_desc(t.word("chart.incidence.y"))
        .x_labels(years.max(1) as usize + 1)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style(t.pen.text(12))
        .draw()?;
    for (cause, colour) in DRAWN_CAUSES.iter().zip(CAUSE_COLOURS) {
        let Some(values) = inc.by_cause.get(*cause) else {
            continue;
        };
        let points = std::iter::once((0.0, 0.0)).chain(
            inc.months
                .iter()
                .zip(values)
                .map(|(m, v)| (f64::from(*m) / 12.0, 100.0 * v)),
        );
        let key = format!("chart.incidence.{cause}");
        c.draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(t.w.word(&key).to_string())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
            });
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .label_font(t.pen.text(12))
        .draw()?;
    Ok(())
}
