//! The invariants a loaded bundle must satisfy before any client is labelled with it.
//! A bundle is plain JSON that anyone can edit: a value that no training run could have
//! written (a zero spread, a NaN weight, duplicate segment ids, reversed risk bands) is
//! refused at load, naming the field, rather than turned into nonsense labels.

use super::Bundle;

/// Returns the first broken invariant as `field: problem`.
pub(super) fn invariants(b: &Bundle) -> Result<(), String> {
    if b.horizon_months < 1 {
        return Err(format!(
            "horizon_months is {}, expected 1 or more",
            b.horizon_months
        ));
    }
    features(b)?;
    segments(b)?;
    lapse(b)?;
    products(b)?;
    plausible(b)?;
    cleaning(b)
}

/// Longest name a segment or product may carry: names are copied into every label row.
const MAX_NAME_CHARS: usize = 200;
/// Largest magnitude of a coefficient or intercept on standardised columns: an L2 fit
/// never comes near it; a value above it saturates every probability to 0 or 1.
const MAX_COEFFICIENT: f64 = 1e4;
/// Largest magnitude of a segment centre in standard deviations.
const MAX_CENTRE: f64 = 1e4;

fn name(field: &str, text: &str) -> Result<(), String> {
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{field} is {} characters long, expected at most {MAX_NAME_CHARS}",
            text.chars().count()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("{field} holds control characters"));
    }
    Ok(())
}

fn bounded(field: &str, values: &[f64], limit: f64) -> Result<(), String> {
    match values.iter().find(|v| v.abs() > limit) {
        Some(v) => Err(format!(
            "{field} holds {v}, beyond +/-{limit:e} (no training run writes such a value)"
        )),
        None => Ok(()),
    }
}

/// Values in range of their type that no training run could write: a spread far below
/// the feature's range (every distance infinite), saturating coefficients, huge names,
/// counts beyond the book.
fn plausible(b: &Bundle) -> Result<(), String> {
    if let Some(r) = &b.retention {
        r.check()?;
    }
    for f in &b.features.numeric {
        if f.sd < 1e-12 || f.sd < (f.upper - f.lower) * 1e-9 {
            return Err(format!(
                "features.numeric[{}].sd is {}, implausibly small for values from {} to {}",
                f.name, f.sd, f.lower, f.upper
            ));
        }
    }
    let m = &b.lapse;
    bounded("lapse.coefficients", &m.coefficients, MAX_COEFFICIENT)?;
    bounded("lapse.intercept", &[m.intercept], MAX_COEFFICIENT)?;
    for s in &b.segments.segments {
        bounded(&format!("segments[{}].centre", s.id), &s.centre, MAX_CENTRE)?;
        name(&format!("segments[{}].name", s.id), &s.name)?;
        name(
            &format!("segments[{}].generated_name", s.id),
            &s.generated_name,
        )?;
        if s.size > b.data.clients || !(0.0..=1.0).contains(&s.share) {
            return Err(format!(
                "segments[{}] has {} clients ({} of the book) in a book of {}",
                s.id, s.size, s.share, b.data.clients
            ));
        }
    }
    Ok(())
}

/// Product models: at most 64 (holdings are 64-bit masks), each a complete linear model
/// over the lapse model's base columns.
fn products(b: &Bundle) -> Result<(), String> {
    let Some(p) = &b.products else {
        return Ok(());
    };
    if p.models.len() > 64 {
        return Err(format!(
            "products has {} models, at most 64 can be held",
            p.models.len()
        ));
    }
    let base = b.features.n_columns();
    for pm in &p.models {
        let field = format!("products[{}]", pm.product);
        name(&format!("{field}.product"), &pm.product)?;
        let m = &pm.model;
        let n = m.form.width(base);
        if m.coefficients.len() != n || m.centres.len() != n {
            return Err(format!(
                "{field} has {} coefficients and {} centres for {n} model columns",
                m.coefficients.len(),
                m.centres.len()
            ));
        }
        for v in m
            .coefficients
            .iter()
            .chain(&m.centres)
            .chain([&m.intercept])
        {
            finite(&format!("{field}.model"), *v)?;
        }
        bounded(
            &format!("{field}.model.coefficients"),
            &m.coefficients,
            MAX_COEFFICIENT,
        )?;
        probability(&format!("{field}.model.threshold"), m.threshold)?;
    }
    Ok(())
}

/// A model whose features include one this version computes no longer, or under another
/// meaning (`Feature::RETIRED`): labeling it would feed it a different quantity, so it
/// is refused with what replaced the feature. Flat mode's columns are the user's own.
pub(super) fn retired_features(b: &Bundle) -> Result<(), String> {
    if b.config.mode == crate::config::Mode::Flat {
        return Ok(());
    }
    let retired: Vec<String> = b
        .features
        .numeric
        .iter()
        .filter_map(|f| {
            crate::features::Feature::RETIRED
                .iter()
                .find(|(old, _)| *old == f.name)
                .map(|(old, new)| format!("{old} is now {new}"))
        })
        .collect();
    if retired.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this model was trained with features this version of clientele no longer \
         computes: {}; retrain the model with this version, or label with the release \
         that trained it",
        retired.join("; ")
    ))
}

fn finite(field: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{field} is {v}, expected a finite number"))
    }
}

fn probability(field: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{field} is {v}, expected a probability in [0, 1]"))
    }
}

fn features(b: &Bundle) -> Result<(), String> {
    for f in &b.features.numeric {
        let field = |name: &str| format!("features.numeric[{}].{name}", f.name);
        for (name, v) in [
            ("lower", f.lower),
            ("upper", f.upper),
            ("median", f.median),
            ("mean", f.mean),
            ("sd", f.sd),
        ] {
            finite(&field(name), v)?;
        }
        if f.lower > f.upper {
            return Err(format!(
                "{} {} is above upper {}",
                field("lower"),
                f.lower,
                f.upper
            ));
        }
        if f.sd <= 0.0 {
            return Err(format!(
                "{} is {}, expected a positive spread",
                field("sd"),
                f.sd
            ));
        }
    }
    for c in &b.features.categorical {
        if c.shares.len() != c.levels.len() + 1 {
            return Err(format!(
                "features.categorical[{}] has {} shares for {} levels plus 'other'",
                c.name,
                c.shares.len(),
                c.levels.len()
            ));
        }
    }
    Ok(())
}

fn segments(b: &Bundle) -> Result<(), String> {
    let model = &b.segments;
    if model.segments.is_empty() {
        return Err("segments.segments is empty".into());
    }
    let columns = b.features.columns();
    if let Some(f) = model.features.iter().find(|f| !columns.contains(f)) {
        return Err(format!(
            "segments.features names '{f}', which is not a model feature"
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    for s in &model.segments {
        if !ids.insert(s.id) {
            return Err(format!("segments: id {} appears twice", s.id));
        }
        if s.centre.len() != model.features.len() {
            return Err(format!(
                "segments[{}].centre has {} values for {} segment features",
                s.id,
                s.centre.len(),
                model.features.len()
            ));
        }
        if let Some(e) = s.exit_rates {
            probability(&format!("segments[{}].exit_rates.lapse", s.id), e.lapse)?;
            probability(
                &format!("segments[{}].exit_rates.surrender", s.id),
                e.surrender,
            )?;
        }
        for v in &s.centre {
            finite(&format!("segments[{}].centre", s.id), *v)?;
        }
    }
    Ok(())
}

/// Each pairwise term reads columns the model matrix has, and has a share per cell.
fn pairs(b: &Bundle) -> Result<(), String> {
    let (base, numeric) = (b.features.n_columns(), b.features.numeric.len());
    for (p, pair) in b.lapse.form.pairs.iter().enumerate() {
        for side in [&pair.first, &pair.second] {
            let fits = match side {
                crate::lapse::PairSide::Bins(bins) => {
                    bins.column < numeric
                        && bins.cuts.iter().all(|c| c.is_finite())
                        && bins.cuts.windows(2).all(|w| w[0] < w[1])
                        && bins.ranges.len() == bins.width()
                }
                crate::lapse::PairSide::Levels { first, count, .. } => {
                    *first >= numeric && *count >= 2 && side.end_column() <= base
                }
            };
            if !fits {
                return Err(format!(
                    "lapse.form.pairs[{p}] reads model columns the features do not have, or \
                     its cuts are not finite and ascending"
                ));
            }
        }
        if pair.shares.len() != pair.width() {
            return Err(format!(
                "lapse.form.pairs[{p}] has {} cell shares for {} cells",
                pair.shares.len(),
                pair.width()
            ));
        }
    }
    Ok(())
}

fn lapse(b: &Bundle) -> Result<(), String> {
    let m = &b.lapse;
    let base = b.features.n_columns();
    let n = m.form.width(base);
    if m.coefficients.len() != n || m.centres.len() != n || m.columns.len() != n {
        return Err(format!(
            "lapse has {} columns, {} coefficients and {} centres for {n} model columns",
            m.columns.len(),
            m.coefficients.len(),
            m.centres.len()
        ));
    }
    let mut last = None;
    for bins in &m.form.binned {
        if bins.column >= b.features.numeric.len() || last.is_some_and(|l| l >= bins.column) {
            return Err(format!(
                "lapse.form bins column {}, which is not a numeric feature in ascending order",
                bins.column
            ));
        }
        last = Some(bins.column);
        if bins.ranges.len() != bins.width() || bins.shares.len() != bins.width() {
            return Err(format!(
                "lapse.form column {}: {} cuts need {} ranges and shares",
                bins.column,
                bins.cuts.len(),
                bins.width()
            ));
        }
        if bins.cuts.iter().any(|c| !c.is_finite()) || bins.cuts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "lapse.form column {}: cuts must be finite and ascending",
                bins.column
            ));
        }
    }
    pairs(b)?;
    for (name, values) in [
        ("lapse.coefficients", &m.coefficients),
        ("lapse.centres", &m.centres),
    ] {
        for v in values {
            finite(name, *v)?;
        }
    }
    finite("lapse.intercept", m.intercept)?;
    probability("lapse.threshold", m.threshold)?;
    probability("lapse.top10_threshold", m.top10_threshold)?;
    probability("lapse.bands.medium", m.bands.medium)?;
    probability("lapse.bands.high", m.bands.high)?;
    if m.bands.medium > m.bands.high {
        return Err(format!(
            "lapse.bands: medium {} is above high {} (bands reversed)",
            m.bands.medium, m.bands.high
        ));
    }
    probability("lapse.training_lapse_rate", m.training_lapse_rate)?;
    m.threshold_rule
        .check()
        .map_err(|e| format!("lapse.threshold_rule: {e}"))
}

fn cleaning(b: &Bundle) -> Result<(), String> {
    for (key, fit) in &b.cleaning.numeric {
        let field = |name: &str| format!("cleaning.numeric[{key}].{name}");
        for (name, v) in [
            ("lower", fit.lower),
            ("upper", fit.upper),
            ("median", fit.median),
        ] {
            finite(&field(name), v)?;
        }
        if fit.lower > fit.upper {
            return Err(format!(
                "{} {} is above upper {}",
                field("lower"),
                fit.lower,
                fit.upper
            ));
        }
    }
    Ok(())
}
