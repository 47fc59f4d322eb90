//! Perturbed training copies, shared by the hand-crafted and the learned
//! path.
//!
//! # Design
//! A copy is made in one fixed order from one generator seeded by (run
//! seed, item path, copy number): the VTLN warp factor (when
//! `augment.vtln` is set), the waveform perturbation (speed, shift,
//! noise), then the cached representation recomputed from the perturbed
//! waveform (dither drawn from the same generator), then the feature
//! perturbation. The two paths differ only in what "representation" means:
//! the whole hand-crafted front end on the classic path, the frozen prefix
//! (the stages before the first learned one) on the learned path. So the
//! same seed draws the same speed factors and noise on both paths, and a
//! copy does not depend on the order or thread in which it is made.

use std::path::Path;

use ndarray::Array2;
use rand::RngExt;
use rayon::prelude::*;

use crate::data::augment::{FeatureAugment, WaveAugment};
use crate::nn::rng_from_seed;

use super::config::AugmentConfig;
use super::corpus::Corpus;
use super::item_seed;

/// The generator seed of copy `copy` (0-based) of the item at `rel_path`
/// in the run with `seed`.
pub fn copy_seed(seed: u64, copy: usize, rel_path: &Path) -> u64 {
    item_seed(
        seed ^ (copy as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        rel_path,
    )
}

/// One perturbed copy of an utterance.
///
/// `cached` is the utterance's unperturbed representation (used as it is
/// when neither a waveform perturbation nor a VTLN warp is set);
/// `compute(samples, dither_seed, warp)` recomputes the representation from
/// a perturbed waveform, with the mel filterbank warped by `warp` when it
/// is `Some` (drawn uniformly from `vtln`).
///
/// # Shapes
/// `audio: (n,)`, `cached: (frames, dims)` -> `(frames', dims)` (speed
/// perturbation changes the number of frames)
#[allow(clippy::too_many_arguments)]
pub fn perturbed_copy(
    wave: &WaveAugment,
    feature: &FeatureAugment,
    vtln: Option<(f32, f32)>,
    audio: &[f32],
    sample_rate_hz: u32,
    cached: &Array2<f32>,
    seed: u64,
    compute: impl Fn(&[f32], u64, Option<f32>) -> Array2<f32>,
) -> Array2<f32> {
    let mut rng = rng_from_seed(seed);
    let warp = vtln.map(|(lo, hi)| {
        if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        }
    });
    let x = if wave.is_active() {
        let perturbed = wave.apply(audio, sample_rate_hz, &mut rng);
        let dither_seed = rng.random::<u64>();
        compute(&perturbed, dither_seed, warp)
    } else if warp.is_some() {
        let dither_seed = rng.random::<u64>();
        compute(audio, dither_seed, warp)
    } else {
        cached.clone()
    };
    if feature.is_active() {
        feature.apply(x.view(), &mut rng)
    } else {
        x
    }
}

/// `aug.copies` perturbed copies of each item of `items` (item major: all
/// copies of the first item, then the next), made in parallel, or nothing
/// when augmentation is off. `cached[i]` is item `i`'s unperturbed
/// representation and `compute` recomputes it from a perturbed waveform
/// (see [`perturbed_copy`]).
///
/// # Shapes
/// each copy `(frames', dims)` like `cached[i]`
pub fn training_copies(
    corpus: &Corpus,
    aug: &AugmentConfig,
    cached: &[Array2<f32>],
    items: &[usize],
    seed: u64,
    compute: impl Fn(&[f32], u64, Option<f32>) -> Array2<f32> + Sync,
) -> Vec<Array2<f32>> {
    if !aug.is_active() {
        return Vec::new();
    }
    let jobs: Vec<(usize, usize)> = items
        .iter()
        .flat_map(|&i| (0..aug.copies).map(move |c| (i, c)))
        .collect();
    jobs.par_iter()
        .map(|&(i, c)| {
            perturbed_copy(
                &aug.wave,
                &aug.feature,
                aug.vtln,
                &corpus.audio[i],
                corpus.sample_rate_hz,
                &cached[i],
                copy_seed(seed, c, &corpus.data.items[i].rel_path),
                &compute,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "Features" that are the samples themselves, 4 per frame.
    fn frames(samples: &[f32], _seed: u64, _warp: Option<f32>) -> Array2<f32> {
        let n = samples.len() / 4;
        Array2::from_shape_vec((n, 4), samples[..n * 4].to_vec()).unwrap()
    }

    #[test]
    fn copies_are_seeded_by_run_item_and_copy() {
        let a = copy_seed(1, 0, Path::new("x/1_a_0.wav"));
        assert_eq!(a, copy_seed(1, 0, Path::new("x/1_a_0.wav")));
        assert_ne!(a, copy_seed(1, 1, Path::new("x/1_a_0.wav")));
        assert_ne!(a, copy_seed(2, 0, Path::new("x/1_a_0.wav")));
        assert_ne!(a, copy_seed(1, 0, Path::new("x/1_b_0.wav")));
    }

    #[test]
    fn waveform_then_feature_perturbation() {
        let audio: Vec<f32> = (0..800).map(|i| (i as f32 * 0.1).sin()).collect();
        let cached = frames(&audio, 0, None);
        let off = (WaveAugment::default(), FeatureAugment::default());
        let same = perturbed_copy(&off.0, &off.1, None, &audio, 8000, &cached, 3, frames);
        assert_eq!(same, cached, "nothing switched on: the cached features");
        let wave: WaveAugment = toml::from_str("speed = [0.8, 0.9]").unwrap();
        let slow = perturbed_copy(&wave, &off.1, None, &audio, 8000, &cached, 3, frames);
        // Speed 0.8-0.9 lengthens 800 samples to 888-1000: 222-250 frames.
        assert!((222..=250).contains(&slow.nrows()), "{}", slow.nrows());
        assert_eq!(
            slow,
            perturbed_copy(&wave, &off.1, None, &audio, 8000, &cached, 3, frames)
        );
        let masks: FeatureAugment = toml::from_str("time_masks = 2\nmax_time_width = 50").unwrap();
        let masked = perturbed_copy(&off.0, &masks, None, &audio, 8000, &cached, 5, frames);
        assert_eq!(masked.dim(), cached.dim());
        assert_ne!(masked, cached);
    }
}
