//! Energy-based speech detection: dropping leading and trailing silence.
//!
//! A frame is speech when its energy is within `threshold_db` of the
//! utterance's loudest frame (and, optionally, at least `above_floor_db` over
//! its quiet frames); the kept span runs from the first to the last speech
//! frame, widened by `margin_frames` on each side. The threshold is
//! *relative* so that recording level does not matter, and the loudest frame
//! always passes it, so a non-empty input never comes back empty. Energies
//! are natural logs, as in Kaldi's log-energy feature. Works on a waveform
//! ([`speech_samples`]) or on frame log-energies from a front end
//! ([`speech_frames`], [`trim_frames`]).

use std::ops::Range;

use ndarray::{s, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::DataError;

/// Options of the energy-based speech detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpeechDetectOptions {
    /// Frames more than this many dB below the loudest frame are silence.
    /// Default 30 dB: well below a word's weak consonants in clean speech
    /// (which sit 20-30 dB under the vowel), well above a quiet room.
    pub threshold_db: f32,
    /// When set, a speech frame must also be this many dB above the quiet
    /// frames' level (the 10th percentile of frame energies), so that in
    /// noisy clips the noise floor is not taken for speech. Default `None`:
    /// in tightly cropped clips the 10th percentile is speech itself.
    pub above_floor_db: Option<f32>,
    /// Frames kept before the first and after the last speech frame.
    /// Default 5 (50 ms at a 10 ms shift): keeps soft onsets and releases.
    pub margin_frames: usize,
    /// Frame length for waveform energies, in ms. Default 25 (the usual
    /// analysis window).
    pub frame_length_ms: f32,
    /// Frame shift for waveform energies, in ms. Default 10.
    pub frame_shift_ms: f32,
}

impl Default for SpeechDetectOptions {
    fn default() -> Self {
        SpeechDetectOptions {
            threshold_db: 30.0,
            above_floor_db: None,
            margin_frames: 5,
            frame_length_ms: 25.0,
            frame_shift_ms: 10.0,
        }
    }
}

impl SpeechDetectOptions {
    /// Checks the options.
    ///
    /// # Errors
    /// A negative or non-finite threshold, or a non-positive frame size.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field, value: f32, reason| DataError::BadOption {
            field,
            value: value.to_string(),
            reason,
        };
        if !(self.threshold_db.is_finite() && self.threshold_db >= 0.0) {
            return Err(bad("threshold_db", self.threshold_db, "must be >= 0"));
        }
        if let Some(f) = self.above_floor_db {
            if !(f.is_finite() && f >= 0.0) {
                return Err(bad("above_floor_db", f, "must be >= 0"));
            }
        }
        if !(self.frame_length_ms > 0.0 && self.frame_length_ms.is_finite()) {
            return Err(bad("frame_length_ms", self.frame_length_ms, "must be > 0"));
        }
        if !(self.frame_shift_ms > 0.0 && self.frame_shift_ms.is_finite()) {
            return Err(bad("frame_shift_ms", self.frame_shift_ms, "must be > 0"));
        }
        Ok(())
    }
}

/// Energy floor added before the log, so digital silence gives a finite value.
const ENERGY_FLOOR: f32 = 1e-10;

/// Natural-log energy `ln(sum x^2 + 1e-10)` of each frame. A signal shorter
/// than one frame gives one (short) frame; an empty one gives none.
pub fn frame_log_energies(samples: &[f32], frame_length: usize, frame_shift: usize) -> Vec<f32> {
    let frame_length = frame_length.max(1);
    let frame_shift = frame_shift.max(1);
    if samples.is_empty() {
        return Vec::new();
    }
    let n_frames = if samples.len() <= frame_length {
        1
    } else {
        1 + (samples.len() - frame_length) / frame_shift
    };
    (0..n_frames)
        .map(|f| {
            let start = f * frame_shift;
            let end = (start + frame_length).min(samples.len());
            let energy: f32 = samples[start..end].iter().map(|v| v * v).sum();
            (energy + ENERGY_FLOOR).ln()
        })
        .collect()
}

/// The span of frames to keep, given per-frame natural-log energies.
///
/// Non-finite energies count as silence. If no energy is finite the whole
/// range is returned (nothing to decide on). Never empty for non-empty input.
pub fn speech_frames(log_energies: &[f32], opts: &SpeechDetectOptions) -> Range<usize> {
    let n = log_energies.len();
    let finite: Vec<f32> = log_energies
        .iter()
        .copied()
        .filter(|e| e.is_finite())
        .collect();
    let Some(max) = finite.iter().copied().reduce(f32::max) else {
        return 0..n;
    };
    let db_to_ln = std::f32::consts::LN_10 / 10.0;
    let mut threshold = max - opts.threshold_db * db_to_ln;
    if let Some(above) = opts.above_floor_db {
        let mut sorted = finite.clone();
        sorted.sort_by(f32::total_cmp);
        let floor = sorted[(sorted.len() - 1) / 10];
        // Never above the maximum, so the loudest frame still passes.
        threshold = threshold.max(floor + above * db_to_ln).min(max);
    }
    let is_speech = |e: &f32| e.is_finite() && *e >= threshold;
    let first = log_energies.iter().position(is_speech).unwrap_or(0);
    let last = log_energies.iter().rposition(is_speech).unwrap_or(n - 1);
    first.saturating_sub(opts.margin_frames)..(last + 1 + opts.margin_frames).min(n)
}

/// The sample span to keep in a waveform, framing it with the options'
/// frame length and shift at `sample_rate`.
///
/// # Errors
/// Invalid options.
pub fn speech_samples(
    samples: &[f32],
    sample_rate: u32,
    opts: &SpeechDetectOptions,
) -> Result<Range<usize>, DataError> {
    opts.validate()?;
    let per_ms = sample_rate as f32 / 1000.0;
    let length = ((opts.frame_length_ms * per_ms).round() as usize).max(1);
    let shift = ((opts.frame_shift_ms * per_ms).round() as usize).max(1);
    let energies = frame_log_energies(samples, length, shift);
    let frames = speech_frames(&energies, opts);
    if frames.is_empty() {
        return Ok(0..samples.len());
    }
    let start = frames.start * shift;
    // Samples past the last whole frame belong to it: keep them when the
    // last frame is kept.
    let end = if frames.end == energies.len() {
        samples.len()
    } else {
        ((frames.end - 1) * shift + length).min(samples.len())
    };
    Ok(start..end)
}

/// Drops leading and trailing silent frames from a (frames, dims) matrix
/// given its per-frame log energies (e.g. Kaldi's energy or c0).
///
/// # Shapes
/// `(t, d), (t) -> (t', d)` with `1 <= t' <= t` for `t >= 1`.
///
/// # Errors
/// Invalid options, or `log_energies.len()` differing from the frame count.
pub fn trim_frames(
    features: ArrayView2<f32>,
    log_energies: &[f32],
    opts: &SpeechDetectOptions,
) -> Result<Array2<f32>, DataError> {
    opts.validate()?;
    if log_energies.len() != features.nrows() {
        return Err(DataError::BadOption {
            field: "log_energies",
            value: format!(
                "{} values for {} frames",
                log_energies.len(),
                features.nrows()
            ),
            reason: "one energy per frame is needed",
        });
    }
    let keep = speech_frames(log_energies, opts);
    Ok(features.slice(s![keep, ..]).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    fn ramp(t: usize, d: usize) -> Array2<f32> {
        Array::from_shape_fn((t, d), |(i, j)| (i * 10 + j + 1) as f32)
    }

    /// 0.2 s silence (tiny noise), 0.3 s tone, 0.2 s silence at 8 kHz.
    fn tone_in_silence() -> Vec<f32> {
        let rate = 8000.0;
        (0..5600)
            .map(|i| {
                let t = i as f32 / rate;
                let hiss = 1e-4 * ((i * 7919 % 101) as f32 / 50.0 - 1.0);
                if (1600..4000).contains(&i) {
                    0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin() + hiss
                } else {
                    hiss
                }
            })
            .collect()
    }

    #[test]
    fn waveform_trim_finds_the_tone_within_a_margin() {
        let x = tone_in_silence();
        let opts = SpeechDetectOptions::default();
        let keep = speech_samples(&x, 8000, &opts).unwrap();
        // Bounds are exact to one frame (25 ms = 200 samples) plus the
        // 5-frame (400-sample) margin on each side.
        assert!(
            keep.start >= 1600 - 400 - 200 && keep.start <= 1600 - 400 + 200,
            "{keep:?}"
        );
        assert!(
            keep.end >= 4000 + 400 - 200 && keep.end <= 4000 + 400 + 200,
            "{keep:?}"
        );
    }

    #[test]
    fn trimming_never_empties_non_silent_input() {
        let opts = SpeechDetectOptions {
            margin_frames: 0,
            ..Default::default()
        };
        assert_eq!(speech_frames(&[-5.0, 3.0, -5.0], &opts), 1..2);
        assert_eq!(speech_frames(&[1.0], &opts), 0..1);
        assert_eq!(
            speech_frames(&[f32::NEG_INFINITY, f32::NAN], &opts),
            0..2,
            "no finite energy"
        );
        assert_eq!(speech_frames(&[], &opts), 0..0);
        let silent = vec![0.0f32; 800];
        assert_eq!(speech_samples(&silent, 8000, &opts).unwrap(), 0..800);
    }

    #[test]
    fn noise_floor_option_trims_noisy_edges() {
        // Noise at 0 (ln units), speech at 4 (about 17 dB louder) in frames 4..6.
        let e = [0.0, 0.1, -0.1, 0.0, 4.0, 4.2, 0.05, 0.0, -0.05, 0.1];
        let plain = SpeechDetectOptions {
            margin_frames: 0,
            ..Default::default()
        };
        assert_eq!(
            speech_frames(&e, &plain),
            0..10,
            "30 dB below max keeps the noise"
        );
        let floor = SpeechDetectOptions {
            above_floor_db: Some(6.0),
            ..plain
        };
        assert_eq!(speech_frames(&e, &floor), 4..6);
    }

    #[test]
    fn trim_frames_checks_lengths_and_slices() {
        let x = ramp(4, 2);
        let opts = SpeechDetectOptions {
            margin_frames: 1,
            ..Default::default()
        };
        let kept = trim_frames(x.view(), &[-20.0, -20.0, 0.0, -20.0], &opts).unwrap();
        assert_eq!(kept, x.slice(s![1..4, ..]));
        assert!(trim_frames(x.view(), &[0.0], &opts).is_err());
        let bad = SpeechDetectOptions {
            threshold_db: -1.0,
            ..Default::default()
        };
        assert!(trim_frames(x.view(), &[0.0; 4], &bad).is_err());
    }
}
