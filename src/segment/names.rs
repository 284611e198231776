//! Segment names in plain words, from each segment's most distinctive traits, and the
//! names file (TOML, `id = "name"`) with which people override them.

use super::ProfileEntry;
use crate::error::{Error, Result};
use crate::features::Feature;
use crate::vocab::Vocabulary;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A trait counts as distinctive when the segment mean is this many book standard
/// deviations away from the book mean.
const DISTINCT_Z: f64 = 0.3;
const TRAITS_IN_NAME: usize = 3;

/// Words for a feature being high or low: the feature's own words, else (flat mode's
/// columns) "high x" / "low x".
fn words(w: &Vocabulary, feature: &str) -> (String, String) {
    let own = |side: &str| {
        w.lookup(&format!("feature_{side}.{feature}"))
            .map(str::to_string)
    };
    match (Feature::from_name(feature), own("high"), own("low")) {
        (Some(_), Some(high), Some(low)) => (high, low),
        _ => {
            let plain = w.feature(feature);
            (
                w.fill("segment.high", &[("feature", &plain)]),
                w.fill("segment.low", &[("feature", &plain)]),
            )
        }
    }
}

/// A name from the most distinctive traits, e.g. "Older, high premium, long tenure".
/// `binary` lists the 0/1 features without words of their own (flat mode's flags): they
/// read "mostly senior citizen (72%)" or "mostly without partner (81%)". A categorical
/// feature reads by its dominant level when that level is both the segment's majority
/// and distinctive: "mostly online (64%)", "mostly city tier 3 (55%)".
pub fn generate(w: &Vocabulary, profile: &[ProfileEntry], binary: &BTreeSet<String>) -> String {
    // (strength, feature, words) of each distinctive trait.
    let mut traits: Vec<(f64, &str, String)> = Vec::new();
    for p in profile.iter().filter(|p| !p.feature.contains('=')) {
        if p.z.abs() < DISTINCT_Z {
            continue;
        }
        let plain = w.feature(&p.feature);
        let trait_words = if binary.contains(&p.feature) && Feature::from_name(&p.feature).is_none()
        {
            let share = |s: f64| format!("{:.0}", s * 100.0);
            if p.mean >= 0.5 {
                w.fill(
                    "segment.mostly",
                    &[("what", &plain), ("share", &share(p.mean))],
                )
            } else {
                let args: [(&str, &dyn std::fmt::Display); 2] =
                    [("what", &plain), ("share", &share(1.0 - p.mean))];
                w.fill("segment.mostly_without", &args)
            }
        } else {
            let (high, low) = words(w, &p.feature);
            if p.z > 0.0 {
                high
            } else {
                low
            }
        };
        traits.push((p.z.abs(), &p.feature, trait_words));
    }
    traits.extend(dominant_levels(w, profile));
    traits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut used = BTreeSet::new();
    let mut parts = Vec::new();
    for (_, _, w) in traits {
        if used.insert(w.clone()) {
            parts.push(w);
        }
        if parts.len() == TRAITS_IN_NAME {
            break;
        }
    }
    if parts.is_empty() {
        return w.word("segment.typical").to_string();
    }
    let mut name = parts.join(w.word("segment.separator"));
    if let Some(first) = name.get(..1) {
        name = first.to_uppercase() + name.get(1..).unwrap_or("");
    }
    name
}

/// Each categorical feature's level held by most of the segment, when it is also
/// over-represented against the book (its one-hot column's z). The `other` bucket never
/// names a segment.
fn dominant_levels<'a>(w: &Vocabulary, profile: &'a [ProfileEntry]) -> Vec<(f64, &'a str, String)> {
    let mut best: BTreeMap<&str, (&str, &ProfileEntry)> = BTreeMap::new();
    for p in profile {
        let Some((feature, level)) = p.feature.split_once('=') else {
            continue;
        };
        let entry = best.entry(feature).or_insert((level, p));
        if p.mean > entry.1.mean {
            *entry = (level, p);
        }
    }
    best.into_iter()
        .filter(|(_, (level, p))| p.mean > 0.5 && p.z >= DISTINCT_Z && *level != "other")
        .map(|(feature, (level, p))| {
            // A level that does not speak for itself (a code, a number) takes its
            // feature's name: "mostly city tier 3", but "mostly married".
            let plain = level.replace('_', " ");
            let cryptic = plain.chars().count() <= 2 || plain.parse::<f64>().is_ok();
            let what = if cryptic {
                w.fill(
                    "segment.level_of",
                    &[("feature", &w.feature(feature)), ("level", &plain)],
                )
            } else {
                plain
            };
            let share = format!("{:.0}", p.mean * 100.0);
            let words = w.fill("segment.mostly", &[("what", &what), ("share", &share)]);
            (p.z, p.feature.as_str(), words)
        })
        .collect()
}

/// The segment's description for a prospect, who holds no policy: its traits among
/// what describes a person (demographics, digital habits, client attributes), never
/// premiums, policies or products they do not have. E.g. "Prospects: younger, digital".
pub fn prospect_name(w: &Vocabulary, profile: &[ProfileEntry]) -> String {
    let personal: Vec<ProfileEntry> = profile
        .iter()
        .filter(|p| match p.feature.split_once('=') {
            Some((attribute, _)) => crate::vocab::CATEGORICAL.contains(&attribute),
            None => Feature::from_name(&p.feature)
                .is_some_and(|f| matches!(f.group(), "demographics" | "digital engagement")),
        })
        .cloned()
        .collect();
    let traits = generate(w, &personal, &BTreeSet::new());
    if traits == w.word("segment.typical") {
        return w.word("segment.prospects").into();
    }
    let mut chars = traits.chars();
    let lowered: String = chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    w.fill("segment.prospects_with", &[("traits", &lowered)])
}

/// Makes names unique by appending the segment id to repeats.
pub fn deduplicate(w: &Vocabulary, names: &mut [(u32, String)]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, n) in names.iter() {
        *seen.entry(n.clone()).or_default() += 1;
    }
    for (id, n) in names.iter_mut() {
        if seen.get(n.as_str()).copied().unwrap_or(0) > 1 {
            *n = w.fill("segment.duplicate", &[("name", n), ("id", id)]);
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
        // Names are copied into every label row and shown in charts: short, printable.
        if name.chars().any(char::is_control) || name.chars().count() > 200 {
            return Err(bad(format!(
                "segment {id}'s name must be at most 200 characters with no control \
                 characters (such as NUL or line breaks)"
            )));
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

    fn en() -> std::sync::Arc<Vocabulary> {
        Vocabulary::english()
    }

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
        let none = BTreeSet::new();
        assert_eq!(
            generate(&en(), &p, &none),
            "Older, high premium, long tenure"
        );
        assert_eq!(
            generate(&en(), &[entry("age", 0.1)], &none),
            "Typical clients"
        );
        let mut names = vec![
            (0, "A".to_string()),
            (1, "A".to_string()),
            (2, "B".to_string()),
        ];
        deduplicate(&en(), &mut names);
        assert_eq!(names[1].1, "A (segment 1)");
    }

    #[test]
    fn a_prospect_description_never_speaks_of_policies() {
        let p = [
            entry("premium_in_force", -2.0),
            entry("n_policies", -1.8),
            entry("n_products", -1.5),
            entry("log_income", -0.9),
            entry("age", -0.5),
        ];
        assert_eq!(
            generate(&en(), &p, &BTreeSet::new()),
            "Low premium, few policies, single product"
        );
        assert_eq!(prospect_name(&en(), &p), "Prospects: low income, younger");
        assert_eq!(prospect_name(&en(), &p[..3]), "Prospects");
    }

    #[test]
    fn flags_and_categories_read_as_shares() {
        let share = |feature: &str, mean: f64, z: f64| ProfileEntry {
            feature: feature.into(),
            mean,
            z,
        };
        let binary: BTreeSet<String> = ["senior_citizen", "partner"].map(String::from).into();
        assert_eq!(
            generate(&en(), &[share("city_tier=3", 0.55, 0.6)], &binary),
            "Mostly city tier 3 (55%)"
        );
        let p = [
            share("senior_citizen", 0.72, 1.4),
            share("partner", 0.19, -0.9),
            share("channel=online", 0.64, 0.8),
            share("channel=agent", 0.30, -0.8),
            share("region=other", 0.9, 2.0),
        ];
        assert_eq!(
            generate(&en(), &p, &binary),
            "Mostly senior citizen (72%), mostly without partner (81%), mostly online (64%)"
        );
        // Without being flagged binary, a 0/1 column reads as any number.
        assert_eq!(
            generate(&en(), &p[..1], &BTreeSet::new()),
            "High senior citizen"
        );
        // A level held by a minority is not "mostly".
        assert_eq!(
            generate(
                &en(),
                &[share("channel=online", 0.45, 1.0)],
                &BTreeSet::new()
            ),
            "Typical clients"
        );
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
