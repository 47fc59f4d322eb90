//! Utterance-level post-processing: per-utterance CMVN and deltas.
//!
//! Deltas follow Kaldi's `add-deltas` (`DeltaFeatures`): order-`k`
//! coefficients are the order-`k-1` ones convolved with the regression
//! window `j / sum_{j=-w}^{w} j^2`, `j = -w..w`; frames beyond the edges
//! repeat the first/last frame. Output blocks: `[static, delta,
//! delta-delta, ...]`.

use ndarray::{s, Array2, ArrayView2, Axis};

use super::options::Cmvn;

/// Kaldi's delta filters: `scales[k]` has `2 k w + 1` taps, centre in the middle.
pub fn delta_scales(order: usize, window: usize) -> Vec<Vec<f32>> {
    let mut scales: Vec<Vec<f64>> = vec![vec![1.0]];
    let w = window as i64;
    let norm: f64 = (-w..=w).map(|j| (j * j) as f64).sum();
    for k in 1..=order {
        let prev = &scales[k - 1];
        let prev_off = (prev.len() as i64 - 1) / 2;
        let cur_off = prev_off + w;
        let mut cur = vec![0.0; prev.len() + 2 * window];
        for j in -w..=w {
            for p in -prev_off..=prev_off {
                cur[(j + p + cur_off) as usize] += j as f64 * prev[(p + prev_off) as usize];
            }
        }
        cur.iter_mut().for_each(|v| *v /= norm);
        scales.push(cur);
    }
    scales
        .into_iter()
        .map(|v| v.into_iter().map(|x| x as f32).collect())
        .collect()
}

/// Appends deltas up to `order` with half-window `window`.
///
/// # Shapes
/// `(frames, d)` -> `(frames, d * (order + 1))`
pub fn add_deltas(x: ArrayView2<'_, f32>, order: usize, window: usize) -> Array2<f32> {
    let (n, d) = x.dim();
    let scales = delta_scales(order, window);
    let mut out = Array2::zeros((n, d * (order + 1)));
    for (k, sc) in scales.iter().enumerate() {
        let off = (sc.len() as i64 - 1) / 2;
        for t in 0..n {
            let mut row = out.slice_mut(s![t, k * d..(k + 1) * d]);
            for (j, &c) in sc.iter().enumerate() {
                if c == 0.0 {
                    continue;
                }
                let src = (t as i64 + j as i64 - off).clamp(0, n as i64 - 1) as usize;
                row.scaled_add(c, &x.row(src));
            }
        }
    }
    out
}

/// Per-utterance CMVN in place: subtract each column's mean; with
/// [`Cmvn::MeanVar`] also divide by its (population) standard deviation,
/// the variance floored at 1e-20 like Kaldi's `apply-cmvn`; with
/// [`Cmvn::Warp`], feature warping ([`feature_warp`]).
pub fn cmvn(x: &mut Array2<f32>, mode: Cmvn) {
    if mode == Cmvn::None || x.nrows() == 0 {
        return;
    }
    if mode == Cmvn::Warp {
        feature_warp(x);
        return;
    }
    let n = x.nrows() as f64;
    for mut col in x.axis_iter_mut(Axis(1)) {
        let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n;
        let scale = if mode == Cmvn::MeanVar {
            let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            1.0 / var.max(1e-20).sqrt()
        } else {
            1.0
        };
        col.mapv_inplace(|v| ((v as f64 - mean) * scale) as f32);
    }
}

/// Feature warping in place: in each column, the value of rank `r` (0 for
/// the smallest; tied values share their mean rank) among the `n` frames
/// becomes `Φ⁻¹((r + 1/2) / n)`, the standard-normal quantile. The output
/// depends only on the order of each column's values, so any increasing
/// distortion of a dimension (an offset, a scale, a compression) leaves it
/// unchanged. One frame maps to 0.
///
/// # Shapes
/// `(frames, dims)`, unchanged.
pub fn feature_warp(x: &mut Array2<f32>) {
    let n = x.nrows();
    if n == 0 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    for mut col in x.axis_iter_mut(Axis(1)) {
        let v: Vec<f32> = col.to_vec();
        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && v[order[end]] == v[order[start]] {
                end += 1;
            }
            // Ranks start..end share their mean (start + end - 1) / 2.
            let p = ((start + end) as f64 / 2.0) / n as f64;
            let q = normal_quantile(p) as f32;
            for &i in &order[start..end] {
                col[i] = q;
            }
            start = end;
        }
    }
}

/// The standard normal distribution's quantile function `Φ⁻¹(p)` for `p`
/// in (0, 1), by Acklam's rational approximations (relative error below
/// 1.2e-9, far under f32 resolution): a central rational function in
/// `(p - 1/2)²` for `0.02425 <= p <= 0.97575`, and a tail one in
/// `sqrt(-2 ln p)` outside, mirrored for the upper tail.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    let horner = |c: &[f64], x: f64| c.iter().fold(0.0, |acc, &k| acc * x + k);
    let tail = |p: f64| {
        let q = (-2.0 * p.ln()).sqrt();
        horner(&C, q) / (horner(&D, q) * q + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p > 1.0 - LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        horner(&A, r) * q / (horner(&B, r) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn kaldi_delta_scales() {
        let s = delta_scales(2, 2);
        assert_eq!(s[0], vec![1.0]);
        let d1: Vec<f32> = [-2.0, -1.0, 0.0, 1.0, 2.0]
            .iter()
            .map(|v| v / 10.0)
            .collect();
        assert_eq!(s[1], d1);
        assert_eq!(s[2].len(), 9);
        // delta-delta of a quadratic t^2 is 2 in the interior; scales sum j^2 terms.
        let q: f32 = s[2]
            .iter()
            .enumerate()
            .map(|(i, c)| c * ((i as f32 - 4.0).powi(2)))
            .sum();
        assert!((q - 2.0).abs() < 1e-5, "{q}");
        assert!(s[2].iter().sum::<f32>().abs() < 1e-6);
    }

    #[test]
    fn deltas_of_a_ramp_with_edge_replication() {
        let x = Array2::from_shape_fn((7, 1), |(t, _)| t as f32);
        let y = add_deltas(x.view(), 2, 2);
        assert_eq!(y.dim(), (7, 3));
        assert!((y[[3, 1]] - 1.0).abs() < 1e-6, "slope 1 in the interior");
        assert!(y[[3, 2]].abs() < 1e-6, "no curvature in the interior");
        // frame 0 sees [0,0,0,1,2]: (-2*0 - 0 + 0 + 1 + 4)/10 = 0.5
        assert!((y[[0, 1]] - 0.5).abs() < 1e-6);
        assert_eq!(y.column(0), x.column(0));
    }

    #[test]
    fn cmvn_zeroes_mean_and_unit_variance() {
        let mut x = array![[1.0f32, 10.0], [3.0, 10.0], [5.0, 10.0]];
        cmvn(&mut x, Cmvn::MeanVar);
        assert!((x[[0, 0]] + 1.224_744_9).abs() < 1e-6);
        assert_eq!(
            x.column(1).to_vec(),
            vec![0.0; 3],
            "constant column: zero, not NaN"
        );
        let mut y = array![[1.0f32], [3.0]];
        cmvn(&mut y, Cmvn::Mean);
        assert_eq!(y.column(0).to_vec(), vec![-1.0, 1.0]);
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        // Φ⁻¹ at standard points (tables to 9 digits); the approximation's
        // relative error is < 1.2e-9.
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.9, 1.281_551_566),
            (0.01, -2.326_347_874),
            (0.001, -3.090_232_306),
            (0.999_9, 3.719_016_485),
        ] {
            let q = normal_quantile(p);
            assert!((q - z).abs() < 1e-8, "p {p}: {q} vs {z}");
        }
        for i in 1..1000 {
            let p = i as f64 / 1000.0;
            assert!((normal_quantile(p) + normal_quantile(1.0 - p)).abs() < 1e-9);
            assert!(normal_quantile(p) < normal_quantile(p + 1e-4), "increasing");
        }
    }

    #[test]
    fn feature_warp_maps_ranks_to_normal_quantiles() {
        let mut x = array![[3.0f32, 10.0], [1.0, 10.0], [2.0, 7.0], [9.0, 10.0]];
        let mut y = x.mapv(|v| 5.0 * v.powi(3) - 2.0);
        feature_warp(&mut x);
        // Column 0: ranks 2, 0, 1, 3 of 4 -> quantiles of 5/8, 1/8, 3/8, 7/8.
        for (i, r) in [2.0, 0.0, 1.0, 3.0].iter().enumerate() {
            let want = normal_quantile((r + 0.5) / 4.0) as f32;
            assert!((x[[i, 0]] - want).abs() < 1e-6);
        }
        // Column 1: three ties share the mean rank 2 of ranks 1, 2, 3.
        assert_eq!(x[[0, 1]], x[[1, 1]]);
        assert!((x[[0, 1]] - normal_quantile(2.5 / 4.0) as f32).abs() < 1e-6);
        assert!((x[[2, 1]] - normal_quantile(0.5 / 4.0) as f32).abs() < 1e-6);
        // An increasing distortion of the input changes nothing.
        feature_warp(&mut y);
        assert_eq!(x, y);
        let mut one = array![[4.0f32, -1.0]];
        cmvn(&mut one, Cmvn::Warp);
        assert_eq!(one, array![[0.0f32, 0.0]]);
    }
}
