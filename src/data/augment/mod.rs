//! Data augmentation on waveforms and on (frames, dims) features.
//!
//! Each function takes the generator explicitly (`&mut nn::Rng`), so the
//! same seed gives the same augmented data. [`WaveAugment`] and
//! [`FeatureAugment`] bundle the functions as configuration (all off by
//! default) and apply them in a fixed order: speed, edge crop, shift, noise on the
//! waveform; VTLP, shift, frequency masks, time masks on features.
//!
//! Feature-level augmentation exists because cached features are the fast
//! path: masks, shifts and VTLP can be applied per epoch without recomputing
//! the front end, while waveform augmentation needs the front end to run on
//! every draw.

pub mod spec;
pub mod wave;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::nn::Rng;
pub use spec::{freq_mask, random_vtlp, shift_frames, time_mask, vtlp, MaskFill, MelAxis};
pub use wave::{add_noise_clip, add_white_noise, random_shift, random_speed, speed_perturb};

/// Waveform augmentation settings; every field off by default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WaveAugment {
    /// Speed factor range, e.g. `[0.9, 1.1]` (Kaldi's 3-way speed
    /// perturbation uses 0.9, 1.0, 1.1).
    pub speed: Option<(f32, f32)>,
    /// Largest random shift either way, in ms. 0 = off.
    pub shift_ms: f32,
    /// White-noise SNR range in dB, e.g. `[10.0, 30.0]`.
    pub noise_snr_db: Option<(f32, f32)>,
    /// Largest cuts from the start and from the end of the detected
    /// speech, in ms, e.g. `[60.0, 0.0]` for clipped onsets only (see
    /// [`wave::random_edge_crop`]). `[0, 0]` = off.
    pub edge_crop_ms: (f32, f32),
}

impl WaveAugment {
    /// Whether any augmentation is switched on.
    pub fn is_active(&self) -> bool {
        self.speed.is_some()
            || self.shift_ms > 0.0
            || self.noise_snr_db.is_some()
            || self.edge_crop_ms.0 > 0.0
            || self.edge_crop_ms.1 > 0.0
    }

    /// Applies speed, then edge cropping, then shift, then noise. The
    /// length changes only with speed perturbation and cropping.
    pub fn apply(&self, x: &[f32], sample_rate: u32, rng: &mut Rng) -> Vec<f32> {
        let mut y = match self.speed {
            Some((lo, hi)) => random_speed(x, lo, hi, rng).0,
            None => x.to_vec(),
        };
        if self.edge_crop_ms.0 > 0.0 || self.edge_crop_ms.1 > 0.0 {
            y = wave::random_edge_crop(&y, sample_rate, self.edge_crop_ms, rng).0;
        }
        if self.shift_ms > 0.0 {
            let max = (self.shift_ms * sample_rate as f32 / 1000.0).round() as usize;
            y = random_shift(&y, max, rng).0;
        }
        if let Some((lo, hi)) = self.noise_snr_db {
            add_white_noise(&mut y, lo, hi, rng);
        }
        y
    }
}

/// VTLP settings: warp factor range and the features' mel axis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VtlpOptions {
    /// Warp factor range, e.g. `[0.9, 1.1]` (Jaitly & Hinton's range).
    pub alpha: (f32, f32),
    /// Where the feature columns lie in frequency, so a warp moves them.
    pub axis: MelAxis,
}

/// Feature augmentation settings; every field off by default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureAugment {
    /// Vocal-tract-length warping of a mel axis (mel features only).
    pub vtlp: Option<VtlpOptions>,
    /// Largest random frame shift either way (edge padded). 0 = off.
    pub shift_frames: usize,
    /// Number of frequency masks and their largest width in dims.
    pub freq_masks: usize,
    /// Largest frequency-mask width, in feature dims.
    pub max_freq_width: usize,
    /// Number of time masks and their largest width in frames.
    pub time_masks: usize,
    /// Largest time-mask width, in frames.
    pub max_time_width: usize,
    /// Value written into masked cells.
    pub fill: MaskFill,
}

impl FeatureAugment {
    /// Whether any augmentation is switched on.
    pub fn is_active(&self) -> bool {
        self.vtlp.is_some()
            || self.shift_frames > 0
            || (self.freq_masks > 0 && self.max_freq_width > 0)
            || (self.time_masks > 0 && self.max_time_width > 0)
    }

    /// Applies VTLP, shift, frequency masks, time masks.
    ///
    /// # Shapes
    /// `(t, d) -> (t, d)`
    pub fn apply(&self, x: ArrayView2<f32>, rng: &mut Rng) -> Array2<f32> {
        let mut y = match self.vtlp {
            Some(v) => random_vtlp(x, v.alpha.0, v.alpha.1, v.axis, rng).0,
            None => x.to_owned(),
        };
        if self.shift_frames > 0 {
            y = shift_frames(y.view(), wave::signed_offset(self.shift_frames, rng));
        }
        freq_mask(&mut y, self.max_freq_width, self.freq_masks, self.fill, rng);
        time_mask(&mut y, self.max_time_width, self.time_masks, self.fill, rng);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;

    const SEED: u64 = 3;

    #[test]
    fn defaults_do_nothing() {
        let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.3).sin()).collect();
        let wave = WaveAugment::default();
        assert!(!wave.is_active());
        assert_eq!(wave.apply(&x, 8000, &mut rng_from_seed(SEED)), x);
        let feats = Array2::from_shape_fn((10, 4), |(i, j)| (i + j) as f32);
        let spec = FeatureAugment::default();
        assert!(!spec.is_active());
        assert_eq!(spec.apply(feats.view(), &mut rng_from_seed(SEED)), feats);
    }

    #[test]
    fn configured_chains_are_seeded_and_change_the_data() {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
        let wave: WaveAugment =
            toml::from_str("speed = [0.9, 1.1]\nshift_ms = 20.0\nnoise_snr_db = [10.0, 20.0]\n")
                .unwrap();
        assert!(wave.is_active());
        let a = wave.apply(&x, 8000, &mut rng_from_seed(SEED));
        let b = wave.apply(&x, 8000, &mut rng_from_seed(SEED));
        assert_eq!(a, b);
        assert_ne!(a, x);
        // Speed within 0.9-1.1 keeps the length within those bounds.
        assert!(a.len() >= 3636 && a.len() <= 4445, "{}", a.len());

        let feats = Array2::from_shape_fn((30, 23), |(i, j)| ((i * 7 + j * 3) % 11) as f32);
        let spec = FeatureAugment {
            vtlp: Some(VtlpOptions {
                alpha: (0.9, 1.1),
                axis: MelAxis {
                    low_hz: 20.0,
                    high_hz: 4000.0,
                },
            }),
            shift_frames: 3,
            freq_masks: 1,
            max_freq_width: 4,
            time_masks: 2,
            max_time_width: 5,
            fill: MaskFill::Mean,
        };
        let c = spec.apply(feats.view(), &mut rng_from_seed(SEED));
        assert_eq!(c, spec.apply(feats.view(), &mut rng_from_seed(SEED)));
        assert_eq!(c.dim(), feats.dim());
        assert_ne!(c, feats);
    }
}
