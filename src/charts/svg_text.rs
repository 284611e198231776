//! Text of an SVG chart drawn as glyph outlines, for fonts a reader's machine may not
//! have (the embedded CJK font, a house font): plotters writes `<text>` elements, which
//! a browser renders with its own fonts, and without a CJK font it shows empty boxes.
//! Each glyph's outline is defined once per chart and placed with `<use>`. Text in
//! DejaVu Sans (`sans-serif`, which every viewer can substitute) stays text.

use ab_glyph::{Font as _, FontRef, GlyphId, OutlineCurve, Point};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `svg` with every `<text>` in a registered non-DejaVu font replaced by outlines.
/// `chart` prefixes the glyph ids, so that charts inlined in one report do not clash.
pub fn outline_text(svg: String, chart: &str) -> String {
    if !svg.contains("<text ") {
        return svg;
    }
    let mut out = String::with_capacity(svg.len());
    let mut glyphs: BTreeMap<u16, String> = BTreeMap::new();
    let mut rest = svg.as_str();
    while let Some(start) = rest.find("<text ") {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (Some(open_end), Some(close)) = (tail.find('>'), tail.find("</text>")) else {
            break;
        };
        let element = &tail[..close + "</text>".len()];
        rest = &tail[element.len()..];
        let attrs = attributes(&tail["<text ".len()..open_end]);
        let family = attrs.get("font-family").map(String::as_str).unwrap_or("");
        let font = (family != super::FONT)
            .then(|| super::registered_bytes(family))
            .flatten()
            .and_then(|bytes| FontRef::try_from_slice(bytes).ok());
        match font {
            Some(font) => {
                let text = unescape(tail[open_end + 1..close].trim_matches('\n'));
                draw(&mut out, &font, &attrs, &text, chart, &mut glyphs);
            }
            None => out.push_str(element),
        }
    }
    out.push_str(rest);
    if glyphs.is_empty() {
        return out;
    }
    let mut defs = String::from("<defs>\n");
    for (id, d) in &glyphs {
        let _ = writeln!(defs, "<path id=\"{chart}-g{id}\" d=\"{d}\"/>");
    }
    defs.push_str("</defs>\n");
    // Right after the opening <svg ...> tag.
    match out
        .find("<svg")
        .and_then(|s| out[s..].find('>').map(|e| s + e + 1))
    {
        Some(at) => {
            let at = if out[at..].starts_with('\n') {
                at + 1
            } else {
                at
            };
            out.insert_str(at, &defs);
            out
        }
        None => out,
    }
}

/// The `key="value"` pairs of a tag (plotters writes no other form).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.insert(key, unescape(&after[..end]));
        rest = &after[end + 1..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn num(v: f32) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{:.0}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// One text element as a group of placed glyph outlines, laid out as the browser lays
/// out plotters' text: anchored by `text-anchor`, shifted down by `dy`.
fn draw(
    out: &mut String,
    font: &FontRef,
    attrs: &BTreeMap<String, String>,
    text: &str,
    chart: &str,
    glyphs: &mut BTreeMap<u16, String>,
) {
    let get = |k: &str| attrs.get(k).and_then(|v| v.parse::<f32>().ok());
    let (x, y, size) = (
        get("x").unwrap_or(0.0),
        get("y").unwrap_or(0.0),
        get("font-size").unwrap_or(12.0),
    );
    let scale = size / font.units_per_em().unwrap_or(1000.0);
    let ids: Vec<GlyphId> = text.chars().map(|c| font.glyph_id(c)).collect();
    let mut advances = Vec::with_capacity(ids.len());
    let mut width = 0.0;
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            width += font.kern_unscaled(ids[i - 1], id);
        }
        advances.push(width);
        width += font.h_advance_unscaled(id);
    }
    let shift = match attrs.get("text-anchor").map(String::as_str) {
        Some("middle") => width / 2.0,
        Some("end") => width,
        _ => 0.0,
    };
    let dy = match attrs.get("dy").map(String::as_str) {
        Some("0.76em") => 0.76 * size,
        Some("0.5ex") => 0.25 * size,
        Some("-0.5ex") => -0.25 * size,
        _ => 0.0,
    };
    let _ = write!(
        out,
        "<g fill=\"{}\" opacity=\"{}\"",
        attrs.get("fill").map_or("#000000", String::as_str),
        attrs.get("opacity").map_or("1", String::as_str)
    );
    if let Some(t) = attrs.get("transform") {
        let _ = write!(out, " transform=\"{t}\"");
    }
    out.push_str(">\n");
    for (&id, &advance) in ids.iter().zip(&advances) {
        if let std::collections::btree_map::Entry::Vacant(slot) = glyphs.entry(id.0) {
            match font.outline(id) {
                Some(outline) => slot.insert(path(&outline.curves)),
                None => continue,
            };
        }
        let gx = x + (advance - shift) * scale;
        let _ = writeln!(
            out,
            "<use href=\"#{chart}-g{}\" transform=\"translate({},{}) scale({})\"/>",
            id.0,
            num(gx),
            num(y + dy),
            format_args!("{:.5},{:.5}", scale, -scale)
        );
    }
    out.push_str("</g>\n");
}

/// An SVG path of outline curves in font units.
fn path(curves: &[OutlineCurve]) -> String {
    let mut d = String::new();
    let mut at: Option<Point> = None;
    let p = |q: Point| format!("{} {}", num(q.x), num(q.y));
    for curve in curves {
        let (start, end) = match *curve {
            OutlineCurve::Line(a, b) => (a, b),
            OutlineCurve::Quad(a, _, b) => (a, b),
            OutlineCurve::Cubic(a, _, _, b) => (a, b),
        };
        if at.is_none_or(|q| (q.x - start.x).abs() > 0.01 || (q.y - start.y).abs() > 0.01) {
            if at.is_some() {
                d.push('Z');
            }
            let _ = write!(d, "M{}", p(start));
        }
        let _ = match *curve {
            OutlineCurve::Line(_, b) => write!(d, "L{}", p(b)),
            OutlineCurve::Quad(_, c, b) => write!(d, "Q{} {}", p(c), p(b)),
            OutlineCurve::Cubic(_, c1, c2, b) => write!(d, "C{} {} {}", p(c1), p(c2), p(b)),
        };
        at = Some(end);
    }
    if at.is_some() {
        d.push('Z');
    }
    d
}
