//! Segment names in plain words, from each segment's most distinctive traits, and the
//! names file (TOML, `id = "name"`) with which people override them.

use super::ProfileEntry;
use crate::error::{Error, Result};
use crate::features::Feature;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A trait counts as distinctive when the segment mean is this many book standard
/// deviations away from the book mean.
const DISTINCT_Z: f64 = 0.3;
const TRAITS_IN_NAME: usize = 3;

/// Words for a feature being high or low: the feature's own words, else (flat mode's
/// columns) "high x" / "low x".
fn words(feature: &str) -> (String, String) {
    match Feature::from_name(feature) {
        Some(f) => {
            let (high, low) = f.words();
            (high.to_string(), low.to_string())
        }
        None => {
            let plain = feature.replace('_', " ");
            (format!("high {plain}"), format!("low {plain}"))
        }
    }
}

/// A name from the most distinctive numeric traits, e.g. "Older, high premium, long tenure".
pub fn generate(profile: &[ProfileEntry]) -> String {
    let mut traits: Vec<&ProfileEntry> = profile
        .iter()
        .filter(|p| !p.feature.contains('=') && p.z.abs() >= DISTINCT_Z)
        .collect();
    traits.sort_by(|a, b| {
        b.z.abs()
            .total_cmp(&a.z.abs())
            .then(a.feature.cmp(&b.feature))
    });
    let mut used = BTreeSet::new();
    let mut parts = Vec::new();
    for t in traits {
        let (high, low) = words(&t.feature);
        let w = if t.z > 0.0 { high } else { low };
        if used.insert(w.clone()) {
            parts.push(w);
        }
        if parts.len() == TRAITS_IN_NAME {
            break;
        }
    }
    if parts.is_empty() {
        return "Typical clients".into();
    }
    let mut name = parts.join(", ");
    if let Some(first) = name.get(..1) {
        name = first.to_uppercase() + name.get(1..).unwrap_or("");
    }
    name
}

/// Makes names unique by appending the segment id to repeats.
pub fn deduplicate(names: &mut [(u32, String)]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, n) in names.iter() {
        *seen.entry(n.clone()).or_default() += 1;
    }
    for (id, n) in names.iter_mut() {
        if seen.get(n.as_str()).copied().unwrap_or(0) > 1 {
            *n = format!("{n} (segment {id})");
        }
    }
}

/// Reads a names file: TOML with one `<segment id> = "<name>"` per line.
///
/// # Errors
/// `Error::Config` when the file is not such a table, names an id the model does not
/// have, or gives two segments the same name.
pub fn read_names_file(path: &Path, ids: &[u32]) -> Result<BTreeMap<u32, String>> {
    let bad = |message: String| Error::Config {
        path: path.to_path_buf(),
        message,
    };
    let text = crate::fsio::read_text(path)?;
    let table: BTreeMap<String, String> = toml::from_str(&text)
        .map_err(|e| bad(format!("expected `<segment id> = \"name\"` lines: {e}")))?;
    let mut out = BTreeMap::new();
    for (key, name) in table {
        let id: u32 = key
            .trim()
            .parse()
            .map_err(|_| bad(format!("'{key}' is not a segment id (a whole number)")))?;
        if !ids.contains(&id) {
            return Err(bad(format!(
                "segment {id} does not exist in this model (its segments are {ids:?})"
            )));
        }
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(bad(format!("segment {id} has an empty name")));
        }
        out.insert(id, name);
    }
    let distinct: BTreeSet<&String> = out.values().collect();
    if distinct.len() != out.len() {
        return Err(bad("two segments are given the same name".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(feature: &str, z: f64) -> ProfileEntry {
        ProfileEntry {
            feature: feature.into(),
            mean: 0.0,
            z,
        }
    }

    #[test]
    fn names_come_from_the_strongest_traits() {
        let p = [
            entry("age", 1.5),
            entry("premium_in_force", 1.1),
            entry("tenure_years", 0.9),
            entry("logins_6m", -0.2),
            entry("region=north", 3.0),
        ];
        assert_eq!(generate(&p), "Older, high premium, long tenure");
        assert_eq!(generate(&[entry("age", 0.1)]), "Typical clients");
        let mut names = vec![
            (0, "A".to_string()),
            (1, "A".to_string()),
            (2, "B".to_string()),
        ];
        deduplicate(&mut names);
        assert_eq!(names[1].1, "A (segment 1)");
    }

    #[test]
    fn names_file_must_match_the_segments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("names.toml");
        std::fs::write(&p, "0 = \"Loyal elders\"\n2 = \"Young digital\"\n").unwrap();
        let ok = read_names_file(&p, &[0, 1, 2]).unwrap();
        assert_eq!(ok[&2], "Young digital");
        let err = read_names_file(&p, &[0, 1]).unwrap_err().to_string();
        assert!(err.contains("segment 2 does not exist"), "{err}");
        std::fs::write(&p, "zero = \"x\"\n").unwrap();
        assert!(read_names_file(&p, &[0]).is_err());
    }
}
