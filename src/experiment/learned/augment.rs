//! `[augment]` on the learned path: perturbed training copies of the
//! frozen prefix.
//!
//! # Design
//! Waveform perturbations (speed, shift, noise) apply as on the classic
//! path: the perturbed waveform goes through the frozen prefix (the
//! hand-crafted stages before the first learned one), seeded by (run seed,
//! item, copy), see [`crate::experiment::augment`]. The learned stages then
//! see a perturbed input every epoch, like the original.
//!
//! Feature perturbations act on the prefix, because that is what is cached
//! and fed to the learned stages:
//! - along time (frame shift, time masks) every prefix has the features'
//!   frame axis, so they apply whatever the first learned stage is;
//! - along the feature axis (frequency masks, VTLP) the widths and the mel
//!   axis are written for mel channels. They apply when the prefix is on
//!   the mel axis (the first learned stage is the compression or the DCT)
//!   and are rejected otherwise ([`check`]): before a learned mel stage the
//!   prefix holds FFT bins or raw frame samples, where a "mel channel" mask
//!   or warp means something else.
//!
//! Validation items are never perturbed; copies are made only of the
//! items that train.

use ndarray::Array2;

use crate::frontend::learned::config::Stage;

use super::super::config::{AugmentConfig, ExperimentConfig};
use super::super::corpus::Corpus;
use super::prefix::PrefixComputer;

/// What the prefix ending before `first` holds, for messages.
fn prefix_content(first: Stage) -> &'static str {
    match first {
        Stage::Preemph | Stage::Spectrum => "raw frame samples",
        Stage::Mel => "FFT power bins",
        Stage::Compress => "mel energies",
        Stage::Dct => "log-mel energies",
    }
}

/// Checks that every switched-on perturbation of `aug` means something
/// before the first learned stage `first`.
///
/// # Errors
/// The offending `[augment.feature]` field and why, as a message.
pub fn check(aug: &AugmentConfig, first: Stage) -> Result<(), String> {
    if aug.copies > 0 && aug.vtln.is_some() && first < Stage::Mel {
        return Err(format!(
            "[augment] vtln warps the spectrum between two trainable stages here (this \
             front end learns from the {first:?} stage on); use speed perturbation \
             ([augment.wave] speed), which moves formants before any stage"
        ));
    }
    if aug.copies == 0 || first >= Stage::Compress {
        return Ok(());
    }
    let f = &aug.feature;
    let field = if f.vtlp.is_some() {
        "vtlp"
    } else if f.freq_masks > 0 && f.max_freq_width > 0 {
        "freq_masks"
    } else {
        return Ok(());
    };
    Err(format!(
        "[augment.feature] {field} acts on mel channels, but the first learned stage is \
         {first:?}: the cached input of the learned stages holds {}, not mel channels. \
         Remove {field}, or use waveform perturbations ([augment.wave]: speed, shift_ms, \
         noise_snr_db), frame shifts or time masks, which apply before any stage",
        prefix_content(first)
    ))
}

/// `cfg.augment.copies` perturbed prefixes of each item of `items` (item
/// major: all copies of the first item, then the next), or nothing when
/// augmentation is off.
///
/// # Shapes
/// each copy `(frames', prefix_dims)` like the item's prefix
pub fn training_copies(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    pc: &PrefixComputer,
    prefix: &[Array2<f32>],
    items: &[usize],
    seed: u64,
) -> Vec<Array2<f32>> {
    super::super::augment::training_copies(
        corpus,
        &cfg.augment,
        prefix,
        items,
        seed,
        // A warp only reaches here with the power spectrum in the frozen
        // prefix (`check`): with the mel filterbank frozen too, the copy's
        // prefix uses the warped bank as the hand-crafted path does; before
        // a learned mel stage the spectrum itself is warped
        // (`prefix::warp_power`). Both ends of
        // the range were validated at load, so every warp in it builds.
        |wave, dither_seed, warp| {
            let warped = warp.and_then(|w| {
                let mut o = pc.options().clone();
                o.mel.vtln_warp = w;
                PrefixComputer::new(&o, pc.stage()).ok()
            });
            warped.as_ref().unwrap_or(pc).utterance(
                wave,
                corpus.sample_rate_hz,
                &cfg.input,
                dither_seed,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aug(text: &str) -> AugmentConfig {
        toml::from_str(text).expect("valid [augment]")
    }

    #[test]
    fn mel_axis_perturbations_need_a_mel_prefix() {
        let masks = aug("feature = { freq_masks = 2, max_freq_width = 3 }");
        let e = check(&masks, Stage::Mel).unwrap_err();
        assert!(
            e.contains("freq_masks") && e.contains("FFT power bins"),
            "{e}"
        );
        assert!(check(&masks, Stage::Compress).is_ok());
        assert!(check(&masks, Stage::Dct).is_ok());
        let vtln = aug("vtln = [0.9, 1.1]");
        assert!(check(&vtln, Stage::Spectrum).unwrap_err().contains("vtln"));
        assert!(check(&vtln, Stage::Mel).is_ok());
        assert!(check(&vtln, Stage::Compress).is_ok());
        let vtlp = aug("feature = { vtlp = { alpha = [0.9, 1.1], axis = { low_hz = 20.0, high_hz = 4000.0 } } }");
        assert!(check(&vtlp, Stage::Spectrum).unwrap_err().contains("vtlp"));
        // Along time, and on the waveform, anything goes.
        let time = aug("wave = { speed = [0.9, 1.1] }\nfeature = { time_masks = 2, max_time_width = 5, shift_frames = 2 }");
        assert!(check(&time, Stage::Preemph).is_ok());
        // No copies: nothing is applied, nothing to reject.
        let off = aug("copies = 0\nfeature = { freq_masks = 2, max_freq_width = 3 }");
        assert!(check(&off, Stage::Mel).is_ok());
    }
}
