//! One numeric model column cut into bins, and the scale of a bin's indicator: shared by
//! the additive form's bins and the coarser bins of its pairwise terms.

use serde::{Deserialize, Serialize};

/// One numeric model column cut into bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinnedColumn {
    /// Its index in the model matrix.
    pub column: usize,
    /// Ascending cut points, standardised units: bin `i` holds values from `cuts[i - 1]`
    /// up to, not including, `cuts[i]`. Cuts lie halfway between training values, so no
    /// training value sits on one.
    pub cuts: Vec<f64>,
    /// Lowest and highest training value in each bin, standardised units (for words).
    pub ranges: Vec<(f64, f64)>,
    /// Training share of each bin; reason codes measure contributions against it.
    pub shares: Vec<f64>,
}

impl BinnedColumn {
    /// The bin of a standardised value.
    pub fn bin_of(&self, z: f64) -> usize {
        self.cuts.partition_point(|&c| c <= z)
    }

    pub fn width(&self) -> usize {
        self.cuts.len() + 1
    }
}

/// A bin's training share and the standard deviation of its indicator (never 0: a bin
/// holds some but not all training clients).
pub(super) fn bin_scale(p: f64) -> (f64, f64) {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p, (p * (1.0 - p)).sqrt())
}

/// Share below which a pair's cell is penalised as if it held this share: a cell of a
/// few clients, standardised to unit variance, would get almost no penalty on its
/// indicator's weight and fit those clients' outcomes.
pub(super) const MIN_CELL_SHARE: f64 = 0.01;

/// A pair cell's training share and the scale its indicator is divided by: its standard
/// deviation, or that of a cell of `MIN_CELL_SHARE` for a smaller one.
pub(super) fn cell_scale(p: f64) -> (f64, f64) {
    let (p, _) = bin_scale(p);
    let q = p.max(MIN_CELL_SHARE);
    (p, (q * (1.0 - q)).sqrt())
}
