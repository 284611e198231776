//! The lapse fits' design without the expanded matrix. `Form::expand` turns each binned
//! numeric column into one standardised column per bin: dense, ~5x the model matrix and
//! nearly all of it each column's usual value. The solver holds a design as each column's
//! usual (majority) value plus the entries that differ from it, row by row
//! (`linfa_logistic::OffsetSparse`); built here straight from the model matrix, a binned
//! column costs one entry per row, and the design is the one `OffsetSparse::from_dense`
//! makes of the expanded matrix, to the bit (same base values, entries and order). A
//! pair's cells are read the same way as a binned column's bins: one code per row.

use super::form::{ExpandedColumn, Form};
use super::solve::sigmoid;
use crate::error::{Error, Result};
use linfa_logistic::{majority_candidate, majority_or_zero, OffsetSparse, CANDIDATE_ROWS};
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// Rows per block of the parallel pass that collects the entries.
const BLOCK_ROWS: usize = 16 * 1024;

/// The solver's design of the rows `rows` of `form.expand(x)`.
///
/// # Errors
/// Parts that do not fit together (a defect here, never the data's).
pub(super) fn design(form: &Form, x: ArrayView2<f64>, rows: &[usize]) -> Result<OffsetSparse<f64>> {
    let columns = form.expanded_columns(x.ncols());
    let bins = codes_of_rows(form, x, rows);
    let base: Vec<f64> = columns
        .par_iter()
        .map(|c| base_value(*c, x, rows, &bins))
        .collect();
    let groups = groups(&columns, &base);
    let row_entries = |i: usize, push: &mut dyn FnMut(u32, f64)| {
        let r = rows[i];
        for group in &groups {
            match group {
                Group::Copy {
                    column,
                    source,
                    base,
                } => {
                    let v = x[[r, *source]];
                    if v != *base {
                        push(*column, v - base);
                    }
                }
                Group::Binned { source, entries } => {
                    let bin = usize::from(bins[*source][i]);
                    let (c, v) = &entries[bin.min(entries.len() - 1)];
                    c.iter().zip(v).for_each(|(&c, &v)| push(c, v));
                }
            }
        }
    };
    // Two passes (count, then write in place) rather than pieces joined at the end: the
    // design of a large book is then held once, not twice, while it is built.
    let counts: Vec<usize> = (0..rows.len())
        .into_par_iter()
        .with_min_len(BLOCK_ROWS)
        .map(|i| {
            let mut n = 0;
            row_entries(i, &mut |_, _| n += 1);
            n
        })
        .collect();
    let mut starts = Vec::with_capacity(rows.len() + 1);
    starts.push(0);
    for n in &counts {
        starts.push(starts.last().copied().unwrap_or(0) + n);
    }
    let nnz = starts.last().copied().unwrap_or(0);
    let (mut cols, mut vals) = (vec![0u32; nnz], vec![0.0; nnz]);
    let mut blocks = Vec::new();
    let (mut cols_left, mut vals_left) = (cols.as_mut_slice(), vals.as_mut_slice());
    for r0 in (0..rows.len()).step_by(BLOCK_ROWS) {
        let r1 = (r0 + BLOCK_ROWS).min(rows.len());
        let size = starts[r1] - starts[r0];
        let (c, rest_c) = std::mem::take(&mut cols_left).split_at_mut(size);
        let (v, rest_v) = std::mem::take(&mut vals_left).split_at_mut(size);
        (cols_left, vals_left) = (rest_c, rest_v);
        blocks.push((r0..r1, c, v));
    }
    blocks.into_par_iter().for_each(|(block_rows, c, v)| {
        let mut at = 0;
        for i in block_rows {
            row_entries(i, &mut |column, value| {
                c[at] = column;
                v[at] = value;
                at += 1;
            });
        }
    });
    OffsetSparse::from_parts(base, starts, cols, vals)
        .ok_or_else(|| Error::Runtime("the lapse model's design did not fit together".into()))
}

/// Held-out rows of the model matrix, scored on the expanded columns without expanding
/// them.
pub(super) struct HeldOut {
    x: Array2<f64>,
    bins: Vec<Vec<u16>>,
    columns: Vec<ExpandedColumn>,
}

impl HeldOut {
    /// The rows `rows` of `x`, to be scored in `form`.
    pub(super) fn of(form: &Form, x: ArrayView2<f64>, rows: &[usize]) -> Self {
        let x = x.select(Axis(0), rows);
        let all: Vec<usize> = (0..rows.len()).collect();
        HeldOut {
            bins: codes_of_rows(form, x.view(), &all),
            columns: form.expanded_columns(x.ncols()),
            x,
        }
    }

    /// Lapse probabilities of weights `w`, `b` on the expanded columns: each row's sum
    /// taken over the expanded values in column order, as on the expanded matrix.
    pub(super) fn predict(&self, w: &[f64], b: f64) -> Vec<f64> {
        self.x
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let z = self
                    .columns
                    .iter()
                    .map(|&c| value(c, |j| row[j], |source| self.bins[source][i]))
                    .zip(w)
                    .map(|(a, c)| a * c)
                    .sum::<f64>();
                sigmoid(b + z)
            })
            .collect()
    }
}

/// The mean of each column of `form.expand(x)`, summed as
/// `form.expand(x).mean_axis(Axis(0))` sums them (each column contiguous), without the
/// matrix.
pub(super) fn expanded_means(form: &Form, x: ArrayView2<f64>) -> Vec<f64> {
    let rows: Vec<usize> = (0..x.nrows()).collect();
    let bins = codes_of_rows(form, x, &rows);
    let n = x.nrows() as f64;
    form.expanded_columns(x.ncols())
        .par_iter()
        .map(|&column| {
            let values: Vec<f64> = match column {
                ExpandedColumn::Copy(j) => x.column(j).to_vec(),
                ExpandedColumn::Bin { source, .. } => bins[source]
                    .iter()
                    .map(|&b| value(column, |_| 0.0, |_| b))
                    .collect(),
            };
            ArrayView1::from(&values).sum() / n
        })
        .collect()
}

/// The expanded columns of one model-matrix column, with what a row adds to the design.
enum Group {
    /// A column as it is: an entry where the row's value is not the column's base.
    Copy {
        column: u32,
        source: usize,
        base: f64,
    },
    /// A binned column's bin columns: the entries (columns, values less their base) of a
    /// row in each bin, and last of a row in none (which `expand` leaves outside all).
    Binned {
        source: usize,
        entries: Vec<(Vec<u32>, Vec<f64>)>,
    },
}

/// The expanded columns grouped by model-matrix column, in order.
fn groups(columns: &[ExpandedColumn], base: &[f64]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut k = 0;
    while k < columns.len() {
        match columns[k] {
            ExpandedColumn::Copy(source) => {
                out.push(Group::Copy {
                    column: k as u32,
                    source,
                    base: base[k],
                });
                k += 1;
            }
            ExpandedColumn::Bin { source, .. } => {
                let end = columns[k..]
                    .iter()
                    .position(
                        |c| !matches!(c, ExpandedColumn::Bin { source: s, .. } if *s == source),
                    )
                    .map_or(columns.len(), |n| k + n);
                let width = end - k;
                let entries = (0..=width)
                    .map(|row_bin| {
                        let mut cols = Vec::new();
                        let mut vals = Vec::new();
                        for (m, &c) in columns[k..end].iter().enumerate() {
                            let v = value(c, |_| 0.0, |_| row_bin as u16);
                            if v != base[k + m] {
                                cols.push((k + m) as u32);
                                vals.push(v - base[k + m]);
                            }
                        }
                        (cols, vals)
                    })
                    .collect();
                out.push(Group::Binned { source, entries });
                k = end;
            }
        }
    }
    out
}

/// The code tables of `rows`: the bin of each row in each binned column of `x` (empty
/// for the others), then its cell in each of the form's pairs.
fn codes_of_rows(form: &Form, x: ArrayView2<f64>, rows: &[usize]) -> Vec<Vec<u16>> {
    let mut codes: Vec<Vec<u16>> = (0..x.ncols())
        .into_par_iter()
        .map(|j| match form.binned_column(j) {
            Some(b) => {
                let column = x.column(j);
                rows.iter().map(|&r| b.bin_of(column[r]) as u16).collect()
            }
            None => Vec::new(),
        })
        .collect();
    codes.par_extend(form.pairs.par_iter().map(|pair| {
        rows.iter()
            .map(|&r| u16::try_from(pair.cell(x.row(r))).unwrap_or(u16::MAX))
            .collect::<Vec<u16>>()
    }));
    codes
}

/// A column's base value, as `OffsetSparse::from_dense` finds it on the expanded matrix.
fn base_value(
    column: ExpandedColumn,
    x: ArrayView2<f64>,
    rows: &[usize],
    bins: &[Vec<u16>],
) -> f64 {
    match column {
        ExpandedColumn::Copy(j) => {
            let source = x.column(j);
            let values: Vec<f64> = rows.iter().map(|&r| source[r]).collect();
            majority_or_zero(ArrayView1::from(&values))
        }
        ExpandedColumn::Bin { source, .. } => {
            let bins = &bins[source];
            let at = |b: u16| value(column, |_| 0.0, |_| b);
            let head: Vec<f64> = bins.iter().take(CANDIDATE_ROWS).map(|&b| at(b)).collect();
            let candidate = majority_candidate(&head);
            let count = bins.iter().filter(|&&b| at(b) == candidate).count();
            if 2 * count > rows.len() {
                candidate
            } else {
                0.0
            }
        }
    }
}

/// The value of an expanded column on a row whose model-matrix value in column `j` is
/// `copied(j)` and whose bin in binned column `j` is `bin_of(j)`.
fn value(
    column: ExpandedColumn,
    copied: impl Fn(usize) -> f64,
    bin_of: impl Fn(usize) -> u16,
) -> f64 {
    match column {
        ExpandedColumn::Copy(j) => copied(j),
        ExpandedColumn::Bin {
            source,
            bin,
            inside,
            outside,
        } => {
            if usize::from(bin_of(source)) == bin {
                inside
            } else {
                outside
            }
        }
    }
}
