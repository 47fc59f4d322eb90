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
/// the variance floored at 1e-20 like Kaldi's `apply-cmvn`.
pub fn cmvn(x: &mut Array2<f32>, mode: Cmvn) {
    if mode == Cmvn::None || x.nrows() == 0 {
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
}
