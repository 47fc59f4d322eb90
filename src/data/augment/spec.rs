//! Feature-matrix augmentations on (frames, dims): SpecAugment-style time and
//! frequency masking, random frame shift, and VTLP-style warping of a mel
//! axis.

use ndarray::{Array2, ArrayView2, Axis};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::wave::uniform;
use crate::nn::Rng;

/// What masked cells are set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskFill {
    /// The utterance's mean over all cells. Default: for un-normalised log
    /// features zero is an extreme value, the mean is not.
    #[default]
    Mean,
    /// Zero (SpecAugment's choice, on normalised features).
    Zero,
}

fn fill_value(x: &Array2<f32>, fill: MaskFill) -> f32 {
    match fill {
        MaskFill::Zero => 0.0,
        MaskFill::Mean => x.mean().unwrap_or(0.0),
    }
}

/// Masks `n_masks` bands along `axis` (0 = time, 1 = frequency), each of a
/// width drawn uniformly from `0..=max_width` (capped at the axis length) at
/// a uniform position. Returns the masked ranges.
fn mask_axis(
    x: &mut Array2<f32>,
    axis: Axis,
    max_width: usize,
    n_masks: usize,
    fill: MaskFill,
    rng: &mut Rng,
) -> Vec<std::ops::Range<usize>> {
    let len = x.len_of(axis);
    let value = fill_value(x, fill);
    let mut ranges = Vec::with_capacity(n_masks);
    for _ in 0..n_masks {
        let width = rng.random_range(0..=max_width.min(len));
        let start = rng.random_range(0..=len - width);
        for mut lane in x.axis_iter_mut(axis).skip(start).take(width) {
            lane.fill(value);
        }
        ranges.push(start..start + width);
    }
    ranges
}

/// SpecAugment time masking: `n_masks` runs of up to `max_frames` frames.
///
/// # Shapes
/// `(t, d) -> (t, d)` in place.
pub fn time_mask(
    x: &mut Array2<f32>,
    max_frames: usize,
    n_masks: usize,
    fill: MaskFill,
    rng: &mut Rng,
) -> Vec<std::ops::Range<usize>> {
    mask_axis(x, Axis(0), max_frames, n_masks, fill, rng)
}

/// SpecAugment frequency masking: `n_masks` bands of up to `max_bins` dims.
///
/// # Shapes
/// `(t, d) -> (t, d)` in place.
pub fn freq_mask(
    x: &mut Array2<f32>,
    max_bins: usize,
    n_masks: usize,
    fill: MaskFill,
    rng: &mut Rng,
) -> Vec<std::ops::Range<usize>> {
    mask_axis(x, Axis(1), max_bins, n_masks, fill, rng)
}

/// Shifts frames by `shift` (positive = later), padding with the edge frame
/// so padded frames look like the clip's own silence; shape kept.
///
/// # Shapes
/// `(t, d) -> (t, d)`
pub fn shift_frames(x: ArrayView2<f32>, shift: isize) -> Array2<f32> {
    let t = x.nrows() as isize;
    let mut out = Array2::<f32>::zeros(x.raw_dim());
    if t == 0 {
        return out;
    }
    for (i, mut row) in out.rows_mut().into_iter().enumerate() {
        let src = (i as isize - shift).clamp(0, t - 1) as usize;
        row.assign(&x.row(src));
    }
    out
}

/// HTK mel scale, `2595 log10(1 + f / 700)`.
fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// The mel axis a feature matrix's columns lie on: `n` filters with centres
/// evenly spaced in HTK mel between `low_hz` and `high_hz` (exclusive), as a
/// triangular filterbank lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MelAxis {
    /// Lower edge of the filterbank, Hz.
    pub low_hz: f32,
    /// Upper edge of the filterbank, Hz.
    pub high_hz: f32,
}

impl MelAxis {
    fn centre_hz(&self, k: f64, n: usize) -> f64 {
        let (lo, hi) = (
            hz_to_mel(f64::from(self.low_hz)),
            hz_to_mel(f64::from(self.high_hz)),
        );
        mel_to_hz(lo + (k + 1.0) * (hi - lo) / (n as f64 + 1.0))
    }

    /// Fractional column index of frequency `f` (inverse of the centres).
    fn index_of(&self, f: f64, n: usize) -> f64 {
        let (lo, hi) = (
            hz_to_mel(f64::from(self.low_hz)),
            hz_to_mel(f64::from(self.high_hz)),
        );
        (hz_to_mel(f) - lo) * (n as f64 + 1.0) / (hi - lo) - 1.0
    }
}

/// VTLP's piecewise-linear frequency warp (Jaitly & Hinton, 2013):
/// `w(f) = alpha f` up to `f0 = 0.8 high / max(alpha, 1)`, then the straight
/// line from `(f0, alpha f0)` to `(high, high)`, so the band edge stays put.
pub fn vtlp_warp_hz(f: f64, alpha: f64, high_hz: f64) -> f64 {
    let f0 = 0.8 * high_hz / alpha.max(1.0);
    if f <= f0 {
        alpha * f
    } else {
        alpha * f0 + (f - f0) * (high_hz - alpha * f0) / (high_hz - f0)
    }
}

/// VTLP on mel-axis features (log-mel or mel energies, not cepstra): the
/// output at column k is the input read at frequency `w(centre_k)`, linearly
/// interpolated between columns and clamped at the edges. With `alpha > 1`
/// spectral features move *down* the axis (a longer vocal tract), with
/// `alpha < 1` up. `alpha = 1` is the identity.
///
/// Warping the mel features rather than the linear spectrum before the
/// filterbank is an approximation (it interpolates filter outputs instead of
/// re-integrating the spectrum), chosen so the augmentation can run on cached
/// features.
///
/// An invalid axis (`high_hz <= low_hz`, negative or non-finite bounds) or
/// factor (not finite and positive) returns the input unchanged rather than
/// filling it with NaN.
///
/// # Shapes
/// `(t, n_mels) -> (t, n_mels)`
pub fn vtlp(x: ArrayView2<f32>, alpha: f32, axis: MelAxis) -> Array2<f32> {
    let (t, n) = x.dim();
    let valid_axis = axis.low_hz >= 0.0 && axis.high_hz > axis.low_hz && axis.high_hz.is_finite();
    if n == 0 || !valid_axis || !(alpha > 0.0 && alpha.is_finite()) {
        return x.to_owned();
    }
    let mut out = Array2::<f32>::zeros((t, n));
    for k in 0..n {
        let f = vtlp_warp_hz(
            axis.centre_hz(k as f64, n),
            f64::from(alpha),
            f64::from(axis.high_hz),
        );
        let pos = axis.index_of(f, n).clamp(0.0, (n - 1) as f64);
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let frac = (pos - lo as f64) as f32;
        for r in 0..t {
            out[[r, k]] = x[[r, lo]] + frac * (x[[r, hi]] - x[[r, lo]]);
        }
    }
    out
}

/// VTLP with `alpha` drawn uniformly from `[low, high]` (0.9-1.1 is usual);
/// returns the warped features and the factor.
pub fn random_vtlp(
    x: ArrayView2<f32>,
    low: f32,
    high: f32,
    axis: MelAxis,
    rng: &mut Rng,
) -> (Array2<f32>, f32) {
    let alpha = uniform(low, high, rng);
    (vtlp(x, alpha, axis), alpha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;

    const SEED: u64 = 5;
    const AXIS: MelAxis = MelAxis {
        low_hz: 20.0,
        high_hz: 4000.0,
    };

    fn ramp(t: usize, d: usize) -> Array2<f32> {
        Array2::from_shape_fn((t, d), |(i, j)| (i * d + j) as f32)
    }

    #[test]
    fn time_and_freq_masks_fill_only_their_ranges() {
        let x = ramp(20, 8);
        let mut y = x.clone();
        let ranges = time_mask(&mut y, 5, 2, MaskFill::Zero, &mut rng_from_seed(SEED));
        assert_eq!(y.dim(), x.dim());
        assert_eq!(ranges.len(), 2);
        for r in 0..20 {
            if ranges.iter().any(|m| m.contains(&r)) {
                assert!(y.row(r).iter().all(|&v| v == 0.0), "row {r}");
            } else {
                assert_eq!(y.row(r), x.row(r), "row {r}");
            }
        }
        let mut z = x.clone();
        let mean = x.mean().unwrap();
        let bands = freq_mask(&mut z, 3, 1, MaskFill::Mean, &mut rng_from_seed(SEED));
        for c in 0..8 {
            if bands[0].contains(&c) {
                assert!(z.column(c).iter().all(|&v| v == mean));
            } else {
                assert_eq!(z.column(c), x.column(c));
            }
        }
    }

    #[test]
    fn masks_are_seeded_and_some_seed_masks_something() {
        let x = ramp(50, 10);
        let run = |seed| {
            let mut y = x.clone();
            let r = time_mask(&mut y, 10, 2, MaskFill::Zero, &mut rng_from_seed(seed));
            (y, r)
        };
        assert_eq!(run(SEED), run(SEED));
        let changed = (0..10).filter(|&s| run(s).0 != x).count();
        assert!(
            changed >= 5,
            "widths 0..=10: most seeds mask something ({changed}/10)"
        );
    }

    #[test]
    fn frame_shift_pads_with_edges() {
        let x = ramp(4, 2);
        let y = shift_frames(x.view(), 1);
        assert_eq!(y.row(0), x.row(0));
        assert_eq!(y.row(1), x.row(0));
        assert_eq!(y.row(3), x.row(2));
        let z = shift_frames(x.view(), -3);
        assert_eq!(z.row(0), x.row(3));
        assert_eq!(z.row(3), x.row(3));
    }

    #[test]
    fn vtlp_identity_and_band_edge_fixed() {
        let x = ramp(3, 23);
        let y = vtlp(x.view(), 1.0, AXIS);
        // alpha = 1: w(f) = f; the mel round trip is exact to ~1e-9 columns.
        for (a, b) in x.iter().zip(y.iter()) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
        for alpha in [0.9, 1.1] {
            assert!((vtlp_warp_hz(4000.0, alpha, 4000.0) - 4000.0).abs() < 1e-9);
            // Monotone: a warp that folds would swap filter outputs.
            let mut prev = -1.0;
            for f in (0..=4000).step_by(50) {
                let w = vtlp_warp_hz(f as f64, alpha, 4000.0);
                assert!(w > prev);
                prev = w;
            }
        }
    }

    #[test]
    fn vtlp_with_bad_parameters_is_the_identity() {
        let x = ramp(2, 10);
        let flipped = MelAxis {
            low_hz: 4000.0,
            high_hz: 20.0,
        };
        assert_eq!(vtlp(x.view(), 1.1, flipped), x);
        assert_eq!(vtlp(x.view(), f32::NAN, AXIS), x);
        assert_eq!(vtlp(x.view(), 0.0, AXIS), x);
    }

    #[test]
    fn vtlp_moves_a_peak_down_for_alpha_above_one() {
        let n = 40;
        let mut x = Array2::<f32>::zeros((1, n));
        for k in 0..n {
            x[[0, k]] = (-((k as f32 - 20.0) / 2.0).powi(2)).exp();
        }
        let argmax = |y: &Array2<f32>| {
            (0..n)
                .max_by(|&a, &b| y[[0, a]].total_cmp(&y[[0, b]]))
                .unwrap()
        };
        assert_eq!(argmax(&x), 20);
        let longer = vtlp(x.view(), 1.15, AXIS);
        let shorter = vtlp(x.view(), 0.85, AXIS);
        assert!(argmax(&longer) < 20, "{}", argmax(&longer));
        assert!(argmax(&shorter) > 20, "{}", argmax(&shorter));
        let (a, fa) = random_vtlp(x.view(), 0.9, 1.1, AXIS, &mut rng_from_seed(SEED));
        let (b, fb) = random_vtlp(x.view(), 0.9, 1.1, AXIS, &mut rng_from_seed(SEED));
        assert_eq!((a.clone(), fa), (b, fb));
        assert_eq!(a.dim(), (1, n));
    }
}
