//! Waveform augmentations: additive noise at a random SNR, random time shift,
//! speed perturbation.

use rand::RngExt;
use rand_distr::StandardNormal;

use crate::nn::Rng;

/// Mean power `sum x^2 / n` (0 for an empty signal).
fn power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Adds `noise` (repeated if shorter) to `x`, scaled so that the ratio of
/// `x`'s power to the added noise's power is `snr_db`.
///
/// Silent `x` or silent `noise` leave `x` unchanged: there is no level to
/// measure the SNR against.
pub fn mix_at_snr(x: &mut [f32], noise: &[f32], snr_db: f32) {
    let p_signal = power(x);
    let p_noise = if noise.is_empty() {
        0.0
    } else {
        (0..x.len())
            .map(|i| f64::from(noise[i % noise.len()]).powi(2))
            .sum::<f64>()
            / x.len().max(1) as f64
    };
    if p_signal <= 0.0 || p_noise <= 0.0 {
        return;
    }
    let gain = (p_signal / p_noise / 10f64.powf(f64::from(snr_db) / 10.0)).sqrt() as f32;
    for (i, v) in x.iter_mut().enumerate() {
        *v += gain * noise[i % noise.len()];
    }
}

/// Adds white Gaussian noise at an SNR drawn uniformly from
/// `[snr_db_low, snr_db_high]`; returns the SNR used.
///
/// The SNR is measured against the whole utterance's mean power, silence
/// included, so a clip with long pauses gets relatively more noise on its
/// speech than `snr_db` says; trim silence first when that matters.
pub fn add_white_noise(x: &mut [f32], snr_db_low: f32, snr_db_high: f32, rng: &mut Rng) -> f32 {
    let snr = uniform(snr_db_low, snr_db_high, rng);
    let noise: Vec<f32> = (0..x.len()).map(|_| rng.sample(StandardNormal)).collect();
    mix_at_snr(x, &noise, snr);
    snr
}

/// Adds a random excerpt of a noise recording at an SNR drawn uniformly from
/// `[snr_db_low, snr_db_high]`; returns the SNR used. The excerpt starts at
/// a random offset and wraps around when the recording is shorter than `x`.
pub fn add_noise_clip(
    x: &mut [f32],
    noise: &[f32],
    snr_db_low: f32,
    snr_db_high: f32,
    rng: &mut Rng,
) -> f32 {
    let snr = uniform(snr_db_low, snr_db_high, rng);
    if noise.is_empty() {
        return snr;
    }
    let offset = rng.random_range(0..noise.len());
    let excerpt: Vec<f32> = (0..x.len())
        .map(|i| noise[(offset + i) % noise.len()])
        .collect();
    mix_at_snr(x, &excerpt, snr);
    snr
}

/// Uniform draw in `[low, high]` (either order; equal bounds give that value).
pub(crate) fn uniform(low: f32, high: f32, rng: &mut Rng) -> f32 {
    let (lo, hi) = if low <= high {
        (low, high)
    } else {
        (high, low)
    };
    lo + (hi - lo) * rng.random::<f32>()
}

/// Shifts `x` by `shift` samples (positive = later), filling the vacated
/// part with zeros; length is kept. Not circular: wrapping would glue the
/// word's end before its start.
pub fn shift_samples(x: &[f32], shift: isize) -> Vec<f32> {
    let n = x.len();
    let mut out = vec![0.0; n];
    let s = shift.unsigned_abs().min(n);
    if shift >= 0 {
        out[s..].copy_from_slice(&x[..n - s]);
    } else {
        out[..n - s].copy_from_slice(&x[s..]);
    }
    out
}

/// Random time shift by up to `max_shift` samples either way; returns the
/// shifted signal and the shift used.
pub fn random_shift(x: &[f32], max_shift: usize, rng: &mut Rng) -> (Vec<f32>, isize) {
    let shift = signed_offset(max_shift, rng);
    (shift_samples(x, shift), shift)
}

/// Uniform integer in `-max..=max` (rand has no `isize` ranges, so via i64).
pub(crate) fn signed_offset(max: usize, rng: &mut Rng) -> isize {
    let max = max as i64;
    rng.random_range(-max..=max) as isize
}

/// Speed perturbation by `factor` (1.1 = 10 % faster and higher, as sox
/// `speed` and Kaldi's speed perturbation): the output has
/// `round(n / factor)` samples and `y[i] = x(i * factor)`, linearly
/// interpolated.
///
/// Linear interpolation has no anti-aliasing filter: when speeding up,
/// content between `rate / (2 factor)` and `rate / 2` folds back. For the
/// usual factors (0.9-1.1) this touches only the top tenth of the band,
/// where speech has little energy; it is the documented price of a simple,
/// exact-length resampler. A factor outside `[0.25, 4]` (or NaN) returns
/// `x` unchanged: such factors are not augmentation, and a tiny one would
/// ask for an enormous output.
pub fn speed_perturb(x: &[f32], factor: f32) -> Vec<f32> {
    if !(0.25..=4.0).contains(&factor) || x.is_empty() {
        return x.to_vec();
    }
    let n_out = ((x.len() as f64 / f64::from(factor)).round() as usize).max(1);
    let last = x.len() - 1;
    (0..n_out)
        .map(|i| {
            let pos = i as f64 * f64::from(factor);
            let k = (pos.floor() as usize).min(last);
            let frac = (pos - k as f64).min(1.0) as f32;
            let next = x[(k + 1).min(last)];
            x[k] + frac * (next - x[k])
        })
        .collect()
}

/// Speed perturbation by a factor drawn uniformly from `[low, high]`;
/// returns the perturbed signal and the factor.
pub fn random_speed(x: &[f32], low: f32, high: f32, rng: &mut Rng) -> (Vec<f32>, f32) {
    let factor = uniform(low, high, rng);
    (speed_perturb(x, factor), factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;

    const SEED: u64 = 11;

    fn sine(freq: f32, n: usize, rate: f32) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate).sin())
            .collect()
    }

    fn zero_crossings(x: &[f32]) -> usize {
        x.windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count()
    }

    #[test]
    fn white_noise_reaches_the_drawn_snr_and_is_seeded() {
        let clean = sine(300.0, 16000, 8000.0);
        let mut a = clean.clone();
        let snr = add_white_noise(&mut a, 5.0, 15.0, &mut rng_from_seed(SEED));
        assert!((5.0..=15.0).contains(&snr));
        let noise: Vec<f32> = a.iter().zip(&clean).map(|(y, x)| y - x).collect();
        let measured = 10.0 * (power(&clean) / power(&noise)).log10();
        // The gain is computed from the drawn noise itself, so only float
        // rounding separates the two.
        assert!(
            (measured - f64::from(snr)).abs() < 1e-3,
            "{measured} vs {snr}"
        );
        let mut b = clean.clone();
        add_white_noise(&mut b, 5.0, 15.0, &mut rng_from_seed(SEED));
        assert_eq!(a, b, "same seed, same noise");
        let mut c = clean;
        add_white_noise(&mut c, 5.0, 15.0, &mut rng_from_seed(SEED + 1));
        assert_ne!(a, c);
    }

    #[test]
    fn noise_clip_wraps_and_silence_is_left_alone() {
        let mut x = sine(200.0, 1000, 8000.0);
        let noise = [1.0, -1.0, 0.5];
        let before = x.clone();
        let snr = add_noise_clip(&mut x, &noise, 0.0, 0.0, &mut rng_from_seed(SEED));
        assert_eq!(snr, 0.0);
        assert_ne!(x, before);
        let added: Vec<f32> = x.iter().zip(&before).map(|(y, v)| y - v).collect();
        let ratio = power(&before) / power(&added);
        // 0 dB: equal powers, up to f32 rounding of the sum.
        assert!((ratio - 1.0).abs() < 1e-4, "{ratio}");
        let mut silent = vec![0.0; 10];
        add_white_noise(&mut silent, 10.0, 10.0, &mut rng_from_seed(SEED));
        assert!(silent.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn shift_moves_samples_and_keeps_length() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(shift_samples(&x, 1), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(shift_samples(&x, -2), [3.0, 4.0, 0.0, 0.0]);
        assert_eq!(shift_samples(&x, 9), [0.0; 4]);
        let (y, s) = random_shift(&x, 2, &mut rng_from_seed(SEED));
        assert!(s.abs() <= 2);
        assert_eq!(y, shift_samples(&x, s));
        assert_eq!(random_shift(&x, 2, &mut rng_from_seed(SEED)).1, s, "seeded");
    }

    #[test]
    fn speed_changes_length_and_pitch_by_the_factor() {
        let x = sine(100.0, 8000, 8000.0);
        let fast = speed_perturb(&x, 1.25);
        assert_eq!(fast.len(), 6400);
        // 100 Hz becomes 125 Hz: 250 crossings per second of output instead of 200.
        let per_sample_in = zero_crossings(&x) as f32 / x.len() as f32;
        let per_sample_out = zero_crossings(&fast) as f32 / fast.len() as f32;
        // Crossing counts are exact to +-1 crossing over ~200.
        assert!((per_sample_out / per_sample_in - 1.25).abs() < 0.02);
        assert_eq!(speed_perturb(&x, 1.0), x, "factor 1 is the identity");
        assert_eq!(speed_perturb(&x, f32::NAN), x);
        assert_eq!(speed_perturb(&x, 1e-9), x, "no gigantic output");
        let (y, f) = random_speed(&x, 0.9, 1.1, &mut rng_from_seed(SEED));
        assert!((0.9..=1.1).contains(&f));
        assert_eq!(y.len(), (8000.0 / f).round() as usize);
    }
}
