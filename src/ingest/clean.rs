//! Cleaning rules, as practitioners apply them: normalise category spellings, drop exact
//! duplicates, quarantine invalid rows with a reason, and fit/apply imputation and
//! outlier caps. Pure functions over `Table`s; reading and orchestration live elsewhere.

use super::quality::{QuarantinedRow, SourceQuality};
use super::table::{Coded, Levels, Table, Values, MISSING};
use crate::date::Date;
use crate::error::{Error, Result};
use crate::schema::{builtin_aliases, vocabulary, Kind, Source};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Trim, lower-case and collapse inner whitespace.
pub fn normalise_spelling(raw: &str) -> String {
    raw.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// User aliases: field -> (normalised spelling -> canonical value).
pub type Aliases = BTreeMap<String, BTreeMap<String, String>>;

/// Maps a raw category value to its canonical form. Returns the value and whether it
/// fell outside a closed vocabulary (and became `other`).
pub fn canonical_category(
    source: Source,
    field: &str,
    raw: &str,
    aliases: &Aliases,
) -> (String, bool) {
    let n = normalise_spelling(raw);
    let aliased = aliases
        .get(field)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| normalise_spelling(k) == n)
                .map(|(_, v)| v.clone())
        })
        .or_else(|| {
            builtin_aliases(field)
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| (*v).to_string())
        })
        .unwrap_or(n);
    match vocabulary(source, field) {
        Some(vocab) => {
            let u = aliased.replace([' ', '-'], "_");
            if vocab.contains(&u.as_str()) {
                (u, false)
            } else {
                ("other".to_string(), true)
            }
        }
        None => (aliased, false),
    }
}

/// Normalises every category column of a table in place and counts the changes.
pub fn normalise_categories(
    table: &mut Table,
    kinds: &[(String, Kind)],
    aliases: &Aliases,
    q: &mut SourceQuality,
) {
    let source = table.source;
    for (field, kind) in kinds {
        if *kind != Kind::Category {
            continue;
        }
        let file_column = table.file_column(field).to_string();
        let Some(col) = table.coded_mut(field) else {
            continue;
        };
        let mut per_level = vec![0usize; col.levels.len()];
        for &c in &col.codes {
            if c != MISSING {
                per_level[c as usize] += 1;
            }
        }
        let (mut changed, mut other) = (0, 0);
        let mut mapping = HashMap::new();
        for (level, count) in col.levels.iter().zip(&per_level) {
            let (canon, to_other) = canonical_category(source, field, level, aliases);
            if canon != *level {
                changed += count;
            }
            if to_other {
                other += count;
            }
            mapping.insert(level.to_string(), canon);
        }
        col.remap(|l| mapping.get(l).cloned().unwrap_or_else(|| l.to_string()));
        let cq = q.column(field, &file_column);
        cq.normalised += changed;
        cq.mapped_to_other += other;
    }
}

/// Collects a reason per invalid row; the first reason found wins. Sparse: invalid rows
/// are few, and a slot per row would cost 24 bytes on tables of tens of millions.
pub struct Verdicts {
    n: usize,
    reasons: BTreeMap<usize, String>,
}

impl Verdicts {
    pub fn new(n: usize) -> Self {
        Verdicts {
            n,
            reasons: BTreeMap::new(),
        }
    }

    pub fn flag(&mut self, row: usize, reason: impl FnOnce() -> String) {
        if row < self.n {
            self.reasons.entry(row).or_insert_with(reason);
        }
    }

    /// Flags, with `reason`, every row whose value in `values` is `bad`. Rows are scanned
    /// in parallel blocks (tables have tens of millions of rows, of which few are
    /// flagged), each first in one pass without branches, and flagged in row order, so
    /// the first reason per row is the same as a sequential scan's.
    pub fn flag_values<T: Sync>(
        &mut self,
        values: &[T],
        bad: impl Fn(&T) -> bool + Sync,
        reason: impl Fn() -> String,
    ) {
        use rayon::prelude::*;
        const BLOCK: usize = 1 << 16;
        let bad = &bad;
        let rows: Vec<usize> = values
            .par_chunks(BLOCK)
            .enumerate()
            .flat_map_iter(|(b, block)| {
                // No early exit, so the test compiles to a vector loop.
                let any = block.iter().fold(false, |any, v| any | bad(v));
                let found = block.iter().enumerate().filter(move |(_, v)| any && bad(v));
                found.map(move |(i, _)| b * BLOCK + i)
            })
            .collect();
        for i in rows {
            self.flag(i, &reason);
        }
    }

    pub fn is_flagged(&self, row: usize) -> bool {
        self.reasons.contains_key(&row)
    }

    /// Moves flagged rows out of the table into the quarantine list.
    pub fn apply(self, table: &mut Table, q: &mut SourceQuality, out: &mut Vec<QuarantinedRow>) {
        if self.reasons.is_empty() {
            q.rows_kept = table.len();
            return;
        }
        let dropped: Vec<usize> = self.reasons.keys().copied().collect();
        for (i, reason) in self.reasons {
            *q.quarantine_reasons.entry(reason.clone()).or_default() += 1;
            q.quarantined += 1;
            out.push(QuarantinedRow {
                source: table.source,
                row: table.rows[i],
                reason,
                record: table.record(i),
            });
        }
        table.drop_rows(&dropped);
        q.rows_kept = table.len();
    }
}

/// Drops exact duplicate rows (keeping the first) and counts them.
pub fn drop_exact_duplicates(table: &mut Table, q: &mut SourceQuality) {
    let repeats = table.exact_duplicates();
    table.drop_rows(&repeats);
    q.duplicates_dropped += repeats.len();
    q.rows_kept = table.len();
}

/// Flags rows whose required fields are missing.
pub fn flag_missing(table: &Table, required: &[&str], v: &mut Verdicts) {
    for field in required {
        let reason = || format!("missing {}", table.file_column(field));
        match table.values(field) {
            Some(Values::Coded(c)) => v.flag_values(&c.codes, |&c| c == MISSING, reason),
            Some(Values::Number(x)) => v.flag_values(x, |x| x.is_nan(), reason),
            Some(Values::Date(d)) => v.flag_values(d, Option::is_none, reason),
            None => {}
        }
    }
}

pub fn flag_negative(table: &Table, fields: &[&str], v: &mut Verdicts) {
    for field in fields {
        if let Some(values) = table.numbers(field) {
            v.flag_values(
                values,
                |&x| x < 0.0,
                || format!("negative {}", table.file_column(field)),
            );
        }
    }
}

/// Largest magnitude a number in a client book can plausibly have. Beyond it, sums and
/// squares of a few values overflow to infinity and would reach the model.
pub const MAX_MAGNITUDE: f64 = 1e15;

/// Quarantines rows holding a number beyond `MAX_MAGNITUDE` in any numeric field.
pub fn flag_out_of_scale(table: &Table, v: &mut Verdicts) {
    for (field, values) in table.fields() {
        let Values::Number(values) = values else {
            continue;
        };
        v.flag_values(
            values,
            |x| x.abs() > MAX_MAGNITUDE,
            || format!("{} beyond {MAX_MAGNITUDE:e}", table.file_column(field)),
        );
    }
}

pub fn flag_future(table: &Table, fields: &[&str], extract: Date, v: &mut Verdicts) {
    for field in fields {
        if let Some(values) = table.dates(field) {
            v.flag_values(
                values,
                |d| d.is_some_and(|d| d > extract),
                || format!("{} after the extract date", table.file_column(field)),
            );
        }
    }
}

/// Resolves each row's client id to the book's client index; unknown ids are flagged
/// when `authoritative` (a clients table exists).
pub fn link_clients(table: &mut Table, index: &IdIndex, authoritative: bool, v: &mut Verdicts) {
    let Some(links) = link_ids(
        table,
        "client_id",
        index,
        authoritative,
        "unknown client",
        v,
    ) else {
        return;
    };
    table.client = links;
}

/// Resolves policy ids to rows of the policies table; unknown ids are flagged.
pub fn link_policies(table: &mut Table, policy_rows: Option<&IdIndex>, v: &mut Verdicts) {
    let Some(rows) = policy_rows else {
        if table.has("policy_id") {
            table.policy = vec![MISSING; table.len()];
        }
        return;
    };
    if let Some(links) = link_ids(table, "policy_id", rows, true, "unknown policy", v) {
        table.policy = links;
    }
}

/// Each row's entry in `index` for its `field` text (missing when absent or unknown),
/// looked up once per distinct text; with `flag_unknown`, rows whose text is not in the
/// index get `reason`. `None` when the table has no such column.
fn link_ids(
    table: &Table,
    field: &str,
    index: &IdIndex,
    flag_unknown: bool,
    reason: &str,
    v: &mut Verdicts,
) -> Option<Vec<u32>> {
    use rayon::prelude::*;
    let ids = table.coded(field)?;
    let translate = index.rows_of(&ids.levels);
    let links: Vec<u32> = ids
        .codes
        .par_iter()
        .with_min_len(1 << 16)
        .map(|&c| {
            if c == MISSING {
                MISSING
            } else {
                translate[c as usize]
            }
        })
        .collect();
    // Rows are scanned only when some id is unknown (in a clean book, none is).
    if flag_unknown && translate.contains(&MISSING) {
        v.flag_values(
            &ids.codes,
            |&c| c != MISSING && translate.get(c as usize) == Some(&MISSING),
            || reason.to_string(),
        );
    }
    Some(links)
}

/// Sets impossible values to missing (a client row is never dropped for one bad field).
pub fn null_out_of_range(table: &mut Table, field: &str, lo: f64, hi: f64, q: &mut SourceQuality) {
    let file_column = table.file_column(field).to_string();
    let Some(values) = table.numbers_mut(field) else {
        return;
    };
    let mut n = 0;
    for x in values.iter_mut() {
        if !x.is_nan() && (*x < lo || *x > hi) {
            *x = f64::NAN;
            n += 1;
        }
    }
    q.column(field, &file_column).invalid_set_missing += n;
}

pub fn null_dates_outside(
    table: &mut Table,
    field: &str,
    lo: Date,
    hi: Date,
    q: &mut SourceQuality,
) {
    let file_column = table.file_column(field).to_string();
    let Some(Values::Date(values)) = table.values_mut(field) else {
        return;
    };
    let mut n = 0;
    for d in values.iter_mut() {
        if d.is_some_and(|x| x < lo || x > hi) {
            *d = None;
            n += 1;
        }
    }
    q.column(field, &file_column).invalid_set_missing += n;
}

/// Counts missing values per column of the kept rows.
pub fn count_missing(table: &Table, q: &mut SourceQuality) {
    let counts: Vec<(String, String, usize)> = table
        .fields()
        .map(|(f, v)| (f.clone(), table.file_column(f).to_string(), v.missing()))
        .collect();
    for (f, col, n) in counts {
        q.column(&f, &col).missing = n;
    }
}

/// Imputation and outlier caps for one numeric column, fitted once on the training
/// book and stored; applied unchanged to every later batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericFit {
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Fitted cleaning statistics, keyed `source.field`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CleaningStats {
    pub numeric: BTreeMap<String, NumericFit>,
}

/// Linear-interpolated quantile of sorted, finite values.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

impl CleaningStats {
    /// Fits median and caps for the given numeric fields of a table.
    pub fn fit(&mut self, table: &Table, fields: &[&str], quantile: f64) {
        for field in fields {
            let Some(values) = table.numbers(field) else {
                continue;
            };
            let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
            self.fit_values(format!("{}.{field}", table.source.name()), v, quantile);
        }
    }

    /// Fits median and caps for `key` (`source.field`) on its finite values, in any
    /// order (nothing is fitted on none).
    pub fn fit_values(&mut self, key: String, mut values: Vec<f64>, quantile: f64) {
        values.retain(|x| x.is_finite());
        if values.is_empty() {
            return;
        }
        values.sort_by(f64::total_cmp);
        self.numeric.insert(
            key,
            NumericFit {
                median: quantile_sorted(&values, 0.5),
                lower: quantile_sorted(&values, 1.0 - quantile),
                upper: quantile_sorted(&values, quantile),
            },
        );
    }

    /// Imputes and caps a table's numeric fields with the stored statistics.
    pub fn apply(&self, table: &mut Table, q: &mut SourceQuality) {
        let prefix = format!("{}.", table.source.name());
        for (key, fit) in &self.numeric {
            let Some(field) = key.strip_prefix(&prefix) else {
                continue;
            };
            let file_column = table.file_column(field).to_string();
            let keep_reported = table.source == Source::Clients;
            let Some(values) = table.numbers_mut(field) else {
                continue;
            };
            let (mut imputed, mut capped) = (0, 0);
            let reported = keep_reported.then(|| values.clone());
            for x in values.iter_mut() {
                if x.is_nan() {
                    *x = fit.median;
                    imputed += 1;
                } else if *x > fit.upper {
                    *x = fit.upper;
                    capped += 1;
                } else if *x < fit.lower {
                    *x = fit.lower;
                    capped += 1;
                }
            }
            if let Some(reported) = reported {
                table.reported.insert(field.to_string(), reported);
            }
            let cq = q.column(field, &file_column);
            cq.imputed += imputed;
            cq.capped += capped;
        }
    }
}

/// For a table keyed by client id: drops exact duplicates (already done), quarantines
/// rows without an id, and refuses ids repeated with different attributes.
pub fn unique_ids(table: &Table, v: &mut Verdicts, id_field: &str) -> Result<()> {
    let Some(ids) = table.coded(id_field) else {
        return Ok(());
    };
    let mut first: Vec<Option<usize>> = vec![None; ids.levels.len()];
    for (i, &c) in ids.codes.iter().enumerate() {
        if c == MISSING {
            v.flag(i, || format!("missing {}", table.file_column(id_field)));
            continue;
        }
        match first[c as usize] {
            None => first[c as usize] = Some(i),
            Some(j) => {
                return Err(Error::ConflictingDuplicate {
                    path: table.path.clone(),
                    client_id: ids.levels[c as usize].to_string(),
                    first_row: table.rows[j] as usize,
                    second_row: table.rows[i] as usize,
                })
            }
        }
    }
    Ok(())
}

/// Quarantines later rows that repeat a policy id with different attributes.
pub fn flag_repeated(table: &Table, field: &str, v: &mut Verdicts) {
    let Some(ids) = table.coded(field) else {
        return;
    };
    let mut seen = vec![false; ids.levels.len()];
    for (i, &c) in ids.codes.iter().enumerate() {
        if c == MISSING || v.is_flagged(i) {
            continue;
        }
        if seen[c as usize] {
            v.flag(i, || {
                format!(
                    "repeated {} with different attributes",
                    table.file_column(field)
                )
            });
        } else {
            seen[c as usize] = true;
        }
    }
}

/// Index from an id's text to the row of the table that defines it (a client, a
/// policy). Millions of entries, so hashed with a fast fixed-seed hash rather than the
/// DoS-resistant default (lookups only, never iterated: order cannot leak into results).
/// Keys borrow the texts of the column or list they index: millions of ids are not
/// copied (copying the policy ids took half a second on a 1M-client book).
///
/// Events usually come in the order of the table they point to (a client's payments
/// after the previous client's), so the ids of a column, in first-appearance order,
/// are mostly each the row after the one before: `rows_of` tries that row first and
/// hashes only when it holds another id (hash lookups in tables of millions were 7% of
/// reading a book, nearly all cache misses).
pub struct IdIndex<'a> {
    rows: HashMap<&'a str, u32, foldhash::fast::FixedState>,
    /// Each row's id, for the next-row guess; `None` when some id is on two rows (a
    /// guess could then find another row than the lookup).
    by_row: Option<RowIds<'a>>,
}

/// The ids an `IdIndex` was made from, by row (borrowed, not copied).
#[derive(Clone, Copy)]
enum RowIds<'a> {
    List(&'a [String]),
    Column(&'a Coded),
}

impl<'a> RowIds<'a> {
    fn len(self) -> usize {
        match self {
            RowIds::List(ids) => ids.len(),
            RowIds::Column(ids) => ids.codes.len(),
        }
    }

    /// The row's id; `None` for a row without one (or past the end).
    fn get(self, row: usize) -> Option<&'a str> {
        let id = match self {
            RowIds::List(ids) => ids.get(row).map(String::as_str),
            RowIds::Column(ids) => ids.get(row),
        };
        id.filter(|id| !id.is_empty())
    }
}

impl<'a> IdIndex<'a> {
    /// Indexes ids by their position in `ids` (the first position for a repeated one).
    pub fn of_list(ids: &'a [String]) -> Self {
        IdIndex::of_rows(RowIds::List(ids))
    }

    /// Indexes a coded column's ids by the first row holding each.
    pub fn of_column(ids: &'a Coded) -> Self {
        IdIndex::of_rows(RowIds::Column(ids))
    }

    fn of_rows(ids: RowIds<'a>) -> Self {
        let mut rows = HashMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut unique = true;
        for row in 0..ids.len() {
            // A row without an id is never found, nor guessed.
            let Some(id) = ids.get(row) else { continue };
            match rows.entry(id) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(row as u32);
                }
                std::collections::hash_map::Entry::Occupied(_) => unique = false,
            }
        }
        IdIndex {
            rows,
            by_row: unique.then_some(ids),
        }
    }

    pub fn get(&self, id: &str) -> Option<u32> {
        self.rows.get(id).copied()
    }

    /// The row of each of `levels` (`MISSING` for an unknown id), the same as `get` of
    /// each, in parallel blocks.
    pub fn rows_of(&self, levels: &Levels) -> Vec<u32> {
        use rayon::prelude::*;
        const BLOCK: usize = 1 << 14;
        let n = levels.len();
        let block = |b: usize| {
            let mut out = Vec::with_capacity(BLOCK);
            let mut previous = MISSING;
            for code in b * BLOCK..((b + 1) * BLOCK).min(n) {
                let id = levels.get(code).unwrap_or_default();
                let next = previous.checked_add(1).filter(|&r| {
                    let guess = self.by_row.and_then(|ids| ids.get(r as usize));
                    guess.is_some_and(|guess| guess == id)
                });
                previous = next.or_else(|| self.get(id)).unwrap_or(MISSING);
                out.push(previous);
            }
            out
        };
        let blocks: Vec<Vec<u32>> = (0..n.div_ceil(BLOCK)).into_par_iter().map(block).collect();
        blocks.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_levels_are_the_lookups_of_each() {
        let defined: Vec<String> = (0..40_000).map(|i| format!("C{i:06}")).collect();
        // In order with gaps, out of order, unknown, and across block boundaries.
        let mut searched: Vec<String> =
            (0..40_000).step_by(3).map(|i| defined[i].clone()).collect();
        searched.extend(["C999999", "C000007", "", "C000001"].map(String::from));
        searched.extend((0..500).rev().map(|i| defined[i * 7].clone()));
        let levels: Levels = searched.iter().collect();
        let check = |index: &IdIndex| {
            let expected: Vec<u32> = searched
                .iter()
                .map(|id| index.get(id).unwrap_or(MISSING))
                .collect();
            assert_eq!(index.rows_of(&levels), expected);
        };
        let unique = IdIndex::of_list(&defined);
        assert!(unique.by_row.is_some());
        assert_eq!(unique.get("C000003"), Some(3));
        check(&unique);
        // An id on two rows: the first row, guessed or not.
        let mut repeated = defined.clone();
        repeated.insert(2, "C000004".to_string());
        let index = IdIndex::of_list(&repeated);
        assert!(index.by_row.is_none());
        assert_eq!(index.get("C000004"), Some(2));
        check(&index);
        // Rows without an id are never found.
        let mut column = Coded::with_capacity(4);
        for id in ["P1", "", "P2"] {
            column.push(id);
        }
        column.push_missing();
        let index = IdIndex::of_column(&column);
        assert_eq!(index.get(""), None);
        assert_eq!(index.get("P2"), Some(2));
        assert!(index.by_row.is_some());
    }

    #[test]
    fn spellings_normalise_to_one_value() {
        let aliases = Aliases::new();
        for raw in ["M", "male", " Male ", "MALE"] {
            assert_eq!(
                canonical_category(Source::Clients, "gender", raw, &aliases).0,
                "male"
            );
        }
        assert_eq!(
            canonical_category(Source::Policies, "product", "Term Life", &aliases),
            ("term_life".to_string(), false)
        );
        assert_eq!(
            canonical_category(Source::Policies, "product", "pet insurance", &aliases),
            ("other".to_string(), true)
        );
        let mut user = Aliases::new();
        user.entry("region".into())
            .or_default()
            .insert("N. East".into(), "northeast".into());
        assert_eq!(
            canonical_category(Source::Clients, "region", "n. east", &user).0,
            "northeast"
        );
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), 2.5);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
    }
}
