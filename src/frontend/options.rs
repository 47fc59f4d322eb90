//! Plain-data options of every stage, with documented defaults.
//!
//! `FrontendOptions::default()` is Kaldi's `compute-mfcc-feats` at 16 kHz
//! (the same as `FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc,
//! 16000.0)`). Every struct is `#[serde(default, deny_unknown_fields)]`, so a
//! TOML config may give any subset of fields and a misspelt key is an error.
//! Fields of type `Option` default to `None` (TOML has no null, so this keeps
//! [`FrontendOptions::merge_toml`] a faithful round trip).
//!
//! Sizes in samples are derived by methods ([`FrontendOptions::frame_length`],
//! [`FrontendOptions::fft_size`], ...) with Kaldi's rounding, never stored.

use serde::{Deserialize, Serialize};

pub use super::stage_options::*;
use super::FrontendError;

/// Which reference a preset reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Kaldi's `compute-mfcc-feats` / `compute-fbank-feats` /
    /// `compute-spectrogram-feats` defaults.
    Kaldi,
    /// `librosa.feature.mfcc` / `melspectrogram` defaults (dB-scaled).
    Librosa,
    /// openai-whisper's `log_mel_spectrogram` (the model's input features).
    Whisper,
}

/// What each output row holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Feature {
    /// Cepstra: DCT of the compressed mel energies.
    Mfcc,
    /// Compressed mel energies (log-mel or dB-mel).
    Fbank,
    /// Compressed power (or magnitude) spectrum, `fft_size / 2 + 1` bins.
    Spectrogram,
}

/// Every option of the front end; see the module docs of
/// [`crate::frontend`] for the conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrontendOptions {
    /// Rate the filters are built for. Default: 16000 Hz.
    pub sample_rate_hz: f32,
    /// Factor applied to samples in [-1, 1) before anything else. Default:
    /// 32768 (Kaldi computes on int16-scale values; librosa uses 1).
    pub sample_scale: f32,
    /// Default: [`Feature::Mfcc`].
    pub feature: Feature,
    /// Framing.
    pub frame: FrameOptions,
    /// Window.
    pub window: WindowOptions,
    /// Spectrum.
    pub spectrum: SpectrumOptions,
    /// Log energy.
    pub energy: EnergyOptions,
    /// Mel filterbank (MFCC and fbank).
    pub mel: MelOptions,
    /// Compression.
    pub compress: CompressOptions,
    /// DCT (MFCC).
    pub dct: DctOptions,
    /// Deltas and CMVN.
    pub post: PostOptions,
}

impl Default for FrontendOptions {
    fn default() -> Self {
        FrontendOptions {
            sample_rate_hz: 16000.0,
            sample_scale: 32768.0,
            feature: Feature::Mfcc,
            frame: FrameOptions::default(),
            window: WindowOptions::default(),
            spectrum: SpectrumOptions::default(),
            energy: EnergyOptions::default(),
            mel: MelOptions::default(),
            compress: CompressOptions::default(),
            dct: DctOptions::default(),
            post: PostOptions::default(),
        }
    }
}

impl FrontendOptions {
    /// Frame length in samples: `frame_length_samples`, else Kaldi's
    /// `(int)(rate * 0.001 * ms)` (truncation, computed in f64 like Kaldi).
    pub fn frame_length(&self) -> usize {
        match self.frame.frame_length_samples {
            Some(n) => n,
            None => ms_to_samples(self.sample_rate_hz, self.frame.frame_length_ms),
        }
    }

    /// Hop in samples, same rule as [`FrontendOptions::frame_length`].
    pub fn frame_shift(&self) -> usize {
        match self.frame.frame_shift_samples {
            Some(n) => n,
            None => ms_to_samples(self.sample_rate_hz, self.frame.frame_shift_ms),
        }
    }

    /// FFT size: `fft_size`, else the frame length rounded up to a power of
    /// two when `round_to_power_of_two`, else the frame length.
    pub fn fft_size(&self) -> usize {
        let len = self.frame_length();
        match self.frame.fft_size {
            Some(n) => n,
            None if self.frame.round_to_power_of_two => len.max(1).next_power_of_two(),
            None => len,
        }
    }

    /// Bins of the one-sided spectrum: `fft_size / 2 + 1`.
    pub fn num_fft_bins(&self) -> usize {
        self.fft_size() / 2 + 1
    }

    /// The mel filterbank's upper edge in Hz after Kaldi's rule
    /// (`<= 0` is an offset from Nyquist).
    pub fn mel_high_freq_hz(&self) -> f32 {
        let nyquist = 0.5 * self.sample_rate_hz;
        if self.mel.high_freq_hz > 0.0 {
            self.mel.high_freq_hz
        } else {
            nyquist + self.mel.high_freq_hz
        }
    }

    /// Width of one output row before deltas.
    pub fn static_dims(&self) -> usize {
        match self.feature {
            Feature::Mfcc => self.dct.num_ceps,
            Feature::Fbank => self.mel.num_bins + usize::from(self.energy.use_energy),
            Feature::Spectrogram => self.num_fft_bins(),
        }
    }

    /// Width of one output row, deltas included.
    pub fn dims(&self) -> usize {
        let blocks = if self.post.deltas {
            self.post.delta_order + 1
        } else {
            1
        };
        self.static_dims() * blocks
    }

    /// Applies a TOML table (same field names as the structs, nested
    /// tables) on top of `self`: only the keys present change.
    ///
    /// # Errors
    /// [`FrontendError::Config`] naming the unknown key or the badly typed
    /// value; `self` is left unchanged then.
    pub fn merge_toml(&mut self, table: &toml::Table) -> Result<(), FrontendError> {
        let current =
            toml::Value::try_from(&*self).map_err(|e| FrontendError::Config(e.to_string()))?;
        let toml::Value::Table(mut base) = current else {
            return Err(FrontendError::Config(
                "options did not serialise to a table".into(),
            ));
        };
        overlay(&mut base, table);
        let merged: FrontendOptions = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| FrontendError::Config(e.to_string()))?;
        *self = merged;
        Ok(())
    }
}

/// Kaldi's `static_cast<int32>(samp_freq * 0.001 * ms)`.
fn ms_to_samples(rate_hz: f32, ms: f32) -> usize {
    let n = f64::from(rate_hz) * 0.001 * f64::from(ms);
    if n.is_finite() && n > 0.0 {
        n as usize
    } else {
        0
    }
}

/// Recursively overlays `top` on `base`: tables merge, other values replace.
fn overlay(base: &mut toml::Table, top: &toml::Table) {
    for (key, value) in top {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => overlay(b, t),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
