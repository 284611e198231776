//! In-memory typed tables. Identifiers and categories are dictionary-coded (a code per
//! row, each distinct text once), numbers are `f64` with NaN for missing, dates are
//! `Option<Date>` (four bytes). Compact enough for tens of millions of payment rows.
//!
//! Why not polars frames (polars reads the files; its frames are parsed into these once):
//! `benches/book_in_memory.sh` holds the same 1M-client book both ways (2026-12-07, the
//! 2-core VM at load 5). Read, typed, validated, cleaned and linked into these tables:
//! 5.4 s CPU, 1.60 GB peak, 906 MB held; read and linked by joins into polars frames
//! without any validation: 7.9 s CPU, 2.22 GB peak, 833 MB held; a per-client
//! aggregate over the 17M payments (the point-in-time features' shape) 0.15 s against
//! 0.90 s by `group_by`. Linking codes each distinct id once instead of joining on text,
//! and the features index clients directly.

use crate::date::Date;
use crate::schema::Source;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;

/// Code of a missing value in a `Coded` column.
pub const MISSING: u32 = u32::MAX;

/// The distinct texts of a coded column in code order, stored end to end in one buffer:
/// a 1M-client book has millions of distinct ids, and one `String` each cost an
/// allocation to make and one to free (about 5% of reading a book) and 40 bytes of
/// memory for a 9-byte id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    text: String,
    /// End of each level in `text`; a level starts where the one before it ends.
    ends: Vec<usize>,
}

impl Levels {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, code: usize) -> Option<&str> {
        let end = *self.ends.get(code)?;
        let start = code.checked_sub(1).map_or(0, |p| self.ends[p]);
        self.text.get(start..end)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|code| self.get(code).unwrap_or_default())
    }

    /// Appends a level; returns its code.
    pub fn push(&mut self, level: &str) -> u32 {
        self.text.push_str(level);
        self.ends.push(self.text.len());
        (self.ends.len() - 1) as u32
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl std::ops::Index<usize> for Levels {
    type Output = str;

    /// The level with this code; panics on a code the column never gave out.
    fn index(&self, code: usize) -> &str {
        match self.get(code) {
            Some(level) => level,
            None => panic!("no level {code} among {}", self.len()),
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Levels {
    fn from_iter<I: IntoIterator<Item = S>>(levels: I) -> Self {
        let mut out = Levels::default();
        for l in levels {
            out.push(l.as_ref());
        }
        out
    }
}

/// A dictionary-coded text column.
#[derive(Clone, Debug, Default)]
pub struct Coded {
    pub levels: Levels,
    pub codes: Vec<u32>,
    /// Text hash -> code of the first level with that hash; the text is compared on a
    /// hit, so no key string is stored twice. Levels whose hash is taken by another
    /// text go to `collisions`.
    lookup: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    collisions: HashMap<String, u32>,
    /// Codes of the levels that arrived in ascending text order (ids exported in order,
    /// the usual case), hence sorted: a text after the last of them is new without any
    /// lookup, one before it is found by binary search. `lookup` holds the other levels.
    ascending: Vec<u32>,
    /// The largest text moved from `ascending` to `lookup` (a later text up to it may
    /// be one of them).
    moved_max: Option<String>,
    /// Rows whose text was out of order (neither a repeat nor near the end of
    /// `ascending`).
    out_of_order: usize,
    /// Every level is in `lookup` (out-of-order texts were common, or after `freeze`).
    all_hashed: bool,
    /// The lookup was dropped (`freeze`, `remap`): rebuilt if a text is pushed again.
    frozen: bool,
}

/// How many of the last ascending levels a new text may go between (see
/// `Coded::push_near_the_end`).
const TAIL: usize = 8;

/// FxHash-style 64-bit hash of a text (fast; collisions are resolved by comparing text).
fn text_hash(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = s.len() as u64;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    w[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    // Final mix so that the low bits the table uses depend on every input bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

impl Coded {
    pub fn with_capacity(n: usize) -> Self {
        Coded {
            levels: Levels::default(),
            codes: Vec::with_capacity(n),
            lookup: HashMap::default(),
            collisions: HashMap::new(),
            ascending: Vec::new(),
            moved_max: None,
            out_of_order: 0,
            all_hashed: false,
            frozen: false,
        }
    }

    pub fn push(&mut self, value: &str) {
        // Exports are often grouped (a policy's payments together): repeating the
        // previous row's text skips the hash lookup.
        if let Some(&last) = self.codes.last() {
            if last != MISSING && self.levels.get(last as usize) == Some(value) {
                self.codes.push(last);
                return;
            }
        }
        if self.frozen {
            self.hash_all_levels();
            self.frozen = false;
        }
        if !self.all_hashed {
            if let Some(code) = self.push_near_the_end(value) {
                self.codes.push(code);
                return;
            }
            self.out_of_order += 1;
            // Binary searches pay off while out-of-order rows are rare; past one in eight
            // rows (judged once there are enough rows), hash every level instead.
            if self.codes.len() >= 1 << 16 && self.out_of_order * 8 > self.codes.len() {
                self.hash_all_levels();
            } else if let Ok(i) = self
                .ascending
                .binary_search_by(|&c| self.levels[c as usize].cmp(value))
            {
                self.codes.push(self.ascending[i]);
                return;
            }
        }
        let code = self
            .code_of(value)
            .unwrap_or_else(|| self.indexed_level(value));
        self.codes.push(code);
    }

    /// The code of a text that belongs after the first of the last `TAIL` ascending
    /// levels (the usual case for ids exported in order): a repeat of one of them, or a
    /// new level. A new level that would go before some of them moves those to the
    /// lookup and joins the ascending run after the rest, so one stray large id (a row
    /// appended out of place) does not leave every later id out of order. `None` for a
    /// text before all of them.
    fn push_near_the_end(&mut self, value: &str) -> Option<u32> {
        let levels = &self.levels;
        let text = |c: u32| &levels[c as usize];
        let n = self.ascending.len();
        let after_all = self.ascending.last().is_none_or(|&c| value > text(c));
        let cut = if after_all {
            n
        } else {
            let from = n.saturating_sub(TAIL);
            match self.ascending[from..].binary_search_by(|&c| text(c).cmp(value)) {
                Ok(i) => return Some(self.ascending[from + i]),
                Err(0) if from > 0 => return None,
                Err(i) => from + i,
            }
        };
        // A level moved to the lookup earlier may be this text.
        if self.moved_max.as_deref().is_some_and(|m| value <= m) {
            if let Some(code) = self.code_of(value) {
                return Some(code);
            }
        }
        for c in self.ascending.split_off(cut) {
            self.index(c);
            let moved = &self.levels[c as usize];
            if self.moved_max.as_deref().is_none_or(|m| moved > m) {
                self.moved_max = Some(moved.to_string());
            }
        }
        let code = self.new_level(value);
        self.ascending.push(code);
        Some(code)
    }

    /// The code of a known text (the lookup must be built).
    fn code_of(&self, value: &str) -> Option<u32> {
        match self.lookup.get(&text_hash(value)) {
            Some(&c) if self.levels.get(c as usize) == Some(value) => Some(c),
            Some(_) => self.collisions.get(value).copied(),
            None => None,
        }
    }

    /// Adds a new level and indexes it.
    fn indexed_level(&mut self, value: &str) -> u32 {
        let c = self.new_level(value);
        self.index(c);
        c
    }

    fn index(&mut self, c: u32) {
        let level = &self.levels[c as usize];
        match self.lookup.entry(text_hash(level)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(c);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.insert(level.to_string(), c);
            }
        }
    }

    /// Puts every level into the lookup and stops binary searching (levels are distinct).
    fn hash_all_levels(&mut self) {
        self.lookup = HashMap::default();
        self.lookup.reserve(self.levels.len());
        self.collisions = HashMap::new();
        for c in 0..self.levels.len() as u32 {
            self.index(c);
        }
        self.ascending = Vec::new();
        self.moved_max = None;
        self.all_hashed = true;
    }

    fn new_level(&mut self, value: &str) -> u32 {
        self.levels.push(value)
    }

    /// Gives this row a code an earlier row got (`MISSING` included).
    pub fn push_code(&mut self, code: u32) {
        debug_assert!(code == MISSING || (code as usize) < self.levels.len());
        self.codes.push(code);
    }

    /// The last row's code (`MISSING` for none).
    pub fn last_code(&self) -> u32 {
        self.codes.last().copied().unwrap_or(MISSING)
    }

    pub fn push_missing(&mut self) {
        self.codes.push(MISSING);
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        match self.codes.get(row) {
            Some(&c) if c != MISSING => self.levels.get(c as usize),
            _ => None,
        }
    }

    /// Replaces every level by `f(level)`, merging levels that become equal.
    /// Returns, per new level, nothing; the caller counts changes from `changed`.
    pub fn remap(&mut self, mut f: impl FnMut(&str) -> String) {
        let mut new_levels = Levels::default();
        let mut new_lookup: HashMap<String, u32> = HashMap::new();
        let translate: Vec<u32> = self
            .levels
            .iter()
            .map(|old| {
                let new = f(old);
                *new_lookup
                    .entry(new)
                    .or_insert_with_key(|new| new_levels.push(new))
            })
            .collect();
        for c in &mut self.codes {
            if *c != MISSING {
                *c = translate[*c as usize];
            }
        }
        self.levels = new_levels;
        self.stale_lookup();
        drop(new_lookup);
    }

    /// After the levels changed or the lookup was dropped: a later push rebuilds it.
    fn stale_lookup(&mut self) {
        self.lookup = HashMap::default();
        self.collisions = HashMap::new();
        self.ascending = Vec::new();
        self.moved_max = None;
        self.all_hashed = false;
        self.frozen = true;
    }

    /// Drops the text-to-code lookup once no more values will be pushed: on large
    /// tables it costs as much memory as the codes themselves.
    pub fn freeze(&mut self) {
        self.stale_lookup();
    }
}

/// Removes the elements at `dropped` (ascending row indices), keeping the order of the
/// rest, in place. Rows are dropped by the handful out of millions: each run of kept rows
/// between two dropped ones moves with one copy (a per-element `retain` was 7% of
/// reading a book).
fn remove_sorted<T: Copy>(v: &mut Vec<T>, dropped: &[usize]) {
    let n = v.len();
    let mut write = match dropped.first() {
        Some(&first) if first < n => first,
        _ => return,
    };
    for (i, &row) in dropped.iter().enumerate() {
        let next = dropped.get(i + 1).map_or(n, |&r| r.min(n));
        let kept = (row + 1).min(next)..next;
        let len = kept.len();
        v.copy_within(kept, write);
        write += len;
    }
    v.truncate(write);
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

    fn drop_rows(&mut self, dropped: &[usize]) {
        match self {
            Values::Coded(c) => remove_sorted(&mut c.codes, dropped),
            Values::Number(v) => remove_sorted(v, dropped),
            Values::Date(v) => remove_sorted(v, dropped),
        }
    }

    /// The row's value as 64 bits, equal whenever `cmp_rows` says equal.
    fn row_bits(&self, row: usize) -> u64 {
        match self {
            Values::Coded(c) => u64::from(c.codes[row]),
            Values::Number(v) => v[row].to_bits(),
            Values::Date(v) => v[row].map_or(u64::MAX, |d| d.days() as u64),
        }
    }

    fn cmp_rows(&self, a: usize, b: usize) -> Ordering {
        match self {
            Values::Coded(c) => c.codes[a].cmp(&c.codes[b]),
            Values::Number(v) => v[a].total_cmp(&v[b]),
            Values::Date(v) => v[a].cmp(&v[b]),
        }
    }

    /// How many values are missing, counted in parallel blocks.
    pub fn missing(&self) -> usize {
        use rayon::prelude::*;
        fn count<T: Sync>(values: &[T], missing: impl Fn(&T) -> bool + Sync) -> usize {
            let block = |b: &[T]| b.iter().map(|v| usize::from(missing(v))).sum::<usize>();
            values.par_chunks(1 << 16).map(block).sum()
        }
        match self {
            Values::Coded(c) => count(&c.codes, |&c| c == MISSING),
            Values::Number(v) => count(v, |x| x.is_nan()),
            Values::Date(v) => count(v, Option::is_none),
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
    /// Field -> its values as the source gave them, before cleaning imputed and capped
    /// them (NaN where missing); kept for the clients table's numeric attributes, for
    /// rules that must not read a median as a client's income.
    pub reported: BTreeMap<String, Vec<f64>>,
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
            reported: BTreeMap::new(),
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

    /// Drops the identifier columns (client, policy and claim ids) once the rows are
    /// linked through `client` and `policy`: nothing after loading reads them, and on
    /// a large book they are a quarter of its memory (payments' two id columns, codes
    /// and texts, are ~300 MB per million clients).
    pub fn drop_identifiers(&mut self) {
        for field in self.source.fields() {
            if field.kind == crate::schema::Kind::Id {
                self.columns.remove(field.name);
                self.file_columns.remove(field.name);
            }
        }
    }

    /// Removes a text column and returns it.
    pub fn take_coded(&mut self, field: &str) -> Option<Coded> {
        match self.columns.remove(field)? {
            Values::Coded(c) => {
                self.file_columns.remove(field);
                Some(c)
            }
            other => {
                self.columns.insert(field.to_string(), other);
                None
            }
        }
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

    /// A field's values as reported (see `reported`), when kept.
    pub fn reported(&self, field: &str) -> Option<&[f64]> {
        self.reported.get(field).map(Vec::as_slice)
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

    /// Removes the rows at `dropped` (ascending, each once), keeping the order of the
    /// rest (columns compacted in parallel).
    pub fn drop_rows(&mut self, dropped: &[usize]) {
        use rayon::prelude::*;
        debug_assert!(dropped.windows(2).all(|w| w[0] < w[1]));
        rayon::join(
            || {
                remove_sorted(&mut self.rows, dropped);
                for links in [&mut self.client, &mut self.policy] {
                    if !links.is_empty() {
                        remove_sorted(links, dropped);
                    }
                }
                for values in self.reported.values_mut() {
                    remove_sorted(values, dropped);
                }
            },
            || {
                self.columns
                    .par_iter_mut()
                    .for_each(|(_, v)| v.drop_rows(dropped));
            },
        );
    }

    /// The rows that repeat an earlier row exactly (all columns equal), ascending. Rows
    /// are grouped by a hash of their values (computed in parallel), and only rows sharing
    /// a hash are compared value by value: no hash set of whole rows, and no multi-column
    /// comparison sort of the whole table.
    pub fn exact_duplicates(&self) -> Vec<usize> {
        use rayon::prelude::*;
        let n = self.len();
        let cols: Vec<&Values> = self.columns.values().collect();
        let hash = |r: usize| {
            let h = cols.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, c| {
                (h.rotate_left(5) ^ c.row_bits(r)).wrapping_mul(0x0100_0000_01b3)
            });
            h ^ (h >> 29)
        };
        let cmp = |a: usize, b: usize| {
            cols.iter()
                .map(|c| c.cmp_rows(a, b))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        };
        // Rows sharing a hash, found bucket by bucket: each bucket sorts in cache.
        let buckets = HashBuckets::of(n, hash);
        let mut repeats: Vec<usize> = (0..buckets.count())
            .into_par_iter()
            .flat_map_iter(|b| {
                let shared = sharing_a_hash(&buckets.bucket(b));
                let mut repeats = Vec::new();
                for run in shared.chunk_by(|a, b| a.0 == b.0) {
                    // Equal hashes: order by value, then row, and flag each repeat of its
                    // predecessor (the earliest row of a group of equal rows is kept).
                    let mut rows: Vec<usize> = run.iter().map(|&(_, r)| r as usize).collect();
                    rows.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
                    for w in rows.windows(2) {
                        if cmp(w[0], w[1]) == Ordering::Equal {
                            repeats.push(w[1]);
                        }
                    }
                }
                repeats
            })
            .collect();
        repeats.sort_unstable();
        repeats
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

/// The entries of a hash bucket whose hash another entry shares, sorted by hash and
/// row: a pass through an open-addressing table of the bucket's hashes, since nearly
/// every row is unique (sorting whole buckets to find the few shared hashes was half of
/// the duplicate search).
fn sharing_a_hash(bucket: &[(u32, u32)]) -> Vec<(u32, u32)> {
    const EMPTY: u32 = u32::MAX;
    let mask = (bucket.len() * 2).next_power_of_two().max(16) - 1;
    // Index of the first entry with each hash; the bucket's entries share the top bits of
    // their full hash, so the slot comes from the low ones.
    let mut first = vec![EMPTY; mask + 1];
    let mut shared: Vec<u32> = Vec::new();
    for (i, &(h, _)) in bucket.iter().enumerate() {
        let mut slot = h as usize & mask;
        loop {
            match first[slot] {
                EMPTY => {
                    first[slot] = i as u32;
                    break;
                }
                j if bucket.get(j as usize).is_some_and(|e| e.0 == h) => {
                    shared.push(h);
                    break;
                }
                _ => slot = (slot + 1) & mask,
            }
        }
    }
    if shared.is_empty() {
        return Vec::new();
    }
    shared.sort_unstable();
    shared.dedup();
    let mut entries: Vec<(u32, u32)> = bucket
        .iter()
        .copied()
        .filter(|(h, _)| shared.binary_search(h).is_ok())
        .collect();
    entries.sort_unstable();
    entries
}

/// Rows grouped by the top bits of their hash (about 64k rows per bucket): each entry is
/// the hash's low 32 bits and the row, eight bytes a row (payments of a 1M-client book:
/// 150 MB at loading's peak, where `(hash, row)` pairs plus a bucketed copy took 590 MB).
/// Rows are cut into blocks hashed in parallel, each block counting-sorted by bucket on
/// its own; a bucket is its part of every block.
struct HashBuckets {
    blocks: Vec<Block>,
    bits: u32,
}

/// One block of rows sorted by bucket: `starts[b]..starts[b + 1]` is bucket b.
struct Block {
    entries: Vec<(u32, u32)>,
    starts: Vec<usize>,
}

/// Rows per block: enough to amortise a block's bucket counts, small enough to spread
/// over the threads.
const BLOCK_ROWS: usize = 1 << 20;

impl HashBuckets {
    fn of(n: usize, hash: impl Fn(usize) -> u64 + Sync) -> Self {
        use rayon::prelude::*;
        let bits = (n >> 16).max(1).ilog2().min(12);
        let bucket = |h: u64| {
            if bits == 0 {
                0
            } else {
                (h >> (64 - bits)) as usize
            }
        };
        let blocks = (0..n.div_ceil(BLOCK_ROWS))
            .into_par_iter()
            .map(|k| {
                let rows = k * BLOCK_ROWS..((k + 1) * BLOCK_ROWS).min(n);
                let hashed: Vec<(usize, u32, u32)> = rows
                    .map(|r| {
                        let h = hash(r);
                        (bucket(h), h as u32, r as u32)
                    })
                    .collect();
                let mut starts = vec![0usize; (1 << bits) + 1];
                for &(b, _, _) in &hashed {
                    starts[b + 1] += 1;
                }
                for b in 0..1 << bits {
                    starts[b + 1] += starts[b];
                }
                let mut next = starts.clone();
                let mut entries = vec![(0u32, 0u32); hashed.len()];
                for (b, h, r) in hashed {
                    entries[next[b]] = (h, r);
                    next[b] += 1;
                }
                Block { entries, starts }
            })
            .collect();
        HashBuckets { blocks, bits }
    }

    fn count(&self) -> usize {
        1 << self.bits
    }

    /// Bucket `b`'s entries from every block.
    fn bucket(&self, b: usize) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for block in &self.blocks {
            if let (Some(&from), Some(&to)) = (block.starts.get(b), block.starts.get(b + 1)) {
                out.extend_from_slice(&block.entries[from..to]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_where(flags: &[bool]) -> Vec<usize> {
        (0..flags.len()).filter(|&r| flags[r]).collect()
    }

    #[test]
    fn levels_keep_each_text_and_its_code() {
        let mut levels = Levels::default();
        assert!(levels.is_empty() && levels.get(0).is_none());
        for (i, text) in ["C1", "", "Dünn, Ana", "C1x"].into_iter().enumerate() {
            assert_eq!(levels.push(text), i as u32);
        }
        assert_eq!(levels.len(), 4);
        assert_eq!(levels.get(1), Some(""));
        assert_eq!(&levels[2], "Dünn, Ana");
        assert_eq!(levels.get(4), None);
        assert_eq!(levels.to_vec(), ["C1", "", "Dünn, Ana", "C1x"]);
        assert_eq!(levels.iter().len(), 4);
        assert_eq!(levels.iter().collect::<Levels>(), levels);
    }

    #[test]
    fn removing_sorted_rows_keeps_the_others_in_order() {
        let all: Vec<u32> = (0..10).collect();
        for dropped in [
            vec![],
            vec![0],
            vec![9],
            vec![0, 1, 2],
            vec![3, 4, 8],
            vec![1, 3, 5, 7, 9],
            (0..10).collect(),
            vec![2, 12],
        ] {
            let mut v = all.clone();
            remove_sorted(&mut v, &dropped);
            let expected: Vec<u32> = all
                .iter()
                .copied()
                .filter(|&x| !dropped.contains(&(x as usize)))
                .collect();
            assert_eq!(v, expected, "dropping {dropped:?}");
        }
    }

    #[test]
    fn a_bucket_gives_the_entries_whose_hash_repeats() {
        // In a 32-slot table 5 and 37 share a slot, as do 31 and 63 (whose probe wraps
        // past the end); 7 and 21 repeat, the others do not.
        let bucket = [
            (5, 0),
            (21, 1),
            (7, 2),
            (31, 3),
            (37, 4),
            (7, 5),
            (9, 6),
            (21, 7),
            (7, 8),
            (63, 9),
        ];
        assert_eq!(
            sharing_a_hash(&bucket),
            [(7, 2), (7, 5), (7, 8), (21, 1), (21, 7)]
        );
        assert!(sharing_a_hash(&[(1, 0), (2, 1)]).is_empty());
        assert!(sharing_a_hash(&[]).is_empty());
    }

    #[test]
    fn finds_exact_duplicates_keeping_the_first() {
        let mut t = Table::new(Source::Contacts, PathBuf::from("x.csv"), 4);
        let mut ids = Coded::with_capacity(4);
        for s in ["a", "b", "a", "a"] {
            ids.push(s);
        }
        t.insert("client_id", "client_id", Values::Coded(ids));
        t.insert("n", "n", Values::Number(vec![1.0, 1.0, 1.0, 2.0]));
        assert_eq!(t.exact_duplicates(), vec![2]);
        t.drop_rows(&[2]);
        assert_eq!(t.rows, vec![1, 2, 4]);
        assert_eq!(t.numbers("n"), Some(&[1.0, 1.0, 2.0][..]));
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
        assert_eq!(c.levels.to_vec(), ["male"]);
        assert_eq!(c.codes, vec![0, 0, 0]);
    }

    #[test]
    fn texts_sharing_a_hash_get_their_own_codes() {
        let mut c = Coded::with_capacity(5);
        c.push("a");
        c.freeze();
        c.push("z");
        assert!(c.all_hashed);
        // Pretend "b" hashes like "a": the lookup hit must be checked against the text.
        c.lookup.insert(text_hash("b"), 0);
        for s in ["b", "a", "b", "c"] {
            c.push(s);
        }
        assert_eq!(c.levels.to_vec(), ["a", "z", "b", "c"]);
        assert_eq!(c.codes, vec![0, 1, 2, 0, 2, 3]);
        assert_ne!(text_hash("ab"), text_hash("ba"));
        assert_ne!(text_hash(""), text_hash("\0"));
    }

    #[test]
    fn ordered_and_unordered_texts_code_alike() {
        // In order (no lookup), out of order (binary search, then the lookup), after a
        // freeze, and with out-of-order rows common enough to hash every level.
        let mut texts: Vec<String> = ["b", "c", "c", "d", "b", "a", "d", "a", "e", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        texts.extend((0..70_000).map(|i| format!("x{}", (i * 7919) % 1000)));
        let mut c = Coded::with_capacity(texts.len());
        let mut expected_levels: Vec<&str> = Vec::new();
        let mut known: HashMap<&str, u32> = HashMap::new();
        let mut expected_codes = Vec::new();
        for (i, s) in texts.iter().enumerate() {
            if i == 7 {
                c.freeze();
            }
            c.push(s);
            let code = *known.entry(s).or_insert_with(|| {
                expected_levels.push(s);
                expected_levels.len() as u32 - 1
            });
            expected_codes.push(code);
        }
        assert!(c.all_hashed);
        assert_eq!(c.levels.to_vec(), expected_levels);
        assert_eq!(c.codes, expected_codes);
    }

    #[test]
    fn texts_mostly_in_order_with_strays_code_alike() {
        // Ids in order with stray large ids, repeats of old ids and texts that fall
        // between recent ones: every text gets one code, the same for every repeat.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            state >> 33
        };
        let mut texts = Vec::new();
        for i in 0..200_000u64 {
            let text = match next() % 50 {
                0 => format!("P{:08}", 190_000 + next() % 10_000),
                1 => format!("P{:08}", next() % (i + 1)),
                2 => format!("P{:08}5", i.saturating_sub(next() % 12)),
                _ => format!("P{i:08}"),
            };
            texts.push(text);
        }
        let mut c = Coded::with_capacity(texts.len());
        let mut known: HashMap<&str, u32> = HashMap::new();
        let mut expected = Vec::new();
        for s in &texts {
            c.push(s);
            let n = known.len() as u32;
            expected.push(*known.entry(s).or_insert(n));
        }
        assert_eq!(c.levels.len(), known.len());
        assert_eq!(c.codes, expected);
        assert!(
            !c.all_hashed,
            "strays should not make every id out of order"
        );
    }

    #[test]
    fn duplicates_are_found_across_many_hash_buckets() {
        // 300k rows: (id, amount) pairs repeat from row 250,000 on, spread over buckets.
        let n = 300_000;
        let mut ids = Coded::with_capacity(n);
        let mut x = Vec::with_capacity(n);
        for i in 0..n {
            ids.push(&format!("C{}", i % 1000));
            x.push(((i / 1000) % 250) as f64);
        }
        let mut t = Table::new(Source::Payments, PathBuf::from("x.csv"), n);
        t.insert("client_id", "client_id", Values::Coded(ids));
        t.insert("amount", "amount", Values::Number(x));
        let mut seen = std::collections::HashSet::new();
        let expected: Vec<bool> = (0..n)
            .map(|r| {
                let key = (t.coded("client_id").map(|c| c.codes[r]), r / 1000 % 250);
                !seen.insert(key)
            })
            .collect();
        let spread = HashBuckets::of(n, |r| (r as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let buckets: Vec<Vec<(u32, u32)>> = (0..spread.count()).map(|b| spread.bucket(b)).collect();
        assert!(buckets.len() > 1);
        assert_eq!(buckets.iter().map(|b| b.len()).sum::<usize>(), n);
        assert!(buckets.iter().all(|b| b.len() < n));
        assert_eq!(t.exact_duplicates(), rows_where(&expected));
        assert_eq!(expected.iter().filter(|&&d| d).count(), 50_000);
    }

    #[test]
    fn duplicates_match_a_comparison_of_every_pair() {
        // 3,000 rows over few distinct values: many duplicates, NaN and -0.0 included.
        let n = 3_000;
        let mut ids = Coded::with_capacity(n);
        let mut x = Vec::new();
        let mut d = Vec::new();
        for i in 0..n {
            ids.push(["p", "q", "r"][i % 3]);
            x.push([1.0, f64::NAN, -0.0, 0.0][(i / 3) % 4]);
            d.push((i % 7 != 0).then(|| Date::from_days((i % 5) as i32 - 2)));
        }
        let mut t = Table::new(Source::Payments, PathBuf::from("x.csv"), n);
        t.insert("client_id", "client_id", Values::Coded(ids));
        t.insert("amount", "amount", Values::Number(x));
        t.insert("due_date", "due_date", Values::Date(d));
        let cols: Vec<&Values> = t.columns.values().collect();
        let same = |a: usize, b: usize| cols.iter().all(|c| c.cmp_rows(a, b) == Ordering::Equal);
        let expected: Vec<bool> = (0..n).map(|r| (0..r).any(|e| same(e, r))).collect();
        assert_eq!(t.exact_duplicates(), rows_where(&expected));
        assert!(expected.iter().filter(|&&v| v).count() > 2_000);
    }
}
