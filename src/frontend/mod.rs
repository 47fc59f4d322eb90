//! The hand-crafted front end: one file per stage, presets, and the
//! pipeline.
//!
//! # Usage
//! ```
//! use speechfront::frontend::{Feature, Frontend, FrontendOptions, Preset};
//! use speechfront::nn::rng_from_seed;
//!
//! let mut opts = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0);
//! opts.frame.dither = 0.0; // deterministic (Kaldi's default is 1.0)
//! let frontend = Frontend::new(&opts).expect("valid options");
//! let samples: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.05).sin() * 0.1).collect();
//! let feats = frontend.compute(&samples, &mut rng_from_seed(0));
//! assert_eq!(feats.dim(), (98, 13)); // 1 s at 25 ms / 10 ms, snip_edges
//! assert_eq!(frontend.dims(), 13);
//! ```
//!
//! # Stages (one file each)
//! [`framing`] (frame placement, dither, DC removal, raw energy,
//! pre-emphasis) -> [`window`] -> [`spectrum`] (real FFT, power or
//! magnitude) -> [`mel`] (sparse (start bin, weights) bands) ->
//! [`compress`] (log or dB) -> [`dct`] (orthonormal DCT-II + lifter) ->
//! [`post`] (CMVN, deltas). [`options`] holds the plain-data options,
//! [`presets`] the `kaldi` and `librosa` defaults, [`pipeline`] the
//! [`Frontend`] driver, [`stream`] and [`online`] the block-wise drivers
//! (known and unknown length).
//!
//! # Conventions
//! - Input: mono `f32` samples in [-1, 1) at `sample_rate_hz`; multiplied by
//!   `sample_scale` first (32768 for Kaldi, which works on int16 values,
//!   so its log energies and log-mels match Kaldi's numbers; 1 for librosa).
//! - Output: `(frames, dims)` f32, one row per frame in time order. MFCC
//!   columns are `[C0 or log-energy, C1, ..]`; fbank columns are
//!   `[log-energy if use_energy, mel 0 (lowest), ..]`; spectrogram columns
//!   are bins `0..=fft_size/2` with bin 0 replaced by the log energy when
//!   `use_energy` (as `compute-spectrogram-feats`). With deltas: `[static,
//!   delta, delta-delta]` blocks; CMVN is applied to the static features
//!   before deltas (Kaldi recipes' `apply-cmvn | add-deltas`).
//! - Spectrum: unnormalised DFT, `|X|^2` (or `|X|`).
//! - Mel: HTK/Kaldi scale is `1127 ln(1 + f/700)` (librosa's `htk=True`
//!   uses `2595 log10`, the same to 4e-6 relative); Slaney is librosa's
//!   default. Kaldi's triangles are linear in mel, exclude the Nyquist bin
//!   and are unnormalised (peak 1); librosa's are linear in Hz, include
//!   Nyquist and are area-normalised (`2 / (f_right - f_left)`).
//! - Compression: Kaldi `ln(max(x, FLT_EPSILON))`; librosa
//!   `power_to_db(ref=1, amin=1e-10, top_db=80)`, where `top_db` clips to
//!   the maximum of the whole utterance (so that path keeps the
//!   utterance's mel rows before the DCT).
//! - DCT: orthonormal DCT-II (Kaldi and scipy `norm="ortho"` agree), lifter
//!   folded into its rows; Kaldi's lifter index starts at 0, librosa's at 1.
//!
//! # Departures from the references
//! - Everything is f32 (weights and windows computed in f64, then
//!   rounded). Kaldi also computes in f32; librosa computes the STFT in f64
//!   for f32 input, so librosa parity is to ~1e-3 dB rather than bitwise.
//! - librosa with `win_length < n_fft` centres the window inside the FFT
//!   frame; here the frame is placed at the buffer start, which changes
//!   only the phase, so power, mel and MFCC are the same.
//! - A mel filter that covers no FFT bin is an error here (Kaldi errors too;
//!   librosa only warns).
//! - Dither draws from the caller's seeded generator (one key per frame,
//!   normals from the block Box-Muller generator in [`gauss`]), so
//!   dithered output cannot match Kaldi's own random numbers; parity is
//!   checked with dither 0.
//!
//! # Speed
//! [`Frontend::compute`] runs each frame through reused scratch buffers and
//! writes its output row in place: no allocation per frame, mel as sparse
//! bands, no full-spectrogram intermediate. Only dB with `top_db` keeps the
//! (frames, mel) rows until the utterance maximum is known. Reductions keep
//! fixed-width partial sums (written with AVX intrinsics when the CPU has
//! AVX, `kernels_avx`, same numbers), and the per-frame loop is compiled a
//! second time for AVX2 and picked at run time (same numbers). The framer
//! writes each frame straight into the FFT's buffer; the spectrum of even
//! sizes is an `N/2`-point complex FFT of that buffer, with the real-FFT
//! split fused with `|X|^2` (see [`spectrum`]). [`FrameStream`] takes the
//! signal in blocks with the same numbers, so a decoder never has to hold
//! the whole signal (the `extract` command streams WAV files this way).
//! Dither normals come a frame at a time from the block generator in
//! [`gauss`] (16 or 8 Box-Muller pairs per step, same bits on every CPU).
//! `benches/extract.rs` (group `frontend`) times the Kaldi MFCC chain
//! against a bare 512-point realfft over the same frames, in the same run;
//! the figures are in `docs/performance.md`.

//! # Layer form and where a stage kind goes
//! Every stage also exists as a trainable [`nn::Layer`](crate::nn::Layer)
//! in [`learned`] (window + DFT as a time-domain filterbank, mel matrix or
//! parametric triangles, log or PCEN, DCT), built from the same pure
//! functions as the fast path here: the DFT basis
//! ([`learned::dft::dft_basis`] from [`window`]'s window), the mel weights
//! ([`mel::MelBanks::dense`], HTK/Slaney, norms, VTLN), the log floor and
//! PCEN constants, the DCT matrix and lifter ([`dct`]). One enum per
//! concept ([`MelScale`], [`Triangles`], [`SpectrumKind`], [`LifterStyle`])
//! is shared by both. The input of the layer form is
//! [`Frontend::frames`], the frozen, cacheable prefix; the fast path stays
//! the one used for extraction (the dense DFT basis costs `2K x L`
//! multiply-adds per frame against the FFT's `O(N log N)`).
//!
//! A newcomer adding a stage kind writes one file in [`learned`] (the
//! layer: forward, backward, a finite-difference gradient check, a classic
//! init equal to the fixed stage) and registers it in one place:
//! `experiment::learned::build_front` (plus its `kind` value in
//! [`learned::config`]). See `docs/architecture.md`.

pub mod compress;
pub mod dct;
mod error;
pub mod framing;
pub mod gauss;
#[cfg(target_arch = "x86_64")]
mod gauss_avx;
#[cfg(target_arch = "x86_64")]
mod gauss_avx512;
mod gauss_ln_table;
mod kernels;
#[cfg(target_arch = "x86_64")]
mod kernels_avx;
pub mod learned;
pub mod mel;
pub mod online;
pub mod options;
pub mod pipeline;
pub mod post;
pub mod presets;
pub mod spectrum;
pub mod stage_options;
pub mod stream;
mod validate;
pub mod window;

pub use error::FrontendError;
pub use online::OnlineStream;
pub use options::{
    Cmvn, CompressOptions, Compression, DctOptions, Edges, EnergyOptions, Feature, FrameOptions,
    FrontendOptions, LifterStyle, MelNorm, MelOptions, MelScale, Padding, PostOptions, Preset,
    SpectrumKind, SpectrumOptions, Triangles, WindowKind, WindowOptions,
};
pub use pipeline::Frontend;
pub use stream::FrameStream;
