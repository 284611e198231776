//! Charts, each drawn twice from one piece of code: PNG for slides, SVG for the report.
//! Fonts are embedded (DejaVu Sans; Noto Sans SC for Chinese; or a house vocabulary's
//! font), so no system font is needed: text in another font than DejaVu is written into
//! the SVG as outlines (`svg_text.rs`). Colours are fixed per segment id, so a segment
//! keeps its colour across charts, runs and months. Every word comes from the run's
//! `Vocabulary`.

pub mod effect;
pub mod labeling;
pub mod lifecycle;
mod svg_text;
pub mod training;

use crate::error::{Error, Result};
use crate::vocab::{ChartFont, Vocabulary};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

pub const FONT: &str = "sans-serif";
pub use svg_text::outline_text;

/// The font family of the embedded CJK font.
const CJK_FONT: &str = "Noto Sans SC";

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

/// Fonts registered with plotters: family -> bytes (DejaVu, the CJK font, house fonts).
static REGISTERED: std::sync::Mutex<Vec<(&'static str, &'static [u8])>> =
    std::sync::Mutex::new(Vec::new());

/// Registers a font under `family` once; a house font's bytes are kept for the process
/// (plotters holds fonts for ever), once per distinct font.
fn register(family: Option<&'static str>, font: &ChartFont) -> &'static str {
    let Ok(mut fonts) = REGISTERED.lock() else {
        return FONT;
    };
    if let Some(&(name, _)) = fonts
        .iter()
        .find(|(name, bytes)| family.is_none_or(|f| f == *name) && *bytes == font.bytes())
    {
        return name;
    }
    let (name, bytes): (&'static str, &'static [u8]) = match font {
        ChartFont::DejaVu => (FONT, ChartFont::DejaVu.bytes_static()),
        ChartFont::NotoSansSc => (CJK_FONT, ChartFont::NotoSansSc.bytes_static()),
        ChartFont::File { bytes, .. } => (
            Box::leak(format!("house font {}", fonts.len()).into_boxed_str()),
            Box::leak(bytes.to_vec().into_boxed_slice()),
        ),
    };
    // Every font was parsed when its vocabulary was loaded.
    let _ = plotters::style::register_font(name, FontStyle::Normal, bytes);
    fonts.push((name, bytes));
    name
}

fn register_font() {
    register(Some(FONT), &ChartFont::DejaVu);
}

/// The bytes of a registered font family (for SVG outlines).
fn registered_bytes(family: &str) -> Option<&'static [u8]> {
    let fonts = REGISTERED.lock().ok()?;
    fonts.iter().find(|(f, _)| *f == family).map(|(_, b)| *b)
}

/// The text styles of one vocabulary's font.
#[derive(Clone, Copy, Debug)]
pub struct Pen {
    family: &'static str,
}

impl Pen {
    /// The pen for `w`'s words (its font registered).
    pub fn of(w: &Vocabulary) -> Pen {
        register_font();
        Pen {
            family: register(None, w.font()),
        }
    }

    /// Text style of `size`.
    pub fn text(self, size: u32) -> TextStyle<'static> {
        (self.family, f64::from(size)).into_font().into()
    }
}

/// What a chart writes with: the run's words, its font, and the segments' names in them.
pub struct Say<'a> {
    pub w: &'a Vocabulary,
    pub pen: Pen,
    names: std::collections::BTreeMap<u32, String>,
}

impl<'a> Say<'a> {
    pub fn new(b: &crate::bundle::Bundle, w: &'a Vocabulary) -> Self {
        Say {
            w,
            pen: Pen::of(w),
            names: b
                .segments
                .display_names(&b.features.numeric, w)
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect(),
        }
    }

    /// A segment's name in the run's words (`stored`: the name the bundle holds).
    pub fn name<'b>(&'b self, id: u32, stored: &'b str) -> &'b str {
        self.names.get(&id).map_or(stored, String::as_str)
    }

    pub fn word(&self, key: &'a str) -> &'a str {
        self.w.word(key)
    }

    pub fn fill(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        self.w.fill(key, args)
    }
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
        let svg = $crate::charts::outline_text(svg, name);
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
