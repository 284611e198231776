//! In-memory typed tables. Identifiers and categories are dictionary-coded (a code per
//! row, each distinct text once), numbers are `f64` with NaN for missing, dates are
//! `Option<Date>`. Compact enough for tens of millions of payment rows.

use crate::date::Date;
use crate::schema::Source;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Code of a missing value in a `Coded` column.
pub const MISSING: u32 = u32::MAX;

/// A dictionary-coded text column.
#[derive(Clone, Debug, Default)]
pub struct Coded {
    pub levels: Vec<String>,
    pub codes: Vec<u32>,
    lookup: HashMap<String, u32>,
}

impl Coded {
    pub fn with_capacity(n: usize) -> Self {
        Coded {
            levels: Vec::new(),
            codes: Vec::with_capacity(n),
            lookup: HashMap::new(),
        }
    }

    pub fn push(&mut self, value: &str) {
        let code = match self.lookup.get(value) {
            Some(&c) => c,
            None => {
                let c = self.levels.len() as u32;
                self.levels.push(value.to_string());
                self.lookup.insert(value.to_string(), c);
                c
            }
        };
        self.codes.push(code);
    }

    pub fn push_missing(&mut self) {
        self.codes.push(MISSING);
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        match self.codes.get(row) {
            Some(&c) if c != MISSING => self.levels.get(c as usize).map(String::as_str),
            _ => None,
        }
    }

    /// Replaces every level by `f(level)`, merging levels that become equal.
    /// Returns, per new level, nothing; the caller counts changes from `changed`.
    pub fn remap(&mut self, mut f: impl FnMut(&str) -> String) {
        let mut new_levels: Vec<String> = Vec::new();
        let mut new_lookup: HashMap<String, u32> = HashMap::new();
        let translate: Vec<u32> = self
            .levels
            .iter()
            .map(|old| {
                let new = f(old);
                *new_lookup.entry(new.clone()).or_insert_with(|| {
                    new_levels.push(new);
                    (new_levels.len() - 1) as u32
                })
            })
            .collect();
        for c in &mut self.codes {
            if *c != MISSING {
                *c = translate[*c as usize];
            }
        }
        self.levels = new_levels;
        self.lookup = HashMap::new();
        drop(new_lookup);
    }

    /// Drops the text-to-code lookup once no more values will be pushed: on large
    /// tables it costs as much memory as the codes themselves.
    pub fn freeze(&mut self) {
        self.lookup = HashMap::new();
    }
}

/// A column's values.
#[derive(Clone, Debug)]
pub enum Values {
    Coded(Coded),
    Number(Vec<f64>),
    Date(Vec<Option<Date>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Coded(c) => c.codes.len(),
            Values::Number(v) => v.len(),
            Values::Date(v) => v.len(),
        }
    }

    fn retain(&mut self, keep: &[bool]) {
        fn filter<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                let k = keep[i];
                i += 1;
                k
            });
        }
        match self {
            Values::Coded(c) => filter(&mut c.codes, keep),
            Values::Number(v) => filter(v, keep),
            Values::Date(v) => filter(v, keep),
        }
    }

    fn cmp_rows(&self, a: usize, b: usize) -> Ordering {
        match self {
            Values::Coded(c) => c.codes[a].cmp(&c.codes[b]),
            Values::Number(v) => v[a].total_cmp(&v[b]),
            Values::Date(v) => v[a].cmp(&v[b]),
        }
    }

    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Values::Coded(c) => c.codes[row] == MISSING,
            Values::Number(v) => v[row].is_nan(),
            Values::Date(v) => v[row].is_none(),
        }
    }

    /// The value as text, for quarantine records.
    pub fn display(&self, row: usize) -> String {
        match self {
            Values::Coded(c) => c.get(row).unwrap_or("").to_string(),
            Values::Number(v) if v[row].is_nan() => String::new(),
            Values::Number(v) => v[row].to_string(),
            Values::Date(v) => v[row].map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// A source's rows after reading: columns keyed by contract field name.
#[derive(Clone, Debug)]
pub struct Table {
    pub source: Source,
    pub path: PathBuf,
    /// The 1-based data row each retained row came from.
    pub rows: Vec<u32>,
    /// Index of each row's client in the book (filled by cleaning; empty before).
    pub client: Vec<u32>,
    /// Index of each row's policy in the policies table, or `MISSING`.
    pub policy: Vec<u32>,
    columns: BTreeMap<String, Values>,
    /// Contract field -> the file's column name.
    file_columns: BTreeMap<String, String>,
}

impl Table {
    pub fn new(source: Source, path: PathBuf, n: usize) -> Self {
        Table {
            source,
            path,
            rows: (1..=n as u32).collect(),
            client: Vec::new(),
            policy: Vec::new(),
            columns: BTreeMap::new(),
            file_columns: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, field: &str, file_column: &str, values: Values) {
        debug_assert_eq!(values.len(), self.rows.len());
        self.columns.insert(field.to_string(), values);
        self.file_columns
            .insert(field.to_string(), file_column.to_string());
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.columns.contains_key(field)
    }

    pub fn fields(&self) -> impl Iterator<Item = (&String, &Values)> {
        self.columns.iter()
    }

    pub fn file_column<'a>(&'a self, field: &'a str) -> &'a str {
        self.file_columns
            .get(field)
            .map(String::as_str)
            .unwrap_or(field)
    }

    pub fn values(&self, field: &str) -> Option<&Values> {
        self.columns.get(field)
    }

    pub fn values_mut(&mut self, field: &str) -> Option<&mut Values> {
        self.columns.get_mut(field)
    }

    pub fn coded(&self, field: &str) -> Option<&Coded> {
        match self.columns.get(field) {
            Some(Values::Coded(c)) => Some(c),
            _ => None,
        }
    }

    pub fn coded_mut(&mut self, field: &str) -> Option<&mut Coded> {
        match self.columns.get_mut(field) {
            Some(Values::Coded(c)) => Some(c),
            _ => None,
        }
    }

    pub fn numbers(&self, field: &str) -> Option<&[f64]> {
        match self.columns.get(field) {
            Some(Values::Number(v)) => Some(v),
            _ => None,
        }
    }

    pub fn numbers_mut(&mut self, field: &str) -> Option<&mut Vec<f64>> {
        match self.columns.get_mut(field) {
            Some(Values::Number(v)) => Some(v),
            _ => None,
        }
    }

    pub fn dates(&self, field: &str) -> Option<&[Option<Date>]> {
        match self.columns.get(field) {
            Some(Values::Date(v)) => Some(v),
            _ => None,
        }
    }

    /// Keeps the rows whose flag is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        let mut i = 0;
        self.rows.retain(|_| {
            let k = keep[i];
            i += 1;
            k
        });
        for v in self.columns.values_mut() {
            v.retain(keep);
        }
        for links in [&mut self.client, &mut self.policy] {
            if !links.is_empty() {
                let mut i = 0;
                links.retain(|_| {
                    let k = keep[i];
                    i += 1;
                    k
                });
            }
        }
    }

    /// Flags every row that repeats an earlier row exactly (all columns equal).
    /// Sort-based: no hash set of whole rows, so it stays cheap on large tables.
    pub fn exact_duplicates(&self) -> Vec<bool> {
        let n = self.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        let cols: Vec<&Values> = self.columns.values().collect();
        let cmp = |a: usize, b: usize| {
            cols.iter()
                .map(|c| c.cmp_rows(a, b))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        };
        order.sort_unstable_by(|&a, &b| cmp(a as usize, b as usize).then(a.cmp(&b)));
        let mut dup = vec![false; n];
        for w in order.windows(2) {
            if cmp(w[0] as usize, w[1] as usize) == Ordering::Equal {
                dup[w[1] as usize] = true;
            }
        }
        dup
    }

    /// The row's values as `column=value` pairs, for the quarantine file.
    pub fn record(&self, row: usize) -> String {
        self.columns
            .iter()
            .map(|(f, v)| format!("{}={}", self.file_column(f), v.display(row)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_duplicates_keeping_the_first() {
        let mut t = Table::new(Source::Contacts, PathBuf::from("x.csv"), 4);
        let mut ids = Coded::with_capacity(4);
        for s in ["a", "b", "a", "a"] {
            ids.push(s);
        }
        t.insert("client_id", "client_id", Values::Coded(ids));
        t.insert("n", "n", Values::Number(vec![1.0, 1.0, 1.0, 2.0]));
        assert_eq!(t.exact_duplicates(), vec![false, false, true, false]);
        t.retain(&[true, true, false, true]);
        assert_eq!(t.rows, vec![1, 2, 4]);
    }

    #[test]
    fn remap_merges_spellings() {
        let mut c = Coded::with_capacity(3);
        for s in ["M", "male", " Male "] {
            c.push(s);
        }
        c.remap(|s| {
            if s.trim().to_lowercase().starts_with('m') {
                "male".into()
            } else {
                s.into()
            }
        });
        assert_eq!(c.levels, vec!["male"]);
        assert_eq!(c.codes, vec![0, 0, 0]);
    }
}
