//! Plain-data options of each stage (framing, window, spectrum, energy,
//! mel, compression, DCT, post-processing), each with `Default` documented
//! field by field. Nested in [`super::options::FrontendOptions`] and
//! re-exported from [`super::options`].

use serde::{Deserialize, Serialize};

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
    /// Drop the last frame, as Whisper's `log_mel_spectrogram` drops the
    /// last column of its centred STFT (`stft[..., :-1]`). Default: false.
    pub drop_last_frame: bool,
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
            drop_last_frame: false,
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

/// Power or magnitude of the FFT (the fixed FFT stage and the learned
/// time-domain filterbank alike).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpectrumKind {
    /// `|X|^2` (Kaldi `use_power=true`, librosa `power=2`).
    #[default]
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

const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
const SLANEY_MIN_LOG_MEL: f64 = 15.0;
const SLANEY_F_SP: f64 = 200.0 / 3.0;

fn slaney_logstep() -> f64 {
    6.4f64.ln() / 27.0
}

impl MelScale {
    /// Hz to mel: the one definition of both scales, shared by the fixed
    /// filterbank ([`crate::frontend::mel`]) and the learned parametric one
    /// ([`crate::frontend::learned::melbank_param`]).
    pub fn mel(self, hz: f64) -> f64 {
        match self {
            MelScale::Htk => 1127.0 * (1.0 + hz / 700.0).ln(),
            MelScale::Slaney if hz >= SLANEY_MIN_LOG_HZ => {
                SLANEY_MIN_LOG_MEL + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_logstep()
            }
            MelScale::Slaney => hz / SLANEY_F_SP,
        }
    }

    /// Mel to Hz (inverse of [`MelScale::mel`]).
    pub fn hz(self, mel: f64) -> f64 {
        match self {
            MelScale::Htk => 700.0 * ((mel / 1127.0).exp() - 1.0),
            MelScale::Slaney if mel >= SLANEY_MIN_LOG_MEL => {
                SLANEY_MIN_LOG_HZ * (slaney_logstep() * (mel - SLANEY_MIN_LOG_MEL)).exp()
            }
            MelScale::Slaney => SLANEY_F_SP * mel,
        }
    }

    /// `d hz / d mel` at `mel`.
    pub fn dhz(self, mel: f64) -> f64 {
        match self {
            MelScale::Htk => 700.0 / 1127.0 * (mel / 1127.0).exp(),
            MelScale::Slaney if mel >= SLANEY_MIN_LOG_MEL => slaney_logstep() * self.hz(mel),
            MelScale::Slaney => SLANEY_F_SP,
        }
    }
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
    /// Vocal-tract-length warp factor (Kaldi's `--vtln-warp`): the filter
    /// corners are moved by Kaldi's piecewise-linear warp, `f -> f / warp`
    /// between the two cut-offs. Default: 1.0 (no warp).
    pub vtln_warp: f32,
    /// Lower VTLN cut-off: below `vtln_low_hz * max(1, warp)` the warp
    /// bends to keep `low_freq_hz` fixed. Default: 100 Hz (Kaldi).
    pub vtln_low_hz: f32,
    /// Upper VTLN cut-off; `<= 0` is an offset from Nyquist (Kaldi). Above
    /// `high * min(1, warp)` the warp bends to keep the high edge fixed.
    /// Default: -500 (Kaldi).
    pub vtln_high_hz: f32,
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
            vtln_warp: 1.0,
            vtln_low_hz: 100.0,
            vtln_high_hz: -500.0,
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
    /// Whisper's `log_mel_spectrogram`: `(log10(max(x, amin)) + 4) / 4`,
    /// then optionally clipped to `max - top_db / 40` over the utterance
    /// (`top_db` stays in dB: Whisper keeps 8 log10 units, `top_db = 80`).
    Whisper,
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
    /// Feature warping (Pelecanos & Sridharan 2001): each dimension's
    /// values are replaced by the standard-normal quantiles of their ranks
    /// over the utterance, so every dimension ends up with the same
    /// (Gaussian) distribution whatever the channel or voice did to its
    /// shape, not only to its mean and spread. Over the whole utterance,
    /// not a sliding window (a spoken word is shorter than the usual 3 s).
    Warp,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kaldis() {
        let f = FrameOptions::default();
        assert_eq!(
            (
                f.frame_length_ms,
                f.frame_shift_ms,
                f.dither,
                f.preemph_coeff
            ),
            (25.0, 10.0, 1.0, 0.97)
        );
        assert!(f.remove_dc && f.round_to_power_of_two && f.edges == Edges::Snip);
        assert_eq!(WindowOptions::default().kind, WindowKind::Povey);
        let m = MelOptions::default();
        assert_eq!((m.num_bins, m.low_freq_hz, m.high_freq_hz), (23, 20.0, 0.0));
        assert!(!m.include_nyquist);
        assert_eq!(CompressOptions::default().log_floor, f32::EPSILON);
        let d = DctOptions::default();
        assert_eq!((d.num_ceps, d.lifter), (13, 22.0));
        let e = EnergyOptions::default();
        assert!(e.use_energy && e.raw_energy && e.energy_floor == 0.0);
    }

    #[test]
    fn enums_use_lowercase_names_and_reject_others() {
        let w: WindowOptions = toml::from_str("kind = \"hamming\"\nperiodic = true").unwrap();
        assert_eq!((w.kind, w.periodic), (WindowKind::Hamming, true));
        let p: PostOptions = toml::from_str("cmvn = \"meanvar\"").unwrap();
        assert_eq!(p.cmvn, Cmvn::MeanVar);
        assert!(toml::from_str::<MelOptions>("scale = \"HTK\"").is_err());
        assert!(toml::from_str::<FrameOptions>("frame_len_ms = 20").is_err());
    }
}
