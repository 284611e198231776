//! The one piece of dense linear algebra the lapse model needs: the diagonal of the
//! inverse of a symmetric positive definite matrix (for coefficient standard errors).

use ndarray::Array2;

/// Diagonal of `a^-1` by Cholesky factorisation; `None` when `a` is not positive definite.
pub fn inverse_diagonal(a: &Array2<f64>) -> Option<Vec<f64>> {
    let n = a.nrows();
    if n != a.ncols() {
        return None;
    }
    // a = L L'
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - s;
                if d.is_nan() || d <= 0.0 {
                    return None;
                }
                l[[i, i]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    // a^-1 = L^-T L^-1, so (a^-1)_jj = ||column j of L^-1||^2; that column solves L y = e_j.
    let mut diag = vec![0.0; n];
    for (j, d) in diag.iter_mut().enumerate() {
        let mut y = vec![0.0; n];
        for i in j..n {
            let rhs = if i == j { 1.0 } else { 0.0 };
            let s: f64 = (j..i).map(|k| l[[i, k]] * y[k]).sum();
            y[i] = (rhs - s) / l[[i, i]];
        }
        *d = y.iter().map(|v| v * v).sum();
    }
    Some(diag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_diagonal_of_a_known_matrix() {
        // [[4,2],[2,3]]^-1 = 1/8 [[3,-2],[-2,4]]
        let a = Array2::from_shape_vec((2, 2), vec![4.0, 2.0, 2.0, 3.0]).unwrap();
        let d = inverse_diagonal(&a).unwrap();
        assert!(
            (d[0] - 3.0 / 8.0).abs() < 1e-12 && (d[1] - 0.5).abs() < 1e-12,
            "{d:?}"
        );
        let singular = Array2::from_shape_vec((2, 2), vec![1.0, 1.0, 1.0, 1.0]).unwrap();
        assert!(inverse_diagonal(&singular).is_none());
    }
}
