//! Charts, each drawn twice from one piece of code: PNG for slides, SVG for the report.
//! Fonts are embedded (DejaVu Sans), so no system font is needed; colours are fixed per
//! segment id, so a segment keeps its colour across charts, runs and months.

pub mod effect;
pub mod labeling;
pub mod training;

use crate::error::{Error, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

pub const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Tableau 10: distinguishable, colour-blind friendlier than plotters' defaults.
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
];

/// The colour of segment `id`, the same in every chart.
pub fn segment_colour(id: u32) -> RGBColor {
    let (r, g, b) = PALETTE[id as usize % PALETTE.len()];
    RGBColor(r, g, b)
}

pub const BLUE: RGBColor = RGBColor(78, 121, 167);
pub const ORANGE: RGBColor = RGBColor(242, 142, 43);
pub const GREY: RGBColor = RGBColor(150, 150, 150);

/// Diverging colour for a z-score: blue below, white at 0, red above (saturating at |z| = 2).
pub fn z_colour(z: f64) -> RGBColor {
    let t = (z / 2.0).clamp(-1.0, 1.0);
    let mix =
        |a: u8, b: u8, t: f64| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    if t >= 0.0 {
        RGBColor(mix(255, 202, t), mix(255, 0, t), mix(255, 32, t))
    } else {
        RGBColor(mix(255, 5, -t), mix(255, 113, -t), mix(255, 176, -t))
    }
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; failure would be a build defect, caught by the tests.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// A drawing error from plotters, with the chart's name.
pub fn chart_error(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("cannot draw chart '{name}': {e}"))
}

/// The two files one chart produces.
#[derive(Clone, Debug)]
pub struct ChartFiles {
    pub name: String,
    pub title: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    /// The SVG document as written (the report inlines it without reading it back).
    pub svg_text: String,
}

/// Draws a chart as `<dir>/<name>.png` and `.svg`, each written to a temporary name and
/// renamed into place. `$draw` is an expression over the root area `$root`; it is compiled
/// once per backend.
#[macro_export]
macro_rules! chart {
    ($dir:expr, $name:expr, $title:expr, $size:expr, |$root:ident| $draw:expr) => {{
        $crate::charts::prepare();
        let dir: &std::path::Path = $dir;
        let name: &str = $name;
        let size: (u32, u32) = $size;
        std::fs::create_dir_all(dir).map_err(|e| $crate::Error::Write {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut svg = String::new();
        {
            let $root =
                plotters::prelude::SVGBackend::with_string(&mut svg, size).into_drawing_area();
            let r: std::result::Result<(), Box<dyn std::error::Error>> = (|| {
                $root.fill(&plotters::prelude::WHITE)?;
                $draw;
                $root.present()?;
                Ok(())
            })();
            r.map_err(|e| $crate::charts::chart_error(name, e))?;
        }
        let svg_path = dir.join(format!("{name}.svg"));
        $crate::fsio::write_atomic(&svg_path, svg.as_bytes())?;
        let png_path = dir.join(format!("{name}.png"));
        let tmp = dir.join(format!(".{name}.tmp-{}.png", std::process::id()));
        {
            let $root = plotters::prelude::BitMapBackend::new(&tmp, size).into_drawing_area();
            let r: std::result::Result<(), Box<dyn std::error::Error>> = (|| {
                $root.fill(&plotters::prelude::WHITE)?;
                $draw;
                $root.present()?;
                Ok(())
            })();
            if let Err(e) = r {
                let _ = std::fs::remove_file(&tmp);
                return Err($crate::charts::chart_error(name, e));
            }
        }
        std::fs::rename(&tmp, &png_path).map_err(|e| $crate::Error::Write {
            path: png_path.clone(),
            source: e,
        })?;
        $crate::charts::ChartFiles {
            name: name.to_string(),
            title: $title.to_string(),
            png: png_path,
            svg: svg_path,
            svg_text: svg,
        }
    }};
}

/// Light grid lines, so that data stays in front.
pub const GRID: RGBColor = RGBColor(238, 238, 238);

/// `n` category slots on an axis (plotters' segmented range 0..=n-1).
pub fn slots(
    n: usize,
) -> plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordi32> {
    (0..(n.max(1) as i32 - 1)).into_segmented()
}

/// The middle of category slot `i` (where its label and text go).
pub fn centre(i: usize) -> SegmentValue<i32> {
    SegmentValue::CenterOf(i as i32)
}

/// The lower edge of category slot `i`.
pub fn exact(i: usize) -> SegmentValue<i32> {
    SegmentValue::Exact(i as i32)
}

/// The axis label of a category slot: `names[i]` at slot centres, nothing elsewhere.
pub fn slot_label(names: &[String], v: &SegmentValue<i32>) -> String {
    match v {
        SegmentValue::CenterOf(i) => usize::try_from(*i)
            .ok()
            .and_then(|i| names.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// A number in few characters: 1234567 -> 1.2M, 0.123 -> 0.12.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Registers the embedded font; called by `chart!` before drawing.
pub fn prepare() {
    register_font();
}

/// Text style in the embedded font.
pub fn text(size: u32) -> TextStyle<'static> {
    (FONT, f64::from(size)).into_font().into()
}

/// Shortens a label to `max` characters with an ellipsis.
pub fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Checks a directory can take charts (exists or can be created).
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Write {
        path: dir.to_path_buf(),
        source: e,
    })
}
