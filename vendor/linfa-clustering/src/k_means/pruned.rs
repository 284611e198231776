//! Lloyd's assignment step without most of its distance computations (clientele's patch,
//! see PATCH.md): Hamerly's bounds (G. Hamerly, "Making k-means even faster", SDM 2010).
//!
//! Every observation keeps a lower bound on its distance to the second-closest centroid.
//! When the distance to its own centroid is below that bound, or below half the gap from
//! its centroid to the nearest other one, no other centroid can be closer and the scan
//! over the others is skipped. The distance to the own centroid is computed exactly every
//! iteration, with the same call as the full scan, so memberships and distances (hence
//! inertia and centroids) are those of upstream's full scan to the bit. A skip needs the
//! bound to win by a margin far above the rounding in the bounds, and a tie never skips,
//! so the first-lowest-index rule of `closest_centroid` decides every tie as upstream.
//! The bounds only need the triangle inequality, which `linfa_nn::Distance` requires.

use linfa::Float;
use linfa_nn::distance::Distance;
use ndarray::parallel::prelude::*;
use ndarray::{Array1, Array2, ArrayBase, ArrayView1, Axis, Data, DataMut, Ix1, Ix2, Zip};
use rayon::slice::{ParallelSlice, ParallelSliceMut};

/// Bounds carried from one Lloyd iteration to the next within one k-means run.
pub(crate) struct PrunedAssignment<F> {
    /// Per observation: a lower bound on the distance (not `rdistance`) to the
    /// second-closest centroid, before `pending_shift` is taken off.
    lower: Array1<F>,
    /// The largest distance any centroid moved since `lower` was last written.
    pending_shift: F,
    /// Whether memberships and `lower` come from an earlier iteration of this run.
    primed: bool,
}

impl<F: Float> PrunedAssignment<F> {
    pub(crate) fn new(n_samples: usize) -> Self {
        PrunedAssignment {
            lower: Array1::zeros(n_samples),
            pending_shift: F::zero(),
            primed: false,
        }
    }

    /// Starts a new run: the next `assign` scans every centroid.
    pub(crate) fn reset(&mut self) {
        self.primed = false;
        self.pending_shift = F::zero();
    }

    /// Records that the centroids moved from `old` to `new` (rows are centroids).
    pub(crate) fn moved<D: Distance<F>>(&mut self, dist_fn: &D, old: &Array2<F>, new: &Array2<F>) {
        let largest = old
            .rows()
            .into_iter()
            .zip(new.rows())
            .map(|(a, b)| dist_fn.distance(a, b))
            .fold(F::zero(), F::max);
        self.pending_shift += largest;
    }

    /// Sets each observation's closest centroid and its `rdistance`, exactly as
    /// `update_memberships_and_dists` does.
    pub(crate) fn assign<D: Distance<F>>(
        &mut self,
        dist_fn: &D,
        centroids: &Array2<F>,
        observations: &ArrayBase<impl Data<Elem = F> + Sync, Ix2>,
        memberships: &mut ArrayBase<impl DataMut<Elem = usize>, Ix1>,
        dists: &mut ArrayBase<impl DataMut<Elem = F>, Ix1>,
    ) {
        let step = Step {
            dist_fn,
            centroids: centroids.rows().into_iter().collect(),
            half_gaps: half_gaps(dist_fn, centroids),
            shift: self.pending_shift,
            primed: self.primed,
        };
        let n_features = observations.ncols();
        match (
            observations.as_slice(),
            memberships.as_slice_mut(),
            dists.as_slice_mut(),
            self.lower.as_slice_mut(),
        ) {
            // Contiguous rows go in fixed blocks: per-row work is a few distances, less
            // than a parallel split per row costs. Each row's result is its own.
            (Some(rows), Some(memberships), Some(dists), Some(lower)) if n_features > 0 => rows
                .par_chunks(BLOCK * n_features)
                .zip(memberships.par_chunks_mut(BLOCK))
                .zip(dists.par_chunks_mut(BLOCK))
                .zip(lower.par_chunks_mut(BLOCK))
                .for_each(|(((rows, memberships), dists), lower)| {
                    for (i, row) in rows.chunks_exact(n_features).enumerate() {
                        let row = ArrayView1::from(row);
                        step.row(row, &mut memberships[i], &mut dists[i], &mut lower[i]);
                    }
                }),
            _ => Zip::from(observations.axis_iter(Axis(0)))
                .and(memberships)
                .and(dists)
                .and(&mut self.lower)
                .par_for_each(|row, membership, dist, lower| {
                    step.row(row, membership, dist, lower)
                }),
        }
        self.primed = true;
        self.pending_shift = F::zero();
    }
}

/// Rows of observations assigned per parallel task.
const BLOCK: usize = 4096;

/// One assignment pass's view of the centroids and bounds.
struct Step<'a, F, D> {
    dist_fn: &'a D,
    centroids: Vec<ArrayView1<'a, F>>,
    half_gaps: Vec<F>,
    shift: F,
    primed: bool,
}

impl<F: Float, D: Distance<F>> Step<'_, F, D> {
    fn row(&self, observation: ArrayView1<F>, membership: &mut usize, dist: &mut F, lower: &mut F) {
        if self.primed {
            let own = *membership;
            let r = self
                .dist_fn
                .rdistance(self.centroids[own].view(), observation.view());
            let shifted = *lower - self.shift;
            if skips(self.dist_fn, r, shifted.max(self.half_gaps[own])) {
                *dist = r;
                *lower = shifted;
                return;
            }
        }
        let (closest, r, second) = self.scan(observation);
        *membership = closest;
        *dist = r;
        *lower = self.dist_fn.rdist_to_dist(second);
    }

    /// The closest centroid (lowest index among equals), its `rdistance`, and the
    /// `rdistance` of the second closest (+inf for one centroid): `closest_centroid`'s
    /// comparisons, in its order.
    fn scan(&self, observation: ArrayView1<F>) -> (usize, F, F) {
        let (mut closest, mut best, mut second) = (0, F::infinity(), F::infinity());
        for (index, centroid) in self.centroids.iter().enumerate() {
            let d = self.dist_fn.rdistance(centroid.view(), observation.view());
            if index == 0 || d < best {
                if index > 0 {
                    second = best;
                }
                closest = index;
                best = d;
            } else if d < second {
                second = d;
            }
        }
        (closest, best, second)
    }
}

/// Whether the own centroid's `rdistance` is certainly below a distance `bound`: the
/// bound is compared in `rdistance` units (no square root per observation; the
/// conversion keeps the order) and must win by 2^16 machine epsilons of the values
/// (about 1.5e-11 relative in f64), far above the error a run's bound updates gather.
fn skips<F: Float, D: Distance<F>>(dist_fn: &D, own: F, bound: F) -> bool {
    if bound.is_infinite() {
        return bound > F::zero();
    }
    if bound <= F::zero() {
        return false;
    }
    let bound = dist_fn.dist_to_rdist(bound);
    let slack = F::epsilon() * F::cast(65_536.0) * (own.abs() + bound.abs());
    own + slack < bound
}

/// Half the distance from each centroid to its nearest other centroid (+inf for one).
fn half_gaps<F: Float, D: Distance<F>>(dist_fn: &D, centroids: &Array2<F>) -> Vec<F> {
    let k = centroids.nrows();
    let mut gaps = vec![F::infinity(); k];
    for i in 0..k {
        for j in (i + 1)..k {
            let d = dist_fn.distance(centroids.row(i), centroids.row(j));
            gaps[i] = gaps[i].min(d);
            gaps[j] = gaps[j].min(d);
        }
    }
    gaps.into_iter().map(|g| g * F::cast(0.5)).collect()
}
