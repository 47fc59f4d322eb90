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

/// Cuts a random stretch off each end of the speech in `x`: the speech
/// span is found by the energy detector of [`crate::data::speech`] (default
/// options, no margin), and the copy keeps it from `start + a` to
/// `end - b`, with `a` drawn uniformly from `0..=max_ms.0` (the onset) and
/// `b` from `0..=max_ms.1` (the release), each capped at a quarter of the
/// speech, so at least half of it stays. Silence outside the span is
/// dropped.
///
/// Why: recordings are often cropped tightly, or by a voice-activity
/// detector that misses a weak onset, so a word reaches the classifier
/// without its first consonant (a "two" whose /t/ burst is gone starts like
/// the vowel of "four"). Training copies cut the same way teach the
/// network to recognise a word from what follows its onset too.
/// A signal whose speech span is under 4 samples is returned unchanged.
///
/// Returns the cropped signal and the cuts `(a, b)` in samples.
pub fn random_edge_crop(
    x: &[f32],
    sample_rate: u32,
    max_ms: (f32, f32),
    rng: &mut Rng,
) -> (Vec<f32>, (usize, usize)) {
    let opts = crate::data::speech::SpeechDetectOptions {
        margin_frames: 0,
        ..Default::default()
    };
    let span = match crate::data::speech::speech_samples(x, sample_rate, &opts) {
        Ok(r) if r.len() >= 4 => r,
        _ => return (x.to_vec(), (0, 0)),
    };
    let max = |ms: f32| ((ms.max(0.0) * sample_rate as f32 / 1000.0) as usize).min(span.len() / 4);
    let a = rng.random_range(0..=max(max_ms.0));
    let b = rng.random_range(0..=max(max_ms.1));
    (x[span.start + a..span.end - b].to_vec(), (a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;

    #[test]
    fn edge_crop_cuts_into_the_speech_and_is_seeded() {
        // 0.2 s silence, 0.4 s tone, 0.2 s silence at 8 kHz.
        let mut x = vec![0.0f32; 1600];
        x.extend(sine(300.0, 3200, 8000.0));
        x.extend(vec![0.0f32; 1600]);
        let (y, (a, b)) = random_edge_crop(&x, 8000, (60.0, 60.0), &mut rng_from_seed(SEED));
        // Cuts are within 60 ms (480 samples); the speech span is detected to
        // within a frame (25 ms window, 10 ms shift) of the tone.
        assert!(a <= 480 && b <= 480, "{a} {b}");
        let tone_len = 3200usize;
        assert!(
            (y.len() as i64 - (tone_len - a - b) as i64).abs() <= 400,
            "kept {} of a {tone_len}-sample tone with cuts {a}, {b}",
            y.len()
        );
        // The silence is gone: the copy starts and ends inside the tone.
        let loud = |v: &[f32]| v.iter().map(|s| s.abs()).fold(0.0f32, f32::max) > 0.5;
        assert!(loud(&y[..80]) && loud(&y[y.len() - 80..]));
        let (y2, cuts2) = random_edge_crop(&x, 8000, (60.0, 60.0), &mut rng_from_seed(SEED));
        assert_eq!((y2, cuts2), (y, (a, b)), "same seed, same crop");
        // Different seeds give different cuts (with overwhelming odds over 8 seeds).
        let distinct: std::collections::BTreeSet<(usize, usize)> = (0..8)
            .map(|s| random_edge_crop(&x, 8000, (60.0, 60.0), &mut rng_from_seed(s)).1)
            .collect();
        assert!(distinct.len() > 1);
        // A quarter of the speech at most is cut from each end.
        let (_, (a, b)) =
            random_edge_crop(&x, 8000, (10_000.0, 10_000.0), &mut rng_from_seed(SEED));
        assert!(a <= 3300 / 4 && b <= 3300 / 4, "{a} {b}");
        // Onset only: the release is left alone.
        let (_, (_, b)) = random_edge_crop(&x, 8000, (60.0, 0.0), &mut rng_from_seed(SEED));
        assert_eq!(b, 0);
        // A very short word keeps at least half of itself.
        let short = sine(300.0, 100, 8000.0);
        let kept = random_edge_crop(&short, 8000, (60.0, 60.0), &mut rng_from_seed(1)).0;
        assert!(kept.len() >= 50, "{}", kept.len());
        assert!(
            random_edge_crop(&[0.5, -0.5], 8000, (60.0, 60.0), &mut rng_from_seed(1)).0
                == [0.5, -0.5],
            "a span under 4 samples is left alone"
        );
    }

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
