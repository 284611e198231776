//! A pairwise interaction term of the lapse model: two features read together as a small
//! table of cells, one coefficient per cell, so the term is a table that can be printed
//! and a client's part of it is one cell. Plain data in the bundle.

use super::bins::BinnedColumn;
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

/// One feature of a pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairSide {
    /// A numeric model column in coarse quantile bins.
    Bins(BinnedColumn),
    /// A categorical feature (its index among the categoricals) read from its one-hot
    /// model columns `first..first + count`, the last of them its `other`.
    Levels {
        feature: usize,
        first: usize,
        count: usize,
    },
}

impl PairSide {
    /// Number of cells along this side.
    pub fn width(&self) -> usize {
        match self {
            PairSide::Bins(b) => b.width(),
            PairSide::Levels { count, .. } => *count,
        }
    }

    /// The side's cell of a model-matrix row: its bin, or the level whose column holds 1
    /// (`other` when none does).
    pub fn cell(&self, row: ArrayView1<f64>) -> usize {
        match self {
            PairSide::Bins(b) => b.bin_of(row.get(b.column).copied().unwrap_or(0.0)),
            PairSide::Levels { first, count, .. } => (0..*count)
                .find(|&l| row.get(first + l).is_some_and(|&v| v == 1.0))
                .unwrap_or(count.saturating_sub(1)),
        }
    }

    /// One past the last model-matrix column the side reads.
    pub fn end_column(&self) -> usize {
        match self {
            PairSide::Bins(b) => b.column + 1,
            PairSide::Levels { first, count, .. } => first + count,
        }
    }
}

/// Two features read together: one coefficient per cell of their table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairTerm {
    pub first: PairSide,
    pub second: PairSide,
    /// Training share of each cell, row by row of the first side (cell `a * w + b`).
    pub shares: Vec<f64>,
}

impl PairTerm {
    /// Number of cells (model columns) of the term.
    pub fn width(&self) -> usize {
        self.first.width() * self.second.width()
    }

    /// The cell of a model-matrix row.
    pub fn cell(&self, row: ArrayView1<f64>) -> usize {
        self.first.cell(row) * self.second.width() + self.second.cell(row)
    }
}
