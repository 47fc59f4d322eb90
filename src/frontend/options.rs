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

/// How frames are placed at the edges of the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Edges {
    /// Kaldi `snip_edges=true`: frame `t` starts at `t * shift`; only frames
    /// that fit entirely in the signal: `1 + (n - length) / shift` frames.
    Snip,
    /// Kaldi `snip_edges=false`: `(n + shift / 2) / shift` frames, frame `t`
    /// centred at `t * shift + shift / 2`, samples outside mirrored with the
    /// edge sample repeated (index `-1` reads sample `0`).
    Kaldi,
    /// librosa `center=True`: the signal is padded by `fft_size / 2` on both
    /// sides ([`FrameOptions::padding`]); `1 + n / shift` frames (none for an
    /// empty signal).
    Centre,
}

/// Padding of centred frames ([`Edges::Centre`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Zeros (librosa >= 0.10 default, `pad_mode="constant"`).
    Zero,
    /// numpy `reflect` (edge not repeated; librosa < 0.10 default).
    Reflect,
}

/// Framing, dither, DC removal and pre-emphasis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrameOptions {
    /// Frame (window) length. Default: 25 ms (Kaldi).
    pub frame_length_ms: f32,
    /// Hop between frame starts. Default: 10 ms (Kaldi).
    pub frame_shift_ms: f32,
    /// Frame length in samples, overriding `frame_length_ms` (librosa gives
    /// `n_fft` in samples, which is not a whole number of ms at every rate).
    /// Default: none.
    pub frame_length_samples: Option<usize>,
    /// Hop in samples, overriding `frame_shift_ms`. Default: none.
    pub frame_shift_samples: Option<usize>,
    /// Edge handling. Default: [`Edges::Snip`] (Kaldi `snip_edges=true`).
    pub edges: Edges,
    /// Padding for [`Edges::Centre`]. Default: [`Padding::Zero`].
    pub padding: Padding,
    /// Round the FFT size up to a power of two (Kaldi
    /// `round_to_power_of_two`). Default: true.
    pub round_to_power_of_two: bool,
    /// Explicit FFT size (>= frame length), overriding the rounding.
    /// Default: none.
    pub fft_size: Option<usize>,
    /// Standard deviation of Gaussian dither added to each (scaled) sample.
    /// Default: 1.0 (Kaldi; set 0 for deterministic output).
    pub dither: f32,
    /// Subtract each frame's mean before energy and pre-emphasis. Default:
    /// true (Kaldi `remove_dc_offset`).
    pub remove_dc: bool,
    /// Pre-emphasis `x[i] -= c * x[i-1]`, with `x[0] -= c * x[0]` (Kaldi's
    /// first-sample rule); 0 disables. Default: 0.97 (Kaldi).
    pub preemph_coeff: f32,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            frame_length_ms: 25.0,
            frame_shift_ms: 10.0,
            frame_length_samples: None,
            frame_shift_samples: None,
            edges: Edges::Snip,
            padding: Padding::Zero,
            round_to_power_of_two: true,
            fft_size: None,
            dither: 1.0,
            remove_dc: true,
            preemph_coeff: 0.97,
        }
    }
}

/// Analysis window shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    /// Kaldi's default: `(0.5 - 0.5 cos(2 pi i / (N-1)))^0.85`.
    Povey,
    /// `0.5 - 0.5 cos(2 pi i / D)`.
    Hann,
    /// `0.54 - 0.46 cos(2 pi i / D)`.
    Hamming,
    /// `b - 0.5 cos(2 pi i / D) + (0.5 - b) cos(4 pi i / D)`, `b = blackman_coeff`.
    Blackman,
    /// All ones.
    Rectangular,
}

/// Window options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowOptions {
    /// Shape. Default: [`WindowKind::Povey`] (Kaldi).
    pub kind: WindowKind,
    /// Periodic (`D = N`, scipy/librosa `fftbins=True`) rather than symmetric
    /// (`D = N - 1`, Kaldi). Default: false.
    pub periodic: bool,
    /// Blackman's `b`. Default: 0.42 (Kaldi, and the classic Blackman).
    pub blackman_coeff: f32,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            kind: WindowKind::Povey,
            periodic: false,
            blackman_coeff: 0.42,
        }
    }
}

/// Power or magnitude of the FFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpectrumKind {
    /// `|X|^2` (Kaldi `use_power=true`, librosa `power=2`).
    Power,
    /// `|X|` (Kaldi `use_power=false`, librosa `power=1`).
    Magnitude,
}

/// Spectrum options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpectrumOptions {
    /// Default: [`SpectrumKind::Power`].
    pub kind: SpectrumKind,
}

impl Default for SpectrumOptions {
    fn default() -> Self {
        SpectrumOptions {
            kind: SpectrumKind::Power,
        }
    }
}

/// Log-energy feature (Kaldi `use_energy`, `raw_energy`, `energy_floor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnergyOptions {
    /// Put the frame's log energy in the output: it replaces C0 of MFCC,
    /// is prepended to fbank, replaces bin 0 of the spectrogram. Default:
    /// true (Kaldi `compute-mfcc-feats`; the fbank preset turns it off).
    pub use_energy: bool,
    /// Energy of the frame after DC removal but before pre-emphasis and the
    /// window (Kaldi `raw_energy`); false: of the windowed frame. Default: true.
    pub raw_energy: bool,
    /// Floor on the energy (not its log); 0 disables. Default: 0 (Kaldi).
    pub energy_floor: f32,
}

impl Default for EnergyOptions {
    fn default() -> Self {
        EnergyOptions {
            use_energy: true,
            raw_energy: true,
            energy_floor: 0.0,
        }
    }
}

/// Mel frequency scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// HTK/Kaldi: `mel = 1127 ln(1 + f / 700)`.
    Htk,
    /// Slaney (Auditory Toolbox, librosa default): linear below 1 kHz
    /// (`f / (200/3)`), logarithmic above.
    Slaney,
}

/// Along which axis the filter triangles are linear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Triangles {
    /// Linear in mel (Kaldi).
    Mel,
    /// Linear in Hz between mel-spaced corners (librosa, HTK's filters).
    Hz,
}

/// Filter normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Peak 1 (Kaldi, HTK).
    None,
    /// Slaney area norm: each triangle scaled by `2 / (f_right - f_left)`.
    Slaney,
}

/// Mel filterbank options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MelOptions {
    /// Number of triangular filters. Default: 23 (Kaldi).
    pub num_bins: usize,
    /// Lower edge of the first filter. Default: 20 Hz (Kaldi).
    pub low_freq_hz: f32,
    /// Upper edge of the last filter; `<= 0` is an offset from Nyquist
    /// (Kaldi). Default: 0 (Nyquist).
    pub high_freq_hz: f32,
    /// Default: [`MelScale::Htk`].
    pub scale: MelScale,
    /// Default: [`Triangles::Mel`].
    pub triangles: Triangles,
    /// Default: [`MelNorm::None`].
    pub norm: MelNorm,
    /// Let filters reach the Nyquist bin; Kaldi only looks at bins
    /// `0..fft_size/2` (exclusive of Nyquist). Default: false.
    pub include_nyquist: bool,
}

impl Default for MelOptions {
    fn default() -> Self {
        MelOptions {
            num_bins: 23,
            low_freq_hz: 20.0,
            high_freq_hz: 0.0,
            scale: MelScale::Htk,
            triangles: Triangles::Mel,
            norm: MelNorm::None,
            include_nyquist: false,
        }
    }
}

/// Compression of filterbank or spectrum values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// `ln(max(x, log_floor))` (Kaldi).
    Log,
    /// `10 log10(max(x, amin)) - 10 log10(max(ref, amin))`, then optionally
    /// clipped to `max - top_db` over the whole utterance (librosa
    /// `power_to_db`).
    Db,
}

/// Compression options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompressOptions {
    /// Default: [`Compression::Log`].
    pub kind: Compression,
    /// Floor before `ln`. Default: `f32::EPSILON` (Kaldi's FLT_EPSILON).
    pub log_floor: f32,
    /// dB reference. Default: 1.0 (librosa).
    pub db_ref: f32,
    /// dB floor on values and reference. Default: 1e-10 (librosa).
    pub db_amin: f32,
    /// Dynamic range kept below the utterance's maximum. Default: none
    /// (the librosa preset sets 80 dB).
    pub top_db: Option<f32>,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            kind: Compression::Log,
            log_floor: f32::EPSILON,
            db_ref: 1.0,
            db_amin: 1e-10,
            top_db: None,
        }
    }
}

/// Index convention of the cepstral lifter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifterStyle {
    /// Kaldi/HTK: `c_i *= 1 + (L/2) sin(pi i / L)`, `i = 0..num_ceps`.
    Kaldi,
    /// librosa: `c_i *= 1 + (L/2) sin(pi (i+1) / L)`.
    Librosa,
}

/// DCT options (MFCC only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DctOptions {
    /// Cepstra kept (C0 first). Default: 13 (Kaldi).
    pub num_ceps: usize,
    /// Lifter `L`; 0 disables. Default: 22 (Kaldi).
    pub lifter: f32,
    /// Default: [`LifterStyle::Kaldi`].
    pub lifter_style: LifterStyle,
}

impl Default for DctOptions {
    fn default() -> Self {
        DctOptions {
            num_ceps: 13,
            lifter: 22.0,
            lifter_style: LifterStyle::Kaldi,
        }
    }
}

/// Per-utterance cepstral mean (and variance) normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cmvn {
    /// None.
    None,
    /// Subtract each dimension's mean over the utterance.
    Mean,
    /// Subtract the mean and divide by the standard deviation.
    MeanVar,
}

/// Post-processing of whole utterances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostOptions {
    /// Append deltas (Kaldi `add-deltas`). Default: false.
    pub deltas: bool,
    /// Highest delta order when `deltas`. Default: 2 (Kaldi).
    pub delta_order: usize,
    /// Half-width of the regression window. Default: 2 (Kaldi).
    pub delta_window: usize,
    /// Applied to the static features before deltas (Kaldi recipes:
    /// `apply-cmvn | add-deltas`). Default: [`Cmvn::None`].
    pub cmvn: Cmvn,
}

impl Default for PostOptions {
    fn default() -> Self {
        PostOptions {
            deltas: false,
            delta_order: 2,
            delta_window: 2,
            cmvn: Cmvn::None,
        }
    }
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
        overlay(&mut base, table, "");
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
fn overlay(base: &mut toml::Table, top: &toml::Table, _path: &str) {
    for (key, value) in top {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => overlay(b, t, key),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaldi_sizes_at_16k_and_8k() {
        let mut o = FrontendOptions::default();
        assert_eq!(
            (o.frame_length(), o.frame_shift(), o.fft_size()),
            (400, 160, 512)
        );
        o.sample_rate_hz = 8000.0;
        assert_eq!(
            (o.frame_length(), o.frame_shift(), o.fft_size()),
            (200, 80, 256)
        );
        assert_eq!(o.num_fft_bins(), 129);
        assert_eq!(o.mel_high_freq_hz(), 4000.0);
        o.mel.high_freq_hz = -400.0;
        assert_eq!(o.mel_high_freq_hz(), 3600.0);
    }

    #[test]
    fn sample_overrides_and_explicit_fft() {
        let mut o = FrontendOptions::default();
        o.frame.frame_length_samples = Some(300);
        o.frame.round_to_power_of_two = false;
        assert_eq!(o.fft_size(), 300);
        o.frame.fft_size = Some(1024);
        assert_eq!(o.fft_size(), 1024);
    }

    #[test]
    fn dims_follow_feature_and_deltas() {
        let mut o = FrontendOptions::default();
        assert_eq!(o.dims(), 13);
        o.post.deltas = true;
        assert_eq!(o.dims(), 39);
        o.feature = Feature::Fbank;
        o.post.deltas = false;
        assert_eq!(o.dims(), 24, "23 bins + energy");
        o.feature = Feature::Spectrogram;
        assert_eq!(o.dims(), 257);
    }

    #[test]
    fn merge_toml_changes_only_given_keys() {
        let mut o = FrontendOptions::default();
        let t: toml::Table = toml::from_str(
            "sample_rate_hz = 8000\n[mel]\nnum_bins = 40\n[compress]\ntop_db = 60.0\n",
        )
        .unwrap();
        o.merge_toml(&t).unwrap();
        assert_eq!(o.sample_rate_hz, 8000.0);
        assert_eq!(o.mel.num_bins, 40);
        assert_eq!(o.mel.low_freq_hz, 20.0, "untouched key kept");
        assert_eq!(o.compress.top_db, Some(60.0));
        assert_eq!(o.frame, FrameOptions::default());
    }

    #[test]
    fn merge_toml_round_trips_every_preset_value() {
        let mut o = FrontendOptions::default();
        o.compress.top_db = Some(80.0);
        o.frame.fft_size = Some(2048);
        let before = o.clone();
        o.merge_toml(&toml::Table::new()).unwrap();
        assert_eq!(o, before);
    }

    #[test]
    fn merge_toml_rejects_typos_and_bad_types() {
        let mut o = FrontendOptions::default();
        let t: toml::Table = toml::from_str("[mel]\nnum_bns = 40\n").unwrap();
        let err = o.merge_toml(&t).unwrap_err().to_string();
        assert!(err.contains("num_bns"), "{err}");
        let t: toml::Table = toml::from_str("[window]\nkind = \"triangle\"\n").unwrap();
        let err = o.merge_toml(&t).unwrap_err().to_string();
        assert!(err.contains("triangle"), "{err}");
        assert_eq!(
            o,
            FrontendOptions::default(),
            "failed merge leaves options unchanged"
        );
    }
}
