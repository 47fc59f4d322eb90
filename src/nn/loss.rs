//! Losses: fused softmax cross-entropy (classification) and mean squared
//! error (regression).
//!
//! # Softmax cross-entropy, fused and stable
//! For logits `z` (one row per sample) and label `c`,
//! `loss = -log softmax(z)_c = logsumexp(z) - z_c`, computed as
//! `m + log sum exp(z - m) - z_c` with `m = max z`, so `exp` never overflows
//! and a very negative logit only underflows to 0. The gradient of the
//! batch-averaged loss is `(softmax(z) - onehot(c)) / B`, produced in the
//! same pass: the softmax itself is never materialised separately.
//! With per-sample weights `w_i` the loss is the weighted mean
//! `sum_i w_i l_i / sum_i w_i` (the convention of PyTorch's weighted
//! cross-entropy), gradient `w_i (p_i - onehot) / sum w`.
//!
//! # Label smoothing
//! With smoothing `e` the target is `q = (1 - e) onehot(c) + e / K` over
//! `K` classes (Szegedy et al. 2016), so
//! `loss = logsumexp(z) - sum_j q_j z_j` and the gradient is `p - q`.
//! A frame classifier's targets are the utterance's label on every frame,
//! silent and ambiguous frames included; smoothing keeps it from driving
//! those frames' posteriors to certainty, which would let a few frames
//! dominate the utterance's averaged log-posteriors.

use ndarray::{Array2, ArrayView2, Axis};

/// Log-softmax of each row, stable.
///
/// # Shapes
/// `(batch, classes) -> (batch, classes)`
pub fn log_softmax(logits: ArrayView2<'_, f32>) -> Array2<f32> {
    let mut out = logits.to_owned();
    for mut row in out.axis_iter_mut(Axis(0)) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let lse = m + row
            .iter()
            .map(|&v| ((v - m) as f64).exp())
            .sum::<f64>()
            .ln() as f32;
        row.mapv_inplace(|v| v - lse);
    }
    out
}

/// Fused softmax cross-entropy averaged over the batch; writes
/// `d loss / d logits` into `grad` (resized if needed) and returns the loss.
///
/// # Shapes
/// logits `(batch, classes)`, labels `(batch,)`, weights `(batch,)`,
/// grad `(batch, classes)`.
///
/// # Panics
/// A label `>= classes` or a length mismatch (caller bugs; the training
/// loop validates labels up front with a typed error).
pub fn softmax_cross_entropy_into(
    logits: ArrayView2<'_, f32>,
    labels: &[usize],
    weights: Option<&[f32]>,
    grad: &mut Array2<f32>,
) -> f32 {
    smoothed_cross_entropy_into(logits, labels, weights, 0.0, grad)
}

/// [`softmax_cross_entropy_into`] against label-smoothed targets
/// `(1 - smoothing) onehot(c) + smoothing / K` (see the module docs);
/// `smoothing = 0` is the plain loss, bit for bit.
///
/// # Shapes
/// As [`softmax_cross_entropy_into`].
///
/// # Panics
/// As [`softmax_cross_entropy_into`].
pub fn smoothed_cross_entropy_into(
    logits: ArrayView2<'_, f32>,
    labels: &[usize],
    weights: Option<&[f32]>,
    smoothing: f32,
    grad: &mut Array2<f32>,
) -> f32 {
    let (batch, classes) = logits.dim();
    assert_eq!(
        labels.len(),
        batch,
        "cross-entropy: {} labels for {batch} rows",
        labels.len()
    );
    if let Some(w) = weights {
        assert_eq!(
            w.len(),
            batch,
            "cross-entropy: {} weights for {batch} rows",
            w.len()
        );
    }
    if grad.dim() != (batch, classes) {
        *grad = Array2::zeros((batch, classes));
    }
    if batch == 0 {
        return 0.0;
    }
    let total_w: f64 = match weights {
        Some(w) => w.iter().map(|&v| v as f64).sum(),
        None => batch as f64,
    };
    let inv = if total_w > 0.0 { 1.0 / total_w } else { 0.0 };
    let mut loss = 0.0f64;
    for (i, (z, mut g)) in logits.rows().into_iter().zip(grad.rows_mut()).enumerate() {
        let c = labels[i];
        assert!(
            c < classes,
            "cross-entropy: label {c} with {classes} classes"
        );
        let wi = weights.map_or(1.0, |w| w[i] as f64);
        let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0f32;
        for (gv, &zv) in g.iter_mut().zip(z.iter()) {
            let e = (zv - m).exp();
            *gv = e;
            sum += e;
        }
        let lse = m as f64 + (sum as f64).ln();
        let scale = (wi * inv) as f32 / sum;
        g.mapv_inplace(|e| e * scale);
        if smoothing == 0.0 {
            loss += wi * (lse - z[c] as f64);
            g[c] -= (wi * inv) as f32;
        } else {
            let e = smoothing as f64;
            let mean_z = z.iter().map(|&v| v as f64).sum::<f64>() / classes as f64;
            loss += wi * (lse - (1.0 - e) * z[c] as f64 - e * mean_z);
            let spread = (wi * inv * e / classes as f64) as f32;
            g.mapv_inplace(|v| v - spread);
            g[c] -= (wi * inv * (1.0 - e)) as f32;
        }
    }
    (loss * inv) as f32
}

/// [`softmax_cross_entropy_into`] returning `(loss, gradient)`.
pub fn softmax_cross_entropy(
    logits: ArrayView2<'_, f32>,
    labels: &[usize],
    weights: Option<&[f32]>,
) -> (f32, Array2<f32>) {
    let mut g = Array2::zeros(logits.dim());
    let l = softmax_cross_entropy_into(logits, labels, weights, &mut g);
    (l, g)
}

/// Mean squared error `sum (p - t)^2 / B` (B = rows) and its gradient
/// `2 (p - t) / B`.
///
/// # Shapes
/// pred, target `(batch, outputs)`.
pub fn mean_squared_error(
    pred: ArrayView2<'_, f32>,
    target: ArrayView2<'_, f32>,
) -> (f32, Array2<f32>) {
    assert_eq!(pred.dim(), target.dim(), "mse: prediction vs target shape");
    let b = pred.nrows().max(1) as f32;
    let diff = &pred - &target;
    let loss = diff.iter().map(|&d| (d as f64) * (d as f64)).sum::<f64>() as f32 / b;
    (loss, diff.mapv(|d| 2.0 * d / b))
}

/// Index of the largest value in each row (ties: the first).
pub fn argmax_rows(x: ArrayView2<'_, f32>) -> Vec<usize> {
    x.rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_the_naive_formula() {
        let z = array![[1.0f32, 2.0, 3.0], [0.5, -1.0, 0.0]];
        let (l, g) = softmax_cross_entropy(z.view(), &[2, 0], None);
        let naive = |row: [f64; 3], c: usize| {
            let s: f64 = row.iter().map(|v| v.exp()).sum();
            -(row[c].exp() / s).ln()
        };
        let want = (naive([1.0, 2.0, 3.0], 2) + naive([0.5, -1.0, 0.0], 0)) / 2.0;
        // f32 logits and exp: relative error ~1e-7 per term.
        assert!((l as f64 - want).abs() < 1e-6, "{l} vs {want}");
        // Gradient rows sum to zero (softmax sums to one, minus the one-hot).
        for r in g.rows() {
            assert!(r.sum().abs() < 1e-6);
        }
        assert!(g[[0, 2]] < 0.0 && g[[0, 0]] > 0.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let z = array![[0.3f32, -1.2, 2.0, 0.1], [1.0, 1.0, -3.0, 0.5]];
        let w = [0.5f32, 2.0];
        let (_, g) = softmax_cross_entropy(z.view(), &[1, 3], Some(&w));
        let h = 1e-2f32;
        for i in 0..2 {
            for j in 0..4 {
                let mut zp = z.clone();
                zp[[i, j]] += h;
                let mut zm = z.clone();
                zm[[i, j]] -= h;
                let num = (softmax_cross_entropy(zp.view(), &[1, 3], Some(&w)).0
                    - softmax_cross_entropy(zm.view(), &[1, 3], Some(&w)).0)
                    / (2.0 * h);
                // Central difference of a smooth O(1) function, h = 1e-2 in
                // f32: truncation ~1e-5, round-off ~1e-5.
                assert!(
                    (num - g[[i, j]]).abs() < 1e-3,
                    "[{i},{j}] {num} vs {}",
                    g[[i, j]]
                );
            }
        }
    }

    #[test]
    fn smoothed_gradient_matches_finite_differences() {
        let z = array![[0.3f32, -1.2, 2.0, 0.1], [1.0, 1.0, -3.0, 0.5]];
        let w = [0.5f32, 2.0];
        let f = |z: &Array2<f32>| {
            let mut g = Array2::zeros((0, 0));
            let l = smoothed_cross_entropy_into(z.view(), &[1, 3], Some(&w), 0.2, &mut g);
            (l, g)
        };
        let (l, g) = f(&z);
        // Against the definition: -sum_j q_j log p_j, weighted mean.
        let ls = log_softmax(z.view());
        let q = |j: usize, c: usize| 0.8 * f32::from(j == c) + 0.2 / 4.0;
        let want = (0..2)
            .map(|i| {
                let c = [1, 3][i];
                -w[i] * (0..4).map(|j| q(j, c) * ls[[i, j]]).sum::<f32>()
            })
            .sum::<f32>()
            / 2.5;
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
        let h = 1e-2f32;
        for i in 0..2 {
            for j in 0..4 {
                let mut zp = z.clone();
                zp[[i, j]] += h;
                let mut zm = z.clone();
                zm[[i, j]] -= h;
                let num = (f(&zp).0 - f(&zm).0) / (2.0 * h);
                // Same tolerance argument as the unsmoothed check.
                assert!(
                    (num - g[[i, j]]).abs() < 1e-3,
                    "[{i},{j}] {num} vs {}",
                    g[[i, j]]
                );
            }
            // p and q both sum to one: each gradient row sums to zero.
            assert!(g.row(i).sum().abs() < 1e-6);
        }
        // Smoothing 0 is the plain loss, bit for bit.
        let mut g0 = Array2::zeros((0, 0));
        let l0 = smoothed_cross_entropy_into(z.view(), &[1, 3], Some(&w), 0.0, &mut g0);
        assert_eq!((l0, g0), softmax_cross_entropy(z.view(), &[1, 3], Some(&w)));
    }

    #[test]
    fn stable_for_huge_logits() {
        let z = array![[1000.0f32, -1000.0, 0.0]];
        let (l, g) = softmax_cross_entropy(z.view(), &[1], None);
        assert!((l - 2000.0).abs() < 1e-2, "{l}");
        assert!(g.iter().all(|v| v.is_finite()));
        let ls = log_softmax(z.view());
        assert!(ls.iter().all(|v| v.is_finite()));
        assert_eq!(argmax_rows(z.view()), vec![0]);
    }

    #[test]
    fn empty_batch_and_mse() {
        let z = Array2::<f32>::zeros((0, 3));
        assert_eq!(softmax_cross_entropy(z.view(), &[], None).0, 0.0);
        let (l, g) = mean_squared_error(
            array![[1.0f32], [3.0]].view(),
            array![[0.0f32], [1.0]].view(),
        );
        assert_eq!(l, 2.5);
        assert_eq!(g, array![[1.0f32], [2.0]]);
    }
}
