//! Optimal one-to-one matching of new segments to a previous model's, minimising the
//! total centre distance (exact assignment by dynamic programming over subsets).

/// Most segments on the smaller side the exact search handles (2^16 states).
const EXACT_LIMIT: usize = 16;

/// For each row of `cost` (new segments), the matched column (previous segment), or
/// `None` when there are more rows than columns and the row is left over.
pub fn optimal_matching(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let rows = cost.len();
    let cols = cost.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 {
        return vec![None; rows];
    }
    if rows > cols {
        // Match every column to a row instead, then invert.
        let transposed: Vec<Vec<f64>> = (0..cols)
            .map(|c| (0..rows).map(|r| cost[r][c]).collect())
            .collect();
        let by_col = optimal_matching(&transposed);
        let mut out = vec![None; rows];
        for (c, r) in by_col.iter().enumerate() {
            if let Some(r) = r {
                out[*r] = Some(c);
            }
        }
        return out;
    }
    if cols > EXACT_LIMIT {
        return greedy(cost);
    }
    // best[mask] = least cost of matching the first popcount(mask) rows to the columns in mask.
    let states = 1usize << cols;
    let mut best = vec![f64::INFINITY; states];
    let mut choice = vec![usize::MAX; states];
    best[0] = 0.0;
    for mask in 0..states {
        let r = mask.count_ones() as usize;
        if r >= rows || !best[mask].is_finite() {
            continue;
        }
        for (c, &step) in cost[r].iter().enumerate().take(cols) {
            if mask & (1 << c) == 0 {
                let next = mask | (1 << c);
                let v = best[mask] + step;
                if v < best[next] {
                    best[next] = v;
                    choice[next] = c;
                }
            }
        }
    }
    let end = (0..states)
        .filter(|m| m.count_ones() as usize == rows)
        .min_by(|a, b| best[*a].total_cmp(&best[*b]))
        .unwrap_or(0);
    let mut out = vec![None; rows];
    let mut mask = end;
    for r in (0..rows).rev() {
        let c = choice[mask];
        if c == usize::MAX {
            break;
        }
        out[r] = Some(c);
        mask &= !(1 << c);
    }
    out
}

fn greedy(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let mut pairs: Vec<(f64, usize, usize)> = cost
        .iter()
        .enumerate()
        .flat_map(|(r, row)| row.iter().enumerate().map(move |(c, &v)| (v, r, c)))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![None; cost.len()];
    let mut used = vec![false; cost.first().map_or(0, Vec::len)];
    for (_, r, c) in pairs {
        if out[r].is_none() && !used[c] {
            out[r] = Some(c);
            used[c] = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cheapest_assignment_not_the_greedy_one() {
        // Greedy takes (0,0)=1 then must pay (1,1)=10; optimal is 2 + 2.
        let cost = vec![vec![1.0, 2.0], vec![2.0, 10.0]];
        assert_eq!(optimal_matching(&cost), vec![Some(1), Some(0)]);
        // More new segments than previous: one is left over.
        let cost = vec![vec![5.0], vec![1.0], vec![3.0]];
        assert_eq!(optimal_matching(&cost), vec![None, Some(0), None]);
        // Fewer new segments than previous.
        let cost = vec![vec![4.0, 0.5, 3.0]];
        assert_eq!(optimal_matching(&cost), vec![Some(1)]);
    }
}
